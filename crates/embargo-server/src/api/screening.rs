//! The screening queue over the API: held reports are listed by
//! `GET /api/v1/cases?stage=screening` and passed with the
//! `pass_screening` command; here are the bulk answer, a sender's history
//! and each project's screening policy.

use super::*;

/// `POST /api/v1/screening/reject` (SRT): one canned answer to each case
/// named, each through the one command path. The answer is 200 with each
/// case's outcome (a case refused does not stop the others).
pub(crate) async fn reject_held(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<embargo_api::ScreeningReject>,
) -> Result<Json<Vec<embargo_api::ScreeningAnswered>>, Failure> {
    let done = crate::screening::reject_many(&state, &principal.0, &req.cases, &req.answer).await?;
    Ok(Json(
        done.into_iter()
            .map(|a| embargo_api::ScreeningAnswered {
                case: a.case,
                done: a.refused.is_none(),
                refused: a.refused,
            })
            .collect(),
    ))
}

/// The history as the API and the case page show it.
pub(crate) fn history_views(
    history: Vec<embargo_store::ReporterCase>,
) -> Vec<embargo_api::ReporterCaseView> {
    history
        .into_iter()
        .map(|c| embargo_api::ReporterCaseView {
            case: c.case.to_string(),
            received_at: jiff::Timestamp::from_second(c.received)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            stage: c.stage,
            rejected: Some(c.rejected).filter(|r| !r.is_empty()),
        })
        .collect()
}

/// `GET /api/v1/cases/{id}/reporter-history` (SRT): the sender's other
/// reports, newest first.
pub(crate) async fn reporter_history(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<embargo_api::ReporterCaseView>>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    let history = crate::screening::history(&state, &access).await?;
    Ok(Json(history_views(history)))
}

/// `GET /api/v1/projects/{project}/screening` (admins): the policy in force.
pub(crate) async fn get_project_screening(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<embargo_core::screening::Policy>, Failure> {
    authz::admin(&principal.0)?;
    known_project(&state, &name).await?;
    Ok(Json(crate::screening::policy(&state, &name).await?))
}

/// `PUT /api/v1/projects/{project}/screening` (admins): a new policy, in
/// force at once (for reports that arrive from now on).
pub(crate) async fn put_project_screening(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
    Json(policy): Json<embargo_core::screening::Policy>,
) -> Result<Json<embargo_core::screening::Policy>, Failure> {
    authz::admin(&principal.0)?;
    known_project(&state, &name).await?;
    crate::screening::save(&state, &name, &policy, principal.0.id()).await?;
    Ok(Json(policy))
}
