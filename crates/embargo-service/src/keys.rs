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
    let db = datadir::database(dir, &config, None)?;
    if let datadir::Database::Sqlite(path) = &db
        && !path.is_file()
    {
        return Err(key_err(
            dir,
            "no database here (is it the directory `embargo serve` made?)",
        ));
    }
    let keys = datadir::read_master_keys(&key_path).map_err(|e| key_err(dir, e))?;
    let store = datadir::open_store(&db, keys, Some(datadir::key_source(key_path.clone()))).await?;
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
    datadir::write_private(path, contents)?;
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

/// Retired intake keys, each `UNIX-FINGERPRINT.asc` (retired at UNIX).
pub const RETIRED_INTAKE: &str = "retired-intake-keys";

/// A retired intake key that still decrypts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredIntake {
    /// Its fingerprint.
    pub fingerprint: String,
    /// When it was retired.
    pub retired_at: jiff::Timestamp,
    /// Until when it decrypts.
    pub until: jiff::Timestamp,
}

/// The intake keys a server decrypts with, and what it publishes.
#[derive(Debug)]
pub struct Intake {
    /// The current key and the retired ones that still decrypt.
    pub keys: embargo_pgp::IntakeKeys,
    /// The current key's public half, armored (security.txt, `/pgp-key.txt`).
    pub public_key: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// The retired keys that still decrypt, oldest first.
    pub retired: Vec<RetiredIntake>,
    /// The key files as they were read (a change means: read them again).
    stamp: Stamp,
}

/// The modification times of the key file and the retired keys' directory.
type Stamp = (Option<std::time::SystemTime>, Option<std::time::SystemTime>);

fn stamp(dir: &Path) -> Stamp {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (
        modified(dir.join(datadir::KEY)),
        modified(dir.join(RETIRED_INTAKE)),
    )
}

impl Intake {
    /// Whether the key files changed since they were read, or a retired key
    /// ran out at `now`.
    pub fn stale(&self, dir: &Path, now: jiff::Timestamp) -> bool {
        self.stamp != stamp(dir) || self.retired.iter().any(|r| r.until <= now)
    }
}

/// The folder of retired intake keys in `dir`, made (the owner's alone)
/// when it is not there.
pub(crate) fn retired_folder(dir: &Path) -> std::io::Result<PathBuf> {
    let folder = dir.join(RETIRED_INTAKE);
    std::fs::create_dir_all(&folder)?;
    #[cfg(unix)]
    std::fs::set_permissions(&folder, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(folder)
}

pub(crate) fn retired_name(name: &str) -> Option<(i64, &str)> {
    let stem = name.strip_suffix(".asc")?;
    let (at, fingerprint) = stem.split_once('-')?;
    Some((at.parse().ok()?, fingerprint))
}

/// Reads the intake keys of `dir` at `now`: the current key (as `prepare`
/// checked it) and the retired keys still in their time; a retired key
/// whose time is over is deleted (a secret nobody needs is not kept).
pub fn load_intake(
    dir: &Path,
    config: &crate::Config,
    current: embargo_pgp::IntakeKey,
    now: jiff::Timestamp,
) -> Result<Intake, ServerError> {
    let stamp = stamp(dir);
    let keep = i64::from(config.keys.retired_intake_days) * 86_400;
    let mut retired = Vec::new();
    let mut keys = Vec::new();
    let folder = dir.join(RETIRED_INTAKE);
    let mut entries: Vec<_> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.filter_map(Result::ok).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(key_err(dir, format!("{RETIRED_INTAKE}: {e}"))),
    };
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((at, _)) = retired_name(&name) else {
            continue;
        };
        let (Ok(retired_at), Ok(until)) = (
            jiff::Timestamp::from_second(at),
            jiff::Timestamp::from_second(at.saturating_add(keep)),
        ) else {
            continue;
        };
        if until <= now {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {
                    tracing::info!(key = %name, "a retired intake key's time is over: deleted")
                }
                Err(e) => {
                    tracing::warn!(key = %name, error = %e, "a retired intake key's time is over, but it cannot be deleted")
                }
            }
            continue;
        }
        let armored = std::fs::read_to_string(entry.path())
            .map_err(|e| key_err(dir, format!("{RETIRED_INTAKE}/{name}: {e}")))?;
        let key = embargo_pgp::IntakeKey::from_armored_secret(&armored)
            .map_err(|e| key_err(dir, format!("{RETIRED_INTAKE}/{name}: {e}")))?;
        if key.fingerprint() == current.fingerprint() {
            continue;
        }
        retired.push(RetiredIntake {
            fingerprint: key.fingerprint(),
            retired_at,
            until,
        });
        keys.push(key);
    }
    let public_key = current
        .to_armored_public()
        .map_err(|e| key_err(dir, e.to_string()))?;
    Ok(Intake {
        fingerprint: current.fingerprint(),
        public_key,
        keys: embargo_pgp::IntakeKeys::new(current, keys),
        retired,
        stamp,
    })
}

/// Reads the current intake key of `dir` again (after a rotation).
pub fn reload_intake(
    dir: &Path,
    config: &crate::Config,
    now: jiff::Timestamp,
) -> Result<Intake, ServerError> {
    let armored = std::fs::read_to_string(dir.join(datadir::KEY))
        .map_err(|e| key_err(dir, format!("{}: {e}", datadir::KEY)))?;
    let current = embargo_pgp::IntakeKey::from_armored_secret(&armored)
        .map_err(|e| key_err(dir, format!("{}: {e}", datadir::KEY)))?;
    load_intake(dir, config, current, now)
}

/// What `rotate_intake` did.
#[derive(Debug, Clone)]
pub struct RotatedIntake {
    /// The retired key's fingerprint.
    pub old: String,
    /// The new key's.
    pub new: String,
    /// Until when the old one still decrypts.
    pub until: jiff::Timestamp,
}

/// Replaces the intake key of `dir` with a new one at `now`; the old one
/// goes to `retired-intake-keys/` and decrypts for `[keys]
/// retired_intake_days` more. The old key is written there (synced)
/// before the new one replaces it, so a crash leaves one of them current
/// and neither lost. The SRT is told (a `team_notice` job in `store`).
pub async fn rotate_intake(
    dir: &Path,
    config: &crate::Config,
    store: &Store,
    now: jiff::Timestamp,
) -> Result<RotatedIntake, ServerError> {
    let path = dir.join(datadir::KEY);
    let armored = std::fs::read_to_string(&path)
        .map_err(|e| key_err(dir, format!("{}: {e}", datadir::KEY)))?;
    let old = embargo_pgp::IntakeKey::from_armored_secret(&armored)
        .map_err(|e| key_err(dir, format!("{}: {e}", datadir::KEY)))?;
    let new = embargo_pgp::IntakeKey::generate("embargo intake key")
        .map_err(|e| key_err(dir, e.to_string()))?;
    let folder = retired_folder(dir).map_err(|e| key_err(dir, format!("{RETIRED_INTAKE}: {e}")))?;
    let retired = folder.join(format!("{}-{}.asc", now.as_second(), old.fingerprint()));
    if !retired.exists() {
        write_key_file(&retired, &armored)
            .map_err(|e| key_err(dir, format!("{}: {e}", retired.display())))?;
    }
    let fresh = dir.join(format!("{}.new", datadir::KEY));
    let _ = std::fs::remove_file(&fresh);
    let text = new
        .to_armored_secret()
        .map_err(|e| key_err(dir, e.to_string()))?;
    write_key_file(&fresh, &text)
        .and_then(|()| std::fs::rename(&fresh, &path))
        .and_then(|()| sync_parent(&path))
        .map_err(|e| key_err(dir, format!("{}: {e}", datadir::KEY)))?;
    let until = now
        .checked_add(jiff::SignedDuration::from_hours(
            i64::from(config.keys.retired_intake_days) * 24,
        ))
        .unwrap_or(now);
    let notice = crate::jobs::team_notice::TeamNotice {
        key: format!("intake-rotated:{}", new.fingerprint()),
        subject: "The intake key was replaced".into(),
        text: format!(
            "The team's OpenPGP intake key was replaced.\n\
             New key: {}\n\
             Old key: {} (it still decrypts until {until}; then it is deleted)\n\
             security.txt and /pgp-key.txt now give the new key. Reporters who\n\
             keep the old key should fetch the new one.\n",
            new.fingerprint(),
            old.fingerprint()
        ),
    };
    crate::jobs::enqueue_in(store, &notice, now.as_second()).await?;
    tracing::info!(old = %old.fingerprint(), new = %new.fingerprint(), "the intake key was replaced");
    Ok(RotatedIntake {
        old: old.fingerprint(),
        new: new.fingerprint(),
        until,
    })
}

/// The intake keys in force, as the API and the policy page show them.
pub fn intake_wire(state: &crate::AppState) -> embargo_api::IntakeKeyWire {
    let intake = state.intake();
    embargo_api::IntakeKeyWire {
        fingerprint: intake.fingerprint.clone(),
        retired: intake
            .retired
            .iter()
            .map(|r| embargo_api::RetiredKeyWire {
                fingerprint: r.fingerprint.clone(),
                retired_at: r.retired_at.to_string(),
                until: r.until.to_string(),
            })
            .collect(),
        retired_days: state.config.keys.retired_intake_days,
    }
}

/// Replaces the intake key on `by`'s word (an admin, checked by the
/// caller), in this server at once and in the others within a second;
/// the replacement is in the access log.
pub async fn rotate_intake_now(
    state: &crate::AppState,
    by: &str,
) -> Result<embargo_api::IntakeKeyWire, crate::error::ServiceError> {
    let now = state.clock.now();
    let done = rotate_intake(&state.data_dir, &state.config, &state.store, now)
        .await
        .map_err(|e| crate::error::ServiceError::Internal(e.to_string()))?;
    state
        .store
        .log_access(&embargo_store::AccessEntry {
            at: now.as_second(),
            person: by.to_owned(),
            action: "intake_key_replaced".into(),
            subject: "deployment".into(),
            detail: format!("{} replaced by {}", done.old, done.new),
        })
        .await?;
    state.refresh_intake();
    Ok(intake_wire(state))
}

/// `embargo keys rotate-intake`: [`rotate_intake`] beside the servers
/// (they read the new key within a second), logged as the operator's.
pub async fn rotate_intake_in_dir(
    dir: &Path,
    now: jiff::Timestamp,
) -> Result<RotatedIntake, ServerError> {
    let config = datadir::read_config(dir)?;
    let (store, _) = open(dir).await?;
    let done = rotate_intake(dir, &config, &store, now).await?;
    store
        .log_access(&embargo_store::AccessEntry {
            at: now.as_second(),
            person: "operator".into(),
            action: "intake_key_replaced".into(),
            subject: "deployment".into(),
            detail: format!(
                "{} replaced by {} (embargo keys rotate-intake)",
                done.old, done.new
            ),
        })
        .await?;
    Ok(done)
}
