//! The acknowledgement promise: every report answered within a window
//! (SPEC-11: 24 hours), measured from the moment it was received.

use jiff::{SignedDuration, Timestamp};

use crate::cvss::Severity;

/// How long the team has to acknowledge a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckPolicy {
    /// The window; 24 hours unless configured otherwise.
    pub within: SignedDuration,
}

impl Default for AckPolicy {
    fn default() -> Self {
        Self {
            within: SignedDuration::from_hours(24),
        }
    }
}

/// Where a case's acknowledgement clock stands at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckStatus {
    /// Not yet answered; `remaining` until the deadline.
    Running {
        /// Time left.
        remaining: SignedDuration,
    },
    /// Not answered and past the deadline by `overdue`.
    Breached {
        /// Time past the deadline.
        overdue: SignedDuration,
    },
    /// Answered after `took`; `in_time` says whether within the window.
    Stopped {
        /// From receipt to answer.
        took: SignedDuration,
        /// Whether the promise was kept.
        in_time: bool,
    },
}

/// The clock of one report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckClock {
    /// When the report arrived.
    pub received_at: Timestamp,
    /// When the answer is due.
    pub due: Timestamp,
    /// When the clock stopped (acknowledged or rejected), if it has.
    pub stopped_at: Option<Timestamp>,
}

impl AckClock {
    /// Starts the clock at `received_at` under `policy`.
    pub fn start(received_at: Timestamp, policy: AckPolicy, stopped_at: Option<Timestamp>) -> Self {
        let due = received_at
            .saturating_add(policy.within)
            .unwrap_or(Timestamp::MAX);
        Self {
            received_at,
            due,
            stopped_at,
        }
    }

    /// The clock's status at `now`.
    pub fn status(&self, now: Timestamp) -> AckStatus {
        match self.stopped_at {
            Some(at) => AckStatus::Stopped {
                took: at.duration_since(self.received_at),
                in_time: at <= self.due,
            },
            None if now <= self.due => AckStatus::Running {
                remaining: self.due.duration_since(now),
            },
            None => AckStatus::Breached {
                overdue: now.duration_since(self.due),
            },
        }
    }
}

/// A reminder or escalation the clock calls for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Stable across runs: the scheduler enqueues each key once.
    pub key: String,
    /// Warning or escalation.
    pub kind: NoticeKind,
    /// When it became due.
    pub due_at: Timestamp,
}

/// What a notice says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// This share (percent) of the acknowledgement window has passed.
    Warning {
        /// Percent of the window.
        percent: u8,
    },
    /// The window passed without an answer.
    Escalation,
}

/// The notices a running clock has made due by `now`: a warning at each
/// of `warn_at` percent of the window, and an escalation once the deadline
/// has passed (strictly after it). A stopped clock has none. Pure: the scheduler calls it with the time and enqueues what
/// it returns, each key once.
pub fn due_notices(
    kind: ClockKind,
    case_id: &str,
    clock: &AckClock,
    warn_at: &[u8],
    now: Timestamp,
) -> Vec<Notice> {
    let name = kind.name();
    if clock.stopped_at.is_some() {
        return Vec::new();
    }
    let window = clock.due.duration_since(clock.received_at);
    let mut out = Vec::new();
    for &percent in warn_at {
        if percent == 0 || percent >= 100 {
            continue;
        }
        let offset = window.as_secs() * i64::from(percent) / 100;
        let due_at = clock
            .received_at
            .saturating_add(SignedDuration::from_secs(offset))
            .unwrap_or(Timestamp::MAX);
        if now >= due_at {
            out.push(Notice {
                key: format!("{name}-warning-{percent}:{case_id}"),
                kind: NoticeKind::Warning { percent },
                due_at,
            });
        }
    }
    if now > clock.due {
        out.push(Notice {
            key: format!("{name}-escalation:{case_id}"),
            kind: NoticeKind::Escalation,
            due_at: clock.due,
        });
    }
    out
}

/// A window in days per severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BySeverity {
    /// Critical.
    pub critical: u32,
    /// High.
    pub high: u32,
    /// Medium (also used for a case not yet scored).
    pub medium: u32,
    /// Low (and None).
    pub low: u32,
}

impl BySeverity {
    /// The window for `severity` (unscored cases count as medium).
    pub fn get(&self, severity: Option<Severity>) -> u32 {
        match severity {
            Some(Severity::Critical) => self.critical,
            Some(Severity::High) => self.high,
            Some(Severity::Low | Severity::None) => self.low,
            Some(Severity::Medium) | None => self.medium,
        }
    }
}

/// The whole service-level policy for one project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The acknowledgement window (hours, always calendar time).
    pub ack: AckPolicy,
    /// Days from acknowledgement to triage.
    pub triage_days: u32,
    /// Days from triage to a fix ready, by severity.
    pub fix_days: BySeverity,
    /// Days from the report to disclosure, by severity.
    pub disclose_days: BySeverity,
    /// Count only Monday to Friday that are not holidays.
    pub business_days: bool,
    /// Days that do not count when `business_days` is set.
    pub holidays: std::collections::BTreeSet<jiff::civil::Date>,
    /// Warnings at these shares (percent) of each window.
    pub warn_at: Vec<u8>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            ack: AckPolicy::default(),
            triage_days: 7,
            fix_days: BySeverity {
                critical: 7,
                high: 30,
                medium: 60,
                low: 90,
            },
            disclose_days: BySeverity {
                critical: 14,
                high: 45,
                medium: 90,
                low: 120,
            },
            business_days: false,
            holidays: std::collections::BTreeSet::new(),
            warn_at: vec![50, 90],
        }
    }
}

/// `start` plus `days`: calendar days, or business days (Monday to Friday,
/// holidays skipped; the time of day is kept, in UTC).
pub fn add_days(
    start: Timestamp,
    days: u32,
    business: bool,
    holidays: &std::collections::BTreeSet<jiff::civil::Date>,
) -> Timestamp {
    if !business {
        return start
            .saturating_add(SignedDuration::from_hours(24 * i64::from(days)))
            .unwrap_or(Timestamp::MAX);
    }
    let mut at = start.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let mut left = days;
    // Bounded: a year of holidays cannot stall it past a few years.
    for _ in 0..(days as usize * 3 + 3660) {
        if left == 0 {
            break;
        }
        at = match at.tomorrow() {
            Ok(t) => t,
            Err(_) => return Timestamp::MAX,
        };
        let weekend = matches!(
            at.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        if !weekend && !holidays.contains(&at.date()) {
            left -= 1;
        }
    }
    at.timestamp()
}

/// Which promise a clock measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// Report to acknowledgement.
    Acknowledge,
    /// Acknowledgement to triage.
    Triage,
    /// Triage to a fix ready.
    Fix,
    /// Report to disclosure.
    Disclose,
}

impl ClockKind {
    /// Its name, as in notice keys.
    pub fn name(self) -> &'static str {
        match self {
            ClockKind::Acknowledge => "ack",
            ClockKind::Triage => "triage",
            ClockKind::Fix => "fix",
            ClockKind::Disclose => "disclose",
        }
    }

    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            ClockKind::Acknowledge => "acknowledgement",
            ClockKind::Triage => "triage",
            ClockKind::Fix => "fix",
            ClockKind::Disclose => "disclosure",
        }
    }
}

/// One running or stopped promise of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// Which promise.
    pub kind: ClockKind,
    /// The clock, from its start to when it is due.
    pub clock: AckClock,
}

/// Every promise a case is under, by `policy`: acknowledgement from the
/// report; triage from the acknowledgement; a fix from triage, by severity;
/// disclosure from the report, by severity. Clocks stop when the step is
/// done; a rejected, deferred or closed case has none running.
pub fn deadlines(case: &crate::Case, policy: &Policy) -> Vec<Deadline> {
    use crate::Handling as H;
    let mut out = vec![Deadline {
        kind: ClockKind::Acknowledge,
        clock: case.ack_clock(policy.ack),
    }];
    if matches!(case.handling, H::Invalid | H::Deferred) {
        return out;
    }
    let severity = case.severity();
    let closed_at = case.closed_at;
    let clock = |start: Timestamp, days: u32, stopped: Option<Timestamp>| AckClock {
        received_at: start,
        due: add_days(start, days, policy.business_days, &policy.holidays),
        stopped_at: stopped.or(closed_at),
    };
    if let Some(ack) = case.acknowledged_at {
        out.push(Deadline {
            kind: ClockKind::Triage,
            clock: clock(ack, policy.triage_days, case.triaged_at),
        });
    }
    if let Some(triaged) = case.triaged_at.filter(|_| case.rejection.is_none()) {
        out.push(Deadline {
            kind: ClockKind::Fix,
            clock: clock(triaged, policy.fix_days.get(severity), case.facts.fix_ready),
        });
        out.push(Deadline {
            kind: ClockKind::Disclose,
            clock: clock(
                case.received_at,
                policy.disclose_days.get(severity),
                case.published_at,
            ),
        });
    }
    out
}

/// The notices every clock of a case has made due by `now`, keyed
/// `CLOCK-warning-N:ID` and `CLOCK-escalation:ID` (`ack`, `triage`, `fix`,
/// `disclose`).
pub fn case_notices(
    case: &crate::Case,
    policy: &Policy,
    now: Timestamp,
) -> Vec<(ClockKind, Notice)> {
    deadlines(case, policy)
        .into_iter()
        .flat_map(|d| {
            due_notices(d.kind, case.id.as_str(), &d.clock, &policy.warn_at, now)
                .into_iter()
                .map(move |n| (d.kind, n))
        })
        .collect()
}

/// The first instant after `after` at which a clock of the case makes a
/// notice due (a warning point, or just past a deadline): when the
/// scheduler next needs to look at the case for its clocks. `None` when
/// every clock has stopped.
pub fn next_notice_at(case: &crate::Case, policy: &Policy, after: Timestamp) -> Option<Timestamp> {
    if case.handling == crate::Handling::Closed {
        return None;
    }
    deadlines(case, policy)
        .into_iter()
        .filter(|d| d.clock.stopped_at.is_none())
        .flat_map(|d| {
            let window = d.clock.due.duration_since(d.clock.received_at);
            let warnings = policy
                .warn_at
                .iter()
                .filter(|&&p| p > 0 && p < 100)
                .map(move |&p| {
                    d.clock
                        .received_at
                        .saturating_add(SignedDuration::from_secs(
                            window.as_secs() * i64::from(p) / 100,
                        ))
                        .unwrap_or(Timestamp::MAX)
                })
                .collect::<Vec<_>>();
            // An escalation is due strictly after the deadline.
            let escalation = d
                .clock
                .due
                .saturating_add(SignedDuration::from_secs(1))
                .unwrap_or(Timestamp::MAX);
            warnings.into_iter().chain([escalation])
        })
        .filter(|t| *t > after)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let fri: Timestamp = "2026-03-06T16:00:00Z".parse().unwrap();
        let none = std::collections::BTreeSet::new();
        assert_eq!(
            add_days(fri, 1, true, &none),
            "2026-03-09T16:00:00Z".parse().unwrap()
        );
        assert_eq!(
            add_days(fri, 5, true, &none),
            "2026-03-13T16:00:00Z".parse().unwrap()
        );
        let holidays: std::collections::BTreeSet<jiff::civil::Date> =
            ["2026-03-09".parse().unwrap()].into_iter().collect();
        assert_eq!(
            add_days(fri, 1, true, &holidays),
            "2026-03-10T16:00:00Z".parse().unwrap()
        );
        assert_eq!(
            add_days(fri, 2, false, &holidays),
            "2026-03-08T16:00:00Z".parse().unwrap()
        );
    }

    #[test]
    fn the_next_notice_is_the_first_point_a_scan_would_find_due() {
        let t0: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let report = crate::event::Report {
            project: "numpy".into(),
            title: "overflow".into(),
            body: "steps".into(),
            reporter_name: None,
            reporter_email: None,
            channel: crate::event::Channel::Web,
            intake: Default::default(),
        };
        let intake = crate::PersonId::new("intake").unwrap();
        let log = crate::decide_new(report, &intake, t0).unwrap();
        let case = crate::Case::from_events(crate::CaseId::from_parts(2026, 3), &log).unwrap();
        let policy = Policy::default();
        // Walking from the report, each instant `next_notice_at` names is
        // the first one at which `case_notices` finds one more notice due.
        let mut at = t0;
        let mut seen = 0;
        while let Some(next) = next_notice_at(&case, &policy, at) {
            let before = case_notices(&case, &policy, next - SignedDuration::from_secs(1)).len();
            let now = case_notices(&case, &policy, next).len();
            assert_eq!(before, seen, "nothing new before {next}");
            assert!(now > before, "something new at {next}");
            seen = now;
            at = next;
        }
        assert_eq!(seen, case_notices(&case, &policy, Timestamp::MAX).len());
        assert!(seen >= 3, "two warnings and the escalation");
    }

    #[test]
    fn warnings_at_their_points_and_escalation_just_after_the_deadline() {
        let t0: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let h = SignedDuration::from_hours;
        let clock = AckClock::start(t0, AckPolicy::default(), None);
        let keys = |now| {
            due_notices(
                ClockKind::Acknowledge,
                "EMB-2026-000001",
                &clock,
                &[50, 90],
                now,
            )
            .into_iter()
            .map(|n| n.key)
            .collect::<Vec<_>>()
        };
        assert!(keys(t0 + h(12) - SignedDuration::from_secs(1)).is_empty());
        assert_eq!(keys(t0 + h(12)), ["ack-warning-50:EMB-2026-000001"]);
        assert_eq!(
            keys(t0 + SignedDuration::from_mins(1296)).len(),
            2,
            "90 % is 21:36"
        );
        assert_eq!(keys(t0 + h(24)).len(), 2, "not yet at the deadline itself");
        assert_eq!(
            keys(t0 + h(24) + SignedDuration::from_secs(1))
                .last()
                .map(String::as_str),
            Some("ack-escalation:EMB-2026-000001")
        );
        let answered = AckClock::start(t0, AckPolicy::default(), Some(t0 + h(1)));
        assert!(
            due_notices(
                ClockKind::Acknowledge,
                "x",
                &answered,
                &[50, 90],
                t0 + h(30)
            )
            .is_empty()
        );
    }

    #[test]
    fn clock_runs_breaches_and_stops() {
        let t0: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let h = SignedDuration::from_hours;
        let clock = AckClock::start(t0, AckPolicy::default(), None);
        assert_eq!(clock.due, "2026-03-03T10:00:00Z".parse().unwrap());
        assert_eq!(
            clock.status(t0 + h(23)),
            AckStatus::Running { remaining: h(1) }
        );
        assert_eq!(
            clock.status(t0 + h(24)),
            AckStatus::Running { remaining: h(0) }
        );
        assert_eq!(
            clock.status(t0 + h(26)),
            AckStatus::Breached { overdue: h(2) }
        );
        let answered = AckClock::start(t0, AckPolicy::default(), Some(t0 + h(30)));
        assert_eq!(
            answered.status(t0 + h(40)),
            AckStatus::Stopped {
                took: h(30),
                in_time: false
            }
        );
    }
}
