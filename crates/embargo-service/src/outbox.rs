//! The scheduler and the outbox worker: the one place that turns time into
//! side effects.
//!
//! Every second (real time) the scheduler takes the cases whose timer is
//! due at the `Clock`'s time (the store's read model: a case just changed,
//! or the policy's next instant, `timers.rs`), asks the core which notices
//! are due on each (`sla::due_notices`) and what release work, and
//! enqueues each by its idempotency key, so a notice is enqueued once however often it is found
//! due, across restarts too. The worker then does the due jobs: success is
//! recorded with the attempt in one transaction; a failure is recorded and
//! retried with exponential backoff (30 s doubling, at most an hour between
//! tries), and given up after ten attempts. A job killed between sending
//! and recording is sent again on restart: delivery is at least once, and
//! each mail's Message-ID comes from the job's key, so a repeat is the same
//! message to the recipient's mail client.

use std::{sync::Arc, time::Duration};

use embargo_core::{CaseId, Handling, sla::NoticeKind};
use serde_json::json;

use crate::{AppState, mailer};

const MAX_ATTEMPTS: i64 = 10;

/// The scheduler's lease (seconds of the `Clock`): one server's passes at
/// a time; another takes over when it has not renewed for this long.
const SCHEDULER_LEASE_SECONDS: i64 = 30;

/// Takes (or renews) the scheduler's lease for this process: only its
/// holder looks at due timers (jobs are claimed one by one anyway). A held
/// lease is renewed when half of it is left, so an idle server writes it
/// every fifteen seconds, not every pass.
pub async fn scheduler_lease(state: &AppState) -> Result<bool, embargo_store::StoreError> {
    use std::sync::atomic::Ordering;
    let now = state.clock.unix();
    let until = state.scheduler_lease_until.load(Ordering::Relaxed);
    if now < until - SCHEDULER_LEASE_SECONDS / 2 {
        return Ok(true);
    }
    let ours = state
        .store
        .take_lease("scheduler", &state.worker, now, SCHEDULER_LEASE_SECONDS)
        .await?;
    let held = if ours {
        now + SCHEDULER_LEASE_SECONDS
    } else {
        0
    };
    state.scheduler_lease_until.store(held, Ordering::Relaxed);
    Ok(ours)
}

/// Runs until the server stops.
pub async fn run(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut forgotten_at: Option<i64> = None;
    loop {
        tick.tick().await;
        // Rate counts older than a day say nothing any more: a bounded
        // batch a minute goes.
        let now = state.clock.unix();
        if forgotten_at.is_none_or(|at| now.saturating_sub(at) >= 60) {
            forgotten_at = Some(now);
            if let Err(e) = state.store.forget_attempts(now - 86_400, 1_000).await {
                tracing::warn!(error = %e, "old rate counts could not be forgotten");
            }
        }
        state
            .scheduler_tick
            .store(state.clock.unix(), std::sync::atomic::Ordering::Relaxed);
        state.beats.beat(crate::health::Loop::Scheduler);
        // Every server follows an intake key rotation within a second.
        state.refresh_intake();
        let _pass = state.pass.lock().await;
        let started = std::time::Instant::now();
        let ours = match scheduler_lease(&state).await {
            Ok(ours) => ours,
            Err(e) => {
                tracing::warn!(error = %e, "the scheduler's lease could not be taken");
                false
            }
        };
        // A full pass means more is due (a backlog after a new read model):
        // take further passes within the tick's budget rather than one a
        // second.
        if ours {
            loop {
                match schedule(&state).await {
                    Ok(n) if n >= DUE_PER_PASS as usize && started.elapsed() < PASS_BUDGET => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the scheduler could not run");
                        break;
                    }
                }
            }
            // Duplicate hints of the cases changed since: a bounded batch,
            // more within the tick's budget after a backlog (a migration).
            loop {
                match crate::hints::pass(&state).await {
                    Ok(n)
                        if n >= crate::hints::PER_PASS as usize
                            && started.elapsed() < PASS_BUDGET => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "duplicate hints could not be worked out");
                        break;
                    }
                }
            }
        }
        state.scheduler_micros.store(
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        if let Err(e) = work(&state).await {
            tracing::warn!(error = %e, "the outbox could not run");
        }
        state.beats.beat(crate::health::Loop::Scheduler);
    }
}

/// A digest lists at most this many pages of 200 unanswered reports.
const DIGEST_PAGES: usize = 10;

/// How many due cases one pass takes up (the rest wait for the next pass).
const DUE_PER_PASS: u32 = 500;

/// How long one tick may keep taking full passes before the worker's turn.
const PASS_BUDGET: Duration = Duration::from_millis(800);

/// Does what is due now: the store's timers name the cases with something
/// due (a change since the last look, a notice, a release instant); each is
/// looked at and its timer set to the policy's next instant. The cost of a
/// pass follows what is due, not the number of cases.
pub async fn schedule(state: &Arc<AppState>) -> Result<usize, embargo_store::StoreError> {
    let now = state.clock.now();
    let due = state.store.due_timers(now, DUE_PER_PASS).await?;
    let count = due.len();
    for (id, version) in due {
        let case = match state.store.case(&id).await {
            Ok(case) => case,
            Err(embargo_store::StoreError::NoSuchCase(_)) => {
                state.store.rearm_timer(&id, version, None).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        due_work(state, &case, now).await?;
        let next = embargo_store::Policy::next_due(state.policy.as_ref(), &case, now);
        state.store.rearm_timer(&id, version, next).await?;
    }
    schedule_digests(state, now).await?;
    schedule_backup(state, now).await?;
    Ok(count)
}

/// Once per `[backup] every_hours`, when a directory is set: one backup
/// job for the slot.
async fn schedule_backup(
    state: &AppState,
    now: jiff::Timestamp,
) -> Result<(), embargo_store::StoreError> {
    let cfg = &state.config.backup;
    // On PostgreSQL the database's own backups serve (start says so).
    if cfg.dir.is_none() || !state.store.is_sqlite() {
        return Ok(());
    }
    let every = i64::from(cfg.every_hours) * 3600;
    let job = crate::jobs::backup::Backup {
        slot: now.as_second().div_euclid(every),
    };
    crate::jobs::enqueue(state, &job).await?;
    Ok(())
}

/// What is due on one case at `now`: its release work and the notices its
/// clocks have made due (each enqueued once, by key).
async fn due_work(
    state: &Arc<AppState>,
    case: &embargo_core::Case,
    now: jiff::Timestamp,
) -> Result<(), embargo_store::StoreError> {
    // A closed case has no running clock.
    if case.handling == Handling::Closed {
        return Ok(());
    }
    crate::release::schedule(state, case).await?;
    let id = case.id.clone();
    let policy = state.config.sla_policy(&case.report.project);
    let deadlines = embargo_core::sla::deadlines(case, &policy);
    for (kind, notice) in embargo_core::sla::case_notices(case, &policy, now) {
        let (what, percent) = match notice.kind {
            NoticeKind::Warning { percent } => ("warning", percent),
            NoticeKind::Escalation => ("escalation", 100),
        };
        let due = deadlines
            .iter()
            .find(|d| d.kind == kind)
            .map(|d| d.clock.due.to_string())
            .unwrap_or_default();
        let job = crate::jobs::notice::Notice {
            key: notice.key.clone(),
            body: crate::jobs::notice::NoticeBody {
                case_id: id.to_string(),
                clock: Some(kind.describe().to_owned()),
                notice: Some(what.to_owned()),
                percent: Some(u32::from(percent)),
                due: Some(due),
                ..Default::default()
            },
        };
        // The notice itself: doing it fans out to each person and each
        // webhook as jobs of their own (one failing receiver does not
        // hold back the others, and each is sent once).
        if crate::jobs::enqueue(state, &job).await? {
            tracing::info!(case = %id, notice = what, "notice enqueued");
        }
    }
    Ok(())
}

/// At `[sla] digest_hour_utc` each day, one digest job per person who asked
/// for digests.
async fn schedule_digests(
    state: &AppState,
    now: jiff::Timestamp,
) -> Result<(), embargo_store::StoreError> {
    let zoned = now.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    if zoned.hour() < state.config.sla.digest_hour_utc {
        return Ok(());
    }
    let date = zoned.date();
    for person in state.store.people().await? {
        if person.password_hash.is_none() || !person.role.is_srt() {
            continue;
        }
        if state.store.prefs(&person.id).await?.notify != "digest" {
            continue;
        }
        let job = crate::jobs::digest::Digest {
            person: person.id.to_string(),
            date: date.to_string(),
        };
        crate::jobs::enqueue(state, &job).await?;
    }
    Ok(())
}

/// Does the jobs of the main lane due now (at most 50 a pass); says how
/// many it tried.
pub async fn work(state: &AppState) -> Result<usize, embargo_store::StoreError> {
    work_lane(state, embargo_store::Lane::Main, 50).await
}

/// Does the next due job of the long lane (a CI run), if any.
pub async fn work_long(state: &AppState) -> Result<usize, embargo_store::StoreError> {
    work_lane(state, embargo_store::Lane::Long, 1).await
}

/// Runs the long lane until the server stops: one job at a time, beside
/// the main loop, so that a long CI run never holds back a notice.
pub async fn run_long(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.beats.beat(crate::health::Loop::LongLane);
        let _pass = state.long_pass.lock().await;
        if let Err(e) = work_long(&state).await {
            tracing::warn!(error = %e, "the long lane could not run");
        }
        state.beats.beat(crate::health::Loop::LongLane);
    }
}

async fn work_lane(
    state: &AppState,
    lane: embargo_store::Lane,
    limit: i64,
) -> Result<usize, embargo_store::StoreError> {
    // How long a claimed job is this worker's (seconds of the `Clock`)
    // without renewal: past it, a job whose worker died is due again.
    let lease = i64::from(state.config.server.job_lease_seconds);
    let now = state.clock.unix();
    let jobs = state
        .store
        .claim_jobs(lane, &state.worker, now, lease, limit)
        .await?;
    let count = jobs.len();
    // The claims of the jobs not yet recorded are renewed every third of
    // the lease while the batch runs (in this task: the batch's awaits let
    // the renewal in), so a batch of slow sends never outlives its lease
    // while this server is alive.
    let waiting = std::sync::Mutex::new(jobs.iter().map(|j| j.id).collect::<Vec<_>>());
    let renew = async {
        let every = Duration::from_secs(u64::try_from(lease / 3).unwrap_or(1).max(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            let ids = waiting.lock().map(|w| w.clone()).unwrap_or_default();
            let until = state.clock.unix() + lease;
            if let Err(e) = state.store.renew_jobs(&ids, &state.worker, until).await {
                tracing::warn!(error = %e, "could not renew the claims on running jobs");
            }
        }
    };
    let batch = work_batch(state, jobs, &waiting);
    tokio::select! {
        done = batch => done.map(|()| count),
        never = renew => never,
    }
}

/// Whether this attempt at `job` is its last: failed, it is given up.
fn last_attempt(job: &embargo_store::OutboxJob) -> bool {
    job.attempts + 1 >= MAX_ATTEMPTS
}

/// Does the claimed `jobs` in order and records each outcome; each id
/// leaves `waiting` once recorded.
async fn work_batch(
    state: &AppState,
    jobs: Vec<embargo_store::OutboxJob>,
    waiting: &std::sync::Mutex<Vec<i64>>,
) -> Result<(), embargo_store::StoreError> {
    for job in jobs {
        let now = state.clock.unix();
        let recorded = match perform(state, &job).await {
            Ok(()) => {
                state
                    .store
                    .job_done(job.id, &state.worker, state.clock.unix())
                    .await?
            }
            Err(e) => {
                let attempts = job.attempts + 1;
                let retry_at = (!last_attempt(&job)).then(|| {
                    let wait = (30_i64 << (attempts - 1).clamp(0, 7)).min(3600);
                    now + wait
                });
                tracing::warn!(job = %job.key, attempts, error = %e, "outbox job failed");
                state
                    .store
                    .job_failed(job.id, &state.worker, state.clock.unix(), &e, retry_at)
                    .await?
            }
        };
        if !recorded {
            // The lease ran out while the job ran and another worker has
            // it now: its outcome is that worker's to record.
            tracing::warn!(job = %job.key, "outbox job outlived its lease; not recorded here");
        }
        if let Ok(mut w) = waiting.lock() {
            w.retain(|id| *id != job.id);
        }
    }
    Ok(())
}

/// Does one claimed job: reads its typed payload (`jobs`) and hands it to
/// the adapter that does the work.
async fn perform(state: &AppState, job: &embargo_store::OutboxJob) -> Result<(), String> {
    use crate::jobs::{
        Job, announce::Announce, ci_run::CiRun, cve_github_poll::CveGithubPoll,
        cve_publish::CvePublish, cve_request::CveRequest, decode, digest::Digest,
        embargo_notice::EmbargoNotice, fork_open::ForkOpen, ghsa_publish::GhsaPublish,
        mail_reporter::MailReporter, merge_check::MergeCheck, notice::Notice,
        notify_person::NotifyPerson, team_notice::TeamMail, team_notice::TeamNotice,
        timeline_notice::TimelineNotice, webhook::Webhook,
    };
    let m = mailer::Mailer::of(state);
    let message_id = mailer::message_id_for(&m, &job.key);
    let case = |id: String| async move {
        let id = CaseId::new(id).map_err(|e| e.to_string())?;
        state.store.case(&id).await.map_err(|e| e.to_string())
    };
    match job.kind.as_str() {
        MailReporter::KIND => {
            let j = decode::<MailReporter>(job)?;
            let case = case(j.case_id).await?;
            mailer::to_reporter(&m, &case, &j.subject, &j.text, &message_id)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Notice::KIND => {
            let j = decode::<Notice>(job)?;
            fan_out(state, &job.key, &j.body)
                .await
                .map_err(|e| e.to_string())
        }
        NotifyPerson::KIND => {
            let j = decode::<NotifyPerson>(job)?;
            let case = case(j.body.case_id.clone()).await?;
            notify_person(state, &m, &message_id, &case, &j.person, &j.body).await
        }
        Webhook::KIND => {
            let j = decode::<Webhook>(job)?;
            let case = case(j.body.case_id.clone()).await?;
            post_webhook(state, &job.key, &case, j.webhook, &j.body).await
        }
        TimelineNotice::KIND => {
            let j = decode::<TimelineNotice>(job)?;
            let case = case(j.case_id.clone()).await?;
            let body = crate::jobs::notice::NoticeBody {
                case_id: j.case_id,
                subject: Some(j.subject),
                text: Some(j.text),
                ..Default::default()
            };
            let on_case =
                |p: &embargo_store::Person| crate::effects::hears_of_timeline(case.role_of(&p.id));
            notify_people(state, &j.key, &body, on_case)
                .await
                .map_err(|e| e.to_string())
        }
        crate::jobs::backup::Backup::KIND => crate::backup::scheduled(state).await,
        TeamNotice::KIND => {
            let j = decode::<TeamNotice>(job)?;
            for p in state.store.people().await.map_err(|e| e.to_string())? {
                let on_team = matches!(
                    p.role,
                    embargo_core::access::OrgRole::Admin | embargo_core::access::OrgRole::Srt
                );
                if p.password_hash.is_none() || !on_team {
                    continue;
                }
                let mail = TeamMail {
                    person: p.id.to_string(),
                    notice_key: j.key.clone(),
                    subject: j.subject.clone(),
                    text: j.text.clone(),
                };
                crate::jobs::enqueue(state, &mail)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        TeamMail::KIND => {
            let j = decode::<TeamMail>(job)?;
            let Some(p) = state
                .store
                .person(&j.person)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(()); // gone since
            };
            let prefs = state.store.prefs(&p.id).await.map_err(|e| e.to_string())?;
            mailer::to_person(
                &m,
                &p.email,
                prefs.openpgp_key.as_deref(),
                &j.subject,
                &j.text,
                "",
                &message_id,
            )
            .await
            .map_err(|e| e.to_string())
        }
        Digest::KIND => {
            let j = decode::<Digest>(job)?;
            digest(state, &m, &j.person, &j.date, &message_id).await
        }
        CveRequest::KIND => {
            let j = decode::<CveRequest>(job)?;
            let via = embargo_core::event::CveVia::parse(&j.via)
                .ok_or_else(|| format!("`{}` is not a way to request a CVE", j.via))?;
            crate::cve::request(state, &case(j.case_id).await?, via).await
        }
        CveGithubPoll::KIND => {
            let j = decode::<CveGithubPoll>(job)?;
            crate::cve::poll(state, &case(j.case_id).await?).await
        }
        CvePublish::KIND => {
            let j = decode::<CvePublish>(job)?;
            crate::cve::publish_record(state, &case(j.case_id).await?).await
        }
        CiRun::KIND => {
            let j = decode::<CiRun>(job)?;
            let id = CaseId::new(j.case_id).map_err(|e| e.to_string())?;
            crate::forks::run_ci(state, &id, &j.project).await
        }
        Announce::KIND => {
            let j = decode::<Announce>(job)?;
            crate::release::announce(state, &case(j.case_id).await?, &m, &message_id).await
        }
        GhsaPublish::KIND => {
            let j = decode::<GhsaPublish>(job)?;
            crate::release::publish_github_advisory(state, &case(j.case_id).await?).await
        }
        EmbargoNotice::KIND => {
            let j = decode::<EmbargoNotice>(job)?;
            let case = case(j.case_id.clone()).await?;
            crate::release::send_embargo_notice(state, &case, &j, &m, &message_id).await
        }
        ForkOpen::KIND => {
            let j = decode::<ForkOpen>(job)?;
            let case = case(j.case_id.clone()).await?;
            open_fork(state, &case, j.project, &j.host, last_attempt(job)).await
        }
        MergeCheck::KIND => {
            let j = decode::<MergeCheck>(job)?;
            let case = case(j.case_id.clone()).await?;
            crate::release::check_merged(state, &case, &j.project, &j.commits).await
        }
        other => Err(format!("unknown job kind `{other}`")),
    }
}

/// A `fork_open` job: the fork of `project` the case asked for, made and
/// recorded; what cannot be made is recorded as a failure with its reason.
/// An outage fails the attempt, but on the `last` one it is the reason: the
/// request does not wait for a job that is given up.
async fn open_fork(
    state: &AppState,
    case: &embargo_core::Case,
    project: String,
    host: &str,
    last: bool,
) -> Result<(), String> {
    use embargo_core::{Command, event::ForkHost};
    if !case.fork_requested(&project) {
        return Ok(()); // made or given up since
    }
    let (host, made) = match host {
        "builtin" => (
            ForkHost::Builtin,
            crate::forks::create(state, case, &project).await,
        ),
        "github" => (
            ForkHost::Github,
            crate::release::github_fork(state, case).await,
        ),
        other => return Err(format!("`{other}` is not a host a fork is made on")),
    };
    let command = match made {
        Ok(url) => Command::OpenPrivateFork {
            url: Some(url),
            project: Some(project),
            host,
        },
        Err(
            crate::error::ServiceError::Invalid(reason)
            | crate::error::ServiceError::Forbidden(reason),
        ) => Command::RecordForkFailure { project, reason },
        Err(crate::error::ServiceError::Unavailable(reason)) if last => {
            Command::RecordForkFailure {
                project,
                reason: format!("given up after {MAX_ATTEMPTS} attempts: {reason}"),
            }
        }
        // The upstream or GitHub down: this attempt fails and is retried.
        Err(crate::error::ServiceError::Unavailable(reason)) => return Err(reason),
        Err(e) => return Err(e.to_string()),
    };
    crate::authz::run_as_system(state, &case.id, "system:forks", command)
        .await
        .map(|_| ())
}

/// A `notify_person` job: `person` told by mail what `body` says, with
/// what the case is about only if they see it and only encrypted.
async fn notify_person(
    state: &AppState,
    m: &mailer::Mailer,
    message_id: &str,
    case: &embargo_core::Case,
    person: &str,
    body: &crate::jobs::notice::NoticeBody,
) -> Result<(), String> {
    let person = embargo_core::PersonId::new(person).map_err(|e| e.to_string())?;
    let Some(p) = state
        .store
        .person(person.as_str())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(()); // gone since
    };
    let prefs = state
        .store
        .prefs(&person)
        .await
        .map_err(|e| e.to_string())?;
    let (subject, text) = notice_text(state, case, body);
    // What the case is about goes only to someone who sees it.
    let about = match crate::authz::Viewer::load(state, person.as_str()).await {
        Ok(Some(viewer)) => viewer
            .lens(case)
            .map(|lens| lens.case(case).report.title)
            .unwrap_or_default(),
        _ => String::new(),
    };
    mailer::to_person(
        m,
        &p.email,
        prefs.openpgp_key.as_deref(),
        &subject,
        &text,
        &about,
        message_id,
    )
    .await
    .map_err(|e| e.to_string())
}

/// A `webhook` job: `body` posted to webhook number `n`.
pub async fn post_webhook(
    state: &AppState,
    key: &str,
    case: &embargo_core::Case,
    n: usize,
    body: &crate::jobs::notice::NoticeBody,
) -> Result<(), String> {
    let hook = state
        .config
        .webhook
        .get(n)
        .ok_or("the webhook is no longer configured")?;
    let (subject, text) = notice_text(state, case, body);
    send_webhook(state, hook, key, case, body, &subject, &text).await
}

/// A `notice` job, done: one `notify_person` job per person to tell (by
/// their preferences) and one `webhook` job per hook, under `key`.
pub async fn fan_out(
    state: &AppState,
    key: &str,
    body: &crate::jobs::notice::NoticeBody,
) -> Result<(), embargo_store::StoreError> {
    let sla = &state.config.sla;
    notify_people(state, key, body, |p| {
        sla.notify_people.iter().any(|n| n == p.id.as_str())
            || sla.notify_roles.iter().any(|r| r == p.role.name())
    })
    .await?;
    for n in 0..state.config.webhook.len() {
        let job = crate::jobs::webhook::Webhook {
            body: body.clone(),
            webhook: n,
            notice_key: key.to_owned(),
        };
        crate::jobs::enqueue(state, &job).await?;
    }
    Ok(())
}

/// One `notify_person` job (`KEY|to:PERSON`) for each person `chosen`
/// picks who has signed up and wants notices as they happen (digest and
/// none are kept).
pub async fn notify_people(
    state: &AppState,
    key: &str,
    body: &crate::jobs::notice::NoticeBody,
    chosen: impl Fn(&embargo_store::Person) -> bool,
) -> Result<(), embargo_store::StoreError> {
    for p in state.store.people().await? {
        if p.password_hash.is_none() || !chosen(&p) {
            continue;
        }
        if state.store.prefs(&p.id).await?.notify != "immediate" {
            continue;
        }
        let job = crate::jobs::notify_person::NotifyPerson {
            body: body.clone(),
            person: p.id.to_string(),
            notice_key: key.to_owned(),
        };
        crate::jobs::enqueue(state, &job).await?;
    }
    Ok(())
}

/// A person's daily digest: every report still waiting for its answer, with
/// when it is due. Case ids and times only, unless their key is on file.
pub async fn digest(
    state: &AppState,
    m: &mailer::Mailer,
    person: &str,
    date: &str,
    message_id: &str,
) -> Result<(), String> {
    let id = embargo_core::PersonId::new(person).map_err(|e| e.to_string())?;
    let Some(p) = state
        .store
        .person(id.as_str())
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let prefs = state.store.prefs(&id).await.map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let mut lines = Vec::new();
    let mut titles = Vec::new();
    // A digest names only the cases its reader sees: the unanswered ones of
    // their list, a page at a time from the read model (never the archive).
    let caller = crate::authz::caller(state, id.as_str())
        .await
        .map_err(|e| format!("{e:?}"))?;
    let mut unanswered = Vec::new();
    let mut more = false;
    if let Some(caller) = &caller {
        let projects = state.store.projects().await.map_err(|e| format!("{e:?}"))?;
        let mut query = embargo_store::ListQuery {
            limit: 200,
            stage: Some(embargo_core::Stage::New.label().to_owned()),
            ..Default::default()
        };
        for page_number in 1..=DIGEST_PAGES {
            let (page, next) =
                crate::authz::visible_page(state, caller, &projects, query.clone(), |_| true)
                    .await
                    .map_err(|e| format!("{e:?}"))?;
            unanswered.extend(page.into_iter().map(|(case, _)| case));
            match next {
                Some(next) if page_number < DIGEST_PAGES => query.after = Some(next),
                Some(_) => more = true,
                None => break,
            }
        }
    }
    // Held reports are unanswered too: the digest counts them (the
    // screening queue lists them) without naming them one by one.
    let held = if caller.as_ref().is_some_and(|c| c.is_srt()) {
        state
            .store
            .stage_count(embargo_core::Stage::Screening.label())
            .await
            .map_err(|e| e.to_string())?
    } else {
        0
    };
    if held > 0 {
        lines.push(format!(
            "- {held} report(s) wait in the screening queue: {}/screening",
            crate::links::browser_base_url(state)
        ));
    }
    for case in unanswered {
        let cid = case.id.clone();
        let due = case.ack_clock(state.config.ack_policy_for(&case)).due;
        let late = if due < now { " (overdue)" } else { "" };
        lines.push(format!("- {cid}: acknowledgement due {due}{late}"));
        titles.push(format!("- {cid}: {}", case.report.title));
    }
    let base = crate::links::browser_base_url(state);
    if more {
        lines.push("- and more: the inbox lists them all".to_owned());
    }
    let body = if lines.is_empty() {
        format!(
            "Nothing is waiting for an acknowledgement.
{base}/
"
        )
    } else {
        format!(
            "Waiting for an acknowledgement:
{}

{base}/
",
            lines.join(
                "
"
            )
        )
    };
    mailer::to_person(
        m,
        &p.email,
        prefs.openpgp_key.as_deref(),
        &format!("embargo digest for {date}"),
        &body,
        &titles.join(
            "
",
        ),
        message_id,
    )
    .await
    .map_err(|e| e.to_string())
}

/// What a notice says: the case id, its stage, what is due, a link. Never
/// the report.
fn notice_text(
    state: &AppState,
    case: &embargo_core::Case,
    body: &crate::jobs::notice::NoticeBody,
) -> (String, String) {
    let link = format!(
        "{}/cases/{}",
        crate::links::browser_base_url(state),
        case.id
    );
    // A message of its own (a timeline change), or a guard's alert.
    if let (Some(subject), Some(text)) = (&body.subject, &body.text) {
        return (subject.clone(), text.clone());
    }
    if let Some(guard) = &body.guard {
        return (
            format!("[{}] Release guard: act now", case.id),
            format!("{guard}.\n{link}\n"),
        );
    }
    let due = body.due.clone().unwrap_or_default();
    let clock = body
        .clock
        .clone()
        .unwrap_or_else(|| "acknowledgement".into());
    let mut title = clock.clone();
    if let Some(first) = title.get(..1) {
        title = format!(
            "{}{}",
            first.to_uppercase(),
            title.get(1..).unwrap_or_default()
        );
    }
    if body.notice.as_deref() == Some("escalation") {
        let promise = if clock == "acknowledgement" {
            format!(", the {} hour promise", state.config.sla.acknowledge_hours)
        } else {
            String::new()
        };
        (
            format!("[{}] {title} overdue", case.id),
            format!(
                "The {clock} of case {} (stage: {}) was due by {due}{promise}.\n\
                 Please act now:\n{link}\n",
                case.id,
                case.stage().label(),
            ),
        )
    } else {
        let percent = body.percent.unwrap_or_default();
        (
            format!("[{}] {title} due at {due}", case.id),
            format!(
                "{percent}% of the {clock} window of case {} (stage: {}) has passed.\n\
                 It is due at {due}:\n{link}\n",
                case.id,
                case.stage().label()
            ),
        )
    }
}

/// Posts a notice to a webhook in its format. The job key doubles as the
/// idempotency key the receiver can use (`Idempotency-Key`; Matrix's
/// transaction id, which Matrix itself deduplicates).
async fn send_webhook(
    state: &AppState,
    hook: &crate::config::Webhook,
    key: &str,
    case: &embargo_core::Case,
    notice: &crate::jobs::notice::NoticeBody,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let client = crate::net::http_client(Duration::from_secs(20))?;
    let link = format!(
        "{}/cases/{}",
        crate::links::browser_base_url(state),
        case.id
    );
    let text = format!("{subject}\n{body}");
    let request = match hook.format.as_str() {
        "slack" => client.post(&hook.url).json(&json!({ "text": text })),
        "zulip" => {
            let mut r = client.post(&hook.url).form(&[
                ("type", "stream"),
                ("to", hook.stream.as_deref().unwrap_or("security")),
                ("topic", case.id.as_str()),
                ("content", text.as_str()),
            ]);
            if let Some((user, api_key)) = hook.token.as_deref().and_then(|t| t.split_once(':')) {
                r = r.basic_auth(user, Some(api_key));
            }
            r
        }
        "matrix" => {
            use sha2::Digest;
            let txn = hex::encode(sha2::Sha256::digest(key.as_bytes()));
            let url = format!(
                "{}/send/m.room.message/{txn}",
                hook.url.trim_end_matches('/')
            );
            let mut r = client
                .put(url)
                .json(&json!({ "msgtype": "m.text", "body": text }));
            if let Some(t) = &hook.token {
                r = r.bearer_auth(t);
            }
            r
        }
        _ => client.post(&hook.url).json(&json!({
            "event": format!(
                "{}_{}",
                notice.clock.as_deref().unwrap_or("acknowledgement"),
                notice.notice.as_deref().unwrap_or("notice")
            ),
            "case": case.id.as_str(),
            "stage": case.stage().label(),
            "due": notice.due,
            "percent": notice.percent,
            "url": link,
            "text": text,
        })),
    };
    let resp = request
        .header("Idempotency-Key", key)
        .send()
        .await
        .map_err(|e| format!("cannot reach the webhook: {e}"))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered {}", resp.status()))
    }
}
