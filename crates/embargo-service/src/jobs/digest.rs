//! `digest`: a person's daily digest of the reports still waiting for their
//! answer (case ids and times; more only encrypted to their key).

use serde::{Deserialize, Serialize};

use super::Job;

/// The digest of `person` for `date`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Digest {
    /// Whom.
    pub person: String,
    /// The day (UTC), once each.
    pub date: String,
}

impl Job for Digest {
    const KIND: &'static str = "digest";
    fn key(&self) -> String {
        format!("digest:{}:{}", self.person, self.date)
    }
    fn case_id(&self) -> Option<&str> {
        None
    }
}
