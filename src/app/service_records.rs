//! Recording volunteer service. A coordinator says who did what, where and
//! when; the service prices it by the earning rule in force at the service
//! time and credits the volunteer's wallet from the issuance account, the
//! record and its transfer in one act (`service_act`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::activities::ActivityView;
use super::answer::Answer;
use super::caller::Caller;
use super::idempotency::Claim;
use super::ledgers::Scales;
use super::organisations::{Node, find};
use super::page::{Limit, Page};
use super::service_act::{ServiceAct, ServiceRecorded};
use super::service_approval::{
    ApproveServiceAct, ApproveServiceRequest, RejectServiceAct, RejectServiceRequest,
};
use super::service_reversal::ReverseServiceAct;
use crate::domain::service::hours_text;
use crate::domain::{
    AccountId, ActivityId, ApprovalPolicy, EarningRuleId, LedgerId, Note, OrganisationId,
    OrganisationKind, Points, Role, ServiceRecordId, ServiceSpan, ServiceStatus, TransferId,
    UserId, VolunteerId,
};
use crate::error::{AppError, ErrorCode};
use crate::store::activities::ActivityRow;
use crate::store::service_records::{self, ServiceRecordFilter, ServiceRecordRow};
use crate::store::{DbConnection, activities, ledgers, volunteers};

/// Who records service for volunteers of their subtree.
pub const RECORDERS: &[Role] = &[Role::Admin, Role::Coordinator];
const READERS: &[Role] = &[Role::Admin, Role::Coordinator, Role::Auditor];
/// Service may end this far after the server's clock: phones' clocks drift.
pub const CLOCK_SKEW_MINUTES: i64 = 5;
const MAX_NOTE_BYTES: usize = 1024;
/// The most records one batch may carry.
pub const MAX_BATCH: usize = 500;

/// Service one volunteer did. Name the volunteer by `volunteer_id` or by
/// `card_number`; give `ended_at` or `minutes`, not both.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "started_at": "2026-03-14T09:00:00+08:00",
    "ended_at": "2026-03-14T11:30:00+08:00",
    "note": "Visited Mrs Zhang, helped with shopping",
    "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d40"
})))]
#[serde(deny_unknown_fields)]
pub struct RecordServiceRequest {
    /// Who served.
    #[serde(default)]
    pub volunteer_id: Option<VolunteerId>,
    /// Who served, by the number on their member card.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9]{4,32}$")]
    pub card_number: Option<String>,
    /// What they did: an activity offered where they served.
    pub activity_id: ActivityId,
    /// Where the service was done (default: the volunteer's home). The
    /// activity must be offered there.
    #[serde(default)]
    pub organisation_id: Option<OrganisationId>,
    /// When the service started.
    pub started_at: DateTime<Utc>,
    /// When it ended: after it started, at most 24 hours later, not in the future.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// The duration, instead of `ended_at` (1 to 1440).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: Option<u32>,
    /// Free text, at most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: Option<Note>,
    /// The recording app's own id for the record (a UUID). A record sent
    /// again with it is answered as before and never credited twice.
    #[serde(default)]
    pub client_id: Option<uuid::Uuid>,
}

/// A service record, with what it earned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d50",
    "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d40",
    "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
    "started_at": "2026-03-14T01:00:00Z",
    "ended_at": "2026-03-14T03:30:00Z",
    "minutes": 150,
    "hours": "2.50",
    "points": "30.00",
    "earning_rule_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d31",
    "status": "credited",
    "transfer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d51",
    "recorded_by": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "note": "Visited Mrs Zhang, helped with shopping",
    "created_at": "2026-03-14T03:35:00Z",
    "approval_reason": null,
    "decided_by": null,
    "decided_at": null,
    "decision_note": null
})))]
pub struct ServiceRecordView {
    /// The record's id.
    pub id: ServiceRecordId,
    /// The recording app's own id for it, when it sent one.
    pub client_id: Option<String>,
    /// Who served.
    pub volunteer_id: VolunteerId,
    /// What they did.
    pub activity_id: ActivityId,
    /// Where.
    pub organisation_id: OrganisationId,
    /// The points scheme that paid it.
    pub ledger_id: LedgerId,
    /// When the service started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
    /// Minutes credited: the duration in whole units of the rule.
    pub minutes: i32,
    /// The same, in hours (two decimals, rounded down).
    pub hours: String,
    /// Points credited, in the ledger's scale.
    pub points: String,
    /// The rule version that priced it; null for the scheme's defaults.
    pub earning_rule_id: Option<EarningRuleId>,
    /// `credited`; `pending_approval` while it waits for a second person
    /// (priced, not yet paid), then `credited` or `rejected`; `reversed` once
    /// its points were taken back.
    pub status: ServiceStatus,
    /// The transfer that paid it; null while it waits and once rejected.
    pub transfer_id: Option<TransferId>,
    /// The coordinator who recorded it.
    pub recorded_by: UserId,
    /// Free text.
    pub note: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// Why it waited for a second person's approval; null when it was
    /// credited at once.
    pub approval_reason: Option<String>,
    /// Who approved or rejected it.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// What they said (a rejection's reason).
    pub decision_note: Option<String>,
}

impl ServiceRecordView {
    pub fn new(row: &ServiceRecordRow, scale: u32) -> Self {
        Self {
            id: row.id,
            client_id: row.client_id.clone(),
            volunteer_id: row.volunteer_id,
            activity_id: row.activity_id,
            organisation_id: row.organisation_id,
            ledger_id: row.ledger_id,
            started_at: row.started_at.into(),
            ended_at: row.ended_at.into(),
            minutes: row.minutes,
            hours: hours_text(i64::from(row.minutes)),
            points: Points::from_minor(row.points).to_decimal_string(scale),
            earning_rule_id: row.rule_id,
            status: row.status,
            transfer_id: row.transfer_id,
            recorded_by: row.recorded_by,
            note: row.note.clone(),
            created_at: row.created_at.into(),
            approval_reason: row.approval_reason.clone(),
            decided_by: row.decided_by,
            decided_at: row.decided_at.map(Into::into),
            decision_note: row.decision_note.clone(),
        }
    }
}

/// A whole event at once: one activity, the same time, many volunteers.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "started_at": "2026-03-14T09:00:00+08:00",
    "minutes": 180,
    "note": "Spring clean-up of the riverside",
    "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d60",
    "volunteer_ids": ["0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08", "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d09"]
})))]
#[serde(deny_unknown_fields)]
pub struct RecordEventRequest {
    /// What everyone did.
    pub activity_id: ActivityId,
    /// Where (default: each volunteer's home).
    #[serde(default)]
    pub organisation_id: Option<OrganisationId>,
    /// When the event started.
    pub started_at: DateTime<Utc>,
    /// When it ended; or give `minutes`.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// The duration, instead of `ended_at` (1 to 1440).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: Option<u32>,
    /// Free text for every record, at most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: Option<Note>,
    /// The recording app's id for the event: each volunteer's record gets a
    /// client id made from it, so the event sent again credits no one twice.
    pub client_id: uuid::Uuid,
    /// Who took part: 1 to 500 volunteers.
    #[schema(min_items = 1, max_items = 500)]
    pub volunteer_ids: Vec<VolunteerId>,
}

impl RecordEventRequest {
    /// One record per volunteer, each with a client id derived from the
    /// event's and the volunteer's (UUID v5), the same on every retry.
    /// What every volunteer's record shares is checked once: a malformed
    /// event is refused whole.
    pub fn records(&self) -> Result<Vec<RecordServiceRequest>, AppError> {
        if self.volunteer_ids.is_empty() || self.volunteer_ids.len() > MAX_BATCH {
            return Err(AppError::invalid_field(
                "volunteer_ids",
                format!("1 to {MAX_BATCH} volunteers an event"),
            ));
        }
        checked_span(
            self.started_at,
            self.ended_at,
            self.minutes,
            self.note.as_ref(),
        )?;
        Ok(self
            .volunteer_ids
            .iter()
            .map(|volunteer| RecordServiceRequest {
                volunteer_id: Some(*volunteer),
                card_number: None,
                activity_id: self.activity_id,
                organisation_id: self.organisation_id,
                started_at: self.started_at,
                ended_at: self.ended_at,
                minutes: self.minutes,
                note: self.note.clone(),
                client_id: Some(uuid::Uuid::new_v5(
                    &self.client_id,
                    volunteer.as_uuid().as_bytes(),
                )),
            })
            .collect())
    }
}

/// Why a service record is taken back.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"reason": "Recorded for the wrong volunteer"})))]
#[serde(deny_unknown_fields)]
pub struct ReverseServiceRequest {
    /// Shown on the reversing transfer; 1 to 1024 bytes.
    #[schema(value_type = String)]
    pub reason: Note,
}

/// The answer to recording service: the record and the volunteer's new
/// balance.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d50",
    "client_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d40",
    "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
    "activity_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d21",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "ledger_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d01",
    "started_at": "2026-03-14T01:00:00Z",
    "ended_at": "2026-03-14T03:30:00Z",
    "minutes": 150,
    "hours": "2.50",
    "points": "30.00",
    "earning_rule_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d31",
    "status": "credited",
    "transfer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d51",
    "recorded_by": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d02",
    "note": "Visited Mrs Zhang, helped with shopping",
    "created_at": "2026-03-14T03:35:00Z",
    "approval_reason": null,
    "decided_by": null,
    "decided_at": null,
    "decision_note": null,
    "balance": "142.50"
})))]
pub struct ServiceReceipt {
    /// The record.
    #[serde(flatten)]
    pub record: ServiceRecordView,
    /// The wallet's posted balance right after the credit.
    pub balance: String,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServiceRecordQuery {
    /// Only records in this status (`pending_approval`: what waits for a
    /// second person).
    pub status: Option<ServiceStatus>,
    /// Only this volunteer's records.
    pub volunteer_id: Option<VolunteerId>,
    /// Only records made at this organisation.
    pub organisation_id: Option<OrganisationId>,
    /// Only records of this activity.
    pub activity_id: Option<ActivityId>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<ServiceRecordId>,
}

/// The span a request describes, refused when it is malformed or lies in
/// the future.
pub(super) fn span_of(
    request: &RecordServiceRequest,
    now: DateTime<Utc>,
) -> Result<ServiceSpan, AppError> {
    let span = checked_span(
        request.started_at,
        request.ended_at,
        request.minutes,
        request.note.as_ref(),
    )?;
    if span.end() > now + Duration::minutes(CLOCK_SKEW_MINUTES) {
        let field = if request.minutes.is_some() {
            "minutes"
        } else {
            "ended_at"
        };
        return Err(AppError::invalid_field(
            field,
            "service cannot end in the future; record it once it is done",
        ));
    }
    Ok(span)
}

/// The span of `ended_at` or `minutes` (one of them), and a note that fits.
fn checked_span(
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    minutes: Option<u32>,
    note: Option<&Note>,
) -> Result<ServiceSpan, AppError> {
    let (end, field) = match (ended_at, minutes) {
        (Some(end), None) => (end, "ended_at"),
        (None, Some(m)) => (started_at + Duration::minutes(i64::from(m)), "minutes"),
        (Some(_), Some(_)) => {
            return Err(AppError::invalid_field(
                "minutes",
                "give ended_at or minutes, not both",
            ));
        }
        (None, None) => {
            return Err(AppError::invalid_field(
                "ended_at",
                "give ended_at or minutes",
            ));
        }
    };
    check_note_length(note.map(Note::as_str))?;
    ServiceSpan::new(started_at, end).map_err(|rule| AppError::invalid_field(field, rule))
}

/// What preparing records reads more than once (a batch names the same
/// activity, place and ledger again and again): read once per request.
#[derive(Default)]
pub struct Lookups {
    nodes: HashMap<OrganisationId, Option<Node>>,
    activities: HashMap<ActivityId, Option<ActivityRow>>,
    volunteers: HashMap<VolunteerId, crate::store::volunteers::VolunteerRow>,
    wallet_ledgers: HashMap<AccountId, LedgerId>,
    issuance: HashMap<LedgerId, Option<AccountId>>,
}

impl Lookups {
    /// Reads the volunteers a batch names by id, and their wallets' ledgers,
    /// in a few statements rather than a few per record.
    pub(super) fn preload(
        &mut self,
        conn: &mut DbConnection,
        ids: &[VolunteerId],
    ) -> Result<(), AppError> {
        let rows = volunteers::many(conn, ids)?;
        let wallets: Vec<AccountId> = rows.iter().map(|v| v.account_id).collect();
        self.wallet_ledgers
            .extend(crate::store::accounts::ledgers_of(conn, &wallets)?);
        self.volunteers.extend(rows.into_iter().map(|v| (v.id, v)));
        Ok(())
    }

    fn volunteer(
        &mut self,
        conn: &mut DbConnection,
        id: &VolunteerId,
    ) -> Result<Option<crate::store::volunteers::VolunteerRow>, AppError> {
        match self.volunteers.get(id) {
            Some(row) => Ok(Some(row.clone())),
            None => volunteers::get(conn, id),
        }
    }

    fn node(
        &mut self,
        conn: &mut DbConnection,
        id: &OrganisationId,
    ) -> Result<Option<Node>, AppError> {
        if let Some(found) = self.nodes.get(id) {
            return Ok(found.clone());
        }
        let found = find(conn, id)?;
        self.nodes.insert(*id, found.clone());
        Ok(found)
    }

    fn activity(
        &mut self,
        conn: &mut DbConnection,
        id: &ActivityId,
    ) -> Result<Option<ActivityRow>, AppError> {
        if let Some(found) = self.activities.get(id) {
            return Ok(found.clone());
        }
        let found = activities::get(conn, id)?;
        self.activities.insert(*id, found.clone());
        Ok(found)
    }

    /// The wallet's ledger and that ledger's issuance account.
    fn ledger_of(
        &mut self,
        conn: &mut DbConnection,
        wallet: &AccountId,
    ) -> Result<(LedgerId, Option<AccountId>), AppError> {
        let ledger = match self.wallet_ledgers.get(wallet) {
            Some(ledger) => *ledger,
            None => {
                let account = crate::store::accounts::get(conn, wallet)?
                    .ok_or_else(|| AppError::internal("volunteer wallet missing"))?;
                self.wallet_ledgers.insert(*wallet, account.ledger_id);
                account.ledger_id
            }
        };
        if let Some(issuance) = self.issuance.get(&ledger) {
            return Ok((ledger, *issuance));
        }
        let row = ledgers::get(conn, &ledger)?
            .ok_or_else(|| AppError::internal("wallet ledger missing"))?;
        self.issuance.insert(ledger, row.issuance_account_id);
        Ok((ledger, row.issuance_account_id))
    }
}

/// The activity, when it is active and offered at the place: a community
/// (not a partner) at or under the activity's organisation.
pub fn offered_at(
    conn: &mut DbConnection,
    lookups: &mut Lookups,
    place: &Node,
    activity_id: &ActivityId,
) -> Result<ActivityRow, AppError> {
    if place.kind() == OrganisationKind::Partner {
        return Err(AppError::invalid_field(
            "organisation_id",
            "service is recorded at a community, not a partner",
        ));
    }
    let no_activity = || AppError::invalid_field("activity_id", "no such activity offered here");
    let activity = lookups
        .activity(conn, activity_id)?
        .ok_or_else(no_activity)?;
    let owner = lookups
        .node(conn, &activity.organisation_id)?
        .ok_or_else(no_activity)?;
    if !owner.path().contains(place.path()) {
        return Err(no_activity());
    }
    if !activity.active {
        return Err(AppError::invalid_field(
            "activity_id",
            "the activity is inactive",
        ));
    }
    Ok(activity)
}

/// Checks a request against the caller's scope and the records it names, and
/// prepares the act. Rules and caps are checked inside the act, against the
/// batch's state.
pub fn prepare(
    conn: &mut DbConnection,
    lookups: &mut Lookups,
    caller: &Caller,
    request: &RecordServiceRequest,
    span: ServiceSpan,
    zone: chrono::FixedOffset,
    policy: &ApprovalPolicy,
) -> Result<ServiceAct, AppError> {
    let no_volunteer =
        || AppError::invalid_field("volunteer_id", "no such volunteer in your scope");
    let volunteer = match (&request.volunteer_id, &request.card_number) {
        (Some(id), None) => lookups.volunteer(conn, id)?,
        (None, Some(card)) => volunteers::by_card(conn, card.trim())?,
        (Some(_), Some(_)) => {
            return Err(AppError::invalid_field(
                "card_number",
                "name the volunteer by volunteer_id or card_number, not both",
            ));
        }
        (None, None) => {
            return Err(AppError::invalid_field(
                "volunteer_id",
                "name the volunteer by volunteer_id or card_number",
            ));
        }
    }
    .ok_or_else(no_volunteer)?;
    let home = lookups
        .node(conn, &volunteer.organisation_id)?
        .filter(|n| caller.covers(RECORDERS, n.path()))
        .ok_or_else(no_volunteer)?;
    let place = match &request.organisation_id {
        Some(id) => lookups
            .node(conn, id)?
            .filter(|n| caller.covers(RECORDERS, n.path()))
            .ok_or_else(|| {
                AppError::invalid_field("organisation_id", "no such organisation in your scope")
            })?,
        None => home,
    };
    let activity = offered_at(conn, lookups, &place, &request.activity_id)?;
    let (ledger_id, issuance) = lookups.ledger_of(conn, &volunteer.account_id)?;
    let issuance: AccountId = issuance.ok_or_else(|| {
        AppError::new(
            ErrorCode::AccountNotFound,
            "the volunteer's ledger has no issuance account to credit service from",
        )
    })?;
    Ok(ServiceAct {
        id: ServiceRecordId::generate(),
        client_id: request.client_id.map(|c| c.hyphenated().to_string()),
        volunteer_id: volunteer.id,
        wallet: volunteer.account_id,
        issuance,
        ledger_id,
        activity: ActivityView::new(&activity),
        category: activity.category,
        organisation_id: place.id(),
        span,
        note: request.note.as_deref().map(str::to_string),
        recorded_by: caller.user_id,
        zone,
        awaits_approval: policy.reason(&span, zone),
        attendance: None,
    })
}

/// The record if the caller's `roles` reach where it was done or the
/// volunteer's home; 404 otherwise.
fn visible(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &ServiceRecordId,
) -> Result<(ServiceRecordRow, u32), AppError> {
    let hidden = || AppError::not_found("service record");
    let row = service_records::get(conn, id)?.ok_or_else(hidden)?;
    let place = find(conn, &row.organisation_id)?.ok_or_else(hidden)?;
    let own = caller.wallet.is_some()
        && volunteers::get(conn, &row.volunteer_id)?.map(|v| v.account_id) == caller.wallet;
    if !own && !caller.covers(READERS, place.path()) {
        return Err(hidden());
    }
    let scale = ledgers::get(conn, &row.ledger_id)?.map_or(0, |l| l.asset_scale as u32);
    Ok((row, scale))
}

/// Whose accounts a record's credit moves between.
struct RecordParties {
    wallet: AccountId,
    issuance: Option<AccountId>,
}

fn not_credited(status: ServiceStatus) -> AppError {
    AppError::new(
        ErrorCode::ServiceNotCredited,
        format!("the service record is {status}; only a credited record is reversed"),
    )
}

fn check_note_length(note: Option<&str>) -> Result<(), AppError> {
    if note.is_some_and(|n| n.len() > MAX_NOTE_BYTES) {
        return Err(AppError::invalid_field(
            "note",
            format!("at most {MAX_NOTE_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn check_reason(reason: &str) -> Result<(), AppError> {
    if reason.trim().is_empty() || reason.len() > MAX_NOTE_BYTES {
        return Err(AppError::invalid_field(
            "reason",
            format!("1 to {MAX_NOTE_BYTES} bytes"),
        ));
    }
    Ok(())
}

impl App {
    pub async fn record_service(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: RecordServiceRequest,
    ) -> Result<Answer<ServiceRecorded>, AppError> {
        caller.require_any(RECORDERS)?;
        let span = span_of(&request, Utc::now())?;
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/service-records",
                    &request,
                )
            })
            .transpose()?;
        let _guard = claim
            .as_ref()
            .map(|c| self.in_flight.enter(c))
            .transpose()?;
        let act = {
            let (caller, zone, policy) = (caller.clone(), self.service_zone, self.approval);
            self.store
                .run(move |conn| {
                    let lookups = &mut Lookups::default();
                    prepare(conn, lookups, &caller, &request, span, zone, &policy)
                })
                .await?
        };
        self.writer.submit(act, claim).await
    }

    /// Records a batch of service, each record on its own: a refusal of one
    /// is its answer alone. Every record carries its client id, so a batch
    /// sent again (an offline phone retrying) credits nothing twice.
    pub async fn record_service_batch(
        &self,
        caller: &Caller,
        records: Vec<Result<RecordServiceRequest, AppError>>,
    ) -> Result<Vec<Result<ServiceRecorded, AppError>>, AppError> {
        caller.require_any(RECORDERS)?;
        if records.is_empty() || records.len() > MAX_BATCH {
            return Err(AppError::invalid_field(
                "records",
                format!("1 to {MAX_BATCH} records a batch"),
            ));
        }
        let now = Utc::now();
        let checked: Vec<Result<(RecordServiceRequest, ServiceSpan), AppError>> = records
            .into_iter()
            .map(|r| {
                let request = r?;
                if request.client_id.is_none() {
                    return Err(AppError::invalid_field(
                        "client_id",
                        "every record of a batch carries its client id (a UUID)",
                    ));
                }
                let span = span_of(&request, now)?;
                Ok((request, span))
            })
            .collect();
        let prepared = {
            let (caller, zone, policy) = (caller.clone(), self.service_zone, self.approval);
            self.store
                .run(move |conn| {
                    let mut lookups = Lookups::default();
                    let named: Vec<VolunteerId> = checked
                        .iter()
                        .filter_map(|c| c.as_ref().ok().and_then(|(r, _)| r.volunteer_id))
                        .collect();
                    lookups.preload(conn, &named)?;
                    Ok(checked
                        .into_iter()
                        .map(|c| {
                            let (request, span) = c?;
                            prepare(conn, &mut lookups, &caller, &request, span, zone, &policy)
                        })
                        .collect::<Vec<_>>())
                })
                .await?
        };
        // Every act is queued before any answer is awaited, so the writer
        // commits them in as few batches as it can.
        let pending: Vec<_> = prepared
            .into_iter()
            .map(|act| act.and_then(|act| self.writer.enqueue(act, None)))
            .collect();
        let mut answers = Vec::with_capacity(pending.len());
        for p in pending {
            answers.push(match p {
                Ok(p) => p.answer().await.and_then(|a| a.outcome),
                Err(refusal) => Err(refusal),
            });
        }
        Ok(answers)
    }

    /// Takes a record back: a reversing transfer returns its points to the
    /// issuance account and its hours leave the tally. Refused (and nothing
    /// changes) when the volunteer has already spent the points.
    pub async fn reverse_service_record(
        &self,
        caller: &Caller,
        key: Option<&str>,
        id: ServiceRecordId,
        request: ReverseServiceRequest,
    ) -> Result<Answer<ServiceRecordView>, AppError> {
        caller.require_any(RECORDERS)?;
        check_reason(&request.reason)?;
        let claim = self.claim(
            caller,
            key,
            &format!("POST /v1/service-records/{id}/reverse"),
            &request,
        )?;
        let _guard = claim
            .as_ref()
            .map(|c| self.in_flight.enter(c))
            .transpose()?;
        let (row, _) = self
            .record_to_change(
                caller,
                id,
                "only coordinators of where the service was done take it back",
            )
            .await?;
        // The act refuses a record no longer credited (after any replay).
        let Some(transfer) = row.transfer_id else {
            return Err(not_credited(row.status));
        };
        let act = ReverseServiceAct {
            record: row.id,
            transfer,
            reason: request.reason.to_string(),
            actor: caller.user_id,
            zone: self.service_zone,
        };
        self.writer.submit(act, claim).await
    }

    /// A second coordinator's approval of a record that waited for one: the
    /// record is credited as it was priced when recorded.
    pub async fn approve_service_record(
        &self,
        caller: &Caller,
        key: Option<&str>,
        id: ServiceRecordId,
        request: ApproveServiceRequest,
    ) -> Result<Answer<ServiceReceipt>, AppError> {
        caller.require_any(RECORDERS)?;
        check_note_length(request.note.as_deref())?;
        let claim = self.claim(
            caller,
            key,
            &format!("POST /v1/service-records/{id}/approve"),
            &request,
        )?;
        let _guard = claim
            .as_ref()
            .map(|c| self.in_flight.enter(c))
            .transpose()?;
        let (row, parties) = self
            .record_to_change(
                caller,
                id,
                "only coordinators of where the service was done approve it",
            )
            .await?;
        let act = ApproveServiceAct {
            record: row.id,
            ledger_id: row.ledger_id,
            issuance: parties.issuance.ok_or_else(|| {
                AppError::new(
                    ErrorCode::AccountNotFound,
                    "the volunteer's ledger has no issuance account to credit service from",
                )
            })?,
            wallet: parties.wallet,
            approver: caller.user_id,
            zone: self.service_zone,
            note: request.note.map(String::from),
        };
        self.writer.submit(act, claim).await
    }

    /// A second coordinator's rejection: the record stays, unpaid, with the
    /// reason, and no longer holds its volunteer's time.
    pub async fn reject_service_record(
        &self,
        caller: &Caller,
        key: Option<&str>,
        id: ServiceRecordId,
        request: RejectServiceRequest,
    ) -> Result<Answer<ServiceRecordView>, AppError> {
        caller.require_any(RECORDERS)?;
        check_reason(&request.reason)?;
        let claim = self.claim(
            caller,
            key,
            &format!("POST /v1/service-records/{id}/reject"),
            &request,
        )?;
        let _guard = claim
            .as_ref()
            .map(|c| self.in_flight.enter(c))
            .transpose()?;
        let (row, _) = self
            .record_to_change(
                caller,
                id,
                "only coordinators of where the service was done reject it",
            )
            .await?;
        let act = RejectServiceAct {
            record: row.id,
            ledger_id: row.ledger_id,
            rejecter: caller.user_id,
            reason: request.reason.into_string(),
        };
        self.writer.submit(act, claim).await
    }

    fn claim(
        &self,
        caller: &Caller,
        key: Option<&str>,
        path: &str,
        request: &impl Serialize,
    ) -> Result<Option<Claim>, AppError> {
        key.map(|k| {
            Claim::new(
                &self.record_keys,
                caller.idempotency_scope(),
                k,
                path,
                request,
            )
        })
        .transpose()
    }

    /// A record the caller may change: 404 when they cannot see it, 403
    /// when they see it but do not coordinate where it was done.
    async fn record_to_change(
        &self,
        caller: &Caller,
        id: ServiceRecordId,
        refusal: &'static str,
    ) -> Result<(ServiceRecordRow, RecordParties), AppError> {
        let reader = caller.clone();
        let (row, parties, covered) = self
            .store
            .run(move |conn| {
                let (row, _) = visible(conn, &reader, &id)?;
                let place = find(conn, &row.organisation_id)?;
                let covered = place.is_some_and(|n| reader.covers(RECORDERS, n.path()));
                let wallet = volunteers::get(conn, &row.volunteer_id)?
                    .map(|v| v.account_id)
                    .ok_or_else(|| AppError::internal("volunteer of a service record vanished"))?;
                let issuance =
                    ledgers::get(conn, &row.ledger_id)?.and_then(|l| l.issuance_account_id);
                Ok((row, RecordParties { wallet, issuance }, covered))
            })
            .await?;
        if !covered {
            return Err(AppError::forbidden(refusal));
        }
        Ok((row, parties))
    }

    pub async fn get_service_record(
        &self,
        caller: &Caller,
        id: ServiceRecordId,
    ) -> Result<ServiceRecordView, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                let (row, scale) = visible(conn, &caller, &id)?;
                Ok(ServiceRecordView::new(&row, scale))
            })
            .await
    }

    pub async fn list_service_records(
        &self,
        caller: &Caller,
        query: ServiceRecordQuery,
    ) -> Result<Page<ServiceRecordView>, AppError> {
        caller.require_any(READERS)?;
        let limit = Limit::parse(query.limit)?;
        let subtrees = caller.subtrees(READERS);
        let filter = ServiceRecordFilter {
            status: query.status,
            volunteer_id: query.volunteer_id,
            organisation_id: query.organisation_id,
            activity_id: query.activity_id,
        };
        let views = self
            .store
            .run(move |conn| {
                let rows =
                    service_records::page(conn, &subtrees, &filter, query.cursor, limit.probe())?;
                let mut scales = Scales::default();
                rows.iter()
                    .map(|row| {
                        Ok(ServiceRecordView::new(
                            row,
                            scales.of(conn, &row.ledger_id)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .await?;
        Ok(limit.finish(views, |v| v.id.to_string()))
    }
}
