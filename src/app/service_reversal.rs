//! Taking back a service record (cancelled, or found wrong): a reversing
//! transfer of its credit and the record's status, in one act. Its hours
//! leave the tally; the record and both transfers stay for the auditor.

use chrono::{DateTime, Utc};

use super::act::{Act, ActContext, Needs};
use super::answer::Answer;
use super::idempotency::{self, Claim};
use super::service_approval::Decided;
use super::service_records::ServiceRecordView;
use super::service_tallies::{self, Counted};
use crate::domain::{ServiceRecordId, ServiceStatus, TransferId, UserId};
use crate::error::{AppError, ErrorCode};
use crate::ledger::Command;
use crate::ledger::command::Provenance;
use crate::store::DbConnection;
use crate::store::rows::IdempotencyRow;
use crate::store::service_records;

pub struct ReverseServiceAct {
    pub record: ServiceRecordId,
    pub transfer: TransferId,
    pub reason: String,
    pub actor: UserId,
    /// The scheme's time zone, for the tallies the reversal lowers.
    pub zone: chrono::FixedOffset,
}

impl Act for ReverseServiceAct {
    type Outcome = ServiceRecordView;

    fn needs(&self) -> Needs {
        Needs {
            transfers: vec![self.transfer],
            ..Needs::default()
        }
    }

    fn run(&self, cx: &mut ActContext<'_>) -> Result<ServiceRecordView, AppError> {
        let mut row = service_records::get(cx.conn(), &self.record)?
            .ok_or_else(|| AppError::not_found("service record"))?;
        if row.status == ServiceStatus::Reversed || cx.memo::<Decided>().0.contains(&row.id) {
            return Err(AppError::new(
                ErrorCode::TransferAlreadyReversed,
                "the service record was already reversed",
            ));
        }
        if row.status != ServiceStatus::Credited || row.transfer_id != Some(self.transfer) {
            return Err(AppError::new(
                ErrorCode::ServiceNotCredited,
                format!(
                    "the service record is {}; only a credited record is reversed",
                    row.status
                ),
            ));
        }
        cx.apply(&Command::Reverse {
            original_id: self.transfer,
            provenance: Provenance {
                actor_id: self.actor.to_string(),
                description: Some(format!("Service record reversed: {}", self.reason)),
                external_ref: Some(format!("service-record:{}", self.record)),
                ..Provenance::default()
            },
        })?;
        row.status = ServiceStatus::Reversed;
        let view = ServiceRecordView::new(&row, cx.scale(&row.ledger_id));
        let id = self.record;
        cx.memo::<Decided>().0.insert(id);
        service_tallies::count(cx, self.zone, Counted::from(&row), -1);
        cx.write(Box::new(move |conn| {
            service_records::set_status(conn, &id, ServiceStatus::Reversed)
        }));
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
