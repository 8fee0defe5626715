//! The one clock. Everything else receives `now` from here.

use jiff::Timestamp;

/// The server's clock: the system time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock;

impl Clock {
    /// The current moment.
    #[expect(
        clippy::disallowed_methods,
        reason = "this is the one place that reads the system time"
    )]
    pub fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
