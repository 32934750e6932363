//! Running the service: refusals to start (a database that cannot be used, a
//! port in use, a setting out of range) said in one line at once, secrets read
//! from files, the redirects to the API docs, `/metrics`, and request ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use reqwest::blocking::Client;

use common::*;

/// The process wrote exactly one line to stderr, which holds `cause`.
fn one_line_saying(failed: &FailedStart, cause: &str) -> String {
    let stderr = failed.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one line expected: {failed:#?}");
    assert!(stderr.contains(cause), "{cause:?} not said: {failed:#?}");
    assert!(
        !stderr.contains("Invalid connection url") && !stderr.contains("internal error"),
        "{failed:#?}"
    );
    assert_ne!(failed.code, Some(0), "{failed:#?}");
    stderr.to_string()
}

fn read_only_dir(scratch: &std::path::Path) -> std::path::PathBuf {
    // Root writes anywhere a mode allows nothing; /sys refuses even root.
    if unsafe { libc::geteuid() } == 0 {
        return "/sys".into();
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch.join("read-only");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    dir
}

#[test]
fn a_database_that_cannot_be_used_is_named_with_its_cause_at_once() {
    let scratch = tempfile::tempdir().unwrap();
    let missing_dir = scratch.path().join("no-such-dir/timebank.db");
    let read_only = read_only_dir(scratch.path()).join("timebank.db");
    let mut cases = vec![
        (
            "postgres://postgres@127.0.0.1:1/timebank".to_string(),
            "Connection refused",
        ),
        (
            missing_dir.display().to_string(),
            "no-such-dir does not exist",
        ),
        (read_only.display().to_string(), "is not writable"),
        (
            "mysql://timebank@127.0.0.1/timebank".to_string(),
            "unknown database scheme \"mysql\"",
        ),
    ];
    if let Some(admin) = pg_admin_url() {
        cases.push((
            with_database(&admin, "tb_no_such_database"),
            "database \"tb_no_such_database\" does not exist",
        ));
    }
    for (url, cause) in cases {
        let failed = serve_expecting_exit(scratch.path(), &[("TIMEBANK_DATABASE_URL", &url)]);
        one_line_saying(&failed, cause);
        assert!(failed.took < Duration::from_secs(3), "{failed:#?}");
    }
    assert!(!read_only.exists() && !missing_dir.exists());
}

on_both_backends! {
    a_port_in_use_is_refused_before_the_database_is_touched(backend) {
        let db = TestDb::new(backend);
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let failed = serve_expecting_exit(
            db.dir(),
            &[("TIMEBANK_DATABASE_URL", &db.url), ("TIMEBANK_BIND", &addr)],
        );
        let line = one_line_saying(&failed, &format!("cannot listen on {addr}"));
        assert!(line.contains("in use"), "{line}");
        assert!(failed.took < Duration::from_secs(3), "{failed:#?}");
        match backend {
            Backend::Sqlite => assert!(!std::path::Path::new(&db.url).exists()),
            Backend::Postgres => assert!(
                db.execute("SELECT 1 FROM __diesel_schema_migrations").is_err(),
                "the database was migrated"
            ),
        }
    }

    secrets_are_read_from_files(backend) {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("jwt_secret");
        std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
        let pepper_file = dir.path().join("pepper");
        std::fs::write(&pepper_file, "p".repeat(40)).unwrap();
        let secret_path = secret_file.display().to_string();
        let pepper_path = pepper_file.display().to_string();
        let bank = Bank::with_env(
            backend,
            &[
                ("TIMEBANK_JWT_SECRET", ""),
                ("TIMEBANK_JWT_SECRET_FILE", &secret_path),
                ("TIMEBANK_PEPPER_FILE", &pepper_path),
            ],
        );
        // The server signs with the secret from the file, not a generated one.
        let token = bank.api.token.clone().unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
            &validation,
        )
        .expect("signed with the secret from the file");

        let both = serve_expecting_exit(
            bank.db.dir(),
            &[
                ("TIMEBANK_DATABASE_URL", &bank.db.url),
                ("TIMEBANK_JWT_SECRET_FILE", &secret_path),
            ],
        );
        one_line_saying(&both, "set TIMEBANK_JWT_SECRET or TIMEBANK_JWT_SECRET_FILE, not both");
        assert_eq!(both.code, Some(2));
    }
}

#[test]
fn settings_out_of_range_refuse_to_start() {
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("timebank.db").display().to_string();
    for (name, value, said) in [
        (
            "TIMEBANK_ACCESS_TOKEN_TTL_SECONDS",
            "10",
            "configuration error: TIMEBANK_ACCESS_TOKEN_TTL_SECONDS must be from 60 to 86400, got 10",
        ),
        (
            "TIMEBANK_POOL_SIZE",
            "100000",
            "TIMEBANK_POOL_SIZE must be from 2 to 256, got 100000",
        ),
        (
            "TIMEBANK_LOG",
            "timebank=loudest",
            "TIMEBANK_LOG is not a log filter",
        ),
    ] {
        let failed = serve_expecting_exit(
            scratch.path(),
            &[("TIMEBANK_DATABASE_URL", &db), (name, value)],
        );
        one_line_saying(&failed, said);
        assert_eq!(failed.code, Some(2), "{failed:#?}");
    }
    assert!(!std::path::Path::new(&db).exists());
}

#[test]
fn the_root_and_bare_docs_lead_to_the_api_docs() {
    let db = TestDb::new(Backend::Sqlite);
    let server = Server::start(&db);
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, status) in [("/", 307), ("/docs", 308)] {
        let r = http.get(format!("{}{path}", server.base)).send().unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert_eq!(r.headers()["location"], "/docs/", "{path}");
    }
    let docs = http.get(format!("{}/docs/", server.base)).send().unwrap();
    assert_eq!(docs.status().as_u16(), 200);
}

/// The sample of `name` with exactly these labels, as a number.
fn sample(metrics: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().unwrap())
}

on_both_backends! {
    metrics_count_requests_by_route_and_refusals_by_code(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        for _ in 0..3 {
            assert_eq!(bank.api.get(&format!("/v1/ledgers/{}", bank.ledger_id)).status, 200);
        }
        bank.api
            .get(&format!("/v1/accounts/{}", fresh_key()))
            .assert_problem(404, "not_found");
        bank.transfer(&wallet, &bank.issuance_id, "1.00")
            .assert_problem(422, "insufficient_funds");

        let r = Client::new().get(format!("{}/metrics", bank.server.base)).send().unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = r.text().unwrap();
        let requests = "timebank_http_request_duration_seconds_count";
        assert_eq!(
            sample(&text, requests, r#"method="GET",route="/v1/ledgers/{id}",status="200""#),
            Some(3.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, requests, r#"method="POST",route="/v1/transfers",status="422""#),
            Some(1.0),
            "{text}"
        );
        assert!(!text.contains(&bank.ledger_id), "raw paths leak into labels");
        assert!(text.contains("timebank_http_request_duration_seconds_bucket{"));
        let refusals = "timebank_http_refusals_total";
        assert_eq!(sample(&text, refusals, r#"code="insufficient_funds""#), Some(1.0));
        assert_eq!(sample(&text, refusals, r#"code="not_found""#), Some(1.0));
        let pool: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("timebank_db_pool_connections "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(pool >= 1.0, "{text}");
        assert!(text.contains("timebank_db_pool_wait_seconds_count"));
        assert!(text.contains("# TYPE timebank_writer_batch_size histogram"));
    }
}

#[test]
fn request_ids_are_taken_or_made_echoed_and_logged() {
    let db = TestDb::new(Backend::Sqlite);
    let (server, log) = Server::start_logged(&db, &[("TIMEBANK_LOG", "warn")]);
    let http = Client::new();
    let ask = |id: Option<&str>| {
        let mut request = http.get(format!("{}/v1/ledgers", server.base));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        let r = request.send().unwrap();
        assert_eq!(r.status().as_u16(), 401);
        r.headers()["x-request-id"].to_str().unwrap().to_string()
    };

    assert_eq!(ask(Some("coordinator-app.7f3a")), "coordinator-app.7f3a");
    let line = log.wait_for(&["coordinator-app.7f3a", "request refused"]);
    assert!(line.contains("unauthorized"), "the refusal's code: {line}");

    for made in [
        ask(None),
        ask(Some("has spaces in it")),
        ask(Some(&"x".repeat(65))),
    ] {
        let id = uuid::Uuid::parse_str(&made).expect("a UUID");
        assert_eq!(id.get_version_num(), 7, "{made}");
        log.wait_for(&[&made, "unauthorized"]);
    }
}
