//! Leaderboards: volunteers in scope ranked by service hours or points in a
//! month, a year or all time. Those who did not consent appear anonymised,
//! except to themselves. Equal measures share a rank and keep volunteer
//! order, so a ranking reads the same on every call.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::caller::Caller;
use super::ledgers::Scales;
use super::organisations;
use super::page::Limit;
use super::volunteer_summary::HoursServed;
use crate::domain::{LeaderboardPeriod, OrganisationId, Points, RankBy, Role, VolunteerId};
use crate::error::AppError;
use crate::store::service_tallies::{self, RankAfter, RankedRow};

/// Who reads leaderboards of their subtree.
const READERS: &[Role] = &[
    Role::Admin,
    Role::Coordinator,
    Role::Auditor,
    Role::Volunteer,
];

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// Rank the volunteers at home under this organisation (default: all
    /// of your scope).
    pub organisation: Option<OrganisationId>,
    /// `month` (default), `year` or `all`: this calendar month or year in
    /// the scheme's time zone, or all time.
    pub period: Option<LeaderboardPeriod>,
    /// `hours` (default) or `points` earned by service.
    pub by: Option<RankBy>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// One place of a leaderboard.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LeaderboardEntry {
    /// 1 for the most; equal measures share a rank.
    pub rank: u64,
    /// Null when the volunteer is anonymised.
    pub volunteer_id: Option<VolunteerId>,
    /// Null when the volunteer is anonymised.
    pub name: Option<String>,
    /// The volunteer did not consent to appear by name.
    pub anonymous: bool,
    /// This is the caller's own place.
    pub you: bool,
    /// Credited service in the period.
    pub hours: HoursServed,
    /// Points earned by that service.
    pub points: String,
}

/// A page of a ranking.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "period": "month",
    "period_key": "2026-12",
    "by": "hours",
    "items": [
        {"rank": 1, "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08", "name": "Li Wei",
         "anonymous": false, "you": false, "hours": {"minutes": 600, "hours": "10.00"}, "points": "100.00"},
        {"rank": 2, "volunteer_id": null, "name": null,
         "anonymous": true, "you": false, "hours": {"minutes": 480, "hours": "8.00"}, "points": "80.00"}
    ],
    "next_cursor": null
})))]
pub struct Leaderboard {
    /// The organisation ranked under; null for the caller's whole scope.
    pub organisation_id: Option<OrganisationId>,
    /// `month`, `year` or `all`.
    pub period: LeaderboardPeriod,
    /// The tallied period: `all`, a year (`2026`) or a month (`2026-12`).
    pub period_key: String,
    /// `hours` or `points`.
    pub by: RankBy,
    /// This page's places, best first.
    pub items: Vec<LeaderboardEntry>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Where the page before ended: its last measure, volunteer, rank and place.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    after: RankAfter,
    rank: u64,
    place: u64,
}

impl Cursor {
    fn parse(raw: &str) -> Result<Self, AppError> {
        let bad = || AppError::invalid_field("cursor", "not a cursor this leaderboard gave");
        let mut parts = raw.split('.');
        let mut next = || parts.next().ok_or_else(bad);
        let measure = next()?.parse::<i64>().map_err(|_| bad())?;
        let volunteer_id = next()?.parse::<VolunteerId>().map_err(|_| bad())?;
        let rank = next()?.parse::<u64>().map_err(|_| bad())?;
        let place = next()?.parse::<u64>().map_err(|_| bad())?;
        if parts.next().is_some() || measure < 0 || rank == 0 || rank > place {
            return Err(bad());
        }
        Ok(Self {
            after: RankAfter {
                measure,
                volunteer_id,
            },
            rank,
            place,
        })
    }

    fn text(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.after.measure, self.after.volunteer_id, self.rank, self.place
        )
    }
}

fn measure(row: &RankedRow, by: RankBy) -> i64 {
    match by {
        RankBy::Hours => row.minutes,
        RankBy::Points => row.points,
    }
}

impl App {
    pub async fn leaderboard(
        &self,
        caller: &Caller,
        query: LeaderboardQuery,
    ) -> Result<Leaderboard, AppError> {
        caller.require_any(READERS)?;
        let limit = Limit::parse(query.limit)?;
        let cursor = query.cursor.as_deref().map(Cursor::parse).transpose()?;
        let period = query.period.unwrap_or(LeaderboardPeriod::Month);
        let by = query.by.unwrap_or(RankBy::Hours);
        let period_key = period.key_at(Utc::now(), self.service_zone);
        let me = caller.user_id;
        let caller = caller.clone();
        let key = period_key.clone();
        let organisation = query.organisation;
        let (rows, scales) = self
            .store
            .run(move |conn| {
                let subtrees = match &organisation {
                    Some(id) => {
                        vec![
                            organisations::visible(conn, &caller, READERS, id)?
                                .path()
                                .clone(),
                        ]
                    }
                    None => caller.subtrees(READERS),
                };
                let rows = service_tallies::ranking(
                    conn,
                    &subtrees,
                    &key,
                    by,
                    cursor.map(|c| c.after),
                    limit.probe(),
                )?;
                // Points are shown in each wallet's ledger's units.
                let mut ledger_scales = Scales::default();
                let scales = rows
                    .iter()
                    .map(|row| ledger_scales.of(conn, &row.ledger_id))
                    .collect::<Result<Vec<_>, AppError>>()?;
                Ok((rows, scales))
            })
            .await?;
        let (mut rank, mut place) = cursor.map_or((0, 0), |c| (c.rank, c.place));
        let mut last_measure = cursor.map(|c| c.after.measure);
        let mut places = Vec::with_capacity(rows.len());
        for (row, scale) in rows.iter().zip(scales) {
            place += 1;
            let m = measure(row, by);
            if last_measure != Some(m) {
                rank = place;
            }
            last_measure = Some(m);
            let you = row.user_id == Some(me);
            let named = row.leaderboard_consent || you;
            let entry = LeaderboardEntry {
                rank,
                volunteer_id: named.then_some(row.volunteer_id),
                name: named.then(|| row.name.clone()),
                anonymous: !named,
                you,
                hours: HoursServed::new(row.minutes),
                points: Points::from_minor(row.points).to_decimal_string(scale),
            };
            let next = Cursor {
                after: RankAfter {
                    measure: m,
                    volunteer_id: row.volunteer_id,
                },
                rank,
                place,
            };
            places.push((entry, next));
        }
        let page = limit.finish(places, |(_, next)| next.text());
        Ok(Leaderboard {
            organisation_id: organisation,
            period,
            period_key,
            by,
            items: page.items.into_iter().map(|(entry, _)| entry).collect(),
            next_cursor: page.next_cursor,
        })
    }
}
