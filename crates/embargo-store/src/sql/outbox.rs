//! The durable outbox: jobs with idempotency keys, attempts recorded,
//! retries with backoff. The store only keeps the books; the server's
//! worker does the jobs.

use super::{Conn, Store, dialect};
use crate::{Attempt, Lane, NewJob, StoreError, outbox::Job};
use sqlx::Row;

fn label(key: &str) -> String {
    format!("outbox:{key}")
}

/// Adds `job` unless its key is there already; `true` if added.
pub(crate) async fn insert(
    conn: &mut Conn,
    master: &crate::Keys,
    job: &NewJob,
) -> Result<bool, StoreError> {
    insert_in(conn, master, job, Lane::Main).await
}

async fn insert_in(
    conn: &mut Conn,
    master: &crate::Keys,
    job: &NewJob,
    lane: Lane,
) -> Result<bool, StoreError> {
    let bytes = serde_json::to_vec(&job.payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let done = sqlx::query(
        "INSERT INTO outbox (key, kind, case_id, payload, created_at, next_attempt_at, lane)
         VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&job.key)
    .bind(&job.kind)
    .bind(job.case_id.as_deref())
    .bind(master.seal_bytes(&label(&job.key), &bytes)?)
    .bind(job.at)
    .bind(lane.name())
    .execute(&mut *conn)
    .await?;
    let added = done.rows_affected() > 0;
    if added && let Some(family) = family(&job.key) {
        sqlx::query(
            "INSERT INTO job_families (family, n) VALUES ($1, 1)
             ON CONFLICT (family) DO UPDATE SET n = job_families.n + 1",
        )
        .bind(family)
        .execute(&mut *conn)
        .await?;
    }
    Ok(added)
}

/// A job's family, counted for `/metrics`: its key up to the first `:`
/// (`ack-warning-50`, `ack-escalation`); a fan-out job (its key has a
/// `|`) counts in its parent only.
fn family(key: &str) -> Option<&str> {
    if key.contains('|') {
        return None;
    }
    key.split_once(':').map(|(f, _)| f)
}

impl Store {
    /// Enqueues a job unless one with `key` exists; whether it was added.
    pub async fn enqueue(
        &self,
        key: &str,
        kind: &str,
        case_id: Option<&str>,
        payload: &serde_json::Value,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.enqueue_in(Lane::Main, key, kind, case_id, payload, now)
            .await
    }

    /// Enqueues a job in `lane` unless one with `key` exists; whether it
    /// was added.
    pub async fn enqueue_in(
        &self,
        lane: Lane,
        key: &str,
        kind: &str,
        case_id: Option<&str>,
        payload: &serde_json::Value,
        now: i64,
    ) -> Result<bool, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let mut tx = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        super::keys::sync(&mut tx, master).await?;
        let job = NewJob {
            key: key.to_owned(),
            kind: kind.to_owned(),
            case_id: case_id.map(str::to_owned),
            payload: payload.clone(),
            at: now,
        };
        let inserted = insert_in(&mut tx, master, &job, lane).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Claims up to `limit` jobs of `lane` due at `now` for `worker`, oldest
    /// first, with a lease of `lease` seconds: until it ends no other claim
    /// returns them, and when it ends without the job being recorded (the
    /// worker died) they are due again.
    pub async fn claim_jobs(
        &self,
        lane: Lane,
        worker: &str,
        now: i64,
        lease: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        // Servers claiming at once take different jobs: on PostgreSQL the
        // rows another claim holds are skipped, and the outer condition is
        // checked again on the row as that claim left it.
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET next_attempt_at = $2 + $3, leased_by = $4
             WHERE id IN (SELECT id FROM outbox
               WHERE lane = $1 AND done_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
               ORDER BY next_attempt_at, id LIMIT $5{})
             AND done_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
             RETURNING id, key, kind, case_id, payload, attempts",
            dialect::SKIP_LOCKED
        )))
        .bind(lane.name())
        .bind(now)
        .bind(lease)
        .bind(worker)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.sort_by_key(|r| r.try_get::<i64, _>(0).unwrap_or_default());
        rows.iter()
            .map(|r| {
                let key: String = r.try_get(1)?;
                let sealed: Vec<u8> = r.try_get(4)?;
                let payload = serde_json::from_slice(&master.open_bytes(&label(&key), &sealed)?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(Job {
                    id: r.try_get(0)?,
                    key,
                    kind: r.try_get(2)?,
                    case_id: r.try_get(3)?,
                    payload,
                    attempts: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Extends `worker`'s lease on the jobs `ids` it is still doing to
    /// `until`, while it holds them: a live worker keeps its jobs however
    /// long a batch takes, and a dead one stops renewing, so its jobs are due
    /// again one lease after its last renewal. How many it still held.
    pub async fn renew_jobs(
        &self,
        ids: &[i64],
        worker: &str,
        until: i64,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let mut held = 0;
        for id in ids {
            held += sqlx::query(
                "UPDATE outbox SET next_attempt_at = $2
                 WHERE id = $1 AND leased_by = $3 AND done_at IS NULL AND failed_at IS NULL",
            )
            .bind(id)
            .bind(until)
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(held)
    }

    /// Records a finished job and its attempt, together, if `worker` still
    /// holds its lease: `false` when the lease ran out and another worker
    /// claimed the job (its outcome is that worker's to record).
    pub async fn job_done(&self, id: i64, worker: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let held = sqlx::query(
            "UPDATE outbox SET done_at = $2, attempts = attempts + 1, last_error = NULL
             WHERE id = $1 AND leased_by = $3 AND done_at IS NULL AND failed_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if held {
            attempt_row(&mut tx, id, now, "done", None).await?;
            tx.commit().await?;
        }
        Ok(held)
    }

    /// Records a failed attempt: retried at `retry_at`, or given up when
    /// `None`; as `job_done`, only while `worker` holds the lease.
    pub async fn job_failed(
        &self,
        id: i64,
        worker: &str,
        now: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (sql, at) = match retry_at {
            Some(at) => (
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
                 WHERE id = $1 AND leased_by = $4 AND done_at IS NULL AND failed_at IS NULL",
                at,
            ),
            None => (
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, failed_at = $3
                 WHERE id = $1 AND leased_by = $4 AND done_at IS NULL AND failed_at IS NULL",
                now,
            ),
        };
        let held = sqlx::query(sql)
            .bind(id)
            .bind(error)
            .bind(at)
            .bind(worker)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if held {
            let outcome = if retry_at.is_some() {
                "retry"
            } else {
                "failed"
            };
            attempt_row(&mut tx, id, now, outcome, Some(error)).await?;
            tx.commit().await?;
        }
        Ok(held)
    }

    /// The case's jobs that were given up after their last attempt, by
    /// when: `(key, kind, attempts, failed_at, last error)`.
    pub async fn failed_jobs(
        &self,
        case_id: &str,
    ) -> Result<Vec<(String, String, i64, i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, kind, attempts, failed_at, COALESCE(last_error, '') FROM outbox
             WHERE case_id = $1 AND failed_at IS NOT NULL ORDER BY failed_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                ))
            })
            .collect()
    }

    /// Every attempt on a case's jobs, oldest first.
    pub async fn attempts_for_case(&self, case_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.key, a.at, a.outcome, a.error FROM outbox_attempts a JOIN outbox o ON o.id = a.job_id
             WHERE o.case_id = $1 ORDER BY a.id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Attempt {
                    key: r.try_get(0)?,
                    at: r.try_get(1)?,
                    outcome: r.try_get(2)?,
                    error: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Jobs not yet done (waiting or retrying), and those given up.
    pub async fn outbox_depth(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            // Two ranges of the `outbox_due` index: what is waiting and what
            // was given up, never the jobs done.
            "SELECT (SELECT COUNT(*) FROM outbox WHERE done_at IS NULL AND failed_at IS NULL),
                    (SELECT COUNT(*) FROM outbox WHERE done_at IS NULL AND failed_at IS NOT NULL)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

impl Store {
    /// Whether a job with exactly this key exists (any state).
    pub async fn job_exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT) FROM outbox WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// How many jobs (any state) have keys starting with `prefix`, leaving
    /// out their per-webhook copies.
    pub async fn count_jobs(&self, prefix: &str) -> Result<i64, StoreError> {
        // Summed from the families' totals `insert` keeps: a handful of
        // rows, whatever the number of jobs.
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM job_families WHERE substr(family, 1, length($1)) = $1",
        )
        .bind(prefix.trim_end_matches(':'))
        .fetch_one(&self.pool)
        .await?)
    }
}

/// One attempt of job `id` in `outbox_attempts`, in the transaction that
/// records its outcome on the job.
async fn attempt_row(
    tx: &mut Conn,
    id: i64,
    now: i64,
    outcome: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO outbox_attempts (job_id, at, outcome, error) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(now)
        .bind(outcome)
        .bind(error)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
