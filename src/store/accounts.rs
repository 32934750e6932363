//! Accounts and their cached totals.

use std::collections::HashMap;

use diesel::prelude::*;

use super::DbConnection;
use super::rows::AccountRow;
use super::schema::accounts;
use crate::domain::{AccountId, AccountKind, AccountStatus, LedgerId, OrgPath, OrganisationId};
use crate::error::AppError;
use crate::ledger::AccountState;

pub fn insert(conn: &mut DbConnection, row: &AccountRow) -> Result<(), AppError> {
    diesel::insert_into(accounts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: &AccountId) -> Result<Option<AccountRow>, AppError> {
    Ok(accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub struct AccountFilter {
    pub ledger_id: Option<LedgerId>,
    pub kind: Option<AccountKind>,
    pub status: Option<AccountStatus>,
    pub organisation_id: Option<OrganisationId>,
    /// Only accounts the caller may read (None: all).
    pub visible: Option<super::journal::Visibility>,
}

/// A page of accounts in id order, after `after`.
///
/// A scoped page reads the subtrees' accounts from `account_scopes` in id
/// order, a batch at a time, and the rows of just those accounts: its cost
/// follows the page, not the subtree's size (a district's 10,000 accounts)
/// nor where the subtree's accounts fall among the city's. One statement
/// joining both would leave the planner to guess, from evenly spread
/// statistics, whether to walk every account in id order instead (it did:
/// the whole city for a small community's page).
pub fn page(
    conn: &mut DbConnection,
    filter: &AccountFilter,
    after: Option<AccountId>,
    limit: i64,
) -> Result<Vec<AccountRow>, AppError> {
    let Some(visible) = &filter.visible else {
        return Ok(filtered(filter, after, limit).load(conn)?);
    };
    let roots: Vec<OrganisationId> = visible
        .subtrees
        .iter()
        .filter_map(|s| s.ids().last())
        .collect();
    let wanted = usize::try_from(limit).unwrap_or(0);
    let mut rows = Vec::new();
    let mut after = after;
    let mut batch = limit.max(1);
    loop {
        let (ids, bound) = scoped_ids(conn, &roots, visible.wallet, after, batch)?;
        if !ids.is_empty() {
            let found: Vec<AccountRow> = filtered(filter, None, limit)
                .filter(accounts::id.eq_any(ids))
                .load(conn)?;
            rows.extend(found);
        }
        match bound {
            Some(bound) if rows.len() < wanted => after = Some(bound),
            _ => break,
        }
        // Rows the filters left out: read further in larger batches.
        batch = (batch * 2).min(SCOPE_BATCH_MAX);
    }
    rows.truncate(wanted);
    Ok(rows)
}

/// The most scope entries one batch of a scoped page reads per subtree.
const SCOPE_BATCH_MAX: i64 = 2_000;

/// The accounts of a page's filters (all but visibility), in id order.
fn filtered<'a>(
    filter: &AccountFilter,
    after: Option<AccountId>,
    limit: i64,
) -> accounts::BoxedQuery<
    'a,
    super::connection::MultiBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<AccountRow, super::connection::MultiBackend>>,
> {
    let mut query = accounts::table
        .select(AccountRow::as_select())
        .order(accounts::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(accounts::id.gt(after));
    }
    if let Some(ledger) = &filter.ledger_id {
        query = query.filter(accounts::ledger_id.eq(*ledger));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(accounts::kind.eq(*kind));
    }
    if let Some(status) = &filter.status {
        query = query.filter(accounts::status.eq(*status));
    }
    if let Some(org) = &filter.organisation_id {
        query = query.filter(accounts::organisation_id.eq(*org));
    }
    query
}

/// The ids of the accounts visible through `roots` (subtree roots) or as the
/// caller's `wallet`, after `after`, in id order: every such id up to the
/// returned bound, or all the rest when the bound is None. Each subtree is
/// one range of `account_scopes`, read `batch` entries at most.
fn scoped_ids(
    conn: &mut DbConnection,
    roots: &[OrganisationId],
    wallet: Option<AccountId>,
    after: Option<AccountId>,
    batch: i64,
) -> Result<(Vec<AccountId>, Option<AccountId>), AppError> {
    use super::schema::account_scopes;
    let mut ids: Vec<AccountId> = Vec::new();
    let mut bound: Option<AccountId> = None;
    for root in roots {
        let mut query = account_scopes::table
            .filter(account_scopes::organisation_id.eq(root))
            .select(account_scopes::account_id)
            .order(account_scopes::account_id)
            .limit(batch)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(account_scopes::account_id.gt(after));
        }
        let found: Vec<AccountId> = query.load(conn)?;
        // A full batch may stop short of the rest of the subtree: ids are
        // complete only up to its last one.
        if i64::try_from(found.len()).unwrap_or(i64::MAX) >= batch
            && let Some(last) = found.last()
            && bound.as_ref().is_none_or(|b| last < b)
        {
            bound = Some(*last);
        }
        ids.extend(found);
    }
    if let Some(wallet) = wallet
        && after.is_none_or(|a| wallet > a)
    {
        ids.push(wallet);
    }
    if let Some(bound) = &bound {
        ids.retain(|id| id <= bound);
    }
    ids.sort_unstable();
    ids.dedup();
    // At most one batch of rows to fetch by id, however many subtrees.
    if ids.len() > usize::try_from(batch).unwrap_or(usize::MAX) {
        ids.truncate(usize::try_from(batch).unwrap_or(usize::MAX));
        bound = ids.last().copied();
    }
    Ok((ids, bound))
}

/// Which ledger each of these accounts belongs to (unknown ids are left out).
pub fn ledgers_of(
    conn: &mut DbConnection,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, LedgerId>, AppError> {
    let rows: Vec<(AccountId, LedgerId)> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .select((accounts::id, accounts::ledger_id))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn states(
    conn: &mut DbConnection,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, AccountState>, AppError> {
    let rows = accounts::table
        .filter(accounts::id.eq_any(ids))
        .select(AccountRow::as_select())
        .load(conn)?;
    Ok(rows.iter().map(|r| (r.id, r.state())).collect())
}

/// Every account of a ledger (audit).
pub fn all_states_of_ledger(
    conn: &mut DbConnection,
    ledger: &LedgerId,
) -> Result<Vec<AccountState>, AppError> {
    let rows = accounts::table
        .filter(accounts::ledger_id.eq(ledger))
        .order(accounts::id)
        .select(AccountRow::as_select())
        .load(conn)?;
    Ok(rows.iter().map(AccountRow::state).collect())
}

/// Writes the totals the engine computed for a batch, in one statement on
/// either database.
pub fn save_totals<'a>(
    conn: &mut DbConnection,
    states: impl Iterator<Item = &'a AccountState>,
) -> Result<(), AppError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            use diesel::sql_types::{Array, BigInt, Text};
            let states: Vec<&AccountState> = states.collect();
            if states.is_empty() {
                return Ok(());
            }
            let column =
                |f: fn(&AccountState) -> i64| states.iter().map(|s| f(s)).collect::<Vec<i64>>();
            diesel::sql_query(
                "UPDATE accounts AS a SET debits_posted = v.dp, credits_posted = v.cp, \
                 debits_pending = v.dpe, credits_pending = v.cpe, version = v.ver \
                 FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) \
                 AS v(id, dp, cp, dpe, cpe, ver) WHERE a.id = v.id",
            )
            .bind::<Array<Text>, _>(states.iter().map(|s| s.id.to_string()).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(column(|s| s.debits_posted.minor()))
            .bind::<Array<BigInt>, _>(column(|s| s.credits_posted.minor()))
            .bind::<Array<BigInt>, _>(column(|s| s.debits_pending.minor()))
            .bind::<Array<BigInt>, _>(column(|s| s.credits_pending.minor()))
            .bind::<Array<BigInt>, _>(column(|s| s.version))
            .execute(pg)?;
        }
        DbConnection::Sqlite(lite) => {
            // One statement for the batch, the totals passed as one JSON array:
            // diesel prepares every UPDATE afresh, and preparing one per account
            // cost more than the updates themselves.
            let rows: Vec<(String, i64, i64, i64, i64, i64)> = states
                .map(|s| {
                    (
                        s.id.to_string(),
                        s.debits_posted.minor(),
                        s.credits_posted.minor(),
                        s.debits_pending.minor(),
                        s.credits_pending.minor(),
                        s.version,
                    )
                })
                .collect();
            if rows.is_empty() {
                return Ok(());
            }
            let rows = serde_json::to_string(&rows).map_err(AppError::internal)?;
            diesel::sql_query(
                "UPDATE accounts SET debits_posted = v.dp, credits_posted = v.cp, \
                 debits_pending = v.dpe, credits_pending = v.cpe, version = v.ver \
                 FROM (SELECT value ->> 0 AS id, value ->> 1 AS dp, value ->> 2 AS cp, \
                 value ->> 3 AS dpe, value ->> 4 AS cpe, value ->> 5 AS ver FROM json_each(?)) AS v \
                 WHERE accounts.id = v.id",
            )
            .bind::<diesel::sql_types::Text, _>(rows)
            .execute(lite)?;
        }
    }
    Ok(())
}

pub fn set_status(
    conn: &mut DbConnection,
    id: &AccountId,
    status: AccountStatus,
) -> Result<(), AppError> {
    diesel::update(accounts::table.find(id))
        .set(accounts::status.eq(status))
        .execute(conn)?;
    Ok(())
}

/// Kind and organisation path of each account, for access decisions.
pub fn facts(
    conn: &mut DbConnection,
    ids: &[AccountId],
) -> Result<Vec<(AccountId, AccountKind, OrgPath)>, AppError> {
    use super::schema::organisations;
    Ok(accounts::table
        .inner_join(organisations::table)
        .filter(accounts::id.eq_any(ids))
        .select((accounts::id, accounts::kind, organisations::path))
        .load(conn)?)
}

/// Re-homes an account (a volunteer moving to another community).
pub fn set_organisation(
    conn: &mut DbConnection,
    id: &AccountId,
    org: &OrganisationId,
) -> Result<(), AppError> {
    diesel::update(accounts::table.find(id))
        .set(accounts::organisation_id.eq(org))
        .execute(conn)?;
    Ok(())
}
