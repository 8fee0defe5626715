//! What the world reads once a case is disclosed: advisory pages, the OSV
//! feed, the CSAF provider directory and an Atom feed.
//!
//! A page or file of one advisory reads that case alone, and only when it
//! is published (`exports::published_case`: the approved revision of a
//! disclosed case); an unknown or undisclosed id is 404. The lists read the
//! parts the store's writer rendered when each disclosed case last changed
//! (`exports::render_public`, the `public_parts` rows), in order, a page
//! or the whole list: no list folds a case, and nothing of an undisclosed
//! case is among the parts.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use embargo_core::{CaseId, Timestamp};
use embargo_formats::Format;
use embargo_store::PublicOrder;
use minijinja::context;
use serde_json::{Value, json};
use sha2::Digest;

use super::{WebError, markdown, render, ser};
use crate::{
    AppState,
    exports::{
        BASE_MARK, Published, csaf_document_of, csaf_file, csaf_year, export_context, osv_record,
        severity, with_page_link, xml,
    },
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

fn internal(e: impl std::fmt::Display) -> WebError {
    tracing::error!(error = %e, "a public document could not be written");
    WebError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        title: "Internal error",
        message: "The document could not be written.".into(),
    }
}

fn typed(content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

/// How many advisories a page of `/advisories` and the Atom feed list.
const PAGE: u32 = 50;

/// A page of `/advisories`: the one after `after` (a publication time and
/// a case id, as the "older" link carries them).
#[derive(serde::Deserialize)]
pub(crate) struct AdvisoriesPage {
    after: Option<String>,
}

/// A whole public list's parts, newest first by `order`, with `base` put
/// in for [`BASE_MARK`].
async fn whole(
    state: &AppState,
    part: &str,
    order: PublicOrder,
    base: &str,
) -> Result<Vec<String>, WebError> {
    Ok(state
        .store
        .public_parts(part, order, None, u32::MAX)
        .await?
        .into_iter()
        .map(|(_, _, body)| body.replace(BASE_MARK, base))
        .collect())
}

/// The server's address as it goes inside a JSON string.
fn json_base(state: &AppState) -> String {
    let quoted = Value::from(crate::links::base_url(state)).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// When the newest public advisory last changed (now, when there is none).
async fn last_updated(state: &AppState) -> Result<String, WebError> {
    Ok(state
        .store
        .public_modified()
        .await?
        .unwrap_or_else(|| state.clock.now())
        .to_string())
}

/// `GET /advisories`: fifty at a time, newest first.
pub(crate) async fn advisories_page(
    State(state): State<Shared>,
    Query(page): Query<AdvisoriesPage>,
) -> Result<Response, WebError> {
    // A cursor that does not read is the first page.
    let after = page.after.as_deref().and_then(|a| {
        let (at, id) = a.split_once('~')?;
        Some((at.parse::<Timestamp>().ok()?, CaseId::new(id).ok()?))
    });
    let rows = state
        .store
        .public_parts(
            "list",
            PublicOrder::Published,
            after.as_ref().map(|(t, id)| (*t, id)),
            PAGE + 1,
        )
        .await?;
    let older = (rows.len() > PAGE as usize)
        .then(|| rows.get(PAGE as usize - 1))
        .flatten()
        .map(|(id, at, _)| format!("{at}~{id}"));
    let list: Vec<Value> = rows
        .iter()
        .take(PAGE as usize)
        .filter_map(|(_, _, body)| serde_json::from_str(body).ok())
        .collect();
    Ok(render(
        "advisories.html",
        context! { me => (), advisories => ser(list), older => older, paged => after.is_some() },
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
        let base = crate::links::base_url(&state);
        return Ok(Json(osv_record(&base, &p).map_err(internal)?).into_response());
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
    let list = whole(
        &state,
        "osv_index",
        PublicOrder::Published,
        &json_base(&state),
    )
    .await?;
    Ok(typed("application/json", format!("[{}]", list.join(","))))
}

/// `GET /osv/all.json`: every record (what `embargo check --server` reads).
pub(crate) async fn osv_all(State(state): State<Shared>) -> Result<Response, WebError> {
    let list = whole(&state, "osv", PublicOrder::Published, &json_base(&state)).await?;
    Ok(typed("application/json", format!("[{}]", list.join(","))))
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
    let base = crate::links::base_url(&state);
    Ok(Json(osv_record(&base, &p).map_err(internal)?).into_response())
}

/// `GET /.well-known/csaf/provider-metadata.json`
pub(crate) async fn csaf_provider_metadata(
    State(state): State<Shared>,
) -> Result<Response, WebError> {
    let base = crate::links::base_url(&state);
    let updated = last_updated(&state).await?;
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
    let mut body = String::new();
    for path in whole(&state, "csaf_index", PublicOrder::Published, "").await? {
        body.push_str(&path);
        body.push('\n');
    }
    Ok(typed("text/plain; charset=utf-8", body))
}

/// `GET /.well-known/csaf/white/changes.csv`: path and time, newest first.
pub(crate) async fn csaf_changes(State(state): State<Shared>) -> Result<Response, WebError> {
    let mut body = String::new();
    for line in whole(&state, "csaf_change", PublicOrder::Modified, "").await? {
        body.push_str(&line);
        body.push('\n');
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
        .and_then(|p| csaf_document_of(&state.config, &crate::links::base_url(&state), p))
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
    let updated = last_updated(&state).await?;
    let entries: Vec<Value> = whole(&state, "rolie", PublicOrder::Published, &json_base(&state))
        .await?
        .iter()
        .map(|e| serde_json::from_str(e).map_err(internal))
        .collect::<Result<_, _>>()?;
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

/// `GET /advisories.atom`
pub(crate) async fn atom(State(state): State<Shared>) -> Result<Response, WebError> {
    let base = crate::links::base_url(&state);
    let updated = last_updated(&state).await?;
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
    // The newest entries, as feeds carry them; the page lists the rest.
    for (_, _, entry) in state
        .store
        .public_parts("atom", PublicOrder::Published, None, PAGE)
        .await?
    {
        body.push_str(&entry.replace(BASE_MARK, &base));
    }
    body.push_str("</feed>\n");
    Ok(typed("application/atom+xml; charset=utf-8", body))
}
