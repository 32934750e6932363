//! Authentication and sessions, end to end: password login and its throttling,
//! refresh-token rotation with reuse detection, logout, disabled users,
//! password changes, tokens of an external identity provider (and forgeries of
//! them), and staff endpoints refused to volunteers. Every refusal is checked
//! for its status, its problem `code`, `application/problem+json`, and that
//! nothing changed because of it. Each test runs on SQLite and, when
//! `TIMEBANK_TEST_PG_URL` is set, on PostgreSQL.
//!
//! The identity provider's keys are test-only fixtures in `tests/fixtures/idp/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use common::*;
use timebank::domain::Role;

const IDP_ISSUER: &str = "https://idp.example.test/realms/timebank";
const IDP_AUDIENCE: &str = "timebank-idp-client";
const SUBJECT: &str = "idp-sub-1";
const NEW_PASSWORD: &str = "a-new-and-longer-passphrase";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Everything an administrator can see: the books, people, organisations,
/// volunteers and the audit log. A refusal must leave all of it as it was.
fn state(bank: &Bank) -> Value {
    let items = |path: &str| {
        let r = bank.api.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body["items"].clone()
    };
    json!({
        "books": bank.snapshot(),
        "users": items("/v1/users?limit=200"),
        "organisations": items("/v1/organisations?limit=200"),
        "volunteers": items("/v1/volunteers?limit=200"),
        "audit": items("/v1/audit-log?limit=200"),
    })
}

/// Runs `attempt`, asserts it is refused as `status`/`code` in problem+json,
/// and that nothing an administrator can see changed.
fn refused(bank: &Bank, status: u16, code: &str, attempt: impl FnOnce() -> Reply) -> Reply {
    let before = state(bank);
    let reply = attempt();
    reply.assert_problem(status, code);
    assert_eq!(
        state(bank),
        before,
        "a refusal ({code}) changed something; reply {}",
        reply.body
    );
    reply
}

/// A 401 that changed nothing and says how to authenticate.
fn unauthorized(bank: &Bank, why: &str, attempt: impl FnOnce() -> Reply) -> Reply {
    let before = state(bank);
    let reply = attempt();
    assert_eq!(reply.status, 401, "{why}: {}", reply.body);
    // Which of the 401 codes each token gets is pinned in tests/refusals.rs.
    let code = reply.body["code"].as_str().unwrap_or_default();
    assert!(
        ["unauthorized", "invalid_token", "token_expired"].contains(&code),
        "{why}: {}",
        reply.body
    );
    reply.assert_problem(401, code);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{why}");
    assert!(
        reply.body.get("access_token").is_none(),
        "{why}: a refusal carries no token"
    );
    assert_eq!(state(bank), before, "{why}: a 401 changed something");
    reply
}

/// A 403 `forbidden` that changed nothing.
fn forbidden(bank: &Bank, why: &str, attempt: impl FnOnce() -> Reply) -> Reply {
    let reply = refused(bank, 403, "forbidden", attempt);
    assert!(
        reply.body.get("access_token").is_none(),
        "{why}: a refusal carries no token"
    );
    reply
}

/// A 429 `too_many_login_attempts` with a `Retry-After` of 1..=`window` seconds.
fn throttled(bank: &Bank, why: &str, window: u64, attempt: impl FnOnce() -> Reply) -> u64 {
    let reply = refused(bank, 429, "too_many_login_attempts", attempt);
    assert!(reply.body.get("access_token").is_none(), "{why}");
    let seconds: u64 = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("{why}: 429 without Retry-After"))
        .parse()
        .unwrap_or_else(|_| panic!("{why}: Retry-After is not whole seconds"));
    assert!(
        (1..=window).contains(&seconds),
        "{why}: Retry-After {seconds} outside 1..={window}"
    );
    seconds
}

fn login(api: &Api, username: &str, password: &str) -> Reply {
    api.anonymous().post(
        "/v1/auth/token",
        &json!({"username": username, "password": password}),
        None,
    )
}

fn refresh(api: &Api, refresh_token: &str) -> Reply {
    api.anonymous().post(
        "/v1/auth/refresh",
        &json!({"refresh_token": refresh_token}),
        None,
    )
}

fn logout(api: &Api, access_token: &str) -> Reply {
    api.with_token(access_token)
        .post("/v1/auth/logout", &json!({}), None)
}

fn me(api: &Api, access_token: &str) -> Reply {
    api.with_token(access_token).get("/v1/me")
}

/// An access token and its refresh token.
#[derive(Clone, Debug)]
struct Pair {
    access: String,
    refresh: String,
}

/// Checks a token answer's shape and takes the pair out of it.
fn pair(reply: &Reply) -> Pair {
    assert_eq!(reply.status, 200, "token answer: {}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = &reply.body;
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    assert!(
        body["refresh_expires_in"].as_u64().is_some_and(|s| s > 0),
        "{body}"
    );
    let access = body["access_token"].as_str().expect("access_token");
    let refresh = body["refresh_token"].as_str().expect("refresh_token");
    assert!(!access.is_empty() && !refresh.is_empty() && access != refresh);
    Pair {
        access: access.to_string(),
        refresh: refresh.to_string(),
    }
}

fn logged_in(bank: &Bank, username: &str, password: &str) -> Pair {
    pair(&login(&bank.api, username, password))
}

/// A new staff member holding `role` at the root, with the usual password:
/// (user id, username). Not logged in.
fn staff(bank: &Bank, role: Role) -> (String, String) {
    let username = format!("{}-{}", role.as_str(), fresh_key());
    let r = bank.api.post(
        "/v1/users",
        &json!({
            "username": username,
            "password": PASSWORD,
            "roles": [{"role": role.as_str(), "organisation_id": bank.organisation_id}],
        }),
        None,
    );
    assert_eq!(r.status, 201, "create user: {}", r.body);
    (r.id(), username)
}

/// Asserts the token works: `GET /v1/me` answers for `user`.
fn works(api: &Api, token: &str, user: &str, why: &str) {
    let r = me(api, token);
    assert_eq!(r.status, 200, "{why}: {}", r.body);
    assert_eq!(r.body["user"]["id"], user, "{why}");
}

/// Asserts the token is refused with 401 and nothing changed.
fn rejected(bank: &Bank, api: &Api, token: &str, why: &str) {
    unauthorized(bank, why, || me(api, token));
}

fn user_status(bank: &Bank, id: &str) -> Value {
    let r = bank.api.get(&format!("/v1/users/{id}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["status"].clone()
}

fn set_status(bank: &Bank, id: &str, status: &str) {
    let r = bank
        .api
        .patch(&format!("/v1/users/{id}"), &json!({"status": status}));
    assert_eq!(r.status, 200, "set status {status}: {}", r.body);
    assert_eq!(r.body["status"], status);
}

fn change_password(api: &Api, token: &str, current: &str, new: &str) -> Reply {
    api.with_token(token).post(
        "/v1/me/password",
        &json!({"current_password": current, "new_password": new}),
        None,
    )
}

/// A second `timebank serve` on the bank's database.
fn second_server(bank: &Bank, env: &[(&str, &str)]) -> (Server, Api) {
    let server = Server::start_with(&bank.db, env);
    let api = Api::new(&server.base, None);
    (server, api)
}

// --- identity provider -----------------------------------------------------

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/idp")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn jwks_path() -> String {
    fixture("jwks.json").display().to_string()
}

/// Server environment accepting the test provider's tokens.
fn idp_env(jwks: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("TIMEBANK_IDP_ISSUER", IDP_ISSUER),
        ("TIMEBANK_IDP_AUDIENCE", IDP_AUDIENCE),
        ("TIMEBANK_IDP_JWKS_FILE", jwks),
    ]
}

fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture_bytes(&format!("{name}.pem"))).expect("RSA PEM")
}

fn ed_key(name: &str) -> EncodingKey {
    EncodingKey::from_ed_pem(&fixture_bytes(&format!("{name}.pem"))).expect("Ed25519 PEM")
}

/// Claims the provider would put in a token for `subject`, valid now.
fn provider_claims(subject: &str) -> Value {
    let now = now();
    json!({
        "iss": IDP_ISSUER,
        "aud": IDP_AUDIENCE,
        "sub": subject,
        "iat": now,
        "exp": now + 600,
    })
}

/// The claims without `name`.
fn without(claims: &mut Value, name: &str) {
    claims.as_object_mut().expect("claims object").remove(name);
}

/// A token signed with `key` under a normal header naming `alg` and `kid`.
fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).expect("sign token")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

/// A token with any header at all, signed with `key` by `alg` whatever the
/// header claims.
fn forge(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{signature}")
}

/// A token with no signature at all.
fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.{}.", b64(header), b64(claims))
}

/// A person who signs in through the provider as `subject`, holding `role` at
/// the root; created by the administrator without a password. Returns the id.
fn provider_user(bank: &Bank, subject: &str, role: Role) -> String {
    let r = bank.api.post(
        "/v1/users",
        &json!({
            "username": format!("idp-{}", fresh_key()),
            "external_subject": subject,
            "roles": [{"role": role.as_str(), "organisation_id": bank.organisation_id}],
        }),
        None,
    );
    assert_eq!(r.status, 201, "create provider user: {}", r.body);
    assert_eq!(r.body["external_subject"], subject);
    r.id()
}

fn open_account(api: &Api, bank: &Bank, name: &str) -> Reply {
    api.post(
        "/v1/accounts",
        &json!({"ledger_id": bank.ledger_id, "kind": "volunteer", "name": name}),
        None,
    )
}

// ---------------------------------------------------------------------------
// Sessions: login, refresh rotation, logout.
// ---------------------------------------------------------------------------

on_both_backends! {
    login_answers_a_bearer_token_pair(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let tokens = logged_in(&bank, &username, PASSWORD);
        works(&bank.api, &tokens.access, &id, "fresh access token");
        let r = me(&bank.api, &tokens.access);
        assert_eq!(r.body["user"]["username"], username.as_str());

        // A refresh token is not a bearer token.
        rejected(&bank, &bank.api, &tokens.refresh, "refresh token used as access token");

        // A wrong password and an unknown user get the same answer.
        let wrong = unauthorized(&bank, "wrong password", || {
            login(&bank.api, &username, "not-the-password-at-all")
        });
        let nobody = unauthorized(&bank, "unknown user", || {
            login(&bank.api, "nobody-here", PASSWORD)
        });
        assert_eq!(wrong.body["detail"], nobody.body["detail"]);
        // The failures ended nothing.
        works(&bank.api, &tokens.access, &id, "after failed logins");
    }

    a_generated_secret_signs_tokens_that_survive_a_restart(backend) {
        // Without TIMEBANK_JWT_SECRET the service makes one and keeps it in the database.
        let unset = [("TIMEBANK_JWT_SECRET", "")];
        let mut bank = Bank::with_env(backend, &unset);
        let token = bank.api.token.clone().expect("token");
        assert_eq!(bank.api.get("/v1/ledgers").status, 200);
        bank.server.terminate();
        bank.server = Server::start_with(&bank.db, &unset);
        let api = Api::new(&bank.server.base, Some(token));
        assert_eq!(api.get("/v1/ledgers").status, 200, "a token from before the restart");
        // A token signed with the tests' usual secret is not one of this service's.
        let other = Bank::new(backend);
        let foreign = Api::new(&bank.server.base, other.api.token.clone());
        foreign.get("/v1/ledgers").assert_problem(401, "invalid_token");
        assert_eq!(Api::new(&other.server.base, api.token.clone()).get("/v1/ledgers").status, 401);
    }

    refresh_rotates_the_token_pair(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let first = logged_in(&bank, &username, PASSWORD);
        let second = pair(&refresh(&bank.api, &first.refresh));
        assert_ne!(second.access, first.access);
        assert_ne!(second.refresh, first.refresh);
        works(&bank.api, &second.access, &id, "access token from a refresh");
        // The new refresh token rotates in turn.
        let third = pair(&refresh(&bank.api, &second.refresh));
        assert_ne!(third.refresh, second.refresh);
        works(&bank.api, &third.access, &id, "access token from a second refresh");
    }

    a_reused_refresh_token_ends_the_whole_session(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let first = logged_in(&bank, &username, PASSWORD);
        let elsewhere = logged_in(&bank, &username, PASSWORD);
        let rotated = pair(&refresh(&bank.api, &first.refresh));
        works(&bank.api, &rotated.access, &id, "rotated access token before the replay");

        // The old refresh token presented again: a thief or a replay.
        unauthorized(&bank, "refresh token used twice", || {
            refresh(&bank.api, &first.refresh)
        });
        // The whole family is gone: the rotation's refresh token and every
        // access token of the session.
        unauthorized(&bank, "refresh token issued by the rotation", || {
            refresh(&bank.api, &rotated.refresh)
        });
        rejected(&bank, &bank.api, &rotated.access, "access token issued by the rotation");
        rejected(&bank, &bank.api, &first.access, "access token of the first login");
        unauthorized(&bank, "replayed refresh token, a third time", || {
            refresh(&bank.api, &first.refresh)
        });

        // Another session of the same person is not touched.
        works(&bank.api, &elsewhere.access, &id, "another session");
        let next = pair(&refresh(&bank.api, &elsewhere.refresh));
        works(&bank.api, &next.access, &id, "another session, refreshed");
        // And logging in again works.
        let again = logged_in(&bank, &username, PASSWORD);
        works(&bank.api, &again.access, &id, "a new login");
    }

    unknown_refresh_tokens_are_refused(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let tokens = logged_in(&bank, &username, PASSWORD);
        let mut altered = tokens.refresh.clone();
        let last = altered.pop().expect("non-empty");
        altered.push(if last == 'A' { 'B' } else { 'A' });
        let short = tokens.refresh[..tokens.refresh.len() - 1].to_string();
        for (why, candidate) in [
            ("empty", String::new()),
            ("garbage", "garbage".to_string()),
            ("an access token", tokens.access.clone()),
            ("one character changed", altered),
            ("one character short", short),
            ("with a suffix", format!("{}x", tokens.refresh)),
        ] {
            unauthorized(&bank, why, || refresh(&bank.api, &candidate));
        }
        // A body without the token is malformed.
        refused(&bank, 400, "validation_failed", || {
            bank.api.anonymous().post("/v1/auth/refresh", &json!({}), None)
        });
        // None of that spent or revoked the real one.
        let next = pair(&refresh(&bank.api, &tokens.refresh));
        works(&bank.api, &next.access, &id, "after refused refreshes");
    }

    logout_ends_the_access_and_refresh_tokens(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let session = logged_in(&bank, &username, PASSWORD);
        let elsewhere = logged_in(&bank, &username, PASSWORD);
        works(&bank.api, &session.access, &id, "before logout");

        let r = logout(&bank.api, &session.access);
        assert_eq!(r.status, 204, "logout: {}", r.body);
        assert_eq!(r.body, Value::String(String::new()), "204 has no body");

        rejected(&bank, &bank.api, &session.access, "access token after logout");
        unauthorized(&bank, "refresh token after logout", || {
            refresh(&bank.api, &session.refresh)
        });
        unauthorized(&bank, "logging out twice", || {
            logout(&bank.api, &session.access)
        });
        unauthorized(&bank, "logout without a token", || {
            bank.api.anonymous().post("/v1/auth/logout", &json!({}), None)
        });
        // Only that session ended.
        works(&bank.api, &elsewhere.access, &id, "another session after logout");
    }
}

// ---------------------------------------------------------------------------
// Disabled users and password changes.
// ---------------------------------------------------------------------------

on_both_backends! {
    disabling_a_user_ends_their_tokens_at_once(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let tokens = logged_in(&bank, &username, PASSWORD);
        // Another instance on the same database must see it too.
        let (_other, elsewhere) = second_server(&bank, &[]);
        works(&bank.api, &tokens.access, &id, "before disabling");
        works(&elsewhere, &tokens.access, &id, "before disabling, other instance");

        set_status(&bank, &id, "disabled");
        assert_eq!(user_status(&bank, &id), "disabled");

        rejected(&bank, &bank.api, &tokens.access, "access token of a disabled user");
        rejected(&bank, &elsewhere, &tokens.access, "same, on the other instance");
        unauthorized(&bank, "refresh by a disabled user", || {
            refresh(&bank.api, &tokens.refresh)
        });
        unauthorized(&bank, "login by a disabled user, right password", || {
            login(&bank.api, &username, PASSWORD)
        });
        unauthorized(&bank, "login by a disabled user, other instance", || {
            login(&elsewhere, &username, PASSWORD)
        });

        // Enabled again: logging in works; the old session stays ended.
        set_status(&bank, &id, "active");
        let fresh = logged_in(&bank, &username, PASSWORD);
        works(&bank.api, &fresh.access, &id, "after re-enabling");
        rejected(&bank, &bank.api, &tokens.access, "old access token after re-enabling");
        unauthorized(&bank, "old refresh token after re-enabling", || {
            refresh(&bank.api, &tokens.refresh)
        });
    }

    look_alike_usernames_are_one_name_or_refused(backend) {
        let bank = Bank::new(backend);
        let role = json!([{"role": "auditor", "organisation_id": bank.organisation_id}]);
        let create = |username: &str| {
            bank.api.post(
                "/v1/users",
                &json!({"username": username, "password": PASSWORD, "roles": role}),
                None,
            )
        };
        // Case and width fold onto the bootstrap administrator's name.
        for same in ["ADMIN", "Admin", "ＡＤＭＩＮ", "ａｄmin"] {
            let r = refused(&bank, 409, "conflict", || create(same));
            assert_eq!(r.body["detail"], "the username is taken", "{same}");
        }
        // A Cyrillic а among Latin letters is refused, not a new user.
        refused(&bank, 400, "validation_failed", || create("\u{430}dmin")).assert_invalid("username");
        let volunteer = json!({
            "name": "Wang Fang", "phone": "+86 13800000004", "organisation_id": bank.organisation_id,
            "login": {"username": "w\u{430}ng", "password": PASSWORD},
        });
        refused(&bank, 400, "validation_failed", || bank.api.post("/v1/volunteers", &volunteer, None))
            .assert_invalid("login.username");
        // Login folds the same way: every spelling is the administrator.
        for spelling in ["admin", "ADMIN", "ＡＤＭＩＮ", " Admin "] {
            let tokens = logged_in(&bank, spelling, PASSWORD);
            works(&bank.api, &tokens.access, &bank.admin_id, spelling);
        }
        unauthorized(&bank, "the Cyrillic look-alike", || login(&bank.api, "\u{430}dmin", PASSWORD));
        // A name is stored in its compared form.
        let r = create("Li.Wei");
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["username"], "li.wei");
        logged_in(&bank, "LI.WEI", PASSWORD);
        // A row from before names were normalised still logs in as typed.
        bank.db
            .execute("UPDATE users SET username = 'Li.Wei' WHERE username = 'li.wei'")
            .unwrap();
        logged_in(&bank, "Li.Wei", PASSWORD);
    }

    passwords_longer_than_1024_bytes_are_refused_everywhere(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let session = logged_in(&bank, &username, PASSWORD);
        let long = "p".repeat(1025);
        let role = json!([{"role": "coordinator", "organisation_id": bank.organisation_id}]);
        let attempts: Vec<(&str, Attempt)> = vec![
            ("password", Box::new(|| login(&bank.api, &username, &long))),
            ("password", Box::new(|| bank.api.post("/v1/users", &json!({"username": "long-pass", "password": long, "roles": role}), None))),
            ("password", Box::new(|| bank.api.patch(&format!("/v1/users/{id}"), &json!({"password": long})))),
            ("current_password", Box::new(|| change_password(&bank.api, &session.access, &long, NEW_PASSWORD))),
            ("new_password", Box::new(|| change_password(&bank.api, &session.access, PASSWORD, &long))),
            ("login.password", Box::new(|| bank.api.post("/v1/volunteers", &json!({
                "name": "Wang Fang", "phone": "+86 13800000003", "organisation_id": bank.organisation_id,
                "login": {"username": "long-pass-volunteer", "password": long},
            }), None))),
        ];
        for (field, attempt) in &attempts {
            let r = refused(&bank, 400, "validation_failed", attempt);
            r.assert_invalid(field);
            assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("1024 bytes"), "{}", r.body);
        }
        // Bytes, not characters: 342 three-byte characters are over the cap.
        refused(&bank, 400, "validation_failed", || login(&bank.api, &username, &"密".repeat(342)))
            .assert_invalid("password");
        // Control: exactly 1024 bytes is a password like any other.
        let longest = "p".repeat(1024);
        let r = bank.api.post("/v1/users", &json!({"username": "long-pass", "password": longest, "roles": role}), None);
        assert_eq!(r.status, 201, "{}", r.body);
        logged_in(&bank, "long-pass", &longest);
        works(&bank.api, &session.access, &id, "after the refusals");
    }

    changing_ones_password_ends_the_other_sessions(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let current = logged_in(&bank, &username, PASSWORD);
        let other = logged_in(&bank, &username, PASSWORD);

        // A wrong current password: refused, every session goes on.
        forbidden(&bank, "wrong current password", || {
            change_password(&bank.api, &current.access, "not-my-password-at-all", NEW_PASSWORD)
        });
        // Too short a new one: refused, nothing changes.
        let r = refused(&bank, 400, "validation_failed", || {
            change_password(&bank.api, &current.access, PASSWORD, "short")
        });
        assert_eq!(r.body["errors"][0]["field"], "new_password", "{}", r.body);
        works(&bank.api, &current.access, &id, "after refused changes");
        works(&bank.api, &other.access, &id, "other session after refused changes");
        let third = logged_in(&bank, &username, PASSWORD);

        let r = change_password(&bank.api, &current.access, PASSWORD, NEW_PASSWORD);
        assert_eq!(r.status, 204, "change password: {}", r.body);

        // This session goes on, refresh included.
        works(&bank.api, &current.access, &id, "the session that changed it");
        let next = pair(&refresh(&bank.api, &current.refresh));
        works(&bank.api, &next.access, &id, "the session that changed it, refreshed");
        // Every other one ended.
        for (why, session) in [("other session", &other), ("third session", &third)] {
            rejected(&bank, &bank.api, &session.access, why);
            unauthorized(&bank, why, || refresh(&bank.api, &session.refresh));
        }
        // Only the new password logs in.
        unauthorized(&bank, "the old password", || {
            login(&bank.api, &username, PASSWORD)
        });
        let fresh = logged_in(&bank, &username, NEW_PASSWORD);
        works(&bank.api, &fresh.access, &id, "logged in with the new password");
    }
}

// ---------------------------------------------------------------------------
// Failed-login throttling: per username at one address, per address, and a
// higher ceiling per username over every address; shared by every instance
// through the database.
// ---------------------------------------------------------------------------

on_both_backends! {
    failed_logins_are_limited_per_username(backend) {
        let bank = Bank::new(backend);
        let (id, username) = staff(&bank, Role::Coordinator);
        let (bystander, bystander_name) = staff(&bank, Role::Coordinator);
        // The default is 5 failures per window; the username's case does not
        // make a new counter.
        let upper = username.to_uppercase();
        for name in [&username, &upper, &username, &upper, &username] {
            unauthorized(&bank, "failed login under the limit", || {
                login(&bank.api, name, "not-the-password-at-all")
            });
        }
        // Over the limit: refused even with the right password.
        throttled(&bank, "right password over the limit", 900, || {
            login(&bank.api, &username, PASSWORD)
        });
        throttled(&bank, "wrong password over the limit", 900, || {
            login(&bank.api, &username, "not-the-password-at-all")
        });
        throttled(&bank, "upper case over the limit", 900, || {
            login(&bank.api, &upper, PASSWORD)
        });
        // Someone else from the same address is not held up.
        let other = logged_in(&bank, &bystander_name, PASSWORD);
        works(&bank.api, &other.access, &bystander, "another user");
        assert_eq!(user_status(&bank, &id), "active", "throttling is not disabling");
    }

    the_login_limit_lifts_when_the_window_ends(backend) {
        let env = [
            ("TIMEBANK_LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS", "2"),
            ("TIMEBANK_LOGIN_WINDOW_SECONDS", "2"),
        ];
        let bank = Bank::with_env(backend, &env);
        let (id, username) = staff(&bank, Role::Coordinator);
        unauthorized(&bank, "first failure", || {
            login(&bank.api, &username, "not-the-password-at-all")
        });
        // The window began no later than now.
        let window_began = Instant::now();
        unauthorized(&bank, "second failure", || {
            login(&bank.api, &username, "not-the-password-at-all")
        });
        throttled(&bank, "right password over the limit", 2, || {
            login(&bank.api, &username, PASSWORD)
        });
        let ends = window_began + Duration::from_millis(2_300);
        std::thread::sleep(ends.saturating_duration_since(Instant::now()));
        let tokens = logged_in(&bank, &username, PASSWORD);
        works(&bank.api, &tokens.access, &id, "after the window");
        // A success clears the count: one failure now is only a failure.
        unauthorized(&bank, "failure after a success", || {
            login(&bank.api, &username, "not-the-password-at-all")
        });
        logged_in(&bank, &username, PASSWORD);
    }

    failed_logins_are_limited_per_address(backend) {
        let env = [
            ("TIMEBANK_LOGIN_MAX_FAILURES_PER_ADDRESS", "3"),
            ("TIMEBANK_LOGIN_MAX_FAILURES_PER_USER", "50"),
        ];
        let bank = Bank::with_env(backend, &env);
        let (_, username) = staff(&bank, Role::Coordinator);
        // Guessing at many names from one address.
        for name in ["guess-one", "guess-two", "guess-three"] {
            unauthorized(&bank, "failure under the address limit", || {
                login(&bank.api, name, PASSWORD)
            });
        }
        throttled(&bank, "admin from a throttled address", 900, || {
            login(&bank.api, ADMIN, PASSWORD)
        });
        throttled(&bank, "another user from a throttled address", 900, || {
            login(&bank.api, &username, PASSWORD)
        });
        throttled(&bank, "a new guess from a throttled address", 900, || {
            login(&bank.api, "guess-four", PASSWORD)
        });
    }

    login_limits_are_shared_by_every_instance(backend) {
        let env = [("TIMEBANK_LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS", "4")];
        let bank = Bank::with_env(backend, &env);
        let (_, username) = staff(&bank, Role::Coordinator);
        let (_other, elsewhere) = second_server(&bank, &env);
        // Two failures on each instance: four in all.
        for api in [&bank.api, &elsewhere, &bank.api, &elsewhere] {
            unauthorized(&bank, "failure under the shared limit", || {
                login(api, &username, "not-the-password-at-all")
            });
        }
        throttled(&bank, "first instance", 900, || {
            login(&bank.api, &username, PASSWORD)
        });
        throttled(&bank, "second instance", 900, || {
            login(&elsewhere, &username, PASSWORD)
        });
    }

    an_attacker_at_one_address_does_not_lock_out_the_user_elsewhere(backend) {
        let bank = Bank::new(backend);
        let attacker = bank.api.anonymous().at_address("127.0.0.2");
        // The default: 5 failures for one name from one address.
        for _ in 0..5 {
            unauthorized(&bank, "the attacker's guess", || {
                login(&attacker, ADMIN, "not-the-password-at-all")
            });
        }
        throttled(&bank, "the attacker, right password or not", 900, || {
            login(&attacker, ADMIN, PASSWORD)
        });
        // The administrator at their own address is not held up.
        let tokens = logged_in(&bank, ADMIN, PASSWORD);
        works(&bank.api, &tokens.access, &bank.admin_id, "the real administrator");
        // Nor is the attacker's count reset by that success.
        throttled(&bank, "the attacker after the real login", 900, || {
            login(&attacker, ADMIN, PASSWORD)
        });
    }

    guessing_one_name_from_many_addresses_stays_bounded(backend) {
        let env = [
            ("TIMEBANK_LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS", "2"),
            ("TIMEBANK_LOGIN_MAX_FAILURES_PER_USER", "4"),
        ];
        let bank = Bank::with_env(backend, &env);
        let (_, username) = staff(&bank, Role::Coordinator);
        for address in ["127.0.0.2", "127.0.0.3"] {
            let api = bank.api.anonymous().at_address(address);
            for _ in 0..2 {
                unauthorized(&bank, "a guess under every limit", || {
                    login(&api, &username, "not-the-password-at-all")
                });
            }
        }
        // The name's own ceiling (over the longer window) is reached: a third
        // address gets no guess at all.
        let third = bank.api.anonymous().at_address("127.0.0.4");
        throttled(&bank, "a third address", 3600, || {
            login(&third, &username, "not-the-password-at-all")
        });
    }

    concurrent_failed_logins_do_not_exceed_the_limit(backend) {
        // Guesses sent all at once must not slip past the counter.
        let env = [
            ("TIMEBANK_LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS", "3"),
            ("TIMEBANK_LOGIN_MAX_FAILURES_PER_ADDRESS", "1000"),
        ];
        let bank = Bank::with_env(backend, &env);
        let (_, username) = staff(&bank, Role::Coordinator);
        let before = state(&bank);
        let guesses = 10;
        let start = Barrier::new(guesses);
        let replies: Vec<Reply> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..guesses)
                .map(|i| {
                    let (api, start, username) = (&bank.api, &start, &username);
                    s.spawn(move || {
                        start.wait();
                        login(api, username, &format!("wrong-guess-number-{i}"))
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("guess")).collect()
        });
        let mut failures = 0;
        for r in &replies {
            match r.status {
                401 => {
                    r.assert_problem(401, "unauthorized");
                    failures += 1;
                }
                429 => {
                    r.assert_problem(429, "too_many_login_attempts");
                }
                other => panic!("unexpected {other}: {}", r.body),
            }
        }
        assert!(
            failures <= 3,
            "{failures} of {guesses} simultaneous wrong passwords were checked; the limit is 3"
        );
        throttled(&bank, "right password after the burst", 900, || {
            login(&bank.api, &username, PASSWORD)
        });
        assert_eq!(state(&bank), before);
    }
}

// ---------------------------------------------------------------------------
// Staff endpoints refused to volunteers: 403, since the role can never do it.
// ---------------------------------------------------------------------------

on_both_backends! {
    volunteers_are_refused_staff_endpoints(backend) {
        let bank = Bank::new(backend);
        let (volunteer, token) = bank.volunteer_login(&bank.organisation_id);
        let api = bank.api.with_token(&token);
        // The token itself is good.
        let r = api.get("/v1/me");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["volunteer"]["id"], volunteer["id"]);

        let org = bank.organisation_id.clone();
        forbidden(&bank, "POST /v1/organisations", || {
            api.post(
                "/v1/organisations",
                &json!({"name": "Rogue community", "kind": "community", "parent_id": org}),
                None,
            )
        });
        forbidden(&bank, "POST /v1/users (an admin, even)", || {
            api.post(
                "/v1/users",
                &json!({
                    "username": "rogue-admin",
                    "password": PASSWORD,
                    "roles": [{"role": "admin", "organisation_id": org}],
                }),
                Some(&fresh_key()),
            )
        });
        forbidden(&bank, "GET /v1/users", || api.get("/v1/users"));
        forbidden(&bank, "POST /v1/volunteers", || {
            api.post(
                "/v1/volunteers",
                &json!({
                    "name": "Rogue volunteer",
                    "phone": format!("+86 139{:08}", rand_digits()),
                    "organisation_id": org,
                }),
                None,
            )
        });
        forbidden(&bank, "GET /v1/audit-log", || api.get("/v1/audit-log"));
        forbidden(&bank, "POST /v1/ledgers", || {
            api.post(
                "/v1/ledgers",
                &json!({"code": "rogue", "name": "Rogue", "asset_scale": 2}),
                Some(&fresh_key()),
            )
        });
        forbidden(&bank, "POST /v1/accounts", || open_account(&api, &bank, "Rogue"));
        forbidden(&bank, "GET /v1/ledgers/{id}/verify", || {
            api.get(&format!("/v1/ledgers/{}/verify", bank.ledger_id))
        });
        unauthorized(&bank, "the refused admin cannot log in", || {
            login(&bank.api, "rogue-admin", PASSWORD)
        });
    }
}

// ---------------------------------------------------------------------------
// External identity provider tokens.
// ---------------------------------------------------------------------------

on_both_backends! {
    provider_tokens_signed_with_each_published_key_are_accepted(backend) {
        let jwks = jwks_path();
        let bank = Bank::with_env(backend, &idp_env(&jwks));
        let user = provider_user(&bank, SUBJECT, Role::Auditor);
        let claims = provider_claims(SUBJECT);
        // Both RSA keys are published (rotation), and the Ed25519 one.
        for (why, token) in [
            ("RS256, rsa-1", sign(Algorithm::RS256, Some("rsa-1"), &rsa_key("rsa-1"), &claims)),
            ("RS256, rsa-2", sign(Algorithm::RS256, Some("rsa-2"), &rsa_key("rsa-2"), &claims)),
            ("EdDSA, ed-1", sign(Algorithm::EdDSA, Some("ed-1"), &ed_key("ed-1"), &claims)),
        ] {
            let r = me(&bank.api, &token);
            assert_eq!(r.status, 200, "{why}: {}", r.body);
            assert_eq!(r.body["user"]["id"], user.as_str(), "{why}");
            assert_eq!(r.body["user"]["roles"][0]["role"], "auditor", "{why}");
            // An auditor reads the books.
            let r = bank
                .api
                .with_token(&token)
                .get(&format!("/v1/ledgers/{}/verify", bank.ledger_id));
            assert_eq!(r.status, 200, "{why}: {}", r.body);
        }
        // The service's own tokens keep working beside them.
        assert_eq!(bank.api.get("/v1/me").status, 200);
    }

    a_provider_users_roles_and_status_come_from_the_database(backend) {
        let jwks = jwks_path();
        let bank = Bank::with_env(backend, &idp_env(&jwks));
        let user = provider_user(&bank, SUBJECT, Role::Auditor);
        // Whatever the token says about roles counts for nothing.
        let mut claims = provider_claims(SUBJECT);
        claims["roles"] = json!([{"role": "admin", "org": bank.organisation_id}]);
        claims["scope"] = json!("admin");
        claims["groups"] = json!(["admin"]);
        let token = sign(Algorithm::RS256, Some("rsa-1"), &rsa_key("rsa-1"), &claims);
        let api = bank.api.with_token(&token);
        forbidden(&bank, "an auditor whose token claims admin", || {
            open_account(&api, &bank, "Wang Fang")
        });

        // Made an admin in the database, the same token may act as one.
        let r = bank.api.post(
            &format!("/v1/users/{user}/roles"),
            &json!({"role": "admin", "organisation_id": bank.organisation_id}),
            None,
        );
        assert_eq!(r.status, 201, "grant admin: {}", r.body);
        let r = open_account(&api, &bank, "Wang Fang");
        assert_eq!(r.status, 201, "provider admin opens an account: {}", r.body);

        // Disabled in the database, the same token stops at once.
        set_status(&bank, &user, "disabled");
        rejected(&bank, &bank.api, &token, "provider token of a disabled user");
        unauthorized(&bank, "provider token of a disabled user, writing", || {
            open_account(&api, &bank, "Li Wei")
        });
        set_status(&bank, &user, "active");
        works(&bank.api, &token, &user, "enabled again");
    }

    forged_provider_token_headers_are_refused(backend) {
        let jwks = jwks_path();
        let bank = Bank::with_env(backend, &idp_env(&jwks));
        let user = provider_user(&bank, SUBJECT, Role::Admin);
        let claims = provider_claims(SUBJECT);
        let (rsa1, rsa2, ed1) = (rsa_key("rsa-1"), rsa_key("rsa-2"), ed_key("ed-1"));
        let (intruder, ed_intruder) = (rsa_key("rsa-intruder"), ed_key("ed-intruder"));
        let intruder_jwk = serde_json::to_value(
            jsonwebtoken::jwk::Jwk::from_encoding_key(&intruder, Algorithm::RS256).expect("jwk"),
        )
        .expect("jwk json");
        // Algorithm confusion: HMAC keyed with the RSA public key's PEM bytes.
        let public_pem = fixture_bytes("rsa-1.pub.pem");
        let trimmed_pem = String::from_utf8(public_pem.clone())
            .expect("PEM text")
            .trim_end()
            .as_bytes()
            .to_vec();
        let hmac = |header: Value, pem: &[u8], alg: Algorithm| {
            forge(&header, &claims, &EncodingKey::from_secret(pem), alg)
        };
        let mut tampered = sign(Algorithm::RS256, Some("rsa-1"), &rsa1, &claims)
            .split('.')
            .map(str::to_string)
            .collect::<Vec<_>>();
        let mut longer = claims.clone();
        longer["exp"] = json!(now() + 86_400 * 365);
        tampered[1] = b64(&longer);
        let none = |header: Value| unsigned(&header, &claims);
        let attacks = [
            ("alg none, kid rsa-1", none(json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"}))),
            ("alg none, no kid", none(json!({"alg": "none", "typ": "JWT"}))),
            ("alg None", none(json!({"alg": "None", "kid": "rsa-1"}))),
            ("alg NONE", none(json!({"alg": "NONE", "kid": "ed-1"}))),
            (
                "HS256 keyed with rsa-1's public PEM, kid rsa-1",
                hmac(
                    json!({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}),
                    &public_pem,
                    Algorithm::HS256,
                ),
            ),
            (
                "HS256 keyed with rsa-1's public PEM, no kid",
                hmac(json!({"alg": "HS256", "typ": "JWT"}), &public_pem, Algorithm::HS256),
            ),
            (
                "HS256 keyed with rsa-1's public PEM without its last newline",
                hmac(json!({"alg": "HS256", "kid": "rsa-1"}), &trimmed_pem, Algorithm::HS256),
            ),
            (
                "HS512 keyed with rsa-1's public PEM",
                hmac(json!({"alg": "HS512", "kid": "rsa-1"}), &public_pem, Algorithm::HS512),
            ),
            ("unknown kid, signed by rsa-1", sign(Algorithm::RS256, Some("rsa-9"), &rsa1, &claims)),
            ("empty kid, signed by rsa-1", sign(Algorithm::RS256, Some(""), &rsa1, &claims)),
            ("no kid, signed by rsa-1", sign(Algorithm::RS256, None, &rsa1, &claims)),
            ("no kid, signed by ed-1", sign(Algorithm::EdDSA, None, &ed1, &claims)),
            (
                "bad signature: kid rsa-1, signed by a key not in the JWKS",
                sign(Algorithm::RS256, Some("rsa-1"), &intruder, &claims),
            ),
            (
                "bad signature: kid ed-1, signed by a key not in the JWKS",
                sign(Algorithm::EdDSA, Some("ed-1"), &ed_intruder, &claims),
            ),
            ("kid rsa-1, signed by rsa-2", sign(Algorithm::RS256, Some("rsa-1"), &rsa2, &claims)),
            ("claims changed after signing", tampered.join(".")),
            (
                "RS256 header naming the Ed25519 key, RSA signature",
                sign(Algorithm::RS256, Some("ed-1"), &rsa1, &claims),
            ),
            (
                "RS256 header naming the Ed25519 key, Ed25519 signature",
                forge(&json!({"alg": "RS256", "kid": "ed-1"}), &claims, &ed1, Algorithm::EdDSA),
            ),
            (
                "EdDSA header naming an RSA key",
                forge(&json!({"alg": "EdDSA", "kid": "rsa-1"}), &claims, &ed1, Algorithm::EdDSA),
            ),
            (
                "RS512 with rsa-1 (configured for RS256)",
                sign(Algorithm::RS512, Some("rsa-1"), &rsa1, &claims),
            ),
            (
                "PS256 with rsa-1 (configured for RS256)",
                sign(Algorithm::PS256, Some("rsa-1"), &rsa1, &claims),
            ),
            (
                "an attacker's key embedded in the header (jwk), unknown kid",
                forge(
                    &json!({"alg": "RS256", "kid": "attacker", "jwk": intruder_jwk}),
                    &claims,
                    &intruder,
                    Algorithm::RS256,
                ),
            ),
            (
                "an attacker's key embedded in the header (jwk), kid rsa-1",
                forge(
                    &json!({"alg": "RS256", "kid": "rsa-1", "jwk": intruder_jwk}),
                    &claims,
                    &intruder,
                    Algorithm::RS256,
                ),
            ),
            (
                "an attacker's key set named in the header (jku)",
                forge(
                    &json!({"alg": "RS256", "kid": "rsa-1", "jku": "http://127.0.0.1:9/jwks.json"}),
                    &claims,
                    &intruder,
                    Algorithm::RS256,
                ),
            ),
        ];
        for (why, token) in &attacks {
            let api = bank.api.with_token(token);
            unauthorized(&bank, why, || open_account(&api, &bank, "Forged"));
            unauthorized(&bank, why, || me(&bank.api, token));
        }
        // Control: the same claims, properly signed, act as the admin.
        let good = bank
            .api
            .with_token(&sign(Algorithm::RS256, Some("rsa-1"), &rsa1, &claims));
        let r = good.get("/v1/me");
        assert_eq!(r.status, 200, "well signed: {}", r.body);
        assert_eq!(r.body["user"]["id"], user.as_str());
        assert_eq!(open_account(&good, &bank, "Genuine").status, 201);
    }

    forged_provider_token_claims_are_refused(backend) {
        let jwks = jwks_path();
        let bank = Bank::with_env(backend, &idp_env(&jwks));
        let user = provider_user(&bank, SUBJECT, Role::Admin);
        let (_, username) = staff(&bank, Role::Coordinator);
        let now = now();
        let tweaked = |tweak: &dyn Fn(&mut Value)| {
            let mut claims = provider_claims(SUBJECT);
            tweak(&mut claims);
            claims
        };
        let cases = [
            ("expired", tweaked(&|c| {
                c["iat"] = json!(now - 1_200);
                c["exp"] = json!(now - 600);
            })),
            ("not valid before a future time", tweaked(&|c| c["nbf"] = json!(now + 600))),
            ("wrong issuer", tweaked(&|c| c["iss"] = json!("https://evil.example.test"))),
            ("the service's own issuer", tweaked(&|c| c["iss"] = json!(ISSUER))),
            ("wrong audience", tweaked(&|c| c["aud"] = json!("another-client"))),
            ("the service's own audience", tweaked(&|c| c["aud"] = json!(AUDIENCE))),
            ("audience list without ours", tweaked(&|c| c["aud"] = json!(["a", "b"]))),
            ("no exp", tweaked(&|c| without(c, "exp"))),
            ("no iss", tweaked(&|c| without(c, "iss"))),
            ("no aud", tweaked(&|c| without(c, "aud"))),
            ("no sub", tweaked(&|c| without(c, "sub"))),
            ("empty sub", tweaked(&|c| c["sub"] = json!(""))),
            ("unknown subject", tweaked(&|c| c["sub"] = json!("idp-sub-unknown"))),
            ("subject in another case", tweaked(&|c| c["sub"] = json!("IDP-SUB-1"))),
            ("subject with a trailing space", tweaked(&|c| c["sub"] = json!("idp-sub-1 "))),
            ("subject is the user's id", tweaked(&|c| c["sub"] = json!(user))),
            ("subject is the admin's id", tweaked(&|c| c["sub"] = json!(bank.admin_id))),
            ("subject is a username", tweaked(&|c| c["sub"] = json!(username))),
            ("subject is the admin's username", tweaked(&|c| c["sub"] = json!(ADMIN))),
        ];
        for (why, claims) in &cases {
            for (kid, key, alg) in [
                ("rsa-1", rsa_key("rsa-1"), Algorithm::RS256),
                ("ed-1", ed_key("ed-1"), Algorithm::EdDSA),
            ] {
                let why = format!("{why} ({kid})");
                let token = sign(alg, Some(kid), &key, claims);
                let api = bank.api.with_token(&token);
                unauthorized(&bank, &why, || open_account(&api, &bank, "Forged"));
                unauthorized(&bank, &why, || me(&bank.api, &token));
            }
        }
        // Control: untweaked claims act as the admin.
        let claims = provider_claims(SUBJECT);
        let token = sign(Algorithm::EdDSA, Some("ed-1"), &ed_key("ed-1"), &claims);
        works(&bank.api, &token, &user, "untweaked");
        let r = open_account(&bank.api.with_token(&token), &bank, "Genuine");
        assert_eq!(r.status, 201, "untweaked: {}", r.body);
    }

    provider_tokens_are_refused_without_a_configured_provider(backend) {
        let bank = Bank::new(backend);
        provider_user(&bank, SUBJECT, Role::Admin);
        let claims = provider_claims(SUBJECT);
        for (why, token) in [
            ("RS256", sign(Algorithm::RS256, Some("rsa-1"), &rsa_key("rsa-1"), &claims)),
            ("EdDSA", sign(Algorithm::EdDSA, Some("ed-1"), &ed_key("ed-1"), &claims)),
        ] {
            let api = bank.api.with_token(&token);
            unauthorized(&bank, why, || open_account(&api, &bank, "Forged"));
        }
    }

    password_login_off_accepts_provider_tokens_only(backend) {
        let jwks = jwks_path();
        let bank = Bank::with_env(backend, &idp_env(&jwks));
        let user = provider_user(&bank, SUBJECT, Role::Admin);
        let own = logged_in(&bank, ADMIN, PASSWORD);
        let mut env = idp_env(&jwks);
        env.push(("TIMEBANK_PASSWORD_LOGIN", "false"));
        let (_server, off) = second_server(&bank, &env);

        // The service's own login answers 403, right password or wrong.
        forbidden(&bank, "password login when it is off", || {
            login(&off, ADMIN, PASSWORD)
        });
        forbidden(&bank, "wrong password when login is off", || {
            login(&off, ADMIN, "not-the-password-at-all")
        });
        // Its own HS256 tokens are refused.
        for (why, token) in [
            ("the bank's admin token", bank.api.token.clone().expect("token")),
            ("a fresh admin token", own.access.clone()),
        ] {
            unauthorized(&bank, why, || me(&off, &token));
            let api = off.with_token(&token);
            unauthorized(&bank, why, || open_account(&api, &bank, "Forged"));
        }
        // A refresh token gets nothing usable there either.
        let r = refresh(&off, &own.refresh);
        if r.status == 200 {
            let token = r.body["access_token"].as_str().expect("access_token");
            unauthorized(&bank, "an access token from a refresh, login off", || {
                me(&off, token)
            });
        } else {
            assert!(matches!(r.status, 401 | 403), "refresh, login off: {}", r.body);
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
        }

        // Provider tokens work.
        let claims = provider_claims(SUBJECT);
        let token = sign(Algorithm::RS256, Some("rsa-2"), &rsa_key("rsa-2"), &claims);
        works(&off, &token, &user, "provider token, login off");
        let r = open_account(&off.with_token(&token), &bank, "Genuine");
        assert_eq!(r.status, 201, "provider admin, login off: {}", r.body);
    }
}
