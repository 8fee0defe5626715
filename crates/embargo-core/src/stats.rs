//! Figures for the dashboard and the compliance report, as pure functions
//! of the cases and `now`. SPEC-11's primary goal is the total time users
//! are vulnerable; these measure it and the promises on the way.

use jiff::Timestamp;

use crate::{
    Case, CaseId, Handling,
    sla::{AckClock, AckStatus},
};

/// What the figures need of one case: its times, not its contents. The
/// store keeps one row of these per case (its read model), so that the
/// dashboard reads rows instead of folding the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    /// The case.
    pub case: CaseId,
    /// Its project.
    pub project: String,
    /// When the report arrived.
    pub received: Timestamp,
    /// When its acknowledgement is (or was) due under the policy in force.
    pub ack_due: Timestamp,
    /// When a report held for screening was answered from there.
    pub screened: Option<Timestamp>,
    /// When it was acknowledged.
    pub acknowledged: Option<Timestamp>,
    /// When it was triaged.
    pub triaged: Option<Timestamp>,
    /// When the fix was ready.
    pub fix_ready: Option<Timestamp>,
    /// When the fix was released.
    pub fix_released: Option<Timestamp>,
    /// When the advisory was published.
    pub published: Option<Timestamp>,
    /// The disclosure moment agreed with the reporter, if one is.
    pub agreed_until: Option<Timestamp>,
    /// Not rejected as invalid: an exposure to measure.
    pub valid: bool,
}

impl Figures {
    /// The figures of `case`, whose acknowledgement is due at `ack_due`.
    pub fn of(case: &Case, ack_due: Timestamp) -> Self {
        Self {
            case: case.id.clone(),
            project: case.report.project.clone(),
            received: case.received_at,
            ack_due,
            screened: case.screened_at,
            acknowledged: case.acknowledged_at,
            triaged: case.triaged_at,
            fix_ready: case.facts.fix_ready,
            fix_released: case.facts.fix_released,
            published: case.published_at,
            agreed_until: case.embargo.agreed_until(),
            valid: !matches!(case.handling, Handling::Invalid) && case.rejection.is_none(),
        }
    }

    /// The acknowledgement clock these figures describe.
    pub fn ack_clock(&self) -> AckClock {
        AckClock {
            received_at: self.received,
            due: self.ack_due,
            stopped_at: self.acknowledged,
        }
    }
}

/// How many reports, in a window, got their answer in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compliance {
    /// Reports whose acknowledgement is settled: answered, or past due.
    pub settled: u32,
    /// Of those, answered within the window.
    pub in_time: u32,
}

impl Compliance {
    /// The share in time, in whole percent; `None` with nothing settled.
    pub fn percent(&self) -> Option<u32> {
        (self.settled > 0).then(|| (self.in_time * 100 + self.settled / 2) / self.settled)
    }
}

/// Acknowledgement compliance over reports received in the last `days`
/// days, optionally for one project. A report still inside its window and
/// unanswered is not counted yet.
pub fn ack_compliance<'a>(
    cases: impl IntoIterator<Item = &'a Figures>,
    now: Timestamp,
    days: i64,
    project: Option<&str>,
) -> Compliance {
    let since = now.as_second().saturating_sub(days.saturating_mul(86_400));
    let mut c = Compliance::default();
    for case in cases {
        if case.received.as_second() < since || project.is_some_and(|p| case.project != p) {
            continue;
        }
        match case.ack_clock().status(now) {
            AckStatus::Running { .. } => {}
            AckStatus::Breached { .. } => c.settled += 1,
            AckStatus::Stopped { in_time, .. } => {
                c.settled += 1;
                c.in_time += u32::from(in_time);
            }
        }
    }
    c
}

/// A step of the process whose durations are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Report held for screening to its answer there.
    Screen,
    /// Report to acknowledgement.
    Acknowledge,
    /// Report to triage.
    Triage,
    /// Report to fix ready.
    Fix,
    /// Report to the advisory made public.
    Disclose,
}

impl Step {
    /// Every step, in process order.
    pub const ALL: [Step; 5] = [
        Step::Screen,
        Step::Acknowledge,
        Step::Triage,
        Step::Fix,
        Step::Disclose,
    ];

    /// The step named `name` ([`Step::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Screen => "screen",
            Step::Acknowledge => "acknowledge",
            Step::Triage => "triage",
            Step::Fix => "fix",
            Step::Disclose => "disclose",
        }
    }

    fn end(self, case: &Figures) -> Option<Timestamp> {
        match self {
            Step::Screen => case.screened,
            Step::Acknowledge => case.acknowledged,
            Step::Triage => case.triaged,
            Step::Fix => case.fix_ready,
            Step::Disclose => case.published,
        }
    }
}

/// Hours from report to the end of `step`, for every case that reached it.
pub fn durations<'a>(cases: impl IntoIterator<Item = &'a Figures>, step: Step) -> Vec<f64> {
    let mut out: Vec<f64> = cases
        .into_iter()
        .filter_map(|c| {
            step.end(c)
                .map(|end| (end.as_second() - c.received.as_second()) as f64 / 3600.0)
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// Durations below 48 hours are kept in 6-minute buckets, longer ones in
/// 0.1-day buckets, each centred on a value the dashboard prints
/// (`hours_text`: 0.1 h below two days, 0.1 d above): a figure read from
/// the aggregates prints as the exact one does.
const FINE_LIMIT: i64 = 48 * 3600;
const FINE_WIDTH: i64 = 360;
const COARSE_WIDTH: i64 = 8640;
/// How many fine buckets there are.
const FINE_BUCKETS: i64 = FINE_LIMIT / FINE_WIDTH;

/// The bucket of a duration of `secs` seconds (a negative one counts as 0):
/// the nearest printed value.
pub fn bucket(secs: i64) -> u32 {
    let secs = secs.max(0);
    let b = if secs < FINE_LIMIT - FINE_WIDTH / 2 {
        (secs + FINE_WIDTH / 2) / FINE_WIDTH
    } else {
        FINE_BUCKETS + (secs - FINE_LIMIT + COARSE_WIDTH / 2).div_euclid(COARSE_WIDTH)
    };
    u32::try_from(b).unwrap_or(u32::MAX)
}

/// The value of bucket `b`, in hours: what a histogram reports for the
/// durations in it.
pub fn bucket_hours(b: u32) -> f64 {
    let b = i64::from(b);
    let secs = if b < FINE_BUCKETS {
        b * FINE_WIDTH
    } else {
        FINE_LIMIT + (b - FINE_BUCKETS) * COARSE_WIDTH
    };
    secs as f64 / 3600.0
}

/// How many durations fell in each bucket: what the store keeps per step
/// and month of report, so that the dashboard's step figures cost the
/// number of months, not of reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Histogram(pub std::collections::BTreeMap<u32, u64>);

impl Histogram {
    /// Adds `delta` (may be negative) to bucket `b`; an emptied bucket goes.
    pub fn add(&mut self, b: u32, delta: i64) {
        let n = self.0.get(&b).copied().unwrap_or(0);
        let n = i64::try_from(n)
            .unwrap_or(i64::MAX)
            .saturating_add(delta)
            .max(0);
        if n == 0 {
            self.0.remove(&b);
        } else {
            self.0.insert(b, u64::try_from(n).unwrap_or(0));
        }
    }

    /// Adds every bucket of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (b, n) in &other.0 {
            self.add(*b, i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    /// Nothing counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bucket of the value at `rank` (0 is the smallest).
    fn at(&self, rank: u64) -> Option<u32> {
        let mut seen = 0u64;
        for (b, n) in &self.0 {
            seen += n;
            if seen > rank {
                return Some(*b);
            }
        }
        None
    }

    /// Count, median, 90th percentile and maximum, as [`summary`] gives
    /// them for the sorted values, each to its bucket's middle.
    pub fn summary(&self) -> Option<Summary> {
        let n: u64 = self.0.values().sum();
        let last = *self.0.keys().next_back()?;
        let hours = |rank: u64| self.at(rank).map(bucket_hours);
        let median = if n % 2 == 1 {
            hours(n / 2)?
        } else {
            (hours(n / 2 - 1)? + hours(n / 2)?) / 2.0
        };
        let rank = (n * 9).div_ceil(10).max(1);
        Some(Summary {
            count: usize::try_from(n).unwrap_or(usize::MAX),
            median,
            p90: hours(rank - 1)?,
            max: bucket_hours(last),
        })
    }
}

/// A calendar month (UTC) as a number: `year * 12 + month - 1`.
pub fn month_of(t: Timestamp) -> i64 {
    let d = t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    i64::from(d.year()) * 12 + i64::from(d.month()) - 1
}

/// The first instant of `month` ([`month_of`]).
pub fn month_start(month: i64) -> Timestamp {
    let year = i16::try_from(month.div_euclid(12)).unwrap_or(i16::MAX);
    let m = i8::try_from(month.rem_euclid(12) + 1).unwrap_or(1);
    jiff::civil::date(year.clamp(-9999, 9999), m, 1)
        .at(0, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map_or(Timestamp::UNIX_EPOCH, |z| z.timestamp())
}

/// A day (UTC) as a number: days since the epoch.
pub fn day_of(t: Timestamp) -> i64 {
    t.as_second().div_euclid(86_400)
}

/// What one case adds to the aggregates the store keeps: its
/// acknowledgement (in time or late, under the day and project of its
/// report) and the bucket of each step it reached (under the month of its
/// report). The writer takes the old case's tally away and adds the new
/// one's, in the transaction of the append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// The project, as the figures name it.
    pub project: String,
    /// The day of the report.
    pub day: i64,
    /// The month of the report.
    pub month: i64,
    /// Acknowledged: in time or not.
    pub acknowledged_in_time: Option<bool>,
    /// Each step reached, with the bucket of its duration.
    pub steps: Vec<(Step, u32)>,
}

impl Tally {
    /// The tally of `case`.
    pub fn of(case: &Figures) -> Self {
        Self {
            project: case.project.clone(),
            day: day_of(case.received),
            month: month_of(case.received),
            acknowledged_in_time: case.acknowledged.map(|at| at <= case.ack_due),
            steps: Step::ALL
                .iter()
                .filter_map(|step| {
                    step.end(case)
                        .map(|end| (*step, bucket(end.as_second() - case.received.as_second())))
                })
                .collect(),
        }
    }
}

/// Count, median, 90th percentile and maximum of sorted values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// How many.
    pub count: usize,
    /// The middle value (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The nearest-rank 90th percentile.
    pub p90: f64,
    /// The largest.
    pub max: f64,
}

/// Summarises sorted values; `None` when empty.
pub fn summary(sorted: &[f64]) -> Option<Summary> {
    let n = sorted.len();
    let last = *sorted.last()?;
    let median = if n % 2 == 1 {
        *sorted.get(n / 2)?
    } else {
        (sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0
    };
    // Nearest rank: the smallest value with at least 90 % at or below it.
    let rank = (n * 9).div_ceil(10).max(1);
    Some(Summary {
        count: n,
        median,
        p90: *sorted.get(rank - 1)?,
        max: last,
    })
}

/// The exposure window of one case: how long users were vulnerable while
/// the process ran (report to fix released), and until the world was told
/// (report to advisory public). Open ends run to `now`.
#[derive(Clone, Debug, PartialEq)]
pub struct Exposure {
    /// The case.
    pub case: String,
    /// Hours from report to the fix released (or to now).
    pub to_fix_hours: f64,
    /// Hours from report to the advisory public (or to now).
    pub to_public_hours: f64,
    /// Whether the fix is out.
    pub fixed: bool,
    /// Whether the advisory is public.
    pub public: bool,
}

/// Exposure windows for valid cases (not rejected), longest first.
pub fn exposure<'a>(cases: impl IntoIterator<Item = &'a Figures>, now: Timestamp) -> Vec<Exposure> {
    let hours =
        |from: Timestamp, to: Timestamp| (to.as_second() - from.as_second()) as f64 / 3600.0;
    let mut out: Vec<Exposure> = cases
        .into_iter()
        .filter(|c| c.valid)
        .map(|c| Exposure {
            case: c.case.to_string(),
            to_fix_hours: hours(c.received, c.fix_released.unwrap_or(now)),
            to_public_hours: hours(c.received, c.published.unwrap_or(now)),
            fixed: c.fix_released.is_some(),
            public: c.published.is_some(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.to_public_hours
            .total_cmp(&a.to_public_hours)
            .then(a.case.cmp(&b.case))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_by_hand() {
        assert_eq!(summary(&[]), None);
        let s = summary(&[1.0, 2.0, 3.0, 10.0]).unwrap_or_else(|| unreachable!());
        assert_eq!((s.count, s.median, s.p90, s.max), (4, 2.5, 10.0, 10.0));
        let s = summary(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
            .unwrap_or_else(|| unreachable!());
        assert_eq!((s.median, s.p90), (5.5, 9.0));
        assert_eq!(
            Compliance {
                settled: 3,
                in_time: 2
            }
            .percent(),
            Some(67)
        );
        assert_eq!(Compliance::default().percent(), None);
    }

    #[test]
    fn buckets_hold_the_shown_precision() {
        assert_eq!(
            (bucket(-5), bucket(0), bucket(179), bucket(180), bucket(539)),
            (0, 0, 0, 1, 1)
        );
        assert_eq!(bucket(FINE_LIMIT - 181), 479);
        assert_eq!(
            (bucket(FINE_LIMIT - 180), bucket(FINE_LIMIT + 4319)),
            (480, 480)
        );
        assert_eq!(bucket(FINE_LIMIT + 4320), 481);
        assert!((bucket_hours(161) - 16.1).abs() < 1e-9);
        assert!((bucket_hours(481) - 50.4).abs() < 1e-9);
        assert_eq!(
            month_of(
                "2026-01-31T23:59:59Z"
                    .parse()
                    .unwrap_or_else(|_| unreachable!())
            ),
            2026 * 12
        );
        assert_eq!(
            month_start(2026 * 12 + 11).to_string(),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            month_start(month_of(month_start(2025 * 12 + 1))),
            month_start(2025 * 12 + 1)
        );
    }

    proptest::proptest! {
        /// A histogram's summary is the exact one to within a bucket: half
        /// a bucket's width for each figure (the median of an even count
        /// averages two, each within half a width).
        #[test]
        fn histogram_summary_is_the_exact_one_to_a_bucket(
            secs in proptest::collection::vec(0i64..400 * 86_400, 1..200),
        ) {
            let mut h = Histogram::default();
            for s in &secs {
                h.add(bucket(*s), 1);
            }
            let mut hours: Vec<f64> = secs.iter().map(|s| *s as f64 / 3600.0).collect();
            hours.sort_by(f64::total_cmp);
            let exact = summary(&hours).unwrap_or_else(|| unreachable!());
            let got = h.summary().unwrap_or_else(|| unreachable!());
            let width = |v: f64| if v < 48.0 { 0.1 } else { 2.4 };
            proptest::prop_assert_eq!(got.count, exact.count);
            for (g, e) in [(got.median, exact.median), (got.p90, exact.p90), (got.max, exact.max)] {
                proptest::prop_assert!((g - e).abs() <= width(e.max(g)) / 2.0 + 1e-9, "{g} against {e}");
            }
            // Taking every value away again leaves nothing.
            for s in &secs {
                h.add(bucket(*s), -1);
            }
            proptest::prop_assert!(h.is_empty());
        }
    }
}

/// One line of the SPEC-11 compliance report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What SPEC-11 asks.
    pub name: &'static str,
    /// Kept (`Some(true)`), broken (`Some(false)`), or nothing to judge yet.
    pub kept: Option<bool>,
    /// The figures behind it, and the cases that break it.
    pub detail: String,
}

/// The SPEC-11 compliance report over the figures of `cases` (one
/// project's, or all, over the period the caller chose) and the channels
/// that serve them (`(name, healthy)`).
pub fn spec11_checks(cases: &[Figures], channels: &[(String, bool)], now: Timestamp) -> Vec<Check> {
    let healthy = channels.iter().filter(|(_, h)| *h).count();
    let unhealthy: Vec<&str> = channels
        .iter()
        .filter(|(_, h)| !*h)
        .map(|(n, _)| n.as_str())
        .collect();
    let channels_check = Check {
        name: "reporting channels are inventoried and watched",
        kept: Some(!channels.is_empty() && unhealthy.is_empty()),
        detail: if channels.is_empty() {
            "no channel is listed".into()
        } else if unhealthy.is_empty() {
            format!("{} channel(s), all healthy", channels.len())
        } else {
            format!(
                "{healthy} of {} healthy; needs attention: {}",
                channels.len(),
                unhealthy.join(", ")
            )
        },
    };
    let all_time = ack_compliance(cases, now, i64::MAX / 86_400_000, None);
    let late: Vec<String> = cases
        .iter()
        .filter(|c| match c.ack_clock().status(now) {
            AckStatus::Breached { .. } => true,
            AckStatus::Stopped { in_time, .. } => !in_time,
            AckStatus::Running { .. } => false,
        })
        .map(|c| c.case.to_string())
        .collect();
    let ack_check = Check {
        name: "every report is acknowledged within 24 hours",
        kept: (all_time.settled > 0).then_some(all_time.in_time == all_time.settled),
        detail: match all_time.percent() {
            None => "no report settled yet".into(),
            Some(p) if late.is_empty() => format!("{p}% of {} in time", all_time.settled),
            Some(p) => format!(
                "{p}% of {} in time; late: {}",
                all_time.settled,
                late.join(", ")
            ),
        },
    };
    let overdue: Vec<String> = cases
        .iter()
        .filter(|c| c.published.is_none() && c.agreed_until.is_some_and(|u| u < now))
        .map(|c| c.case.to_string())
        .collect();
    let agreed = cases
        .iter()
        .filter(|c| c.agreed_until.is_some() || c.published.is_some())
        .count();
    let timeline_check = Check {
        name: "agreed disclosure dates are met",
        kept: (agreed > 0).then_some(overdue.is_empty()),
        detail: if agreed == 0 {
            "no timeline agreed yet".into()
        } else if overdue.is_empty() {
            format!("{agreed} case(s) with a timeline, none past its date undisclosed")
        } else {
            format!(
                "past the agreed date and not disclosed: {}",
                overdue.join(", ")
            )
        },
    };
    let shipped: Vec<&Figures> = cases.iter().filter(|c| c.fix_released.is_some()).collect();
    let silent: Vec<String> = shipped
        .iter()
        .filter(|c| c.published.is_none())
        .map(|c| c.case.to_string())
        .collect();
    let advisory_check = Check {
        name: "every shipped fix has a published advisory",
        kept: (!shipped.is_empty()).then_some(silent.is_empty()),
        detail: if shipped.is_empty() {
            "no fix shipped yet".into()
        } else if silent.is_empty() {
            format!("{} shipped fix(es), all with an advisory", shipped.len())
        } else {
            format!("fix shipped, advisory still private: {}", silent.join(", "))
        },
    };
    let retro_check = Check {
        name: "a retrospective is written for every disclosed case",
        kept: None,
        detail:
            "not recorded yet: retrospectives are drafted on demand and not yet kept with the case"
                .into(),
    };
    vec![
        channels_check,
        ack_check,
        timeline_check,
        advisory_check,
        retro_check,
    ]
}
