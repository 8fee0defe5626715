//! The channel inventory: what each channel is, its sealed settings, and
//! what its checks last saw.

use super::{DbRow, Store, dialect};
use crate::{ChannelRow, StoreError};
use sqlx::Row;

fn label(name: &str) -> String {
    format!("channel:{name}")
}

impl Store {
    fn channel_row(&self, r: &DbRow) -> Result<ChannelRow, StoreError> {
        let name: String = r.try_get(2)?;
        let sealed: Option<Vec<u8>> = r.try_get(4)?;
        let settings = match sealed {
            Some(s) => {
                let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
                let bytes = master.open_bytes(&label(&name), &s)?;
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => serde_json::Value::Null,
        };
        Ok(ChannelRow {
            id: r.try_get(0)?,
            kind: r.try_get(1)?,
            name,
            scope: r.try_get(3)?,
            settings,
            interval_seconds: r.try_get(5)?,
            created_at: r.try_get(6)?,
            last_check_at: r.try_get(7)?,
            last_ok_at: r.try_get(8)?,
            last_error: r.try_get(9)?,
            last_message_at: r.try_get(10)?,
            canary_token: r.try_get(11)?,
            canary_sent_at: r.try_get(12)?,
            canary_back_at: r.try_get(13)?,
        })
    }

    /// Adds a channel; its settings are sealed.
    pub async fn add_channel(
        &self,
        kind: &str,
        name: &str,
        scope: &str,
        settings: &serde_json::Value,
        interval_seconds: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        let master = self.master.as_deref().ok_or(StoreError::NoKey)?;
        let mut tx = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        super::keys::sync(&mut tx, master).await?;
        let sealed = if settings.is_null() {
            None
        } else {
            let bytes =
                serde_json::to_vec(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Some(master.seal_bytes(&label(name), &bytes)?)
        };
        let id = sqlx::query_scalar(
            "INSERT INTO channels (kind, name, scope, settings, interval_seconds, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(kind)
        .bind(name)
        .bind(scope)
        .bind(sealed)
        .bind(interval_seconds)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Corrupt(format!("a channel named `{name}` exists already"))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every channel, by name.
    pub async fn channels(&self) -> Result<Vec<ChannelRow>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT id, kind, name, scope, settings, interval_seconds, created_at, last_check_at, ",
            "last_ok_at, last_error, last_message_at, canary_token, canary_sent_at, canary_back_at ",
            "FROM channels ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| self.channel_row(r)).collect()
    }

    /// Removes a channel by name; whether it existed.
    pub async fn remove_channel(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM channels WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a check's outcome.
    pub async fn record_check(
        &self,
        id: i64,
        at: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE channels SET last_check_at = $2, last_error = $3,
               last_ok_at = CASE WHEN $3 IS NULL THEN $2 ELSE last_ok_at END
             WHERE id = $1",
        )
        .bind(id)
        .bind(at)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that a channel carried a message.
    pub async fn record_channel_message(&self, kind: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE channels SET last_message_at = $2 WHERE kind = $1")
            .bind(kind)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that a channel's poll carried a message.
    pub async fn record_message_on(&self, id: i64, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE channels SET last_message_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A canary went out.
    pub async fn canary_sent(&self, id: i64, token: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE channels SET canary_token = $2, canary_sent_at = $3 WHERE id = $1")
            .bind(id)
            .bind(token)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The canary with `token` came back.
    pub async fn canary_back(&self, id: i64, token: &str, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE channels SET canary_back_at = $3, canary_token = NULL WHERE id = $1 AND canary_token = $2",
        )
        .bind(id)
        .bind(token)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
