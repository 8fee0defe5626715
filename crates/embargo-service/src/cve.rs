//! CVE adapters, run as outbox jobs: a CVE from GitHub (request one on the
//! repository advisory, then read it back once assigned) or from CVE
//! Services (reserve an id as a CNA; at disclosure, publish the record).
//! A manual CVE is a plain command (`assign_cve`).
//!
//! Failures that another try cannot fix (quota exhausted, refused
//! credentials, a missing GHSA id) are recorded on the case
//! (`record_cve_failure`) and end the job; network errors, 429 and 5xx
//! answers fail the job so the outbox retries it with backoff.
//!
//! The APIs: GitHub REST "Request a CVE for a repository security advisory"
//! (`POST /repos/{owner}/{repo}/security-advisories/{ghsa_id}/cve`, 202) and
//! "Get a repository security advisory" (`cve_id`); CVE Services
//! `POST /cve-id?amount=1&cve_year=Y&short_name=S` (`cve_ids[0].cve_id`),
//! `POST /cve/{id}/cna` with `{"cnaContainer": …}` and, when the record
//! exists, `PUT /cve/{id}/cna`; authentication by the `CVE-API-ORG`,
//! `CVE-API-USER` and `CVE-API-KEY` headers.

use embargo_core::{Case, CaseId, Command, event::CveVia};
use serde_json::{Value, json};

use crate::AppState;

/// What a try came to.
enum Outcome {
    /// Done (the case records the result).
    Done,
    /// The service refused for good: recorded on the case.
    Refused(String),
}

/// At disclosure, a CVE reserved from CVE Services gets its record
/// published (once per case).
pub async fn enqueue_publication(
    state: &AppState,
    case: &Case,
) -> Result<(), embargo_store::StoreError> {
    if !matches!(case.cve.assigned, Some((_, CveVia::CveServices))) || case.published_at.is_none() {
        return Ok(());
    }
    crate::jobs::enqueue(
        state,
        &crate::jobs::cve_publish::CvePublish {
            case_id: case.id.to_string(),
        },
    )
    .await?;
    Ok(())
}

fn client() -> Result<reqwest::Client, String> {
    crate::net::http_client(std::time::Duration::from_secs(30))
}

/// Sends a request and reads its JSON answer. A network error, 429 or a
/// 5xx answer fails the job (the outbox tries again later); any other
/// answer is the caller's to judge.
pub(crate) async fn answer(
    req: reqwest::RequestBuilder,
    service: &str,
) -> Result<(reqwest::StatusCode, Value), String> {
    let resp = req.send().await.map_err(|e| format!("{service}: {e}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(format!("{service} answered {}", explain(status, &body)));
    }
    Ok((status, body))
}

async fn record(state: &AppState, case: &CaseId, command: Command) -> Result<(), String> {
    crate::authz::run_as_system(state, case, "system:cve", command)
        .await
        .map(|_| ())
}

/// A refusal for good is recorded on the case (`record_cve_failure`).
async fn settle(
    state: &AppState,
    case: &Case,
    via: CveVia,
    outcome: Outcome,
) -> Result<(), String> {
    if let Outcome::Refused(reason) = outcome {
        tracing::warn!(case = %case.id, via = via.name(), %reason, "CVE request refused");
        record(state, &case.id, Command::RecordCveFailure { via, reason }).await?;
    }
    Ok(())
}

/// A `cve_request` job: obtain a CVE through `via` (nothing once one is
/// assigned).
pub async fn request(state: &AppState, case: &Case, via: CveVia) -> Result<(), String> {
    if case.cve.assigned.is_some() {
        return Ok(());
    }
    let outcome = match via {
        CveVia::CveServices => reserve(state, case).await?,
        CveVia::Github => github_request(state, case).await?,
        CveVia::Manual => Outcome::Refused("a manual CVE is entered, not requested".into()),
    };
    settle(state, case, via, outcome).await
}

/// A `cve_github_poll` job: read the CVE GitHub assigned back.
pub async fn poll(state: &AppState, case: &Case) -> Result<(), String> {
    if case.cve.assigned.is_some() {
        return Ok(());
    }
    let outcome = github_poll(state, case).await?;
    settle(state, case, CveVia::Github, outcome).await
}

/// A `cve_publish` job: publish the record of a reserved CVE.
pub async fn publish_record(state: &AppState, case: &Case) -> Result<(), String> {
    let outcome = publish(state, case).await?;
    settle(state, case, CveVia::CveServices, outcome).await
}

struct Services<'a> {
    url: &'a str,
    org: &'a str,
    user: &'a str,
    key: &'a str,
}

fn services(state: &AppState) -> Option<Services<'_>> {
    let c = &state.config.cve;
    Some(Services {
        url: c.services_url.as_deref()?.trim_end_matches('/'),
        org: c.short_name.as_deref()?,
        user: c.api_user.as_deref()?,
        key: c.api_key.as_deref()?,
    })
}

fn with_auth(req: reqwest::RequestBuilder, s: &Services<'_>) -> reqwest::RequestBuilder {
    req.header("CVE-API-ORG", s.org)
        .header("CVE-API-USER", s.user)
        .header("CVE-API-KEY", s.key)
}

/// The `error`/`message` of a CVE Services or GitHub error body.
fn explain(status: reqwest::StatusCode, body: &Value) -> String {
    let code = body.get("error").and_then(Value::as_str).unwrap_or("");
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    format!("{status} {code} {message}").trim().to_owned()
}

async fn reserve(state: &AppState, case: &Case) -> Result<Outcome, String> {
    let Some(s) = services(state) else {
        return Ok(Outcome::Refused(
            "CVE Services is not configured ([cve] services_url, short_name, api_user, api_key)"
                .into(),
        ));
    };
    let year = state
        .clock
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year();
    let url = format!(
        "{}/cve-id?amount=1&cve_year={year}&short_name={}",
        s.url, s.org
    );
    let (status, body) = answer(with_auth(client()?.post(&url), &s), "CVE Services").await?;
    if !status.is_success() {
        return Ok(Outcome::Refused(format!(
            "CVE Services refused the reservation: {}",
            explain(status, &body)
        )));
    }
    let cve = body
        .pointer("/cve_ids/0/cve_id")
        .and_then(Value::as_str)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "CVE Services answered without a CVE id".to_owned())?;
    record(
        state,
        &case.id,
        Command::AssignCve {
            cve,
            via: CveVia::CveServices,
        },
    )
    .await?;
    Ok(Outcome::Done)
}

async fn publish(state: &AppState, case: &Case) -> Result<Outcome, String> {
    let Some((cve, _)) = &case.cve.assigned else {
        return Ok(Outcome::Done);
    };
    if case.cve.record_published.is_some() {
        return Ok(Outcome::Done);
    }
    let Some(s) = services(state) else {
        return Ok(Outcome::Refused("CVE Services is not configured".into()));
    };
    let published = crate::exports::published_one(state, &case.id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the advisory is not public yet".to_owned())?;
    let ctx = crate::exports::export_context(state, None);
    let container = match embargo_formats::cve::cna_container(&published, &ctx) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Outcome::Refused(format!(
                "the CVE record cannot be made: {e}"
            )));
        }
    };
    let body = json!({ "cnaContainer": container });
    let url = format!("{}/cve/{cve}/cna", s.url);
    let client = client()?;
    let (mut status, mut reply) =
        answer(with_auth(client.post(&url), &s).json(&body), "CVE Services").await?;
    // A record already there (an earlier try that was not recorded, or
    // one made elsewhere) is updated instead.
    if reply.get("error").and_then(Value::as_str) == Some("CVE_RECORD_EXISTS") {
        (status, reply) =
            answer(with_auth(client.put(&url), &s).json(&body), "CVE Services").await?;
    }
    if !status.is_success() {
        return Ok(Outcome::Refused(format!(
            "CVE Services refused the record: {}",
            explain(status, &reply)
        )));
    }
    record(state, &case.id, Command::RecordCvePublished).await?;
    Ok(Outcome::Done)
}

/// GitHub's REST API base (`[cve] github_api_url`, for GitHub Enterprise
/// and tests).
pub fn github_api(state: &AppState) -> &str {
    state
        .config
        .cve
        .github_api_url
        .as_deref()
        .unwrap_or("https://api.github.com")
        .trim_end_matches('/')
}

/// A request to GitHub's REST API about the case's repository advisory
/// (`suffix` after its URL), or why none can be made: the advisory needs a
/// GHSA id and the project a `https://github.com/` repository.
pub async fn github_advisory(
    state: &AppState,
    case: &Case,
    method: reqwest::Method,
    suffix: &str,
) -> Result<Result<reqwest::RequestBuilder, String>, String> {
    let Some(ghsa) = case.current_advisory().and_then(|a| a.ghsa.clone()) else {
        return Ok(Err(
            "the advisory has no GHSA id: GitHub assigns CVEs to its repository advisories".into(),
        ));
    };
    let projects = state.store.projects().await.map_err(|e| e.to_string())?;
    let Some(repo) = projects
        .iter()
        .filter(|p| p.name == case.report.project)
        .flat_map(|p| p.repositories.iter())
        .find_map(|r| {
            r.trim_end_matches('/')
                .trim_end_matches(".git")
                .strip_prefix("https://github.com/")
                .map(str::to_owned)
        })
    else {
        return Ok(Err(format!(
            "project {} lists no https://github.com/ repository",
            case.report.project
        )));
    };
    let c = &state.config.cve;
    let api = github_api(state);
    let req = client()?
        .request(
            method,
            format!("{api}/repos/{repo}/security-advisories/{ghsa}{suffix}"),
        )
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28");
    Ok(Ok(match c.github_token.as_deref() {
        Some(t) => req.bearer_auth(t),
        None => req,
    }))
}

async fn github_request(state: &AppState, case: &Case) -> Result<Outcome, String> {
    let req = match github_advisory(state, case, reqwest::Method::POST, "/cve").await? {
        Ok(r) => r,
        Err(why) => return Ok(Outcome::Refused(why)),
    };
    let (status, body) = answer(req, "GitHub").await?;
    // 202: requested. 422 can mean it was requested before: the poll
    // below finds out either way.
    if !(status.is_success() || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY) {
        return Ok(Outcome::Refused(format!(
            "GitHub refused the CVE request: {}",
            explain(status, &body)
        )));
    }
    crate::jobs::enqueue(
        state,
        &crate::jobs::cve_github_poll::CveGithubPoll {
            case_id: case.id.to_string(),
            request: case.cve.requests.len(),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(Outcome::Done)
}

async fn github_poll(state: &AppState, case: &Case) -> Result<Outcome, String> {
    let req = match github_advisory(state, case, reqwest::Method::GET, "").await? {
        Ok(r) => r,
        Err(why) => return Ok(Outcome::Refused(why)),
    };
    let (status, body) = answer(req, "GitHub").await?;
    if !status.is_success() {
        return Ok(Outcome::Refused(format!(
            "GitHub: {}",
            explain(status, &body)
        )));
    }
    match body
        .get("cve_id")
        .and_then(Value::as_str)
        .and_then(|c| c.parse().ok())
    {
        Some(cve) => {
            record(
                state,
                &case.id,
                Command::AssignCve {
                    cve,
                    via: CveVia::Github,
                },
            )
            .await?;
            Ok(Outcome::Done)
        }
        // GitHub reviews requests by hand: ask again later (the outbox's
        // backoff paces it).
        None => Err("GitHub has not assigned a CVE yet".into()),
    }
}
