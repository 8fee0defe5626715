//! `embargo check`: which installed packages the advisories affect, and
//! what to upgrade to. Reads a pip freeze or requirements file, a
//! Cargo.lock, or `name==version` arguments; answers from a directory of
//! OSV records (the same logic as the announcement's am-I-vulnerable part).

use std::path::{Path, PathBuf};

use anyhow::Context;
use embargo_formats::check::{OsvAffects, findings};

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
}

/// `name==version` lines of a pip freeze or requirements file. Comments,
/// options, markers and hashes are dropped; other specifiers (`>=`) name no
/// installed version and are reported as skipped.
pub fn requirements(text: &str) -> (Vec<Installed>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or_default();
        let line = line.split(';').next().unwrap_or_default();
        let line = line
            .split(" --hash")
            .next()
            .unwrap_or_default()
            .trim()
            .trim_end_matches('\\')
            .trim();
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        match line.split_once("==") {
            Some((name, version)) if !version.contains(['<', '>', '!', '~', '*', ',']) => {
                let name = name.split('[').next().unwrap_or(name).trim();
                out.push(Installed {
                    ecosystem: "PyPI".into(),
                    name: name.to_owned(),
                    version: version.trim().to_owned(),
                });
            }
            _ => skipped.push(line.to_owned()),
        }
    }
    (out, skipped)
}

#[derive(serde::Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(serde::Deserialize)]
struct LockPackage {
    name: String,
    version: String,
}

/// The packages of a Cargo.lock.
pub fn cargo_lock(text: &str) -> anyhow::Result<Vec<Installed>> {
    let lock: Lock = toml::from_str(text).context("not a Cargo.lock")?;
    Ok(lock
        .package
        .into_iter()
        .map(|p| Installed {
            ecosystem: "crates.io".into(),
            name: p.name,
            version: p.version,
        })
        .collect())
}

/// `[ECOSYSTEM:]name==version`.
pub fn argument(arg: &str) -> anyhow::Result<Installed> {
    let (eco, rest) = match arg.split_once(':') {
        Some((e, r)) if !r.starts_with('/') => (e.to_owned(), r),
        _ => ("PyPI".to_owned(), arg),
    };
    let (name, version) = rest
        .split_once("==")
        .with_context(|| format!("`{arg}` is not NAME==VERSION (or ECOSYSTEM:NAME==VERSION)"))?;
    Ok(Installed {
        ecosystem: eco,
        name: name.trim().to_owned(),
        version: version.trim().to_owned(),
    })
}

/// Every OSV record (`*.json`) in `dir`.
pub fn load(dir: &Path) -> anyhow::Result<Vec<OsvAffects>> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let rec: OsvAffects = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an OSV record", p.display()))?;
        out.push(rec);
    }
    Ok(out)
}

/// The published advisories of an embargo server (`/osv/all.json`).
pub fn fetch(server: &str) -> anyhow::Result<Vec<OsvAffects>> {
    let url = format!("{}/osv/all.json", server.trim_end_matches('/'));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let resp = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?
            .get(&url)
            .send()
            .await
            .with_context(|| format!("fetching {url}"))?;
        if !resp.status().is_success() {
            anyhow::bail!("{url} answered {}", resp.status());
        }
        resp.json::<Vec<OsvAffects>>()
            .await
            .with_context(|| format!("{url} is not a list of OSV records"))
    })
}

/// Checks `installed` against `records`, writes the answer; the exit code:
/// 0 nothing affected, 1 something is, 2 a version could not be read.
pub fn run(
    records: &[OsvAffects],
    installed: &[Installed],
    out: &mut impl std::io::Write,
    err: &mut impl std::io::Write,
) -> anyhow::Result<u8> {
    let mut affected = 0;
    let mut unreadable = 0;
    for pkg in installed {
        match findings(records, &pkg.ecosystem, &pkg.name, &pkg.version) {
            Ok(found) if !found.is_empty() => {
                affected += 1;
                for f in found {
                    let aliases = if f.aliases.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", f.aliases.join(", "))
                    };
                    let fix = match &f.fixed {
                        Some(v) => format!("upgrade to {v} or later"),
                        None => "no fixed version yet".into(),
                    };
                    let summary = f.summary.trim();
                    let summary = if summary.is_empty() {
                        String::new()
                    } else {
                        format!(": {summary}")
                    };
                    writeln!(
                        out,
                        "{} {} ({}): {}{aliases}{summary} — {fix}",
                        pkg.name, pkg.version, pkg.ecosystem, f.id
                    )?;
                }
            }
            Ok(_) => {}
            Err(e) => {
                unreadable += 1;
                writeln!(err, "{} ({}): {e}; not checked", pkg.name, pkg.ecosystem)?;
            }
        }
    }
    writeln!(
        out,
        "{affected} of {} package(s) affected, by {} advisories read",
        installed.len(),
        records.len()
    )?;
    Ok(if affected > 0 {
        1
    } else if unreadable > 0 {
        2
    } else {
        0
    })
}
