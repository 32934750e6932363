//! Failed-login throttling per username and per client address. Counted in the
//! database, so the limits hold across every instance on one PostgreSQL.

use chrono::{DateTime, Duration, Utc};

use crate::config::LoginLimits;
use crate::error::{AppError, ErrorCode};
use crate::store::rows::{from_db_time, to_db_time};
use crate::store::{DbConnection, login_throttle};

/// The buckets one login attempt counts against.
pub struct Buckets {
    user: String,
    address: Option<String>,
}

impl Buckets {
    pub fn new(username: &str, address: Option<&str>) -> Self {
        Self {
            user: format!("user:{}", username.to_lowercase()),
            address: address.map(|a| format!("address:{a}")),
        }
    }

    fn each<'a>(&'a self, limits: &LoginLimits) -> Vec<(&'a str, u32)> {
        let mut all = vec![(self.user.as_str(), limits.per_user)];
        if let Some(a) = &self.address {
            all.push((a.as_str(), limits.per_address));
        }
        all
    }
}

fn window(limits: &LoginLimits) -> Duration {
    Duration::seconds(limits.window.as_secs() as i64)
}

/// Counts this attempt against every bucket before the password is checked,
/// and refuses with 429 and `Retry-After` when one is over its limit. Counting
/// first, in one transaction, keeps guesses sent all at once from slipping
/// past the limit while the slow password checks run.
pub fn admit(
    conn: &mut DbConnection,
    limits: &LoginLimits,
    buckets: &Buckets,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let floor = to_db_time(now - window(limits));
    let mut wait: Option<i64> = None;
    for (bucket, limit) in buckets.each(limits) {
        login_throttle::record_failure(conn, bucket, to_db_time(now), floor)?;
        let Some((start, attempts)) = login_throttle::get(conn, bucket)? else {
            continue;
        };
        if attempts > limit as i32 {
            let ends = from_db_time(start) + window(limits);
            let seconds = (ends - now).num_seconds().max(1);
            wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
        }
    }
    match wait {
        None => Ok(()),
        // The caller's transaction rolls back: refused attempts are not counted.
        Some(seconds) => Err(AppError {
            retry_after: Some(seconds as u64),
            ..AppError::new(
                ErrorCode::TooManyLoginAttempts,
                format!("too many failed logins; try again in {seconds} s"),
            )
        }),
    }
}

/// The attempt succeeded: the user's count starts again, and the address gets
/// its attempt back (one address may be guessing at many names, so its other
/// failures stay).
pub fn succeeded(conn: &mut DbConnection, buckets: &Buckets) -> Result<(), AppError> {
    login_throttle::clear(conn, &buckets.user)?;
    if let Some(address) = &buckets.address {
        login_throttle::forgive_one(conn, address)?;
    }
    Ok(())
}
