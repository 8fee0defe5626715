//! Cases: filing one (`POST /api/v1/cases`, and mail piped in), the list a
//! page at a time, one case, its events as the caller's lens shows them.

use super::*;

/// The case's given-up jobs, as the API and the case page show them.
pub(crate) async fn failed_jobs(
    state: &AppState,
    case: &Case,
) -> Result<Vec<embargo_api::FailedJob>, Failure> {
    Ok(state
        .store
        .failed_jobs(case.id.as_str())
        .await?
        .into_iter()
        .map(
            |(key, kind, attempts, failed_at, error)| embargo_api::FailedJob {
                key,
                kind,
                attempts,
                failed_at: jiff::Timestamp::from_second(failed_at)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                error,
            },
        )
        .collect())
}

pub(crate) async fn create_case(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<NewReport>,
) -> Result<(StatusCode, Json<CaseView>), Failure> {
    let srt = authz::srt(&principal.0)?;
    let raw =
        serde_json::to_vec(&req).map_err(|e| Failure(ServiceError::Internal(e.to_string())))?;
    let name = req.channel.as_deref().unwrap_or("api");
    let channel = Channel::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            invalid(format!(
                "unknown channel `{name}` (api, web, email, github, forum, bounty, other)"
            ))
        })?;
    // A report names a project the organisation runs disclosure for (or
    // the intake's catch-all, as email reports do).
    let project = req.project.trim();
    if project != state.config.intake.default_project
        && !state.store.project_exists(project).await?
    {
        let known = state.store.projects().await?;
        let names: Vec<&str> = known.iter().map(|p| p.name.as_str()).collect();
        return Err(invalid(format!(
            "there is no project `{}` here; known projects: {} (an admin adds projects on the Projects page or with POST /api/v1/projects)",
            crate::intake::one_line(project)
                .chars()
                .take(100)
                .collect::<String>(),
            if names.is_empty() {
                format!("none yet besides `{}`", state.config.intake.default_project)
            } else {
                names.join(", ")
            }
        )));
    }
    let report = Report {
        project: req.project,
        title: req.title,
        body: req.body,
        reporter_name: req.reporter_name,
        reporter_email: req.reporter_email,
        channel,
        intake: Default::default(),
    };
    let receipt = crate::intake::receive(
        &state,
        crate::intake::Submission {
            channel,
            source: format!("entered by {}", srt.0.id()),
            reference: None,
            raw,
            report,
            attachments: Vec::new(),
            entered_by: Some(srt.0.id().clone()),
        },
    )
    .await?;
    let mut shown = view(&state, &receipt.case);
    shown.status_url = Some(crate::intake::status_url(&state, &receipt.status_token));
    Ok((StatusCode::CREATED, Json(shown)))
}

/// `POST /api/v1/intake/mail`: one RFC 5322 message, as `embargo ingest-mail`
/// pipes it from a mail server.
pub(crate) async fn ingest_mail(
    State(state): State<Shared>,
    principal: Principal,
    body: axum::body::Bytes,
) -> Result<Json<embargo_api::MailReceived>, Failure> {
    let srt = authz::srt(&principal.0)?;
    let source = format!("pipe (token of {})", srt.0.id());
    let outcome = crate::intake::mail::ingest(&state, body.to_vec(), &source).await?;
    Ok(Json(crate::intake::mail::wire(outcome)))
}

/// `GET /api/v1/cases` parameters: a page (`limit`, 1 to 500, 100 by
/// default; `after`, the cursor a `Link: rel="next"` header gave) and
/// filters.
#[derive(serde::Deserialize, Default)]
pub(crate) struct ListParams {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    tlp: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    coordinator: Option<String>,
    /// A search: a case id, or words of the title or package names; the
    /// newest `limit` matches, with no further page.
    #[serde(default)]
    q: Option<String>,
}

/// `GET /api/v1/cases`: the cases the caller sees, what is due first, one
/// page at a time; the next page's address is in the `Link` header
/// (RFC 8288, `rel="next"`), absent on the last page. With `q`, the
/// cases that match the search instead.
pub(crate) async fn list_cases(
    State(state): State<Shared>,
    principal: Principal,
    axum::extract::Query(params): axum::extract::Query<ListParams>,
) -> Result<Response, Failure> {
    let after = match params.after.as_deref() {
        None | Some("") => None,
        Some(text) => Some(embargo_store::Cursor::decode(text).ok_or_else(|| {
            Failure(ServiceError::Invalid(
                "`after` is not a cursor this server gave".into(),
            ))
        })?),
    };
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Failure(ServiceError::Invalid(
            "`limit` is between 1 and 500".into(),
        )));
    }
    if let Some(q) = params.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let found = authz::search(&state, &principal.0, q, limit).await?;
        let body: Vec<CaseView> = found.iter().map(|(c, _)| view(&state, c)).collect();
        return Ok(Json(body).into_response());
    }
    let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let query = embargo_store::ListQuery {
        after,
        limit,
        stage: nonempty(&params.stage),
        tlp: nonempty(&params.tlp),
        severity: nonempty(&params.severity),
        project: nonempty(&params.project),
        coordinator: nonempty(&params.coordinator),
        ..Default::default()
    };
    let wanted =
        |v: &Option<String>, actual: &str| v.as_deref().is_none_or(|w| w.is_empty() || w == actual);
    let (cases, next) = authz::visible_page(
        &state,
        &principal.0,
        &state.store.projects().await?,
        query,
        |c| {
            wanted(&params.stage, c.stage().label())
                && wanted(&params.tlp, c.tlp().label())
                && wanted(&params.project, &c.report.project)
                && wanted(
                    &params.severity,
                    c.severity().map_or("", embargo_core::cvss::Severity::name),
                )
                && wanted(
                    &params.coordinator,
                    c.participants
                        .iter()
                        .find(|p| p.role == embargo_core::participant::Role::Coordinator)
                        .map_or("", |p| p.person.as_str()),
                )
        },
    )
    .await?;
    let body: Vec<CaseView> = cases.iter().map(|(c, _)| view(&state, c)).collect();
    let mut response = Json(body).into_response();
    if let Some(next) = next {
        let mut link = format!("</api/v1/cases?limit={limit}&after={}", next.encode());
        for (name, value) in [
            ("stage", &params.stage),
            ("tlp", &params.tlp),
            ("severity", &params.severity),
            ("project", &params.project),
            ("coordinator", &params.coordinator),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                link.push_str(&format!("&{name}={}", percent_encode(v)));
            }
        }
        link.push_str(">; rel=\"next\"");
        if let Ok(value) = axum::http::HeaderValue::from_str(&link) {
            response
                .headers_mut()
                .insert(axum::http::header::LINK, value);
        }
    }
    Ok(response)
}

/// `value` with everything but unreserved characters (RFC 3986) escaped,
/// for a query string.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) async fn get_case(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    let mut shown = view(&state, access.case());
    if access.lens().sees_raw() {
        shown.failed_jobs = failed_jobs(&state, access.case()).await?;
    }
    Ok(Json(shown))
}

pub(crate) async fn case_events(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    let events = authz::visible_events(&access);
    if events.is_empty() {
        return Err(Failure(ServiceError::NotFound));
    }
    let views = events
        .into_iter()
        .map(|(seq, e)| {
            Ok(EventView {
                seq,
                at: e.at.to_string(),
                actor: e.actor.to_string(),
                kind: e.data.kind().to_owned(),
                data: serde_json::to_value(&e.data)
                    .map_err(|e| Failure(ServiceError::Internal(e.to_string())))?,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(Json(views))
}

pub(crate) async fn case_and_events(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(Case, Vec<embargo_core::Event>), Failure> {
    let access = authz::open_case(state, &principal.0, id).await?;
    let events = authz::visible_events(&access)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    Ok((access.case().clone(), events))
}
