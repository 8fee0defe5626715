//! The screening queue: the policy in force for a project, the reasons a
//! new report is held (with the sender's history), a sender's earlier
//! reports, and the canned answers the SRT sends from the queue.
//!
//! The rule itself is the core's (`embargo_core::screening`); this module
//! gathers what it needs: the policy (saved in the browser, else the
//! file's `[screening]`) and how many of the sender's earlier reports were
//! rejected (the store's `reporter_cases`, one index range per identity).

use embargo_core::{
    Command,
    event::{RejectReason, Rejection, Report},
    screening::{Context, Policy},
};
use embargo_store::{ReporterCase, StoreError};

use crate::{AppState, authz, error::ServiceError};

/// Most earlier reports of one sender read or shown.
pub const HISTORY_LIMIT: u32 = 50;

/// `project`'s screening policy in force: saved in the browser, else the
/// file's `[screening]`.
pub async fn policy(state: &AppState, project: &str) -> Result<Policy, StoreError> {
    policy_and_whose(state, project).await.map(|(p, _)| p)
}

/// [`policy`], and whether it is the project's own (saved on its page)
/// rather than the default: one read.
pub async fn policy_and_whose(
    state: &AppState,
    project: &str,
) -> Result<(Policy, bool), StoreError> {
    match state.store.project_screening(project).await? {
        Some(json) => serde_json::from_str(&json)
            .map(|p| (p, true))
            .map_err(|e| StoreError::Corrupt(format!("project {project}'s screening policy: {e}"))),
        None => Ok((state.config.screening.clone(), false)),
    }
}

/// The policies a reporter reads before writing: the default (for every
/// project without its own), then each project's own, by name. Unreadable
/// saved policies are left out (and logged).
pub async fn published(state: &AppState) -> Result<Vec<(Option<String>, Policy)>, StoreError> {
    let mut out = vec![(None, state.config.screening.clone())];
    for (project, json) in state.store.project_screenings().await? {
        match serde_json::from_str::<Policy>(&json) {
            Ok(p) => out.push((Some(project), p)),
            Err(e) => tracing::error!(project, error = %e, "screening policy unreadable"),
        }
    }
    Ok(out)
}

/// Keeps `policy` as `project`'s, in force at once on every server.
pub async fn save(
    state: &AppState,
    project: &str,
    policy: &Policy,
    by: &embargo_core::PersonId,
) -> Result<(), ServiceError> {
    policy.check().map_err(ServiceError::Invalid)?;
    let json = serde_json::to_string(policy).map_err(|e| ServiceError::Internal(e.to_string()))?;
    state
        .store
        .put_project_screening(project, &json, by, state.clock.unix())
        .await?;
    tracing::info!(project, by = %by, "screening policy saved");
    Ok(())
}

/// Whether a rejection counts against the sender: every reason but a
/// duplicate (someone else may have found it first).
fn counts_against(rejected: &str) -> bool {
    !rejected.is_empty() && rejected != "duplicate"
}

/// Why `report` (with `attachments` files) waits in screening; empty: it
/// goes to the inbox. A failure to read the policy or the history holds
/// nothing back: the report goes to the inbox, and the failure is logged.
pub async fn reasons(state: &AppState, report: &Report, attachments: usize) -> Vec<String> {
    let policy = match policy(state, &report.project).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "screening policy unreadable; report not screened");
            return Vec::new();
        }
    };
    let earlier = if policy.rejected_before == 0 {
        0
    } else {
        match state
            .store
            .reporter_history(
                report.reporter_email.as_deref(),
                report.intake.signed_by.as_deref(),
                HISTORY_LIMIT,
            )
            .await
        {
            Ok(h) => h.iter().filter(|c| counts_against(&c.rejected)).count(),
            Err(e) => {
                tracing::error!(error = %e, "sender history unreadable; not counted");
                0
            }
        }
    };
    let cx = Context {
        attachments,
        earlier_rejections: u32::try_from(earlier).unwrap_or(u32::MAX),
    };
    embargo_core::screening::reasons(report, cx, &policy)
}

/// The other reports of this case's sender (same address, or same verified
/// key), newest first: for the SRT only (it names cases by id), or
/// `NotFound`.
pub async fn history(
    state: &AppState,
    access: &authz::CaseAccess,
) -> Result<Vec<ReporterCase>, ServiceError> {
    authz::srt(access.caller())?;
    let report = &access.case().report;
    let mut h = state
        .store
        .reporter_history(
            report.reporter_email.as_deref(),
            report.intake.signed_by.as_deref(),
            HISTORY_LIMIT + 1,
        )
        .await?;
    h.retain(|c| c.case != access.case().id);
    h.truncate(HISTORY_LIMIT as usize);
    Ok(h)
}

/// A reply the SRT sends from the queue, the same to every reporter.
pub struct Canned {
    /// Its name in forms and the API.
    pub name: &'static str,
    /// What the SRT picks it by.
    pub label: &'static str,
    /// The rejection it records.
    pub reason: RejectReason,
    /// What the reporter reads (nothing is sent for spam).
    pub text: &'static str,
}

/// The canned answers.
pub fn canned() -> Vec<Canned> {
    vec![
        Canned {
            name: "incomplete",
            label: "Incomplete: no reproduction, version or component",
            reason: RejectReason::NotReproducible,
            text: "Thank you for taking the time to write to us. We cannot act on this report as it \
                   stands: it does not include what we need to reproduce the problem (steps with \
                   code, or a proof-of-concept file), the version you tested, or the component \
                   affected. Our reporting page lists what a report needs. If you believe this is \
                   a vulnerability, please send a new report with those details; we read every one.",
        },
        Canned {
            name: "not-a-vulnerability",
            label: "Not a vulnerability: on the published list",
            reason: RejectReason::NotAVulnerability,
            text: "Thank you for your report. What it describes is behaviour our published \
                   security policy lists as not a vulnerability (the list is on our reporting \
                   page, with the reasons), so we are closing it. If your case differs from that \
                   entry, please reply and tell us how; we will look again.",
        },
        Canned {
            name: "out-of-scope",
            label: "Out of scope",
            reason: RejectReason::OutOfScope,
            text: "Thank you for your report. It concerns software or versions outside what this \
                   security team covers, so we are closing it here. If it affects one of our \
                   projects after all, please reply with the project and version.",
        },
        Canned {
            name: "spam",
            label: "Spam (no answer sent)",
            reason: RejectReason::Spam,
            text: "Spam.",
        },
    ]
}

/// One case's outcome in a bulk answer.
#[derive(Debug)]
pub struct Answered {
    /// The case, as named.
    pub case: String,
    /// `None`: done; else why not.
    pub refused: Option<String>,
}

/// Rejects each of `cases` with the canned answer `name`, each through the
/// one command path (access, the core's rules, the reporter's mail in the
/// change's transaction). A case the caller may not see is refused as not
/// found, like any other.
pub async fn reject_many(
    state: &AppState,
    caller: &authz::Caller,
    cases: &[String],
    name: &str,
) -> Result<Vec<Answered>, ServiceError> {
    authz::srt(caller)?;
    let answer = canned()
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| ServiceError::Invalid(format!("`{name}` is not a canned answer")))?;
    let command = Command::Reject {
        rejection: Rejection {
            reason: answer.reason,
            explanation: answer.text.split_whitespace().collect::<Vec<_>>().join(" "),
        },
    };
    each(state, caller, cases, &command).await
}

/// Passes each of `cases` to the inbox (`pass_screening`), as
/// [`reject_many`] answers them.
pub async fn pass_many(
    state: &AppState,
    caller: &authz::Caller,
    cases: &[String],
) -> Result<Vec<Answered>, ServiceError> {
    authz::srt(caller)?;
    let command = Command::PassScreening {
        note: String::new(),
    };
    each(state, caller, cases, &command).await
}

/// Runs `command` on each case named (at most 500), each through
/// `authz::open_case` and `authz::run`; a refusal does not stop the rest.
async fn each(
    state: &AppState,
    caller: &authz::Caller,
    cases: &[String],
    command: &Command,
) -> Result<Vec<Answered>, ServiceError> {
    if cases.is_empty() {
        return Err(ServiceError::Invalid("pick at least one report".into()));
    }
    if cases.len() > 500 {
        return Err(ServiceError::Invalid(format!(
            "{} reports at once; at most 500",
            cases.len()
        )));
    }
    let mut out = Vec::new();
    for id in cases {
        let done = async {
            let access = authz::open_case(state, caller, id).await?;
            authz::run(state, &access, command.clone())
                .await
                .map(|_| ())
        }
        .await;
        out.push(match done {
            Ok(()) => Answered {
                case: id.clone(),
                refused: None,
            },
            Err(e) => Answered {
                case: id.clone(),
                refused: Some(match e {
                    ServiceError::NotFound => "no such case".to_owned(),
                    ServiceError::Internal(why) | ServiceError::Unavailable(why) => {
                        tracing::error!(case = %id, error = %why, "screening answer not stored");
                        "not stored; try again".to_owned()
                    }
                    other => other.to_string(),
                }),
            },
        });
    }
    Ok(out)
}
