//! The route × role × TLP table. `ROUTES` lists every route the server
//! answers, with what each kind of caller must get; `every_route_is_in_the_table`
//! fails when router.rs gains a route the table does not list. Each allowed
//! line has its denied twin: the same route, one role or one label away.

use serde_json::json;

use crate::app::{Browser, TestApp, between};

/// What a route must answer, by caller.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expect {
    /// The same for everyone, signed in or not.
    Public(u16),
    /// Signed-in people get this; anonymous visitors are sent to sign in
    /// (303 for pages, 401 for the API).
    SignedIn(u16),
    /// Admins get this; everyone else 404 (admin pages do not exist for them).
    Admin(u16),
    /// SRT members and admins get this; everyone else 404.
    Srt(u16),
    /// A case route: those who see the case get this; for the rest it does
    /// not exist (404).
    CaseView(u16),
    /// A case action (adding an internal note): `ok` for those whose
    /// standing allows it, `denied` for those who see the case but may not.
    CaseAction { ok: u16, denied: u16 },
    /// Case routes only the SRT uses (404 for others, even if they see it).
    CaseSrt(u16),
}

/// Every route: method, path, what it must answer.
pub(crate) const ROUTES: &[(&str, &str, Expect)] = &[
    ("GET", "/healthz", Expect::Public(200)),
    ("GET", "/readyz", Expect::Public(200)),
    // Bearer only (a scraper's token): pages and anonymous callers get 401.
    ("GET", "/metrics", Expect::Srt(200)),
    ("GET", "/favicon.ico", Expect::Public(204)),
    ("GET", "/.well-known/security.txt", Expect::Public(200)),
    ("GET", "/pgp-key.txt", Expect::Public(200)),
    ("GET", "/static/app.css", Expect::Public(200)),
    ("GET", "/static/app.js", Expect::Public(200)),
    ("GET", "/static/report.js", Expect::Public(200)),
    ("GET", "/report", Expect::Public(200)),
    ("POST", "/report", Expect::Public(201)),
    ("GET", "/report/status/{token}", Expect::Public(404)),
    ("POST", "/report/status/{token}/reply", Expect::Public(404)),
    (
        "POST",
        "/report/status/{token}/{answer}",
        Expect::Public(404),
    ),
    ("GET", "/login", Expect::Public(200)),
    // Wrong credentials, whoever asks.
    ("POST", "/login", Expect::Public(401)),
    // An unknown invitation does not exist.
    ("GET", "/invite/{token}", Expect::Public(404)),
    ("POST", "/invite/{token}", Expect::Public(404)),
    ("POST", "/logout", Expect::SignedIn(303)),
    ("POST", "/account/tokens", Expect::SignedIn(200)),
    ("POST", "/account/recovery-codes", Expect::SignedIn(200)),
    // No such token of the caller's (the table uses a fake id).
    (
        "POST",
        "/account/tokens/{token}/revoke",
        Expect::SignedIn(404),
    ),
    ("POST", "/account/calendar", Expect::SignedIn(200)),
    ("POST", "/api/v1/calendar", Expect::SignedIn(200)),
    // An unknown calendar token does not exist.
    ("GET", "/calendar/{token}", Expect::Public(404)),
    ("GET", "/account", Expect::SignedIn(200)),
    ("POST", "/account", Expect::SignedIn(200)),
    ("GET", "/", Expect::SignedIn(200)),
    ("GET", "/cvss", Expect::SignedIn(200)),
    ("POST", "/markdown-preview", Expect::SignedIn(200)),
    ("GET", "/admin/people", Expect::Admin(200)),
    ("POST", "/admin/people", Expect::Admin(200)),
    ("POST", "/admin/people/{person}/unlock", Expect::Admin(303)),
    // The table's person has used their invitation: nothing to withdraw.
    (
        "POST",
        "/admin/people/{person}/invitation/revoke",
        Expect::Admin(404),
    ),
    ("POST", "/admin/people/{person}/role", Expect::Admin(303)),
    ("GET", "/admin/policy", Expect::Admin(200)),
    ("POST", "/admin/intake-key/rotate", Expect::Admin(303)),
    ("GET", "/admin/projects", Expect::Admin(200)),
    ("POST", "/admin/projects", Expect::Admin(303)),
    ("GET", "/admin/projects/{project}", Expect::Admin(200)),
    // An empty form: the project's release settings cleared, and back.
    (
        "POST",
        "/admin/projects/{project}/release",
        Expect::Admin(303),
    ),
    // An empty form: a policy that asks nothing.
    (
        "POST",
        "/admin/projects/{project}/screening",
        Expect::Admin(303),
    ),
    ("GET", "/admin/status-texts", Expect::Admin(200)),
    ("POST", "/admin/status-texts", Expect::Admin(303)),
    ("GET", "/cases/{id}", Expect::CaseView(200)),
    // The table's cases have no built-in fork: refused to all who see them.
    ("POST", "/cases/{id}/fork-credential", Expect::CaseView(403)),
    // Only for reports found invalid: the SRT is told so (422).
    ("GET", "/cases/{id}/public-issue", Expect::CaseSrt(422)),
    // The table's cases have no advisory to preview: told so (422).
    ("GET", "/cases/{id}/preview/{format}", Expect::CaseView(422)),
    // No such file or message on the table's cases: 404 for everyone, and
    // never a different answer for a case the caller cannot see.
    ("GET", "/cases/{id}/attachments/{n}", Expect::CaseView(404)),
    ("GET", "/cases/{id}/inbound/{n}", Expect::CaseSrt(404)),
    ("GET", "/quarantine", Expect::Srt(200)),
    ("GET", "/screening", Expect::Srt(200)),
    // No answer picked: the SRT is told so.
    ("POST", "/screening", Expect::Srt(422)),
    // The sender's other reports: the SRT's, on a case they see.
    (
        "GET",
        "/api/v1/cases/{id}/reporter-history",
        Expect::CaseSrt(200),
    ),
    // No case named: the SRT is told so.
    ("POST", "/api/v1/screening/reject", Expect::Srt(422)),
    ("GET", "/channels", Expect::Srt(200)),
    ("GET", "/dashboard", Expect::Srt(200)),
    ("GET", "/compliance", Expect::Srt(200)),
    ("GET", "/api/v1/compliance", Expect::Srt(200)),
    ("GET", "/api/v1/channels", Expect::Srt(200)),
    ("POST", "/api/v1/channels", Expect::Admin(201)),
    ("POST", "/api/v1/channels/{name}/remove", Expect::Admin(404)),
    ("POST", "/api/v1/channels/{name}/check", Expect::Srt(404)),
    ("GET", "/quarantine/{n}", Expect::Srt(404)),
    ("POST", "/quarantine/{n}/file", Expect::Srt(422)),
    (
        "POST",
        "/cases/{id}/commands/{command}",
        Expect::CaseAction {
            ok: 303,
            denied: 403,
        },
    ),
    ("GET", "/api/v1/whoami", Expect::SignedIn(200)),
    ("GET", "/api/v1/cases", Expect::SignedIn(200)),
    ("POST", "/api/v1/cases", Expect::Srt(201)),
    // Whatever is posted is kept: this JSON is not an email, so it goes to
    // quarantine (200 with the reason).
    ("POST", "/api/v1/intake/mail", Expect::Srt(200)),
    ("GET", "/api/v1/cases/{id}", Expect::CaseView(200)),
    ("GET", "/api/v1/cases/{id}/events", Expect::CaseView(200)),
    (
        "POST",
        "/api/v1/cases/{id}/commands",
        Expect::CaseAction {
            ok: 200,
            denied: 403,
        },
    ),
    // Not ready before an advisory is written: those who see the case are told so.
    (
        "GET",
        "/api/v1/cases/{id}/announcement",
        Expect::CaseView(422),
    ),
    // The retrospective is the team's; others who see the case are refused.
    (
        "GET",
        "/api/v1/cases/{id}/retrospective",
        Expect::CaseAction {
            ok: 200,
            denied: 403,
        },
    ),
    (
        "GET",
        "/api/v1/cases/{id}/export/{format}",
        Expect::CaseView(422),
    ),
    ("GET", "/api/v1/cases/{id}/advisory", Expect::CaseView(200)),
    (
        "GET",
        "/api/v1/cases/{id}/announcement.txt",
        Expect::CaseView(422),
    ),
    // The release plan is the team's; others who see the case are refused.
    (
        "GET",
        "/api/v1/cases/{id}/release",
        Expect::CaseAction {
            ok: 200,
            denied: 403,
        },
    ),
    // The table's cases have no built-in fork: refused to all who see them.
    (
        "POST",
        "/api/v1/cases/{id}/fork-credential",
        Expect::CaseView(403),
    ),
    // Git's smart HTTP asks everyone without a case credential for one.
    ("GET", "/git/{case}/{repo}/{*path}", Expect::Public(401)),
    ("POST", "/git/{case}/{repo}/{*path}", Expect::Public(401)),
    // What the world reads: the table's cases are not disclosed, so their
    // advisories do not exist for anyone.
    ("GET", "/advisories", Expect::Public(200)),
    ("GET", "/advisories.atom", Expect::Public(200)),
    ("GET", "/advisories/{id}", Expect::Public(404)),
    ("GET", "/advisories/{id}/{file}", Expect::Public(404)),
    ("GET", "/osv/index.json", Expect::Public(200)),
    ("GET", "/osv/all.json", Expect::Public(200)),
    ("GET", "/osv/{file}", Expect::Public(404)),
    (
        "GET",
        "/.well-known/csaf/provider-metadata.json",
        Expect::Public(200),
    ),
    (
        "GET",
        "/.well-known/csaf/white/index.txt",
        Expect::Public(200),
    ),
    (
        "GET",
        "/.well-known/csaf/white/changes.csv",
        Expect::Public(200),
    ),
    (
        "GET",
        "/.well-known/csaf/white/{year}/{file}",
        Expect::Public(404),
    ),
    (
        "GET",
        "/.well-known/csaf/feed-tlp-white.json",
        Expect::Public(200),
    ),
    ("GET", "/api/v1/people", Expect::Srt(200)),
    ("POST", "/api/v1/people", Expect::Admin(201)),
    ("GET", "/api/v1/projects", Expect::SignedIn(200)),
    ("POST", "/api/v1/projects", Expect::Admin(201)),
    (
        "GET",
        "/api/v1/projects/{project}/release",
        Expect::Admin(200),
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/release",
        Expect::Admin(200),
    ),
    (
        "GET",
        "/api/v1/projects/{project}/screening",
        Expect::Admin(200),
    ),
    (
        "PUT",
        "/api/v1/projects/{project}/screening",
        Expect::Admin(200),
    ),
    ("GET", "/api/v1/admin/intake-key", Expect::Admin(200)),
    (
        "POST",
        "/api/v1/admin/intake-key/rotate",
        Expect::Admin(200),
    ),
];

/// The cast: handle, organisation role.
pub(crate) const CAST: &[(&str, &str)] = &[
    ("admin", "admin"),
    ("srt", "srt"),
    ("coord", "srt"),
    ("fixer", "maintainer"),
    ("numpy-dev", "maintainer"),
    ("scipy-dev", "maintainer"),
];

/// Who sees a numpy case (coordinated by coord, fixed by fixer) under each
/// label, written out by hand from TLP 2.0 as embargo reads it.
pub(crate) const VISIBLE: &[(&str, &[&str])] = &[
    ("TLP:RED", &["coord", "fixer"]),
    ("TLP:AMBER+STRICT", &["admin", "srt", "coord", "fixer"]),
    (
        "TLP:AMBER",
        &["admin", "srt", "coord", "fixer", "numpy-dev"],
    ),
    (
        "TLP:GREEN",
        &["admin", "srt", "coord", "fixer", "numpy-dev", "scipy-dev"],
    ),
    (
        "TLP:CLEAR",
        &["admin", "srt", "coord", "fixer", "numpy-dev", "scipy-dev"],
    ),
];

/// Who may write an internal note on a case they see.
const MAY_NOTE: &[&str] = &["admin", "srt", "coord", "fixer"];

const SRT: &[&str] = &["admin", "srt", "coord"];

pub(crate) struct Person<'a> {
    pub handle: &'static str,
    pub browser: Browser<'a>,
    pub token: String,
}

pub(crate) struct World<'a> {
    pub people: Vec<Person<'a>>,
    /// (TLP label, case id)
    pub cases: Vec<(&'static str, String)>,
}

/// Signs up the cast, creates numpy and scipy projects, and one case per
/// TLP label with coord as coordinator and fixer on the fixing team.
pub(crate) fn world(app: &TestApp) -> World<'_> {
    let people = cast(app, CAST);
    projects(app, &["fixer", "numpy-dev"]);
    let mut cases = Vec::new();
    for (tlp, _) in VISIBLE {
        let id = new_case(app, tlp);
        cases.push((*tlp, id));
    }
    World { people, cases }
}

/// Signs up each person of `cast` (admin by the first invitation), each
/// with a browser session and an API token.
pub(crate) fn cast<'a>(app: &'a TestApp, cast: &[(&'static str, &str)]) -> Vec<Person<'a>> {
    let mut people = Vec::new();
    for (handle, role) in cast {
        let (mut browser, _) = if *handle == "admin" {
            app.signed_up(&app.admin_invitation, "admin")
        } else {
            app.person(handle, role)
        };
        let page = browser.post("/account/tokens", &[]);
        assert_eq!(page.status, 200, "{}", page.body);
        let token = format!("emb_{}", between(&page.body, "shown only now: emb_", "<"));
        people.push(Person {
            handle,
            browser,
            token,
        });
    }
    people
}

/// The numpy project (maintained by `numpy`) and scipy (by scipy-dev).
pub(crate) fn projects(app: &TestApp, numpy: &[&str]) {
    for (name, package, maintainers) in [
        ("numpy", "PyPI:numpy", numpy.to_vec()),
        ("scipy", "PyPI:scipy", vec!["scipy-dev"]),
    ] {
        let (status, body) = app.api(
            &app.admin_token,
            "POST",
            "/api/v1/projects",
            Some(json!({ "name": name, "packages": [package], "maintainers": maintainers })),
        );
        assert_eq!(status, 201, "{body}");
    }
}

/// A numpy case, acknowledged, triaged with `tlp`, team assigned.
pub(crate) fn new_case(app: &TestApp, tlp: &str) -> String {
    let t = &app.admin_token;
    let (status, body) = app.api(
        t,
        "POST",
        "/api/v1/cases",
        Some(json!({ "project": "numpy", "title": format!("overflow under {tlp}"), "body": "Steps: load the file." })),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    for cmd in [
        json!({ "command": "acknowledge", "message": "Thanks" }),
        json!({ "command": "triage", "reproduced": "yes", "notes": "seen", "affected": ["PyPI:numpy:0..2.0.0"], "tlp": tlp }),
        json!({ "command": "assign_fixing_team", "coordinator": "coord", "fixers": ["fixer"] }),
    ] {
        let (status, body) = app.api(
            t,
            "POST",
            &format!("/api/v1/cases/{id}/commands"),
            Some(cmd),
        );
        assert_eq!(status, 200, "{body}");
    }
    id
}

pub(crate) fn visible(tlp: &str, who: &str) -> bool {
    VISIBLE
        .iter()
        .find(|(t, _)| *t == tlp)
        .is_some_and(|(_, people)| people.contains(&who))
}

/// What `who` (None: anonymous) must get from a route, under `tlp` for case routes.
fn expected(path: &str, e: Expect, who: Option<&str>, tlp: &str) -> u16 {
    // `/metrics` is read by scrapers with a token, like the API.
    let api = path.starts_with("/api/") || path == "/metrics";
    // Pages send anonymous visitors to sign in; the API asks for a token.
    let anon = if api { 401 } else { 303 };
    let Some(who) = who else {
        return match e {
            Expect::Public(s) => s,
            _ => anon,
        };
    };
    match e {
        Expect::Public(s) | Expect::SignedIn(s) => s,
        Expect::Admin(s) => {
            if who == "admin" {
                s
            } else {
                404
            }
        }
        Expect::Srt(s) => {
            if SRT.contains(&who) {
                s
            } else {
                404
            }
        }
        Expect::CaseView(s) => {
            if visible(tlp, who) {
                s
            } else {
                404
            }
        }
        Expect::CaseSrt(s) => {
            if visible(tlp, who) && SRT.contains(&who) {
                s
            } else {
                404
            }
        }
        Expect::CaseAction { ok, denied } => {
            if !visible(tlp, who) {
                404
            } else if MAY_NOTE.contains(&who) {
                ok
            } else {
                denied
            }
        }
    }
}

fn is_case_route(e: Expect) -> bool {
    matches!(
        e,
        Expect::CaseView(_) | Expect::CaseSrt(_) | Expect::CaseAction { .. }
    )
}

/// Calls a route as `who` (by browser or API token) and returns the status
/// and the body.
pub(crate) fn call<'a>(
    app: &'a TestApp,
    person: Option<&mut Person<'a>>,
    method: &str,
    template: &str,
    case: &str,
    n: usize,
) -> (u16, String) {
    let unique = format!("x{n}");
    let path = template
        .replace("{id}", case)
        .replace("{token}", "inv_0000")
        .replace("{person}", "scipy-dev")
        .replace("{command}", "add_note")
        .replace("{n}", "999999")
        .replace("{name}", "no-such-channel")
        .replace("{format}", "osv")
        .replace("{answer}", "credit")
        .replace("{project}", "numpy")
        .replace("{case}", case)
        .replace("{repo}", "numpy.git")
        .replace("{*path}", "info/refs")
        .replace("{year}", "2026")
        .replace("{file}", &format!("x_{case}.json"));
    let path = if path == "/cvss" {
        "/cvss?vector=CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_owned()
    } else {
        path
    };
    if path.starts_with("/api/") || path == "/metrics" {
        let token = person.map_or("emb_none".to_owned(), |p| p.token.clone());
        let body = match (method, template) {
            ("POST", "/api/v1/cases") => {
                Some(json!({ "project": "numpy", "title": "t", "body": "b" }))
            }
            ("POST", "/api/v1/people") => Some(json!({
                "id": format!("new-{unique}"), "name": "N", "email": "n@example.org", "role": "maintainer",
            })),
            ("POST", "/api/v1/projects") => Some(json!({ "name": format!("p-{unique}") })),
            (
                "PUT",
                "/api/v1/projects/{project}/release" | "/api/v1/projects/{project}/screening",
            ) => Some(json!({})),
            ("POST", "/api/v1/screening/reject") => Some(json!({ "cases": [], "answer": "spam" })),
            ("POST", "/api/v1/channels") => {
                Some(json!({ "kind": "forum", "name": format!("forum-{unique}") }))
            }
            ("POST", _) => Some(json!({ "command": "add_note", "text": "a note" })),
            _ => None,
        };
        let (status, body) = app.api(&token, method, &path, body);
        return (status, body.to_string());
    }
    let mut anon = app.browser();
    let browser = match person {
        Some(p) => &mut p.browser,
        None => &mut anon,
    };
    if method == "GET" {
        let r = browser.get(&path);
        return (r.status, r.body);
    }
    let id = format!("new-{unique}");
    let name = format!("p-{unique}");
    let nobody = format!("nobody-{unique}");
    let fields: Vec<(&str, &str)> = match template {
        // A handle of its own each time: a handle that names no one is
        // slowed after a few failures, as a person's is.
        "/login" => vec![("handle", &nobody), ("password", "not the password")],
        "/admin/people" => vec![
            ("id", &id),
            ("name", "N"),
            ("email", "n@example.org"),
            ("role", "maintainer"),
        ],
        "/admin/projects" => vec![("name", &name)],
        "/admin/status-texts" => vec![("stage", "new"), ("text", "We got it.")],
        "/admin/people/{person}/role" => vec![("role", "maintainer")],
        "/account" => vec![("notify", "immediate")],
        "/invite/{token}" => vec![("password", "x"), ("confirm", "x")],
        "/report" => vec![("title", "t"), ("description", "d"), ("steps", "s")],
        _ => vec![("text", "a note")],
    };
    if template == "/login" || template == "/invite/{token}" || template.starts_with("/report") {
        let r = browser.post_anonymous(&path, &fields);
        return (r.status, r.body);
    }
    let r = browser.post(&path, &fields);
    (r.status, r.body)
}

#[test]
fn every_route_answers_every_role_as_the_table_says() {
    let app = TestApp::start();
    let mut w = world(&app);
    let mut failures = Vec::new();
    let mut n = 0;
    // Logout last: it ends the sessions the rest of the table uses.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|(_, p, _)| *p == "/logout");
    for (method, template, e) in routes {
        let labels: Vec<(&str, String)> = if is_case_route(*e) {
            w.cases.iter().map(|(t, id)| (*t, id.clone())).collect()
        } else {
            vec![("-", "EMB-2026-000000".to_owned())]
        };
        for (tlp, case) in &labels {
            n += 1;
            let want = expected(template, *e, None, tlp);
            let got = call(&app, None, method, template, case, n).0;
            if got != want {
                failures.push(format!(
                    "{method} {template} {tlp} anonymous: want {want}, got {got}"
                ));
            }
            for p in &mut w.people {
                n += 1;
                let who = p.handle;
                let want = expected(template, *e, Some(who), tlp);
                let got = call(&app, Some(p), method, template, case, n).0;
                if got != want {
                    failures.push(format!(
                        "{method} {template} {tlp} {who}: want {want}, got {got}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_case_list_holds_exactly_the_cases_each_person_sees() {
    let app = TestApp::start();
    let w = world(&app);
    for p in &w.people {
        let (status, body) = app.api(&p.token, "GET", "/api/v1/cases", None);
        assert_eq!(status, 200);
        let listed: Vec<&str> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = w
            .cases
            .iter()
            .filter(|(tlp, _)| visible(tlp, p.handle))
            .map(|(_, id)| id.as_str())
            .collect();
        let mut listed_sorted = listed.clone();
        listed_sorted.sort_unstable();
        let mut want_sorted = want.clone();
        want_sorted.sort_unstable();
        assert_eq!(listed_sorted, want_sorted, "{}", p.handle);
    }
}

/// The routes router.rs declares, read from its source.
pub(crate) fn declared_routes() -> Vec<(String, String)> {
    let source = include_str!("../../src/router.rs");
    let mut out = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let path = between(chunk, "\"", "\"").to_owned();
        // The handlers run to the matching close of `.route(`.
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in chunk.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let handlers = &chunk[..end];
        for (method, marker) in [("GET", "get("), ("POST", "post("), ("PUT", "put(")] {
            if handlers.contains(marker) {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_in_the_table() {
    let declared = declared_routes();
    assert!(declared.len() > 20, "the router was not read: {declared:?}");
    let missing: Vec<_> = declared
        .iter()
        .filter(|(m, p)| !ROUTES.iter().any(|(rm, rp, _)| rm == m && rp == p))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from the table in tests/it/routes.rs: {missing:?}"
    );
    let stale: Vec<_> = ROUTES
        .iter()
        .filter(|(m, p, _)| !declared.iter().any(|(dm, dp)| dm == m && dp == p))
        .collect();
    assert!(
        stale.is_empty(),
        "table rows for routes that do not exist: {stale:?}"
    );
}
