//! "Am I vulnerable?" over OSV records: for an installed package and
//! version, the advisories whose affected ranges (or explicit version
//! lists) contain it, each with the fixed version to upgrade to. The
//! announcement's am-I-vulnerable section and `embargo check` use this.

use embargo_core::versions::{self, Event, Scheme, Verdict};
use serde::Deserialize;

/// The parts of an OSV record that say who is affected.
#[derive(Clone, Debug, Deserialize)]
pub struct OsvAffects {
    /// The advisory id.
    pub id: String,
    /// Other ids (CVE, GHSA).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One line.
    #[serde(default)]
    pub summary: Option<String>,
    /// Set when the advisory was withdrawn.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// The affected packages.
    #[serde(default)]
    pub affected: Vec<Affected>,
}

/// One affected package.
#[derive(Clone, Debug, Deserialize)]
pub struct Affected {
    /// Which.
    #[serde(default)]
    pub package: Option<Package>,
    /// Its ranges.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Versions listed one by one.
    #[serde(default)]
    pub versions: Vec<String>,
}

/// A package.
#[derive(Clone, Debug, Deserialize)]
pub struct Package {
    /// OSV ecosystem name.
    pub ecosystem: String,
    /// Its name there.
    pub name: String,
}

/// A range.
#[derive(Clone, Debug, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its events.
    pub events: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// An advisory that applies to an installed version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The advisory.
    pub id: String,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// Its summary.
    pub summary: String,
    /// The version to upgrade to, when the range names one.
    pub fixed: Option<String>,
}

fn same_package(scheme: Option<Scheme>, a: &str, b: &str) -> bool {
    match scheme {
        Some(Scheme::Pep440) => versions::normalise_pypi(a) == versions::normalise_pypi(b),
        _ => a == b,
    }
}

fn events(range: &Range) -> Vec<Event> {
    range
        .events
        .iter()
        .filter_map(|e| {
            let (k, v) = e.iter().next()?;
            let v = v.as_str()?.to_owned();
            Some(match k.as_str() {
                "introduced" => Event::Introduced(v),
                "fixed" => Event::Fixed(v),
                "last_affected" => Event::LastAffected(v),
                "limit" => Event::Limit(v),
                _ => return None,
            })
        })
        .collect()
}

/// The advisories among `records` that apply to `name` at `version` in
/// `ecosystem`. Withdrawn advisories and GIT ranges (commits, not versions)
/// are skipped; an explicit `versions` list counts too. A version the
/// ecosystem's rules cannot read is an error.
pub fn findings(
    records: &[OsvAffects],
    ecosystem: &str,
    name: &str,
    version: &str,
) -> Result<Vec<Finding>, embargo_core::ids::InvalidValue> {
    let scheme = Scheme::of_ecosystem(ecosystem);
    let mut out: Vec<Finding> = Vec::new();
    for r in records.iter().filter(|r| r.withdrawn.is_none()) {
        let mut hit: Option<Option<String>> = None;
        for a in &r.affected {
            let Some(p) = &a.package else { continue };
            if !p.ecosystem.eq_ignore_ascii_case(ecosystem) || !same_package(scheme, &p.name, name)
            {
                continue;
            }
            if a.versions.iter().any(|v| v == version) {
                hit = Some(hit.flatten());
            }
            let Some(scheme) = scheme else { continue };
            for range in a.ranges.iter().filter(|r| r.kind != "GIT") {
                // SEMVER ranges are semver whatever the ecosystem.
                let s = if range.kind == "SEMVER" {
                    Scheme::Semver
                } else {
                    scheme
                };
                if let Verdict::Affected { fixed } = versions::check(s, &events(range), version)? {
                    // Keep the lowest fix named.
                    let best = match (hit.clone().flatten(), fixed) {
                        (Some(a), Some(b)) => {
                            let (pa, pb) = (s.parse(&a)?, s.parse(&b)?);
                            Some(if pb < pa { b } else { a })
                        }
                        (a, b) => a.or(b),
                    };
                    hit = Some(best);
                }
            }
        }
        if let Some(fixed) = hit {
            out.push(Finding {
                id: r.id.clone(),
                aliases: r.aliases.clone(),
                summary: r.summary.clone().unwrap_or_default(),
                fixed,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
