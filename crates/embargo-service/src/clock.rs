//! The one clock. Everything else receives `now` from here.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use jiff::{SignedDuration, Timestamp};

/// The server's clock: the system time, or a clock that tests move by hand.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Set for a manual clock: the current time in milliseconds since the epoch.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that stands still at `start` until `advance` moves it. Only
    /// code linking this library can build one; configuration cannot.
    pub fn manual(start: Timestamp) -> Self {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(start.as_millisecond()))),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: SignedDuration) {
        if let Some(ms) = &self.manual {
            let delta = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            ms.fetch_add(delta, Ordering::SeqCst);
        }
    }

    /// The current moment.
    #[expect(
        clippy::disallowed_methods,
        reason = "this is the one place that reads the system time"
    )]
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            Some(ms) => Timestamp::from_millisecond(ms.load(Ordering::SeqCst))
                .unwrap_or(Timestamp::UNIX_EPOCH),
            None => Timestamp::now(),
        }
    }

    /// The current moment in unix seconds.
    pub fn unix(&self) -> i64 {
        self.now().as_second()
    }
}
