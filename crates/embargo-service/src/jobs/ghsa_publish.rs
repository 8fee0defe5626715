//! `ghsa_publish`: after publication, the GitHub repository advisory linked
//! to the case is published on GitHub.

use serde::{Deserialize, Serialize};

use super::Job;

/// Publish `case_id`'s GitHub advisory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GhsaPublish {
    /// The case.
    pub case_id: String,
}

impl Job for GhsaPublish {
    const KIND: &'static str = "ghsa_publish";
    fn key(&self) -> String {
        format!("ghsa-publish:{}", self.case_id)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
