//! The inbox: the cases the viewer may see, a page at a time, filtered.

use super::*;

#[derive(Deserialize, Default)]
pub(crate) struct InboxFilter {
    #[serde(default)]
    project: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    assignee: String,
    /// Where the page starts (the previous page's `next`).
    #[serde(default)]
    after: String,
    /// A search: a case id, or words of the title or package names.
    #[serde(default)]
    q: String,
}

/// How many matches a search shows.
pub(crate) const SEARCH_LIMIT: u32 = 100;

/// The inbox's address with the same filters, from `after` (or the start).
pub(crate) fn inbox_href(filter: &InboxFilter, after: Option<&str>) -> String {
    let enc = crate::api::percent_encode;
    let mut href = format!(
        "/?project={}&stage={}&severity={}&tlp={}&assignee={}",
        enc(&filter.project),
        enc(&filter.stage),
        enc(&filter.severity),
        enc(&filter.tlp),
        enc(&filter.assignee)
    );
    if let Some(after) = after {
        href.push_str("&after=");
        href.push_str(&enc(after));
    }
    href
}

/// Rows per inbox page.
pub(crate) const INBOX_PAGE: u32 = 50;

#[derive(Serialize)]
pub(crate) struct Row {
    id: String,
    title: String,
    project: String,
    stage: &'static str,
    tlp: &'static str,
    severity: String,
    due: String,
    clock: String,
    overdue: bool,
    coordinator: String,
}

pub(crate) fn severity(case: &Case) -> String {
    case.assessment
        .as_ref()
        .and_then(|a| a.cvss_v40.as_ref().or(a.cvss_v31.as_ref()))
        .map(|c| c.severity().name().to_owned())
        .unwrap_or_default()
}

pub(crate) fn coordinator(case: &Case) -> String {
    case.participants
        .iter()
        .find(|p| p.role == Role::Coordinator)
        .map(|p| p.person.to_string())
        .unwrap_or_default()
}

pub(crate) fn duration_text(secs: i64) -> String {
    let a = secs.abs();
    let text = if a >= 86_400 {
        format!("{} d {} h", a / 86_400, (a % 86_400) / 3600)
    } else if a >= 3600 {
        format!("{} h {} min", a / 3600, (a % 3600) / 60)
    } else {
        format!("{} min", a / 60)
    };
    if secs < 0 {
        format!("{text} overdue")
    } else {
        format!("{text} left")
    }
}

pub(crate) async fn inbox(
    State(state): State<Shared>,
    who: SignedIn,
    Query(filter): Query<InboxFilter>,
) -> Result<Response, WebError> {
    let now = state.clock.now();
    // What is due first: unacknowledged reports by deadline, then the rest
    // by arrival; filtered and paged in the store's read model.
    let some = |v: &String| (!v.is_empty()).then(|| v.clone());
    let query = embargo_store::ListQuery {
        after: embargo_store::Cursor::decode(&filter.after),
        limit: INBOX_PAGE,
        stage: some(&filter.stage),
        tlp: some(&filter.tlp),
        severity: some(&filter.severity),
        project: some(&filter.project),
        coordinator: some(&filter.assignee),
        // Held reports wait in their own queue, unless asked for by stage.
        not_stage: filter
            .stage
            .is_empty()
            .then(|| embargo_core::Stage::Screening.label().to_owned()),
        ..Default::default()
    };
    let screening = embargo_core::Stage::Screening;
    let searching = !filter.q.trim().is_empty();
    let organisation = state.store.projects().await?;
    let (cases, next) = if searching {
        (
            authz::search(&state, &who.caller, &filter.q, SEARCH_LIMIT).await?,
            None,
        )
    } else {
        authz::visible_page(&state, &who.caller, &organisation, query, |c| {
            (filter.project.is_empty() || c.report.project == filter.project)
                && (if filter.stage.is_empty() {
                    c.stage() != screening
                } else {
                    c.stage().label() == filter.stage
                })
                && (filter.severity.is_empty() || severity(c) == filter.severity)
                && (filter.tlp.is_empty() || c.tlp().label() == filter.tlp)
                && (filter.assignee.is_empty() || coordinator(c) == filter.assignee)
        })
        .await?
    };
    let mut projects: std::collections::BTreeSet<String> =
        organisation.into_iter().map(|p| p.name).collect();
    let mut assignees = std::collections::BTreeSet::new();
    if who.caller.is_srt() {
        assignees.extend(
            state
                .store
                .person_ids()
                .await?
                .into_iter()
                .map(|p| p.to_string()),
        );
    }
    let rows: Vec<Row> = cases
        .iter()
        .inspect(|(c, _)| {
            projects.insert(c.report.project.clone());
            let co = coordinator(c);
            if !co.is_empty() {
                assignees.insert(co);
            }
        })
        .map(|(c, _)| {
            let clock = c.ack_clock(state.config.ack_policy_for(c));
            let (text, overdue) = match c.acknowledged_at {
                Some(at) => (
                    format!("acknowledged {}", at.strftime("%Y-%m-%d %H:%M UTC")),
                    false,
                ),
                None => {
                    let left = clock.due.as_second() - now.as_second();
                    (duration_text(left), left < 0)
                }
            };
            Row {
                id: c.id.to_string(),
                title: c.report.title.clone(),
                project: c.report.project.clone(),
                stage: c.stage().label(),
                tlp: c.tlp().label(),
                severity: severity(c),
                due: clock.due.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                clock: text,
                overdue,
                coordinator: coordinator(c),
            }
        })
        .collect();
    // Channels that need attention, and the quarantine, for the SRT.
    let (alerts, quarantined, held) = if who.caller.is_srt() {
        let (held, quarantined) = state.store.waiting(screening.label()).await?;
        (crate::channels::alerts(&state).await, quarantined, held)
    } else {
        (Vec::new(), 0, 0)
    };
    // An organisation with nothing yet (no case listed without a filter,
    // none held for screening, none in quarantine): what to do first.
    let unfiltered = [
        &filter.project,
        &filter.stage,
        &filter.severity,
        &filter.tlp,
        &filter.assignee,
    ]
    .iter()
    .all(|f| f.is_empty());
    let nothing_yet = rows.is_empty()
        && unfiltered
        && !searching
        && filter.after.is_empty()
        && held == 0
        && quarantined == 0;
    let projects_empty = projects.is_empty();
    let first_href = (!filter.after.is_empty()).then(|| inbox_href(&filter, None));
    let next_href = next.map(|c| inbox_href(&filter, Some(&c.encode())));
    Ok(render(
        "inbox.html",
        context! {
            me => ser(me(&who)),
            alerts => ser(alerts),
            quarantined => quarantined,
            held => held,
            rows => ser(rows),
            projects => projects,
            assignees => assignees,
            stages => embargo_core::Stage::ALL.iter().map(|s| s.label()).collect::<Vec<_>>(),
            severities => ["None", "Low", "Medium", "High", "Critical"],
            tlps => Tlp::ALL.iter().map(|t| t.label()).collect::<Vec<_>>(),
            filter => context! {
                project => filter.project, stage => filter.stage, severity => filter.severity,
                tlp => filter.tlp, assignee => filter.assignee,
            },
            first_href => first_href,
            next_href => next_href,
            q => filter.q.trim(),
            searching => searching,
            first_steps => (nothing_yet && who.caller.is_srt()).then(|| context! {
                projects => projects_empty,
                report_url => format!("{}/report", crate::links::browser_base_url(&state)),
                is_admin => who.caller.is_admin(),
            }),
        },
    ))
}

// -------------------------------------------------------------- case page
