//! When a service record needs a second person: long service, or long
//! service at night, is credited only once someone other than its recorder
//! approves it. Pure arithmetic on the span and the scheme's zone.

use chrono::{Duration, FixedOffset, NaiveTime};

use super::service::{ServiceSpan, day_bounds};

/// The scheme's thresholds. A record longer than `max_minutes`, or with more
/// than `night_max_minutes` inside the night, waits for approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApprovalPolicy {
    pub max_minutes: u32,
    pub night_max_minutes: u32,
    pub night: NightHours,
}

/// The night, as whole hours of the scheme's clock: from `from` (inclusive)
/// to `until` (exclusive), wrapping past midnight when `until <= from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NightHours {
    from: u32,
    until: u32,
}

impl NightHours {
    /// Parses `22-6`: hours 0 to 23, different from each other.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let bad = "night hours are two hours of the clock such as 22-6";
        let (from, until) = text.split_once('-').ok_or(bad)?;
        let hour = |s: &str| s.trim().parse::<u32>().ok().filter(|h| *h < 24).ok_or(bad);
        let (from, until) = (hour(from)?, hour(until)?);
        if from == until {
            return Err(bad);
        }
        Ok(Self { from, until })
    }

    /// Minutes of the span inside the night. A span lasts at most a day, so
    /// the nights that start the day before, on and after its first day are
    /// all it can touch.
    pub fn minutes_in(&self, span: &ServiceSpan, zone: FixedOffset) -> i64 {
        let first = span.day(zone);
        let length = if self.until > self.from {
            self.until - self.from
        } else {
            24 - self.from + self.until
        };
        [-1, 0, 1]
            .into_iter()
            .filter_map(|offset| first.checked_add_signed(Duration::days(offset)))
            .map(|day| {
                let (midnight, _) = day_bounds(day, zone);
                let start = midnight + Duration::hours(i64::from(self.from));
                let end = start + Duration::hours(i64::from(length));
                let overlap = span.end().min(end) - span.start().max(start);
                overlap.num_minutes().max(0)
            })
            .sum()
    }
}

impl std::fmt::Display for NightHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
        write!(
            f,
            "{}-{}",
            at(self.from).format("%H:%M"),
            at(self.until).format("%H:%M")
        )
    }
}

impl Default for ApprovalPolicy {
    /// More than 8 hours, or more than 4 hours between 22:00 and 06:00.
    fn default() -> Self {
        Self {
            max_minutes: 8 * 60,
            night_max_minutes: 4 * 60,
            night: NightHours { from: 22, until: 6 },
        }
    }
}

impl ApprovalPolicy {
    /// Why the record must wait for a second person, or `None` when it is
    /// credited at once.
    pub fn reason(&self, span: &ServiceSpan, zone: FixedOffset) -> Option<String> {
        let minutes = span.minutes();
        if minutes > i64::from(self.max_minutes) {
            return Some(format!(
                "{minutes} minutes of service is more than the {} that are credited without a second person's approval",
                self.max_minutes
            ));
        }
        let night = self.night.minutes_in(span, zone);
        if night > i64::from(self.night_max_minutes) {
            return Some(format!(
                "{night} minutes of night service ({}) is more than the {} that are credited without a second person's approval",
                self.night, self.night_max_minutes
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn china() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    /// A span given in the scheme's local clock (China, +08:00).
    fn local(day: u32, h: u32, m: u32, minutes: i64) -> ServiceSpan {
        let start: DateTime<Utc> = china()
            .with_ymd_and_hms(2026, 3, day, h, m, 0)
            .unwrap()
            .with_timezone(&Utc);
        ServiceSpan::new(start, start + Duration::minutes(minutes)).unwrap()
    }

    #[test]
    fn night_minutes_wrap_past_midnight() {
        let night = NightHours::parse("22-6").unwrap();
        assert_eq!(night.minutes_in(&local(14, 9, 0, 120), china()), 0);
        assert_eq!(night.minutes_in(&local(14, 21, 0, 120), china()), 60);
        // 23:00 to 07:00 the next morning: seven hours of night.
        assert_eq!(night.minutes_in(&local(14, 23, 0, 480), china()), 420);
        // Starting after midnight: the night that began the day before.
        assert_eq!(night.minutes_in(&local(14, 1, 0, 60), china()), 60);
        // A whole day touches the end of one night and the start of the next.
        assert_eq!(night.minutes_in(&local(14, 12, 0, 1440), china()), 480);
        let day_shift = NightHours::parse("9-17").unwrap();
        assert_eq!(day_shift.minutes_in(&local(14, 8, 0, 120), china()), 60);
    }

    #[test]
    fn night_hours_parse_strictly() {
        for bad in ["", "22", "22-22", "24-6", "-1-6", "a-b", "22-6-1"] {
            assert!(NightHours::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            NightHours::parse("22-6").unwrap().to_string(),
            "22:00-06:00"
        );
    }

    #[test]
    fn long_or_night_service_waits_for_approval() {
        let policy = ApprovalPolicy::default();
        assert_eq!(policy.reason(&local(14, 9, 0, 480), china()), None);
        assert!(policy.reason(&local(14, 9, 0, 481), china()).is_some());
        assert_eq!(policy.reason(&local(14, 22, 0, 240), china()), None);
        let night = policy.reason(&local(14, 22, 0, 241), china()).unwrap();
        assert!(night.contains("night"), "{night}");
    }
}
