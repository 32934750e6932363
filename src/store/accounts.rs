//! Accounts and their cached totals.

use std::collections::HashMap;

use diesel::prelude::*;

use super::DbConnection;
use super::rows::{AccountRow, parse_column};
use super::schema::accounts;
use crate::domain::{AccountId, AccountStatus, LedgerId};
use crate::error::AppError;
use crate::ledger::AccountState;

pub fn insert(conn: &mut DbConnection, row: &AccountRow) -> Result<(), AppError> {
    diesel::insert_into(accounts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Option<AccountRow>, AppError> {
    Ok(accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

pub struct AccountFilter {
    pub ledger_id: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
}

pub fn page(
    conn: &mut DbConnection,
    filter: &AccountFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AccountRow>, AppError> {
    let mut query = accounts::table
        .select(AccountRow::as_select())
        .order(accounts::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(accounts::id.gt(after.to_string()));
    }
    if let Some(ledger) = &filter.ledger_id {
        query = query.filter(accounts::ledger_id.eq(ledger.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(accounts::kind.eq(kind.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(accounts::status.eq(status.clone()));
    }
    Ok(query.load(conn)?)
}

/// Which ledger each of these accounts belongs to (unknown ids are left out).
pub fn ledgers_of(
    conn: &mut DbConnection,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, LedgerId>, AppError> {
    let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows: Vec<(String, String)> = accounts::table
        .filter(accounts::id.eq_any(keys))
        .select((accounts::id, accounts::ledger_id))
        .load(conn)?;
    rows.iter()
        .map(|(a, l)| {
            Ok((
                parse_column(a, "accounts.id")?,
                parse_column(l, "accounts.ledger_id")?,
            ))
        })
        .collect()
}

pub fn states(
    conn: &mut DbConnection,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, AccountState>, AppError> {
    let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows = accounts::table
        .filter(accounts::id.eq_any(keys))
        .select(AccountRow::as_select())
        .load(conn)?;
    rows.iter().map(|r| r.state().map(|s| (s.id, s))).collect()
}

/// Every account of a ledger (audit).
pub fn all_states_of_ledger(
    conn: &mut DbConnection,
    ledger: &LedgerId,
) -> Result<Vec<AccountState>, AppError> {
    let rows = accounts::table
        .filter(accounts::ledger_id.eq(ledger.to_string()))
        .order(accounts::id)
        .select(AccountRow::as_select())
        .load(conn)?;
    rows.iter().map(AccountRow::state).collect()
}

/// Writes the totals the engine computed.
pub fn save_totals(conn: &mut DbConnection, state: &AccountState) -> Result<(), AppError> {
    diesel::update(accounts::table.find(state.id.to_string()))
        .set((
            accounts::debits_posted.eq(state.debits_posted.minor()),
            accounts::credits_posted.eq(state.credits_posted.minor()),
            accounts::debits_pending.eq(state.debits_pending.minor()),
            accounts::credits_pending.eq(state.credits_pending.minor()),
            accounts::version.eq(state.version),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_status(
    conn: &mut DbConnection,
    id: &AccountId,
    status: AccountStatus,
) -> Result<(), AppError> {
    diesel::update(accounts::table.find(id.to_string()))
        .set(accounts::status.eq(status.as_str()))
        .execute(conn)?;
    Ok(())
}
