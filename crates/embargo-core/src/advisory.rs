//! The advisory a case publishes: one source for OSV, CVE JSON 5, CSAF 2.0
//! and the announcement, revised as facts arrive.
//!
//! The document holds what every format needs (identifiers, affected
//! packages with OSV-shaped ranges, scores, weaknesses, typed references and
//! credits) and keeps what an imported record carries that we do not
//! interpret (`database_specific`, `ecosystem_specific`) as opaque JSON, so
//! an OSV record brought in goes back out unchanged. Timestamps of imported
//! records are kept as their RFC 3339 text for the same reason.
//!
//! The review step (draft → in review → approved) and credit acceptance are
//! state of the case (`case.rs`), not of a revision's text.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    affected::{AffectedPackage, Ecosystem},
    cvss::{Cvss, CvssVersion},
    ids::{CveId, Cwe, InvalidValue, required_text},
};

/// A typed link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// OSV reference type: ADVISORY, FIX, REPORT, WEB, PACKAGE, ARTICLE, …
    pub kind: String,
    /// Where it points.
    pub url: String,
}

/// Who a credit names, when that party is known here: they must accept the
/// credit before it is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum CreditHolder {
    /// The case's reporter (answers on their status page).
    Reporter,
    /// A person with an account.
    Person(crate::PersonId),
}

/// A credited person and what they did (OSV credit types).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// Name as it should appear.
    pub name: String,
    /// FINDER, REPORTER, ANALYST, COORDINATOR, REMEDIATION_DEVELOPER, …
    /// (OSV allows a credit without a type.)
    #[serde(default)]
    pub kind: Option<String>,
    /// How to reach them (URLs), as OSV's `contact`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    /// Who must accept it, when that is someone on the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<CreditHolder>,
}

/// How a range's versions are ordered (OSV `ranges[].type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    /// The ecosystem's own ordering (PEP 440 for PyPI).
    Ecosystem,
    /// Semantic Versioning 2.0 (crates.io, npm).
    Semver,
    /// Commits of a git repository.
    Git,
}

impl RangeKind {
    /// The OSV name.
    pub fn name(self) -> &'static str {
        match self {
            RangeKind::Ecosystem => "ECOSYSTEM",
            RangeKind::Semver => "SEMVER",
            RangeKind::Git => "GIT",
        }
    }

    /// The ordering an ecosystem's versions use.
    pub fn for_ecosystem(eco: &Ecosystem) -> Self {
        match eco {
            Ecosystem::CratesIo | Ecosystem::Npm => RangeKind::Semver,
            Ecosystem::Git => RangeKind::Git,
            _ => RangeKind::Ecosystem,
        }
    }
}

/// One OSV range event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeEvent {
    /// Affected from this version on.
    Introduced(String),
    /// Fixed in this version (the patched version of the series).
    Fixed(String),
    /// The last affected version, when no fix is known.
    LastAffected(String),
    /// Versions from here on are outside the range (GIT).
    Limit(String),
}

impl RangeEvent {
    /// The version the event names.
    pub fn version(&self) -> &str {
        match self {
            RangeEvent::Introduced(v)
            | RangeEvent::Fixed(v)
            | RangeEvent::LastAffected(v)
            | RangeEvent::Limit(v) => v,
        }
    }
}

/// An affected range: usually one per release series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// How versions are ordered.
    pub kind: RangeKind,
    /// The repository, for GIT ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Introduced / fixed / last_affected / limit, in order.
    pub events: Vec<RangeEvent>,
    /// Opaque data an imported record carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

impl Range {
    /// Parses one compact range: `introduced..fixed`, `introduced..` (no fix
    /// yet) or `introduced..=last_affected`.
    pub fn parse(kind: RangeKind, repo: Option<String>, spec: &str) -> Result<Self, InvalidValue> {
        let (introduced, rest) = spec.split_once("..").ok_or_else(|| {
            InvalidValue(format!(
                "`{spec}` is not a range (expected INTRODUCED..FIXED, INTRODUCED.. or INTRODUCED..=LAST)"
            ))
        })?;
        check_version("introduced version", introduced)?;
        let mut events = vec![RangeEvent::Introduced(introduced.to_owned())];
        if let Some(last) = rest.strip_prefix('=') {
            check_version("last affected version", last)?;
            events.push(RangeEvent::LastAffected(last.to_owned()));
        } else if !rest.is_empty() {
            check_version("fixed version", rest)?;
            events.push(RangeEvent::Fixed(rest.to_owned()));
        }
        Ok(Range {
            kind,
            repo,
            events,
            database_specific: None,
        })
    }
}

/// A package the advisory covers, with its ranges and explicit versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Where it lives.
    pub ecosystem: Ecosystem,
    /// Its name there (for GIT, the repository URL).
    pub name: String,
    /// A package URL, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Affected ranges.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Explicitly affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Opaque data an imported record carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    /// Opaque data an imported record carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
    /// List fields an imported record wrote out empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_lists: Vec<String>,
}

impl Package {
    /// The patched version of each series: the `fixed` events, in order.
    pub fn patched(&self) -> Vec<&str> {
        self.ranges
            .iter()
            .flat_map(|r| r.events.iter())
            .filter_map(|e| match e {
                RangeEvent::Fixed(v) => Some(v.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Each range as `introduced..fixed` (or `introduced..` with no fix, or
    /// `introduced..=last` for a last affected version).
    pub fn compact_ranges(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.ranges {
            let mut current: Option<String> = None;
            for e in &r.events {
                match e {
                    RangeEvent::Introduced(v) => {
                        if let Some(open) = current.take() {
                            out.push(format!("{open}.."));
                        }
                        current = Some(v.clone());
                    }
                    RangeEvent::Fixed(v) | RangeEvent::Limit(v) => {
                        out.push(format!("{}..{v}", current.take().unwrap_or_default()));
                    }
                    RangeEvent::LastAffected(v) => {
                        out.push(format!("{}..={v}", current.take().unwrap_or_default()));
                    }
                }
            }
            if let Some(open) = current {
                out.push(format!("{open}.."));
            }
        }
        out
    }
}

impl From<&AffectedPackage> for Package {
    /// Triage's compact ranges, one range per series.
    fn from(p: &AffectedPackage) -> Self {
        let kind = RangeKind::for_ecosystem(&p.ecosystem);
        let ranges = p
            .ranges
            .iter()
            .map(|r| {
                let mut events = vec![RangeEvent::Introduced(r.introduced.clone())];
                if let Some(f) = &r.fixed {
                    events.push(RangeEvent::Fixed(f.clone()));
                }
                Range {
                    kind,
                    repo: (kind == RangeKind::Git).then(|| p.name.clone()),
                    events,
                    database_specific: None,
                }
            })
            .collect();
        Package {
            ecosystem: p.ecosystem.clone(),
            name: p.name.clone(),
            purl: None,
            ranges,
            versions: Vec::new(),
            ecosystem_specific: None,
            database_specific: None,
            empty_lists: Vec::new(),
        }
    }
}

/// The advisory: one revision's text and facts.
///
/// An empty `summary` or `details` means absent (OSV allows both to be
/// missing in imported records; a case's revision requires them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// The record's own id, for an imported advisory (`PYSEC-…`, `GHSA-…`);
    /// a case's advisory is known by the case id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The CVE, once assigned.
    pub cve: Option<CveId>,
    /// The GitHub advisory id, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ghsa: Option<String>,
    /// Other ids for the same vulnerability (OSV `aliases`). An imported
    /// record keeps its list as it was, so it may repeat the CVE and GHSA
    /// ids above; exports list each id once (`all_aliases`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Ids of related but different vulnerabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Ids of upstream advisories this one derives from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    /// One line.
    pub summary: String,
    /// Markdown.
    pub details: String,
    /// Who is affected and how badly (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    /// Affected packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Package>,
    /// Workarounds: what users can do when they cannot upgrade.
    pub mitigation: Option<String>,
    /// How to upgrade (commands, notes).
    pub upgrade: Option<String>,
    /// Links.
    pub references: Vec<Reference>,
    /// Weaknesses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<Cwe>,
    /// CVSS v3.x and v4.0 vectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<Cvss>,
    /// Who is credited.
    pub credits: Vec<Credit>,
    /// Notes for the team only: never exported, never published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential: Option<String>,
    /// When first published (RFC 3339), for an imported record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When last modified (RFC 3339), for an imported record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// When withdrawn (RFC 3339), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// The OSV schema version an imported record declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Opaque data an imported record carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
    /// List fields an imported record wrote out empty (`"aliases": []`),
    /// so that it is written back the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_lists: Vec<String>,
}

/// The name this type had before the document grew; the event log's
/// encoding is the same (new fields default to empty).
pub type AdvisoryDraft = Advisory;

/// OSV reference types.
pub const REFERENCE_KINDS: &[&str] = &[
    "ADVISORY",
    "ARTICLE",
    "DETECTION",
    "DISCUSSION",
    "REPORT",
    "FIX",
    "INTRODUCED",
    "GIT",
    "PACKAGE",
    "EVIDENCE",
    "WEB",
];

/// OSV credit types.
pub const CREDIT_KINDS: &[&str] = &[
    "FINDER",
    "REPORTER",
    "ANALYST",
    "COORDINATOR",
    "REMEDIATION_DEVELOPER",
    "REMEDIATION_REVIEWER",
    "REMEDIATION_VERIFIER",
    "TOOL",
    "SPONSOR",
    "OTHER",
];

fn is_ghsa(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 4
        && parts.first() == Some(&"GHSA")
        && parts.iter().skip(1).all(|p| {
            p.len() == 4
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        })
}

fn is_commit(v: &str) -> bool {
    v == "0"
        || ((v.len() == 40 || v.len() == 64)
            && v.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn check_url(what: &str, url: &str) -> Result<(), InvalidValue> {
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.len() > 2000
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(InvalidValue(format!(
            "{what} `{url}` must be an http(s) URL"
        )));
    }
    Ok(())
}

fn check_id(what: &str, id: &str) -> Result<(), InvalidValue> {
    if id.is_empty()
        || id.len() > 100
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(InvalidValue(format!(
            "{what} `{id}` must be 1 to 100 letters, digits, `-`, `_`, `.` or `:`"
        )));
    }
    Ok(())
}

fn check_version(what: &str, v: &str) -> Result<(), InvalidValue> {
    if v.is_empty() || v.len() > 200 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidValue(format!(
            "{what} `{v}` must be 1 to 200 characters without spaces"
        )));
    }
    Ok(())
}

fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<(), InvalidValue> {
    match value {
        Some(v) if !v.trim().is_empty() => required_text(field, v, max),
        _ => Ok(()),
    }
}

impl Advisory {
    /// A new advisory with a summary and details and nothing else.
    pub fn new(summary: impl Into<String>, details: impl Into<String>) -> Self {
        Advisory {
            id: None,
            cve: None,
            ghsa: None,
            aliases: Vec::new(),
            related: Vec::new(),
            upstream: Vec::new(),
            summary: summary.into(),
            details: details.into(),
            impact: None,
            affected: Vec::new(),
            mitigation: None,
            upgrade: None,
            references: Vec::new(),
            cwes: Vec::new(),
            cvss: Vec::new(),
            credits: Vec::new(),
            confidential: None,
            published: None,
            modified: None,
            withdrawn: None,
            schema_version: None,
            database_specific: None,
            empty_lists: Vec::new(),
        }
    }

    /// Checks what a case's revision must hold: a summary and details,
    /// bounded text, closed vocabularies, ids and URLs that parse, ranges
    /// that begin with `introduced`.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        required_text("summary", &self.summary, 200)?;
        required_text("details", &self.details, 50_000)?;
        self.validate_imported()
    }

    /// The checks an imported record must pass (summary and details may be
    /// absent there).
    pub fn validate_imported(&self) -> Result<(), InvalidValue> {
        if self.summary.chars().count() > 1000 || self.details.chars().count() > 200_000 {
            return Err(InvalidValue("summary or details too long".into()));
        }
        optional_text("impact", self.impact.as_deref(), 20_000)?;
        optional_text("workarounds", self.mitigation.as_deref(), 20_000)?;
        optional_text("upgrade instructions", self.upgrade.as_deref(), 20_000)?;
        optional_text("confidential notes", self.confidential.as_deref(), 50_000)?;
        if let Some(id) = &self.id {
            check_id("id", id)?;
        }
        if let Some(g) = &self.ghsa
            && !is_ghsa(g)
        {
            return Err(InvalidValue(format!(
                "`{g}` is not a GHSA id (expected GHSA-xxxx-xxxx-xxxx)"
            )));
        }
        for id in self
            .aliases
            .iter()
            .chain(&self.related)
            .chain(&self.upstream)
        {
            check_id("alias", id)?;
        }
        if self.affected.len() > 500 || self.references.len() > 500 || self.credits.len() > 100 {
            return Err(InvalidValue(
                "at most 500 packages, 500 references and 100 credits".into(),
            ));
        }
        for p in &self.affected {
            if p.name.is_empty() || p.name.len() > 500 || p.name.chars().any(char::is_control) {
                return Err(InvalidValue(format!(
                    "package name `{}` must be 1 to 500 characters",
                    p.name
                )));
            }
            if p.versions.len() > 20_000 {
                return Err(InvalidValue(format!(
                    "{}: at most 20000 explicit versions",
                    p.name
                )));
            }
            for v in &p.versions {
                check_version("version", v)?;
            }
            for r in &p.ranges {
                if r.kind == RangeKind::Git {
                    match &r.repo {
                        Some(repo) => check_url("repository", repo)?,
                        None => {
                            return Err(InvalidValue(format!(
                                "{}: a GIT range names its repository",
                                p.name
                            )));
                        }
                    }
                }
                let has = |f: fn(&RangeEvent) -> bool| r.events.iter().any(f);
                if has(|e| matches!(e, RangeEvent::Fixed(_)))
                    && has(|e| matches!(e, RangeEvent::LastAffected(_)))
                {
                    return Err(InvalidValue(format!(
                        "{}: a range has fixed versions or a last affected one, not both",
                        p.name
                    )));
                }
                if r.kind == RangeKind::Git
                    && let Some(e) = r.events.iter().find(|e| !is_commit(e.version()))
                {
                    return Err(InvalidValue(format!(
                        "{}: git ranges name full commit hashes (or 0), not `{}`",
                        p.name,
                        e.version()
                    )));
                }
                if !matches!(r.events.first(), Some(RangeEvent::Introduced(_))) {
                    return Err(InvalidValue(format!(
                        "{}: a range begins with an introduced version",
                        p.name
                    )));
                }
                for e in &r.events {
                    check_version("range version", e.version())?;
                }
            }
        }
        for r in &self.references {
            if !REFERENCE_KINDS.contains(&r.kind.as_str()) {
                return Err(InvalidValue(format!(
                    "reference type `{}` is not one of {}",
                    r.kind,
                    REFERENCE_KINDS.join(", ")
                )));
            }
            check_url("reference", &r.url)?;
        }
        for c in &self.credits {
            required_text("credit name", &c.name, 200)?;
            if let Some(kind) = &c.kind
                && !CREDIT_KINDS.contains(&kind.as_str())
            {
                return Err(InvalidValue(format!(
                    "credit type `{kind}` is not one of {}",
                    CREDIT_KINDS.join(", ")
                )));
            }
        }
        let mut versions: Vec<CvssVersion> = self.cvss.iter().map(Cvss::version).collect();
        versions.sort_by_key(|v| *v as u8);
        versions.dedup();
        if versions.len() != self.cvss.len() {
            return Err(InvalidValue("at most one CVSS vector per version".into()));
        }
        Ok(())
    }

    /// Every id the advisory is known by, its own first: id, CVE, GHSA,
    /// then the other aliases.
    pub fn identifiers(&self) -> Vec<String> {
        let mut out: Vec<String> = self.id.iter().cloned().collect();
        for a in self.all_aliases() {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }

    /// The CVSS vector of a version.
    pub fn cvss_of(&self, version: CvssVersion) -> Option<&Cvss> {
        self.cvss.iter().find(|c| c.version() == version)
    }

    /// The highest-version score: v4.0 over v3.1 over v3.0.
    pub fn headline_cvss(&self) -> Option<&Cvss> {
        self.cvss_of(CvssVersion::V40)
            .or_else(|| self.cvss_of(CvssVersion::V31))
            .or_else(|| self.cvss_of(CvssVersion::V30))
    }

    /// The OSV `aliases`: the listed ones in their order, then the CVE and
    /// GHSA ids when not listed yet, never the record's own id.
    pub fn all_aliases(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let extra = self
            .cve
            .iter()
            .map(|c| c.as_str().to_owned())
            .chain(self.ghsa.iter().cloned());
        for a in self.aliases.iter().cloned().chain(extra) {
            if self.id.as_deref() != Some(a.as_str()) && !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }
}

/// One changed field between two revisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's name as people read it.
    pub field: &'static str,
    /// The lines, each marked.
    pub lines: Vec<DiffLine>,
}

/// A line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffLine {
    /// In both.
    Same(String),
    /// Only in the newer revision.
    Added(String),
    /// Only in the older revision.
    Removed(String),
}

impl fmt::Display for DiffLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffLine::Same(l) => write!(f, "  {l}"),
            DiffLine::Added(l) => write!(f, "+ {l}"),
            DiffLine::Removed(l) => write!(f, "- {l}"),
        }
    }
}

/// The advisory's fields as lines of text, for diffs.
fn fields(a: &Advisory) -> Vec<(&'static str, Vec<String>)> {
    let lines = |s: &str| s.lines().map(str::to_owned).collect::<Vec<_>>();
    let opt = |s: &Option<String>| s.as_deref().map(lines).unwrap_or_default();
    vec![
        ("summary", lines(&a.summary)),
        ("CVE", a.cve.iter().map(|c| c.to_string()).collect()),
        ("GHSA", a.ghsa.iter().cloned().collect()),
        ("aliases", a.aliases.clone()),
        ("details", lines(&a.details)),
        ("impact", opt(&a.impact)),
        (
            "affected",
            a.affected
                .iter()
                .map(|p| {
                    let mut l = format!(
                        "{}:{} {}",
                        p.ecosystem,
                        p.name,
                        p.compact_ranges().join(",")
                    );
                    if !p.versions.is_empty() {
                        l.push_str(&format!(" versions {}", p.versions.join(" ")));
                    }
                    l
                })
                .collect(),
        ),
        ("workarounds", opt(&a.mitigation)),
        ("upgrade", opt(&a.upgrade)),
        (
            "references",
            a.references
                .iter()
                .map(|r| format!("{} {}", r.kind, r.url))
                .collect(),
        ),
        ("CWE", a.cwes.iter().map(|c| c.to_string()).collect()),
        (
            "CVSS",
            a.cvss.iter().map(|c| c.vector().to_owned()).collect(),
        ),
        (
            "credits",
            a.credits
                .iter()
                .map(|c| format!("{} {}", c.kind.as_deref().unwrap_or("OTHER"), c.name))
                .collect(),
        ),
        ("confidential", opt(&a.confidential)),
    ]
}

/// What changed from `old` to `new`, field by field, as line diffs. An
/// empty list means the revisions say the same.
pub fn diff(old: &Advisory, new: &Advisory) -> Vec<FieldChange> {
    fields(old)
        .into_iter()
        .zip(fields(new))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| FieldChange {
            field,
            lines: line_diff(&a, &b),
        })
        .collect()
}

/// A longest-common-subsequence line diff. Text fields are bounded by
/// `validate`, so the table stays small.
fn line_diff(a: &[String], b: &[String]) -> Vec<DiffLine> {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j] = length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let v = if a.get(i) == b.get(j) {
                lcs.get(i + 1)
                    .and_then(|r| r.get(j + 1))
                    .copied()
                    .unwrap_or(0)
                    + 1
            } else {
                let down = lcs.get(i + 1).and_then(|r| r.get(j)).copied().unwrap_or(0);
                let right = lcs.get(i).and_then(|r| r.get(j + 1)).copied().unwrap_or(0);
                down.max(right)
            };
            if let Some(cell) = lcs.get_mut(i).and_then(|r| r.get_mut(j)) {
                *cell = v;
            }
        }
    }
    let at = |i: usize, j: usize| lcs.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0);
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                out.push(DiffLine::Same(x.clone()));
                i += 1;
                j += 1;
            }
            (Some(x), Some(_)) if at(i + 1, j) >= at(i, j + 1) => {
                out.push(DiffLine::Removed(x.clone()));
                i += 1;
            }
            (_, Some(y)) => {
                out.push(DiffLine::Added(y.clone()));
                j += 1;
            }
            (Some(x), None) => {
                out.push(DiffLine::Removed(x.clone()));
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_log_payloads_still_read() {
        // The encoding of revisions written before the document grew.
        let old = r#"{"summary":"s","details":"d","cve":"CVE-2024-1234","mitigation":null,
            "upgrade":"pip install -U x","references":[{"kind":"FIX","url":"https://x.test/1"}],
            "credits":[{"name":"Ada","kind":"FINDER"}]}"#;
        let a: Advisory = serde_json::from_str(old).unwrap();
        assert_eq!(a.cve.unwrap().as_str(), "CVE-2024-1234");
        assert_eq!(a.credits[0].kind.as_deref(), Some("FINDER"));
        assert!(a.affected.is_empty() && a.cvss.is_empty() && a.confidential.is_none());
    }

    #[test]
    fn aliases_list_each_id_once() {
        let mut a = Advisory::new("s", "d");
        a.id = Some("PYSEC-2023-1".into());
        a.aliases = vec!["GHSA-abcd-efgh-2345".into(), "OSV-1".into()];
        a.cve = Some("CVE-2023-1111".parse().unwrap());
        a.ghsa = Some("GHSA-abcd-efgh-2345".into());
        assert_eq!(
            a.all_aliases(),
            ["GHSA-abcd-efgh-2345", "OSV-1", "CVE-2023-1111"]
        );
        assert_eq!(a.identifiers()[0], "PYSEC-2023-1");
    }

    #[test]
    fn validation_names_the_problem() {
        let mut a = Advisory::new("s", "d");
        a.affected.push(Package::from(
            &AffectedPackage::parse("PyPI:x:0..1.2").unwrap(),
        ));
        assert!(a.validate().is_ok());
        a.affected[0].ranges[0].events.remove(0);
        assert!(a.validate().unwrap_err().0.contains("introduced"));
        let mut b = Advisory::new("s", "d");
        b.cvss = vec![
            Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap(),
            Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:L").unwrap(),
        ];
        assert!(
            b.validate()
                .unwrap_err()
                .0
                .contains("one CVSS vector per version")
        );
        b.cvss.pop();
        b.ghsa = Some("GHSA-nope".into());
        assert!(b.validate().unwrap_err().0.contains("GHSA id"));
        let mut c = Advisory::new("", "d");
        assert!(c.validate().unwrap_err().0.contains("summary"));
        c.summary = "s".into();
        c.credits.push(Credit {
            name: "x".into(),
            kind: Some("HERO".into()),
            contact: vec![],
            holder: None,
        });
        assert!(c.validate().unwrap_err().0.contains("HERO"));
    }

    #[test]
    fn compact_ranges_read_like_the_triage_form() {
        let p =
            Package::from(&AffectedPackage::parse("crates.io:foo:1.0.0..1.0.3,2.0.0..").unwrap());
        assert_eq!(p.compact_ranges(), ["1.0.0..1.0.3", "2.0.0.."]);
        assert_eq!(p.patched(), ["1.0.3"]);
    }

    #[test]
    fn diff_marks_what_changed() {
        let a = Advisory::new("Heap overflow", "line one\nline two\nline three");
        let mut b = a.clone();
        b.details = "line one\nline 2\nline three\nline four".into();
        b.cwes.push(Cwe::new("CWE-787").unwrap());
        let d = diff(&a, &b);
        let rendered: Vec<String> = d
            .iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    c.field,
                    c.lines
                        .iter()
                        .map(|l| l.to_string())
                        .collect::<Vec<_>>()
                        .join(" | ")
                )
            })
            .collect();
        assert_eq!(
            rendered,
            [
                "details:   line one | - line two | + line 2 |   line three | + line four",
                "CWE: + CWE-787",
            ]
        );
        assert!(diff(&a, &a).is_empty());
    }
}
