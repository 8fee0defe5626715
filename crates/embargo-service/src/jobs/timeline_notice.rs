//! `timeline_notice`: a new disclosure timeline told to everyone on the
//! case but the reporter (who has their own mail), one `notify_person`
//! each, by the same preferences as notices.

use serde::{Deserialize, Serialize};

use super::Job;

/// Tell the people on `case_id` about its timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimelineNotice {
    /// The case.
    pub case_id: String,
    /// `timeline:ID:VERSION`: each person's job is `KEY|to:PERSON`, this
    /// one `KEY|people`.
    pub key: String,
    /// The Subject.
    pub subject: String,
    /// The text, with the case's link.
    pub text: String,
}

impl Job for TimelineNotice {
    const KIND: &'static str = "timeline_notice";
    fn key(&self) -> String {
        format!("{}|people", self.key)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
