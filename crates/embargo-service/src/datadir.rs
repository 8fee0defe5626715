//! The data directory: created complete on first start, checked on every start.

use std::path::{Path, PathBuf};

use embargo_pgp::IntakeKey;
use embargo_store::{MasterKey, Store};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Clock, Config, ServerError, config::DEFAULT_FILE};

/// The configuration file.
pub const CONFIG: &str = "embargo.toml";
/// The intake key (secret), armored.
pub const KEY: &str = "intake-key.asc";
/// The database.
pub const DB: &str = "embargo.db";
/// The master key that wraps every case's data key. Kept out of the database;
/// back it up separately from it. `[keys] master_key` may put it elsewhere.
pub const MASTER_KEY: &str = "master.key";

/// The master key file the configuration names (`[keys] master_key`,
/// absolute or under the data directory).
pub fn master_key_path(dir: &Path, config: &Config) -> PathBuf {
    dir.join(&config.keys.master_key)
}

/// During a master key rotation, the new key, beside the current one.
pub fn next_key_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// The master keys at `path`: the new one first during a rotation, then
/// the current one (the database says which seals).
pub fn read_master_keys(path: &Path) -> Result<Vec<MasterKey>, String> {
    let mut keys = Vec::new();
    for file in [next_key_path(path), path.to_owned()] {
        match std::fs::read_to_string(&file) {
            Ok(text) => keys
                .push(MasterKey::from_hex(&text).map_err(|e| format!("{}: {e}", file.display()))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", file.display())),
        }
    }
    if keys.is_empty() {
        return Err(format!("{}: no master key there", path.display()));
    }
    Ok(keys)
}

/// Reads the master keys again when the store meets a rotation another
/// process started or finished.
pub fn key_source(path: PathBuf) -> embargo_store::KeySource {
    std::sync::Arc::new(move || read_master_keys(&path))
}

/// Where a deployment keeps its cases.
#[derive(Clone)]
pub enum Database {
    /// SQLite, this file (in the data directory).
    Sqlite(PathBuf),
    /// PostgreSQL at this URL, shared by every server of the deployment.
    Postgres {
        /// Where.
        url: String,
        /// How many connections this server keeps for reads.
        connections: u32,
    },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "SQLite at {}", path.display()),
            // The URL may carry a password: only where it points.
            Database::Postgres { url, .. } => write!(f, "PostgreSQL at {}", redacted(url)),
        }
    }
}

pub use crate::config::{check_database_url, redacted};

/// The database of the data directory `dir`: `chosen` (`--database`) if
/// given, else `EMBARGO_DATABASE`, else `[storage] database`, else SQLite
/// in the directory. Every command that opens the store asks here.
pub fn database(
    dir: &Path,
    config: &Config,
    chosen: Option<&str>,
) -> Result<Database, ServerError> {
    let from_env = std::env::var("EMBARGO_DATABASE")
        .ok()
        .filter(|v| !v.is_empty());
    match chosen
        .or(from_env.as_deref())
        .or(config.storage.database.as_deref())
    {
        Some(url) => {
            check_database_url(url).map_err(|problem| dir_err(dir, problem))?;
            Ok(Database::Postgres {
                url: url.to_owned(),
                connections: config.storage.connections,
            })
        }
        None => Ok(Database::Sqlite(dir.join(DB))),
    }
}

/// Opens the store on `db` with the master keys (and where to read them
/// again during a rotation).
pub async fn open_store(
    db: &Database,
    masters: Vec<MasterKey>,
    source: Option<embargo_store::KeySource>,
) -> Result<Store, embargo_store::StoreError> {
    match db {
        Database::Sqlite(path) => Store::open_with_keys(path, false, masters, source).await,
        Database::Postgres { url, connections } => {
            Store::connect(url, *connections, masters, source).await
        }
    }
}

/// Copies the SQLite deployment of the data directory `dir` into the new,
/// empty PostgreSQL database at `to` (`embargo migrate`): every table as
/// stored, from one snapshot, checked by count and chain head. Stop the
/// server first: what it writes after the snapshot is not in the copy.
pub async fn migrate(
    dir: &Path,
    to: &str,
    progress: &mut (dyn FnMut(&str, u64, u64) + Send),
) -> Result<embargo_store::Copied, ServerError> {
    check_database_url(to).map_err(|problem| dir_err(dir, problem))?;
    let config = read_config(dir)?;
    let Database::Sqlite(path) = database(dir, &config, None)? else {
        return Err(dir_err(
            dir,
            "this deployment is on PostgreSQL already (storage.database or EMBARGO_DATABASE)",
        ));
    };
    if !path.is_file() {
        return Err(dir_err(
            dir,
            format!("{DB} missing: nothing to copy (is this the directory `embargo serve` made?)"),
        ));
    }
    let masters = read_master_keys(&master_key_path(dir, &config)).map_err(|e| dir_err(dir, e))?;
    let source = Store::open_with_keys(&path, false, masters.clone(), None).await?;
    let target = Store::connect(to, config.storage.connections, masters, None).await?;
    Ok(source.copy_into(&target, progress).await?)
}

/// The data directory's configuration.
pub fn read_config(dir: &Path) -> Result<Config, ServerError> {
    let config_path = dir.join(CONFIG);
    let text = std::fs::read_to_string(&config_path).map_err(|e| ServerError::Config {
        path: config_path.clone(),
        problem: e.to_string(),
    })?;
    Config::parse(&text).map_err(|problem| ServerError::Config {
        path: config_path,
        problem,
    })
}

/// A data directory ready to serve: configuration, store and keys.
pub struct Prepared {
    /// The configuration read.
    pub config: Config,
    /// The opened store.
    pub store: Store,
    /// The current intake key (`keys::load_intake` adds the retired ones).
    pub intake_key: IntakeKey,
    /// On the first start, the first admin's API token (shown once).
    pub first_admin_token: Option<String>,
}

fn dir_err(dir: &Path, problem: impl Into<String>) -> ServerError {
    ServerError::DataDir {
        dir: dir.to_owned(),
        problem: problem.into(),
    }
}

/// Writes `contents` to the new file `path`, 0600, synced.
pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// SHA-256 of an API token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens `dir`, creating it on the first start: configuration, database,
/// keys, and the first admin's token. `database` (`--database`) overrides
/// the configured one.
pub async fn prepare(
    dir: &Path,
    clock: &Clock,
    database: Option<&str>,
) -> Result<Prepared, ServerError> {
    // A new directory may already hold the operator's own embargo.toml: the
    // rest is created around it.
    let fresh = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .all(|e| e.file_name() == CONFIG),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(dir_err(dir, format!("cannot be read: {e}"))),
    };
    if fresh {
        create(dir, database).await?;
    }
    // Which files a complete directory holds depends on where its cases
    // are; without a configuration, the default (SQLite) says.
    let config = if dir.join(CONFIG).is_file() {
        Some(read_config(dir)?)
    } else {
        None
    };
    let db = match &config {
        Some(config) => self::database(dir, config, database)?,
        None => Database::Sqlite(dir.join(DB)),
    };
    let files: &[&str] = match db {
        Database::Sqlite(_) => &[CONFIG, KEY, DB],
        Database::Postgres { .. } => &[CONFIG, KEY],
    };
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(dir_err(
            dir,
            format!(
                "{} missing; this is not a complete embargo data directory (restore it from backup, or point --data-dir at an empty or new directory to start afresh)",
                missing.join(", ")
            ),
        ));
    }
    let Some(config) = config else {
        return Err(dir_err(dir, format!("{CONFIG} missing")));
    };
    let armored =
        std::fs::read_to_string(dir.join(KEY)).map_err(|e| dir_err(dir, format!("{KEY}: {e}")))?;
    let mut key = IntakeKey::from_armored_secret(&armored)
        .map_err(|e| dir_err(dir, format!("{KEY}: {e}")))?;
    // A key made by an older embargo states no AEAD preference: it gets a
    // new self-signature that does, written back in place (a new file,
    // then a rename, so a crash leaves the old key or the new one).
    if key
        .refresh_preferences(clock.unix())
        .map_err(|e| dir_err(dir, format!("{KEY}: {e}")))?
    {
        let armored = key
            .to_armored_secret()
            .map_err(|e| dir_err(dir, e.to_string()))?;
        let fresh = dir.join(format!("{KEY}.new"));
        let _ = std::fs::remove_file(&fresh);
        write_private(&fresh, &armored)
            .and_then(|()| std::fs::rename(&fresh, dir.join(KEY)))
            .map_err(|e| dir_err(dir, format!("{KEY}: {e}")))?;
        tracing::info!(
            fingerprint = %key.fingerprint(),
            "the intake key now states its AEAD preference (same key, new self-signature)"
        );
    }
    let key_path = master_key_path(dir, &config);
    if !key_path.exists() && !next_key_path(&key_path).exists() {
        // A new data directory (or one from before encryption at rest) gets
        // its key now; if the database was sealed with another key,
        // opening it says so.
        write_private(&key_path, &MasterKey::generate().to_hex())
            .map_err(|e| dir_err(dir, format!("{}: {e}", key_path.display())))?;
    }
    let masters = read_master_keys(&key_path).map_err(|e| dir_err(dir, e))?;
    let store = open_store(&db, masters, Some(key_source(key_path))).await?;
    if matches!(db, Database::Postgres { .. }) && config.backup.dir.is_some() {
        tracing::warn!(
            "[backup] copies the SQLite database and is off on PostgreSQL: back the database up with its own tools (pg_dump, base backups)"
        );
    }
    tracing::info!(database = ?db, "store opened");
    if let embargo_store::Rotation::Running { .. } = store.master_key_rotation().await? {
        tracing::warn!(
            "a master key rotation is unfinished: everything new is sealed with the new key; run `embargo keys rotate-master` to finish it"
        );
    }
    let first_admin_token = if fresh {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!("emb_{}", hex::encode(bytes));
        store
            .add_api_token(&token_hash(&token), "admin", clock.now())
            .await?;
        Some(token)
    } else {
        None
    };
    Ok(Prepared {
        config,
        store,
        intake_key: key,
        first_admin_token,
    })
}

async fn create(dir: &Path, database: Option<&str>) -> Result<(), ServerError> {
    std::fs::create_dir_all(dir).map_err(|e| dir_err(dir, format!("cannot be created: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| dir_err(dir, e.to_string()))?;
    }
    let path = |f: &str| -> PathBuf { dir.join(f) };
    if !path(CONFIG).exists() {
        write_private(&path(CONFIG), DEFAULT_FILE)
            .map_err(|e| dir_err(dir, format!("{CONFIG}: {e}")))?;
    }
    let key = IntakeKey::generate("embargo intake key").map_err(|e| dir_err(dir, e.to_string()))?;
    let armored = key
        .to_armored_secret()
        .map_err(|e| dir_err(dir, e.to_string()))?;
    write_private(&path(KEY), &armored).map_err(|e| dir_err(dir, format!("{KEY}: {e}")))?;
    let config = read_config(dir)?;
    if let Database::Sqlite(db) = self::database(dir, &config, database)? {
        Store::open(&db, true, None).await?;
    }
    Ok(())
}
