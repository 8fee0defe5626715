//! `embargo_notice`: a distributor told of the coming disclosure, encrypted
//! to their key, a set number of days before the moment (and at once when
//! the moment moves after they were told). Sent only if the moment still
//! holds when the job runs; records `embargo_notice_sent`.

use serde::{Deserialize, Serialize};

use super::Job;

/// Tell `distributor` of `project` that `case_id` is disclosed at
/// `disclose_at`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmbargoNotice {
    /// The case.
    pub case_id: String,
    /// The project whose distributor it is.
    pub project: String,
    /// The distributor's name in the configuration.
    pub distributor: String,
    /// The moment (RFC 3339).
    pub disclose_at: String,
    /// They were told of an earlier moment.
    #[serde(default)]
    pub revised: bool,
    /// The embargo was lifted early: tell them it is over.
    #[serde(default)]
    pub lifted: bool,
}

impl Job for EmbargoNotice {
    const KIND: &'static str = "embargo_notice";
    fn key(&self) -> String {
        if self.lifted {
            return format!(
                "embargo-lifted:{}:{}:{}",
                self.case_id, self.project, self.distributor
            );
        }
        let unix = self
            .disclose_at
            .parse::<jiff::Timestamp>()
            .map_or(0, |t| t.as_second());
        format!(
            "embargo-notice:{}:{}:{}:{unix}",
            self.case_id, self.project, self.distributor
        )
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
