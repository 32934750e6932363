//! Table rows as diesel reads and writes them, and their conversion to and from
//! domain and journal records. Text columns holding ids and names are parsed here,
//! once; a row that does not parse is a corrupted database and reported as such.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{accounts, idempotency_keys, ledgers, postings, transfers};
use crate::domain::Points;
use crate::error::AppError;
use crate::ledger::{AccountState, LedgerHead, PostingRecord, TransferRecord};

pub fn to_db_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

pub fn from_db_time(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Parses a stored text column into its domain type.
pub fn parse_column<T: FromStr>(value: &str, column: &str) -> Result<T, AppError>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| AppError::internal(format!("corrupt {column} {value:?}: {e}")))
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = ledgers)]
pub struct LedgerRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub asset_scale: i32,
    pub organisation_id: String,
    pub issuance_account_id: Option<String>,
    pub last_sequence: i64,
    pub last_hash: String,
    pub last_recorded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl LedgerRow {
    pub fn head(&self) -> Result<LedgerHead, AppError> {
        Ok(LedgerHead {
            id: parse_column(&self.id, "ledgers.id")?,
            asset_scale: u32::try_from(self.asset_scale)
                .map_err(|e| AppError::internal(format!("corrupt asset_scale: {e}")))?,
            last_sequence: self.last_sequence,
            last_hash: self.last_hash.clone(),
            last_recorded_at: self.last_recorded_at.map(from_db_time),
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: String,
    pub ledger_id: String,
    pub organisation_id: String,
    pub kind: String,
    pub name: String,
    pub no_overdraft: bool,
    pub status: String,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
    pub version: i64,
    pub external_ref: Option<String>,
    pub created_at: NaiveDateTime,
}

impl AccountRow {
    pub fn state(&self) -> Result<AccountState, AppError> {
        Ok(AccountState {
            id: parse_column(&self.id, "accounts.id")?,
            ledger_id: parse_column(&self.ledger_id, "accounts.ledger_id")?,
            kind: parse_column(&self.kind, "accounts.kind")?,
            no_overdraft: self.no_overdraft,
            status: parse_column(&self.status, "accounts.status")?,
            debits_posted: Points::from_minor(self.debits_posted),
            credits_posted: Points::from_minor(self.credits_posted),
            debits_pending: Points::from_minor(self.debits_pending),
            credits_pending: Points::from_minor(self.credits_pending),
            version: self.version,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = transfers)]
pub struct TransferRow {
    pub id: String,
    pub ledger_id: String,
    pub sequence: i64,
    pub kind: String,
    pub phase: String,
    pub pending_id: Option<String>,
    pub reverses_id: Option<String>,
    pub timeout_at: Option<NaiveDateTime>,
    pub external_ref: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<String>,
    pub actor_id: String,
    pub on_behalf_of: Option<String>,
    pub event_time: NaiveDateTime,
    pub recorded_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&TransferRecord> for TransferRow {
    fn from(t: &TransferRecord) -> Self {
        Self {
            id: t.id.to_string(),
            ledger_id: t.ledger_id.to_string(),
            sequence: t.sequence,
            kind: t.kind.as_str().to_string(),
            phase: t.phase.as_str().to_string(),
            pending_id: t.pending_id.map(|i| i.to_string()),
            reverses_id: t.reverses_id.map(|i| i.to_string()),
            timeout_at: t.timeout_at.map(to_db_time),
            external_ref: t.external_ref.clone(),
            description: t.description.clone(),
            metadata: t.metadata.clone(),
            actor_id: t.actor_id.clone(),
            on_behalf_of: t.on_behalf_of.clone(),
            event_time: to_db_time(t.event_time),
            recorded_at: to_db_time(t.recorded_at),
            prev_hash: t.prev_hash.clone(),
            hash: t.hash.clone(),
        }
    }
}

impl TryFrom<TransferRow> for TransferRecord {
    type Error = AppError;

    fn try_from(r: TransferRow) -> Result<Self, AppError> {
        let optional_id = |v: &Option<String>, column: &str| {
            v.as_deref().map(|s| parse_column(s, column)).transpose()
        };
        Ok(Self {
            id: parse_column(&r.id, "transfers.id")?,
            ledger_id: parse_column(&r.ledger_id, "transfers.ledger_id")?,
            sequence: r.sequence,
            kind: parse_column(&r.kind, "transfers.kind")?,
            phase: parse_column(&r.phase, "transfers.phase")?,
            pending_id: optional_id(&r.pending_id, "transfers.pending_id")?,
            reverses_id: optional_id(&r.reverses_id, "transfers.reverses_id")?,
            timeout_at: r.timeout_at.map(from_db_time),
            external_ref: r.external_ref,
            description: r.description,
            metadata: r.metadata,
            actor_id: r.actor_id,
            on_behalf_of: r.on_behalf_of,
            event_time: from_db_time(r.event_time),
            recorded_at: from_db_time(r.recorded_at),
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub transfer_id: String,
    pub leg: i32,
    pub ledger_id: String,
    pub account_id: String,
    pub direction: String,
    pub amount: i64,
    pub pending: bool,
    pub balance_after: i64,
    pub account_version: i64,
    pub recorded_at: NaiveDateTime,
}

impl From<&PostingRecord> for PostingRow {
    fn from(p: &PostingRecord) -> Self {
        Self {
            transfer_id: p.transfer_id.to_string(),
            leg: p.leg,
            ledger_id: p.ledger_id.to_string(),
            account_id: p.account_id.to_string(),
            direction: p.direction.as_str().to_string(),
            amount: p.amount.minor(),
            pending: p.pending,
            balance_after: p.balance_after.minor(),
            account_version: p.account_version,
            recorded_at: to_db_time(p.recorded_at),
        }
    }
}

impl TryFrom<PostingRow> for PostingRecord {
    type Error = AppError;

    fn try_from(r: PostingRow) -> Result<Self, AppError> {
        Ok(Self {
            transfer_id: parse_column(&r.transfer_id, "postings.transfer_id")?,
            leg: r.leg,
            ledger_id: parse_column(&r.ledger_id, "postings.ledger_id")?,
            account_id: parse_column(&r.account_id, "postings.account_id")?,
            direction: parse_column(&r.direction, "postings.direction")?,
            amount: Points::from_minor(r.amount),
            pending: r.pending,
            balance_after: Points::from_minor(r.balance_after),
            account_version: r.account_version,
            recorded_at: from_db_time(r.recorded_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    /// `done` or `refused`.
    pub outcome: String,
    pub response_body: String,
    pub transfer_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}
