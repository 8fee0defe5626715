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

#[cfg(test)]
mod tests {
    use super::*;

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
