//! `cve_github_poll`: read GitHub's repository advisory back until it names
//! the CVE GitHub assigned (retried with the outbox's backoff meanwhile);
//! records `cve_assigned`.

use serde::{Deserialize, Serialize};

use super::Job;

/// Read the CVE of `case_id`'s request number `request` back from GitHub.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CveGithubPoll {
    /// The case.
    pub case_id: String,
    /// Which of the case's requests.
    #[serde(default)]
    pub request: usize,
}

impl Job for CveGithubPoll {
    const KIND: &'static str = "cve_github_poll";
    fn key(&self) -> String {
        format!("cve-github-poll:{}:{}", self.case_id, self.request)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
