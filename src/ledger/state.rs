//! Account and ledger state the engine works on, loaded under the ledger's lock.

use chrono::{DateTime, Utc};

use crate::domain::{
    AccountId, AccountKind, AccountStatus, Direction, LedgerId, Phase, Points, TransferId,
    TransferKind,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountState {
    pub id: AccountId,
    pub ledger_id: LedgerId,
    pub kind: AccountKind,
    pub no_overdraft: bool,
    pub status: AccountStatus,
    pub debits_posted: Points,
    pub credits_posted: Points,
    pub debits_pending: Points,
    pub credits_pending: Points,
    pub version: i64,
}

impl AccountState {
    /// A just-opened account of this kind, with nothing posted (tests).
    #[cfg(test)]
    pub fn opened(ledger_id: LedgerId, kind: AccountKind) -> Self {
        Self {
            id: AccountId::generate(),
            ledger_id,
            kind,
            no_overdraft: kind.default_no_overdraft(),
            status: AccountStatus::Open,
            debits_posted: Points::ZERO,
            credits_posted: Points::ZERO,
            debits_pending: Points::ZERO,
            credits_pending: Points::ZERO,
            version: 0,
        }
    }

    /// Balance = credits - debits, posted only; `None` when it leaves i64.
    pub fn posted_balance(&self) -> Option<Points> {
        self.credits_posted.checked_sub(self.debits_posted)
    }

    /// What may still be spent: posted balance less the debits on hold; `None`
    /// when it leaves i64 (the engine refuses any transfer that would do so).
    pub fn available(&self) -> Option<Points> {
        self.posted_balance()?.checked_sub(self.debits_pending)
    }

    pub fn is_overdrawn(&self) -> bool {
        self.no_overdraft && self.available().is_none_or(|a| a < Points::ZERO)
    }
}

/// The head of a ledger's hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerHead {
    pub id: LedgerId,
    pub asset_scale: u32,
    pub last_sequence: i64,
    pub last_hash: String,
    pub last_recorded_at: Option<DateTime<Utc>>,
}

impl LedgerHead {
    /// The `prev_hash` of a ledger's first transfer.
    pub const GENESIS_HASH: &'static str =
        "0000000000000000000000000000000000000000000000000000000000000000";
}

/// A transfer that a new command settles or reverses, with what has already
/// happened to it.
#[derive(Clone, Debug)]
pub struct ExistingTransfer {
    pub id: TransferId,
    pub ledger_id: LedgerId,
    pub kind: TransferKind,
    pub phase: Phase,
    pub timeout_at: Option<DateTime<Utc>>,
    pub legs: Vec<(AccountId, Direction, Points)>,
    /// A post or void of this hold exists.
    pub resolved: bool,
    /// A reversal of this transfer exists.
    pub reversed: bool,
}
