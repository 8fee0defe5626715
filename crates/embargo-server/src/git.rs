//! Built-in private forks: one bare git repository per case and project
//! under `<data dir>/forks/<case>/<project>.git`, cloned from the project's
//! upstream when the fork is opened, served over smart HTTP by git's own
//! CGI program (`git http-backend`), and removed when the case is disclosed.
//!
//! Access: HTTP basic authentication with a per-case, per-project
//! credential (`POST /api/v1/cases/{id}/fork-credential`, shown once,
//! stored as its SHA-256). Every request checks, through `authz::open_case`
//! like every other case access, that the person still sees the case as its
//! coordinator, an SRT member or a fixer, and that a project team's member
//! asks for their own project's fork. Anything else is the same 401, so the
//! answer says nothing about which cases exist.
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
    sync::Arc,
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{Path as UrlPath, RawQuery, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use embargo_core::{Case, CaseId, Command, PersonId, access::Standing, event::ForkHost};
use rand::RngCore;
use tokio::io::AsyncWriteExt;

use crate::{AppState, api::Failure, authz};

/// Whether a project name is safe as a directory name.
fn safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn case_dir(state: &AppState, case: &CaseId) -> PathBuf {
    state.forks_dir.join(case.as_str())
}

/// Where a fork lives on disk.
pub(crate) fn repo_path(state: &AppState, case: &CaseId, project: &str) -> PathBuf {
    case_dir(state, case).join(format!("{project}.git"))
}

/// The clone URL of a fork.
pub(crate) fn url(state: &AppState, case: &CaseId, project: &str) -> String {
    format!(
        "{}/git/{case}/{project}.git",
        crate::accounts::browser_base_url(state)
    )
}

async fn git(args: &[&str], cwd: Option<&Path>, limit: Duration) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
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

/// The repository a project's fork is cloned from: `[release.projects.P]
/// upstream`, else the project's first repository.
async fn upstream(state: &AppState, project: &str) -> Result<String, Failure> {
    if let Some(u) = &state.config.release_project(project).upstream {
        return Ok(u.clone());
    }
    let projects = state.store.projects().await?;
    projects
        .iter()
        .find(|p| p.name == project)
        .and_then(|p| p.repositories.first().cloned())
        .ok_or_else(|| {
            Failure::Invalid(format!(
                "project {project} has no repository to fork: add one to the project, or set [release.projects.{project}] upstream"
            ))
        })
}

/// Creates the bare repository of a new built-in fork by cloning the
/// upstream; its clone URL.
pub(crate) async fn create(
    state: &AppState,
    case: &Case,
    project: &str,
) -> Result<String, Failure> {
    if !safe(project) {
        return Err(Failure::Invalid(format!(
            "`{project}` cannot name a built-in fork (letters, digits, `-`, `_` and `.` only)"
        )));
    }
    let path = repo_path(state, &case.id, project);
    if path.exists() {
        // A leftover of a fork that was closed: start clean.
        tokio::fs::remove_dir_all(&path)
            .await
            .map_err(|e| Failure::Internal(format!("cannot clear {}: {e}", path.display())))?;
    }
    tokio::fs::create_dir_all(case_dir(state, &case.id))
        .await
        .map_err(|e| Failure::Internal(format!("cannot create the fork directory: {e}")))?;
    let source = upstream(state, project).await?;
    let target = path.to_string_lossy().into_owned();
    git(
        &["clone", "--bare", "--quiet", "--", &source, &target],
        None,
        Duration::from_secs(600),
    )
    .await
    .map_err(|e| Failure::Invalid(format!("cannot clone {source}: {e}")))?;
    git(
        &["config", "http.receivepack", "true"],
        Some(&path),
        Duration::from_secs(10),
    )
    .await
    .map_err(Failure::Internal)?;
    Ok(url(state, &case.id, project))
}

/// Removes a fork's repository and forgets its credentials.
pub(crate) async fn remove(state: &AppState, case: &CaseId, project: &str) -> Result<(), String> {
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
fn may_use(case: &Case, who: &PersonId, standing: Standing, project: &str) -> bool {
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
pub(crate) async fn issue_credential(
    state: &AppState,
    access: &authz::CaseAccess,
    project: &str,
) -> Result<embargo_api::ForkCredential, Failure> {
    let case = access.case();
    let caller = access.caller_id();
    if !may_use(case, caller, access.standing(), project) {
        return Err(Failure::Forbidden(format!(
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

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"embargo private fork\"",
        )],
        "a case credential is needed (embargo case fork-credential)\n",
    )
        .into_response()
}

/// Who the basic-auth header names, if their secret is right for the fork.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    case: &str,
    project: &str,
) -> Option<authz::Caller> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, secret) = text.split_once(':')?;
    let stored = state
        .store
        .fork_credential(case, project, user)
        .await
        .ok()??;
    // Digests are compared, as for API tokens: timing tells nothing
    // about the secret.
    if stored != crate::datadir::token_hash(secret) {
        return None;
    }
    authz::caller(state, user).await.ok().flatten()
}

/// `/git/{case}/{repo}/{*path}`: git's smart-HTTP protocol for a fork.
pub(crate) async fn serve(
    State(state): State<Arc<AppState>>,
    UrlPath((case, repo, rest)): UrlPath<(String, String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(project) = repo.strip_suffix(".git").filter(|p| safe(p)) else {
        return unauthorized();
    };
    let Some(caller) = authenticate(&state, &headers, &case, project).await else {
        return unauthorized();
    };
    // The same check as every case access (and written to the access log).
    let Ok(access) = authz::open_case(&state, &caller, &case).await else {
        return unauthorized();
    };
    if !may_use(access.case(), caller.id(), access.standing(), project) {
        return unauthorized();
    }
    let allowed = matches!(
        (method.as_str(), rest.as_str()),
        ("GET", "info/refs" | "HEAD") | ("POST", "git-upload-pack" | "git-receive-pack")
    );
    if !allowed {
        return (StatusCode::NOT_FOUND, "not a git smart-HTTP path\n").into_response();
    }
    // Only git's own request types: an HTML form (or any request a page
    // may send across sites without asking) cannot carry them.
    if method == Method::POST {
        let wanted = format!("application/x-{rest}-request");
        let given = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if given != wanted {
            return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not a git request\n").into_response();
        }
    }
    let pushed = rest == "git-receive-pack";
    let response = match backend(
        &state,
        &access.case().id,
        project,
        &rest,
        &caller,
        &query,
        &method,
        &headers,
        body,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(case = %case, error = %e, "git http-backend failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the git backend failed\n",
            )
                .into_response();
        }
    };
    if pushed && response.status().is_success() {
        // CI is a job of the long lane: durable (a restart runs it), and
        // never in the way of notices. Each push is its own job; the run
        // tests every head not tested yet.
        let case_id = access.case().id.as_str();
        let mut nonce = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let key = format!("ci:{case_id}:{project}:{}", hex::encode(nonce));
        let payload = serde_json::json!({ "case_id": case_id, "project": project });
        if let Err(e) = state
            .store
            .enqueue_in(
                embargo_store::Lane::Long,
                &key,
                "ci_run",
                Some(case_id),
                &payload,
                state.clock.unix(),
            )
            .await
        {
            tracing::error!(case = %case_id, error = %e, "CI not queued");
        }
    }
    response
}

/// Runs `git http-backend` for one request (RFC 3875 CGI).
#[expect(clippy::too_many_arguments, reason = "the parts of one CGI request")]
async fn backend(
    state: &AppState,
    case: &CaseId,
    project: &str,
    rest: &str,
    caller: &authz::Caller,
    query: &Option<String>,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, String> {
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", case_dir(state, case))
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{project}.git/{rest}"))
        .env("REQUEST_METHOD", method.as_str())
        .env("QUERY_STRING", query.as_deref().unwrap_or_default())
        .env("CONTENT_TYPE", header(header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header(header::CONTENT_ENCODING))
        .env(
            "HTTP_GIT_PROTOCOL",
            headers
                .get("git-protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        )
        .env("REMOTE_USER", caller.id().as_str())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run git http-backend: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
        let _ = stdin.shutdown().await;
    });
    let out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output())
        .await
        .map_err(|_| "git http-backend took longer than 10 minutes".to_owned())?
        .map_err(|e| e.to_string())?;
    let _ = feed.await;
    if !out.status.success() && out.stdout.is_empty() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    cgi_response(&out.stdout)
}

/// Turns a CGI program's output (headers, a blank line, the body) into a response.
fn cgi_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .ok_or("the CGI output has no header end")?;
    let head = String::from_utf8_lossy(raw.get(..split.0).unwrap_or_default()).into_owned();
    let mut builder = Response::builder().status(StatusCode::OK);
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            builder = builder.status(code);
        } else {
            builder = builder.header(name.trim(), value);
        }
    }
    builder
        .body(Body::from(raw.get(split.1..).unwrap_or_default().to_vec()))
        .map_err(|e| e.to_string())
}

/// One CI run at a time on this server.
static CI: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

const OUTPUT_KEPT: usize = 4000;

/// Tests every branch and tag head of the fork not tested yet.
pub(crate) async fn run_ci(
    state: &AppState,
    case_id: &CaseId,
    project: &str,
) -> Result<(), String> {
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
    let command = &state.config.release_project(project).test_command;
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
pub(crate) async fn merged_upstream(
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
