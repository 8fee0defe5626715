//! Pure conversions between the advisory document and what the world reads
//! and writes: OSV, CVE JSON 5 and CSAF 2.0 (export, and import where the
//! format allows), Markdown, the SPEC-11 announcement and the retrospective.
//! No IO; time comes in.

pub mod announcement;
pub mod check;
pub mod csaf;
pub mod cve;
pub mod markdown;
pub mod osv;
pub mod retrospective;

use embargo_core::{Case, advisory::Advisory};
use serde_json::Value;

/// A rendering failure (a template error, or a case not ready for it).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The case or advisory lacks what the output needs.
    #[error("{0}")]
    NotReady(String),
    /// The template could not be rendered.
    #[error("template error: {0}")]
    Template(String),
    /// An input document could not be read.
    #[error("{0}")]
    Invalid(String),
}

/// The formats `embargo convert` reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OSV.
    Osv,
    /// A CVE JSON 5 record.
    Cve,
    /// A CSAF 2.0 document.
    Csaf,
    /// Markdown (written only).
    Markdown,
}

impl Format {
    /// Parses `osv`, `cve`, `csaf` or `markdown`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "osv" => Some(Format::Osv),
            "cve" => Some(Format::Cve),
            "csaf" => Some(Format::Csaf),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }

    /// The file extension of an output.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            _ => "json",
        }
    }
}

/// Which format a JSON document is in, by its defining fields.
pub fn detect(v: &Value) -> Option<Format> {
    if v.get("dataType").and_then(Value::as_str) == Some("CVE_RECORD") {
        Some(Format::Cve)
    } else if v.pointer("/document/csaf_version").is_some() {
        Some(Format::Csaf)
    } else if v.get("id").is_some() && v.get("modified").is_some() {
        Some(Format::Osv)
    } else {
        None
    }
}

/// Reads a document in any importable format.
pub fn import(v: &Value) -> Result<Advisory, FormatError> {
    match detect(v) {
        Some(Format::Osv) => osv::from_osv(v),
        Some(Format::Cve) => cve::from_cve(v),
        Some(Format::Csaf) => Err(FormatError::Invalid(
            "CSAF documents are exported, not imported".into(),
        )),
        _ => Err(FormatError::Invalid(
            "not an OSV record, a CVE JSON 5 record or a CSAF document".into(),
        )),
    }
}

/// The OSV id a case's advisory is published under. OSV reserves
/// registered prefixes for known databases; a self-hosted database uses the
/// schema's `x_` prefix.
pub fn case_osv_id(case: &Case) -> String {
    format!("x_{}", case.id)
}

/// A revision's text as a case's document, ready for every exporter: made
/// exportable (`Case::exportable`), with the case's id, publication time
/// and the given modification time.
fn case_document(case: &Case, draft: &Advisory, modified: Option<String>) -> Advisory {
    let mut a = case.exportable(draft);
    a.id = Some(case.id.to_string());
    a.schema_version = Some(osv::SCHEMA_VERSION.into());
    a.published = case.published_at.map(|t| t.to_string());
    a.modified = modified;
    a
}

/// A case's public advisory: the approved revision, modified when it last
/// changed in public. `None` until disclosed.
pub fn public_document(case: &Case) -> Option<Advisory> {
    let public = case.public_advisory_revision()?;
    Some(case_document(
        case,
        &public.draft,
        case.public_modified().map(|t| t.to_string()),
    ))
}

/// A case's current draft (for previews and exports before disclosure):
/// the same shape as the public one, dated `now`.
pub fn draft_document(case: &Case, now: embargo_core::Timestamp) -> Option<Advisory> {
    let draft = case.current_advisory()?;
    Some(case_document(case, draft, Some(now.to_string())))
}

/// Writes a document in a format.
pub fn export(a: &Advisory, to: Format, ctx: &Context) -> Result<String, FormatError> {
    let json = |v: Value| {
        serde_json::to_string_pretty(&v).map_err(|e| FormatError::Template(e.to_string()))
    };
    match to {
        Format::Osv => json(osv::to_osv(a)?),
        Format::Cve => json(cve::to_record(a, ctx)?),
        Format::Csaf => json(csaf::to_csaf(a, ctx)?),
        Format::Markdown => Ok(markdown::to_markdown(a)),
    }
}

/// Who publishes, for the formats that name a publisher.
#[derive(Clone, Debug)]
pub struct Context {
    /// The publishing organisation's name.
    pub publisher: String,
    /// Its web address (CSAF namespace).
    pub namespace: String,
    /// Its CNA org UUID (CVE records), when it is a CNA.
    pub cna_org_id: Option<String>,
    /// Its CNA short name.
    pub cna_short_name: Option<String>,
    /// The TLP label for CSAF's distribution section (CSAF 2.0 uses TLP v1
    /// names: WHITE, GREEN, AMBER, RED).
    pub tlp: embargo_core::tlp::Tlp,
    /// The revisions to list in CSAF's revision history: (number, date,
    /// summary); empty means one revision at the modified time.
    pub revisions: Vec<(u32, String, String)>,
}

impl Context {
    /// A context for offline conversion: the publisher is named, the
    /// document is TLP:CLEAR.
    pub fn offline(publisher: &str, namespace: &str) -> Self {
        Context {
            publisher: publisher.into(),
            namespace: namespace.into(),
            cna_org_id: None,
            cna_short_name: None,
            tlp: embargo_core::tlp::Tlp::Clear,
            revisions: Vec::new(),
        }
    }
}
