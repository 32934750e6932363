//! Attendance at an event. A coordinator opens a check-in for an activity at a
//! community and shows its short-lived code (or a QR code carrying it);
//! volunteers check in on arrival and out on leaving, from their own login;
//! the coordinator then confirms the attendance list, and each confirmed
//! attendance becomes a service record, credited like any other, in one
//! batch (`check_in_act`). Attendance left unconfirmed is never paid.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::answer::Answer;
use super::caller::Caller;
use super::check_in_act::{ConfirmCheckInAct, closed_with_another_list};
use super::idempotency::{Claim, run_once};
use super::organisations::find;
use super::page::{Limit, Page};
use super::service_act::{ServiceAct, ServiceRecorded};
use super::service_records::{
    Lookups, RECORDERS, RecordServiceRequest, offered_at, prepare, span_of,
};
use crate::domain::{
    ActivityId, CheckInCode, CheckInId, CheckInStatus, Note, OrganisationId, Role, UserId,
    VolunteerId, VolunteerStatus,
};
use crate::error::{AppError, ErrorCode};
use crate::ledger::engine::journal_time;
use crate::store::check_ins::{self, AttendanceRow, CheckInRow};
use crate::store::{DbConnection, UtcTime, activities, volunteers, write_transaction};

const READERS: &[Role] = &[Role::Admin, Role::Coordinator, Role::Auditor];
const DEFAULT_CODE_MINUTES: u32 = 15;
const MAX_CODE_MINUTES: u32 = 240;
const MAX_NOTE_BYTES: usize = 1024;

/// Opening a check-in for an event.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "code_minutes": 15,
    "note": "Spring clean-up of the riverside"
})))]
#[serde(deny_unknown_fields)]
pub struct OpenCheckInRequest {
    /// What the volunteers do: an active activity offered at the place.
    pub activity_id: ActivityId,
    /// Where the event is: a community in your scope.
    pub organisation_id: OrganisationId,
    /// How long volunteers may check in with the code, in minutes (1 to
    /// 240, default 15). Checking out stays open until the list is confirmed.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 240)]
    pub code_minutes: Option<u32>,
    /// Free text, copied to every service record; at most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: Option<Note>,
}

/// A check-in, as its coordinators see it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d70",
    "code": "7KQ2-M9XD",
    "qr_payload": "timebank:check-in:7KQ2M9XD",
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "note": "Spring clean-up of the riverside",
    "opened_by": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "opened_at": "2026-03-14T01:00:00Z",
    "code_expires_at": "2026-03-14T01:15:00Z",
    "status": "open",
    "confirmed_by": null,
    "confirmed_at": null
})))]
pub struct CheckInView {
    /// The check-in's id.
    pub id: CheckInId,
    /// What volunteers type: eight letters and digits (case, spaces and the
    /// hyphen do not matter; O reads as 0, I and L as 1).
    pub code: String,
    /// What a QR code shown at the event carries.
    pub qr_payload: String,
    /// What the volunteers do.
    pub activity_id: ActivityId,
    /// Where.
    pub organisation_id: OrganisationId,
    /// Free text.
    pub note: Option<String>,
    /// The coordinator who opened it.
    pub opened_by: UserId,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// Volunteers check in until then.
    pub code_expires_at: DateTime<Utc>,
    /// `open`, or `confirmed` once the list became service records.
    pub status: CheckInStatus,
    /// Who confirmed the list.
    pub confirmed_by: Option<UserId>,
    /// When.
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl CheckInView {
    fn new(row: &CheckInRow) -> Self {
        Self {
            id: row.id,
            code: row.code.to_string(),
            qr_payload: row.code.qr_payload(),
            activity_id: row.activity_id,
            organisation_id: row.organisation_id,
            note: row.note.clone(),
            opened_by: row.opened_by,
            opened_at: row.opened_at.into(),
            code_expires_at: row.code_expires_at.into(),
            status: row.status,
            confirmed_by: row.confirmed_by,
            confirmed_at: row.confirmed_at.map(Into::into),
        }
    }
}

/// One volunteer's attendance.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttendanceView {
    /// Who.
    pub volunteer_id: VolunteerId,
    /// Their name.
    pub name: String,
    /// When they checked in.
    pub checked_in_at: DateTime<Utc>,
    /// When they checked out; null while they are still there.
    pub checked_out_at: Option<DateTime<Utc>>,
    /// The coordinator confirmed it: it was made a service record.
    pub confirmed: bool,
}

/// A check-in with its attendance list, in the order volunteers arrived.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d70",
    "code": "7KQ2-M9XD",
    "qr_payload": "timebank:check-in:7KQ2M9XD",
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "note": "Spring clean-up of the riverside",
    "opened_by": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "opened_at": "2026-03-14T01:00:00Z",
    "code_expires_at": "2026-03-14T01:15:00Z",
    "status": "open",
    "confirmed_by": null,
    "confirmed_at": null,
    "attendances": [{
        "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
        "name": "Li Wei",
        "checked_in_at": "2026-03-14T01:05:00Z",
        "checked_out_at": "2026-03-14T03:40:00Z",
        "confirmed": false
    }]
})))]
pub struct CheckInDetail {
    /// The check-in.
    #[serde(flatten)]
    pub check_in: CheckInView,
    /// Who checked in.
    pub attendances: Vec<AttendanceView>,
}

/// A volunteer's own attendance, as checking in or out answers it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "check_in_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d70",
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "activity_name": "Riverside clean-up",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "checked_in_at": "2026-03-14T01:05:00Z",
    "checked_out_at": null
})))]
pub struct MyAttendance {
    /// The check-in.
    pub check_in_id: CheckInId,
    /// What the event is.
    pub activity_id: ActivityId,
    /// Its name.
    pub activity_name: String,
    /// Where.
    pub organisation_id: OrganisationId,
    /// When you checked in.
    pub checked_in_at: DateTime<Utc>,
    /// When you checked out; null while you are there.
    pub checked_out_at: Option<DateTime<Utc>>,
}

/// The code shown at the event.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"code": "7KQ2-M9XD"})))]
#[serde(deny_unknown_fields)]
pub struct CheckInCodeRequest {
    /// Eight letters and digits, as shown or scanned (the QR payload is
    /// accepted too).
    pub code: String,
}

impl CheckInCodeRequest {
    fn code(&self) -> Result<CheckInCode, AppError> {
        let text = self.code.trim();
        let text = text.strip_prefix("timebank:check-in:").unwrap_or(text);
        text.parse()
            .map_err(|rule: &str| AppError::invalid_field("code", rule))
    }
}

/// One attendance to pay, with the times corrected where needed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmedAttendee {
    /// A volunteer who checked in.
    pub volunteer_id: VolunteerId,
    /// When their service started (default: when they checked in).
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended (default: when they checked out; required for anyone
    /// who did not).
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
}

/// Confirming a check-in's attendance list.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"attendees": [
    {"volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08"},
    {"volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d09", "ended_at": "2026-03-14T04:00:00Z"}
]})))]
#[serde(deny_unknown_fields)]
pub struct ConfirmCheckInRequest {
    /// Whose attendance is paid (default: everyone who checked in and out).
    /// Anyone not named stays unconfirmed and is not paid.
    #[serde(default)]
    pub attendees: Option<Vec<ConfirmedAttendee>>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckInQuery {
    /// Only check-ins in this status.
    pub status: Option<CheckInStatus>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<CheckInId>,
}

/// Each confirmed volunteer's record: its client id and its outcome.
pub type ConfirmedRecords = Vec<(Option<String>, Result<ServiceRecorded, AppError>)>;

/// The check-in if the caller's `roles` reach where it is; 404 otherwise.
fn visible(
    conn: &mut DbConnection,
    caller: &Caller,
    roles: &[Role],
    id: &CheckInId,
) -> Result<CheckInRow, AppError> {
    let hidden = || AppError::not_found("check-in");
    let row = check_ins::get(conn, id)?.ok_or_else(hidden)?;
    let place = find(conn, &row.organisation_id)?.ok_or_else(hidden)?;
    if !caller.covers(roles, place.path()) {
        return Err(hidden());
    }
    Ok(row)
}

/// The caller's own volunteer record: only a volunteer checks in.
fn own_volunteer(
    conn: &mut DbConnection,
    caller: &Caller,
) -> Result<crate::store::volunteers::VolunteerRow, AppError> {
    volunteers::of_user(conn, &caller.user_id)?.ok_or_else(|| {
        AppError::forbidden("only a registered volunteer checks in, from their own login")
    })
}

/// The open check-in a code names, locked for the rest of the transaction.
fn open_check_in(conn: &mut DbConnection, code: &CheckInCode) -> Result<CheckInRow, AppError> {
    let unknown = || AppError::not_found("open check-in with this code");
    let row = check_ins::open_by_code(conn, code)?.ok_or_else(unknown)?;
    check_ins::lock(conn, &row.id)?;
    // Read again under the lock: a confirmation may have closed it meanwhile.
    let row = check_ins::get(conn, &row.id)?.ok_or_else(unknown)?;
    if row.status != CheckInStatus::Open {
        return Err(closed_with_another_list(0));
    }
    Ok(row)
}

fn my_attendance(
    conn: &mut DbConnection,
    check_in: &CheckInRow,
    row: &AttendanceRow,
) -> Result<MyAttendance, AppError> {
    let activity = activities::get(conn, &check_in.activity_id)?
        .ok_or_else(|| AppError::internal("activity of a check-in vanished"))?;
    Ok(MyAttendance {
        check_in_id: check_in.id,
        activity_id: activity.id,
        activity_name: activity.name,
        organisation_id: check_in.organisation_id,
        checked_in_at: row.checked_in_at.into(),
        checked_out_at: row.checked_out_at.map(Into::into),
    })
}

/// A volunteer to pay, and from when to when.
type Attended = (VolunteerId, DateTime<Utc>, DateTime<Utc>);

/// Who is paid, with their spans, from what the coordinator named (or
/// everyone who checked out). Refused whole when the list itself is wrong:
/// someone who never checked in, named twice, or without an end.
fn chosen(
    attendances: &[AttendanceRow],
    request: &ConfirmCheckInRequest,
) -> Result<Vec<Attended>, AppError> {
    let picked: Vec<_> = match &request.attendees {
        None => attendances
            .iter()
            .filter_map(|a| Some((a.volunteer_id, a.checked_in_at.0, a.checked_out_at?.0)))
            .collect(),
        Some(named) => {
            let mut seen = HashSet::new();
            named
                .iter()
                .enumerate()
                .map(|(i, who)| {
                    let field = |name: &str| format!("attendees[{i}].{name}");
                    let row = attendances
                        .iter()
                        .find(|a| a.volunteer_id == who.volunteer_id)
                        .ok_or_else(|| {
                            AppError::invalid_field(
                                field("volunteer_id"),
                                "this volunteer did not check in",
                            )
                        })?;
                    if !seen.insert(who.volunteer_id) {
                        return Err(AppError::invalid_field(
                            field("volunteer_id"),
                            "named twice",
                        ));
                    }
                    let end = who
                        .ended_at
                        .or(row.checked_out_at.map(|t| t.0))
                        .ok_or_else(|| {
                            AppError::invalid_field(
                                field("ended_at"),
                                "this volunteer did not check out; give when their service ended",
                            )
                        })?;
                    Ok((
                        who.volunteer_id,
                        who.started_at.unwrap_or(row.checked_in_at.0),
                        end,
                    ))
                })
                .collect::<Result<_, AppError>>()?
        }
    };
    if picked.is_empty() {
        return Err(AppError::invalid_field(
            "attendees",
            "nobody to confirm: no volunteer has checked in and out",
        ));
    }
    Ok(picked)
}

impl App {
    pub async fn open_check_in(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: OpenCheckInRequest,
    ) -> Result<Answer<CheckInView>, AppError> {
        caller.require_any(RECORDERS)?;
        let minutes = request.code_minutes.unwrap_or(DEFAULT_CODE_MINUTES);
        if !(1..=MAX_CODE_MINUTES).contains(&minutes) {
            return Err(AppError::invalid_field(
                "code_minutes",
                format!("1 to {MAX_CODE_MINUTES}"),
            ));
        }
        if request
            .note
            .as_ref()
            .is_some_and(|n| n.len() > MAX_NOTE_BYTES)
        {
            return Err(AppError::invalid_field(
                "note",
                format!("at most {MAX_NOTE_BYTES} bytes"),
            ));
        }
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/check-ins",
                    &request,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let lookups = &mut Lookups::default();
            let place = find(conn, &request.organisation_id)?
                .filter(|n| caller.covers(RECORDERS, n.path()))
                .ok_or_else(|| {
                    AppError::invalid_field("organisation_id", "no such organisation in your scope")
                })?;
            offered_at(conn, lookups, &place, &request.activity_id)?;
            // 40 random bits among the few open check-ins: a second draw is
            // already rare; the unique index refuses what slips through.
            let mut code = CheckInCode::generate();
            while check_ins::open_by_code(conn, &code)?.is_some() {
                code = CheckInCode::generate();
            }
            let now = journal_time(Utc::now());
            let row = CheckInRow {
                id: CheckInId::generate(),
                code,
                activity_id: request.activity_id,
                organisation_id: place.id(),
                note: request.note.as_deref().map(str::to_string),
                opened_by: caller.user_id,
                opened_at: UtcTime(now),
                code_expires_at: UtcTime(now + Duration::minutes(i64::from(minutes))),
                status: CheckInStatus::Open,
                confirmed_by: None,
                confirmed_at: None,
            };
            check_ins::insert(conn, &row)?;
            Ok(CheckInView::new(&row))
        })
        .await
    }

    pub async fn list_check_ins(
        &self,
        caller: &Caller,
        query: CheckInQuery,
    ) -> Result<Page<CheckInView>, AppError> {
        caller.require_any(READERS)?;
        let limit = Limit::parse(query.limit)?;
        let subtrees = caller.subtrees(READERS);
        let rows = self
            .store
            .run(move |conn| {
                check_ins::page(conn, &subtrees, query.status, query.cursor, limit.probe())
            })
            .await?;
        let views = rows.iter().map(CheckInView::new).collect();
        Ok(limit.finish(views, |v| v.id.to_string()))
    }

    pub async fn get_check_in(
        &self,
        caller: &Caller,
        id: CheckInId,
    ) -> Result<CheckInDetail, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                let row = visible(conn, &caller, READERS, &id)?;
                let list = check_ins::attendances_of(conn, &id)?;
                let ids: Vec<VolunteerId> = list.iter().map(|a| a.volunteer_id).collect();
                let names: std::collections::HashMap<_, _> = volunteers::many(conn, &ids)?
                    .into_iter()
                    .map(|v| (v.id, v.name))
                    .collect();
                let attendances = list
                    .iter()
                    .map(|a| AttendanceView {
                        volunteer_id: a.volunteer_id,
                        name: names.get(&a.volunteer_id).cloned().unwrap_or_default(),
                        checked_in_at: a.checked_in_at.into(),
                        checked_out_at: a.checked_out_at.map(Into::into),
                        confirmed: a.confirmed,
                    })
                    .collect();
                Ok(CheckInDetail {
                    check_in: CheckInView::new(&row),
                    attendances,
                })
            })
            .await
    }

    /// A volunteer checks in with the code, while it is valid.
    pub async fn check_in(
        &self,
        caller: &Caller,
        request: CheckInCodeRequest,
    ) -> Result<MyAttendance, AppError> {
        let code = request.code()?;
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let volunteer = own_volunteer(conn, &caller)?;
                    let check_in = open_check_in(conn, &code)?;
                    let now = journal_time(Utc::now());
                    if now >= check_in.code_expires_at.0 {
                        return Err(AppError::new(
                            ErrorCode::CheckInCodeExpired,
                            format!(
                                "the code stopped taking check-ins at {}",
                                check_in.code_expires_at.0.to_rfc3339()
                            ),
                        ));
                    }
                    if volunteer.status != VolunteerStatus::Active {
                        return Err(AppError::new(
                            ErrorCode::VolunteerInactive,
                            format!("your membership is {}", volunteer.status),
                        ));
                    }
                    if let Some(before) = check_ins::attendance(conn, &check_in.id, &volunteer.id)?
                    {
                        return Err(AppError::new(
                            ErrorCode::AlreadyCheckedIn,
                            format!("you checked in at {}", before.checked_in_at.0.to_rfc3339()),
                        ));
                    }
                    let row = AttendanceRow {
                        check_in_id: check_in.id,
                        volunteer_id: volunteer.id,
                        checked_in_at: UtcTime(now),
                        checked_out_at: None,
                        confirmed: false,
                    };
                    check_ins::insert_attendance(conn, &row)?;
                    my_attendance(conn, &check_in, &row)
                })
            })
            .await
    }

    /// A volunteer checks out with the same code, until the list is
    /// confirmed.
    pub async fn check_out(
        &self,
        caller: &Caller,
        request: CheckInCodeRequest,
    ) -> Result<MyAttendance, AppError> {
        let code = request.code()?;
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let volunteer = own_volunteer(conn, &caller)?;
                    let check_in = open_check_in(conn, &code)?;
                    let mut row = check_ins::attendance(conn, &check_in.id, &volunteer.id)?
                        .filter(|a| a.checked_out_at.is_none())
                        .ok_or_else(|| {
                            AppError::new(
                                ErrorCode::NotCheckedIn,
                                "you have not checked in to this event, or checked out already",
                            )
                        })?;
                    let now = UtcTime(journal_time(Utc::now()).max(row.checked_in_at.0));
                    check_ins::check_out(conn, &check_in.id, &volunteer.id, now)?;
                    row.checked_out_at = Some(now);
                    my_attendance(conn, &check_in, &row)
                })
            })
            .await
    }

    /// The coordinator confirms who attended: each confirmed attendance
    /// becomes a service record, credited (or waiting for approval) like any
    /// other, each refused on its own; the check-in closes. Sent again with
    /// the same list, it answers each record as made the first time.
    pub async fn confirm_check_in(
        &self,
        caller: &Caller,
        id: CheckInId,
        request: ConfirmCheckInRequest,
    ) -> Result<ConfirmedRecords, AppError> {
        caller.require_any(RECORDERS)?;
        let now = Utc::now();
        let prepared = {
            let (caller, zone, policy) = (caller.clone(), self.service_zone, self.approval);
            self.store
                .run(move |conn| {
                    let row = visible(conn, &caller, RECORDERS, &id)?;
                    let list = check_ins::attendances_of(conn, &id)?;
                    let picked = chosen(&list, &request)?;
                    if row.status == CheckInStatus::Confirmed {
                        let before: HashSet<VolunteerId> =
                            check_ins::confirmed_volunteers(conn, &id)?
                                .into_iter()
                                .collect();
                        if before.len() != picked.len()
                            || picked.iter().any(|(v, _, _)| !before.contains(v))
                        {
                            return Err(closed_with_another_list(before.len()));
                        }
                    }
                    let note =
                        row.note.clone().map(Note::parse).transpose().map_err(|e| {
                            AppError::internal(format!("stored check-in note: {e}"))
                        })?;
                    let mut lookups = Lookups::default();
                    let named: Vec<VolunteerId> = picked.iter().map(|p| p.0).collect();
                    lookups.preload(conn, &named)?;
                    let acts: Vec<(Option<String>, Result<ServiceAct, AppError>)> = picked
                        .into_iter()
                        .map(|(volunteer, started_at, ended_at)| {
                            let client_id =
                                uuid::Uuid::new_v5(&id.as_uuid(), volunteer.as_uuid().as_bytes());
                            let request = RecordServiceRequest {
                                volunteer_id: Some(volunteer),
                                card_number: None,
                                activity_id: row.activity_id,
                                organisation_id: Some(row.organisation_id),
                                started_at,
                                ended_at: Some(ended_at),
                                minutes: None,
                                note: note.clone(),
                                client_id: Some(client_id),
                            };
                            let act = span_of(&request, now).and_then(|span| {
                                let mut act = prepare(
                                    conn,
                                    &mut lookups,
                                    &caller,
                                    &request,
                                    span,
                                    zone,
                                    &policy,
                                )?;
                                act.attendance = Some(id);
                                Ok(act)
                            });
                            (Some(client_id.hyphenated().to_string()), act)
                        })
                        .collect();
                    Ok((named, acts))
                })
                .await?
        };
        let (mut volunteers, acts) = prepared;
        let mut ledgers: Vec<_> = acts
            .iter()
            .filter_map(|(_, act)| act.as_ref().ok().map(|a| a.ledger_id))
            .collect();
        ledgers.sort_unstable();
        ledgers.dedup();
        if ledgers.is_empty() {
            // Nobody could be recorded: the list stays open to be put right.
            return Ok(acts
                .into_iter()
                .map(|(client, act)| {
                    let refusal = act
                        .and_then(|_| Err(AppError::internal("a prepared record was not queued")));
                    (client, refusal)
                })
                .collect());
        }
        volunteers.sort_unstable();
        let close = ConfirmCheckInAct {
            check_in: id,
            volunteers,
            confirmed_by: caller.user_id,
            ledgers,
        };
        // The close is queued first and the records after it, so the writer
        // commits it in their batch or before.
        let closing = self.writer.enqueue(close, None)?;
        let pending: Vec<_> = acts
            .into_iter()
            .map(|(client, act)| (client, act.and_then(|a| self.writer.enqueue(a, None))))
            .collect();
        let closed = closing.answer().await.and_then(|a| a.outcome);
        let mut answers = Vec::with_capacity(pending.len());
        for (client, p) in pending {
            let outcome = match p {
                Ok(p) => p.answer().await.and_then(|a| a.outcome),
                Err(refusal) => Err(refusal),
            };
            answers.push((client, outcome));
        }
        closed?;
        Ok(answers)
    }
}
