//! The read model: what lists, visibility and the scheduler need of every
//! case, written by the writer in the transaction of each append, so that
//! none of them folds the archive.
//!
//! - `case_list`: the queue order (unacknowledged first, then by the
//!   acknowledgement deadline, then by arrival), stage, TLP, severity, and
//!   the project and coordinator as keyed hashes (filters match on hashes).
//! - `case_grants`: `access::grants` of each case, a keyed hash per
//!   principal, with the queue order copied so that one principal's cases
//!   are one index range; a page is at most one range per principal the
//!   reader holds, merged.
//! - `timers`: the policy's next instant with work on the case; the
//!   scheduler reads only what is due.
//!
//! The policy (deadlines, notices, release instants) belongs to the
//! deployment's configuration: the server hands it over as a `Policy`, and
//! a different one (by `fingerprint`) recomputes the read model once.

use embargo_core::{Case, CaseId, Timestamp, access};

/// What the read model derives from a case with the deployment's policy.
pub trait Policy: Send + Sync {
    /// When the case's acknowledgement is (or was) due: the queue's order.
    fn ack_due(&self, case: &Case) -> Timestamp;
    /// The first instant after `after` at which the scheduler has work on
    /// the case (a notice, a release step), if any. (After each append the
    /// writer arms the timer at once, so the scheduler looks at a changed
    /// case on its next pass; this is the one after that.)
    fn next_due(&self, case: &Case, after: Timestamp) -> Option<Timestamp>;
    /// Names the policy: when it changes, the read model is computed again.
    fn fingerprint(&self) -> String;
    /// The case's clocks that are running, each with its name and deadline
    /// (the dashboard's "what is due"); none for a closed case.
    fn running_clocks(&self, _case: &Case) -> Vec<(String, Timestamp)> {
        Vec::new()
    }
    /// Whether this policy renders what the world reads of disclosed cases
    /// ([`Policy::public`]). One that does not leaves `public_parts` as it
    /// is: only the server's policy writes them.
    fn publishes(&self) -> bool {
        false
    }
    /// What the world reads of `case` once it is disclosed, rendered now
    /// (`None`: nothing of it is public).
    fn public(&self, _case: &Case) -> Option<Public> {
        None
    }
}

/// What the public lists read of one disclosed case, rendered by the
/// policy when the case changes.
#[derive(Clone, Debug, Default)]
pub struct Public {
    /// When it was published (the lists' order).
    pub published: Timestamp,
    /// When its public advisory last changed (the change lists' order).
    pub modified: Timestamp,
    /// Each public list's piece of it, by the list's name.
    pub parts: Vec<(&'static str, String)>,
}

/// The order a public list is read in: newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicOrder {
    /// By publication.
    Published,
    /// By the public advisory's last change.
    Modified,
}

/// A running clock, as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningClock {
    /// The case.
    pub case: CaseId,
    /// Which clock (`Policy::running_clocks`' name).
    pub clock: String,
    /// Its deadline.
    pub due: Timestamp,
}

/// Where a page of a list ends: the queue order of its last case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub(crate) acked: i64,
    pub(crate) ack_due: i64,
    pub(crate) received: i64,
    pub(crate) case_id: String,
}

impl Cursor {
    /// Its text form, for a `?after=` parameter.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.acked, self.ack_due, self.received, self.case_id
        )
    }

    /// Reads the text form back; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        let mut parts = text.splitn(4, '.');
        let cursor = Cursor {
            acked: parts.next()?.parse().ok()?,
            ack_due: parts.next()?.parse().ok()?,
            received: parts.next()?.parse().ok()?,
            case_id: CaseId::new(parts.next()?).ok()?.to_string(),
        };
        Some(cursor)
    }
}

/// A page of a case list, in queue order.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// The reader's principals (`access::principals`), in clear: the store
    /// hashes them.
    pub principals: Vec<access::Grant>,
    /// After this position (the previous page's `next`).
    pub after: Option<Cursor>,
    /// At most this many (1 to 500).
    pub limit: u32,
    /// Only this stage (`Stage::label`).
    pub stage: Option<String>,
    /// Not this stage (the inbox leaves the screening queue out).
    pub not_stage: Option<String>,
    /// Only this TLP label (`TLP:AMBER`).
    pub tlp: Option<String>,
    /// Only this severity (`High`; empty for unscored).
    pub severity: Option<String>,
    /// Only this project (by name).
    pub project: Option<String>,
    /// Only cases this person coordinates.
    pub coordinator: Option<String>,
}

/// A page: each case with the version the read model has for it, and where
/// the next page starts (`None` on the last).
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    /// The cases, in queue order.
    pub cases: Vec<(CaseId, u64)>,
    /// The next page's start.
    pub next: Option<Cursor>,
}

/// One published case, for the public feeds.
#[derive(Clone, Debug)]
pub struct PublishedRow {
    /// The case.
    pub case_id: CaseId,
    /// Its version in the read model.
    pub version: u64,
    /// When it was published (unix seconds).
    pub published: i64,
}

/// An earlier report of one sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReporterCase {
    /// The case.
    pub case: CaseId,
    /// When it was received (unix seconds).
    pub received: i64,
    /// Its stage now (`Stage::label`).
    pub stage: String,
    /// Why it was rejected (`RejectReason::name`), or empty.
    pub rejected: String,
}

/// How many cases are at each stage (`Stage::label`).
pub type StageCounts = Vec<(String, i64)>;
