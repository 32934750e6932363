//! Leaderboards: volunteers in scope ranked by credited hours or points per
//! month, year or all time; anonymised without consent; ties share a rank
//! in one stable order; reversed and unapproved service does not count. The
//! tallies behind them match the records under concurrent batches on two
//! processes and after kill -9, and are rebuilt when the time zone changes.
//! Each test runs on SQLite and, when `TIMEBANK_TEST_PG_URL` is set, on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, SecondsFormat, Timelike, Utc};
use serde_json::{Value, json};

use common::*;
use timebank::domain::Role;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A scheme offset that puts "now" near local noon, so service a few hours
/// ago lies in this local day, month and year whenever the test runs.
fn noon_offset() -> String {
    let hours = 12 - i64::from(Utc::now().hour());
    format!("{}{:02}:00", if hours < 0 { '-' } else { '+' }, hours.abs())
}

struct Place {
    id: String,
    coordinator: Api,
    activity: String,
}

fn place(bank: &Bank, name: &str) -> Place {
    let id = bank.organisation(name, "community", &bank.organisation_id);
    let (_, token) = bank.person(Role::Coordinator, &id);
    let activity = bank.api.post(
        "/v1/activities",
        &json!({"organisation_id": id, "name": format!("Tidying ({name})"), "category": "general"}),
        None,
    );
    assert_eq!(activity.status, 201, "{}", activity.body);
    Place {
        id,
        coordinator: bank.api.with_token(&token),
        activity: activity.id(),
    }
}

fn volunteer(bank: &Bank, place: &Place, name: &str, consent: bool) -> String {
    let r = bank.api.post(
        "/v1/volunteers",
        &json!({"name": name, "phone": format!("+86 137{:08}", rand_digits()),
                "organisation_id": place.id, "leaderboard_consent": consent}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

fn record(place: &Place, volunteer: &str, start: DateTime<Utc>, minutes: i64) -> Reply {
    let r = place.coordinator.post(
        "/v1/service-records",
        &json!({"volunteer_id": volunteer, "activity_id": place.activity,
                "started_at": rfc3339(start), "minutes": minutes}),
        Some(&fresh_key()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

/// (rank, volunteer id or null, minutes) of every place of the board.
fn board(api: &Api, query: &str) -> Vec<(i64, Value, i64)> {
    all_pages(api, &format!("/v1/leaderboards?{query}"))
        .iter()
        .map(|e| {
            (
                e["rank"].as_i64().unwrap(),
                e["volunteer_id"].clone(),
                e["hours"]["minutes"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn id(v: &str) -> Value {
    json!(v)
}

on_both_backends! {
    leaderboards_rank_in_scope_anonymise_and_share_ties(backend) {
        let offset = noon_offset();
        let mut bank = Bank::with_env(backend, &[("TIMEBANK_SERVICE_UTC_OFFSET", &offset)]);
        let green = place(&bank, "Green Lane");
        let river = place(&bank, "River Side");
        let a1 = volunteer(&bank, &green, "Li Wei", true);
        let a2 = volunteer(&bank, &green, "Zhang Min", false);
        let a3 = volunteer(&bank, &green, "王芳", true);
        let a4 = volunteer(&bank, &green, "Chen Jie", true);
        let b1 = volunteer(&bank, &river, "Zhao Lei", true);
        let now = Utc::now();
        let a1_record = record(&green, &a1, now - Duration::hours(4), 180).id();
        record(&green, &a2, now - Duration::hours(4), 180);
        record(&green, &a3, now - Duration::hours(2), 60);
        let long_ago = now - Duration::days(400);
        record(&green, &a4, long_ago, 240);
        record(&green, &a4, long_ago + Duration::hours(5), 240);
        record(&river, &b1, now - Duration::hours(5), 240);

        // The whole city this month: equal hours share a rank, in one order.
        let month = bank.api.get("/v1/leaderboards");
        assert_eq!(month.status, 200, "{}", month.body);
        assert_eq!((month.body["period"].as_str(), month.body["by"].as_str()), (Some("month"), Some("hours")));
        assert_eq!(month.body["period_key"].as_str().unwrap().len(), 7);
        assert_eq!(board(&bank.api, ""), vec![
            (1, id(&b1), 240), (2, id(&a1), 180), (2, Value::Null, 180), (4, id(&a3), 60),
        ]);
        let anonymous = &month.body["items"][2];
        assert_eq!((anonymous["anonymous"].as_bool(), anonymous["name"].clone()), (Some(true), Value::Null));
        assert_eq!(month.body["items"][1]["name"], "Li Wei");
        assert_eq!(month.body["items"][3]["points"], "10.00");
        // Pages of one keep the ranks and the order; so does asking again.
        assert_eq!(board(&bank.api, "limit=1"), board(&bank.api, ""));

        // One community, all time, by points; this year leaves the old service out.
        let all = format!("organisation={}&period=all", green.id);
        assert_eq!(board(&bank.api, &all), vec![
            (1, id(&a4), 480), (2, id(&a1), 180), (2, Value::Null, 180), (4, id(&a3), 60),
        ]);
        let by_points = bank.api.get(&format!("/v1/leaderboards?{all}&by=points"));
        assert_eq!(by_points.body["items"][0]["points"], "80.00", "{}", by_points.body);
        let year = board(&bank.api, &format!("organisation={}&period=year", green.id));
        assert_eq!(year.iter().map(|p| p.2).collect::<Vec<_>>(), vec![180, 180, 60]);

        // A coordinator sees their own subtree; another is not disclosed.
        assert_eq!(board(&green.coordinator, "period=all").len(), 4);
        green.coordinator.get(&format!("/v1/leaderboards?organisation={}", river.id)).assert_problem(404, "not_found");
        bank.api.get(&format!("/v1/leaderboards?organisation={}", uuid::Uuid::now_v7())).assert_problem(404, "not_found");
        // A volunteer sees themselves by name, even without consent.
        let (me, token) = bank.volunteer_login(&green.id);
        let me_id = me["id"].as_str().unwrap().to_string();
        record(&green, &me_id, now - Duration::hours(3), 15);
        let mine = bank.api.with_token(&token).get("/v1/leaderboards");
        assert_eq!(mine.status, 200, "{}", mine.body);
        let last = mine.body["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["you"].as_bool(), last["volunteer_id"].as_str()), (Some(true), Some(me_id.as_str())));
        assert_eq!(mine.body["items"][0]["volunteer_id"], id(&a1), "only their own community: {}", mine.body);
        bank.as_role(Role::PartnerStaff).get("/v1/leaderboards").assert_problem(403, "forbidden");

        // Hostile and malformed queries.
        bank.api.get("/v1/leaderboards?period=week").assert_problem(400, "validation_failed");
        bank.api.get("/v1/leaderboards?by=stars").assert_problem(400, "validation_failed");
        bank.api.get("/v1/leaderboards?limit=0").assert_invalid("limit");
        bank.api.get("/v1/leaderboards?cursor=%00").assert_invalid("cursor");
        bank.api.get(&format!("/v1/leaderboards?cursor={}", "9".repeat(10_000))).assert_invalid("cursor");
        bank.api.get(&format!("/v1/leaderboards?cursor=-5.{a1}.1.1")).assert_invalid("cursor");

        // A reversed record leaves the board; service waiting for approval
        // counts only once approved.
        let r = green.coordinator.post(&format!("/v1/service-records/{a1_record}/reverse"),
            &json!({"reason": "recorded twice"}), Some(&fresh_key()));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(board(&bank.api, &format!("organisation={}", green.id)), vec![
            (1, Value::Null, 180), (2, id(&a3), 60), (3, Value::Null, 15),
        ]);
        let pending = green.coordinator.post(
            "/v1/service-records",
            &json!({"volunteer_id": a3, "activity_id": green.activity,
                    "started_at": rfc3339(now - Duration::days(20)), "minutes": 540}),
            Some(&fresh_key()),
        );
        assert_eq!(pending.body["status"], "pending_approval", "{}", pending.body);
        let all_time = |bank: &Bank| board(&bank.api, &format!("organisation={}&period=all", green.id));
        assert_eq!(all_time(&bank)[2], (3, id(&a3), 60));
        let (_, checker) = bank.person(Role::Coordinator, &green.id);
        let ok = bank.api.with_token(&checker).post(&format!("/v1/service-records/{}/approve", pending.id()),
            &json!({}), Some(&fresh_key()));
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(all_time(&bank)[0], (1, id(&a3), 600));

        // Another time zone: the tallies are summed again on start, and all
        // time reads the same.
        let before = all_time(&bank);
        bank.server.kill9();
        bank.server = Server::start_with(&bank.db, &[("TIMEBANK_SERVICE_UTC_OFFSET", "-11:00")]);
        bank.api = Api::new(&bank.server.base, bank.api.token.clone());
        assert_eq!(all_time(&bank), before);
        bank.assert_verified();
    }
}

/// Each volunteer's all-time minutes on the board and in their summary
/// (which sums their records) agree, for every volunteer.
fn assert_tallies_match(bank: &Bank, volunteers: &[String]) {
    let board: std::collections::HashMap<String, i64> =
        all_pages(&bank.api, "/v1/leaderboards?period=all&limit=200")
            .iter()
            .map(|e| {
                (
                    e["volunteer_id"].as_str().unwrap().to_string(),
                    e["hours"]["minutes"].as_i64().unwrap(),
                )
            })
            .collect();
    for v in volunteers {
        let summary = bank.api.get(&format!("/v1/volunteers/{v}/summary"));
        let minutes = summary.body["hours_total"]["minutes"].as_i64().unwrap();
        assert_eq!(board.get(v).copied().unwrap_or(0), minutes, "volunteer {v}");
    }
}

on_both_backends! {
    tallies_match_the_records_across_processes_and_kill9(backend) {
        let mut bank = Bank::new(backend);
        let green = place(&bank, "Green Lane");
        let people: Vec<String> = (0..12).map(|i| volunteer(&bank, &green, &format!("V{i}"), true)).collect();
        let mut second = Server::start(&bank.db);
        let other = Api::new(&second.base, green.coordinator.token.clone());
        // Eight clients, each its own days: the same volunteers, no overlap.
        let batches: Vec<Vec<Value>> = (0..8)
            .map(|c| {
                let day = Utc::now() - Duration::days(30 + c);
                (0..40)
                    .map(|i| json!({"volunteer_id": people[i % people.len()], "activity_id": green.activity,
                                    "started_at": rfc3339(day + Duration::minutes(45 * i as i64)),
                                    "minutes": 15 + 15 * (i % 2), "client_id": uuid::Uuid::now_v7().to_string()}))
                    .collect()
            })
            .collect();
        let send = |api: &Api, records: &[Value]| api.post("/v1/service-records/batch", &json!({"records": records}), None);
        in_parallel(8, |c| {
            let api = if c % 2 == 0 { &green.coordinator } else { &other };
            let r = send(api, &batches[c]);
            assert_eq!(r.status, 200, "{}", r.body);
        });
        assert_tallies_match(&bank, &people);

        // kill -9 while batches are in flight, then every client sends again.
        let more: Vec<Vec<Value>> = (0..4)
            .map(|c| {
                let day = Utc::now() - Duration::days(60 + c);
                (0..40)
                    .map(|i| json!({"volunteer_id": people[i % people.len()], "activity_id": green.activity,
                                    "started_at": rfc3339(day + Duration::minutes(45 * i as i64)),
                                    "minutes": 30, "client_id": uuid::Uuid::now_v7().to_string()}))
                    .collect()
            })
            .collect();
        std::thread::scope(|s| {
            let inflight: Vec<_> = more
                .iter()
                .map(|records| {
                    let api = &green.coordinator;
                    s.spawn(move || send(api, records).status)
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(30));
            second.kill9();
            bank.server.kill9();
            // A client cut off by the kill panics in `send`: it retries below.
            for client in inflight {
                let _ = client.join();
            }
        });
        bank.restart();
        let coordinator = bank.api.with_token(green.coordinator.token.as_deref().unwrap());
        for records in &more {
            let r = send(&coordinator, records);
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["created"].as_i64().unwrap() + r.body["found"].as_i64().unwrap(), 40, "{}", r.body);
        }
        assert_tallies_match(&bank, &people);
        let total: i64 = board(&bank.api, "period=all&limit=200").iter().map(|p| p.2).sum();
        assert_eq!(total, 8 * 20 * (15 + 30) + 4 * 40 * 30);
        bank.assert_verified();
    }
}
