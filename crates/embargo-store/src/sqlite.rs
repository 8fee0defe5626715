//! The store on embedded SQLite, the default: one file in the data
//! directory, no set-up.

use std::path::Path;

use sqlx::{
    Connection, SqliteConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{KeySource, MasterKey, StoreError};

pub(crate) type Conn = sqlx::SqliteConnection;
pub(crate) type Options = sqlx::sqlite::SqliteConnectOptions;
pub(crate) type Pool = sqlx::SqlitePool;
pub(crate) type DbRow = sqlx::sqlite::SqliteRow;

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

/// A connection for a unit test of the code in `sql/`: an empty database
/// in memory.
#[cfg(test)]
pub(crate) async fn scratch() -> Option<Conn> {
    Some(Conn::connect("sqlite::memory:").await.unwrap())
}

/// What SQLite says differently.
pub(crate) mod dialect {
    use super::Pool;
    use crate::StoreError;

    /// Begins a transaction that writes: IMMEDIATE takes the write lock
    /// before the first read, so what it reads stays true until it commits.
    pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

    /// What a claim's subquery adds so that concurrent claims take
    /// different rows: nothing, SQLite has one writer at a time.
    pub(crate) const SKIP_LOCKED: &str = "";

    pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
        (1, include_str!("../migrations/sqlite/0001_events.sql")),
        (2, include_str!("../migrations/sqlite/0002_api_tokens.sql")),
        (3, include_str!("../migrations/sqlite/0003_accounts.sql")),
        (
            4,
            include_str!("../migrations/sqlite/0004_status_texts.sql"),
        ),
        (5, include_str!("../migrations/sqlite/0005_case_keys.sql")),
        (6, include_str!("../migrations/sqlite/0006_intake.sql")),
        (7, include_str!("../migrations/sqlite/0007_channels.sql")),
        (8, include_str!("../migrations/sqlite/0008_outbox.sql")),
        (
            9,
            include_str!("../migrations/sqlite/0009_person_prefs.sql"),
        ),
        (10, include_str!("../migrations/sqlite/0010_release.sql")),
        (
            11,
            include_str!("../migrations/sqlite/0011_lookup_hashed.sql"),
        ),
        (
            12,
            include_str!("../migrations/sqlite/0012_signin_unknown.sql"),
        ),
        (
            13,
            include_str!("../migrations/sqlite/0013_health_probe.sql"),
        ),
        (14, include_str!("../migrations/sqlite/0014_read_model.sql")),
        (15, include_str!("../migrations/sqlite/0015_figures.sql")),
        (16, include_str!("../migrations/sqlite/0016_job_lanes.sql")),
        (17, include_str!("../migrations/sqlite/0017_aggregates.sql")),
        (
            18,
            include_str!("../migrations/sqlite/0018_coordination.sql"),
        ),
        (19, include_str!("../migrations/sqlite/0019_search.sql")),
        (
            20,
            include_str!("../migrations/sqlite/0020_project_release.sql"),
        ),
        (
            21,
            include_str!("../migrations/sqlite/0021_recovery_codes.sql"),
        ),
        (22, include_str!("../migrations/sqlite/0022_backups.sql")),
        (
            23,
            include_str!("../migrations/sqlite/0023_key_rotation.sql"),
        ),
        (24, include_str!("../migrations/sqlite/0024_screening.sql")),
        (
            25,
            include_str!("../migrations/sqlite/0025_quarantine_total.sql"),
        ),
        (26, include_str!("../migrations/sqlite/0026_case_hints.sql")),
        (
            27,
            include_str!("../migrations/sqlite/0027_public_parts.sql"),
        ),
    ];

    /// The values of `column` in a group as one JSON array (`[]` for none).
    pub(crate) fn json_list(column: &str) -> String {
        format!("json_group_array({column})")
    }

    /// SQLite's own check of the file: `ok`, or what is wrong.
    pub(crate) async fn integrity_check(pool: &Pool) -> Result<String, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(pool)
            .await?;
        Ok(rows.join("; "))
    }
}

/// Whether a connection going back to the pool may be used again: not
/// when a failed COMMIT (a full disk) left it inside a transaction, where
/// every later transaction on it would fail until a restart. Such a
/// connection is closed and the pool opens a fresh one.
fn sound_after_use(
    conn: &mut SqliteConnection,
    _: sqlx::pool::PoolConnectionMetadata,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    use sqlx_core::transaction::TransactionManager;
    let sound = sqlx::sqlite::SqliteTransactionManager::get_transaction_depth(conn) == 0;
    Box::pin(async move { Ok(sound) })
}

/// The database and its WAL and shared-memory files are the owner's alone
/// (0600): a new database is created so (SQLite gives the other two the
/// database file's mode), and an older one is put right.
fn private_files(path: &Path, create: bool) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::Unavailable(format!("{}: {e}", path.display()));
        if create && !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            // The WAL and shared-memory files come and go with connections
            // (another store on this file, closing, removes them between a
            // look and a chmod): one that is gone needs no mode. A missing
            // database is for the connection below to report.
            match std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Unavailable(format!("{}: {e}", file.display())));
                }
                Ok(()) => {}
            }
        }
    }
    Ok(())
}

fn options(path: &Path, create: bool) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
}

/// Writes a consistent copy of the database at `path` to `target` (a new
/// file) while a server goes on writing to it: SQLite's `VACUUM INTO` reads
/// one snapshot, over a read-only connection (no migration, no writer).
pub async fn snapshot(path: &Path, target: &Path) -> Result<(), StoreError> {
    let target = target
        .to_str()
        .ok_or_else(|| StoreError::Unavailable(format!("{}: not UTF-8", target.display())))?;
    let mut conn =
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path).read_only(true))
            .await?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await?;
    Ok(())
}

impl Store {
    /// Opens (creating if asked) the database at `path`, migrates it and
    /// starts the store on it.
    pub(crate) async fn open(
        path: &Path,
        create: bool,
        available: Vec<MasterKey>,
        source: Option<KeySource>,
    ) -> Result<Self, StoreError> {
        private_files(path, create)?;
        let mut writer_conn = SqliteConnection::connect_with(&options(path, create)).await?;
        store::migrate(&mut writer_conn).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A local file needs no round trip to prove the connection
            // alive before each use (sqlx's default pings its thread: one
            // more hand-off per read). A connection a failed COMMIT left
            // unsound is closed on release instead.
            .test_before_acquire(false)
            .after_release(sound_after_use)
            .connect_with(options(path, false))
            .await?;
        Store::start(writer_conn, options(path, false), pool, available, source).await
    }
}
