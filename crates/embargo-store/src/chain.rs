//! The hash chain: each event's hash covers the previous hash and the event's
//! own content (sequence number, case, time, actor, kind, payload).

/// The first place where the stored log does not match its chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event {seq}{}: {problem}", describe(case_id, kind))]
pub struct ChainBreak {
    /// The event's sequence number.
    pub seq: i64,
    /// Its case, when the row exists.
    pub case_id: Option<String>,
    /// Its kind, when the row exists.
    pub kind: Option<String>,
    /// What is wrong.
    pub problem: String,
}

fn describe(case_id: &Option<String>, kind: &Option<String>) -> String {
    match (case_id, kind) {
        (Some(c), Some(k)) => format!(" ({k} on case {c})"),
        _ => String::new(),
    }
}
