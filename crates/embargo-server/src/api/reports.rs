//! Figures: `/metrics` and the SPEC-11 compliance report.

use super::*;

/// `GET /metrics`: Prometheus text format, for the SRT's and admins' tokens
/// (a scraper is given one).
pub(crate) async fn metrics(
    State(state): State<Shared>,
    principal: Principal,
) -> Result<Response, Failure> {
    authz::srt(&principal.0)?;
    let text = crate::metrics::render(&state).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct ProjectQuery {
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    days: Option<i64>,
}

/// The period of the compliance report when none is asked for, in days.
pub(crate) const COMPLIANCE_DAYS: i64 = 365;

/// The SPEC-11 compliance report for one project (or all) over the reports
/// received in the last `days` days, as checks: computed on the read
/// model's figures of that window, not by folding the archive.
pub(crate) async fn compliance_checks(
    state: &AppState,
    project: Option<&str>,
    days: i64,
) -> Result<Vec<embargo_api::CheckWire>, Failure> {
    if !(1..=36_500).contains(&days) {
        return Err(Failure(ServiceError::Invalid(
            "`days` is a number of days from 1 to 36500".into(),
        )));
    }
    let since = state.clock.now().as_second().saturating_sub(days * 86_400);
    let cases: Vec<_> = crate::timers::figures(state, since)
        .await?
        .into_iter()
        .filter(|f| project.is_none_or(|p| f.project == p))
        .collect();
    let channels: Vec<(String, bool)> = crate::channels::inventory(state)
        .await?
        .into_iter()
        .filter(|c| project.is_none_or(|p| c.scope == p || c.scope == "org"))
        .map(|c| (c.name, !c.alert))
        .collect();
    Ok(
        embargo_core::stats::spec11_checks(&cases, &channels, state.clock.now())
            .into_iter()
            .map(|c| embargo_api::CheckWire {
                check: c.name.to_owned(),
                status: match c.kept {
                    Some(true) => "kept",
                    Some(false) => "broken",
                    None => "no data",
                }
                .to_owned(),
                detail: c.detail,
            })
            .collect(),
    )
}

/// `GET /api/v1/compliance?project=NAME` (SRT).
pub(crate) async fn compliance(
    State(state): State<Shared>,
    principal: Principal,
    axum::extract::Query(q): axum::extract::Query<ProjectQuery>,
) -> Result<Json<Vec<embargo_api::CheckWire>>, Failure> {
    authz::srt(&principal.0)?;
    Ok(Json(
        compliance_checks(
            &state,
            q.project.as_deref(),
            q.days.unwrap_or(COMPLIANCE_DAYS),
        )
        .await?,
    ))
}
