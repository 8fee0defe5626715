//! What is public of disclosed cases, as the exporters (OSV, CVE, CSAF,
//! feeds) and the public pages take it.

use std::sync::Arc;

use embargo_core::{Case, advisory::Advisory, tlp::Tlp};
use embargo_formats::Context;

use crate::{AppState, error::ServiceError};

/// A disclosed case with its public document.
pub struct Published {
    /// The case.
    pub case: Arc<Case>,
    /// Its public advisory.
    pub doc: Advisory,
}

/// Every disclosed case's public advisory, newest publication first: the
/// read model names the published cases, so the cost follows them, not
/// the archive.
pub async fn published(state: &AppState) -> Result<Vec<Published>, ServiceError> {
    let mut out = Vec::new();
    for row in state.store.published(u32::MAX).await? {
        let case = crate::cache::case(state, &row.case_id, row.version).await?;
        if let Some(doc) = embargo_formats::public_document(&case) {
            out.push(Published { case, doc });
        }
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.case.published_at));
    Ok(out)
}

/// The publisher context for exports of public advisories.
pub fn export_context(state: &AppState, p: Option<&Published>) -> Context {
    let base = crate::links::base_url(state);
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
        publisher: state.config.advisories.publisher.clone(),
        namespace: state
            .config
            .advisories
            .namespace
            .clone()
            .unwrap_or_else(|| base.clone()),
        cna_org_id: state.config.cve.org_id.clone(),
        cna_short_name: state.config.cve.short_name.clone(),
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
    let mut doc = p.doc.clone();
    let url = format!("{}/advisories/{}", crate::links::base_url(state), p.case.id);
    if !doc.references.iter().any(|r| r.url == url) {
        doc.references.push(embargo_core::advisory::Reference {
            kind: "ADVISORY".into(),
            url,
        });
    }
    doc
}
