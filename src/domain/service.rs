//! Volunteer service as the scheme counts it: a span of time, a category of
//! activity, and the terms of the earning rule that turn it into points.
//! Pure arithmetic on integers: minutes and minor units, never floats.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

use super::Points;
use super::text_enum::text_enum;

/// Longest single record: a day.
pub const MAX_RECORD_MINUTES: i64 = 24 * 60;

text_enum!(
    /// A service record is `credited` with its points at once, or waits as
    /// `pending_approval` (priced, not paid) until a second person approves
    /// it (`credited`) or rejects it (`rejected`). A credited record stays so
    /// until a reversing transfer takes its points back (`reversed`); its
    /// hours then leave the tally. Pending records hold their time slot and
    /// count against the day's cap; rejected and reversed ones do not.
    ServiceStatus {
        Credited => "credited",
        Reversed => "reversed",
        PendingApproval => "pending_approval",
        Rejected => "rejected",
    }
);

/// An activity category, such as `elderly_care`: 1 to 40 lower-case letters,
/// digits or underscores, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(String);

impl Category {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Category {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let starts_with_letter = s.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        let allowed = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !(1..=40).contains(&s.len()) || !starts_with_letter || !allowed {
            return Err(
                "1 to 40 lower-case letters, digits or underscores, starting with a letter",
            );
        }
        Ok(Self(s.to_string()))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an earning rule covers: one category, or every category that has no
/// rule of its own (stored as `*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RuleCategory {
    Every,
    Only(Category),
}

impl RuleCategory {
    pub fn as_str(&self) -> &str {
        match self {
            RuleCategory::Every => "*",
            RuleCategory::Only(c) => c.as_str(),
        }
    }
}

impl FromStr for RuleCategory {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "*" => Ok(RuleCategory::Every),
            other => other.parse().map(RuleCategory::Only),
        }
    }
}

impl fmt::Display for RuleCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When service was done: a start before its end, at most a day long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceSpan {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl ServiceSpan {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, &'static str> {
        if end <= start {
            return Err("the service must end after it starts");
        }
        if end - start > Duration::minutes(MAX_RECORD_MINUTES) {
            return Err(
                "one record covers at most 24 hours; record longer service as several days",
            );
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Whole minutes of service (seconds are dropped).
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }

    pub fn overlaps(&self, other: &ServiceSpan) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The scheme's day the service belongs to: the day it started, in the
    /// scheme's time zone.
    pub fn day(&self, zone: FixedOffset) -> NaiveDate {
        self.start.with_timezone(&zone).date_naive()
    }
}

/// The start and end (exclusive) of a scheme's day, in UTC.
pub fn day_bounds(day: NaiveDate, zone: FixedOffset) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    // A fixed offset has no gaps or folds: every local midnight exists once.
    let start = (midnight - Duration::seconds(i64::from(zone.local_minus_utc()))).and_utc();
    (start, start + Duration::days(1))
}

/// A campaign window in which service earns more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Campaign {
    /// 100 is the normal rate; 200 doubles it.
    pub multiplier_percent: u32,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// The terms one version of an earning rule sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EarningTerms {
    /// Minor units of the ledger per hour.
    pub points_per_hour: Points,
    pub min_unit_minutes: u32,
    pub max_minutes_per_day: u32,
    pub max_minutes_per_record: u32,
    pub campaign: Option<Campaign>,
}

impl EarningTerms {
    /// The scheme's defaults where no rule is set: 10 points an hour, counted
    /// in quarter hours, at most 12 hours a volunteer a day.
    pub fn defaults(scale: u32) -> Self {
        Self {
            points_per_hour: Points::from_minor(10 * 10i64.pow(scale)),
            min_unit_minutes: 15,
            max_minutes_per_day: 12 * 60,
            max_minutes_per_record: 12 * 60,
            campaign: None,
        }
    }

    /// The campaign's multiplier (percent) for service started at `start`:
    /// 100 outside any campaign.
    pub fn multiplier_at(&self, start: DateTime<Utc>) -> u32 {
        match self.campaign {
            Some(c) if c.from <= start && start < c.until => c.multiplier_percent,
            _ => 100,
        }
    }

    /// Prices one record: its minutes counted in whole units, and its points,
    /// rounded down to the ledger's minor unit. The daily cap is checked
    /// against `minutes_that_day` already credited to the volunteer.
    pub fn price(&self, span: &ServiceSpan, minutes_that_day: i64) -> Result<Priced, PricingError> {
        let unit = i64::from(self.min_unit_minutes.max(1));
        let minutes = span.minutes() / unit * unit;
        if minutes == 0 {
            return Err(PricingError::ShorterThanUnit { unit });
        }
        let record_cap = i64::from(self.max_minutes_per_record);
        if minutes > record_cap {
            return Err(PricingError::RecordCap { cap: record_cap });
        }
        let day_cap = i64::from(self.max_minutes_per_day);
        if minutes_that_day + minutes > day_cap {
            return Err(PricingError::DayCap {
                cap: day_cap,
                already: minutes_that_day,
            });
        }
        let multiplier = i128::from(self.multiplier_at(span.start()));
        let minor = i128::from(minutes) * i128::from(self.points_per_hour.minor()) * multiplier
            / (60 * 100);
        let points = i64::try_from(minor).map_err(|_| PricingError::TooMany)?;
        if points <= 0 {
            return Err(PricingError::Nothing);
        }
        Ok(Priced {
            minutes,
            points: Points::from_minor(points),
            multiplier_percent: multiplier as u32,
        })
    }
}

/// What a record earns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priced {
    pub minutes: i64,
    pub points: Points,
    pub multiplier_percent: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the service is shorter than the rule's unit of {unit} minutes")]
    ShorterThanUnit { unit: i64 },
    #[error("one record may credit at most {cap} minutes under this rule")]
    RecordCap { cap: i64 },
    #[error(
        "a volunteer may be credited at most {cap} minutes a day; {already} are already recorded for that day"
    )]
    DayCap { cap: i64, already: i64 },
    #[error("the service earns no points under this rule")]
    Nothing,
    #[error("the service would earn more points than the ledger can hold")]
    TooMany,
}

/// Hours as shown to people: minutes / 60 to two decimals, rounded down, as
/// a decimal string (`"1.25"`). The tally itself is kept in minutes.
pub fn hours_text(minutes: i64) -> String {
    rust_decimal::Decimal::new(minutes * 100 / 60, 2).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 14, h, m, 0).unwrap()
    }

    fn span(from: (u32, u32), to: (u32, u32)) -> ServiceSpan {
        ServiceSpan::new(at(from.0, from.1), at(to.0, to.1)).unwrap()
    }

    #[test]
    fn defaults_price_quarter_hours_at_ten_points() {
        let terms = EarningTerms::defaults(2);
        let priced = terms.price(&span((9, 0), (10, 37)), 0).unwrap();
        assert_eq!(priced.minutes, 90);
        assert_eq!(priced.points, Points::from_minor(1500));
        assert_eq!(hours_text(priced.minutes), "1.50");
    }

    #[test]
    fn units_caps_and_campaigns() {
        let mut terms = EarningTerms::defaults(2);
        assert_eq!(
            terms.price(&span((9, 0), (9, 14)), 0),
            Err(PricingError::ShorterThanUnit { unit: 15 })
        );
        assert_eq!(
            terms.price(&span((9, 0), (11, 0)), 11 * 60),
            Err(PricingError::DayCap {
                cap: 720,
                already: 660
            })
        );
        terms.max_minutes_per_record = 60;
        assert_eq!(
            terms.price(&span((9, 0), (11, 0)), 0),
            Err(PricingError::RecordCap { cap: 60 })
        );
        terms.campaign = Some(Campaign {
            multiplier_percent: 200,
            from: at(9, 0),
            until: at(12, 0),
        });
        assert_eq!(
            terms.price(&span((9, 0), (10, 0)), 0).unwrap().points,
            Points::from_minor(2000)
        );
        // The campaign counts by when the service started.
        assert_eq!(
            terms.price(&span((12, 0), (13, 0)), 0).unwrap().points,
            Points::from_minor(1000)
        );
    }

    #[test]
    fn spans_refuse_backwards_and_overlong_service() {
        assert!(ServiceSpan::new(at(10, 0), at(10, 0)).is_err());
        assert!(ServiceSpan::new(at(10, 0), at(9, 0)).is_err());
        assert!(
            ServiceSpan::new(
                at(0, 0),
                at(0, 0) + Duration::minutes(MAX_RECORD_MINUTES + 1)
            )
            .is_err()
        );
        assert!(span((9, 0), (10, 0)).overlaps(&span((9, 59), (11, 0))));
        assert!(!span((9, 0), (10, 0)).overlaps(&span((10, 0), (11, 0))));
    }

    #[test]
    fn scheme_days_follow_the_zone() {
        let china = FixedOffset::east_opt(8 * 3600).unwrap();
        // 17:00 UTC is 01:00 the next morning in China.
        let late = span((17, 0), (18, 0));
        assert_eq!(
            late.day(china),
            NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()
        );
        let (start, end) = day_bounds(late.day(china), china);
        assert_eq!(start, at(16, 0));
        assert_eq!(end - start, Duration::days(1));
    }

    #[test]
    fn categories_are_plain_codes() {
        assert!("elderly_care".parse::<Category>().is_ok());
        for bad in [
            "",
            "Elderly",
            "1st",
            "a-b",
            "ｅlderly",
            "a\0",
            &"a".repeat(41),
        ] {
            assert!(bad.parse::<Category>().is_err(), "{bad:?}");
        }
        assert_eq!("*".parse::<RuleCategory>(), Ok(RuleCategory::Every));
    }

    proptest! {
        #[test]
        fn points_never_exceed_the_undivided_rate(
            minutes in 1i64..=MAX_RECORD_MINUTES,
            rate in 1i64..1_000_000,
            unit in 1u32..=60,
            percent in 100u32..=1000,
        ) {
            let start = at(0, 0);
            let span = ServiceSpan::new(start, start + Duration::minutes(minutes)).unwrap();
            let terms = EarningTerms {
                points_per_hour: Points::from_minor(rate),
                min_unit_minutes: unit,
                max_minutes_per_day: 1440,
                max_minutes_per_record: 1440,
                campaign: Some(Campaign { multiplier_percent: percent, from: start, until: start + Duration::days(1) }),
            };
            if let Ok(p) = terms.price(&span, 0) {
                prop_assert!(p.minutes <= minutes && p.minutes % i64::from(unit) == 0);
                prop_assert!(i128::from(p.points.minor()) * 6000 <= i128::from(p.minutes) * i128::from(rate) * i128::from(percent));
            }
        }
    }
}
