//! What `/healthz` and `/readyz` say: the store takes a write, and each
//! background loop (the scheduler with the main lane's jobs, the long lane,
//! the channel poller) has finished a pass recently. Each loop beats at
//! the start and the end of every pass (each second when idle), on the
//! process's monotonic clock, not the server's (which tests drive).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::AppState;

/// A background loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    /// Timers and the main lane's jobs (mail, notices, webhooks).
    Scheduler,
    /// Long jobs (CI runs on built-in forks).
    LongLane,
    /// The channel poller (IMAP mailboxes, GitHub advisories).
    Poller,
}

impl Loop {
    const ALL: [Loop; 3] = [Loop::Scheduler, Loop::LongLane, Loop::Poller];

    fn name(self) -> &'static str {
        match self {
            Loop::Scheduler => "scheduler",
            Loop::LongLane => "long_lane",
            Loop::Poller => "poller",
        }
    }

    fn index(self) -> usize {
        match self {
            Loop::Scheduler => 0,
            Loop::LongLane => 1,
            Loop::Poller => 2,
        }
    }
}

/// The loops' heartbeats, and whether the server is stopping.
#[derive(Debug)]
pub struct Beats {
    started: Instant,
    /// Milliseconds after `started` of each loop's last beat; 0: none yet.
    last: [AtomicU64; 3],
    draining: AtomicBool,
}

impl Default for Beats {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            last: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
            draining: AtomicBool::new(false),
        }
    }
}

impl Beats {
    /// `which` is alive now.
    pub fn beat(&self, which: Loop) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(slot) = self.last.get(which.index()) {
            slot.store(ms.max(1), Ordering::Relaxed);
        }
    }

    /// The server stops taking work: not ready any more.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    fn since(&self, which: Loop) -> Option<Duration> {
        let last = self.last.get(which.index())?.load(Ordering::Relaxed);
        (last > 0).then(|| {
            self.started
                .elapsed()
                .saturating_sub(Duration::from_millis(last))
        })
    }
}

/// One loop's state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoopHealth {
    /// `scheduler`, `long_lane`, `poller`.
    pub name: &'static str,
    /// `ok`, `starting` (no pass yet, within its limit) or `stalled`.
    pub status: &'static str,
    /// Seconds since its last beat (none yet: since the start).
    pub seconds_since_beat: u64,
    /// How long a pass may take before it counts as stalled.
    pub limit_seconds: u64,
}

/// What `/healthz` and `/readyz` answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    /// `ok` or `failing`.
    pub status: &'static str,
    /// `ok`, or why a write fails.
    pub store: String,
    /// The background loops.
    pub loops: Vec<LoopHealth>,
    /// Whether it takes traffic: healthy, every loop has run, not stopping.
    pub ready: bool,
    /// Why not, if not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
}

/// Checks the store (a one-row write) and the loops.
pub async fn check(state: &AppState) -> Health {
    let store = match state.store.health().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    let stall = u64::from(state.config.server.stall_seconds);
    let up = state.beats.started.elapsed();
    let loops: Vec<LoopHealth> = Loop::ALL
        .into_iter()
        .map(|which| {
            let limit = match which {
                Loop::LongLane => stall + u64::from(state.config.release.ci_timeout_seconds),
                Loop::Scheduler | Loop::Poller => stall,
            };
            let (since, status) = match state.beats.since(which) {
                Some(since) if since.as_secs() > limit => (since, "stalled"),
                Some(since) => (since, "ok"),
                None if up.as_secs() > limit => (up, "stalled"),
                None => (up, "starting"),
            };
            LoopHealth {
                name: which.name(),
                status,
                seconds_since_beat: since.as_secs(),
                limit_seconds: limit,
            }
        })
        .collect();
    let healthy = store == "ok" && loops.iter().all(|l| l.status != "stalled");
    let not_ready = if !healthy {
        Some("not healthy".to_owned())
    } else if state.beats.draining.load(Ordering::Relaxed) {
        Some("stopping".to_owned())
    } else {
        loops
            .iter()
            .find(|l| l.status == "starting")
            .map(|l| format!("the {} has not run yet", l.name.replace('_', " ")))
    };
    Health {
        status: if healthy { "ok" } else { "failing" },
        store,
        loops,
        ready: not_ready.is_none(),
        not_ready,
    }
}
