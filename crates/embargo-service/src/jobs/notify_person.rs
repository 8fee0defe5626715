//! `notify_person`: one person told of a notice by mail, encrypted to their
//! key when it is on file (and only then with what the case is about, and
//! only if they see the case).

use serde::{Deserialize, Serialize};

use super::{Job, notice::NoticeBody};

/// Tell `person` what `body` says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NotifyPerson {
    /// What to say.
    #[serde(flatten)]
    pub body: NoticeBody,
    /// Whom.
    pub person: String,
    /// The notice's key: this job's is `KEY|to:PERSON`.
    #[serde(default)]
    pub notice_key: String,
}

impl Job for NotifyPerson {
    const KIND: &'static str = "notify_person";
    fn key(&self) -> String {
        format!("{}|to:{}", self.notice_key, self.person)
    }
    fn case_id(&self) -> Option<&str> {
        Some(&self.body.case_id)
    }
}
