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

/// Refuses with 429 and `Retry-After` while any bucket is at its limit.
pub fn check(
    conn: &mut DbConnection,
    limits: &LoginLimits,
    buckets: &Buckets,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut wait: Option<i64> = None;
    for (bucket, limit) in buckets.each(limits) {
        let Some((start, failures)) = login_throttle::get(conn, bucket)? else {
            continue;
        };
        let ends = from_db_time(start) + window(limits);
        if failures >= limit as i32 && ends > now {
            let seconds = (ends - now).num_seconds().max(1);
            wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
        }
    }
    match wait {
        None => Ok(()),
        Some(seconds) => Err(AppError {
            retry_after: Some(seconds as u64),
            ..AppError::new(
                ErrorCode::TooManyLoginAttempts,
                format!("too many failed logins; try again in {seconds} s"),
            )
        }),
    }
}

pub fn record_failure(
    conn: &mut DbConnection,
    limits: &LoginLimits,
    buckets: &Buckets,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let floor = to_db_time(now - window(limits));
    for (bucket, _) in buckets.each(limits) {
        login_throttle::record_failure(conn, bucket, to_db_time(now), floor)?;
    }
    Ok(())
}

/// A successful login clears the user's count (not the address's: one
/// address may be guessing at many names).
pub fn record_success(conn: &mut DbConnection, buckets: &Buckets) -> Result<(), AppError> {
    login_throttle::clear(conn, &buckets.user)
}
