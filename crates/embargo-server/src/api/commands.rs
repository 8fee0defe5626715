//! Commands: the one wire → core conversion (`to_command`, which the web's
//! forms use too) and `POST /api/v1/cases/{id}/commands`.

use super::*;

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

pub(crate) fn opt<T, E: std::fmt::Display>(
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
            let url = match (host, url) {
                (embargo_core::event::ForkHost::Elsewhere, Some(url)) => Some(url),
                (embargo_core::event::ForkHost::Elsewhere, None) => {
                    return Err(invalid("a fork elsewhere needs its url"));
                }
                (_, Some(_)) => {
                    return Err(invalid(format!(
                        "a {} fork is made here: leave out the url",
                        host.name()
                    )));
                }
                // Made here: the command records the request, and a job
                // makes the fork once the request is in the log (nothing is
                // made for a command that is refused).
                (_, None) => None,
            };
            Command::OpenPrivateFork {
                url,
                project: Some(project.unwrap_or_else(|| case.report.project.clone())),
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
pub(crate) async fn series_of(
    state: &AppState,
    case: &embargo_core::Case,
) -> Result<usize, Failure> {
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
pub(crate) fn wire_command(req: CommandRequest) -> Result<Command, Failure> {
    use CommandRequest as R;
    let p = |s: &str| PersonId::new(s).map_err(invalid);
    Ok(match req {
        R::PassScreening { note } => Command::PassScreening { note },
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
        R::AnswerCredit { accepted, name } => Command::AnswerCredit { accepted, name },
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
        R::Publish {
            without_fix,
            reason,
        } => Command::Publish {
            mode: if without_fix {
                PublishMode::WithoutFix
            } else {
                PublishMode::WithFix
            },
            reason: reason
                .map(|r| embargo_core::text::multi_line(&r))
                .filter(|r| !r.trim().is_empty()),
        },
        R::Close { note } => Command::Close { note },
    })
}
