//! What each route shows each standing of a case: a unique marker is
//! planted in every sensitive field (the report's body, the reporter's
//! name and address, what the team and the reporter wrote to each other,
//! triage notes, internal notes, the advisory's confidential notes, CI
//! output, a fork credential), and every route of the route table is called
//! by every person, on a case under every TLP label. Each answer may carry
//! only the markers the caller's depth allows on that route (`ALLOWED`,
//! `ONLY`); the events and advisory routes and the case page must carry
//! exactly those (`MUST`), so a route that shows too little fails too.
//! A route missing from `ONLY`'s knowledge is checked against the depth's
//! whole allowance, and every route is in the table (routes.rs checks).

use serde_json::json;

use crate::{
    advisories::wait_for,
    app::TestApp,
    release::{git, ok, upstream},
    routes::{self, Person, ROUTES, VISIBLE},
};

const BODY: &str = "MKBODY";
const NAME: &str = "MKRNAME";
const EMAIL: &str = "mkremail";
const ACK: &str = "MKACK";
const ASK: &str = "MKASK";
const REPLY: &str = "MKREPLY";
const TRIAGE: &str = "MKTRIAGE";
const NOTE: &str = "MKNOTE";
const CONF: &str = "MKCONF";
const CI: &str = "MKCIOUT";

/// The report and the thread: the reporter's own, and the team's.
const REPORT: &[&str] = &[BODY, NAME, EMAIL, ACK, ASK, REPLY];
/// What only the team reads.
const INTERNAL: &[&str] = &[TRIAGE, NOTE, CONF, CI];

/// How much of a case a person sees, as `embargo_core::view::Depth` says.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Depth {
    Team,
    Reporter,
    Outsider,
    /// The case does not exist for them (or they are anonymous).
    None,
}

/// Who sees the marker cases as what, by label (from routes' `VISIBLE`,
/// plus `rep`, named on every case as its reporter).
fn depth(tlp: &str, who: Option<&str>) -> Depth {
    let Some(who) = who else { return Depth::None };
    if who == "rep" {
        return Depth::Reporter;
    }
    if !routes::visible(tlp, who) {
        return Depth::None;
    }
    match who {
        "admin" | "srt" | "coord" | "fixer" => Depth::Team,
        _ => Depth::Outsider,
    }
}

/// What a depth may see on a case route, before `ONLY` narrows it.
fn allowed(d: Depth) -> Vec<&'static str> {
    match d {
        Depth::Team => REPORT.iter().chain(INTERNAL).copied().collect(),
        Depth::Reporter => REPORT.to_vec(),
        Depth::Outsider | Depth::None => Vec::new(),
    }
}

/// Routes that carry less than the depth allows: what each may carry at
/// most. Exports, previews and feeds are for the world or the lists: none
/// of the markers, for anyone.
const ONLY: &[(&str, &str, &[&str])] = &[
    ("GET", "/api/v1/cases/{id}", &[]),
    ("POST", "/api/v1/cases/{id}/commands", &[]),
    ("GET", "/api/v1/cases/{id}/export/{format}", &[]),
    // The previews on the case page are the same exports.
    ("GET", "/cases/{id}/preview/{format}", &[]),
    ("GET", "/api/v1/cases/{id}/announcement", &[]),
    ("GET", "/api/v1/cases/{id}/announcement.txt", &[]),
    // The release plan: forks, CI, the announcement.
    ("GET", "/api/v1/cases/{id}/release", &[CI]),
    // The retrospective: durations, people and links.
    ("GET", "/api/v1/cases/{id}/retrospective", &[]),
    // The advisory with its confidential notes.
    ("GET", "/api/v1/cases/{id}/advisory", &[CONF]),
    ("POST", "/cases/{id}/fork-credential", &[]),
    ("POST", "/api/v1/cases/{id}/fork-credential", &[]),
];

/// Routes that must carry exactly what the depth allows (intersected with
/// `ONLY`), on the case with CI (GREEN) and without it elsewhere.
const MUST: &[(&str, &str)] = &[
    ("GET", "/api/v1/cases/{id}/events"),
    ("GET", "/api/v1/cases/{id}/advisory"),
    ("GET", "/cases/{id}"),
];

fn is_case_route(path: &str) -> bool {
    path.contains("{id}")
}

/// What `who` may see on `route` of the case under `tlp`.
fn may_see(method: &str, path: &str, tlp: &str, who: Option<&str>, ci: bool) -> Vec<&'static str> {
    if !is_case_route(path) {
        return Vec::new();
    }
    let mut out = allowed(depth(tlp, who));
    if let Some((_, _, only)) = ONLY.iter().find(|(m, p, _)| *m == method && *p == path) {
        out.retain(|m| only.contains(m));
    }
    // Triage notes are on the page only in the triage form, for those who
    // may triage (the SRT and the coordinator).
    if path == "/cases/{id}" && who == Some("fixer") {
        out.retain(|m| *m != TRIAGE);
    }
    if !ci {
        out.retain(|m| *m != CI);
    }
    out
}

/// A numpy case under `tlp` with a marker in every sensitive field.
fn marked_case(app: &TestApp, coord: &str, tlp: &str) -> String {
    let admin = &app.admin_token;
    let (status, body) = app.api(
        admin,
        "POST",
        "/api/v1/cases",
        Some(json!({
            "project": "numpy", "title": format!("overflow under {tlp}"),
            "body": format!("Steps {BODY}: load the file."),
            "reporter_name": format!("Ada {NAME}"),
            "reporter_email": format!("{EMAIL}@example.org"),
        })),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let status_url = body["status_url"].as_str().unwrap().to_owned();
    let command = |token: &str, cmd: serde_json::Value| {
        let (status, body) = app.api(
            token,
            "POST",
            &format!("/api/v1/cases/{id}/commands"),
            Some(cmd),
        );
        assert_eq!(status, 200, "{body}");
    };
    command(
        admin,
        json!({ "command": "add_participant", "person": "rep", "role": "reporter" }),
    );
    command(
        admin,
        json!({ "command": "acknowledge", "message": format!("Thanks {ACK}") }),
    );
    command(
        admin,
        json!({ "command": "request_info", "question": format!("Which {ASK}?") }),
    );
    let path = status_url.trim_start_matches(&app.url);
    let reply = app.browser().post_anonymous(
        &format!("{path}/reply"),
        &[("text", &format!("{REPLY} 1.26"))],
    );
    assert!(reply.status < 400, "{}", reply.body);
    command(
        admin,
        json!({ "command": "triage", "reproduced": "yes", "notes": format!("seen {TRIAGE}"),
                "affected": ["PyPI:numpy:0..2.0.0"], "tlp": tlp }),
    );
    command(
        admin,
        json!({ "command": "assign_fixing_team", "coordinator": "coord", "fixers": ["fixer"] }),
    );
    command(
        coord,
        json!({ "command": "add_note", "text": format!("internal {NOTE}") }),
    );
    command(
        coord,
        json!({ "command": "revise_advisory", "base_revision": 0, "summary": "Heap overflow in loadtxt",
                "details": "Reading a crafted file overflows a buffer.",
                "affected": [{"ecosystem": "PyPI", "name": "numpy", "ranges": ["1.22.0..1.26.4"]}],
                "credits": [{"name": "Ada", "kind": "FINDER"}],
                "confidential": format!("held back {CONF}") }),
    );
    id
}

/// A built-in fork on the case, a credential for the fixer, a push, and the
/// CI run that it starts; returns the credential's password.
fn fork_with_ci(app: &TestApp, fixer: &str, id: &str) -> String {
    let (status, body) = app.api(
        fixer,
        "POST",
        &format!("/api/v1/cases/{id}/commands"),
        Some(json!({"command": "open_private_fork", "host": "builtin"})),
    );
    assert_eq!(status, 200, "{body}");
    // The request is in the log; its job makes the fork.
    app.pump();
    let (status, cred) = app.api(
        fixer,
        "POST",
        &format!("/api/v1/cases/{id}/fork-credential"),
        Some(json!({})),
    );
    assert_eq!(status, 200, "{cred}");
    let password = cred["password"].as_str().unwrap().to_owned();
    let url =
        cred["url"]
            .as_str()
            .unwrap()
            .replacen("http://", &format!("http://fixer:{password}@"), 1);
    let work = tempfile::tempdir().unwrap();
    ok(work.path(), &["clone", "-q", &url, "fork"]);
    let fork = work.path().join("fork");
    std::fs::write(fork.join("src.txt"), "fixed\n").unwrap();
    ok(&fork, &["commit", "-q", "-am", "Fix"]);
    let (pushed, output) = git(&fork, &["push", "-q", "origin", "main"]);
    assert!(pushed, "{output}");
    wait_for("the CI run", || {
        let (_, plan) = app.api(fixer, "GET", &format!("/api/v1/cases/{id}/release"), None);
        plan["ci_runs"].as_array().is_some_and(|runs| {
            runs.iter()
                .any(|r| r["output"].as_str().unwrap_or("").contains(CI))
        })
    });
    password
}

fn found(body: &str, markers: &[&'static str]) -> Vec<&'static str> {
    markers
        .iter()
        .copied()
        .filter(|m| body.contains(m) || body.contains(&m.to_ascii_lowercase()))
        .collect()
}

#[test]
fn every_route_shows_each_standing_only_its_markers() {
    let upstream = upstream();
    let app = TestApp::start_with(&format!(
        // The command prints the marker without holding it (the admins'
        // project page shows the command, which is no case's output).
        "[release.projects.numpy]\nupstream = \"{}\"\ntest_command = \"echo MKCI''OUT && sh check.sh\"\n",
        upstream.path().display()
    ));
    let mut cast: Vec<(&'static str, &str)> = routes::CAST.to_vec();
    cast.push(("rep", "maintainer"));
    let mut people: Vec<Person<'_>> = routes::cast(&app, &cast);
    // rep maintains numpy, so the case's labels let them be named on it.
    routes::projects(&app, &["fixer", "numpy-dev", "rep"]);
    let token = |who: &str| {
        people
            .iter()
            .find(|p| p.handle == who)
            .unwrap()
            .token
            .clone()
    };
    let (coord, fixer, admin) = (token("coord"), token("fixer"), token("admin"));
    let mut cases = Vec::new();
    for (tlp, _) in VISIBLE {
        cases.push((*tlp, marked_case(&app, &coord, tlp)));
    }
    let green = cases
        .iter()
        .find(|(t, _)| *t == "TLP:GREEN")
        .unwrap()
        .1
        .clone();
    let credential = fork_with_ci(&app, &fixer, &green);
    let every: Vec<&'static str> = REPORT.iter().chain(INTERNAL).copied().collect();

    let mut failures = Vec::new();
    let mut n = 0;
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|(_, p, _)| *p == "/logout");
    for (method, template, _) in routes {
        let on: Vec<(&str, String)> = if is_case_route(template) || template.contains("{case}") {
            cases.clone()
        } else {
            vec![("-", green.clone())]
        };
        for (tlp, case) in &on {
            let ci = *case == green;
            let mut check = |who: Option<&str>, status: u16, body: &str| {
                if body.contains(&credential) {
                    failures.push(format!(
                        "{method} {template} {tlp} {who:?}: the fork credential"
                    ));
                }
                let seen = found(body, &every);
                let may = may_see(method, template, tlp, who, ci);
                let extra: Vec<_> = seen.iter().filter(|m| !may.contains(m)).collect();
                if !extra.is_empty() {
                    failures.push(format!(
                        "{method} {template} {tlp} {who:?} ({status}): must not show {extra:?}"
                    ));
                }
                if MUST.contains(&(*method, *template)) {
                    let missing: Vec<_> = may.iter().filter(|m| !seen.contains(m)).collect();
                    if !missing.is_empty() {
                        failures.push(format!(
                            "{method} {template} {tlp} {who:?} ({status}): should show {missing:?}"
                        ));
                    }
                }
            };
            n += 1;
            let (status, body) = routes::call(&app, None, method, template, case, n);
            check(None, status, &body);
            for p in &mut people {
                n += 1;
                let who = p.handle;
                let (status, body) = routes::call(&app, Some(p), method, template, case, n);
                check(Some(who), status, &body);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} leaks or gaps:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The markers really are there for those who may read them.
    let (_, events) = app.api(
        &admin,
        "GET",
        &format!("/api/v1/cases/{green}/events"),
        None,
    );
    let events = events.to_string();
    for m in &every {
        assert!(events.contains(m), "{m} planted");
    }
}
