//! `cve_publish`: at disclosure, the record of a CVE reserved from CVE
//! Services is published from the public advisory (a record that exists is
//! updated); records `cve_published`.

use serde::{Deserialize, Serialize};

use super::Job;

/// Publish the CVE record of `case_id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CvePublish {
    /// The case.
    pub case_id: String,
}

impl Job for CvePublish {
    const KIND: &'static str = "cve_publish";
    fn key(&self) -> String {
        format!("cve-publish:{}", self.case_id)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
