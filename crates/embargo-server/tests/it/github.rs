//! The GitHub poller against a local server that follows GitHub's published
//! REST description for "List repository security advisories" (`GET
//! /repos/{owner}/{repo}/security-advisories`, API version 2022-11-28: the
//! `state` filter, `per_page`, `Link: rel="next"` pagination, bearer token,
//! the `repository-advisory` fields used here). GitHub itself cannot run
//! here, so this stands in for it.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use crate::app::TestApp;

#[derive(Default)]
struct FakeGitHub {
    advisories: Mutex<Vec<Value>>,
    failing: AtomicBool,
    requests: AtomicUsize,
}

fn advisory(n: u32, state: &str) -> Value {
    json!({
        "ghsa_id": format!("GHSA-test-{n:04}-abcd"),
        "cve_id": null,
        "url": format!("https://api.github.com/repos/numpy/numpy/security-advisories/GHSA-test-{n:04}-abcd"),
        "html_url": format!("https://github.com/numpy/numpy/security/advisories/GHSA-test-{n:04}-abcd"),
        "summary": format!("Private report number {n}"),
        "description": format!("Details of report {n}: a crafted .npy header overflows."),
        "severity": "high",
        "author": { "login": format!("reporter{n}") },
        "state": state,
        "created_at": "2026-03-01T10:00:00Z",
        "vulnerabilities": [{
            "package": { "ecosystem": "pip", "name": "numpy" },
            "vulnerable_version_range": "< 2.1.4",
            "patched_versions": null,
            "vulnerable_functions": []
        }],
        "cwe_ids": ["CWE-787"],
        "submission": { "accepted": false },
        "credits": [],
    })
}

#[derive(serde::Deserialize)]
struct ListQuery {
    state: Option<String>,
    per_page: Option<usize>,
    page: Option<usize>,
}

async fn list(
    State(gh): State<Arc<FakeGitHub>>,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    gh.requests.fetch_add(1, Ordering::SeqCst);
    if gh.failing.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"message": "Service Unavailable"})),
        )
            .into_response();
    }
    let authorised =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer ghp_test");
    if !authorised {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        )
            .into_response();
    }
    if (owner.as_str(), repo.as_str()) != ("numpy", "numpy") {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response();
    }
    let all: Vec<Value> = gh
        .advisories
        .lock()
        .unwrap()
        .iter()
        .filter(|a| q.state.as_deref().is_none_or(|s| a["state"] == s))
        .cloned()
        .collect();
    // Small pages here so that the poller has to follow the links.
    let per_page = q.per_page.unwrap_or(30).min(2);
    let page = q.page.unwrap_or(1).max(1);
    let chunk: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let mut resp = Json(chunk).into_response();
    if page * per_page < all.len() {
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let next = format!(
            "<http://{host}/repos/{owner}/{repo}/security-advisories?state={}&per_page={per_page}&page={}>; rel=\"next\"",
            q.state.as_deref().unwrap_or(""),
            page + 1
        );
        resp.headers_mut().insert("link", next.parse().unwrap());
    }
    resp
}

fn start_fake(app: &TestApp, gh: Arc<FakeGitHub>) -> String {
    let router = Router::new()
        .route("/repos/{owner}/{repo}/security-advisories", get(list))
        .with_state(gh);
    let listener = app
        .rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    app.rt
        .spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn check(app: &TestApp) -> Value {
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels/numpy%2Fnumpy/check",
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn github_cases(app: &TestApp) -> Vec<Value> {
    let (_, all) = app.api(&app.admin_token, "GET", "/api/v1/cases", None);
    all.as_array().unwrap().clone()
}

#[test]
fn reports_in_triage_are_imported_once_and_polling_survives_an_outage() {
    let app = TestApp::start();
    let gh = Arc::new(FakeGitHub::default());
    {
        let mut a = gh.advisories.lock().unwrap();
        a.push(advisory(1, "triage"));
        a.push(advisory(2, "draft"));
        a.push(advisory(3, "triage"));
        a.push(advisory(4, "triage"));
    }
    let api_url = start_fake(&app, gh.clone());
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels",
        Some(json!({ "kind": "github", "name": "numpy/numpy", "scope": "numpy", "interval_seconds": 300,
            "settings": { "repository": "numpy/numpy", "token": "ghp_test", "api_url": api_url } })),
    );
    assert_eq!(status, 201, "{body}");

    let h = check(&app);
    assert_eq!(h["health"], "healthy", "{h}");
    let cases = github_cases(&app);
    let mut titles: Vec<&str> = cases.iter().map(|c| c["title"].as_str().unwrap()).collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        [
            "Private report number 1",
            "Private report number 3",
            "Private report number 4"
        ]
    );
    assert!(
        gh.requests.load(Ordering::SeqCst) >= 2,
        "followed the next page"
    );
    let id = cases[0]["id"].as_str().unwrap();
    let (_, events) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{id}/events"),
        None,
    );
    let report = &events[0]["data"]["report"];
    assert_eq!(report["channel"], "github");
    assert_eq!(report["project"], "numpy");
    assert!(
        report["intake"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("GHSA-test-")
    );
    assert!(
        report["body"]
            .as_str()
            .unwrap()
            .contains("pip:numpy < 2.1.4")
    );

    // Listed again: nothing new.
    check(&app);
    assert_eq!(github_cases(&app).len(), 3);

    // GitHub fails for a while: the channel says so, and a report made
    // meanwhile is picked up once it answers again.
    gh.failing.store(true, Ordering::SeqCst);
    gh.advisories.lock().unwrap().push(advisory(5, "triage"));
    app.advance(300);
    let h = check(&app);
    assert_eq!(h["alert"], true, "{h}");
    assert!(h["health"].as_str().unwrap().contains("503"), "{h}");
    let h = check(&app);
    assert_eq!(h["alert"], true);
    assert_eq!(github_cases(&app).len(), 3);
    gh.failing.store(false, Ordering::SeqCst);
    app.advance(300);
    let h = check(&app);
    assert_eq!(h["health"], "healthy", "{h}");
    assert_eq!(github_cases(&app).len(), 4);
    check(&app);
    assert_eq!(github_cases(&app).len(), 4, "once, not twice");
}

#[test]
fn a_wrong_token_is_a_failing_channel_not_a_silent_one() {
    let app = TestApp::start();
    let gh = Arc::new(FakeGitHub::default());
    let api_url = start_fake(&app, gh);
    let (status, _) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels",
        Some(json!({ "kind": "github", "name": "numpy/numpy",
            "settings": { "repository": "numpy/numpy", "token": "wrong", "api_url": api_url } })),
    );
    assert_eq!(status, 201);
    let h = check(&app);
    assert!(h["health"].as_str().unwrap().contains("401"), "{h}");
    // Bad settings are refused when the channel is added.
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels",
        Some(json!({ "kind": "github", "name": "x", "settings": { "repository": "no-slash", "token": "t" } })),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("is not owner/name"));
}
