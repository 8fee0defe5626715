//! The advisory text that a case publishes, revised as facts arrive.

use serde::{Deserialize, Serialize};

use crate::ids::{CveId, InvalidValue, required_text};

/// A typed link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// OSV reference type: ADVISORY, FIX, REPORT, WEB, PACKAGE, ARTICLE, …
    pub kind: String,
    /// Where it points.
    pub url: String,
}

/// A credited person and what they did (OSV credit types).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// Name as it should appear.
    pub name: String,
    /// FINDER, REPORTER, ANALYST, COORDINATOR, REMEDIATION_DEVELOPER, …
    pub kind: String,
}

/// One revision of the advisory's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisoryDraft {
    /// One line.
    pub summary: String,
    /// Markdown.
    pub details: String,
    /// The CVE, once assigned.
    pub cve: Option<CveId>,
    /// What users can do when they cannot upgrade.
    pub mitigation: Option<String>,
    /// How to upgrade (commands, notes).
    pub upgrade: Option<String>,
    /// Links.
    pub references: Vec<Reference>,
    /// Who is credited.
    pub credits: Vec<Credit>,
}

const REFERENCE_KINDS: &[&str] = &[
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
const CREDIT_KINDS: &[&str] = &[
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

impl AdvisoryDraft {
    /// Checks lengths and the closed vocabularies of references and credits.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        required_text("summary", &self.summary, 200)?;
        required_text("details", &self.details, 50_000)?;
        for r in &self.references {
            if !REFERENCE_KINDS.contains(&r.kind.as_str()) {
                return Err(InvalidValue(format!(
                    "reference type `{}` is not one of {}",
                    r.kind,
                    REFERENCE_KINDS.join(", ")
                )));
            }
            if !(r.url.starts_with("https://") || r.url.starts_with("http://"))
                || r.url.len() > 2000
            {
                return Err(InvalidValue(format!(
                    "reference `{}` must be an http(s) URL",
                    r.url
                )));
            }
        }
        for c in &self.credits {
            required_text("credit name", &c.name, 200)?;
            if !CREDIT_KINDS.contains(&c.kind.as_str()) {
                return Err(InvalidValue(format!(
                    "credit type `{}` is not one of {}",
                    c.kind,
                    CREDIT_KINDS.join(", ")
                )));
            }
        }
        Ok(())
    }
}
