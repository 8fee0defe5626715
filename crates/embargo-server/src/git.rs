//! The built-in forks over git's smart-HTTP protocol, served by git's own
//! CGI program (`git http-backend`).
//!
//! Access: HTTP basic authentication with a per-case, per-project
//! credential (`POST /api/v1/cases/{id}/fork-credential`, shown once,
//! stored as its SHA-256). Every request checks, through `authz::open_case`
//! like every other case access, that the person still sees the case as its
//! coordinator, an SRT member or a fixer, and that a project team's member
//! asks for their own project's fork. Anything else is the same 401, so the
//! answer says nothing about which cases exist. After a push, CI runs as a
//! job (`forks::run_ci`).

use std::{process::Stdio, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{Path as UrlPath, RawQuery, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use embargo_core::CaseId;
use tokio::io::AsyncWriteExt;

use crate::{
    AppState, authz,
    forks::{case_dir, may_use, safe},
};

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
    let (user, secret) = basic_credentials(headers.get(header::AUTHORIZATION)?.as_bytes())?;
    let (user, secret) = (user.as_str(), secret.as_str());
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

/// The user and secret of a basic-auth header's value.
pub(crate) fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    use base64::Engine;
    let value = std::str::from_utf8(value).ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, secret) = text.split_once(':')?;
    Some((user.to_owned(), secret.to_owned()))
}

/// The project of a fork's repository name (`NAME.git`, a safe name).
pub(crate) fn project_of(repo: &str) -> Option<&str> {
    repo.strip_suffix(".git").filter(|p| safe(p))
}

/// Whether `method` and the path after the repository (`rest`) are one of
/// git's own requests, with its content type for a POST. With
/// `project_of` and `basic_credentials`, all a stranger writes into a git
/// request: fuzzed (`fuzz/fuzz_targets/git_request.rs`).
pub(crate) fn request_allowed(
    method: &str,
    rest: &str,
    content_type: Option<&[u8]>,
) -> Result<(), (StatusCode, &'static str)> {
    let allowed = matches!(
        (method, rest),
        ("GET", "info/refs" | "HEAD") | ("POST", "git-upload-pack" | "git-receive-pack")
    );
    if !allowed {
        return Err((StatusCode::NOT_FOUND, "not a git smart-HTTP path\n"));
    }
    // Only git's own request types: an HTML form (or any request a page
    // may send across sites without asking) cannot carry them.
    if method == "POST" {
        let wanted = format!("application/x-{rest}-request");
        if content_type != Some(wanted.as_bytes()) {
            return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "not a git request\n"));
        }
    }
    Ok(())
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
    let Some(project) = project_of(&repo) else {
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
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes());
    if let Err(refused) = request_allowed(method.as_str(), &rest, content_type) {
        return refused.into_response();
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
        let mut nonce = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let job = embargo_service::jobs::ci_run::CiRun {
            case_id: access.case().id.to_string(),
            project: project.to_owned(),
            push: hex::encode(nonce),
        };
        if let Err(e) = embargo_service::jobs::enqueue(&state, &job).await {
            tracing::error!(case = %job.case_id, error = %e, "CI not queued");
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
