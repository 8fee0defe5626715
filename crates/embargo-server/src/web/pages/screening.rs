//! The screening queue beside the inbox: held reports with the reasons,
//! answered in bulk with a canned reply, or passed to the inbox.

use super::*;

#[derive(Deserialize, Default)]
pub(crate) struct ScreeningQuery {
    /// Where the page starts (the previous page's `next`).
    #[serde(default)]
    after: String,
    /// What the last bulk action did (`3 answered, 1 refused`).
    #[serde(default)]
    done: String,
}

/// Rows per page of the queue.
const SCREENING_PAGE: u32 = 100;

/// `GET /screening` (SRT): the held reports, what is due first.
pub(crate) async fn screening_page(
    State(state): State<Shared>,
    who: SignedIn,
    Query(q): Query<ScreeningQuery>,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    screening_view(&state, &who, &q, None).await
}

async fn screening_view(
    state: &AppState,
    who: &SignedIn,
    q: &ScreeningQuery,
    refused: Option<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let now = state.clock.now();
    let label = embargo_core::Stage::Screening.label();
    let query = embargo_store::ListQuery {
        after: embargo_store::Cursor::decode(&q.after),
        limit: SCREENING_PAGE,
        stage: Some(label.to_owned()),
        ..Default::default()
    };
    let (cases, next) = authz::visible_page(
        state,
        &who.caller,
        &state.store.projects().await?,
        query,
        |c| c.stage().label() == label,
    )
    .await?;
    let rows: Vec<minijinja::Value> = cases
        .iter()
        .map(|(c, _)| {
            let due = c.ack_clock(state.config.ack_policy_for(c)).due;
            let left = due.as_second() - now.as_second();
            context! {
                id => c.id.to_string(),
                title => c.report.title.clone(),
                project => c.report.project.clone(),
                channel => c.report.channel.name(),
                received => c.received_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                clock => duration_text(left),
                overdue => left < 0,
                reasons => c.screening.clone(),
            }
        })
        .collect();
    let answers: Vec<minijinja::Value> = crate::screening::canned()
        .into_iter()
        .map(|a| context! { name => a.name, label => a.label, text => a.text })
        .collect();
    let next_href = next.map(|c| {
        format!(
            "/screening?after={}",
            crate::api::percent_encode(&c.encode())
        )
    });
    Ok(render(
        "screening.html",
        context! {
            me => ser(me(who)),
            rows => rows,
            answers => answers,
            next_href => next_href,
            first_href => (!q.after.is_empty()).then_some("/screening"),
            done => q.done.trim(),
            refused => refused.unwrap_or_default().into_iter()
                .map(|(case, why)| context! { case => case, why => why })
                .collect::<Vec<_>>(),
            hours => state.config.sla.acknowledge_hours,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ScreeningForm {
    /// The reports ticked.
    case: Vec<String>,
    /// The canned answer for a rejection.
    answer: String,
    /// `reject` or `pass` (the ticked ones).
    action: String,
    /// One report passed by its own button.
    pass: String,
    /// `case`: the form on a case page, which the answer returns to.
    back: String,
}

/// `POST /screening` (SRT): the ticked reports rejected with one canned
/// answer (each reporter gets it, but for spam), or passed to the inbox.
pub(crate) async fn screening_action(
    State(state): State<Shared>,
    posted: Posted<ScreeningForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    authz::srt(&who.caller)?;
    let f = posted.form;
    // Back to the case page the answer was given on (its id checked, so
    // the redirect stays on this site's case pages).
    let back = (f.back == "case")
        .then(|| match f.case.as_slice() {
            [one] => embargo_core::CaseId::new(one.trim()).ok(),
            _ => None,
        })
        .flatten();
    let passing = !f.pass.trim().is_empty() || f.action == "pass";
    let answered = if passing {
        let ids = if f.pass.trim().is_empty() {
            f.case
        } else {
            vec![f.pass.trim().to_owned()]
        };
        crate::screening::pass_many(&state, &who.caller, &ids).await?
    } else {
        crate::screening::reject_many(&state, &who.caller, &f.case, &f.answer).await?
    };
    let done = answered.iter().filter(|a| a.refused.is_none()).count();
    let refused: Vec<(String, String)> = answered
        .into_iter()
        .filter_map(|a| a.refused.map(|why| (a.case, why)))
        .collect();
    let what = if passing {
        "passed to the inbox"
    } else {
        "answered and rejected"
    };
    let q = ScreeningQuery {
        after: String::new(),
        done: format!("{done} report(s) {what}."),
    };
    if refused.is_empty() {
        if let Some(id) = back {
            return Ok(Redirect::to(&format!("/cases/{id}")).into_response());
        }
        let href = format!("/screening?done={}", crate::api::percent_encode(&q.done));
        return Ok(Redirect::to(&href).into_response());
    }
    screening_view(&state, &who, &q, Some(refused)).await
}
