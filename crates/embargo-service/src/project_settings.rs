//! A project's release settings in force: what an admin saved in the
//! browser (the fork's upstream, the CI test command, the announcement
//! lists, the distributors and how many days ahead they hear), else the
//! file's `[release.projects.NAME]`. Saved settings are read from the
//! database where they are used, so they are in force at once, on every
//! server; the distributors' days also go to the timers' policy, which a
//! case's next change (or the next start) applies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use embargo_core::PersonId;

use crate::{
    AppState,
    config::{Distributor, ReleaseProject},
    error::ServiceError,
};

/// The settings the browser edits, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Edited {
    /// The repository a built-in fork is cloned from.
    pub upstream: Option<String>,
    /// The command run on every push.
    pub test_command: Option<String>,
    /// The lists its announcements go to (`None`: the `[release]` default).
    pub announce_to: Option<Vec<String>>,
    /// Days before the moment the distributors hear.
    pub prenotify_days: u16,
    /// The distributors.
    pub distributors: Vec<Distributor>,
}

impl Edited {
    /// What the browser's form starts from: the settings in force.
    pub fn of(settings: &ReleaseProject) -> Self {
        Self {
            upstream: settings.upstream.clone(),
            test_command: settings.test_command.clone(),
            announce_to: settings.announce_to.clone(),
            prenotify_days: settings.prenotify_days,
            distributors: settings.distributors.clone(),
        }
    }

    fn check(&self, project: &str) -> Result<(), String> {
        for list in self.announce_to.iter().flatten() {
            if !list.contains('@') || list.contains(char::is_whitespace) {
                return Err(format!("`{list}` is not an email address"));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for d in &self.distributors {
            if d.name.trim().is_empty() || !names.insert(d.name.trim().to_owned()) {
                return Err("each distributor has its own name".into());
            }
            if !d.email.contains('@') || d.email.contains(char::is_whitespace) {
                return Err(format!(
                    "distributor {}: `{}` is not an email address",
                    d.name, d.email
                ));
            }
            embargo_pgp::Certificate::parse(d.key.as_bytes()).map_err(|e| {
                format!(
                    "distributor {}: the key does not read ({e}); notices go only encrypted",
                    d.name
                )
            })?;
        }
        if !self.distributors.is_empty() && self.prenotify_days == 0 {
            return Err(format!(
                "{project}'s distributors need to hear at least one day before the moment"
            ));
        }
        if self.prenotify_days > 90 {
            return Err("distributors hear at most 90 days ahead".into());
        }
        for (name, text) in [
            ("upstream", &self.upstream),
            ("test command", &self.test_command),
        ] {
            if text
                .as_ref()
                .is_some_and(|t| t.len() > 2_000 || t.contains('\0'))
            {
                return Err(format!("the {name} is too long or not text"));
            }
        }
        Ok(())
    }
}

/// `project`'s release settings in force.
pub async fn settings(
    state: &AppState,
    project: &str,
) -> Result<ReleaseProject, embargo_store::StoreError> {
    let mut s = state.config.release_project(project).clone();
    if let Some(json) = state.store.project_release(project).await? {
        let e: Edited = serde_json::from_str(&json).map_err(|e| {
            embargo_store::StoreError::Corrupt(format!("project {project}'s settings: {e}"))
        })?;
        s.upstream = e.upstream;
        s.test_command = e.test_command;
        s.announce_to = e.announce_to;
        s.prenotify_days = e.prenotify_days;
        s.distributors = e.distributors;
    }
    Ok(s)
}

/// Keeps `edited` as `project`'s settings, in force at once.
pub async fn save(
    state: &AppState,
    project: &str,
    edited: Edited,
    by: &PersonId,
) -> Result<(), ServiceError> {
    edited.check(project).map_err(ServiceError::Invalid)?;
    let json = serde_json::to_string(&edited).map_err(|e| ServiceError::Internal(e.to_string()))?;
    state
        .store
        .put_project_release(project, &json, by, state.clock.unix())
        .await?;
    if let Ok(mut days) = state.policy.prenotify.write() {
        days.insert(project.to_owned(), edited.prenotify_days);
    }
    tracing::info!(project, by = %by, "project release settings saved");
    Ok(())
}

/// The lists `project`'s announcements go to.
pub async fn announce_to(
    state: &AppState,
    project: &str,
) -> Result<Vec<String>, embargo_store::StoreError> {
    Ok(settings(state, project)
        .await?
        .announce_to
        .unwrap_or_else(|| state.config.release.announce_to.clone()))
}

/// The days ahead saved in the browser, per project, for the timers.
pub async fn saved_prenotify(
    store: &embargo_store::Store,
) -> Result<BTreeMap<String, u16>, embargo_store::StoreError> {
    let mut out = BTreeMap::new();
    for (project, json) in store.project_releases().await? {
        if let Ok(e) = serde_json::from_str::<Edited>(&json) {
            out.insert(project, e.prenotify_days);
        }
    }
    Ok(out)
}
