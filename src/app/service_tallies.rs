//! Keeping the leaderboards' tallies: every act that credits or reverses a
//! service record changes its volunteer's tallies in the same commit, and a
//! start rebuilds them from the records when they were made for another
//! time zone (or never made).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, FixedOffset, Utc};

use super::act::ActContext;
use crate::domain::VolunteerId;
use crate::domain::leaderboard::tally_keys;
use crate::error::AppError;
use crate::store::service_tallies::{self, TallyDelta};
use crate::store::{DbConnection, service_records, settings};

/// The setting naming the time zone the tallies were summed in.
const TALLIES_ZONE: &str = "service_tallies_zone";
/// Records read per statement by a rebuild.
const REBUILD_CHUNK: i64 = 10_000;

/// Sums of changes per tally: many records of one volunteer in a batch make
/// one upsert per tally, not one per record.
#[derive(Default)]
struct Sums(HashMap<(VolunteerId, String), (i64, i64)>);

impl Sums {
    fn add(
        &mut self,
        volunteer: VolunteerId,
        at: DateTime<Utc>,
        zone: FixedOffset,
        m: i64,
        p: i64,
    ) {
        for key in tally_keys(at, zone) {
            let sum = self.0.entry((volunteer, key)).or_default();
            sum.0 += m;
            sum.1 += p;
        }
    }

    fn into_deltas(self) -> Vec<TallyDelta> {
        let mut deltas: Vec<TallyDelta> = self
            .0
            .into_iter()
            .filter(|(_, (m, p))| *m != 0 || *p != 0)
            .map(|((volunteer_id, period), (minutes, points))| TallyDelta {
                volunteer_id,
                period,
                minutes,
                points,
            })
            .collect();
        // One order for every batch, so two writers never wait on each
        // other's rows in opposite orders.
        deltas.sort_by(|a, b| (a.volunteer_id, &a.period).cmp(&(b.volunteer_id, &b.period)));
        deltas
    }
}

/// The batch's tally changes, written together by the one write the first
/// of them queued, after the records they count.
#[derive(Default)]
struct TalliesToWrite {
    sums: Arc<Mutex<Sums>>,
    queued: bool,
}

/// A service record the act credits (`+`) or reverses (`-`).
pub(super) struct Counted {
    pub volunteer: VolunteerId,
    pub started_at: DateTime<Utc>,
    pub minutes: i64,
    pub points: i64,
}

impl From<&crate::store::service_records::ServiceRecordRow> for Counted {
    fn from(row: &crate::store::service_records::ServiceRecordRow) -> Self {
        Self {
            volunteer: row.volunteer_id,
            started_at: row.started_at.into(),
            minutes: i64::from(row.minutes),
            points: row.points,
        }
    }
}

/// Changes the tallies by a record the act credited (`sign` 1) or reversed
/// (`sign` -1). Call it when nothing after it can refuse the act.
pub(super) fn count(cx: &mut ActContext<'_>, zone: FixedOffset, record: Counted, sign: i64) {
    let to_write = cx.memo::<TalliesToWrite>();
    to_write
        .sums
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .add(
            record.volunteer,
            record.started_at,
            zone,
            sign * record.minutes,
            sign * record.points,
        );
    if !std::mem::replace(&mut to_write.queued, true) {
        let sums = Arc::clone(&to_write.sums);
        cx.write(Box::new(move |conn| {
            let sums = std::mem::take(&mut *sums.lock().unwrap_or_else(PoisonError::into_inner));
            service_tallies::add(conn, &sums.into_deltas())
        }));
    }
}

/// Rebuilds every tally from the credited records when they were summed in
/// another time zone or never; true when it rebuilt. Runs in the caller's
/// write transaction.
pub fn rebuild_if_stale(conn: &mut DbConnection, zone: FixedOffset) -> Result<bool, AppError> {
    let wanted = zone.to_string();
    if settings::get(conn, TALLIES_ZONE)?.as_deref() == Some(wanted.as_str()) {
        return Ok(false);
    }
    service_tallies::clear_for_rebuild(conn)?;
    let mut sums = Sums::default();
    let mut after = None;
    loop {
        let chunk = service_records::credited_after(conn, after, REBUILD_CHUNK)?;
        let Some(last) = chunk.last() else { break };
        after = Some(last.id);
        for record in &chunk {
            sums.add(
                record.volunteer_id,
                record.started_at.into(),
                zone,
                i64::from(record.minutes),
                record.points,
            );
        }
    }
    service_tallies::add(conn, &sums.into_deltas())?;
    settings::put(conn, TALLIES_ZONE, &wanted)?;
    Ok(true)
}
