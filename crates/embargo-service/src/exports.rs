//! What is public of disclosed cases, as the exporters (OSV, CVE, CSAF,
//! feeds) and the public pages take it.

use std::sync::Arc;

use embargo_core::{Case, advisory::Advisory, tlp::Tlp};
use embargo_formats::Context;

use crate::{AppState, config::Config, error::ServiceError};

/// A disclosed case with its public document.
pub struct Published {
    /// The case.
    pub case: Arc<Case>,
    /// Its public advisory.
    pub doc: Advisory,
}

/// The publisher context for exports of public advisories.
pub fn export_context(state: &AppState, p: Option<&Published>) -> Context {
    context_with(&state.config, &crate::links::base_url(state), p)
}

/// As [`export_context`], under `config` with `base` for the server's
/// address.
pub fn context_with(config: &Config, base: &str, p: Option<&Published>) -> Context {
    let mut revisions = Vec::new();
    if let Some(p) = p
        && let (Some(published), Some(modified)) = (&p.doc.published, &p.doc.modified)
    {
        revisions.push((1, published.clone(), "Initial public version.".to_owned()));
        if modified != published {
            revisions.push((2, modified.clone(), "Updated.".to_owned()));
        }
    }
    Context {
        publisher: config.advisories.publisher.clone(),
        namespace: config
            .advisories
            .namespace
            .clone()
            .unwrap_or_else(|| base.to_owned()),
        cna_org_id: config.cve.org_id.clone(),
        cna_short_name: config.cve.short_name.clone(),
        // What is published is public.
        tlp: Tlp::Clear,
        revisions,
    }
}

/// One disclosed case with its public document; `None` when it is not
/// published (or not there): one lookup in the read model and one case
/// folded, whatever the number of published cases.
pub async fn published_case(
    state: &AppState,
    id: &embargo_core::CaseId,
) -> Result<Option<Published>, ServiceError> {
    let Some(row) = state.store.published_case(id).await? else {
        return Ok(None);
    };
    let case = crate::cache::case(state, &row.case_id, row.version).await?;
    Ok(embargo_formats::public_document(&case).map(|doc| Published { case, doc }))
}

/// One case's public document as exporters want it, if it is disclosed.
pub async fn published_one(
    state: &AppState,
    id: &embargo_core::CaseId,
) -> Result<Option<Advisory>, ServiceError> {
    Ok(published_case(state, id)
        .await?
        .map(|p| with_page_link(state, &p)))
}

/// The public document with a link to its page among its references, as
/// exporters want it.
pub fn with_page_link(state: &AppState, p: &Published) -> Advisory {
    link_with(&crate::links::base_url(state), p)
}

fn link_with(base: &str, p: &Published) -> Advisory {
    let mut doc = p.doc.clone();
    let url = format!("{base}/advisories/{}", p.case.id);
    if !doc.references.iter().any(|r| r.url == url) {
        doc.references.push(embargo_core::advisory::Reference {
            kind: "ADVISORY".into(),
            url,
        });
    }
    doc
}

/// Stands for the server's address in what is rendered of public
/// advisories ahead of time ([`render_public`]): the routes put the address
/// in as they send a list, so another address renders nothing again.
pub const BASE_MARK: &str = "{{embargo:base}}";

/// Changes when what [`render_public`] makes changes, so that the parts
/// stored by an older version are rendered again (the policy's
/// fingerprint names it).
pub const PUBLIC_FORMAT: u32 = 1;

/// The headline severity of a public advisory (`High 7.5`), or empty.
pub fn severity(doc: &Advisory) -> String {
    doc.headline_cvss()
        .map(|c| format!("{} {}", c.severity().name(), c.score_text()))
        .unwrap_or_default()
}

/// A disclosed case's OSV record, under its OSV id, with its page link.
pub fn osv_record(base: &str, p: &Published) -> Result<serde_json::Value, String> {
    let mut doc = link_with(base, p);
    doc.id = Some(embargo_formats::case_osv_id(&p.case));
    embargo_formats::osv::to_osv(&doc).map_err(|e| e.to_string())
}

/// The CSAF file name of a document id (CSAF 2.0 section 5.1: lower case,
/// anything but `+`, `-`, a-z and 0-9 becomes `_`).
pub fn csaf_file(id: &str) -> String {
    id.to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '+' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        + ".json"
}

/// The year directory a disclosed case's CSAF document is under.
pub fn csaf_year(p: &Published) -> String {
    p.doc
        .published
        .as_deref()
        .and_then(|d| d.get(..4))
        .unwrap_or("0000")
        .to_owned()
}

/// A disclosed case's CSAF document and its path under `white/`; `None`
/// when its advisory names no product CSAF can list.
pub fn csaf_document_of(
    config: &Config,
    base: &str,
    p: &Published,
) -> Option<(String, serde_json::Value)> {
    let doc = link_with(base, p);
    let csaf = embargo_formats::csaf::to_csaf(&doc, &context_with(config, base, Some(p))).ok()?;
    Some((
        format!("{}/{}", csaf_year(p), csaf_file(p.case.id.as_str())),
        csaf,
    ))
}

/// Text made safe for XML character data and attribute values.
pub fn xml(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// What the public lists read of a disclosed case (`None` before it is
/// disclosed), rendered when the case changes by the store's writer
/// (through the policy, `timers::Deployment`), with [`BASE_MARK`] for the
/// server's address:
///
/// - `list`: the advisories page's row (JSON);
/// - `atom`: the Atom feed's entry;
/// - `osv_index` and `osv`: the OSV index's entry and the record;
/// - `csaf_index`, `csaf_change` and `rolie`: the CSAF directory's index
///   line, its changes line and the ROLIE feed's entry (JSON), when CSAF
///   can list the advisory.
pub fn render_public(config: &Config, case: &Case) -> Option<embargo_store::Public> {
    let doc = embargo_formats::public_document(case)?;
    let p = Published {
        case: Arc::new(case.clone()),
        doc,
    };
    let base = BASE_MARK;
    let mut parts: Vec<(&'static str, String)> = Vec::new();
    let list = serde_json::json!({
        "id": case.id.as_str(),
        "cve": p.doc.cve.as_ref().map(ToString::to_string),
        "summary": p.doc.summary,
        "severity": severity(&p.doc),
        "published": p.doc.published,
    });
    parts.push(("list", list.to_string()));
    parts.push(("atom", atom_entry(base, &p)));
    parts.push((
        "osv_index",
        serde_json::json!({ "id": embargo_formats::case_osv_id(case), "modified": p.doc.modified })
            .to_string(),
    ));
    match osv_record(base, &p) {
        Ok(record) => parts.push(("osv", record.to_string())),
        Err(e) => {
            tracing::error!(case = %case.id, error = %e, "the OSV record could not be written")
        }
    }
    if let Some((path, doc)) = csaf_document_of(config, base, &p) {
        let modified = p.doc.modified.clone().unwrap_or_default();
        parts.push(("csaf_change", format!("\"{path}\",\"{modified}\"")));
        let url = format!("{base}/.well-known/csaf/white/{path}");
        let entry = serde_json::json!({
            "id": doc.pointer("/document/tracking/id"),
            "title": doc.pointer("/document/title"),
            "link": [
                { "rel": "self", "href": url },
                { "rel": "hash", "href": format!("{url}.sha256") },
                { "rel": "hash", "href": format!("{url}.sha512") },
            ],
            "published": doc.pointer("/document/tracking/initial_release_date"),
            "updated": modified,
            "content": { "type": "application/json", "src": url },
            "format": { "schema": "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json", "version": "2.0" },
        });
        parts.push(("rolie", entry.to_string()));
        parts.push(("csaf_index", path));
    }
    Some(embargo_store::Public {
        published: case.published_at?,
        modified: case.public_modified()?,
        parts,
    })
}

fn atom_entry(base: &str, p: &Published) -> String {
    let url = format!("{base}/advisories/{}", p.case.id);
    let ids = p.doc.identifiers().into_iter().skip(1).collect::<Vec<_>>();
    let title = if ids.is_empty() {
        p.doc.summary.clone()
    } else {
        format!("{} ({})", p.doc.summary, ids.join(", "))
    };
    format!(
        "<entry>\n<id>{url}</id>\n<title>{}</title>\n<link href=\"{url}\"/>\n\
         <published>{}</published>\n<updated>{}</updated>\n<summary>{}</summary>\n</entry>\n",
        xml(&title),
        xml(p.doc.published.as_deref().unwrap_or_default()),
        xml(p.doc.modified.as_deref().unwrap_or_default()),
        xml(format!("{} {}", severity(&p.doc), p.doc.summary).trim()),
    )
}
