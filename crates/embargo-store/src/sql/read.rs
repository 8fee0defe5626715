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

use std::sync::{Arc, RwLock};

use super::{
    Conn, DbRow, Store, dialect,
    pending::{Counter, Insert, Pending},
    store::load_events,
};
use crate::{
    Cursor, Keys, ListPage, ListQuery, Policy, PublicOrder, PublishedRow, ReporterCase,
    RunningClock, StageCounts, StoreError,
};
use embargo_core::{
    Case, CaseId, Timestamp, access,
    participant::Role,
    stats::{Compliance, Figures, Histogram, Step, Tally, day_of},
};
use sqlx::Row;

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX)
}

/// The policy before the server names one: the default acknowledgement
/// window, and no timers.
struct Defaults;

impl Policy for Defaults {
    fn ack_due(&self, case: &Case) -> Timestamp {
        case.ack_clock(embargo_core::sla::AckPolicy::default()).due
    }
    fn next_due(&self, _: &Case, _: Timestamp) -> Option<Timestamp> {
        None
    }
    fn fingerprint(&self) -> String {
        "defaults".into()
    }
}

/// The policy the writer uses, shared with the store's handles.
pub(crate) type SharedPolicy = Arc<RwLock<Arc<dyn Policy>>>;

pub(crate) fn default_policy() -> SharedPolicy {
    Arc::new(RwLock::new(Arc::new(Defaults)))
}

pub(crate) fn current(policy: &SharedPolicy) -> Arc<dyn Policy> {
    policy
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

fn grant_hash(master: &Keys, key: &str) -> String {
    master.lookup(&format!("grant:{key}"))
}

fn field_hash(master: &Keys, what: &str, value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        master.lookup(&format!("{what}:{value}"))
    }
}

fn version_of(case: &Case) -> i64 {
    i64::try_from(case.version).unwrap_or(i64::MAX)
}

fn coordinator(case: &Case) -> &str {
    case.participants
        .iter()
        .find(|p| p.role == Role::Coordinator)
        .map_or("", |p| p.person.as_str())
}

/// Writes the case's rows of the read model, with its timer at `due`
/// (`None`: the scheduler has nothing to do on it). What it reads and
/// deletes (the case's rows as they were) goes to `conn` at once, so
/// `pending` must hold nothing of this case; what it inserts waits in
/// `pending`. A `fresh` case has no rows yet (new, or the read model is
/// being rebuilt from empty tables): nothing is read or deleted.
pub(crate) async fn write(
    conn: &mut Conn,
    pending: &mut Pending,
    master: &Keys,
    policy: &dyn Policy,
    case: &Case,
    due: Option<Timestamp>,
    fresh: bool,
) -> Result<(), StoreError> {
    let id = case.id.as_str();
    let version = version_of(case);
    let acked = i64::from(case.acknowledged_at.is_some());
    let ack_due = policy.ack_due(case).as_second();
    let received = case.received_at.as_second();
    let severity = case.severity().map_or("", |s| s.name());
    let stage = case.stage().label();
    let was: Option<String> = if fresh {
        None
    } else {
        sqlx::query_scalar("SELECT stage FROM case_list WHERE case_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    };
    let stage_changed = was.as_deref() != Some(stage);
    if stage_changed {
        if let Some(was) = was {
            pending.count(STAGE_TOTALS, vec![was.into()], &[-1]);
        }
        pending.count(STAGE_TOTALS, vec![stage.into()], &[1]);
    }
    pending.insert(
        CASE_LIST,
        vec![
            id.into(),
            version.into(),
            acked.into(),
            ack_due.into(),
            received.into(),
            stage.into(),
            case.tlp().label().into(),
            severity.into(),
            field_hash(master, "project", &case.report.project).into(),
            field_hash(master, "person", coordinator(case)).into(),
            case.published_at.map(|t| t.as_second()).into(),
        ],
    );
    if !fresh {
        sqlx::query("DELETE FROM case_grants WHERE case_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    for grant in access::grants(case) {
        pending.insert(
            CASE_GRANTS,
            vec![
                grant_hash(master, &grant.key()).into(),
                acked.into(),
                ack_due.into(),
                received.into(),
                id.into(),
            ],
        );
    }
    write_figures(conn, pending, master, policy, case, fresh).await?;
    write_terms(conn, pending, master, case, fresh).await?;
    // What the world reads of a disclosed case is rendered again with each
    // of its changes (rare once it is public).
    if policy.publishes() && case.published_at.is_some() {
        if !fresh {
            sqlx::query("DELETE FROM public_parts WHERE case_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        if let Some(public) = policy.public(case) {
            for (part, body) in public.parts {
                pending.insert(
                    PUBLIC_PARTS,
                    vec![
                        part.into(),
                        id.into(),
                        nanos(public.published).into(),
                        nanos(public.modified).into(),
                        body.into(),
                    ],
                );
            }
        }
    }
    // Who reported a case never changes; its row follows the stage (a
    // rejection is a stage of its own).
    if stage_changed {
        write_reporters(conn, pending, master, case, fresh).await?;
    }
    match due {
        Some(due) => {
            pending.insert(
                TIMERS,
                vec![id.into(), due.as_second().into(), version.into()],
            );
        }
        None if !fresh => {
            sqlx::query("DELETE FROM timers WHERE case_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        None => {}
    }
    Ok(())
}

const STAGE_TOTALS: Counter = Counter {
    into: "INSERT INTO stage_totals (stage, n)",
    tail: "ON CONFLICT (stage) DO UPDATE SET n = stage_totals.n + excluded.n",
};
const CASE_LIST: Insert = Insert {
    into: "INSERT INTO case_list (case_id, version, acked, ack_due, received, stage, tlp, severity, project, coordinator, published)",
    tail: "ON CONFLICT (case_id) DO UPDATE SET version = excluded.version, acked = excluded.acked,
           ack_due = excluded.ack_due, received = excluded.received, stage = excluded.stage,
           tlp = excluded.tlp, severity = excluded.severity, project = excluded.project,
           coordinator = excluded.coordinator, published = excluded.published",
};
const CASE_GRANTS: Insert = Insert {
    into: "INSERT INTO case_grants (principal, acked, ack_due, received, case_id)",
    tail: "",
};
const TIMERS: Insert = Insert {
    into: "INSERT INTO timers (case_id, due_at, version)",
    tail: "ON CONFLICT (case_id) DO UPDATE SET due_at = excluded.due_at, version = excluded.version",
};
const REPORTER_CASES: Insert = Insert {
    into: "INSERT INTO reporter_cases (who, case_id, received, stage, rejected)",
    tail: "ON CONFLICT (who, case_id) DO NOTHING",
};
const CASE_FIGURES: Insert = Insert {
    into: "INSERT INTO case_figures (case_id, project, received, ack_due, acknowledged, triaged,
           fix_ready, fix_released, published, agreed_until, valid, screened)",
    tail: "ON CONFLICT (case_id) DO UPDATE SET project = excluded.project,
           received = excluded.received, ack_due = excluded.ack_due,
           acknowledged = excluded.acknowledged, triaged = excluded.triaged,
           fix_ready = excluded.fix_ready, fix_released = excluded.fix_released,
           published = excluded.published, agreed_until = excluded.agreed_until,
           valid = excluded.valid, screened = excluded.screened",
};
const CASE_CLOCKS: Insert = Insert {
    into: "INSERT INTO case_clocks (case_id, clock, due)",
    tail: "",
};
const PUBLIC_PARTS: Insert = Insert {
    into: "INSERT INTO public_parts (part, case_id, published, modified, body)",
    tail: "",
};
const HINTS_DUE: Insert = Insert {
    into: "INSERT INTO hints_due (case_id, version)",
    tail: "ON CONFLICT (case_id) DO UPDATE SET version = CASE WHEN excluded.version > hints_due.version
           THEN excluded.version ELSE hints_due.version END",
};
const TERM_COUNTS: Counter = Counter {
    into: "INSERT INTO term_counts (term, n)",
    tail: "ON CONFLICT (term) DO UPDATE SET n = term_counts.n + excluded.n",
};

/// Who reported a case, as keyed hashes: the address (lower case) and the
/// key whose signature on the report verified.
pub(crate) fn reporter_hashes(
    master: &Keys,
    email: Option<&str>,
    key: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = email.map(str::trim).filter(|e| !e.is_empty()) {
        out.push(field_hash(
            master,
            "reporter",
            &format!("email:{}", e.to_lowercase()),
        ));
    }
    if let Some(k) = key.map(str::trim).filter(|k| !k.is_empty()) {
        out.push(field_hash(
            master,
            "reporter",
            &format!("key:{}", k.to_uppercase()),
        ));
    }
    out
}

/// The case's rows of `reporter_cases`.
async fn write_reporters(
    conn: &mut Conn,
    pending: &mut Pending,
    master: &Keys,
    case: &Case,
    fresh: bool,
) -> Result<(), StoreError> {
    let id = case.id.as_str();
    if !fresh {
        sqlx::query("DELETE FROM reporter_cases WHERE case_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    let who = reporter_hashes(
        master,
        case.report.reporter_email.as_deref(),
        case.report.intake.signed_by.as_deref(),
    );
    let rejected = case.rejection.as_ref().map_or("", |r| r.reason.name());
    for w in who {
        pending.insert(
            REPORTER_CASES,
            vec![
                w.into(),
                id.into(),
                case.received_at.as_second().into(),
                case.stage().label().into(),
                rejected.into(),
            ],
        );
    }
    Ok(())
}

/// The case's row of `case_figures` and its rows of `case_clocks`.
async fn write_figures(
    conn: &mut Conn,
    pending: &mut Pending,
    master: &Keys,
    policy: &dyn Policy,
    case: &Case,
    fresh: bool,
) -> Result<(), StoreError> {
    let id = case.id.as_str();
    let mut f = embargo_core::stats::Figures::of(case, policy.ack_due(case));
    f.project = field_hash(master, "project", &f.project);
    let was = if fresh {
        None
    } else {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FIGURE_COLUMNS} FROM case_figures WHERE case_id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| figures_of_row(&r))
        .transpose()?
    };
    retally(conn, was.as_ref().map(Tally::of), Tally::of(&f)).await?;
    let secs = |t: Option<Timestamp>| t.map(|t| t.as_second());
    pending.insert(
        CASE_FIGURES,
        vec![
            id.into(),
            f.project.clone().into(),
            f.received.as_second().into(),
            f.ack_due.as_second().into(),
            secs(f.acknowledged).into(),
            secs(f.triaged).into(),
            secs(f.fix_ready).into(),
            secs(f.fix_released).into(),
            secs(f.published).into(),
            secs(f.agreed_until).into(),
            i64::from(f.valid).into(),
            secs(f.screened).into(),
        ],
    );
    if !fresh {
        sqlx::query("DELETE FROM case_clocks WHERE case_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    for (clock, due) in policy.running_clocks(case) {
        pending.insert(
            CASE_CLOCKS,
            vec![id.into(), clock.into(), due.as_second().into()],
        );
    }
    Ok(())
}

/// The columns of `case_figures`, in the order [`figures_of_row`] reads.
const FIGURE_COLUMNS: &str = "case_id, project, received, ack_due, acknowledged, triaged, \
     fix_ready, fix_released, published, agreed_until, valid, screened";

/// A row of `case_figures` ([`FIGURE_COLUMNS`]); `project` stays the keyed hash.
fn figures_of_row(r: &DbRow) -> Result<Figures, StoreError> {
    let at = |v: i64| Timestamp::from_second(v).map_err(|e| StoreError::Corrupt(e.to_string()));
    let maybe = |v: Option<i64>| v.map(at).transpose();
    let id: String = r.try_get(0)?;
    Ok(Figures {
        case: CaseId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        project: r.try_get(1)?,
        received: at(r.try_get(2)?)?,
        ack_due: at(r.try_get(3)?)?,
        acknowledged: maybe(r.try_get(4)?)?,
        triaged: maybe(r.try_get(5)?)?,
        fix_ready: maybe(r.try_get(6)?)?,
        fix_released: maybe(r.try_get(7)?)?,
        published: maybe(r.try_get(8)?)?,
        agreed_until: maybe(r.try_get(9)?)?,
        valid: r.try_get::<i64, _>(10)? != 0,
        screened: maybe(r.try_get(11)?)?,
    })
}

/// Moves the aggregates (`ack_days`, `step_months`) from the case's old
/// tally to its new one: only the parts that differ are written.
async fn retally(conn: &mut Conn, was: Option<Tally>, now: Tally) -> Result<(), StoreError> {
    let ack = |t: &Tally| {
        t.acknowledged_in_time
            .map(|in_time| (t.day, t.project.clone(), in_time))
    };
    let steps = |t: &Tally| {
        t.steps
            .iter()
            .map(|(step, b)| (t.month, *step, *b))
            .collect::<Vec<_>>()
    };
    let (old_ack, old_steps) = was
        .as_ref()
        .map_or((None, Vec::new()), |t| (ack(t), steps(t)));
    let (new_ack, new_steps) = (ack(&now), steps(&now));
    if old_ack != new_ack {
        for (part, sign) in [(old_ack, -1i64), (new_ack, 1)] {
            let Some((day, project, in_time)) = part else {
                continue;
            };
            let (in_time, late) = if in_time { (sign, 0) } else { (0, sign) };
            sqlx::query(
                "INSERT INTO ack_days (day, project, in_time, late) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (day, project) DO UPDATE SET in_time = ack_days.in_time + excluded.in_time,
                   late = ack_days.late + excluded.late",
            )
            .bind(day)
            .bind(&project)
            .bind(in_time)
            .bind(late)
            .execute(&mut *conn)
            .await?;
        }
    }
    let gone = old_steps
        .iter()
        .filter(|p| !new_steps.contains(p))
        .map(|p| (*p, -1));
    let came = new_steps
        .iter()
        .filter(|p| !old_steps.contains(p))
        .map(|p| (*p, 1));
    for ((month, step, b), delta) in gone.chain(came).collect::<Vec<_>>() {
        let hist: Option<String> =
            sqlx::query_scalar("SELECT hist FROM step_months WHERE month = $1 AND step = $2")
                .bind(month)
                .bind(step.name())
                .fetch_optional(&mut *conn)
                .await?;
        let mut hist: Histogram = match hist {
            Some(h) => serde_json::from_str(&h).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            None => Histogram::default(),
        };
        hist.add(b, delta);
        if hist.is_empty() {
            sqlx::query("DELETE FROM step_months WHERE month = $1 AND step = $2")
                .bind(month)
                .bind(step.name())
                .execute(&mut *conn)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO step_months (month, step, hist) VALUES ($1, $2, $3)
                 ON CONFLICT (month, step) DO UPDATE SET hist = excluded.hist",
            )
            .bind(month)
            .bind(step.name())
            .bind(serde_json::to_string(&hist).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A term index (`case_terms` or `search_terms`): the case's rows made
/// `terms` (as keyed hashes, `what` keeping the two apart). Returns the
/// hashes removed and added.
async fn index_terms(
    conn: &mut Conn,
    pending: &mut Pending,
    master: &Keys,
    index: &TermIndex,
    case: &Case,
    terms: Vec<String>,
    fresh: bool,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    use std::collections::BTreeSet;
    let id = case.id.as_str();
    let TermIndex {
        table,
        what,
        insert,
    } = *index;
    let new: BTreeSet<String> = terms.iter().map(|t| field_hash(master, what, t)).collect();
    let old: BTreeSet<String> = if fresh {
        BTreeSet::new()
    } else {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT term FROM {table} WHERE case_id = $1"
        )))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect()
    };
    let gone: Vec<String> = old.difference(&new).cloned().collect();
    let added: Vec<String> = new.difference(&old).cloned().collect();
    for term in &gone {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE term = $1 AND case_id = $2"
        )))
        .bind(term)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    for term in &added {
        pending.insert(insert, vec![term.as_str().into(), id.into()]);
    }
    Ok((gone, added))
}

/// A table of a case's terms, as keyed hashes: its name, the hash's
/// purpose and its insert.
#[derive(Clone, Copy)]
struct TermIndex {
    table: &'static str,
    what: &'static str,
    insert: Insert,
}

/// Open cases' terms, for duplicate hints.
const CASE_TERMS: TermIndex = TermIndex {
    table: "case_terms",
    what: "term",
    insert: Insert {
        into: "INSERT INTO case_terms (term, case_id)",
        tail: "",
    },
};

/// Every case's words, for search.
const SEARCH_TERMS: TermIndex = TermIndex {
    table: "search_terms",
    what: "search",
    insert: Insert {
        into: "INSERT INTO search_terms (term, case_id)",
        tail: "",
    },
};

/// The case's rows of `case_terms` (open cases, for duplicate hints),
/// with `term_counts` kept in step, and of `search_terms` (every case).
async fn write_terms(
    conn: &mut Conn,
    pending: &mut Pending,
    master: &Keys,
    case: &Case,
    fresh: bool,
) -> Result<(), StoreError> {
    let terms = embargo_core::duplicates::terms(case);
    let (gone, added) = index_terms(conn, pending, master, &CASE_TERMS, case, terms, fresh).await?;
    // What the case may duplicate changed (it was reported, triaged with
    // packages, retitled, closed): its hints are worked out again, after
    // the commit, by `hints_due`'s pass.
    if !gone.is_empty() || !added.is_empty() {
        pending.insert(
            HINTS_DUE,
            vec![
                case.id.as_str().into(),
                i64::try_from(case.version).unwrap_or(i64::MAX).into(),
            ],
        );
    }
    for term in gone {
        pending.count(TERM_COUNTS, vec![term.into()], &[-1]);
    }
    for term in added {
        pending.count(TERM_COUNTS, vec![term.into()], &[1]);
    }
    let searched = embargo_core::duplicates::search_terms(case);
    index_terms(conn, pending, master, &SEARCH_TERMS, case, searched, fresh).await?;
    Ok(())
}

/// A row's first two columns: a case id and its version.
fn id_and_version(r: &DbRow) -> Result<(CaseId, u64), StoreError> {
    let id: String = r.try_get(0)?;
    let v: i64 = r.try_get(1)?;
    Ok((
        CaseId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        u64::try_from(v).unwrap_or_default(),
    ))
}

impl Store {
    /// Uses `policy` for the read model from now on. When it differs (by
    /// fingerprint) from the one the read model was computed under, every
    /// case's rows are computed again, once; returns how many.
    pub async fn set_policy(&self, policy: Arc<dyn Policy>) -> Result<usize, StoreError> {
        *self
            .policy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = policy.clone();
        let stored: Option<String> =
            sqlx::query_scalar("SELECT policy FROM read_model WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        if stored.as_deref() == Some(policy.fingerprint().as_str()) {
            return Ok(0);
        }
        self.rebuild_read_model(policy.as_ref()).await
    }

    /// Computes every case's rows of the read model again from the log.
    /// Each timer is the policy's first instant after the case's last
    /// change, so whatever fell due since is due now, once (what the
    /// scheduler enqueues carries idempotency keys).
    pub(crate) async fn rebuild_read_model(
        &self,
        policy: &dyn Policy,
    ) -> Result<usize, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let mut conn = self.pool.acquire().await?;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, dialect::BEGIN_WRITE).await?;
        for table in [
            "case_list",
            "case_grants",
            "timers",
            "stage_totals",
            "case_figures",
            "case_clocks",
            "case_terms",
            "term_counts",
            "search_terms",
            "ack_days",
            "step_months",
            "reporter_cases",
            "public_parts",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM cases ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
        // Every table is empty: each case is fresh, and its rows go in
        // a few hundred cases a statement.
        let mut pending = Pending::default();
        for (n, id) in ids.iter().enumerate() {
            if n % 500 == 499 {
                pending.flush(&mut tx).await?;
            }
            let id = CaseId::new(id.as_str()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let events = load_events(&mut tx, Some(master), &id).await?;
            let Some(last) = events.last().map(|(_, e)| e.at) else {
                continue;
            };
            let case = Case::from_events(id.clone(), events.iter().map(|(_, e)| e))
                .map_err(|e| StoreError::Corrupt(format!("case {id}: {e}")))?;
            // Whatever fell due since the last change is due now.
            let due = policy.next_due(&case, last - jiff::SignedDuration::from_secs(1));
            write(&mut tx, &mut pending, master, policy, &case, due, true).await?;
        }
        pending.flush(&mut tx).await?;
        sqlx::query(
            "INSERT INTO read_model (id, policy) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET policy = excluded.policy",
        )
        .bind(policy.fingerprint())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// The figures of every case received at or after `since` (unix
    /// seconds), oldest first: the dashboard's window, one index range.
    /// Each `project` is the project's keyed hash ([`Store::project_key`]
    /// names it); the cost follows the window, not the archive.
    pub async fn figures_since(&self, since: i64) -> Result<Vec<Figures>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FIGURE_COLUMNS} FROM case_figures WHERE received >= $1 ORDER BY received, case_id"
        )))
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(figures_of_row).collect()
    }

    /// Acknowledgement compliance of the reports received at or after each
    /// of `windows` (unix seconds), per project (its keyed hash), as
    /// [`embargo_core::stats::ack_compliance`] counts it: the whole days
    /// from `ack_days`, the first day's reports and the unanswered ones
    /// from their rows. The cost follows the days and the unanswered
    /// reports of the window, not its reports.
    pub async fn ack_compliance(
        &self,
        windows: &[i64],
        now: Timestamp,
    ) -> Result<std::collections::BTreeMap<String, Vec<Compliance>>, StoreError> {
        let mut out: std::collections::BTreeMap<String, Vec<Compliance>> = Default::default();
        let count = |n: i64| u32::try_from(n).unwrap_or(0);
        for (w, since) in windows.iter().enumerate() {
            let first = day_of(Timestamp::from_second(*since).unwrap_or(Timestamp::UNIX_EPOCH));
            let next_day = (first + 1) * 86_400;
            let mut add = |project: String, settled: i64, in_time: i64| {
                let row = out
                    .entry(project)
                    .or_insert_with(|| vec![Compliance::default(); windows.len()]);
                if let Some(c) = row.get_mut(w) {
                    c.settled += count(settled);
                    c.in_time += count(in_time);
                }
            };
            let days = sqlx::query(
                "SELECT project, CAST(SUM(in_time) AS BIGINT), CAST(SUM(in_time + late) AS BIGINT) FROM ack_days
                 WHERE day > $1 GROUP BY project",
            )
            .bind(first)
            .fetch_all(&self.pool)
            .await?;
            for r in &days {
                add(r.try_get(0)?, r.try_get(2)?, r.try_get(1)?);
            }
            let edge = sqlx::query(
                "SELECT project, CAST(SUM(CASE WHEN acknowledged <= ack_due THEN 1 ELSE 0 END) AS BIGINT),
                        COUNT(*) FROM case_figures
                 WHERE received >= $1 AND received < $2 AND acknowledged IS NOT NULL GROUP BY project",
            )
            .bind(since)
            .bind(next_day.max(*since))
            .fetch_all(&self.pool)
            .await?;
            for r in &edge {
                add(r.try_get(0)?, r.try_get(2)?, r.try_get(1)?);
            }
            let late = sqlx::query(
                "SELECT project, COUNT(*) FROM case_figures
                 WHERE acknowledged IS NULL AND received >= $1 AND ack_due < $2 GROUP BY project",
            )
            .bind(since)
            .bind(now.as_second())
            .fetch_all(&self.pool)
            .await?;
            for r in &late {
                add(r.try_get(0)?, r.try_get(1)?, 0);
            }
        }
        Ok(out)
    }

    /// How long each step took for the reports of `since_month`
    /// ([`embargo_core::stats::month_of`]) and after: one histogram per
    /// step, merged from a row per month.
    pub async fn step_histograms(
        &self,
        since_month: i64,
    ) -> Result<Vec<(Step, Histogram)>, StoreError> {
        let rows = sqlx::query("SELECT step, hist FROM step_months WHERE month >= $1")
            .bind(since_month)
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<(Step, Histogram)> = Step::ALL
            .iter()
            .map(|s| (*s, Histogram::default()))
            .collect();
        for r in &rows {
            let step: String = r.try_get(0)?;
            let hist: String = r.try_get(1)?;
            let hist: Histogram =
                serde_json::from_str(&hist).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some((_, h)) = out.iter_mut().find(|(s, _)| s.name() == step) {
                h.merge(&hist);
            }
        }
        Ok(out)
    }

    /// The figures of the valid cases received at or after `since` whose
    /// exposure may be among the `limit` longest: the oldest still
    /// unpublished, and the disclosed ones that took longest (two index
    /// ranges of `limit` rows). [`embargo_core::stats::exposure`] orders
    /// them.
    pub async fn longest_exposures(
        &self,
        since: i64,
        limit: u32,
    ) -> Result<Vec<Figures>, StoreError> {
        let mut out = Vec::new();
        for order in [
            "published IS NULL AND received >= $1 ORDER BY received, case_id",
            "published IS NOT NULL AND received >= $1 ORDER BY published - received DESC, case_id",
        ] {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {FIGURE_COLUMNS} FROM case_figures WHERE valid = 1 AND {order} LIMIT $2"
            )))
            .bind(since)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.push(figures_of_row(r)?);
            }
        }
        Ok(out)
    }

    /// The cases that share at least one of `terms` (a case's
    /// `duplicates::lookup_terms`) with the case `exclude`, most terms in
    /// common first, at most `limit`, with their versions. A term more
    /// than `most` cases have is not looked up, so the cost is at most
    /// `terms × most` index entries, whatever the archive holds.
    pub async fn similar_cases(
        &self,
        terms: &[String],
        exclude: &CaseId,
        most: i64,
        limit: u32,
    ) -> Result<Vec<(CaseId, u64)>, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        // First which of the terms few enough cases share (one index probe
        // each), then only those terms' entries: one statement with the
        // join lets PostgreSQL's generic plan read every term's entries,
        // the common ones too, and drop them only after the join.
        let mut q = sqlx::QueryBuilder::new("SELECT term FROM term_counts WHERE n <= ");
        q.push_bind(most);
        q.push(" AND term IN (");
        let mut list = q.separated(", ");
        for term in terms {
            list.push_bind(field_hash(master, "term", term));
        }
        q.push(")");
        let rare: Vec<String> = q.build_query_scalar().fetch_all(&mut *conn).await?;
        if rare.is_empty() {
            return Ok(Vec::new());
        }
        // The versions are looked up for the cases kept, not for every
        // row that shares a term.
        let mut q = sqlx::QueryBuilder::new(
            "SELECT h.case_id, l.version FROM (
             SELECT t.case_id, COUNT(*) AS shared FROM case_terms t
             WHERE t.case_id != ",
        );
        q.push_bind(exclude.as_str());
        q.push(" AND t.term IN (");
        let mut list = q.separated(", ");
        for term in rare {
            list.push_bind(term);
        }
        q.push(") GROUP BY t.case_id ORDER BY shared DESC, t.case_id LIMIT ");
        q.push_bind(i64::from(limit));
        q.push(") h JOIN case_list l ON l.case_id = h.case_id ORDER BY h.shared DESC, h.case_id");
        q.build()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(id_and_version)
            .collect()
    }

    /// One public list's pieces, newest first by `order`, at most `limit`,
    /// from after `after` (a piece's case id and order instant, for the
    /// next page): one index range, however many cases are public.
    pub async fn public_parts(
        &self,
        part: &str,
        order: PublicOrder,
        after: Option<(Timestamp, &CaseId)>,
        limit: u32,
    ) -> Result<Vec<(CaseId, Timestamp, String)>, StoreError> {
        let column = match order {
            PublicOrder::Published => "published",
            PublicOrder::Modified => "modified",
        };
        let (at, after_id) = match after {
            Some((t, id)) => (nanos(t), id.as_str()),
            None => (i64::MAX, ""),
        };
        // Ties at one instant go by case id, descending like the instants,
        // so a page boundary inside them loses nothing; the row value makes
        // the rest of the list one index range.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT case_id, {column}, body FROM public_parts
             WHERE part = $1 AND ({column}, case_id) < ($2, $3)
             ORDER BY {column} DESC, case_id DESC LIMIT $4"
        )))
        .bind(part)
        .bind(at)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let id = CaseId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let at = Timestamp::from_nanosecond(i128::from(r.try_get::<i64, _>(1)?))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((id, at, r.try_get(2)?))
            })
            .collect()
    }

    /// When the newest change to any public advisory was (`None`: nothing
    /// is public): the end of one index.
    pub async fn public_modified(&self) -> Result<Option<Timestamp>, StoreError> {
        let max: Option<i64> = sqlx::query_scalar(
            "SELECT modified FROM public_parts WHERE part = 'list' ORDER BY modified DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        max.map(|n| {
            Timestamp::from_nanosecond(i128::from(n))
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    /// The cases whose duplicate hints are to be worked out again, with
    /// the version that asked, in id order, at most
    /// `limit` (one index range).
    pub async fn hints_due(&self, limit: u32) -> Result<Vec<(CaseId, u64)>, StoreError> {
        sqlx::query("SELECT case_id, version FROM hints_due ORDER BY case_id LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(id_and_version)
            .collect()
    }

    /// How many cases wait for their duplicate hints (for `/metrics`: the
    /// pass's backlog; it counts what is due, as `timers_due` does).
    pub async fn hints_backlog(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM hints_due")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Stores `case_id`'s duplicate hints as worked out at `version`: the
    /// pairs it was part of are replaced by `hints` (other case, rank;
    /// lower shown first), both ways, and its request is done unless a
    /// later version asked again meanwhile. One transaction.
    pub async fn set_hints(
        &self,
        case_id: &CaseId,
        version: u64,
        hints: &[(CaseId, i64)],
    ) -> Result<(), StoreError> {
        let id = case_id.as_str();
        let mut tx = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        sqlx::query("DELETE FROM case_hints WHERE case_id = $1 OR other_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if !hints.is_empty() {
            let mut q =
                sqlx::QueryBuilder::new("INSERT INTO case_hints (case_id, other_id, rank) ");
            q.push_values(
                hints.iter().flat_map(|(other, rank)| {
                    [(id, other.as_str(), *rank), (other.as_str(), id, *rank)]
                }),
                |mut row, (a, b, rank)| {
                    row.push_bind(a).push_bind(b).push_bind(rank);
                },
            );
            q.push(" ON CONFLICT (case_id, other_id) DO UPDATE SET rank = excluded.rank");
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM hints_due WHERE case_id = $1 AND version <= $2")
            .bind(id)
            .bind(i64::try_from(version).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The cases stored as `case_id`'s possible duplicates, most likely
    /// first, at most `limit`, with their versions: an index range and as
    /// many lookups, whatever the archive holds.
    pub async fn hints(
        &self,
        case_id: &CaseId,
        limit: u32,
    ) -> Result<Vec<(CaseId, u64)>, StoreError> {
        sqlx::query(
            "SELECT h.other_id, l.version FROM case_hints h
             JOIN case_list l ON l.case_id = h.other_id
             WHERE h.case_id = $1 ORDER BY h.rank, h.other_id LIMIT $2",
        )
        .bind(case_id.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(id_and_version)
        .collect()
    }

    /// The cases that have, for each word of a search, one of its terms
    /// (`duplicates::query_terms`), newest first, at most `limit`: index
    /// lookups of the words' hashes, never a walk of the archive.
    pub async fn search_cases(
        &self,
        words: &[Vec<String>],
        limit: u32,
    ) -> Result<Vec<(CaseId, u64)>, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::new(
            "SELECT l.case_id, l.version FROM case_list l WHERE l.case_id IN (",
        );
        for (i, alternatives) in words.iter().enumerate() {
            if i > 0 {
                q.push(" INTERSECT ");
            }
            q.push("SELECT case_id FROM search_terms WHERE term IN (");
            let mut list = q.separated(", ");
            for term in alternatives {
                list.push_bind(field_hash(master, "search", term));
            }
            q.push(")");
        }
        q.push(") ORDER BY l.received DESC, l.case_id LIMIT ");
        q.push_bind(i64::from(limit));
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(id_and_version)
            .collect()
    }

    /// The cases with a date ahead: a running clock, or an agreed
    /// disclosure moment not yet reached by publication, with their
    /// versions (for calendar feeds). Two index ranges: the cost follows
    /// the open cases, not the archive.
    pub async fn dated_cases(&self) -> Result<Vec<(CaseId, u64)>, StoreError> {
        sqlx::query(
            "SELECT l.case_id, l.version FROM case_list l WHERE l.case_id IN (
               SELECT case_id FROM case_clocks
               UNION
               SELECT case_id FROM case_figures
                 WHERE agreed_until IS NOT NULL AND published IS NULL)
             ORDER BY l.case_id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(id_and_version)
        .collect()
    }

    /// The keyed hash a project is stored under in the read model.
    pub fn project_key(&self, name: &str) -> Result<String, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        Ok(field_hash(master, "project", name))
    }

    /// The `limit` running clocks with the soonest deadlines, and how many
    /// are running in all (one index range, and a count of the index).
    pub async fn soonest_clocks(&self, limit: u32) -> Result<(Vec<RunningClock>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, clock, due FROM case_clocks ORDER BY due, case_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_clocks")
            .fetch_one(&self.pool)
            .await?;
        let clocks = rows
            .iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let due: i64 = r.try_get(2)?;
                Ok(RunningClock {
                    case: CaseId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    clock: r.try_get(1)?,
                    due: Timestamp::from_second(due)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((clocks, total))
    }

    /// A page of the cases the reader's principals are granted, in queue
    /// order, filtered in SQL. Its cost follows the page and the number of
    /// principals (one index range each), not the archive.
    pub async fn list_cases(&self, q: &ListQuery) -> Result<ListPage, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let limit = i64::from(q.limit.clamp(1, 500));
        let after = q.after.clone().unwrap_or(Cursor {
            acked: i64::MIN,
            ack_due: i64::MIN,
            received: i64::MIN,
            case_id: String::new(),
        });
        let mut principals: Vec<String> = q
            .principals
            .iter()
            .map(|g| grant_hash(master, &g.key()))
            .collect();
        principals.sort();
        principals.dedup();
        // One statement for every principal: each principal's keyset page
        // (the grants index gives it in order), merged.
        if principals.is_empty() {
            return Ok(ListPage {
                cases: Vec::new(),
                next: None,
            });
        }
        let one = |n: usize| {
            format!(
                "SELECT * FROM (SELECT g.acked, g.ack_due, g.received, g.case_id, l.version
                 FROM case_grants g JOIN case_list l ON l.case_id = g.case_id
                 WHERE g.principal = ${n}
                   AND (g.acked, g.ack_due, g.received, g.case_id) > ($1, $2, $3, $4)
                   AND ($5 = '' OR l.stage = $5)
                   AND ($6 = '' OR l.tlp = $6)
                   AND ($7 = '' OR l.severity = $7)
                   AND ($8 = '' OR l.project = $8)
                   AND ($9 = '' OR l.coordinator = $9)
                   AND ($11 = '' OR l.stage != $11)
                 ORDER BY g.acked, g.ack_due, g.received, g.case_id
                 LIMIT $10) AS one_principal"
            )
        };
        // UNION keeps a case two principals grant once (its grant rows
        // carry the same order columns), and only the page's rows (and the
        // one that says there is more) come back.
        let sql = format!(
            "SELECT * FROM ({}) AS merged ORDER BY 1, 2, 3, 4 LIMIT $10",
            (0..principals.len())
                .map(|i| one(12 + i))
                .collect::<Vec<_>>()
                .join(" UNION ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.acked)
            .bind(after.ack_due)
            .bind(after.received)
            .bind(after.case_id.clone())
            .bind(q.stage.clone().unwrap_or_default())
            .bind(q.tlp.clone().unwrap_or_default())
            .bind(q.severity.clone().unwrap_or_default())
            .bind(
                q.project
                    .as_deref()
                    .map_or(String::new(), |p| field_hash(master, "project", p)),
            )
            .bind(
                q.coordinator
                    .as_deref()
                    .map_or(String::new(), |p| field_hash(master, "person", p)),
            )
            .bind(limit + 1)
            .bind(q.not_stage.clone().unwrap_or_default());
        for principal in principals {
            query = query.bind(principal);
        }
        // The statement gives the page in queue order, each case once.
        let mut found = Vec::new();
        for r in query.fetch_all(&self.pool).await? {
            let cursor = Cursor {
                acked: r.try_get(0)?,
                ack_due: r.try_get(1)?,
                received: r.try_get(2)?,
                case_id: r.try_get(3)?,
            };
            found.push((cursor, r.try_get::<i64, _>(4)?));
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = found.len() > limit;
        found.truncate(limit);
        let next = if more {
            found.last().map(|(c, _)| c.clone())
        } else {
            None
        };
        let cases = found
            .into_iter()
            .map(|(c, v)| {
                let id = CaseId::new(c.case_id.as_str())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((id, u64::try_from(v).unwrap_or_default()))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(ListPage { cases, next })
    }

    /// The cases whose timer is due at `now`, earliest first, at most `limit`.
    pub async fn due_timers(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(CaseId, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, version FROM timers WHERE due_at <= $1 ORDER BY due_at, case_id LIMIT $2",
        )
        .bind(now.as_second())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(id_and_version).collect()
    }

    /// Sets the case's next timer after the scheduler did what was due
    /// (`None`: nothing more). Only if the case is still at `version`: a
    /// newer append has computed its own timer, which stands.
    pub async fn rearm_timer(
        &self,
        case_id: &CaseId,
        version: u64,
        next: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        match next {
            Some(t) => {
                sqlx::query("UPDATE timers SET due_at = $1 WHERE case_id = $2 AND version = $3")
                    .bind(t.as_second())
                    .bind(case_id.as_str())
                    .bind(version)
                    .execute(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("DELETE FROM timers WHERE case_id = $1 AND version = $2")
                    .bind(case_id.as_str())
                    .bind(version)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(())
    }

    /// How many timers are due at `now` (for `/metrics`: the scheduler's
    /// backlog; one index range).
    pub async fn timers_due(&self, now: Timestamp) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE due_at <= $1")
                .bind(now.as_second())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// How many timers are set (for `/metrics`).
    pub async fn timer_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM timers")
            .fetch_one(&self.pool)
            .await?)
    }

    /// One case's row of the published list: `None` unless it is
    /// published (one index lookup, for the public page of one advisory).
    pub async fn published_case(&self, id: &CaseId) -> Result<Option<PublishedRow>, StoreError> {
        let row = sqlx::query(
            "SELECT case_id, version, published FROM case_list
             WHERE case_id = $1 AND published IS NOT NULL",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let (case_id, version) = id_and_version(&r)?;
            Ok(PublishedRow {
                case_id,
                version,
                published: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// How many cases at `stages` (the stages of a report not yet
    /// answered) are past their acknowledgement deadline at `now` (unix
    /// seconds).
    pub async fn ack_breached(&self, stages: &[&str], now: i64) -> Result<i64, StoreError> {
        let mut n = 0;
        for stage in stages {
            n += sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM case_list WHERE acked = 0 AND stage = $1 AND ack_due < $2",
            )
            .bind(stage)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        }
        Ok(n)
    }

    /// The earlier reports of whoever sent with `email` or signed with
    /// `key` (a fingerprint), newest first, at most `limit`: (case, when
    /// received, its stage, the rejection reason's name or empty). One
    /// index range per identity.
    pub async fn reporter_history(
        &self,
        email: Option<&str>,
        key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ReporterCase>, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let mut out: Vec<ReporterCase> = Vec::new();
        for who in reporter_hashes(master, email, key) {
            let rows = sqlx::query(
                "SELECT case_id, received, stage, rejected FROM reporter_cases
                 WHERE who = $1 ORDER BY received DESC, case_id LIMIT $2",
            )
            .bind(who)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                let id: String = r.try_get(0)?;
                let case = CaseId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if out.iter().any(|c| c.case == case) {
                    continue;
                }
                out.push(ReporterCase {
                    case,
                    received: r.try_get(1)?,
                    stage: r.try_get(2)?,
                    rejected: r.try_get(3)?,
                });
            }
        }
        out.sort_by(|a, b| b.received.cmp(&a.received).then(a.case.cmp(&b.case)));
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(out)
    }

    /// The oldest report waiting at `stage` (when it was received), if any.
    pub async fn oldest_at(&self, stage: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar(
                "SELECT MIN(received) FROM case_list WHERE stage = $1 AND acked = 0",
            )
            .bind(stage)
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// How many cases are at `stage` (`Stage::label`): one row of the
    /// totals.
    pub async fn stage_count(&self, stage: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT n FROM stage_totals WHERE stage = $1")
                .bind(stage)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    /// How many cases are at each stage (kept with every append: one row
    /// per stage, whatever the archive's size).
    pub async fn stage_counts(&self) -> Result<StageCounts, StoreError> {
        let rows = sqlx::query("SELECT stage, n FROM stage_totals")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
