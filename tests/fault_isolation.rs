//! One act the database refuses fails alone: the rest of its batch commits, and
//! nobody else sees an error. The poison here is a trigger installed behind the
//! service's back that refuses transfers with one description, standing for
//! any error the database raises for one act's rows (a constraint, an
//! encoding, a statement error).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use common::{Backend, Bank, fresh_key};
use serde_json::json;

const POISON: &str = "poison";

fn install_poison(bank: &Bank, backend: Backend) {
    let statements: &[&str] = match backend {
        Backend::Sqlite => &["CREATE TRIGGER poison BEFORE INSERT ON transfers \
             WHEN NEW.description = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.description = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER poison BEFORE INSERT ON transfers \
             FOR EACH ROW EXECUTE FUNCTION poison()",
        ],
    };
    for sql in statements {
        bank.db.execute(sql).expect(sql);
    }
}

on_both_backends! {
    poison_act_fails_alone(backend) {
        // A commit delay gathers the concurrent requests into shared batches.
        let bank = Bank::with_env(backend, &[("TIMEBANK_COMMIT_DELAY_MS", "20")]);
        let wallets: Vec<String> = (0..8).map(|i| bank.wallet(&format!("w{i}"))).collect();
        install_poison(&bank, backend);

        let statuses: Vec<(bool, u16, String)> = std::thread::scope(|s| {
            let mut handles = Vec::new();
            for t in 0..12 {
                let (api, wallets, issuance) = (&bank.api, &wallets, &bank.issuance_id);
                handles.push(s.spawn(move || {
                    let poisoner = t % 3 == 0;
                    (0..10)
                        .map(|i| {
                            let mut body = json!({
                                "kind": "hours_credit",
                                "debit_account_id": issuance,
                                "credit_account_id": wallets[(t + i) % wallets.len()],
                                "amount": "1.00",
                            });
                            if poisoner {
                                body["description"] = json!(POISON);
                            }
                            let r = api.post("/v1/transfers", &body, Some(&fresh_key()));
                            let code = r.body["code"].as_str().unwrap_or_default().to_string();
                            (poisoner, r.status, code)
                        })
                        .collect::<Vec<_>>()
                }));
            }
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });

        let mut good = 0;
        for (poisoner, status, code) in &statuses {
            if *poisoner {
                assert_eq!((*status, code.as_str()), (422, "not_recordable"));
            } else {
                assert_eq!(*status, 201, "a good transfer failed: {code}");
                good += 1;
            }
        }
        assert_eq!(good, 80);

        // The books hold the good transfers and nothing of the poisoned ones.
        let total: u64 = wallets
            .iter()
            .map(|w| bank.posted(w).replace(".00", "").parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 80);
        assert_eq!(bank.ledger()["last_sequence"], 80);
        let listed = bank.api.get(&format!(
            "/v1/transfers?ledger_id={}&limit=200",
            bank.ledger_id
        ));
        let descriptions: HashMap<String, usize> =
            listed.body["items"].as_array().unwrap().iter().fold(
                HashMap::new(),
                |mut seen, t| {
                    let d = t["description"].as_str().unwrap_or("").to_string();
                    *seen.entry(d).or_default() += 1;
                    seen
                },
            );
        assert!(!descriptions.contains_key(POISON), "{descriptions:?}");
        bank.assert_verified();
    }

    poisoned_key_is_not_kept(backend) {
        // A refusal by the database is not the request's final answer: once
        // the cause is gone, the same key and body records the transfer.
        let bank = Bank::new(backend);
        let wallet = bank.wallet("w");
        install_poison(&bank, backend);
        let key = fresh_key();
        let body = json!({
            "kind": "hours_credit",
            "debit_account_id": bank.issuance_id,
            "credit_account_id": wallet,
            "amount": "2.00",
            "description": POISON,
        });
        let before = bank.snapshot();
        bank.api
            .post("/v1/transfers", &body, Some(&key))
            .assert_problem(422, "not_recordable");
        assert_eq!(before, bank.snapshot(), "a refused act left a trace");
        let drop = match backend {
            Backend::Sqlite => "DROP TRIGGER poison",
            Backend::Postgres => "DROP TRIGGER poison ON transfers",
        };
        bank.db.execute(drop).unwrap();
        let r = bank.api.post("/v1/transfers", &body, Some(&key));
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(bank.posted(&wallet), "2.00");
        bank.assert_verified();
    }
}
