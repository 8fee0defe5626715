//! Secrets of release work: git credentials for built-in forks and the
//! tokens of private calendar feeds. Only SHA-256 hashes are kept.

use super::Store;
use crate::StoreError;
use sqlx::Row;

impl Store {
    /// Sets (replacing any earlier one) the hash of `person`'s credential
    /// for the built-in fork of `project` in `case_id`.
    pub async fn put_fork_credential(
        &self,
        case_id: &str,
        project: &str,
        person: &str,
        secret_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO fork_credentials (case_id, project, person, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (case_id, project, person) DO UPDATE SET secret_hash = $4, created_at = $5",
        )
        .bind(case_id)
        .bind(project)
        .bind(person)
        .bind(secret_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The hash of `person`'s credential for that fork, if any.
    pub async fn fork_credential(
        &self,
        case_id: &str,
        project: &str,
        person: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT secret_hash FROM fork_credentials WHERE case_id = $1 AND project = $2 AND person = $3",
        )
        .bind(case_id)
        .bind(project)
        .bind(person)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("secret_hash")).transpose()?)
    }

    /// Forgets every credential of a case's fork of `project` (the fork is gone).
    pub async fn drop_fork_credentials(
        &self,
        case_id: &str,
        project: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM fork_credentials WHERE case_id = $1 AND project = $2")
            .bind(case_id)
            .bind(project)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets `person`'s calendar token (replacing the old one).
    pub async fn put_calendar_token(
        &self,
        person: &str,
        token_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM calendar_tokens WHERE person = $1")
            .bind(person)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO calendar_tokens (token_hash, person, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(person)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whose calendar a token opens.
    pub async fn calendar_owner(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT person FROM calendar_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("person")).transpose()?)
    }
}
