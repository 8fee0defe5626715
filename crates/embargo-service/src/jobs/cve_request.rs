//! `cve_request`: obtain a CVE for a case's request, from CVE Services
//! (reserve an id) or GitHub (ask for one on the repository advisory, then
//! `cve_github_poll`). Records `cve_assigned`, or `cve_failed` with the
//! reason in words for a refusal (an exhausted quota); a 5xx or a network
//! error fails the attempt and it is retried.

use serde::{Deserialize, Serialize};

use super::Job;

/// Obtain a CVE for request number `request` of `case_id`, through `via`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CveRequest {
    /// The case.
    pub case_id: String,
    /// `cve_services` or `github`.
    pub via: String,
    /// Which of the case's requests (one job each).
    #[serde(default)]
    pub request: usize,
}

impl Job for CveRequest {
    const KIND: &'static str = "cve_request";
    fn key(&self) -> String {
        format!("cve-request:{}:{}", self.case_id, self.request)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
