//! `backup`: the scheduled backup of one time slot (`[backup]`), in the
//! long lane; once per slot whichever server takes it.

use embargo_store::Lane;
use serde::{Deserialize, Serialize};

use super::Job;

/// The backup of slot `slot` (the Unix time divided by the interval).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Backup {
    /// The slot.
    pub slot: i64,
}

impl Job for Backup {
    const KIND: &'static str = "backup";
    const LANE: Lane = Lane::Long;
    fn key(&self) -> String {
        format!("backup:{}", self.slot)
    }
    fn case_id(&self) -> Option<&str> {
        None
    }
}
