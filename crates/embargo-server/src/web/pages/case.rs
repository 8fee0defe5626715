//! The case page and its actions: every form posts a command through
//! `api::to_command` and `authz::run`.

use super::*;

#[derive(Serialize)]
pub(crate) struct EventRow {
    at: String,
    actor: String,
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
pub(crate) struct PersonOption {
    id: String,
    name: String,
    hint: String,
}

/// Canned acknowledgements (SPEC-11: answer within 24 hours).
pub(crate) const CANNED: &[(&str, &str)] = &[
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

/// A moment as people read it: `2 Dec 2026, 16:00 UTC`.
pub(crate) fn when(t: jiff::Timestamp) -> String {
    t.strftime("%-d %b %Y, %H:%M UTC").to_string()
}

/// A moment with how far it is from `now`: `2 Dec 2026, 16:00 UTC, in 3
/// days` (or `3 days ago`).
pub(crate) fn when_from(t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let secs = t.as_second() - now.as_second();
    let span = secs.unsigned_abs();
    let amount = if span < 3_600 {
        let m = span / 60;
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    } else if span < 2 * 86_400 {
        let h = span / 3_600;
        format!("{h} hour{}", if h == 1 { "" } else { "s" })
    } else {
        let d = span / 86_400;
        format!("{d} days")
    };
    if span < 60 {
        format!("{}, now", when(t))
    } else if secs > 0 {
        format!("{}, in {amount}", when(t))
    } else {
        format!("{}, {amount} ago", when(t))
    }
}

/// What an event is, in words, for the timeline.
pub(crate) fn event_name(data: &EventData) -> &'static str {
    match data {
        EventData::ReportReceived { .. } => "Report received",
        EventData::ScreeningHeld { .. } => "Held for screening",
        EventData::ScreeningPassed { .. } => "Passed screening",
        EventData::Acknowledged { .. } => "Acknowledged",
        EventData::ReporterWrote { .. } => "The reporter wrote",
        EventData::ReporterMessaged { .. } => "Message to the reporter",
        EventData::InfoRequested { .. } => "Asked the reporter for more",
        EventData::InfoReceived { .. } => "Answer from the reporter",
        EventData::Triaged { .. } => "Triage recorded",
        EventData::Rejected { .. } => "Rejected",
        EventData::Revalidated { .. } => "Taken up again",
        EventData::FixingTeamAssigned { .. } => "Fixing team assigned",
        EventData::ParticipantAdded { .. } => "Person added",
        EventData::AdditionRequested { .. } => "Asked to add someone",
        EventData::AdditionApproved { .. } => "Addition approved",
        EventData::AdditionDeclined { .. } => "Addition declined",
        EventData::NoteAdded { .. } => "Internal note",
        EventData::Deferred { .. } => "Deferred",
        EventData::Reopened { .. } => "Reopened",
        EventData::TimelineProposed { .. } => "Disclosure moment proposed",
        EventData::TimelineAccepted => "Disclosure moment agreed",
        EventData::TimelineDeclined { .. } => "Disclosure moment declined",
        EventData::EmbargoExited { .. } => "Embargo ended",
        EventData::EmbargoLifted { .. } => "Embargo lifted early",
        EventData::AdvisoryRevised { .. } => "Advisory revised",
        EventData::AdvisorySubmitted { .. } => "Advisory submitted for review",
        EventData::AdvisoryApproved { .. } => "Advisory approved",
        EventData::AdvisoryChangesRequested { .. } => "Advisory sent back",
        EventData::CreditAnswered { .. } => "Credit answered",
        EventData::RetestAnswered { .. } => "Reporter retested the fix",
        EventData::CveRequested { .. } => "CVE requested",
        EventData::CveAssigned { .. } => "CVE assigned",
        EventData::CveFailed { .. } => "CVE request failed",
        EventData::CveRecordPublished { .. } => "CVE record published",
        EventData::SignatureVerified { .. } => "Signature verified",
        EventData::ForkOpened { .. } => "Private fork opened",
        EventData::ForkRequested { .. } => "Private fork asked for",
        EventData::ForkFailed { .. } => "Private fork failed",
        EventData::ForkClosed { .. } => "Private fork removed",
        EventData::ProjectTeamAssigned { .. } => "Project team named",
        EventData::CiReported { .. } => "CI ran",
        EventData::AnnouncementApproved { .. } => "Announcement approved",
        EventData::AnnouncementSent { .. } => "Announcement sent",
        EventData::EmbargoNoticeSent { .. } => "Distributor told",
        EventData::RetrospectiveWritten { .. } => "Retrospective written",
        EventData::FactRecorded { .. } => "Fact recorded",
        EventData::ReleaseStepCompleted { .. } => "Release step done",
        EventData::Published => "Published",
        EventData::Closed { .. } => "Closed",
    }
}

pub(crate) fn event_text(data: &EventData) -> String {
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
        EventData::ScreeningHeld { reasons } => reasons.join("; "),
        EventData::ScreeningPassed { note } => note.clone(),
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

pub(crate) fn notes(events: &[embargo_core::Event]) -> Vec<minijinja::Value> {
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

pub(crate) async fn case_view(
    state: &AppState,
    who: &SignedIn,
    access: &CaseAccess,
    said: Said,
) -> Result<Response, WebError> {
    let case = access.case();
    let standing = access.standing();
    let events: Vec<_> = authz::visible_events(access)
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
    let projects = access.organisation_projects();
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
            // Only those the case's TLP label admits are offered.
            .filter(|p| {
                let member = embargo_core::access::Member {
                    id: p.id.clone(),
                    role: p.role,
                    maintains: projects
                        .iter()
                        .filter(|pr| pr.maintainers.contains(&p.id))
                        .map(|pr| pr.name.clone())
                        .collect(),
                };
                let scope = embargo_core::access::Scope {
                    case,
                    projects: access.projects(),
                };
                embargo_core::access::may_join(scope, &member).is_ok()
            })
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
    // The sender's other reports, for the SRT (it names cases by id).
    let earlier = if who.caller.is_srt() {
        crate::api::history_views(crate::screening::history(state, access).await?)
    } else {
        Vec::new()
    };
    let history_rejected = earlier
        .iter()
        .filter(|h| h.rejected.as_deref().is_some_and(|r| r != "duplicate"))
        .count();
    let history: Vec<minijinja::Value> = earlier
        .into_iter()
        .map(|h| {
            context! {
                case => h.case,
                received => h.received_at.get(..10).unwrap_or("").to_owned(),
                stage => h.stage,
                rejected => h.rejected,
            }
        })
        .collect();
    // Duplicate hints for those who triage: open cases the caller can see
    // with a similar title or a common affected package.
    let duplicates: Vec<minijinja::Value> = if matches!(
        standing,
        Standing::Srt | Standing::Coordinator
    ) && case.rejection.is_none()
    {
        // The hints stored when either case's terms last changed
        // (`hints::pass`), of those the caller may see, checked again
        // against what the other case is now: opening a case reads no
        // case but these.
        let stored = state.store.hints(&case.id, crate::hints::KEPT).await?;
        let visible = authz::visible_by_id(state, &who.caller, projects, stored).await?;
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
    // What publishing now means: at or after the agreed moment it is the
    // planned disclosure; before it (or with none agreed), lifting the
    // embargo, which needs a reason.
    let moment = case.embargo.agreed_until();
    let publish = can(CommandKind::Publish).then(|| {
        context! {
            lift => moment.is_none_or(|m| m > now),
            moment => moment.map(|m| when_from(m, now)),
            fix_released => case.facts.fix_released.is_some(),
            approved => case.approved_revision.is_some(),
        }
    });
    let announce = if can(CommandKind::ApproveAnnouncement) {
        Some(context! {
            lists => crate::release::announce_lists(state, case).await.map_err(Failure::from)?,
            mail_on => state.config.smtp.host.is_some(),
        })
    } else {
        None
    };
    let advisory = lens
        .sees_release()
        .then(|| super::advisory::context(case, &who.caller.member.id, &can));
    let ctx = context! {
        advisory => advisory,
        publish => publish,
        announce => announce,
        retest => case.retest.as_ref().map(|(fixed, note, at)| context! {
            fixed => fixed,
            html => markdown::render(note),
            at => when(*at),
        }),
        lifted => case.lifted.as_ref().map(|(reason, by, at)| context! {
            reason => reason, by => by.as_str(), at => when(*at),
        }),
        next => next_steps(case, &who.caller.member.id, &can),
        // Who ticked each release-day step, and when.
        ticked => events.iter().filter_map(|e| match &e.data {
            EventData::ReleaseStepCompleted { step } => Some(context! {
                step => match step {
                    embargo_core::event::ReleaseStep::MergeFix => "the fix merged upstream".to_owned(),
                    embargo_core::event::ReleaseStep::PatchRelease { package, version } => format!("{package} {version} released"),
                    embargo_core::event::ReleaseStep::PublishPackages => "binaries and packages published".to_owned(),
                    embargo_core::event::ReleaseStep::SendAnnouncement => "the announcement sent".to_owned(),
                },
                by => e.actor.as_str(),
                at => when(e.at),
            }),
            _ => None,
        }).collect::<Vec<_>>(),
        moment_from => case.embargo.agreed_until().or_else(|| case.embargo.proposed()).filter(|_| case.published_at.is_none()).map(|m| when_from(m, now)),
        failed_jobs => ser(failed_jobs),
        me => ser(me(who)),
        release => release,
        // The draft as the lists get it: plain text under its subject.
        announcement_plain => (!announcement_draft.is_empty()).then(|| {
            let (subject, body) = embargo_formats::announcement::split(&announcement_draft);
            format!("Subject: {subject}\n\n{}", embargo_formats::announcement::plain_text(body))
        }),
        announcement_draft => announcement_draft,
        // Open built-in forks of the caller's part: a credential form each.
        builtin_forks => case.forks.iter()
            .filter(|f| f.closed_at.is_none() && f.host == embargo_core::event::ForkHost::Builtin)
            .filter(|f| access.part().is_none_or(|p| p == f.project) && lens.sees_release())
            .map(|f| f.project.clone())
            .collect::<Vec<_>>(),
        // Forks asked for and not made yet, and those that could not be
        // made (the case's lens already keeps only the caller's part).
        fork_requests => case.fork_requests.iter()
            .map(|(p, h, at)| context! { project => p, host => h.name(), at => at.strftime("%Y-%m-%d %H:%M UTC").to_string() })
            .collect::<Vec<_>>(),
        fork_failures => case.fork_failures.iter().rev().take(3)
            .map(|(p, why, at)| context! { project => p, reason => why, at => at.strftime("%Y-%m-%d %H:%M UTC").to_string() })
            .collect::<Vec<_>>(),
        retrospective_draft => retrospective_draft,
        error => match &said { Said::Refused { message, .. } => Some(message.clone()), _ => None },
        failed => match &said { Said::Refused { command, .. } => Some(command.clone()), _ => None },
        done => match &said { Said::Done(kind) => Some(done_text(kind)), _ => None },
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
        history => history,
        history_rejected => history_rejected,
        screening => case.screening.clone(),
        screening_answers => crate::screening::canned().into_iter()
            .map(|a| context! { name => a.name, label => a.label })
            .collect::<Vec<_>>(),
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
            at: when(e.at),
            actor: e.actor.to_string(),
            kind: event_name(&e.data),
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

/// The one or two things the case needs next, for the caller: the page
/// puts these first. Each is the id of a form on the page and what it
/// does.
fn next_steps(
    case: &Case,
    me: &PersonId,
    can: &dyn Fn(CommandKind) -> bool,
) -> Vec<minijinja::Value> {
    use CommandKind as K;
    let step = |form: &str, text: &str| context! { form => form, text => text };
    // `can` holds the stage's rules (a submission needs a draft, a review
    // one in review); the checks here only pick what matters first.
    let candidates: [(bool, &str, &str); 14] = [
        (
            can(K::Acknowledge),
            "acknowledge",
            "Acknowledge the report (the 24-hour promise)",
        ),
        (
            can(K::Triage) && case.assessment.is_none(),
            "triage",
            "Triage: reproduce, score, set the TLP",
        ),
        (
            can(K::AssignFixingTeam),
            "assign",
            "Assign a coordinator and the fixing team",
        ),
        (
            can(K::ProposeTimeline) && case.embargo == embargo_core::Embargo::None,
            "propose-timeline",
            "Propose the disclosure moment",
        ),
        (
            can(K::AcceptTimeline),
            "accept-timeline",
            "Agree the proposed disclosure moment",
        ),
        (
            can(K::OpenPrivateFork) && case.forks.is_empty() && case.fork_requests.is_empty(),
            "open-fork",
            "Open a private fork for the fix",
        ),
        (
            can(K::ReviseAdvisory) && case.advisory.is_empty(),
            "revise-advisory",
            "Write the advisory",
        ),
        (
            can(K::SubmitAdvisory),
            "submit-advisory",
            "Submit the advisory for review",
        ),
        (
            // Not for the revision's author, who may not approve it.
            can(K::ApproveAdvisory) && case.advisory.last().is_some_and(|r| &r.author != me),
            "review-advisory",
            "Review the advisory",
        ),
        (
            can(K::MarkFixReady),
            "mark-fix-ready",
            "Mark the fix ready (the reporter is asked to retest)",
        ),
        (
            can(K::RequestCve) && case.cve.assigned.is_none() && case.cve.requests.is_empty(),
            "cve",
            "Request or enter the CVE",
        ),
        (
            can(K::CompleteReleaseStep) && case.published_at.is_none(),
            "release-step",
            "Tick the release-day checklist",
        ),
        (
            can(K::Publish) && case.approved_revision.is_some(),
            "publish",
            "Publish the advisory",
        ),
        (
            can(K::Close),
            "close",
            "Write the retrospective and close the case",
        ),
    ];
    candidates
        .into_iter()
        .filter(|(ok, _, _)| *ok)
        .take(2)
        .map(|(_, form, text)| step(form, text))
        .collect()
}

/// What the case page answers to the caller's last action.
pub(crate) enum Said {
    /// Nothing: the page opened.
    Nothing,
    /// The command went through (its name).
    Done(String),
    /// The command was refused, with why (shown next to its form).
    Refused { command: String, message: String },
}

/// The confirmation after a command, in words.
fn done_text(command: &str) -> String {
    let what = match command {
        "acknowledge" => "Acknowledged: the reporter has the answer",
        "request_info" => "Question sent to the reporter",
        "triage" => "Triage recorded",
        "reject" => "Rejected: the reporter is told",
        "assign_fixing_team" => "The fixing team is assigned",
        "add_participant" => "Added to the case",
        "request_addition" => "Request sent to the SRT",
        "approve_addition" => "Addition approved",
        "decline_addition" => "Addition declined",
        "add_note" => "Note added",
        "message_reporter" => "Message sent to the reporter",
        "propose_timeline" => "Disclosure moment proposed",
        "accept_timeline" => "Disclosure moment agreed",
        "decline_timeline" => "Disclosure moment declined",
        "open_private_fork" => "Private fork asked for",
        "close_private_fork" => "Private fork recorded as removed",
        "assign_project_team" => "Project team named",
        "revise_advisory" => "Advisory revision saved",
        "submit_advisory" => "Advisory submitted for review",
        "approve_advisory" => "Advisory approved",
        "request_advisory_changes" => "Advisory sent back to its author",
        "request_cve" => "CVE requested: the answer appears here",
        "assign_cve" => "CVE recorded",
        "mark_fix_ready" => "Fix marked ready: the reporter is asked to retest",
        "complete_release_step" => "Checklist step ticked",
        "approve_announcement" => "Announcement approved",
        "publish" => "Published: the advisory is public",
        "write_retrospective" => "Retrospective kept",
        "close" => "Case closed",
        _ => "Done",
    };
    format!("{what}.")
}

#[derive(Deserialize)]
pub(crate) struct CaseQuery {
    #[serde(default)]
    done: Option<String>,
}

pub(crate) async fn case_page(
    State(state): State<Shared>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Result<Response, WebError> {
    let access = authz::open_case(&state, &who.caller, &id).await?;
    let said = match q.done {
        Some(kind) if WEB_COMMANDS.iter().any(|k| k.name() == kind) => Said::Done(kind),
        _ => Said::Nothing,
    };
    case_view(&state, &who, &access, said).await
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
    // The advisory form and review.
    base_revision: u32,
    revision: u32,
    comment: String,
    summary: String,
    details: String,
    impact: String,
    cwes: String,
    cvss: String,
    references: String,
    credits: String,
    mitigation: String,
    upgrade: String,
    confidential: String,
    // The CVE, release day, publication.
    via: String,
    cve: String,
    step: String,
    package: String,
    version: String,
    mode: String,
}

pub(crate) fn person_id(s: &str) -> Result<PersonId, Failure> {
    PersonId::new(s.trim()).map_err(|e| Failure(ServiceError::Invalid(e.0)))
}

/// Turns the form for `command` into the API's wire request, so that the
/// web and the JSON API share one conversion into core commands
/// (`api::to_command`).
pub(crate) fn command_from(name: &str, f: ActionForm) -> Result<CommandRequest, Failure> {
    use CommandRequest as R;
    let kind = WEB_COMMANDS
        .iter()
        .find(|k| k.name() == name)
        .ok_or(Failure(ServiceError::NotFound))?;
    let given = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(match kind {
        CommandKind::PassScreening => R::PassScreening { note: f.message },
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
        CommandKind::ReviseAdvisory => R::ReviseAdvisory {
            base_revision: f.base_revision,
            advisory: super::advisory::wire(super::advisory::AdvisoryText {
                summary: f.summary,
                details: f.details,
                impact: f.impact,
                affected: f.affected,
                cwes: f.cwes,
                cvss: f.cvss,
                references: f.references,
                credits: f.credits,
                mitigation: f.mitigation,
                upgrade: f.upgrade,
                confidential: f.confidential,
            })
            .map_err(|e| Failure(ServiceError::Invalid(e)))?,
        },
        CommandKind::SubmitAdvisory => R::SubmitAdvisory {
            revision: f.revision,
        },
        CommandKind::ApproveAdvisory => R::ApproveAdvisory {
            revision: f.revision,
        },
        CommandKind::RequestAdvisoryChanges => R::RequestAdvisoryChanges {
            revision: f.revision,
            comment: f.comment,
        },
        CommandKind::RequestCve => R::RequestCve { via: f.via },
        CommandKind::AssignCve => R::AssignCve {
            cve: f.cve.trim().to_owned(),
        },
        CommandKind::CompleteReleaseStep => R::CompleteReleaseStep {
            step: f.step,
            package: given(f.package),
            version: given(f.version),
        },
        CommandKind::Publish => R::Publish {
            without_fix: f.mode == "without_fix",
            reason: given(f.reason),
        },
        CommandKind::ClosePrivateFork => R::ClosePrivateFork {
            project: given(f.project),
        },
        // The rest are recorded by embargo itself, or by the reporter.
        _ => return Err(Failure(ServiceError::NotFound)),
    })
}

/// The web commands: the route table test walks this list.
pub(crate) const WEB_COMMANDS: &[CommandKind] = &[
    CommandKind::PassScreening,
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
    CommandKind::ReviseAdvisory,
    CommandKind::SubmitAdvisory,
    CommandKind::ApproveAdvisory,
    CommandKind::RequestAdvisoryChanges,
    CommandKind::RequestCve,
    CommandKind::AssignCve,
    CommandKind::CompleteReleaseStep,
    CommandKind::Publish,
    CommandKind::ClosePrivateFork,
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
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}?done={command}#done")).into_response()),
        Err(Failure(ServiceError::NotFound)) => Err(Failure(ServiceError::NotFound).into()),
        Err(e) => {
            // Show the case again with the reason, keeping the status.
            let status = WebError::from(e);
            let access = authz::open_case(&state, &who.caller, &id).await?;
            let said = Said::Refused {
                command: command.clone(),
                message: status.message,
            };
            let page = case_view(&state, &who, &access, said).await?;
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
