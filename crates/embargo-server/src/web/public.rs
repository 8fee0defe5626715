//! What the world reads once a case is disclosed: advisory pages, the OSV
//! feed, the CSAF provider directory and an Atom feed.
//!
//! Every route here reads one list, `published`: the cases whose advisory is
//! public (`formats::public_document`, the approved revision of a disclosed
//! case). Nothing of an undisclosed case can reach these pages because
//! nothing else is read; an unknown or undisclosed id is 404.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use embargo_core::advisory::Advisory;
use embargo_formats::Format;
use minijinja::context;
use serde_json::{Value, json};
use sha2::Digest;

use super::{WebError, markdown, render, ser};
use crate::{
    AppState,
    exports::{Published, export_context, published, with_page_link},
};

type Shared = Arc<AppState>;

/// One published advisory by its case id; anything else (no such case,
/// not published, not an id) is the same 404.
async fn one(state: &AppState, id: &str) -> Result<Published, WebError> {
    let Ok(id) = embargo_core::CaseId::new(id) else {
        return Err(not_found());
    };
    crate::exports::published_case(state, &id)
        .await?
        .ok_or_else(not_found)
}

fn not_found() -> WebError {
    WebError {
        status: StatusCode::NOT_FOUND,
        title: "Not found",
        message: "No such advisory.".into(),
    }
}

fn osv_record(state: &AppState, p: &Published) -> Result<Value, WebError> {
    let mut doc = with_page_link(state, p);
    doc.id = Some(embargo_formats::case_osv_id(&p.case));
    embargo_formats::osv::to_osv(&doc).map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> WebError {
    tracing::error!(error = %e, "a public document could not be written");
    WebError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        title: "Internal error",
        message: "The document could not be written.".into(),
    }
}

fn severity(doc: &Advisory) -> String {
    doc.headline_cvss()
        .map(|c| format!("{} {}", c.severity().name(), c.score_text()))
        .unwrap_or_default()
}

fn typed(content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

/// `GET /advisories`
pub(crate) async fn advisories_page(State(state): State<Shared>) -> Result<Response, WebError> {
    let list: Vec<Value> = published(&state)
        .await?
        .iter()
        .map(|p| {
            json!({
                "id": p.case.id.as_str(),
                "cve": p.doc.cve.as_ref().map(ToString::to_string),
                "summary": p.doc.summary,
                "severity": severity(&p.doc),
                "published": p.doc.published,
            })
        })
        .collect();
    Ok(render(
        "advisories.html",
        context! { me => (), advisories => ser(list) },
    ))
}

/// `GET /advisories/{id}`
pub(crate) async fn advisory_page(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let p = one(&state, &id).await?;
    let a = &p.doc;
    let md = |s: &Option<String>| s.as_deref().map(markdown::render);
    let affected: Vec<Value> = a
        .affected
        .iter()
        .map(|pk| {
            json!({
                "ecosystem": pk.ecosystem.to_string(),
                "name": pk.name,
                "ranges": pk.compact_ranges(),
                "patched": pk.patched(),
            })
        })
        .collect();
    Ok(render(
        "advisory.html",
        context! {
            me => (),
            id => p.case.id.as_str(),
            a => context! { summary => a.summary.clone() },
            ids => a.identifiers().into_iter().skip(1).chain([embargo_formats::case_osv_id(&p.case)]).collect::<Vec<_>>(),
            published => a.published.clone(),
            modified => a.modified.clone(),
            severity => severity(a),
            cvss => a.cvss.iter().map(|c| c.vector().to_owned()).collect::<Vec<_>>(),
            cwes => a.cwes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            affected => ser(affected),
            details_html => markdown::render(&a.details),
            impact_html => md(&a.impact),
            upgrade_html => md(&a.upgrade),
            mitigation_html => md(&a.mitigation),
            references => ser(a.references.iter().map(|r| json!({"url": r.url, "kind": r.kind})).collect::<Vec<_>>()),
            credits => a.credits.iter().map(|c| match &c.kind {
                Some(k) => format!("{} ({})", c.name, k.to_ascii_lowercase().replace('_', " ")),
                None => c.name.clone(),
            }).collect::<Vec<_>>(),
        },
    ))
}

/// `GET /advisories/{id}/{file}`: `osv.json`, `cve.json`, `csaf.json`,
/// `advisory.md`.
pub(crate) async fn advisory_file(
    State(state): State<Shared>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let format = match file.as_str() {
        "osv.json" => Format::Osv,
        "cve.json" => Format::Cve,
        "csaf.json" => Format::Csaf,
        "advisory.md" => Format::Markdown,
        _ => return Err(not_found()),
    };
    let p = one(&state, &id).await?;
    if format == Format::Osv {
        return Ok(Json(osv_record(&state, &p)?).into_response());
    }
    let doc = with_page_link(&state, &p);
    match embargo_formats::export(&doc, format, &export_context(&state, Some(&p))) {
        Ok(body) if format == Format::Markdown => Ok(typed("text/markdown; charset=utf-8", body)),
        Ok(body) => Ok(typed("application/json", body)),
        // Not every advisory makes every document (a CVE record needs a
        // CVE id): that document does not exist.
        Err(embargo_formats::FormatError::NotReady(_)) => Err(not_found()),
        Err(e) => Err(internal(e)),
    }
}

/// `GET /osv/index.json`: every record's id and modification time.
pub(crate) async fn osv_index(State(state): State<Shared>) -> Result<Response, WebError> {
    let list: Vec<Value> = published(&state)
        .await?
        .iter()
        .map(|p| json!({ "id": embargo_formats::case_osv_id(&p.case), "modified": p.doc.modified }))
        .collect();
    Ok(Json(list).into_response())
}

/// `GET /osv/all.json`: every record (what `embargo check --server` reads).
pub(crate) async fn osv_all(State(state): State<Shared>) -> Result<Response, WebError> {
    let list = published(&state)
        .await?
        .iter()
        .map(|p| osv_record(&state, p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(list).into_response())
}

/// `GET /osv/{file}`: one record, `x_<case id>.json`.
pub(crate) async fn osv_one(
    State(state): State<Shared>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let id = file
        .strip_suffix(".json")
        .and_then(|f| f.strip_prefix("x_"))
        .ok_or_else(not_found)?;
    let p = one(&state, id).await?;
    Ok(Json(osv_record(&state, &p)?).into_response())
}

/// The CSAF file name of a document id (CSAF 2.0 section 5.1: lower case,
/// anything but `+`, `-`, a-z and 0-9 becomes `_`).
fn csaf_file(id: &str) -> String {
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

fn csaf_year(p: &Published) -> String {
    p.doc
        .published
        .as_deref()
        .and_then(|d| d.get(..4))
        .unwrap_or("0000")
        .to_owned()
}

/// A disclosed case's CSAF document and its path under `white/`; `None`
/// when its advisory names no product CSAF can list.
fn csaf_document_of(state: &AppState, p: &Published) -> Option<(String, Value)> {
    let doc = with_page_link(state, p);
    let csaf = embargo_formats::csaf::to_csaf(&doc, &export_context(state, Some(p))).ok()?;
    Some((
        format!("{}/{}", csaf_year(p), csaf_file(p.case.id.as_str())),
        csaf,
    ))
}

/// When the newest public advisory last changed (now, when there is none).
fn last_updated(state: &AppState, list: &[Published]) -> String {
    list.iter()
        .filter_map(|p| p.case.public_modified())
        .max()
        .unwrap_or_else(|| state.clock.now())
        .to_string()
}

/// `GET /.well-known/csaf/provider-metadata.json`
pub(crate) async fn csaf_provider_metadata(
    State(state): State<Shared>,
) -> Result<Response, WebError> {
    let base = crate::links::base_url(&state);
    let list = published(&state).await?;
    let updated = last_updated(&state, &list);
    let ctx = export_context(&state, None);
    Ok(Json(json!({
        "canonical_url": format!("{base}/.well-known/csaf/provider-metadata.json"),
        "distributions": [
            { "directory_url": format!("{base}/.well-known/csaf/white/") },
            { "rolie": { "feeds": [{
                "summary": "TLP:WHITE advisories",
                "tlp_label": "WHITE",
                "url": format!("{base}/.well-known/csaf/feed-tlp-white.json"),
            }]}},
        ],
        "last_updated": updated,
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "publisher": { "category": "vendor", "name": ctx.publisher, "namespace": ctx.namespace },
        "role": "csaf_provider",
    }))
    .into_response())
}

/// `GET /.well-known/csaf/white/index.txt`: one document path per line.
pub(crate) async fn csaf_index(State(state): State<Shared>) -> Result<Response, WebError> {
    let list = published(&state).await?;
    let mut body = String::new();
    for (path, _) in list.iter().filter_map(|p| csaf_document_of(&state, p)) {
        body.push_str(&path);
        body.push('\n');
    }
    Ok(typed("text/plain; charset=utf-8", body))
}

/// `GET /.well-known/csaf/white/changes.csv`: path and time, newest first.
pub(crate) async fn csaf_changes(State(state): State<Shared>) -> Result<Response, WebError> {
    let mut list = published(&state).await?;
    list.sort_by_key(|p| std::cmp::Reverse(p.case.public_modified()));
    let mut body = String::new();
    for p in &list {
        if let Some((path, _)) = csaf_document_of(&state, p) {
            let modified = p.doc.modified.as_deref().unwrap_or_default();
            body.push_str(&format!("\"{path}\",\"{modified}\"\n"));
        }
    }
    Ok(typed("text/csv; charset=utf-8", body))
}

/// `GET /.well-known/csaf/white/{year}/{file}`: a document, or its
/// `.sha256` / `.sha512` hash.
pub(crate) async fn csaf_document(
    State(state): State<Shared>,
    Path((year, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (name, hash) = match file.rsplit_once('.') {
        Some((n, "sha256")) => (n.to_owned(), Some(256)),
        Some((n, "sha512")) => (n.to_owned(), Some(512)),
        _ => (file.clone(), None),
    };
    // Only the case the path names is read and converted: the file name
    // is its id in lower case with `.json` (`csaf_file`), checked again
    // with the year.
    let id = name.strip_suffix(".json").ok_or_else(not_found)?;
    let p = one(&state, &id.to_ascii_uppercase()).await?;
    let (_, doc) = Some(&p)
        .filter(|p| csaf_year(p) == year && csaf_file(p.case.id.as_str()) == name)
        .and_then(|p| csaf_document_of(&state, p))
        .ok_or_else(not_found)?;
    let bytes = serde_json::to_vec_pretty(&doc).map_err(internal)?;
    Ok(match hash {
        None => typed("application/json", bytes),
        Some(256) => typed(
            "text/plain; charset=utf-8",
            format!("{}  {name}\n", hex::encode(sha2::Sha256::digest(&bytes))),
        ),
        Some(_) => typed(
            "text/plain; charset=utf-8",
            format!("{}  {name}\n", hex::encode(sha2::Sha512::digest(&bytes))),
        ),
    })
}

/// `GET /.well-known/csaf/feed-tlp-white.json`: the ROLIE feed.
pub(crate) async fn csaf_rolie(State(state): State<Shared>) -> Result<Response, WebError> {
    let base = crate::links::base_url(&state);
    let list = published(&state).await?;
    let updated = last_updated(&state, &list);
    let entries: Vec<Value> = list
        .iter()
        .filter_map(|p| {
            let (path, doc) = csaf_document_of(&state, p)?;
            Some((path, doc, p.doc.modified.clone().unwrap_or_default()))
        })
        .map(|(path, doc, modified)| {
            let url = format!("{base}/.well-known/csaf/white/{path}");
            json!({
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
            })
        })
        .collect();
    Ok(Json(json!({
        "feed": {
            "id": "embargo-csaf-feed-tlp-white",
            "title": "TLP:WHITE security advisories",
            "link": [{ "rel": "self", "href": format!("{base}/.well-known/csaf/feed-tlp-white.json") }],
            "category": [
                { "scheme": "urn:ietf:params:rolie:category:information-type", "term": "csaf" },
            ],
            "updated": updated,
            "entry": entries,
        }
    }))
    .into_response())
}

fn xml(text: &str) -> String {
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

/// `GET /advisories.atom`
pub(crate) async fn atom(State(state): State<Shared>) -> Result<Response, WebError> {
    let base = crate::links::base_url(&state);
    let list = published(&state).await?;
    let updated = last_updated(&state, &list);
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{base}/advisories</id>\n<title>{}</title>\n<updated>{updated}</updated>\n\
         <link rel=\"self\" href=\"{base}/advisories.atom\"/>\n<link href=\"{base}/advisories\"/>\n\
         <author><name>{}</name></author>\n",
        xml(&format!(
            "{}: security advisories",
            state.config.advisories.publisher
        )),
        xml(&state.config.advisories.publisher),
    );
    for p in &list {
        let url = format!("{base}/advisories/{}", p.case.id);
        let ids = p.doc.identifiers().into_iter().skip(1).collect::<Vec<_>>();
        let title = if ids.is_empty() {
            p.doc.summary.clone()
        } else {
            format!("{} ({})", p.doc.summary, ids.join(", "))
        };
        body.push_str(&format!(
            "<entry>\n<id>{url}</id>\n<title>{}</title>\n<link href=\"{url}\"/>\n\
             <published>{}</published>\n<updated>{}</updated>\n<summary>{}</summary>\n</entry>\n",
            xml(&title),
            xml(p.doc.published.as_deref().unwrap_or_default()),
            xml(p.doc.modified.as_deref().unwrap_or_default()),
            xml(format!("{} {}", severity(&p.doc), p.doc.summary).trim()),
        ));
    }
    body.push_str("</feed>\n");
    Ok(typed("application/atom+xml; charset=utf-8", body))
}
