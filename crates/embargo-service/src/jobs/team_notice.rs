//! `team_notice`: news about the deployment itself (the intake key was
//! replaced), for every admin and SRT member who signed up. Doing it fans
//! out one `team_mail` per person, so one failing mailbox does not hold
//! back the others.

use serde::{Deserialize, Serialize};

use super::Job;

/// A notice to the team, once per `key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TeamNotice {
    /// `intake-rotated:FINGERPRINT`: once each.
    #[serde(rename = "notice_key")]
    pub key: String,
    /// Its Subject.
    pub subject: String,
    /// Its text.
    pub text: String,
}

impl Job for TeamNotice {
    const KIND: &'static str = "team_notice";
    fn key(&self) -> String {
        self.key.clone()
    }
    fn case_id(&self) -> Option<&str> {
        None
    }
}

/// The notice `notice_key` for one person.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TeamMail {
    /// Whom.
    pub person: String,
    /// The notice's key.
    pub notice_key: String,
    /// Its Subject.
    pub subject: String,
    /// Its text.
    pub text: String,
}

impl Job for TeamMail {
    const KIND: &'static str = "team_mail";
    fn key(&self) -> String {
        format!("{}|to:{}", self.notice_key, self.person)
    }
    fn case_id(&self) -> Option<&str> {
        None
    }
}
