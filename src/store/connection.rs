//! The connection type over both backends, the pool, per-connection settings and
//! the write transaction.

use std::sync::Mutex;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::sqlite::SqliteConnection;

use super::database_url::{Backend, DatabaseUrl};
use crate::error::AppError;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Inserts many rows of one table. PostgreSQL gets multi-row statements (one round
/// trip per chunk); SQLite, in-process, gets one cached prepared statement per
/// row, which is cheaper than preparing a new multi-row statement for every
/// batch size. The generic `MultiBackend` cannot express multi-row inserts, so
/// the same query text is run on the concrete connection.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl;
        let rows = $rows;
        match $conn {
            $crate::store::DbConnection::Postgresql(c) => {
                for chunk in rows.chunks($crate::store::INSERT_CHUNK) {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
            $crate::store::DbConnection::Sqlite(c) => {
                for row in rows.iter() {
                    diesel::insert_into($table).values(row).execute(c)?;
                }
            }
        }
    }};
}
pub(crate) use insert_rows;

/// Makes the pool's connections as `Store::establish` does: with the backend's
/// own driver, configured, and failing with the cause (diesel's manager uses
/// the generic connection, which reports only "Invalid connection url").
#[derive(Debug)]
struct Manager(DatabaseUrl);

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = AppError;

    fn connect(&self) -> Result<DbConnection, AppError> {
        Store::establish(&self.0)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        Ok(conn.ping()?)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Settings every connection gets when it is made.
fn configure(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match conn {
        // WAL lets readers run beside the writer; FULL makes every commit durable
        // (invariant 8); the busy timeout, set first, queues writers (and the switch
        // to WAL itself) instead of failing them. A case-sensitive LIKE lets a
        // subtree's path prefix use the path index (store::subtree).
        DbConnection::Sqlite(c) => c.batch_execute(
            "PRAGMA busy_timeout = 30000; PRAGMA page_size = 2048; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON;",
        ),
        DbConnection::Postgresql(c) => c.batch_execute(
            "SET statement_timeout = '60s'; SET idle_in_transaction_session_timeout = '60s';",
        ),
    }
}

/// SQLite has one writer at a time. Waiting for it under `busy_timeout` is a
/// sleep-and-retry loop in which a busy writer can starve the others, so writers
/// of this process queue here first and meet the file lock one by one.
static SQLITE_WRITE_GATE: Mutex<()> = Mutex::new(());

/// Runs `f` in one transaction that holds the write lock from its first statement:
/// `BEGIN IMMEDIATE` on SQLite (no lock upgrade that could fail half-way), a plain
/// transaction on PostgreSQL, where row locks serialise writers.
pub fn write_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let _gate = match conn {
        DbConnection::Sqlite(_) => Some(
            SQLITE_WRITE_GATE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ),
        DbConnection::Postgresql(_) => None,
    };
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            if let Err(e) =
                <DbConnection as diesel::Connection>::TransactionManager::commit_transaction(conn)
            {
                let _ =
                    <DbConnection as diesel::Connection>::TransactionManager::rollback_transaction(
                        conn,
                    );
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            <DbConnection as diesel::Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// SQLite's count of commits made by other connections (it changes whenever one
/// commits); PostgreSQL has no such thing.
pub fn data_version(conn: &mut DbConnection) -> Result<Option<i64>, AppError> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        data_version: i64,
    }
    match conn {
        DbConnection::Sqlite(c) => {
            use diesel::RunQueryDsl;
            let row: Row = diesel::sql_query("PRAGMA data_version").get_result(c)?;
            Ok(Some(row.data_version))
        }
        DbConnection::Postgresql(_) => Ok(None),
    }
}

/// Why the database cannot be used, in one line (libpq's messages span several).
fn unusable(url: &DatabaseUrl, cause: impl std::fmt::Display) -> AppError {
    let cause = cause.to_string();
    let cause = cause.split_whitespace().collect::<Vec<_>>().join(" ");
    AppError::new(
        crate::error::ErrorCode::ServiceUnavailable,
        format!("cannot open the database {url}: {cause}"),
    )
}

/// SQLite says "unable to open database file" for most causes; the file system
/// says which one.
fn sqlite_cause(path: &str, error: impl std::fmt::Display) -> String {
    let path = std::path::Path::new(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return format!("the directory {} does not exist", dir.display());
    }
    let probe = dir.join(format!(".timebank-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => return format!("the directory {} is not writable: {e}", dir.display()),
    }
    match std::fs::OpenOptions::new().append(true).open(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            format!("the file is not writable: {e}")
        }
        _ => error.to_string(),
    }
}

/// The pool and the URL it was made from.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    url: DatabaseUrl,
}

impl Store {
    /// Opens the pool. SQLite creates the file on first use.
    ///
    /// One connection is made directly first: it says at once why the database
    /// cannot be used (the pool would retry for its whole timeout and then report
    /// only the last attempt), and on SQLite it turns a new file into WAL, which
    /// needs the file to itself, before the pool opens several at once.
    pub fn open(url: &DatabaseUrl, max_size: u32) -> Result<Self, AppError> {
        drop(Self::establish(url)?);
        let pool = Pool::builder()
            .max_size(max_size)
            .connection_timeout(Duration::from_secs(10))
            .event_handler(Box::new(crate::metrics::PoolEvents))
            .build(Manager(url.clone()))
            .map_err(|e| unusable(url, e))?;
        Ok(Self {
            pool,
            url: url.clone(),
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// A connection outside the pool, configured like the pooled ones; the
    /// transfer writer keeps one for itself.
    pub fn dedicated_connection(&self) -> Result<DbConnection, AppError> {
        Self::establish(&self.url)
    }

    /// Connects with the backend's own driver: the generic connection tries every
    /// backend in turn and reports only "Invalid connection url".
    fn establish(url: &DatabaseUrl) -> Result<DbConnection, AppError> {
        use diesel::Connection;
        let mut conn = match url.backend() {
            Backend::Postgres => PgConnection::establish(url.target())
                .map(DbConnection::Postgresql)
                .map_err(|e| unusable(url, e))?,
            Backend::Sqlite => SqliteConnection::establish(url.target())
                .map(DbConnection::Sqlite)
                .map_err(|e| unusable(url, sqlite_cause(url.target(), e)))?,
        };
        // A read-only SQLite file opens, and fails here at the switch to WAL.
        configure(&mut conn).map_err(|e| unusable(url, sqlite_cause(url.target(), e)))?;
        Ok(conn)
    }

    /// The writer's connection. On SQLite it never checkpoints the WAL
    /// itself (a checkpoint inside a commit stalls every waiting transfer); the
    /// service checkpoints from another thread instead (`checkpoint`).
    pub fn writer_connection(&self) -> Result<DbConnection, AppError> {
        let mut conn = self.dedicated_connection()?;
        if let DbConnection::Sqlite(c) = &mut conn {
            c.batch_execute("PRAGMA wal_autocheckpoint = 0;")?;
        }
        Ok(conn)
    }

    /// Copies committed WAL pages into the SQLite file (a no-op on PostgreSQL).
    /// The bulk is copied while the writer keeps committing; with `catch_up`, a
    /// second, short pass taken in turn with the writer copies the little
    /// appended meanwhile, so the WAL ends fully copied and the next commit
    /// starts it again from the top. (Passive passes alone never catch up under
    /// steady writes, and the file would grow without end.)
    ///
    /// `db_file` is the SQLite file: before the writer is paused, the pages the
    /// first pass copied are flushed to disk from here, so the paused pass's own
    /// sync has only its few pages to flush (it used to flush them all, and the
    /// pause grew with the database to tens of milliseconds).
    pub fn checkpoint(
        conn: &mut DbConnection,
        catch_up: bool,
        db_file: &str,
    ) -> Result<(), AppError> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")?;
            if catch_up {
                std::fs::File::open(db_file)
                    .and_then(|f| f.sync_data())
                    .map_err(AppError::internal)?;
                let _gate = SQLITE_WRITE_GATE
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")?;
            }
        }
        Ok(())
    }

    /// Runs blocking database work off the async threads.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        // Lines logged on the blocking thread keep the request's id.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _request = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// The same, on the calling thread (CLI commands and the writer's helpers).
    pub fn run_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }
}
