//! `merge_check`: while a ready fix waits in a built-in fork, whether the
//! heads that passed CI have reached upstream (one job per fork and
//! ten-minute slot of the clock); records "merge the fix" as a release step
//! when they have.

use serde::{Deserialize, Serialize};

use super::Job;

/// Compare `commits` of `case_id`'s fork of `project` with upstream.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeCheck {
    /// The case.
    pub case_id: String,
    /// The fork's project.
    pub project: String,
    /// The heads whose latest CI run passed.
    pub commits: Vec<String>,
    /// The ten-minute slot of the clock it is for.
    #[serde(default)]
    pub slot: i64,
}

impl Job for MergeCheck {
    const KIND: &'static str = "merge_check";
    fn key(&self) -> String {
        format!(
            "merge-check:{}:{}:{}",
            self.case_id, self.project, self.slot
        )
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
