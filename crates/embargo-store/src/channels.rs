//! The channel inventory: what each channel is, its sealed settings, and
//! what its checks last saw.

/// One channel as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelRow {
    /// Its number.
    pub id: i64,
    /// `imap`, `pipe`, `web`, `github`, `api`, `forum`, `bounty`, `other`.
    pub kind: String,
    /// A unique name (`security@ mailbox`, `numpy/numpy`).
    pub name: String,
    /// `org`, or the project it serves.
    pub scope: String,
    /// Settings as JSON (opened).
    pub settings: serde_json::Value,
    /// Seconds between checks; 0 for passive channels.
    pub interval_seconds: i64,
    /// When added (unix seconds).
    pub created_at: i64,
    /// Last check, whatever its outcome.
    pub last_check_at: Option<i64>,
    /// Last successful check.
    pub last_ok_at: Option<i64>,
    /// The last check's error.
    pub last_error: Option<String>,
    /// When it last carried a message.
    pub last_message_at: Option<i64>,
    /// The canary out now.
    pub canary_token: Option<String>,
    /// When it was sent.
    pub canary_sent_at: Option<i64>,
    /// When the last canary came back.
    pub canary_back_at: Option<i64>,
}

impl std::fmt::Debug for ChannelRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Settings hold passwords and tokens.
        f.debug_struct("ChannelRow")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
