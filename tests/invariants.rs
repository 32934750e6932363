#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The eight invariants of DESIGN.md ("Invariants"), each checked black-box on
//! SQLite and on PostgreSQL, plus the two-phase flow (hold, post, void, reverse).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use common::*;

// ---------------------------------------------------------------------------
// Amounts and times
// ---------------------------------------------------------------------------

/// An amount as the API sends it (a decimal string), parsed exactly.
fn dec(v: &Value) -> Decimal {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("amount is not a string: {v}"));
    Decimal::from_str_exact(s).unwrap_or_else(|e| panic!("bad amount {s:?}: {e}"))
}

/// An API amount in minor units (every ledger here has scale 2).
fn minor(v: &Value) -> i64 {
    let scaled = dec(v) * Decimal::from(100);
    assert!(scaled.fract().is_zero(), "more than 2 decimals in {v}");
    scaled.to_i64().expect("amount fits i64")
}

/// Minor units as the API wants them: "12.50".
fn amount(minor: i64) -> String {
    assert!(minor >= 0, "only positive amounts are sent");
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// RFC 3339 in UTC with a `Z` (nothing to URL-encode), to the microsecond.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("time is not a string: {v}"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad time {s:?}: {e}"))
        .with_timezone(&Utc)
}

/// A moment clearly between the requests before it and the ones after it.
fn moment() -> DateTime<Utc> {
    std::thread::sleep(Duration::from_millis(2));
    let t = Utc::now();
    std::thread::sleep(Duration::from_millis(2));
    t
}

/// A small deterministic pseudo-random sequence (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

// ---------------------------------------------------------------------------
// Transfers
// ---------------------------------------------------------------------------

/// One posting of a transfer request.
#[derive(Clone, Debug)]
struct Leg {
    account: String,
    debit: bool,
    minor: i64,
}

fn debit(account: &str, minor: i64) -> Leg {
    Leg {
        account: account.to_string(),
        debit: true,
        minor,
    }
}

fn credit(account: &str, minor: i64) -> Leg {
    Leg {
        account: account.to_string(),
        debit: false,
        minor,
    }
}

impl Leg {
    fn json(&self) -> Value {
        json!({
            "account_id": self.account,
            "direction": if self.debit { "debit" } else { "credit" },
            "amount": amount(self.minor),
        })
    }

    fn opposite(&self) -> Self {
        Self {
            debit: !self.debit,
            ..self.clone()
        }
    }
}

/// A transfer request with explicit postings.
fn transfer_body(kind: &str, legs: &[Leg], pending: bool) -> Value {
    json!({
        "kind": kind,
        "postings": legs.iter().map(Leg::json).collect::<Vec<_>>(),
        "pending": pending,
    })
}

/// The two-leg shorthand.
fn pair_body(kind: &str, from: &str, to: &str, amount: &str) -> Value {
    json!({"kind": kind, "debit_account_id": from, "credit_account_id": to, "amount": amount})
}

/// POSTs a new transfer with its own fresh key.
/// A redemption hold that lapses after `seconds`.
fn expiring_hold(from: &str, to: &str, amount: &str, seconds: u64) -> Value {
    let mut hold = pair_body("redemption", from, to, amount);
    hold["pending"] = json!(true);
    hold["timeout_seconds"] = json!(seconds);
    hold
}

fn create(api: &Api, body: &Value) -> Reply {
    api.post("/v1/transfers", body, Some(&fresh_key()))
}

/// `action` is `post`, `void` or `reverse`.
fn settle(api: &Api, id: &str, action: &str) -> Reply {
    api.post(
        &format!("/v1/transfers/{id}/{action}"),
        &json!({}),
        Some(&fresh_key()),
    )
}

fn get_transfer(api: &Api, id: &str) -> Value {
    let r = api.get(&format!("/v1/transfers/{id}"));
    assert_eq!(r.status, 200, "transfer {id}: {}", r.body);
    r.body
}

fn assert_created(r: &Reply) -> String {
    assert_eq!(r.status, 201, "expected 201, got {}", r.body);
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/transfers/{}", r.id()).as_str()),
        "Location header"
    );
    r.id()
}

// ---------------------------------------------------------------------------
// Reading the books
// ---------------------------------------------------------------------------

/// Every account of the bank's ledger.
fn ledger_accounts(bank: &Bank) -> Vec<Value> {
    all_pages(
        &bank.api,
        &format!("/v1/accounts?ledger_id={}&limit=200", bank.ledger_id),
    )
}

fn ledger_account_ids(bank: &Bank) -> Vec<String> {
    ledger_accounts(bank)
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_string())
        .collect()
}

/// The whole journal of the bank's ledger, as the API shows it.
fn journal(bank: &Bank) -> Vec<Value> {
    all_pages(
        &bank.api,
        &format!("/v1/transfers?ledger_id={}&limit=200", bank.ledger_id),
    )
}

/// An account's postings, read in small pages to exercise the cursor.
fn account_postings(api: &Api, id: &str) -> Vec<Value> {
    all_pages(api, &format!("/v1/accounts/{id}/postings?limit=7"))
}

fn balances(bank: &Bank, id: &str) -> Value {
    bank.account(id)["balances"].clone()
}

/// GET /v1/accounts/{id}/balance?as_of=T, in minor units.
fn balance_as_of(api: &Api, id: &str, t: DateTime<Utc>) -> i64 {
    let r = api.get(&format!("/v1/accounts/{id}/balance?as_of={}", rfc3339(t)));
    assert_eq!(r.status, 200, "balance as of {t}: {}", r.body);
    minor(&r.body["posted"])
}

/// The sum of the balances of `accounts` as of `t`.
fn trial_balance_as_of(api: &Api, accounts: &[String], t: DateTime<Utc>) -> i64 {
    accounts.iter().map(|a| balance_as_of(api, a, t)).sum()
}

/// The sum of the ledger's posted balances now, as decimals.
fn trial_balance(bank: &Bank) -> Decimal {
    ledger_accounts(bank)
        .iter()
        .map(|a| dec(&a["balances"]["posted"]))
        .sum()
}

fn last_sequence(bank: &Bank) -> i64 {
    bank.ledger()["last_sequence"]
        .as_i64()
        .expect("last_sequence")
}

/// The findings of one kind in a verify report.
fn findings<'a>(report: &'a Value, problem: &str) -> Vec<&'a Value> {
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["problem"] == problem)
        .collect()
}

/// Runs `timebank verify`; returns its exit code and stdout.
fn verify_cli(db: &TestDb) -> (Option<i32>, String) {
    let out = cli(db, &["verify"]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn assert_cli_verified(db: &TestDb) {
    let (code, stdout) = verify_cli(db);
    assert_eq!(code, Some(0), "timebank verify should pass: {stdout}");
}

/// Checks one account against its own history: its postings (page by page)
/// run through versions 1..=version, the non-pending ones sum to the cached
/// posted balance, and the last running balance is that balance. Returns them.
fn check_account_history(bank: &Bank, id: &str) -> Vec<Value> {
    let account = bank.account(id);
    let posted = minor(&account["balances"]["posted"]);
    let postings = account_postings(&bank.api, id);
    let versions: Vec<i64> = postings
        .iter()
        .map(|p| p["account_version"].as_i64().expect("version"))
        .collect();
    let expected: Vec<i64> = (1..=account["version"].as_i64().expect("version")).collect();
    assert_eq!(versions, expected, "account {id}: versions of its postings");
    let summed: i64 = postings
        .iter()
        .filter(|p| p["pending"] == false)
        .map(|p| {
            let m = minor(&p["amount"]);
            assert!(m > 0, "non-positive posting {p}");
            if p["direction"] == "credit" { m } else { -m }
        })
        .sum();
    assert_eq!(
        summed, posted,
        "account {id}: postings sum vs balances.posted"
    );
    let last = postings.last().map_or(0, |p| minor(&p["balance_after"]));
    assert_eq!(
        last, posted,
        "account {id}: last balance_after vs balances.posted"
    );
    postings
}

/// The running balance after the last posting recorded at or before `t`.
fn running_balance_at(postings: &[Value], t: DateTime<Utc>) -> i64 {
    postings
        .iter()
        .rev()
        .find(|p| parse_time(&p["recorded_at"]) <= t)
        .map_or(0, |p| minor(&p["balance_after"]))
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

/// A client of a second server process on the bank's database, with the same token.
fn second_server(bank: &Bank) -> (Server, Api) {
    let server = Server::start(&bank.db);
    let api = Api::new(&server.base, bank.api.token.clone());
    (server, api)
}

/// Funds a wallet with 10.00 and fires 64 concurrent 1.00 spends at it, spread
/// over `apis` (one or several server processes); exactly 10 may succeed.
fn overdraft_race(bank: &Bank, apis: &[Api], rounds: usize) {
    let wallet = bank.wallet("Racing wallet");
    let shop = bank.open_account("partner", "Racing shop");
    for round in 1..=rounds {
        bank.fund(&wallet, "10.00");
        let before = last_sequence(bank);
        let replies = in_parallel(64, |i| {
            create(
                &apis[i % apis.len()],
                &pair_body("redemption", &wallet, &shop, "1.00"),
            )
        });
        let mut ids = HashSet::new();
        for r in &replies {
            if r.status == 201 {
                ids.insert(r.id());
            } else {
                r.assert_problem(422, "insufficient_funds");
            }
        }
        assert_eq!(ids.len(), 10, "round {round}: spends that succeeded");
        let b = balances(bank, &wallet);
        assert_eq!(b["posted"], "0.00", "round {round}: wallet {b}");
        assert_eq!(b["available"], "0.00", "round {round}: wallet {b}");
        assert_eq!(bank.posted(&shop), format!("{}.00", 10 * round));
        assert_eq!(
            last_sequence(bank),
            before + 10,
            "round {round}: transfers recorded"
        );
    }
    bank.assert_verified();
}

/// 16 concurrent requests with one key and one body, spread over `apis`: one
/// transfer, every answer the original, a replay of it, or "in flight". A later
/// retry replays; the key with another body is refused. `rounds` keys in turn.
fn same_key_race(bank: &Bank, apis: &[Api], rounds: usize) {
    let wallet = bank.wallet("Exactly once");
    for round in 1..=rounds {
        let key = fresh_key();
        let body = pair_body("hours_credit", &bank.issuance_id, &wallet, "5.00");
        let before = last_sequence(bank);
        let replies = in_parallel(16, |i| {
            apis[i % apis.len()].post("/v1/transfers", &body, Some(&key))
        });
        let mut originals = 0;
        let mut ids = HashSet::new();
        for r in &replies {
            if r.status == 201 {
                ids.insert(assert_created(r));
                if r.header("idempotent-replayed") != Some("true") {
                    originals += 1;
                }
            } else {
                r.assert_problem(409, "idempotency_key_in_flight");
            }
        }
        assert_eq!(
            originals, 1,
            "round {round}: one original answer: {replies:#?}"
        );
        assert_eq!(
            ids.len(),
            1,
            "round {round}: every 201 names the same transfer"
        );
        let id = ids.into_iter().next().expect("one id");
        assert_eq!(
            last_sequence(bank),
            before + 1,
            "round {round}: one transfer recorded"
        );
        assert_eq!(bank.posted(&wallet), amount(500 * round as i64));

        for api in apis {
            let retry = api.post("/v1/transfers", &body, Some(&key));
            assert_eq!(assert_created(&retry), id, "a later retry replays");
            assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        }
        let snapshot = bank.snapshot();
        let other = pair_body("hours_credit", &bank.issuance_id, &wallet, "6.00");
        for api in apis {
            api.post("/v1/transfers", &other, Some(&key))
                .assert_problem(422, "idempotency_key_reused");
        }
        assert_eq!(bank.snapshot(), snapshot, "a reused key changed nothing");
    }
    bank.assert_verified();
}

/// The server processes a test spreads its requests over: the bank's own, and on
/// PostgreSQL a second one on the same database.
fn servers(bank: &Bank) -> (Option<Server>, Vec<Api>) {
    match bank.db.backend {
        Backend::Sqlite => (None, vec![bank.api.clone()]),
        Backend::Postgres => {
            let (server, api) = second_server(bank);
            (Some(server), vec![bank.api.clone(), api])
        }
    }
}

/// Fires `n` concurrent settlements of one transfer (action chosen per thread
/// by `action`), each with its own key; exactly one may win. Returns its id.
fn settle_race(
    apis: &[Api],
    id: &str,
    n: usize,
    action: impl Fn(usize) -> &'static str + Sync,
) -> String {
    let replies = in_parallel(n, |i| settle(&apis[i % apis.len()], id, action(i)));
    let mut winners = Vec::new();
    for r in &replies {
        if r.status == 201 {
            winners.push(r.id());
        } else {
            assert_eq!(r.status, 409, "{}", r.body);
            let code = r.body["code"].as_str().unwrap_or_default();
            assert!(
                ["transfer_not_pending", "transfer_already_reversed"].contains(&code),
                "unexpected refusal {}",
                r.body
            );
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "settlements of {id} that won: {replies:#?}"
    );
    winners.remove(0)
}

// ---------------------------------------------------------------------------
// A model of the books, for the random mix
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Movement {
    Post,
    Hold,
    Capture,
    Release,
}

/// What the balances should be: posted (credits - debits) and debits on hold,
/// in minor units, and which accounts may not be overdrawn.
#[derive(Clone, Debug, Default)]
struct Model {
    posted: HashMap<String, i64>,
    held: HashMap<String, i64>,
    guarded: HashSet<String>,
}

impl Model {
    fn posted(&self, account: &str) -> i64 {
        self.posted.get(account).copied().unwrap_or(0)
    }

    fn available(&self, account: &str) -> i64 {
        self.posted(account) - self.held.get(account).copied().unwrap_or(0)
    }

    /// Applies the movement if the ledger should accept it; says whether it should.
    fn apply(&mut self, legs: &[Leg], movement: Movement) -> bool {
        let mut next = self.clone();
        for leg in legs {
            if matches!(movement, Movement::Post | Movement::Capture) {
                let signed = if leg.debit { -leg.minor } else { leg.minor };
                *next.posted.entry(leg.account.clone()).or_default() += signed;
            }
            if leg.debit {
                let held = next.held.entry(leg.account.clone()).or_default();
                match movement {
                    Movement::Hold => *held += leg.minor,
                    Movement::Capture | Movement::Release => *held -= leg.minor,
                    Movement::Post => {}
                }
            }
        }
        let checks_overdraft = matches!(movement, Movement::Post | Movement::Hold);
        let overdrawn = legs.iter().any(|l| {
            l.debit && next.guarded.contains(&l.account) && next.available(&l.account) < 0
        });
        if checks_overdraft && overdrawn {
            return false;
        }
        *self = next;
        true
    }
}

/// Checks the ledger answered as the model said it would; the new id if accepted.
fn expect_outcome(reply: &Reply, accepted: bool) -> Option<String> {
    if accepted {
        Some(assert_created(reply))
    } else {
        reply.assert_problem(422, "insufficient_funds");
        None
    }
}

type Recorded = (String, Vec<Leg>);

/// A seeded random mix of credits, spends, holds, posts, voids, reversals and
/// multi-leg transfers, checked step by step against the model, then checked
/// account by account against the postings and against balance-as-of.
fn random_mix(backend: Backend, seed: u64, steps: usize) {
    let bank = Bank::new(backend);
    let wallets: Vec<String> = (0..3)
        .map(|i| bank.wallet(&format!("Wallet {i}")))
        .collect();
    let shop = bank.open_account("partner", "Shop");
    let issuance = bank.issuance_id.clone();
    let mut everyone = wallets.clone();
    everyone.extend([shop.clone(), issuance.clone()]);

    let mut model = Model {
        guarded: wallets.iter().chain([&shop]).cloned().collect(),
        ..Model::default()
    };
    let mut rng = Rng(seed);
    let mut holds: Vec<Recorded> = Vec::new();
    let mut reversible: Vec<Recorded> = Vec::new();
    let mut marks: Vec<(DateTime<Utc>, HashMap<String, i64>)> = Vec::new();

    for _ in 0..steps {
        marks.push((moment(), model.posted.clone()));
        let wallet = wallets[rng.below(wallets.len())].clone();
        let mut choice = rng.below(8);
        if (choice == 4 || choice == 5) && holds.is_empty() {
            choice = 3;
        }
        if choice == 6 && reversible.is_empty() {
            choice = 0;
        }
        match choice {
            0 | 1 => {
                let m = rng.between(500, 3_000);
                let legs = [debit(&issuance, m), credit(&wallet, m)];
                let accepted = model.apply(&legs, Movement::Post);
                let r = create(&bank.api, &transfer_body("hours_credit", &legs, false));
                if let Some(id) = expect_outcome(&r, accepted) {
                    reversible.push((id, legs.to_vec()));
                }
            }
            2 => {
                let m = rng.between(50, 1_500);
                let legs = [debit(&wallet, m), credit(&shop, m)];
                let accepted = model.apply(&legs, Movement::Post);
                let r = create(&bank.api, &transfer_body("redemption", &legs, false));
                if let Some(id) = expect_outcome(&r, accepted) {
                    reversible.push((id, legs.to_vec()));
                }
            }
            3 => {
                let m = rng.between(50, 800);
                let legs = [debit(&wallet, m), credit(&shop, m)];
                let accepted = model.apply(&legs, Movement::Hold);
                let r = create(&bank.api, &transfer_body("redemption", &legs, true));
                if let Some(id) = expect_outcome(&r, accepted) {
                    holds.push((id, legs.to_vec()));
                }
            }
            4 => {
                let (hold, legs) = holds.swap_remove(rng.below(holds.len()));
                assert!(model.apply(&legs, Movement::Capture));
                let id = assert_created(&settle(&bank.api, &hold, "post"));
                reversible.push((id, legs));
            }
            5 => {
                let (hold, legs) = holds.swap_remove(rng.below(holds.len()));
                assert!(model.apply(&legs, Movement::Release));
                assert_created(&settle(&bank.api, &hold, "void"));
            }
            6 => {
                let i = rng.below(reversible.len());
                let (original, legs) = reversible[i].clone();
                let opposite: Vec<Leg> = legs.iter().map(Leg::opposite).collect();
                let accepted = model.apply(&opposite, Movement::Post);
                let r = settle(&bank.api, &original, "reverse");
                if expect_outcome(&r, accepted).is_some() {
                    assert_eq!(r.body["reverses_id"], original.as_str());
                    reversible.swap_remove(i);
                }
            }
            _ => {
                // Three legs: a redemption that also returns some points to issuance.
                let (a, b) = (rng.between(50, 900), rng.between(1, 300));
                let legs = [
                    debit(&wallet, a + b),
                    credit(&shop, a),
                    credit(&issuance, b),
                ];
                let accepted = model.apply(&legs, Movement::Post);
                let r = create(&bank.api, &transfer_body("redemption", &legs, false));
                if let Some(id) = expect_outcome(&r, accepted) {
                    reversible.push((id, legs.to_vec()));
                }
            }
        }
    }

    bank.assert_verified();
    let mut total = 0;
    let mut histories = HashMap::new();
    for account in &everyone {
        let b = balances(&bank, account);
        assert_eq!(
            minor(&b["posted"]),
            model.posted(account),
            "posted of {account}"
        );
        assert_eq!(
            minor(&b["available"]),
            model.available(account),
            "available of {account}"
        );
        total += model.posted(account);
        histories.insert(account.clone(), check_account_history(&bank, account));
    }
    assert_eq!(total, 0, "the model's books balance");
    assert!(trial_balance(&bank).is_zero());

    // Balance as of moments in the past, down to the one just before the last step.
    let samples = [0, steps / 4, steps / 2, 3 * steps / 4, steps - 1];
    for &i in &samples {
        let (t, expected) = &marks[i];
        for account in &everyone {
            let want = expected.get(account).copied().unwrap_or(0);
            assert_eq!(
                running_balance_at(&histories[account], *t),
                want,
                "running balance of {account} at step {i}"
            );
            assert_eq!(
                balance_as_of(&bank.api, account, *t),
                want,
                "balance of {account} as of step {i} ({})",
                rfc3339(*t)
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

on_both_backends! {
    // Invariant 1: every transfer balances; amounts are positive; one ledger.
    multi_leg_transfers_balance_and_the_books_sum_to_zero(backend) {
        let bank = Bank::new(backend);
        let (a, b, c) = (bank.wallet("A"), bank.wallet("B"), bank.wallet("C"));
        let shop = bank.open_account("partner", "Shop");

        let event = [debit(&bank.issuance_id, 3_000), credit(&a, 1_000), credit(&b, 1_550), credit(&c, 450)];
        let r = create(&bank.api, &transfer_body("hours_credit", &event, false));
        assert_created(&r);
        let sale = [debit(&a, 600), credit(&b, 250), credit(&shop, 350)];
        let r2 = create(&bank.api, &transfer_body("redemption", &sale, false));
        assert_created(&r2);

        for (reply, legs) in [(&r, event.len()), (&r2, sale.len())] {
            let t = get_transfer(&bank.api, &reply.id());
            assert_eq!(t["ledger_id"], bank.ledger_id.as_str());
            let postings = t["postings"].as_array().expect("postings");
            assert_eq!(postings.len(), legs);
            let side = |d: &str| -> Decimal {
                postings.iter().filter(|p| p["direction"] == d).map(|p| dec(&p["amount"])).sum()
            };
            assert!(postings.iter().all(|p| dec(&p["amount"]) > Decimal::ZERO));
            assert_eq!(side("debit"), side("credit"), "transfer {t}");
        }
        for (account, want) in [(&a, "4.00"), (&b, "18.00"), (&c, "4.50"), (&shop, "3.50"), (&bank.issuance_id, "-30.00")] {
            assert_eq!(bank.posted(account), want);
        }
        assert!(trial_balance(&bank).is_zero(), "trial balance");

        // Refusals change nothing.
        let other = bank.api.post("/v1/ledgers", &json!({"code": "other", "name": "Other scheme"}), None);
        assert_eq!(other.status, 201, "{}", other.body);
        let other_issuance = other.body["issuance_account_id"].as_str().expect("issuance").to_string();
        let snapshot = bank.snapshot();
        let refusals: Vec<(Value, u16, &str)> = vec![
            (transfer_body("adjustment", &[debit(&a, 100), credit(&b, 99)], false), 422, "unbalanced_transfer"),
            (transfer_body("adjustment", &[debit(&a, 100), credit(&b, 50), credit(&c, 49)], false), 422, "unbalanced_transfer"),
            (pair_body("adjustment", &a, &b, "0.00"), 400, "invalid_amount"),
            (pair_body("adjustment", &a, &b, "-1.00"), 400, "invalid_amount"),
            (pair_body("adjustment", &a, &b, "1.005"), 400, "invalid_amount"),
            (transfer_body("adjustment", &[debit(&a, 100)], false), 400, "validation_failed"),
            (transfer_body("adjustment", &[debit(&other_issuance, 100), credit(&a, 100)], false), 422, "ledger_mismatch"),
            ({
                let mut body = pair_body("adjustment", &a, &b, "1.00");
                body["ledger_id"] = json!(other.id());
                body
            }, 422, "ledger_mismatch"),
            // Two debits on one wallet that each fit but together overdraw it.
            (transfer_body("redemption", &[debit(&a, 300), debit(&a, 300), credit(&shop, 600)], false), 422, "insufficient_funds"),
        ];
        for (body, status, code) in refusals {
            create(&bank.api, &body).assert_problem(status, code);
        }
        assert_eq!(bank.snapshot(), snapshot, "refusals changed the books");
        let other_ledger = bank.api.get(&format!("/v1/ledgers/{}", other.id()));
        assert_eq!(other_ledger.body["last_sequence"], 0);
        bank.assert_verified();
    }

    // Invariant 2: the database itself refuses UPDATE and DELETE on the journal.
    the_database_refuses_journal_edits(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Wang Fang");
        let shop = bank.open_account("partner", "Shop");
        bank.fund(&wallet, "10.00");
        assert_created(&create(&bank.api, &pair_body("redemption", &wallet, &shop, "2.00")));
        let mut hold = pair_body("redemption", &wallet, &shop, "1.00");
        hold["pending"] = json!(true);
        assert_created(&create(&bank.api, &hold));
        let before = journal(&bank);
        assert_eq!(before.len(), 3);

        let mut edits = vec![
            "UPDATE transfers SET kind = 'x'",
            "UPDATE transfers SET description = 'edited'",
            "DELETE FROM transfers",
            "UPDATE postings SET amount = 1",
            "UPDATE postings SET amount = amount + 1",
            "DELETE FROM postings",
        ];
        if backend == Backend::Postgres {
            edits.push("TRUNCATE postings");
        }
        for sql in edits {
            let err = bank.db.execute(sql).expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: refused for another reason: {err}");
        }
        assert_eq!(journal(&bank), before, "the journal changed");
        bank.assert_verified();
    }

    // Invariant 3: cached totals equal the sums of the postings (three seeds).
    cached_totals_equal_postings_seed_1(backend) {
        random_mix(backend, 1, 60);
    }

    cached_totals_equal_postings_seed_2(backend) {
        random_mix(backend, 0xDEC0DE, 60);
    }

    cached_totals_equal_postings_seed_3(backend) {
        random_mix(backend, 20_261_122, 60);
    }

    // Invariant 4: no overdraft under concurrency, one server process.
    no_overdraft_under_concurrency(backend) {
        let bank = Bank::new(backend);
        overdraft_race(&bank, std::slice::from_ref(&bank.api), 2);
    }

    // Invariant 4: ... and with two server processes on one PostgreSQL.
    no_overdraft_across_two_processes(backend) {
        if backend == Backend::Sqlite {
            return;
        }
        let bank = Bank::new(backend);
        let (_second, other) = second_server(&bank);
        overdraft_race(&bank, &[bank.api.clone(), other], 3);
    }

    // Invariant 5: exactly once, one server process.
    exactly_once_under_concurrency(backend) {
        let bank = Bank::new(backend);
        same_key_race(&bank, std::slice::from_ref(&bank.api), 2);
    }

    // Invariant 5: ... and with two server processes on one PostgreSQL.
    exactly_once_across_two_processes(backend) {
        if backend == Backend::Sqlite {
            return;
        }
        let bank = Bank::new(backend);
        let (_second, other) = second_server(&bank);
        same_key_race(&bank, &[bank.api.clone(), other], 4);
    }

    // Invariant 6: a posting edited behind the service's back is found.
    an_edited_posting_breaks_the_chain(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Zhang Min");
        let shop = bank.open_account("partner", "Shop");
        bank.fund(&wallet, "10.00");
        let target = assert_created(&create(&bank.api, &pair_body("redemption", &wallet, &shop, "3.00")));
        bank.fund(&wallet, "1.00");
        bank.assert_verified();
        assert_cli_verified(&bank.db);

        let disable = match backend {
            Backend::Postgres => "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
            Backend::Sqlite => "DROP TRIGGER postings_no_update",
        };
        bank.db.execute(disable).expect(disable);
        // Leg 1 is the shop's credit: 3.00 becomes 4.00.
        let edited = bank
            .db
            .execute(&format!("UPDATE postings SET amount = amount + 100 WHERE transfer_id = '{target}' AND leg = 1"))
            .expect("tamper");
        assert_eq!(edited, 1);

        let report = bank.verify();
        assert_eq!(report["ok"], false, "{report:#}");
        let hashes = findings(&report, "hash_mismatch");
        assert!(
            hashes.iter().any(|f| f["transfer_id"] == target.as_str()),
            "no hash_mismatch naming {target}: {report:#}"
        );
        assert!(
            findings(&report, "totals_mismatch").iter().any(|f| f["account_id"] == shop.as_str()),
            "no totals_mismatch for the shop: {report:#}"
        );
        let (code, stdout) = verify_cli(&bank.db);
        assert_eq!(code, Some(1), "timebank verify must fail: {stdout}");
        assert!(stdout.contains("hash_mismatch"), "{stdout}");
    }

    // Invariant 6: a cached total edited behind the service's back is found.
    an_edited_account_total_is_found(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Chen Jie");
        bank.fund(&wallet, "10.00");
        bank.assert_verified();
        let edited = bank
            .db
            .execute(&format!("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = '{wallet}'"))
            .expect("tamper");
        assert_eq!(edited, 1);

        let report = bank.verify();
        assert_eq!(report["ok"], false, "{report:#}");
        let totals = findings(&report, "totals_mismatch");
        assert!(totals.iter().any(|f| f["account_id"] == wallet.as_str()), "{report:#}");
        assert!(findings(&report, "hash_mismatch").is_empty(), "the journal is intact: {report:#}");
        let (code, stdout) = verify_cli(&bank.db);
        assert_eq!(code, Some(1), "timebank verify must fail: {stdout}");
        assert!(stdout.contains("totals_mismatch"), "{stdout}");
    }

    // Invariant 7: the balances of a ledger sum to zero as of any time, including
    // moments taken while transfers are being committed.
    trial_balance_is_zero_at_any_time(backend) {
        let bank = Bank::new(backend);
        let wallets: Vec<String> = (0..3).map(|i| bank.wallet(&format!("Wallet {i}"))).collect();
        let shop = bank.open_account("partner", "Shop");
        let fund = bank.open_account("community_fund", "Fund");
        let mut marks = vec![moment()];
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..3 {
                let (api, wallets, shop, fund, issuance, stop) =
                    (&bank.api, &wallets, &shop, &fund, &bank.issuance_id, &stop);
                s.spawn(move || {
                    let mut rng = Rng(t as u64 + 7);
                    while !stop.load(Ordering::Relaxed) {
                        let (x, y) = (&wallets[t], &wallets[(t + 1) % 3]);
                        let (a, b) = (rng.between(100, 900), rng.between(1, 500));
                        let legs = if rng.below(2) == 0 {
                            vec![debit(issuance, a + b), credit(x, a), credit(y, b)]
                        } else {
                            vec![debit(x, a + b), credit(shop, a), credit(fund, b)]
                        };
                        let r = create(api, &transfer_body("adjustment", &legs, false));
                        if r.status != 201 {
                            r.assert_problem(422, "insufficient_funds");
                        }
                    }
                });
            }
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(30));
                marks.push(Utc::now());
            }
            stop.store(true, Ordering::Relaxed);
        });
        marks.push(moment());

        let accounts = ledger_account_ids(&bank);
        assert_eq!(accounts.len(), 6);
        let mut issued = Vec::new();
        for &t in &marks {
            assert_eq!(
                trial_balance_as_of(&bank.api, &accounts, t),
                0,
                "trial balance as of {}",
                rfc3339(t)
            );
            issued.push(balance_as_of(&bank.api, &bank.issuance_id, t));
        }
        assert_eq!(issued[0], 0, "nothing issued before the first transfer");
        issued.dedup();
        assert!(issued.len() >= 4, "as-of times should fall between transfers: {issued:?}");
        assert!(trial_balance(&bank).is_zero());
        bank.assert_verified();
    }

    // Invariant 8: a transfer answered 201 survives kill -9 of the server.
    answered_transfers_survive_sigkill(backend) {
        let mut bank = Bank::new(backend);
        let wallets: Vec<String> = (0..4).map(|i| bank.wallet(&format!("Wallet {i}"))).collect();
        let base = bank.server.base.clone();
        let token = bank.api.token.clone().expect("token");
        let answered = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let deadline = Instant::now() + Duration::from_secs(2);
        std::thread::scope(|s| {
            for t in 0..8 {
                let (base, token, wallets, issuance, answered, stop) =
                    (&base, &token, &wallets, &bank.issuance_id, &answered, &stop);
                s.spawn(move || {
                    let http = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(20))
                        .build()
                        .expect("client");
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        let body = pair_body("hours_credit", issuance, &wallets[t % wallets.len()], "0.25");
                        let sent = http
                            .post(format!("{base}/v1/transfers"))
                            .bearer_auth(token)
                            .header("Idempotency-Key", fresh_key())
                            .json(&body)
                            .send()
                            .and_then(|r| Ok((r.status().as_u16(), r.json::<Value>()?)));
                        match sent {
                            Ok((201, reply)) => answered
                                .lock()
                                .expect("lock")
                                .push(reply["id"].as_str().expect("id").to_string()),
                            Ok((status, reply)) => panic!("unexpected {status}: {reply}"),
                            // The server is gone: nothing more can be answered.
                            Err(_) => break,
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_secs(1));
            bank.server.kill9();
            stop.store(true, Ordering::Relaxed);
        });
        let answered = answered.into_inner().expect("lock");
        assert!(!answered.is_empty(), "no transfer was answered before the kill");

        bank.restart();
        let api = &bank.api;
        let chunks: Vec<&[String]> = answered.chunks(answered.len().div_ceil(4)).collect();
        in_parallel(chunks.len(), |i| {
            for id in chunks[i] {
                let t = get_transfer(api, id);
                assert_eq!(t["id"], id.as_str());
                assert_eq!(t["status"], "posted");
            }
        });
        assert!(last_sequence(&bank) >= answered.len() as i64);
        bank.assert_verified();
        assert_cli_verified(&bank.db);
    }

    // Two-phase transfers and reversals.
    holds_post_void_and_reversals(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Liu Yang");
        let shop = bank.open_account("partner", "Shop");
        bank.fund(&wallet, "10.00");

        // Hold: available drops, posted does not move.
        let mut hold_body = pair_body("redemption", &wallet, &shop, "4.00");
        hold_body["pending"] = json!(true);
        let hold = create(&bank.api, &hold_body);
        let hold_id = assert_created(&hold);
        assert_eq!(hold.body["status"], "pending");
        assert_eq!(hold.body["phase"], "pending");
        let w = balances(&bank, &wallet);
        assert_eq!((&w["posted"], &w["available"], &w["pending_debits"]), (&json!("10.00"), &json!("6.00"), &json!("4.00")));
        let p = balances(&bank, &shop);
        assert_eq!((&p["posted"], &p["pending_credits"]), (&json!("0.00"), &json!("4.00")));
        // The hold is reserved: spending beyond what is available is refused.
        let snapshot = bank.snapshot();
        create(&bank.api, &pair_body("redemption", &wallet, &shop, "6.01")).assert_problem(422, "insufficient_funds");
        assert_eq!(bank.snapshot(), snapshot);

        // Post: the balances move, the hold says who settled it.
        let post = settle(&bank.api, &hold_id, "post");
        let post_id = assert_created(&post);
        assert_eq!(post.body["phase"], "post_pending");
        assert_eq!(post.body["pending_id"], hold_id.as_str());
        let w = balances(&bank, &wallet);
        assert_eq!((&w["posted"], &w["available"], &w["pending_debits"]), (&json!("6.00"), &json!("6.00"), &json!("0.00")));
        let p = balances(&bank, &shop);
        assert_eq!((&p["posted"], &p["pending_credits"]), (&json!("4.00"), &json!("0.00")));
        let settled = get_transfer(&bank.api, &hold_id);
        assert_eq!(settled["status"], "posted");
        assert_eq!(settled["settled_by"], post_id.as_str());
        let snapshot = bank.snapshot();
        settle(&bank.api, &hold_id, "post").assert_problem(409, "transfer_not_pending");
        settle(&bank.api, &hold_id, "void").assert_problem(409, "transfer_not_pending");
        assert_eq!(bank.snapshot(), snapshot);

        // Void: the hold is released, no balance moves.
        let mut second = pair_body("redemption", &wallet, &shop, "3.00");
        second["pending"] = json!(true);
        let second_id = assert_created(&create(&bank.api, &second));
        assert_eq!(balances(&bank, &wallet)["available"], "3.00");
        let void = settle(&bank.api, &second_id, "void");
        let void_id = assert_created(&void);
        assert_eq!(void.body["phase"], "void_pending");
        let w = balances(&bank, &wallet);
        assert_eq!((&w["posted"], &w["available"], &w["pending_debits"]), (&json!("6.00"), &json!("6.00"), &json!("0.00")));
        assert_eq!(balances(&bank, &shop)["pending_credits"], "0.00");
        assert_eq!(bank.posted(&shop), "4.00");
        let voided = get_transfer(&bank.api, &second_id);
        assert_eq!(voided["status"], "voided");
        assert_eq!(voided["settled_by"], void_id.as_str());
        settle(&bank.api, &second_id, "post").assert_problem(409, "transfer_not_pending");

        // Reversal: balances restored, both sides linked.
        let spend_id = assert_created(&create(&bank.api, &pair_body("redemption", &wallet, &shop, "2.50")));
        assert_eq!(bank.posted(&wallet), "3.50");
        let reversal = settle(&bank.api, &spend_id, "reverse");
        let reversal_id = assert_created(&reversal);
        assert_eq!(reversal.body["kind"], "reversal");
        assert_eq!(reversal.body["reverses_id"], spend_id.as_str());
        assert_eq!(bank.posted(&wallet), "6.00");
        assert_eq!(bank.posted(&shop), "4.00");
        assert_eq!(get_transfer(&bank.api, &spend_id)["reversed_by"], reversal_id.as_str());
        let snapshot = bank.snapshot();
        settle(&bank.api, &spend_id, "reverse").assert_problem(409, "transfer_already_reversed");
        settle(&bank.api, &reversal_id, "reverse").assert_problem(409, "transfer_not_reversible");
        settle(&bank.api, &second_id, "reverse").assert_problem(409, "transfer_not_reversible");
        assert_eq!(bank.snapshot(), snapshot);

        // A posted hold can be reversed too.
        let undo_id = assert_created(&settle(&bank.api, &post_id, "reverse"));
        assert_eq!(get_transfer(&bank.api, &post_id)["reversed_by"], undo_id.as_str());
        assert_eq!(bank.posted(&wallet), "10.00");
        assert_eq!(bank.posted(&shop), "0.00");
        assert!(trial_balance(&bank).is_zero());
        bank.assert_verified();
        assert_cli_verified(&bank.db);
    }

    // Invariant 6: a posting's time is part of the books too (balance as of
    // depends on it): moving it behind the service's back must be found.
    an_edited_posting_time_is_found(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Zhao Lei");
        let shop = bank.open_account("partner", "Shop");
        bank.fund(&wallet, "10.00");
        let before_sale = moment();
        let target = assert_created(&create(&bank.api, &pair_body("redemption", &wallet, &shop, "3.00")));
        let accounts = ledger_account_ids(&bank);
        assert_eq!(balance_as_of(&bank.api, &shop, before_sale), 0);
        assert_eq!(trial_balance_as_of(&bank.api, &accounts, before_sale), 0);

        let disable = match backend {
            Backend::Postgres => "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
            Backend::Sqlite => "DROP TRIGGER postings_no_update",
        };
        bank.db.execute(disable).expect(disable);
        // Back-date the shop's credit (leg 1) only.
        let edited = bank
            .db
            .execute(&format!("UPDATE postings SET recorded_at = '2000-01-01 00:00:00' WHERE transfer_id = '{target}' AND leg = 1"))
            .expect("tamper");
        assert_eq!(edited, 1);
        // The edit changes what the books say about the past ...
        assert_eq!(balance_as_of(&bank.api, &shop, before_sale), 300);
        assert_eq!(trial_balance_as_of(&bank.api, &accounts, before_sale), 300);
        // ... so verify must notice it.
        let report = bank.verify();
        assert_eq!(report["ok"], false, "a back-dated posting went unnoticed: {report:#}");
        assert!(
            report["problems"].as_array().expect("problems").iter().any(|f| f["transfer_id"] == target.as_str()),
            "no finding names {target}: {report:#}"
        );
        let (code, stdout) = verify_cli(&bank.db);
        assert_eq!(code, Some(1), "timebank verify must fail: {stdout}");
    }

    // Two-phase and reversals under concurrency (two processes on PostgreSQL):
    // a hold is settled once, a transfer reversed once.
    settlements_happen_once_under_concurrency(backend) {
        let bank = Bank::new(backend);
        let (_second, apis) = servers(&bank);
        let wallet = bank.wallet("Sun Li");
        let shop = bank.open_account("partner", "Shop");
        bank.fund(&wallet, "10.00");
        let mut hold = pair_body("redemption", &wallet, &shop, "4.00");
        hold["pending"] = json!(true);
        let hold_id = assert_created(&create(&bank.api, &hold));

        let settled_by = settle_race(&apis, &hold_id, 16, |i| if i % 2 == 0 { "post" } else { "void" });
        let settlement = get_transfer(&bank.api, &settled_by);
        let posted = settlement["phase"] == "post_pending";
        assert_eq!(get_transfer(&bank.api, &hold_id)["settled_by"], settled_by.as_str());
        let b = balances(&bank, &wallet);
        let want = if posted { "6.00" } else { "10.00" };
        assert_eq!((&b["posted"], &b["available"], &b["pending_debits"]), (&json!(want), &json!(want), &json!("0.00")));

        let spend = assert_created(&create(&bank.api, &pair_body("redemption", &wallet, &shop, "1.00")));
        let reversal = settle_race(&apis, &spend, 16, |_| "reverse");
        assert_eq!(get_transfer(&bank.api, &spend)["reversed_by"], reversal.as_str());
        assert_eq!(bank.posted(&wallet), want);
        assert!(trial_balance(&bank).is_zero());
        bank.assert_verified();
    }

    // Two-phase: a hold left alone is released when its time runs out.
    an_expired_hold_is_released(backend) {
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Ma Hui");
        let shop = bank.open_account("partner", "Shop");
        bank.fund(&wallet, "10.00");
        let hold = expiring_hold(&wallet, &shop, "4.00", 1);
        let hold_id = assert_created(&create(&bank.api, &hold));
        assert_eq!(balances(&bank, &wallet)["available"], "6.00");

        let deadline = Instant::now() + Duration::from_secs(10);
        let released = loop {
            let t = get_transfer(&bank.api, &hold_id);
            if t["status"] != "pending" || Instant::now() > deadline {
                break t;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(released["status"], "voided", "the hold was not released: {released}");
        let void = get_transfer(&bank.api, released["settled_by"].as_str().expect("settled_by"));
        assert_eq!(void["phase"], "void_pending");
        let b = balances(&bank, &wallet);
        assert_eq!((&b["posted"], &b["available"], &b["pending_debits"]), (&json!("10.00"), &json!("10.00"), &json!("0.00")));
        assert_eq!(balances(&bank, &shop)["pending_credits"], "0.00");
        let snapshot = bank.snapshot();
        settle(&bank.api, &hold_id, "post").assert_problem(409, "transfer_not_pending");
        assert_eq!(bank.snapshot(), snapshot);
        bank.assert_verified();
    }

    transfers_are_listed_in_commit_order(backend) {
        // Ids are made at commit, so paging by id never skips a later commit.
        let bank = Bank::new(backend);
        let wallet = bank.wallet("Gao Min");
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10 {
                        bank.fund(&wallet, "1.00");
                    }
                });
            }
        });
        let listed = all_pages(
            &bank.api,
            &format!("/v1/transfers?ledger_id={}&limit=7", bank.ledger_id),
        );
        let sequences: Vec<i64> = listed.iter().map(|t| t["sequence"].as_i64().expect("sequence")).collect();
        let mut sorted = sequences.clone();
        sorted.sort_unstable();
        assert_eq!(sequences, sorted, "listing order is not commit order");
        assert!(sequences.len() >= 40);
    }

    an_expired_hold_behind_settled_ones_is_found(backend) {
        // Settled holds stay `pending` rows, so the sweeper must look past them.
        let mut bank = Bank::new(backend);
        let wallet = bank.wallet("Lin Tao");
        let shop = bank.open_account("partner", "Shop");
        bank.fund(&wallet, "10.00");
        let hold = expiring_hold(&wallet, &shop, "1.00", 3);
        let holds: Vec<String> = (0..7).map(|_| assert_created(&create(&bank.api, &hold))).collect();
        for id in &holds[..6] {
            assert_created(&settle(&bank.api, id, "void"));
        }
        // Stop the sweeper so the last hold stays unsettled for the lookup.
        bank.server.terminate();
        std::thread::sleep(Duration::from_millis(3300));
        let mut conn = bank.db.raw();
        let found = timebank::store::journal::expired_holds(&mut conn, None, Utc::now(), 1)
            .expect("expired holds");
        let found: Vec<String> = found.iter().map(|id| id.to_string()).collect();
        assert_eq!(found, vec![holds[6].clone()], "settled holds hid the unsettled one");
        let later = timebank::store::journal::expired_holds(&mut conn, Some(Utc::now()), Utc::now(), 1)
            .expect("expired holds");
        assert!(later.is_empty(), "a hold released before the window came back: {later:?}");
    }
}

#[derive(diesel::QueryableByName)]
struct KeptRecord {
    #[diesel(sql_type = diesel::sql_types::Text)]
    fingerprint: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    response_body: String,
}

on_both_backends! {
    // Issue 10, item 1: a dump of the idempotency records neither lets a
    // phone number be tested against a fingerprint nor shows the answer's
    // personal fields; the replay is still the first answer, byte for byte.
    idempotency_records_hide_what_they_keep(backend) {
        use diesel::RunQueryDsl;
        use sha2::{Digest, Sha256};

        let bank = Bank::new(backend);
        let key = fresh_key();
        let body = json!({
            "name": "Wang Fang",
            "phone": "+86 138 0013 8000",
            "organisation_id": bank.organisation_id,
            "card_number": "KEEPSAFE01",
            "pin": "2468",
        });
        let first = bank.api.post("/v1/volunteers", &body, Some(&key));
        assert_eq!(first.status, 201, "{}", first.body);

        let mut conn = bank.db.raw();
        let kept: Vec<KeptRecord> = diesel::sql_query(
            "SELECT fingerprint, response_body FROM idempotency_keys",
        )
        .load(&mut conn)
        .unwrap();
        assert_eq!(kept.len(), 1);
        let record = &kept[0];
        for secret in ["Wang Fang", "8000", "KEEPSAFE01", "2468"] {
            assert!(!record.response_body.contains(secret), "{secret} kept in clear");
        }
        // The old, unkeyed fingerprint of the same request is not what is kept.
        let mut unkeyed = Sha256::new();
        unkeyed.update(b"POST /v1/volunteers");
        unkeyed.update([0]);
        unkeyed.update(serde_json::to_vec(&body).unwrap());
        assert_ne!(record.fingerprint, hex::encode(unkeyed.finalize()));

        let replay = bank.api.post("/v1/volunteers", &body, Some(&key));
        assert_eq!(replay.status, 201);
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        assert_eq!(replay.text, first.text, "a replay is the first answer, byte for byte");
    }
}
