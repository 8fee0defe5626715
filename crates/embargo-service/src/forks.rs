//! Built-in private forks: one bare git repository per case and project
//! under `<data dir>/forks/<case>/<project>.git`, cloned from the project's
//! upstream when the fork is opened, and removed when the case is
//! disclosed. (`git.rs` in the server serves them over smart HTTP.)
//!
//! The repository is plain git on disk while the fork lives (git must read
//! it), unlike the sealed case data; it is deleted at disclosure.
//!
//! CI: after every push, the project's `test_command` runs on each branch
//! or tag head that has not been tested yet, in a fresh clone in its own
//! temporary directory, with a clean environment (only `PATH`, and `HOME`
//! set to that directory) and a time limit; the result is recorded on the
//! case (`ci_reported`). Runs are one at a time.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use embargo_core::{Case, CaseId, Command, PersonId, access::Standing, event::ForkHost};
use rand::RngCore;

use crate::{AppState, authz, error::ServiceError};

/// Whether a project name is safe as a directory name.
pub fn safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Where a case's forks live.
pub fn case_dir(state: &AppState, case: &CaseId) -> PathBuf {
    state.forks_dir.join(case.as_str())
}

/// Where a fork lives on disk.
pub fn repo_path(state: &AppState, case: &CaseId, project: &str) -> PathBuf {
    case_dir(state, case).join(format!("{project}.git"))
}

/// The clone URL of a fork.
pub fn url(state: &AppState, case: &CaseId, project: &str) -> String {
    format!(
        "{}/git/{case}/{project}.git",
        crate::links::browser_base_url(state)
    )
}

async fn git(args: &[&str], cwd: Option<&Path>, limit: Duration) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        // Its complaints in English, which `unreachable` reads.
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .map_err(|_| format!("git {} took longer than {limit:?}", args.join(" ")))?
        .map_err(|e| format!("cannot run git (is it installed?): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "git {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether git's complaint `e` is about reaching the remote (nothing
/// listening, no route or name, a timeout, a dropped transfer, an answer of
/// 429 or 5xx), which a later attempt may not meet, rather than about the
/// repository (missing, credentials refused), which it will. git has no
/// codes for these, only its messages (in English: `git` sets `LC_ALL=C`).
fn unreachable(e: &str) -> bool {
    const SIGNS: &[&str] = &[
        "took longer than",
        "Could not resolve host",
        "Failed to connect",
        "unable to connect",
        "Connection refused",
        "Connection timed out",
        "Connection reset",
        "Operation timed out",
        "Network is unreachable",
        "No route to host",
        "early EOF",
        "RPC failed",
        "the remote end hung up unexpectedly",
        "returned error: 429",
        "returned error: 500",
        "returned error: 502",
        "returned error: 503",
        "returned error: 504",
    ];
    SIGNS.iter().any(|s| e.contains(s))
}

/// The repository a project's fork is cloned from: `[release.projects.P]
/// upstream`, else the project's first repository.
async fn upstream(state: &AppState, project: &str) -> Result<String, ServiceError> {
    if let Some(u) = crate::project_settings::settings(state, project)
        .await?
        .upstream
    {
        return Ok(u);
    }
    let projects = state.store.projects().await?;
    projects
        .iter()
        .find(|p| p.name == project)
        .and_then(|p| p.repositories.first().cloned())
        .ok_or_else(|| {
            ServiceError::Invalid(format!(
                "project {project} has no repository to fork: add one to the project, or set [release.projects.{project}] upstream"
            ))
        })
}

/// Creates the bare repository of a new built-in fork by cloning the
/// upstream; its clone URL.
pub async fn create(state: &AppState, case: &Case, project: &str) -> Result<String, ServiceError> {
    if !safe(project) {
        return Err(ServiceError::Invalid(format!(
            "`{project}` cannot name a built-in fork (letters, digits, `-`, `_` and `.` only)"
        )));
    }
    let path = repo_path(state, &case.id, project);
    if path.exists() {
        // A leftover of a fork that was closed: start clean.
        tokio::fs::remove_dir_all(&path)
            .await
            .map_err(|e| ServiceError::Internal(format!("cannot clear {}: {e}", path.display())))?;
    }
    tokio::fs::create_dir_all(case_dir(state, &case.id))
        .await
        .map_err(|e| ServiceError::Internal(format!("cannot create the fork directory: {e}")))?;
    let source = upstream(state, project).await?;
    let target = path.to_string_lossy().into_owned();
    git(
        &["clone", "--bare", "--quiet", "--", &source, &target],
        None,
        Duration::from_secs(600),
    )
    .await
    .map_err(|e| {
        let why = format!("cannot clone {source}: {e}");
        // Down for now: this attempt fails and is retried; anything else
        // is recorded on the case as the reason.
        if unreachable(&e) {
            ServiceError::Unavailable(why)
        } else {
            ServiceError::Invalid(why)
        }
    })?;
    git(
        &["config", "http.receivepack", "true"],
        Some(&path),
        Duration::from_secs(10),
    )
    .await
    .map_err(ServiceError::Internal)?;
    Ok(url(state, &case.id, project))
}

/// Removes a fork's repository and forgets its credentials.
pub async fn remove(state: &AppState, case: &CaseId, project: &str) -> Result<(), String> {
    let path = repo_path(state, case, project);
    match tokio::fs::remove_dir_all(&path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
    }
    state
        .store
        .drop_fork_credentials(case.as_str(), project)
        .await
        .map_err(|e| e.to_string())
}

/// Whether `standing` with `part` may use the built-in fork of `project`.
pub fn may_use(case: &Case, who: &PersonId, standing: Standing, project: &str) -> bool {
    let team = matches!(
        standing,
        Standing::Coordinator | Standing::Srt | Standing::Fixer
    );
    let own = case.part_of(who).is_none_or(|p| p == project);
    let open = case
        .open_fork(project)
        .is_some_and(|f| f.host == ForkHost::Builtin);
    team && own && open
}

/// Issues (replacing any earlier one) the caller's credential for the
/// built-in fork of `project`.
pub async fn issue_credential(
    state: &AppState,
    access: &authz::CaseAccess,
    project: &str,
) -> Result<embargo_api::ForkCredential, ServiceError> {
    let case = access.case();
    let caller = access.caller_id();
    if !may_use(case, caller, access.standing(), project) {
        return Err(ServiceError::Forbidden(format!(
            "no open built-in fork of {project} that you work on"
        )));
    }
    let secret = crate::accounts::new_token("git_");
    state
        .store
        .put_fork_credential(
            case.id.as_str(),
            project,
            caller.as_str(),
            &crate::datadir::token_hash(&secret),
            state.clock.unix(),
        )
        .await?;
    Ok(embargo_api::ForkCredential {
        url: url(state, &case.id, project),
        username: caller.to_string(),
        password: secret,
    })
}

/// One CI run at a time on this server.
static CI: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

const OUTPUT_KEPT: usize = 4000;

/// Tests every branch and tag head of the fork not tested yet.
pub async fn run_ci(state: &AppState, case_id: &CaseId, project: &str) -> Result<(), String> {
    let _one = CI.acquire().await.map_err(|e| e.to_string())?;
    let repo = repo_path(state, case_id, project);
    let heads = git(
        &[
            "for-each-ref",
            "--format=%(objectname) %(refname:short)",
            "refs/heads",
            "refs/tags",
        ],
        Some(&repo),
        Duration::from_secs(30),
    )
    .await?;
    let case = state.store.case(case_id).await.map_err(|e| e.to_string())?;
    let command = &crate::project_settings::settings(state, project)
        .await
        .map_err(|e| e.to_string())?
        .test_command;
    for line in heads.lines() {
        let Some((commit, reference)) = line.split_once(' ') else {
            continue;
        };
        let tested = case
            .ci_runs
            .iter()
            .any(|r| r.project == project && r.commit == commit);
        if tested {
            continue;
        }
        let (passed, output) = match &command {
            None => (
                false,
                format!(
                    "no test command is configured for {project} ([release.projects.{project}] test_command)"
                ),
            ),
            Some(command) => test_one(state, &repo, commit, command).await,
        };
        let run = Command::RecordCi {
            project: project.to_owned(),
            reference: reference.to_owned(),
            commit: commit.to_owned(),
            passed,
            output,
        };
        crate::authz::run_as_system(state, case_id, "system:ci", run).await?;
    }
    Ok(())
}

/// Clones `commit` into a fresh directory and runs `command` there.
async fn test_one(state: &AppState, repo: &Path, commit: &str, command: &str) -> (bool, String) {
    let mut name = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut name);
    let dir = std::env::temp_dir().join(format!("embargo-ci-{}", hex::encode(name)));
    let result = async {
        let target = dir.to_string_lossy().into_owned();
        let source = repo.to_string_lossy().into_owned();
        git(
            &["clone", "--quiet", "--no-checkout", "--", &source, &target],
            None,
            Duration::from_secs(600),
        )
        .await?;
        git(
            &["checkout", "--quiet", "--detach", commit],
            Some(&dir),
            Duration::from_secs(600),
        )
        .await?;
        let limit = Duration::from_secs(u64::from(state.config.release.ci_timeout_seconds));
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec 2>&1; {command}"))
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env("CI", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(limit, child).await {
            Err(_) => Ok((
                false,
                format!("the test command took longer than {limit:?}"),
            )),
            Ok(Err(e)) => Err(format!("cannot run the test command: {e}")),
            Ok(Ok(out)) => {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let start = text
                    .char_indices()
                    .rev()
                    .nth(OUTPUT_KEPT)
                    .map_or(0, |(i, _)| i);
                let mut shown = text.get(start..).unwrap_or_default().to_owned();
                shown.push_str(&format!("\n[{}]", out.status));
                Ok((out.status.success(), shown))
            }
        }
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    result.unwrap_or_else(|e| (false, e))
}

/// Whether each of `commits` (the heads that passed CI) is now in the
/// upstream repository (fetched into the fork as `refs/upstream/*`): the
/// fix is merged. Only commits that reached upstream unchanged count (a
/// squash or rebase makes new commits, which the team then ticks by hand).
pub async fn merged_upstream(
    state: &AppState,
    case_id: &CaseId,
    project: &str,
    commits: &[String],
) -> Result<bool, String> {
    if commits.is_empty() {
        return Ok(false);
    }
    let repo = repo_path(state, case_id, project);
    let source = upstream(state, project)
        .await
        .map_err(|e| format!("{e:?}"))?;
    git(
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--",
            &source,
            "+refs/heads/*:refs/upstream/*",
        ],
        Some(&repo),
        Duration::from_secs(600),
    )
    .await?;
    for commit in commits {
        let holders = git(
            &["for-each-ref", "--contains", commit, "refs/upstream"],
            Some(&repo),
            Duration::from_secs(60),
        )
        .await?;
        if holders.trim().is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    /// git's messages (its `http.c` and `connect.c`): the outages a retry
    /// may get past, and what no retry changes.
    #[test]
    fn an_upstream_that_is_down_is_told_from_one_that_is_not_there() {
        for down in [
            "git clone failed: fatal: unable to access 'https://example.org/r.git/': The requested URL returned error: 503",
            "fatal: unable to access 'https://example.org/r.git/': Could not resolve host: example.org",
            "fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: errno=Connection refused",
            "git clone took longer than 600s",
        ] {
            assert!(super::unreachable(down), "{down}");
        }
        for gone in [
            "git clone failed: fatal: repository 'https://example.org/r.git/' not found",
            "fatal: unable to access 'https://example.org/r.git/': The requested URL returned error: 403",
            "fatal: repository '/tmp/nothing-here' does not exist",
        ] {
            assert!(!super::unreachable(gone), "{gone}");
        }
    }
}
