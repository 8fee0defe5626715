//! Reporting channels and their health, as pure functions of what was last
//! seen and the time now.
//!
//! SPEC-11 asks that every channel be inventoried and watched by automation.
//! An active channel (a mailbox embargo polls, a GitHub repository) is
//! healthy while its checks succeed on time and, where a canary is set, the
//! canary comes back; a passive one (the web form, a mail server's pipe)
//! reports when it last carried a message.

use jiff::Timestamp;

/// What is known of one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    /// Whether embargo checks it on a schedule (IMAP, GitHub) or only
    /// receives from it.
    pub active: bool,
    /// Seconds between checks (active channels).
    pub interval_seconds: i64,
    /// When it was added.
    pub created_at: Option<Timestamp>,
    /// The last check, whatever its outcome.
    pub last_check: Option<Timestamp>,
    /// The last check that succeeded.
    pub last_ok: Option<Timestamp>,
    /// The last check's error, if it failed.
    pub last_error: Option<String>,
    /// A canary message sent and not yet seen back.
    pub canary_pending_since: Option<Timestamp>,
    /// How long a canary may take to come back.
    pub canary_timeout_seconds: i64,
}

/// A channel's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Checked on time and working (or passive).
    Healthy,
    /// Its last check failed.
    Failing {
        /// The check's error.
        error: String,
    },
    /// Not checked within two intervals: the poller is not running or stuck.
    Late {
        /// Seconds since the last check (or since it was added).
        overdue_seconds: i64,
    },
    /// A canary went out and did not come back in time: mail is not reaching
    /// the watched mailbox.
    CanaryLost {
        /// Seconds since it was sent.
        waiting_seconds: i64,
    },
}

impl Health {
    /// Whether the SRT must be alerted.
    pub fn is_alert(&self) -> bool {
        !matches!(self, Health::Healthy)
    }

    /// Words for the inventory and the alert.
    pub fn describe(&self) -> String {
        match self {
            Health::Healthy => "healthy".into(),
            Health::Failing { error } => format!("failing: {error}"),
            Health::Late { overdue_seconds } => {
                format!("not checked for {overdue_seconds} s (the poller is not running?)")
            }
            Health::CanaryLost { waiting_seconds } => format!(
                "the canary sent {waiting_seconds} s ago has not come back: mail is not reaching this mailbox"
            ),
        }
    }
}

/// The health of a channel at `now`. A failed last check counts first, then
/// a late one, then a lost canary.
pub fn health(w: &Watch, now: Timestamp) -> Health {
    if !w.active {
        return Health::Healthy;
    }
    if let Some(error) = &w.last_error {
        return Health::Failing {
            error: error.clone(),
        };
    }
    let since = w.last_check.or(w.created_at);
    if let Some(since) = since {
        let elapsed = now.as_second() - since.as_second();
        if elapsed > 2 * w.interval_seconds.max(1) {
            return Health::Late {
                overdue_seconds: elapsed,
            };
        }
    }
    if let Some(sent) = w.canary_pending_since {
        let waiting = now.as_second() - sent.as_second();
        if waiting > w.canary_timeout_seconds.max(1) {
            return Health::CanaryLost {
                waiting_seconds: waiting,
            };
        }
    }
    Health::Healthy
}

/// Whether an active channel's next check is due at `now`.
pub fn check_due(w: &Watch, now: Timestamp) -> bool {
    w.active
        && w.last_check
            .is_none_or(|t| now.as_second() - t.as_second() >= w.interval_seconds.max(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn imap() -> Watch {
        Watch {
            active: true,
            interval_seconds: 60,
            created_at: Some(at("2026-03-02T09:00:00Z")),
            canary_timeout_seconds: 600,
            ..Watch::default()
        }
    }

    #[test]
    fn a_channel_is_late_after_two_intervals_without_a_check() {
        let mut w = imap();
        assert_eq!(health(&w, at("2026-03-02T09:02:00Z")), Health::Healthy);
        assert_eq!(
            health(&w, at("2026-03-02T09:02:01Z")),
            Health::Late {
                overdue_seconds: 121
            }
        );
        w.last_check = Some(at("2026-03-02T09:02:00Z"));
        w.last_ok = w.last_check;
        assert_eq!(health(&w, at("2026-03-02T09:03:00Z")), Health::Healthy);
        assert!(check_due(&w, at("2026-03-02T09:03:00Z")));
        assert!(!check_due(&w, at("2026-03-02T09:02:59Z")));
    }

    #[test]
    fn a_failed_check_and_a_lost_canary_raise_alerts() {
        let mut w = imap();
        w.last_check = Some(at("2026-03-02T09:01:00Z"));
        w.last_error = Some("connection refused".into());
        let h = health(&w, at("2026-03-02T09:01:30Z"));
        assert!(h.is_alert());
        assert_eq!(h.describe(), "failing: connection refused");
        w.last_error = None;
        w.canary_pending_since = Some(at("2026-03-02T09:00:30Z"));
        assert_eq!(health(&w, at("2026-03-02T09:01:30Z")), Health::Healthy);
        w.last_check = Some(at("2026-03-02T09:10:00Z"));
        assert_eq!(
            health(&w, at("2026-03-02T09:10:31Z")),
            Health::CanaryLost {
                waiting_seconds: 601
            }
        );
        // Passive channels are never late.
        let passive = Watch::default();
        assert_eq!(
            health(&passive, at("2030-01-01T00:00:00Z")),
            Health::Healthy
        );
        assert!(!check_due(&passive, at("2030-01-01T00:00:00Z")));
    }
}
