//! A volunteer's standing: hours served (a tally that spending never lowers),
//! points earned and spent, and the star level their hours have reached.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::App;
use super::caller::Caller;
use super::volunteers::{READERS, visible};
use crate::domain::service::{day_bounds, hours_text};
use crate::domain::{Points, VolunteerId};
use crate::error::AppError;
use crate::store::columns::UtcTime;
use crate::store::{accounts, ledgers, service_records};

/// Hours served, in minutes and in hours.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"minutes": 150, "hours": "2.50"})))]
pub struct HoursServed {
    /// Minutes credited.
    pub minutes: i64,
    /// Two decimals, rounded down.
    pub hours: String,
}

impl HoursServed {
    pub(super) fn new(minutes: i64) -> Self {
        Self {
            minutes,
            hours: hours_text(minutes),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "volunteer_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
    "hours_total": {"minutes": 7830, "hours": "130.50"},
    "hours_this_year": {"minutes": 2400, "hours": "40.00"},
    "hours_this_month": {"minutes": 300, "hours": "5.00"},
    "points_earned": "1305.00",
    "points_spent": "420.00",
    "balance": "885.00",
    "stars": 1,
    "next_star_at_hours": 300
})))]
/// A volunteer's standing.
pub struct VolunteerSummary {
    /// The volunteer.
    pub volunteer_id: VolunteerId,
    /// Credited service, whatever was spent since; reversed records left out.
    pub hours_total: HoursServed,
    /// Service started this calendar year, in the scheme's time zone.
    pub hours_this_year: HoursServed,
    /// Service started this calendar month, in the scheme's time zone.
    pub hours_this_month: HoursServed,
    /// Everything credited to the wallet (service, donations received, refunds).
    pub points_earned: String,
    /// Everything debited from it (redemptions, donations given).
    pub points_spent: String,
    /// Posted balance.
    pub balance: String,
    /// Star level reached by total hours (0 to the number of levels).
    pub stars: u32,
    /// Hours needed for the next star; null at the top level.
    pub next_star_at_hours: Option<u32>,
}

/// The star level `hours` reach under `thresholds`, and the next threshold.
fn stars(thresholds: &[u32], minutes: i64) -> (u32, Option<u32>) {
    let reached = thresholds
        .iter()
        .take_while(|h| i64::from(**h) * 60 <= minutes)
        .count();
    (reached as u32, thresholds.get(reached).copied())
}

impl App {
    pub async fn volunteer_summary(
        &self,
        caller: &Caller,
        id: VolunteerId,
    ) -> Result<VolunteerSummary, AppError> {
        let caller = caller.clone();
        let zone = self.service_zone;
        let thresholds = self.star_hours.clone();
        let today = Utc::now().with_timezone(&zone).date_naive();
        let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
        let month_start = today.with_day(1).unwrap_or(today);
        let since = |day: NaiveDate| -> DateTime<Utc> { day_bounds(day, zone).0 };
        let (year_from, month_from) = (since(year_start), since(month_start));
        self.store
            .run(move |conn| {
                let volunteer = visible(conn, &caller, READERS, &id, true)?;
                let tally = |conn: &mut _, from: Option<DateTime<Utc>>| {
                    service_records::credited_minutes(conn, &id, from.map(UtcTime), None)
                };
                let total = tally(conn, None)?;
                let year = tally(conn, Some(year_from))?;
                let month = tally(conn, Some(month_from))?;
                let wallet = accounts::get(conn, &volunteer.account_id)?
                    .ok_or_else(|| AppError::internal("volunteer wallet missing"))?;
                let scale =
                    ledgers::get(conn, &wallet.ledger_id)?.map_or(0, |l| l.asset_scale as u32);
                let (earned, spent) = (
                    Points::from_minor(wallet.credits_posted),
                    Points::from_minor(wallet.debits_posted),
                );
                let balance = earned.checked_sub(spent).unwrap_or_default();
                let (stars, next) = stars(&thresholds, total);
                Ok(VolunteerSummary {
                    volunteer_id: id,
                    hours_total: HoursServed::new(total),
                    hours_this_year: HoursServed::new(year),
                    hours_this_month: HoursServed::new(month),
                    points_earned: earned.to_decimal_string(scale),
                    points_spent: spent.to_decimal_string(scale),
                    balance: balance.to_decimal_string(scale),
                    stars,
                    next_star_at_hours: next,
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::stars;

    #[test]
    fn stars_count_thresholds_reached() {
        let levels = [100, 300, 600, 1000, 1500];
        assert_eq!(stars(&levels, 0), (0, Some(100)));
        assert_eq!(stars(&levels, 99 * 60 + 59), (0, Some(100)));
        assert_eq!(stars(&levels, 100 * 60), (1, Some(300)));
        assert_eq!(stars(&levels, 1500 * 60), (5, None));
    }
}
