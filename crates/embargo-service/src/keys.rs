//! Key rotation: `embargo keys rotate-master` and `embargo keys status`.
//!
//! The master key is rotated online, while servers serve from the same
//! data directory:
//! 1. the new key is written beside the current one (`master.key.next`,
//!    0600, synced) before anything depends on it;
//! 2. the database is told the new key's check value; from then on every
//!    transaction that seals, in any process, seals with the new key (the
//!    store reads the key files again when it sees the change);
//! 3. every value sealed with the master key is sealed again in short
//!    batches (throttled if asked), then what is left is moved and the new
//!    key made the only one in one transaction;
//! 4. the new key file replaces the old one.
//!
//! Killed at any point, the command run again picks up where it stands:
//! the new key file is reused, moved values are skipped. Until the end the
//! old key opens what is not moved yet; after it, the old key opens nothing
//! the database needs (only backups taken before the rotation).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use embargo_store::{MasterKey, Rotation, Store};

use crate::{ServerError, datadir};

/// How a rotation runs.
#[derive(Debug, Clone, Copy)]
pub struct RotateOptions {
    /// Values moved per transaction (a short write lock for the servers).
    pub batch: u32,
    /// At most this many values a second (0: as fast as the disk allows),
    /// so that a busy server is not slowed.
    pub max_per_second: u32,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self {
            batch: 500,
            max_per_second: 0,
        }
    }
}

/// What a rotation did, or how far it has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RotateProgress {
    /// Values looked at in this run.
    pub examined: u64,
    /// Values sealed again in this run.
    pub moved: u64,
    /// Values in all.
    pub total: u64,
}

/// The outcome of `embargo keys rotate-master`.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The figures of this run.
    pub progress: RotateProgress,
    /// Values left after the batches, moved in the last transaction.
    pub moved_at_the_end: u64,
    /// Whether this run resumed one that had stopped.
    pub resumed: bool,
    /// The old key's check value (it names the key without revealing it).
    pub old_check: String,
    /// The new key's.
    pub new_check: String,
    /// Where the key now is.
    pub key_path: PathBuf,
}

/// Where a data directory's master key stands (`embargo keys status`).
#[derive(Debug, Clone)]
pub struct KeyStatus {
    /// The key file.
    pub key_path: PathBuf,
    /// The database's word on it.
    pub rotation: Rotation,
    /// Sealed values the key that seals does not open (during a rotation,
    /// what is left under the old key).
    pub under_other_keys: u64,
    /// Sealed values in all.
    pub total: u64,
}

fn key_err(dir: &Path, problem: impl Into<String>) -> ServerError {
    ServerError::DataDir {
        dir: dir.to_owned(),
        problem: problem.into(),
    }
}

async fn open(dir: &Path) -> Result<(Store, PathBuf), ServerError> {
    let config = datadir::read_config(dir)?;
    let key_path = datadir::master_key_path(dir, &config);
    let db = dir.join(datadir::DB);
    if !db.is_file() {
        return Err(key_err(
            dir,
            "no database here (is it the directory `embargo serve` made?)",
        ));
    }
    let keys = datadir::read_master_keys(&key_path).map_err(|e| key_err(dir, e))?;
    let store = Store::open_with_keys(
        &db,
        false,
        keys,
        Some(datadir::key_source(key_path.clone())),
    )
    .await?;
    Ok((store, key_path))
}

/// Where the master key of the data directory `dir` stands.
pub async fn status(dir: &Path) -> Result<KeyStatus, ServerError> {
    let (store, key_path) = open(dir).await?;
    Ok(KeyStatus {
        key_path,
        rotation: store.master_key_rotation().await?,
        under_other_keys: store.sealed_under_other_keys().await?,
        total: store.rotation_size().await?,
    })
}

/// Writes `contents` to the new file `path` (0600) and syncs it and its
/// directory, so that the key is on disk before the database names it.
fn write_key_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    sync_parent(path)
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}

/// Rotates the master key of the data directory `dir`, online; `progress`
/// hears after each batch.
pub async fn rotate_master(
    dir: &Path,
    options: RotateOptions,
    mut progress: impl FnMut(RotateProgress),
) -> Result<Rotated, ServerError> {
    let config = datadir::read_config(dir)?;
    let key_path = datadir::master_key_path(dir, &config);
    let next_path = datadir::next_key_path(&key_path);
    let old_text = std::fs::read_to_string(&key_path)
        .map_err(|e| key_err(dir, format!("{}: {e}", key_path.display())))?;
    let old = MasterKey::from_hex(&old_text).map_err(|e| key_err(dir, e))?;
    let resumed = next_path.exists();
    if !resumed {
        write_key_file(&next_path, &MasterKey::generate().to_hex())
            .map_err(|e| key_err(dir, format!("{}: {e}", next_path.display())))?;
    }
    let (store, _) = open(dir).await?;
    let new = datadir::read_master_keys(&key_path)
        .map_err(|e| key_err(dir, e))?
        .into_iter()
        .next()
        .ok_or_else(|| key_err(dir, "the new key vanished"))?;
    let new_check = new.check_value();
    store.begin_master_rotation(&new_check).await?;
    let mut figures = RotateProgress {
        total: store.rotation_size().await?,
        ..RotateProgress::default()
    };
    let started = Instant::now();
    let mut cursor = None;
    loop {
        let step = store.rotation_step(cursor, options.batch).await?;
        figures.examined += step.examined;
        figures.moved += step.moved;
        progress(figures);
        let Some(next) = step.next else { break };
        cursor = Some(next);
        if options.max_per_second > 0 {
            // Stay under the rate: wait until this many values were due.
            let due = Duration::from_secs_f64(
                figures.examined as f64 / f64::from(options.max_per_second),
            );
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    let moved_at_the_end = store.finish_master_rotation().await?;
    drop(store);
    // The database needs only the new key now: it replaces the old file.
    std::fs::rename(&next_path, &key_path)
        .and_then(|()| sync_parent(&key_path))
        .map_err(|e| key_err(dir, format!("{}: {e}", key_path.display())))?;
    Ok(Rotated {
        progress: figures,
        moved_at_the_end,
        resumed,
        old_check: old.check_value(),
        new_check,
        key_path,
    })
}
