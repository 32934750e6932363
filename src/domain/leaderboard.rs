//! Leaderboards: the periods service is tallied in and what a ranking
//! orders by. A record counts in three tallies: all time, its year and its
//! month, each in the scheme's time zone by when the service started.

use chrono::{DateTime, Datelike, FixedOffset, Utc};

use super::text_enum::text_enum;

text_enum!(
    /// Which service a leaderboard counts.
    LeaderboardPeriod {
        Month => "month",
        Year => "year",
        All => "all",
    }
);

text_enum!(
    /// What a leaderboard ranks by.
    RankBy {
        Hours => "hours",
        Points => "points",
    }
);

/// The key of the tally that holds every record, whenever it was.
const ALL_TIME: &str = "all";

impl LeaderboardPeriod {
    /// The key of this period's tally for service started at `at`:
    /// `all`, `2026` or `2026-12`.
    pub fn key_at(self, at: DateTime<Utc>, zone: FixedOffset) -> String {
        let local = at.with_timezone(&zone);
        match self {
            Self::All => ALL_TIME.to_owned(),
            Self::Year => format!("{:04}", local.year()),
            Self::Month => format!("{:04}-{:02}", local.year(), local.month()),
        }
    }
}

/// The tallies a record started at `at` counts in.
pub fn tally_keys(at: DateTime<Utc>, zone: FixedOffset) -> [String; 3] {
    use LeaderboardPeriod::{All, Month, Year};
    [All, Year, Month].map(|p| p.key_at(at, zone))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_record_counts_in_the_local_year_and_month() {
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        // 31 December 20:00 UTC is already 1 January in Beijing.
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).unwrap();
        assert_eq!(tally_keys(at, beijing), ["all", "2027", "2027-01"]);
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(tally_keys(at, utc), ["all", "2026", "2026-12"]);
    }
}
