//! Table rows as diesel reads and writes them, and their conversion to and from
//! journal records. Columns hold typed values (`super::columns`): ids, names
//! and times are parsed once, as diesel reads them.

use std::str::FromStr;

use chrono::DateTime;
use diesel::prelude::*;

use super::columns::UtcTime;
use super::schema::{accounts, idempotency_keys, ledgers, postings, transfers};
use crate::domain::{
    AccountId, AccountKind, AccountStatus, Direction, LedgerId, OrganisationId, Phase, Points,
    TransferId, TransferKind,
};
use crate::error::AppError;
use crate::ledger::{AccountState, LedgerHead, PostingRecord, TransferRecord};

/// What an idempotency record keeps: the act's outcome, or its refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    Done,
    Refused,
}

impl RecordOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Refused => "refused",
        }
    }
}

impl std::fmt::Display for RecordOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordOutcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "done" => Ok(Self::Done),
            "refused" => Ok(Self::Refused),
            other => Err(format!("unknown record outcome {other:?}")),
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = ledgers)]
pub struct LedgerRow {
    pub id: LedgerId,
    pub code: String,
    pub name: String,
    pub asset_scale: i32,
    pub organisation_id: OrganisationId,
    pub issuance_account_id: Option<AccountId>,
    pub last_sequence: i64,
    pub last_hash: String,
    pub last_recorded_at: Option<UtcTime>,
    pub created_at: UtcTime,
}

impl LedgerRow {
    pub fn head(&self) -> Result<LedgerHead, AppError> {
        Ok(LedgerHead {
            id: self.id,
            asset_scale: u32::try_from(self.asset_scale)
                .map_err(|e| AppError::internal(format!("corrupt asset_scale: {e}")))?,
            last_sequence: self.last_sequence,
            last_hash: self.last_hash.clone(),
            last_recorded_at: self.last_recorded_at.map(DateTime::from),
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: AccountId,
    pub ledger_id: LedgerId,
    pub organisation_id: OrganisationId,
    pub kind: AccountKind,
    pub name: String,
    pub no_overdraft: bool,
    pub status: AccountStatus,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
    pub version: i64,
    pub external_ref: Option<String>,
    pub created_at: UtcTime,
}

impl AccountRow {
    pub fn state(&self) -> AccountState {
        AccountState {
            id: self.id,
            ledger_id: self.ledger_id,
            kind: self.kind,
            no_overdraft: self.no_overdraft,
            status: self.status,
            debits_posted: Points::from_minor(self.debits_posted),
            credits_posted: Points::from_minor(self.credits_posted),
            debits_pending: Points::from_minor(self.debits_pending),
            credits_pending: Points::from_minor(self.credits_pending),
            version: self.version,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = transfers)]
pub struct TransferRow {
    pub id: TransferId,
    pub ledger_id: LedgerId,
    pub sequence: i64,
    pub kind: TransferKind,
    pub phase: Phase,
    pub pending_id: Option<TransferId>,
    pub reverses_id: Option<TransferId>,
    pub timeout_at: Option<UtcTime>,
    pub external_ref: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<String>,
    pub actor_id: String,
    pub on_behalf_of: Option<String>,
    pub event_time: UtcTime,
    pub recorded_at: UtcTime,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&TransferRecord> for TransferRow {
    fn from(t: &TransferRecord) -> Self {
        Self {
            id: t.id,
            ledger_id: t.ledger_id,
            sequence: t.sequence,
            kind: t.kind,
            phase: t.phase,
            pending_id: t.pending_id,
            reverses_id: t.reverses_id,
            timeout_at: t.timeout_at.map(UtcTime),
            external_ref: t.external_ref.clone(),
            description: t.description.clone(),
            metadata: t.metadata.clone(),
            actor_id: t.actor_id.clone(),
            on_behalf_of: t.on_behalf_of.clone(),
            event_time: UtcTime(t.event_time),
            recorded_at: UtcTime(t.recorded_at),
            prev_hash: t.prev_hash.clone(),
            hash: t.hash.clone(),
        }
    }
}

impl From<TransferRow> for TransferRecord {
    fn from(r: TransferRow) -> Self {
        Self {
            id: r.id,
            ledger_id: r.ledger_id,
            sequence: r.sequence,
            kind: r.kind,
            phase: r.phase,
            pending_id: r.pending_id,
            reverses_id: r.reverses_id,
            timeout_at: r.timeout_at.map(DateTime::from),
            external_ref: r.external_ref,
            description: r.description,
            metadata: r.metadata,
            actor_id: r.actor_id,
            on_behalf_of: r.on_behalf_of,
            event_time: r.event_time.0,
            recorded_at: r.recorded_at.0,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub transfer_id: TransferId,
    pub leg: i32,
    pub ledger_id: LedgerId,
    pub account_id: AccountId,
    pub direction: Direction,
    pub amount: i64,
    pub pending: bool,
    pub balance_after: i64,
    pub account_version: i64,
    pub recorded_at: UtcTime,
}

impl From<&PostingRecord> for PostingRow {
    fn from(p: &PostingRecord) -> Self {
        Self {
            transfer_id: p.transfer_id,
            leg: p.leg,
            ledger_id: p.ledger_id,
            account_id: p.account_id,
            direction: p.direction,
            amount: p.amount.minor(),
            pending: p.pending,
            balance_after: p.balance_after.minor(),
            account_version: p.account_version,
            recorded_at: UtcTime(p.recorded_at),
        }
    }
}

impl From<PostingRow> for PostingRecord {
    fn from(r: PostingRow) -> Self {
        Self {
            transfer_id: r.transfer_id,
            leg: r.leg,
            ledger_id: r.ledger_id,
            account_id: r.account_id,
            direction: r.direction,
            amount: Points::from_minor(r.amount),
            pending: r.pending,
            balance_after: Points::from_minor(r.balance_after),
            account_version: r.account_version,
            recorded_at: r.recorded_at.0,
        }
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub outcome: RecordOutcome,
    pub response_body: String,
    pub transfer_id: Option<TransferId>,
    pub created_at: UtcTime,
    pub expires_at: UtcTime,
}
