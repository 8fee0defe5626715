//! The durable outbox: jobs with idempotency keys, attempts recorded,
//! retries with backoff. The store only keeps the books; the server's
//! worker does the jobs.

/// A job waiting to be done (payload opened).
#[derive(Clone)]
pub struct Job {
    /// Its number.
    pub id: i64,
    /// Its idempotency key.
    pub key: String,
    /// What kind of job (`mail_reporter`, `notify`, …).
    pub kind: String,
    /// The case it concerns.
    pub case_id: Option<String>,
    /// What the job needs, as JSON.
    pub payload: serde_json::Value,
    /// Attempts so far.
    pub attempts: i64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("key", &self.key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// One attempt, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The job's key.
    pub key: String,
    /// When (unix seconds).
    pub at: i64,
    /// `done`, `retry` or `failed`.
    pub outcome: String,
    /// What went wrong.
    pub error: Option<String>,
}

/// A job to put in the outbox, for the writer to insert in the same
/// transaction as what calls for it (a receipt with its case).
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Its idempotency key: a second job with the same key is not added.
    pub key: String,
    /// What the worker does (`mail_reporter`, `notice`, …).
    pub kind: String,
    /// The case it is about.
    pub case_id: Option<String>,
    /// Its payload (sealed at rest).
    pub payload: serde_json::Value,
    /// When it was made and may first run (unix seconds).
    pub at: i64,
}

/// Where a job runs: quick work, or work that may take minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Mail, notices, webhooks, release work: each quick.
    Main,
    /// CI runs: minutes each, in a lane of their own so that they never
    /// hold back a notice.
    Long,
}

impl Lane {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Lane::Main => "main",
            Lane::Long => "long",
        }
    }
}
