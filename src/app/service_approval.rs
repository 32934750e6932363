//! A second person's decision on service that waited for one: approving
//! credits the record as priced when it was recorded (one act: the credit
//! and the record's new status), rejecting closes it unpaid. The recorder
//! can do neither; the database refuses it too.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::act::{Act, ActContext, Needs};
use super::activities::ActivityView;
use super::answer::Answer;
use super::earning_rules::terms_of;
use super::idempotency::{self, Claim};
use super::service_act::{ServiceCredit, balance_of};
use super::service_records::{ServiceReceipt, ServiceRecordView};
use super::service_tallies::{self, Counted};
use crate::domain::{
    AccountId, EarningTerms, LedgerId, Note, Points, ServiceRecordId, ServiceStatus, UserId,
    VolunteerStatus,
};
use crate::error::{AppError, ErrorCode};
use crate::store::DbConnection;
use crate::store::columns::UtcTime;
use crate::store::rows::IdempotencyRow;
use crate::store::service_records::{self, Decision, ServiceRecordRow};
use crate::store::{activities, earning_rules, volunteers};

/// Approving a record: an optional note for the auditor.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"note": "Night shift at the care home confirmed by its manager"})))]
#[serde(deny_unknown_fields)]
pub struct ApproveServiceRequest {
    /// At most 1024 bytes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: Option<Note>,
}

/// Rejecting a record: why, for the coordinator who recorded it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"reason": "The volunteer was not on the rota that night"})))]
#[serde(deny_unknown_fields)]
pub struct RejectServiceRequest {
    /// 1 to 1024 bytes.
    #[schema(value_type = String)]
    pub reason: Note,
}

/// Records decided (or reversed) by earlier acts of the batch, whose rows
/// the database does not show changed yet.
#[derive(Default)]
pub(super) struct Decided(pub HashSet<ServiceRecordId>);

/// The record as the batch sees it: refused when an earlier act of the
/// batch changed it already, or when it does not wait for approval.
fn waiting(cx: &mut ActContext<'_>, id: &ServiceRecordId) -> Result<ServiceRecordRow, AppError> {
    let row = service_records::get(cx.conn(), id)?
        .ok_or_else(|| AppError::not_found("service record"))?;
    if row.status != ServiceStatus::PendingApproval || cx.memo::<Decided>().0.contains(id) {
        return Err(AppError::new(
            ErrorCode::NotPendingApproval,
            format!(
                "the service record is {}; only a record waiting for approval is approved or rejected",
                row.status
            ),
        ));
    }
    Ok(row)
}

fn second_person(row: &ServiceRecordRow, decider: &UserId) -> Result<(), AppError> {
    if &row.recorded_by == decider {
        return Err(AppError::new(
            ErrorCode::OwnRecord,
            "you recorded this service; another coordinator must approve or reject it",
        ));
    }
    Ok(())
}

/// Queues the decision's row write; it lands after the batch's journal
/// rows, so an approval may name the transfer it made.
fn write_decision(cx: &mut ActContext<'_>, id: ServiceRecordId, decision: Decision) {
    cx.memo::<Decided>().0.insert(id);
    cx.write(Box::new(move |conn| {
        if service_records::decide(conn, &id, &decision)? {
            Ok(())
        } else {
            // The batch's ledger lock orders decisions; a record changed
            // under it means something wrote behind the service's back.
            Err(AppError::internal("service record decided concurrently"))
        }
    }));
}

pub struct ApproveServiceAct {
    pub record: ServiceRecordId,
    pub ledger_id: LedgerId,
    pub issuance: AccountId,
    pub wallet: AccountId,
    pub approver: UserId,
    pub note: Option<String>,
    /// The scheme's time zone, for the tallies the credit changes.
    pub zone: chrono::FixedOffset,
}

impl ApproveServiceAct {
    /// The campaign multiplier and rule version that priced the record: the
    /// rule is versioned and never edited, so they read the same as then.
    fn pricing(
        conn: &mut DbConnection,
        row: &ServiceRecordRow,
        scale: u32,
    ) -> Result<(u32, Option<(crate::domain::EarningRuleId, i32)>), AppError> {
        let Some(rule_id) = row.rule_id else {
            let terms = EarningTerms::defaults(scale);
            return Ok((terms.multiplier_at(row.started_at.into()), None));
        };
        let rule = earning_rules::get(conn, &rule_id)?
            .ok_or_else(|| AppError::internal("earning rule of a service record vanished"))?;
        let multiplier = terms_of(&rule).multiplier_at(row.started_at.into());
        Ok((multiplier, Some((rule.id, rule.version))))
    }
}

impl Act for ApproveServiceAct {
    type Outcome = ServiceReceipt;

    fn needs(&self) -> Needs {
        Needs {
            accounts: vec![self.issuance, self.wallet],
            ledgers: vec![self.ledger_id],
            transfers: Vec::new(),
        }
    }

    fn run(&self, cx: &mut ActContext<'_>) -> Result<ServiceReceipt, AppError> {
        let mut row = waiting(cx, &self.record)?;
        second_person(&row, &self.approver)?;
        let status = volunteers::get(cx.conn(), &row.volunteer_id)?
            .map(|v| v.status)
            .ok_or_else(|| AppError::internal("volunteer of a service record vanished"))?;
        if status != VolunteerStatus::Active {
            return Err(AppError::new(
                ErrorCode::VolunteerInactive,
                format!("the volunteer is {status}; no service is credited to them"),
            ));
        }
        let activity = activities::get(cx.conn(), &row.activity_id)?
            .ok_or_else(|| AppError::internal("activity of a service record vanished"))?;
        let scale = cx.scale(&row.ledger_id);
        let (multiplier_percent, rule) = Self::pricing(cx.conn(), &row, scale)?;
        let amount = Points::from_minor(row.points)
            .to_amount(scale)
            .ok_or_else(|| AppError::internal("a pending record of no points"))?;
        let credit = ServiceCredit {
            record: row.id,
            ledger_id: row.ledger_id,
            issuance: self.issuance,
            wallet: self.wallet,
            activity: &ActivityView::new(&activity),
            minutes: i64::from(row.minutes),
            amount,
            multiplier_percent,
            rule,
            event_time: row.ended_at.into(),
            actor: self.approver,
            recorded_by: Some(row.recorded_by),
        };
        let entry = cx.apply(&credit.command())?;
        let decision = Decision {
            status: ServiceStatus::Credited,
            transfer_id: Some(entry.transfer.id),
            decided_by: self.approver,
            decided_at: UtcTime(cx.now()),
            note: self.note.clone(),
        };
        row.status = decision.status;
        row.transfer_id = decision.transfer_id;
        row.decided_by = Some(decision.decided_by);
        row.decided_at = Some(decision.decided_at);
        row.decision_note = decision.note.clone();
        let receipt = ServiceReceipt {
            record: ServiceRecordView::new(&row, scale),
            balance: balance_of(cx, &self.wallet, scale),
        };
        service_tallies::count(cx, self.zone, Counted::from(&row), 1);
        write_decision(cx, row.id, decision);
        Ok(receipt)
    }

    fn record(
        claim: &Claim,
        outcome: &ServiceReceipt,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyRow, AppError> {
        idempotency::record(claim, &Ok::<_, AppError>(outcome), now)
    }

    fn replay(
        _conn: &mut DbConnection,
        row: &IdempotencyRow,
        claim: &Claim,
    ) -> Result<Answer<ServiceReceipt>, AppError> {
        idempotency::replay(row, claim)
    }
}

pub struct RejectServiceAct {
    pub record: ServiceRecordId,
    pub ledger_id: LedgerId,
    pub rejecter: UserId,
    pub reason: String,
}

impl Act for RejectServiceAct {
    type Outcome = ServiceRecordView;

    /// The ledger's lock orders a rejection against an approval of the same
    /// record in another batch or process.
    fn needs(&self) -> Needs {
        Needs {
            ledgers: vec![self.ledger_id],
            ..Needs::default()
        }
    }

    fn run(&self, cx: &mut ActContext<'_>) -> Result<ServiceRecordView, AppError> {
        let mut row = waiting(cx, &self.record)?;
        second_person(&row, &self.rejecter)?;
        let decision = Decision {
            status: ServiceStatus::Rejected,
            transfer_id: None,
            decided_by: self.rejecter,
            decided_at: UtcTime(cx.now()),
            note: Some(self.reason.clone()),
        };
        row.status = decision.status;
        row.decided_by = Some(decision.decided_by);
        row.decided_at = Some(decision.decided_at);
        row.decision_note = decision.note.clone();
        let view = ServiceRecordView::new(&row, cx.scale(&row.ledger_id));
        write_decision(cx, row.id, decision);
        Ok(view)
    }

    fn record(
        claim: &Claim,
        outcome: &ServiceRecordView,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyRow, AppError> {
        idempotency::record(claim, &Ok::<_, AppError>(outcome), now)
    }

    fn replay(
        _conn: &mut DbConnection,
        row: &IdempotencyRow,
        claim: &Claim,
    ) -> Result<Answer<ServiceRecordView>, AppError> {
        idempotency::replay(row, claim)
    }
}
