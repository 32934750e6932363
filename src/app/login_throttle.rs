//! Failed-login throttling, counted in the database so the limits hold across
//! every instance on one PostgreSQL. Three counters: a username from one
//! address (the tight one: an attacker at one address runs out of guesses
//! there and only there), an address over every name (guessing many names),
//! and a username over every address (a higher ceiling over a longer window:
//! guessing from many addresses stays bounded too).

use chrono::{DateTime, Duration, Utc};

use crate::config::LoginLimits;
use crate::error::{AppError, ErrorCode};
use crate::store::{DbConnection, login_throttle};

/// The buckets one login attempt counts against.
pub struct Buckets {
    user_at_address: String,
    address: String,
    user: String,
}

impl Buckets {
    /// `username` in its compared form, so every spelling shares counters.
    pub fn new(username: &str, address: Option<&str>) -> Self {
        let address = address.unwrap_or("unknown");
        Self {
            user_at_address: format!("user-at-address:{address} {username}"),
            address: format!("address:{address}"),
            user: format!("user:{username}"),
        }
    }

    fn each(&self, limits: &LoginLimits) -> [(&str, u32, Duration); 3] {
        let seconds = |d: std::time::Duration| Duration::seconds(d.as_secs() as i64);
        [
            (
                &self.user_at_address,
                limits.per_user_address,
                seconds(limits.window),
            ),
            (&self.address, limits.per_address, seconds(limits.window)),
            (&self.user, limits.per_user, seconds(limits.user_window)),
        ]
    }
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
    let mut wait: Option<i64> = None;
    for (bucket, limit, window) in buckets.each(limits) {
        login_throttle::record_failure(conn, bucket, now, now - window)?;
        let Some((start, attempts)) = login_throttle::get(conn, bucket)? else {
            continue;
        };
        if attempts > limit as i32 {
            let ends = start + window;
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

/// The attempt succeeded: the user's count at this address starts again;
/// the address and the username over every address get this attempt back
/// (their other failures may be someone else's guesses, so they stay).
pub fn succeeded(conn: &mut DbConnection, buckets: &Buckets) -> Result<(), AppError> {
    login_throttle::clear(conn, &buckets.user_at_address)?;
    login_throttle::forgive_one(conn, &buckets.address)?;
    login_throttle::forgive_one(conn, &buckets.user)?;
    Ok(())
}
