//! A ledger command as an act: a transfer, a hold's post or void, a reversal.

use chrono::{DateTime, Utc};

use super::act::{Act, ActContext, Needs};
use super::answer::Answer;
use super::idempotency::{self, Claim};
use super::transfer_view::TransferView;
use crate::domain::TransferId;
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

impl Recorded {
    /// A recorded transfer read back from the journal.
    fn from_journal(conn: &mut DbConnection, id: TransferId) -> Result<Self, AppError> {
        let entry = crate::store::journal::get(conn, &id)?
            .ok_or_else(|| AppError::internal(format!("replayed transfer {id} is missing")))?;
        let scale = crate::store::ledgers::heads(conn, &[entry.transfer.ledger_id])?
            .get(&entry.transfer.ledger_id)
            .map_or(0, |h| h.asset_scale);
        Ok(Self {
            entry: Box::new(entry),
            scale,
        })
    }

    /// The transfer as the first answer showed it: with nothing yet settled
    /// or reversed, whatever happened to it since.
    pub fn view(&self) -> TransferView {
        TransferView::new(&self.entry, self.scale, &Aftermath::default())
    }
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

    fn record(
        claim: &Claim,
        outcome: &Recorded,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyRow, AppError> {
        Ok(idempotency::record_created(
            claim,
            &outcome.entry.transfer,
            now,
        ))
    }

    /// A created transfer's record keeps no body: the journal holds every row
    /// of it, and the first answer is read from there again.
    fn replay(
        conn: &mut DbConnection,
        row: &IdempotencyRow,
        claim: &Claim,
    ) -> Result<Answer<Recorded>, AppError> {
        let outcome = match idempotency::replay_created_transfer(row, claim)? {
            Ok(id) => Ok(Recorded::from_journal(conn, id)?),
            Err(refusal) => Err(refusal),
        };
        Ok(Answer {
            outcome,
            replayed: true,
        })
    }
}
