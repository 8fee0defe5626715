//! Online backup and verified restore of a data directory.
//!
//! A backup is one tar archive: a manifest (format, version, when, the
//! chain's head, the counts), a consistent copy of the database taken
//! while the server writes (`VACUUM INTO`, one snapshot), the
//! configuration and the intake key (with the retired intake keys that
//! still decrypt), and the master key only when asked:
//! an archive with its master key is the vault itself. The copy is
//! checked (SQLite's integrity check, the whole hash chain) before the
//! archive is written, and a restore checks again, against the manifest.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    datadir::{CONFIG, DB, KEY, MASTER_KEY},
    keys::{RETIRED_INTAKE, retired_name},
};

/// The new master key during a rotation, by its name in an archive.
const MASTER_KEY_NEXT: &str = "master.key.next";

/// What a backup holds, as its manifest says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The archive's format (1).
    pub format: u32,
    /// The embargo version that wrote it.
    pub version: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Events in the log.
    pub events: u64,
    /// Cases.
    pub cases: i64,
    /// The chain's head: the newest event's number and hash.
    pub chain_head: Option<(i64, String)>,
    /// Whether the master key is in the archive.
    pub master_key: bool,
    /// The files in the archive besides the manifest.
    pub files: Vec<String>,
}

/// Why a backup or a restore stopped. Nothing is left half-written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// Which.
        path: PathBuf,
        /// What happened.
        error: std::io::Error,
    },
    /// The database could not be copied or opened.
    #[error("the database: {0}")]
    Store(#[from] embargo_store::StoreError),
    /// The copy or the archive does not check out.
    #[error("{0}")]
    Check(String),
    /// The target of a restore is not empty.
    #[error("{0} is not empty: restore into a new directory")]
    NotEmpty(PathBuf),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |error| BackupError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Checks the database at `db`: SQLite's integrity check and the whole
/// hash chain, and with `key` that the key is this database's; returns
/// the counts and head for the manifest.
async fn check(
    db: &Path,
    keys: Vec<embargo_store::MasterKey>,
) -> Result<(u64, i64, Option<(i64, String)>), BackupError> {
    let store = embargo_store::Store::open_with_keys(db, false, keys, None).await?;
    let integrity = store.integrity_check().await?;
    if integrity != "ok" {
        return Err(BackupError::Check(format!(
            "the copy fails SQLite's integrity check: {integrity}"
        )));
    }
    let events = store
        .verify()
        .await?
        .map_err(|b| BackupError::Check(format!("the copy's chain is broken: {b}")))?;
    let (head, cases) = store.head_and_cases().await?;
    Ok((events, cases, head))
}

/// Backs up the data directory `dir` into the archive `out` (which must
/// not exist), while a server may be serving from it.
pub async fn backup(
    dir: &Path,
    out: &Path,
    include_master_key: bool,
    now: jiff::Timestamp,
) -> Result<Manifest, BackupError> {
    if let Ok(config) = crate::datadir::read_config(dir)
        && let Ok(crate::datadir::Database::Postgres { .. }) =
            crate::datadir::database(dir, &config, None)
    {
        return Err(BackupError::Check(
            "this deployment keeps its cases in PostgreSQL: back the database up with the \
             database's own tools (pg_dump, base backups), and the data directory's \
             configuration and keys beside it"
                .into(),
        ));
    }
    let db = dir.join(DB);
    if !db.is_file() {
        return Err(BackupError::Check(format!(
            "no database at {} (is it the directory `embargo serve` made?)",
            db.display()
        )));
    }
    if out.exists() {
        return Err(BackupError::Check(format!(
            "{} exists: a backup is written to a new file",
            out.display()
        )));
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".embargo-backup-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    let copy = work.path().join(DB);
    embargo_store::snapshot(&db, &copy).await?;
    let (events, cases, chain_head) = check(&copy, Vec::new()).await?;
    let mut files = vec![DB.to_owned(), CONFIG.to_owned(), KEY.to_owned()];
    // Retired intake keys still decrypt mail sent before a replacement:
    // a restore within their time needs them.
    files.extend(retired_keys(dir)?);
    // The master key from where the configuration keeps it, and during a
    // rotation the new key too (the copy may need both).
    let key_path = crate::datadir::read_config(dir)
        .map(|c| crate::datadir::master_key_path(dir, &c))
        .map_err(|e| BackupError::Check(e.to_string()))?;
    let next_path = crate::datadir::next_key_path(&key_path);
    if include_master_key {
        files.push(MASTER_KEY.to_owned());
        if next_path.is_file() {
            files.push(MASTER_KEY_NEXT.to_owned());
        }
    }
    let manifest = Manifest {
        format: 1,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: now.to_string(),
        events,
        cases,
        chain_head,
        master_key: include_master_key,
        files: files.clone(),
    };
    let partial = work.path().join("backup.tar");
    {
        let file = private_file(&partial)?;
        let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Check(e.to_string()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(u64::try_from(now.as_second()).unwrap_or(0));
        header.set_cksum();
        tar.append_data(&mut header, "manifest.json", json.as_slice())
            .map_err(io(&partial))?;
        for name in &files {
            let source = match name.as_str() {
                DB => copy.clone(),
                MASTER_KEY => key_path.clone(),
                MASTER_KEY_NEXT => next_path.clone(),
                _ => dir.join(name),
            };
            let mut f = std::fs::File::open(&source).map_err(io(&source))?;
            tar.append_file(name, &mut f).map_err(io(&source))?;
        }
        let mut inner = tar.into_inner().map_err(io(&partial))?;
        inner.flush().map_err(io(&partial))?;
        inner
            .into_inner()
            .map_err(|e| io(&partial)(e.into_error()))?
            .sync_all()
            .map_err(io(&partial))?;
    }
    std::fs::rename(&partial, out).map_err(io(out))?;
    Ok(manifest)
}

/// The retired intake keys of `dir`, by their names in an archive
/// (`retired-intake-keys/AT-FINGERPRINT.asc`), oldest first.
fn retired_keys(dir: &Path) -> Result<Vec<String>, BackupError> {
    let folder = dir.join(RETIRED_INTAKE);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&folder)(e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| retired_name(n).is_some())
        .map(|n| format!("{RETIRED_INTAKE}/{n}"))
        .collect();
    names.sort();
    Ok(names)
}

/// Whether `name` (in an archive) is a retired intake key's: one file,
/// named as a replacement names it, in that folder.
fn is_retired_key(name: &str) -> bool {
    name.strip_prefix(RETIRED_INTAKE)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|file| !file.contains('/') && retired_name(file).is_some())
}

fn private_file(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io(path))
}

/// Restores the archive `file` into `dir` (absent or empty), then checks
/// the database against the manifest. Only the files a backup holds are
/// taken from the archive, by name. `master_key` is the key file kept
/// apart from a backup made without it; with a key (either way) the
/// restore checks that it is this database's.
pub async fn restore(
    file: &Path,
    dir: &Path,
    master_key: Option<&Path>,
) -> Result<Manifest, BackupError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(BackupError::NotEmpty(dir.to_owned()));
        }
    } else {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io(dir))?;
    let archive = std::fs::File::open(file).map_err(io(file))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(archive));
    let mut manifest: Option<Manifest> = None;
    let allowed = [DB, CONFIG, KEY, MASTER_KEY, MASTER_KEY_NEXT];
    for entry in tar.entries().map_err(io(file))? {
        let mut entry = entry.map_err(io(file))?;
        let name = entry
            .path()
            .map_err(io(file))?
            .to_string_lossy()
            .into_owned();
        if name == "manifest.json" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).map_err(io(file))?;
            manifest = Some(
                serde_json::from_str(&text)
                    .map_err(|e| BackupError::Check(format!("the manifest does not read: {e}")))?,
            );
            continue;
        }
        if is_retired_key(&name) {
            crate::keys::retired_folder(dir).map_err(io(&dir.join(RETIRED_INTAKE)))?;
        } else if !allowed.contains(&name.as_str()) {
            return Err(BackupError::Check(format!(
                "`{name}` is not a file a backup holds"
            )));
        }
        let target = dir.join(&name);
        let mut out = private_file(&target)?;
        std::io::copy(&mut entry, &mut out).map_err(io(&target))?;
        out.sync_all().map_err(io(&target))?;
    }
    let manifest = manifest.ok_or_else(|| BackupError::Check("no manifest.json".into()))?;
    for name in &manifest.files {
        if !dir.join(name).is_file() {
            return Err(BackupError::Check(format!(
                "the manifest names {name}, which the archive lacks"
            )));
        }
    }
    let key_path = dir.join(MASTER_KEY);
    if let Some(given) = master_key {
        if key_path.exists() {
            return Err(BackupError::Check(
                "the archive holds its master key already; give none".into(),
            ));
        }
        let text = std::fs::read_to_string(given).map_err(io(given))?;
        let mut out = private_file(&key_path)?;
        out.write_all(text.as_bytes()).map_err(io(&key_path))?;
        out.sync_all().map_err(io(&key_path))?;
    }
    // Opening with the key checks it against the database's.
    let keys = if key_path.is_file() {
        crate::datadir::read_master_keys(&key_path).map_err(BackupError::Check)?
    } else {
        Vec::new()
    };
    let (events, cases, head) = check(&dir.join(DB), keys).await?;
    if (events, cases, &head) != (manifest.events, manifest.cases, &manifest.chain_head) {
        return Err(BackupError::Check(format!(
            "the database holds {events} events and {cases} cases, head {head:?}; the manifest says {} and {}, head {:?}",
            manifest.events, manifest.cases, manifest.chain_head
        )));
    }
    Ok(manifest)
}

/// What an operator must do after a restore into `dir` before serving
/// from it, if anything: the restored configuration keeps the master key
/// elsewhere (`[keys] master_key`) than where the restore put it, and no
/// key is there yet (a server would make a new one and refuse the
/// database).
pub fn key_notice(dir: &Path) -> Option<String> {
    let restored = dir.join(MASTER_KEY);
    let config = crate::datadir::read_config(dir).ok()?;
    let wanted = crate::datadir::master_key_path(dir, &config);
    (restored.is_file() && wanted != restored && !wanted.exists()).then(|| {
        format!(
            "embargo.toml keeps the master key at {}; the restored key is {}: move it there \
             (or remove `[keys] master_key` to use it where it is) before `embargo serve`",
            wanted.display(),
            restored.display()
        )
    })
}

/// Restores `file` into a temporary directory and checks it; nothing is
/// kept.
pub async fn verify(file: &Path) -> Result<Manifest, BackupError> {
    let work = tempfile::tempdir().map_err(io(Path::new("(temporary directory)")))?;
    restore(file, &work.path().join("data"), None).await
}

/// A scheduled backup (`[backup]`): an archive named by its time in the
/// configured directory, recorded as the last good one, and the oldest
/// archives beyond `keep` removed.
pub async fn scheduled(state: &crate::AppState) -> Result<(), String> {
    let cfg = &state.config.backup;
    let Some(dir) = &cfg.dir else {
        return Ok(());
    };
    let dir = if dir.is_absolute() {
        dir.clone()
    } else {
        state.data_dir.join(dir)
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let now = state.clock.now();
    let name = format!("embargo-{}.tar", now.strftime("%Y%m%dT%H%M%SZ"));
    let out = dir.join(&name);
    let manifest = backup(&state.data_dir, &out, cfg.include_master_key, now)
        .await
        .map_err(|e| e.to_string())?;
    state
        .store
        .record_backup(now.as_second(), &name, manifest.events)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(file = %out.display(), events = manifest.events, "scheduled backup written");
    let mut archives: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("embargo-") && n.ends_with(".tar"))
        .collect();
    archives.sort();
    let keep = usize::try_from(cfg.keep).unwrap_or(usize::MAX);
    let excess = archives.len().saturating_sub(keep);
    for old in archives.iter().take(excess) {
        if let Err(e) = std::fs::remove_file(dir.join(old)) {
            tracing::warn!(file = old, error = %e, "an old backup could not be removed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_retired_key;

    #[test]
    fn only_a_retired_keys_own_name_is_taken_from_an_archive() {
        assert!(is_retired_key(
            "retired-intake-keys/1764662400-0123456789ABCDEF.asc"
        ));
        for name in [
            "retired-intake-keys/../master.key",
            "retired-intake-keys/1764662400-AB/../../x.asc",
            "retired-intake-keys/a/1764662400-AB.asc",
            "retired-intake-keys/notes.txt",
            "retired-intake-keys/",
            "retired-intake-keysX/1764662400-AB.asc",
            "/retired-intake-keys/1764662400-AB.asc",
        ] {
            assert!(!is_retired_key(name), "{name}");
        }
    }
}
