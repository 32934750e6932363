//! Journal rows as the engine produces them and the auditor re-reads them.

use chrono::{DateTime, Utc};

use crate::domain::{AccountId, Direction, LedgerId, Phase, Points, TransferId, TransferKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRecord {
    pub id: TransferId,
    pub ledger_id: LedgerId,
    pub sequence: i64,
    pub kind: TransferKind,
    pub phase: Phase,
    pub pending_id: Option<TransferId>,
    pub reverses_id: Option<TransferId>,
    pub timeout_at: Option<DateTime<Utc>>,
    pub external_ref: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<String>,
    pub actor_id: String,
    pub on_behalf_of: Option<String>,
    pub event_time: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostingRecord {
    pub transfer_id: TransferId,
    pub leg: i32,
    pub ledger_id: LedgerId,
    pub account_id: AccountId,
    pub direction: Direction,
    pub amount: Points,
    /// Part of a hold: moves the pending totals, not the posted ones.
    pub pending: bool,
    /// The account's posted balance after this posting.
    pub balance_after: Points,
    pub account_version: i64,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub transfer: TransferRecord,
    pub postings: Vec<PostingRecord>,
}
