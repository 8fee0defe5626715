//! `embargo.toml`: the server's configuration, with defaults for every field.

use std::net::SocketAddr;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`
    pub server: Server,
    /// `[security_txt]`
    pub security_txt: SecurityTxt,
    /// `[sla]`
    pub sla: Sla,
    /// `[disclosure]`
    pub disclosure: Disclosure,
    /// `[accounts]`
    pub accounts: Accounts,
    /// `[intake]`
    pub intake: Intake,
    /// `[smtp]`
    pub smtp: Smtp,
    /// `[[webhook]]`, any number.
    pub webhook: Vec<Webhook>,
    /// `[advisories]`
    pub advisories: Advisories,
    /// `[cve]`
    pub cve: Cve,
    /// `[release]`
    pub release: Release,
    /// `[backup]`
    pub backup: BackupSchedule,
    /// `[keys]`
    pub keys: Keys,
    /// `[storage]`
    pub storage: Storage,
    /// `[screening]`: what every project asks of a report until an admin
    /// saves a project's own policy in the browser.
    pub screening: embargo_core::screening::Policy,
}

/// Where the cases are kept.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    /// A PostgreSQL database (`postgres://USER@HOST:PORT/DB`) that every
    /// server of the deployment shares; without it, SQLite in the data
    /// directory. `--database` and `EMBARGO_DATABASE` override it.
    pub database: Option<String>,
    /// On PostgreSQL, how many connections each server keeps for reads
    /// (2 to 100; the writer has one more of its own). Every server of the
    /// deployment holds this many: their sum stays under the database's
    /// `max_connections`.
    pub connections: u32,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            database: None,
            connections: 8,
        }
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("Storage")
            .field("database", &self.database.as_ref().map(|_| "(set)"))
            .field("connections", &self.connections)
            .finish()
    }
}

/// A database URL without its password, to name it in a message.
pub fn redacted(url: &str) -> String {
    // The user information is what stands before the last `@` after the
    // scheme; the password is what follows its first `:`.
    match url
        .split_once("://")
        .and_then(|(scheme, rest)| Some((scheme, rest.rsplit_once('@')?)))
    {
        Some((scheme, (userinfo, host))) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// Whether `url` names a database this embargo can use.
pub fn check_database_url(url: &str) -> Result<(), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err(format!(
            "storage.database must be a postgres:// URL, not {}",
            redacted(url)
        ))
    }
}

/// Where the keys live and how long a retired intake key still decrypts.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Keys {
    /// The master key file (absolute, or under the data directory), so
    /// that it can live apart from the data a backup copies.
    pub master_key: std::path::PathBuf,
    /// Days a retired intake key still decrypts what reporters encrypted
    /// to it (mail in flight, a reporter with the old key cached).
    pub retired_intake_days: u32,
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            master_key: "master.key".into(),
            retired_intake_days: 30,
        }
    }
}

/// Scheduled backups: `embargo backup` on a timer, run by one server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSchedule {
    /// Where the archives go (absolute, or under the data directory);
    /// none: no scheduled backups.
    pub dir: Option<std::path::PathBuf>,
    /// Hours between backups.
    pub every_hours: u32,
    /// How many archives are kept (the oldest go).
    pub keep: u32,
    /// Put the master key in each archive (such an archive is the vault).
    pub include_master_key: bool,
}

impl Default for BackupSchedule {
    fn default() -> Self {
        Self {
            dir: None,
            every_hours: 24,
            keep: 7,
            include_master_key: false,
        }
    }
}

/// Release day: forks, CI, announcements, distributors, retrospectives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Release {
    /// Lists every announcement goes to (a project's `announce_to` replaces them).
    pub announce_to: Vec<String>,
    /// Days after disclosure when the retrospective is drafted.
    pub retrospective_after_days: u16,
    /// Hours a private fork may outlive the disclosure before the guard flags it.
    pub fork_grace_hours: u16,
    /// Hours a released fix may wait for its public advisory before the guard flags it.
    pub advisory_grace_hours: u16,
    /// The longest a test run on a built-in fork may take.
    pub ci_timeout_seconds: u32,
    /// Per project.
    pub projects: std::collections::BTreeMap<String, ReleaseProject>,
}

impl Default for Release {
    fn default() -> Self {
        Self {
            announce_to: Vec::new(),
            retrospective_after_days: 3,
            fork_grace_hours: 24,
            advisory_grace_hours: 24,
            ci_timeout_seconds: 900,
            projects: std::collections::BTreeMap::new(),
        }
    }
}

/// One project's release settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReleaseProject {
    /// Lists its announcements go to (instead of `[release] announce_to`).
    pub announce_to: Option<Vec<String>>,
    /// Its own announcement template (minijinja), instead of the built-in one.
    pub announcement_template: Option<String>,
    /// The repository a built-in fork is cloned from (a URL or a path);
    /// defaults to the project's first repository.
    pub upstream: Option<String>,
    /// The command run on every push to its built-in fork (`sh -c`).
    pub test_command: Option<String>,
    /// Days before the disclosure moment its distributors are told.
    pub prenotify_days: u16,
    /// Distributors and downstream lists pre-notified under embargo.
    pub distributors: Vec<Distributor>,
}

/// A distributor or downstream list: embargo notices go to it encrypted.
#[derive(Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Distributor {
    /// Its name (`debian`, `conda-forge`).
    pub name: String,
    /// Where notices go.
    pub email: String,
    /// Its OpenPGP certificate, ASCII-armored: notices are sent only encrypted.
    pub key: String,
}

impl std::fmt::Debug for Distributor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Distributor")
            .field("name", &self.name)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// Who publishes the advisories, for the formats that name a publisher.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Advisories {
    /// The publisher's name (CSAF `publisher.name`, Atom author).
    pub publisher: String,
    /// The publisher's web address (CSAF `publisher.namespace`); defaults
    /// to `[server] public_url`.
    pub namespace: Option<String>,
}

impl Default for Advisories {
    fn default() -> Self {
        Self {
            publisher: "Security Response Team".into(),
            namespace: None,
        }
    }
}

/// How CVE ids are obtained: as a CNA through CVE Services, or through
/// GitHub's repository advisories.
#[derive(Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Cve {
    /// The CNA's organisation UUID (CVE records' `orgId`).
    pub org_id: Option<String>,
    /// The CNA's short name (`CVE-API-ORG`).
    pub short_name: Option<String>,
    /// CVE Services' base URL, e.g. `https://cveawg.mitre.org/api`.
    pub services_url: Option<String>,
    /// CVE Services user (`CVE-API-USER`).
    pub api_user: Option<String>,
    /// CVE Services API key (`CVE-API-KEY`).
    pub api_key: Option<String>,
    /// GitHub's API base URL (default `https://api.github.com`).
    pub github_api_url: Option<String>,
    /// A GitHub token allowed to manage the repositories' security advisories.
    pub github_token: Option<String>,
}

impl std::fmt::Debug for Cve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cve")
            .field("org_id", &self.org_id)
            .field("short_name", &self.short_name)
            .field("services_url", &self.services_url)
            .field("api_user", &self.api_user)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("github_api_url", &self.github_api_url)
            .field(
                "github_token",
                &self.github_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A chat or automation endpoint that gets the same notices as the team's
/// mail: case id, stage, what is due, a link. Never report text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Where to send. For `matrix`, the room's send URL up to the room id:
    /// `https://matrix.example.org/_matrix/client/v3/rooms/!room:example.org`.
    pub url: String,
    /// `json` (embargo's own), `slack` (incoming webhook), `zulip`
    /// (send-message API) or `matrix` (client-server API).
    #[serde(default = "json_format")]
    pub format: String,
    /// Bearer token (matrix), or `email:api-key` for zulip's basic auth.
    #[serde(default)]
    pub token: Option<String>,
    /// The Zulip stream.
    #[serde(default)]
    pub stream: Option<String>,
}

fn json_format() -> String {
    "json".into()
}

/// Where and as what the server is reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// The public base URL (used in security.txt); defaults to the address bound.
    pub public_url: Option<String>,
    /// Seconds a background pass may take before `/healthz` calls its loop
    /// stalled (the long lane gets `[release] ci_timeout_seconds` more).
    pub stall_seconds: u32,
    /// Seconds a server's claim on a job lasts without renewal. A server
    /// renews its claims every third of this while it works on them, so a
    /// slow job stays its own; when a server dies, the jobs it held are
    /// done by another server this long after its last renewal.
    pub job_lease_seconds: u32,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            stall_seconds: 120,
            job_lease_seconds: 60,
        }
    }
}

/// RFC 9116 fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityTxt {
    /// `Contact:` lines (mailto: or https: URIs).
    pub contact: Vec<String>,
    /// `Policy:` URL.
    pub policy: Option<String>,
    /// `Preferred-Languages:`.
    pub preferred_languages: String,
    /// `Expires:` is this many days from the time of the request.
    pub expires_days: u16,
}

impl Default for SecurityTxt {
    fn default() -> Self {
        Self {
            contact: vec!["mailto:security@example.org".into()],
            policy: None,
            preferred_languages: "en".into(),
            expires_days: 180,
        }
    }
}

/// Service levels.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sla {
    /// Hours to acknowledge a report.
    pub acknowledge_hours: u16,
    /// Warnings when this share (percent) of the window has passed unanswered.
    pub warn_at_percent: Vec<u8>,
    /// Organisation roles warned and, after the deadline, escalated to.
    pub notify_roles: Vec<String>,
    /// People (handles) warned and escalated to besides those roles.
    pub notify_people: Vec<String>,
    /// Hour (UTC) at which daily digests go out to those who chose them.
    pub digest_hour_utc: i8,
    /// Days from acknowledgement to triage.
    pub triage_days: u32,
    /// Days from triage to a fix ready, by severity.
    pub fix_days: SeverityDays,
    /// Days from the report to disclosure, by severity.
    pub disclose_days: SeverityDays,
    /// Count windows in business days (Monday to Friday, not `holidays`).
    pub business_days: bool,
    /// Days that do not count as business days.
    pub holidays: Vec<jiff::civil::Date>,
    /// Per-project changes: `[sla.projects.NAME]`.
    pub projects: std::collections::BTreeMap<String, SlaOverride>,
}

/// Days per severity.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityDays {
    /// Critical.
    pub critical: u32,
    /// High.
    pub high: u32,
    /// Medium (and not yet scored).
    pub medium: u32,
    /// Low.
    pub low: u32,
}

impl From<SeverityDays> for embargo_core::sla::BySeverity {
    fn from(d: SeverityDays) -> Self {
        Self {
            critical: d.critical,
            high: d.high,
            medium: d.medium,
            low: d.low,
        }
    }
}

/// What a project changes of the organisation's policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaOverride {
    /// Hours to acknowledge.
    pub acknowledge_hours: Option<u16>,
    /// Days to triage.
    pub triage_days: Option<u32>,
    /// Days to a fix, by severity.
    pub fix_days: Option<SeverityDays>,
    /// Days to disclosure, by severity.
    pub disclose_days: Option<SeverityDays>,
    /// Business days or calendar days.
    pub business_days: Option<bool>,
}

impl Default for Sla {
    fn default() -> Self {
        Self {
            acknowledge_hours: 24,
            warn_at_percent: vec![50, 90],
            notify_roles: vec!["srt".into()],
            notify_people: Vec::new(),
            digest_hour_utc: 8,
            triage_days: 7,
            fix_days: SeverityDays {
                critical: 7,
                high: 30,
                medium: 60,
                low: 90,
            },
            disclose_days: SeverityDays {
                critical: 14,
                high: 45,
                medium: 90,
                low: 120,
            },
            business_days: false,
            holidays: Vec::new(),
            projects: std::collections::BTreeMap::new(),
        }
    }
}

/// Disclosure slots.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Disclosure {
    /// Hour of day (UTC) of the disclosure slot.
    pub hour_utc: i8,
    /// UTC dates on which nothing is disclosed.
    pub holidays: Vec<jiff::civil::Date>,
    /// Kept for older files; the lead time now comes from `lead_days`.
    pub default_lead_days: u16,
    /// Days from a proposal to the earliest disclosure, by severity.
    pub lead_days: SeverityDays,
    /// Extra days per supported series past the first.
    pub per_series_days: u32,
    /// Extra days per further affected project.
    pub per_project_days: u32,
    /// The longest embargo, in days from the report.
    pub max_embargo_days: u32,
    /// Extra days a low-severity embargo may run.
    pub low_extension_days: u32,
    /// Time zones the disclosure moment is shown in, besides UTC.
    pub show_zones: Vec<String>,
}

impl Default for Disclosure {
    /// The core's defaults (`TimelinePolicy::default`), written once.
    fn default() -> Self {
        let t = embargo_core::timeline::TimelinePolicy::default();
        Self {
            hour_utc: t.rule.hour_utc,
            holidays: Vec::new(),
            default_lead_days: 7,
            lead_days: SeverityDays {
                critical: t.lead_days.critical,
                high: t.lead_days.high,
                medium: t.lead_days.medium,
                low: t.lead_days.low,
            },
            per_series_days: t.per_series_days,
            per_project_days: t.per_project_days,
            max_embargo_days: t.max_embargo_days,
            low_extension_days: t.low_extension_days,
            show_zones: vec![
                "America/Los_Angeles".into(),
                "America/New_York".into(),
                "Europe/Berlin".into(),
                "Asia/Kolkata".into(),
                "Asia/Tokyo".into(),
            ],
        }
    }
}

/// Sign-in, sessions and invitations.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Accounts {
    /// Organisation roles that must enrol a TOTP second factor.
    pub require_totp: Vec<String>,
    /// Hours a session lasts.
    pub session_hours: u16,
    /// Days an invitation link stays valid.
    pub invitation_days: u16,
    /// Failed sign-ins allowed before each further attempt must wait.
    pub free_failures: u16,
    /// Seconds the first wait lasts; each further failure doubles it.
    pub throttle_seconds: u32,
    /// Failed sign-ins after which the account is locked until an admin unlocks it.
    pub lock_after: u16,
    /// Sign-in attempts one network address may make per window ...
    pub attempts_per_address: u32,
    /// ... of this many seconds.
    pub address_window_seconds: u32,
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            require_totp: vec!["admin".into(), "srt".into()],
            session_hours: 12,
            invitation_days: 7,
            free_failures: 4,
            throttle_seconds: 30,
            lock_after: 10,
            attempts_per_address: 30,
            address_window_seconds: 600,
        }
    }
}

/// The file written on first start: every setting, commented, at its default.
pub const DEFAULT_FILE: &str = r#"# embargo configuration. Every setting is shown at its default; uncomment to change.

[server]
# Address to listen on (`embargo serve --bind` overrides it).
# bind = "127.0.0.1:8080"
# Public base URL, used in security.txt. Defaults to http://<the address bound>.
# public_url = "https://security.example.org"
# /healthz fails when a background pass (timers, mail, polls) has not ended
# for this long; the CI lane gets [release] ci_timeout_seconds more.
# stall_seconds = 120
# A server's claim on a job (a mail, a webhook, a CI run) lasts this long and
# is renewed while the server works on it; when a server dies, another one
# does its jobs this long after its last renewal.
# job_lease_seconds = 60

[security_txt]
# RFC 9116 fields served at /.well-known/security.txt. Set your real contact.
# contact = ["mailto:security@example.org"]
# policy = "https://example.org/security-policy"
# preferred_languages = "en"
# Expires is this many days after each request.
# expires_days = 180

[sla]
# Hours within which every report is acknowledged (SPEC-11: 24).
# acknowledge_hours = 24
# Reminders when this share of the window has passed unanswered, and an
# escalation just after the deadline, mailed to these organisation roles.
# warn_at_percent = [50, 90]
# notify_roles = ["srt"]
# notify_people = ["alice"]
# People may choose a daily digest instead (their account page); it goes out
# at this hour, UTC.
# digest_hour_utc = 8
# Days from acknowledgement to triage; from triage to a fix ready, and from
# the report to disclosure, by severity (a case not yet scored counts as
# medium). Each window warns at warn_at_percent and escalates after it.
# triage_days = 7
# fix_days = { critical = 7, high = 30, medium = 60, low = 90 }
# disclose_days = { critical = 14, high = 45, medium = 90, low = 120 }
# Count days as business days (Monday to Friday, not these holidays).
# business_days = false
# holidays = ["2026-12-24", "2026-12-25"]
#
# A project may change any of acknowledge_hours, triage_days, fix_days,
# disclose_days and business_days:
# [sla.projects.numpy]
# fix_days = { critical = 3, high = 14, medium = 30, low = 60 }

[disclosure]
# Disclosure slots: this hour (UTC) on Monday to Thursday, except holidays.
# hour_utc = 16
# holidays = ["2026-12-24", "2026-12-31"]
# A timeline proposed without a date: the lead time for the case's severity
# (time to fix, test and release), plus days per further supported series
# and per further affected project, then the next slot; never past the
# maximum embargo from the report (longer for low severity).
# lead_days = { critical = 3, high = 7, medium = 14, low = 30 }
# per_series_days = 2
# per_project_days = 7
# max_embargo_days = 90
# low_extension_days = 90
# Time zones the disclosure moment is shown in, besides UTC.
# show_zones = ["America/Los_Angeles", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo"]

[release]
# At the disclosure moment the approved advisory goes public, the approved
# announcement goes to these lists (plain-text email) and a GitHub advisory
# is published. A project's own announce_to replaces this list.
# announce_to = ["announce@example.org"]
# Days after disclosure when the retrospective is drafted from the log.
# retrospective_after_days = 3
# Guards: a fork still alive, or a released fix whose advisory is still
# private, after this many hours.
# fork_grace_hours = 24
# advisory_grace_hours = 24
# The longest a test run on a built-in private fork may take.
# ci_timeout_seconds = 900

# [backup]
# Scheduled backups (as `embargo backup`): an archive every every_hours
# into dir (absolute, or under the data directory), the newest keep kept.
# The master key goes in only with include_master_key (such an archive is
# the vault itself); /metrics shows the last good backup's age.
# dir = "backups"
# every_hours = 24
# keep = 7
# include_master_key = false

# [keys]
# The master key file (absolute, or under the data directory). Put it
# outside the data directory so that copies of the data do not carry it.
# `embargo keys rotate-master` moves every case to a new one, online.
# master_key = "master.key"
# After `embargo keys rotate-intake`, days the old intake key still
# decrypts what reporters encrypted to it.
# retired_intake_days = 30

# [storage]
# A PostgreSQL database that every server of the deployment shares, for
# more than one server behind a load balancer. Without it, cases are kept
# in SQLite in the data directory (embargo.db). `--database` and
# EMBARGO_DATABASE override this. The data directory still holds the
# configuration and the keys, which every server of one deployment shares.
# database = "postgres://embargo@db.example.org:5432/embargo"
# On PostgreSQL, the connections each server keeps for reads (2 to 100),
# and one more for its writer: keep the servers' sum under the database's
# max_connections.
# connections = 8

# [release.projects.numpy]
# announce_to = ["numpy-announce@example.org"]
# The built-in fork is cloned from here, and this runs on every push.
# upstream = "https://github.com/numpy/numpy.git"
# test_command = "python -m pytest -x"
# Distributors hear of the embargo this many days before the moment, by
# OpenPGP-encrypted mail only; a moved date sends a new notice.
# prenotify_days = 5
# [[release.projects.numpy.distributors]]
# name = "debian"
# email = "security@debian.org"
# key = """-----BEGIN PGP PUBLIC KEY BLOCK----- ..."""
# Its own announcement template (minijinja; the built-in one otherwise):
# announcement_template = """Subject: ..."""

[accounts]
# Organisation roles (admin, srt, maintainer) that must enrol a TOTP code.
# require_totp = ["admin", "srt"]
# Hours a web session lasts.
# session_hours = 12
# Days an invitation link stays valid.
# invitation_days = 7
# Failed sign-ins allowed before each further attempt must wait ...
# free_failures = 4
# ... this many seconds, doubling with each further failure ...
# throttle_seconds = 30
# ... until this many failures lock the account (an admin unlocks it).
# lock_after = 10
# Sign-in attempts one network address may make (any handles) per window.
# attempts_per_address = 30
# address_window_seconds = 600

[advisories]
# The publisher named in CSAF documents and feeds.
# publisher = "Security Response Team"
# Its web address (CSAF publisher namespace); defaults to [server] public_url.
# namespace = "https://example.org"

[cve]
# As a CNA: the organisation's UUID and short name, and CVE Services.
# org_id = "00000000-0000-4000-8000-000000000000"
# short_name = "example"
# services_url = "https://cveawg.mitre.org/api"
# api_user = "alice@example.org"
# api_key = "..."
# Through GitHub: a token that may manage the repositories' security
# advisories (the case's GHSA id and its project's repository are used).
# github_api_url = "https://api.github.com"
# github_token = "..."

[intake]
# The team's reporting address: receipts come from it, replies go to it.
# address = "security@example.org"
# The project an email report is filed under until triage says otherwise.
# default_project = "unassigned"
# The largest message or form submission kept, in bytes (a larger email is
# quarantined with the reason, a larger form is refused).
# max_message_bytes = 26214400
# Attachments: how many per report, and the largest, in bytes.
# max_attachments = 5
# max_attachment_bytes = 10485760
# Web form submissions one network address may make per window of seconds.
# submissions_per_address = 10
# submission_window_seconds = 3600
# ... and one network (an IPv4 /24, an IPv6 /48) in the same window.
# submissions_per_network = 30
# New reports per minute from every channel together (0: no budget). Past
# it, senders with no earlier report that stood are held (email in
# quarantine, the form asked to wait); known reporters still file.
# reports_per_minute = 600
# New email reports per window from one sender address, one sender domain
# and one OpenPGP key (0: no limit). More are kept in quarantine with the
# reason "over the limit", never dropped and never a case with a clock; the
# SRT can file one as a case from there.
# mail_per_sender = 10
# mail_per_domain = 100
# mail_per_key = 10

[screening]
# New reports that lack what a report needs, or look like noise, wait in a
# screening queue beside the inbox, with the reasons; their 24-hour clock
# runs as for any report. Each project's page can set its own policy; this
# is the default. The report form shows the policy in force.
# require_reproduction = false  # steps with code, or a proof-of-concept file
# require_version = false       # an affected version (one of known_versions, if listed)
# require_component = false     # one of components, by name
# components = ["numpy.load", "f2py"]
# known_versions = ["2.0.2", "2.1.3"]
# Senders with this many earlier reports rejected (spam, not a
# vulnerability, out of scope, not reproducible) are held (0: never).
# rejected_before = 2
# What the project does not treat as a vulnerability; a report holding
# every word of an entry's match is held with the entry named.
# [[screening.not_vulnerabilities]]
# title = "Loading untrusted pickles"
# match = ["pickle", "untrusted"]
# why = "allow_pickle=True runs code by design; the documentation says so."

# [[webhook]]
# Notices (reminders and escalations: case id, stage, what is due, a link)
# also go to chat. format: json, slack, zulip or matrix. Any number.
# url = "https://hooks.slack.com/services/..."
# format = "slack"
# token = "..."      # matrix: access token; zulip: "bot-email:api-key"
# stream = "security" # zulip only

[smtp]
# The server receipts and messages to reporters go out through. Without a
# host nothing is mailed; reporters still have their status page.
# host = "smtp.example.org"
# port = 587
# security = "starttls"   # or "tls" (implicit, 465), or "none" (a relay on this machine only)
# username = "security@example.org"
# password = "..."
# The longest one message's exchange with the server may take. Messages
# share connections (at most 4, each closed after a minute unused); one
# that ran out of time is closed and the next message opens a new one.
# timeout_seconds = 30
"#;

impl Config {
    /// The whole service-level policy for `project`: `[sla]` with the
    /// project's `[sla.projects.NAME]` changes.
    pub fn sla_policy(&self, project: &str) -> embargo_core::sla::Policy {
        let o = self.sla.projects.get(project).cloned().unwrap_or_default();
        embargo_core::sla::Policy {
            ack: embargo_core::sla::AckPolicy {
                within: jiff::SignedDuration::from_hours(i64::from(
                    o.acknowledge_hours.unwrap_or(self.sla.acknowledge_hours),
                )),
            },
            triage_days: o.triage_days.unwrap_or(self.sla.triage_days),
            fix_days: o.fix_days.unwrap_or(self.sla.fix_days).into(),
            disclose_days: o.disclose_days.unwrap_or(self.sla.disclose_days).into(),
            business_days: o.business_days.unwrap_or(self.sla.business_days),
            holidays: self.sla.holidays.iter().copied().collect(),
            warn_at: self.sla.warn_at_percent.clone(),
        }
    }

    /// The acknowledgement policy for one case's project.
    pub fn ack_policy_for(&self, case: &embargo_core::Case) -> embargo_core::sla::AckPolicy {
        self.sla_policy(&case.report.project).ack
    }

    /// The acknowledgement policy from `[sla]`.
    pub fn ack_policy(&self) -> embargo_core::sla::AckPolicy {
        embargo_core::sla::AckPolicy {
            within: jiff::SignedDuration::from_hours(i64::from(self.sla.acknowledge_hours)),
        }
    }

    /// The timeline policy from `[disclosure]`.
    pub fn timeline_policy(&self) -> embargo_core::timeline::TimelinePolicy {
        let d = &self.disclosure;
        embargo_core::timeline::TimelinePolicy {
            rule: self.disclosure_rule(),
            lead_days: d.lead_days.into(),
            per_series_days: d.per_series_days,
            per_project_days: d.per_project_days,
            max_embargo_days: d.max_embargo_days,
            low_extension_days: d.low_extension_days,
        }
    }

    /// A project's release settings (the defaults when it has none).
    pub fn release_project(&self, project: &str) -> &ReleaseProject {
        static NONE: ReleaseProject = ReleaseProject {
            announce_to: None,
            announcement_template: None,
            upstream: None,
            test_command: None,
            prenotify_days: 0,
            distributors: Vec::new(),
        };
        self.release.projects.get(project).unwrap_or(&NONE)
    }

    /// The announcement template for a case's project.
    pub fn announcement_template(&self, project: &str) -> &str {
        self.release_project(project)
            .announcement_template
            .as_deref()
            .unwrap_or(embargo_formats::announcement::DEFAULT_TEMPLATE)
    }

    /// The lists a project's announcement goes to.
    pub fn announce_to(&self, project: &str) -> &[String] {
        self.release_project(project)
            .announce_to
            .as_deref()
            .unwrap_or(&self.release.announce_to)
    }

    /// The guards' grace periods: for a fork after disclosure, and for a
    /// released fix's advisory.
    pub fn guard_graces(&self) -> (jiff::SignedDuration, jiff::SignedDuration) {
        let hours = |h: u16| jiff::SignedDuration::from_hours(i64::from(h));
        (
            hours(self.release.fork_grace_hours),
            hours(self.release.advisory_grace_hours),
        )
    }

    /// The disclosure-slot rule from `[disclosure]`.
    pub fn disclosure_rule(&self) -> embargo_core::timeline::DisclosureRule {
        embargo_core::timeline::DisclosureRule {
            hour_utc: self.disclosure.hour_utc,
            holidays: self.disclosure.holidays.iter().copied().collect(),
        }
    }

    /// Whether people with this role must enrol TOTP.
    pub fn totp_required(&self, role: embargo_core::access::OrgRole) -> bool {
        self.accounts.require_totp.iter().any(|r| r == role.name())
    }

    /// Parses and checks the file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        if !(0..24).contains(&config.disclosure.hour_utc) {
            return Err(format!(
                "disclosure.hour_utc must be 0 to 23, not {}",
                config.disclosure.hour_utc
            ));
        }
        if config.security_txt.contact.is_empty() {
            return Err("security_txt.contact needs at least one mailto: or https: URI".into());
        }
        if let Some(url) = &config.storage.database {
            check_database_url(url)?;
        }
        if !(2..=100).contains(&config.storage.connections) {
            return Err(format!(
                "storage.connections must be 2 to 100, not {}",
                config.storage.connections
            ));
        }
        if !(1..=8_760).contains(&config.backup.every_hours) {
            return Err("backup.every_hours must be 1 to 8760".into());
        }
        if !(1..=1_000).contains(&config.backup.keep) {
            return Err("backup.keep must be 1 to 1000".into());
        }
        if !(2..=86_400).contains(&config.server.stall_seconds) {
            return Err("server.stall_seconds must be 2 to 86400".into());
        }
        if !(3..=3_600).contains(&config.server.job_lease_seconds) {
            return Err("server.job_lease_seconds must be 3 to 3600".into());
        }
        if config.keys.master_key.as_os_str().is_empty() {
            return Err("keys.master_key must name a file".into());
        }
        if config.keys.retired_intake_days > 3_650 {
            return Err("keys.retired_intake_days must be 0 to 3650".into());
        }
        // The same rules as a policy saved in the browser.
        config
            .screening
            .check()
            .map_err(|e| format!("[screening]: {e}"))?;
        // Each value becomes one line of security.txt: a line break or a
        // control character would inject another field.
        let one_line = |field: &str, v: &str| {
            if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
                Err(format!(
                    "{field} {v:?} holds a line break, a control character or a space; \
                     each value is one line of security.txt"
                ))
            } else {
                Ok(())
            }
        };
        for c in &config.security_txt.contact {
            one_line("security_txt.contact", c)?;
            if !(c.starts_with("mailto:") || c.starts_with("https://") || c.starts_with("tel:")) {
                return Err(format!(
                    "security_txt.contact `{c}` must be a mailto:, https: or tel: URI"
                ));
            }
        }
        if let Some(p) = &config.security_txt.policy {
            one_line("security_txt.policy", p)?;
            if !p.starts_with("https://") {
                return Err(format!(
                    "security_txt.policy `{p}` must be an https:// URL (RFC 9116)"
                ));
            }
        }
        // RFC 9116: a comma-separated list of language tags (RFC 5646).
        for tag in config.security_txt.preferred_languages.split(',') {
            let tag = tag.trim();
            let mut parts = tag.split('-');
            let primary = parts.next().unwrap_or_default();
            let ok = (2..=8).contains(&primary.len())
                && primary.chars().all(|c| c.is_ascii_alphabetic())
                && parts.all(|p| {
                    (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric())
                });
            if !ok {
                return Err(format!(
                    "security_txt.preferred_languages {:?} must be language tags separated by commas, such as \"en, fr\" (RFC 9116, RFC 5646)",
                    config.security_txt.preferred_languages
                ));
            }
        }
        if let Some(url) = &config.server.public_url {
            one_line("server.public_url", url)?;
            let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
                .iter()
                .any(|l| {
                    url == l
                        || url.starts_with(&format!("{l}:"))
                        || url.starts_with(&format!("{l}/"))
                });
            if !url.starts_with("https://") && !local {
                return Err(format!(
                    "server.public_url `{url}` must be an https:// URL: it is the address in every link, \
                     feed and security.txt (plain http is accepted only for localhost)"
                ));
            }
        }
        for w in &config.webhook {
            if !["json", "slack", "zulip", "matrix"].contains(&w.format.as_str()) {
                return Err(format!(
                    "webhook.format must be json, slack, zulip or matrix, not `{}`",
                    w.format
                ));
            }
            if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                return Err(format!("webhook.url `{}` must be an http(s) URL", w.url));
            }
        }
        for role in &config.sla.notify_roles {
            role.parse::<embargo_core::access::OrgRole>()
                .map_err(|e| format!("sla.notify_roles: {e}"))?;
        }
        if config
            .sla
            .warn_at_percent
            .iter()
            .any(|p| *p == 0 || *p >= 100)
        {
            return Err("sla.warn_at_percent values must be 1 to 99".into());
        }
        for role in &config.accounts.require_totp {
            role.parse::<embargo_core::access::OrgRole>()
                .map_err(|e| format!("accounts.require_totp: {e}"))?;
        }
        if config.accounts.lock_after <= config.accounts.free_failures {
            return Err("accounts.lock_after must be larger than accounts.free_failures".into());
        }
        if config.accounts.session_hours == 0 || config.accounts.invitation_days == 0 {
            return Err(
                "accounts.session_hours and accounts.invitation_days must be at least 1".into(),
            );
        }
        if !["none", "starttls", "tls"].contains(&config.smtp.security.as_str()) {
            return Err(format!(
                "smtp.security must be none, starttls or tls, not `{}`",
                config.smtp.security
            ));
        }
        if config.intake.max_attachment_bytes > config.intake.max_message_bytes {
            return Err(
                "intake.max_attachment_bytes must not exceed intake.max_message_bytes".into(),
            );
        }
        if !config.intake.address.contains('@') {
            return Err(format!(
                "intake.address `{}` is not an email address",
                config.intake.address
            ));
        }
        for zone in &config.disclosure.show_zones {
            jiff::tz::TimeZone::get(zone)
                .map_err(|e| format!("disclosure.show_zones: `{zone}`: {e}"))?;
        }
        for address in &config.release.announce_to {
            if !address.contains('@') {
                return Err(format!(
                    "release.announce_to `{address}` is not an email address"
                ));
            }
        }
        for (name, p) in &config.release.projects {
            if let Some(t) = &p.announcement_template {
                let mut env = minijinja::Environment::new();
                env.add_template("t", t)
                    .map_err(|e| format!("release.projects.{name}.announcement_template: {e}"))?;
            }
            for d in &p.distributors {
                if !d.email.contains('@') {
                    return Err(format!(
                        "release.projects.{name}.distributors: `{}` is not an email address",
                        d.email
                    ));
                }
                embargo_pgp::Certificate::parse(d.key.as_bytes()).map_err(|e| {
                    format!(
                        "release.projects.{name}.distributors `{}`: the key does not read: {e}",
                        d.name
                    )
                })?;
            }
            if !p.distributors.is_empty() && p.prenotify_days == 0 {
                return Err(format!(
                    "release.projects.{name}.prenotify_days: say how many days ahead distributors hear (at least 1)"
                ));
            }
        }
        if config.security_txt.expires_days == 0 || config.security_txt.expires_days > 365 {
            return Err(
                "security_txt.expires_days must be 1 to 365 (RFC 9116 advises under a year)".into(),
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_is_named_without_its_password_and_bad_ones_are_refused() {
        assert_eq!(
            redacted("postgres://embargo:s3cr@t:x@db.example.org:5432/embargo"),
            "postgres://embargo@db.example.org:5432/embargo"
        );
        assert_eq!(
            redacted("postgres://db.example.org/embargo"),
            "postgres://db.example.org/embargo"
        );
        // An `@` before the scheme, or no scheme at all: named as given,
        // never a panic.
        assert_eq!(redacted("a@b://c"), "a@b://c");
        assert_eq!(redacted("no-scheme@here"), "no-scheme@here");
        let refused =
            Config::parse("[storage]\ndatabase = \"mysql://u:hunter2@h/db\"\n").unwrap_err();
        assert!(refused.contains("postgres://"), "{refused}");
        assert!(!refused.contains("hunter2"), "{refused}");
        let ok = Config::parse("[storage]\ndatabase = \"postgresql://u@h/db\"\n").unwrap();
        assert_eq!(ok.storage.database.as_deref(), Some("postgresql://u@h/db"));
        assert_eq!(ok.storage.connections, 8, "the default");
        let sized = Config::parse("[storage]\nconnections = 20\n").unwrap();
        assert_eq!(sized.storage.connections, 20);
        let refused = Config::parse("[storage]\nconnections = 1\n").unwrap_err();
        assert!(
            refused.contains("storage.connections must be 2 to 100"),
            "{refused}"
        );
    }

    #[test]
    fn a_project_changes_only_what_it_names() {
        let c = Config::parse(
            "[sla]\nbusiness_days = true\n[sla.projects.numpy]\nacknowledge_hours = 12\nfix_days = { critical = 3, high = 14, medium = 30, low = 60 }\n",
        )
        .unwrap();
        let numpy = c.sla_policy("numpy");
        assert_eq!(numpy.ack.within, jiff::SignedDuration::from_hours(12));
        assert_eq!(numpy.fix_days.high, 14);
        assert_eq!(
            numpy.disclose_days.high, 45,
            "not changed: the organisation's"
        );
        assert!(numpy.business_days, "inherited");
        let scipy = c.sla_policy("scipy");
        assert_eq!((scipy.ack.within.as_hours(), scipy.fix_days.high), (24, 30));
        assert!(Config::parse("[sla.projects.numpy]\nfix_days = { critical = 3 }\n").is_err());
    }

    #[test]
    fn the_written_file_parses_to_the_defaults() {
        let c = Config::parse(DEFAULT_FILE).unwrap();
        assert_eq!(c.sla_policy("any").fix_days.high, 30);
        assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.sla.acknowledge_hours, 24);
    }

    #[test]
    fn release_settings_are_checked_at_start() {
        let broken =
            Config::parse("[release.projects.numpy]\nannouncement_template = \"{% for x in %}\"\n")
                .unwrap_err();
        assert!(
            broken.contains("release.projects.numpy.announcement_template"),
            "{broken}"
        );
        let no_key = Config::parse(
            "[release.projects.numpy]\nprenotify_days = 3\n[[release.projects.numpy.distributors]]\nname = \"debian\"\nemail = \"security@debian.org\"\nkey = \"not a key\"\n",
        )
        .unwrap_err();
        assert!(no_key.contains("the key does not read"), "{no_key}");
        let zone = Config::parse("[disclosure]\nshow_zones = [\"Mars/Olympus\"]\n").unwrap_err();
        assert!(zone.contains("Mars/Olympus"), "{zone}");
        let list = Config::parse("[release]\nannounce_to = [\"announce\"]\n").unwrap_err();
        assert!(list.contains("not an email address"), "{list}");
        // The defaults are the core's timeline policy.
        let c = Config::parse("").unwrap();
        assert_eq!(
            c.timeline_policy(),
            embargo_core::timeline::TimelinePolicy::default()
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        assert!(
            Config::parse("[sla]\nacknowledge_hours = \"soon\"")
                .unwrap_err()
                .contains("invalid type")
        );
        assert!(
            Config::parse("[slaa]")
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            Config::parse("[disclosure]\nhour_utc = 25")
                .unwrap_err()
                .contains("0 to 23")
        );
        // A screening rule that could hold nothing is refused at start,
        // as the browser refuses it.
        let screening = Config::parse("[screening]\nrequire_component = true\n").unwrap_err();
        assert!(
            screening.contains("[screening]") && screening.contains("components"),
            "{screening}"
        );
        assert!(
            Config::parse("[screening]\nrequire_component = true\ncomponents = [\"io\"]\n").is_ok()
        );
    }

    #[test]
    fn security_txt_values_are_one_line_and_well_formed() {
        for (text, problem) in [
            (
                "[security_txt]\ncontact = [\"mailto:a@example.org\\nPolicy: https://evil.example\"]",
                "line break",
            ),
            (
                "[security_txt]\npolicy = \"https://example.org/p\\r\\nContact: x\"",
                "line break",
            ),
            (
                "[security_txt]\npolicy = \"http://example.org/policy\"",
                "https://",
            ),
            (
                "[security_txt]\npreferred_languages = \"english please\"",
                "language tags",
            ),
            (
                "[security_txt]\npreferred_languages = \"en,\"",
                "language tags",
            ),
            (
                "[server]\npublic_url = \"http://security.example.org\"",
                "must be an https:// URL",
            ),
        ] {
            let err = Config::parse(text).unwrap_err();
            assert!(err.contains(problem), "{text}: {err}");
        }
        for ok in [
            "[security_txt]\npreferred_languages = \"en, fr, pt-BR\"",
            "[server]\npublic_url = \"https://security.example.org\"",
            "[server]\npublic_url = \"http://localhost:8080\"",
        ] {
            assert!(Config::parse(ok).is_ok(), "{ok}");
        }
    }
}

/// Limits and addresses of the intake channels.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Intake {
    /// The team's reporting address; receipts come from it and replies go to it.
    pub address: String,
    /// The project an email report is filed under until triage says otherwise
    /// (an email names no project).
    pub default_project: String,
    /// Largest inbound message or form submission kept, in bytes; a larger
    /// one is refused (web, API) or quarantined (email).
    pub max_message_bytes: usize,
    /// Largest single attachment, in bytes.
    pub max_attachment_bytes: usize,
    /// Most attachments on one report.
    pub max_attachments: usize,
    /// Web form submissions one network address may make per window ...
    pub submissions_per_address: u32,
    /// ... of this many seconds.
    pub submission_window_seconds: u32,
    /// Web form submissions one network (an IPv4 /24, an IPv6 /48) may
    /// make per window: a flood from many addresses of one network.
    pub submissions_per_network: u32,
    /// New reports per minute from every channel together, across
    /// servers (0: no budget). Past it, a sender with no earlier report
    /// that stood (not rejected) is held: email in quarantine with the
    /// reason, the form asked to wait with the text given back; known
    /// reporters still file at once.
    pub reports_per_minute: u32,
    /// New email reports one sender address may make per window (0: no
    /// limit); more are quarantined with the reason, never dropped.
    pub mail_per_sender: u32,
    /// ... one sender domain (a flood from many addresses at one domain).
    pub mail_per_domain: u32,
    /// ... one OpenPGP key (signed by it, or attached).
    pub mail_per_key: u32,
}

impl Default for Intake {
    fn default() -> Self {
        Self {
            address: "security@example.org".into(),
            default_project: "unassigned".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_attachments: 5,
            submissions_per_address: 10,
            submission_window_seconds: 3600,
            submissions_per_network: 30,
            reports_per_minute: 600,
            mail_per_sender: 10,
            mail_per_domain: 100,
            mail_per_key: 10,
        }
    }
}

/// The SMTP server receipts and replies go out through: the mail crate's
/// own settings (`[smtp]`, defaults port 587, STARTTLS, 30 s).
pub use embargo_mail::outbound::Smtp;
