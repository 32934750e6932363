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
        .get_result::<String>(conn)
        .optional()?)
}

/// Stores `value` unless the key already has one; returns what is stored, so
/// instances racing on first start all end up with the same value. The losing
/// insert does nothing rather than fail: on PostgreSQL a failed statement
/// would abort the transaction the winner's value is then read in.
pub fn get_or_insert(conn: &mut DbConnection, key: &str, value: &str) -> Result<String, AppError> {
    if let Some(existing) = get(conn, key)? {
        return Ok(existing);
    }
    let insert = diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict_do_nothing();
    match conn {
        DbConnection::Sqlite(c) => insert.execute(c)?,
        DbConnection::Postgresql(c) => insert.execute(c)?,
    };
    get(conn, key)?.ok_or_else(|| AppError::internal("setting vanished"))
}

/// Stores `value` under the key, replacing what was there.
pub fn put(conn: &mut DbConnection, key: &str, value: &str) -> Result<(), AppError> {
    let upsert = diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict(settings::key)
        .do_update()
        .set(settings::value.eq(value));
    match conn {
        DbConnection::Sqlite(c) => upsert.execute(c)?,
        DbConnection::Postgresql(c) => upsert.execute(c)?,
    };
    Ok(())
}
