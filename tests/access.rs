//! Who may see and touch what. Roles reach the subtree of the organisation they
//! are granted at: anything outside it answers 404 as if it did not exist, an
//! action the role can never take answers 403, and neither refusal discloses
//! anything or changes anything. Also: what people may change about
//! themselves, how phone numbers and PINs are kept, and the audit trail of
//! organisations and people.
//! Each test runs on SQLite and, when `TIMEBANK_TEST_PG_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use diesel::RunQueryDsl;
use serde_json::{Value, json};

use common::*;
use timebank::domain::Role;
use timebank::store::DbConnection;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every item of a list endpoint, following `next_cursor` to the end.
fn all_items(api: &Api, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=200&cursor={c}"),
            None => format!("{path}{sep}limit=200"),
        };
        let r = api.get(&url);
        assert_eq!(r.status, 200, "GET {url}: {}", r.body);
        let page = r.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("GET {url}: no items in {}", r.body));
        items.extend(page.iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
}

/// The `id`s of a list.
fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

/// Everything the root administrator can see: the tree, the people, the
/// volunteers, the books, the journal and the audit log.
fn world(bank: &Bank) -> Value {
    let api = &bank.api;
    json!({
        "organisations": all_items(api, "/v1/organisations"),
        "users": all_items(api, "/v1/users"),
        "volunteers": all_items(api, "/v1/volunteers"),
        "accounts": all_items(api, "/v1/accounts"),
        "ledgers": all_items(api, "/v1/ledgers"),
        "transfers": all_items(api, "/v1/transfers"),
        "audit_log": all_items(api, "/v1/audit-log"),
        "snapshot": bank.snapshot(),
    })
}

const PROBLEM_FIELDS: &[&str] = &["type", "title", "status", "detail", "code", "errors"];

/// Asserts an RFC 9457 refusal with this status and code that carries nothing
/// but the problem, and none of `secrets`.
fn assert_refused(what: &str, reply: &Reply, status: u16, code: &str, secrets: &[&str]) {
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (status, Some(code)),
        "{what}: expected {status} {code}; got {} {}",
        reply.status,
        reply.body
    );
    reply.assert_problem(status, code);
    let fields = reply
        .body
        .as_object()
        .unwrap_or_else(|| panic!("{what}: problem is not an object: {}", reply.body));
    for key in fields.keys() {
        assert!(
            PROBLEM_FIELDS.contains(&key.as_str()),
            "{what}: the refusal carries more than a problem ({key}): {}",
            reply.body
        );
    }
    if code == "validation_failed" {
        let errors = reply.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: validation_failed without errors: {}", reply.body));
        assert!(!errors.is_empty(), "{what}: empty errors: {}", reply.body);
    }
    let text = reply.body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "{what}: leaks {secret:?}: {text}");
    }
}

/// Runs `attempt`, asserts it is refused as `status`/`code` without leaking
/// `secrets`, and that nothing anywhere changed.
fn refused(
    bank: &Bank,
    what: &str,
    status: u16,
    code: &str,
    secrets: &[&str],
    attempt: impl FnOnce() -> Reply,
) -> Reply {
    let before = world(bank);
    let reply = attempt();
    assert_refused(what, &reply, status, code, secrets);
    assert_eq!(
        world(bank),
        before,
        "{what}: a refusal ({status} {code}) changed something; reply {}",
        reply.body
    );
    reply
}

/// Sends one request; every POST gets a fresh Idempotency-Key.
fn send(api: &Api, method: &str, path: &str, body: &Value) -> Reply {
    match method {
        "GET" => api.get(path),
        "PATCH" => api.patch(path, body),
        "POST" => api.post(path, body, Some(&fresh_key())),
        "DELETE" => api.delete(path),
        other => panic!("no method {other}"),
    }
}

fn not_found_or_forbidden(status: u16) -> &'static str {
    if status == 404 {
        "not_found"
    } else {
        "forbidden"
    }
}

fn ok(what: &str, reply: Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    reply.body
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {value}"))
}

/// Registers a volunteer through `api`; returns their registration.
fn register(api: &Api, body: &Value) -> Value {
    ok(
        "register volunteer",
        api.post("/v1/volunteers", body, None),
        201,
    )
}

fn unique_phone() -> String {
    format!("+86 139 {:08}", rand_digits())
}

/// A user as the root administrator sees them.
fn user(bank: &Bank, id: &str) -> Value {
    ok("read user", bank.api.get(&format!("/v1/users/{id}")), 200)
}

/// An `hours_credit` from the issuance account.
fn hours_credit(bank: &Bank, wallet: &str, amount: &str) -> Value {
    json!({
        "kind": "hours_credit",
        "debit_account_id": bank.issuance_id,
        "credit_account_id": wallet,
        "amount": amount,
    })
}

/// The audit entries about one entity, oldest first.
fn audit_of(api: &Api, entity_type: &str, entity_id: &str) -> Vec<Value> {
    all_items(
        api,
        &format!("/v1/audit-log?entity_type={entity_type}&entity_id={entity_id}"),
    )
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| str_of(e, "action")).collect()
}

/// One text per row, from raw SQL selecting a single TEXT column `text`.
#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

fn raw_texts(db: &TestDb, sql: &str) -> Vec<String> {
    let mut conn = db.raw();
    let rows = match &mut conn {
        DbConnection::Sqlite(c) => diesel::sql_query(sql).load::<TextRow>(c),
        DbConnection::Postgresql(c) => diesel::sql_query(sql).load::<TextRow>(c),
    };
    rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.text)
        .collect()
}

/// Every TEXT column of every row of `volunteers`, joined per row.
fn volunteers_dump(db: &TestDb) -> Vec<String> {
    let columns = [
        "id",
        "name",
        "phone_hash",
        "phone_last4",
        "organisation_id",
        "card_number",
        "pin_hash",
        "status",
        "account_id",
        "user_id",
    ];
    let joined = columns
        .iter()
        .map(|c| format!("COALESCE({c}, '')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    raw_texts(db, &format!("SELECT {joined} AS text FROM volunteers"))
}

/// The whole database as text: on PostgreSQL every row of every table cast to
/// text; on SQLite the bytes of every file the database keeps (main file, WAL).
fn database_dump(db: &TestDb) -> String {
    match db.backend {
        Backend::Postgres => {
            let tables = raw_texts(
                db,
                "SELECT CAST(table_name AS TEXT) AS text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            );
            assert!(tables.iter().any(|t| t == "volunteers"), "{tables:?}");
            tables
                .iter()
                .flat_map(|t| {
                    raw_texts(
                        db,
                        &format!("SELECT CAST(t AS TEXT) AS text FROM \"{t}\" t"),
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Backend::Sqlite => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(db.dir()).expect("database dir") {
                let path = entry.expect("dir entry").path();
                if path.is_file() {
                    all.extend(std::fs::read(&path).expect("read database file"));
                    all.push(b'\n');
                }
            }
            String::from_utf8_lossy(&all).into_owned()
        }
    }
}

/// A small tree with two communities side by side and people in each:
/// City > District D > {Community A, Community B}.
struct Tree {
    district: String,
    a: String,
    b: String,
    b_name: String,
    coord_a_id: String,
    coord_a: Api,
    coord_b_id: String,
    coord_b: Api,
    coord_b_username: String,
    coord_b_grant: String,
    auditor_a_id: String,
    auditor_a: Api,
    /// Volunteer of A, who can log in.
    va: Value,
    va_api: Api,
    /// Volunteer of B, funded with 10.00 by the administrator.
    vb: Value,
    vb_phone: String,
    vb_funding: String,
    va_funding: String,
}

impl Tree {
    fn new(bank: &Bank) -> Self {
        let district = bank.organisation("District D", "district", &bank.organisation_id);
        let a = bank.organisation("Community A", "community", &district);
        let b_name = "Orchard Lane B".to_string();
        let b = bank.organisation(&b_name, "community", &district);
        let (coord_a_id, coord_a_token) = bank.person(Role::Coordinator, &a);
        let (coord_b_id, coord_b_token) = bank.person(Role::Coordinator, &b);
        let (auditor_a_id, auditor_a_token) = bank.person(Role::Auditor, &a);
        let coord_b_user = user(bank, &coord_b_id);
        let (va, va_token) = bank.volunteer_login(&a);
        let vb_phone = unique_phone();
        let vb = register(
            &bank.api,
            &json!({
                "name": "Beatrix Hiddenname",
                "phone": vb_phone,
                "organisation_id": b,
                "card_number": format!("B{:08}", rand_digits()),
            }),
        );
        let vb_funding = bank.fund(str_of(&vb, "account_id"), "10.00");
        let va_funding = bank.fund(str_of(&va, "account_id"), "5.00");
        Self {
            district,
            a,
            b,
            b_name,
            coord_a_id,
            coord_a: bank.api.with_token(&coord_a_token),
            coord_b_id,
            coord_b: bank.api.with_token(&coord_b_token),
            coord_b_username: str_of(&coord_b_user, "username").to_string(),
            coord_b_grant: str_of(&coord_b_user["roles"][0], "id").to_string(),
            auditor_a_id,
            auditor_a: bank.api.with_token(&auditor_a_token),
            va,
            va_api: bank.api.with_token(&va_token),
            vb,
            vb_phone,
            vb_funding,
            va_funding,
        }
    }

    fn va_id(&self) -> &str {
        str_of(&self.va, "id")
    }

    fn vb_id(&self) -> &str {
        str_of(&self.vb, "id")
    }

    fn wallet_a(&self) -> &str {
        str_of(&self.va, "account_id")
    }

    fn wallet_b(&self) -> &str {
        str_of(&self.vb, "account_id")
    }

    /// What must never show in an answer to someone outside B.
    fn secrets_of_b(&self) -> Vec<&str> {
        vec![
            &self.b_name,
            "Beatrix Hiddenname",
            &self.coord_b_username,
            str_of(&self.vb, "card_number"),
            "10.00",
        ]
    }
}

// ---------------------------------------------------------------------------
// Scope: one community cannot reach into its neighbour.
// ---------------------------------------------------------------------------

on_both_backends! {
    community_a_cannot_reach_community_b(backend) {
        let bank = Bank::new(backend);
        let t = Tree::new(&bank);
        let (vb, wallet_b, funding) = (t.vb_id(), t.wallet_b(), t.vb_funding.as_str());
        let (b, coord_b, grant) = (t.b.as_str(), t.coord_b_id.as_str(), t.coord_b_grant.as_str());
        // A hold on B's wallet, so that post and void would be meaningful.
        let hold = bank.api.post(
            "/v1/transfers",
            &json!({
                "kind": "hours_credit",
                "debit_account_id": bank.issuance_id,
                "credit_account_id": wallet_b,
                "amount": "1.00",
                "pending": true,
            }),
            Some(&fresh_key()),
        );
        let hold = ok("hold on B's wallet", hold, 201);
        let hold = str_of(&hold, "id");
        let secrets = t.secrets_of_b();

        // 404 where a coordinator could do it inside their own subtree; 403
        // where a coordinator can never do it (administrators only).
        let cases: Vec<(&str, String, Value, u16)> = vec![
            ("GET", format!("/v1/volunteers/{vb}"), Value::Null, 404),
            (
                "PATCH",
                format!("/v1/volunteers/{vb}"),
                json!({"name": "Taken over", "organisation_id": t.a}),
                404,
            ),
            ("PATCH", format!("/v1/volunteers/{vb}"), json!({"status": "left"}), 404),
            ("GET", format!("/v1/accounts/{wallet_b}"), Value::Null, 404),
            ("GET", format!("/v1/accounts/{wallet_b}/balance"), Value::Null, 404),
            ("GET", format!("/v1/accounts/{wallet_b}/postings"), Value::Null, 404),
            ("POST", format!("/v1/accounts/{wallet_b}/freeze"), json!({}), 403),
            ("POST", format!("/v1/accounts/{wallet_b}/unfreeze"), json!({}), 403),
            ("POST", format!("/v1/accounts/{wallet_b}/close"), json!({}), 403),
            ("GET", format!("/v1/transfers/{funding}"), Value::Null, 404),
            ("GET", format!("/v1/transfers/{hold}"), Value::Null, 404),
            ("POST", format!("/v1/transfers/{funding}/post"), json!({}), 404),
            ("POST", format!("/v1/transfers/{funding}/void"), json!({}), 404),
            ("POST", format!("/v1/transfers/{hold}/post"), json!({}), 404),
            ("POST", format!("/v1/transfers/{hold}/void"), json!({}), 404),
            ("POST", format!("/v1/transfers/{funding}/reverse"), json!({}), 403),
            ("GET", format!("/v1/organisations/{b}"), Value::Null, 404),
            // Nor the district above A.
            ("GET", format!("/v1/organisations/{}", t.district), Value::Null, 404),
            (
                "PATCH",
                format!("/v1/organisations/{b}"),
                json!({"name": "Renamed by A"}),
                403,
            ),
            (
                "PATCH",
                format!("/v1/organisations/{b}"),
                json!({"parent_id": t.a}),
                403,
            ),
            // Any role reads its own user; other people are not found.
            ("GET", format!("/v1/users/{coord_b}"), Value::Null, 404),
            ("PATCH", format!("/v1/users/{coord_b}"), json!({"status": "disabled"}), 403),
            (
                "POST",
                format!("/v1/users/{coord_b}/roles"),
                json!({"role": "coordinator", "organisation_id": t.a}),
                403,
            ),
            ("DELETE", format!("/v1/users/{coord_b}/roles/{grant}"), Value::Null, 403),
        ];
        for (method, path, body, status) in &cases {
            let what = format!("coordinator of A: {method} {path}");
            refused(&bank, &what, *status, not_found_or_forbidden(*status), &secrets, || {
                send(&t.coord_a, method, path, body)
            });
        }

        // The same reads work for the coordinator of B: the 404s above are about
        // scope, not about the paths.
        for path in [
            format!("/v1/volunteers/{vb}"),
            format!("/v1/accounts/{wallet_b}"),
            format!("/v1/accounts/{wallet_b}/balance"),
            format!("/v1/accounts/{wallet_b}/postings"),
            format!("/v1/transfers/{funding}"),
            format!("/v1/organisations/{b}"),
        ] {
            ok(&format!("coordinator of B: GET {path}"), t.coord_b.get(&path), 200);
        }

        // Lists for the coordinator of A hold A only.
        let volunteers = all_items(&t.coord_a, "/v1/volunteers");
        assert_eq!(ids(&volunteers), vec![t.va_id().to_string()], "{volunteers:?}");
        for path in [
            format!("/v1/volunteers?organisation_id={b}"),
            format!("/v1/volunteers?phone={}", t.vb_phone.replace('+', "%2B").replace(' ', "%20")),
            format!("/v1/volunteers?card_number={}", str_of(&t.vb, "card_number")),
        ] {
            let found = all_items(&t.coord_a, &path);
            assert!(found.is_empty(), "coordinator of A: GET {path} shows {found:?}");
        }
        let accounts = all_items(&t.coord_a, "/v1/accounts");
        assert_eq!(ids(&accounts), vec![t.wallet_a().to_string()], "{accounts:?}");
        let accounts = all_items(&t.coord_a, &format!("/v1/accounts?organisation_id={b}"));
        assert!(accounts.is_empty(), "{accounts:?}");
        let children = all_items(
            &t.coord_a,
            &format!("/v1/organisations?parent_id={}", t.district),
        );
        assert_eq!(ids(&children), vec![t.a.clone()], "{children:?}");
        let transfers = all_items(&t.coord_a, "/v1/transfers");
        assert_eq!(ids(&transfers), vec![t.va_funding.clone()], "{transfers:?}");
        let transfers = all_items(&t.coord_a, &format!("/v1/transfers?account_id={wallet_b}"));
        assert!(transfers.is_empty(), "{transfers:?}");
        let organisations = all_items(&t.coord_a, "/v1/organisations");
        assert_eq!(ids(&organisations), vec![t.a.clone()], "{organisations:?}");
        for path in ["/v1/users", "/v1/audit-log"] {
            let r = t.coord_a.get(path);
            assert_refused(&format!("coordinator: GET {path}"), &r, 403, "forbidden", &secrets);
        }

        // Registering a volunteer in B: B is not an organisation A's
        // coordinator may name.
        refused(&bank, "coordinator of A registers in B", 400, "validation_failed", &secrets, || {
            t.coord_a.post(
                "/v1/volunteers",
                &json!({"name": "Planted", "phone": unique_phone(), "organisation_id": b}),
                None,
            )
        });

        // Moving A's own volunteer into B: B is not A's to name either.
        refused(&bank, "coordinator of A moves vA to B", 400, "validation_failed", &secrets, || {
            t.coord_a.patch(&format!("/v1/volunteers/{}", t.va_id()), &json!({"organisation_id": b}))
        });

        // Hours credited to B's wallet: as if the wallet did not exist, and no
        // transfer is recorded; also when B's wallet hides among other legs.
        let before = all_items(&bank.api, &format!("/v1/transfers?account_id={wallet_b}"));
        refused(&bank, "coordinator of A credits B", 422, "account_not_found", &secrets, || {
            t.coord_a.post("/v1/transfers", &hours_credit(&bank, wallet_b, "2.00"), Some(&fresh_key()))
        });
        let legs = json!({
            "kind": "hours_credit",
            "postings": [
                {"account_id": bank.issuance_id, "direction": "debit", "amount": "2.00"},
                {"account_id": t.wallet_a(), "direction": "credit", "amount": "1.00"},
                {"account_id": wallet_b, "direction": "credit", "amount": "1.00"},
            ],
        });
        refused(&bank, "coordinator of A credits A and B", 422, "account_not_found", &secrets, || {
            t.coord_a.post("/v1/transfers", &legs, Some(&fresh_key()))
        });
        assert_eq!(all_items(&bank.api, &format!("/v1/transfers?account_id={wallet_b}")), before);
        assert_eq!(bank.posted(wallet_b), "10.00");

        // Hours credited to A's own volunteer go through.
        let credit = t.coord_a.post(
            "/v1/transfers",
            &hours_credit(&bank, t.wallet_a(), "2.00"),
            Some(&fresh_key()),
        );
        let credit = ok("coordinator of A credits A", credit, 201);
        assert_eq!(credit["actor_id"], t.coord_a_id.as_str());
        assert_eq!(credit["status"], "posted");
        assert_eq!(bank.posted(t.wallet_a()), "7.00");

        // The coordinator of B may settle the hold A could not even see.
        let voided = t.coord_b.post(&format!("/v1/transfers/{hold}/void"), &json!({}), Some(&fresh_key()));
        ok("coordinator of B voids the hold", voided, 201);
        let hold = ok("read hold", bank.api.get(&format!("/v1/transfers/{hold}")), 200);
        assert_eq!(hold["status"], "voided");
        assert_eq!(bank.posted(wallet_b), "10.00");
        bank.assert_verified();
    }
}

// ---------------------------------------------------------------------------
// Auditors read their subtree and change nothing.
// ---------------------------------------------------------------------------

on_both_backends! {
    the_auditor_of_a_reads_a_and_writes_nothing(backend) {
        let bank = Bank::new(backend);
        let t = Tree::new(&bank);
        let auditor = &t.auditor_a;
        let (va, wallet_a) = (t.va_id(), t.wallet_a());

        // Reads inside A.
        let volunteers = all_items(auditor, "/v1/volunteers");
        assert_eq!(ids(&volunteers), vec![va.to_string()], "{volunteers:?}");
        let accounts = all_items(auditor, "/v1/accounts");
        assert_eq!(ids(&accounts), vec![wallet_a.to_string()], "{accounts:?}");
        for path in [
            format!("/v1/volunteers/{va}"),
            format!("/v1/accounts/{wallet_a}"),
            format!("/v1/accounts/{wallet_a}/balance"),
            format!("/v1/accounts/{wallet_a}/postings"),
            format!("/v1/transfers/{}", t.va_funding),
            format!("/v1/organisations/{}", t.a),
            format!("/v1/users/{}", t.coord_a_id),
        ] {
            ok(&format!("auditor of A: GET {path}"), auditor.get(&path), 200);
        }
        let people = ids(&all_items(auditor, "/v1/users"));
        assert!(people.contains(&t.coord_a_id), "{people:?}");
        assert!(people.contains(&t.auditor_a_id), "{people:?}");
        assert!(!people.contains(&t.coord_b_id), "{people:?}");

        // The audit log of A: A's volunteer and people, nothing of B.
        let log = all_items(auditor, "/v1/audit-log");
        assert!(
            log.iter().any(|e| e["action"] == "volunteer.created" && e["entity_id"] == va),
            "{log:#?}"
        );
        assert!(
            log.iter().any(|e| e["action"] == "user.created" && e["entity_id"] == t.coord_a_id.as_str()),
            "{log:#?}"
        );
        for entry in &log {
            assert_eq!(entry["organisation_id"], t.a.as_str(), "outside A: {entry}");
        }
        let text = serde_json::to_string(&log).expect("json");
        for secret in t.secrets_of_b() {
            assert!(!text.contains(secret), "the audit log of A shows {secret:?}");
        }

        // Outside A: not found.
        for path in [
            format!("/v1/volunteers/{}", t.vb_id()),
            format!("/v1/accounts/{}", t.wallet_b()),
            format!("/v1/transfers/{}", t.vb_funding),
            format!("/v1/organisations/{}", t.b),
            format!("/v1/users/{}", t.coord_b_id),
        ] {
            let what = format!("auditor of A: GET {path}");
            assert_refused(&what, &auditor.get(&path), 404, "not_found", &t.secrets_of_b());
        }

        // The scheme's ledger belongs to the city: the auditor of A sees it (it
        // is above A) but verifying it needs the auditor role over the city.
        let ledger = format!("/v1/ledgers/{}", bank.ledger_id);
        ok("auditor of A: GET ledger", auditor.get(&ledger), 200);
        let verify = format!("{ledger}/verify");
        refused(&bank, "auditor of A verifies the city's ledger", 403, "forbidden", &[], || {
            auditor.get(&verify)
        });
        let city_auditor = bank.as_role(Role::Auditor);
        let report = ok("city auditor verifies", city_auditor.get(&verify), 200);
        assert_eq!(report["ok"], true, "{report}");

        // Every write, even inside A: forbidden, and nothing changes.
        let writes: Vec<(&str, String, Value)> = vec![
            (
                "POST",
                "/v1/volunteers".into(),
                json!({"name": "Audited", "phone": unique_phone(), "organisation_id": t.a}),
            ),
            ("PATCH", format!("/v1/volunteers/{va}"), json!({"name": "Audited"})),
            ("POST", "/v1/transfers".into(), hours_credit(&bank, wallet_a, "1.00")),
            (
                "POST",
                "/v1/transfers".into(),
                json!({
                    "kind": "adjustment",
                    "debit_account_id": wallet_a,
                    "credit_account_id": bank.issuance_id,
                    "amount": "1.00",
                }),
            ),
            ("POST", format!("/v1/transfers/{}/reverse", t.va_funding), json!({})),
            ("POST", format!("/v1/accounts/{wallet_a}/freeze"), json!({})),
            ("POST", format!("/v1/accounts/{wallet_a}/unfreeze"), json!({})),
            ("POST", format!("/v1/accounts/{wallet_a}/close"), json!({})),
            (
                "POST",
                "/v1/accounts".into(),
                json!({"ledger_id": bank.ledger_id, "organisation_id": t.a, "kind": "community_fund", "name": "Fund"}),
            ),
            (
                "POST",
                "/v1/organisations".into(),
                json!({"name": "Grid 1", "kind": "grid", "parent_id": t.a}),
            ),
            ("PATCH", format!("/v1/organisations/{}", t.a), json!({"name": "Audited"})),
            (
                "POST",
                "/v1/users".into(),
                json!({
                    "username": format!("planted-{}", fresh_key()),
                    "password": PASSWORD,
                    "roles": [{"role": "coordinator", "organisation_id": t.a}],
                }),
            ),
            ("PATCH", format!("/v1/users/{}", t.coord_a_id), json!({"status": "disabled"})),
            (
                "POST",
                format!("/v1/users/{}/roles", t.coord_a_id),
                json!({"role": "auditor", "organisation_id": t.a}),
            ),
        ];
        for (method, path, body) in &writes {
            let what = format!("auditor of A: {method} {path}");
            refused(&bank, &what, 403, "forbidden", &[], || send(auditor, method, path, body));
        }
        assert_eq!(bank.posted(wallet_a), "5.00");
    }
}

// ---------------------------------------------------------------------------
// A volunteer sees their own wallet and changes only what is theirs.
// ---------------------------------------------------------------------------

on_both_backends! {
    a_volunteer_sees_only_their_own_wallet(backend) {
        let bank = Bank::new(backend);
        let t = Tree::new(&bank);
        let me_api = &t.va_api;
        let (wallet_a, wallet_b) = (t.wallet_a(), t.wallet_b());

        let me = ok("GET /v1/me", me_api.get("/v1/me"), 200);
        assert_eq!(me["user"]["id"], t.va["user_id"], "{me}");
        let roles = me["user"]["roles"].as_array().expect("roles");
        assert_eq!(roles.len(), 1, "{me}");
        assert_eq!(roles[0]["role"], "volunteer");
        assert_eq!(roles[0]["organisation_id"], t.a.as_str());
        assert_eq!(me["volunteer"]["id"], t.va_id());
        assert_eq!(me["volunteer"]["account_id"], wallet_a);
        assert_eq!(me["volunteer"]["organisation_id"], t.a.as_str());

        let own = ok("own wallet", me_api.get(&format!("/v1/accounts/{wallet_a}")), 200);
        assert_eq!(own["kind"], "volunteer");
        assert_eq!(own["no_overdraft"], true);
        assert_eq!(own["balances"]["posted"], "5.00");
        ok("own balance", me_api.get(&format!("/v1/accounts/{wallet_a}/balance")), 200);
        ok("own postings", me_api.get(&format!("/v1/accounts/{wallet_a}/postings")), 200);
        ok("own registration", me_api.get(&format!("/v1/volunteers/{}", t.va_id())), 200);
        ok("own funding", me_api.get(&format!("/v1/transfers/{}", t.va_funding)), 200);

        let secrets = t.secrets_of_b();
        for path in [
            format!("/v1/accounts/{wallet_b}"),
            format!("/v1/accounts/{wallet_b}/balance"),
            format!("/v1/accounts/{wallet_b}/postings"),
            format!("/v1/accounts/{}", bank.issuance_id),
            format!("/v1/volunteers/{}", t.vb_id()),
            format!("/v1/transfers/{}", t.vb_funding),
            format!("/v1/users/{}", t.coord_a_id),
        ] {
            let what = format!("volunteer: GET {path}");
            assert_refused(&what, &me_api.get(&path), 404, "not_found", &secrets);
        }
        let what = "volunteer: GET /v1/volunteers";
        assert_refused(what, &me_api.get("/v1/volunteers"), 403, "forbidden", &secrets);

        // A community fund in A is there, but a volunteer lists only their wallet.
        let fund = bank.api.post(
            "/v1/accounts",
            &json!({"ledger_id": bank.ledger_id, "organisation_id": t.a, "kind": "community_fund", "name": "A fund"}),
            None,
        );
        let fund = ok("open community fund", fund, 201);
        let fund = str_of(&fund, "id");
        let listed = all_items(me_api, "/v1/accounts");
        assert_eq!(ids(&listed), vec![wallet_a.to_string()], "{listed:?}");
        let listed = all_items(me_api, "/v1/transfers");
        assert_eq!(ids(&listed), vec![t.va_funding.clone()], "{listed:?}");
        let listed = all_items(me_api, "/v1/organisations");
        assert_eq!(ids(&listed), vec![t.a.clone()], "{listed:?}");
        let r = me_api.get(&format!("/v1/organisations/{}", t.b));
        assert_refused("volunteer: GET organisation B", &r, 404, "not_found", &secrets);

        // Roles, organisations and status are not the volunteer's to change.
        for body in [
            json!({"role": "admin"}),
            json!({"organisation_id": t.b}),
            json!({"organisation_id": bank.organisation_id}),
            json!({"roles": [{"role": "admin", "organisation_id": bank.organisation_id}]}),
            json!({"status": "active"}),
            json!({"leaderboard_consent": true, "role": "admin"}),
        ] {
            let before = ok("GET /v1/me", me_api.get("/v1/me"), 200);
            refused(&bank, &format!("PATCH /v1/me {body}"), 400, "validation_failed", &[], || {
                me_api.patch("/v1/me", &body)
            });
            assert_eq!(ok("GET /v1/me", me_api.get("/v1/me"), 200), before);
        }
        let me = ok("GET /v1/me", me_api.get("/v1/me"), 200);
        assert_eq!(me["volunteer"]["leaderboard_consent"], false);

        // Leaderboard consent is theirs.
        let changed = ok(
            "PATCH /v1/me consent",
            me_api.patch("/v1/me", &json!({"leaderboard_consent": true})),
            200,
        );
        assert_eq!(changed["volunteer"]["leaderboard_consent"], true, "{changed}");
        let me = ok("GET /v1/me", me_api.get("/v1/me"), 200);
        assert_eq!(me["volunteer"]["leaderboard_consent"], true);
        assert_eq!(me["user"]["roles"], json!(roles));
        let seen = ok("admin reads vA", bank.api.get(&format!("/v1/volunteers/{}", t.va_id())), 200);
        assert_eq!(seen["leaderboard_consent"], true);

        // Transfers: a donation from the own wallet to a community fund only.
        let donation = |from: &str| {
            json!({"kind": "donation", "debit_account_id": from, "credit_account_id": fund, "amount": "1.00"})
        };
        let given = me_api.post("/v1/transfers", &donation(wallet_a), Some(&fresh_key()));
        ok("donation from own wallet", given, 201);
        refused(&bank, "donation from B's wallet", 422, "account_not_found", &secrets, || {
            me_api.post("/v1/transfers", &donation(wallet_b), Some(&fresh_key()))
        });
        refused(&bank, "volunteer credits themselves", 403, "forbidden", &secrets, || {
            me_api.post("/v1/transfers", &hours_credit(&bank, wallet_a, "1.00"), Some(&fresh_key()))
        });
        assert_eq!(bank.posted(wallet_a), "4.00");
        assert_eq!(bank.posted(wallet_b), "10.00");
        assert_eq!(bank.posted(fund), "1.00");
    }
}

// ---------------------------------------------------------------------------
// Phone numbers and PINs are not kept in clear.
// ---------------------------------------------------------------------------

on_both_backends! {
    phone_numbers_and_pins_are_not_kept_in_clear(backend) {
        let bank = Bank::new(backend);
        let district = bank.organisation("District D", "district", &bank.organisation_id);
        let a = bank.organisation("Community A", "community", &district);
        let b = bank.organisation("Community B", "community", &district);
        let (_, coord_a) = bank.person(Role::Coordinator, &a);
        let (_, coord_b) = bank.person(Role::Coordinator, &b);
        let coord_a = bank.api.with_token(&coord_a);
        let coord_b = bank.api.with_token(&coord_b);

        let created = coord_a.post(
            "/v1/volunteers",
            &json!({
                "name": "Zhang Min",
                "phone": "+86 138-0013-8000",
                "organisation_id": a,
                "pin": "90817263",
            }),
            Some(&fresh_key()),
        );
        let created = ok("register", created, 201);
        let id = str_of(&created, "id").to_string();
        assert_eq!(created["phone_last4"], "8000");
        assert_eq!(created["has_pin"], true);
        for field in ["phone", "pin", "phone_hash", "pin_hash"] {
            assert!(created.get(field).is_none(), "{field} shown: {created}");
        }

        // Any spelling of the number finds them; only the last four digits show.
        for spelling in [
            "%2B8613800138000",
            "%2B86%20138-0013-8000",
            "%2B86%20(138)%200013%208000",
        ] {
            let path = format!("/v1/volunteers?phone={spelling}");
            for api in [&coord_a, &bank.api] {
                let r = api.get(&path);
                let found = ok(&format!("GET {path}"), r, 200);
                assert_eq!(ids(found["items"].as_array().expect("items")), vec![id.clone()], "{found}");
                let item = &found["items"][0];
                assert_eq!(item["phone_last4"], "8000");
                assert!(item.get("phone").is_none(), "{item}");
                assert!(!found.to_string().contains("13800138000"), "{found}");
            }
        }
        // Not found by another number, nor by someone outside A.
        let other = all_items(&coord_a, "/v1/volunteers?phone=%2B8613800138001");
        assert!(other.is_empty(), "{other:?}");
        let outside = all_items(&coord_b, "/v1/volunteers?phone=%2B8613800138000");
        assert!(outside.is_empty(), "{outside:?}");

        // The volunteers table itself.
        let rows = volunteers_dump(&bank.db);
        assert_eq!(rows.len(), 1, "{rows:?}");
        for row in &rows {
            for clear in ["13800138000", "138-0013-8000", "0013-8000", "90817263"] {
                assert!(!row.contains(clear), "volunteers row holds {clear:?}: {row}");
            }
            assert!(row.contains("|8000|"), "phone_last4 kept: {row}");
        }
        let pin = raw_texts(
            &bank.db,
            &format!("SELECT COALESCE(pin_hash, '') AS text FROM volunteers WHERE id = '{id}'"),
        );
        assert_eq!(pin.len(), 1);
        assert!(pin[0].starts_with("$argon2"), "PIN kept as {:?}", pin[0]);

        // Nowhere else in the database either (audit log, idempotency records…).
        let dump = database_dump(&bank.db);
        assert!(dump.contains(&id), "the dump is not the database: no {id}");
        for clear in ["13800138000", "138-0013-8000", "90817263"] {
            assert!(!dump.contains(clear), "the database holds {clear:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// Finding volunteers by part of their name.
// ---------------------------------------------------------------------------

/// Percent-encodes a query value (every byte but letters and digits).
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

on_both_backends! {
    volunteers_are_found_by_part_of_their_name(backend) {
        let bank = Bank::new(backend);
        let district = bank.organisation("District N", "district", &bank.organisation_id);
        let a = bank.organisation("Community A", "community", &district);
        let b = bank.organisation("Community B", "community", &district);
        let coord_a = bank.api.with_token(&bank.person(Role::Coordinator, &a).1);
        let coord_b = bank.api.with_token(&bank.person(Role::Coordinator, &b).1);
        let mut named = std::collections::HashMap::new();
        for (name, home) in [
            ("Li Wei", &a),
            ("LI WEI-MING", &a),
            ("Wang 50% Li", &a),
            ("Zhao_Lin", &a),
            ("Zhaoxlin", &a),
            ("Back\\slash", &a),
            ("Zoë Ärnström", &a),
            ("李伟", &a),
            ("Li Wei of B", &b),
        ] {
            let v = register(&bank.api, &json!({"name": name, "phone": unique_phone(), "organisation_id": home}));
            named.insert(name, str_of(&v, "id").to_string());
        }
        let found = |api: &Api, search: &str| -> Vec<String> {
            let mut got = ids(&all_items(api, &format!("/v1/volunteers?name={}", query_value(search))));
            got.sort();
            got
        };
        let expect = |names: &[&str]| -> Vec<String> {
            let mut want: Vec<String> = names.iter().map(|n| named[n].clone()).collect();
            want.sort();
            want
        };
        // A to Z in any case; only inside the caller's scope.
        assert_eq!(found(&coord_a, "li wei"), expect(&["Li Wei", "LI WEI-MING"]));
        assert_eq!(found(&coord_a, "  wEi-m "), expect(&["LI WEI-MING"]));
        assert_eq!(found(&coord_b, "LI WEI"), expect(&["Li Wei of B"]));
        assert_eq!(found(&bank.api, "li wei"), expect(&["Li Wei", "LI WEI-MING", "Li Wei of B"]));
        // LIKE's wildcards and its escape character match only themselves.
        assert_eq!(found(&coord_a, "%"), expect(&["Wang 50% Li"]));
        assert_eq!(found(&coord_a, "0%"), expect(&["Wang 50% Li"]));
        assert_eq!(found(&coord_a, "_"), expect(&["Zhao_Lin"]));
        assert_eq!(found(&coord_a, "o_l"), expect(&["Zhao_Lin"]));
        assert_eq!(found(&coord_a, "\\"), expect(&["Back\\slash"]));
        assert_eq!(found(&coord_a, "\\%"), Vec::<String>::new());
        assert_eq!(found(&coord_a, "%%"), Vec::<String>::new());
        // Other scripts match as written; both backends fold only A to Z.
        assert_eq!(found(&coord_a, "李"), expect(&["李伟"]));
        assert_eq!(found(&coord_a, "ZOë Ärn"), expect(&["Zoë Ärnström"]));
        assert_eq!(found(&coord_a, "ärn"), Vec::<String>::new());
        assert_eq!(found(&coord_a, "ZOË"), Vec::<String>::new());
        // Combined with the other filters.
        let with_card = all_items(&coord_a, "/v1/volunteers?name=li&card_number=NOPE0000");
        assert!(with_card.is_empty(), "{with_card:?}");

        // Hostile or empty searches are refused, naming the field.
        let long = "x".repeat(101);
        for bad in ["%00", "", "%20%20", "a%00b", "tab%09here", "line%0Abreak", long.as_str()] {
            let r = coord_a.get(&format!("/v1/volunteers?name={bad}"));
            r.assert_invalid("name");
        }
        assert_eq!(found(&coord_a, &"x".repeat(100)), Vec::<String>::new());
    }
}

// ---------------------------------------------------------------------------
// Moving and renaming organisations.
// ---------------------------------------------------------------------------

on_both_backends! {
    moves_and_renames_are_audited_and_move_the_scope(backend) {
        let bank = Bank::new(backend);
        let root = bank.organisation_id.clone();
        let north = bank.organisation("North", "district", &root);
        let south = bank.organisation("South", "district", &root);
        let a = bank.organisation("Willow Court", "community", &north);
        let grid = bank.organisation("Grid 7", "grid", &a);
        let (_, coord_north) = bank.person(Role::Coordinator, &north);
        let (_, coord_south) = bank.person(Role::Coordinator, &south);
        let (_, coord_a) = bank.person(Role::Coordinator, &a);
        let coord_north = bank.api.with_token(&coord_north);
        let coord_south = bank.api.with_token(&coord_south);
        let coord_a = bank.api.with_token(&coord_a);
        let (vol, _) = bank.volunteer_login(&grid);
        let (vol, wallet) = (str_of(&vol, "id"), str_of(&vol, "account_id"));
        bank.fund(wallet, "3.00");

        let reads = |api: &Api| {
            [
                format!("/v1/organisations/{a}"),
                format!("/v1/organisations/{grid}"),
                format!("/v1/volunteers/{vol}"),
                format!("/v1/accounts/{wallet}"),
            ]
            .map(|p| (api.get(&p).status, p))
        };
        let sees = |api: &Api, status: u16| {
            for (got, path) in reads(api) {
                assert_eq!(got, status, "GET {path}");
            }
        };
        sees(&coord_north, 200);
        sees(&coord_south, 404);
        sees(&coord_a, 200);

        // Rename: audited with the name before and after.
        let renamed = ok(
            "rename",
            bank.api.patch(&format!("/v1/organisations/{a}"), &json!({"name": "Willow Gardens"})),
            200,
        );
        assert_eq!(renamed["name"], "Willow Gardens");
        assert_eq!(renamed["path"], json!([root, north, a]));
        let entries = audit_of(&bank.api, "organisation", &a);
        assert_eq!(actions(&entries), ["organisation.created", "organisation.renamed"]);
        let entry = &entries[1];
        assert_eq!(entry["actor_id"], bank.admin_id.as_str());
        assert_eq!(entry["organisation_id"], a.as_str());
        assert_eq!(entry["before"]["name"], "Willow Court");
        assert_eq!(entry["after"]["name"], "Willow Gardens");
        assert_eq!(entry["before"]["path"], entry["after"]["path"]);

        // Move: audited with the parent and path before and after.
        let moved = ok(
            "move",
            bank.api.patch(&format!("/v1/organisations/{a}"), &json!({"parent_id": south})),
            200,
        );
        assert_eq!(moved["parent_id"], south.as_str());
        assert_eq!(moved["path"], json!([root, south, a]));
        let child = ok("grid", bank.api.get(&format!("/v1/organisations/{grid}")), 200);
        assert_eq!(child["path"], json!([root, south, a, grid]), "the subtree moves along");
        let entries = audit_of(&bank.api, "organisation", &a);
        assert_eq!(
            actions(&entries),
            ["organisation.created", "organisation.renamed", "organisation.moved"]
        );
        let entry = &entries[2];
        assert_eq!(entry["actor_id"], bank.admin_id.as_str());
        assert_eq!(entry["before"]["parent_id"], north.as_str());
        assert_eq!(entry["after"]["parent_id"], south.as_str());
        assert_eq!(entry["before"]["path"], json!([root, north, a]));
        assert_eq!(entry["after"]["path"], json!([root, south, a]));
        let at = |id: &str| all_items(&bank.api, &format!("/v1/audit-log?action=organisation.moved&entity_id={id}"));
        assert_eq!(at(&a).len(), 1);

        // The old district's coordinator no longer sees A, its grid, its
        // volunteer or their wallet; the new one does; A's own still does.
        sees(&coord_north, 404);
        sees(&coord_south, 200);
        sees(&coord_a, 200);
        let listed = ids(&all_items(&coord_north, "/v1/organisations"));
        assert_eq!(listed, vec![north.clone()]);
        assert!(all_items(&coord_north, "/v1/volunteers").is_empty());
        assert!(all_items(&coord_north, "/v1/accounts").is_empty());
        let listed = ids(&all_items(&coord_south, "/v1/organisations"));
        for id in [&south, &a, &grid] {
            assert!(listed.contains(id), "{listed:?}");
        }
        assert_eq!(ids(&all_items(&coord_south, "/v1/volunteers")), vec![vol.to_string()]);
        refused(&bank, "old coordinator credits", 422, "account_not_found", &[], || {
            coord_north.post("/v1/transfers", &hours_credit(&bank, wallet, "1.00"), Some(&fresh_key()))
        });
        let credit = coord_south.post("/v1/transfers", &hours_credit(&bank, wallet, "1.00"), Some(&fresh_key()));
        ok("new coordinator credits", credit, 201);

        // A node cannot move into its own subtree, nor under itself; the root
        // cannot move at all. Nothing changes.
        for (node, parent) in [(&south, &a), (&south, &grid), (&a, &grid), (&a, &a), (&root, &north)] {
            let what = format!("move {node} under {parent}");
            refused(&bank, &what, 400, "validation_failed", &[], || {
                bank.api.patch(&format!("/v1/organisations/{node}"), &json!({"parent_id": parent}))
            });
        }
        // Nor under a partner.
        let shop = bank.organisation("Corner shop", "partner", &root);
        refused(&bank, "move under a partner", 400, "validation_failed", &[], || {
            bank.api.patch(&format!("/v1/organisations/{a}"), &json!({"parent_id": shop}))
        });
        assert_eq!(at(&a).len(), 1);
        assert_eq!(at(&south).len(), 0);
        bank.assert_verified();
    }
}

on_both_backends! {
    moving_a_volunteer_moves_their_wallet_and_role(backend) {
        let bank = Bank::new(backend);
        let t = Tree::new(&bank);
        let (va, wallet_a) = (t.va_id(), t.wallet_a());
        let paths = [format!("/v1/volunteers/{va}"), format!("/v1/accounts/{wallet_a}")];

        let moved = ok(
            "admin moves vA to B",
            bank.api.patch(&format!("/v1/volunteers/{va}"), &json!({"organisation_id": t.b})),
            200,
        );
        assert_eq!(moved["organisation_id"], t.b.as_str());
        assert_eq!(moved["account_id"], wallet_a);
        let wallet = bank.account(wallet_a);
        assert_eq!(wallet["organisation_id"], t.b.as_str());
        assert_eq!(wallet["balances"]["posted"], "5.00");
        let entries = audit_of(&bank.api, "volunteer", va);
        assert_eq!(actions(&entries), ["volunteer.created", "volunteer.updated"]);
        assert_eq!(entries[1]["before"]["organisation_id"], t.a.as_str());
        assert_eq!(entries[1]["after"]["organisation_id"], t.b.as_str());

        // A's coordinator lost them; B's has them.
        for path in &paths {
            let what = format!("coordinator of A: GET {path}");
            assert_refused(&what, &t.coord_a.get(path), 404, "not_found", &[]);
            ok(&format!("coordinator of B: GET {path}"), t.coord_b.get(path), 200);
        }
        refused(&bank, "coordinator of A credits the moved wallet", 422, "account_not_found", &[], || {
            t.coord_a.post("/v1/transfers", &hours_credit(&bank, wallet_a, "1.00"), Some(&fresh_key()))
        });
        let credit = t.coord_b.post("/v1/transfers", &hours_credit(&bank, wallet_a, "1.00"), Some(&fresh_key()));
        ok("coordinator of B credits the moved wallet", credit, 201);

        // The volunteer still sees their own, and their role moved with them.
        for path in &paths {
            ok(&format!("volunteer: GET {path}"), t.va_api.get(path), 200);
        }
        let me = ok("GET /v1/me", t.va_api.get("/v1/me"), 200);
        assert_eq!(me["volunteer"]["organisation_id"], t.b.as_str());
        assert_eq!(me["user"]["roles"][0]["role"], "volunteer");
        assert_eq!(me["user"]["roles"][0]["organisation_id"], t.b.as_str());
        assert_eq!(bank.posted(wallet_a), "6.00");
        bank.assert_verified();
    }
}

// ---------------------------------------------------------------------------
// People: who did what, before and after.
// ---------------------------------------------------------------------------

on_both_backends! {
    changes_to_people_are_audited(backend) {
        let bank = Bank::new(backend);
        let community = bank.organisation("Community A", "community", &bank.organisation_id);
        let username = format!("coordinator-{}", fresh_key());
        let created = bank.api.post(
            "/v1/users",
            &json!({
                "username": username,
                "password": PASSWORD,
                "display_name": "Chen Jing",
                "roles": [{"role": "coordinator", "organisation_id": community}],
            }),
            None,
        );
        let created = ok("create coordinator", created, 201);
        let id = str_of(&created, "id").to_string();
        assert!(!created.to_string().contains(PASSWORD));

        let entries = audit_of(&bank.api, "user", &id);
        assert_eq!(actions(&entries), ["user.created"], "{entries:#?}");
        let entry = &entries[0];
        assert_eq!(entry["actor_id"], bank.admin_id.as_str());
        assert_eq!(entry["entity_type"], "user");
        assert_eq!(entry["entity_id"], id.as_str());
        assert_eq!(entry["organisation_id"], community.as_str());
        assert!(entry["before"].is_null(), "{entry}");
        assert_eq!(entry["after"]["username"], username.as_str());
        assert_eq!(entry["after"]["status"], "active");
        assert_eq!(entry["after"]["roles"][0]["role"], "coordinator");
        assert!(entry["at"].is_string() && entry["id"].is_string());

        // Disabling: audited, and the person's token stops working.
        let token = bank.login(&username, PASSWORD)["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        ok("token works", bank.api.with_token(&token).get("/v1/me"), 200);
        let disabled = ok(
            "disable",
            bank.api.patch(&format!("/v1/users/{id}"), &json!({"status": "disabled"})),
            200,
        );
        assert_eq!(disabled["status"], "disabled");
        let entries = audit_of(&bank.api, "user", &id);
        assert_eq!(actions(&entries), ["user.created", "user.disabled"]);
        let entry = &entries[1];
        assert_eq!(entry["actor_id"], bank.admin_id.as_str());
        assert_eq!(entry["before"]["status"], "active");
        assert_eq!(entry["after"]["status"], "disabled");
        let r = bank.api.with_token(&token).get("/v1/me");
        assert_refused("a disabled user's token", &r, 401, "unauthorized", &[]);

        // Enabling, granting and revoking: each one entry, in order.
        let enabled = bank.api.patch(&format!("/v1/users/{id}"), &json!({"status": "active"}));
        ok("enable", enabled, 200);
        let granted = bank.api.post(
            &format!("/v1/users/{id}/roles"),
            &json!({"role": "auditor", "organisation_id": community}),
            None,
        );
        let granted = ok("grant", granted, 201);
        let grant = granted["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .find(|g| g["role"] == "auditor")
            .map(|g| str_of(g, "id").to_string())
            .expect("the auditor grant");
        let revoked = bank.api.delete(&format!("/v1/users/{id}/roles/{grant}"));
        let revoked = ok("revoke", revoked, 200);
        assert_eq!(revoked["roles"].as_array().map(Vec::len), Some(1));
        let entries = audit_of(&bank.api, "user", &id);
        assert_eq!(
            actions(&entries),
            ["user.created", "user.disabled", "user.enabled", "role.granted", "role.revoked"]
        );
        assert_eq!(entries[2]["before"]["status"], "disabled");
        assert_eq!(entries[2]["after"]["status"], "active");
        assert_eq!(entries[3]["before"]["roles"].as_array().map(Vec::len), Some(1));
        assert_eq!(entries[3]["after"]["roles"].as_array().map(Vec::len), Some(2));
        assert_eq!(entries[4]["before"]["roles"].as_array().map(Vec::len), Some(2));
        assert_eq!(entries[4]["after"]["roles"].as_array().map(Vec::len), Some(1));
        for entry in &entries {
            assert_eq!(entry["actor_id"], bank.admin_id.as_str(), "{entry}");
        }
        assert!(!serde_json::to_string(&entries).expect("json").contains(PASSWORD));

        // The filters agree.
        let by_action = all_items(&bank.api, &format!("/v1/audit-log?action=user.disabled&entity_id={id}"));
        assert_eq!(by_action.len(), 1);
        let by_actor = all_items(&bank.api, &format!("/v1/audit-log?actor_id={}", bank.admin_id));
        let mine: Vec<&Value> = by_actor.iter().filter(|e| e["entity_id"] == id.as_str()).collect();
        assert_eq!(mine.len(), 5);
        for entry in &by_actor {
            assert_eq!(entry["actor_id"], bank.admin_id.as_str());
        }

        // Someone else's actions are theirs: the coordinator registers a
        // volunteer, filed under the coordinator.
        let (coordinator, token) = bank.person(Role::Coordinator, &community);
        let vol = register(
            &bank.api.with_token(&token),
            &json!({"name": "Liu Yang", "phone": unique_phone(), "organisation_id": community}),
        );
        let entries = audit_of(&bank.api, "volunteer", str_of(&vol, "id"));
        assert_eq!(actions(&entries), ["volunteer.created"]);
        assert_eq!(entries[0]["actor_id"], coordinator.as_str());
    }
}

// ---------------------------------------------------------------------------
// Granting roles: partner staff belong to a partner; admins grant inside
// their own subtree only.
// ---------------------------------------------------------------------------

on_both_backends! {
    partner_staff_are_granted_only_at_a_partner(backend) {
        let bank = Bank::new(backend);
        let root = bank.organisation_id.clone();
        let district = bank.organisation("District D", "district", &root);
        let community = bank.organisation("Community A", "community", &district);
        let partner = bank.organisation("Corner shop", "partner", &district);
        let new_user = |org: &str| {
            json!({
                "username": format!("staff-{}", fresh_key()),
                "password": PASSWORD,
                "roles": [{"role": "partner_staff", "organisation_id": org}],
            })
        };

        for org in [&root, &district, &community] {
            let body = new_user(org);
            let what = format!("partner_staff at {org}");
            refused(&bank, &what, 400, "validation_failed", &[], || {
                bank.api.post("/v1/users", &body, None)
            });
            let username = str_of(&body, "username");
            let r = bank.api.anonymous().post(
                "/v1/auth/token",
                &json!({"username": username, "password": PASSWORD}),
                None,
            );
            assert_eq!(r.status, 401, "the refused user can log in: {}", r.body);
        }
        // A partner among several roles spoils the whole request.
        let mixed = json!({
            "username": format!("staff-{}", fresh_key()),
            "password": PASSWORD,
            "roles": [
                {"role": "coordinator", "organisation_id": community},
                {"role": "partner_staff", "organisation_id": community},
            ],
        });
        refused(&bank, "mixed roles", 400, "validation_failed", &[], || {
            bank.api.post("/v1/users", &mixed, None)
        });

        let created = ok("partner_staff at the partner", bank.api.post("/v1/users", &new_user(&partner), None), 201);
        assert_eq!(created["roles"][0]["role"], "partner_staff");
        assert_eq!(created["roles"][0]["organisation_id"], partner.as_str());

        // The same through POST /v1/users/{id}/roles.
        let (coordinator, _) = bank.person(Role::Coordinator, &community);
        for org in [&root, &district, &community] {
            let what = format!("grant partner_staff at {org}");
            refused(&bank, &what, 400, "validation_failed", &[], || {
                bank.api.post(
                    &format!("/v1/users/{coordinator}/roles"),
                    &json!({"role": "partner_staff", "organisation_id": org}),
                    None,
                )
            });
        }
        let granted = bank.api.post(
            &format!("/v1/users/{coordinator}/roles"),
            &json!({"role": "partner_staff", "organisation_id": partner}),
            None,
        );
        let granted = ok("grant partner_staff at the partner", granted, 201);
        assert_eq!(granted["roles"].as_array().map(Vec::len), Some(2));

        // And a partner has nothing under it.
        refused(&bank, "organisation under a partner", 400, "validation_failed", &[], || {
            bank.api.post(
                "/v1/organisations",
                &json!({"name": "Back room", "kind": "community", "parent_id": partner}),
                None,
            )
        });
    }

    admins_manage_people_only_inside_their_subtree(backend) {
        let bank = Bank::new(backend);
        let root = bank.organisation_id.clone();
        let north = bank.organisation("North", "district", &root);
        let south = bank.organisation("South", "district", &root);
        let north_a = bank.organisation("North A", "community", &north);
        let (_, admin_north) = bank.person(Role::Admin, &north);
        let admin_north = bank.api.with_token(&admin_north);
        let (south_coord, _) = bank.person(Role::Coordinator, &south);
        let south_grant = str_of(&user(&bank, &south_coord)["roles"][0], "id").to_string();
        let new_user = |org: &str| {
            json!({
                "username": format!("coordinator-{}", fresh_key()),
                "password": PASSWORD,
                "roles": [{"role": "coordinator", "organisation_id": org}],
            })
        };

        // Roles outside the admin's subtree: refused, nothing created.
        for org in [&south, &root] {
            let what = format!("north admin creates a coordinator at {org}");
            refused(&bank, &what, 400, "validation_failed", &[], || {
                admin_north.post("/v1/users", &new_user(org), None)
            });
        }
        let created = admin_north.post("/v1/users", &new_user(&north_a), None);
        let created = ok("north admin creates in North A", created, 201);
        let north_coord = str_of(&created, "id");
        refused(&bank, "north admin grants in South", 400, "validation_failed", &[], || {
            admin_north.post(
                &format!("/v1/users/{north_coord}/roles"),
                &json!({"role": "auditor", "organisation_id": south}),
                None,
            )
        });
        refused(&bank, "north admin opens an organisation under South", 400, "validation_failed", &[], || {
            admin_north.post(
                "/v1/organisations",
                &json!({"name": "Annex", "kind": "community", "parent_id": south}),
                None,
            )
        });

        // South's people and organisations are not found for the north admin.
        for (method, path, body) in [
            ("GET", format!("/v1/users/{south_coord}"), Value::Null),
            ("PATCH", format!("/v1/users/{south_coord}"), json!({"status": "disabled"})),
            (
                "POST",
                format!("/v1/users/{south_coord}/roles"),
                json!({"role": "auditor", "organisation_id": north}),
            ),
            ("DELETE", format!("/v1/users/{south_coord}/roles/{south_grant}"), Value::Null),
            ("GET", format!("/v1/organisations/{south}"), Value::Null),
            ("PATCH", format!("/v1/organisations/{south}"), json!({"name": "Taken"})),
        ] {
            let what = format!("north admin: {method} {path}");
            refused(&bank, &what, 404, "not_found", &[], || send(&admin_north, method, &path, &body));
        }
        let people = ids(&all_items(&admin_north, "/v1/users"));
        assert!(people.contains(&north_coord.to_string()), "{people:?}");
        assert!(!people.contains(&south_coord), "{people:?}");
        // Someone holding a role in North and one in South is seen by the north
        // admin, but not theirs to manage; the root admin is not even seen.
        let both = bank.api.post(
            "/v1/users",
            &json!({
                "username": format!("both-{}", fresh_key()),
                "password": PASSWORD,
                "roles": [
                    {"role": "coordinator", "organisation_id": north_a},
                    {"role": "coordinator", "organisation_id": south},
                ],
            }),
            None,
        );
        let both = ok("a person in North and South", both, 201);
        let both = str_of(&both, "id");
        ok("north admin reads them", admin_north.get(&format!("/v1/users/{both}")), 200);
        for (method, path, body) in [
            ("PATCH", format!("/v1/users/{both}"), json!({"status": "disabled"})),
            (
                "POST",
                format!("/v1/users/{both}/roles"),
                json!({"role": "auditor", "organisation_id": north}),
            ),
        ] {
            let what = format!("north admin: {method} {path}");
            refused(&bank, &what, 403, "forbidden", &[], || send(&admin_north, method, &path, &body));
        }
        let root_admin = format!("/v1/users/{}", bank.admin_id);
        refused(&bank, "north admin reads the root admin", 404, "not_found", &[], || {
            admin_north.get(&root_admin)
        });
        refused(&bank, "north admin disables the root admin", 404, "not_found", &[], || {
            admin_north.patch(&root_admin, &json!({"status": "disabled"}))
        });
    }

    admins_below_the_root_neither_mint_points_nor_manage_their_peers(backend) {
        let bank = Bank::new(backend);
        let root = bank.organisation_id.clone();
        let north = bank.organisation("North", "district", &root);
        let north_a = bank.organisation("North A", "community", &north);
        let (peer, _) = bank.person(Role::Admin, &north);
        let (_, admin_north) = bank.person(Role::Admin, &north);
        let admin_north = bank.api.with_token(&admin_north);

        // An account that may go below zero would create points: only the
        // ledger's own (city) administrators open one.
        for body in [
            json!({"ledger_id": bank.ledger_id, "organisation_id": north_a,
                   "kind": "settlement", "name": "Float"}),
            json!({"ledger_id": bank.ledger_id, "organisation_id": north_a,
                   "kind": "community_fund", "name": "Fund", "no_overdraft": false}),
        ] {
            refused(&bank, "district admin opens an overdrawable account", 403, "forbidden", &[], || {
                admin_north.post("/v1/accounts", &body, None)
            });
        }
        let fund = admin_north.post(
            "/v1/accounts",
            &json!({"ledger_id": bank.ledger_id, "organisation_id": north_a,
                    "kind": "community_fund", "name": "Fund"}),
            None,
        );
        ok("district admin opens a no-overdraft fund", fund, 201);

        // Another admin of the same district is a peer, not theirs to manage.
        let peer_grant = str_of(&user(&bank, &peer)["roles"][0], "id").to_string();
        for (method, path, body) in [
            ("PATCH", format!("/v1/users/{peer}"), json!({"password": "a-new-long-password"})),
            ("PATCH", format!("/v1/users/{peer}"), json!({"status": "disabled"})),
            ("DELETE", format!("/v1/users/{peer}/roles/{peer_grant}"), Value::Null),
        ] {
            let what = format!("district admin: {method} {path}");
            refused(&bank, &what, 403, "forbidden", &[], || send(&admin_north, method, &path, &body));
        }
        // The city admin manages them.
        let disabled = bank.api.patch(&format!("/v1/users/{peer}"), &json!({"status": "disabled"}));
        ok("city admin disables the district admin", disabled, 200);

        // A role held outside the district admin's scope cannot be stripped
        // by them, even one of a person they can see.
        let (both, _) = bank.person(Role::Coordinator, &north_a);
        let granted = bank.api.post(
            &format!("/v1/users/{both}/roles"),
            &json!({"role": "auditor", "organisation_id": root}),
            None,
        );
        ok("city admin grants auditor at the root", granted, 201);
        let roles = user(&bank, &both)["roles"].clone();
        let local = roles
            .as_array()
            .and_then(|r| r.iter().find(|g| g["role"] == "coordinator"))
            .map(|g| str_of(g, "id").to_string())
            .expect("coordinator grant");
        refused(&bank, "district admin strips a city-wide person's role", 403, "forbidden", &[], || {
            admin_north.delete(&format!("/v1/users/{both}/roles/{local}"))
        });
    }
}
