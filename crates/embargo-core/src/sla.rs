//! The acknowledgement promise: every report answered within a window
//! (SPEC-11: 24 hours), measured from the moment it was received.

use jiff::{SignedDuration, Timestamp};

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

/// The notices an unanswered report's clock has made due by `now`:
/// a warning at each of `warn_at` percent of the window, and an escalation
/// once the deadline has passed (strictly after it). An answered report
/// has none. Pure: the scheduler calls it with the time and enqueues what
/// it returns, each key once.
pub fn due_notices(case_id: &str, clock: &AckClock, warn_at: &[u8], now: Timestamp) -> Vec<Notice> {
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
                key: format!("ack-warning-{percent}:{case_id}"),
                kind: NoticeKind::Warning { percent },
                due_at,
            });
        }
    }
    if now > clock.due {
        out.push(Notice {
            key: format!("ack-escalation:{case_id}"),
            kind: NoticeKind::Escalation,
            due_at: clock.due,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_at_their_points_and_escalation_just_after_the_deadline() {
        let t0: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let h = SignedDuration::from_hours;
        let clock = AckClock::start(t0, AckPolicy::default(), None);
        let keys = |now| {
            due_notices("EMB-2026-000001", &clock, &[50, 90], now)
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
        assert!(due_notices("x", &answered, &[50, 90], t0 + h(30)).is_empty());
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
