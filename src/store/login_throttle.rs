//! Failed-login counters per bucket in a fixed window, shared by every instance
//! through the database.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::DbConnection;
use super::columns::UtcTime;
use super::schema::login_throttle;
use crate::error::AppError;

/// The bucket's failures and when its window began, if it has any.
pub fn get(
    conn: &mut DbConnection,
    bucket: &str,
) -> Result<Option<(DateTime<Utc>, i32)>, AppError> {
    let found: Option<(UtcTime, i32)> = login_throttle::table
        .find(bucket)
        .select((login_throttle::window_start, login_throttle::failures))
        .get_result(conn)
        .optional()?;
    Ok(found.map(|(start, failures)| (start.0, failures)))
}

/// Counts one attempt: in the current window when it began after
/// `window_floor`, else in a new window starting `now`.
pub fn record_failure(
    conn: &mut DbConnection,
    bucket: &str,
    now: DateTime<Utc>,
    window_floor: DateTime<Utc>,
) -> Result<(), AppError> {
    let (now, window_floor) = (UtcTime(now), UtcTime(window_floor));
    let counted = diesel::update(
        login_throttle::table
            .find(bucket)
            .filter(login_throttle::window_start.gt(window_floor)),
    )
    .set(login_throttle::failures.eq(login_throttle::failures + 1))
    .execute(conn)?;
    if counted > 0 {
        return Ok(());
    }
    // No current window: restart a stale one (only a stale one: another
    // attempt may have opened a current window since the update above), or
    // open the first.
    let restarted = diesel::update(
        login_throttle::table
            .find(bucket)
            .filter(login_throttle::window_start.le(window_floor)),
    )
    .set((
        login_throttle::window_start.eq(now),
        login_throttle::failures.eq(1),
    ))
    .execute(conn)?;
    if restarted > 0 {
        return Ok(());
    }
    // Another instance may open it first; then count in theirs. The savepoint
    // keeps the surrounding transaction usable after the unique violation.
    let opened = conn.transaction(|c| {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::bucket.eq(bucket),
                login_throttle::window_start.eq(now),
                login_throttle::failures.eq(1),
            ))
            .execute(c)
    });
    match opened {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {
            diesel::update(login_throttle::table.find(bucket))
                .set(login_throttle::failures.eq(login_throttle::failures + 1))
                .execute(conn)?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Takes one attempt back off a bucket.
pub fn forgive_one(conn: &mut DbConnection, bucket: &str) -> Result<(), AppError> {
    diesel::update(
        login_throttle::table
            .find(bucket)
            .filter(login_throttle::failures.gt(0)),
    )
    .set(login_throttle::failures.eq(login_throttle::failures - 1))
    .execute(conn)?;
    Ok(())
}

pub fn clear(conn: &mut DbConnection, bucket: &str) -> Result<(), AppError> {
    diesel::delete(login_throttle::table.find(bucket)).execute(conn)?;
    Ok(())
}

pub fn purge_before(conn: &mut DbConnection, floor: DateTime<Utc>) -> Result<usize, AppError> {
    Ok(diesel::delete(
        login_throttle::table.filter(login_throttle::window_start.lt(UtcTime(floor))),
    )
    .execute(conn)?)
}
