//! Volunteer service into points: activities, earning rules, service records
//! and the volunteer's summary. A record and its credit commit together, the
//! caps and the no-overlap rule hold under concurrency (one process or two),
//! an answered record survives kill -9, and every refusal leaves no trace.
//! Each test runs on SQLite and, when `TIMEBANK_TEST_PG_URL` is set, on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

use common::*;
use timebank::domain::Role;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Midnight UTC `days` ago.
fn day(days: i64) -> DateTime<Utc> {
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    today - Duration::days(days)
}

/// A community under the root with a coordinator, an activity and a
/// volunteer: what every test here starts from.
struct Community {
    id: String,
    coordinator: Api,
    activity: String,
}

impl Community {
    fn new(bank: &Bank, name: &str) -> Self {
        let id = bank.organisation(name, "community", &bank.organisation_id);
        let (_, token) = bank.person(Role::Coordinator, &id);
        let activity = bank.api.post(
            "/v1/activities",
            &json!({"organisation_id": id, "name": format!("Visiting ({name})"), "category": "elderly_care"}),
            None,
        );
        assert_eq!(activity.status, 201, "activity: {}", activity.body);
        Self {
            id,
            coordinator: bank.api.with_token(&token),
            activity: activity.id(),
        }
    }

    /// A registered volunteer of the community: (volunteer id, wallet id).
    fn volunteer(&self, bank: &Bank) -> (String, String) {
        let r = bank.api.post(
            "/v1/volunteers",
            &json!({
                "name": "王芳",
                "phone": format!("+86 139{:08}", rand_digits()),
                "organisation_id": self.id,
            }),
            None,
        );
        assert_eq!(r.status, 201, "volunteer: {}", r.body);
        (r.id(), r.body["account_id"].as_str().unwrap().to_string())
    }

    fn record(&self, volunteer: &str, start: DateTime<Utc>, minutes: i64) -> Reply {
        self.coordinator.post(
            "/v1/service-records",
            &json!({
                "volunteer_id": volunteer,
                "activity_id": self.activity,
                "started_at": rfc3339(start),
                "ended_at": rfc3339(start + Duration::minutes(minutes)),
            }),
            Some(&fresh_key()),
        )
    }
}

fn records_of(api: &Api, volunteer: &str) -> Vec<Value> {
    all_pages(
        api,
        &format!("/v1/service-records?volunteer_id={volunteer}&limit=200"),
    )
}

/// Every hours-credit transfer of the ledger.
fn hours_credits(bank: &Bank) -> Vec<Value> {
    all_pages(
        &bank.api,
        &format!(
            "/v1/transfers?ledger_id={}&kind=hours_credit&limit=200",
            bank.ledger_id
        ),
    )
}

on_both_backends! {
    service_is_priced_recorded_and_credited(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let (volunteer, wallet) = place.volunteer(&bank);
        let start = day(3) + Duration::hours(1);

        // The defaults: 10 points an hour, counted in quarter hours.
        let r = place.record(&volunteer, start, 97);
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["minutes"], 90);
        assert_eq!(r.body["hours"], "1.50");
        assert_eq!(r.body["points"], "15.00");
        assert_eq!(r.body["balance"], "15.00");
        assert_eq!(r.body["status"], "credited");
        assert_eq!(r.body["earning_rule_id"], Value::Null);
        let id = r.id();
        assert_eq!(r.header("location"), Some(format!("/v1/service-records/{id}").as_str()));

        // The record and its transfer name each other.
        let transfer = bank.api.get(&format!("/v1/transfers/{}", r.body["transfer_id"].as_str().unwrap()));
        assert_eq!(transfer.status, 200);
        assert_eq!(transfer.body["kind"], "hours_credit");
        assert_eq!(transfer.body["external_ref"], format!("service-record:{id}"));
        assert_eq!(transfer.body["metadata"]["service_record_id"], id.as_str());
        assert_eq!(transfer.body["metadata"]["minutes"], 90);
        assert_eq!(transfer.body["event_time"], rfc3339(start + Duration::minutes(97)));
        assert_eq!(bank.posted(&wallet), "15.00");

        let got = place.coordinator.get(&format!("/v1/service-records/{id}"));
        assert_eq!(got.status, 200);
        assert_eq!(got.body["points"], "15.00");
        assert_eq!(records_of(&place.coordinator, &volunteer).len(), 1);

        // `minutes` instead of `ended_at`.
        let r = place.coordinator.post(
            "/v1/service-records",
            &json!({"volunteer_id": volunteer, "activity_id": place.activity,
                    "started_at": rfc3339(start + Duration::hours(3)), "minutes": 60,
                    "note": "换灯泡，陪聊天"}),
            Some(&fresh_key()),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["note"], "换灯泡，陪聊天");
        assert_eq!(r.body["balance"], "25.00");

        // Spending points never lowers the hours.
        let shop = bank.open_account("partner", "Points supermarket");
        let spent = bank.api.post(
            "/v1/transfers",
            &json!({"kind": "redemption", "debit_account_id": wallet, "credit_account_id": shop, "amount": "20.00"}),
            Some(&fresh_key()),
        );
        assert_eq!(spent.status, 201, "{}", spent.body);
        let summary = place.coordinator.get(&format!("/v1/volunteers/{volunteer}/summary"));
        assert_eq!(summary.status, 200, "{}", summary.body);
        assert_eq!(summary.body["hours_total"]["minutes"], 150);
        assert_eq!(summary.body["hours_total"]["hours"], "2.50");
        assert_eq!(summary.body["points_earned"], "25.00");
        assert_eq!(summary.body["points_spent"], "20.00");
        assert_eq!(summary.body["balance"], "5.00");
        assert_eq!(summary.body["stars"], 0);
        assert_eq!(summary.body["next_star_at_hours"], 100);

        // Another community's coordinator sees none of it.
        let other = Community::new(&bank, "Far Away");
        other.coordinator.get(&format!("/v1/service-records/{id}")).assert_problem(404, "not_found");
        other.coordinator.get(&format!("/v1/volunteers/{volunteer}/summary")).assert_problem(404, "not_found");
        assert!(records_of(&other.coordinator, &volunteer).is_empty());
        bank.assert_verified();
    }

    rules_are_versioned_and_never_reprice_the_past(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let (early, _) = place.volunteer(&bank);
        let (later, _) = place.volunteer(&bank);
        let (festival, _) = place.volunteer(&bank);
        let rule = |body: Value| bank.api.post("/v1/earning-rules", &body, Some(&fresh_key()));

        let v1 = rule(json!({
            "ledger_id": bank.ledger_id, "category": "elderly_care", "points_per_hour": "12",
            "min_unit_minutes": 1, "effective_from": rfc3339(Utc::now() - Duration::seconds(50)),
        }));
        assert_eq!(v1.status, 201, "{}", v1.body);
        assert_eq!(v1.body["version"], 1);
        assert_eq!(v1.body["points_per_hour"], "12.00");
        assert_eq!(v1.body["max_minutes_per_day"], 720, "kept from the defaults");

        // Service before the version took effect keeps the defaults.
        let old = place.record(&early, day(2), 60);
        assert_eq!(old.status, 201, "{}", old.body);
        assert_eq!(old.body["points"], "10.00");
        assert_eq!(old.body["earning_rule_id"], Value::Null);

        // Service after it is priced by it.
        let now = place.record(&later, Utc::now() - Duration::seconds(40), 2);
        assert_eq!(now.status, 201, "{}", now.body);
        assert_eq!(now.body["points"], "0.40");
        assert_eq!(now.body["earning_rule_id"], v1.body["id"]);
        let transfer = bank.api.get(&format!("/v1/transfers/{}", now.body["transfer_id"].as_str().unwrap()));
        assert_eq!(transfer.body["metadata"]["earning_rule_id"], v1.body["id"]);
        assert_eq!(transfer.body["metadata"]["earning_rule_version"], 1);

        // A version may not start in the past, nor before the one it follows.
        rule(json!({"ledger_id": bank.ledger_id, "category": "elderly_care", "points_per_hour": "50",
                    "effective_from": rfc3339(day(1))}))
            .assert_invalid("effective_from");

        // A campaign doubles the rate inside its window.
        let v2 = rule(json!({
            "ledger_id": bank.ledger_id, "category": "elderly_care",
            "effective_from": rfc3339(Utc::now() - Duration::seconds(45)),
            "campaign": {"multiplier": "2", "from": rfc3339(Utc::now() - Duration::minutes(1)),
                         "until": rfc3339(Utc::now() + Duration::hours(1))},
        }));
        assert_eq!(v2.status, 201, "{}", v2.body);
        assert_eq!(v2.body["version"], 2);
        assert_eq!(v2.body["points_per_hour"], "12.00", "kept from version 1");
        assert_eq!(v2.body["min_unit_minutes"], 1);
        let doubled = place.record(&festival, Utc::now() - Duration::seconds(20), 2);
        assert_eq!(doubled.status, 201, "{}", doubled.body);
        assert_eq!(doubled.body["points"], "0.80");
        assert_eq!(doubled.body["earning_rule_id"], v2.body["id"]);

        // Nothing recorded earlier changed.
        let again = place.coordinator.get(&format!("/v1/service-records/{}", now.id()));
        assert_eq!(again.body["points"], "0.40");
        let versions = bank.api.get(&format!("/v1/earning-rules?ledger_id={}", bank.ledger_id));
        assert_eq!(versions.status, 200);
        assert_eq!(versions.body["items"].as_array().unwrap().len(), 2);

        // A general rule prices categories without one of their own.
        let garden = bank.api.post(
            "/v1/activities",
            &json!({"organisation_id": place.id, "name": "Garden", "category": "greening"}),
            None,
        );
        assert_eq!(garden.status, 201);
        let general = rule(json!({"ledger_id": bank.ledger_id, "points_per_hour": "6", "min_unit_minutes": 1,
                                  "effective_from": rfc3339(Utc::now() - Duration::seconds(30))}));
        assert_eq!(general.status, 201, "{}", general.body);
        assert_eq!(general.body["category"], "*");
        let (gardener, _) = place.volunteer(&bank);
        let r = place.coordinator.post(
            "/v1/service-records",
            &json!({"volunteer_id": gardener, "activity_id": garden.id(),
                    "started_at": rfc3339(Utc::now() - Duration::seconds(20)), "minutes": 2}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["points"], "0.20");
        bank.assert_verified();
    }

    refusals_leave_no_trace(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let other = Community::new(&bank, "Far Away");
        let (volunteer, wallet) = place.volunteer(&bank);
        let (stranger, _) = other.volunteer(&bank);
        let (resting, _) = place.volunteer(&bank);
        let patched = bank.api.patch(&format!("/v1/volunteers/{resting}"), &json!({"status": "suspended"}));
        assert_eq!(patched.status, 200, "{}", patched.body);
        let retired = bank.api.post(
            "/v1/activities",
            &json!({"organisation_id": place.id, "name": "Retired", "category": "general"}),
            None,
        );
        bank.api.patch(&format!("/v1/activities/{}", retired.id()), &json!({"active": false}));
        let start = day(5) + Duration::hours(2);
        let first = place.record(&volunteer, start, 120);
        assert_eq!(first.status, 201, "{}", first.body);
        let client_id = uuid::Uuid::now_v7().to_string();
        let with_client = json!({"volunteer_id": volunteer, "activity_id": place.activity,
            "started_at": rfc3339(day(6)), "minutes": 60, "client_id": client_id});
        assert_eq!(place.coordinator.post("/v1/service-records", &with_client, None).status, 201);

        let outsiders: Vec<Api> = [Role::Auditor, Role::PartnerStaff, Role::Volunteer]
            .into_iter()
            .map(|role| bank.as_role(role))
            .collect();
        let before = bank.snapshot();
        let records_before = records_of(&bank.api, &volunteer).len();
        let body = |changes: Value| {
            let mut b = json!({"volunteer_id": volunteer, "activity_id": place.activity,
                               "started_at": rfc3339(day(4)), "ended_at": rfc3339(day(4) + Duration::hours(1))});
            for (k, v) in changes.as_object().unwrap() {
                if v.is_null() { b.as_object_mut().unwrap().remove(k); } else { b[k] = v.clone(); }
            }
            b
        };
        let post = |api: &Api, b: Value| api.post("/v1/service-records", &b, Some(&fresh_key()));
        let c = &place.coordinator;
        let future = Utc::now() + Duration::hours(1);

        post(c, body(json!({"ended_at": null, "minutes": 0}))).assert_invalid("minutes");
        post(c, body(json!({"ended_at": rfc3339(day(4) - Duration::hours(1))}))).assert_invalid("ended_at");
        post(c, body(json!({"ended_at": rfc3339(day(4))}))).assert_invalid("ended_at");
        post(c, body(json!({"ended_at": rfc3339(day(4) + Duration::hours(25))}))).assert_invalid("ended_at");
        post(c, body(json!({"ended_at": null, "minutes": -5}))).assert_problem(400, "validation_failed");
        post(c, body(json!({"ended_at": null, "minutes": 100000}))).assert_invalid("minutes");
        post(c, body(json!({"minutes": 60}))).assert_invalid("minutes");
        post(c, body(json!({"ended_at": null}))).assert_invalid("ended_at");
        post(c, body(json!({"started_at": rfc3339(future), "ended_at": rfc3339(future + Duration::hours(1))})))
            .assert_invalid("ended_at");
        post(c, body(json!({"volunteer_id": stranger}))).assert_invalid("volunteer_id");
        post(c, body(json!({"activity_id": other.activity}))).assert_invalid("activity_id");
        post(c, body(json!({"activity_id": retired.id()}))).assert_invalid("activity_id");
        post(c, body(json!({"organisation_id": other.id}))).assert_invalid("organisation_id");
        post(c, body(json!({"volunteer_id": uuid::Uuid::now_v7().to_string()}))).assert_invalid("volunteer_id");
        post(c, body(json!({"volunteer_id": resting}))).assert_problem(422, "volunteer_inactive");
        post(c, body(json!({"note": "a\u{0}b"}))).assert_problem(400, "validation_failed");
        post(c, body(json!({"note": "x".repeat(2000)}))).assert_invalid("note");
        post(c, body(json!({"points": "99.00"}))).assert_problem(400, "validation_failed");
        post(c, body(json!({"started_at": "yesterday"}))).assert_problem(400, "validation_failed");
        post(c, body(json!({"client_id": "not-a-uuid"}))).assert_problem(400, "validation_failed");
        // Overlap, the unit and the caps.
        post(c, body(json!({"started_at": rfc3339(start + Duration::minutes(119)),
                             "ended_at": rfc3339(start + Duration::minutes(180))})))
            .assert_problem(409, "overlapping_service");
        post(c, body(json!({"ended_at": rfc3339(day(4) + Duration::minutes(14))}))).assert_problem(422, "service_too_short");
        post(c, body(json!({"ended_at": rfc3339(day(4) + Duration::hours(13))}))).assert_problem(422, "service_cap_exceeded");
        post(c, body(json!({"started_at": rfc3339(start + Duration::hours(3)),
                             "ended_at": rfc3339(start + Duration::hours(14))})))
            .assert_problem(422, "service_cap_exceeded");
        // The same client id for other service.
        let mut reused = with_client.clone();
        reused["minutes"] = json!(90);
        c.post("/v1/service-records", &reused, None).assert_problem(422, "client_id_reused");
        // Roles that do not record service.
        for outsider in &outsiders {
            post(outsider, body(json!({}))).assert_problem(403, "forbidden");
        }
        // Rules: precision beyond the ledger, bounds, bad categories, not an admin.
        let rule = |b: Value| bank.api.post("/v1/earning-rules", &b, None);
        rule(json!({"ledger_id": bank.ledger_id, "points_per_hour": "1.001"})).assert_invalid("points_per_hour");
        assert_eq!(rule(json!({"ledger_id": bank.ledger_id, "points_per_hour": 12})).status, 400);
        rule(json!({"ledger_id": bank.ledger_id, "min_unit_minutes": 0})).assert_invalid("min_unit_minutes");
        rule(json!({"ledger_id": bank.ledger_id, "max_minutes_per_day": 1441})).assert_invalid("max_minutes_per_day");
        rule(json!({"ledger_id": bank.ledger_id, "category": "Ｅlderly"})).assert_invalid("category");
        rule(json!({"ledger_id": bank.ledger_id, "campaign": {"multiplier": "0.5", "from": rfc3339(day(1)), "until": rfc3339(day(0))}}))
            .assert_invalid("campaign.multiplier");
        rule(json!({"ledger_id": bank.ledger_id, "campaign": {"multiplier": "2", "from": rfc3339(day(0)), "until": rfc3339(day(1))}}))
            .assert_invalid("campaign.until");
        rule(json!({"ledger_id": uuid::Uuid::now_v7().to_string()})).assert_invalid("ledger_id");
        place.coordinator.post("/v1/earning-rules", &json!({"ledger_id": bank.ledger_id}), None)
            .assert_problem(403, "forbidden");
        let activity = |b: Value| bank.api.post("/v1/activities", &b, None);
        activity(json!({"organisation_id": place.id, "name": "x", "category": "has space"})).assert_invalid("category");
        activity(json!({"organisation_id": place.id, "name": "  ", "category": "general"})).assert_invalid("name");
        activity(json!({"organisation_id": place.id, "name": "Retired", "category": "general"})).assert_problem(409, "conflict");
        place.coordinator.post("/v1/activities", &json!({"organisation_id": place.id, "name": "Mine", "category": "general"}), None)
            .assert_problem(403, "forbidden");

        assert_eq!(bank.snapshot(), before, "a refusal moved the books");
        assert_eq!(records_of(&bank.api, &volunteer).len(), records_before);
        let rules = bank.api.get(&format!("/v1/earning-rules?ledger_id={}", bank.ledger_id));
        assert!(rules.body["items"].as_array().unwrap().is_empty());
        assert_eq!(bank.posted(&wallet), "30.00");
        bank.assert_verified();
    }

    overlaps_and_caps_hold_under_concurrency(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let (volunteer, wallet) = place.volunteer(&bank);
        let (server, second) = {
            let server = Server::start(&bank.db);
            let api = Api::new(&server.base, place.coordinator.token.clone());
            (server, api)
        };
        let apis = [place.coordinator.clone(), second];
        let post = |api: &Api, start: DateTime<Utc>, minutes: i64| {
            api.post(
                "/v1/service-records",
                &json!({"volunteer_id": volunteer, "activity_id": place.activity,
                        "started_at": rfc3339(start), "minutes": minutes}),
                Some(&fresh_key()),
            )
        };

        // Sixteen clients over two processes record the same hour: one wins.
        let same = day(10) + Duration::hours(3);
        let statuses = in_parallel(16, |i| {
            let r = post(&apis[i % 2], same + Duration::minutes(i as i64), 60);
            if r.status != 201 { r.assert_problem(409, "overlapping_service"); }
            r.status
        });
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");

        // Twenty separate hours of one day against a 12-hour cap: exactly 12.
        // The scheme's day is China's (UTC+8): it starts at 16:00 UTC.
        let local_midnight = day(20) - Duration::hours(8);
        let statuses = in_parallel(20, |i| {
            let r = post(&apis[i % 2], local_midnight + Duration::hours(i as i64), 60);
            if r.status != 201 { r.assert_problem(422, "service_cap_exceeded"); }
            r.status
        });
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 12, "{statuses:?}");

        let records = records_of(&bank.api, &volunteer);
        assert_eq!(records.len(), 13);
        let minutes: i64 = records.iter().map(|r| r["minutes"].as_i64().unwrap()).sum();
        assert_eq!(minutes, 13 * 60);
        assert_eq!(bank.posted(&wallet), "130.00");
        assert_eq!(hours_credits(&bank).len(), 13, "one credit per record, no more");
        drop(server);
        bank.assert_verified();
    }

    client_ids_credit_once_under_retries_and_races(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let (volunteer, wallet) = place.volunteer(&bank);
        let body = json!({"volunteer_id": volunteer, "activity_id": place.activity,
            "started_at": rfc3339(day(2)), "minutes": 60, "client_id": uuid::Uuid::now_v7().to_string()});
        let replies = in_parallel(8, |_| place.coordinator.post("/v1/service-records", &body, None));
        let made: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
        assert_eq!(made.len(), 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
        let id = made[0].id();
        for r in &replies {
            assert!(r.status == 201 || r.status == 200, "{}", r.body);
            assert_eq!(r.id(), id);
            assert_eq!(r.header("location"), Some(format!("/v1/service-records/{id}").as_str()));
        }
        // A retry much later, as an offline phone would send it.
        let again = place.coordinator.post("/v1/service-records", &body, None);
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.id(), id);
        assert_eq!(bank.posted(&wallet), "10.00");
        assert_eq!(records_of(&bank.api, &volunteer).len(), 1);
        // And with an Idempotency-Key: replayed byte for byte.
        let key = fresh_key();
        let mut keyed = body.clone();
        keyed["client_id"] = json!(uuid::Uuid::now_v7().to_string());
        keyed["started_at"] = json!(rfc3339(day(3)));
        let first = place.coordinator.post("/v1/service-records", &keyed, Some(&key));
        let replay = place.coordinator.post("/v1/service-records", &keyed, Some(&key));
        assert_eq!(first.status, 201);
        assert_eq!((replay.status, replay.text.as_str()), (201, first.text.as_str()));
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        assert_eq!(bank.posted(&wallet), "20.00");
        bank.assert_verified();
    }

    answered_service_survives_sigkill(backend) {
        let mut bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let volunteers: Vec<String> = (0..6).map(|_| place.volunteer(&bank).0).collect();
        let base = bank.server.base.clone();
        let token = place.coordinator.token.clone().unwrap();
        let answered = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let deadline = Instant::now() + StdDuration::from_secs(3);
        let first_day = Utc.with_ymd_and_hms(2020, 1, 1, 2, 0, 0).unwrap();
        std::thread::scope(|s| {
            for (t, volunteer) in volunteers.iter().enumerate() {
                let (base, token, answered, stop, activity) = (&base, &token, &answered, &stop, &place.activity);
                s.spawn(move || {
                    let http = reqwest::blocking::Client::builder().timeout(StdDuration::from_secs(20)).build().unwrap();
                    let mut n = 0i64;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        // One record a day, so no cap or overlap refuses any.
                        let start = first_day + Duration::days(n);
                        n += 1;
                        let sent = http
                            .post(format!("{base}/v1/service-records"))
                            .bearer_auth(token)
                            .header("Idempotency-Key", fresh_key())
                            .json(&json!({"volunteer_id": volunteer, "activity_id": activity,
                                          "started_at": rfc3339(start), "minutes": 30 + t as i64}))
                            .send()
                            .and_then(|r| Ok((r.status().as_u16(), r.json::<Value>()?)));
                        match sent {
                            Ok((201, reply)) => answered.lock().unwrap().push(reply),
                            Ok((status, reply)) => panic!("unexpected {status}: {reply}"),
                            Err(_) => break,
                        }
                    }
                });
            }
            std::thread::sleep(StdDuration::from_millis(1500));
            bank.server.kill9();
            stop.store(true, Ordering::Relaxed);
        });
        let answered = answered.into_inner().unwrap();
        assert!(!answered.is_empty(), "nothing was answered before the kill");

        bank.restart();
        for reply in &answered {
            let record = bank.api.get(&format!("/v1/service-records/{}", reply["id"].as_str().unwrap()));
            assert_eq!(record.status, 200, "an answered record is gone: {reply}");
            assert_eq!(record.body["points"], reply["points"]);
            let transfer = bank.api.get(&format!("/v1/transfers/{}", reply["transfer_id"].as_str().unwrap()));
            assert_eq!(transfer.status, 200, "an answered credit is gone: {reply}");
        }
        // No record without its credit, no credit without its record.
        let records: usize = volunteers.iter().map(|v| records_of(&bank.api, v).len()).sum();
        let credits = hours_credits(&bank);
        assert_eq!(records, credits.len());
        assert!(records >= answered.len());
        for credit in &credits {
            let id = credit["metadata"]["service_record_id"].as_str().unwrap();
            assert_eq!(bank.api.get(&format!("/v1/service-records/{id}")).status, 200);
        }
        bank.assert_verified();
    }
}

fn batch_record(place: &Community, volunteer: &str, start: DateTime<Utc>, minutes: i64) -> Value {
    json!({"volunteer_id": volunteer, "activity_id": place.activity, "started_at": rfc3339(start),
           "minutes": minutes, "client_id": uuid::Uuid::now_v7().to_string()})
}

fn send_batch(api: &Api, records: &[Value]) -> Reply {
    api.post(
        "/v1/service-records/batch",
        &json!({"records": records}),
        None,
    )
}

on_both_backends! {
    a_batch_records_each_on_its_own(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let (a, wallet_a) = place.volunteer(&bank);
        let (b, wallet_b) = place.volunteer(&bank);
        let mut records = vec![
            batch_record(&place, &a, day(3), 60),
            batch_record(&place, &b, day(3), 90),
            batch_record(&place, &a, day(3) + Duration::minutes(30), 60),
        ];
        let mut unknown = batch_record(&place, &b, day(4), 60);
        unknown["bogus"] = json!(1);
        records.push(unknown);
        let mut anonymous = batch_record(&place, &b, day(5), 60);
        anonymous.as_object_mut().unwrap().remove("client_id");
        records.push(anonymous);
        records.push(records[0].clone());
        let mut nul = batch_record(&place, &b, day(6), 60);
        nul["note"] = json!("\u{0}");
        records.push(nul);
        records.push(batch_record(&place, &a, day(2), 60));

        let r = send_batch(&place.coordinator, &records);
        assert_eq!(r.status, 200, "{}", r.body);
        let statuses: Vec<i64> = r.body["results"].as_array().unwrap().iter().map(|i| i["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses, vec![201, 201, 409, 400, 400, 200, 400, 201]);
        let results = &r.body["results"];
        assert_eq!(results[2]["problem"]["code"], "overlapping_service");
        assert_eq!(results[3]["problem"]["errors"][0]["field"], "records[3].bogus");
        assert_eq!(results[4]["problem"]["errors"][0]["field"], "client_id");
        assert_eq!(results[5]["record"]["id"], results[0]["record"]["id"]);
        assert_eq!((r.body["created"].as_i64(), r.body["found"].as_i64(), r.body["refused"].as_i64()), (Some(3), Some(1), Some(4)));
        assert_eq!(results[0]["client_id"], records[0]["client_id"]);
        assert_eq!(bank.posted(&wallet_a), "20.00");
        assert_eq!(bank.posted(&wallet_b), "15.00");

        // The phone sends it all again: nothing is credited twice.
        let again = send_batch(&place.coordinator, &records);
        let statuses: Vec<i64> = again.body["results"].as_array().unwrap().iter().map(|i| i["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses, vec![200, 200, 409, 400, 400, 200, 400, 200]);
        assert_eq!(bank.posted(&wallet_a), "20.00");
        assert_eq!(bank.posted(&wallet_b), "15.00");

        // Over the limit, empty, or not a batch: refused whole, nothing recorded.
        let before = bank.snapshot();
        let many: Vec<Value> = (0..501).map(|i| batch_record(&place, &b, day(30 + i), 60)).collect();
        send_batch(&place.coordinator, &many).assert_invalid("records");
        send_batch(&place.coordinator, &[]).assert_invalid("records");
        // Something that is not a record at all makes the batch malformed.
        let mut odd = records.clone();
        odd.push(json!("not a record"));
        send_batch(&place.coordinator, &odd).assert_invalid("records[8]");
        place.coordinator.post("/v1/service-records/batch", &json!([records[0]]), None).assert_problem(400, "validation_failed");
        send_batch(&bank.as_role(Role::Auditor), &records[..1]).assert_problem(403, "forbidden");
        // The batch's path is not a record's id: other methods are 405.
        let wrong = place.coordinator.get("/v1/service-records/batch");
        wrong.assert_problem(405, "method_not_allowed");
        assert_eq!(wrong.header("allow"), Some("POST"));
        assert_eq!(bank.snapshot(), before);
        bank.assert_verified();
    }

    two_phones_syncing_one_batch_credit_each_record_once(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let volunteers: Vec<(String, String)> = (0..5).map(|_| place.volunteer(&bank)).collect();
        let records: Vec<Value> = (0..60)
            .map(|i| batch_record(&place, &volunteers[i % 5].0, day(40 + i as i64), 60))
            .collect();
        let (server, second) = {
            let server = Server::start(&bank.db);
            let api = Api::new(&server.base, place.coordinator.token.clone());
            (server, api)
        };
        let apis = [place.coordinator.clone(), second];
        let replies = in_parallel(4, |i| send_batch(&apis[i % 2], &records));
        let mut created = 0;
        for r in &replies {
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["refused"], 0, "{}", r.body);
            created += r.body["created"].as_i64().unwrap();
        }
        assert_eq!(created, 60, "each record made exactly once");
        for (_, wallet) in &volunteers {
            assert_eq!(bank.posted(wallet), "120.00");
        }
        assert_eq!(hours_credits(&bank).len(), 60);
        drop(server);
        bank.assert_verified();
    }

    answered_batches_survive_sigkill(backend) {
        let mut bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let volunteers: Vec<String> = (0..4).map(|_| place.volunteer(&bank).0).collect();
        let answered = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let coordinator = place.coordinator.clone();
        let first_day = Utc.with_ymd_and_hms(2019, 1, 1, 2, 0, 0).unwrap();
        std::thread::scope(|s| {
            for (t, volunteer) in volunteers.iter().enumerate() {
                let (answered, stop, coordinator, place) = (&answered, &stop, &coordinator, &place);
                s.spawn(move || {
                    let mut n = 0i64;
                    while !stop.load(Ordering::Relaxed) {
                        let records: Vec<Value> = (0..20)
                            .map(|k| batch_record(place, volunteer, first_day + Duration::days(n + k), 30 + t as i64))
                            .collect();
                        n += 20;
                        let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| send_batch(coordinator, &records)));
                        match sent {
                            Ok(r) if r.status == 200 => {
                                for item in r.body["results"].as_array().unwrap() {
                                    assert_eq!(item["status"], 201, "{item}");
                                    answered.lock().unwrap().push(item["record"].clone());
                                }
                            }
                            Ok(r) => panic!("unexpected {}: {}", r.status, r.body),
                            Err(_) => break,
                        }
                    }
                });
            }
            std::thread::sleep(StdDuration::from_millis(1500));
            bank.server.kill9();
            stop.store(true, Ordering::Relaxed);
        });
        let answered = answered.into_inner().unwrap();
        assert!(!answered.is_empty(), "no batch was answered before the kill");
        bank.restart();
        for record in &answered {
            let got = bank.api.get(&format!("/v1/service-records/{}", record["id"].as_str().unwrap()));
            assert_eq!(got.status, 200, "an answered record is gone: {record}");
        }
        let records: usize = volunteers.iter().map(|v| records_of(&bank.api, v).len()).sum();
        assert_eq!(records, hours_credits(&bank).len(), "a record without its credit, or the reverse");
        assert!(records >= answered.len());
        bank.assert_verified();
    }
}

fn reverse(api: &Api, record: &str) -> Reply {
    api.post(
        &format!("/v1/service-records/{record}/reverse"),
        &json!({"reason": "recorded for the wrong day"}),
        Some(&fresh_key()),
    )
}

on_both_backends! {
    a_reversed_record_leaves_the_tally(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let (volunteer, wallet) = place.volunteer(&bank);
        let kept = place.record(&volunteer, day(3), 60);
        let wrong = place.record(&volunteer, day(4), 120);
        assert_eq!(bank.posted(&wallet), "30.00");

        // The journal's own reversal would leave the record counted: refused.
        let transfer = wrong.body["transfer_id"].as_str().unwrap();
        bank.api.post(&format!("/v1/transfers/{transfer}/reverse"), &json!({}), Some(&fresh_key()))
            .assert_problem(409, "transfer_not_reversible");

        // Eight coordinators take it back at once: once.
        let replies = in_parallel(8, |_| reverse(&place.coordinator, &wrong.id()));
        assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
        for r in replies.iter().filter(|r| r.status != 200) {
            r.assert_problem(409, "transfer_already_reversed");
        }
        let record = place.coordinator.get(&format!("/v1/service-records/{}", wrong.id()));
        assert_eq!(record.body["status"], "reversed");
        let original = bank.api.get(&format!("/v1/transfers/{transfer}"));
        assert!(original.body["reversed_by"].is_string(), "{}", original.body);
        assert_eq!(bank.posted(&wallet), "10.00");
        let summary = place.coordinator.get(&format!("/v1/volunteers/{volunteer}/summary"));
        assert_eq!(summary.body["hours_total"]["minutes"], 60);

        // Its slot is free again.
        assert_eq!(place.record(&volunteer, day(4), 60).status, 201);

        // Points already spent cannot be taken back; nothing changes.
        let shop = bank.open_account("partner", "Shop");
        let spend = bank.api.post("/v1/transfers",
            &json!({"kind": "redemption", "debit_account_id": wallet, "credit_account_id": shop, "amount": "15.00"}),
            Some(&fresh_key()));
        assert_eq!(spend.status, 201, "{}", spend.body);
        let before = bank.snapshot();
        reverse(&place.coordinator, &kept.id()).assert_problem(422, "insufficient_funds");
        assert_eq!(bank.snapshot(), before);
        assert_eq!(place.coordinator.get(&format!("/v1/service-records/{}", kept.id())).body["status"], "credited");

        // Outsiders and bad reasons.
        let other = Community::new(&bank, "Far Away");
        reverse(&other.coordinator, &kept.id()).assert_problem(404, "not_found");
        reverse(&bank.as_role(Role::Auditor), &kept.id()).assert_problem(403, "forbidden");
        place.coordinator.post(&format!("/v1/service-records/{}/reverse", kept.id()), &json!({"reason": " "}), None)
            .assert_invalid("reason");
        place.coordinator.post(&format!("/v1/service-records/{}/reverse", kept.id()), &json!({"reason": "a\u{0}"}), None)
            .assert_problem(400, "validation_failed");
        assert_eq!(bank.snapshot(), before);
        bank.assert_verified();
    }

    answered_reversals_survive_sigkill(backend) {
        let mut bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let volunteers: Vec<String> = (0..4).map(|_| place.volunteer(&bank).0).collect();
        let records: Vec<Value> = (0..400)
            .map(|i| batch_record(&place, &volunteers[i % 4], day(100 + i as i64), 60))
            .collect();
        let made = send_batch(&place.coordinator, &records);
        assert_eq!(made.body["created"], 400, "{}", made.body);
        let ids: Vec<String> = made.body["results"].as_array().unwrap().iter()
            .map(|r| r["record"]["id"].as_str().unwrap().to_string()).collect();
        let answered = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        let coordinator = place.coordinator.clone();
        std::thread::scope(|s| {
            for t in 0..4 {
                let (answered, stop, coordinator, ids) = (&answered, &stop, &coordinator, &ids);
                s.spawn(move || {
                    for id in ids.iter().skip(t).step_by(4) {
                        if stop.load(Ordering::Relaxed) { break; }
                        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reverse(coordinator, id))) {
                            Ok(r) if r.status == 200 => answered.lock().unwrap().push(id.clone()),
                            Ok(r) => panic!("unexpected {}: {}", r.status, r.body),
                            Err(_) => break,
                        }
                    }
                });
            }
            std::thread::sleep(StdDuration::from_millis(1000));
            bank.server.kill9();
            stop.store(true, Ordering::Relaxed);
        });
        let answered = answered.into_inner().unwrap();
        assert!(!answered.is_empty(), "no reversal was answered before the kill");
        bank.restart();
        let mut reversed = 0;
        for id in &ids {
            let record = bank.api.get(&format!("/v1/service-records/{id}"));
            let transfer = bank.api.get(&format!("/v1/transfers/{}", record.body["transfer_id"].as_str().unwrap()));
            let is_reversed = record.body["status"] == "reversed";
            assert_eq!(is_reversed, transfer.body["reversed_by"].is_string(), "record and credit disagree: {}", record.body);
            if answered.contains(id) {
                assert!(is_reversed, "an answered reversal is gone: {id}");
            }
            reversed += usize::from(is_reversed);
        }
        assert!(reversed >= answered.len());
        bank.assert_verified();
    }
}

on_both_backends! {
    an_event_credits_everyone_once(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let other = Community::new(&bank, "Far Away");
        let people: Vec<(String, String)> = (0..3).map(|_| place.volunteer(&bank)).collect();
        let (stranger, _) = other.volunteer(&bank);
        let mut ids: Vec<&str> = people.iter().map(|(v, _)| v.as_str()).collect();
        ids.push(&stranger);
        let event = json!({"activity_id": place.activity, "started_at": rfc3339(day(2)), "minutes": 60,
                           "note": "河边大扫除", "client_id": uuid::Uuid::now_v7().to_string(), "volunteer_ids": ids});
        let replies = in_parallel(3, |_| place.coordinator.post("/v1/service-records/event", &event, None));
        let created: i64 = replies.iter().map(|r| r.body["created"].as_i64().unwrap()).sum();
        assert_eq!(created, 3, "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
        for r in &replies {
            assert_eq!(r.status, 200);
            assert_eq!(r.body["results"][3]["status"], 400);
            assert_eq!(r.body["results"][3]["problem"]["errors"][0]["field"], "volunteer_id");
        }
        for (_, wallet) in &people {
            assert_eq!(bank.posted(wallet), "10.00");
        }
        let again = place.coordinator.post("/v1/service-records/event", &event, None);
        assert_eq!((again.body["created"].as_i64(), again.body["found"].as_i64()), (Some(0), Some(3)));
        let none: Vec<&str> = Vec::new();
        let mut empty = event.clone();
        empty["volunteer_ids"] = json!(none);
        place.coordinator.post("/v1/service-records/event", &empty, None).assert_invalid("volunteer_ids");
        // What every record shares is checked once: the event is refused whole.
        let mut zero = event.clone();
        zero["minutes"] = json!(0);
        place.coordinator.post("/v1/service-records/event", &zero, None).assert_invalid("minutes");
        bank.assert_verified();
    }
}

on_both_backends! {
    an_attendance_sheet_is_a_batch(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let (volunteer, wallet) = place.volunteer(&bank);
        let carded = bank.api.post(
            "/v1/volunteers",
            &json!({"name": "李奶奶", "phone": format!("+86 136{:08}", rand_digits()),
                    "organisation_id": place.id, "card_number": "GL7788"}),
            None,
        );
        assert_eq!(carded.status, 201, "{}", carded.body);
        let card_wallet = carded.body["account_id"].as_str().unwrap().to_string();
        let date = (Utc::now() - Duration::days(3)).format("%Y-%m-%d");
        let sheet = format!(
            "\u{feff}volunteer,activity_id,started_at,minutes,note\n\
             {volunteer},{a},{date} 09:00,120,\"扫地, 擦窗\"\n\
             GL7788,{a},{date} 09:00,60,\n\
             GL0000,{a},{date} 09:00,60,unknown card\n\
             {volunteer},{a},{date} 25:00,60,bad time\n",
            a = place.activity
        );
        let upload = |body: &str| {
            place.coordinator.post_raw("/v1/service-records/batch", "text/csv; charset=utf-8", body.as_bytes().to_vec(), None)
        };
        let r = upload(&sheet);
        assert_eq!(r.status, 200, "{}", r.body);
        let statuses: Vec<i64> = r.body["results"].as_array().unwrap().iter().map(|i| i["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses, vec![201, 201, 400, 400], "{}", r.body);
        assert_eq!(r.body["results"][0]["record"]["note"], "扫地, 擦窗");
        // 09:00 in the scheme's zone (UTC+8) is 01:00 UTC.
        assert!(r.body["results"][0]["record"]["started_at"].as_str().unwrap().ends_with("T01:00:00Z"));
        assert_eq!(r.body["results"][2]["problem"]["errors"][0]["field"], "volunteer_id");
        assert_eq!(r.body["results"][3]["problem"]["errors"][0]["field"], "records[3].started_at");
        assert_eq!(bank.posted(&wallet), "20.00");
        assert_eq!(bank.posted(&card_wallet), "10.00");

        // The same sheet again (without its BOM this time): nothing twice.
        let again = upload(sheet.trim_start_matches('\u{feff}'));
        assert_eq!((again.body["created"].as_i64(), again.body["found"].as_i64()), (Some(0), Some(2)), "{}", again.body);
        assert_eq!(bank.posted(&wallet), "20.00");

        let before = bank.snapshot();
        upload("who,when\n").assert_invalid("body");
        upload("volunteer,activity_id\n").assert_invalid("body");
        place.coordinator.post_raw("/v1/service-records/batch", "text/csv", b"volunteer,activity_id,started_at\n\xff,\xfe,x\n".to_vec(), None)
            .assert_invalid("body");
        place.coordinator.post_raw("/v1/service-records/batch", "text/plain", sheet.as_bytes().to_vec(), None)
            .assert_problem(415, "unsupported_media_type");
        let rows: String = (0..501).map(|i| format!("GL7788,{},2001-01-01 09:00,{}\n", place.activity, 15 + i % 10)).collect();
        upload(&format!("volunteer,activity_id,started_at,minutes\n{rows}")).assert_invalid("records");
        let huge = format!("volunteer,activity_id,started_at,note\n{}", "x".repeat(2 * 1024 * 1024));
        upload(&huge).assert_problem(413, "payload_too_large");
        assert_eq!(bank.snapshot(), before);
        bank.assert_verified();
    }
}

fn approve(api: &Api, record: &str) -> Reply {
    api.post(
        &format!("/v1/service-records/{record}/approve"),
        &json!({}),
        Some(&fresh_key()),
    )
}

fn reject(api: &Api, record: &str) -> Reply {
    api.post(
        &format!("/v1/service-records/{record}/reject"),
        &json!({"reason": "not on the rota that day"}),
        Some(&fresh_key()),
    )
}

/// A second coordinator of the same community.
fn second_coordinator(bank: &Bank, place: &Community) -> Api {
    let (_, token) = bank.person(Role::Coordinator, &place.id);
    bank.api.with_token(&token)
}

on_both_backends! {
    long_service_waits_for_a_second_person(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let checker = second_coordinator(&bank, &place);
        let (volunteer, wallet) = place.volunteer(&bank);
        let start = day(5);

        // Nine hours is over the default threshold of eight: kept, priced, unpaid.
        let long = place.record(&volunteer, start, 540);
        assert_eq!(long.status, 201, "{}", long.body);
        assert_eq!(long.body["status"], "pending_approval");
        assert_eq!(long.body["points"], "90.00");
        assert_eq!(long.body["transfer_id"], Value::Null);
        assert!(long.body["approval_reason"].as_str().unwrap().contains("8"), "{}", long.body);
        assert_eq!(bank.posted(&wallet), "0.00");
        assert!(hours_credits(&bank).is_empty());
        let id = long.id();
        let waiting = all_pages(&checker, "/v1/service-records?status=pending_approval&limit=200");
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0]["id"], id.as_str());
        let summary = place.coordinator.get(&format!("/v1/volunteers/{volunteer}/summary"));
        assert_eq!(summary.body["hours_total"]["minutes"], 0, "unapproved hours are not tallied");

        // It holds the volunteer's time: an overlap and the day's cap count it.
        place.record(&volunteer, start + Duration::hours(2), 60).assert_problem(409, "overlapping_service");
        place.record(&volunteer, start + Duration::hours(10), 240).assert_problem(422, "service_cap_exceeded");

        // Refusals change nothing.
        let outsider = Community::new(&bank, "Far Away");
        let before = bank.snapshot();
        approve(&place.coordinator, &id).assert_problem(403, "own_record");
        reject(&place.coordinator, &id).assert_problem(403, "own_record");
        reverse(&checker, &id).assert_problem(409, "service_not_credited");
        approve(&bank.as_role(Role::Auditor), &id).assert_problem(403, "forbidden");
        approve(&outsider.coordinator, &id).assert_problem(404, "not_found");
        checker.post(&format!("/v1/service-records/{id}/approve"), &json!({"note": "a\u{0}b"}), None)
            .assert_problem(400, "validation_failed");
        checker.post(&format!("/v1/service-records/{id}/approve"), &json!({"note": "x".repeat(1025)}), None)
            .assert_invalid("note");
        checker.post(&format!("/v1/service-records/{id}/reject"), &json!({"reason": "  "}), None)
            .assert_invalid("reason");
        checker.post(&format!("/v1/service-records/{id}/reject"), &json!({}), None)
            .assert_problem(400, "validation_failed");
        assert_eq!(bank.snapshot(), before);
        assert_eq!(place.coordinator.get(&format!("/v1/service-records/{id}")).body["status"], "pending_approval");

        // Another coordinator approves: credited as priced, once; the replay is the same answer.
        let key = fresh_key();
        let path = format!("/v1/service-records/{id}/approve");
        let body = json!({"note": "confirmed by the care home"});
        let approved = checker.post(&path, &body, Some(&key));
        assert_eq!(approved.status, 200, "{}", approved.body);
        assert_eq!(approved.body["status"], "credited");
        assert_eq!(approved.body["balance"], "90.00");
        assert_eq!(approved.body["decision_note"], "confirmed by the care home");
        assert!(approved.body["decided_at"].is_string());
        let replay = checker.post(&path, &body, Some(&key));
        assert_eq!(replay.status, 200);
        assert_eq!(replay.text, approved.text, "a replay answers byte for byte");
        approve(&checker, &id).assert_problem(409, "not_pending_approval");
        reject(&checker, &id).assert_problem(409, "not_pending_approval");
        assert_eq!(bank.posted(&wallet), "90.00");
        let credits = hours_credits(&bank);
        assert_eq!(credits.len(), 1);
        assert_eq!(credits[0]["id"], approved.body["transfer_id"]);
        assert_eq!(credits[0]["metadata"]["service_record_id"], id.as_str());
        assert_eq!(credits[0]["metadata"]["recorded_by"], long.body["recorded_by"]);
        assert_eq!(credits[0]["metadata"]["approved_by"], approved.body["decided_by"]);
        let summary = place.coordinator.get(&format!("/v1/volunteers/{volunteer}/summary"));
        assert_eq!(summary.body["hours_total"]["minutes"], 540);

        // A rejected record is closed unpaid and frees the volunteer's time.
        let other = place.record(&volunteer, day(6), 600);
        assert_eq!(other.body["status"], "pending_approval", "{}", other.body);
        let rejected = reject(&checker, &other.id());
        assert_eq!(rejected.status, 200, "{}", rejected.body);
        assert_eq!(rejected.body["status"], "rejected");
        assert_eq!(rejected.body["decision_note"], "not on the rota that day");
        approve(&checker, &other.id()).assert_problem(409, "not_pending_approval");
        reverse(&checker, &other.id()).assert_problem(409, "service_not_credited");
        assert_eq!(place.record(&volunteer, day(6), 60).status, 201);
        assert_eq!(bank.posted(&wallet), "100.00");
        assert!(all_pages(&checker, "/v1/service-records?status=pending_approval").is_empty());

        // Approved records reverse like any other, and the reversal replays.
        let key = fresh_key();
        let path = format!("/v1/service-records/{id}/reverse");
        let body = json!({"reason": "counted twice"});
        let reversed = checker.post(&path, &body, Some(&key));
        assert_eq!(reversed.status, 200, "{}", reversed.body);
        assert_eq!(checker.post(&path, &body, Some(&key)).text, reversed.text);
        assert_eq!(bank.posted(&wallet), "10.00");
        bank.assert_verified();
    }

    night_service_has_its_own_threshold(backend) {
        let bank = Bank::with_env(backend, &[("TIMEBANK_APPROVAL_NIGHT_OVER_MINUTES", "60"), ("TIMEBANK_NIGHT_HOURS", "23-5")]);
        let place = Community::new(&bank, "Green Lane");
        let (volunteer, wallet) = place.volunteer(&bank);
        // 22:30 to 00:30 in the scheme's zone (UTC+8): 90 night minutes.
        let evening = day(8) + Duration::hours(14) + Duration::minutes(30);
        let night = place.record(&volunteer, evening, 120);
        assert_eq!(night.body["status"], "pending_approval", "{}", night.body);
        // The same two hours in the afternoon are paid at once.
        let afternoon = place.record(&volunteer, day(9) + Duration::hours(6), 120);
        assert_eq!(afternoon.body["status"], "credited", "{}", afternoon.body);
        // 22:00 to 23:30: thirty minutes inside the night, under the threshold.
        let late = place.record(&volunteer, day(10) + Duration::hours(14), 90);
        assert_eq!(late.body["status"], "credited", "{}", late.body);
        assert_eq!(bank.posted(&wallet), "35.00");

        // Nonsense settings stop the service at start, with the variable named.
        for (name, value) in [("TIMEBANK_NIGHT_HOURS", "25-6"), ("TIMEBANK_NIGHT_HOURS", "night"),
                              ("TIMEBANK_APPROVAL_OVER_MINUTES", "0"), ("TIMEBANK_APPROVAL_NIGHT_OVER_MINUTES", "-4")] {
            let failed = serve_expecting_exit(bank.db.dir(), &[(name, value)]);
            assert!(failed.stderr.contains(name), "{name}={value}: {}", failed.stderr);
        }
    }

    one_decision_wins_across_processes(backend) {
        let bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let checker = second_coordinator(&bank, &place);
        let second = Server::start(&bank.db);
        let apis = [checker.clone(), Api::new(&second.base, checker.token.clone())];
        let volunteers: Vec<(String, String)> = (0..3).map(|_| place.volunteer(&bank)).collect();
        for (round, (volunteer, wallet)) in volunteers.iter().enumerate() {
            let id = place.record(volunteer, day(20 + round as i64), 600).id();
            // Eight approvals and eight rejections at once, over two processes.
            let replies = in_parallel(16, |i| {
                let api = &apis[i % 2];
                if i % 4 < 2 { ("approve", approve(api, &id)) } else { ("reject", reject(api, &id)) }
            });
            let won: Vec<_> = replies.iter().filter(|(_, r)| r.status == 200).collect();
            assert_eq!(won.len(), 1, "{:?}", replies.iter().map(|(k, r)| (k, r.status)).collect::<Vec<_>>());
            for (_, r) in replies.iter().filter(|(_, r)| r.status != 200) {
                r.assert_problem(409, "not_pending_approval");
            }
            let record = place.coordinator.get(&format!("/v1/service-records/{id}"));
            let expected = if won[0].0 == "approve" { ("credited", "100.00") } else { ("rejected", "0.00") };
            assert_eq!(record.body["status"], expected.0);
            assert_eq!(bank.posted(wallet), expected.1);
        }
        let credited = volunteers.iter().flat_map(|(v, _)| records_of(&bank.api, v))
            .filter(|r| r["status"] == "credited").count();
        assert_eq!(hours_credits(&bank).len(), credited);
        drop(second);
        bank.assert_verified();
    }

    answered_approvals_survive_sigkill(backend) {
        let mut bank = Bank::new(backend);
        let place = Community::new(&bank, "Green Lane");
        let checker = second_coordinator(&bank, &place);
        let volunteers: Vec<String> = (0..4).map(|_| place.volunteer(&bank).0).collect();
        let records: Vec<Value> = (0..300)
            .map(|i| batch_record(&place, &volunteers[i % 4], day(100 + i as i64), 540))
            .collect();
        let made = send_batch(&place.coordinator, &records);
        assert_eq!(made.body["created"], 300, "{}", made.body);
        let ids: Vec<String> = made.body["results"].as_array().unwrap().iter()
            .map(|r| { assert_eq!(r["record"]["status"], "pending_approval"); r["record"]["id"].as_str().unwrap().to_string() })
            .collect();
        let answered = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (answered, stop, checker, ids) = (&answered, &stop, &checker, &ids);
                s.spawn(move || {
                    for id in ids.iter().skip(t).step_by(4) {
                        if stop.load(Ordering::Relaxed) { break; }
                        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| approve(checker, id))) {
                            Ok(r) if r.status == 200 => answered.lock().unwrap().push(id.clone()),
                            Ok(r) => panic!("unexpected {}: {}", r.status, r.body),
                            Err(_) => break,
                        }
                    }
                });
            }
            std::thread::sleep(StdDuration::from_millis(1000));
            bank.server.kill9();
            stop.store(true, Ordering::Relaxed);
        });
        let answered = answered.into_inner().unwrap();
        assert!(!answered.is_empty(), "no approval was answered before the kill");
        bank.restart();
        let mut credited = 0;
        for id in &ids {
            let record = bank.api.get(&format!("/v1/service-records/{id}"));
            let paid = record.body["status"] == "credited";
            assert_eq!(paid, record.body["transfer_id"].is_string(), "record and credit disagree: {}", record.body);
            if paid {
                let transfer = bank.api.get(&format!("/v1/transfers/{}", record.body["transfer_id"].as_str().unwrap()));
                assert_eq!(transfer.status, 200, "a credited record's transfer is gone: {id}");
            } else {
                assert_eq!(record.body["status"], "pending_approval");
            }
            if answered.contains(id) {
                assert!(paid, "an answered approval is gone: {id}");
            }
            credited += usize::from(paid);
        }
        assert!(credited >= answered.len());
        assert_eq!(hours_credits(&bank).len(), credited, "one credit per approved record, no more");
        bank.assert_verified();
    }
}
