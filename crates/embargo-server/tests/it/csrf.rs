//! Every state-changing form route refuses a request without the right CSRF
//! token, and nothing changes. The list comes from the route table, so a new
//! form route is covered as soon as it is added there.

use crate::{
    app::TestApp,
    routes::{ROUTES, new_case, world},
};

#[test]
fn every_form_route_rejects_a_missing_or_foreign_csrf_token() {
    let app = TestApp::start();
    let mut w = world(&app);
    let case = new_case(&app, "TLP:AMBER");
    let (admin, rest) = w.people.split_first_mut().unwrap();
    let other = &mut rest[0];
    let foreign = other.browser.csrf();
    let forms: Vec<&str> = ROUTES
        .iter()
        // The API takes bearer tokens, git's smart HTTP basic credentials
        // and only git's own content types: neither is a cookie form.
        .filter(|(m, p, _)| *m == "POST" && !p.starts_with("/api/") && !p.starts_with("/git/"))
        .map(|(_, p, _)| *p)
        .collect();
    assert!(forms.len() >= 8, "{forms:?}");
    let events_before = app
        .api(
            &app.admin_token,
            "GET",
            &format!("/api/v1/cases/{case}/events"),
            None,
        )
        .1;
    for template in forms {
        let path = template
            .replace("{id}", &case)
            .replace("{command}", "add_note")
            .replace("{person}", "srt")
            .replace("{token}", "inv_0000")
            .replace("{n}", "999999");
        let fields = [
            ("text", "a note"),
            ("handle", "admin"),
            ("password", "whatever it is"),
            ("name", "csrf-project"),
            ("id", "csrf-person"),
            ("email", "c@example.org"),
            ("role", "maintainer"),
        ];
        let missing = admin.browser.post_without_csrf(&path, &fields);
        assert_eq!(
            missing.status, 403,
            "{template} without a token: {}",
            missing.body
        );
        let mut with_foreign = fields.to_vec();
        with_foreign.push(("csrf", &foreign));
        let wrong = admin.browser.post_without_csrf(&path, &with_foreign);
        assert_eq!(wrong.status, 403, "{template} with another session's token");
    }
    // Nothing happened: no note, no person, no project, and still signed in.
    let events_after = app
        .api(
            &app.admin_token,
            "GET",
            &format!("/api/v1/cases/{case}/events"),
            None,
        )
        .1;
    assert_eq!(events_before, events_after);
    let people = app.api(&app.admin_token, "GET", "/api/v1/people", None).1;
    assert!(!people.to_string().contains("csrf-person"));
    let projects = app.api(&app.admin_token, "GET", "/api/v1/projects", None).1;
    assert!(!projects.to_string().contains("csrf-project"));
    assert_eq!(admin.browser.get("/").status, 200);
}

#[test]
fn the_content_security_policy_allows_no_inline_code() {
    let app = TestApp::start();
    let mut b = app.browser();
    for path in ["/login", "/", "/healthz", "/static/app.js"] {
        let r = b.get(path);
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert_eq!(r.headers["x-frame-options"], "DENY");
        let cache = &r.headers["cache-control"];
        if path.starts_with("/static/") {
            assert!(cache.to_str().unwrap().starts_with("public"));
        } else {
            assert_eq!(cache, "no-store", "{path}");
        }
    }
}
