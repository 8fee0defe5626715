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
    Store::connect(&url, 8, master.into_iter().collect(), None).await
}

/// The URL of `path`'s PostgreSQL database (made by [`open`]).
#[allow(dead_code)]
pub async fn postgres_url(path: &Path) -> String {
    database(path, false).await
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
        return embargo_store::testing::postgres_database(&admin, &name)
            .await
            .unwrap();
    }
    let (base, _) = admin
        .rsplit_once('/')
        .expect("a database URL ends in /NAME");
    format!("{base}/{name}")
}

/// Every byte the database at `path` keeps at rest: the SQLite file and its
/// WAL, or on PostgreSQL the value of every text and byte column of every
/// table (what a dump or the data files would hold in clear).
#[allow(dead_code)]
pub async fn at_rest(path: &Path) -> Vec<u8> {
    if !on_postgres() {
        let mut bytes = std::fs::read(path).unwrap();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        bytes.extend(std::fs::read(Path::new(&wal)).unwrap_or_default());
        return bytes;
    }
    embargo_store::testing::postgres_at_rest(&database(path, false).await)
        .await
        .unwrap()
}

/// A connection of its own to the database at `path`, beside the store's
/// (to change what the store wrote behind its back, or read its tables).
#[allow(dead_code)]
pub enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// A raw connection to the database at `path`.
#[allow(dead_code)]
pub async fn raw(path: &Path) -> Raw {
    if on_postgres() {
        Raw::Postgres(
            sqlx::PgConnection::connect(&database(path, false).await)
                .await
                .unwrap(),
        )
    } else {
        Raw::Sqlite(
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap(),
        )
    }
}

#[allow(dead_code)]
impl Raw {
    /// Runs `sql` (one or more statements, no parameters).
    pub async fn exec(&mut self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(c) => drop(sqlx::raw_sql(sql).execute(c).await.unwrap()),
            Raw::Postgres(c) => drop(sqlx::raw_sql(sql).execute(c).await.unwrap()),
        }
    }

    /// The one number `sql` returns.
    pub async fn number(&mut self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
            Raw::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        }
    }

    /// The rows `sql` returns, each value as text (`NULL` for none).
    pub async fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        use sqlx::Row;
        fn text<R: Row>(r: &R) -> Vec<String>
        where
            usize: sqlx::ColumnIndex<R>,
            for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
            for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        {
            (0..r.len())
                .map(|i| {
                    r.try_get::<Option<String>, _>(i)
                        .or_else(|_| {
                            r.try_get::<Option<i64>, _>(i)
                                .map(|v| v.map(|v| v.to_string()))
                        })
                        .unwrap()
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect()
        }
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(c) => sqlx::query(sql)
                .fetch_all(c)
                .await
                .unwrap()
                .iter()
                .map(text)
                .collect(),
            Raw::Postgres(c) => sqlx::query(sql)
                .fetch_all(c)
                .await
                .unwrap()
                .iter()
                .map(text)
                .collect(),
        }
    }
}
