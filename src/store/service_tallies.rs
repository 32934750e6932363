//! Service tallies: each volunteer's credited minutes and points per period,
//! changed in the commit that credits or reverses a record, read by
//! leaderboards.

use diesel::prelude::*;
use diesel::upsert::excluded;

use diesel::expression::BoxableExpression;
use diesel::sql_types::BigInt;

use super::DbConnection;
use super::connection::MultiBackend;
use super::schema::{accounts, service_tallies, volunteers};
use super::subtree::within;
use crate::domain::{LedgerId, OrgPath, RankBy, UserId, VolunteerId};
use crate::error::AppError;

/// A change to one tally: positive when a record is credited, negative when
/// it is reversed.
#[derive(Insertable, Clone, Debug, PartialEq, Eq)]
#[diesel(table_name = service_tallies)]
pub struct TallyDelta {
    pub volunteer_id: VolunteerId,
    pub period: String,
    pub minutes: i64,
    pub points: i64,
}

/// Adds each change to its tally, making the tally when it is the first.
/// `deltas` name each tally once (a batch's changes are summed first): on
/// PostgreSQL they go as multi-row upserts, one round trip per chunk.
pub fn add(conn: &mut DbConnection, deltas: &[TallyDelta]) -> Result<(), AppError> {
    use service_tallies::{minutes, period, points, table, volunteer_id};
    let (raised, lowered): (Vec<&TallyDelta>, Vec<&TallyDelta>) =
        deltas.iter().partition(|d| d.minutes >= 0 && d.points >= 0);
    for delta in lowered {
        // A tally lowered was raised before: its row exists. (An upsert
        // cannot lower it: both backends check the row it would insert.)
        let changed = diesel::update(table.find((delta.volunteer_id, &delta.period)))
            .set((
                minutes.eq(minutes + delta.minutes),
                points.eq(points + delta.points),
            ))
            .execute(conn)?;
        if changed != 1 {
            return Err(AppError::internal("lowering a service tally never raised"));
        }
    }
    let raised: Vec<TallyDelta> = raised.into_iter().cloned().collect();
    macro_rules! upsert {
        ($rows:expr) => {
            diesel::insert_into(table)
                .values($rows)
                .on_conflict((volunteer_id, period))
                .do_update()
                .set((
                    minutes.eq(minutes + excluded(minutes)),
                    points.eq(points + excluded(points)),
                ))
        };
    }
    match conn {
        DbConnection::Postgresql(c) => {
            for chunk in raised.chunks(super::INSERT_CHUNK) {
                upsert!(chunk).execute(c)?;
            }
        }
        // In-process statements cost microseconds; one row each.
        DbConnection::Sqlite(c) => {
            for row in &raised {
                upsert!(row).execute(c)?;
            }
        }
    }
    Ok(())
}

/// Empties every tally and keeps them still until the transaction ends, so a
/// rebuild is not raced by records credited meanwhile (SQLite's write
/// transaction already excludes every other writer).
pub fn clear_for_rebuild(conn: &mut DbConnection) -> Result<(), AppError> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query(
            "LOCK TABLE service_records, service_tallies IN SHARE ROW EXCLUSIVE MODE",
        )
        .execute(c)?;
    }
    diesel::delete(service_tallies::table).execute(conn)?;
    Ok(())
}

/// One volunteer's tally with what a leaderboard shows of them.
#[derive(Queryable, Clone, Debug)]
pub struct RankedRow {
    pub volunteer_id: VolunteerId,
    pub name: String,
    pub leaderboard_consent: bool,
    pub user_id: Option<UserId>,
    /// The wallet's ledger, whose scale the points are in.
    pub ledger_id: LedgerId,
    pub minutes: i64,
    pub points: i64,
}

/// Where a page of a ranking starts: after this measure and volunteer.
#[derive(Clone, Copy, Debug)]
pub struct RankAfter {
    pub measure: i64,
    pub volunteer_id: VolunteerId,
}

type Measure = Box<dyn BoxableExpression<service_tallies::table, MultiBackend, SqlType = BigInt>>;

/// The column a ranking orders by.
fn measure(by: RankBy) -> Measure {
    match by {
        RankBy::Hours => Box::new(service_tallies::minutes),
        RankBy::Points => Box::new(service_tallies::points),
    }
}

/// The volunteers at home inside the subtrees with service in the period,
/// highest measure first, ties in volunteer order.
pub fn ranking(
    conn: &mut DbConnection,
    subtrees: &[OrgPath],
    period: &str,
    by: RankBy,
    after: Option<RankAfter>,
    limit: i64,
) -> Result<Vec<RankedRow>, AppError> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    // Only the tallies of volunteers in scope, by a subquery, so the measure
    // stays an expression of the tallies table alone.
    let in_scope = volunteers::table
        .filter(volunteers::organisation_id.eq_any(within(subtrees)))
        .select(volunteers::id);
    let mut ids = service_tallies::table
        .filter(service_tallies::period.eq(period))
        .filter(service_tallies::volunteer_id.eq_any(in_scope))
        .filter(measure(by).gt(0))
        .order((measure(by).desc(), service_tallies::volunteer_id.asc()))
        .select((
            service_tallies::volunteer_id,
            service_tallies::minutes,
            service_tallies::points,
        ))
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        ids = ids.filter(
            measure(by).lt(after.measure).or(measure(by)
                .eq(after.measure)
                .and(service_tallies::volunteer_id.gt(after.volunteer_id))),
        );
    }
    let tallies: Vec<(VolunteerId, i64, i64)> = ids.load(conn)?;
    let chosen: Vec<VolunteerId> = tallies.iter().map(|t| t.0).collect();
    let mut people: std::collections::HashMap<
        VolunteerId,
        (String, bool, Option<UserId>, LedgerId),
    > = volunteers::table
        .inner_join(accounts::table.on(accounts::id.eq(volunteers::account_id)))
        .filter(volunteers::id.eq_any(&chosen))
        .select((
            volunteers::id,
            volunteers::name,
            volunteers::leaderboard_consent,
            volunteers::user_id,
            accounts::ledger_id,
        ))
        .load::<(VolunteerId, String, bool, Option<UserId>, LedgerId)>(conn)?
        .into_iter()
        .map(|(id, name, consent, user, ledger)| (id, (name, consent, user, ledger)))
        .collect();
    tallies
        .into_iter()
        .map(|(volunteer_id, minutes, points)| {
            let (name, leaderboard_consent, user_id, ledger_id) = people
                .remove(&volunteer_id)
                .ok_or_else(|| AppError::internal("a tallied volunteer vanished"))?;
            Ok(RankedRow {
                volunteer_id,
                name,
                leaderboard_consent,
                user_id,
                ledger_id,
                minutes,
                points,
            })
        })
        .collect()
}
