//! Test harness: every test gets its own database (an SQLite file, or a fresh
//! PostgreSQL database when `TIMEBANK_TEST_PG_URL` is set) and talks HTTP to the
//! real `timebank` binary started on a free port, as a client would.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{Value, json};

use timebank::domain::Role;

pub const SECRET: &str = "test-secret-that-is-long-enough-0123456789";
pub const ISSUER: &str = "timebank";
pub const AUDIENCE: &str = "timebank-api";
pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct-horse-battery-staple";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from one body. The PostgreSQL one runs when
/// `TIMEBANK_TEST_PG_URL` is set (decided when the tests are built, see
/// build.rs); without it, `cargo test` lists it as ignored, with the reason.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident($backend:ident) $body:block)+) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($backend: $crate::common::Backend) $body

                #[test]
                fn sqlite() {
                    run($crate::common::Backend::Sqlite);
                }

                #[test]
                #[cfg_attr(
                    not(pg_tests),
                    ignore = "TIMEBANK_TEST_PG_URL is not set: PostgreSQL run skipped"
                )]
                fn postgres() {
                    assert!(
                        $crate::common::pg_admin_url().is_some(),
                        "built with TIMEBANK_TEST_PG_URL, run without it"
                    );
                    run($crate::common::Backend::Postgres);
                }
            }
        )+
    };
}

pub fn pg_admin_url() -> Option<String> {
    std::env::var("TIMEBANK_TEST_PG_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database of one's own, removed afterwards.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    dir: tempfile::TempDir,
    pg_name: Option<String>,
}

fn pg_execute(sql: &str) {
    use diesel::{Connection, RunQueryDsl, pg::PgConnection};
    let admin = pg_admin_url().expect("TIMEBANK_TEST_PG_URL");
    let mut conn = PgConnection::establish(&admin).expect("connect to TIMEBANK_TEST_PG_URL");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}

pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let root = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => Self {
                url: dir.path().join("timebank.db").display().to_string(),
                backend,
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!(
                    "tb_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    uuid::Uuid::now_v7().simple()
                );
                pg_execute(&format!("CREATE DATABASE {name}"));
                let url = with_database(&pg_admin_url().expect("pg url"), &name);
                Self {
                    url,
                    backend,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A raw connection, to tamper with rows behind the service's back.
    pub fn raw(&self) -> timebank::store::DbConnection {
        use diesel::Connection;
        timebank::store::DbConnection::establish(&self.url).expect("raw connection")
    }

    /// Runs SQL directly (tests that play the attacker or the auditor).
    pub fn execute(&self, sql: &str) -> Result<usize, diesel::result::Error> {
        use diesel::RunQueryDsl;
        let mut conn = self.raw();
        diesel::sql_query(sql).execute(&mut conn)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            let _ = std::panic::catch_unwind(|| {
                pg_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            });
        }
    }
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_timebank")
}

/// Runs a CLI command against the database.
pub fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .args(args)
        .env("TIMEBANK_DATABASE_URL", &db.url)
        .env("TIMEBANK_JWT_SECRET", SECRET)
        .env("TIMEBANK_BOOTSTRAP_PASSWORD", PASSWORD)
        .env("TIMEBANK_LOG", "error")
        .current_dir(db.dir())
        .output()
        .expect("run timebank")
}

/// A running `timebank serve`.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(db: &TestDb) -> Self {
        Self::start_with(db, &[])
    }

    pub fn start_with(db: &TestDb, env: &[(&str, &str)]) -> Self {
        Self::spawn(db, env, Stdio::inherit())
    }

    /// A server whose log (stderr) the test reads.
    pub fn start_logged(db: &TestDb, env: &[(&str, &str)]) -> (Self, ServerLog) {
        let mut server = Self::spawn(db, env, Stdio::piped());
        let log = ServerLog::default();
        let stderr = server.child.stderr.take().expect("stderr");
        let lines = log.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().expect("log").push(line);
            }
        });
        (server, log)
    }

    fn spawn(db: &TestDb, env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .env("TIMEBANK_DATABASE_URL", &db.url)
            .env("TIMEBANK_BIND", "127.0.0.1:0")
            .env("TIMEBANK_JWT_SECRET", SECRET)
            .env("TIMEBANK_LOG", "error")
            .env("TIMEBANK_WORKERS", "2")
            .current_dir(db.dir())
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn timebank serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        break addr.to_string();
                    }
                }
                _ => panic!("timebank serve exited before listening"),
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let server = Self {
            child,
            base: format!("http://{addr}"),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = Client::new();
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send()
                && r.status().is_success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server not ready");
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait: the graceful path.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines a server logged so far.
#[derive(Clone, Default)]
pub struct ServerLog(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl ServerLog {
    /// Waits up to five seconds for a line containing every one of `parts`.
    pub fn wait_for(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.0.lock().expect("log").clone();
            if let Some(line) = lines.iter().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?} in:\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// How a `timebank serve` that was expected to refuse to start ended.
#[derive(Debug)]
pub struct FailedStart {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `timebank serve` with `env` (over the defaults of `Server::start`) and
/// expects it to exit by itself within 30 s.
pub fn serve_expecting_exit(dir: &std::path::Path, env: &[(&str, &str)]) -> FailedStart {
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .env("TIMEBANK_BIND", "127.0.0.1:0")
        .env("TIMEBANK_JWT_SECRET", SECRET)
        .env("TIMEBANK_LOG", "info")
        .env("TIMEBANK_WORKERS", "2")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn timebank serve");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("timebank serve did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    let out = child.wait_with_output().expect("output");
    FailedStart {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The body as sent, byte for byte.
    pub text: String,
}

impl Reply {
    pub fn read(response: reqwest::blocking::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 refusal with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body {}", self.body);
        assert_eq!(
            self.body["code"], code,
            "unexpected code; body {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].is_string() && self.body["title"].is_string());
        assert!(self.body["detail"].is_string());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type"
        );
        self
    }

    /// Asserts a 400 `validation_failed` whose `errors` name `field` (by its
    /// real name) and whose detail carries no parser internals.
    pub fn assert_invalid(&self, field: &str) -> &Self {
        self.assert_problem(400, "validation_failed");
        let named = self.body["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
        assert!(named, "expected an error on {field}: {}", self.body);
        let detail = self.body["detail"].as_str().unwrap_or_default();
        for internal in ["at line", "deserialize error", "UUID parsing failed"] {
            assert!(!detail.contains(internal), "{field}: {detail}");
        }
        self
    }

    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }
}

/// One request a table-driven test makes, given the text to try.
pub type TextAttempt<'a> = Box<dyn Fn(&str) -> Reply + 'a>;
/// One request a table-driven test makes.
pub type Attempt<'a> = Box<dyn Fn() -> Reply + 'a>;

/// An HTTP client with (or without) a bearer token.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    http: Client,
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            base: base.to_string(),
            token,
            http: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    /// The same caller connecting from another loopback address (any of
    /// 127.0.0.0/8), as a client elsewhere would appear to the server.
    pub fn at_address(&self, ip: &str) -> Self {
        Self {
            http: Client::builder()
                .timeout(Duration::from_secs(60))
                .local_address(ip.parse::<std::net::IpAddr>().expect("an IP address"))
                .build()
                .expect("client"),
            ..self.clone()
        }
    }

    /// The same client (and source address) with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    pub fn anonymous(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Reply {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        Reply::read(request.send().expect("request"))
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(body))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(format!("{}{path}", self.base)))
    }

    pub fn post(&self, path: &str, body: &Value, key: Option<&str>) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(k) = key {
            request = request.header("Idempotency-Key", k);
        }
        self.send(request)
    }

    pub fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        key: Option<&str>,
    ) -> Reply {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(k) = key {
            request = request.header("Idempotency-Key", k);
        }
        self.send(request)
    }
}

/// Eight pseudo-random digits (distinct phone numbers for tests).
pub fn rand_digits() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    (u64::from(std::process::id()) * 1_000 + NEXT.fetch_add(1, Ordering::Relaxed)) % 100_000_000
}

pub fn fresh_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A bootstrapped bank: a database, a running server and an administrator.
pub struct Bank {
    pub server: Server,
    pub api: Api,
    pub ledger_id: String,
    pub issuance_id: String,
    pub organisation_id: String,
    pub admin_id: String,
    pub db: TestDb,
}

impl Bank {
    pub fn new(backend: Backend) -> Self {
        Self::with_env(backend, &[])
    }

    /// A bank whose server gets extra environment (e.g. a commit delay).
    pub fn with_env(backend: Backend, env: &[(&str, &str)]) -> Self {
        let db = TestDb::new(backend);
        let out = cli(&db, &["bootstrap", "--username", ADMIN]);
        assert!(
            out.status.success(),
            "bootstrap failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let boot: Value = serde_json::from_slice(&out.stdout).expect("bootstrap JSON");
        let server = Server::start_with(&db, env);
        let anonymous = Api::new(&server.base, None);
        let login = anonymous.post(
            "/v1/auth/token",
            &json!({"username": ADMIN, "password": PASSWORD}),
            None,
        );
        assert_eq!(login.status, 200, "login: {}", login.body);
        let token = login.body["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        Self {
            api: anonymous.with_token(&token),
            ledger_id: boot["ledger_id"].as_str().expect("ledger").into(),
            issuance_id: boot["issuance_account_id"]
                .as_str()
                .expect("issuance")
                .into(),
            organisation_id: boot["organisation_id"].as_str().expect("org").into(),
            admin_id: boot["user_id"].as_str().expect("user").into(),
            server,
            db,
        }
    }

    /// Restarts the server on the same database (after a kill, say).
    pub fn restart(&mut self) {
        self.server = Server::start(&self.db);
        self.api = Api::new(&self.server.base, self.api.token.clone());
    }

    /// Restarts the server on the same database and the same address, as a
    /// client that lost the server would find it again.
    pub fn restart_at_same_address(&mut self) {
        let addr = self
            .server
            .base
            .strip_prefix("http://")
            .expect("an http base")
            .to_string();
        self.server.kill9();
        self.server = Server::start_with(&self.db, &[("TIMEBANK_BIND", &addr)]);
        assert_eq!(self.server.base, format!("http://{addr}"));
        self.api = Api::new(&self.server.base, self.api.token.clone());
    }

    /// Logs in; returns the whole token answer (access and refresh token).
    pub fn login(&self, username: &str, password: &str) -> Value {
        let r = self.api.anonymous().post(
            "/v1/auth/token",
            &json!({"username": username, "password": password}),
            None,
        );
        assert_eq!(r.status, 200, "login {username}: {}", r.body);
        r.body
    }

    /// An organisation under `parent`; returns its id.
    pub fn organisation(&self, name: &str, kind: &str, parent: &str) -> String {
        let r = self.api.post(
            "/v1/organisations",
            &json!({"name": name, "kind": kind, "parent_id": parent}),
            None,
        );
        assert_eq!(r.status, 201, "create organisation: {}", r.body);
        r.id()
    }

    /// A new person holding `role` in `organisation`, logged in: (user id, token).
    pub fn person(&self, role: Role, organisation: &str) -> (String, String) {
        let username = format!("{}-{}", role.as_str(), fresh_key());
        let created = self.api.post(
            "/v1/users",
            &json!({
                "username": username,
                "password": PASSWORD,
                "roles": [{"role": role.as_str(), "organisation_id": organisation}],
            }),
            None,
        );
        assert_eq!(created.status, 201, "create user: {}", created.body);
        let token = self.login(&username, PASSWORD)["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        (created.id(), token)
    }

    /// A registered volunteer of `organisation` who can log in: (volunteer
    /// JSON, token).
    pub fn volunteer_login(&self, organisation: &str) -> (Value, String) {
        let username = format!("vol-{}", fresh_key());
        let r = self.api.post(
            "/v1/volunteers",
            &json!({
                "name": "Volunteer",
                "phone": format!("+86 138{:08}", rand_digits()),
                "organisation_id": organisation,
                "login": {"username": username, "password": PASSWORD},
            }),
            None,
        );
        assert_eq!(r.status, 201, "register volunteer: {}", r.body);
        let token = self.login(&username, PASSWORD)["access_token"]
            .as_str()
            .expect("token")
            .to_string();
        (r.body, token)
    }

    /// A token for a new person holding `role` at the root of the tree (partner
    /// staff at a new partner under the root).
    pub fn token_for(&self, role: Role) -> String {
        match role {
            Role::Volunteer => self.volunteer_login(&self.organisation_id).1,
            Role::PartnerStaff => {
                let partner = self.organisation("Shop", "partner", &self.organisation_id);
                self.person(role, &partner).1
            }
            _ => self.person(role, &self.organisation_id).1,
        }
    }

    pub fn as_role(&self, role: Role) -> Api {
        self.api.with_token(&self.token_for(role))
    }

    pub fn open_account(&self, kind: &str, name: &str) -> String {
        let r = self.api.post(
            "/v1/accounts",
            &json!({"ledger_id": self.ledger_id, "kind": kind, "name": name}),
            None,
        );
        assert_eq!(r.status, 201, "open account: {}", r.body);
        r.id()
    }

    pub fn wallet(&self, name: &str) -> String {
        self.open_account("volunteer", name)
    }

    /// A posted two-leg transfer; returns the reply.
    pub fn transfer(&self, from: &str, to: &str, amount: &str) -> Reply {
        self.api.post(
            "/v1/transfers",
            &json!({"kind": "adjustment", "debit_account_id": from, "credit_account_id": to, "amount": amount}),
            Some(&fresh_key()),
        )
    }

    /// Credits a wallet from the issuance account and checks it worked.
    pub fn fund(&self, wallet: &str, amount: &str) -> String {
        let r = self.transfer(&self.issuance_id, wallet, amount);
        assert_eq!(r.status, 201, "fund: {}", r.body);
        r.id()
    }

    pub fn account(&self, id: &str) -> Value {
        let r = self.api.get(&format!("/v1/accounts/{id}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub fn posted(&self, id: &str) -> String {
        self.account(id)["balances"]["posted"]
            .as_str()
            .expect("posted")
            .to_string()
    }

    pub fn ledger(&self) -> Value {
        self.api
            .get(&format!("/v1/ledgers/{}", self.ledger_id))
            .body
    }

    pub fn verify(&self) -> Value {
        let r = self
            .api
            .get(&format!("/v1/ledgers/{}/verify", self.ledger_id));
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub fn assert_verified(&self) {
        let report = self.verify();
        assert_eq!(report["ok"], true, "verify found problems: {report:#}");
    }

    /// Everything the books say, to prove a refusal changed nothing.
    pub fn snapshot(&self) -> Value {
        let accounts = self.api.get(&format!(
            "/v1/accounts?ledger_id={}&limit=200",
            self.ledger_id
        ));
        let ledger = self.ledger();
        json!({
            "accounts": accounts.body["items"],
            "sequence": ledger["last_sequence"],
            "hash": ledger["last_hash"],
        })
    }
}

/// Every item of a cursor-paginated list.
pub fn all_pages(api: &Api, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let r = api.get(&url);
        assert_eq!(r.status, 200, "GET {url}: {}", r.body);
        items.extend(r.body["items"].as_array().expect("items").iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
}

/// Runs `f(0..n)` on `n` threads released together; returns the results in order.
pub fn in_parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
}
