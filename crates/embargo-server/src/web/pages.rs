//! Page handlers: sign-in, invitations, the inbox, the case page with its
//! actions, and the admin pages. Each reads through `authz`; each form
//! arrives through `Posted`/`AnonPosted`, so its CSRF token is checked.

use crate::error::ServiceError;
use std::sync::Arc;

use axum::{
    Json,
    extract::{ConnectInfo, Path, Query, State},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use embargo_api::CommandRequest;
use embargo_core::{
    Case, CommandKind, EventData, PersonId,
    access::{OrgRole, Standing},
    cvss::Cvss,
    event::{ProjectStatus, RejectReason},
    participant::Role,
    tlp::Tlp,
};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{
    AnonPosted, PRE_COOKIE, Posted, SESSION_COOKIE, SignedIn, WebError, cookie, markdown, render,
    set_cookie,
};
use crate::{
    AppState, accounts,
    authz::{self, CaseAccess},
    datadir::token_hash,
    failure::Failure,
};

type Shared = Arc<AppState>;

/// What every signed-in page knows about the viewer.
#[derive(Serialize)]
pub(crate) struct Me<'a> {
    id: &'a str,
    name: &'a str,
    is_admin: bool,
    is_srt: bool,
    csrf: &'a str,
}

pub(crate) fn ser<T: Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

pub(crate) fn me(who: &SignedIn) -> Me<'_> {
    Me {
        id: who.caller.id().as_str(),
        name: &who.caller.name,
        is_admin: who.caller.is_admin(),
        is_srt: who.caller.is_srt(),
        csrf: &who.csrf,
    }
}

fn with_status(status: StatusCode, mut resp: Response) -> Response {
    *resp.status_mut() = status;
    resp
}

/// Ensures the pre-session CSRF cookie exists; returns its value and whether
/// it must be set on the response.
pub(crate) fn pre_csrf(parts: &Parts) -> (String, bool) {
    match cookie(parts, PRE_COOKIE) {
        Some(v) if v.len() == 64 => (v, false),
        _ => (accounts::new_token(""), true),
    }
}

pub(crate) fn with_pre_cookie(resp: Response, token: &str, fresh: bool) -> Response {
    let mut resp = resp;
    if fresh {
        resp.headers_mut()
            .append(header::SET_COOKIE, set_cookie(PRE_COOKIE, token, 3600));
    }
    resp
}

// ---------------------------------------------------------------- sign-in

pub(crate) async fn login_page(parts: Parts) -> Response {
    let (csrf, fresh) = pre_csrf(&parts);
    with_pre_cookie(
        render(
            "login.html",
            context! { me => (), csrf => &csrf, error => (), handle => "" },
        ),
        &csrf,
        fresh,
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    handle: String,
    password: String,
    #[serde(default)]
    code: String,
    csrf: String,
}

pub(crate) async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    posted: AnonPosted<LoginForm>,
) -> Response {
    let f = posted.form;
    let accounts_cfg = &state.config.accounts;
    let outcome = match accounts::attempt(
        &state,
        "signin",
        peer.ip(),
        accounts_cfg.attempts_per_address,
        i64::from(accounts_cfg.address_window_seconds),
    )
    .await
    {
        Err(wait) => Err(accounts::SignInFailure::Throttled(wait)),
        Ok(()) => {
            accounts::sign_in(
                &state,
                &f.handle,
                &f.password,
                &f.code,
                posted.old_session.as_deref(),
            )
            .await
        }
    };
    match outcome {
        Ok(session) => {
            let max_age = i64::from(state.config.accounts.session_hours) * 3600;
            let mut resp = Redirect::to("/").into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &session.token, max_age),
            );
            resp
        }
        Err(failure) => {
            let status = match failure {
                accounts::SignInFailure::Rejected => StatusCode::UNAUTHORIZED,
                accounts::SignInFailure::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                accounts::SignInFailure::Locked => StatusCode::FORBIDDEN,
                accounts::SignInFailure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            let mut resp = with_status(
                status,
                render(
                    "login.html",
                    context! {
                        me => (), csrf => &f.csrf, error => failure.message(),
                        handle => f.handle.chars().take(254).collect::<String>(),
                    },
                ),
            );
            if let accounts::SignInFailure::Throttled(secs) = failure
                && let Ok(v) = secs.to_string().parse()
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Empty {}

pub(crate) async fn logout(State(state): State<Shared>, posted: Posted<Empty>) -> Response {
    let _ = state
        .store
        .remove_session(&token_hash(&posted.who.token))
        .await;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    resp
}

// ------------------------------------------------------------ invitations

pub(crate) async fn invite_page(
    State(state): State<Shared>,
    Path(token): Path<String>,
    parts: Parts,
) -> Result<Response, WebError> {
    let person = state
        .store
        .invitation(&token_hash(&token), state.clock.unix())
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let (csrf, fresh) = pre_csrf(&parts);
    let secret = person.totp_secret.clone().unwrap_or_default();
    Ok(with_pre_cookie(
        render(
            "invite.html",
            context! {
                me => (), csrf => &csrf, error => (),
                person => context! { id => person.id.as_str(), name => &person.name, role => person.role.name() },
                totp_required => state.config.totp_required(person.role),
                totp_secret => &secret,
                totp_uri => accounts::totp_uri(&secret, person.id.as_str()).unwrap_or_default(),
            },
        ),
        &csrf,
        fresh,
    ))
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    password: String,
    confirm: String,
    #[serde(default)]
    code: String,
    csrf: String,
}

pub(crate) async fn accept_invite(
    State(state): State<Shared>,
    Path(token): Path<String>,
    posted: AnonPosted<InviteForm>,
) -> Result<Response, WebError> {
    let now = state.clock.unix();
    let hash = token_hash(&token);
    let person = state
        .store
        .invitation(&hash, now)
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let f = posted.form;
    let secret = person.totp_secret.clone().unwrap_or_default();
    let required = state.config.totp_required(person.role);
    let step = if f.code.trim().is_empty() {
        None
    } else {
        accounts::totp_step(&secret, &f.code, now)
    };
    let problem = if let Err(e) = accounts::check_password(&f.password, &f.confirm) {
        Some(e)
    } else if !f.code.trim().is_empty() && step.is_none() {
        Some(
            "The code does not match. Check the time on your device and enter the current code."
                .into(),
        )
    } else if required && step.is_none() {
        Some(format!(
            "As {}, you need a second factor: add the key to your authenticator app and enter its current code.",
            person.role
        ))
    } else {
        None
    };
    if let Some(error) = problem {
        return Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(
                "invite.html",
                context! {
                    me => (), csrf => &f.csrf, error => error,
                    person => context! { id => person.id.as_str(), name => &person.name, role => person.role.name() },
                    totp_required => required,
                    totp_secret => &secret,
                    totp_uri => accounts::totp_uri(&secret, person.id.as_str()).unwrap_or_default(),
                },
            ),
        ));
    }
    let hashed = accounts::hash_password(f.password)
        .await
        .map_err(ServiceError::Internal)?;
    if !state
        .store
        .accept_invitation(&hash, &hashed, step, now)
        .await?
    {
        return Err(Failure(ServiceError::NotFound).into());
    }
    Ok(render(
        "message.html",
        context! {
            me => (),
            title => "Your account is ready",
            message => format!("Welcome, {}. Sign in with your handle `{}`.", person.name, person.id),
            link => "/login",
            link_text => "Sign in",
        },
    ))
}

// ------------------------------------------------------------------ inbox

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
}

/// The inbox's address with the same filters, from `after` (or the start).
fn inbox_href(filter: &InboxFilter, after: Option<&str>) -> String {
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

/// How many cases sharing a term the duplicate hints compare with at most.
const DUPLICATE_CANDIDATES: u32 = 50;

/// A title word or package more open cases than this share is no evidence
/// of a duplicate, and is not looked up.
const DUPLICATE_TERM_MOST: i64 = 1_000;

/// Rows per inbox page.
const INBOX_PAGE: u32 = 50;

#[derive(Serialize)]
struct Row {
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

fn severity(case: &Case) -> String {
    case.assessment
        .as_ref()
        .and_then(|a| a.cvss_v40.as_ref().or(a.cvss_v31.as_ref()))
        .map(|c| c.severity().name().to_owned())
        .unwrap_or_default()
}

fn coordinator(case: &Case) -> String {
    case.participants
        .iter()
        .find(|p| p.role == Role::Coordinator)
        .map(|p| p.person.to_string())
        .unwrap_or_default()
}

fn duration_text(secs: i64) -> String {
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
        ..Default::default()
    };
    let (cases, next) = authz::visible_page(&state, &who.caller, query, |c| {
        (filter.project.is_empty() || c.report.project == filter.project)
            && (filter.stage.is_empty() || c.stage().label() == filter.stage)
            && (filter.severity.is_empty() || severity(c) == filter.severity)
            && (filter.tlp.is_empty() || c.tlp().label() == filter.tlp)
            && (filter.assignee.is_empty() || coordinator(c) == filter.assignee)
    })
    .await?;
    let mut projects: std::collections::BTreeSet<String> = state
        .store
        .projects()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let mut assignees = std::collections::BTreeSet::new();
    if who.caller.is_srt() {
        assignees.extend(
            state
                .store
                .people()
                .await?
                .into_iter()
                .map(|p| p.id.to_string()),
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
    let (alerts, quarantined) = if who.caller.is_srt() {
        (
            crate::channels::alerts(&state).await,
            state.store.quarantine_count().await?,
        )
    } else {
        (Vec::new(), 0)
    };
    let first_href = (!filter.after.is_empty()).then(|| inbox_href(&filter, None));
    let next_href = next.map(|c| inbox_href(&filter, Some(&c.encode())));
    Ok(render(
        "inbox.html",
        context! {
            me => ser(me(&who)),
            alerts => ser(alerts),
            quarantined => quarantined,
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
        },
    ))
}

// -------------------------------------------------------------- case page

#[derive(Serialize)]
struct EventRow {
    at: String,
    actor: String,
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct PersonOption {
    id: String,
    name: String,
    hint: String,
}

/// Canned acknowledgements (SPEC-11: answer within 24 hours).
const CANNED: &[(&str, &str)] = &[
    (
        "thanks",
        "Thank you for your report. We have received it and the security response team is looking at it. We will keep you informed as we triage it.",
    ),
    (
        "reproducing",
        "Thank you for your report. We are trying to reproduce the problem and will come back to you with our assessment.",
    ),
    (
        "more-time",
        "Thank you for your report. We have received it; the affected maintainers are on it and we will send a fuller answer within a week.",
    ),
];

fn event_text(data: &EventData) -> String {
    match data {
        EventData::ReportReceived { report } => format!("via {}", report.channel.name()),
        EventData::Acknowledged { .. } => "acknowledged the report".into(),
        EventData::InfoRequested { .. } => "asked the reporter for more".into(),
        EventData::InfoReceived { .. } => "received the reporter's answer".into(),
        EventData::Triaged { assessment } => format!(
            "triaged: reproduced {:?}, {}",
            assessment.reproduced,
            assessment.tlp.label()
        ),
        EventData::Rejected { rejection } => format!("rejected: {}", rejection.reason.name()),
        EventData::FixingTeamAssigned {
            coordinator,
            fixers,
        } => format!(
            "coordinator {coordinator}, fixers {}",
            fixers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        EventData::ParticipantAdded { participant } => {
            format!("added {} as {}", participant.person, participant.role)
        }
        EventData::AdditionRequested {
            request,
            participant,
            ..
        } => format!(
            "request #{request}: add {} as {}",
            participant.person, participant.role
        ),
        EventData::AdditionApproved { request } => format!("approved request #{request}"),
        EventData::AdditionDeclined { request, .. } => format!("declined request #{request}"),
        _ => String::new(),
    }
}

/// The thread the reporter sees: what the team sent them and what they
/// wrote. `for_reporter` words it for the reporter's own status page, where
/// team members' names are not shown.
pub(crate) fn reporter_thread(
    events: &[embargo_core::Event],
    for_reporter: bool,
) -> Vec<minijinja::Value> {
    events
        .iter()
        .filter_map(|e| {
            let (label, text) = match &e.data {
                EventData::Acknowledged { message } => ("Acknowledgement", message.clone()),
                EventData::InfoRequested { question } => {
                    ("Question to the reporter", question.clone())
                }
                EventData::ReporterMessaged { text } => ("Message to the reporter", text.clone()),
                EventData::ReporterWrote { text, .. } => ("The reporter wrote", text.clone()),
                EventData::Rejected { rejection } => (
                    "Decision sent to the reporter",
                    format!("{}: {}", rejection.reason.name(), rejection.explanation),
                ),
                _ => return None,
            };
            let from_reporter = matches!(e.data, EventData::ReporterWrote { .. });
            Some(context! {
                at => e.at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                actor => if for_reporter {
                    if from_reporter { "you" } else { "the security team" }
                } else {
                    e.actor.as_str()
                },
                from_reporter => from_reporter,
                label => label,
                html => markdown::render(&text),
            })
        })
        .collect()
}

fn notes(events: &[embargo_core::Event]) -> Vec<minijinja::Value> {
    events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::NoteAdded { text, .. } => Some(context! {
                at => e.at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                actor => e.actor.as_str(),
                html => markdown::render(text),
            }),
            _ => None,
        })
        .collect()
}

async fn case_view(
    state: &AppState,
    who: &SignedIn,
    access: &CaseAccess,
    error: Option<String>,
) -> Result<Response, WebError> {
    let case = access.case();
    let standing = access.standing();
    let events: Vec<_> = authz::visible_events(state, access)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let allowed = embargo_core::allowed(case);
    let can = |k: CommandKind| allowed.contains(&k) && access.may(k);
    let actions: Vec<&str> = CommandKind::ALL
        .iter()
        .filter(|k| can(**k))
        .map(|k| k.name())
        .collect();
    let clock = case.ack_clock(state.config.ack_policy_for(case));
    let now = state.clock.now();
    let projects = state.store.projects().await?;
    let people = if can(CommandKind::AddParticipant)
        || can(CommandKind::AssignFixingTeam)
        || can(CommandKind::RequestAddition)
    {
        state
            .store
            .people()
            .await?
            .into_iter()
            .filter(|p| p.password_hash.is_some())
            .map(|p| {
                let maintains: Vec<String> = projects
                    .iter()
                    .filter(|pr| {
                        pr.maintainers.contains(&p.id) && access.projects().contains(&pr.name)
                    })
                    .map(|pr| pr.name.clone())
                    .collect();
                PersonOption {
                    hint: if maintains.is_empty() {
                        p.role.name().to_owned()
                    } else {
                        format!("{}, maintains {}", p.role.name(), maintains.join(", "))
                    },
                    id: p.id.to_string(),
                    name: p.name,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let assessment = case.assessment.as_ref();
    // The status matrix: every project the organisation covers, with what
    // triage recorded for it (empty: not involved).
    let matrix_rows: Vec<minijinja::Value> = if can(CommandKind::Triage)
        || assessment.is_some_and(|a| !a.projects.is_empty())
    {
        let mut names: Vec<String> = projects.iter().map(|p| p.name.clone()).collect();
        for extra in access.projects() {
            if !names.contains(extra) {
                names.push(extra.clone());
            }
        }
        names
                .into_iter()
                .map(|name| {
                    let current = assessment
                        .and_then(|a| a.projects.iter().find(|r| r.project == name))
                        .map(|r| r.status.name());
                    context! {
                        slug => name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>(),
                        options => ProjectStatus::ALL.iter().map(|s| context! {
                            value => format!("{name}:{}", s.name()),
                            label => s.name(),
                            selected => current == Some(s.name()),
                        }).collect::<Vec<_>>(),
                        current => current,
                        name => name,
                    }
                })
                .collect()
    } else {
        Vec::new()
    };
    let lens = access.lens();
    let sees_report = lens.sees_report();
    let matrix: Vec<minijinja::Value> = assessment
        .map(|a| {
            a.affected
                .iter()
                .map(|p| {
                    context! {
                        package => format!("{}:{}", p.ecosystem, p.name),
                        ranges => p.ranges.iter().map(|r| match &r.fixed {
                            Some(f) => format!(">= {}, < {}", r.introduced, f),
                            None => format!(">= {} (no fix yet)", r.introduced),
                        }).collect::<Vec<_>>(),
                        status => if case.facts.fix_released.is_some() { "fixed" } else if case.facts.fix_ready.is_some() { "fix ready" } else { "affected" },
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let reporter_sees = reporter_text(state, case.stage()).await?;
    // Duplicate hints for those who triage: open cases the caller can see
    // with a similar title or a common affected package.
    let duplicates: Vec<minijinja::Value> = if matches!(
        standing,
        Standing::Srt | Standing::Coordinator
    ) && case.rejection.is_none()
    {
        // Candidates: the open cases that share a title word or a package
        // with this one, from the read model's term index (a term most
        // cases share is not looked up), of those the caller may see:
        // opening a case never walks the archive.
        let similar = state
            .store
            .similar_cases(
                &embargo_core::duplicates::lookup_terms(case),
                &case.id,
                DUPLICATE_TERM_MOST,
                DUPLICATE_CANDIDATES,
            )
            .await?;
        let visible = authz::visible_by_id(state, &who.caller, similar).await?;
        embargo_core::duplicates::candidates(case, visible.iter().map(|(c, _)| c))
                .into_iter()
                .take(5)
                .map(|(id, why)| {
                    let title = visible
                        .iter()
                        .find(|(c, _)| c.id == id)
                        .map(|(c, _)| c.report.title.clone())
                        .unwrap_or_default();
                    context! {
                        id => id.to_string(),
                        title => title,
                        why => match why {
                            embargo_core::duplicates::Likeness::Title(p) => format!("{p}% of the title's words in common"),
                            embargo_core::duplicates::Likeness::Package(p) => format!("also affects {p}"),
                        },
                    }
                })
                .collect()
    } else {
        Vec::new()
    };
    // Who opened the case: the SRT and the coordinator can audit it.
    let views: Vec<minijinja::Value> = if lens.sees_raw() {
        let log = state.store.access_log(case.id.as_str(), 50).await?;
        log.iter()
            .rev()
            .map(|e| {
                context! {
                    at => unix_text(e.at, false),
                    person => e.person.clone(),
                    standing => e.detail.clone(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // What arrived: the files sent with the report (for those who read the
    // report) and the raw messages (for the SRT and the coordinator).
    let attachments = if sees_report {
        state.store.attachments(&case.id).await?
    } else {
        Vec::new()
    };
    let (inbound, deliveries, failed_jobs) = if lens.sees_raw() {
        (
            state.store.inbound_for_case(&case.id).await?,
            state.store.attempts_for_case(case.id.as_str()).await?,
            crate::api::failed_jobs(state, case).await?,
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    // The release plan, for the case's team, as far as the caller's part goes.
    let release = lens
        .sees_release()
        .then(|| ser(crate::release::view(state, case, access.part())));
    // The texts the release forms start from: the announcement preview and
    // the retrospective (kept, or drafted from the log).
    let announcement_draft = if can(CommandKind::ApproveAnnouncement) {
        crate::release::announcement_preview(state, case)
            .unwrap_or_else(|e| format!("(cannot render the announcement: {e})"))
    } else {
        String::new()
    };
    let retrospective_draft = if can(CommandKind::WriteRetrospective) {
        match &case.retrospective {
            Some(r) => r.text.clone(),
            // Those who write it see every part: `events` is the whole log.
            None => crate::release::retrospective_from(state, case, &events),
        }
    } else {
        String::new()
    };
    let ctx = context! {
        failed_jobs => ser(failed_jobs),
        me => ser(me(who)),
        release => release,
        announcement_draft => announcement_draft,
        // Open built-in forks of the caller's part: a credential form each.
        builtin_forks => case.forks.iter()
            .filter(|f| f.closed_at.is_none() && f.host == embargo_core::event::ForkHost::Builtin)
            .filter(|f| access.part().is_none_or(|p| p == f.project) && lens.sees_release())
            .map(|f| f.project.clone())
            .collect::<Vec<_>>(),
        retrospective_draft => retrospective_draft,
        error => error,
        reporter_sees => reporter_sees,
        attachments => attachments.iter().map(|a| context! { id => a.id, name => &a.name, content_type => &a.content_type, size => a.size }).collect::<Vec<_>>(),
        deliveries => deliveries.iter().map(|d| context! {
            key => &d.key,
            at => unix_text(d.at, true),
            outcome => &d.outcome,
            error => &d.error,
        }).collect::<Vec<_>>(),
        inbound => inbound.iter().map(|i| context! {
            id => i.id,
            at => unix_text(i.received_at, false),
            channel => &i.channel,
            source => &i.source,
            outcome => &i.outcome,
            size => i.size,
        }).collect::<Vec<_>>(),
        intake => context! {
            encrypted => case.report.intake.encrypted,
            signed_by => &case.report.intake.signed_by,
            signed_by_unknown => &case.report.intake.signed_by_unknown,
            has_key => case.report.intake.reporter_key.is_some(),
            credit => &case.report.intake.credit,
            reference => &case.report.intake.reference,
        },
        duplicates => duplicates,
        matrix_rows => matrix_rows,
        views => views,
        standing => standing.name(),
        case => context! {
            id => case.id.to_string(),
            title => &case.report.title,
            project => &case.report.project,
            projects => access.projects(),
            stage => case.stage().label(),
            handling => case.handling.name(),
            embargo => case.embargo.name(),
            tlp => case.tlp().label(),
            tlp_class => case.tlp().label().replace("TLP:", "").replace('+', "-").to_ascii_lowercase(),
            severity => severity(case),
            received => case.received_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            ack_due => clock.due.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            ack_state => match case.acknowledged_at {
                Some(at) => format!("acknowledged {}", at.strftime("%Y-%m-%d %H:%M UTC")),
                None => duration_text(clock.due.as_second() - now.as_second()),
            },
            overdue => case.acknowledged_at.is_none() && clock.due < now,
            channel => case.report.channel.name(),
            // The lens has already left out what the caller may not see.
            reporter_name => &case.report.reporter_name,
            reporter_email => &case.report.reporter_email,
            body_html => if sees_report { Some(markdown::render(&case.report.body)) } else { None },
            needs_info => &case.needs_info,
            // A project team's member does not see the other teams.
            participants => case.participants.iter()
                .filter(|p| case.shows_person(access.part(), &p.person))
                .map(|p| context! { person => p.person.as_str(), role => p.role.name() }).collect::<Vec<_>>(),
            requests => case.addition_requests.iter().map(|r| context! {
                number => r.number,
                person => r.participant.person.as_str(),
                role => r.participant.role.name(),
                by => r.requested_by.as_str(),
                reason => &r.reason,
                pending => r.is_pending(),
                decision => r.decision.as_ref().map(|(by, _, d)| match d {
                    embargo_core::case::AdditionDecision::Approved => format!("approved by {by}"),
                    embargo_core::case::AdditionDecision::Declined { reason } => format!("declined by {by}: {reason}"),
                }),
            }).collect::<Vec<_>>(),
            cvss_v31 => assessment.and_then(|a| a.cvss_v31.as_ref()).map(|c| context! { vector => c.vector(), score => c.score_text(), severity => c.severity().name() }),
            cvss_v40 => assessment.and_then(|a| a.cvss_v40.as_ref()).map(|c| context! { vector => c.vector(), score => c.score_text(), severity => c.severity().name() }),
            cwe => assessment.and_then(|a| a.cwe.as_ref()).map(ToString::to_string),
            reproduced => assessment.map(|a| format!("{:?}", a.reproduced).to_ascii_lowercase()),
            triage_notes => assessment.map(|a| a.notes.clone()),
            affected_text => assessment.map(|a| a.affected.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")).unwrap_or_default(),
            matrix => matrix,
            invalid => case.rejection.is_some(),
            duplicate_of => case.rejection.as_ref().and_then(|r| match &r.reason {
                RejectReason::DuplicateOf { case } => Some(case.to_string()),
                _ => None,
            }),
        },
        sees_thread => lens.sees_thread(),
        thread => if lens.sees_thread() { reporter_thread(&events, false) } else { Vec::new() },
        notes => if lens.sees_internal() { notes(&events) } else { Vec::new() },
        timeline => ser(events.iter().map(|e| EventRow {
            at: e.at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            actor: e.actor.to_string(),
            kind: e.data.kind(),
            text: event_text(&e.data),
        }).collect::<Vec<_>>()),
        actions => actions,
        canned => CANNED.iter().map(|(k, v)| context! { key => *k, text => *v }).collect::<Vec<_>>(),
        people => ser(people),
        roles => ["fixer", "observer", "srt", "coordinator"],
        tlps => Tlp::ALL.iter().map(|t| t.label()).collect::<Vec<_>>(),
        reject_reasons => ["duplicate", "not-a-vulnerability", "out-of-scope", "not-reproducible", "spam"],
    };
    Ok(render("case.html", ctx))
}

pub(crate) async fn case_page(
    State(state): State<Shared>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let access = authz::open_case(&state, &who.caller, &id).await?;
    case_view(&state, &who, &access, None).await
}

/// Every case action's form fields; each command reads the ones it needs.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ActionForm {
    message: String,
    canned: String,
    question: String,
    reproduced: String,
    notes: String,
    affected: String,
    cvss_v31: String,
    cvss_v40: String,
    cwe: String,
    tlp: String,
    reason: String,
    duplicate_of: String,
    explanation: String,
    coordinator: String,
    fixer: Vec<String>,
    person: String,
    role: String,
    request: u32,
    text: String,
    matrix: Vec<String>,
    disclose_at: String,
    host: String,
    project: String,
    url: String,
}

fn person_id(s: &str) -> Result<PersonId, Failure> {
    PersonId::new(s.trim()).map_err(|e| Failure(ServiceError::Invalid(e.0)))
}

/// Turns the form for `command` into the API's wire request, so that the
/// web and the JSON API share one conversion into core commands
/// (`api::to_command`).
fn command_from(name: &str, f: ActionForm) -> Result<CommandRequest, Failure> {
    use CommandRequest as R;
    let kind = WEB_COMMANDS
        .iter()
        .find(|k| k.name() == name)
        .ok_or(Failure(ServiceError::NotFound))?;
    let given = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(match kind {
        CommandKind::Acknowledge => R::Acknowledge {
            message: if f.message.trim().is_empty() {
                CANNED
                    .iter()
                    .find(|(k, _)| *k == f.canned)
                    .map(|(_, v)| (*v).to_owned())
                    .unwrap_or_default()
            } else {
                f.message
            },
        },
        CommandKind::RequestInfo => R::RequestInfo {
            question: f.question,
        },
        CommandKind::Triage => R::Triage {
            reproduced: f.reproduced,
            notes: f.notes,
            affected: f
                .affected
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            cvss_v31: given(f.cvss_v31),
            cvss_v40: given(f.cvss_v40),
            cwe: given(f.cwe),
            tlp: f.tlp,
            projects: f.matrix.into_iter().filter(|v| !v.is_empty()).collect(),
        },
        CommandKind::Reject => R::Reject {
            reason: f.reason,
            duplicate_of: given(f.duplicate_of),
            explanation: f.explanation,
        },
        CommandKind::AssignFixingTeam => R::AssignFixingTeam {
            coordinator: f.coordinator,
            fixers: f.fixer,
        },
        CommandKind::AddParticipant => R::AddParticipant {
            person: f.person,
            role: f.role,
        },
        CommandKind::RequestAddition => R::RequestAddition {
            person: f.person,
            role: f.role,
            reason: f.reason,
        },
        CommandKind::ApproveAddition => R::ApproveAddition { request: f.request },
        CommandKind::DeclineAddition => R::DeclineAddition {
            request: f.request,
            reason: f.reason,
        },
        CommandKind::AddNote => R::AddNote {
            text: f.text,
            part: None,
        },
        CommandKind::MessageReporter => R::MessageReporter { text: f.text },
        CommandKind::Defer => R::Defer { reason: f.reason },
        CommandKind::Reopen => R::Reopen { note: f.text },
        CommandKind::Revalidate => R::Revalidate { note: f.text },
        CommandKind::MarkFixReady => R::MarkFixReady,
        CommandKind::Close => R::Close { note: f.text },
        CommandKind::ProposeTimeline => R::ProposeTimeline {
            disclose_at: given(f.disclose_at),
        },
        CommandKind::AcceptTimeline => R::AcceptTimeline,
        CommandKind::DeclineTimeline => R::DeclineTimeline { reason: f.reason },
        CommandKind::AssignProjectTeam => R::AssignProjectTeam {
            project: f.project.trim().to_owned(),
            fixers: f
                .fixer
                .iter()
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect(),
        },
        CommandKind::OpenPrivateFork => R::OpenPrivateFork {
            url: given(f.url),
            project: given(f.project),
            host: given(f.host),
        },
        CommandKind::ApproveAnnouncement => R::ApproveAnnouncement {
            text: given(f.text.replace("\r\n", "\n")),
        },
        CommandKind::WriteRetrospective => R::WriteRetrospective {
            text: given(f.text.replace("\r\n", "\n")),
        },
        // The rest (advisory, CVE, release steps) are in the API and CLI.
        _ => return Err(Failure(ServiceError::NotFound)),
    })
}

/// The web commands: the route table test walks this list.
pub(crate) const WEB_COMMANDS: &[CommandKind] = &[
    CommandKind::Acknowledge,
    CommandKind::RequestInfo,
    CommandKind::Triage,
    CommandKind::Reject,
    CommandKind::AssignFixingTeam,
    CommandKind::AddParticipant,
    CommandKind::RequestAddition,
    CommandKind::ApproveAddition,
    CommandKind::DeclineAddition,
    CommandKind::AddNote,
    CommandKind::MessageReporter,
    CommandKind::Defer,
    CommandKind::Reopen,
    CommandKind::Revalidate,
    CommandKind::MarkFixReady,
    CommandKind::Close,
    CommandKind::ProposeTimeline,
    CommandKind::AcceptTimeline,
    CommandKind::DeclineTimeline,
    CommandKind::AssignProjectTeam,
    CommandKind::OpenPrivateFork,
    CommandKind::ApproveAnnouncement,
    CommandKind::WriteRetrospective,
];

pub(crate) async fn case_command(
    State(state): State<Shared>,
    Path((id, command)): Path<(String, String)>,
    posted: Posted<ActionForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    let access = authz::open_case(&state, &who.caller, &id).await?;
    let outcome = match command_from(&command, posted.form) {
        Ok(req) => match crate::api::to_command(&state, &access, req, state.clock.now()).await {
            Ok(cmd) => authz::run(&state, &access, cmd)
                .await
                .map_err(Failure::from),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(Failure(ServiceError::NotFound)) => Err(Failure(ServiceError::NotFound).into()),
        Err(e) => {
            // Show the case again with the reason, keeping the status.
            let status = WebError::from(e);
            let access = authz::open_case(&state, &who.caller, &id).await?;
            let page = case_view(&state, &who, &access, Some(status.message)).await?;
            Ok(with_status(status.status, page))
        }
    }
}

pub(crate) async fn public_issue(
    State(state): State<Shared>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let access = authz::open_case(&state, &who.caller, &id).await?;
    authz::srt(&who.caller)?;
    let case = access.case();
    let Some(rejection) = &case.rejection else {
        return Err(Failure(ServiceError::Invalid(
            "only a report found invalid becomes a public issue".into(),
        ))
        .into());
    };
    // Reporter identity stays out; the text is for a public tracker.
    let text = format!(
        "{title}\n\n(Reported privately to the security team and found not to be a security vulnerability: {reason}.)\n\n{explanation}\n\n---\n\n{body}\n",
        title = case.report.title,
        reason = rejection.reason.name(),
        explanation = rejection.explanation,
        body = case.report.body,
    );
    Ok(render(
        "public_issue.html",
        context! { me => ser(me(&who)), id => case.id.to_string(), text => text },
    ))
}

#[derive(Deserialize)]
pub(crate) struct CvssQuery {
    vector: String,
}

/// Scores a vector for the calculator (the same code that scores triage).
pub(crate) async fn cvss_score(
    _who: SignedIn,
    Query(q): Query<CvssQuery>,
) -> Json<serde_json::Value> {
    Json(match Cvss::parse(&q.vector) {
        Ok(c) => serde_json::json!({
            "vector": c.vector(), "score": c.score_text(), "severity": c.severity().name(),
        }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    })
}

/// Issues an API token for the signed-in person (for the CLI), shown once.
pub(crate) async fn new_api_token(
    State(state): State<Shared>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let token = accounts::new_token("emb_");
    state
        .store
        .add_api_token(
            &token_hash(&token),
            posted.who.caller.id().as_str(),
            state.clock.now(),
        )
        .await?;
    Ok(render(
        "message.html",
        context! {
            me => ser(me(&posted.who)),
            title => "Your new API token",
            message => format!("Use it as EMBARGO_TOKEN for the embargo CLI. It is shown only now: {token}"),
        },
    ))
}

/// The project a fork credential is for.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ForkProjectForm {
    project: String,
}

/// `POST /cases/{id}/fork-credential`: a new git credential for the
/// caller's built-in fork, shown once.
pub(crate) async fn fork_credential(
    State(state): State<Shared>,
    Path(id): Path<String>,
    posted: Posted<ForkProjectForm>,
) -> Result<Response, WebError> {
    let access = authz::open_case(&state, &posted.who.caller, &id).await?;
    let project = Some(posted.form.project.trim().to_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| access.case().report.project.clone());
    let c = crate::forks::issue_credential(&state, &access, &project).await?;
    Ok(render(
        "message.html",
        context! {
            me => ser(me(&posted.who)),
            title => format!("Your git credential for {project}"),
            message => format!(
                "Clone {} with user name {} and this password, shown only now (keep it in your git credential helper): {}",
                c.url, c.username, c.password
            ),
        },
    ))
}

/// `POST /account/calendar`: a new private calendar URL (the old one stops).
pub(crate) async fn new_calendar(
    State(state): State<Shared>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let url = crate::calendar::issue(&state, &posted.who.caller).await?;
    Ok(render(
        "message.html",
        context! {
            me => ser(me(&posted.who)),
            title => "Your private calendar",
            message => format!("Subscribe to your deadlines with this address; anyone with it can read them, so keep it to yourself. It is shown only now: {url}"),
        },
    ))
}

// ------------------------------------------------------------------ admin

async fn people_view(
    state: &AppState,
    who: &SignedIn,
    invited: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let people = state.store.people().await?;
    let activity: Vec<minijinja::Value> = state
        .store
        .recent_account_events(50)
        .await?
        .into_iter()
        .map(|e| {
            context! {
                at => unix_text(e.at, true),
                person => e.person,
                action => e.action.replace('_', " "),
                detail => e.detail,
            }
        })
        .collect();
    Ok(render(
        "people.html",
        context! {
            me => ser(me(who)),
            activity => activity,
            error => error,
            invited => invited.map(|(id, url)| context! { id => id, url => url }),
            roles => OrgRole::ALL.iter().map(|r| r.name()).collect::<Vec<_>>(),
            people => people.iter().map(|p| context! {
                id => p.id.as_str(), name => &p.name, email => &p.email, role => p.role.name(),
                active => p.password_hash.is_some(), totp => p.totp_enrolled, locked => p.locked,
                failures => p.failed_signins,
            }).collect::<Vec<_>>(),
        },
    ))
}

pub(crate) async fn people_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    people_view(&state, &who, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct InvitePersonForm {
    id: String,
    name: String,
    email: String,
    role: String,
}

pub(crate) async fn invite(
    State(state): State<Shared>,
    posted: Posted<InvitePersonForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    let admin = authz::admin(&who.caller)?;
    let f = posted.form;
    let result = async {
        let id = person_id(&f.id)?;
        let role: OrgRole = f
            .role
            .parse()
            .map_err(|e: embargo_core::ids::InvalidValue| Failure(ServiceError::Invalid(e.0)))?;
        let inv = accounts::invite(&state, admin.0.id(), &id, &f.name, &f.email, role).await?;
        Ok::<_, Failure>((id.to_string(), inv.url))
    }
    .await;
    match result {
        Ok(invited) => people_view(&state, &who, Some(invited), None).await,
        Err(e) => {
            let e = WebError::from(e);
            Ok(with_status(
                e.status,
                people_view(&state, &who, None, Some(e.message)).await?,
            ))
        }
    }
}

pub(crate) async fn unlock(
    State(state): State<Shared>,
    Path(person): Path<String>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    authz::admin(&posted.who.caller)?;
    let id = person_id(&person)?;
    state
        .store
        .person(id.as_str())
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    state.store.set_signin_state(&id, 0, 0, false).await?;
    Ok(Redirect::to("/admin/people").into_response())
}

async fn projects_view(
    state: &AppState,
    who: &SignedIn,
    error: Option<String>,
) -> Result<Response, WebError> {
    let projects = state.store.projects().await?;
    let page = render(
        "projects.html",
        context! {
            me => ser(me(who)),
            error => error,
            projects => projects.iter().map(|p| context! {
                name => p.name.clone(), repositories => p.repositories.clone(), packages => p.packages.clone(),
                series => p.series.clone(), maintainers => p.maintainers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }).collect::<Vec<_>>(),
        },
    );
    Ok(page)
}

pub(crate) async fn projects_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    projects_view(&state, &who, None).await
}

#[derive(Deserialize)]
pub(crate) struct ProjectForm {
    name: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    packages: String,
    #[serde(default)]
    series: String,
    #[serde(default)]
    maintainers: String,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn save_project(
    State(state): State<Shared>,
    posted: Posted<ProjectForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    authz::admin(&who.caller)?;
    let f = posted.form;
    let wire = embargo_api::ProjectWire {
        name: f.name,
        repositories: words(&f.repositories),
        packages: words(&f.packages),
        series: words(&f.series),
        maintainers: words(&f.maintainers),
    };
    match crate::api::project_from_wire(&state, wire).await {
        Ok(project) => {
            state
                .store
                .put_project(&project, state.clock.unix())
                .await?;
            Ok(Redirect::to("/admin/projects").into_response())
        }
        Err(e) => {
            let e = WebError::from(e);
            Ok(with_status(
                e.status,
                projects_view(&state, &who, Some(e.message)).await?,
            ))
        }
    }
}

/// The reporter-facing text for a stage: the admins' own, or the default.
pub(crate) async fn reporter_text(
    state: &AppState,
    stage: embargo_core::Stage,
) -> Result<String, Failure> {
    Ok(state
        .store
        .status_texts()
        .await?
        .into_iter()
        .find(|(s, _)| s == stage.label())
        .map_or_else(|| stage.default_reporter_text().to_owned(), |(_, t)| t))
}

pub(crate) async fn status_texts_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    let mut stages = Vec::new();
    for stage in embargo_core::Stage::ALL {
        stages.push(context! {
            label => stage.label(),
            slug => stage.label().replace(' ', "-"),
            text => reporter_text(&state, stage).await?,
            fallback => stage.default_reporter_text(),
        });
    }
    Ok(render(
        "status_texts.html",
        context! { me => ser(me(&who)), stages => stages },
    ))
}

#[derive(Deserialize)]
pub(crate) struct StatusTextForm {
    stage: String,
    text: String,
}

pub(crate) async fn save_status_text(
    State(state): State<Shared>,
    posted: Posted<StatusTextForm>,
) -> Result<Response, WebError> {
    let admin = authz::admin(&posted.who.caller)?;
    let f = posted.form;
    let stage = embargo_core::Stage::ALL
        .into_iter()
        .find(|s| s.label() == f.stage)
        .ok_or_else(|| {
            Failure(ServiceError::Invalid(format!(
                "`{}` is not a stage",
                f.stage
            )))
        })?;
    embargo_core::ids::required_text("text", &f.text, 5000)
        .map_err(|e| Failure(ServiceError::Invalid(e.0)))?;
    state
        .store
        .set_status_text(
            stage.label(),
            f.text.trim(),
            admin.0.id(),
            state.clock.unix(),
        )
        .await?;
    Ok(Redirect::to("/admin/status-texts").into_response())
}

#[derive(Deserialize)]
pub(crate) struct RoleForm {
    role: String,
}

pub(crate) async fn set_role(
    State(state): State<Shared>,
    Path(person): Path<String>,
    posted: Posted<RoleForm>,
) -> Result<Response, WebError> {
    let admin = authz::admin(&posted.who.caller)?;
    let id = person_id(&person)?;
    state
        .store
        .person(id.as_str())
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let role: OrgRole = posted
        .form
        .role
        .parse()
        .map_err(|e: embargo_core::ids::InvalidValue| Failure(ServiceError::Invalid(e.0)))?;
    if &id == admin.0.id() && role != OrgRole::Admin {
        return Err(Failure(ServiceError::Invalid(
            "you cannot take away your own admin role; ask another admin".into(),
        ))
        .into());
    }
    state.store.set_role(&id, role).await?;
    Ok(Redirect::to("/admin/people").into_response())
}

/// The policies in force, as configured in embargo.toml (read only here).
pub(crate) async fn policy_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    let c = &state.config;
    Ok(render(
        "policy.html",
        context! {
            me => ser(me(&who)),
            acknowledge_hours => c.sla.acknowledge_hours,
            sla => context! {
                triage_days => c.sla.triage_days,
                fix => format!("critical {}, high {}, medium {}, low {}", c.sla.fix_days.critical, c.sla.fix_days.high, c.sla.fix_days.medium, c.sla.fix_days.low),
                disclose => format!("critical {}, high {}, medium {}, low {}", c.sla.disclose_days.critical, c.sla.disclose_days.high, c.sla.disclose_days.medium, c.sla.disclose_days.low),
                days => if c.sla.business_days { "business days (Monday to Friday, not holidays)" } else { "calendar days" },
                holidays => c.sla.holidays.iter().map(ToString::to_string).collect::<Vec<_>>(),
                warn_at => c.sla.warn_at_percent.iter().map(|p| format!("{p}%")).collect::<Vec<_>>(),
                notify => c.sla.notify_roles.iter().chain(c.sla.notify_people.iter()).cloned().collect::<Vec<_>>(),
                projects => c.sla.projects.keys().cloned().collect::<Vec<_>>(),
            },
            hour_utc => c.disclosure.hour_utc,
            holidays => c.disclosure.holidays.iter().map(ToString::to_string).collect::<Vec<_>>(),
            lead_days => c.disclosure.default_lead_days,
            require_totp => c.accounts.require_totp.clone(),
            session_hours => c.accounts.session_hours,
            invitation_days => c.accounts.invitation_days,
            free_failures => c.accounts.free_failures,
            throttle_seconds => c.accounts.throttle_seconds,
            lock_after => c.accounts.lock_after,
            attempts_per_address => c.accounts.attempts_per_address,
            address_window_seconds => c.accounts.address_window_seconds,
        },
    ))
}

/// A file to download, never shown inline: reporter files are untrusted.
fn download(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let disposition = format!("attachment; filename=\"{safe}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /cases/{id}/attachments/{n}`: for those who may read the report.
pub(crate) async fn case_attachment(
    State(state): State<Shared>,
    Path((id, n)): Path<(String, i64)>,
    who: SignedIn,
) -> Result<Response, WebError> {
    let access = authz::open_case(&state, &who.caller, &id).await?;
    if !access.lens().sees_report() {
        return Err(Failure(ServiceError::NotFound).into());
    }
    let (meta, bytes) = state
        .store
        .attachment(&access.case().id, n)
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    Ok(download(&meta.name, "application/octet-stream", bytes))
}

/// `GET /cases/{id}/inbound/{n}`: a raw message as received (SRT and coordinator).
pub(crate) async fn case_inbound(
    State(state): State<Shared>,
    Path((id, n)): Path<(String, i64)>,
    who: SignedIn,
) -> Result<Response, WebError> {
    let access = authz::open_case(&state, &who.caller, &id).await?;
    if !access.lens().sees_raw() {
        return Err(Failure(ServiceError::NotFound).into());
    }
    let (entry, raw) = state
        .store
        .inbound_raw(n)
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    if entry.case_id.as_deref() != Some(access.case().id.as_str()) {
        return Err(Failure(ServiceError::NotFound).into());
    }
    Ok(download(
        &format!("{id}-{n}.eml"),
        "text/plain; charset=utf-8",
        raw,
    ))
}

/// `GET /quarantine`: what could not be processed, with the reason (SRT).
pub(crate) async fn quarantine_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let entries = state.store.quarantined(500).await?;
    Ok(render(
        "quarantine.html",
        context! {
            me => ser(me(&who)),
            entries => entries.iter().map(|e| context! {
                id => e.id,
                at => unix_text(e.received_at, false),
                channel => &e.channel,
                source => &e.source,
                reason => &e.reason,
                size => e.size,
            }).collect::<Vec<_>>(),
        },
    ))
}

/// `GET /quarantine/{n}`: one quarantined message, raw (SRT).
pub(crate) async fn quarantine_raw(
    State(state): State<Shared>,
    Path(n): Path<i64>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let (entry, raw) = state
        .store
        .inbound_raw(n)
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    if entry.outcome != "quarantined" {
        return Err(Failure(ServiceError::NotFound).into());
    }
    Ok(download(
        &format!("quarantine-{n}.eml"),
        "text/plain; charset=utf-8",
        raw,
    ))
}

/// `GET /channels`: the channel inventory with health (SRT).
pub(crate) async fn channels_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let channels = crate::channels::inventory(&state).await?;
    Ok(render(
        "channels.html",
        context! {
            me => ser(me(&who)),
            channels => ser(channels),
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct ComplianceQuery {
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    days: Option<i64>,
}

/// `GET /compliance?project=NAME`: the SPEC-11 compliance report (SRT).
pub(crate) async fn compliance_page(
    State(state): State<Shared>,
    Query(q): Query<ComplianceQuery>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let project = q.project.filter(|p| !p.is_empty());
    let days = q.days.unwrap_or(crate::api::COMPLIANCE_DAYS);
    let checks = crate::api::compliance_checks(&state, project.as_deref(), days).await?;
    let projects: Vec<String> = state
        .store
        .projects()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    Ok(render(
        "compliance.html",
        context! {
            me => ser(me(&who)),
            project => project,
            projects => projects,
            days => days,
            checks => ser(checks),
        },
    ))
}

async fn account_view(
    state: &AppState,
    who: &SignedIn,
    saved: bool,
    error: Option<String>,
) -> Result<Response, WebError> {
    let prefs = state.store.prefs(who.caller.id()).await?;
    let fingerprint = prefs
        .openpgp_key
        .as_deref()
        .and_then(|k| embargo_pgp::Certificate::parse(k.as_bytes()).ok())
        .map(|c| c.fingerprint());
    let mut resp = render(
        "account.html",
        context! {
            me => ser(me(who)),
            notify => prefs.notify,
            fingerprint => fingerprint,
            saved => saved,
            error => error,
        },
    );
    if resp.status().is_success() && saved {
        *resp.status_mut() = StatusCode::OK;
    }
    Ok(resp)
}

/// `GET /account`: notification preferences and the OpenPGP key on file.
pub(crate) async fn account_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    account_view(&state, &who, false, None).await
}

#[derive(Deserialize)]
pub(crate) struct PrefsForm {
    notify: String,
    #[serde(default)]
    openpgp_key: String,
    #[serde(default)]
    remove_key: Option<String>,
}

/// `POST /account`: saves the preferences. A key that does not parse is
/// refused with the reason; the previous one stays.
pub(crate) async fn save_account(
    State(state): State<Shared>,
    posted: Posted<PrefsForm>,
) -> Result<Response, WebError> {
    let f = posted.form;
    let who = posted.who;
    if !["immediate", "digest", "none"].contains(&f.notify.as_str()) {
        return account_view(
            &state,
            &who,
            false,
            Some("Choose immediate, digest or none.".into()),
        )
        .await;
    }
    let mut prefs = state.store.prefs(who.caller.id()).await?;
    prefs.notify = f.notify;
    if f.remove_key.is_some() {
        prefs.openpgp_key = None;
    } else if !f.openpgp_key.trim().is_empty() {
        match embargo_pgp::Certificate::parse(f.openpgp_key.trim().as_bytes()) {
            Ok(cert) => prefs.openpgp_key = cert.to_armored().ok(),
            Err(e) => {
                return account_view(
                    &state,
                    &who,
                    false,
                    Some(format!("That key cannot be used: {e}")),
                )
                .await;
            }
        }
    }
    state.store.set_prefs(who.caller.id(), &prefs).await?;
    account_view(&state, &who, true, None).await
}

/// `POST /quarantine/{n}/file`: the SRT files a quarantined email as a new
/// case (a reply from an unexpected address that is in fact a new report,
/// say). What still cannot be read stays in quarantine, with the reason.
pub(crate) async fn file_quarantined(
    State(state): State<Shared>,
    Path(n): Path<i64>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let srt = authz::srt(&posted.who.caller)?;
    let outcome = crate::intake::mail::file_as_new_case(&state, n, srt.0.id())
        .await
        .map_err(Failure::from)?;
    match outcome {
        crate::intake::mail::Outcome::Case(receipt) => {
            Ok(Redirect::to(&format!("/cases/{}", receipt.case_id)).into_response())
        }
        _ => Err(WebError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Still in quarantine",
            message: "The message still cannot be made into a report; its reason is on the quarantine page.".into(),
        }),
    }
}

/// A stored unix time for a page, to the minute (or the second).
fn unix_text(secs: i64, seconds: bool) -> String {
    let format = if seconds {
        "%Y-%m-%d %H:%M:%S UTC"
    } else {
        "%Y-%m-%d %H:%M UTC"
    };
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime(format).to_string())
        .unwrap_or_default()
}
