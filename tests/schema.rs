//! One schema, two dialects: what `migrations/sqlite` and `migrations/postgres`
//! create is read back from each database's catalogue and compared (tables,
//! columns, types up to dialect, nullability, keys, indexes, checks and the
//! triggers by what they guard), and `src/store/schema.rs` is compared with it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Backend, TestDb, cli};
use diesel::RunQueryDsl;
use diesel::sql_types::Text;

#[derive(diesel::QueryableByName, Debug)]
struct Row {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
    #[diesel(sql_type = Text)]
    c: String,
    #[diesel(sql_type = Text)]
    d: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    columns: Columns,
    primary_key: Vec<String>,
    /// (columns, referenced table, referenced columns)
    foreign_keys: BTreeSet<(String, String, String)>,
    /// (columns, unique, partial); unique constraints count as unique indexes.
    indexes: BTreeSet<(String, bool, bool)>,
    /// The columns each check constraint reads.
    checks: Vec<String>,
    /// The statements refused by a trigger (append-only tables).
    guarded: BTreeSet<String>,
}

/// name -> (type, nullable)
type Columns = BTreeMap<String, (String, bool)>;
type Schema = BTreeMap<String, Table>;

fn query(db: &TestDb, sql: &str) -> Vec<Row> {
    let mut conn = db.raw();
    diesel::sql_query(sql)
        .load(&mut conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn migrated(backend: Backend) -> TestDb {
    let db = TestDb::new(backend);
    let out = cli(&db, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// One spelling per type across dialects.
fn canonical_type(t: &str) -> String {
    match t.to_ascii_lowercase().as_str() {
        "text" | "character varying" => "text",
        "integer" | "int" | "int4" => "integer",
        "bigint" | "int8" => "bigint",
        "boolean" | "bool" => "bool",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => return other.to_string(),
    }
    .to_string()
}

/// The column names an expression reads, sorted and joined.
fn columns_read(expression: &str, columns: &Columns) -> String {
    let words: BTreeSet<&str> = expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| columns.contains_key(*w))
        .collect();
    words.into_iter().collect::<Vec<_>>().join(",")
}

/// The bodies of the CHECK clauses of a CREATE TABLE statement.
fn check_clauses(sql: &str) -> Vec<String> {
    // SQLite keeps the statement's comments; their words are not clauses.
    let sql: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let sql = sql.as_str();
    let upper = sql.to_ascii_uppercase();
    let mut found = Vec::new();
    let mut from = 0;
    let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at + 5;
        // CHECK the keyword, not a part of a name such as `checked_in_at`.
        let before = (from + at)
            .checked_sub(1)
            .and_then(|i| upper.as_bytes().get(i));
        if word(before) || word(upper.as_bytes().get(start)) {
            from = start;
            continue;
        }
        let Some(open) = sql[start..].find('(').map(|o| start + o) else {
            break;
        };
        let mut depth = 0;
        let mut end = open;
        for (i, c) in sql[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = open + i;
                break;
            }
        }
        found.push(sql[open + 1..end].to_string());
        from = end;
    }
    found
}

fn sqlite_schema(db: &TestDb) -> Schema {
    let mut schema = Schema::new();
    let tables = query(
        db,
        "SELECT name AS a, sql AS b, '' AS c, '' AS d FROM sqlite_master \
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
    );
    for t in tables {
        let mut table = Table::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in query(
            db,
            &format!(
                "SELECT name AS a, type AS b, CAST(\"notnull\" AS TEXT) AS c, CAST(pk AS TEXT) AS d \
                 FROM pragma_table_info('{}')",
                t.a
            ),
        ) {
            let pk_position: i64 = c.d.parse().unwrap();
            if pk_position > 0 {
                pk.push((pk_position, c.a.clone()));
            }
            // A primary key column is never null, whatever SQLite lets it be.
            let nullable = c.c == "0" && pk_position == 0;
            table.columns.insert(c.a, (canonical_type(&c.b), nullable));
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        let mut fks: BTreeMap<String, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        for f in query(
            db,
            &format!(
                "SELECT CAST(id AS TEXT) AS a, \"table\" AS b, \"from\" AS c, COALESCE(\"to\", '') AS d \
                 FROM pragma_foreign_key_list('{}') ORDER BY id, seq",
                t.a
            ),
        ) {
            let entry = fks.entry(f.a).or_insert((f.b, Vec::new(), Vec::new()));
            entry.1.push(f.c);
            entry.2.push(f.d);
        }
        for (_, (target, from, to)) in fks {
            table
                .foreign_keys
                .insert((from.join(","), target, to.join(",")));
        }
        for i in query(
            db,
            &format!(
                "SELECT name AS a, CAST(\"unique\" AS TEXT) AS b, origin AS c, CAST(partial AS TEXT) AS d \
                 FROM pragma_index_list('{}')",
                t.a
            ),
        ) {
            if i.c == "pk" {
                continue;
            }
            let cols: Vec<String> = query(
                db,
                &format!(
                    "SELECT name AS a, '' AS b, '' AS c, '' AS d FROM pragma_index_info('{}') ORDER BY seqno",
                    i.a
                ),
            )
            .into_iter()
            .map(|r| r.a)
            .collect();
            table
                .indexes
                .insert((cols.join(","), i.b == "1", i.d == "1"));
        }
        table.checks = check_clauses(&t.b)
            .iter()
            .map(|c| columns_read(c, &table.columns))
            .collect();
        table.checks.sort();
        schema.insert(t.a, table);
    }
    for trigger in query(
        db,
        "SELECT tbl_name AS a, sql AS b, '' AS c, '' AS d FROM sqlite_master WHERE type = 'trigger'",
    ) {
        let sql = trigger.b.to_ascii_uppercase();
        let table = schema.get_mut(&trigger.a).unwrap();
        for event in ["UPDATE", "DELETE"] {
            if sql.contains(&format!("BEFORE {event}")) && sql.contains("RAISE(ABORT") {
                table.guarded.insert(event.to_string());
            }
        }
    }
    schema
}

/// Indexes only PostgreSQL needs, each for a reason SQLite does not have.
const POSTGRES_ONLY_INDEXES: &[&str] = &[
    // LIKE 'prefix%' on a non-C collation needs a pattern_ops index; SQLite's
    // unique index on path serves it (its LIKE is made case-sensitive).
    "organisations_path_prefix",
];

fn postgres_schema(db: &TestDb) -> Schema {
    let mut schema = Schema::new();
    for c in query(
        db,
        "SELECT table_name::text AS a, column_name::text AS b, data_type::text AS c, is_nullable::text AS d \
         FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name <> '__diesel_schema_migrations'",
    ) {
        schema
            .entry(c.a)
            .or_default()
            .columns
            .insert(c.b, (canonical_type(&c.c), c.d == "YES"));
    }
    // Keys and indexes, from pg_index (unique constraints are unique indexes).
    for i in query(
        db,
        "SELECT t.relname::text AS a, \
                string_agg(a.attname::text, ',' ORDER BY k.ord) AS b, \
                (CASE WHEN ix.indisprimary THEN 'pk' WHEN ix.indisunique THEN 'u' ELSE 'i' END) \
                  || ':' || i.relname AS c, \
                CASE WHEN ix.indpred IS NULL THEN '0' ELSE '1' END AS d \
         FROM pg_index ix \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public' \
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE t.relname <> '__diesel_schema_migrations' \
         GROUP BY t.relname, i.relname, ix.indexrelid, ix.indisprimary, ix.indisunique, ix.indpred",
    ) {
        let (kind, name) = i.c.split_once(':').unwrap();
        if POSTGRES_ONLY_INDEXES.contains(&name) {
            continue;
        }
        let table = schema.get_mut(&i.a).unwrap();
        if kind == "pk" {
            table.primary_key = i.b.split(',').map(str::to_string).collect();
        } else {
            table.indexes.insert((i.b, kind == "u", i.d == "1"));
        }
    }
    for f in query(
        db,
        "SELECT t.relname::text AS a, \
                (SELECT string_agg(attname::text, ',' ORDER BY array_position(c.conkey, attnum)) \
                   FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = ANY (c.conkey)) AS b, \
                r.relname::text AS c, \
                (SELECT string_agg(attname::text, ',' ORDER BY array_position(c.confkey, attnum)) \
                   FROM pg_attribute WHERE attrelid = c.confrelid AND attnum = ANY (c.confkey)) AS d \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public' \
         WHERE c.contype = 'f'",
    ) {
        schema
            .get_mut(&f.a)
            .unwrap()
            .foreign_keys
            .insert((f.b, f.c, f.d));
    }
    for c in query(
        db,
        "SELECT t.relname::text AS a, pg_get_constraintdef(c.oid) AS b, '' AS c, '' AS d \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public' \
         WHERE c.contype = 'c'",
    ) {
        let table = schema.get_mut(&c.a).unwrap();
        let read = columns_read(&c.b, &table.columns);
        table.checks.push(read);
    }
    for table in schema.values_mut() {
        table.checks.sort();
    }
    // TRUNCATE has no SQLite counterpart; the row-level guards must match.
    for t in query(
        db,
        "SELECT event_object_table::text AS a, event_manipulation::text AS b, action_timing::text AS c, '' AS d \
         FROM information_schema.triggers WHERE trigger_schema = 'public'",
    ) {
        if t.c == "BEFORE" && (t.b == "UPDATE" || t.b == "DELETE") {
            schema.get_mut(&t.a).unwrap().guarded.insert(t.b);
        }
    }
    schema
}

/// Tables and columns as `src/store/schema.rs` declares them:
/// table -> column -> (type, nullable).
fn declared_schema() -> BTreeMap<String, Columns> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/schema.rs"))
        .unwrap();
    let mut tables = BTreeMap::new();
    let mut current: Option<(String, Columns)> = None;
    for line in text.lines().map(str::trim) {
        if let Some((name, _)) = line.split_once(" (")
            && line.ends_with('{')
            && !name.contains(' ')
        {
            current = Some((name.to_string(), BTreeMap::new()));
        } else if let Some((column, ty)) = line.split_once(" -> ")
            && current.is_some()
        {
            let ty = ty.trim_end_matches(',');
            let (ty, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>'), true),
                None => (ty, false),
            };
            let ty = match ty {
                "Text" => "text",
                "Integer" => "integer",
                "BigInt" => "bigint",
                "Bool" => "bool",
                "Timestamp" => "timestamp",
                other => panic!("schema.rs type {other} has no mapping here"),
            };
            if let Some((_, columns)) = current.as_mut() {
                columns.insert(column.to_string(), (ty.to_string(), nullable));
            }
        } else if line == "}"
            && let Some((name, columns)) = current.take()
        {
            tables.insert(name, columns);
        }
    }
    tables
}

fn assert_same(left: &Schema, right: &Schema, what: &str) {
    let names = |s: &Schema| s.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(left), names(right), "{what}: tables differ");
    for (name, table) in left {
        assert_eq!(table, &right[name], "{what}: table {name} differs");
    }
}

#[test]
fn sqlite_schema_matches_schema_rs() {
    let db = migrated(Backend::Sqlite);
    let live = sqlite_schema(&db);
    let declared = declared_schema();
    let live_columns: BTreeMap<String, Columns> = live
        .iter()
        .map(|(name, t)| (name.clone(), t.columns.clone()))
        .collect();
    assert_eq!(
        live_columns, declared,
        "schema.rs and migrations/sqlite differ"
    );
    // The key leads: a batch's lookup must probe by key whatever plan the
    // statistics of the moment give (scope first, a stale plan scanned every
    // key of the caller and halved PostgreSQL's throughput).
    assert_eq!(live["idempotency_keys"].primary_key, ["key", "scope"]);
    // Every table is append-only or keyed; the journal tables are guarded.
    for journal in ["transfers", "postings", "audit_log"] {
        assert_eq!(
            live[journal].guarded,
            BTreeSet::from(["DELETE".to_string(), "UPDATE".to_string()]),
            "{journal} must refuse UPDATE and DELETE"
        );
    }
}

#[test]
#[cfg_attr(
    not(pg_tests),
    ignore = "TIMEBANK_TEST_PG_URL is not set: PostgreSQL run skipped"
)]
fn both_dialects_create_the_same_schema() {
    let sqlite = sqlite_schema(&migrated(Backend::Sqlite));
    let postgres = postgres_schema(&migrated(Backend::Postgres));
    // Both readers see what there is to compare.
    for schema in [&sqlite, &postgres] {
        assert!(schema["transfers"].indexes.len() >= 4);
        assert!(!schema["users"].checks.is_empty());
        assert!(!schema["postings"].foreign_keys.is_empty());
        assert_eq!(schema["transfers"].guarded.len(), 2);
        assert_eq!(schema["postings"].primary_key.len(), 2);
    }
    assert_same(
        &sqlite,
        &postgres,
        "migrations/sqlite vs migrations/postgres",
    );
}

#[test]
fn the_comparison_sees_drift() {
    // The reader is not blind: a column, an index or a guard that one dialect
    // lacks is found.
    let db = migrated(Backend::Sqlite);
    let before = sqlite_schema(&db);
    db.execute("CREATE INDEX drift ON accounts (name)").unwrap();
    db.execute("ALTER TABLE ledgers ADD COLUMN drift TEXT")
        .unwrap();
    db.execute("DROP TRIGGER postings_no_update").unwrap();
    let after = sqlite_schema(&db);
    assert_ne!(before["accounts"].indexes, after["accounts"].indexes);
    assert_ne!(before["ledgers"].columns, after["ledgers"].columns);
    assert_ne!(before["postings"].guarded, after["postings"].guarded);
}
