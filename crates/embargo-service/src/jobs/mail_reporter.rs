//! `mail_reporter`: a message to the case's reporter (the receipt, what the
//! team said, a new timeline), encrypted when their key is on file; its
//! Message-ID is filed under the case so that a reply threads onto it.

use serde::{Deserialize, Serialize};

use super::Job;

/// Mail `subject` and `text` to the reporter of `case_id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MailReporter {
    /// The case.
    pub case_id: String,
    /// The Subject (protected inside when encrypted).
    pub subject: String,
    /// The text.
    pub text: String,
    /// What the message is for, as its key: `receipt:ID`,
    /// `reporter-message:ID:VERSION`, `timeline:ID:VERSION`.
    #[serde(default)]
    pub key: String,
}

impl Job for MailReporter {
    const KIND: &'static str = "mail_reporter";
    fn key(&self) -> String {
        self.key.clone()
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.case_id)
    }
}
