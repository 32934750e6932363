//! Acts: the writer's unit of work. An act names what it needs, then, inside the
//! batch's one transaction, checks itself against the batch's state (the ledger
//! engine for points, domain rules for the rest), emits ledger commands, queues
//! its own rows and returns a typed outcome. Everything an act did commits with
//! its batch and its idempotency record, or not at all; a refused act leaves no
//! trace, in the engine's state or in the database.

use std::any::{Any, TypeId};
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::answer::Answer;
use super::idempotency::Claim;
use crate::domain::{AccountId, LedgerId, TransferId};
use crate::error::AppError;
use crate::ledger::{Command, Engine, JournalEntry, LedgerError};
use crate::store::DbConnection;
use crate::store::rows::IdempotencyRow;

/// What the writer loads and locks before a batch's acts run.
#[derive(Clone, Debug, Default)]
pub struct Needs {
    /// Accounts whose state the act's commands read.
    pub accounts: Vec<AccountId>,
    /// Ledgers the act writes to, beyond those of its accounts.
    pub ledgers: Vec<LedgerId>,
    /// Earlier transfers the act settles or reverses.
    pub transfers: Vec<TransferId>,
}

impl Needs {
    /// What one ledger command needs.
    pub fn of_command(command: &Command) -> Self {
        let mut needs = Self {
            accounts: command.account_ids().collect(),
            transfers: command.referenced_transfer().into_iter().collect(),
            ledgers: Vec::new(),
        };
        if let Command::Create(t) = command {
            needs.ledgers.extend(t.ledger_id);
        }
        needs
    }
}

/// A row write that runs after the batch's journal rows are in, so an act's
/// own rows may refer to the transfers it made.
pub type DeferredWrite = Box<dyn FnOnce(&mut DbConnection) -> Result<(), AppError> + Send>;

/// What the acts of one batch attempt remember for the acts after them: rows
/// they queued that the database does not hold yet (a service record, say,
/// that a later record of the same volunteer must not overlap). One value per
/// type; a fresh memo for every attempt, so a retried batch starts clean.
#[derive(Default)]
pub struct Memo(HashMap<TypeId, Box<dyn Any + Send>>);

impl Memo {
    pub fn get<T: Default + Send + 'static>(&mut self) -> &mut T {
        let slot = self
            .0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()));
        match slot.downcast_mut::<T>() {
            Some(value) => value,
            // The slot was made for `T` just above or by an earlier call.
            None => unreachable!("memo slot of another type"),
        }
    }
}

/// The batch's state, as one act sees it.
pub struct ActContext<'a> {
    conn: &'a mut DbConnection,
    engine: &'a mut Engine,
    memo: &'a mut Memo,
    entries: Vec<JournalEntry>,
    writes: Vec<DeferredWrite>,
    now: DateTime<Utc>,
}

impl<'a> ActContext<'a> {
    pub(super) fn new(
        conn: &'a mut DbConnection,
        engine: &'a mut Engine,
        memo: &'a mut Memo,
        now: DateTime<Utc>,
    ) -> Self {
        engine.begin_act();
        Self {
            conn,
            engine,
            memo,
            entries: Vec::new(),
            writes: Vec::new(),
            now,
        }
    }

    /// The batch's transaction, for the act's own reads and row locks. Writes go
    /// through `write`, so that a refused act writes nothing.
    pub fn conn(&mut self) -> &mut DbConnection {
        self.conn
    }

    /// The time the whole batch is recorded at.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Applies a ledger command to the batch's state. Its transfer id is made
    /// here, in commit order: listings page through transfers by id, and a
    /// page must never be followed by a transfer with a smaller id.
    pub fn apply(&mut self, command: &Command) -> Result<JournalEntry, LedgerError> {
        let entry = self.engine.apply(TransferId::generate(), command)?;
        self.entries.push(entry.clone());
        Ok(entry)
    }

    /// The asset scale of a ledger the batch has loaded.
    pub fn scale(&self, ledger: &LedgerId) -> u32 {
        self.engine.ledger(ledger).map_or(0, |h| h.asset_scale)
    }

    /// The batch's memo of type `T`. An act changes it only once nothing can
    /// refuse it any more (after its last `apply`), so a refusal leaves it as
    /// it was.
    pub fn memo<T: Default + Send + 'static>(&mut self) -> &mut T {
        self.memo.get()
    }

    /// An account's state in the batch, after the commands applied so far.
    pub fn account(&self, id: &AccountId) -> Option<&crate::ledger::AccountState> {
        self.engine.account(id)
    }

    /// Queues one of the act's own row writes.
    pub fn write(&mut self, write: DeferredWrite) {
        self.writes.push(write);
    }

    /// What the act produced, if it was not refused.
    pub(super) fn finish(self, accepted: bool) -> (Vec<JournalEntry>, Vec<DeferredWrite>) {
        if accepted {
            (self.entries, self.writes)
        } else {
            self.engine.undo_act();
            (Vec::new(), Vec::new())
        }
    }
}

/// A business act the writer commits. `run` is called again if its batch must
/// be retried (a retry without a failing neighbour), so it takes `&self`.
pub trait Act: Send + 'static {
    type Outcome: Clone + Send + 'static;

    fn needs(&self) -> Needs;

    /// Tells the batch, before any act runs, what this act will read, so the
    /// first act of its kind can read it for the whole batch in one go.
    fn announce(&self, _memo: &mut Memo) {}

    /// Checks and applies the act. An `Err` is a refusal: the writer undoes
    /// whatever the act applied and keeps the refusal under its key.
    fn run(&self, cx: &mut ActContext<'_>) -> Result<Self::Outcome, AppError>;

    /// The idempotency record of an accepted outcome (an act whose outcome is
    /// serde keeps it with `idempotency::record`).
    fn record(
        claim: &Claim,
        outcome: &Self::Outcome,
        now: DateTime<Utc>,
    ) -> Result<IdempotencyRow, AppError>;

    /// The first answer, outcome or refusal, read back from its record (with
    /// `idempotency::replay` for a serde outcome), inside the batch.
    fn replay(
        conn: &mut DbConnection,
        row: &IdempotencyRow,
        claim: &Claim,
    ) -> Result<Answer<Self::Outcome>, AppError>;
}
