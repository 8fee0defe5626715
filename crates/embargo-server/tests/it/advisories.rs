//! Advisories the world reads: a disclosed case appears in every feed, an
//! undisclosed one in none (checked over every public route of the route
//! table); the CSAF provider metadata and documents validate against the
//! official schemas (read from ../shared/data). And the CVE adapters,
//! against local servers that follow CVE Services' and GitHub's published
//! API descriptions (neither service can run here): reservation, quota
//! refusal, 5xx retried, record publication with the conflict answered by
//! an update, and GitHub's request then assignment.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode},
    response::IntoResponse,
    routing::any,
};
use serde_json::{Value, json};

use crate::{
    app::{TestApp, between},
    routes::{Expect, ROUTES},
};

/// Runs a command as `token`, asserting it was done.
pub(crate) fn run(app: &TestApp, token: &str, id: &str, command: Value) -> Value {
    let (status, body) = app.api(
        token,
        "POST",
        &format!("/api/v1/cases/{id}/commands"),
        Some(command.clone()),
    );
    assert_eq!(status, 200, "{command}: {body}");
    body
}

/// A case with an approved advisory; disclosed when `disclose`.
fn case_with_advisory(app: &TestApp, reviewer: &str, marker: &str, disclose: bool) -> String {
    let admin = app.admin_token.clone();
    let (status, case) = app.api(
        &admin,
        "POST",
        "/api/v1/cases",
        Some(json!({"project": "numpy", "title": format!("{marker} report"), "body": format!("{marker} body")})),
    );
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    for step in [
        json!({"command": "acknowledge", "message": "Thanks"}),
        json!({"command": "triage", "reproduced": "yes", "notes": format!("{marker} notes"), "tlp": "AMBER+STRICT",
               "affected": ["PyPI:numpy:0..1.26.4"], "cvss_v31": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", "cwe": "CWE-122"}),
        json!({"command": "assign_fixing_team", "coordinator": "admin", "fixers": ["rev"]}),
        json!({"command": "revise_advisory", "base_revision": 0, "summary": format!("{marker} heap overflow"),
               "details": format!("{marker} details"), "ghsa": "GHSA-abcd-efgh-2345",
               "affected": [{"ecosystem": "PyPI", "name": "numpy", "ranges": ["1.22.0..1.26.4"]}],
               "references": [{"kind": "FIX", "url": "https://github.com/numpy/numpy/commit/abc"}],
               "credits": [{"name": format!("{marker} Ada"), "kind": "FINDER", "holder": "reporter"}],
               "confidential": format!("{marker} CONFIDENTIAL")}),
        json!({"command": "submit_advisory", "revision": 1}),
    ] {
        run(app, &admin, &id, step);
    }
    run(
        app,
        reviewer,
        &id,
        json!({"command": "approve_advisory", "revision": 1}),
    );
    if disclose {
        for step in [
            json!({"command": "mark_fix_ready"}),
            json!({"command": "complete_release_step", "step": "patch_release", "package": "numpy", "version": "1.26.4"}),
            json!({"command": "publish", "reason": "the fix is released"}),
        ] {
            run(app, &admin, &id, step);
        }
    }
    id
}

fn get(app: &TestApp, path: &str) -> (u16, String) {
    app.rt.block_on(async {
        let resp = reqwest::get(format!("{}{path}", app.url)).await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn shared_schema(path: &str) -> Option<Value> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/schemas")
        .join(path);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(serde_json::from_str(&t).unwrap()),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{} is required in CI",
                p.display()
            );
            None
        }
    }
}

#[test]
fn a_disclosed_case_is_in_every_feed_and_an_undisclosed_one_in_none() {
    let app = TestApp::start();
    let reviewer = app.token_of("rev", "srt");
    let public = case_with_advisory(&app, &reviewer, "OPENMARK", true);
    let hidden = case_with_advisory(&app, &reviewer, "HIDDENMARK", false);

    // Every public GET route, for both cases' ids and every file name.
    let files = [
        "osv.json".to_owned(),
        "cve.json".to_owned(),
        "csaf.json".to_owned(),
        "advisory.md".to_owned(),
        format!("x_{public}.json"),
        format!("x_{hidden}.json"),
        format!("{}.json", public.to_ascii_lowercase()),
        format!("{}.json", hidden.to_ascii_lowercase()),
        format!("{}.json.sha256", hidden.to_ascii_lowercase()),
    ];
    let mut seen_public = Vec::new();
    let mut checked = 0;
    for (method, template, expect) in ROUTES {
        if *method != "GET" || !matches!(expect, Expect::Public(_)) {
            continue;
        }
        for id in [&public, &hidden] {
            for file in &files {
                let path = template
                    .replace("{id}", id)
                    .replace("{file}", file)
                    .replace("{year}", "2026")
                    .replace("{token}", "inv_0000");
                let (status, body) = get(&app, &path);
                checked += 1;
                for secret in [
                    "HIDDENMARK",
                    hidden.as_str(),
                    &hidden.to_ascii_lowercase(),
                    "CONFIDENTIAL",
                ] {
                    assert!(
                        !body.contains(secret),
                        "{path} ({status}) shows `{secret}`:\n{body}"
                    );
                }
                if status == 200 && body.contains("OPENMARK") {
                    seen_public.push(path.clone());
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
    // The disclosed one is in every feed and every per-advisory document.
    let year = "2026";
    let csaf_path = format!(
        "/.well-known/csaf/white/{year}/{}.json",
        public.to_ascii_lowercase()
    );
    for path in [
        "/advisories".to_owned(),
        "/advisories.atom".to_owned(),
        "/osv/all.json".to_owned(),
        format!("/advisories/{public}"),
        format!("/advisories/{public}/osv.json"),
        format!("/advisories/{public}/csaf.json"),
        format!("/advisories/{public}/advisory.md"),
        format!("/osv/x_{public}.json"),
        "/.well-known/csaf/feed-tlp-white.json".to_owned(),
        csaf_path.clone(),
    ] {
        assert!(
            seen_public.contains(&path),
            "{path} lacks the disclosed advisory; seen: {seen_public:#?}"
        );
    }
    for (path, needle) in [
        ("/osv/index.json", format!("x_{public}")),
        (
            "/.well-known/csaf/white/index.txt",
            format!("{year}/{}.json", public.to_ascii_lowercase()),
        ),
        (
            "/.well-known/csaf/white/changes.csv",
            format!("{year}/{}.json", public.to_ascii_lowercase()),
        ),
    ] {
        let (status, body) = get(&app, path);
        assert_eq!(status, 200);
        assert!(body.contains(&needle), "{path}: {body}");
    }
    // No CVE was assigned: there is no CVE record to read.
    assert_eq!(get(&app, &format!("/advisories/{public}/cve.json")).0, 404);
    // The credit waits for the reporter's acceptance.
    assert!(
        !get(&app, &format!("/advisories/{public}/osv.json"))
            .1
            .contains("OPENMARK Ada")
    );

    // The hash files match the documents.
    let (_, doc) = get(&app, &csaf_path);
    let (_, sha) = get(&app, &format!("{csaf_path}.sha256"));
    use sha2::Digest;
    assert!(sha.starts_with(&hex::encode(sha2::Sha256::digest(doc.as_bytes()))));

    // Schemas: the provider metadata and the served CSAF document.
    if let (Some(provider), Some(csaf)) = (
        shared_schema("csaf/provider_json_schema.json"),
        shared_schema("csaf/csaf_json_schema.json"),
    ) {
        let (_, meta) = get(&app, "/.well-known/csaf/provider-metadata.json");
        let meta: Value = serde_json::from_str(&meta).unwrap();
        let v = jsonschema::options()
            .with_retriever(LocalSchemas)
            .build(&provider)
            .unwrap();
        let errors: Vec<String> = v.iter_errors(&meta).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let v = jsonschema::options()
            .with_retriever(LocalSchemas)
            .build(&csaf)
            .unwrap();
        let doc: Value = serde_json::from_str(&doc).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

/// The public lists read what the writer rendered when each case was
/// disclosed: the page and the Atom feed carry the newest fifty, the page's
/// "older" link the rest, the machine lists every one; each with this
/// server's address in its links.
#[test]
fn public_lists_page_through_every_disclosed_case() {
    let app = TestApp::start();
    let reviewer = app.token_of("rev", "srt");
    let mut ids = Vec::new();
    for n in 0..51 {
        // One second apart: the newest is the last.
        app.advance(1);
        ids.push(case_with_advisory(
            &app,
            &reviewer,
            &format!("MARK{n:02}"),
            true,
        ));
    }
    let (_, first) = get(&app, "/advisories");
    assert_eq!(
        first.matches("<tr><td><a href=\"/advisories/").count(),
        50,
        "{first}"
    );
    assert!(first.contains("MARK50 heap overflow"), "the newest first");
    assert!(
        !first.contains("MARK00 heap overflow"),
        "the oldest is on the next page"
    );
    let link = first
        .split("href=\"/advisories?after=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an older link")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let (status, older) = get(&app, &format!("/advisories?after={link}"));
    assert_eq!(status, 200);
    assert_eq!(older.matches("<tr><td><a href=\"/advisories/").count(), 1);
    assert!(older.contains("MARK00 heap overflow"), "{older}");
    assert!(!older.contains("Older advisories"));
    // A cursor that does not read is the first page.
    let (status, junk) = get(&app, "/advisories?after=yesterday");
    assert_eq!(status, 200);
    assert!(junk.contains("MARK50 heap overflow"));

    let (_, atom) = get(&app, "/advisories.atom");
    assert_eq!(atom.matches("<entry>").count(), 50);
    // The server's address, as the feed names itself.
    let base = atom
        .split("<id>")
        .nth(1)
        .and_then(|rest| rest.split("/advisories</id>").next())
        .unwrap()
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(atom.contains(&format!("<link href=\"{base}/advisories/{}\"/>", ids[50])));
    let (_, all) = get(&app, "/osv/all.json");
    let all: Vec<Value> = serde_json::from_str(&all).unwrap();
    assert_eq!(all.len(), 51);
    assert_eq!(all[0]["id"], format!("x_{}", ids[50]), "newest first");
    assert!(
        all[0]["references"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["url"] == format!("{base}/advisories/{}", ids[50])),
        "{}",
        all[0]
    );
    let (_, index) = get(&app, "/osv/index.json");
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&index).unwrap().len(),
        51
    );
    let (_, listed) = get(&app, "/.well-known/csaf/white/index.txt");
    assert_eq!(listed.lines().count(), 51);
    let (_, changes) = get(&app, "/.well-known/csaf/white/changes.csv");
    assert_eq!(changes.lines().count(), 51);
    let (_, rolie) = get(&app, "/.well-known/csaf/feed-tlp-white.json");
    let rolie: Value = serde_json::from_str(&rolie).unwrap();
    let entries = rolie["feed"]["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 51);
    assert!(
        entries[0]["content"]["src"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/.well-known/csaf/white/")),
        "{}",
        entries[0]
    );
}

/// The schemas the CSAF schemas refer to by URL, answered from
/// ../shared/data (nothing is fetched).
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let base =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/schemas");
        let path = if let Some(name) = uri.as_str().strip_prefix("https://www.first.org/cvss/") {
            base.join("cvss").join(name)
        } else if uri.as_str().ends_with("csaf_json_schema.json") {
            base.join("csaf/csaf_json_schema.json")
        } else {
            return Err(format!("no local copy of {}", uri.as_str()).into());
        };
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    }
}

/// What the fake services saw and will answer.
#[derive(Default)]
pub(crate) struct Fake {
    pub seen: Vec<(String, String, HeaderMap, Value)>,
    /// Scripted answers by "METHOD path-prefix", first first.
    pub answers: Vec<(String, u16, Value)>,
}

pub(crate) type Shared = Arc<Mutex<Fake>>;

async fn fake(
    State(state): State<Shared>,
    method: Method,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap();
    let key = format!("{method} /{path}");
    s.seen
        .push((method.to_string(), format!("/{path}"), headers, body));
    let pos = s
        .answers
        .iter()
        .position(|(k, _, _)| key.starts_with(k.as_str()));
    match pos {
        Some(i) => {
            let (_, status, answer) = s.answers.remove(i);
            (StatusCode::from_u16(status).unwrap(), Json(answer))
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "NOT_SCRIPTED", "message": key})),
        ),
    }
}

pub(crate) fn start_fake(state: Shared) -> String {
    // Its own thread and runtime: it outlives the app that configures it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let router = Router::new().route("/{*path}", any(fake)).with_state(state);
            axum::serve(listener, router).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// Waits up to 60 s: the suite shares two cores with Chromium, the mail
/// servers and other servers' schedulers, and a worker may be slow to get
/// its turn.
pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn advisory(app: &TestApp, id: &str) -> Value {
    app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{id}/advisory"),
        None,
    )
    .1
}

#[test]
fn cve_services_reserves_publishes_and_refuses_over_quota() {
    let state: Shared = Arc::default();
    // Start the fake first: its address goes into the configuration.
    let base = start_fake(state.clone());
    let app = TestApp::start_with(&format!(
        "[cve]\norg_id = \"0b7b6a4c-3b1e-4b6e-9d2a-5c1f0e6d7a8b\"\nshort_name = \"example\"\n\
         services_url = \"{base}/api\"\napi_user = \"cna@example.org\"\napi_key = \"k3y\"\n\
         [[webhook]]\nurl = \"{base}/hooks/alerts\"\n"
    ));
    let reviewer = app.token_of("rev", "srt");
    let id = case_with_advisory(&app, &reviewer, "CNA", false);
    {
        let mut s = state.lock().unwrap();
        s.answers.push((
            "POST /api/cve-id".into(),
            503,
            json!({"error": "SERVICE_UNAVAILABLE"}),
        ));
        s.answers.push((
            "POST /api/cve-id".into(),
            200,
            json!({"cve_ids": [{"cve_id": "CVE-2026-31337", "state": "RESERVED"}]}),
        ));
    }
    run(
        &app,
        &app.admin_token,
        &id,
        json!({"command": "request_cve", "via": "cve_services"}),
    );
    // The 503 is retried after the outbox's 30 s backoff.
    wait_for("the first try", || !state.lock().unwrap().seen.is_empty());
    app.advance(31);
    wait_for("the CVE", || {
        advisory(&app, &id)["cve"] == "CVE-2026-31337 (cve_services)"
    });
    {
        let s = state.lock().unwrap();
        assert_eq!(s.seen.len(), 2);
        let (_, path, headers, _) = &s.seen[1];
        assert!(path.starts_with("/api/cve-id"), "{path}");
        assert_eq!(headers["cve-api-org"], "example");
        assert_eq!(headers["cve-api-user"], "cna@example.org");
        assert_eq!(headers["cve-api-key"], "k3y");
    }

    // Disclosure publishes the record; it exists already, so it is updated.
    {
        let mut s = state.lock().unwrap();
        s.answers.push(("POST /api/cve/CVE-2026-31337/cna".to_owned(), 403, json!({"error": "CVE_RECORD_EXISTS", "message": "The cve record for the cve id already exists."})));
        s.answers.push((
            "PUT /api/cve/CVE-2026-31337/cna".to_owned(),
            200,
            json!({"message": "updated"}),
        ));
    }
    for step in [
        json!({"command": "mark_fix_ready"}),
        json!({"command": "complete_release_step", "step": "patch_release", "package": "numpy", "version": "1.26.4"}),
        json!({"command": "publish", "reason": "the fix is released"}),
    ] {
        run(&app, &app.admin_token, &id, step);
    }
    wait_for("the record", || {
        let (_, events) = app.api(
            &app.admin_token,
            "GET",
            &format!("/api/v1/cases/{id}/events"),
            None,
        );
        events.to_string().contains("cve_record_published")
    });
    let container = {
        let s = state.lock().unwrap();
        let put = s.seen.iter().find(|(m, ..)| m == "PUT").unwrap();
        put.3["cnaContainer"].clone()
    };
    assert_eq!(container["affected"][0]["packageName"], "numpy");
    assert!(!container.to_string().contains("CONFIDENTIAL"));
    if let Some(schema) = shared_schema("cve/CVE_JSON_cnaPublishedContainer_5.1.1.json") {
        let v = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = v.iter_errors(&container).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The public CVE record now exists.
    let (status, record) = get(&app, &format!("/advisories/{id}/cve.json"));
    assert_eq!(status, 200);
    assert!(record.contains("CVE-2026-31337"));

    // Over quota: refused for good, recorded on the case, not retried.
    let other = case_with_advisory(&app, &reviewer, "QUOTA", false);
    state.lock().unwrap().answers.push((
        "POST /api/cve-id".into(),
        403,
        json!({"error": "EXCEEDED_ID_QUOTA", "message": "The amount requested would exceed the organization's ID quota."}),
    ));
    let requests = |s: &Shared| {
        s.lock()
            .unwrap()
            .seen
            .iter()
            .filter(|(m, p, _, _)| m == "POST" && p == "/api/cve-id")
            .count()
    };
    let before = requests(&state);
    state
        .lock()
        .unwrap()
        .answers
        .push(("POST /hooks/alerts".into(), 200, json!({})));
    run(
        &app,
        &app.admin_token,
        &other,
        json!({"command": "request_cve", "via": "cve_services"}),
    );
    wait_for("the refusal", || {
        advisory(&app, &other)["cve_failure"]
            .as_str()
            .is_some_and(|f| f.contains("EXCEEDED_ID_QUOTA"))
    });
    app.advance(3600);
    app.pump();
    assert_eq!(requests(&state), before + 1, "a refusal is not retried");
    // It is an alert: the SRT's webhook hears of it, and the case page
    // says why, as an alert, never as done.
    let alerted = state.lock().unwrap().seen.iter().any(|(m, p, _, body)| {
        m == "POST" && p == "/hooks/alerts" && body.to_string().contains("EXCEEDED_ID_QUOTA")
    });
    assert!(
        alerted,
        "{:?}",
        state
            .lock()
            .unwrap()
            .seen
            .iter()
            .map(|s| &s.1)
            .collect::<Vec<_>>()
    );
    let (mut srt, _) = app.person("sue", "srt");
    let page = srt.get(&format!("/cases/{other}")).body;
    let alert = between(&page, "id=\"cve-failure\">", "</div>");
    assert!(
        alert.contains("The CVE request failed: cve_services:")
            && alert.contains("EXCEEDED_ID_QUOTA"),
        "{alert}"
    );
    assert!(advisory(&app, &other)["cve"].is_null());
}

#[test]
fn github_assigns_a_cve_to_the_repository_advisory() {
    let state: Shared = Arc::default();
    let base = start_fake(state.clone());
    let app = TestApp::start_with(&format!(
        "[cve]\ngithub_api_url = \"{base}\"\ngithub_token = \"ghp_test\"\n"
    ));
    let (status, _) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/projects",
        Some(json!({"name": "numpy", "repositories": ["https://github.com/numpy/numpy"], "packages": ["PyPI:numpy"]})),
    );
    assert_eq!(status, 201);
    let reviewer = app.token_of("rev", "srt");
    let id = case_with_advisory(&app, &reviewer, "GH", false);
    {
        let mut s = state.lock().unwrap();
        s.answers.push((
            "POST /repos/numpy/numpy/security-advisories/GHSA-abcd-efgh-2345/cve".into(),
            202,
            json!({}),
        ));
        s.answers.push((
            "GET /repos/numpy/numpy/security-advisories/GHSA-abcd-efgh-2345".into(),
            200,
            json!({"ghsa_id": "GHSA-abcd-efgh-2345", "cve_id": null}),
        ));
        s.answers.push((
            "GET /repos/numpy/numpy/security-advisories/GHSA-abcd-efgh-2345".into(),
            200,
            json!({"ghsa_id": "GHSA-abcd-efgh-2345", "cve_id": "CVE-2026-4242"}),
        ));
    }
    run(
        &app,
        &app.admin_token,
        &id,
        json!({"command": "request_cve", "via": "github"}),
    );
    wait_for("the first poll", || state.lock().unwrap().seen.len() >= 2);
    assert!(advisory(&app, &id)["cve"].is_null(), "not assigned yet");
    app.advance(31);
    wait_for("the CVE", || {
        advisory(&app, &id)["cve"] == "CVE-2026-4242 (github)"
    });
    let s = state.lock().unwrap();
    assert_eq!(s.seen[0].0, "POST");
    assert_eq!(s.seen[0].2["authorization"], "Bearer ghp_test");
    assert_eq!(s.seen[0].2["x-github-api-version"], "2022-11-28");
}
