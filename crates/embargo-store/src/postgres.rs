//! The store on PostgreSQL: one database that several servers of a
//! deployment share.
//!
//! Where SQLite has one writer at a time by its nature, here every
//! transaction that writes first takes one advisory lock
//! ([`dialect::BEGIN_WRITE`]): writes are one sequence across servers, so
//! the hash chain has no gaps and a read-then-write stays true until its
//! commit, as on SQLite.

use sqlx::{
    Connection, PgConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{KeySource, MasterKey, StoreError};

pub(crate) type Conn = sqlx::PgConnection;
pub(crate) type Options = sqlx::postgres::PgConnectOptions;
pub(crate) type Pool = sqlx::PgPool;
pub(crate) type DbRow = sqlx::postgres::PgRow;

#[path = "sql/accounts.rs"]
mod accounts;
#[path = "sql/chain.rs"]
mod chain;
#[path = "sql/channels.rs"]
mod channels;
#[path = "sql/coord.rs"]
mod coord;
#[path = "sql/intake.rs"]
mod intake;
#[path = "sql/keys.rs"]
mod keys;
#[path = "sql/outbox.rs"]
mod outbox;
#[path = "sql/pending.rs"]
mod pending;
#[path = "sql/read.rs"]
mod read;
#[path = "sql/release.rs"]
mod release;
#[path = "sql/store.rs"]
mod store;

pub(crate) use store::Store;

/// A connection for a unit test of the code in `sql/`: the cluster that
/// `EMBARGO_TEST_POSTGRES` names (`scripts/test` starts one). Without it
/// the test is skipped, unless `CI` says the suite must be whole.
#[cfg(test)]
pub(crate) async fn scratch() -> Option<Conn> {
    match std::env::var("EMBARGO_TEST_POSTGRES") {
        Ok(url) => Some(Conn::connect(&url).await.unwrap()),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI needs EMBARGO_TEST_POSTGRES: run scripts/test")
        }
        Err(_) => None,
    }
}

/// What PostgreSQL says differently.
pub(crate) mod dialect {
    use super::Pool;
    use crate::StoreError;

    /// Begins a transaction that writes, and takes the deployment's write
    /// lock (an advisory lock held until the transaction ends).
    pub(crate) const BEGIN_WRITE: &str = "BEGIN; SELECT pg_advisory_xact_lock(7106)";

    /// What a claim's subquery adds so that concurrent claims take
    /// different rows: rows another claim has locked are passed over.
    pub(crate) const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

    /// The schema, one migration per change as for SQLite; numbered on
    /// their own (a PostgreSQL deployment starts at the first).
    pub(crate) const MIGRATIONS: &[(i64, &str)] =
        &[(1, include_str!("../migrations/postgres/0001_schema.sql"))];

    /// The values of `column` in a group as one JSON array (`[]` for none).
    pub(crate) fn json_list(column: &str) -> String {
        format!("COALESCE(json_agg({column})::text, '[]')")
    }

    /// PostgreSQL checks its pages itself; this asks that the database
    /// answers.
    pub(crate) async fn integrity_check(pool: &Pool) -> Result<String, StoreError> {
        let ok: String = sqlx::query_scalar("SELECT 'ok'").fetch_one(pool).await?;
        Ok(ok)
    }
}

impl Store {
    /// Connects to the database at `url`, migrates it and starts the store
    /// on it.
    pub(crate) async fn open(
        url: &str,
        connections: u32,
        available: Vec<MasterKey>,
        source: Option<KeySource>,
    ) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::Unavailable(format!("database URL: {e}")))?;
        let mut writer_conn = PgConnection::connect_with(&options).await?;
        store::migrate(&mut writer_conn).await?;
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .connect_with(options.clone())
            .await?;
        Store::start(writer_conn, options, pool, available, source).await
    }
}
