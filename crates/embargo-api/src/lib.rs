//! JSON wire types shared by the server and the CLI. Raw strings here; the
//! server validates them into core types (two-stage: raw → validated).

use serde::{Deserialize, Serialize};

/// A report entered through the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewReport {
    /// Project the report is about.
    pub project: String,
    /// One line.
    pub title: String,
    /// Description, reproduction steps, impact.
    pub body: String,
    /// Reporter's name, if given.
    #[serde(default)]
    pub reporter_name: Option<String>,
    /// Reporter's email, if given.
    #[serde(default)]
    pub reporter_email: Option<String>,
    /// Channel kind: api (default), forum, bounty, other, email, web, github.
    #[serde(default)]
    pub channel: Option<String>,
}

/// A typed link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReferenceWire {
    /// OSV reference type.
    pub kind: String,
    /// URL.
    pub url: String,
}

/// A typed credit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CreditWire {
    /// Name.
    pub name: String,
    /// OSV credit type (FINDER, REPORTER, …).
    #[serde(default)]
    pub kind: Option<String>,
    /// Contact URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    /// Who must accept it: `reporter`, or a person's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// Whether the holder accepted it (answers only; ignored in requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<bool>,
}

/// An affected package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AffectedWire {
    /// OSV ecosystem (`PyPI`, `crates.io`, `npm`, `GIT`, …).
    pub ecosystem: String,
    /// Package name (for GIT, the repository URL).
    pub name: String,
    /// One range per series: `introduced..fixed`, `introduced..` (no fix)
    /// or `introduced..=last_affected`; git ranges use commits.
    #[serde(default)]
    pub ranges: Vec<String>,
    /// Explicitly affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// The advisory's text and facts, as edited.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdvisoryWire {
    /// One line.
    pub summary: String,
    /// Markdown.
    pub details: String,
    /// CVE id.
    #[serde(default)]
    pub cve: Option<String>,
    /// GHSA id.
    #[serde(default)]
    pub ghsa: Option<String>,
    /// Other ids.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Impact (Markdown).
    #[serde(default)]
    pub impact: Option<String>,
    /// Affected packages.
    #[serde(default)]
    pub affected: Vec<AffectedWire>,
    /// Workarounds.
    #[serde(default)]
    pub mitigation: Option<String>,
    /// Upgrade instructions.
    #[serde(default)]
    pub upgrade: Option<String>,
    /// Links.
    #[serde(default)]
    pub references: Vec<ReferenceWire>,
    /// CWE ids.
    #[serde(default)]
    pub cwes: Vec<String>,
    /// CVSS v3.1 / v4.0 vectors.
    #[serde(default)]
    pub cvss: Vec<String>,
    /// Credits.
    #[serde(default)]
    pub credits: Vec<CreditWire>,
    /// Team-only notes, never exported.
    #[serde(default)]
    pub confidential: Option<String>,
}

/// One line of a revision diff: `+ `, `- ` or two spaces, then the text.
pub type DiffLineWire = String;

/// A revision with who wrote it and what it changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RevisionWire {
    /// Its number.
    pub revision: u32,
    /// Author.
    pub author: String,
    /// When (RFC 3339).
    pub at: String,
    /// What changed from the previous revision, by field.
    pub changes: Vec<(String, Vec<DiffLineWire>)>,
}

/// The advisory of a case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdvisoryView {
    /// The current revision (0 before the first).
    pub revision: u32,
    /// draft, in review, changes requested, approved.
    pub review: String,
    /// The newest approved revision.
    pub approved_revision: Option<u32>,
    /// The current text.
    pub advisory: Option<AdvisoryWire>,
    /// Every revision, oldest first, each with its diff.
    pub revisions: Vec<RevisionWire>,
    /// The CVE and how it came, once assigned.
    pub cve: Option<String>,
    /// The last CVE request failure.
    pub cve_failure: Option<String>,
}

/// Every case command, tagged by `command`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
#[expect(
    missing_docs,
    reason = "each variant mirrors the core command of the same name"
)]
pub enum CommandRequest {
    PassScreening {
        #[serde(default)]
        note: String,
    },
    Acknowledge {
        message: String,
    },
    RequestInfo {
        question: String,
    },
    InfoReceived {
        note: String,
    },
    Triage {
        reproduced: String,
        notes: String,
        #[serde(default)]
        affected: Vec<String>,
        #[serde(default)]
        cvss_v31: Option<String>,
        #[serde(default)]
        cvss_v40: Option<String>,
        #[serde(default)]
        cwe: Option<String>,
        tlp: String,
        /// The status matrix: `project:status` (under-investigation,
        /// affected, not-affected, fixed).
        #[serde(default)]
        projects: Vec<String>,
    },
    Reject {
        reason: String,
        #[serde(default)]
        duplicate_of: Option<String>,
        explanation: String,
    },
    Revalidate {
        note: String,
    },
    AssignFixingTeam {
        coordinator: String,
        fixers: Vec<String>,
    },
    AddParticipant {
        person: String,
        role: String,
    },
    RequestAddition {
        person: String,
        role: String,
        reason: String,
    },
    ApproveAddition {
        request: u32,
    },
    DeclineAddition {
        request: u32,
        reason: String,
    },
    AddNote {
        text: String,
        /// A project: the note belongs to its part of the case.
        #[serde(default)]
        part: Option<String>,
    },
    MessageReporter {
        text: String,
    },
    Defer {
        reason: String,
    },
    Reopen {
        note: String,
    },
    ProposeTimeline {
        /// RFC 3339; absent means the next disclosure slot after the policy's lead time.
        #[serde(default)]
        disclose_at: Option<String>,
    },
    AcceptTimeline,
    DeclineTimeline {
        reason: String,
    },
    ReviseAdvisory {
        base_revision: u32,
        #[serde(flatten)]
        advisory: AdvisoryWire,
    },
    SubmitAdvisory {
        revision: u32,
    },
    ApproveAdvisory {
        revision: u32,
    },
    RequestAdvisoryChanges {
        revision: u32,
        comment: String,
    },
    AnswerCredit {
        accepted: bool,
        /// How to name you instead of the credit's name.
        #[serde(default)]
        name: Option<String>,
    },
    /// `via`: `github` or `cve_services`.
    RequestCve {
        via: String,
    },
    /// Enter a CVE obtained elsewhere.
    AssignCve {
        cve: String,
    },
    /// `host`: `builtin` (a git repository on this server), `github` (the
    /// temporary private fork of the repository advisory) or `elsewhere`
    /// (the default when a `url` is given).
    OpenPrivateFork {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        project: Option<String>,
        #[serde(default)]
        host: Option<String>,
    },
    ClosePrivateFork {
        #[serde(default)]
        project: Option<String>,
    },
    /// A further affected project's own fixing team.
    AssignProjectTeam {
        project: String,
        fixers: Vec<String>,
    },
    /// Approve this announcement text; absent: the current preview.
    ApproveAnnouncement {
        #[serde(default)]
        text: Option<String>,
    },
    /// Write the retrospective; absent text: a fresh draft from the log.
    WriteRetrospective {
        #[serde(default)]
        text: Option<String>,
    },
    MarkFixReady,
    RecordFact {
        fact: String,
    },
    CompleteReleaseStep {
        step: String,
        #[serde(default)]
        package: Option<String>,
        #[serde(default)]
        version: Option<String>,
    },
    /// Before the agreed moment (or with none agreed) publishing lifts the
    /// embargo and needs `reason`, which the reporter and the distributors
    /// are told.
    Publish {
        #[serde(default)]
        without_fix: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    Close {
        note: String,
    },
}

/// A case as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaseView {
    /// Id.
    pub id: String,
    /// Project.
    pub project: String,
    /// Title.
    pub title: String,
    /// The derived stage label.
    pub stage: String,
    /// Report handling state.
    pub handling: String,
    /// Embargo state.
    pub embargo: String,
    /// Agreed disclosure moment, while an embargo holds.
    pub disclose_at: Option<String>,
    /// When received.
    pub received_at: String,
    /// When the acknowledgement is (or was) due.
    pub ack_due: String,
    /// TLP label, once triaged.
    pub tlp: Option<String>,
    /// Advisory revision (0 before the first).
    pub advisory_revision: u32,
    /// Commands the case's state admits now.
    pub allowed: Vec<String>,
    /// Events folded.
    pub version: u64,
    /// The reporter's private status link: only in the answer that created
    /// the case (it is stored as a hash and never shown again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
    /// Work on the case that was given up after its last retry (mail,
    /// webhooks, CVE requests, CI): shown to those who see the raw
    /// messages (the SRT, the coordinator), an alert until someone acts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_jobs: Vec<FailedJob>,
    /// Why the report waits in the screening queue (stage `screening`):
    /// shown to the case's team only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screening: Vec<String>,
}

/// `POST /api/v1/screening/reject`: answer held reports with one canned
/// reply each (the rejection it records is the answer's).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScreeningReject {
    /// The cases, by id (at most 500).
    pub cases: Vec<String>,
    /// `incomplete`, `not-a-vulnerability`, `out-of-scope` or `spam`.
    pub answer: String,
}

/// One case's outcome of a bulk answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ScreeningAnswered {
    /// The case, as named.
    pub case: String,
    /// Whether it was answered and rejected.
    pub done: bool,
    /// Why not, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Another report of a case's sender (same address, or same verified key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReporterCaseView {
    /// The case.
    pub case: String,
    /// When it arrived.
    pub received_at: String,
    /// Where it stands.
    pub stage: String,
    /// Why it was rejected (`spam`, `not-a-vulnerability`, ...), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// A job given up after its last attempt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailedJob {
    /// Its idempotency key (what it was: `receipt:ID`, `cve:ID`, …).
    pub key: String,
    /// What the worker was to do.
    pub kind: String,
    /// How many times it was tried.
    pub attempts: i64,
    /// When it was given up (RFC 3339).
    pub failed_at: String,
    /// The last attempt's error.
    pub error: String,
}

/// A channel to add to the inventory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewChannel {
    /// imap, pipe, web, github, api, forum, bounty, other.
    pub kind: String,
    /// A unique name.
    pub name: String,
    /// `org` (default) or a project.
    #[serde(default)]
    pub scope: Option<String>,
    /// Seconds between checks (imap, github); default 300.
    #[serde(default)]
    pub interval_seconds: Option<i64>,
    /// What polling needs (imap: host, port, tls, username, password,
    /// mailbox, canary_address, canary_every_seconds, canary_timeout_seconds).
    #[serde(default)]
    pub settings: serde_json::Value,
}

/// A channel in the inventory, with its health.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelWire {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// `org` or a project.
    pub scope: String,
    /// Seconds between checks (0: passive).
    pub interval_seconds: i64,
    /// Last check.
    pub last_check: Option<String>,
    /// Last successful check.
    pub last_ok: Option<String>,
    /// Last message carried.
    pub last_message: Option<String>,
    /// `healthy`, or what is wrong.
    pub health: String,
    /// Whether the SRT is alerted.
    pub alert: bool,
}

/// One line of the SPEC-11 compliance report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckWire {
    /// What SPEC-11 asks.
    pub check: String,
    /// `kept`, `broken` or `no data`.
    pub status: String,
    /// The figures, and the cases that break it.
    pub detail: String,
}

/// What became of an inbound email.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailReceived {
    /// `case`, `reply`, `quarantined` or `already_received`.
    pub outcome: String,
    /// The case it made or joined.
    #[serde(default)]
    pub case_id: Option<String>,
    /// Its quarantine number.
    #[serde(default)]
    pub quarantine_id: Option<i64>,
    /// Why it is in quarantine.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One event of a case's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventView {
    /// Position in the global log.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Kind.
    pub kind: String,
    /// The event's content.
    pub data: serde_json::Value,
}

/// An error body: a stable `code` and a message for people.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiError {
    /// `not_found`, `invalid_input`, `not_allowed_now`, `conflict`, `unauthorized`, `internal`.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// `POST /api/v1/people`: invite someone (admins only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewPerson {
    /// Handle: the name used on cases and in the log.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// `admin`, `srt` or `maintainer`.
    pub role: String,
}

/// A person as the API shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonView {
    /// Handle.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Organisation role.
    pub role: String,
    /// Whether they accepted their invitation.
    pub active: bool,
    /// Projects they maintain.
    pub maintains: Vec<String>,
}

/// The answer to an invitation: the link, shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvitationView {
    /// Handle invited.
    pub id: String,
    /// The one-time link to set a password (and a second factor).
    pub invitation_url: String,
}

/// `POST /api/v1/projects` and the project view.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectWire {
    /// Name, as reports name it.
    pub name: String,
    /// Repository URLs.
    #[serde(default)]
    pub repositories: Vec<String>,
    /// Packages as `Ecosystem:name` (`PyPI:numpy`).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Supported release series.
    #[serde(default)]
    pub series: Vec<String>,
    /// Maintainers' handles.
    #[serde(default)]
    pub maintainers: Vec<String>,
}

/// `GET /api/v1/cases/{id}/release`: the timeline, forks, CI, checklist,
/// announcement and guards of a case, as far as the caller's part goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReleaseView {
    /// The agreed disclosure moment (RFC 3339), if any.
    pub disclose_at: Option<String>,
    /// A moment proposed and waiting for an answer.
    pub proposed: Option<String>,
    /// The agreed (or else proposed) moment in several time zones: `[zone, time]`.
    pub in_zones: Vec<(String, String)>,
    /// The latest moment the policy allows.
    pub latest: String,
    /// The part of the case the caller is limited to (a project), if any.
    pub part: Option<String>,
    /// The projects' teams the caller may see: `[project, [fixers]]`.
    pub teams: Vec<(String, Vec<String>)>,
    /// Private forks.
    pub forks: Vec<ForkWire>,
    /// Forks asked for and not made yet: `[project, host, asked at]`.
    #[serde(default)]
    pub fork_requests: Vec<(String, String, String)>,
    /// Forks that could not be made: `[project, why, when]`.
    #[serde(default)]
    pub fork_failures: Vec<(String, String, String)>,
    /// Test runs on built-in forks, newest last.
    pub ci_runs: Vec<CiRunWire>,
    /// Release-day checklist: `[item, done at]`.
    pub checklist: Vec<(String, Option<String>)>,
    /// The approved announcement, if any.
    pub announcement: Option<String>,
    /// When it was sent.
    pub announcement_sent: Option<String>,
    /// Embargo notices sent: `[distributor, moment announced, sent at]`.
    pub embargo_notices: Vec<(String, String, String)>,
    /// What the guards flag on this case.
    pub guards: Vec<String>,
}

/// A private fork.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForkWire {
    /// The project.
    pub project: String,
    /// `builtin`, `github` or `elsewhere`.
    pub host: String,
    /// Where (the git URL for a built-in fork).
    pub url: String,
    /// Opened.
    pub opened_at: String,
    /// Removed.
    pub closed_at: Option<String>,
}

/// A CI run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CiRunWire {
    /// The project.
    pub project: String,
    /// Branch or tag.
    pub reference: String,
    /// Commit.
    pub commit: String,
    /// Whether it passed.
    pub passed: bool,
    /// The end of its output.
    pub output: String,
    /// When.
    pub at: String,
}

/// `POST /api/v1/cases/{id}/fork-credential`: a git credential for the
/// caller's built-in fork of a project (shown once; stored as a hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForkCredential {
    /// The clone URL.
    pub url: String,
    /// The user name for HTTP basic authentication (the caller's handle).
    pub username: String,
    /// The password.
    pub password: String,
}

/// A distributor told of disclosures under embargo, encrypted to its key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DistributorWire {
    /// Its name (`debian`).
    pub name: String,
    /// Where notices go.
    pub email: String,
    /// Its OpenPGP public key, armored.
    pub key: String,
}

/// A project's release settings in force (`GET|PUT
/// /api/v1/projects/{name}/release`): what an admin saved, else the file's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSettingsWire {
    /// The repository a built-in fork is cloned from.
    #[serde(default)]
    pub upstream: Option<String>,
    /// The command run on every push to it.
    #[serde(default)]
    pub test_command: Option<String>,
    /// The lists announcements go to (absent: the `[release]` default).
    #[serde(default)]
    pub announce_to: Option<Vec<String>>,
    /// Days before the moment the distributors hear.
    #[serde(default)]
    pub prenotify_days: u16,
    /// The distributors.
    #[serde(default)]
    pub distributors: Vec<DistributorWire>,
}

/// The intake keys (`GET /api/v1/admin/intake-key`, and what `POST
/// /api/v1/admin/intake-key/rotate` leaves).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IntakeKeyWire {
    /// The key reporters encrypt to.
    pub fingerprint: String,
    /// Retired keys that still decrypt, oldest first.
    pub retired: Vec<RetiredKeyWire>,
    /// Days a retired key decrypts.
    pub retired_days: u32,
}

/// A retired intake key that still decrypts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RetiredKeyWire {
    /// Its fingerprint.
    pub fingerprint: String,
    /// When it was retired (RFC 3339).
    pub retired_at: String,
    /// Until when it decrypts (RFC 3339).
    pub until: String,
}
