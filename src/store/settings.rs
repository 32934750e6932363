//! Service-wide values kept in the database (e.g. a generated signing secret, so
//! tokens survive a restart and are shared by every instance).

use diesel::prelude::*;

use super::DbConnection;
use super::schema::settings;
use crate::error::AppError;

pub fn get(conn: &mut DbConnection, key: &str) -> Result<Option<String>, AppError> {
    Ok(settings::table
        .find(key)
        .select(settings::value)
        .first::<String>(conn)
        .optional()?)
}

/// Stores `value` unless the key already has one; returns what is stored, so
/// instances racing on first start all end up with the same value.
pub fn get_or_insert(conn: &mut DbConnection, key: &str, value: &str) -> Result<String, AppError> {
    if let Some(existing) = get(conn, key)? {
        return Ok(existing);
    }
    let inserted = diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(value.to_string()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => get(conn, key)?.ok_or_else(|| AppError::internal("setting vanished")),
        Err(e) => Err(e.into()),
    }
}
