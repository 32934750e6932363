//! The append-only journal: transfers and their postings. Rows are only ever
//! inserted; the database refuses updates and deletes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::connection::insert_rows;
use super::rows::{PostingRow, TransferRow};
use super::schema::{account_scopes, accounts, postings, transfers};
use crate::domain::{
    AccountId, LedgerId, OrgPath, OrganisationId, Phase, Points, TransferId, TransferKind,
};
use crate::error::AppError;
use crate::ledger::{ExistingTransfer, JournalEntry, PostingRecord, TransferRecord};

pub fn insert_entries(conn: &mut DbConnection, entries: &[JournalEntry]) -> Result<(), AppError> {
    let transfer_rows: Vec<TransferRow> = entries.iter().map(|e| (&e.transfer).into()).collect();
    let posting_rows: Vec<PostingRow> = entries
        .iter()
        .flat_map(|e| e.postings.iter().map(PostingRow::from))
        .collect();
    insert_rows!(conn, transfers::table, &transfer_rows);
    insert_rows!(conn, postings::table, &posting_rows);
    Ok(())
}

fn postings_of(
    conn: &mut DbConnection,
    ids: Vec<TransferId>,
) -> Result<HashMap<TransferId, Vec<PostingRecord>>, AppError> {
    let rows = postings::table
        .filter(postings::transfer_id.eq_any(ids))
        .order((postings::transfer_id, postings::leg))
        .select(PostingRow::as_select())
        .load(conn)?;
    let mut by_transfer: HashMap<TransferId, Vec<PostingRecord>> = HashMap::new();
    for row in rows {
        let p = PostingRecord::from(row);
        by_transfer.entry(p.transfer_id).or_default().push(p);
    }
    Ok(by_transfer)
}

fn with_postings(
    conn: &mut DbConnection,
    rows: Vec<TransferRow>,
) -> Result<Vec<JournalEntry>, AppError> {
    let ids = rows.iter().map(|r| r.id).collect();
    let mut postings = postings_of(conn, ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let transfer = TransferRecord::from(row);
            let postings = postings.remove(&transfer.id).unwrap_or_default();
            JournalEntry { transfer, postings }
        })
        .collect())
}

pub fn get(conn: &mut DbConnection, id: &TransferId) -> Result<Option<JournalEntry>, AppError> {
    let row = transfers::table
        .find(id)
        .select(TransferRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row
        .map(|r| with_postings(conn, vec![r]))
        .transpose()?
        .and_then(|mut v| v.pop()))
}

/// What later happened to a transfer: the transfer that settled it (if it was a
/// hold) and the one that reversed it.
#[derive(Clone, Debug, Default)]
pub struct Aftermath {
    pub settled_by: Option<(TransferId, Phase)>,
    pub reversed_by: Option<TransferId>,
}

pub fn aftermath(
    conn: &mut DbConnection,
    ids: &[TransferId],
) -> Result<HashMap<TransferId, Aftermath>, AppError> {
    // Two lookups, each on its partial unique index.
    let settlements: Vec<(TransferId, Phase, Option<TransferId>)> = transfers::table
        .filter(transfers::pending_id.is_not_null())
        .filter(transfers::pending_id.eq_any(ids))
        .select((transfers::id, transfers::phase, transfers::pending_id))
        .load(conn)?;
    let reversals: Vec<(TransferId, Option<TransferId>)> = transfers::table
        .filter(transfers::reverses_id.is_not_null())
        .filter(transfers::reverses_id.eq_any(ids))
        .select((transfers::id, transfers::reverses_id))
        .load(conn)?;
    let mut out: HashMap<TransferId, Aftermath> = HashMap::new();
    for (id, phase, pending_id) in settlements {
        if let Some(p) = pending_id {
            out.entry(p).or_default().settled_by = Some((id, phase));
        }
    }
    for (id, reverses_id) in reversals {
        if let Some(r) = reverses_id {
            out.entry(r).or_default().reversed_by = Some(id);
        }
    }
    Ok(out)
}

/// Transfers that new commands settle or reverse, as the engine needs them.
pub fn existing(
    conn: &mut DbConnection,
    ids: &[TransferId],
) -> Result<HashMap<TransferId, ExistingTransfer>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = transfers::table
        .filter(transfers::id.eq_any(ids))
        .select(TransferRow::as_select())
        .load(conn)?;
    let entries = with_postings(conn, rows)?;
    let after = aftermath(conn, ids)?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let t = e.transfer;
            let a = after.get(&t.id).cloned().unwrap_or_default();
            let existing = ExistingTransfer {
                id: t.id,
                ledger_id: t.ledger_id,
                kind: t.kind,
                phase: t.phase,
                timeout_at: t.timeout_at,
                legs: e
                    .postings
                    .iter()
                    .map(|p| (p.account_id, p.direction, p.amount))
                    .collect(),
                resolved: a.settled_by.is_some(),
                reversed: a.reversed_by.is_some(),
            };
            (t.id, existing)
        })
        .collect())
}

pub struct TransferFilter {
    pub ledger_id: Option<LedgerId>,
    pub account_id: Option<AccountId>,
    pub kind: Option<TransferKind>,
    pub external_ref: Option<String>,
    /// Only transfers touching an account the caller may read (None: all).
    pub visible: Option<Visibility>,
}

/// The accounts a caller may read: those of organisations inside the subtrees,
/// and their own wallet.
pub struct Visibility {
    pub subtrees: Vec<OrgPath>,
    pub wallet: Option<AccountId>,
}

/// A page of transfers, newest last, after `cursor` (a transfer id).
pub fn page(
    conn: &mut DbConnection,
    filter: &TransferFilter,
    after: Option<TransferId>,
    limit: i64,
) -> Result<Vec<JournalEntry>, AppError> {
    let rows = match &filter.visible {
        None => filtered(filter, after, None, limit).load(conn)?,
        Some(visible) => visible_page(conn, filter, visible, after, limit)?,
    };
    with_postings(conn, rows)
}

/// How many transfers a scoped page walks in id order before it turns to
/// the scope's own postings instead.
const SCOPED_WALK: i64 = 1_000;

/// A page of the transfers a scoped caller may read. Where the scope holds
/// much of the traffic (a district), walking transfers in id order finds a
/// page in a few hundred rows; where it holds little (one community), the
/// walk would read the whole journal, so after a bounded walk the page is
/// gathered from the scope's own accounts' postings. Either way the rows
/// read are bounded by the page or by the scope's traffic, never by the
/// city's.
fn visible_page(
    conn: &mut DbConnection,
    filter: &TransferFilter,
    visible: &Visibility,
    after: Option<TransferId>,
    limit: i64,
) -> Result<Vec<TransferRow>, AppError> {
    let mut walk_end = transfers::table
        .select(transfers::id)
        .order(transfers::id)
        .into_boxed();
    if let Some(after) = after {
        walk_end = walk_end.filter(transfers::id.gt(after));
    }
    let walk_end: Option<TransferId> = walk_end.offset(SCOPED_WALK - 1).first(conn).optional()?;
    let roots: Vec<OrganisationId> = visible
        .subtrees
        .iter()
        .filter_map(|s| s.ids().last())
        .collect();
    let scope_accounts = || {
        account_scopes::table
            .filter(account_scopes::organisation_id.eq_any(roots.clone()))
            .select(account_scopes::account_id)
    };
    let wallet = visible.wallet;
    // Transfers in (from, to] with a leg on an account in scope.
    let touching = |from: TransferId, to: TransferId| {
        postings::table
            .filter(postings::transfer_id.gt(from))
            .filter(postings::transfer_id.le(to))
            .filter(
                postings::account_id
                    .eq_any(scope_accounts())
                    .or(postings::account_id.nullable().eq(wallet)),
            )
            .select(postings::transfer_id)
    };

    // The walk: transfers up to `walk_end`, each checked against the scope.
    let from = after.unwrap_or(TransferId::LOWEST);
    let mut rows: Vec<TransferRow> = filtered(filter, after, walk_end, limit)
        .filter(transfers::id.eq_any(touching(from, walk_end.unwrap_or(TransferId::HIGHEST))))
        .load(conn)?;
    let Some(end) = walk_end else {
        return Ok(rows);
    };
    let wanted = usize::try_from(limit).unwrap_or(0);
    if rows.len() >= wanted {
        return Ok(rows);
    }
    // The rest from the scope's postings past the walk.
    let more: Vec<TransferRow> = filtered(filter, Some(end), None, limit)
        .filter(transfers::id.eq_any(touching(end, TransferId::HIGHEST)))
        .load(conn)?;
    rows.extend(more);
    rows.truncate(wanted);
    Ok(rows)
}

/// The transfers of a page's filters (all but visibility) after `after` and up
/// to `until`, in id order.
fn filtered<'a>(
    filter: &TransferFilter,
    after: Option<TransferId>,
    until: Option<TransferId>,
    limit: i64,
) -> transfers::BoxedQuery<
    'a,
    super::connection::MultiBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<TransferRow, super::connection::MultiBackend>>,
> {
    let mut query = transfers::table
        .select(TransferRow::as_select())
        .order(transfers::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(transfers::id.gt(after));
    }
    if let Some(until) = until {
        query = query.filter(transfers::id.le(until));
    }
    if let Some(ledger) = &filter.ledger_id {
        query = query.filter(transfers::ledger_id.eq(*ledger));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(transfers::kind.eq(*kind));
    }
    if let Some(reference) = &filter.external_ref {
        query = query.filter(transfers::external_ref.eq(reference.clone()));
    }
    if let Some(account) = &filter.account_id {
        query = query.filter(
            transfers::id.eq_any(
                postings::table
                    .filter(postings::account_id.eq(*account))
                    .select(postings::transfer_id),
            ),
        );
    }
    query
}

/// A page of an account's postings in version order, after version `after`,
/// up to the last one recorded at or before `until`.
pub fn account_postings(
    conn: &mut DbConnection,
    account: &AccountId,
    after_version: i64,
    until: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<(PostingRecord, TransferRow)>, AppError> {
    let mut query = postings::table
        .inner_join(transfers::table.on(transfers::id.eq(postings::transfer_id)))
        .filter(postings::account_id.eq(account))
        .filter(postings::account_version.gt(after_version))
        .order(postings::account_version)
        .limit(limit)
        .select((PostingRow::as_select(), TransferRow::as_select()))
        .into_boxed();
    if let Some(until) = until {
        let last = version_at(conn, account, until)?;
        query = query.filter(postings::account_version.le(last));
    }
    let rows: Vec<(PostingRow, TransferRow)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(p, t)| (PostingRecord::from(p), t))
        .collect())
}

/// The account's last version recorded at or before `at` (0: none yet). A binary
/// search over versions, each probe one lookup on (account_id, account_version):
/// O(log n) however long the history, with no index on time to maintain.
fn version_at(
    conn: &mut DbConnection,
    account: &AccountId,
    at: DateTime<Utc>,
) -> Result<i64, AppError> {
    let latest: Option<i64> = accounts::table
        .find(account)
        .select(accounts::version)
        .get_result(conn)
        .optional()?;
    // Invariant: version `low` was recorded at or before `at` (0 stands for
    // "before the first posting"); every version above `high` after it.
    let (mut low, mut high) = (0i64, latest.unwrap_or(0));
    while low < high {
        let mid = low + (high - low + 1) / 2;
        let recorded: Option<UtcTime> = postings::table
            .filter(postings::account_id.eq(account))
            .filter(postings::account_version.eq(mid))
            .select(postings::recorded_at)
            .get_result(conn)
            .optional()?;
        match recorded {
            Some(t) if t.0 <= at => low = mid,
            Some(_) => high = mid - 1,
            None => {
                return Err(AppError::internal(format!(
                    "account {account} lacks version {mid}"
                )));
            }
        }
    }
    Ok(low)
}

/// The posted balance and version after the last posting at or before `as_of`.
pub fn balance_as_of(
    conn: &mut DbConnection,
    account: &AccountId,
    as_of: DateTime<Utc>,
) -> Result<(Points, i64), AppError> {
    let version = version_at(conn, account, as_of)?;
    if version == 0 {
        return Ok((Points::ZERO, 0));
    }
    let balance: i64 = postings::table
        .filter(postings::account_id.eq(account))
        .filter(postings::account_version.eq(version))
        .select(postings::balance_after)
        .get_result(conn)?;
    Ok((Points::from_minor(balance), version))
}

/// Part of a ledger's journal in sequence order (audit, export).
pub fn ledger_range(
    conn: &mut DbConnection,
    ledger: &LedgerId,
    after_sequence: i64,
    limit: i64,
) -> Result<Vec<JournalEntry>, AppError> {
    let rows = transfers::table
        .filter(transfers::ledger_id.eq(ledger))
        .filter(transfers::sequence.gt(after_sequence))
        .order(transfers::sequence)
        .limit(limit)
        .select(TransferRow::as_select())
        .load(conn)?;
    with_postings(conn, rows)
}

/// Up to `limit` holds whose time ran out in `(after, now]` and that nobody
/// settled yet, oldest first. A settled hold stays a `pending` row (the
/// journal is append-only), so candidates are read page by page and the
/// settled ones dropped: however many settled holds lie in the window, the
/// unsettled ones behind them are found.
pub fn expired_holds(
    conn: &mut DbConnection,
    after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<TransferId>, AppError> {
    let page_size = (limit * 4).max(1) as i64;
    let mut found = Vec::new();
    let mut cursor: Option<(UtcTime, TransferId)> = None;
    while found.len() < limit {
        let mut query = transfers::table
            .filter(transfers::phase.eq(Phase::Pending))
            .filter(transfers::timeout_at.le(UtcTime(now)))
            .order((transfers::timeout_at, transfers::id))
            .limit(page_size)
            .select((transfers::id, transfers::timeout_at))
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(transfers::timeout_at.gt(UtcTime(after)));
        }
        if let Some((at, id)) = cursor.take() {
            query = query.filter(
                transfers::timeout_at
                    .gt(at)
                    .or(transfers::timeout_at.eq(at).and(transfers::id.gt(id))),
            );
        }
        let rows: Vec<(TransferId, Option<UtcTime>)> = query.load(conn)?;
        let Some(&(last_id, Some(last_at))) = rows.last() else {
            break;
        };
        let candidates: Vec<TransferId> = rows.iter().map(|(id, _)| *id).collect();
        let settled: HashSet<TransferId> = aftermath(conn, &candidates)?
            .into_iter()
            .filter(|(_, a)| a.settled_by.is_some())
            .map(|(id, _)| id)
            .collect();
        found.extend(
            candidates
                .into_iter()
                .filter(|id| !settled.contains(id))
                .take(limit - found.len()),
        );
        if (rows.len() as i64) < page_size {
            break;
        }
        cursor = Some((last_at, last_id));
    }
    Ok(found)
}

/// Which ledgers these transfers are on (they never move).
pub fn ledgers_of_transfers(
    conn: &mut DbConnection,
    ids: &[TransferId],
) -> Result<Vec<LedgerId>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(transfers::table
        .filter(transfers::id.eq_any(ids))
        .select(transfers::ledger_id)
        .distinct()
        .load(conn)?)
}
