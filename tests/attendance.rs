//! Attendance at an event: a coordinator opens a check-in and shows its
//! code, volunteers check in and out with it from their own login, and the
//! confirmed list becomes service records, credited once; attendance left
//! unconfirmed is never paid. Refusals change nothing; two coordinators on
//! two processes confirming at once pay one list; a confirmation cut off by
//! kill -9 and sent again pays nobody twice. Each test runs on SQLite and,
//! when `TIMEBANK_TEST_PG_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use common::*;
use timebank::domain::Role;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

struct Event {
    place: String,
    activity: String,
    coordinator: Api,
}

fn event(bank: &Bank, name: &str) -> Event {
    let place = bank.organisation(name, "community", &bank.organisation_id);
    let (_, token) = bank.person(Role::Coordinator, &place);
    let activity = bank.api.post(
        "/v1/activities",
        &json!({"organisation_id": place, "name": format!("Clean-up ({name})"), "category": "general"}),
        None,
    );
    assert_eq!(activity.status, 201, "{}", activity.body);
    Event {
        place,
        activity: activity.id(),
        coordinator: bank.api.with_token(&token),
    }
}

impl Event {
    fn open(&self) -> Value {
        let r = self.coordinator.post(
            "/v1/check-ins",
            &json!({"activity_id": self.activity, "organisation_id": self.place, "note": "Riverside"}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    fn confirm(&self, check_in: &str, body: &Value) -> Reply {
        self.coordinator
            .post(&format!("/v1/check-ins/{check_in}/confirm"), body, None)
    }
}

/// A volunteer of the event's community with their own login: (id, api).
fn attendee(bank: &Bank, event: &Event) -> (String, Api) {
    let (volunteer, token) = bank.volunteer_login(&event.place);
    (
        volunteer["id"].as_str().unwrap().to_string(),
        bank.api.with_token(&token),
    )
}

fn check_in(api: &Api, code: &str) -> Reply {
    api.post("/v1/me/check-in", &json!({"code": code}), None)
}

fn check_out(api: &Api, code: &str) -> Reply {
    api.post("/v1/me/check-out", &json!({"code": code}), None)
}

/// Moves every check-in of the check-in `hours` back, as if the volunteers
/// had arrived that long ago.
fn arrived_hours_ago(bank: &Bank, check_in: &str, hours: i64) {
    let at = (Utc::now() - Duration::hours(hours)).format("%Y-%m-%d %H:%M:%S%.6f");
    let sql =
        format!("UPDATE attendances SET checked_in_at = '{at}' WHERE check_in_id = '{check_in}'");
    bank.db.execute(&sql).expect(&sql);
}

fn balance(bank: &Bank, volunteer: &str) -> String {
    let v = bank.api.get(&format!("/v1/volunteers/{volunteer}"));
    bank.posted(v.body["account_id"].as_str().unwrap())
}

/// Each volunteer's service records made from the check-in.
fn records_of(bank: &Bank, volunteers: &[String]) -> HashMap<String, Vec<Value>> {
    volunteers
        .iter()
        .map(|v| {
            let records = all_pages(&bank.api, &format!("/v1/service-records?volunteer_id={v}"));
            (v.clone(), records)
        })
        .collect()
}

on_both_backends! {
    confirmed_attendance_becomes_service_records_once(backend) {
        let bank = Bank::new(backend);
        let e = event(&bank, "Green Lane");
        let opened = e.open();
        let (id, code) = (opened["id"].as_str().unwrap(), opened["code"].as_str().unwrap());
        assert_eq!(opened["status"], "open");
        assert_eq!(code.len(), 9, "{code}");
        assert_eq!(&code[4..5], "-");
        assert_eq!(opened["qr_payload"], format!("timebank:check-in:{}", code.replace('-', "")));
        let expires: DateTime<Utc> = opened["code_expires_at"].as_str().unwrap().parse().unwrap();
        let at: DateTime<Utc> = opened["opened_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires - at, Duration::minutes(15));

        let (v1, a1) = attendee(&bank, &e);
        let (v2, a2) = attendee(&bank, &e);
        let (v3, a3) = attendee(&bank, &e);
        let (_, a4) = attendee(&bank, &e);
        // Typed in lower case without the hyphen, or scanned from the QR code.
        let typed = code.replace('-', "").to_lowercase();
        let first = check_in(&a1, &typed);
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(first.body["check_in_id"], id);
        assert!(first.body["checked_out_at"].is_null());
        check_in(&a1, code).assert_problem(409, "already_checked_in");
        assert_eq!(check_out(&a1, code).status, 200);
        check_out(&a1, code).assert_problem(409, "not_checked_in");
        assert_eq!(check_in(&a2, opened["qr_payload"].as_str().unwrap()).status, 201);
        assert_eq!(check_in(&a3, code).status, 201);
        assert_eq!(check_out(&a3, code).status, 200);
        check_out(&a4, code).assert_problem(409, "not_checked_in");

        let detail = e.coordinator.get(&format!("/v1/check-ins/{id}"));
        assert_eq!(detail.status, 200, "{}", detail.body);
        let list = detail.body["attendances"].as_array().unwrap();
        let order: Vec<&str> = list.iter().map(|a| a["volunteer_id"].as_str().unwrap()).collect();
        assert_eq!(order, vec![v1.as_str(), v2.as_str(), v3.as_str()]);
        assert!(list[1]["checked_out_at"].is_null());
        assert!(list.iter().all(|a| a["confirmed"] == false));
        let open = all_pages(&e.coordinator, "/v1/check-ins?status=open");
        assert_eq!(open.len(), 1);

        // v2 never checked out: the coordinator gives the end; v3 is left out.
        let now = Utc::now();
        let body = json!({"attendees": [
            {"volunteer_id": v1, "started_at": rfc3339(now - Duration::hours(3)), "ended_at": rfc3339(now - Duration::hours(1))},
            {"volunteer_id": v2, "started_at": rfc3339(now - Duration::hours(3)), "ended_at": rfc3339(now - Duration::hours(2))},
        ]});
        let confirmed = e.confirm(id, &body);
        assert_eq!(confirmed.status, 200, "{}", confirmed.body);
        assert_eq!((confirmed.body["created"].as_i64(), confirmed.body["refused"].as_i64()), (Some(2), Some(0)), "{}", confirmed.body);
        let results = confirmed.body["results"].as_array().unwrap();
        assert_eq!(results[0]["record"]["points"], "20.00");
        assert_eq!(results[0]["record"]["note"], "Riverside");
        assert_eq!(results[0]["record"]["organisation_id"], json!(e.place));
        assert_eq!(results[1]["record"]["points"], "10.00");
        assert_eq!((balance(&bank, &v1), balance(&bank, &v2), balance(&bank, &v3)), ("20.00".into(), "10.00".into(), "0.00".into()));

        let detail = e.coordinator.get(&format!("/v1/check-ins/{id}"));
        assert_eq!(detail.body["status"], "confirmed");
        assert!(detail.body["confirmed_by"].is_string());
        let confirmed_flags: Vec<bool> = detail.body["attendances"].as_array().unwrap().iter().map(|a| a["confirmed"].as_bool().unwrap()).collect();
        assert_eq!(confirmed_flags, vec![true, true, false]);

        // Sent again (a lost answer): the same records, nobody paid twice.
        let again = e.confirm(id, &body);
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!((again.body["created"].as_i64(), again.body["found"].as_i64()), (Some(0), Some(2)), "{}", again.body);
        assert_eq!(again.body["results"][0]["record"]["id"], results[0]["record"]["id"]);
        // Another list once closed is refused, and changes nothing.
        let before = bank.snapshot();
        e.confirm(id, &json!({})).assert_problem(409, "check_in_closed");
        e.confirm(id, &json!({"attendees": [{"volunteer_id": v1, "started_at": rfc3339(now - Duration::hours(3)), "ended_at": rfc3339(now - Duration::hours(1))}]}))
            .assert_problem(409, "check_in_closed");
        // Nobody checks in or out of a confirmed check-in.
        check_in(&a4, code).assert_problem(404, "not_found");
        check_out(&a2, code).assert_problem(404, "not_found");
        assert_eq!(bank.snapshot(), before);
        let records = records_of(&bank, &[v1.clone(), v2.clone(), v3.clone()]);
        assert_eq!((records[&v1].len(), records[&v2].len(), records[&v3].len()), (1, 1, 0));
        bank.assert_verified();
    }

    times_default_to_checking_in_and_out(backend) {
        let bank = Bank::new(backend);
        let e = event(&bank, "Green Lane");
        let opened = e.open();
        let (id, code) = (opened["id"].as_str().unwrap(), opened["code"].as_str().unwrap());
        let (v1, a1) = attendee(&bank, &e);
        let (v2, a2) = attendee(&bank, &e);
        assert_eq!(check_in(&a1, code).status, 201);
        assert_eq!(check_in(&a2, code).status, 201);
        arrived_hours_ago(&bank, id, 2);
        let out = check_out(&a1, code);
        assert_eq!(out.status, 200, "{}", out.body);
        let (arrived, left) = (out.body["checked_in_at"].as_str().unwrap(), out.body["checked_out_at"].as_str().unwrap());

        // By default only those who checked in and out are confirmed.
        let confirmed = e.confirm(id, &json!({}));
        assert_eq!(confirmed.status, 200, "{}", confirmed.body);
        assert_eq!(confirmed.body["results"].as_array().unwrap().len(), 1, "{}", confirmed.body);
        let record = &confirmed.body["results"][0]["record"];
        assert_eq!(record["volunteer_id"], json!(v1));
        let start: DateTime<Utc> = record["started_at"].as_str().unwrap().parse().unwrap();
        let end: DateTime<Utc> = record["ended_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(start, arrived.parse::<DateTime<Utc>>().unwrap());
        assert_eq!(end, left.parse::<DateTime<Utc>>().unwrap());
        assert_eq!(record["minutes"], 120);
        assert_eq!(record["points"], "20.00");
        assert_eq!(balance(&bank, &v2), "0.00");
        // v2 is still checked in, unconfirmed: never paid.
        let detail = e.coordinator.get(&format!("/v1/check-ins/{id}"));
        assert_eq!(detail.body["attendances"][1]["confirmed"], false);
        bank.assert_verified();
    }

    check_in_refusals_change_nothing(backend) {
        let bank = Bank::new(backend);
        let e = event(&bank, "Green Lane");
        let other = event(&bank, "River Side");
        let open = |api: &Api, body: Value| api.post("/v1/check-ins", &body, None);
        let body = |extra: Value| {
            let mut b = json!({"activity_id": e.activity, "organisation_id": e.place});
            b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            b
        };
        let partner = bank.as_role(Role::PartnerStaff);
        let (_, volunteer) = attendee(&bank, &e);
        let before = bank.snapshot();
        open(&partner, body(json!({}))).assert_problem(403, "forbidden");
        open(&volunteer, body(json!({}))).assert_problem(403, "forbidden");
        open(&e.coordinator, body(json!({"activity_id": other.activity}))).assert_invalid("activity_id");
        open(&e.coordinator, body(json!({"organisation_id": other.place}))).assert_invalid("organisation_id");
        open(&e.coordinator, body(json!({"organisation_id": uuid::Uuid::now_v7().to_string()}))).assert_invalid("organisation_id");
        open(&e.coordinator, body(json!({"code_minutes": 0}))).assert_invalid("code_minutes");
        open(&e.coordinator, body(json!({"code_minutes": 241}))).assert_invalid("code_minutes");
        open(&e.coordinator, body(json!({"code_minutes": -1}))).assert_problem(400, "validation_failed");
        open(&e.coordinator, body(json!({"note": "x".repeat(2000)}))).assert_invalid("note");
        open(&e.coordinator, body(json!({"note": "a\u{0}b"}))).assert_problem(400, "validation_failed");
        open(&e.coordinator, body(json!({"colour": "red"}))).assert_problem(400, "validation_failed");
        let partner_org = bank.organisation("Corner Shop", "partner", &bank.organisation_id);
        open(&bank.api, body(json!({"organisation_id": partner_org}))).assert_invalid("organisation_id");
        let retired = bank.api.post("/v1/activities", &json!({"organisation_id": e.place, "name": "Retired", "category": "general"}), None).id();
        assert_eq!(bank.api.patch(&format!("/v1/activities/{retired}"), &json!({"active": false})).status, 200);
        open(&e.coordinator, body(json!({"activity_id": retired}))).assert_invalid("activity_id");
        assert_eq!(all_pages(&bank.api, "/v1/check-ins").len(), 0);

        let opened = e.open();
        let (id, code) = (opened["id"].as_str().unwrap().to_string(), opened["code"].as_str().unwrap().to_string());
        // Only a volunteer's own login checks in; hostile codes are refused.
        check_in(&e.coordinator, &code).assert_problem(403, "forbidden");
        check_in(&bank.api, &code).assert_problem(403, "forbidden");
        let long = "A".repeat(10_000);
        for bad in ["", "ABCD", "ABCD\u{0}EFG", "АВСD-EFGH", "ABCD-EFGU", "ＡＢＣＤ-ＥＦＧＨ", long.as_str()] {
            check_in(&volunteer, bad).assert_invalid("code");
        }
        let unknown = if code.starts_with('Z') { "YYYY-YYYY" } else { "ZZZZ-ZZZZ" };
        check_in(&volunteer, unknown).assert_problem(404, "not_found");
        volunteer.post("/v1/me/check-in", &json!({"code": code, "at": "now"}), None).assert_problem(400, "validation_failed");
        // A suspended volunteer does not check in.
        let (resting, resting_api) = attendee(&bank, &e);
        assert_eq!(bank.api.patch(&format!("/v1/volunteers/{resting}"), &json!({"status": "suspended"})).status, 200);
        check_in(&resting_api, &code).assert_problem(422, "volunteer_inactive");
        // An expired code takes no check-ins, but lets those inside check out.
        let (late, late_api) = attendee(&bank, &e);
        assert_eq!(check_in(&volunteer, &code).status, 201);
        let sql = format!("UPDATE check_ins SET opened_at = '2000-01-01 00:00:00', code_expires_at = '2000-01-01 00:15:00' WHERE id = '{id}'");
        bank.db.execute(&sql).expect(&sql);
        check_in(&late_api, &code).assert_problem(422, "check_in_code_expired");

        // Confirming: only coordinators of the place, a list that holds.
        let (stranger_v, _) = attendee(&bank, &other);
        let confirm = |api: &Api, b: Value| api.post(&format!("/v1/check-ins/{id}/confirm"), &b, None);
        let auditor = bank.as_role(Role::Auditor);
        confirm(&auditor, json!({})).assert_problem(403, "forbidden");
        confirm(&volunteer, json!({})).assert_problem(403, "forbidden");
        confirm(&other.coordinator, json!({})).assert_problem(404, "not_found");
        assert_eq!(other.coordinator.get(&format!("/v1/check-ins/{id}")).status, 404);
        confirm(&e.coordinator, json!({})).assert_invalid("attendees");
        confirm(&e.coordinator, json!({"attendees": []})).assert_invalid("attendees");
        confirm(&e.coordinator, json!({"attendees": [{"volunteer_id": late}]})).assert_invalid("attendees[0].volunteer_id");
        confirm(&e.coordinator, json!({"attendees": [{"volunteer_id": stranger_v}]})).assert_invalid("attendees[0].volunteer_id");
        let me = opened_attendee(&bank, &id);
        confirm(&e.coordinator, json!({"attendees": [{"volunteer_id": me}]})).assert_invalid("attendees[0].ended_at");
        let end = rfc3339(Utc::now() - Duration::hours(1));
        let start = rfc3339(Utc::now() - Duration::hours(2));
        confirm(&e.coordinator, json!({"attendees": [{"volunteer_id": me, "ended_at": end}, {"volunteer_id": me, "ended_at": end}]}))
            .assert_invalid("attendees[1].volunteer_id");
        confirm(&e.coordinator, json!({"attendees": "everyone"})).assert_problem(400, "validation_failed");
        assert_eq!(e.coordinator.post(&format!("/v1/check-ins/{}/confirm", uuid::Uuid::now_v7()), &json!({}), None).status, 404);
        // A record that cannot be made is refused in its own result, and
        // then nothing was confirmed: the list stays open to be put right.
        let future = rfc3339(Utc::now() + Duration::hours(2));
        let r = confirm(&e.coordinator, json!({"attendees": [{"volunteer_id": me, "started_at": start, "ended_at": future}]}));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["refused"], 1);
        assert_eq!(r.body["results"][0]["problem"]["errors"][0]["field"], "ended_at", "{}", r.body);
        let detail = e.coordinator.get(&format!("/v1/check-ins/{id}"));
        assert_eq!(detail.body["status"], "open");
        // Nothing above moved a point or paid anyone.
        let after = bank.snapshot();
        assert_eq!((&after["sequence"], &after["hash"]), (&before["sequence"], &before["hash"]));
        assert_eq!(all_pages(&bank.api, "/v1/service-records").len(), 0);
        // It is then confirmed as it should be; checking out still works.
        assert_eq!(check_out(&volunteer, &code).status, 200);
        let r = confirm(&e.coordinator, json!({"attendees": [{"volunteer_id": me, "started_at": start, "ended_at": end}]}));
        assert_eq!(r.body["created"], 1, "{}", r.body);
        bank.assert_verified();
    }

    concurrent_confirmations_pay_one_list(backend) {
        let bank = Bank::new(backend);
        let e = event(&bank, "Green Lane");
        let opened = e.open();
        let (id, code) = (opened["id"].as_str().unwrap().to_string(), opened["code"].as_str().unwrap().to_string());
        let people: Vec<(String, Api)> = (0..16).map(|_| attendee(&bank, &e)).collect();
        // Everyone checks in at once; one of them taps four times.
        let answers = in_parallel(people.len() + 3, |i| check_in(&people[i.min(people.len() - 1)].1, &code).status);
        assert_eq!(answers.iter().filter(|s| **s == 201).count(), people.len(), "{answers:?}");
        assert_eq!(answers.iter().filter(|s| **s == 409).count(), 3, "{answers:?}");
        arrived_hours_ago(&bank, &id, 2);
        let outs = in_parallel(people.len(), |i| check_out(&people[i].1, &code).status);
        assert!(outs.iter().all(|s| *s == 200), "{outs:?}");

        // Four coordinators' taps on two processes: everyone, or the first half.
        let second = Server::start(&bank.db);
        let (_, token) = bank.person(Role::Coordinator, &e.place);
        let apis = [Api::new(&e.coordinator.base, e.coordinator.token.clone()), Api::new(&second.base, Some(token))];
        let ids: Vec<String> = people.iter().map(|p| p.0.clone()).collect();
        let half = json!({"attendees": ids[..8].iter().map(|v| json!({"volunteer_id": v})).collect::<Vec<_>>()});
        let lists = [json!({}), half];
        let replies = in_parallel(4, |i| {
            apis[i % 2].post(&format!("/v1/check-ins/{id}/confirm"), &lists[i / 2], None)
        });
        let won: Vec<usize> = (0..4).filter(|i| replies[*i].status == 200).collect();
        assert!(!won.is_empty(), "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
        let list = won[0] / 2;
        for (i, r) in replies.iter().enumerate() {
            if i / 2 == list {
                assert_eq!(r.status, 200, "{}", r.body);
                assert_eq!(r.body["refused"], 0, "{}", r.body);
            } else {
                r.assert_problem(409, "check_in_closed");
            }
        }
        let paid: HashSet<String> = if list == 0 { ids.iter().cloned().collect() } else { ids[..8].iter().cloned().collect() };
        let detail = bank.api.get(&format!("/v1/check-ins/{id}"));
        let confirmed: HashSet<String> = detail.body["attendances"].as_array().unwrap().iter()
            .filter(|a| a["confirmed"] == true)
            .map(|a| a["volunteer_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(confirmed, paid);
        let records = records_of(&bank, &ids);
        for v in &ids {
            let expected = usize::from(paid.contains(v));
            assert_eq!(records[v].len(), expected, "volunteer {v}");
            assert_eq!(balance(&bank, v), if expected == 1 { "20.00" } else { "0.00" });
        }
        bank.assert_verified();
    }

    confirmation_cut_off_by_kill9_pays_once_when_sent_again(backend) {
        let mut bank = Bank::new(backend);
        let mut e = event(&bank, "Green Lane");
        let mut people: Vec<(String, Api)> = (0..40).map(|_| attendee(&bank, &e)).collect();
        let ids: Vec<String> = people.iter().map(|p| p.0.clone()).collect();
        for delay in [0u64, 15, 40] {
            let opened = e.open();
            let (id, code) = (opened["id"].as_str().unwrap().to_string(), opened["code"].as_str().unwrap().to_string());
            in_parallel(people.len(), |i| assert_eq!(check_in(&people[i].1, &code).status, 201));
            in_parallel(people.len(), |i| assert_eq!(check_out(&people[i].1, &code).status, 200));
            // Each round on a day of its own, so the rounds do not overlap.
            let day = Duration::days(1 + delay as i64);
            let (from, to) = (Utc::now() - day - Duration::hours(3), Utc::now() - day - Duration::hours(1));
            let sql = format!(
                "UPDATE attendances SET checked_in_at = '{}', checked_out_at = '{}' WHERE check_in_id = '{id}'",
                from.format("%Y-%m-%d %H:%M:%S%.6f"),
                to.format("%Y-%m-%d %H:%M:%S%.6f")
            );
            bank.db.execute(&sql).expect(&sql);
            let api = bank.api.with_token(e.coordinator.token.as_deref().unwrap());
            let path = format!("/v1/check-ins/{id}/confirm");
            std::thread::scope(|s| {
                let inflight = s.spawn(|| api.post(&path, &json!({}), None).status);
                std::thread::sleep(std::time::Duration::from_millis(delay));
                bank.server.kill9();
                // A client cut off by the kill panics in `post`: it retries below.
                let _ = inflight.join();
            });
            bank.restart();
            e.coordinator = bank.api.with_token(e.coordinator.token.as_deref().unwrap());
            for p in &mut people {
                p.1 = bank.api.with_token(p.1.token.as_deref().unwrap());
            }
            let r = e.coordinator.post(&format!("/v1/check-ins/{id}/confirm"), &json!({}), None);
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["created"].as_i64().unwrap() + r.body["found"].as_i64().unwrap(), 40, "{}", r.body);
            let detail = bank.api.get(&format!("/v1/check-ins/{id}"));
            assert_eq!(detail.body["status"], "confirmed");
        }
        let records = records_of(&bank, &ids);
        for v in &ids {
            assert_eq!(records[v].len(), 3, "volunteer {v}");
        }
        bank.assert_verified();
    }
}

/// The one volunteer checked in to the check-in.
fn opened_attendee(bank: &Bank, check_in: &str) -> String {
    let detail = bank.api.get(&format!("/v1/check-ins/{check_in}"));
    let list = detail.body["attendances"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", detail.body);
    list[0]["volunteer_id"].as_str().unwrap().to_string()
}
