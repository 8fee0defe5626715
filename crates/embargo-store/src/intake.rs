//! Inbound messages kept raw, the quarantine, reporters' status links and
//! attachments.
//!
//! A message that becomes a case or a reply is recorded by the writer in the
//! same transaction as its events (see `Store::receive`); one that cannot be
//! processed is recorded here with the reason. Either way the raw bytes are
//! kept, sealed with the master key.

/// A message as it arrived, before anything was made of it.
#[derive(Clone)]
pub struct NewInbound {
    /// When it arrived (unix seconds).
    pub received_at: i64,
    /// The channel kind (`web`, `email`, `github`, `api`, …).
    pub channel: String,
    /// Which channel of that kind, or where from (a mailbox, a repository).
    pub source: String,
    /// The channel's own id for it, if it has one (Message-ID, GHSA id).
    pub reference: Option<String>,
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// The SHA-256 of the reporter's status-link token, for a new case.
    pub reporter_link: Option<String>,
    /// Outbox jobs the message calls for (the reporter's receipt), written
    /// in the same transaction as its case: a crash cannot keep the case
    /// and lose the receipt.
    pub jobs: Vec<crate::NewJob>,
}

impl std::fmt::Debug for NewInbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The raw message is the reporter's: never in a log line.
        f.debug_struct("NewInbound")
            .field("channel", &self.channel)
            .field("source", &self.source)
            .field("size", &self.raw.len())
            .finish_non_exhaustive()
    }
}

/// A stored inbound message, without its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundEntry {
    /// Its number.
    pub id: i64,
    /// When it arrived (unix seconds).
    pub received_at: i64,
    /// Channel kind.
    pub channel: String,
    /// Which channel, or where from.
    pub source: String,
    /// `case`, `reply` or `quarantined`.
    pub outcome: String,
    /// The case it became or joined.
    pub case_id: Option<String>,
    /// Why it is in quarantine.
    pub reason: Option<String>,
    /// Size in bytes as received.
    pub size: i64,
}

/// A file sent with a report, without its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Its number.
    pub id: i64,
    /// The file name the reporter gave.
    pub name: String,
    /// The declared content type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
}
