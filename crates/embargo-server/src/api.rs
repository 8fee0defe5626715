//! The JSON API for cases: wire requests validated into core commands, run
//! through the store's writer, and errors mapped to HTTP in one place.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use embargo_api::{ApiError, CaseView, CommandRequest, EventView, NewReport};
use embargo_core::{
    Case, CaseId, Command, PersonId, PublishMode, Refusal, WorldFact,
    advisory::{AdvisoryDraft, Credit, Reference},
    affected::AffectedPackage,
    cvss::Cvss,
    event::{Assessment, Channel, RejectReason, Rejection, ReleaseStep, Report, Reproduction},
    participant::Participant,
};
use embargo_store::StoreError;
use rand::RngCore;

use crate::{AppState, router::Principal};

type Shared = Arc<AppState>;

/// Every way an API call fails; mapped to HTTP in `into_response` only.
#[derive(Debug)]
pub(crate) enum Failure {
    NotFound,
    Invalid(String),
    Refused(Refusal),
    Internal(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchCase(_) => Failure::NotFound,
            StoreError::Refused(r) => Failure::Refused(r),
            other => Failure::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Failure::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such case".to_owned(),
            ),
            Failure::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", m),
            Failure::Refused(r @ Refusal::NotAllowedNow { .. }) => {
                (StatusCode::CONFLICT, "not_allowed_now", r.to_string())
            }
            Failure::Refused(r @ Refusal::Conflict { .. }) => {
                (StatusCode::CONFLICT, "conflict", r.to_string())
            }
            Failure::Refused(r @ Refusal::Invalid { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                r.to_string(),
            ),
            Failure::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log".to_owned(),
                )
            }
        };
        (
            status,
            Json(ApiError {
                code: code.into(),
                message,
            }),
        )
            .into_response()
    }
}

fn invalid(e: impl std::fmt::Display) -> Failure {
    Failure::Invalid(e.to_string())
}

fn person(p: &Principal) -> Result<PersonId, Failure> {
    PersonId::new(p.person.as_str()).map_err(|e| Failure::Internal(e.to_string()))
}

fn parse_case_id(id: &str) -> Result<CaseId, Failure> {
    // A malformed id names no case the caller may see: 404, like any other.
    CaseId::new(id).map_err(|_| Failure::NotFound)
}

fn view(state: &AppState, case: &Case) -> CaseView {
    let policy = state.config.ack_policy();
    CaseView {
        id: case.id.to_string(),
        project: case.report.project.clone(),
        title: case.report.title.clone(),
        stage: case.stage().label().to_owned(),
        handling: case.handling.name().to_owned(),
        embargo: case.embargo.name().to_owned(),
        disclose_at: case.embargo.agreed_until().map(|t| t.to_string()),
        received_at: case.received_at.to_string(),
        ack_due: case.ack_clock(policy).due.to_string(),
        tlp: case.assessment.as_ref().map(|a| a.tlp.label().to_owned()),
        advisory_revision: case.advisory_revision(),
        allowed: embargo_core::allowed(case)
            .iter()
            .map(|k| k.name().to_owned())
            .collect(),
        version: case.version,
    }
}

pub(crate) async fn create_case(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<NewReport>,
) -> Result<(StatusCode, Json<CaseView>), Failure> {
    let actor = person(&principal)?;
    let name = req.channel.as_deref().unwrap_or("api");
    let channel = Channel::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            invalid(format!(
                "unknown channel `{name}` (api, web, email, github, forum, bounty, other)"
            ))
        })?;
    let report = Report {
        project: req.project,
        title: req.title,
        body: req.body,
        reporter_name: req.reporter_name,
        reporter_email: req.reporter_email,
        channel,
    };
    let now = state.clock.now();
    let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
    for _ in 0..3 {
        let id = CaseId::from_parts(year, rand::rngs::OsRng.next_u32() & 0x3FFF_FFFF);
        let (r, a) = (report.clone(), actor.clone());
        match state
            .store
            .create(id, move || embargo_core::decide_new(r, &a, now))
            .await
        {
            Ok(case) => return Ok((StatusCode::CREATED, Json(view(&state, &case)))),
            Err(StoreError::CaseExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Failure::Internal("could not draw a free case id".into()))
}

pub(crate) async fn list_cases(
    State(state): State<Shared>,
    _principal: Principal,
) -> Result<Json<Vec<CaseView>>, Failure> {
    let mut out = Vec::new();
    for row in state.store.projection().await? {
        let Some(id) = row.first() else { continue };
        let case = state.store.case(&parse_case_id(id)?).await?;
        out.push(view(&state, &case));
    }
    Ok(Json(out))
}

pub(crate) async fn get_case(
    State(state): State<Shared>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, Failure> {
    let case = state.store.case(&parse_case_id(&id)?).await?;
    Ok(Json(view(&state, &case)))
}

pub(crate) async fn case_events(
    State(state): State<Shared>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<EventView>>, Failure> {
    let id = parse_case_id(&id)?;
    let events = state.store.events(&id).await?;
    if events.is_empty() {
        return Err(Failure::NotFound);
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
                    .map_err(|e| Failure::Internal(e.to_string()))?,
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
    let id = parse_case_id(&id)?;
    let actor = person(&principal)?;
    let now = state.clock.now();
    let command = to_command(&state, req, now)?;
    let case = state
        .store
        .execute(id, move |case| {
            embargo_core::decide(case, command, &actor, now)
        })
        .await?;
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
fn to_command(
    state: &AppState,
    req: CommandRequest,
    now: jiff::Timestamp,
) -> Result<Command, Failure> {
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
        R::Defer { reason } => Command::Defer { reason },
        R::Reopen { note } => Command::Reopen { note },
        R::ProposeTimeline { disclose_at } => {
            let disclose_at = match disclose_at {
                Some(s) => s
                    .parse()
                    .map_err(|e| invalid(format!("disclose_at `{s}`: {e}")))?,
                None => {
                    let d = &state.config.disclosure;
                    let rule = state.config.disclosure_rule();
                    let after = now
                        .saturating_add(jiff::SignedDuration::from_hours(
                            i64::from(d.default_lead_days) * 24,
                        ))
                        .map_err(invalid)?;
                    rule.next_slot(after).map_err(invalid)?
                }
            };
            Command::ProposeTimeline { disclose_at }
        }
        R::AcceptTimeline => Command::AcceptTimeline,
        R::DeclineTimeline { reason } => Command::DeclineTimeline { reason },
        R::ReviseAdvisory {
            base_revision,
            summary,
            details,
            cve,
            mitigation,
            upgrade,
            references,
            credits,
        } => Command::ReviseAdvisory {
            base_revision,
            draft: AdvisoryDraft {
                summary,
                details,
                cve: opt(cve, |s| s.parse::<embargo_core::CveId>())?,
                mitigation,
                upgrade,
                references: references
                    .into_iter()
                    .map(|r| Reference {
                        kind: r.kind,
                        url: r.url,
                    })
                    .collect(),
                credits: credits
                    .into_iter()
                    .map(|c| Credit {
                        name: c.name,
                        kind: c.kind,
                    })
                    .collect(),
            },
        },
        R::OpenPrivateFork { url } => Command::OpenPrivateFork { url },
        R::ClosePrivateFork => Command::ClosePrivateFork,
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
    id: &str,
) -> Result<(Case, Vec<embargo_core::Event>), Failure> {
    let id = parse_case_id(id)?;
    let case = state.store.case(&id).await?;
    let events = state
        .store
        .events(&id)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    Ok((case, events))
}

fn not_ready(e: embargo_formats::FormatError) -> Failure {
    match e {
        embargo_formats::FormatError::NotReady(m) => Failure::Invalid(m),
        other => Failure::Internal(other.to_string()),
    }
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
}

pub(crate) async fn announcement(
    State(state): State<Shared>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (case, _) = case_and_events(&state, &id).await?;
    let body = embargo_formats::announcement::render(
        &case,
        embargo_formats::announcement::DEFAULT_TEMPLATE,
    )
    .map_err(not_ready)?;
    Ok(text("text/plain; charset=utf-8", body))
}

pub(crate) async fn retrospective(
    State(state): State<Shared>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let (case, events) = case_and_events(&state, &id).await?;
    let policy = state.config.ack_policy();
    Ok(text(
        "text/markdown; charset=utf-8",
        embargo_formats::retrospective::render(&case, &events, policy),
    ))
}

pub(crate) async fn export_osv(
    State(state): State<Shared>,
    _principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, Failure> {
    let (case, events) = case_and_events(&state, &id).await?;
    // `modified` is the time of the case's latest event, so repeated exports are identical.
    let modified = events.last().map_or(case.received_at, |e| e.at);
    Ok(Json(
        embargo_formats::osv::to_osv(&case, modified).map_err(not_ready)?,
    ))
}
