//! Why the engine refuses a transfer. Each maps to one stable API code.

use crate::domain::{AccountId, AmountError, LedgerId, TransferId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a transfer needs at least two postings, with at least one debit and one credit")]
    TooFewPostings,
    #[error("postings[{leg}].amount: {source}")]
    InvalidAmount { leg: usize, source: AmountError },
    #[error("debits ({debits}) do not equal credits ({credits})")]
    Unbalanced { debits: String, credits: String },
    #[error("all postings of a transfer must be on one ledger")]
    LedgerMismatch,
    #[error("ledger {0} does not exist")]
    LedgerNotFound(LedgerId),
    #[error("account {0} does not exist")]
    AccountNotFound(AccountId),
    #[error("account {0} is frozen")]
    AccountFrozen(AccountId),
    #[error("account {0} is closed")]
    AccountClosed(AccountId),
    #[error("account {account} cannot cover {needed}: {available} available")]
    InsufficientFunds {
        account: AccountId,
        needed: String,
        available: String,
    },
    #[error("account {0} cannot take this: its totals would leave the range the ledger can hold")]
    Overflow(AccountId),
    #[error("account {0} is on both sides: a transfer cannot debit and credit one account")]
    SameAccount(AccountId),
    #[error("ledger {0} has used every sequence number")]
    SequenceExhausted(LedgerId),
    #[error("transfer {0} not found")]
    TransferNotFound(TransferId),
    #[error("transfer {0} is not a pending hold that is still open")]
    NotPending(TransferId),
    #[error("the hold {0} has expired and was released")]
    PendingExpired(TransferId),
    #[error("transfer {0} cannot be reversed (holds are voided, reversals are not reversed)")]
    NotReversible(TransferId),
    #[error("transfer {0} was already reversed")]
    AlreadyReversed(TransferId),
}
