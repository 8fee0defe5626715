//! The disclosure-slot rule: publish at 16:00 UTC on a Monday to Thursday
//! that is not a configured holiday (SPEC-11, footnote 3), so the announcement
//! is seen in the morning in APAC and the evening in EMEA and the Americas.

use std::collections::BTreeSet;

use jiff::{
    Timestamp,
    civil::{Date, Weekday},
    tz::TimeZone,
};

/// The rule that picks disclosure moments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisclosureRule {
    /// The hour of day, UTC (16 by default).
    pub hour_utc: i8,
    /// Days (UTC dates) on which nothing is disclosed.
    pub holidays: BTreeSet<Date>,
}

impl Default for DisclosureRule {
    fn default() -> Self {
        Self {
            hour_utc: 16,
            holidays: BTreeSet::new(),
        }
    }
}

/// No slot was found within the search horizon (every day a holiday).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no disclosure slot within {days} days of {after}: check the configured holidays")]
pub struct NoSlot {
    /// The moment searched from.
    pub after: Timestamp,
    /// How many days were searched.
    pub days: i32,
}

const HORIZON_DAYS: i32 = 366;

impl DisclosureRule {
    /// Whether `date` is a day on which disclosure may happen.
    pub fn is_disclosure_day(&self, date: Date) -> bool {
        let weekday_ok = matches!(
            date.weekday(),
            Weekday::Monday | Weekday::Tuesday | Weekday::Wednesday | Weekday::Thursday
        );
        weekday_ok && !self.holidays.contains(&date)
    }

    /// The first slot strictly after `after`.
    pub fn next_slot(&self, after: Timestamp) -> Result<Timestamp, NoSlot> {
        let start = after.to_zoned_datetime(TimeZone::UTC).date();
        let mut date = start;
        for _ in 0..=HORIZON_DAYS {
            if self.is_disclosure_day(date) {
                let slot = date
                    .at(self.hour_utc, 0, 0, 0)
                    .to_zoned_datetime(TimeZone::UTC)
                    .map(|z| z.timestamp());
                if let Ok(slot) = slot
                    && slot > after
                {
                    return Ok(slot);
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        Err(NoSlot {
            after,
            days: HORIZON_DAYS,
        })
    }

    /// Whether `t` is exactly a slot.
    pub fn is_slot(&self, t: Timestamp) -> bool {
        let z = t.to_zoned_datetime(TimeZone::UTC);
        self.is_disclosure_day(z.date())
            && z.hour() == self.hour_utc
            && z.minute() == 0
            && z.second() == 0
            && z.subsec_nanosecond() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(after: &str, holidays: &[&str], expect: &str) {
        let rule = DisclosureRule {
            hour_utc: 16,
            holidays: holidays.iter().map(|d| d.parse().unwrap()).collect(),
        };
        let got = rule.next_slot(after.parse().unwrap()).unwrap();
        assert_eq!(got.to_string(), expect, "after {after} with {holidays:?}");
        assert!(rule.is_slot(got));
    }

    #[test]
    fn slots_across_the_week() {
        // 2026-03-02 is a Monday.
        check("2026-03-02T09:00:00Z", &[], "2026-03-02T16:00:00Z"); // Monday morning: same day
        check("2026-03-02T16:00:00Z", &[], "2026-03-03T16:00:00Z"); // exactly at the slot: next one
        check("2026-03-05T15:59:59Z", &[], "2026-03-05T16:00:00Z"); // Thursday before 16:00
        check("2026-03-05T16:00:01Z", &[], "2026-03-09T16:00:00Z"); // Thursday after: skip Fri–Sun
        check("2026-03-06T10:00:00Z", &[], "2026-03-09T16:00:00Z"); // Friday
        check("2026-03-07T10:00:00Z", &[], "2026-03-09T16:00:00Z"); // Saturday
        check("2026-03-08T23:59:59Z", &[], "2026-03-09T16:00:00Z"); // Sunday night
    }

    #[test]
    fn holidays_are_skipped() {
        check(
            "2026-03-06T10:00:00Z",
            &["2026-03-09"],
            "2026-03-10T16:00:00Z",
        );
        check(
            "2026-12-23T17:00:00Z",
            &[
                "2026-12-24",
                "2026-12-28",
                "2026-12-29",
                "2026-12-30",
                "2026-12-31",
            ],
            "2027-01-04T16:00:00Z",
        );
        // A holiday on a Friday changes nothing.
        check(
            "2026-03-05T17:00:00Z",
            &["2026-03-06"],
            "2026-03-09T16:00:00Z",
        );
    }

    #[test]
    fn impossible_calendar_is_an_error() {
        let mut rule = DisclosureRule::default();
        let start: Date = "2026-01-01".parse().unwrap();
        let mut d = start;
        for _ in 0..400 {
            rule.holidays.insert(d);
            d = d.tomorrow().unwrap();
        }
        let err = rule
            .next_slot("2026-01-01T00:00:00Z".parse().unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("check the configured holidays"));
    }
}
