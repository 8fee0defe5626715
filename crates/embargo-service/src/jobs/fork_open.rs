//! `fork_open`: a private fork asked for on a case is made (a bare
//! repository cloned from the project's upstream here, or GitHub's
//! temporary private fork of the repository advisory) and recorded with
//! its URL (`fork_opened`, as `system:forks`). What cannot be made (no
//! upstream configured, GitHub refusing) is recorded as `fork_failed` with
//! the reason, and may be asked for again; a fault of ours, or an upstream
//! or GitHub that cannot be reached or answers 429 or 5xx, fails the
//! attempt, which is retried with backoff; at the last attempt an outage
//! is recorded as the reason. Nothing is made for a command that was
//! refused: the request is an event, and only a recorded request has a job.

use serde::{Deserialize, Serialize};

use super::Job;

/// Make the fork of `project` that `case_id` asked for at `version`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForkOpen {
    /// The case.
    pub case_id: String,
    /// The project to fork.
    pub project: String,
    /// `builtin` or `github`.
    pub host: String,
    /// The case's version with the request (one job per request).
    pub version: u64,
}

impl Job for ForkOpen {
    const KIND: &'static str = "fork_open";
    fn key(&self) -> String {
        format!(
            "fork-open:{}:{}:{}",
            self.case_id, self.project, self.version
        )
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
