//! `webhook`: a notice posted to one configured webhook (Slack, Zulip,
//! Matrix or plain JSON), with the case id, stage, what is due and a link.

use serde::{Deserialize, Serialize};

use super::{Job, notice::NoticeBody};

/// Post `body` to webhook number `webhook` of the configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Webhook {
    /// What to say.
    #[serde(flatten)]
    pub body: NoticeBody,
    /// Which hook (its place in `[[webhook]]`).
    pub webhook: usize,
    /// The notice's key: this job's is `KEY|webhook-N`.
    #[serde(default)]
    pub notice_key: String,
}

impl Job for Webhook {
    const KIND: &'static str = "webhook";
    fn key(&self) -> String {
        format!("{}|webhook-{}", self.notice_key, self.webhook)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.body.case_id)
    }
}
