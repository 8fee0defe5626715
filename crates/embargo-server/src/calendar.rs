//! Private calendar feeds (RFC 5545): each person's deadlines at a URL
//! with a secret token (`/calendar/{token}`), for calendar programs that
//! cannot sign in. A feed may end up on someone else's calendar service, so
//! it names case ids, stages and what is due, never what a case is about.
//!
//! Whose deadlines: the cases the person is named on, and for the SRT every
//! open case they see. Which: the agreed (or proposed) disclosure moment,
//! and each running SLA clock's due time.

use crate::error::ServiceError;
use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use embargo_core::Handling;

use crate::{AppState, authz, extract::Principal, failure::Failure};

/// `POST /api/v1/calendar`: a new private calendar URL for the caller (the
/// old one stops working).
pub(crate) async fn new_token(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<serde_json::Value>, Failure> {
    let url = issue(&state, &principal.0).await?;
    Ok(Json(serde_json::json!({ "url": url })))
}

/// Makes the caller's calendar token; the feed's URL.
pub(crate) async fn issue(state: &AppState, caller: &authz::Caller) -> Result<String, Failure> {
    let token = crate::accounts::new_token("cal_");
    state
        .store
        .put_calendar_token(
            caller.id().as_str(),
            &crate::datadir::token_hash(&token),
            state.clock.unix(),
        )
        .await?;
    Ok(format!(
        "{}/calendar/{token}",
        crate::links::browser_base_url(state)
    ))
}

/// `GET /calendar/{token}`: the feed (404 for an unknown token).
pub(crate) async fn feed(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Result<Response, Failure> {
    let owner = state
        .store
        .calendar_owner(&crate::datadir::token_hash(&token))
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let caller = authz::caller(&state, &owner)
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let now = state.clock.now();
    let mut events = Vec::new();
    // The cases with a date ahead (a running clock, an agreed moment), of
    // those the owner may see: never the archive.
    let dated = state.store.dated_cases().await?;
    for (case, _) in
        authz::visible_by_id(&state, &caller, &state.store.projects().await?, dated).await?
    {
        if matches!(case.handling, Handling::Closed) {
            continue;
        }
        if case.role_of(caller.id()).is_none() && !caller.is_srt() {
            continue;
        }
        let moment = case
            .embargo
            .agreed_until()
            .map(|t| (t, "Disclosure"))
            .or_else(|| case.embargo.proposed().map(|t| (t, "Proposed disclosure")));
        if let Some((at, what)) = moment
            && case.published_at.is_none()
        {
            events.push((
                format!("disclose-{}", case.id),
                at,
                format!("{what}: {}", case.id),
            ));
        }
        let policy = state.config.sla_policy(&case.report.project);
        for d in embargo_core::sla::deadlines(&case, &policy) {
            if d.clock.stopped_at.is_some() {
                continue;
            }
            events.push((
                format!("{}-{}", d.kind.name(), case.id),
                d.clock.due,
                format!(
                    "{} due: {} ({})",
                    capitalized(d.kind.describe()),
                    case.id,
                    case.stage().label()
                ),
            ));
        }
    }
    let base = crate::links::browser_base_url(&state);
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//embargo//deadlines//EN\r\nCALSCALE:GREGORIAN\r\nX-WR-CALNAME:embargo deadlines\r\n",
    );
    let stamp = ical_time(now);
    for (uid, at, summary) in events {
        let case = uid.split_once('-').map_or("", |(_, c)| c);
        out.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{uid}@embargo\r\nDTSTAMP:{stamp}\r\nDTSTART:{}\r\nDURATION:PT30M\r\nSUMMARY:{}\r\nURL:{base}/cases/{case}\r\nEND:VEVENT\r\n",
            ical_time(at),
            escape(&summary)
        ));
    }
    out.push_str("END:VCALENDAR\r\n");
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        out,
    )
        .into_response())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A UTC date-time as RFC 5545 writes it (`20260312T160000Z`).
fn ical_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 TEXT escaping.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}
