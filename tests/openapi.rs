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
    assert!(
        docs.text.contains("<title>timebank API</title>"),
        "{}",
        docs.text
    );
    // The page's scripts are still Swagger UI's own.
    assert_eq!(api.get("/docs/swagger-initializer.js").status, 200);
}

/// Swagger UI and generated clients are only as good as the document: every
/// schema and property says what it is, and every body shows a working example.
#[test]
fn every_schema_and_property_is_described_and_every_body_has_an_example() {
    let doc = serde_json::to_value(timebank::http::openapi::document()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut missing = Vec::new();
    for (name, schema) in schemas {
        if schema.get("description").is_none() {
            missing.push(format!("schema {name}: no description"));
        }
        // The object itself, or each form of a oneOf.
        let forms = match schema["oneOf"].as_array() {
            Some(forms) => forms.iter().collect(),
            None => vec![schema],
        };
        for form in forms {
            for (property, spec) in form["properties"].as_object().into_iter().flatten() {
                if !described(spec) {
                    missing.push(format!("{name}.{property}: no description"));
                }
            }
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (media, content) in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if !exemplified(content, schemas) {
                    missing.push(format!("{method} {path}: request {media} has no example"));
                }
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    if !exemplified(content, schemas) {
                        missing.push(format!("{method} {path} {status}: {media} has no example"));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    assert!(
        doc["info"]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

/// A description on the property, or on the non-null branch of `T | null`.
fn described(spec: &serde_json::Value) -> bool {
    spec.get("description").is_some()
        || spec["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|branch| branch.get("description").is_some())
}

/// An example on the media type, or on the schema it names (through `$ref`,
/// `T | null`, or a page's items).
fn exemplified(
    content: &serde_json::Value,
    schemas: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    content.get("example").is_some()
        || content.get("examples").is_some()
        || schema_exemplified(&content["schema"], schemas)
}

fn schema_exemplified(
    schema: &serde_json::Value,
    schemas: &serde_json::Map<String, serde_json::Value>,
) -> bool {
    if !schema.is_object() {
        return false;
    }
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        return schemas
            .get(name)
            .is_some_and(|s| schema_exemplified(s, schemas));
    }
    if schema.get("example").is_some() || schema.get("examples").is_some() {
        return true;
    }
    if let Some(branches) = schema["oneOf"].as_array() {
        let values: Vec<_> = branches.iter().filter(|b| b["type"] != "null").collect();
        return !values.is_empty() && values.iter().all(|b| schema_exemplified(b, schemas));
    }
    // A page: its items show the example.
    schema_exemplified(&schema["properties"]["items"]["items"], schemas)
}

on_both_backends! {
    // The two transfer examples Swagger UI proposes are accepted as they are,
    // once their example ids name real accounts.
    transfer_examples_are_accepted(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let partner = bank.open_account("partner", "Points supermarket");
        let ids = [
            ("0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d03", bank.issuance_id.as_str()),
            ("0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04", wallet.as_str()),
            ("0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d05", partner.as_str()),
        ];
        let doc = serde_json::to_value(timebank::http::openapi::document()).unwrap();
        let examples = doc["paths"]["/v1/transfers"]["post"]["requestBody"]["content"]
            ["application/json"]["examples"]
            .as_object()
            .unwrap();
        assert_eq!(examples.len(), 2);
        // Postings first: the shorthand spends what it credits.
        for name in ["postings", "shorthand"] {
            let mut body = examples[name]["value"].to_string();
            for (example, real) in ids {
                body = body.replace(example, real);
            }
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            let reply = bank.api.post("/v1/transfers", &body, Some(&fresh_key()));
            assert_eq!(reply.status, 201, "{name}: {}", reply.body);
        }
        assert_eq!(bank.posted(&wallet), "4.50");
        assert_eq!(bank.posted(&partner), "8.00");
    }
}
