//! Every refusal the API makes: its HTTP status, its stable problem `code`, that it
//! is `application/problem+json`, and that nothing in the books moved because of it.
//! Each test runs on SQLite and, when `TIMEBANK_TEST_PG_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::thread;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use common::*;
use timebank::app::tokens::{Claims, GrantClaim};
use timebank::domain::Role;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Everything the books say across every ledger: each ledger's head (sequence and
/// hash of the chain) and every account with its balances, status and version.
fn books(bank: &Bank) -> Value {
    let ledgers = bank.api.get("/v1/ledgers?limit=200");
    assert_eq!(ledgers.status, 200, "list ledgers: {}", ledgers.body);
    let accounts = bank.api.get("/v1/accounts?limit=200");
    assert_eq!(accounts.status, 200, "list accounts: {}", accounts.body);
    json!({
        "snapshot": bank.snapshot(),
        "ledgers": ledgers.body["items"],
        "accounts": accounts.body["items"],
    })
}

/// Runs `attempt`, asserts it is refused as `status`/`code` in problem+json, and
/// that the books are exactly as they were before.
fn refused(bank: &Bank, status: u16, code: &str, attempt: impl FnOnce() -> Reply) -> Reply {
    let before = books(bank);
    let reply = attempt();
    reply.assert_problem(status, code);
    if code == "validation_failed" {
        let errors = reply.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("validation_failed without an errors list: {}", reply.body));
        assert!(!errors.is_empty(), "empty errors list: {}", reply.body);
        for e in errors {
            assert!(
                e["field"].is_string() && e["message"].is_string(),
                "errors entries are {{field, message}}: {}",
                reply.body
            );
        }
    }
    assert_eq!(
        books(bank),
        before,
        "a refusal ({code}) changed the books; reply {}",
        reply.body
    );
    reply
}

/// `POST /v1/transfers` with a fresh Idempotency-Key.
fn post_transfer(api: &Api, body: &Value) -> Reply {
    api.post("/v1/transfers", body, Some(&fresh_key()))
}

/// A transfer the admin sends that must be refused, changing nothing.
fn refused_transfer(bank: &Bank, body: &Value, status: u16, code: &str) -> Reply {
    refused(bank, status, code, || post_transfer(&bank.api, body))
}

/// The two-leg shorthand.
fn shorthand(from: &str, to: &str, amount: &str) -> Value {
    json!({
        "kind": "adjustment",
        "debit_account_id": from,
        "credit_account_id": to,
        "amount": amount,
    })
}

/// One leg of a `postings` list; the amount is any JSON value, to try bad ones.
fn leg(account: &str, direction: &str, amount: Value) -> Value {
    json!({"account_id": account, "direction": direction, "amount": amount})
}

fn with_postings(postings: Vec<Value>) -> Value {
    json!({"kind": "adjustment", "postings": postings})
}

/// A body with one field added or replaced.
fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

/// A hold of `amount` from `from` to `to`; returns its id.
fn hold(bank: &Bank, from: &str, to: &str, amount: &str, timeout_seconds: Option<u64>) -> String {
    let mut body = with(shorthand(from, to, amount), "pending", json!(true));
    if let Some(t) = timeout_seconds {
        body["timeout_seconds"] = json!(t);
    }
    let r = post_transfer(&bank.api, &body);
    assert_eq!(r.status, 201, "hold: {}", r.body);
    assert_eq!(r.body["status"], "pending");
    r.id()
}

/// `POST /v1/transfers/{id}/{action}` (post, void or reverse) with a fresh key.
fn settle(api: &Api, id: &str, action: &str) -> Reply {
    api.post(
        &format!("/v1/transfers/{id}/{action}"),
        &json!({}),
        Some(&fresh_key()),
    )
}

/// Settles and asserts it worked.
fn settled(bank: &Bank, id: &str, action: &str) -> String {
    let r = settle(&bank.api, id, action);
    assert_eq!(r.status, 201, "{action} {id}: {}", r.body);
    r.id()
}

fn funded_wallet(bank: &Bank, name: &str, amount: &str) -> String {
    let wallet = bank.wallet(name);
    bank.fund(&wallet, amount);
    wallet
}

fn open_account_in(bank: &Bank, ledger_id: &str, kind: &str, name: &str) -> String {
    let r = bank.api.post(
        "/v1/accounts",
        &json!({"ledger_id": ledger_id, "kind": kind, "name": name}),
        None,
    );
    assert_eq!(r.status, 201, "open account: {}", r.body);
    r.id()
}

/// A second ledger made through the API; returns (ledger id, issuance account id).
fn second_ledger(bank: &Bank, code: &str, scale: u32) -> (String, String) {
    let r = bank.api.post(
        "/v1/ledgers",
        &json!({"code": code, "name": format!("Ledger {code}"), "asset_scale": scale}),
        Some(&fresh_key()),
    );
    assert_eq!(r.status, 201, "create ledger: {}", r.body);
    let issuance = r.body["issuance_account_id"]
        .as_str()
        .expect("issuance account")
        .to_string();
    (r.id(), issuance)
}

fn sequence(bank: &Bank) -> i64 {
    bank.ledger()["last_sequence"]
        .as_i64()
        .expect("last_sequence")
}

fn transfer(bank: &Bank, id: &str) -> Value {
    let r = bank.api.get(&format!("/v1/transfers/{id}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn available(bank: &Bank, account: &str) -> String {
    bank.account(account)["balances"]["available"]
        .as_str()
        .expect("available")
        .to_string()
}

fn random_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn login(api: &Api, username: &str, password: &str) -> Reply {
    api.anonymous().post(
        "/v1/auth/token",
        &json!({"username": username, "password": password}),
        None,
    )
}

/// The login session of the bank's administrator token.
fn admin_session(bank: &Bank) -> String {
    session_of(&bank.api.token.clone().expect("admin token"))
}

/// The login session (`sid`) an access token belongs to.
fn session_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json");
    claims["sid"].as_str().expect("sid").to_string()
}

/// Claims the service itself would issue to the administrator, valid now.
fn admin_claims(bank: &Bank) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: bank.admin_id.clone(),
        sid: admin_session(bank),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        exp: now + 600,
        nbf: now,
        iat: now,
        jti: random_id(),
        roles: vec![GrantClaim {
            role: "admin".into(),
            org: bank.organisation_id.clone(),
        }],
    }
}

/// Admin claims changed by `tweak`, signed with `secret` and `algorithm`.
fn mint(
    bank: &Bank,
    secret: &[u8],
    algorithm: Algorithm,
    tweak: impl FnOnce(&mut Claims),
) -> String {
    let mut claims = admin_claims(bank);
    tweak(&mut claims);
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("sign token")
}

/// An `alg: none` token: valid claims, no signature at all.
fn unsigned(bank: &Bank) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&admin_claims(bank)).expect("claims"));
    format!("{header}.{payload}.")
}

/// Sends a request built by hand (for what `Api` cannot say) and reads the reply.
fn send(request: reqwest::blocking::RequestBuilder) -> Reply {
    Reply::read(request.send().expect("request"))
}

/// `POST /v1/transfers` with an arbitrary `Authorization` header value (or none).
fn with_authorization(base: &str, authorization: Option<&str>, body: &Value) -> Reply {
    let mut request = reqwest::blocking::Client::new()
        .post(format!("{base}/v1/transfers"))
        .header("Idempotency-Key", fresh_key())
        .json(body);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    send(request)
}

/// A 401 says how to authenticate; `why` names the case when it fails.
fn assert_unauthorized(reply: &Reply, why: &str) {
    assert_refused_token(reply, "unauthorized", why);
}

/// A 401 with `code`, the Bearer challenge, and a detail in words: none of the
/// JWT library's own error names.
fn assert_refused_token(reply: &Reply, code: &str, why: &str) {
    assert_eq!(reply.status, 401, "{why}: {}", reply.body);
    reply.assert_problem(401, code);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{why}");
    let detail = reply.body["detail"].as_str().unwrap();
    for library_text in [
        "ExpiredSignature",
        "InvalidSignature",
        "InvalidToken",
        "Error(",
        "kind",
    ] {
        assert!(!detail.contains(library_text), "{why}: {detail}");
    }
}

/// Asserts an answer is a replay of `first`: same status, body and Location.
fn assert_replay_of(replay: &Reply, first: &Reply) {
    assert_eq!(
        replay.status, first.status,
        "replayed status; {}",
        replay.body
    );
    assert_eq!(replay.text, first.text, "replayed body, byte for byte");
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(replay.header("content-type"), first.header("content-type"));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        first.header("idempotent-replayed"),
        None,
        "the first answer is not a replay"
    );
}

/// A body just over the 1 MiB limit.
fn oversized_description() -> String {
    "x".repeat(1024 * 1024 + 1024)
}

// ---------------------------------------------------------------------------
// validation_failed (400): the request is malformed; it never reaches the books.
// ---------------------------------------------------------------------------

on_both_backends! {
    unknown_json_fields_are_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let good = shorthand(&bank.issuance_id, &wallet, "1.00");

        refused_transfer(
            &bank,
            &with(good.clone(), "colour", json!("blue")),
            400,
            "validation_failed",
        );
        // Inside a posting, too.
        let mut extra_leg = leg(&bank.issuance_id, "debit", json!("1.00"));
        extra_leg["memo"] = json!("x");
        let body = with_postings(vec![extra_leg, leg(&wallet, "credit", json!("1.00"))]);
        refused_transfer(&bank, &body, 400, "validation_failed");

        let account = json!({
            "ledger_id": bank.ledger_id, "kind": "volunteer", "name": "Wang Fang", "owner": "x",
        });
        refused(&bank, 400, "validation_failed", || {
            bank.api.post("/v1/accounts", &account, None)
        });
        let ledger = json!({"code": "extra", "name": "Extra", "currency": "EUR"});
        refused(&bank, 400, "validation_failed", || {
            bank.api.post("/v1/ledgers", &ledger, None)
        });
        let note = json!({"description": "ok", "reason": "unknown"});
        let hold_id = hold(&bank, &bank.issuance_id, &wallet, "1.00", None);
        refused(&bank, 400, "validation_failed", || {
            bank.api.post(
                &format!("/v1/transfers/{hold_id}/void"),
                &note,
                Some(&fresh_key()),
            )
        });
        let login_body = json!({"username": ADMIN, "password": PASSWORD, "remember": true});
        refused(&bank, 400, "validation_failed", || {
            bank.api
                .anonymous()
                .post("/v1/auth/token", &login_body, None)
        });

        // Control: the same bodies without the extra field are accepted.
        assert_eq!(post_transfer(&bank.api, &good).status, 201);
    }

    bodies_that_are_not_json_objects_are_refused(backend) {
        // serde reads a struct from an array of its fields' values; the API must not.
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let hold_id = hold(&bank, &bank.issuance_id, &wallet, "1.00", None);
        for body in [json!([null, null]), json!(["adjustment", []]), json!("text"), json!(7)] {
            let r = refused(&bank, 400, "validation_failed", || post_transfer(&bank.api, &body));
            assert!(r.body["detail"].as_str().unwrap_or("").contains("JSON object"), "{}", r.body);
            refused(&bank, 400, "validation_failed", || bank.api.patch("/v1/me", &body));
            refused(&bank, 400, "validation_failed", || {
                bank.api.post(&format!("/v1/transfers/{hold_id}/void"), &body, Some(&fresh_key()))
            });
        }
        // An empty settle body is still the default one.
        assert_eq!(bank.api.post(&format!("/v1/transfers/{hold_id}/void"), &json!({}), Some(&fresh_key())).status, 201);
    }

    malformed_transfers_are_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let (issuance, w) = (bank.issuance_id.as_str(), wallet.as_str());
        let debit = |a: &str| leg(a, "debit", json!("1.00"));
        let credit = |a: &str| leg(a, "credit", json!("1.00"));
        let bad = |body: Value| {
            refused_transfer(&bank, &body, 400, "validation_failed");
        };

        // Fewer than two postings, or one side missing.
        bad(with_postings(vec![]));
        bad(with_postings(vec![debit(issuance)]));
        bad(with_postings(vec![debit(issuance), debit(w)]));
        bad(with_postings(vec![credit(issuance), credit(w)]));
        // Postings and the shorthand together; neither; half a shorthand.
        bad(with(
            shorthand(issuance, w, "1.00"),
            "postings",
            json!([debit(issuance), credit(w)]),
        ));
        bad(json!({"kind": "adjustment"}));
        bad(json!({"kind": "adjustment", "debit_account_id": issuance, "amount": "1.00"}));
        // A reversal is only made by POST /v1/transfers/{id}/reverse.
        bad(with(
            shorthand(issuance, w, "1.00"),
            "kind",
            json!("reversal"),
        ));
        // Unknown enums and ids that are not UUIDs.
        bad(with(shorthand(issuance, w, "1.00"), "kind", json!("gift")));
        bad(with_postings(vec![
            leg(issuance, "sideways", json!("1.00")),
            credit(w),
        ]));
        bad(shorthand("not-a-uuid", w, "1.00"));
        bad(json!({"debit_account_id": issuance, "credit_account_id": w, "amount": "1.00"}));
        // Metadata must be a (small) JSON object.
        for metadata in [json!("text"), json!([1, 2]), json!(42), json!(true)] {
            bad(with(shorthand(issuance, w, "1.00"), "metadata", metadata));
        }
        bad(with(
            shorthand(issuance, w, "1.00"),
            "metadata",
            json!({"blob": "m".repeat(17 * 1024)}),
        ));
        // Text fields are bounded.
        bad(with(
            shorthand(issuance, w, "1.00"),
            "description",
            json!("d".repeat(1025)),
        ));
        bad(with(
            shorthand(issuance, w, "1.00"),
            "external_ref",
            json!("r".repeat(1025)),
        ));
        // A timeout belongs to a hold, and lies between 1 s and 30 days.
        bad(with(
            shorthand(issuance, w, "1.00"),
            "timeout_seconds",
            json!(60),
        ));
        let pending = with(shorthand(issuance, w, "1.00"), "pending", json!(true));
        bad(with(pending.clone(), "timeout_seconds", json!(0)));
        bad(with(pending, "timeout_seconds", json!(31 * 24 * 3600)));
        // At most 64 postings.
        let mut many = vec![leg(issuance, "debit", json!("65.00"))];
        many.extend((0..65).map(|_| credit(w)));
        bad(with_postings(many));
        // Not JSON at all, and JSON that is not an object.
        refused(&bank, 400, "validation_failed", || {
            bank.api.post_raw(
                "/v1/transfers",
                "application/json",
                b"{\"kind\":".to_vec(),
                Some(&fresh_key()),
            )
        });
        refused(&bank, 400, "validation_failed", || {
            bank.api.post_raw(
                "/v1/transfers",
                "application/json",
                b"[1,2]".to_vec(),
                Some(&fresh_key()),
            )
        });
        // A settle note that is not JSON.
        let hold_id = hold(&bank, issuance, w, "1.00", None);
        refused(&bank, 400, "validation_failed", || {
            bank.api.post_raw(
                &format!("/v1/transfers/{hold_id}/post"),
                "application/json",
                b"{oops".to_vec(),
                Some(&fresh_key()),
            )
        });

        // Control: a well-formed transfer on the same accounts is accepted.
        assert_eq!(
            post_transfer(&bank.api, &shorthand(issuance, w, "1.00")).status,
            201
        );
    }

    malformed_accounts_and_ledgers_are_refused(backend) {
        let bank = Bank::new(backend);
        let account = |ledger: &str, kind: &str, name: &str| {
            json!({"ledger_id": ledger, "kind": kind, "name": name})
        };
        let open = |body: Value| {
            refused(&bank, 400, "validation_failed", || {
                bank.api.post("/v1/accounts", &body, None)
            });
        };
        open(account(&bank.ledger_id, "volunteer", ""));
        open(account(&bank.ledger_id, "volunteer", "   "));
        open(account(&bank.ledger_id, "volunteer", &"n".repeat(201)));
        open(account(&bank.ledger_id, "piggy_bank", "Li Wei"));
        open(account("not-a-uuid", "volunteer", "Li Wei"));
        open(account(&random_id(), "volunteer", "Li Wei"));
        open(json!({"kind": "volunteer", "name": "Li Wei"}));

        let create = |body: Value| {
            refused(&bank, 400, "validation_failed", || {
                bank.api.post("/v1/ledgers", &body, Some(&fresh_key()))
            });
        };
        create(json!({"code": "Bad Code", "name": "x"}));
        create(json!({"code": "", "name": "x"}));
        create(json!({"code": "ok", "name": ""}));
        create(json!({"code": "ok", "name": "x", "asset_scale": 9}));
        create(json!({"code": "ok", "name": "x", "organisation_id": random_id()}));
    }

    duplicates_are_conflicts(backend) {
        let bank = Bank::new(backend);
        // Ledger codes are unique; a ledger has one issuance account.
        refused(&bank, 409, "conflict", || {
            bank.api.post(
                "/v1/ledgers",
                &json!({"code": "points", "name": "Points again"}),
                Some(&fresh_key()),
            )
        });
        let issuance =
            json!({"ledger_id": bank.ledger_id, "kind": "issuance", "name": "Second issuance"});
        refused(&bank, 409, "conflict", || {
            bank.api.post("/v1/accounts", &issuance, None)
        });
    }

    control_characters_in_text_are_refused(backend) {
        let bank = Bank::new(backend);
        let root = bank.organisation_id.clone();
        let org = bank.organisation("District", "district", &root);
        let wallet = funded_wallet(&bank, "Li Wei", "5.00");
        let shop = bank.open_account("partner", "Corner shop");
        let (person, token) = bank.person(Role::Coordinator, &org);
        let volunteer = bank.api.post(
            "/v1/volunteers",
            &json!({"name": "Wang Fang", "phone": "+86 13800000001", "organisation_id": org}),
            None,
        );
        assert_eq!(volunteer.status, 201, "{}", volunteer.body);
        let volunteer = volunteer.id();
        let nul = "a\u{0}b";
        let role = json!([{"role": "coordinator", "organisation_id": org}]);
        let api = &bank.api;
        let attempts: Vec<(&str, TextAttempt)> = vec![
            ("name", Box::new(|t| api.post("/v1/organisations", &json!({"name": t, "kind": "community", "parent_id": org}), None))),
            ("name", Box::new(|t| api.patch(&format!("/v1/organisations/{org}"), &json!({"name": t})))),
            ("name", Box::new(|t| api.post("/v1/volunteers", &json!({"name": t, "phone": "+86 13800000002", "organisation_id": org}), None))),
            ("name", Box::new(|t| api.patch(&format!("/v1/volunteers/{volunteer}"), &json!({"name": t})))),
            ("name", Box::new(|t| api.post("/v1/ledgers", &json!({"code": "other", "name": t}), Some(&fresh_key())))),
            ("name", Box::new(|t| api.post("/v1/accounts", &json!({"ledger_id": bank.ledger_id, "kind": "partner", "name": t}), None))),
            ("external_ref", Box::new(|t| api.post("/v1/accounts", &json!({"ledger_id": bank.ledger_id, "kind": "partner", "name": "Shop", "external_ref": t}), None))),
            ("display_name", Box::new(|t| api.post("/v1/users", &json!({"username": "newcomer", "password": PASSWORD, "display_name": t, "roles": role}), None))),
            ("external_subject", Box::new(|t| api.post("/v1/users", &json!({"username": "newcomer", "external_subject": t, "roles": role}), None))),
            ("display_name", Box::new(|t| api.patch(&format!("/v1/users/{person}"), &json!({"display_name": t})))),
            ("external_subject", Box::new(|t| api.patch(&format!("/v1/users/{person}"), &json!({"external_subject": t})))),
            ("display_name", Box::new(|t| api.with_token(&token).patch("/v1/me", &json!({"display_name": t})))),
            ("description", Box::new(|t| post_transfer(api, &with(shorthand(&wallet, &shop, "1.00"), "description", json!(t))))),
            ("external_ref", Box::new(|t| post_transfer(api, &with(shorthand(&wallet, &shop, "1.00"), "external_ref", json!(t))))),
            ("username", Box::new(|t| login(&api.anonymous(), t, PASSWORD))),
        ];
        for (field, attempt) in &attempts {
            for text in [nul, "bell\u{7}"] {
                let r = refused(&bank, 400, "validation_failed", || attempt(text));
                r.assert_invalid(field);
            }
        }
        // One-line fields refuse tab and line breaks; a description may have them.
        refused(&bank, 400, "validation_failed", || attempts[0].1("tab\there")).assert_invalid("name");
        let multi_line = with(shorthand(&wallet, &shop, "1.00"), "description", json!("two\nlines\tand a tab"));
        assert_eq!(post_transfer(api, &multi_line).status, 201);
        for (path, field) in [
            ("/v1/volunteers?card_number=%00", "card_number"),
            ("/v1/audit-log?entity_type=%00", "entity_type"),
            ("/v1/audit-log?action=a%00", "action"),
            ("/v1/audit-log?entity_id=%00", "entity_id"),
            ("/v1/transfers?external_ref=%00", "external_ref"),
        ] {
            refused(&bank, 400, "validation_failed", || api.get(path)).assert_invalid(field);
        }
    }

    parse_errors_name_the_field_in_words(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "5.00");
        let shop = bank.open_account("partner", "Corner shop");
        let r = refused(&bank, 400, "validation_failed", || {
            bank.api.get(&format!("/v1/accounts/{wallet}/balance?as_of=2026-01-01"))
        });
        r.assert_invalid("as_of");
        assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("RFC 3339"), "{}", r.body);
        refused(&bank, 400, "validation_failed", || bank.api.get("/v1/transfers?limit=lots"))
            .assert_invalid("limit");
        refused(&bank, 400, "validation_failed", || bank.api.get("/v1/transfers?account_id=42"))
            .assert_invalid("account_id");

        let negative = with_postings(vec![
            leg(&wallet, "debit", json!("-5.00")),
            leg(&shop, "credit", json!("5.00")),
        ]);
        let r = refused_transfer(&bank, &negative, 400, "invalid_amount");
        assert_eq!(r.body["errors"][0]["field"], "postings[0].amount", "{}", r.body);
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("greater than zero"), "{message}");
        let number = with(shorthand(&wallet, &shop, "1.00"), "amount", json!(5));
        let r = refused_transfer(&bank, &number, 400, "invalid_amount");
        assert_eq!(r.body["errors"][0]["field"], "amount", "{}", r.body);
        let missing = json!({"kind": "adjustment", "postings": [{"account_id": wallet, "direction": "debit"}]});
        refused_transfer(&bank, &missing, 400, "validation_failed").assert_invalid("postings[0].amount");
        let bad_id = with(shorthand(&wallet, &shop, "1.00"), "credit_account_id", json!("shop"));
        refused_transfer(&bank, &bad_id, 400, "validation_failed").assert_invalid("credit_account_id");
        let r = refused(&bank, 400, "validation_failed", || {
            bank.api.post_raw("/v1/transfers", "application/json", b"{\"kind\": ".to_vec(), Some(&fresh_key()))
        });
        r.assert_invalid("body");

        // An id in the path that is not a UUID names nothing.
        let r = bank.api.get("/v1/transfers/not-a-uuid");
        r.assert_problem(404, "not_found");
        let detail = r.body["detail"].as_str().unwrap();
        assert!(!detail.contains("deserialize") && !detail.contains("UUID parsing"), "{detail}");
    }

    racing_creations_of_one_username_get_a_conflict_in_words(backend) {
        let bank = Bank::new(backend);
        let body = json!({
            "username": "same-name",
            "password": PASSWORD,
            "roles": [{"role": "auditor", "organisation_id": bank.organisation_id}],
        });
        // Enough at once that, on PostgreSQL, some pass the app's own check
        // together and meet the unique constraint.
        let start = std::sync::Barrier::new(8);
        let replies: Vec<Reply> = thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    let (api, body, start) = (&bank.api, &body, &start);
                    s.spawn(move || {
                        start.wait();
                        api.post("/v1/users", body, None)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
        for r in replies.iter().filter(|r| r.status != 201) {
            r.assert_problem(409, "conflict");
            let detail = r.body["detail"].as_str().unwrap();
            assert!(detail.contains("username") && detail.contains("taken"), "{detail}");
            for database_text in ["duplicate key", "constraint", "users_username", "UNIQUE"] {
                assert!(!detail.contains(database_text), "{detail}");
            }
        }
    }

    list_queries_are_checked(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let lists = [
            "/v1/transfers".to_string(),
            "/v1/accounts".to_string(),
            "/v1/ledgers".to_string(),
            format!("/v1/accounts/{wallet}/postings"),
        ];
        for list in &lists {
            for query in [
                "limit=0",
                "limit=201",
                "limit=-1",
                "limit=abc",
                "colour=blue",
                "cursor=not-a-cursor",
            ] {
                refused(&bank, 400, "validation_failed", || {
                    bank.api.get(&format!("{list}?{query}"))
                });
            }
            // The cap itself is fine.
            let ok = bank.api.get(&format!("{list}?limit=200"));
            assert_eq!(ok.status, 200, "{list}: {}", ok.body);
        }
        refused(&bank, 400, "validation_failed", || {
            bank.api.get(&format!(
                "/v1/transfers?kind=gift&ledger_id={}",
                bank.ledger_id
            ))
        });
        refused(&bank, 400, "validation_failed", || {
            bank.api.get("/v1/accounts?status=asleep")
        });
        refused(&bank, 400, "validation_failed", || {
            bank.api
                .get(&format!("/v1/accounts/{wallet}/balance?as_of=yesterday"))
        });
        refused(&bank, 400, "validation_failed", || {
            bank.api
                .get(&format!("/v1/accounts/{wallet}/balance?when=now"))
        });
    }
}

// ---------------------------------------------------------------------------
// invalid_amount (400): amounts are positive decimal strings in the ledger's scale;
// never numbers (floating point), never rounded.
// ---------------------------------------------------------------------------

on_both_backends! {
    amounts_must_be_positive_decimal_strings(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let (issuance, w) = (bank.issuance_id.as_str(), wallet.as_str());
        let amounts = [
            json!(12.5),
            json!(12),
            json!("abc"),
            json!("-1"),
            json!("+1"),
            json!("0"),
            json!("0.00"),
            json!("1e3"),
            json!(""),
            json!(" 1"),
            json!("1."),
            json!(".5"),
            json!("1,50"),
            json!("12345678901"),
            json!("1.000000001"),
        ];
        for amount in amounts {
            let r = refused_transfer(
                &bank,
                &with(shorthand(issuance, w, "1.00"), "amount", amount.clone()),
                400,
                "invalid_amount",
            );
            assert!(
                r.body["errors"].is_array(),
                "invalid_amount names the field: {}",
                r.body
            );
            let body = with_postings(vec![
                leg(issuance, "debit", json!("1.00")),
                leg(w, "credit", amount),
            ]);
            refused_transfer(&bank, &body, 400, "invalid_amount");
        }
        // Control.
        assert_eq!(
            post_transfer(&bank.api, &shorthand(issuance, w, "12.50")).status,
            201
        );
    }

    amounts_finer_than_the_ledger_are_refused_not_rounded(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let (issuance, w) = (bank.issuance_id.as_str(), wallet.as_str());
        refused_transfer(
            &bank,
            &shorthand(issuance, w, "1.005"),
            400,
            "invalid_amount",
        );
        let body = with_postings(vec![
            leg(issuance, "debit", json!("1.00")),
            leg(w, "credit", json!("1.005")),
        ]);
        let r = refused_transfer(&bank, &body, 400, "invalid_amount");
        assert_eq!(
            r.body["errors"][0]["field"], "postings[1].amount",
            "{}",
            r.body
        );
        // A whole-number ledger refuses any decimals.
        let (hours, hours_issuance) = second_ledger(&bank, "hours", 0);
        let volunteer = open_account_in(&bank, &hours, "volunteer", "Zhang Min");
        refused_transfer(
            &bank,
            &shorthand(&hours_issuance, &volunteer, "1.5"),
            400,
            "invalid_amount",
        );
        refused_transfer(
            &bank,
            &shorthand(&hours_issuance, &volunteer, "1.0"),
            400,
            "invalid_amount",
        );
        // Controls: as many decimals as the scale, or fewer, are fine.
        assert_eq!(
            post_transfer(&bank.api, &shorthand(issuance, w, "1.5")).status,
            201
        );
        assert_eq!(
            post_transfer(&bank.api, &shorthand(&hours_issuance, &volunteer, "2")).status,
            201
        );
        assert_eq!(bank.posted(&wallet), "1.50");
        assert_eq!(bank.posted(&volunteer), "2");
    }
}

// ---------------------------------------------------------------------------
// Ledger rules (422/409): well-formed requests the books cannot accept.
// ---------------------------------------------------------------------------

on_both_backends! {
    unbalanced_transfers_are_refused(backend) {
        let bank = Bank::new(backend);
        let a = bank.wallet("Li Wei");
        let b = bank.wallet("Wang Fang");
        let issuance = bank.issuance_id.as_str();
        let body = with_postings(vec![
            leg(issuance, "debit", json!("10.00")),
            leg(&a, "credit", json!("9.99")),
        ]);
        refused_transfer(&bank, &body, 422, "unbalanced_transfer");
        let body = with_postings(vec![
            leg(issuance, "debit", json!("10.00")),
            leg(&a, "credit", json!("6.00")),
            leg(&b, "credit", json!("4.01")),
        ]);
        refused_transfer(&bank, &body, 422, "unbalanced_transfer");
        // Control: balanced across three legs.
        let body = with_postings(vec![
            leg(issuance, "debit", json!("10.00")),
            leg(&a, "credit", json!("6.00")),
            leg(&b, "credit", json!("4.00")),
        ]);
        assert_eq!(post_transfer(&bank.api, &body).status, 201);
    }

    postings_must_stay_on_one_ledger(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let (other, other_issuance) = second_ledger(&bank, "district", 2);
        let other_wallet = open_account_in(&bank, &other, "volunteer", "Zhang Min");
        refused_transfer(
            &bank,
            &shorthand(&bank.issuance_id, &other_wallet, "1.00"),
            422,
            "ledger_mismatch",
        );
        refused_transfer(
            &bank,
            &shorthand(&other_issuance, &wallet, "1.00"),
            422,
            "ledger_mismatch",
        );
        let body = with_postings(vec![
            leg(&bank.issuance_id, "debit", json!("2.00")),
            leg(&wallet, "credit", json!("1.00")),
            leg(&other_wallet, "credit", json!("1.00")),
        ]);
        refused_transfer(&bank, &body, 422, "ledger_mismatch");
        // `ledger_id` naming another ledger than the accounts'.
        let body = with(
            shorthand(&bank.issuance_id, &wallet, "1.00"),
            "ledger_id",
            json!(other),
        );
        refused_transfer(&bank, &body, 422, "ledger_mismatch");
        // Controls: each ledger on its own, with and without ledger_id.
        let body = with(
            shorthand(&bank.issuance_id, &wallet, "1.00"),
            "ledger_id",
            json!(bank.ledger_id),
        );
        assert_eq!(post_transfer(&bank.api, &body).status, 201);
        assert_eq!(
            post_transfer(
                &bank.api,
                &shorthand(&other_issuance, &other_wallet, "1.00")
            )
            .status,
            201
        );
    }

    unknown_accounts_are_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let ghost = random_id();
        refused_transfer(
            &bank,
            &shorthand(&bank.issuance_id, &ghost, "1.00"),
            422,
            "account_not_found",
        );
        refused_transfer(
            &bank,
            &shorthand(&ghost, &wallet, "1.00"),
            422,
            "account_not_found",
        );
        let body = with_postings(vec![
            leg(&bank.issuance_id, "debit", json!("2.00")),
            leg(&wallet, "credit", json!("1.00")),
            leg(&ghost, "credit", json!("1.00")),
        ]);
        refused_transfer(&bank, &body, 422, "account_not_found");
        let hold_body = with(
            shorthand(&bank.issuance_id, &ghost, "1.00"),
            "pending",
            json!(true),
        );
        refused_transfer(&bank, &hold_body, 422, "account_not_found");
    }

    frozen_accounts_do_not_move_until_unfrozen(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let shop = bank.open_account("partner", "Corner shop");
        let frozen = bank
            .api
            .post(&format!("/v1/accounts/{wallet}/freeze"), &json!({}), None);
        assert_eq!(frozen.status, 200, "{}", frozen.body);
        assert_eq!(frozen.body["status"], "frozen");

        refused_transfer(
            &bank,
            &shorthand(&wallet, &shop, "1.00"),
            422,
            "account_frozen",
        );
        refused_transfer(
            &bank,
            &shorthand(&bank.issuance_id, &wallet, "1.00"),
            422,
            "account_frozen",
        );
        let hold_body = with(shorthand(&wallet, &shop, "1.00"), "pending", json!(true));
        refused_transfer(&bank, &hold_body, 422, "account_frozen");

        // A frozen issuance account stops every credit.
        let other = bank.wallet("Wang Fang");
        let r = bank.api.post(
            &format!("/v1/accounts/{}/freeze", bank.issuance_id),
            &json!({}),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        refused_transfer(
            &bank,
            &shorthand(&bank.issuance_id, &other, "1.00"),
            422,
            "account_frozen",
        );

        for id in [&wallet, &bank.issuance_id] {
            let r = bank
                .api
                .post(&format!("/v1/accounts/{id}/unfreeze"), &json!({}), None);
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["status"], "open");
        }
        assert_eq!(
            post_transfer(&bank.api, &shorthand(&wallet, &shop, "1.00")).status,
            201
        );
        assert_eq!(
            post_transfer(&bank.api, &shorthand(&bank.issuance_id, &other, "1.00")).status,
            201
        );
        assert_eq!(bank.posted(&wallet), "9.00");
        bank.assert_verified();
    }

    closed_accounts_stay_closed(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let closed = bank
            .api
            .post(&format!("/v1/accounts/{wallet}/close"), &json!({}), None);
        assert_eq!(closed.status, 200, "{}", closed.body);
        assert_eq!(closed.body["status"], "closed");

        refused_transfer(
            &bank,
            &shorthand(&bank.issuance_id, &wallet, "1.00"),
            422,
            "account_closed",
        );
        let hold_body = with(
            shorthand(&bank.issuance_id, &wallet, "1.00"),
            "pending",
            json!(true),
        );
        refused_transfer(&bank, &hold_body, 422, "account_closed");
        for action in ["freeze", "unfreeze", "close"] {
            refused(&bank, 422, "account_closed", || {
                bank.api
                    .post(&format!("/v1/accounts/{wallet}/{action}"), &json!({}), None)
            });
        }
    }

    overdrafts_are_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let shop = bank.open_account("partner", "Corner shop");
        let friend = bank.wallet("Wang Fang");

        refused_transfer(
            &bank,
            &shorthand(&wallet, &shop, "10.01"),
            422,
            "insufficient_funds",
        );
        // Two debits on one wallet in one transfer count together.
        let body = with_postings(vec![
            leg(&wallet, "debit", json!("6.00")),
            leg(&wallet, "debit", json!("5.00")),
            leg(&shop, "credit", json!("11.00")),
        ]);
        refused_transfer(&bank, &body, 422, "insufficient_funds");
        // An empty partner account cannot pay out either.
        refused_transfer(
            &bank,
            &shorthand(&shop, &friend, "0.01"),
            422,
            "insufficient_funds",
        );

        // A hold reserves funds: 8 of 10 held leaves 2 to spend or hold.
        hold(&bank, &wallet, &shop, "8.00", None);
        assert_eq!(available(&bank, &wallet), "2.00");
        refused_transfer(
            &bank,
            &shorthand(&wallet, &friend, "3.00"),
            422,
            "insufficient_funds",
        );
        let second_hold = with(shorthand(&wallet, &friend, "2.01"), "pending", json!(true));
        refused_transfer(&bank, &second_hold, 422, "insufficient_funds");

        // Control: exactly what is available goes through.
        assert_eq!(
            post_transfer(&bank.api, &shorthand(&wallet, &friend, "2.00")).status,
            201
        );
        assert_eq!(available(&bank, &wallet), "0.00");
        bank.assert_verified();
    }

    an_account_cannot_pay_itself(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let shop = bank.open_account("partner", "Corner shop");
        let r = refused_transfer(&bank, &shorthand(&wallet, &wallet, "1.00"), 422, "same_account");
        assert!(r.body["detail"].as_str().unwrap().contains(&wallet), "{}", r.body);
        // In a postings list too, and for a hold.
        let body = with_postings(vec![
            leg(&wallet, "debit", json!("2.00")),
            leg(&shop, "credit", json!("1.00")),
            leg(&wallet, "credit", json!("1.00")),
        ]);
        refused_transfer(&bank, &body, 422, "same_account");
        let held = with(shorthand(&shop, &shop, "1.00"), "pending", json!(true));
        refused_transfer(&bank, &held, 422, "same_account");
        bank.assert_verified();
    }

    totals_that_would_leave_i64_are_refused_not_wrapped(backend) {
        let bank = Bank::new(backend);
        let (ledger, issuance) = second_ledger(&bank, "fine", 8);
        let wallet = open_account_in(&bank, &ledger, "volunteer", "Big earner");
        let largest = "9999999999.99999999";
        for _ in 0..9 {
            let r = post_transfer(&bank.api, &shorthand(&issuance, &wallet, largest));
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let before = available(&bank, &issuance);
        assert_eq!(before, "-89999999999.99999991");
        // A tenth posted transfer and a hold of the same amount are refused
        // alike: neither may wrap the issuance account's totals.
        let tenth = shorthand(&issuance, &wallet, largest);
        refused_transfer(&bank, &tenth, 422, "balance_out_of_range");
        let held = with(tenth, "pending", json!(true));
        refused_transfer(&bank, &held, 422, "balance_out_of_range");
        assert_eq!(available(&bank, &issuance), before);
    }

    a_reversal_that_would_overdraw_is_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let friend = bank.wallet("Wang Fang");
        let shop = bank.open_account("partner", "Corner shop");
        let gift = post_transfer(&bank.api, &shorthand(&wallet, &friend, "10.00"));
        assert_eq!(gift.status, 201, "{}", gift.body);
        let spend = post_transfer(&bank.api, &shorthand(&friend, &shop, "10.00"));
        assert_eq!(spend.status, 201, "{}", spend.body);
        // Undoing the gift would take 10 from a friend who has nothing left.
        let gift_id = gift.id();
        refused(&bank, 422, "insufficient_funds", || {
            settle(&bank.api, &gift_id, "reverse")
        });
        assert_eq!(transfer(&bank, &gift_id)["reversed_by"], Value::Null);
    }

    funded_accounts_cannot_be_closed(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "1.00");
        refused(&bank, 409, "account_not_empty", || {
            bank.api
                .post(&format!("/v1/accounts/{wallet}/close"), &json!({}), None)
        });
        // Only a pending credit on the way in: still not empty.
        let incoming = bank.wallet("Wang Fang");
        let hold_id = hold(&bank, &bank.issuance_id, &incoming, "1.00", None);
        refused(&bank, 409, "account_not_empty", || {
            bank.api
                .post(&format!("/v1/accounts/{incoming}/close"), &json!({}), None)
        });
        // The issuance account of a fresh, empty ledger can never be closed.
        let (_, issuance) = second_ledger(&bank, "spare", 2);
        refused(&bank, 403, "forbidden", || {
            bank.api
                .post(&format!("/v1/accounts/{issuance}/close"), &json!({}), None)
        });
        // Control: once the hold is voided the second wallet is empty and closes.
        settled(&bank, &hold_id, "void");
        let r = bank
            .api
            .post(&format!("/v1/accounts/{incoming}/close"), &json!({}), None);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(bank.account(&wallet)["status"], "open");
    }
}

// ---------------------------------------------------------------------------
// Two-phase transfers and reversals (409): a hold settles once; a posted transfer
// is reversed once; the state a request assumes must still hold.
// ---------------------------------------------------------------------------

on_both_backends! {
    only_open_holds_can_be_posted_or_voided(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let shop = bank.open_account("partner", "Corner shop");
        let not_pending = |id: &str, action: &str| {
            refused(&bank, 409, "transfer_not_pending", || {
                settle(&bank.api, id, action)
            });
        };

        // A plain posted transfer is no hold.
        let posted = post_transfer(&bank.api, &shorthand(&wallet, &shop, "1.00")).id();
        not_pending(&posted, "post");
        not_pending(&posted, "void");

        // A voided hold: neither posted nor voided again.
        let voided = hold(&bank, &wallet, &shop, "2.00", None);
        let void_entry = settled(&bank, &voided, "void");
        not_pending(&voided, "post");
        not_pending(&voided, "void");
        not_pending(&void_entry, "post");

        // A posted hold: neither voided nor posted again.
        let captured = hold(&bank, &wallet, &shop, "3.00", None);
        let post_entry = settled(&bank, &captured, "post");
        not_pending(&captured, "void");
        not_pending(&captured, "post");
        not_pending(&post_entry, "void");

        assert_eq!(transfer(&bank, &voided)["status"], "voided");
        assert_eq!(transfer(&bank, &captured)["status"], "posted");
        assert_eq!(bank.posted(&wallet), "6.00");
        assert_eq!(bank.posted(&shop), "4.00");
        bank.assert_verified();
    }

    an_expired_hold_cannot_be_posted(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let shop = bank.open_account("partner", "Corner shop");
        let held = hold(&bank, &wallet, &shop, "4.00", Some(1));
        assert_eq!(available(&bank, &wallet), "6.00");
        thread::sleep(Duration::from_millis(2500));

        let before = sequence(&bank);
        let r = settle(&bank.api, &held, "post");
        // The sweeper may already have voided it (transfer_not_pending); if not, the
        // post is refused as expired. Either way nothing is captured.
        let code = if r.body["code"] == "pending_transfer_expired" {
            "pending_transfer_expired"
        } else {
            "transfer_not_pending"
        };
        r.assert_problem(409, code);
        assert!(
            sequence(&bank) <= before + 1,
            "at most the sweeper's void was recorded"
        );

        // The sweeper releases it within a couple of seconds.
        let mut status = transfer(&bank, &held)["status"].clone();
        for _ in 0..50 {
            if status == "voided" {
                break;
            }
            thread::sleep(Duration::from_millis(100));
            status = transfer(&bank, &held)["status"].clone();
        }
        assert_eq!(status, "voided");
        let balances = bank.account(&wallet)["balances"].clone();
        assert_eq!(balances["posted"], "10.00");
        assert_eq!(balances["pending_debits"], "0.00");
        assert_eq!(balances["available"], "10.00");
        assert_eq!(bank.posted(&shop), "0.00");
        // Posting it now is refused as not pending, and changes nothing.
        refused(&bank, 409, "transfer_not_pending", || {
            settle(&bank.api, &held, "post")
        });
        bank.assert_verified();
    }

    holds_voids_and_reversals_cannot_be_reversed(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let shop = bank.open_account("partner", "Corner shop");
        let not_reversible = |id: &str| {
            refused(&bank, 409, "transfer_not_reversible", || {
                settle(&bank.api, id, "reverse")
            });
        };

        let open_hold = hold(&bank, &wallet, &shop, "1.00", None);
        not_reversible(&open_hold);
        let voided = hold(&bank, &wallet, &shop, "1.00", None);
        let void_entry = settled(&bank, &voided, "void");
        not_reversible(&voided);
        not_reversible(&void_entry);

        let sale = post_transfer(&bank.api, &shorthand(&wallet, &shop, "2.00")).id();
        let reversal = settled(&bank, &sale, "reverse");
        not_reversible(&reversal);
        assert_eq!(bank.posted(&wallet), "10.00");
    }

    a_transfer_is_reversed_once(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "10.00");
        let shop = bank.open_account("partner", "Corner shop");
        let sale = post_transfer(&bank.api, &shorthand(&wallet, &shop, "2.00")).id();
        let reversal = settled(&bank, &sale, "reverse");
        refused(&bank, 409, "transfer_already_reversed", || {
            settle(&bank.api, &sale, "reverse")
        });
        // A captured hold is reversed through its posting entry, also once.
        let held = hold(&bank, &wallet, &shop, "3.00", None);
        let capture = settled(&bank, &held, "post");
        settled(&bank, &capture, "reverse");
        refused(&bank, 409, "transfer_already_reversed", || {
            settle(&bank.api, &capture, "reverse")
        });

        assert_eq!(transfer(&bank, &sale)["reversed_by"], json!(reversal));
        assert_eq!(bank.posted(&wallet), "10.00");
        assert_eq!(bank.posted(&shop), "0.00");
        bank.assert_verified();
    }
}

// ---------------------------------------------------------------------------
// Idempotency: exactly once per (caller, key); a key is required for transfers,
// bound to one request, and its first answer, success or refusal, is replayed.
// ---------------------------------------------------------------------------

on_both_backends! {
    a_transfer_needs_a_valid_idempotency_key(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let body = shorthand(&bank.issuance_id, &wallet, "1.00");
        refused(&bank, 400, "idempotency_key_missing", || {
            bank.api.post("/v1/transfers", &body, None)
        });
        let long = "k".repeat(256);
        for key in [long.as_str(), "two words", ""] {
            refused(&bank, 400, "validation_failed", || {
                bank.api.post("/v1/transfers", &body, Some(key))
            });
        }
        // Control.
        let longest = "k".repeat(255);
        assert_eq!(
            bank.api.post("/v1/transfers", &body, Some(&longest)).status,
            201
        );
    }

    a_key_is_bound_to_its_first_request(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let key = fresh_key();
        let first = bank.api.post(
            "/v1/transfers",
            &shorthand(&bank.issuance_id, &wallet, "1.00"),
            Some(&key),
        );
        assert_eq!(first.status, 201, "{}", first.body);

        let other_amount = shorthand(&bank.issuance_id, &wallet, "2.00");
        refused(&bank, 422, "idempotency_key_reused", || {
            bank.api.post("/v1/transfers", &other_amount, Some(&key))
        });
        let other_kind = with(
            shorthand(&bank.issuance_id, &wallet, "1.00"),
            "kind",
            json!("hours_credit"),
        );
        refused(&bank, 422, "idempotency_key_reused", || {
            bank.api.post("/v1/transfers", &other_kind, Some(&key))
        });
        // The same key on another endpoint is another request too.
        let account =
            json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": "Wang Fang"});
        refused(&bank, 422, "idempotency_key_reused", || {
            bank.api.post("/v1/accounts", &account, Some(&key))
        });
        let first_id = first.id();
        refused(&bank, 422, "idempotency_key_reused", || {
            bank.api.post(
                &format!("/v1/transfers/{first_id}/reverse"),
                &json!({}),
                Some(&key),
            )
        });
        assert_eq!(bank.posted(&wallet), "1.00");
    }

    the_same_key_and_body_replay_the_first_answer(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let key = fresh_key();
        let body = shorthand(&bank.issuance_id, &wallet, "5.00");
        let before = sequence(&bank);
        let first = bank.api.post("/v1/transfers", &body, Some(&key));
        assert_eq!(first.status, 201, "{}", first.body);
        for _ in 0..2 {
            let again = bank.api.post("/v1/transfers", &body, Some(&key));
            assert_replay_of(&again, &first);
        }
        // The same JSON with its fields in another order is the same request.
        let reordered = json!({
            "amount": "5.00",
            "credit_account_id": wallet,
            "debit_account_id": bank.issuance_id,
            "kind": "adjustment",
        });
        assert_replay_of(
            &bank.api.post("/v1/transfers", &reordered, Some(&key)),
            &first,
        );
        assert_eq!(sequence(&bank), before + 1, "one transfer only");
        assert_eq!(bank.posted(&wallet), "5.00");
        let listed = bank.api.get(&format!("/v1/transfers?account_id={wallet}"));
        assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    }

    records_kept_before_the_outcome_column_still_replay(backend) {
        // Keys live 48 hours, so an upgrade meets records written by the code
        // before it: status code and Location, not the outcome. Take the
        // database back to that shape, bring it forward again, and replay.
        let mut bank = Bank::new(backend);
        let (open_key, pay_key, refused_key) = (fresh_key(), fresh_key(), fresh_key());
        let open = json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": "Wang Fang"});
        let opened = bank.api.post("/v1/accounts", &open, Some(&open_key));
        assert_eq!(opened.status, 201, "{}", opened.body);
        let pay = shorthand(&bank.issuance_id, &opened.id(), "2.50");
        let paid = bank.api.post("/v1/transfers", &pay, Some(&pay_key));
        assert_eq!(paid.status, 201, "{}", paid.body);
        let spend = shorthand(&opened.id(), &bank.issuance_id, "9.00");
        let refusal = refused(&bank, 422, "insufficient_funds", || {
            bank.api.post("/v1/transfers", &spend, Some(&refused_key))
        });

        bank.server.terminate();
        let dialect = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let down = std::fs::read_to_string(format!(
            "{}/migrations/{dialect}/2026-12-01-000005_idempotency_outcome/down.sql",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("down.sql");
        {
            use diesel::connection::SimpleConnection;
            let mut conn = bank.db.raw();
            conn.batch_execute(&down).expect("down migration");
            conn.batch_execute(
                "DELETE FROM __diesel_schema_migrations WHERE version = '20261201000005'",
            )
            .expect("forget the migration");
        }
        let legacy = bank
            .db
            .execute(
                "UPDATE idempotency_keys SET status_code = status_code \
                 WHERE status_code IN (200, 201, 422)",
            )
            .expect("legacy shape");
        assert_eq!(legacy, 3, "three records in the old shape");
        bank.restart();

        let again = bank.api.post("/v1/accounts", &open, Some(&open_key));
        assert_replay_of(&again, &opened);
        assert_replay_of(&bank.api.post("/v1/transfers", &pay, Some(&pay_key)), &paid);
        assert_replay_of(
            &bank.api.post("/v1/transfers", &spend, Some(&refused_key)),
            &refusal,
        );
        assert_eq!(bank.posted(&opened.id()), "2.50");
    }

    every_kept_answer_replays_byte_for_byte(backend) {
        // app hands http typed outcomes and a replay carries the same values,
        // so every endpoint that keeps answers must render them again exactly.
        let bank = Bank::new(backend);
        let api = &bank.api;
        let once = |path: &str, body: Value, status: u16| {
            let key = fresh_key();
            let first = api.post(path, &body, Some(&key));
            assert_eq!(first.status, status, "{path}: {}", first.body);
            assert_replay_of(&api.post(path, &body, Some(&key)), &first);
            first
        };
        let code = format!("r{}", rand_digits() % 1_000_000);
        let ledger = once(
            "/v1/ledgers",
            json!({"code": code, "name": "Replay ledger", "asset_scale": 2}),
            201,
        );
        assert_eq!(
            ledger.header("location").map(str::to_string),
            Some(format!("/v1/ledgers/{}", ledger.id()))
        );
        let org = once(
            "/v1/organisations",
            json!({"name": "Replay street", "kind": "community", "parent_id": bank.organisation_id}),
            201,
        )
        .id();
        let account = once(
            "/v1/accounts",
            json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": "张伟 \"replay\""}),
            201,
        )
        .id();
        once(&format!("/v1/accounts/{account}/freeze"), json!({}), 200);
        once(&format!("/v1/accounts/{account}/unfreeze"), json!({}), 200);
        let user = once(
            "/v1/users",
            json!({
                "username": format!("replay-{}", fresh_key()),
                "password": PASSWORD,
                "roles": [{"role": "auditor", "organisation_id": org}],
            }),
            201,
        )
        .id();
        let granted = once(
            &format!("/v1/users/{user}/roles"),
            json!({"role": "coordinator", "organisation_id": org}),
            201,
        );
        let grant = granted.body["roles"]
            .as_array()
            .and_then(|roles| roles.iter().find(|g| g["role"] == "coordinator"))
            .map(|g| g["id"].as_str().unwrap_or_default().to_string())
            .expect("the new grant");
        assert_eq!(
            granted.header("location").map(str::to_string),
            Some(format!("/v1/users/{user}/roles/{grant}"))
        );
        once(
            "/v1/volunteers",
            json!({"name": "李娜", "phone": format!("+86 139{:08}", rand_digits()),
                   "organisation_id": org, "ledger_id": bank.ledger_id}),
            201,
        );
        let wallet = bank.wallet("Replay wallet");
        let hold = once(
            "/v1/transfers",
            json!({"kind": "redemption", "debit_account_id": bank.issuance_id,
                   "credit_account_id": wallet, "amount": "3.25",
                   "pending": true, "description": "饭票 hold", "metadata": {"b": 1, "a": [true, null]}}),
            201,
        )
        .id();
        once(&format!("/v1/transfers/{hold}/post"), json!({}), 201);

        // A refusal kept by a change that is not a transfer replays the same.
        let key = fresh_key();
        let duplicate = json!({"code": code, "name": "Same code again"});
        let first = refused(&bank, 409, "conflict", || api.post("/v1/ledgers", &duplicate, Some(&key)));
        assert_replay_of(&api.post("/v1/ledgers", &duplicate, Some(&key)), &first);
    }

    a_retried_refusal_gets_the_same_refusal(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let shop = bank.open_account("partner", "Corner shop");
        let key = fresh_key();
        let spend = shorthand(&wallet, &shop, "5.00");
        let first = refused(&bank, 422, "insufficient_funds", || {
            bank.api.post("/v1/transfers", &spend, Some(&key))
        });
        // The condition changes: the wallet can now pay.
        bank.fund(&wallet, "20.00");
        let again = refused(&bank, 422, "insufficient_funds", || {
            bank.api.post("/v1/transfers", &spend, Some(&key))
        });
        assert_replay_of(&again, &first);
        assert_eq!(bank.posted(&wallet), "20.00");

        // The same for a settlement refused with a key.
        let sale = post_transfer(&bank.api, &shorthand(&wallet, &shop, "1.00")).id();
        let void_key = fresh_key();
        let path = format!("/v1/transfers/{sale}/void");
        let first = refused(&bank, 409, "transfer_not_pending", || {
            bank.api.post(&path, &json!({}), Some(&void_key))
        });
        let again = refused(&bank, 409, "transfer_not_pending", || {
            bank.api.post(&path, &json!({}), Some(&void_key))
        });
        assert_replay_of(&again, &first);
        // Control: a fresh key for the spend works now.
        assert_eq!(post_transfer(&bank.api, &spend).status, 201);
    }

    a_key_still_in_flight_is_refused(backend) {
        // The writer waits 400 ms for a batch to fill, so the first request is
        // still running when the second arrives.
        let bank = Bank::with_env(backend, &[("TIMEBANK_COMMIT_DELAY_MS", "400")]);
        let wallet = bank.wallet("Li Wei");
        let key = fresh_key();
        let body = shorthand(&bank.issuance_id, &wallet, "3.00");
        let before = sequence(&bank);

        let first = {
            let (api, key, body) = (bank.api.clone(), key.clone(), body.clone());
            thread::spawn(move || api.post("/v1/transfers", &body, Some(&key)))
        };
        thread::sleep(Duration::from_millis(50));
        let second = bank.api.post("/v1/transfers", &body, Some(&key));
        let first = first.join().expect("first request");

        let (won, lost) = if first.status == 201 {
            (first, second)
        } else {
            (second, first)
        };
        assert_eq!(won.status, 201, "{}", won.body);
        lost.assert_problem(409, "idempotency_key_in_flight");
        assert_eq!(sequence(&bank), before + 1, "exactly one transfer");
        assert_eq!(bank.posted(&wallet), "3.00");
        // Once answered, the key replays.
        assert_replay_of(&bank.api.post("/v1/transfers", &body, Some(&key)), &won);
        assert_eq!(sequence(&bank), before + 1);
    }

    keys_are_scoped_to_the_caller(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let key = fresh_key();
        let body = shorthand(&bank.issuance_id, &wallet, "2.00");
        let before = sequence(&bank);
        let alice = bank.as_role(Role::Admin);
        let bob = bank.as_role(Role::Admin);
        let a = alice.post("/v1/transfers", &body, Some(&key));
        let b = bob.post("/v1/transfers", &body, Some(&key));
        assert_eq!((a.status, b.status), (201, 201), "{} / {}", a.body, b.body);
        assert_eq!(b.header("idempotent-replayed"), None);
        assert_ne!(a.id(), b.id());
        assert_eq!(sequence(&bank), before + 2);
        assert_eq!(bank.posted(&wallet), "4.00");
        // Each caller's own retry replays their own answer.
        assert_replay_of(&alice.post("/v1/transfers", &body, Some(&key)), &a);
        assert_replay_of(&bob.post("/v1/transfers", &body, Some(&key)), &b);
        assert_eq!(sequence(&bank), before + 2);
    }
}

// ---------------------------------------------------------------------------
// unauthorized (401): who is calling is not proven. Every /v1 endpoint but login
// needs a valid HS256 token from this service, current, for this audience.
// ---------------------------------------------------------------------------

on_both_backends! {
    requests_without_a_usable_token_are_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let body = shorthand(&bank.issuance_id, &wallet, "1.00");
        let base = bank.server.base.clone();
        for (authorization, code) in [
            (None, "unauthorized"),
            (Some("Bearer garbage"), "invalid_token"),
            (Some("Bearer "), "unauthorized"),
            (Some("Basic YWRtaW46cGFzcw=="), "unauthorized"),
            (Some("garbage"), "unauthorized"),
        ] {
            let why = format!("Authorization: {authorization:?}");
            refused(&bank, 401, code, || {
                let r = with_authorization(&base, authorization, &body);
                assert_refused_token(&r, code, &why);
                r
            });
        }
        // Reads are guarded too.
        let anonymous = bank.api.anonymous();
        for path in [
            "/v1/accounts".to_string(),
            format!("/v1/ledgers/{}", bank.ledger_id),
            "/v1/transfers".to_string(),
        ] {
            assert_unauthorized(&anonymous.get(&path), &path);
        }
        // Control: the same request with the admin's token.
        assert_eq!(post_transfer(&bank.api, &body).status, 201);
    }

    forged_expired_and_foreign_tokens_are_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let body = shorthand(&bank.issuance_id, &wallet, "1.00");
        let secret = SECRET.as_bytes();
        let now = chrono::Utc::now().timestamp();
        let tokens = [
            (
                "another secret",
                "invalid_token",
                mint(
                    &bank,
                    b"another-secret-that-is-long-enough-987654",
                    Algorithm::HS256,
                    |_| {},
                ),
            ),
            (
                "expired",
                "token_expired",
                mint(&bank, secret, Algorithm::HS256, |c| {
                    c.iat = now - 3600;
                    c.nbf = now - 3600;
                    c.exp = now - 600;
                }),
            ),
            ("alg none", "invalid_token", unsigned(&bank)),
            (
                "HS512, not the pinned HS256", "invalid_token",
                mint(&bank, secret, Algorithm::HS512, |_| {}),
            ),
            (
                "wrong issuer", "invalid_token",
                mint(&bank, secret, Algorithm::HS256, |c| {
                    c.iss = "someone-else".into()
                }),
            ),
            (
                "wrong audience", "invalid_token",
                mint(&bank, secret, Algorithm::HS256, |c| {
                    c.aud = "another-api".into()
                }),
            ),
            (
                "not yet valid", "invalid_token",
                mint(&bank, secret, Algorithm::HS256, |c| c.nbf = now + 600),
            ),
            (
                "a session that does not exist", "unauthorized",
                mint(&bank, secret, Algorithm::HS256, |c| c.sid = random_id()),
            ),
            (
                "a user who does not exist", "unauthorized",
                mint(&bank, secret, Algorithm::HS256, |c| c.sub = random_id()),
            ),
            (
                "subject not an id", "invalid_token",
                mint(&bank, secret, Algorithm::HS256, |c| c.sub = "admin".into()),
            ),
        ];
        for (why, code, token) in &tokens {
            let api = bank.api.with_token(token);
            refused(&bank, 401, code, || {
                let r = post_transfer(&api, &body);
                assert_refused_token(&r, code, why);
                r
            });
            assert_refused_token(&api.get("/v1/accounts"), code, why);
        }
        // Control: the same minting, untweaked, is accepted.
        let good = bank
            .api
            .with_token(&mint(&bank, secret, Algorithm::HS256, |_| {}));
        assert_eq!(post_transfer(&good, &body).status, 201);
    }

    login_with_bad_credentials_is_refused(backend) {
        let bank = Bank::new(backend);
        for (user, password) in [
            (ADMIN, "wrong-password"),
            ("nobody", PASSWORD),
            (ADMIN, ""),
            ("", ""),
        ] {
            let r = refused(&bank, 401, "unauthorized", || {
                login(&bank.api, user, password)
            });
            assert!(r.body.get("access_token").is_none());
        }
        assert_eq!(login(&bank.api, ADMIN, PASSWORD).status, 200);
    }
}

// ---------------------------------------------------------------------------
// forbidden (403): the caller is known but their role does not allow it. Only
// administrators change the books; auditors read them.
// ---------------------------------------------------------------------------

on_both_backends! {
    other_roles_cannot_touch_the_books(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "5.00");
        let sale = post_transfer(&bank.api, &shorthand(&wallet, &bank.issuance_id, "1.00")).id();
        // An adjustment from the issuance account: administrators only.
        let body = shorthand(&bank.issuance_id, &wallet, "1.00");
        let account =
            json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": "Wang Fang"});
        for role in [Role::Volunteer, Role::Coordinator, Role::PartnerStaff] {
            let api = bank.as_role(role);
            // A volunteer may not even name someone else's wallet.
            let (status, code) = if role == Role::Volunteer {
                (422, "account_not_found")
            } else {
                (403, "forbidden")
            };
            refused(&bank, status, code, || post_transfer(&api, &body));
            refused(&bank, 403, "forbidden", || {
                api.post("/v1/accounts", &account, None)
            });
            refused(&bank, 403, "forbidden", || {
                api.post("/v1/ledgers", &json!({"code": "x", "name": "x"}), None)
            });
            refused(&bank, 403, "forbidden", || settle(&api, &sale, "reverse"));
            refused(&bank, 403, "forbidden", || {
                api.get(&format!("/v1/ledgers/{}/verify", bank.ledger_id))
            });
            // Reading is scoped: the wallet is in a coordinator's subtree (the
            // root), but not a shop's, nor another volunteer's.
            let seen = api.get(&format!("/v1/accounts/{wallet}"));
            if role == Role::Coordinator {
                assert_eq!(seen.status, 200, "{}", seen.body);
            } else {
                seen.assert_problem(404, "not_found");
            }
        }
        // Roles named in a token count for nothing: a coordinator whose token
        // claims admin is still a coordinator.
        let (coordinator, token) = bank.person(Role::Coordinator, &bank.organisation_id);
        let session = session_of(&token);
        let claims_admin = bank.api.with_token(&mint(&bank, SECRET.as_bytes(), Algorithm::HS256, |c| {
            c.sub = coordinator.clone();
            c.sid = session.clone();
        }));
        refused(&bank, 403, "forbidden", || post_transfer(&claims_admin, &body));
        refused(&bank, 403, "forbidden", || {
            claims_admin.post("/v1/accounts", &account, None)
        });
    }

    auditors_read_but_never_write(backend) {
        let bank = Bank::new(backend);
        let wallet = funded_wallet(&bank, "Li Wei", "5.00");
        let shop = bank.open_account("partner", "Corner shop");
        let sale = post_transfer(&bank.api, &shorthand(&wallet, &shop, "1.00")).id();
        let held = hold(&bank, &wallet, &shop, "1.00", None);
        let auditor = bank.as_role(Role::Auditor);

        for path in [
            "/v1/accounts".to_string(),
            format!("/v1/accounts/{wallet}"),
            format!("/v1/accounts/{wallet}/postings"),
            "/v1/transfers".to_string(),
            format!("/v1/transfers/{sale}"),
            "/v1/ledgers".to_string(),
            format!("/v1/ledgers/{}/verify", bank.ledger_id),
        ] {
            let r = auditor.get(&path);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
        }

        refused(&bank, 403, "forbidden", || {
            post_transfer(&auditor, &shorthand(&bank.issuance_id, &wallet, "1.00"))
        });
        refused(&bank, 403, "forbidden", || {
            auditor.post(
                "/v1/ledgers",
                &json!({"code": "audit", "name": "Audit"}),
                Some(&fresh_key()),
            )
        });
        refused(&bank, 403, "forbidden", || {
            auditor.post(
                "/v1/accounts",
                &json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": "X"}),
                None,
            )
        });
        for action in ["freeze", "unfreeze", "close"] {
            refused(&bank, 403, "forbidden", || {
                auditor.post(&format!("/v1/accounts/{wallet}/{action}"), &json!({}), None)
            });
        }
        for action in ["post", "void"] {
            refused(&bank, 403, "forbidden", || settle(&auditor, &held, action));
        }
        refused(&bank, 403, "forbidden", || {
            settle(&auditor, &sale, "reverse")
        });
        assert_eq!(transfer(&bank, &held)["status"], "pending");
    }
}

// ---------------------------------------------------------------------------
// not_found (404): the resource named in the path does not exist (or cannot,
// because its id is malformed), or the path itself is unknown.
// ---------------------------------------------------------------------------

on_both_backends! {
    unknown_resources_are_not_found(backend) {
        let bank = Bank::new(backend);
        let ghost = random_id();
        let paths = [
            format!("/v1/accounts/{ghost}"),
            format!("/v1/accounts/{ghost}/balance"),
            format!("/v1/accounts/{ghost}/postings"),
            format!("/v1/transfers/{ghost}"),
            format!("/v1/ledgers/{ghost}"),
            format!("/v1/ledgers/{ghost}/verify"),
            "/v1/accounts/not-a-uuid".to_string(),
            "/v1/transfers/not-a-uuid".to_string(),
            "/v1/ledgers/not-a-uuid".to_string(),
            "/v1/nothing-here".to_string(),
            "/nothing-here".to_string(),
        ];
        for path in &paths {
            refused(&bank, 404, "not_found", || bank.api.get(path));
        }
        for action in ["freeze", "unfreeze", "close"] {
            refused(&bank, 404, "not_found", || {
                bank.api
                    .post(&format!("/v1/accounts/{ghost}/{action}"), &json!({}), None)
            });
        }
    }

    a_known_path_asked_with_another_method_is_not_allowed(backend) {
        let bank = Bank::new(backend);
        let ghost = random_id();
        let r = refused(&bank, 405, "method_not_allowed", || bank.api.delete("/v1/transfers"));
        assert_eq!(r.header("allow"), Some("GET, POST"));
        let r = refused(&bank, 405, "method_not_allowed", || {
            bank.api.delete(&format!("/v1/transfers/{ghost}"))
        });
        assert_eq!(r.header("allow"), Some("GET"));
        let r = refused(&bank, 405, "method_not_allowed", || {
            bank.api.get(&format!("/v1/transfers/{ghost}/reverse"))
        });
        assert_eq!(r.header("allow"), Some("POST"));
        refused(&bank, 404, "not_found", || bank.api.delete("/v1/nothing-here"));
    }

    settling_an_unknown_transfer_is_not_found(backend) {
        let bank = Bank::new(backend);
        let ghost = random_id();
        for action in ["post", "void", "reverse"] {
            refused(&bank, 404, "not_found", || {
                settle(&bank.api, &ghost, action)
            });
            refused(&bank, 404, "not_found", || {
                settle(&bank.api, "not-a-uuid", action)
            });
            // Also without an Idempotency-Key.
            refused(&bank, 404, "not_found", || {
                bank.api
                    .post(&format!("/v1/transfers/{ghost}/{action}"), &json!({}), None)
            });
        }
    }
}

// ---------------------------------------------------------------------------
// Bodies (413, 415): at most 1 MiB, and JSON only.
// ---------------------------------------------------------------------------

on_both_backends! {
    oversized_bodies_are_refused(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let big = oversized_description();
        let body = with(
            shorthand(&bank.issuance_id, &wallet, "1.00"),
            "description",
            json!(big),
        );
        refused(&bank, 413, "payload_too_large", || {
            post_transfer(&bank.api, &body)
        });
        let many: Vec<Value> = (0..30_000)
            .map(|i| json!({"n": i, "pad": "0123456789abcdef"}))
            .collect();
        let body = with(
            shorthand(&bank.issuance_id, &wallet, "1.00"),
            "metadata",
            json!({"rows": many}),
        );
        assert!(body.to_string().len() > 1024 * 1024);
        refused(&bank, 413, "payload_too_large", || {
            post_transfer(&bank.api, &body)
        });
        let account = json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": big});
        refused(&bank, 413, "payload_too_large", || {
            bank.api.post("/v1/accounts", &account, None)
        });
        let login_body = json!({"username": ADMIN, "password": big});
        refused(&bank, 413, "payload_too_large", || {
            bank.api
                .anonymous()
                .post("/v1/auth/token", &login_body, None)
        });
        // Streamed without a Content-Length: cut off once past the limit.
        let streamed = with(
            shorthand(&bank.issuance_id, &wallet, "1.00"),
            "description",
            json!(big),
        )
        .to_string();
        refused(&bank, 413, "payload_too_large", || {
            send(
                reqwest::blocking::Client::new()
                    .post(format!("{}/v1/transfers", bank.server.base))
                    .bearer_auth(bank.api.token.as_deref().expect("admin token"))
                    .header("content-type", "application/json")
                    .header("Idempotency-Key", fresh_key())
                    .body(reqwest::blocking::Body::new(std::io::Cursor::new(
                        streamed.into_bytes(),
                    ))),
            )
        });
    }

    an_oversized_settle_note_is_refused_as_problem_json(backend) {
        // The settle endpoints read their optional note as raw bytes, under the
        // same 1 MiB limit; the refusal must still be problem+json.
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let sale = bank.fund(&wallet, "2.00");
        let held = hold(&bank, &bank.issuance_id, &wallet, "1.00", None);
        let note = json!({"description": oversized_description()});
        for (id, action) in [(&held, "post"), (&held, "void"), (&sale, "reverse")] {
            refused(&bank, 413, "payload_too_large", || {
                bank.api.post(
                    &format!("/v1/transfers/{id}/{action}"),
                    &note,
                    Some(&fresh_key()),
                )
            });
        }
        assert_eq!(transfer(&bank, &held)["status"], "pending");
        assert_eq!(transfer(&bank, &sale)["reversed_by"], Value::Null);
    }

    only_json_bodies_are_accepted(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Li Wei");
        let body = shorthand(&bank.issuance_id, &wallet, "1.00")
            .to_string()
            .into_bytes();
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
        ] {
            refused(&bank, 415, "unsupported_media_type", || {
                bank.api.post_raw(
                    "/v1/transfers",
                    content_type,
                    body.clone(),
                    Some(&fresh_key()),
                )
            });
        }
        let account =
            json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": "Wang Fang"})
                .to_string()
                .into_bytes();
        refused(&bank, 415, "unsupported_media_type", || {
            bank.api
                .post_raw("/v1/accounts", "text/plain", account, None)
        });
        let login_body = json!({"username": ADMIN, "password": PASSWORD})
            .to_string()
            .into_bytes();
        refused(&bank, 415, "unsupported_media_type", || {
            bank.api
                .post_raw("/v1/auth/token", "text/plain", login_body, None)
        });
        // Control: the same bytes as application/json.
        assert_eq!(
            bank.api
                .post_raw(
                    "/v1/transfers",
                    "application/json",
                    body,
                    Some(&fresh_key())
                )
                .status,
            201
        );
    }
}
