//! Events: the facts a case's history is made of. State is their fold.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{
    advisory::{AdvisoryDraft, CreditHolder},
    affected::AffectedPackage,
    cvss::Cvss,
    ids::{CaseId, CveId, Cwe, PersonId},
    participant::Participant,
    tlp::Tlp,
};

/// How a CVE id is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CveVia {
    /// GitHub assigns one to the repository advisory (GitHub is the CNA).
    Github,
    /// We reserve one from CVE Services and publish the record (we are a CNA).
    CveServices,
    /// Someone typed in an id obtained elsewhere.
    Manual,
}

impl CveVia {
    /// The name as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            CveVia::Github => "github",
            CveVia::CveServices => "cve_services",
            CveVia::Manual => "manual",
        }
    }

    /// Parses `github`, `cve_services` or `manual`.
    pub fn parse(s: &str) -> Option<Self> {
        [CveVia::Github, CveVia::CveServices, CveVia::Manual]
            .into_iter()
            .find(|v| v.name() == s)
    }
}

/// Where a report came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The public web form.
    Web,
    /// security@ email.
    Email,
    /// GitHub private vulnerability reporting.
    Github,
    /// The JSON API.
    Api,
    /// Bridged from a forum.
    Forum,
    /// Bridged from a bounty platform.
    Bounty,
    /// Entered by hand from elsewhere.
    Other,
}

impl Channel {
    /// Every channel kind.
    pub const ALL: [Channel; 7] = [
        Channel::Web,
        Channel::Email,
        Channel::Github,
        Channel::Api,
        Channel::Forum,
        Channel::Bounty,
        Channel::Other,
    ];

    /// The channel's name.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Email => "email",
            Channel::Github => "github",
            Channel::Api => "api",
            Channel::Forum => "forum",
            Channel::Bounty => "bounty",
            Channel::Other => "other",
        }
    }
}

/// What the reporter sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The project the reporter named.
    pub project: String,
    /// One line.
    pub title: String,
    /// The description, reproduction steps and impact.
    pub body: String,
    /// The reporter's name, if given (reports may be anonymous).
    pub reporter_name: Option<String>,
    /// The reporter's email, if given.
    pub reporter_email: Option<String>,
    /// Where it arrived.
    pub channel: Channel,
    /// How it arrived, beyond the channel.
    #[serde(default)]
    pub intake: Intake,
}

/// How a report arrived: what the intake path learnt besides the text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    /// It arrived OpenPGP-encrypted (by the reporter's tool or the browser).
    #[serde(default)]
    pub encrypted: bool,
    /// The fingerprint of the key whose signature on it verified.
    #[serde(default)]
    pub signed_by: Option<String>,
    /// Signed by a key not on file (so not verified): the key the
    /// signature names, to verify once the key is on file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by_unknown: Option<String>,
    /// The reporter's public key, armored, for encrypted replies.
    #[serde(default)]
    pub reporter_key: Option<String>,
    /// The channel's own id for it: a GHSA id, an email Message-ID.
    #[serde(default)]
    pub reference: Option<String>,
    /// How the reporter wants to be credited.
    #[serde(default)]
    pub credit: Option<String>,
    /// Affected versions as the reporter gave them.
    #[serde(default)]
    pub affected_versions: Option<String>,
}

/// Whether the SRT reproduced the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reproduction {
    /// Reproduced.
    Yes,
    /// Reproduced in part, or under conditions.
    Partly,
    /// Not reproduced (the report may still be valid on reading the code).
    No,
}

/// The outcome of triage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// Reproduced or not.
    pub reproduced: Reproduction,
    /// Notes on reproduction, impact and blast radius.
    pub notes: String,
    /// Affected packages and version ranges.
    pub affected: Vec<AffectedPackage>,
    /// CVSS v3.1 vector.
    pub cvss_v31: Option<Cvss>,
    /// CVSS v4.0 vector.
    pub cvss_v40: Option<Cvss>,
    /// Weakness.
    pub cwe: Option<Cwe>,
    /// Who may be told.
    pub tlp: Tlp,
    /// The per-project status matrix: where each project involved stands.
    /// A project marked affected, under investigation or fixed counts as an
    /// affected project for access (its maintainers may be brought in).
    #[serde(default)]
    pub projects: Vec<ProjectImpact>,
}

/// Where a project stands on a vulnerability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    /// Not yet known.
    UnderInvestigation,
    /// Vulnerable.
    Affected,
    /// Checked and not vulnerable.
    NotAffected,
    /// A fix is released.
    Fixed,
}

impl ProjectStatus {
    /// Every status.
    pub const ALL: [ProjectStatus; 4] = [
        ProjectStatus::UnderInvestigation,
        ProjectStatus::Affected,
        ProjectStatus::NotAffected,
        ProjectStatus::Fixed,
    ];

    /// The status as written (`not-affected`).
    pub fn name(self) -> &'static str {
        match self {
            ProjectStatus::UnderInvestigation => "under-investigation",
            ProjectStatus::Affected => "affected",
            ProjectStatus::NotAffected => "not-affected",
            ProjectStatus::Fixed => "fixed",
        }
    }

    /// Whether the project counts as affected for access and reporting.
    pub fn involves(self) -> bool {
        self != ProjectStatus::NotAffected
    }
}

/// One row of the status matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectImpact {
    /// The project's name.
    pub project: String,
    /// Where it stands.
    pub status: ProjectStatus,
}

impl ProjectImpact {
    /// Parses `project:status`, e.g. `scipy:not-affected`.
    pub fn parse(spec: &str) -> Result<Self, crate::ids::InvalidValue> {
        let bad = || {
            crate::ids::InvalidValue(format!(
                "`{spec}` is not PROJECT:STATUS (status: under-investigation, affected, not-affected, fixed)"
            ))
        };
        let (project, status) = spec.trim().rsplit_once(':').ok_or_else(bad)?;
        let status = ProjectStatus::ALL
            .into_iter()
            .find(|s| s.name() == status)
            .ok_or_else(bad)?;
        crate::ids::required_text("project", project, 200)?;
        Ok(ProjectImpact {
            project: project.trim().to_owned(),
            status,
        })
    }
}

/// Why a report was found invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RejectReason {
    /// The same as another case.
    DuplicateOf {
        /// That case.
        case: CaseId,
    },
    /// Behaves as designed, or has no security impact.
    NotAVulnerability,
    /// Outside the projects or versions the team covers.
    OutOfScope,
    /// Could not be reproduced.
    NotReproducible,
    /// Spam or machine-written noise. Not explained to the sender.
    Spam,
}

impl RejectReason {
    /// The reason's name.
    pub fn name(&self) -> &'static str {
        match self {
            RejectReason::DuplicateOf { .. } => "duplicate",
            RejectReason::NotAVulnerability => "not-a-vulnerability",
            RejectReason::OutOfScope => "out-of-scope",
            RejectReason::NotReproducible => "not-reproducible",
            RejectReason::Spam => "spam",
        }
    }
}

/// A rejection with the explanation the reporter sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// In words.
    pub explanation: String,
}

/// Facts about the world; each is set once and never unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    /// The fixing team knows.
    VendorAware,
    /// A fix exists in the private fork.
    FixReady,
    /// Patch releases are out.
    FixReleased,
    /// The vulnerability is public.
    PublicAware,
    /// An exploit is public.
    ExploitPublic,
    /// Exploitation in the wild has been seen.
    AttacksSeen,
}

/// How an embargo ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbargoExit {
    /// Lifted by our disclosure.
    Lifted,
    /// Broken: the vulnerability became public before the date.
    Broken,
}

/// Who hosts a private fork.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForkHost {
    /// Somewhere else, recorded by URL.
    #[default]
    Elsewhere,
    /// GitHub's temporary private fork of a repository advisory.
    Github,
    /// A git repository on this server, per case and project.
    Builtin,
}

impl ForkHost {
    /// The name used in commands and views.
    pub fn name(self) -> &'static str {
        match self {
            ForkHost::Elsewhere => "elsewhere",
            ForkHost::Github => "github",
            ForkHost::Builtin => "builtin",
        }
    }
}

/// One item of the release-day checklist (SPEC-11 step 7).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum ReleaseStep {
    /// The private fork's commits are merged upstream.
    MergeFix,
    /// A patch release of one package.
    PatchRelease {
        /// Package name.
        package: String,
        /// Version released.
        version: String,
    },
    /// Binaries and packages are published.
    PublishPackages,
    /// The announcement went out.
    SendAnnouncement,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventData {
    /// A report arrived; the case begins.
    ReportReceived {
        /// It.
        report: Report,
    },
    /// The report lacks what the project's policy asks of a report (or
    /// matches its "not a vulnerability" list, or comes from a sender whose
    /// earlier reports were rejected): it waits in the screening queue.
    ScreeningHeld {
        /// Why, one reason each, as the team sees them.
        reasons: Vec<String>,
    },
    /// The SRT found a held report worth the inbox.
    ScreeningPassed {
        /// Why (optional).
        note: String,
    },
    /// The SRT answered the reporter.
    Acknowledged {
        /// The reply.
        message: String,
    },
    /// The reporter wrote to the team (portal or email reply).
    ReporterWrote {
        /// What they wrote.
        text: String,
        /// How it came.
        channel: Channel,
    },
    /// The team wrote to the reporter.
    ReporterMessaged {
        /// What they wrote.
        text: String,
    },
    /// The SRT asked the reporter for more.
    InfoRequested {
        /// The question.
        question: String,
    },
    /// The reporter answered.
    InfoReceived {
        /// Summary of the answer.
        note: String,
    },
    /// Triage recorded (or revised).
    Triaged {
        /// The assessment.
        assessment: Assessment,
    },
    /// Found invalid.
    Rejected {
        /// Why.
        rejection: Rejection,
    },
    /// An invalid report taken up again.
    Revalidated {
        /// Why.
        note: String,
    },
    /// Accepted and handed to a fixing team.
    FixingTeamAssigned {
        /// Runs the case.
        coordinator: PersonId,
        /// Maintainers fixing it.
        fixers: Vec<PersonId>,
    },
    /// Someone joined the case.
    ParticipantAdded {
        /// Who and as what.
        participant: Participant,
    },
    /// Someone who may not add people directly asked for a person to be added.
    AdditionRequested {
        /// The request's number on this case, from 1.
        request: u32,
        /// Who should join, and as what.
        participant: Participant,
        /// Why, for the SRT member who decides.
        reason: String,
    },
    /// An SRT member approved a request (a `participant_added` follows).
    AdditionApproved {
        /// Which request.
        request: u32,
    },
    /// An SRT member declined a request.
    AdditionDeclined {
        /// Which request.
        request: u32,
        /// Why, for the person who asked.
        reason: String,
    },
    /// An internal note: seen by the case's team, never by the reporter.
    NoteAdded {
        /// The note (Markdown).
        text: String,
        /// The project whose part of the case it belongs to (seen only by
        /// that project's fixing team and the coordinators); none for the
        /// whole case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        part: Option<String>,
    },
    /// Put aside.
    Deferred {
        /// Why.
        reason: String,
    },
    /// Taken up again after deferral.
    Reopened {
        /// Why.
        note: String,
    },
    /// A disclosure moment was proposed.
    TimelineProposed {
        /// The moment.
        disclose_at: Timestamp,
    },
    /// The proposal was accepted.
    TimelineAccepted,
    /// The proposal was declined.
    TimelineDeclined {
        /// Why.
        reason: String,
    },
    /// The embargo ended.
    EmbargoExited {
        /// How.
        how: EmbargoExit,
    },
    /// A new advisory revision.
    AdvisoryRevised {
        /// Its number, from 1.
        revision: u32,
        /// Its text.
        draft: Box<AdvisoryDraft>,
    },
    /// The current revision was put up for review.
    AdvisorySubmitted {
        /// Which revision.
        revision: u32,
    },
    /// A reviewer approved the revision for publication.
    AdvisoryApproved {
        /// Which revision.
        revision: u32,
    },
    /// A reviewer sent the revision back.
    AdvisoryChangesRequested {
        /// Which revision.
        revision: u32,
        /// What to change.
        comment: String,
    },
    /// The holder of a credit accepted or declined it.
    CreditAnswered {
        /// Who answered.
        holder: CreditHolder,
        /// Whether it may be published.
        accepted: bool,
        /// How they want to be named, when not as the credit says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// The reporter retested the fix.
    RetestAnswered {
        /// Whether the fix works for them.
        fixed: bool,
        /// What they said.
        note: String,
    },
    /// A person lifted the embargo before the agreed moment (or with none
    /// agreed), to publish now.
    EmbargoLifted {
        /// Why, as told to the reporter and the distributors.
        reason: String,
    },
    /// A CVE was asked for.
    CveRequested {
        /// Through what.
        via: CveVia,
    },
    /// A CVE id is assigned to the case.
    CveAssigned {
        /// The id.
        cve: CveId,
        /// Through what.
        via: CveVia,
    },
    /// A CVE request or publication failed for good.
    CveFailed {
        /// Through what.
        via: CveVia,
        /// What the service said.
        reason: String,
    },
    /// The CVE record was published to the CVE Program.
    CveRecordPublished {
        /// The id.
        cve: CveId,
    },
    /// The report's signature verified against the signer's key, which
    /// arrived after the report.
    SignatureVerified {
        /// The signer's primary fingerprint.
        fingerprint: String,
    },
    /// A private fork was opened.
    ForkOpened {
        /// Where (for a built-in fork, the git URL on this server).
        url: String,
        /// The project it forks (the reported project when not named).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        /// Who hosts it.
        #[serde(default)]
        host: ForkHost,
    },
    /// A private fork to be made here (built in, or GitHub's temporary
    /// fork) was asked for: a job makes it and records `fork_opened`, or
    /// `fork_failed`.
    ForkRequested {
        /// The project it forks (the reported project when not named).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        /// Who hosts it.
        host: ForkHost,
    },
    /// Making a requested fork failed; it may be asked for again.
    ForkFailed {
        /// The project.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        /// Why, in words.
        reason: String,
    },
    /// The private fork was removed.
    ForkClosed {
        /// The project whose fork (the reported project when not named).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
    },
    /// A project's fixing team was named (its part of a case that affects
    /// several projects).
    ProjectTeamAssigned {
        /// The project.
        project: String,
        /// Its fixers.
        fixers: Vec<PersonId>,
    },
    /// The project's test command ran on a push to the built-in fork.
    CiReported {
        /// The project.
        project: String,
        /// The branch or tag pushed.
        reference: String,
        /// The commit tested.
        commit: String,
        /// Whether the command exited 0.
        passed: bool,
        /// The end of its output.
        output: String,
    },
    /// The announcement text was approved for sending (exactly this text).
    AnnouncementApproved {
        /// The announcement (Markdown, first line `Subject: ...`).
        text: String,
    },
    /// The approved announcement went out.
    AnnouncementSent {
        /// To which lists.
        to: Vec<String>,
    },
    /// A distributor received the embargo notice for a disclosure moment.
    EmbargoNoticeSent {
        /// Which distributor (its name in the configuration).
        distributor: String,
        /// The moment the notice announced.
        disclose_at: Timestamp,
    },
    /// The retrospective was drafted or edited.
    RetrospectiveWritten {
        /// Its text (Markdown).
        text: String,
    },
    /// A fact became true.
    FactRecorded {
        /// Which.
        fact: Fact,
    },
    /// A release-day step was done.
    ReleaseStepCompleted {
        /// Which.
        step: ReleaseStep,
    },
    /// The advisory went public.
    Published,
    /// The case is closed.
    Closed {
        /// Closing note.
        note: String,
    },
}

impl EventData {
    /// The project whose part of the case this event belongs to, if it
    /// belongs to one part only (a note on it, its fork, its CI, its team).
    pub fn part(&self) -> Option<&str> {
        match self {
            EventData::NoteAdded { part, .. } => part.as_deref(),
            EventData::ForkOpened { project, .. }
            | EventData::ForkRequested { project, .. }
            | EventData::ForkFailed { project, .. }
            | EventData::ForkClosed { project } => project.as_deref(),
            EventData::ProjectTeamAssigned { project, .. }
            | EventData::CiReported { project, .. } => Some(project),
            _ => None,
        }
    }

    /// A stable name for the event's kind, as stored in the log.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::ReportReceived { .. } => "report_received",
            EventData::ScreeningHeld { .. } => "screening_held",
            EventData::ScreeningPassed { .. } => "screening_passed",
            EventData::Acknowledged { .. } => "acknowledged",
            EventData::InfoRequested { .. } => "info_requested",
            EventData::InfoReceived { .. } => "info_received",
            EventData::ReporterWrote { .. } => "reporter_wrote",
            EventData::ReporterMessaged { .. } => "reporter_messaged",
            EventData::Triaged { .. } => "triaged",
            EventData::Rejected { .. } => "rejected",
            EventData::Revalidated { .. } => "revalidated",
            EventData::FixingTeamAssigned { .. } => "fixing_team_assigned",
            EventData::ParticipantAdded { .. } => "participant_added",
            EventData::AdditionRequested { .. } => "addition_requested",
            EventData::AdditionApproved { .. } => "addition_approved",
            EventData::AdditionDeclined { .. } => "addition_declined",
            EventData::NoteAdded { .. } => "note_added",
            EventData::Deferred { .. } => "deferred",
            EventData::Reopened { .. } => "reopened",
            EventData::TimelineProposed { .. } => "timeline_proposed",
            EventData::TimelineAccepted => "timeline_accepted",
            EventData::TimelineDeclined { .. } => "timeline_declined",
            EventData::EmbargoExited { .. } => "embargo_exited",
            EventData::AdvisoryRevised { .. } => "advisory_revised",
            EventData::AdvisorySubmitted { .. } => "advisory_submitted",
            EventData::AdvisoryApproved { .. } => "advisory_approved",
            EventData::AdvisoryChangesRequested { .. } => "advisory_changes_requested",
            EventData::CreditAnswered { .. } => "credit_answered",
            EventData::RetestAnswered { .. } => "retest_answered",
            EventData::EmbargoLifted { .. } => "embargo_lifted",
            EventData::CveRequested { .. } => "cve_requested",
            EventData::CveAssigned { .. } => "cve_assigned",
            EventData::CveFailed { .. } => "cve_failed",
            EventData::CveRecordPublished { .. } => "cve_record_published",
            EventData::SignatureVerified { .. } => "signature_verified",
            EventData::ForkOpened { .. } => "fork_opened",
            EventData::ForkRequested { .. } => "fork_requested",
            EventData::ForkFailed { .. } => "fork_failed",
            EventData::ForkClosed { .. } => "fork_closed",
            EventData::ProjectTeamAssigned { .. } => "project_team_assigned",
            EventData::CiReported { .. } => "ci_reported",
            EventData::AnnouncementApproved { .. } => "announcement_approved",
            EventData::AnnouncementSent { .. } => "announcement_sent",
            EventData::EmbargoNoticeSent { .. } => "embargo_notice_sent",
            EventData::RetrospectiveWritten { .. } => "retrospective_written",
            EventData::FactRecorded { .. } => "fact_recorded",
            EventData::ReleaseStepCompleted { .. } => "release_step_completed",
            EventData::Published => "published",
            EventData::Closed { .. } => "closed",
        }
    }
}

/// An event with who did it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (the server's clock, passed in).
    pub at: Timestamp,
    /// Who did it.
    pub actor: PersonId,
    /// What happened.
    pub data: EventData,
}
