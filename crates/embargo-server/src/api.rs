//! The JSON API for cases: wire requests validated into core commands, run
//! through the store's writer, and errors mapped to HTTP in one place.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use embargo_api::{CaseView, CommandRequest, EventView, NewReport};
use embargo_core::{
    Case, CaseId, Command, PersonId, PublishMode, WorldFact,
    advisory::{Advisory, Credit, CreditHolder, Package, Range, RangeKind, Reference},
    affected::AffectedPackage,
    cvss::Cvss,
    event::{
        Assessment, Channel, CveVia, RejectReason, Rejection, ReleaseStep, Report, Reproduction,
    },
    participant::Participant,
};

use crate::{AppState, authz, error::ServiceError, extract::Principal};

type Shared = Arc<AppState>;

use crate::failure::Failure;

fn invalid(e: impl std::fmt::Display) -> Failure {
    Failure(ServiceError::Invalid(e.to_string()))
}

fn view(state: &AppState, case: &Case) -> CaseView {
    CaseView {
        id: case.id.to_string(),
        project: case.report.project.clone(),
        title: case.report.title.clone(),
        stage: case.stage().label().to_owned(),
        handling: case.handling.name().to_owned(),
        embargo: case.embargo.name().to_owned(),
        disclose_at: case.embargo.agreed_until().map(|t| t.to_string()),
        received_at: case.received_at.to_string(),
        ack_due: case
            .ack_clock(state.config.ack_policy_for(case))
            .due
            .to_string(),
        tlp: case.assessment.as_ref().map(|a| a.tlp.label().to_owned()),
        advisory_revision: case.advisory_revision(),
        allowed: embargo_core::allowed(case)
            .iter()
            .map(|k| k.name().to_owned())
            .collect(),
        version: case.version,
        status_url: None,
        failed_jobs: Vec::new(),
    }
}

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
    let known = state.store.projects().await?;
    let project = req.project.trim();
    if project != state.config.intake.default_project && !known.iter().any(|p| p.name == project) {
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
    let case = state.store.case(&receipt.case_id).await?;
    let mut shown = view(&state, &case);
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
}

/// `GET /api/v1/cases`: the cases the caller sees, what is due first, one
/// page at a time; the next page's address is in the `Link` header
/// (RFC 8288, `rel="next"`), absent on the last page.
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
    let (cases, next) = authz::visible_page(&state, &principal.0, query, |c| {
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
    })
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
    let events = authz::visible_events(&state, &access).await?;
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

pub(crate) async fn run_command(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
    Json(req): Json<CommandRequest>,
) -> Result<Json<CaseView>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    let command = to_command(&state, &access, req, state.clock.now()).await?;
    let case = authz::run(&state, &access, command).await?;
    Ok(Json(view(&state, &case)))
}

fn opt<T, E: std::fmt::Display>(
    v: Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, Failure> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| parse(&s).map_err(invalid))
        .transpose()
}

/// Stage two of the two-stage input handling: raw wire values become core values.
/// A command that makes something outside the log first (a built-in fork's
/// repository, GitHub's temporary fork) does so only when the caller may
/// run it now; anything else goes straight to the core.
pub(crate) async fn to_command(
    state: &AppState,
    access: &authz::CaseAccess,
    req: CommandRequest,
    now: jiff::Timestamp,
) -> Result<Command, Failure> {
    use CommandRequest as R;
    let case = access.case();
    Ok(match req {
        R::OpenPrivateFork { url, project, host } => {
            let host = match host.as_deref() {
                None | Some("elsewhere") => embargo_core::event::ForkHost::Elsewhere,
                Some("builtin") => embargo_core::event::ForkHost::Builtin,
                Some("github") => embargo_core::event::ForkHost::Github,
                Some(other) => {
                    return Err(invalid(format!(
                        "host `{other}` is not one of builtin, github, elsewhere"
                    )));
                }
            };
            let project = project.unwrap_or_else(|| case.report.project.clone());
            let url = match (host, url) {
                (embargo_core::event::ForkHost::Elsewhere, Some(url)) => url,
                (embargo_core::event::ForkHost::Elsewhere, None) => {
                    return Err(invalid("a fork elsewhere needs its url"));
                }
                (_, Some(_)) => {
                    return Err(invalid(format!(
                        "a {} fork is made here: leave out the url",
                        host.name()
                    )));
                }
                (
                    embargo_core::event::ForkHost::Builtin | embargo_core::event::ForkHost::Github,
                    None,
                ) => {
                    // Check first what the core would check, so nothing is
                    // made outside the log for a command that is refused.
                    let kind = embargo_core::CommandKind::OpenPrivateFork;
                    if !access.may(kind) {
                        return Err(Failure(ServiceError::Forbidden(format!(
                            "as {}, you cannot {kind} on this case",
                            access.standing().name()
                        ))));
                    }
                    if !embargo_core::allowed(case).contains(&kind) {
                        return Err(invalid(format!(
                            "cannot {kind}: the case is {} (only an accepted case before disclosure)",
                            case.stage().label()
                        )));
                    }
                    if let Some(mine) = case.part_of(access.caller_id())
                        && mine != project
                    {
                        return Err(Failure(ServiceError::Forbidden(format!(
                            "you are on {mine}'s team, not {project}'s"
                        ))));
                    }
                    if case.open_fork(&project).is_some() {
                        return Err(invalid(format!(
                            "a private fork of {project} is already open"
                        )));
                    }
                    if !case.named_projects().contains(&project.as_str()) {
                        return Err(invalid(format!("the case names no project `{project}`")));
                    }
                    if host == embargo_core::event::ForkHost::Builtin {
                        crate::forks::create(state, case, &project).await?
                    } else if project == case.report.project {
                        crate::release::github_fork(state, case).await?
                    } else {
                        return Err(invalid(
                            "GitHub's temporary forks belong to the reported project's repository advisory",
                        ));
                    }
                }
            };
            Command::OpenPrivateFork {
                url,
                project: Some(project),
                host,
            }
        }
        R::ProposeTimeline { disclose_at } => {
            let policy = state.config.timeline_policy();
            let latest = policy.latest(case);
            let disclose_at = match disclose_at {
                Some(s) => s
                    .parse()
                    .map_err(|e| invalid(format!("disclose_at `{s}`: {e}")))?,
                None => {
                    policy
                        .propose(case, series_of(state, case).await?, now)
                        .map_err(invalid)?
                        .disclose_at
                }
            };
            if disclose_at > latest {
                return Err(invalid(format!(
                    "{disclose_at} is past the policy's maximum embargo for this case ({latest}; [disclosure] max_embargo_days, longer for low severity)"
                )));
            }
            Command::ProposeTimeline { disclose_at }
        }
        R::ApproveAnnouncement { text } => Command::ApproveAnnouncement {
            text: match text {
                Some(t) => t,
                None => crate::release::announcement_preview(state, case).map_err(not_ready)?,
            },
        },
        R::WriteRetrospective { text } => Command::WriteRetrospective {
            text: match text {
                Some(t) => t,
                None => crate::release::draft_retrospective(state, case)
                    .await
                    .map_err(ServiceError::Internal)?,
            },
        },
        other => wire_command(other)?,
    })
}

/// How many supported series a case's timeline plans patch releases for:
/// the fixed versions its advisory names, or else the series configured
/// for its projects.
async fn series_of(state: &AppState, case: &embargo_core::Case) -> Result<usize, Failure> {
    let from_advisory = case
        .current_advisory()
        .map(|a| {
            case.exportable(a)
                .affected
                .iter()
                .map(|p| p.patched().len())
                .sum::<usize>()
        })
        .unwrap_or(0);
    if from_advisory > 0 {
        return Ok(from_advisory);
    }
    let named = case.named_projects();
    Ok(state
        .store
        .projects()
        .await?
        .iter()
        .filter(|p| named.contains(&p.name.as_str()))
        .map(|p| p.series.len())
        .sum::<usize>()
        .max(1))
}

/// The commands whose wire values become core values without anything
/// outside the log.
fn wire_command(req: CommandRequest) -> Result<Command, Failure> {
    use CommandRequest as R;
    let p = |s: &str| PersonId::new(s).map_err(invalid);
    Ok(match req {
        R::Acknowledge { message } => Command::Acknowledge { message },
        R::RequestInfo { question } => Command::RequestInfo { question },
        R::InfoReceived { note } => Command::InfoReceived { note },
        R::Triage {
            reproduced,
            notes,
            affected,
            cvss_v31,
            cvss_v40,
            cwe,
            tlp,
            projects,
        } => {
            let reproduced = match reproduced.as_str() {
                "yes" => Reproduction::Yes,
                "partly" => Reproduction::Partly,
                "no" => Reproduction::No,
                other => {
                    return Err(invalid(format!(
                        "reproduced must be yes, partly or no, not `{other}`"
                    )));
                }
            };
            let cvss_v31 = opt(cvss_v31, Cvss::parse)?;
            if cvss_v31
                .as_ref()
                .is_some_and(|c| c.version() == embargo_core::cvss::CvssVersion::V40)
            {
                return Err(invalid(
                    "cvss_v31 holds a CVSS:4.0 vector; put it in cvss_v40",
                ));
            }
            let cvss_v40 = opt(cvss_v40, Cvss::parse)?;
            if cvss_v40
                .as_ref()
                .is_some_and(|c| c.version() != embargo_core::cvss::CvssVersion::V40)
            {
                return Err(invalid("cvss_v40 must be a CVSS:4.0 vector"));
            }
            Command::Triage {
                assessment: Assessment {
                    reproduced,
                    notes,
                    affected: affected
                        .iter()
                        .map(|a| AffectedPackage::parse(a))
                        .collect::<Result<_, _>>()
                        .map_err(invalid)?,
                    cvss_v31,
                    cvss_v40,
                    cwe: opt(cwe, |s| s.parse::<embargo_core::Cwe>())?,
                    tlp: tlp.parse().map_err(invalid)?,
                    projects: projects
                        .iter()
                        .map(|p| embargo_core::event::ProjectImpact::parse(p))
                        .collect::<Result<_, _>>()
                        .map_err(invalid)?,
                },
            }
        }
        R::Reject {
            reason,
            duplicate_of,
            explanation,
        } => {
            let reason = match (reason.as_str(), duplicate_of) {
                ("duplicate", Some(other)) => RejectReason::DuplicateOf {
                    case: CaseId::new(other).map_err(invalid)?,
                },
                ("duplicate", None) => {
                    return Err(invalid("a duplicate names the other case in duplicate_of"));
                }
                ("not-a-vulnerability", _) => RejectReason::NotAVulnerability,
                ("out-of-scope", _) => RejectReason::OutOfScope,
                ("not-reproducible", _) => RejectReason::NotReproducible,
                ("spam", _) => RejectReason::Spam,
                (other, _) => {
                    return Err(invalid(format!(
                        "reason `{other}` is not one of duplicate, not-a-vulnerability, out-of-scope, not-reproducible, spam"
                    )));
                }
            };
            Command::Reject {
                rejection: Rejection {
                    reason,
                    explanation,
                },
            }
        }
        R::Revalidate { note } => Command::Revalidate { note },
        R::AssignFixingTeam {
            coordinator,
            fixers,
        } => Command::AssignFixingTeam {
            coordinator: p(&coordinator)?,
            fixers: fixers.iter().map(|f| p(f)).collect::<Result<_, _>>()?,
        },
        R::AddParticipant { person, role } => Command::AddParticipant {
            participant: Participant {
                person: p(&person)?,
                role: role.parse().map_err(invalid)?,
            },
        },
        R::RequestAddition {
            person,
            role,
            reason,
        } => Command::RequestAddition {
            participant: Participant {
                person: p(&person)?,
                role: role.parse().map_err(invalid)?,
            },
            reason,
        },
        R::ApproveAddition { request } => Command::ApproveAddition { request },
        R::DeclineAddition { request, reason } => Command::DeclineAddition { request, reason },
        R::AddNote { text, part } => Command::AddNote { text, part },
        R::MessageReporter { text } => Command::MessageReporter { text },
        R::Defer { reason } => Command::Defer { reason },
        R::Reopen { note } => Command::Reopen { note },
        R::AcceptTimeline => Command::AcceptTimeline,
        R::DeclineTimeline { reason } => Command::DeclineTimeline { reason },
        R::ReviseAdvisory {
            base_revision,
            advisory,
        } => Command::ReviseAdvisory {
            base_revision,
            draft: Box::new(advisory_from_wire(advisory).map_err(invalid)?),
        },
        R::SubmitAdvisory { revision } => Command::SubmitAdvisory { revision },
        R::ApproveAdvisory { revision } => Command::ApproveAdvisory { revision },
        R::RequestAdvisoryChanges { revision, comment } => {
            Command::RequestAdvisoryChanges { revision, comment }
        }
        R::AnswerCredit { accepted } => Command::AnswerCredit { accepted },
        R::RequestCve { via } => Command::RequestCve {
            via: match CveVia::parse(&via) {
                Some(v @ (CveVia::Github | CveVia::CveServices)) => v,
                _ => {
                    return Err(invalid(format!(
                        "via `{via}` is not one of github, cve_services (enter a CVE obtained elsewhere with assign_cve)"
                    )));
                }
            },
        },
        R::AssignCve { cve } => Command::AssignCve {
            cve: cve.parse().map_err(invalid)?,
            via: CveVia::Manual,
        },
        R::ClosePrivateFork { project } => Command::ClosePrivateFork { project },
        R::AssignProjectTeam { project, fixers } => Command::AssignProjectTeam {
            project,
            fixers: fixers.iter().map(|f| p(f)).collect::<Result<_, _>>()?,
        },
        R::OpenPrivateFork { .. }
        | R::ProposeTimeline { .. }
        | R::ApproveAnnouncement { .. }
        | R::WriteRetrospective { .. } => {
            return Err(Failure(ServiceError::Internal(
                "handled by to_command".into(),
            )));
        }
        R::MarkFixReady => Command::MarkFixReady,
        R::RecordFact { fact } => Command::RecordFact {
            fact: match fact.as_str() {
                "public_aware" => WorldFact::PublicAware,
                "exploit_public" => WorldFact::ExploitPublic,
                "attacks_seen" => WorldFact::AttacksSeen,
                other => {
                    return Err(invalid(format!(
                        "fact `{other}` is not one of public_aware, exploit_public, attacks_seen"
                    )));
                }
            },
        },
        R::CompleteReleaseStep {
            step,
            package,
            version,
        } => Command::CompleteReleaseStep {
            step: match (step.as_str(), package, version) {
                ("merge_fix", _, _) => ReleaseStep::MergeFix,
                ("patch_release", Some(package), Some(version)) => {
                    ReleaseStep::PatchRelease { package, version }
                }
                ("patch_release", _, _) => {
                    return Err(invalid("a patch_release names its package and version"));
                }
                ("publish_packages", _, _) => ReleaseStep::PublishPackages,
                ("send_announcement", _, _) => ReleaseStep::SendAnnouncement,
                (other, _, _) => {
                    return Err(invalid(format!(
                        "step `{other}` is not one of merge_fix, patch_release, publish_packages, send_announcement"
                    )));
                }
            },
        },
        R::Publish { without_fix } => Command::Publish {
            mode: if without_fix {
                PublishMode::WithoutFix
            } else {
                PublishMode::WithFix
            },
        },
        R::Close { note } => Command::Close { note },
    })
}

async fn case_and_events(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(Case, Vec<embargo_core::Event>), Failure> {
    let access = authz::open_case(state, &principal.0, id).await?;
    let events = authz::visible_events(state, &access)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    Ok((access.case().clone(), events))
}

fn not_ready(e: embargo_formats::FormatError) -> Failure {
    match e {
        embargo_formats::FormatError::NotReady(m) => Failure(ServiceError::Invalid(m)),
        other => Failure(ServiceError::Internal(other.to_string())),
    }
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
}

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

/// `GET /api/v1/cases/{id}/export/{format}`: the current draft as OSV, a
/// CVE record, CSAF or Markdown, for those who see the case (a preview:
/// public feeds carry only the approved revision of a disclosed case).
pub(crate) async fn export(
    State(state): State<Shared>,
    principal: Principal,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    let case = access.case();
    let Some(to) = embargo_formats::Format::parse(&format) else {
        return Err(Failure(ServiceError::NotFound));
    };
    let mut doc = embargo_formats::draft_document(case, state.clock.now()).ok_or_else(|| {
        Failure(ServiceError::Invalid(format!(
            "case {} has no advisory yet",
            case.id
        )))
    })?;
    if to == embargo_formats::Format::Osv {
        doc.id = Some(embargo_formats::case_osv_id(case));
    }
    let mut ctx = crate::exports::export_context(&state, None);
    ctx.tlp = if case.published_at.is_some() {
        embargo_core::tlp::Tlp::Clear
    } else {
        case.tlp()
    };
    let body = embargo_formats::export(&doc, to, &ctx).map_err(not_ready)?;
    Ok(text(
        if to == embargo_formats::Format::Markdown {
            "text/markdown; charset=utf-8"
        } else {
            "application/json"
        },
        body,
    ))
}

/// `GET /api/v1/cases/{id}/advisory`: the advisory, its review state and
/// every revision with its diff.
pub(crate) async fn get_advisory(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<embargo_api::AdvisoryView>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    Ok(Json(advisory_view(access.case())))
}

pub(crate) async fn invite_person(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<embargo_api::NewPerson>,
) -> Result<(StatusCode, Json<embargo_api::InvitationView>), Failure> {
    let admin = authz::admin(&principal.0)?;
    let id = PersonId::new(req.id.trim()).map_err(invalid)?;
    let role = req.role.parse().map_err(invalid)?;
    let inv =
        crate::accounts::invite(&state, admin.0.id(), &id, &req.name, &req.email, role).await?;
    Ok((
        StatusCode::CREATED,
        Json(embargo_api::InvitationView {
            id: id.to_string(),
            invitation_url: inv.url,
        }),
    ))
}

pub(crate) async fn list_people(
    State(state): State<Shared>,
    principal: Principal,
) -> Result<Json<Vec<embargo_api::PersonView>>, Failure> {
    authz::srt(&principal.0)?;
    let projects = state.store.projects().await?;
    Ok(Json(
        state
            .store
            .people()
            .await?
            .into_iter()
            .map(|p| embargo_api::PersonView {
                maintains: projects
                    .iter()
                    .filter(|pr| pr.maintainers.contains(&p.id))
                    .map(|pr| pr.name.clone())
                    .collect(),
                id: p.id.to_string(),
                name: p.name,
                role: p.role.name().to_owned(),
                active: p.password_hash.is_some(),
            })
            .collect(),
    ))
}

/// Checks a project's fields and that its maintainers have accounts.
pub(crate) async fn project_from_wire(
    state: &AppState,
    req: embargo_api::ProjectWire,
) -> Result<embargo_store::Project, Failure> {
    embargo_core::ids::required_text("project name", &req.name, 200).map_err(invalid)?;
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let packages = clean(req.packages);
    for p in &packages {
        let Some((eco, name)) = p.split_once(':') else {
            return Err(invalid(format!("package `{p}` is written Ecosystem:name")));
        };
        AffectedPackage::parse(&format!("{eco}:{name}:0..1")).map_err(invalid)?;
    }
    let mut maintainers = Vec::new();
    for m in clean(req.maintainers) {
        let id = PersonId::new(m.as_str()).map_err(invalid)?;
        if state.store.person(id.as_str()).await?.is_none() {
            return Err(invalid(format!("{id} has no account; invite them first")));
        }
        maintainers.push(id);
    }
    Ok(embargo_store::Project {
        name: req.name.trim().to_owned(),
        repositories: clean(req.repositories),
        packages,
        series: clean(req.series),
        maintainers,
    })
}

pub(crate) async fn put_project(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<embargo_api::ProjectWire>,
) -> Result<(StatusCode, Json<embargo_api::ProjectWire>), Failure> {
    authz::admin(&principal.0)?;
    let project = project_from_wire(&state, req).await?;
    state
        .store
        .put_project(&project, state.clock.unix())
        .await?;
    Ok((StatusCode::CREATED, Json(project_wire(project))))
}

fn project_wire(p: embargo_store::Project) -> embargo_api::ProjectWire {
    embargo_api::ProjectWire {
        name: p.name,
        repositories: p.repositories,
        packages: p.packages,
        series: p.series,
        maintainers: p.maintainers.iter().map(ToString::to_string).collect(),
    }
}

pub(crate) async fn list_projects(
    State(state): State<Shared>,
    _principal: Principal,
) -> Result<Json<Vec<embargo_api::ProjectWire>>, Failure> {
    Ok(Json(
        state
            .store
            .projects()
            .await?
            .into_iter()
            .map(project_wire)
            .collect(),
    ))
}

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

/// `GET /api/v1/channels`: the inventory with health (SRT).
pub(crate) async fn list_channels(
    State(state): State<Shared>,
    principal: Principal,
) -> Result<Json<Vec<embargo_api::ChannelWire>>, Failure> {
    authz::srt(&principal.0)?;
    Ok(Json(crate::channels::inventory(&state).await?))
}

/// `POST /api/v1/channels`: adds a channel (admins).
pub(crate) async fn add_channel(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<embargo_api::NewChannel>,
) -> Result<(StatusCode, Json<embargo_api::ChannelWire>), Failure> {
    authz::admin(&principal.0)?;
    Ok((
        StatusCode::CREATED,
        Json(crate::channels::add(&state, req).await?),
    ))
}

/// `POST /api/v1/channels/{name}/remove` (admins).
pub(crate) async fn remove_channel(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<StatusCode, Failure> {
    authz::admin(&principal.0)?;
    if state.store.remove_channel(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Failure(ServiceError::NotFound))
    }
}

/// `POST /api/v1/channels/{name}/check`: checks a channel now (SRT).
pub(crate) async fn check_channel(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<embargo_api::ChannelWire>, Failure> {
    authz::srt(&principal.0)?;
    Ok(Json(crate::channels::check(&state, &name).await?))
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

/// The advisory as typed into the API or the web form, checked into the
/// core's document (ranges, ids and vectors parsed; `validate` runs in
/// `decide`).
pub(crate) fn advisory_from_wire(w: embargo_api::AdvisoryWire) -> Result<Advisory, String> {
    let mut a = Advisory::new(w.summary, w.details);
    let blank = |s: Option<String>| s.filter(|t| !t.trim().is_empty());
    a.cve = blank(w.cve)
        .map(|c| c.trim().parse::<embargo_core::CveId>())
        .transpose()
        .map_err(|e| e.to_string())?;
    a.ghsa = blank(w.ghsa).map(|g| g.trim().to_owned());
    a.aliases = w
        .aliases
        .into_iter()
        .filter(|x| !x.trim().is_empty())
        .collect();
    a.impact = blank(w.impact);
    a.mitigation = blank(w.mitigation);
    a.upgrade = blank(w.upgrade);
    a.confidential = blank(w.confidential);
    for p in w.affected {
        let ecosystem =
            embargo_core::affected::Ecosystem::try_from(p.ecosystem).map_err(|e| e.to_string())?;
        let kind = RangeKind::for_ecosystem(&ecosystem);
        let repo = (kind == RangeKind::Git).then(|| p.name.clone());
        let ranges = p
            .ranges
            .iter()
            .filter(|r| !r.trim().is_empty())
            .map(|r| Range::parse(kind, repo.clone(), r.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", p.name))?;
        a.affected.push(Package {
            ecosystem,
            name: p.name,
            purl: blank(p.purl),
            ranges,
            versions: p.versions,
            ecosystem_specific: None,
            database_specific: None,
            empty_lists: Vec::new(),
        });
    }
    a.references = w
        .references
        .into_iter()
        .map(|r| Reference {
            kind: r.kind.trim().to_ascii_uppercase(),
            url: r.url.trim().to_owned(),
        })
        .collect();
    a.cwes = w
        .cwes
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().parse::<embargo_core::Cwe>())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    a.cvss = w
        .cvss
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| Cvss::parse(c))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    for c in w.credits {
        let holder = match c.holder.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("reporter") => Some(CreditHolder::Reporter),
            Some(id) => Some(CreditHolder::Person(
                PersonId::new(id).map_err(|e| e.to_string())?,
            )),
        };
        a.credits.push(Credit {
            name: c.name,
            kind: c
                .kind
                .filter(|k| !k.trim().is_empty())
                .map(|k| k.trim().to_ascii_uppercase()),
            contact: c.contact,
            holder,
        });
    }
    Ok(a)
}

/// The core's document as the API shows it, with credit answers from the case.
pub(crate) fn advisory_to_wire(a: &Advisory, case: &Case) -> embargo_api::AdvisoryWire {
    embargo_api::AdvisoryWire {
        summary: a.summary.clone(),
        details: a.details.clone(),
        cve: a.cve.as_ref().map(ToString::to_string),
        ghsa: a.ghsa.clone(),
        aliases: a.aliases.clone(),
        impact: a.impact.clone(),
        affected: a
            .affected
            .iter()
            .map(|p| embargo_api::AffectedWire {
                ecosystem: p.ecosystem.to_string(),
                name: p.name.clone(),
                ranges: p.compact_ranges(),
                versions: p.versions.clone(),
                purl: p.purl.clone(),
            })
            .collect(),
        mitigation: a.mitigation.clone(),
        upgrade: a.upgrade.clone(),
        references: a
            .references
            .iter()
            .map(|r| embargo_api::ReferenceWire {
                kind: r.kind.clone(),
                url: r.url.clone(),
            })
            .collect(),
        cwes: a.cwes.iter().map(ToString::to_string).collect(),
        cvss: a.cvss.iter().map(|c| c.vector().to_owned()).collect(),
        credits: a
            .credits
            .iter()
            .map(|c| embargo_api::CreditWire {
                name: c.name.clone(),
                kind: c.kind.clone(),
                contact: c.contact.clone(),
                holder: c.holder.as_ref().map(|h| match h {
                    CreditHolder::Reporter => "reporter".to_owned(),
                    CreditHolder::Person(p) => p.to_string(),
                }),
                accepted: c.holder.as_ref().and_then(|h| case.credit_answer(h)),
            })
            .collect(),
        confidential: a.confidential.clone(),
    }
}

/// The case's advisory with every revision and its diff.
pub(crate) fn advisory_view(case: &Case) -> embargo_api::AdvisoryView {
    let mut revisions = Vec::new();
    let empty = Advisory::new("", "");
    let mut previous = &empty;
    for r in &case.advisory {
        let changes = embargo_core::advisory::diff(previous, &r.draft)
            .into_iter()
            .map(|c| {
                (
                    c.field.to_owned(),
                    c.lines.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        revisions.push(embargo_api::RevisionWire {
            revision: r.revision,
            author: r.author.to_string(),
            at: r.at.to_string(),
            changes,
        });
        previous = &r.draft;
    }
    embargo_api::AdvisoryView {
        revision: case.advisory_revision(),
        review: case.review.name().to_owned(),
        approved_revision: case.approved_revision,
        advisory: case.current_advisory().map(|a| advisory_to_wire(a, case)),
        revisions,
        cve: case
            .cve
            .assigned
            .as_ref()
            .map(|(c, via)| format!("{c} ({})", via.name())),
        cve_failure: case
            .cve
            .failure
            .as_ref()
            .map(|(via, why)| format!("{}: {why}", via.name())),
    }
}
