//! `announce`: after publication, the approved announcement by mail to the
//! lists of every named project; records `announcement_sent`.

use serde::{Deserialize, Serialize};

use super::Job;

/// Send `case_id`'s approved announcement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Announce {
    /// The case.
    pub case_id: String,
}

impl Job for Announce {
    const KIND: &'static str = "announce";
    fn key(&self) -> String {
        format!("announce:{}", self.case_id)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
