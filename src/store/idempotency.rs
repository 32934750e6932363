//! Idempotency records: (caller scope, key) -> request fingerprint and the answer
//! that was given.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::on_backend;
use super::rows::{IdempotencyRow, to_db_time};
use super::schema::idempotency_keys;
use super::{DbConnection, INSERT_CHUNK};
use crate::error::AppError;

/// Finds the records for these (scope, key) pairs.
pub fn find_many(
    conn: &mut DbConnection,
    pairs: &[(String, String)],
) -> Result<HashMap<(String, String), IdempotencyRow>, AppError> {
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<&str> = pairs.iter().map(|(_, k)| k.as_str()).collect();
    let rows = idempotency_keys::table
        .filter(idempotency_keys::key.eq_any(keys))
        .select(IdempotencyRow::as_select())
        .load(conn)?;
    let wanted: std::collections::HashSet<&(String, String)> = pairs.iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| ((r.scope.clone(), r.key.clone()), r))
        .filter(|(pair, _)| wanted.contains(pair))
        .collect())
}

pub fn insert_many(conn: &mut DbConnection, rows: &[IdempotencyRow]) -> Result<(), AppError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        on_backend!(conn, |c| diesel::insert_into(idempotency_keys::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Forgets records past their expiry; returns how many.
pub fn purge_expired(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, AppError> {
    Ok(diesel::delete(
        idempotency_keys::table.filter(idempotency_keys::expires_at.lt(to_db_time(now))),
    )
    .execute(conn)?)
}
