//! From timeline to disclosure, as side effects of time and of commands.
//!
//! Each scheduler pass (`schedule`, once a second by the `Clock`) looks at
//! every open case and, from its state alone, decides what is due:
//!
//! - **Publication at the moment.** When the agreed disclosure moment has
//!   come, the case is published as `system:release` (with its fix, or
//!   without one when the approved advisory gives a mitigation). `publish`
//!   happens once by the case's own rules, so however many passes see the
//!   moment, and across restarts, there is one publication. If publication
//!   is refused (no approved advisory), the SRT is alerted once.
//! - **After publication**, by idempotency key: the approved announcement
//!   by mail to the lists (`announce:ID`), the GitHub repository advisory
//!   published (`ghsa-publish:ID`), the CVE record (see `cve`), built-in
//!   forks removed, and the retrospective drafted some days later.
//! - **Embargo notices** to each project's distributors, encrypted, a set
//!   number of days before the moment, and again at once when the moment
//!   moves after they were told (`embargo-notice:ID:PROJECT:NAME:UNIX`).
//! - **Guards** (`embargo_core::release::guards`) alert once per case and
//!   kind: a fork alive after disclosure, a released fix whose advisory is
//!   still private, a public advisory with no announcement, a moment passed
//!   without publication.
//!
//! The scheduler looks at a case as soon as it changes (the writer arms its
//! timer in the change's transaction), so publication by a person is
//! followed by this work on the next pass, as durably as the publication.
//! Timeline changes reach the reporter and every participant as jobs of
//! the change itself (`effects`).

use embargo_core::{Case, CaseId, Command, Handling, command::PublishMode, event::ForkHost};
use serde_json::{Value, json};

use crate::{
    AppState,
    error::ServiceError,
    jobs::{
        self,
        notice::{Notice, NoticeBody},
    },
    mailer,
};

async fn record(state: &AppState, case: &CaseId, command: Command) -> Result<Case, String> {
    crate::authz::run_as_system(state, case, "system:release", command).await
}

/// One scheduler pass over one case.
pub async fn schedule(
    state: &std::sync::Arc<AppState>,
    case: &Case,
) -> Result<(), embargo_store::StoreError> {
    if case.handling == Handling::Closed {
        return Ok(());
    }
    let now = state.clock.now();
    let mut case = case.clone();
    if case.published_at.is_none()
        && let Some(until) = case.embargo.agreed_until()
        && until <= now
    {
        let mode = if case.facts.fix_released.is_some() {
            PublishMode::WithFix
        } else {
            PublishMode::WithoutFix
        };
        match record(state, &case.id, Command::Publish { mode, reason: None }).await {
            Ok(published) => {
                tracing::info!(case = %case.id, "published at the disclosure moment");
                case = published;
            }
            Err(why) => {
                let notice = Notice {
                    key: format!("release-blocked:{}:{}", case.id, until.as_second()),
                    body: NoticeBody {
                        case_id: case.id.to_string(),
                        guard: Some(format!(
                            "The disclosure moment {until} has come, but case {} could not be published: {why}",
                            case.id
                        )),
                        ..NoticeBody::default()
                    },
                };
                if jobs::enqueue_once(state, &notice).await? {
                    tracing::warn!(case = %case.id, error = %why, "publication at the moment refused");
                }
            }
        }
    }
    if case.published_at.is_some() {
        published_work(state, &case, now).await?;
    } else {
        embargo_notices(state, &case, now).await?;
        merge_check(state, &case, now).await?;
    }
    for guard in guards(state, &case, now) {
        let notice = Notice {
            key: format!("guard-{}:{}", guard.kind, case.id),
            body: NoticeBody {
                case_id: case.id.to_string(),
                guard: Some(guard.text),
                ..NoticeBody::default()
            },
        };
        jobs::enqueue_once(state, &notice).await?;
    }
    Ok(())
}

/// What the guards flag on `case` now, with the configured grace periods.
fn guards(
    state: &AppState,
    case: &Case,
    now: jiff::Timestamp,
) -> Vec<embargo_core::release::Guard> {
    let (fork, advisory) = state.config.guard_graces();
    embargo_core::release::guards(case, now, fork, advisory)
}

/// `t` in UTC and every configured zone, one indented line each.
fn zones_text(state: &AppState, t: jiff::Timestamp) -> String {
    crate::effects::zones_text(&state.config.disclosure.show_zones, t)
}

/// The announcement rendered from the project's template: the preview,
/// and the text approved when none is given.
pub fn announcement_preview(
    state: &AppState,
    case: &Case,
) -> Result<String, embargo_formats::FormatError> {
    embargo_formats::announcement::render(
        case,
        state.config.announcement_template(&case.report.project),
    )
}

/// How often (by the `Clock`) a fork is compared with its upstream.
const MERGE_CHECK_SECONDS: i64 = 600;

/// Queues, at most once in each ten-minute slot of the `Clock` per fork, a
/// job that checks whether a ready fix pushed to a built-in fork (each
/// branch head whose latest CI run passed) has reached upstream; doing it
/// ticks "merge the fix" as `system:release`. The job's key holds the slot,
/// so the check is durable and runs once however many passes find it due.
async fn merge_check(
    state: &AppState,
    case: &Case,
    now: jiff::Timestamp,
) -> Result<(), embargo_store::StoreError> {
    if case.facts.fix_ready.is_none() || fix_merged(case) {
        return Ok(());
    }
    let slot = now.as_second().div_euclid(MERGE_CHECK_SECONDS);
    for fork in case
        .forks
        .iter()
        .filter(|f| f.closed_at.is_none() && f.host == ForkHost::Builtin)
    {
        // The fix: the head of each branch whose latest run passed.
        let mut latest: Vec<&embargo_core::case::CiRun> = Vec::new();
        for run in case.ci_runs.iter().filter(|r| r.project == fork.project) {
            latest.retain(|r| r.reference != run.reference);
            latest.push(run);
        }
        let commits: Vec<&str> = latest
            .iter()
            .filter(|r| r.passed)
            .map(|r| r.commit.as_str())
            .collect();
        if commits.is_empty() {
            continue;
        }
        let check = jobs::merge_check::MergeCheck {
            case_id: case.id.to_string(),
            project: fork.project.clone(),
            commits: commits.iter().map(|c| (*c).to_owned()).collect(),
            slot,
        };
        jobs::enqueue_once(state, &check).await?;
    }
    Ok(())
}

/// Whether "merge the fix" is ticked.
fn fix_merged(case: &Case) -> bool {
    case.release_steps
        .iter()
        .any(|(s, _)| *s == embargo_core::event::ReleaseStep::MergeFix)
}

/// The merge check job: compares the fork's fix with upstream.
pub async fn check_merged(
    state: &AppState,
    case: &Case,
    project: &str,
    commits: &[String],
) -> Result<(), String> {
    if fix_merged(case) {
        return Ok(());
    }
    if crate::forks::merged_upstream(state, &case.id, project, commits).await? {
        let step = Command::CompleteReleaseStep {
            step: embargo_core::event::ReleaseStep::MergeFix,
        };
        record(state, &case.id, step).await?;
    }
    Ok(())
}

async fn published_work(
    state: &AppState,
    case: &Case,
    now: jiff::Timestamp,
) -> Result<(), embargo_store::StoreError> {
    crate::cve::enqueue_publication(state, case).await?;
    // Lifted early: the distributors who were told of the moment hear
    // that it is over, and why.
    if case.lifted.is_some() {
        let mut theirs = Vec::new();
        for p in case.named_projects() {
            let settings = crate::project_settings::settings(state, p).await?;
            theirs.extend(
                settings
                    .distributors
                    .into_iter()
                    .map(|d| (d.name, p.to_owned())),
            );
        }
        let told: std::collections::BTreeSet<&String> = case
            .embargo_notices
            .iter()
            .map(|(name, _, _)| name)
            .collect();
        for distributor in told {
            let project = theirs
                .iter()
                .find(|(name, _)| name == distributor)
                .map_or_else(|| case.report.project.clone(), |(_, p)| p.clone());
            let notice = jobs::embargo_notice::EmbargoNotice {
                case_id: case.id.to_string(),
                project,
                distributor: distributor.clone(),
                disclose_at: case.published_at.unwrap_or(now).to_string(),
                revised: false,
                lifted: true,
            };
            jobs::enqueue_once(state, &notice).await?;
        }
    }
    if case.announcement.is_some() && case.announcement_sent.is_none() {
        let lists = announce_lists(state, case).await?;
        if !lists.is_empty() {
            let job = jobs::announce::Announce {
                case_id: case.id.to_string(),
            };
            jobs::enqueue_once(state, &job).await?;
        }
    }
    let has_ghsa = case.current_advisory().is_some_and(|a| a.ghsa.is_some());
    if has_ghsa && state.config.cve.github_token.is_some() {
        let job = jobs::ghsa_publish::GhsaPublish {
            case_id: case.id.to_string(),
        };
        jobs::enqueue_once(state, &job).await?;
    }
    for fork in case.forks.iter().filter(|f| f.closed_at.is_none()) {
        if fork.host != ForkHost::Builtin {
            continue;
        }
        match crate::forks::remove(state, &case.id, &fork.project).await {
            Ok(()) => {
                let close = Command::ClosePrivateFork {
                    project: Some(fork.project.clone()),
                };
                if let Err(e) = record(state, &case.id, close).await {
                    tracing::warn!(case = %case.id, error = %e, "fork removal not recorded");
                }
            }
            Err(e) => tracing::error!(case = %case.id, error = %e, "fork not removed"),
        }
    }
    let after = jiff::SignedDuration::from_hours(
        i64::from(state.config.release.retrospective_after_days) * 24,
    );
    if case.retrospective.is_none()
        && case
            .published_at
            .and_then(|p| p.checked_add(after).ok())
            .is_some_and(|due| due <= now)
    {
        match draft_retrospective(state, case).await {
            Ok(text) => {
                if let Err(e) = record(state, &case.id, Command::WriteRetrospective { text }).await
                {
                    tracing::warn!(case = %case.id, error = %e, "retrospective not recorded");
                }
            }
            Err(e) => tracing::warn!(case = %case.id, error = %e, "retrospective not drafted"),
        }
    }
    Ok(())
}

/// The retrospective drafted from the case's log (all of it: it is for
/// those who see every project's part).
pub async fn draft_retrospective(state: &AppState, case: &Case) -> Result<String, String> {
    let events: Vec<embargo_core::Event> = state
        .store
        .events(&case.id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    Ok(retrospective_from(state, case, &events))
}

/// The retrospective drafted from `events`, against the project's policy.
pub fn retrospective_from(state: &AppState, case: &Case, events: &[embargo_core::Event]) -> String {
    let policy = state.config.sla_policy(&case.report.project);
    embargo_formats::retrospective::render(case, events, &policy)
}

/// The lists a case's announcement goes to: every named project's.
/// The lists the announcement of `case` goes to.
pub async fn announce_lists(
    state: &AppState,
    case: &Case,
) -> Result<Vec<String>, embargo_store::StoreError> {
    let mut lists: Vec<String> = Vec::new();
    for p in case.named_projects() {
        for l in crate::project_settings::announce_to(state, p).await? {
            if !lists.contains(&l) {
                lists.push(l);
            }
        }
    }
    Ok(lists)
}

/// Queues the embargo notices due now.
async fn embargo_notices(
    state: &AppState,
    case: &Case,
    now: jiff::Timestamp,
) -> Result<(), embargo_store::StoreError> {
    let Some(until) = case.embargo.agreed_until() else {
        return Ok(());
    };
    if until <= now || case.facts.public_aware.is_some() {
        return Ok(());
    }
    for project in case.named_projects() {
        let settings = crate::project_settings::settings(state, project).await?;
        let ahead = jiff::SignedDuration::from_hours(i64::from(settings.prenotify_days) * 24);
        for d in &settings.distributors {
            if case
                .embargo_notices
                .iter()
                .any(|(name, at, _)| name == &d.name && *at == until)
            {
                continue;
            }
            // Told of an earlier moment: the new one goes out at once.
            let told_before = case
                .embargo_notices
                .iter()
                .any(|(name, _, _)| name == &d.name);
            let due = until.checked_sub(ahead).unwrap_or(until);
            if !(told_before || due <= now) {
                continue;
            }
            let notice = jobs::embargo_notice::EmbargoNotice {
                case_id: case.id.to_string(),
                project: project.to_owned(),
                distributor: d.name.clone(),
                disclose_at: until.to_string(),
                revised: told_before,
                lifted: false,
            };
            jobs::enqueue_once(state, &notice).await?;
        }
    }
    Ok(())
}

/// An `announce` job: the approved announcement to the lists, recorded.
pub async fn announce(
    state: &AppState,
    case: &Case,
    m: &mailer::Mailer,
    message_id: &str,
) -> Result<(), String> {
    if case.announcement_sent.is_some() {
        return Ok(());
    }
    let text = case
        .announcement
        .as_ref()
        .map(|a| a.text.clone())
        .ok_or("no approved announcement")?;
    let lists = announce_lists(state, case)
        .await
        .map_err(|e| e.to_string())?;
    let (subject, body) = embargo_formats::announcement::split(&text);
    let plain = embargo_formats::announcement::plain_text(body);
    mailer::announce(m, &lists, subject, &plain, message_id)
        .await
        .map_err(|e| e.to_string())?;
    record(
        state,
        &case.id,
        Command::RecordAnnouncementSent { to: lists },
    )
    .await?;
    Ok(())
}

/// An `embargo_notice` job: the distributor told, encrypted, if the moment
/// still holds; recorded.
pub async fn send_embargo_notice(
    state: &AppState,
    case: &Case,
    job: &jobs::embargo_notice::EmbargoNotice,
    m: &mailer::Mailer,
    message_id: &str,
) -> Result<(), String> {
    let disclose_at: jiff::Timestamp = job.disclose_at.parse().map_err(|e| format!("{e}"))?;
    if job.lifted {
        let settings = crate::project_settings::settings(state, &job.project)
            .await
            .map_err(|e| e.to_string())?;
        let Some(d) = settings
            .distributors
            .iter()
            .find(|d| d.name == job.distributor)
        else {
            return Ok(());
        };
        let (subject, text) = lifted_notice(state, case, &job.project);
        return mailer::encrypted_to(m, &d.email, &d.key, &subject, &text, message_id)
            .await
            .map_err(|e| e.to_string());
    }
    // A notice for a moment that has since moved is not sent: the notice
    // for the new moment replaces it.
    if case.embargo.agreed_until() != Some(disclose_at) || case.published_at.is_some() {
        return Ok(());
    }
    let settings = crate::project_settings::settings(state, &job.project)
        .await
        .map_err(|e| e.to_string())?;
    let Some(d) = settings
        .distributors
        .iter()
        .find(|d| d.name == job.distributor)
    else {
        return Ok(()); // no longer configured
    };
    let (subject, text) = embargo_notice(state, case, &job.project, disclose_at, job.revised);
    mailer::encrypted_to(m, &d.email, &d.key, &subject, &text, message_id)
        .await
        .map_err(|e| e.to_string())?;
    record(
        state,
        &case.id,
        Command::RecordEmbargoNotice {
            distributor: job.distributor.clone(),
            disclose_at,
        },
    )
    .await?;
    Ok(())
}

/// What a distributor hears when the embargo is lifted before its moment.
pub fn lifted_notice(state: &AppState, case: &Case, project: &str) -> (String, String) {
    let reason = case
        .lifted
        .as_ref()
        .map_or("", |(reason, _, _)| reason.as_str());
    let subject = format!("[{}] embargo lifted for {project}: disclosed now", case.id);
    let text = format!(
        "The embargo on the security notice for {project} (case {id}) was lifted before the \
         agreed moment, and the advisory is public now.\n\nWhy: {reason}\n\n\
         You may publish fixed packages and talk about it in public.\n\n\
         Case {id}, security team <{team}>.\n",
        id = case.id,
        team = state.config.intake.address,
    );
    (subject, text)
}

/// The embargo notice: what a distributor needs to prepare, and the rule.
pub fn embargo_notice(
    state: &AppState,
    case: &Case,
    project: &str,
    disclose_at: jiff::Timestamp,
    revised: bool,
) -> (String, String) {
    let advisory = case.current_advisory().map(|a| case.exportable(a));
    let summary = advisory
        .as_ref()
        .map(|a| a.summary.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| case.report.title.clone());
    let cve = advisory
        .as_ref()
        .and_then(|a| a.cve.as_ref().map(ToString::to_string))
        .or_else(|| case.cve.assigned.as_ref().map(|(c, _)| c.to_string()))
        .unwrap_or_else(|| "not yet assigned".into());
    let mut affected = Vec::new();
    let mut severity = String::from("not yet scored");
    let mut mitigation = String::from("none known; upgrade when the fix is released");
    if let Some(a) = &advisory {
        for p in &a.affected {
            let fixed = p.patched();
            affected.push(format!(
                "  {} ({}): affected {}; fixed in {}",
                p.name,
                p.ecosystem.osv_name(),
                p.compact_ranges().join(", "),
                if fixed.is_empty() {
                    "no release yet".to_owned()
                } else {
                    fixed.join(", ")
                }
            ));
        }
        if let Some(c) = a.headline_cvss() {
            severity = format!(
                "{} {} ({})",
                c.severity().name(),
                c.score_text(),
                c.vector()
            );
        }
        if let Some(m) = a.mitigation.as_ref().filter(|m| !m.trim().is_empty()) {
            mitigation = m.clone();
        }
    } else if let Some(s) = case.severity() {
        severity = s.name().to_owned();
    }
    if affected.is_empty() {
        affected.push("  to be confirmed".into());
    }
    let when = zones_text(state, disclose_at);
    let subject = format!(
        "[{}] {}embargoed security notice for {project}: disclosure {}",
        case.id,
        if revised { "REVISED DATE: " } else { "" },
        disclose_at.strftime("%Y-%m-%d %H:%M UTC")
    );
    let text = format!(
        "{revision}This is an embargoed security notice for {project}, sent to you as a distributor \
         so that fixed packages can be ready when the vulnerability is disclosed.\n\n\
         Summary: {summary}\n\
         CVE: {cve}\n\
         Severity: {severity}\n\
         Affected versions:\n{affected}\n\
         Mitigation: {mitigation}\n\n\
         Public disclosure:\n{when}\n\n\
         DO NOT SHARE: until that moment, keep this notice and everything in it to the people \
         who prepare your packages. Do not publish, commit publicly, open public bug reports or \
         build public packages before it. If it leaks or you see it discussed in public, tell \
         the security team at once by replying to this message.\n\n\
         Case {case_id}, security team <{team}>.\n",
        revision = if revised {
            "The disclosure date has MOVED. This notice replaces the earlier one.\n\n"
        } else {
            ""
        },
        affected = affected.join("\n"),
        case_id = case.id,
        team = state.config.intake.address,
    );
    (subject, text)
}

/// Publishes the case's GitHub repository advisory (`PATCH … {"state":
/// "published"}`), then records the temporary private fork gone when
/// GitHub no longer has it.
pub async fn publish_github_advisory(state: &AppState, case: &Case) -> Result<(), String> {
    let req = match crate::cve::github_advisory(state, case, reqwest::Method::PATCH, "").await? {
        Ok(r) => r,
        Err(why) => {
            tracing::warn!(case = %case.id, why, "GitHub advisory not published");
            return Ok(());
        }
    };
    let resp = req
        .json(&json!({ "state": "published" }))
        .send()
        .await
        .map_err(|e| format!("cannot reach GitHub: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!(
            "GitHub answered {status} to publishing the advisory"
        ));
    }
    for fork in case
        .forks
        .iter()
        .filter(|f| f.closed_at.is_none() && f.host == ForkHost::Github)
    {
        let api_url = fork.url.replace(
            "https://github.com/",
            &format!("{}/repos/", crate::cve::github_api(state)),
        );
        let gone = crate::net::http_client(std::time::Duration::from_secs(30))?
            .get(&api_url)
            .bearer_auth(state.config.cve.github_token.as_deref().unwrap_or_default())
            .header("Accept", "application/vnd.github+json")
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::NOT_FOUND);
        if gone {
            record(
                state,
                &case.id,
                Command::ClosePrivateFork {
                    project: Some(fork.project.clone()),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Creates GitHub's temporary private fork of the case's repository
/// advisory and makes the fixing team collaborators on the advisory (which
/// gives them the fork). Fixers' handles are taken as GitHub logins.
pub async fn github_fork(state: &AppState, case: &Case) -> Result<String, ServiceError> {
    let req = crate::cve::github_advisory(state, case, reqwest::Method::POST, "/forks")
        .await
        .map_err(ServiceError::Internal)?
        .map_err(ServiceError::Invalid)?;
    // GitHub unreachable, busy (429) or failing (5xx): the attempt fails
    // and the outbox retries it, rather than the case recording a refusal.
    let (status, body) = crate::cve::answer(req, "GitHub")
        .await
        .map_err(ServiceError::Unavailable)?;
    if !status.is_success() {
        return Err(ServiceError::Invalid(format!(
            "GitHub refused the private fork: {status} {}",
            body.get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )));
    }
    let url = body
        .get("html_url")
        .and_then(Value::as_str)
        .ok_or_else(|| ServiceError::Invalid("GitHub's answer names no html_url".into()))?
        .to_owned();
    let fixers: Vec<String> = case
        .participants
        .iter()
        .filter(|p| p.role == embargo_core::participant::Role::Fixer)
        .filter(|p| {
            case.part_of(&p.person)
                .is_none_or(|x| x == case.report.project)
        })
        .map(|p| p.person.to_string())
        .collect();
    if !fixers.is_empty() {
        let req = crate::cve::github_advisory(state, case, reqwest::Method::PATCH, "")
            .await
            .map_err(ServiceError::Internal)?
            .map_err(ServiceError::Invalid)?;
        let (status, _) = crate::cve::answer(
            req.json(&json!({ "collaborating_users": fixers })),
            "GitHub",
        )
        .await
        .map_err(ServiceError::Unavailable)?;
        if !status.is_success() {
            return Err(ServiceError::Invalid(format!(
                "GitHub made the fork ({url}) but refused the collaborators: {status}"
            )));
        }
    }
    Ok(url)
}

/// `GET /api/v1/cases/{id}/release`'s view for a caller limited to `part`.
pub fn view(state: &AppState, case: &Case, part: Option<&str>) -> embargo_api::ReleaseView {
    let policy = state.config.timeline_policy();
    let proposed = case.embargo.proposed();
    let shown = case.embargo.agreed_until().or(proposed);
    let mine = |project: &str| part.is_none_or(|p| p == project);
    embargo_api::ReleaseView {
        disclose_at: case.embargo.agreed_until().map(|t| t.to_string()),
        proposed: proposed.map(|t| t.to_string()),
        in_zones: shown
            .map(|t| embargo_core::timeline::in_zones(t, &state.config.disclosure.show_zones))
            .unwrap_or_default(),
        latest: policy.latest(case).to_string(),
        part: part.map(str::to_owned),
        teams: case
            .teams
            .iter()
            .filter(|(p, _)| mine(p))
            .map(|(p, f)| (p.clone(), f.iter().map(ToString::to_string).collect()))
            .collect(),
        forks: case
            .forks
            .iter()
            .filter(|f| mine(&f.project))
            .map(|f| embargo_api::ForkWire {
                project: f.project.clone(),
                host: f.host.name().to_owned(),
                url: f.url.clone(),
                opened_at: f.opened_at.to_string(),
                closed_at: f.closed_at.map(|t| t.to_string()),
            })
            .collect(),
        fork_requests: case
            .fork_requests
            .iter()
            .filter(|(p, _, _)| mine(p))
            .map(|(p, h, at)| (p.clone(), h.name().to_owned(), at.to_string()))
            .collect(),
        fork_failures: case
            .fork_failures
            .iter()
            .filter(|(p, _, _)| mine(p))
            .map(|(p, why, at)| (p.clone(), why.clone(), at.to_string()))
            .collect(),
        ci_runs: case
            .ci_runs
            .iter()
            .filter(|c| mine(&c.project))
            .map(|c| embargo_api::CiRunWire {
                project: c.project.clone(),
                reference: c.reference.clone(),
                commit: c.commit.clone(),
                passed: c.passed,
                output: c.output.clone(),
                at: c.at.to_string(),
            })
            .collect(),
        checklist: case
            .release_checklist()
            .into_iter()
            .map(|(item, at)| (item, at.map(|t| t.to_string())))
            .collect(),
        announcement: case.announcement.as_ref().map(|a| a.text.clone()),
        announcement_sent: case.announcement_sent.as_ref().map(|(t, _)| t.to_string()),
        embargo_notices: if part.is_none() {
            case.embargo_notices
                .iter()
                .map(|(d, m, at)| (d.clone(), m.to_string(), at.to_string()))
                .collect()
        } else {
            Vec::new()
        },
        guards: guards(state, case, state.clock.now())
            .into_iter()
            .map(|g| g.text)
            .collect(),
    }
}
