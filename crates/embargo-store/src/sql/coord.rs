//! Coordination in the database, so that several servers of one
//! deployment share it: rate counts per key in a fixed window, and leases
//! for one-at-a-time work. Each is one statement, atomic on its own.

use super::Store;
use crate::StoreError;
use sqlx::Row;

impl Store {
    /// Counts one attempt under `key` (hashed with the master key: a
    /// source address is not stored) in a window of `window` seconds that
    /// starts with its first attempt. Returns the window's start and how
    /// many attempts it holds now, this one included.
    pub async fn count_attempt(
        &self,
        key: &str,
        now: i64,
        window: i64,
    ) -> Result<(i64, i64), StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let row = sqlx::query(
            "INSERT INTO rate_counts (key, window_start, n) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
               n = CASE WHEN rate_counts.window_start <= $2 - $3 THEN 1 ELSE rate_counts.n + 1 END,
               window_start = CASE WHEN rate_counts.window_start <= $2 - $3 THEN $2
                                   ELSE rate_counts.window_start END
             RETURNING window_start, n",
        )
        .bind(master.lookup(&format!("rate:{key}")))
        .bind(now)
        .bind(window)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Forgets up to `limit` counts whose window started before `before`;
    /// returns how many.
    pub async fn forget_attempts(&self, before: i64, limit: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM rate_counts WHERE key IN
               (SELECT key FROM rate_counts WHERE window_start < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Takes (or renews) the lease `name` for `holder` until `now + ttl`:
    /// `true` when it is `holder`'s now; `false` while another holds an
    /// unexpired one.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        ttl: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3 + $4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE leases.until <= $3 OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now)
        .bind(ttl)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the lease `name` up, if `holder` has it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
