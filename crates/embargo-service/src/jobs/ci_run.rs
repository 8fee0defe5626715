//! `ci_run` (the long lane): after a push to a built-in fork, the project's
//! test command on every branch or tag head not tested yet, each in a fresh
//! clone with a clean environment and a time limit; records `ci_reported`
//! per head.

use embargo_store::Lane;
use serde::{Deserialize, Serialize};

use super::Job;

/// Test the untested heads of `case_id`'s fork of `project`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CiRun {
    /// The case.
    pub case_id: String,
    /// The project whose fork was pushed to.
    pub project: String,
    /// One per push: random, so every push is a job.
    #[serde(default)]
    pub push: String,
}

impl Job for CiRun {
    const KIND: &'static str = "ci_run";
    const LANE: Lane = Lane::Long;
    fn key(&self) -> String {
        format!("ci:{}:{}:{}", self.case_id, self.project, self.push)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
