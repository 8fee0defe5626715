//! Opens the store under test on the backend this run is for: SQLite in
//! the test's directory, or, with `EMBARGO_TEST_BACKEND=postgres`, a
//! database of its own on the cluster `EMBARGO_TEST_POSTGRES` names (the
//! throwaway one `scripts/test` starts). A path names one database, so a
//! test that opens its directory again finds what it wrote.

use std::path::Path;

use embargo_store::{MasterKey, Store, StoreError};
use sha2::{Digest, Sha256};
use sqlx::Connection;

/// Whether this run is on PostgreSQL.
#[allow(dead_code)]
pub fn on_postgres() -> bool {
    std::env::var("EMBARGO_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// `Store::open` on this run's backend.
pub async fn open(
    path: &Path,
    create: bool,
    master: Option<MasterKey>,
) -> Result<Store, StoreError> {
    if !on_postgres() {
        return Store::open(path, create, master).await;
    }
    let url = database(path, create).await;
    Store::connect(&url, master.into_iter().collect(), None).await
}

/// The URL of the database for `path`, made first if `create`.
async fn database(path: &Path, create: bool) -> String {
    let admin = std::env::var("EMBARGO_TEST_POSTGRES").expect(
        "EMBARGO_TEST_BACKEND=postgres needs EMBARGO_TEST_POSTGRES (scripts/test sets both)",
    );
    let name = format!(
        "t_{}",
        &hex::encode(Sha256::digest(path.as_os_str().as_encoded_bytes()))[..20]
    );
    if create {
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&name)
                .fetch_optional(&mut conn)
                .await
                .unwrap();
        if exists.is_none() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    let (base, _) = admin
        .rsplit_once('/')
        .expect("a database URL ends in /NAME");
    format!("{base}/{name}")
}
