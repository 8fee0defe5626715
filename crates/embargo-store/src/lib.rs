//! Storage for embargo: the only crate that knows SQL.
//!
//! Events go to an append-only log in which each event's hash covers the
//! previous event's hash and its own content. One writer task owns appends
//! and commits whatever is queued in one transaction, so durability costs one
//! fsync per batch. Projections (the `cases` table) are written in the same
//! transaction and can be rebuilt from the log at any time.
//!
//! Two backends share one store API: embedded SQLite (the default) and
//! PostgreSQL. Their code is one source, `sql/`, compiled once per backend
//! (`sqlite.rs` and `postgres.rs` name the driver's types and what differs
//! between the two dialects), so a statement is written once and checked by
//! the compiler against both drivers. [`Store`] holds one of the two and
//! hands each call to it.

// `sql/` is compiled once per backend, on purpose (see above).
#![allow(clippy::duplicate_mod)]

mod accounts;
mod chain;
mod channels;
mod copy;
mod intake;
mod keys;
mod outbox;
mod postgres;
mod read;
mod seal;
mod sqlite;
pub mod testing;

use std::{path::Path, sync::Arc};

use embargo_core::{
    Case, CaseId, Event, PersonId, Refusal, Timestamp,
    access::OrgRole,
    stats::{Compliance, Figures, Histogram, Step},
};

pub use accounts::{AccessEntry, Person, Prefs, Project, Session, SigninAttempt, SigninPolicy};
pub use chain::ChainBreak;
pub use channels::ChannelRow;
pub use copy::Copied;
pub use intake::{Attachment, InboundEntry, NewInbound};
pub use keys::{Rotation, RotationCursor, RotationStep};
pub use outbox::{Attempt, Job as OutboxJob, Lane, NewJob};
pub use read::{
    Cursor, ListPage, ListQuery, Policy, Public, PublicOrder, PublishedRow, ReporterCase,
    RunningClock, StageCounts,
};
pub use seal::{KeySource, MasterKey};
use seal::{KeyState, Keys};
pub use sqlite::snapshot;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or used.
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// The storage under the database failed: the disk is full, or it
    /// cannot be written. Nothing of this request was stored; writes work
    /// again as soon as the storage does.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The case does not exist.
    #[error("no case {0}")]
    NoSuchCase(CaseId),
    /// The case already exists.
    #[error("case {0} already exists")]
    CaseExists(CaseId),
    /// The command was refused; nothing was written.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A person with that handle exists already.
    #[error("{0} already has an account")]
    PersonExists(embargo_core::PersonId),
    /// The master key does not match the one this database was written with.
    #[error(
        "the master key does not match this database (restore the key file that belongs with it)"
    )]
    WrongKey,
    /// Reading or writing cases needs the master key, and none was given.
    #[error("the master key is needed to read or write cases")]
    NoKey,
    /// A master key rotation is unfinished and the old key is not there.
    #[error(
        "a master key rotation is unfinished and the old master key is missing (put it back, then run `embargo keys rotate-master` to finish)"
    )]
    OldKeyMissing,
    /// A master key rotation cannot go on as asked.
    #[error("{0}")]
    Rotation(String),
    /// The stored log is inconsistent.
    #[error("the event log is inconsistent: {0}")]
    Corrupt(String),
    /// This channel already delivered a message with this reference.
    #[error("already received (case {0})")]
    AlreadyReceived(String),
    /// The writer task is gone (the store is shutting down).
    #[error("the store is shutting down")]
    Closed,
    /// A copy was asked into a database that holds a deployment already.
    #[error("the target database is not empty: {0}")]
    NotEmpty(String),
    /// The batch this request was in failed to commit; nothing of it was written.
    #[error("the write was rolled back, nothing was stored: {0}")]
    RolledBack(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match storage_failure(&e) {
            Some(cause) => StoreError::Unavailable(cause.to_owned()),
            None => StoreError::Db(e),
        }
    }
}

/// Whether `e` is the storage failing (rather than a query or a bug), and
/// the cause in words.
fn storage_failure(e: &sqlx::Error) -> Option<&'static str> {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    match e {
        sqlx::Error::Database(db) => {
            // SQLite's (extended) result code; the primary code is its low byte.
            let code: i64 = db.code()?.parse().ok()?;
            match code & 0xff {
                13 => Some("the disk is full (SQLite: database or disk is full)"),
                10 => Some("the disk cannot be read or written (SQLite: disk I/O error)"),
                14 => Some("the database file cannot be opened"),
                _ => None,
            }
        }
        sqlx::Error::Io(io) => match io.raw_os_error() {
            Some(ENOSPC) => Some("the disk is full"),
            Some(EDQUOT) => Some("the disk quota is exhausted"),
            _ => Some("the database cannot be read or written"),
        },
        _ => None,
    }
}

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store(Backend);

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Store),
    Postgres(postgres::Store),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if asked) the SQLite database at `path`, migrates it
    /// and starts the writer task. Must be called inside a tokio runtime.
    /// `master` seals and opens case data; without it (as for `audit verify`)
    /// the chain can be checked but cases cannot be read or written.
    pub async fn open(
        path: &Path,
        create: bool,
        master: Option<MasterKey>,
    ) -> Result<Self, StoreError> {
        Self::open_with_keys(path, create, master.into_iter().collect(), None).await
    }

    /// Opens like [`Store::open`] with the master keys `available` (two
    /// during a rotation: the database says which seals and which only
    /// opens), and a `source` that reads them again when another process
    /// starts or finishes a rotation. No keys: the chain can be checked,
    /// cases cannot be read or written.
    pub async fn open_with_keys(
        path: &Path,
        create: bool,
        available: Vec<MasterKey>,
        source: Option<KeySource>,
    ) -> Result<Self, StoreError> {
        sqlite::Store::open(path, create, available, source)
            .await
            .map(|s| Self(Backend::Sqlite(s)))
    }

    /// Connects to the PostgreSQL database at `url`
    /// (`postgres://USER@HOST:PORT/DB`), migrates it and starts the writer
    /// task, with the master keys as for [`Store::open_with_keys`]. Reads
    /// share a pool of `connections`; the writer has one of its own.
    pub async fn connect(
        url: &str,
        connections: u32,
        available: Vec<MasterKey>,
        source: Option<KeySource>,
    ) -> Result<Self, StoreError> {
        postgres::Store::open(url, connections, available, source)
            .await
            .map(|s| Self(Backend::Postgres(s)))
    }

    /// Copies this SQLite deployment into `target`, a new PostgreSQL
    /// database (refused when it holds cases, events or people): every
    /// table as stored, in one transaction, from one snapshot, then checks
    /// each table's count and the chain's head on both. `progress` hears
    /// each table's name, rows done and rows in all.
    pub async fn copy_into(
        &self,
        target: &Store,
        progress: &mut (dyn FnMut(&str, u64, u64) + Send),
    ) -> Result<Copied, StoreError> {
        match (&self.0, &target.0) {
            (Backend::Sqlite(from), Backend::Postgres(to)) => copy::copy(from, to, progress).await,
            _ => Err(StoreError::Unavailable(
                "a copy goes from SQLite into PostgreSQL".into(),
            )),
        }
    }

    /// Whether this store is the data directory's SQLite file, which
    /// `embargo backup` copies (PostgreSQL is backed up with its own tools).
    pub fn is_sqlite(&self) -> bool {
        matches!(self.0, Backend::Sqlite(_))
    }

    /// The keyed hash under which the read model stores a project's name
    /// (what a project filter matches).
    pub fn project_key(&self, name: &str) -> Result<String, StoreError> {
        match &self.0 {
            Backend::Sqlite(s) => s.project_key(name),
            Backend::Postgres(s) => s.project_key(name),
        }
    }
}

/// Each method hands the call to the backend; what it does is documented
/// where it is implemented, in `sql/`.
macro_rules! delegate {
    ($(pub async fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty;)*) => {
        #[allow(missing_docs)]
        impl Store {
            $(
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match &self.0 {
                        Backend::Sqlite(s) => s.$name($($arg),*).await,
                        Backend::Postgres(s) => s.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

delegate! {
pub async fn add_person(&self, id: &PersonId, name: &str, email: &str, role: OrgRole, totp_secret: &str, now: i64) -> Result<(), StoreError>;
pub async fn person(&self, id: &str) -> Result<Option<Person>, StoreError>;
pub async fn member(&self, id: &str) -> Result<Option<(Person, Vec<String>)>, StoreError>;
pub async fn api_token_member(&self, token_hash: &str) -> Result<Option<Option<(Person, Vec<String>)>>, StoreError>;
pub async fn people(&self) -> Result<Vec<Person>, StoreError>;
pub async fn person_ids(&self) -> Result<Vec<PersonId>, StoreError>;
pub async fn set_role(&self, id: &PersonId, role: OrgRole) -> Result<(), StoreError>;
pub async fn add_invitation(&self, token_hash: &str, person: &PersonId, created_by: &PersonId, expires_at: i64) -> Result<(), StoreError>;
pub async fn pending_invitations(&self, now: i64) -> Result<Vec<(String, String, i64)>, StoreError>;
pub async fn revoke_invitations(&self, person: &PersonId, now: i64) -> Result<u64, StoreError>;
pub async fn invitation(&self, token_hash: &str, now: i64) -> Result<Option<Person>, StoreError>;
pub async fn accept_invitation(&self, token_hash: &str, password_hash: &str, totp_step: Option<i64>, now: i64) -> Result<bool, StoreError>;
pub async fn use_totp_step(&self, id: &PersonId, step: i64) -> Result<bool, StoreError>;
pub async fn set_recovery_codes(&self, person: &PersonId, codes: &[String]) -> Result<(), StoreError>;
pub async fn use_recovery_code(&self, person: &PersonId, code: &str, now: i64) -> Result<bool, StoreError>;
pub async fn recovery_codes_left(&self, person: &PersonId) -> Result<i64, StoreError>;
pub async fn count_signin_attempt(&self, person: Option<&PersonId>, handle: &str, now: i64, policy: SigninPolicy) -> Result<SigninAttempt, StoreError>;
pub async fn set_signin_state(&self, id: &PersonId, failed_signins: i64, throttled_until: i64, locked: bool) -> Result<(), StoreError>;
pub async fn add_session(&self, token_hash: &str, person: &PersonId, csrf_token: &str, now: i64, expires_at: i64) -> Result<(), StoreError>;
pub async fn session_member(&self, token_hash: &str, now: i64) -> Result<Option<(Session, Option<(Person, Vec<String>)>)>, StoreError>;
pub async fn remove_session(&self, token_hash: &str) -> Result<(), StoreError>;
pub async fn project_release(&self, project: &str) -> Result<Option<String>, StoreError>;
pub async fn project_releases(&self) -> Result<Vec<(String, String)>, StoreError>;
pub async fn put_project_release(&self, project: &str, settings: &str, by: &PersonId, now: i64) -> Result<(), StoreError>;
pub async fn project_screening(&self, project: &str) -> Result<Option<String>, StoreError>;
pub async fn project_screenings(&self) -> Result<Vec<(String, String)>, StoreError>;
pub async fn put_project_screening(&self, project: &str, settings: &str, by: &PersonId, now: i64) -> Result<(), StoreError>;
pub async fn project_exists(&self, name: &str) -> Result<bool, StoreError>;
pub async fn put_project(&self, project: &Project, now: i64) -> Result<(), StoreError>;
pub async fn projects(&self) -> Result<Vec<Project>, StoreError>;
pub async fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError>;
pub async fn access_log(&self, subject: &str, newest: i64) -> Result<Vec<AccessEntry>, StoreError>;
pub async fn recent_account_events(&self, limit: i64) -> Result<Vec<AccessEntry>, StoreError>;
pub async fn status_texts(&self) -> Result<Vec<(String, String)>, StoreError>;
pub async fn set_status_text(&self, stage: &str, body: &str, by: &PersonId, now: i64) -> Result<(), StoreError>;
pub async fn prefs(&self, person: &PersonId) -> Result<Prefs, StoreError>;
pub async fn set_prefs(&self, person: &PersonId, prefs: &Prefs) -> Result<(), StoreError>;
pub async fn add_channel(&self, kind: &str, name: &str, scope: &str, settings: &serde_json::Value, interval_seconds: i64, now: i64) -> Result<i64, StoreError>;
pub async fn channels(&self) -> Result<Vec<ChannelRow>, StoreError>;
pub async fn remove_channel(&self, name: &str) -> Result<bool, StoreError>;
pub async fn record_check(&self, id: i64, at: i64, error: Option<&str>) -> Result<(), StoreError>;
pub async fn record_channel_message(&self, kind: &str, at: i64) -> Result<(), StoreError>;
pub async fn record_message_on(&self, id: i64, at: i64) -> Result<(), StoreError>;
pub async fn canary_sent(&self, id: i64, token: &str, at: i64) -> Result<(), StoreError>;
pub async fn canary_back(&self, id: i64, token: &str, at: i64) -> Result<bool, StoreError>;
pub async fn count_attempt(&self, key: &str, now: i64, window: i64) -> Result<(i64, i64), StoreError>;
pub async fn forget_attempts(&self, before: i64, limit: i64) -> Result<u64, StoreError>;
pub async fn take_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool, StoreError>;
pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
pub async fn quarantine(&self, inbound: NewInbound, reason: &str) -> Result<i64, StoreError>;
pub async fn already_received(&self, channel: &str, reference: &str) -> Result<Option<String>, StoreError>;
pub async fn quarantined(&self, limit: i64) -> Result<Vec<InboundEntry>, StoreError>;
pub async fn inbound_for_case(&self, case_id: &CaseId) -> Result<Vec<InboundEntry>, StoreError>;
pub async fn inbound_raw(&self, id: i64) -> Result<Option<(InboundEntry, Vec<u8>)>, StoreError>;
pub async fn reporter_link_case(&self, token_hash: &str) -> Result<Option<CaseId>, StoreError>;
pub async fn add_thread_id(&self, message_id: &str, case_id: &CaseId) -> Result<(), StoreError>;
pub async fn thread_case(&self, message_ids: &[String]) -> Result<Option<CaseId>, StoreError>;
pub async fn add_attachment(&self, case_id: &CaseId, name: &str, content_type: &str, content: &[u8]) -> Result<i64, StoreError>;
pub async fn attachments(&self, case_id: &CaseId) -> Result<Vec<Attachment>, StoreError>;
pub async fn attachment(&self, case_id: &CaseId, id: i64) -> Result<Option<(Attachment, Vec<u8>)>, StoreError>;
pub async fn release_quarantined(&self, id: i64, case_id: &CaseId) -> Result<bool, StoreError>;
pub async fn waiting(&self, stage: &str) -> Result<(i64, i64), StoreError>;
pub async fn master_key_rotation(&self) -> Result<Rotation, StoreError>;
pub async fn begin_master_rotation(&self, to: &str) -> Result<bool, StoreError>;
pub async fn rotation_step(&self, from: Option<RotationCursor>, limit: u32) -> Result<RotationStep, StoreError>;
pub async fn rotation_size(&self) -> Result<u64, StoreError>;
pub async fn sealed_under_other_keys(&self) -> Result<u64, StoreError>;
pub async fn finish_master_rotation(&self) -> Result<u64, StoreError>;
pub async fn enqueue(&self, key: &str, kind: &str, case_id: Option<&str>, payload: &serde_json::Value, now: i64) -> Result<bool, StoreError>;
pub async fn enqueue_in(&self, lane: Lane, key: &str, kind: &str, case_id: Option<&str>, payload: &serde_json::Value, now: i64) -> Result<bool, StoreError>;
pub async fn claim_jobs(&self, lane: Lane, worker: &str, now: i64, lease: i64, limit: i64) -> Result<Vec<OutboxJob>, StoreError>;
pub async fn job_done(&self, id: i64, worker: &str, now: i64) -> Result<bool, StoreError>;
pub async fn renew_jobs(&self, ids: &[i64], worker: &str, until: i64) -> Result<u64, StoreError>;
pub async fn job_failed(&self, id: i64, worker: &str, now: i64, error: &str, retry_at: Option<i64>) -> Result<bool, StoreError>;
pub async fn failed_jobs(&self, case_id: &str) -> Result<Vec<(String, String, i64, i64, String)>, StoreError>;
pub async fn attempts_for_case(&self, case_id: &str) -> Result<Vec<Attempt>, StoreError>;
pub async fn outbox_depth(&self) -> Result<(i64, i64), StoreError>;
pub async fn job_exists(&self, key: &str) -> Result<bool, StoreError>;
pub async fn count_jobs(&self, prefix: &str) -> Result<i64, StoreError>;
pub async fn set_policy(&self, policy: Arc<dyn Policy>) -> Result<usize, StoreError>;
pub async fn figures_since(&self, since: i64) -> Result<Vec<Figures>, StoreError>;
pub async fn ack_compliance(&self, windows: &[i64], now: Timestamp) -> Result<std::collections::BTreeMap<String, Vec<Compliance>>, StoreError>;
pub async fn step_histograms(&self, since_month: i64) -> Result<Vec<(Step, Histogram)>, StoreError>;
pub async fn longest_exposures(&self, since: i64, limit: u32) -> Result<Vec<Figures>, StoreError>;
pub async fn similar_cases(&self, terms: &[String], exclude: &CaseId, most: i64, limit: u32) -> Result<Vec<(CaseId, u64)>, StoreError>;
pub async fn public_parts(&self, part: &str, order: PublicOrder, after: Option<(Timestamp, &CaseId)>, limit: u32) -> Result<Vec<(CaseId, Timestamp, String)>, StoreError>;
pub async fn public_modified(&self) -> Result<Option<Timestamp>, StoreError>;
pub async fn hints_due(&self, limit: u32) -> Result<Vec<(CaseId, u64)>, StoreError>;
pub async fn hints_backlog(&self) -> Result<i64, StoreError>;
pub async fn set_hints(&self, case_id: &CaseId, version: u64, hints: &[(CaseId, i64)]) -> Result<(), StoreError>;
pub async fn hints(&self, case_id: &CaseId, limit: u32) -> Result<Vec<(CaseId, u64)>, StoreError>;
pub async fn search_cases(&self, words: &[Vec<String>], limit: u32) -> Result<Vec<(CaseId, u64)>, StoreError>;
pub async fn dated_cases(&self) -> Result<Vec<(CaseId, u64)>, StoreError>;
pub async fn soonest_clocks(&self, limit: u32) -> Result<(Vec<RunningClock>, i64), StoreError>;
pub async fn list_cases(&self, q: &ListQuery) -> Result<ListPage, StoreError>;
pub async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<(CaseId, u64)>, StoreError>;
pub async fn rearm_timer(&self, case_id: &CaseId, version: u64, next: Option<Timestamp>) -> Result<(), StoreError>;
pub async fn timers_due(&self, now: Timestamp) -> Result<i64, StoreError>;
pub async fn timer_count(&self) -> Result<i64, StoreError>;
pub async fn published_case(&self, id: &CaseId) -> Result<Option<PublishedRow>, StoreError>;
pub async fn ack_breached(&self, stages: &[&str], now: i64) -> Result<i64, StoreError>;
pub async fn reporter_history(&self, email: Option<&str>, key: Option<&str>, limit: u32) -> Result<Vec<ReporterCase>, StoreError>;
pub async fn oldest_at(&self, stage: &str) -> Result<Option<i64>, StoreError>;
pub async fn stage_count(&self, stage: &str) -> Result<i64, StoreError>;
pub async fn stage_counts(&self) -> Result<StageCounts, StoreError>;
pub async fn put_fork_credential(&self, case_id: &str, project: &str, person: &str, secret_hash: &str, now: i64) -> Result<(), StoreError>;
pub async fn fork_credential(&self, case_id: &str, project: &str, person: &str) -> Result<Option<String>, StoreError>;
pub async fn drop_fork_credentials(&self, case_id: &str, project: &str) -> Result<(), StoreError>;
pub async fn put_calendar_token(&self, person: &str, token_hash: &str, now: i64) -> Result<(), StoreError>;
pub async fn calendar_owner(&self, token_hash: &str) -> Result<Option<String>, StoreError>;
pub async fn health(&self) -> Result<(), StoreError>;
pub async fn create(&self, case_id: CaseId, decide: impl FnOnce() -> Result<Vec<Event>, Refusal> + Send + 'static) -> Result<Case, StoreError>;
pub async fn receive(&self, case_id: CaseId, inbound: NewInbound, decide: impl FnOnce() -> Result<Vec<Event>, Refusal> + Send + 'static) -> Result<Case, StoreError>;
pub async fn receive_reply(&self, case_id: CaseId, inbound: NewInbound, decide: impl FnOnce(&Case) -> Result<Vec<Event>, Refusal> + Send + 'static) -> Result<Case, StoreError>;
pub async fn execute(&self, case_id: CaseId, decide: impl FnOnce(&Case) -> Result<Vec<Event>, Refusal> + Send + 'static) -> Result<Case, StoreError>;
pub async fn execute_with(&self, case_id: CaseId, decide: impl FnOnce(&Case) -> Result<Vec<Event>, Refusal> + Send + 'static, effects: impl FnOnce(&Case, &Case) -> Vec<NewJob> + Send + 'static) -> Result<Case, StoreError>;
pub async fn case(&self, case_id: &CaseId) -> Result<Case, StoreError>;
pub async fn cases(&self, ids: &[CaseId]) -> Result<Vec<Case>, StoreError>;
pub async fn case_and_events(&self, case_id: &CaseId) -> Result<(Case, Vec<(i64, Event)>), StoreError>;
pub async fn events(&self, case_id: &CaseId) -> Result<Vec<(i64, Event)>, StoreError>;
pub async fn projection(&self) -> Result<Vec<Vec<String>>, StoreError>;
pub async fn rebuild_projections(&self) -> Result<usize, StoreError>;
pub async fn add_api_token(&self, token_hash: &str, person: &str, at: jiff::Timestamp) -> Result<(), StoreError>;
pub async fn api_tokens_of(&self, person: &str) -> Result<Vec<(String, String)>, StoreError>;
pub async fn revoke_api_token(&self, person: &str, id: &str) -> Result<bool, StoreError>;
pub async fn record_backup(&self, at: i64, file: &str, events: u64) -> Result<(), StoreError>;
pub async fn last_backup(&self) -> Result<Option<(i64, String)>, StoreError>;
pub async fn integrity_check(&self) -> Result<String, StoreError>;
pub async fn head_and_cases(&self) -> Result<(Option<(i64, String)>, i64), StoreError>;
pub async fn verify(&self) -> Result<Result<u64, ChainBreak>, StoreError>;
}
