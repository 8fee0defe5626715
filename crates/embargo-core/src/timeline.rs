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

/// What the proposal of a disclosure timeline weighs (`[disclosure]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelinePolicy {
    /// The slot rule.
    pub rule: DisclosureRule,
    /// Days from now to the earliest disclosure, by severity: the time to
    /// fix, test and release (unscored cases count as medium).
    pub lead_days: crate::sla::BySeverity,
    /// Extra days for each supported series past the first (one patch
    /// release each).
    pub per_series_days: u32,
    /// Extra days for each further project (an upstream to coordinate).
    pub per_project_days: u32,
    /// The longest embargo, from the report.
    pub max_embargo_days: u32,
    /// How much longer a low-severity embargo may run.
    pub low_extension_days: u32,
}

impl Default for TimelinePolicy {
    fn default() -> Self {
        Self {
            rule: DisclosureRule::default(),
            lead_days: crate::sla::BySeverity {
                critical: 3,
                high: 7,
                medium: 14,
                low: 30,
            },
            per_series_days: 2,
            per_project_days: 7,
            max_embargo_days: 90,
            low_extension_days: 90,
        }
    }
}

/// A proposed disclosure moment and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// The moment: a slot.
    pub disclose_at: Timestamp,
    /// The latest moment the policy allows for this case.
    pub latest: Timestamp,
    /// How it was reached, one line each.
    pub reasons: Vec<String>,
}

impl TimelinePolicy {
    /// The latest disclosure moment the policy allows for `case`: the
    /// maximum embargo from the report, longer for low severity.
    pub fn latest(&self, case: &crate::Case) -> Timestamp {
        let low = matches!(
            case.severity(),
            Some(crate::cvss::Severity::Low | crate::cvss::Severity::None)
        );
        let days = self.max_embargo_days + if low { self.low_extension_days } else { 0 };
        case.received_at
            .saturating_add(jiff::SignedDuration::from_hours(i64::from(days) * 24))
            .unwrap_or(case.received_at)
    }

    /// Proposes a moment for `case` at `now`: the lead time for its
    /// severity, plus time for each further supported series (`series`
    /// patch releases) and each further project, then the next slot; never
    /// past the policy's latest moment (the last slot before it instead).
    pub fn propose(
        &self,
        case: &crate::Case,
        series: usize,
        now: Timestamp,
    ) -> Result<Proposal, NoSlot> {
        let severity = case.severity();
        let lead = self.lead_days.get(severity);
        let extra_series = u32::try_from(series.saturating_sub(1)).unwrap_or(u32::MAX);
        let extra_projects =
            u32::try_from(case.named_projects().len().saturating_sub(1)).unwrap_or(u32::MAX);
        let mut reasons = vec![format!(
            "{lead} days to fix and release at {} severity",
            severity.map_or("unscored (medium)", |s| s.name())
        )];
        if extra_series > 0 {
            reasons.push(format!(
                "{} days for {extra_series} more supported series",
                extra_series * self.per_series_days
            ));
        }
        if extra_projects > 0 {
            reasons.push(format!(
                "{} days to coordinate {extra_projects} more projects",
                extra_projects * self.per_project_days
            ));
        }
        let days = lead
            .saturating_add(extra_series.saturating_mul(self.per_series_days))
            .saturating_add(extra_projects.saturating_mul(self.per_project_days));
        let after = now
            .saturating_add(jiff::SignedDuration::from_hours(i64::from(days) * 24))
            .unwrap_or(now);
        let latest = self.latest(case);
        let mut slot = self.rule.next_slot(after)?;
        if slot > latest {
            // The last slot on or before the latest moment, if still ahead.
            let mut day = latest
                .saturating_sub(jiff::SignedDuration::from_hours(24 * 8))
                .unwrap_or(latest);
            let mut best = None;
            while let Ok(next) = self.rule.next_slot(day) {
                if next > latest {
                    break;
                }
                best = Some(next);
                day = next;
            }
            if let Some(b) = best.filter(|b| *b > now) {
                reasons.push(format!(
                    "brought forward to the policy's maximum embargo ({latest})"
                ));
                slot = b;
            }
        }
        reasons
            .push("the next 16:00 UTC slot on a Monday to Thursday that is not a holiday".into());
        Ok(Proposal {
            disclose_at: slot,
            latest,
            reasons,
        })
    }
}

/// `t` in each of `zones` (IANA names; UTC first), as `YYYY-MM-DD HH:MM ZONE`.
/// An unknown zone is shown as such rather than dropped.
pub fn in_zones(t: Timestamp, zones: &[String]) -> Vec<(String, String)> {
    let mut out = vec![(
        "UTC".to_owned(),
        t.to_zoned_datetime(TimeZone::UTC)
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
    )];
    for z in zones {
        let shown = match TimeZone::get(z) {
            Ok(tz) => t
                .to_zoned_datetime(tz)
                .strftime("%Y-%m-%d %H:%M %Z (%:z)")
                .to_string(),
            Err(_) => "unknown time zone".to_owned(),
        };
        out.push((z.clone(), shown));
    }
    out
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
