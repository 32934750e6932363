//! Ledgers and their hash-chain heads.

use std::collections::HashMap;

use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::rows::LedgerRow;
use super::schema::ledgers;
use crate::domain::{AccountId, LedgerId, OrgPath, OrganisationId};
use crate::error::AppError;
use crate::ledger::LedgerHead;

pub fn insert(conn: &mut DbConnection, row: &LedgerRow) -> Result<(), AppError> {
    diesel::insert_into(ledgers::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn set_issuance_account(
    conn: &mut DbConnection,
    ledger: &LedgerId,
    account: &AccountId,
) -> Result<(), AppError> {
    diesel::update(ledgers::table.find(ledger))
        .set(ledgers::issuance_account_id.eq(account))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &LedgerId) -> Result<Option<LedgerRow>, AppError> {
    Ok(ledgers::table
        .find(id)
        .select(LedgerRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> Result<Option<LedgerRow>, AppError> {
    Ok(ledgers::table
        .filter(ledgers::code.eq(code))
        .select(LedgerRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Ledgers a caller is related to: those of the organisations above their
/// roles (`above`), and of the organisations inside their subtrees.
pub struct Related {
    pub above: Vec<OrganisationId>,
    pub subtrees: Vec<OrgPath>,
}

/// A page in id (= creation) order, after `cursor`.
pub fn page(
    conn: &mut DbConnection,
    related: Option<&Related>,
    after: Option<LedgerId>,
    limit: i64,
) -> Result<Vec<LedgerRow>, AppError> {
    let mut query = ledgers::table
        .select(LedgerRow::as_select())
        .order(ledgers::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(ledgers::id.gt(after));
    }
    if let Some(related) = related {
        // The organisations above a caller's roles are a handful; their
        // subtrees stay in SQL.
        query = query.filter(
            ledgers::organisation_id
                .eq_any(super::subtree::within(&related.subtrees))
                .or(ledgers::organisation_id.eq_any(&related.above)),
        );
    }
    Ok(query.load(conn)?)
}

/// Takes the ledger's write lock for the rest of the transaction. On PostgreSQL the
/// no-op update holds the row lock, which serialises writers of one ledger across
/// every server process; on SQLite the transaction already holds the database.
/// Lock in sorted order to avoid deadlocks.
pub fn lock(conn: &mut DbConnection, id: &LedgerId) -> Result<bool, AppError> {
    let n = diesel::update(ledgers::table.find(id))
        .set(ledgers::last_sequence.eq(ledgers::last_sequence))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn heads(
    conn: &mut DbConnection,
    ids: &[LedgerId],
) -> Result<HashMap<LedgerId, LedgerHead>, AppError> {
    let rows = ledgers::table
        .filter(ledgers::id.eq_any(ids))
        .select(LedgerRow::as_select())
        .load(conn)?;
    rows.iter().map(|r| r.head().map(|h| (h.id, h))).collect()
}

pub fn save_head(conn: &mut DbConnection, head: &LedgerHead) -> Result<(), AppError> {
    diesel::update(ledgers::table.find(head.id))
        .set((
            ledgers::last_sequence.eq(head.last_sequence),
            ledgers::last_hash.eq(&head.last_hash),
            ledgers::last_recorded_at.eq(head.last_recorded_at.map(UtcTime)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The ledgers belonging to one organisation.
pub fn of_organisation(
    conn: &mut DbConnection,
    org: &OrganisationId,
) -> Result<Vec<LedgerRow>, AppError> {
    Ok(ledgers::table
        .filter(ledgers::organisation_id.eq(org))
        .order(ledgers::id)
        .select(LedgerRow::as_select())
        .load(conn)?)
}
