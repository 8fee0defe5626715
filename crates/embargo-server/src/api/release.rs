//! Release day: the announcement, the release plan, fork credentials and
//! the retrospective.

use super::*;

pub(crate) async fn announcement(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (case, _) = case_and_events(&state, &principal, &id).await?;
    let body = crate::release::announcement_preview(&state, &case).map_err(not_ready)?;
    Ok(text("text/markdown; charset=utf-8", body))
}

/// `GET /api/v1/cases/{id}/announcement.txt`: the announcement as the
/// lists receive it (the approved text once there is one, else the
/// preview), plain text with its Subject line.
pub(crate) async fn announcement_text(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (case, _) = case_and_events(&state, &principal, &id).await?;
    let markdown = match &case.announcement {
        Some(a) => a.text.clone(),
        None => crate::release::announcement_preview(&state, &case).map_err(not_ready)?,
    };
    let (subject, body) = embargo_formats::announcement::split(&markdown);
    Ok(text(
        "text/plain; charset=utf-8",
        format!(
            "Subject: {subject}\n\n{}",
            embargo_formats::announcement::plain_text(body)
        ),
    ))
}

/// `GET /api/v1/cases/{id}/release`: timeline, forks, CI, checklist,
/// announcement and guards, as far as the caller's part goes.
pub(crate) async fn release(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<embargo_api::ReleaseView>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    if !access.lens().sees_release() {
        return Err(Failure(ServiceError::Forbidden(
            "the release plan is for the case's team".into(),
        )));
    }
    Ok(Json(crate::release::view(
        &state,
        access.case(),
        access.part(),
    )))
}

/// What `POST /api/v1/cases/{id}/fork-credential` takes.
#[derive(serde::Deserialize)]
pub(crate) struct CredentialRequest {
    #[serde(default)]
    project: Option<String>,
}

/// `POST /api/v1/cases/{id}/fork-credential`: a fresh git credential for
/// the caller's built-in fork (replacing their earlier one).
pub(crate) async fn fork_credential(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
    Json(req): Json<CredentialRequest>,
) -> Result<Json<embargo_api::ForkCredential>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    let project = req
        .project
        .unwrap_or_else(|| access.case().report.project.clone());
    Ok(Json(
        crate::forks::issue_credential(&state, &access, &project).await?,
    ))
}

pub(crate) async fn retrospective(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    if !access.lens().sees_release() {
        return Err(Failure(ServiceError::Forbidden(
            "the retrospective is for the case's team".into(),
        )));
    }
    // It covers every project's part: not for one project's team alone.
    if let Some(part) = access.part() {
        return Err(Failure(ServiceError::Forbidden(format!(
            "the retrospective covers every project of the case; you work on {part}'s part only"
        ))));
    }
    let case = access.case();
    let body = match &case.retrospective {
        Some(kept) => kept.text.clone(),
        None => crate::release::draft_retrospective(&state, case)
            .await
            .map_err(ServiceError::Internal)?,
    };
    Ok(text("text/markdown; charset=utf-8", body))
}
