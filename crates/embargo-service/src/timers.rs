//! The deployment's policy for the store's read model: when a case's
//! acknowledgement is due (the queue's order) and when the scheduler next
//! has work on it (its clocks' notices, release day's instants). The store
//! keeps both in the transaction of every append; the scheduler reads only
//! the timers that are due.

use embargo_core::{Case, Handling, Timestamp};
use jiff::SignedDuration;
use sha2::{Digest, Sha256};

use crate::config::Config;

/// How often (by the `Clock`) a case in release work is looked at again
/// when nothing exact is due: merge checks, and a published case's
/// built-in fork still to remove.
pub const RECHECK_SECONDS: i64 = 600;

/// The policy of one deployment, from its configuration.
pub struct Deployment {
    /// The configuration the policy is read from.
    pub config: Config,
    /// Days ahead each project's distributors hear, as admins set them in
    /// the browser (`project_settings`), over the file's.
    pub prenotify: std::sync::RwLock<std::collections::BTreeMap<String, u16>>,
}

impl Deployment {
    /// The policy of `config`, with the browser's `prenotify` days.
    pub fn new(config: Config, prenotify: std::collections::BTreeMap<String, u16>) -> Self {
        Self {
            config,
            prenotify: std::sync::RwLock::new(prenotify),
        }
    }

    /// Days before the moment `project`'s distributors are told.
    pub fn prenotify_days(&self, project: &str) -> u16 {
        self.prenotify
            .read()
            .ok()
            .and_then(|m| m.get(project).copied())
            .unwrap_or_else(|| self.config.release_project(project).prenotify_days)
    }
}

impl embargo_store::Policy for Deployment {
    fn ack_due(&self, case: &Case) -> Timestamp {
        case.ack_clock(self.config.ack_policy_for(case)).due
    }

    fn next_due(&self, case: &Case, after: Timestamp) -> Option<Timestamp> {
        if case.handling == Handling::Closed {
            return None;
        }
        let policy = self.config.sla_policy(&case.report.project);
        let clocks = embargo_core::sla::next_notice_at(case, &policy, after);
        [clocks, release_next(self, case, after)]
            .into_iter()
            .flatten()
            .min()
    }

    fn fingerprint(&self) -> String {
        // What the instants depend on; stored only as a digest.
        let c = &self.config;
        let prenotify = self
            .prenotify
            .read()
            .map(|m| format!("{m:?}"))
            .unwrap_or_default();
        // And what the public lists are rendered with.
        let text = format!(
            "v2|{:?}|{:?}|{:?}|{prenotify}|public {}|{:?}|{:?}|{:?}",
            c.sla,
            c.disclosure,
            c.release,
            crate::exports::PUBLIC_FORMAT,
            c.advisories,
            c.cve.org_id,
            c.cve.short_name
        );
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn publishes(&self) -> bool {
        true
    }

    fn public(&self, case: &Case) -> Option<embargo_store::Public> {
        crate::exports::render_public(&self.config, case)
    }

    fn running_clocks(&self, case: &Case) -> Vec<(String, Timestamp)> {
        if case.handling == Handling::Closed {
            return Vec::new();
        }
        let policy = self.config.sla_policy(&case.report.project);
        embargo_core::sla::deadlines(case, &policy)
            .into_iter()
            .filter(|d| d.clock.stopped_at.is_none())
            .map(|d| (d.kind.describe().to_owned(), d.clock.due))
            .collect()
    }
}

/// The first instant after `after` with release work on `case`: the
/// disclosure moment, the distributors' pre-notices, the guards' grace
/// ends, the retrospective's day; and a recheck every `RECHECK_SECONDS`
/// while a ready fix waits to be merged or a published case's built-in
/// fork waits to be removed.
fn release_next(deployment: &Deployment, case: &Case, after: Timestamp) -> Option<Timestamp> {
    let config = &deployment.config;
    let second = SignedDuration::from_secs(1);
    let recheck = after
        .checked_add(SignedDuration::from_secs(RECHECK_SECONDS))
        .ok();
    let (fork_grace, advisory_grace) = config.guard_graces();
    let mut at: Vec<Option<Timestamp>> = Vec::new();
    match case.published_at {
        None => {
            if let Some(until) = case.embargo.agreed_until() {
                at.push(Some(until));
                at.push(until.checked_add(second).ok());
                for project in case.named_projects() {
                    let days = deployment.prenotify_days(project);
                    let ahead = SignedDuration::from_hours(i64::from(days) * 24);
                    at.push(until.checked_sub(ahead).ok());
                }
            }
            if let Some(released) = case.facts.fix_released {
                at.push(released.checked_add(advisory_grace + second).ok());
            }
            let merged = case
                .release_steps
                .iter()
                .any(|(s, _)| *s == embargo_core::event::ReleaseStep::MergeFix);
            let open_fork = case.forks.iter().any(|f| f.closed_at.is_none());
            if case.facts.fix_ready.is_some() && !merged && open_fork {
                at.push(recheck);
            }
        }
        Some(published) => {
            // The first look after publication (the writer's, at once)
            // queues the follow-ups by key; after it only these instants
            // have work: the fork guard's grace end, the retrospective's
            // day, and a recheck while a built-in fork is still to remove.
            // A published case therefore costs the scheduler nothing once
            // its release work is done, however long it stays open.
            at.push(published.checked_add(fork_grace + second).ok());
            if case.retrospective.is_none() {
                let days = i64::from(config.release.retrospective_after_days);
                at.push(
                    published
                        .checked_add(SignedDuration::from_hours(days * 24) + second)
                        .ok(),
                );
            }
            let builtin_open = case
                .forks
                .iter()
                .any(|f| f.closed_at.is_none() && f.host == embargo_core::event::ForkHost::Builtin);
            if builtin_open {
                at.push(recheck);
            }
        }
    }
    at.into_iter().flatten().filter(|t| *t > after).min()
}

/// The name of every project the deployment knows, by its keyed hash (the
/// read model names projects only by hash).
pub async fn project_names(
    state: &crate::AppState,
) -> Result<std::collections::HashMap<String, String>, embargo_store::StoreError> {
    let mut known: Vec<String> = state
        .store
        .projects()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    known.push(state.config.intake.default_project.clone());
    let mut names = std::collections::HashMap::new();
    for name in known {
        names.insert(state.store.project_key(&name)?, name);
    }
    Ok(names)
}

/// The name for the keyed hash `hash` in `names`.
pub fn project_name(names: &std::collections::HashMap<String, String>, hash: &str) -> String {
    names
        .get(hash)
        .cloned()
        .unwrap_or_else(|| "(a project no longer listed)".into())
}

/// The figures of the cases received at or after `since`, each with its
/// project's name.
pub async fn figures(
    state: &crate::AppState,
    since: i64,
) -> Result<Vec<embargo_core::stats::Figures>, embargo_store::StoreError> {
    let mut figures = state.store.figures_since(since).await?;
    let names = project_names(state).await?;
    for f in &mut figures {
        f.project = project_name(&names, &f.project);
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use embargo_core::{
        CaseId, PersonId,
        event::{Channel, Report},
    };
    use embargo_store::Policy;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A case reported at `received`, as the fold makes it.
    fn reported(received: Timestamp) -> Case {
        let report = Report {
            project: "numpy".into(),
            title: "t".into(),
            body: "b".into(),
            reporter_name: None,
            reporter_email: None,
            channel: Channel::Web,
            intake: Default::default(),
        };
        let actor = PersonId::new("sam").unwrap();
        let events = embargo_core::decide_new(report, &actor, received).unwrap();
        Case::from_events(CaseId::from_parts(2026, 1), &events).unwrap()
    }

    /// Once a published case's release work is done, the scheduler has
    /// nothing more on it: no ten-minute recheck for as long as it stays
    /// open, only the instants that still have work.
    #[test]
    fn a_published_case_is_looked_at_only_while_it_has_work() {
        let policy = Deployment::new(Config::parse("").unwrap(), Default::default());
        let published = at("2026-03-05T16:00:00Z");
        let mut case = reported(at("2026-03-02T09:00:00Z"));
        case.published_at = Some(published);
        let grace_end = published
            + SignedDuration::from_hours(i64::from(policy.config.release.fork_grace_hours))
            + SignedDuration::from_secs(1);
        let retro_day = published
            + SignedDuration::from_hours(
                i64::from(policy.config.release.retrospective_after_days) * 24,
            )
            + SignedDuration::from_secs(1);
        let after_grace = grace_end + SignedDuration::from_hours(1);
        // The retrospective's day is still ahead: that is the next instant.
        let next = policy.next_due(&case, after_grace);
        assert!(
            next.is_some_and(|t| t <= retro_day && t > after_grace + SignedDuration::from_mins(10)),
            "{next:?}"
        );
        // Written: nothing is due, however long the case stays open.
        case.retrospective = Some(embargo_core::case::Signed {
            text: "r".into(),
            by: PersonId::new("sam").unwrap(),
            at: retro_day,
        });
        assert_eq!(
            policy.next_due(&case, retro_day + SignedDuration::from_hours(1)),
            None
        );
        // A built-in fork still to remove is rechecked.
        case.forks.push(embargo_core::case::PrivateFork {
            project: "numpy".into(),
            host: embargo_core::event::ForkHost::Builtin,
            url: "http://localhost/git/x/numpy.git".into(),
            opened_at: published,
            closed_at: None,
        });
        let later = retro_day + SignedDuration::from_hours(1);
        assert_eq!(
            policy.next_due(&case, later),
            Some(later + SignedDuration::from_secs(RECHECK_SECONDS))
        );
    }
}
