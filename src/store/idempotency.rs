//! Idempotency records: (caller scope, key) -> request fingerprint and the answer
//! that was given.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::DbConnection;
use super::connection::{insert_rows, write_transaction};
use super::rows::IdempotencyRow;
use super::schema::idempotency_keys;
use crate::error::AppError;

/// Finds the records for these (scope, key) pairs: one primary-key lookup per
/// scope (a batch usually has a handful of callers).
pub fn find_many(
    conn: &mut DbConnection,
    pairs: &[(String, String)],
) -> Result<HashMap<(String, String), IdempotencyRow>, AppError> {
    let mut by_scope: HashMap<&str, Vec<&str>> = HashMap::new();
    for (scope, key) in pairs {
        by_scope.entry(scope).or_default().push(key);
    }
    let mut found = HashMap::new();
    for (scope, keys) in by_scope {
        let rows = idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::key.eq_any(keys))
            .select(IdempotencyRow::as_select())
            .load(conn)?;
        found.extend(
            rows.into_iter()
                .map(|r| ((r.scope.clone(), r.key.clone()), r)),
        );
    }
    Ok(found)
}

pub fn insert_many(conn: &mut DbConnection, rows: &[IdempotencyRow]) -> Result<(), AppError> {
    insert_rows!(conn, idempotency_keys::table, rows);
    Ok(())
}

/// Forgets keys past their retention, a slice per write transaction so that
/// transfers never wait behind one long delete.
pub fn purge_expired(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, AppError> {
    const SLICE: i64 = 2_000;
    let now = now.naive_utc();
    let mut purged = 0;
    loop {
        let (deleted, more) = write_transaction(conn, |conn| {
            let expired = idempotency_keys::table.filter(idempotency_keys::expires_at.lt(now));
            // The expiry of the SLICE-th oldest key bounds this slice.
            let bound: Option<NaiveDateTime> = expired
                .order(idempotency_keys::expires_at)
                .offset(SLICE - 1)
                .select(idempotency_keys::expires_at)
                .first(conn)
                .optional()?;
            let slice = expired.filter(idempotency_keys::expires_at.le(bound.unwrap_or(now)));
            Ok((diesel::delete(slice).execute(conn)?, bound.is_some()))
        })?;
        purged += deleted;
        if !more || deleted == 0 {
            return Ok(purged);
        }
    }
}
