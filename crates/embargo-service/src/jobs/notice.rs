//! `notice`: a clock's warning or escalation, or a release guard's alert,
//! for the team. Doing it fans out: one `notify_person` per person to tell
//! (by their preferences) and one `webhook` per configured hook, each a job
//! of its own, so one failing receiver does not hold back the others.

use serde::{Deserialize, Serialize};

use super::Job;

/// What a notice says; the person and webhook jobs carry it on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NoticeBody {
    /// The case.
    pub case_id: String,
    /// The clock (`acknowledgement`, `triage`, …), for a clock's notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// `warning` or `escalation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// How much of the window has passed, for a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    /// When the clock runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// A release guard's alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
    /// A message of its own (a timeline change): its Subject …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// … and text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A notice about a case, under `key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Notice {
    /// What it says.
    #[serde(flatten)]
    pub body: NoticeBody,
    /// `ack-warning-…`, `ack-escalation:…`, `guard-KIND:ID`,
    /// `release-blocked:ID:UNIX`: once each.
    #[serde(default, rename = "notice_key")]
    pub key: String,
}

impl Job for Notice {
    const KIND: &'static str = "notice";
    fn key(&self) -> String {
        self.key.clone()
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.body.case_id)
    }
}
