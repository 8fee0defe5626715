//! Commands: each is a pure function of (case, command, actor, now) that
//! returns the events to append, or a refusal naming the current state and
//! the commands allowed now.

use std::fmt;

use jiff::Timestamp;

use crate::{
    advisory::{AdvisoryDraft, CreditHolder},
    case::{Case, Embargo, Handling, Review},
    event::{
        Assessment, Channel, CveVia, EmbargoExit, Event, EventData, Fact, ForkHost, RejectReason,
        Rejection, ReleaseStep, Report,
    },
    ids::{CveId, PersonId, required_text},
    participant::Participant,
};

/// The actor the reporter's status page and mail replies act as.
pub const REPORTER_ACTOR: &str = "system:reporter";

/// Whether a disclosure ships with a released fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishMode {
    /// The patch release is out.
    WithFix,
    /// No fix: the advisory must give a mitigation.
    WithoutFix,
}

/// Facts that people record by hand (the others follow from commands).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorldFact {
    /// The vulnerability became public (a leak, or someone else's disclosure).
    PublicAware,
    /// An exploit was published.
    ExploitPublic,
    /// Exploitation in the wild was seen.
    AttacksSeen,
}

/// Something a person asks of a case.
#[expect(
    missing_docs,
    reason = "fields are named for what they carry; see the events they produce"
)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A report held for screening belongs in the inbox after all.
    PassScreening {
        note: String,
    },
    /// Answer the reporter.
    Acknowledge {
        message: String,
    },
    /// Ask the reporter for more.
    RequestInfo {
        question: String,
    },
    /// The reporter answered.
    InfoReceived {
        note: String,
    },
    /// Record the assessment.
    Triage {
        assessment: Assessment,
    },
    /// Find the report invalid.
    Reject {
        rejection: Rejection,
    },
    /// Take an invalid report up again.
    Revalidate {
        note: String,
    },
    /// Accept and hand to a fixing team.
    AssignFixingTeam {
        coordinator: PersonId,
        fixers: Vec<PersonId>,
    },
    /// Add someone (observer, SRT, fixer).
    AddParticipant {
        participant: Participant,
    },
    /// Ask the SRT to add someone (for those who may not add directly).
    RequestAddition {
        participant: Participant,
        reason: String,
    },
    /// Approve a pending addition request: the person joins.
    ApproveAddition {
        request: u32,
    },
    /// Decline a pending addition request.
    DeclineAddition {
        request: u32,
        reason: String,
    },
    /// Write an internal note (never shown to the reporter), for the
    /// whole case or for one project's part. A project team's own notes
    /// always stay in its part.
    AddNote {
        text: String,
        part: Option<String>,
    },
    ReporterWrote {
        text: String,
        channel: Channel,
    },
    MessageReporter {
        text: String,
    },
    /// Put aside.
    Defer {
        reason: String,
    },
    /// Take up again.
    Reopen {
        note: String,
    },
    /// Propose a disclosure moment.
    ProposeTimeline {
        disclose_at: Timestamp,
    },
    /// Accept the proposed moment.
    AcceptTimeline,
    /// Decline the proposed moment.
    DeclineTimeline {
        reason: String,
    },
    /// Write a new advisory revision on top of `base_revision`.
    ReviseAdvisory {
        base_revision: u32,
        draft: Box<AdvisoryDraft>,
    },
    /// Put the current revision up for review.
    SubmitAdvisory {
        /// The revision the submitter read.
        revision: u32,
    },
    /// Approve the revision in review for publication (not its author).
    ApproveAdvisory {
        /// The revision the reviewer read.
        revision: u32,
    },
    /// Send the revision in review back.
    RequestAdvisoryChanges {
        /// The revision the reviewer read.
        revision: u32,
        /// What to change.
        comment: String,
    },
    /// The caller accepts or declines the credits that name them.
    AnswerCredit {
        /// Whether they may be published.
        accepted: bool,
        /// How they want to be named instead, if at all.
        name: Option<String>,
    },
    /// The reporter says whether the ready fix works for them.
    AnswerRetest {
        /// Whether it does.
        fixed: bool,
        /// What they found.
        note: String,
    },
    /// Ask for a CVE through GitHub or CVE Services (done by an outbox job).
    RequestCve {
        /// Through what.
        via: CveVia,
    },
    /// Record the case's CVE id (typed in, or from a request's answer).
    AssignCve {
        /// The id.
        cve: CveId,
        /// Where it came from.
        via: CveVia,
    },
    /// A CVE request failed for good (recorded by the job).
    RecordCveFailure {
        /// Through what.
        via: CveVia,
        /// What the service said.
        reason: String,
    },
    /// The CVE record is published (recorded by the job).
    RecordCvePublished,
    /// The report's signature verified once the signer's key arrived
    /// (recorded by the intake path).
    RecordSignature {
        /// The signer's primary fingerprint.
        fingerprint: String,
    },
    /// Record a project's private fork (the reported project when none
    /// is named).
    OpenPrivateFork {
        /// Where it is; `None` asks for one made here (built in, or
        /// GitHub's), which a job makes and records with its URL.
        url: Option<String>,
        project: Option<String>,
        host: ForkHost,
    },
    /// Making a requested fork failed (recorded by the job).
    RecordForkFailure {
        /// The project.
        project: String,
        /// Why, in words.
        reason: String,
    },
    /// Record its removal.
    ClosePrivateFork {
        project: Option<String>,
    },
    /// Name a further affected project's own fixing team: they see that
    /// project's part of the case only.
    AssignProjectTeam {
        project: String,
        fixers: Vec<PersonId>,
    },
    /// The project's test command ran on a push (recorded by the CI runner).
    RecordCi {
        project: String,
        reference: String,
        commit: String,
        passed: bool,
        output: String,
    },
    /// Approve exactly this announcement text for sending at disclosure.
    ApproveAnnouncement {
        text: String,
    },
    /// The announcement went out (recorded by the sending job).
    RecordAnnouncementSent {
        to: Vec<String>,
    },
    /// A distributor got its embargo notice (recorded by the sending job).
    RecordEmbargoNotice {
        distributor: String,
        disclose_at: Timestamp,
    },
    /// Draft or edit the retrospective.
    WriteRetrospective {
        text: String,
    },
    /// The fix exists.
    MarkFixReady,
    /// Record a fact about the world.
    RecordFact {
        fact: WorldFact,
    },
    /// Tick a release-day item.
    CompleteReleaseStep {
        step: ReleaseStep,
    },
    /// Disclose. Before the agreed moment (or with none agreed) a person
    /// lifts the embargo, and says why: the reporter and the distributors
    /// are told.
    Publish {
        mode: PublishMode,
        reason: Option<String>,
    },
    /// Close.
    Close {
        note: String,
    },
}

macro_rules! kinds {
    ($($kind:ident => $name:literal),+ $(,)?) => {
        /// The name of a command, without its arguments.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[expect(missing_docs, reason = "the names say it")]
        pub enum CommandKind { $($kind),+ }

        impl CommandKind {
            /// Every command.
            pub const ALL: &'static [CommandKind] = &[$(CommandKind::$kind),+];

            /// The command's name (`assign_fixing_team`).
            pub fn name(self) -> &'static str {
                match self { $(CommandKind::$kind => $name),+ }
            }
        }
    };
}

kinds! {
    PassScreening => "pass_screening",
    Acknowledge => "acknowledge",
    RequestInfo => "request_info",
    InfoReceived => "info_received",
    Triage => "triage",
    Reject => "reject",
    Revalidate => "revalidate",
    AssignFixingTeam => "assign_fixing_team",
    AddParticipant => "add_participant",
    RequestAddition => "request_addition",
    ApproveAddition => "approve_addition",
    DeclineAddition => "decline_addition",
    AddNote => "add_note",
    ReporterWrote => "reporter_wrote",
    MessageReporter => "message_reporter",
    Defer => "defer",
    Reopen => "reopen",
    ProposeTimeline => "propose_timeline",
    AcceptTimeline => "accept_timeline",
    DeclineTimeline => "decline_timeline",
    ReviseAdvisory => "revise_advisory",
    SubmitAdvisory => "submit_advisory",
    ApproveAdvisory => "approve_advisory",
    RequestAdvisoryChanges => "request_advisory_changes",
    AnswerCredit => "answer_credit",
    AnswerRetest => "answer_retest",
    RequestCve => "request_cve",
    AssignCve => "assign_cve",
    RecordCveFailure => "record_cve_failure",
    RecordCvePublished => "record_cve_published",
    RecordSignature => "record_signature",
    OpenPrivateFork => "open_private_fork",
    RecordForkFailure => "record_fork_failure",
    ClosePrivateFork => "close_private_fork",
    AssignProjectTeam => "assign_project_team",
    RecordCi => "record_ci",
    ApproveAnnouncement => "approve_announcement",
    RecordAnnouncementSent => "record_announcement_sent",
    RecordEmbargoNotice => "record_embargo_notice",
    WriteRetrospective => "write_retrospective",
    MarkFixReady => "mark_fix_ready",
    RecordFact => "record_fact",
    CompleteReleaseStep => "complete_release_step",
    Publish => "publish",
    Close => "close",
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl CommandKind {
    /// Whether only embargo itself records this (the intake path, the CVE
    /// jobs, the CI runner, the release jobs): never offered to people.
    pub fn is_system(self) -> bool {
        matches!(
            self,
            CommandKind::ReporterWrote
                | CommandKind::RecordCveFailure
                | CommandKind::RecordForkFailure
                | CommandKind::RecordCvePublished
                | CommandKind::RecordSignature
                | CommandKind::RecordCi
                | CommandKind::RecordAnnouncementSent
                | CommandKind::RecordEmbargoNotice
        )
    }
}

impl Command {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::PassScreening { .. } => CommandKind::PassScreening,
            Command::Acknowledge { .. } => CommandKind::Acknowledge,
            Command::RequestInfo { .. } => CommandKind::RequestInfo,
            Command::InfoReceived { .. } => CommandKind::InfoReceived,
            Command::Triage { .. } => CommandKind::Triage,
            Command::Reject { .. } => CommandKind::Reject,
            Command::Revalidate { .. } => CommandKind::Revalidate,
            Command::AssignFixingTeam { .. } => CommandKind::AssignFixingTeam,
            Command::AddParticipant { .. } => CommandKind::AddParticipant,
            Command::RequestAddition { .. } => CommandKind::RequestAddition,
            Command::ApproveAddition { .. } => CommandKind::ApproveAddition,
            Command::DeclineAddition { .. } => CommandKind::DeclineAddition,
            Command::AddNote { .. } => CommandKind::AddNote,
            Command::ReporterWrote { .. } => CommandKind::ReporterWrote,
            Command::MessageReporter { .. } => CommandKind::MessageReporter,
            Command::Defer { .. } => CommandKind::Defer,
            Command::Reopen { .. } => CommandKind::Reopen,
            Command::ProposeTimeline { .. } => CommandKind::ProposeTimeline,
            Command::AcceptTimeline => CommandKind::AcceptTimeline,
            Command::DeclineTimeline { .. } => CommandKind::DeclineTimeline,
            Command::ReviseAdvisory { .. } => CommandKind::ReviseAdvisory,
            Command::SubmitAdvisory { .. } => CommandKind::SubmitAdvisory,
            Command::ApproveAdvisory { .. } => CommandKind::ApproveAdvisory,
            Command::RequestAdvisoryChanges { .. } => CommandKind::RequestAdvisoryChanges,
            Command::AnswerCredit { .. } => CommandKind::AnswerCredit,
            Command::AnswerRetest { .. } => CommandKind::AnswerRetest,
            Command::RequestCve { .. } => CommandKind::RequestCve,
            Command::AssignCve { .. } => CommandKind::AssignCve,
            Command::RecordCveFailure { .. } => CommandKind::RecordCveFailure,
            Command::RecordCvePublished => CommandKind::RecordCvePublished,
            Command::RecordSignature { .. } => CommandKind::RecordSignature,
            Command::OpenPrivateFork { .. } => CommandKind::OpenPrivateFork,
            Command::RecordForkFailure { .. } => CommandKind::RecordForkFailure,
            Command::ClosePrivateFork { .. } => CommandKind::ClosePrivateFork,
            Command::AssignProjectTeam { .. } => CommandKind::AssignProjectTeam,
            Command::RecordCi { .. } => CommandKind::RecordCi,
            Command::ApproveAnnouncement { .. } => CommandKind::ApproveAnnouncement,
            Command::RecordAnnouncementSent { .. } => CommandKind::RecordAnnouncementSent,
            Command::RecordEmbargoNotice { .. } => CommandKind::RecordEmbargoNotice,
            Command::WriteRetrospective { .. } => CommandKind::WriteRetrospective,
            Command::MarkFixReady => CommandKind::MarkFixReady,
            Command::RecordFact { .. } => CommandKind::RecordFact,
            Command::CompleteReleaseStep { .. } => CommandKind::CompleteReleaseStep,
            Command::Publish { .. } => CommandKind::Publish,
            Command::Close { .. } => CommandKind::Close,
        }
    }
}

/// Why a command was refused. Nothing is written for a refused command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The command does not fit the case's state.
    #[error(
        "cannot {command}: the case is {handling} (embargo {embargo}); allowed now: {}",
        list(allowed)
    )]
    NotAllowedNow {
        /// What was asked.
        command: CommandKind,
        /// Report handling now.
        handling: &'static str,
        /// Embargo now.
        embargo: &'static str,
        /// What may be done instead.
        allowed: Vec<CommandKind>,
    },
    /// The command fits the state but its content is wrong.
    #[error("cannot {command}: {reason}")]
    Invalid {
        /// What was asked.
        command: CommandKind,
        /// What is wrong.
        reason: String,
    },
    /// The advisory changed since the caller read it.
    #[error(
        "cannot revise_advisory: it is at revision {current}, the edit was made on revision {base}; reload and edit again"
    )]
    Conflict {
        /// The caller's base.
        base: u32,
        /// The current revision.
        current: u32,
    },
}

fn list(kinds: &[CommandKind]) -> String {
    if kinds.is_empty() {
        return "nothing (the case is closed)".into();
    }
    kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the case's state admits a command of this kind at all.
fn permits(kind: CommandKind, c: &Case) -> bool {
    use CommandKind as K;
    use Handling as H;
    let h = c.handling;
    let open = h != H::Closed;
    let published = c.published_at.is_some();
    let fork_open = c.forks.iter().any(|f| f.closed_at.is_none());
    let approved = c.approved_revision.is_some();
    match kind {
        K::PassScreening => h == H::Received && c.in_screening(),
        K::Acknowledge => h == H::Received,
        K::RequestInfo => matches!(h, H::Received | H::Acknowledged | H::Valid),
        K::InfoReceived => open && c.needs_info.is_some(),
        K::Triage => matches!(h, H::Acknowledged | H::Valid | H::Accepted) && !published,
        K::Reject => matches!(h, H::Received | H::Acknowledged | H::Valid),
        K::Revalidate => h == H::Invalid,
        K::AssignFixingTeam => matches!(h, H::Valid | H::Accepted) && !published,
        K::AddParticipant | K::RequestAddition | K::AddNote | K::MessageReporter => open,
        // What a reporter sends is never turned away, whatever the state.
        K::ReporterWrote => true,
        K::ApproveAddition | K::DeclineAddition => {
            open && c.addition_requests.iter().any(|r| r.is_pending())
        }
        K::Defer => matches!(h, H::Valid | H::Accepted) && !published,
        K::Reopen => h == H::Deferred,
        K::ProposeTimeline => {
            h == H::Accepted
                && c.facts.public_aware.is_none()
                && !matches!(c.embargo, Embargo::Exited { .. })
        }
        K::AcceptTimeline | K::DeclineTimeline => {
            open && matches!(
                c.embargo,
                Embargo::Proposed { .. } | Embargo::Revising { .. }
            )
        }
        K::ReviseAdvisory => matches!(h, H::Valid | H::Accepted),
        K::SubmitAdvisory => {
            open && !c.advisory.is_empty()
                && matches!(c.review, Review::Draft | Review::ChangesRequested { .. })
        }
        K::ApproveAdvisory | K::RequestAdvisoryChanges => open && c.review == Review::InReview,
        K::AnswerCredit => {
            open && c
                .current_advisory()
                .is_some_and(|a| a.credits.iter().any(|cr| cr.holder.is_some()))
        }
        K::RequestCve | K::AssignCve => {
            matches!(h, H::Valid | H::Accepted) && c.cve.assigned.is_none()
        }
        K::RecordCveFailure => open,
        K::RecordCvePublished => c.cve.assigned.is_some(),
        // Only a report whose signature is still unverified.
        K::RecordSignature => {
            c.report.intake.signed_by.is_none() && c.report.intake.signed_by_unknown.is_some()
        }
        K::OpenPrivateFork | K::AssignProjectTeam => h == H::Accepted && !published,
        K::RecordForkFailure => open && !c.fork_requests.is_empty(),
        K::ClosePrivateFork => open && fork_open,
        K::RecordCi => open && fork_open,
        K::ApproveAnnouncement => h == H::Accepted && approved && c.announcement_sent.is_none(),
        K::RecordAnnouncementSent => c.announcement.is_some() && c.announcement_sent.is_none(),
        K::RecordEmbargoNotice => open && !published,
        K::WriteRetrospective => published,
        K::AnswerRetest => open && c.facts.fix_ready.is_some() && !published,
        K::MarkFixReady => {
            h == H::Accepted && c.facts.vendor_aware.is_some() && c.facts.fix_ready.is_none()
        }
        K::RecordFact => open,
        K::CompleteReleaseStep => h == H::Accepted && c.facts.fix_ready.is_some(),
        K::Publish => h == H::Accepted && !published,
        K::Close => matches!(h, H::Invalid | H::Deferred) || (h == H::Accepted && published),
    }
}

/// The commands the case's state admits now.
pub fn allowed(case: &Case) -> Vec<CommandKind> {
    CommandKind::ALL
        .iter()
        .copied()
        // What a reporter wrote is recorded by the intake path, and CVE
        // outcomes by the CVE jobs: never offered to the team as moves.
        .filter(|k| !k.is_system())
        .filter(|k| permits(*k, case))
        .collect()
}

/// The project a fork command is about: the one named (the reported
/// project when none is), and for a project team's member only their own.
fn own_project(case: &Case, actor: &PersonId, named: Option<String>) -> Result<String, String> {
    let project = named.unwrap_or_else(|| case.report.project.clone());
    if !case.named_projects().contains(&project.as_str()) {
        return Err(format!("the case names no project `{project}`"));
    }
    match case.part_of(actor) {
        Some(mine) if mine != project => Err(format!("you are on {mine}'s team, not {project}'s")),
        _ => Ok(project),
    }
}

/// Starts a case from a report.
pub fn decide_new(report: Report, actor: &PersonId, now: Timestamp) -> Result<Vec<Event>, Refusal> {
    let invalid = |reason: String| Refusal::Invalid {
        command: CommandKind::Acknowledge,
        reason,
    };
    required_text("project", &report.project, 200).map_err(|e| invalid(e.0))?;
    required_text("title", &report.title, 300).map_err(|e| invalid(e.0))?;
    required_text("report body", &report.body, 200_000).map_err(|e| invalid(e.0))?;
    Ok(vec![Event {
        at: now,
        actor: actor.clone(),
        data: EventData::ReportReceived { report },
    }])
}

/// Decides what a command does to a case.
pub fn decide(
    case: &Case,
    command: Command,
    actor: &PersonId,
    now: Timestamp,
) -> Result<Vec<Event>, Refusal> {
    let kind = command.kind();
    if !permits(kind, case) {
        return Err(Refusal::NotAllowedNow {
            command: kind,
            handling: case.handling.name(),
            embargo: case.embargo.name(),
            allowed: allowed(case),
        });
    }
    let invalid = |reason: String| Refusal::Invalid {
        command: kind,
        reason,
    };
    let text =
        |field: &str, value: &str| required_text(field, value, 20_000).map_err(|e| invalid(e.0));
    let ev = |data: EventData| Event {
        at: now,
        actor: actor.clone(),
        data,
    };
    let data = match command {
        Command::PassScreening { note } => {
            if note.len() > 20_000 {
                return Err(invalid("the note is longer than 20000 bytes".into()));
            }
            vec![EventData::ScreeningPassed { note }]
        }
        Command::Acknowledge { message } => {
            text("message", &message)?;
            vec![EventData::Acknowledged { message }]
        }
        Command::RequestInfo { question } => {
            text("question", &question)?;
            vec![EventData::InfoRequested { question }]
        }
        Command::InfoReceived { note } => vec![EventData::InfoReceived { note }],
        Command::Triage { assessment } => {
            text("triage notes", &assessment.notes)?;
            vec![EventData::Triaged { assessment }]
        }
        Command::Reject { rejection } => {
            // A screening answer is an acknowledgement too: a held report
            // may be rejected for any reason, with the reason sent.
            if case.handling == Handling::Received
                && rejection.reason != RejectReason::Spam
                && !case.in_screening()
            {
                return Err(invalid(
                    "only spam is rejected before acknowledgement; acknowledge the report first"
                        .into(),
                ));
            }
            if let RejectReason::DuplicateOf { case: other } = &rejection.reason
                && other == &case.id
            {
                return Err(invalid("a case cannot be a duplicate of itself".into()));
            }
            text("explanation", &rejection.explanation)?;
            vec![EventData::Rejected { rejection }]
        }
        Command::Revalidate { note } => {
            text("note", &note)?;
            vec![EventData::Revalidated { note }]
        }
        Command::AssignFixingTeam {
            coordinator,
            fixers,
        } => {
            if fixers.is_empty() {
                return Err(invalid("name at least one fixer".into()));
            }
            let mut out = vec![EventData::FixingTeamAssigned {
                coordinator,
                fixers,
            }];
            if case.facts.vendor_aware.is_none() {
                out.push(EventData::FactRecorded {
                    fact: Fact::VendorAware,
                });
            }
            out
        }
        Command::AddParticipant { participant } => {
            if case.participants.contains(&participant) {
                return Err(invalid(format!(
                    "{} is already {}",
                    participant.person, participant.role
                )));
            }
            vec![EventData::ParticipantAdded { participant }]
        }
        Command::RequestAddition {
            participant,
            reason,
        } => {
            if case.role_of(&participant.person).is_some() {
                return Err(invalid(format!(
                    "{} is already on the case",
                    participant.person
                )));
            }
            if case
                .addition_requests
                .iter()
                .any(|r| r.is_pending() && r.participant.person == participant.person)
            {
                return Err(invalid(format!(
                    "a request to add {} is already waiting for the SRT",
                    participant.person
                )));
            }
            text("reason", &reason)?;
            let request = u32::try_from(case.addition_requests.len())
                .map_err(|_| invalid("too many requests".into()))?
                + 1;
            vec![EventData::AdditionRequested {
                request,
                participant,
                reason,
            }]
        }
        Command::ApproveAddition { request } => {
            let Some(pending) = case.pending_request(request) else {
                return Err(invalid(format!(
                    "there is no pending addition request #{request}"
                )));
            };
            let participant = pending.participant.clone();
            let mut out = vec![EventData::AdditionApproved { request }];
            if !case.participants.contains(&participant) {
                out.push(EventData::ParticipantAdded { participant });
            }
            out
        }
        Command::DeclineAddition { request, reason } => {
            if case.pending_request(request).is_none() {
                return Err(invalid(format!(
                    "there is no pending addition request #{request}"
                )));
            }
            text("reason", &reason)?;
            vec![EventData::AdditionDeclined { request, reason }]
        }
        Command::ReporterWrote {
            text: body,
            channel,
        } => {
            required_text("message", &body, 200_000).map_err(|e| invalid(e.0))?;
            let mut events = vec![EventData::ReporterWrote {
                text: body,
                channel,
            }];
            if case.needs_info.is_some() {
                events.push(EventData::InfoReceived {
                    note: "the reporter answered".into(),
                });
            }
            events
        }
        Command::MessageReporter { text: body } => {
            text("message", &body)?;
            vec![EventData::ReporterMessaged { text: body }]
        }
        Command::AddNote { text: note, part } => {
            text("note", &note)?;
            let part = match (case.part_of(actor), part) {
                (Some(mine), Some(p)) if p != mine => {
                    return Err(invalid(format!(
                        "you are on {mine}'s team: your notes stay in its part"
                    )));
                }
                (Some(mine), _) => Some(mine.to_owned()),
                (None, Some(p)) => {
                    if !case.named_projects().contains(&p.as_str()) {
                        return Err(invalid(format!("the case names no project `{p}`")));
                    }
                    Some(p)
                }
                (None, None) => None,
            };
            vec![EventData::NoteAdded { text: note, part }]
        }
        Command::Defer { reason } => {
            text("reason", &reason)?;
            vec![EventData::Deferred { reason }]
        }
        Command::Reopen { note } => {
            text("note", &note)?;
            vec![EventData::Reopened { note }]
        }
        Command::ProposeTimeline { disclose_at } => {
            if disclose_at <= now {
                return Err(invalid(format!(
                    "the disclosure moment {disclose_at} is not in the future"
                )));
            }
            vec![EventData::TimelineProposed { disclose_at }]
        }
        Command::AcceptTimeline => vec![EventData::TimelineAccepted],
        Command::DeclineTimeline { reason } => {
            text("reason", &reason)?;
            vec![EventData::TimelineDeclined { reason }]
        }
        Command::ReviseAdvisory {
            base_revision,
            draft,
        } => {
            let current = case.advisory_revision();
            if base_revision != current {
                return Err(Refusal::Conflict {
                    base: base_revision,
                    current,
                });
            }
            draft.validate().map_err(|e| invalid(e.0))?;
            vec![EventData::AdvisoryRevised {
                revision: current + 1,
                draft,
            }]
        }
        Command::SubmitAdvisory { revision } => {
            let current = case.advisory_revision();
            if revision != current {
                return Err(Refusal::Conflict {
                    base: revision,
                    current,
                });
            }
            vec![EventData::AdvisorySubmitted { revision }]
        }
        Command::ApproveAdvisory { revision } => {
            let current = case.advisory_revision();
            if revision != current {
                return Err(Refusal::Conflict {
                    base: revision,
                    current,
                });
            }
            if case.advisory.last().is_some_and(|r| &r.author == actor) {
                return Err(invalid(
                    "a revision is approved by someone other than its author".into(),
                ));
            }
            vec![EventData::AdvisoryApproved { revision }]
        }
        Command::RequestAdvisoryChanges { revision, comment } => {
            let current = case.advisory_revision();
            if revision != current {
                return Err(Refusal::Conflict {
                    base: revision,
                    current,
                });
            }
            text("comment", &comment)?;
            vec![EventData::AdvisoryChangesRequested { revision, comment }]
        }
        Command::AnswerCredit { accepted, name } => {
            let holder = if actor.as_str() == REPORTER_ACTOR {
                CreditHolder::Reporter
            } else {
                CreditHolder::Person(actor.clone())
            };
            let named = case
                .current_advisory()
                .is_some_and(|a| a.credits.iter().any(|c| c.holder.as_ref() == Some(&holder)));
            if !named {
                return Err(invalid("no credit in the advisory names you".into()));
            }
            let name = name
                .map(|n| crate::text::one_line(&n))
                .filter(|n| !n.is_empty());
            if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
                return Err(invalid("the name is longer than 200 characters".into()));
            }
            if !accepted && name.is_some() {
                return Err(invalid("a declined credit names no one".into()));
            }
            vec![EventData::CreditAnswered {
                holder,
                accepted,
                name,
            }]
        }
        Command::AnswerRetest { fixed, note } => {
            text("note", &note)?;
            vec![EventData::RetestAnswered { fixed, note }]
        }
        Command::RequestCve { via } => {
            if via == CveVia::Manual {
                return Err(invalid(
                    "a CVE obtained elsewhere is entered with assign_cve".into(),
                ));
            }
            let known = case
                .current_advisory()
                .map(|a| case.exportable(a))
                .is_some_and(|a| {
                    a.affected
                        .iter()
                        .any(|p| !p.ranges.is_empty() || !p.versions.is_empty())
                });
            if !known {
                return Err(invalid(
                    "a CVE request needs the advisory with its affected versions first".into(),
                ));
            }
            vec![EventData::CveRequested { via }]
        }
        Command::AssignCve { cve, via } => vec![EventData::CveAssigned { cve, via }],
        Command::RecordCveFailure { via, reason } => {
            text("reason", &reason)?;
            vec![EventData::CveFailed { via, reason }]
        }
        Command::RecordSignature { fingerprint } => {
            text("fingerprint", &fingerprint)?;
            vec![EventData::SignatureVerified { fingerprint }]
        }
        Command::RecordCvePublished => {
            let Some((cve, _)) = case.cve.assigned.clone() else {
                return Err(invalid("the case has no CVE".into()));
            };
            vec![EventData::CveRecordPublished { cve }]
        }
        Command::OpenPrivateFork {
            url: None,
            project,
            host,
        } => {
            if host == ForkHost::Elsewhere {
                return Err(invalid("a fork elsewhere needs its url".into()));
            }
            let project = own_project(case, actor, project).map_err(invalid)?;
            if case.open_fork(&project).is_some() || case.fork_requested(&project) {
                return Err(invalid(format!(
                    "a private fork of {project} is already open or asked for"
                )));
            }
            if host == ForkHost::Github && project != case.report.project {
                return Err(invalid(
                    "GitHub's temporary forks belong to the reported project's repository advisory"
                        .into(),
                ));
            }
            vec![EventData::ForkRequested {
                project: Some(project),
                host,
            }]
        }
        Command::RecordForkFailure { project, reason } => {
            if !case.fork_requested(&project) {
                return Err(invalid(format!("no fork of {project} was asked for")));
            }
            required_text("reason", &reason, 2000).map_err(|e| invalid(e.0))?;
            vec![EventData::ForkFailed {
                project: Some(project),
                reason,
            }]
        }
        Command::OpenPrivateFork {
            url: Some(url),
            project,
            host,
        } => {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
                return Err(invalid(format!("`{url}` is not an http(s) URL")));
            }
            let project = own_project(case, actor, project).map_err(invalid)?;
            if case.open_fork(&project).is_some() {
                return Err(invalid(format!(
                    "a private fork of {project} is already open"
                )));
            }
            vec![EventData::ForkOpened {
                url,
                project: Some(project),
                host,
            }]
        }
        Command::ClosePrivateFork { project } => {
            let project = own_project(case, actor, project).map_err(invalid)?;
            if case.open_fork(&project).is_none() {
                return Err(invalid(format!("no private fork of {project} is open")));
            }
            vec![EventData::ForkClosed {
                project: Some(project),
            }]
        }
        Command::AssignProjectTeam { project, fixers } => {
            required_text("project", &project, 200).map_err(|e| invalid(e.0))?;
            if project == case.report.project {
                return Err(invalid(format!(
                    "{project} is the reported project: its team is the fixing team (assign_fixing_team)"
                )));
            }
            if fixers.is_empty() {
                return Err(invalid("name at least one fixer".into()));
            }
            vec![EventData::ProjectTeamAssigned { project, fixers }]
        }
        Command::RecordCi {
            project,
            reference,
            commit,
            passed,
            output,
        } => {
            if case.open_fork(&project).is_none() {
                return Err(invalid(format!("no private fork of {project} is open")));
            }
            vec![EventData::CiReported {
                project,
                reference,
                commit,
                passed,
                output,
            }]
        }
        Command::ApproveAnnouncement { text: body } => {
            required_text("announcement", &body, 100_000).map_err(|e| invalid(e.0))?;
            if !body.starts_with("Subject: ") || !body.contains('\n') {
                return Err(invalid(
                    "an announcement starts with a `Subject: ` line, then the text".into(),
                ));
            }
            vec![EventData::AnnouncementApproved { text: body }]
        }
        Command::RecordAnnouncementSent { to } => vec![EventData::AnnouncementSent { to }],
        Command::RecordEmbargoNotice {
            distributor,
            disclose_at,
        } => vec![EventData::EmbargoNoticeSent {
            distributor,
            disclose_at,
        }],
        Command::WriteRetrospective { text: body } => {
            required_text("retrospective", &body, 200_000).map_err(|e| invalid(e.0))?;
            vec![EventData::RetrospectiveWritten { text: body }]
        }
        Command::MarkFixReady => vec![EventData::FactRecorded {
            fact: Fact::FixReady,
        }],
        Command::RecordFact { fact } => {
            let (fact, also_public) = match fact {
                WorldFact::PublicAware => (Fact::PublicAware, false),
                WorldFact::ExploitPublic => (Fact::ExploitPublic, true),
                WorldFact::AttacksSeen => (Fact::AttacksSeen, false),
            };
            if case.facts.get(fact).is_some() {
                return Err(invalid(format!("{fact:?} is already recorded")));
            }
            let mut out = Vec::new();
            let becomes_public =
                case.facts.public_aware.is_none() && (also_public || fact == Fact::PublicAware);
            if becomes_public && fact != Fact::PublicAware {
                out.push(EventData::FactRecorded {
                    fact: Fact::PublicAware,
                });
            }
            out.push(EventData::FactRecorded { fact });
            if becomes_public && case.embargo.is_running() {
                out.push(EventData::EmbargoExited {
                    how: EmbargoExit::Broken,
                });
            }
            out
        }
        Command::CompleteReleaseStep { step } => {
            if case.release_steps.iter().any(|(s, _)| s == &step) {
                return Err(invalid("that release step is already done".into()));
            }
            let mut out = Vec::new();
            match &step {
                ReleaseStep::PatchRelease { package, version } => {
                    text("package", package)?;
                    text("version", version)?;
                }
                ReleaseStep::PublishPackages
                    if !case
                        .release_steps
                        .iter()
                        .any(|(s, _)| matches!(s, ReleaseStep::PatchRelease { .. })) =>
                {
                    return Err(invalid(
                        "record a patch release before publishing packages".into(),
                    ));
                }
                ReleaseStep::SendAnnouncement if case.published_at.is_none() => {
                    return Err(invalid(
                        "publish the advisory before sending the announcement".into(),
                    ));
                }
                _ => {}
            }
            let first_release = matches!(step, ReleaseStep::PatchRelease { .. })
                && case.facts.fix_released.is_none();
            out.push(EventData::ReleaseStepCompleted { step });
            if first_release {
                out.push(EventData::FactRecorded {
                    fact: Fact::FixReleased,
                });
            }
            out
        }
        Command::Publish { mode, reason } => {
            if case.advisory.is_empty() {
                return Err(invalid("write the advisory first (revise_advisory)".into()));
            }
            let Some(advisory) = case.approved_advisory().map(|r| &r.draft) else {
                return Err(invalid(format!(
                    "the advisory is {}: submit it for review and have a reviewer approve it before publishing",
                    case.review.name()
                )));
            };
            match mode {
                PublishMode::WithFix if case.facts.fix_released.is_none() => {
                    return Err(invalid(
                        "no fix is released: complete a patch_release step, or publish without a fix with a mitigation in the advisory".into(),
                    ));
                }
                PublishMode::WithoutFix
                    if advisory
                        .mitigation
                        .as_deref()
                        .is_none_or(|m| m.trim().is_empty()) =>
                {
                    return Err(invalid(
                        "a disclosure without a fix needs a mitigation in the advisory".into(),
                    ));
                }
                _ => {}
            }
            let mut out = Vec::new();
            let at_the_moment = case.embargo.agreed_until().is_some_and(|u| u <= now);
            if !at_the_moment {
                let Some(reason) = reason.filter(|r| !r.trim().is_empty()) else {
                    return Err(invalid(match case.embargo.agreed_until() {
                        Some(u) => format!(
                            "the embargo runs until {u}: publishing earlier lifts it, which needs a reason (the reporter and the distributors are told)"
                        ),
                        None => "no disclosure moment is agreed: publishing now lifts the embargo, which needs a reason (the reporter and the distributors are told)".into(),
                    }));
                };
                text("reason", &reason)?;
                out.push(EventData::EmbargoLifted { reason });
            }
            if case.facts.public_aware.is_none() {
                out.push(EventData::FactRecorded {
                    fact: Fact::PublicAware,
                });
            }
            out.push(EventData::Published);
            if case.embargo.is_running() {
                out.push(EventData::EmbargoExited {
                    how: EmbargoExit::Lifted,
                });
            }
            out
        }
        Command::Close { note } => {
            text("note", &note)?;
            vec![EventData::Closed { note }]
        }
    };
    Ok(data.into_iter().map(ev).collect())
}
