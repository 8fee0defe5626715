//! What a change calls for, as outbox jobs: computed from the command and
//! the case before and after it, and inserted by the store's writer in the
//! change's own transaction (`Store::execute_with`). The change and its
//! effects are stored together or not at all, so a crash after the commit
//! loses no receipt, request or notice; and the same change makes the same
//! jobs (under keys derived from the case) whoever ran it.
//!
//! What follows a publication (announcement, GitHub advisory, CVE record,
//! forks removed) is the scheduler's, which the writer wakes in the same
//! transaction (`release::schedule`).
//!
//! The jobs: `cve_request` (a CVE asked for), `fork_open` (a private fork
//! asked for), `notice` (a CVE request failed: an alert to the SRT),
//! `mail_reporter` (what the team said to the reporter, a fix to retest,
//! the embargo lifted early, and a new disclosure timeline), and `timeline_notice` (the timeline to
//! everyone on the case, fanned out per person by the worker).

use embargo_core::{Case, CaseId, Command, Embargo, event::CveVia, participant::Role};
use embargo_store::NewJob;

use crate::{AppState, jobs::Job};

/// What the jobs of one command depend on beyond the cases, taken before
/// the writer runs (the writer's closure sees no `AppState`).
pub struct Planned {
    at: i64,
    mail_on: bool,
    zones: Vec<String>,
    base_url: String,
    cve: Option<CveVia>,
    to_reporter: Option<(String, String)>,
}

impl Planned {
    /// What `command` on `case` may call for, under `state`'s settings.
    pub fn for_command(state: &AppState, case: &CaseId, command: &Command) -> Self {
        Self {
            at: state.clock.unix(),
            mail_on: state.config.smtp.host.is_some(),
            zones: state.config.disclosure.show_zones.clone(),
            base_url: crate::links::browser_base_url(state),
            cve: match command {
                Command::RequestCve { via } => Some(*via),
                _ => None,
            },
            to_reporter: crate::mailer::for_reporter(case, command),
        }
    }

    /// The jobs the change from `before` to `after` calls for.
    pub fn jobs(&self, before: &Case, after: &Case) -> Vec<NewJob> {
        let mut jobs = Vec::new();
        if let Some(via) = self.cve {
            jobs.push(cve_request(after, via, self.at));
        }
        if let Some((subject, text)) = &self.to_reporter {
            let key = format!("reporter-message:{}:{}", after.id, after.version);
            jobs.extend(self.to_reporter_job(after, &key, subject, text));
        }
        jobs.extend(self.timeline(before, after));
        // The embargo lifted before its moment: the reporter hears why (the
        // distributors told of the moment hear from the scheduler).
        if let (None, Some((reason, _, _))) = (&before.lifted, &after.lifted) {
            let key = format!("lifted:{}", after.id);
            let subject = format!(
                "[{}] The embargo is lifted: the advisory is public",
                after.id
            );
            let text = format!(
                "The security team lifted the embargo before the agreed moment and published \
                 the advisory now.\n\nWhy: {reason}\n\nYou may now talk about the \
                 vulnerability in public."
            );
            jobs.extend(self.to_reporter_job(after, &key, &subject, &text));
        }
        // A CVE request that failed is an alert to the SRT, never "done".
        if let Some((via, why)) = &after.cve.failure
            && before.cve.failure != after.cve.failure
        {
            let notice = crate::jobs::notice::Notice {
                key: format!("cve-failed:{}:{}", after.id, after.cve.requests.len()),
                body: crate::jobs::notice::NoticeBody {
                    case_id: after.id.to_string(),
                    guard: Some(format!(
                        "The CVE request for case {} through {} failed: {why}. Request again or enter a CVE obtained elsewhere.",
                        after.id,
                        via.name()
                    )),
                    ..crate::jobs::notice::NoticeBody::default()
                },
            };
            jobs.push(notice.row(self.at));
        }
        // A fork asked for: the job that makes it.
        for (project, host, _) in &after.fork_requests {
            if !before.fork_requested(project) {
                let job = crate::jobs::fork_open::ForkOpen {
                    case_id: after.id.to_string(),
                    project: project.clone(),
                    host: host.name().to_owned(),
                    version: after.version,
                };
                jobs.push(job.row(self.at));
            }
        }
        jobs
    }

    fn to_reporter_job(&self, case: &Case, key: &str, subject: &str, text: &str) -> Option<NewJob> {
        crate::mailer::reporter_job_with(
            self.mail_on,
            self.at,
            &case.id,
            case.report.reporter_email.is_some(),
            key,
            subject,
            text,
        )
    }

    /// A new disclosure timeline (proposed, revised, agreed, declined) told
    /// to the reporter and, by mail, to everyone on the case. Nothing is
    /// queued for the people without an SMTP server (the case page shows
    /// the timeline).
    fn timeline(&self, before: &Case, after: &Case) -> Vec<NewJob> {
        if before.embargo == after.embargo {
            return Vec::new();
        }
        let show = |t: jiff::Timestamp| zones_text(&self.zones, t);
        let (headline, text) = match after.embargo {
            Embargo::Proposed { until } => (
                "A disclosure date is proposed",
                format!(
                    "The security team proposes to disclose this vulnerability at:\n{}\n\nReply if this does not work for you.",
                    show(until)
                ),
            ),
            Embargo::Revising { proposed, until } => (
                "A new disclosure date is proposed",
                format!(
                    "The security team proposes to move the disclosure to:\n{}\n\nUntil it is agreed, the date stays:\n{}\n\nReply if this does not work for you.",
                    show(proposed),
                    show(until)
                ),
            ),
            Embargo::Active { until } => (
                "The disclosure date is agreed",
                format!(
                    "The vulnerability will be disclosed at:\n{}\n\nPlease keep it confidential until then.",
                    show(until)
                ),
            ),
            Embargo::None => (
                "The proposed disclosure date was declined",
                "The proposed disclosure date was declined; a new one will follow.".to_owned(),
            ),
            Embargo::Exited { .. } => return Vec::new(),
        };
        let subject = format!("[{}] {headline}", after.id);
        let key = format!("timeline:{}:{}", after.id, after.version);
        let mut jobs: Vec<NewJob> = self
            .to_reporter_job(after, &key, &subject, &text)
            .into_iter()
            .collect();
        if self.mail_on {
            let notice = crate::jobs::timeline_notice::TimelineNotice {
                case_id: after.id.to_string(),
                key,
                subject,
                text: format!("{text}\n\n{}/cases/{}\n", self.base_url, after.id),
            };
            jobs.push(notice.row(self.at));
        }
        jobs
    }
}

/// Whether `role` hears of the timeline by a `timeline_notice` (the
/// reporter hears by their own mail).
pub fn hears_of_timeline(role: Option<Role>) -> bool {
    role.is_some_and(|r| r != Role::Reporter)
}

/// The job that obtains a CVE through `via`, for the request `case` has
/// just recorded (one job per request).
pub fn cve_request(case: &Case, via: CveVia, at: i64) -> NewJob {
    crate::jobs::cve_request::CveRequest {
        case_id: case.id.to_string(),
        via: via.name().to_owned(),
        request: case.cve.requests.len(),
    }
    .row(at)
}

/// `t` in each of `zones`, one line each, for people in several.
pub fn zones_text(zones: &[String], t: jiff::Timestamp) -> String {
    embargo_core::timeline::in_zones(t, zones)
        .into_iter()
        .map(|(z, s)| format!("  {z}: {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}
