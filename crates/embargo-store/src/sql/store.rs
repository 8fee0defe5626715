//! The store on one backend: the writer task that owns appends, and reading
//! cases back from the log.

use std::sync::Arc;

use embargo_core::{Case, CaseId, Event, Refusal};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use super::{
    Conn, DbRow, Options, Pool, chain, dialect, intake, keys, outbox,
    pending::{self, Pending},
    read,
};
use crate::{
    ChainBreak, KeySource, KeyState, Keys, MasterKey, NewInbound, NewJob, StoreError, seal,
};

const BATCH_MAX: usize = 256;

/// What a command decides: the events to append, or a refusal.
type Decided = Result<Vec<Event>, Refusal>;

/// The outbox jobs a change calls for, from the case before and after it.
type Effects = Box<dyn FnOnce(&Case, &Case) -> Vec<NewJob> + Send>;

/// What the writer is asked to do for one request.
enum Job {
    /// Start a case; `decide` sees no state.
    Create {
        case_id: CaseId,
        decide: Box<dyn FnOnce() -> Decided + Send>,
    },
    /// Append to an existing case; `decide` sees its current state, and
    /// `effects` the state after, naming the outbox jobs the change calls
    /// for (inserted in the same transaction).
    Execute {
        case_id: CaseId,
        decide: Box<dyn FnOnce(&Case) -> Decided + Send>,
        effects: Option<Effects>,
    },
}

struct Append {
    job: Job,
    /// The raw message the job came from, stored in the same transaction.
    inbound: Option<NewInbound>,
    reply: oneshot::Sender<Result<Case, StoreError>>,
}

/// The store on one backend; cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    pub(crate) pool: Pool,
    writer: mpsc::Sender<Append>,
    pub(crate) master: Option<Arc<Keys>>,
    /// The deployment's policy for the read model (deadlines, timers).
    pub(crate) policy: read::SharedPolicy,
}

impl Store {
    /// Starts the store on a migrated database: checks (or records) the
    /// master key, starts the writer task on `writer_conn` (`reopen` makes
    /// it a fresh connection after a failed batch), and computes the read
    /// model if the database has none. Must be called inside a tokio runtime.
    pub(crate) async fn start(
        mut writer_conn: Conn,
        reopen: Options,
        pool: Pool,
        available: Vec<MasterKey>,
        source: Option<KeySource>,
    ) -> Result<Self, StoreError> {
        let master = if let Some(first) = available.first() {
            let state = match keys::state(&mut writer_conn).await? {
                Some(state) => state,
                None => {
                    sqlx::query("INSERT INTO key_check (id, check_value) VALUES (1, $1)")
                        .bind(first.check_value())
                        .execute(&mut writer_conn)
                        .await?;
                    KeyState {
                        check: first.check_value(),
                        next: None,
                    }
                }
            };
            let stored_lookup: Option<String> =
                sqlx::query_scalar("SELECT wrapped FROM store_keys WHERE name = $1")
                    .bind(seal::LOOKUP_KEY)
                    .fetch_optional(&mut writer_conn)
                    .await?;
            let keys = Keys::new(&available, &state, stored_lookup.as_deref(), source)?;
            intake::hash_clear_references(&mut writer_conn, &keys).await?;
            Some(Arc::new(keys))
        } else {
            None
        };
        let (tx, rx) = mpsc::channel(1024);
        let policy = read::default_policy();
        tokio::spawn(writer(
            writer_conn,
            reopen,
            rx,
            master.clone(),
            policy.clone(),
        ));
        let store = Self {
            pool,
            writer: tx,
            master,
            policy,
        };
        // A database from before the read model gets one now, under the
        // defaults; the server's policy recomputes it if it differs.
        if store.master.is_some() {
            let computed: Option<String> =
                sqlx::query_scalar("SELECT policy FROM read_model WHERE id = 1")
                    .fetch_optional(&store.pool)
                    .await?;
            if computed.is_none() {
                let policy = read::current(&store.policy);
                store.set_policy(policy).await?;
            }
        }
        Ok(store)
    }

    /// Whether the storage takes a write now: a one-row write committed
    /// (and synced) like any other, for `/healthz`. `Err` names the cause.
    pub async fn health(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO health_probe (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = health_probe.n + 1",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Starts a case with the events `decide` returns.
    pub async fn create(
        &self,
        case_id: CaseId,
        decide: impl FnOnce() -> Result<Vec<Event>, Refusal> + Send + 'static,
    ) -> Result<Case, StoreError> {
        self.send(
            Job::Create {
                case_id,
                decide: Box::new(decide),
            },
            None,
        )
        .await
    }

    /// Starts a case from an inbound message: the case, the raw message and
    /// the reporter's link are written in one transaction, and a message whose
    /// reference this channel delivered before is refused with
    /// `AlreadyReceived` (so a redelivery never makes a second case).
    pub async fn receive(
        &self,
        case_id: CaseId,
        inbound: NewInbound,
        decide: impl FnOnce() -> Result<Vec<Event>, Refusal> + Send + 'static,
    ) -> Result<Case, StoreError> {
        self.send(
            Job::Create {
                case_id,
                decide: Box::new(decide),
            },
            Some(inbound),
        )
        .await
    }

    /// Appends to a case from an inbound message (a reporter's reply), storing
    /// the raw message in the same transaction.
    pub async fn receive_reply(
        &self,
        case_id: CaseId,
        inbound: NewInbound,
        decide: impl FnOnce(&Case) -> Result<Vec<Event>, Refusal> + Send + 'static,
    ) -> Result<Case, StoreError> {
        self.send(
            Job::Execute {
                case_id,
                decide: Box::new(decide),
                effects: None,
            },
            Some(inbound),
        )
        .await
    }

    /// Runs `decide` on the case's current state inside the writer and appends
    /// what it returns. A refusal writes nothing.
    pub async fn execute(
        &self,
        case_id: CaseId,
        decide: impl FnOnce(&Case) -> Result<Vec<Event>, Refusal> + Send + 'static,
    ) -> Result<Case, StoreError> {
        self.send(
            Job::Execute {
                case_id,
                decide: Box::new(decide),
                effects: None,
            },
            None,
        )
        .await
    }

    /// As `execute`, and the outbox jobs `effects` names from the case
    /// before and after the change are inserted in the same transaction:
    /// the change and what it calls for (mail to the reporter, a CVE
    /// request, a new timeline's notices) are stored together or not at
    /// all, whoever ran the command.
    pub async fn execute_with(
        &self,
        case_id: CaseId,
        decide: impl FnOnce(&Case) -> Result<Vec<Event>, Refusal> + Send + 'static,
        effects: impl FnOnce(&Case, &Case) -> Vec<NewJob> + Send + 'static,
    ) -> Result<Case, StoreError> {
        self.send(
            Job::Execute {
                case_id,
                decide: Box::new(decide),
                effects: Some(Box::new(effects)),
            },
            None,
        )
        .await
    }

    async fn send(&self, job: Job, inbound: Option<NewInbound>) -> Result<Case, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(Append {
                job,
                inbound,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// The case, folded from its events.
    pub async fn case(&self, case_id: &CaseId) -> Result<Case, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_case(&mut conn, self.master.as_deref(), case_id)
            .await?
            .ok_or_else(|| StoreError::NoSuchCase(case_id.clone()))
    }

    /// The cases of `ids` that exist, each folded from its events, in id
    /// order: one read for a page's or a pass's worth, not one per case.
    pub async fn cases(&self, ids: &[CaseId]) -> Result<Vec<Case>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        load_cases(&mut conn, self.master.as_deref(), ids).await
    }

    /// The case folded, and the events it was folded from with their
    /// sequence numbers, oldest first: one read.
    pub async fn case_and_events(
        &self,
        case_id: &CaseId,
    ) -> Result<(Case, Vec<(i64, Event)>), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let events = load_events(&mut conn, self.master.as_deref(), case_id).await?;
        if events.is_empty() {
            return Err(StoreError::NoSuchCase(case_id.clone()));
        }
        let case = fold(case_id, &events)?;
        Ok((case, events))
    }

    /// The case's events with their sequence numbers, oldest first.
    pub async fn events(&self, case_id: &CaseId) -> Result<Vec<(i64, Event)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_events(&mut conn, self.master.as_deref(), case_id).await
    }

    /// The `cases` projection, one row per case, ordered by id.
    pub async fn projection(&self) -> Result<Vec<Vec<String>>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, project, title, stage, handling, embargo, received_at, updated_at, CAST(version AS TEXT) FROM cases ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                (0..9)
                    .map(|i| r.try_get::<String, _>(i).map_err(StoreError::from))
                    .collect()
            })
            .collect()
    }

    /// Rebuilds the `cases` projection from the log.
    pub async fn rebuild_projections(&self) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM cases").execute(&mut *tx).await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT case_id FROM events ORDER BY case_id")
                .fetch_all(&mut *tx)
                .await?;
        // A few hundred rows a statement, never the whole archive in memory.
        let mut pending = Pending::default();
        for (n, id) in ids.iter().enumerate() {
            if n % 500 == 499 {
                pending.flush(&mut tx).await?;
            }
            let id = CaseId::new(id.as_str()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some(case) = load_case(&mut tx, self.master.as_deref(), &id).await? {
                project(&mut pending, &case);
            }
        }
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        if self.master.is_some() {
            let policy = read::current(&self.policy);
            self.rebuild_read_model(policy.as_ref()).await?;
        }
        Ok(ids.len())
    }

    /// Records an API token by its hash for `person`.
    pub async fn add_api_token(
        &self,
        token_hash: &str,
        person: &str,
        at: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_tokens (token_hash, person, created_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(person)
            .bind(at.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// `person`'s API tokens, newest first: (an id, the first 12 hex
    /// digits of the token's hash; when it was made).
    pub async fn api_tokens_of(&self, person: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT token_hash, created_at FROM api_tokens WHERE person = $1 \
             ORDER BY created_at DESC, token_hash",
        )
        .bind(person)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(hash, at)| (hash.chars().take(12).collect(), at))
            .collect())
    }

    /// Revokes `person`'s token whose hash starts with `id` (12 hex
    /// digits); whether there was one.
    pub async fn revoke_api_token(&self, person: &str, id: &str) -> Result<bool, StoreError> {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let done = sqlx::query(
            "DELETE FROM api_tokens WHERE person = $1 AND substr(token_hash, 1, 12) = $2",
        )
        .bind(person)
        .bind(id.to_ascii_lowercase())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a good scheduled backup.
    pub async fn record_backup(&self, at: i64, file: &str, events: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO last_backup (id, at, file, events) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET at = excluded.at, file = excluded.file, \
             events = excluded.events",
        )
        .bind(at)
        .bind(file)
        .bind(i64::try_from(events).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When the last good scheduled backup was taken, and its file.
    pub async fn last_backup(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT at, file FROM last_backup WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The database's own check of its storage: `ok`, or what is wrong.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        dialect::integrity_check(&self.pool).await
    }

    /// The chain's head (the newest event's number and hash), and how many
    /// cases there are.
    pub async fn head_and_cases(&self) -> Result<(Option<(i64, String)>, i64), StoreError> {
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM chain_head WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        let cases: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
            .fetch_one(&self.pool)
            .await?;
        Ok((head, cases))
    }

    /// Walks the whole chain; returns the number of events, or the first bad one.
    pub async fn verify(&self) -> Result<Result<u64, ChainBreak>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        chain::verify(&mut conn).await
    }
}

/// Applies the backend's migrations that this database has not had.
pub(crate) async fn migrate(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .execute(&mut *conn)
        .await?;
    for (version, sql) in dialect::MIGRATIONS {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?;
        if done.is_none() {
            let mut tx = conn.begin().await?;
            sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// The case's data key: `None` if it has none yet (nothing sealed).
pub(crate) async fn data_key(
    conn: &mut Conn,
    master: Option<&Keys>,
    case_id: &CaseId,
) -> Result<Option<seal::DataKey>, StoreError> {
    let wrapped: Option<String> =
        sqlx::query_scalar("SELECT wrapped FROM case_keys WHERE case_id = $1")
            .bind(case_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    unwrap_data_key(master, case_id, wrapped)
}

/// A data key as `case_keys` holds it (`None`: the case has none yet),
/// unwrapped with the master key.
fn unwrap_data_key(
    master: Option<&Keys>,
    case_id: &CaseId,
    wrapped: Option<String>,
) -> Result<Option<seal::DataKey>, StoreError> {
    match (wrapped, master) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(StoreError::NoKey),
        (Some(w), Some(m)) => m.unwrap_data_key(case_id.as_str(), &w).map(Some),
    }
}

/// The case's data key, made (and stored wrapped) if it has none.
pub(crate) async fn data_key_for_writing(
    conn: &mut Conn,
    master: Option<&Keys>,
    case_id: &CaseId,
) -> Result<seal::DataKey, StoreError> {
    let master = master.ok_or(StoreError::NoKey)?;
    if let Some(dk) = data_key(conn, Some(master), case_id).await? {
        return Ok(dk);
    }
    let (dk, wrapped) = master.new_data_key(case_id.as_str())?;
    sqlx::query("INSERT INTO case_keys (case_id, wrapped) VALUES ($1, $2)")
        .bind(case_id.as_str())
        .bind(wrapped)
        .execute(&mut *conn)
        .await?;
    Ok(dk)
}

pub(crate) async fn load_events(
    conn: &mut Conn,
    master: Option<&Keys>,
    case_id: &CaseId,
) -> Result<Vec<(i64, Event)>, StoreError> {
    // The case's wrapped data key comes with its events: one statement
    // (SQLite evaluates the uncorrelated subquery once).
    let rows = sqlx::query(
        "SELECT seq, at, actor, payload, (SELECT wrapped FROM case_keys WHERE case_id = $1)
         FROM events WHERE case_id = $1 ORDER BY seq",
    )
    .bind(case_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let wrapped: Option<String> = match rows.first() {
        Some(first) => first.try_get(4)?,
        None => None,
    };
    let dk = unwrap_data_key(master, case_id, wrapped)?;
    rows.iter()
        .map(|r| event_of_row(r, 0, dk.as_ref(), case_id))
        .collect()
}

/// One event from `r`'s columns from `at`: seq, at, actor, payload
/// (opened with the case's data key, when it is sealed).
fn event_of_row(
    r: &DbRow,
    at: usize,
    dk: Option<&seal::DataKey>,
    case_id: &CaseId,
) -> Result<(i64, Event), StoreError> {
    let seq: i64 = r.try_get(at)?;
    let corrupt = |what: String| StoreError::Corrupt(format!("event {seq}: {what}"));
    let when: String = r.try_get(at + 1)?;
    let actor: String = r.try_get(at + 2)?;
    let stored: String = r.try_get(at + 3)?;
    let payload = match dk {
        Some(dk) => dk.open(case_id.as_str(), &stored)?,
        None if seal::is_sealed(&stored) => return Err(StoreError::NoKey),
        None => stored,
    };
    Ok((
        seq,
        Event {
            at: when
                .parse()
                .map_err(|e: jiff::Error| corrupt(e.to_string()))?,
            actor: actor
                .parse()
                .map_err(|e: embargo_core::ids::InvalidValue| corrupt(e.to_string()))?,
            data: serde_json::from_str(&payload).map_err(|e| corrupt(e.to_string()))?,
        },
    ))
}

/// How many cases one statement of [`Store::cases`] reads at most (well
/// under either engine's limit on bound values).
const CASES_PER_READ: usize = 500;

/// The cases of `ids` that exist, folded from their events, in id order:
/// one statement per [`CASES_PER_READ`] cases.
pub(crate) async fn load_cases(
    conn: &mut Conn,
    master: Option<&Keys>,
    ids: &[CaseId],
) -> Result<Vec<Case>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CASES_PER_READ) {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT e.case_id, k.wrapped, e.seq, e.at, e.actor, e.payload FROM events e
             LEFT JOIN case_keys k ON k.case_id = e.case_id WHERE e.case_id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_str());
        }
        q.push(") ORDER BY e.case_id, e.seq");
        let rows = q.build().fetch_all(&mut *conn).await?;
        let mut rest = rows.as_slice();
        while let Some(first) = rest.first() {
            let id: String = first.try_get(0)?;
            let n = rest
                .iter()
                .position(|r| r.try_get::<&str, _>(0).map_or(true, |other| other != id))
                .unwrap_or(rest.len());
            let (these, after) = rest.split_at(n);
            rest = after;
            let case_id = CaseId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let dk = unwrap_data_key(master, &case_id, first.try_get(1)?)?;
            let events = these
                .iter()
                .map(|r| event_of_row(r, 2, dk.as_ref(), &case_id))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(fold(&case_id, &events)?);
        }
    }
    Ok(out)
}

pub(crate) async fn load_case(
    conn: &mut Conn,
    master: Option<&Keys>,
    case_id: &CaseId,
) -> Result<Option<Case>, StoreError> {
    let events = load_events(conn, master, case_id).await?;
    if events.is_empty() {
        return Ok(None);
    }
    fold(case_id, &events).map(Some)
}

fn fold(case_id: &CaseId, events: &[(i64, Event)]) -> Result<Case, StoreError> {
    Case::from_events(case_id.clone(), events.iter().map(|(_, e)| e))
        .map_err(|e| StoreError::Corrupt(format!("case {case_id}: {e}")))
}

/// Queues the case's row of the `cases` projection.
fn project(pending: &mut Pending, case: &Case) {
    let updated = case
        .closed_at
        .or(case.published_at)
        .unwrap_or(case.received_at);
    pending.insert(
        CASES,
        vec![
            case.id.as_str().into(),
            // The report's project and title stay out of the projection:
            // only sealed payloads carry what the reporter wrote.
            "".into(),
            "".into(),
            case.stage().label().into(),
            case.handling.name().into(),
            case.embargo.name().into(),
            case.received_at.to_string().into(),
            updated.to_string().into(),
            i64::try_from(case.version).unwrap_or(i64::MAX).into(),
        ],
    );
}

const CASES: pending::Insert = pending::Insert {
    into: "INSERT INTO cases (id, project, title, stage, handling, embargo, received_at, updated_at, version)",
    tail: "ON CONFLICT (id) DO UPDATE SET project = excluded.project, title = excluded.title,
           stage = excluded.stage, handling = excluded.handling, embargo = excluded.embargo,
           received_at = excluded.received_at, updated_at = excluded.updated_at, version = excluded.version",
};

const CASE_KEYS: pending::Insert = pending::Insert {
    into: "INSERT INTO case_keys (case_id, wrapped)",
    tail: "",
};

/// Which of `ids` already have events (one read for a batch's new cases).
async fn existing_cases(
    conn: &mut Conn,
    ids: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut found = std::collections::HashSet::new();
    // Well under SQLite's limit on bound values: a batch is BATCH_MAX jobs.
    for chunk in ids.chunks(BATCH_MAX) {
        let mut q =
            sqlx::QueryBuilder::new("SELECT DISTINCT case_id FROM events WHERE case_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        for id in q
            .build_query_scalar::<String>()
            .fetch_all(&mut *conn)
            .await?
        {
            found.insert(id);
        }
    }
    Ok(found)
}

/// The writer: takes what is queued, applies it in one transaction, commits once.
async fn writer(
    conn: Conn,
    reopen: Options,
    mut rx: mpsc::Receiver<Append>,
    master: Option<Arc<Keys>>,
    policy: read::SharedPolicy,
) {
    let mut conn = Some(conn);
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while rx.recv_many(&mut batch, BATCH_MAX).await > 0 {
        let (replies, jobs): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|a| (a.reply, (a.job, a.inbound)))
            .unzip();
        // A connection whose batch failed is not trusted again (a failed
        // COMMIT can leave it inside a transaction): the next batch opens
        // a fresh one, so writes resume as soon as the storage does.
        let outcome = match conn.as_mut() {
            Some(c) => apply_batch(c, master.as_deref(), &policy, jobs).await,
            None => match Conn::connect_with(&reopen).await {
                Ok(c) => apply_batch(conn.insert(c), master.as_deref(), &policy, jobs).await,
                Err(e) => Err(StoreError::from(e)),
            },
        };
        match outcome {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "a batch of appends failed and was rolled back");
                if let Some(mut c) = conn.take() {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut c).await;
                    let _ = c.close().await;
                }
                for reply in replies {
                    let _ = reply.send(Err(match &e {
                        StoreError::Unavailable(cause) => StoreError::Unavailable(cause.clone()),
                        other => StoreError::RolledBack(other.to_string()),
                    }));
                }
            }
        }
    }
}

fn fold_error(e: embargo_core::FoldError) -> StoreError {
    // decide() produced events the fold refuses: a bug, reported for this
    // request alone; the rest of the batch still commits.
    StoreError::Corrupt(e.to_string())
}

/// Applies each job in one transaction. A job's own failure (refusal, unknown
/// case) is its result; only a database failure fails the whole batch.
async fn apply_batch(
    conn: &mut Conn,
    master: Option<&Keys>,
    policy: &read::SharedPolicy,
    jobs: Vec<(Job, Option<NewInbound>)>,
) -> Result<Vec<Result<Case, StoreError>>, StoreError> {
    // IMMEDIATE: take the write lock before reading the chain head. A
    // deferred transaction that reads first cannot upgrade after another
    // connection (the outbox, the access log) has committed in between
    // (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out).
    let mut tx = conn.begin_with(dialect::BEGIN_WRITE).await?;
    // The key that seals is the one the database names now (a rotation
    // may have started or ended in another process).
    if let Some(keys) = master {
        keys::sync(&mut tx, keys).await?;
    }
    let mut head = chain::head(&mut tx).await?;
    let policy = read::current(policy);
    // A batch of new cases (the intake's whole load) goes in with a few
    // statements: their rows wait in `pending`, one multi-row insert per
    // table at the end. A job on an existing case reads what it changes,
    // so whatever waits is written before it.
    let mut pending = Pending::default();
    let creating: Vec<&str> = jobs
        .iter()
        .filter_map(|(job, _)| match job {
            Job::Create { case_id, .. } => Some(case_id.as_str()),
            Job::Execute { .. } => None,
        })
        .collect();
    // Ids with events, and those made in this batch (whether their rows
    // wait or were written before a later job).
    let mut existing = existing_cases(&mut tx, &creating).await?;
    let mut results = Vec::with_capacity(jobs.len());
    for (job, inbound) in jobs {
        let creating = matches!(job, Job::Create { .. });
        if !creating {
            pending.flush(&mut tx).await?;
        }
        if let Some(seen) = match &inbound {
            Some(i) => {
                intake::seen(
                    &mut tx,
                    Some(&pending),
                    master,
                    &i.channel,
                    i.reference.as_deref(),
                )
                .await?
            }
            None => None,
        } {
            results.push(Err(StoreError::AlreadyReceived(seen)));
            continue;
        }
        let mut effects = None;
        let mut before = None;
        let (case_id, outcome) = match job {
            Job::Create { case_id, decide } => {
                let outcome = if existing.contains(case_id.as_str()) {
                    Err(StoreError::CaseExists(case_id.clone()))
                } else {
                    decide().map_err(StoreError::from).and_then(|events| {
                        let case =
                            Case::from_events(case_id.clone(), &events).map_err(fold_error)?;
                        Ok((case, events))
                    })
                };
                (case_id, outcome)
            }
            Job::Execute {
                case_id,
                decide,
                effects: wanted,
            } => {
                effects = wanted;
                let outcome = match load_case(&mut tx, master, &case_id).await? {
                    None => Err(StoreError::NoSuchCase(case_id.clone())),
                    Some(mut case) => decide(&case).map_err(StoreError::from).and_then(|events| {
                        if effects.is_some() {
                            before = Some(case.clone());
                        }
                        for e in &events {
                            case.apply(e).map_err(fold_error)?;
                        }
                        Ok((case, events))
                    }),
                };
                (case_id, outcome)
            }
        };
        results.push(match outcome {
            Ok((case, events)) => {
                let dk = if creating {
                    existing.insert(case_id.as_str().to_owned());
                    // A new case's key: nothing to look up.
                    let (dk, wrapped) = master
                        .ok_or(StoreError::NoKey)?
                        .new_data_key(case_id.as_str())?;
                    pending.insert(CASE_KEYS, vec![case_id.as_str().into(), wrapped.into()]);
                    dk
                } else {
                    data_key_for_writing(&mut tx, master, &case_id).await?
                };
                for e in &events {
                    let json = serde_json::to_string(&e.data)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let payload = dk.seal(case_id.as_str(), &json)?;
                    head = chain::append(&mut pending, &head, &case_id, e, payload);
                }
                project(&mut pending, &case);
                // The scheduler looks at a changed case on its next pass
                // (what the change made due, at once), and then at the
                // policy's next instant.
                let changed_at = events.last().map_or(case.received_at, |e| e.at);
                let due = (case.handling != embargo_core::Handling::Closed).then_some(changed_at);
                read::write(
                    &mut tx,
                    &mut pending,
                    master.ok_or(StoreError::NoKey)?,
                    policy.as_ref(),
                    &case,
                    due,
                    creating,
                )
                .await?;
                if let Some(inbound) = &inbound {
                    let master = master.ok_or(StoreError::NoKey)?;
                    let outcome = if creating { "case" } else { "reply" };
                    intake::record(&mut pending, master, inbound, outcome, Some(&case_id), None)?;
                    for job in &inbound.jobs {
                        outbox::insert(&mut tx, master, job).await?;
                    }
                }
                if let (Some(effects), Some(before)) = (effects, before) {
                    let master = master.ok_or(StoreError::NoKey)?;
                    for job in effects(&before, &case) {
                        outbox::insert(&mut tx, master, &job).await?;
                    }
                }
                Ok(case)
            }
            Err(e) => Err(e),
        });
    }
    pending.flush(&mut tx).await?;
    chain::set_head(&mut tx, &head).await?;
    tx.commit().await?;
    Ok(results)
}
