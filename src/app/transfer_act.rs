//! A ledger command as an act: a transfer, a hold's post or void, a reversal.

use chrono::{DateTime, Utc};

use super::act::{Act, ActContext, ActReply, Needs};
use super::idempotency::{self, Claim, StoredResponse};
use super::transfer_view::TransferView;
use crate::error::AppError;
use crate::ledger::{Command, JournalEntry, LedgerError};
use crate::store::DbConnection;
use crate::store::journal::Aftermath;
use crate::store::rows::IdempotencyRow;

pub struct TransferAct(pub Command);

/// The transfer an act recorded, with its ledger's scale to show it in.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub entry: Box<JournalEntry>,
    pub scale: u32,
}

impl Act for TransferAct {
    type Outcome = Recorded;

    fn needs(&self) -> Needs {
        Needs::of_command(&self.0)
    }

    fn run(&self, cx: &mut ActContext<'_>) -> Result<Recorded, AppError> {
        let entry = cx.apply(&self.0).map_err(|e| match e {
            LedgerError::TransferNotFound(id) => AppError::not_found(&format!("transfer {id}")),
            other => AppError::from(other),
        })?;
        let scale = cx.scale(&entry.transfer.ledger_id);
        Ok(Recorded {
            entry: Box::new(entry),
            scale,
        })
    }

    fn record(claim: &Claim, outcome: &Recorded, now: DateTime<Utc>) -> IdempotencyRow {
        idempotency::record_created(claim, &outcome.entry.transfer, now)
    }

    /// A created transfer's record keeps no body: the journal holds every row
    /// of it, and the first answer is rendered from there again.
    fn replay(
        conn: &mut DbConnection,
        row: &IdempotencyRow,
        claim: &Claim,
    ) -> Result<StoredResponse, AppError> {
        let mut response = idempotency::replay(row, claim)?;
        if let Some(id) = idempotency::created_transfer(row)? {
            response.body = TransferView::first_answer(conn, id)?;
        }
        Ok(response)
    }
}

/// The answer to a transfer act, as it is sent and kept.
pub fn transfer_answer(reply: ActReply<Recorded>) -> Result<StoredResponse, AppError> {
    match reply {
        ActReply::Done(recorded) => {
            let view = TransferView::new(&recorded.entry, recorded.scale, &Aftermath::default());
            StoredResponse::created(view.location(), &view)
        }
        ActReply::Refused(refusal) => Ok(StoredResponse::refusal(&refusal)),
        ActReply::Replayed(stored) => Ok(stored),
    }
}
