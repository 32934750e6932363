//! "Everything under this organisation" is answered in SQL for a city-sized
//! tree: thousands of organisations, callers with roles in several subtrees,
//! and pages that never leak a neighbour's rows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Bank, PASSWORD, fresh_key};
use serde_json::json;
use timebank::domain::Role;

/// Every id of a listing, page by page.
fn all_ids(api: &common::Api, path: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=7&cursor={c}"),
            None => format!("{path}{sep}limit=7"),
        };
        let r = api.get(&url);
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        for item in r.body["items"].as_array().unwrap() {
            assert!(ids.insert(item["id"].as_str().unwrap().to_string()));
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
}

/// Adds `n` communities under `parent` (whose path is `parent_path`) behind
/// the service's back, as a large city's tree would hold.
fn bulk_communities(bank: &Bank, parent: &str, parent_path: &str, n: usize) {
    let now = "2026-01-01 00:00:00";
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                let id = uuid::Uuid::now_v7();
                format!(
                    "('{id}', '{parent}', '{parent_path}{id}/', 'Community {i}', 'community', '{now}', '{now}')"
                )
            })
            .collect();
        bank.db
            .execute(&format!(
                "INSERT INTO organisations (id, parent_id, path, name, kind, created_at, updated_at) VALUES {}",
                rows.join(", ")
            ))
            .unwrap();
    }
}

fn account_in(bank: &Bank, organisation: &str, name: &str) -> String {
    let r = bank.api.post(
        "/v1/accounts",
        &json!({"ledger_id": bank.ledger_id, "organisation_id": organisation,
                "kind": "volunteer", "name": name}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

on_both_backends! {
    subtrees_are_joined_in_sql_at_city_scale(backend) {
        let bank = Bank::new(backend);
        let city = bank.organisation_id.clone();
        let north = bank.organisation("North District", "district", &city);
        let south = bank.organisation("South District", "district", &city);
        let east = bank.organisation("East District", "district", &city);
        let north_a = bank.organisation("North A", "community", &north);
        let south_a = bank.organisation("South A", "community", &south);
        let east_a = bank.organisation("East A", "community", &east);
        bulk_communities(&bank, &north, &format!("/{city}/{north}/"), 2_500);
        bulk_communities(&bank, &south, &format!("/{city}/{south}/"), 2_500);

        let mut expected_north = BTreeSet::new();
        let mut expected_south = BTreeSet::new();
        for i in 0..9 {
            expected_north.insert(account_in(&bank, &north_a, &format!("n{i}")));
            expected_south.insert(account_in(&bank, &south_a, &format!("s{i}")));
            account_in(&bank, &east_a, &format!("e{i}"));
        }
        let fund = |to: &str| bank.fund(to, "1.00");
        let north_transfers: BTreeSet<String> =
            expected_north.iter().take(3).map(|a| fund(a)).collect();
        let south_transfers: BTreeSet<String> =
            expected_south.iter().take(3).map(|a| fund(a)).collect();

        // A district coordinator sees their district's accounts and transfers,
        // and nothing of the neighbours'.
        let (_, north_token) = bank.person(Role::Coordinator, &north);
        let coordinator = bank.api.with_token(&north_token);
        assert_eq!(all_ids(&coordinator, "/v1/accounts"), expected_north);
        assert_eq!(all_ids(&coordinator, "/v1/transfers"), north_transfers);
        let orgs = all_ids(&coordinator, "/v1/organisations?kind=district");
        assert_eq!(orgs, BTreeSet::from([north.clone()]));

        // Roles in two subtrees: the union, still paged in id order.
        let username = format!("two-{}", fresh_key());
        let r = bank.api.post("/v1/users", &json!({
            "username": username, "password": PASSWORD,
            "roles": [{"role": "coordinator", "organisation_id": north},
                      {"role": "auditor", "organisation_id": south}],
        }), None);
        assert_eq!(r.status, 201, "{}", r.body);
        let token = bank.login(&username, PASSWORD)["access_token"].as_str().unwrap().to_string();
        let both = bank.api.with_token(&token);
        let union: BTreeSet<String> = expected_north.union(&expected_south).cloned().collect();
        assert_eq!(all_ids(&both, "/v1/accounts"), union);
        let transfers: BTreeSet<String> =
            north_transfers.union(&south_transfers).cloned().collect();
        assert_eq!(all_ids(&both, "/v1/transfers"), transfers);
    }
}

on_both_backends! {
    scoped_pages_follow_moves_filters_and_overlapping_roles(backend) {
        let bank = Bank::new(backend);
        let city = bank.organisation_id.clone();
        let north = bank.organisation("North District", "district", &city);
        let south = bank.organisation("South District", "district", &city);
        let north_a = bank.organisation("North A", "community", &north);
        let north_b = bank.organisation("North B", "community", &north);

        // Many wallets first, then the district's only partners: a page of
        // partners reads past several batches of the district's wallets.
        let mut wallets = BTreeSet::new();
        for i in 0..40 {
            let home = if i % 2 == 0 { &north_a } else { &north_b };
            wallets.insert(account_in(&bank, home, &format!("w{i}")));
        }
        let mut partners = BTreeSet::new();
        for i in 0..2 {
            let r = bank.api.post(
                "/v1/accounts",
                &json!({"ledger_id": bank.ledger_id, "organisation_id": north_b,
                        "kind": "partner", "name": format!("shop {i}")}),
                None,
            );
            assert_eq!(r.status, 201, "{}", r.body);
            partners.insert(r.id());
        }
        let (_, north_token) = bank.person(Role::Coordinator, &north);
        let coordinator = bank.api.with_token(&north_token);
        assert_eq!(all_ids(&coordinator, "/v1/accounts?kind=partner"), partners);
        let r = coordinator.get("/v1/accounts?kind=partner&limit=1");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
        assert!(r.body["next_cursor"].is_string());
        let everything: BTreeSet<String> = wallets.union(&partners).cloned().collect();
        assert_eq!(all_ids(&coordinator, "/v1/accounts"), everything);

        // Roles in a subtree and inside it: each account once.
        let username = format!("both-{}", fresh_key());
        let r = bank.api.post("/v1/users", &json!({
            "username": username, "password": PASSWORD,
            "roles": [{"role": "coordinator", "organisation_id": north},
                      {"role": "auditor", "organisation_id": north_a}],
        }), None);
        assert_eq!(r.status, 201, "{}", r.body);
        let token = bank.login(&username, PASSWORD)["access_token"].as_str().unwrap().to_string();
        assert_eq!(all_ids(&bank.api.with_token(&token), "/v1/accounts"), everything);

        // A volunteer reads their own wallet, whatever else the city holds.
        let (volunteer, volunteer_token) = bank.volunteer_login(&north_a);
        let wallet = volunteer["account_id"].as_str().unwrap().to_string();
        assert_eq!(
            all_ids(&bank.api.with_token(&volunteer_token), "/v1/accounts"),
            BTreeSet::from([wallet.clone()])
        );
        let mut everything = everything;
        everything.insert(wallet.clone());

        // A community moved to the other district takes its accounts along.
        let r = bank.api.patch(&format!("/v1/organisations/{north_a}"), &json!({"parent_id": south}));
        assert_eq!(r.status, 200, "{}", r.body);
        let (_, south_token) = bank.person(Role::Coordinator, &south);
        let south_coordinator = bank.api.with_token(&south_token);
        let in_a: BTreeSet<String> = all_ids(&south_coordinator, "/v1/accounts");
        assert_eq!(in_a.len(), 21, "{in_a:?}");
        assert!(in_a.contains(&wallet));
        let in_b: BTreeSet<String> = everything.difference(&in_a).cloned().collect();
        assert_eq!(all_ids(&coordinator, "/v1/accounts"), in_b);

        // A volunteer moved back to North B: their wallet follows.
        let id = volunteer["id"].as_str().unwrap();
        let r = bank.api.patch(&format!("/v1/volunteers/{id}"), &json!({"organisation_id": north_b}));
        assert_eq!(r.status, 200, "{}", r.body);
        let mut in_b = in_b;
        in_b.insert(wallet.clone());
        assert_eq!(all_ids(&coordinator, "/v1/accounts"), in_b);
        assert!(!all_ids(&south_coordinator, "/v1/accounts").contains(&wallet));
    }
}

on_both_backends! {
    a_scoped_transfer_page_reads_past_the_rest_of_the_city(backend) {
        // A community's transfers are rare among the city's: a page walks a
        // bounded stretch of the journal, then gathers the rest from the
        // community's own postings. Both halves must agree with the truth.
        let bank = Bank::new(backend);
        let city = bank.organisation_id.clone();
        let quiet = bank.organisation("Quiet Lane", "community", &city);
        let busy = bank.organisation("Busy Market", "community", &city);
        let mine = account_in(&bank, &quiet, "q");
        let theirs: Vec<String> = (0..8).map(|i| account_in(&bank, &busy, &format!("b{i}"))).collect();

        let mut expected = BTreeSet::from([bank.fund(&mine, "1.00")]);
        // More than one walk's worth of other people's transfers.
        std::thread::scope(|s| {
            for wallet in &theirs {
                let bank = &bank;
                s.spawn(move || {
                    for _ in 0..140 {
                        bank.fund(wallet, "0.01");
                    }
                });
            }
        });
        expected.insert(bank.fund(&mine, "2.00"));
        let spend = bank.transfer(&mine, &theirs[0], "0.50");
        assert_eq!(spend.status, 201, "{}", spend.body);
        expected.insert(spend.id());

        let (_, token) = bank.person(Role::Coordinator, &quiet);
        let coordinator = bank.api.with_token(&token);
        assert_eq!(all_ids(&coordinator, "/v1/transfers"), expected);
        let first = coordinator.get("/v1/transfers?limit=200");
        let listed: Vec<&str> = first.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed.len(), 3, "{}", first.body);
        assert!(listed.windows(2).all(|w| w[0] < w[1]), "in id order: {listed:?}");
        assert!(first.body["next_cursor"].is_null());
        // Filters still apply on both sides of the walk.
        let by_account = all_ids(&coordinator, &format!("/v1/transfers?account_id={mine}"));
        assert_eq!(by_account, expected);

        // The busy community's coordinator sees its 1,120 funding transfers
        // and the spend, paged without gaps or repeats.
        let (_, token) = bank.person(Role::Coordinator, &busy);
        let market = bank.api.with_token(&token);
        let seen = all_ids(&market, "/v1/transfers");
        assert_eq!(seen.len(), 8 * 140 + 1);
        assert!(seen.contains(&spend.id()));
    }
}
