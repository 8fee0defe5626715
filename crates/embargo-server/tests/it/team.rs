//! Bringing people onto a case: a maintainer asks, the SRT decides, and the
//! log says who asked and who approved.

use crate::{
    app::TestApp,
    routes::{new_case, world},
};

#[test]
fn a_colleague_sees_the_case_only_after_the_srt_approves_the_request() {
    let app = TestApp::start();
    let mut w = world(&app);
    let case = new_case(&app, "TLP:AMBER+STRICT");
    let page = format!("/cases/{case}");
    let idx = |h: &str| w.people.iter().position(|p| p.handle == h).unwrap();
    let (fixer, colleague, outsider, srt) =
        (idx("fixer"), idx("numpy-dev"), idx("scipy-dev"), idx("srt"));

    assert_eq!(w.people[colleague].browser.get(&page).status, 404);

    // The fixer cannot add directly ...
    let direct = w.people[fixer].browser.post(
        &format!("{page}/commands/add_participant"),
        &[("person", "numpy-dev"), ("role", "fixer")],
    );
    assert_eq!(direct.status, 403, "{}", direct.body);
    // ... may not ask for an outsider under AMBER+STRICT ...
    let outside = w.people[fixer].browser.post(
        &format!("{page}/commands/request_addition"),
        &[
            ("person", "scipy-dev"),
            ("role", "fixer"),
            ("reason", "knows it"),
        ],
    );
    assert_eq!(outside.status, 403, "{}", outside.body);
    assert!(
        outside
            .body
            .contains("TLP:AMBER+STRICT keeps scipy-dev off this case"),
        "{}",
        outside.body
    );
    // ... but may ask for a maintainer of the affected project.
    let asked = w.people[fixer].browser.post(
        &format!("{page}/commands/request_addition"),
        &[
            ("person", "numpy-dev"),
            ("role", "fixer"),
            ("reason", "wrote the parser"),
        ],
    );
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert_eq!(
        w.people[colleague].browser.get(&page).status,
        404,
        "not before approval"
    );
    assert_eq!(w.people[outsider].browser.get(&page).status, 404);

    // The fixer cannot approve their own request; the SRT can.
    let self_approve = w.people[fixer].browser.post(
        &format!("{page}/commands/approve_addition"),
        &[("request", "1")],
    );
    assert_eq!(self_approve.status, 403);
    let srt_view = w.people[srt].browser.get(&page);
    assert!(srt_view.body.contains("Approve #1"), "{}", srt_view.body);
    let approved = w.people[srt].browser.post(
        &format!("{page}/commands/approve_addition"),
        &[("request", "1")],
    );
    assert_eq!(approved.status, 303, "{}", approved.body);

    let seen = w.people[colleague].browser.get(&page);
    assert_eq!(seen.status, 200);
    assert!(
        seen.body.contains("You see this case as</dt><dd>fixer"),
        "{}",
        seen.body
    );

    let (_, events) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case}/events"),
        None,
    );
    let actor_of = |kind: &str| {
        events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .map(|e| e["actor"].as_str().unwrap().to_owned())
    };
    assert_eq!(actor_of("addition_requested").as_deref(), Some("fixer"));
    assert_eq!(actor_of("addition_approved").as_deref(), Some("srt"));
}

#[test]
fn admins_write_what_reporters_are_told_and_the_srt_sees_who_looked() {
    let app = TestApp::start();
    let mut w = world(&app);
    let case = new_case(&app, "TLP:AMBER");
    let page = format!("/cases/{case}");
    let idx = |h: &str| w.people.iter().position(|p| p.handle == h).unwrap();
    let (admin, srt, fixer, maintainer) =
        (idx("admin"), idx("srt"), idx("fixer"), idx("numpy-dev"));
    // The case is with its fixing team: stage "fixing".
    let before = w.people[srt].browser.get(&page);
    assert!(
        before
            .body
            .contains("The maintainers are working on a fix in private."),
        "{}",
        before.body
    );
    let saved = w.people[admin].browser.post(
        "/admin/status-texts",
        &[
            ("stage", "fixing"),
            (
                "text",
                "Our maintainers are on it; expect news within a week.",
            ),
        ],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let after = w.people[srt].browser.get(&page);
    assert!(
        after
            .body
            .contains("Our maintainers are on it; expect news within a week."),
        "{}",
        after.body
    );
    // Not a stage: refused with the reason.
    let bad = w.people[admin].browser.post(
        "/admin/status-texts",
        &[("stage", "almost done"), ("text", "x")],
    );
    assert_eq!(bad.status, 422);

    // Every opening of the case is logged; the SRT sees who looked, others do not.
    w.people[fixer].browser.get(&page);
    let maintainer_view = w.people[maintainer].browser.get(&page);
    assert_eq!(maintainer_view.status, 200);
    assert!(!maintainer_view.body.contains("Recent views"));
    let audit = w.people[srt].browser.get(&page);
    assert!(audit.body.contains("Recent views"), "{}", audit.body);
    assert!(audit.body.contains("fixer (fixer)</li>"), "{}", audit.body);
    assert!(
        audit.body.contains("numpy-dev (project maintainer)</li>"),
        "{}",
        audit.body
    );
}

#[test]
fn rejections_reach_the_thread_link_duplicates_and_become_public_issue_text() {
    let app = TestApp::start();
    let mut w = world(&app);
    let idx = |h: &str| w.people.iter().position(|p| p.handle == h).unwrap();
    let srt = idx("srt");
    let original = new_case(&app, "TLP:AMBER");
    let post = |path: &str, body: serde_json::Value| {
        let (status, v) = app.api(&app.admin_token, "POST", path, Some(body));
        assert!(status < 300, "{path}: {v}");
        v
    };
    let mk = |title: &str| {
        let id = post(
            "/api/v1/cases",
            serde_json::json!({ "project": "numpy", "title": title, "body": "It crashes on a huge file.", "reporter_email": "rita@example.org" }),
        )["id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(
            &format!("/api/v1/cases/{id}/commands"),
            serde_json::json!({ "command": "acknowledge", "message": "Thanks" }),
        );
        id
    };
    let dup = mk("Same overflow again");
    let page = format!("/cases/{dup}");
    let r = w.people[srt].browser.post(
        &format!("{page}/commands/reject"),
        &[
            ("reason", "duplicate"),
            ("duplicate_of", &original),
            ("explanation", "Already reported; fixed soon."),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let shown = w.people[srt].browser.get(&page);
    assert!(
        shown
            .body
            .contains(&format!("<a href=\"/cases/{original}\">{original}</a>")),
        "{}",
        shown.body
    );
    assert!(
        shown
            .body
            .contains("duplicate: Already reported; fixed soon."),
        "{}",
        shown.body
    );

    // A report that is not a vulnerability becomes text for a public issue,
    // without the reporter's address.
    let not_vuln = mk("Crash on a huge file");
    let r = w.people[srt].browser.post(
        &format!("/cases/{not_vuln}/commands/reject"),
        &[
            ("reason", "not-a-vulnerability"),
            (
                "explanation",
                "A crash on a 40 GB input is a bug, not a security issue.",
            ),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let issue = w.people[srt]
        .browser
        .get(&format!("/cases/{not_vuln}/public-issue"));
    assert_eq!(issue.status, 200);
    assert!(
        issue.body.contains("Crash on a huge file") && issue.body.contains("not-a-vulnerability"),
        "{}",
        issue.body
    );
    assert!(
        issue.body.contains("It crashes on a huge file."),
        "{}",
        issue.body
    );
    assert!(!issue.body.contains("rita@example.org"), "{}", issue.body);
    // Rejecting without an explanation is refused with the reason, and nothing changes.
    let third = mk("Third");
    let r = w.people[srt].browser.post(
        &format!("/cases/{third}/commands/reject"),
        &[("reason", "out-of-scope"), ("explanation", " ")],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("explanation"), "{}", r.body);
}

#[test]
fn a_role_change_changes_what_a_person_sees() {
    let app = TestApp::start();
    let mut w = world(&app);
    let case = new_case(&app, "TLP:AMBER+STRICT");
    let page = format!("/cases/{case}");
    let idx = |h: &str| w.people.iter().position(|p| p.handle == h).unwrap();
    let (admin, dev) = (idx("admin"), idx("numpy-dev"));
    assert_eq!(w.people[dev].browser.get(&page).status, 404);
    let r = w.people[admin]
        .browser
        .post("/admin/people/numpy-dev/role", &[("role", "srt")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(w.people[dev].browser.get(&page).status, 200);
    // An admin cannot demote themselves (someone must keep the keys).
    let r = w.people[admin]
        .browser
        .post("/admin/people/admin/role", &[("role", "maintainer")]);
    assert_eq!(r.status, 422, "{}", r.body);
    let policy = w.people[admin].browser.get("/admin/policy");
    assert!(
        policy.body.contains("within</dt><dd>24 hours"),
        "{}",
        policy.body
    );
}

#[test]
fn the_status_matrix_names_affected_projects_and_opens_the_case_to_their_maintainers() {
    let app = TestApp::start();
    let mut w = world(&app);
    let case = new_case(&app, "TLP:AMBER");
    let page = format!("/cases/{case}");
    let idx = |h: &str| w.people.iter().position(|p| p.handle == h).unwrap();
    let (srt, scipy_dev) = (idx("srt"), idx("scipy-dev"));
    assert_eq!(w.people[scipy_dev].browser.get(&page).status, 404);
    let triage = |w: &mut crate::routes::World<'_>, scipy: &str| {
        w.people[srt].browser.post(
            &format!("{page}/commands/triage"),
            &[
                ("reproduced", "yes"),
                ("notes", "scipy vendors the same parser"),
                ("affected", "PyPI:numpy:0..2.0.0"),
                ("tlp", "TLP:AMBER"),
                ("matrix", "numpy:affected"),
                ("matrix", scipy),
            ],
        )
    };
    // Checked and not affected: scipy's maintainers stay out.
    assert_eq!(triage(&mut w, "scipy:not-affected").status, 303);
    assert_eq!(w.people[scipy_dev].browser.get(&page).status, 404);
    // Affected: under AMBER its maintainers see the case.
    assert_eq!(triage(&mut w, "scipy:affected").status, 303);
    let seen = w.people[scipy_dev].browser.get(&page);
    assert_eq!(seen.status, 200);
    assert!(
        seen.body.contains("<td>scipy</td><td>affected</td>"),
        "{}",
        seen.body
    );
    // A malformed row is refused with the reason.
    let bad = triage(&mut w, "scipy:broken");
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("is not PROJECT:STATUS"), "{}", bad.body);
}

#[test]
fn a_report_like_an_open_case_shows_it_as_a_possible_duplicate() {
    let app = TestApp::start();
    let mut w = world(&app);
    let srt = w.people.iter().position(|p| p.handle == "srt").unwrap();
    // The world's cases are all titled "overflow under TLP:…"; these two
    // share a distinctive title.
    let report = |title: &str| {
        let (status, body) = app.api(
            &app.admin_token,
            "POST",
            "/api/v1/cases",
            Some(serde_json::json!({ "project": "numpy", "title": title, "body": "same" })),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    };
    let first = report("Heap corruption in loadtxt converters");
    let second = report("Heap corruption in loadtxt converters, again");
    let (_, unrelated) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(serde_json::json!({ "project": "scipy", "title": "XSS in the docs search", "body": "x" })),
    );
    let unrelated = unrelated["id"].as_str().unwrap().to_owned();
    // The same report filed against another project is found too (the
    // term index is not per project), ranked after the closer match.
    let (_, elsewhere) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(serde_json::json!({ "project": "scipy", "title": "loadtxt converters: heap corruption on Windows", "body": "x" })),
    );
    let elsewhere = elsewhere["id"].as_str().unwrap().to_owned();
    // Hints are worked out after the reports are stored, not when a case
    // is opened: by the time the page is asked for, none is due (the pump
    // or the server's own scheduler, whichever came first, worked them).
    app.pump();
    let (_, metrics) = app.api(&app.admin_token, "GET", "/metrics", None);
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.lines().any(|l| l == "embargo_hints_due 0"),
        "{metrics}"
    );
    let page = w.people[srt].browser.get(&format!("/cases/{second}"));
    let hints = crate::app::between(&page.body, "Possible duplicates", "</section>");
    assert!(
        hints.contains(&format!("<a href=\"/cases/{first}\">{first}</a>")),
        "{hints}"
    );
    assert!(hints.contains(&elsewhere), "across projects: {hints}");
    assert!(
        hints.find(&first) < hints.find(&elsewhere),
        "the closer match first: {hints}"
    );
    assert!(!hints.contains(&unrelated), "{hints}");
    // The reject form offers it as the duplicate.
    assert!(
        page.body.contains(&format!(
            "name=\"duplicate_of\" maxlength=\"20\" value=\"{first}\""
        )),
        "{}",
        page.body
    );
    // Nothing like the unrelated report is open.
    let other = w.people[srt].browser.get(&format!("/cases/{unrelated}"));
    assert!(!other.body.contains("Possible duplicates"));
}
