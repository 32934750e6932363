//! The committed spec (`openapi/openapi.json`) must be exactly what the service
//! serves. Regenerate it with `UPDATE_OPENAPI=1 cargo test --test openapi`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

#[test]
fn committed_spec_matches_the_code() {
    let generated = timebank::http::openapi::pretty_json();
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test openapi` and commit it"
    );
}

#[test]
fn served_spec_is_the_committed_one_and_declares_security() {
    let db = TestDb::new(Backend::Sqlite);
    let server = Server::start(&db);
    let api = Api::new(&server.base, None);
    let served = api.get("/openapi.json");
    assert_eq!(served.status, 200);
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(COMMITTED).unwrap()).unwrap();
    assert_eq!(served.body, committed);
    assert!(served.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        served.body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every operation declares its security: the bearer token, or explicitly
    // none for logging in, refreshing and the probes.
    let public = [
        "/v1/auth/token",
        "/v1/auth/refresh",
        "/healthz",
        "/readyz",
        "/metrics",
    ];
    for (path, item) in served.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} declares no security"));
            if public.contains(&path.as_str()) {
                assert_eq!(security, &vec![serde_json::json!({})], "{method} {path}");
            } else {
                assert_eq!(
                    security,
                    &vec![serde_json::json!({"bearer": []})],
                    "{method} {path}"
                );
            }
        }
    }
    let docs = api.get("/docs/");
    assert_eq!(docs.status, 200);
}
