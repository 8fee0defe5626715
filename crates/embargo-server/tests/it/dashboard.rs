//! The dashboard's figures from a seeded history, against values computed
//! by hand; and Chromium renders it (charts included) with no JavaScript
//! errors.

use serde_json::json;

use crate::{
    app::TestApp,
    browser::{Driver, browser, console, wait_for_text},
};

/// A at T (numpy), acknowledged after 2 h and triaged after 5 h; B at T+1 h
/// (numpy), never answered; C at T+2 h (scipy), acknowledged 30 h later.
/// Read at T+48 h.
fn seed(app: &TestApp) -> [String; 3] {
    let t = app.admin_token.clone();
    let new = |project: &str, title: &str| {
        let (s, c) = app.api(
            &t,
            "POST",
            "/api/v1/cases",
            Some(json!({"project": project, "title": title, "body": "b"})),
        );
        assert_eq!(s, 201, "{c}");
        c["id"].as_str().unwrap().to_owned()
    };
    let run = |id: &str, cmd: serde_json::Value| {
        let (s, v) = app.api(
            &t,
            "POST",
            &format!("/api/v1/cases/{id}/commands"),
            Some(cmd),
        );
        assert_eq!(s, 200, "{v}");
    };
    let a = new("numpy", "A");
    app.advance(3600);
    let b = new("numpy", "B");
    app.advance(3600);
    let c = new("scipy", "C");
    run(&a, json!({"command": "acknowledge", "message": "ok"})); // T+2h
    app.advance(3 * 3600);
    run(
        &a,
        json!({"command": "triage", "reproduced": "yes", "notes": "n", "tlp": "TLP:AMBER"}),
    ); // T+5h
    app.advance(27 * 3600);
    run(&c, json!({"command": "acknowledge", "message": "late"})); // T+32h
    app.advance(16 * 3600); // T+48h
    [a, b, c]
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn figures_from_a_seeded_history_equal_hand_computed_values() {
    let app = TestApp::start();
    let [a, b, c] = seed(&app);
    let (mut srt, _) = app.person("sam", "srt");
    let page = srt.get("/dashboard");
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.body;
    let table = |id: &str| {
        let start = body.find(&format!("id=\"{id}\"")).unwrap();
        let end = start + body[start..].find("</table>").unwrap();
        body[start..end]
            .replace("<tr>", "\n")
            .replace("</td><td>", " | ")
            .replace("<td>", "")
            .replace("</td></tr>", "")
            .lines()
            .skip(1)
            .filter(|l| !l.contains("<th"))
            .map(|l| strip_tags(l).trim().to_owned())
            .filter(|l| l.contains(" | "))
            .collect::<Vec<_>>()
    };
    // Compliance: A in time, B breached, C late.
    assert_eq!(
        table("compliance"),
        [
            "all projects | 33% (1 of 3) | 33% (1 of 3)",
            "numpy | 50% (1 of 2) | 50% (1 of 2)",
            "scipy | 0% (0 of 1) | 0% (0 of 1)",
        ]
    );
    // Acknowledge: 2 h and 30 h; triage: 5 h; none was held for screening.
    assert_eq!(
        table("steps"),
        [
            "screen | 0 | – | – | –",
            "acknowledge | 2 | 16.0 h | 30.0 h | 30.0 h",
            "triage | 1 | 5.0 h | 5.0 h | 5.0 h",
            "fix | 0 | – | – | –",
            "disclose | 0 | – | – | –",
        ]
    );
    let stages = table("stage-table");
    assert!(
        stages.contains(&"new | 1".to_owned())
            && stages.contains(&"acknowledged | 1".to_owned())
            && stages.contains(&"triaged | 1".to_owned()),
        "{stages:?}"
    );
    // Exposure, longest first, to now (T+48 h and the 30 s of the sign-in).
    let exposure: Vec<String> = table("exposure")
        .iter()
        .map(|l| l.replace(" (not yet)", ""))
        .collect();
    assert!(
        exposure[0].starts_with(&a) && exposure[0].ends_with("2.0 d"),
        "{exposure:?}"
    );
    assert!(
        exposure[1].starts_with(&b) && exposure[1].ends_with("47.0 h"),
        "{exposure:?}"
    );
    assert!(
        exposure[2].starts_with(&c) && exposure[2].ends_with("46.0 h"),
        "{exposure:?}"
    );
    // What is due, soonest first: B's answer (overdue), C's triage (7 days
    // from its answer at T+32 h), A's fix (60 days from triage: unscored
    // counts as medium) and disclosure (90 days from the report).
    let due = &body[body.find("<ul id=\"due\">").unwrap()..];
    let due = strip_tags(&due[..due.find("</ul>").unwrap()]);
    assert_eq!(
        due,
        format!(
            "{b}: acknowledgement due 2026-03-03 10:00 UTC overdue\
             {c}: triage due 2026-03-10 17:00 UTC\
             {a}: fix due 2026-05-01 14:00 UTC\
             {a}: disclosure due 2026-05-31 09:00 UTC"
        )
    );
    // Each chart has a title and a text alternative.
    for id in ["stages", "steps", "exposure"] {
        assert!(
            body.contains(&format!("aria-labelledby=\"{id}-t {id}-d\"")),
            "{id}"
        );
        assert!(body.contains(&format!("<title id=\"{id}-t\">")));
    }
    // Not for maintainers.
    let (mut dev, _) = app.person("dev", "maintainer");
    assert_eq!(dev.get("/dashboard").status, 404);
}

#[test]
fn chromium_renders_the_dashboard_without_script_errors() {
    let app = TestApp::start();
    seed(&app);
    let (_, secret) = app.person("sam", "srt");
    let driver = Driver::start();
    app.advance(30);
    app.rt.block_on(async {
        let c = browser(&driver, true).await;
        crate::browser::sign_in(&app, &c, "sam", &secret).await;
        c.goto(&format!("{}/dashboard", app.url)).await.unwrap();
        let text = wait_for_text(&c, "Exposure window").await;
        assert!(text.contains("The 24-hour promise"));
        let svgs = c
            .find_all(fantoccini::Locator::Css("svg.chart"))
            .await
            .unwrap();
        assert_eq!(svgs.len(), 3);
        let errors: Vec<_> = console(&driver, &c)
            .await
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        c.close().await.unwrap();
    });
}

/// A new numpy report titled `title`, by the API; its id.
fn numpy_case(app: &TestApp, title: &str) -> String {
    let (s, c) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(json!({"project": "numpy", "title": title, "body": "b"})),
    );
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

fn acknowledge(app: &TestApp, id: &str) {
    let (s, v) = app.api(
        &app.admin_token,
        "POST",
        &format!("/api/v1/cases/{id}/commands"),
        Some(json!({"command": "acknowledge", "message": "ok"})),
    );
    assert_eq!(s, 200, "{v}");
}

/// The figures cover the reports of the last twelve months (the page reads
/// that window of the read model's aggregates, not the archive); the stage
/// totals and the running clocks cover every case.
#[test]
fn the_figures_cover_the_last_year_and_the_totals_every_case() {
    let app = TestApp::start();
    let new = |title: &str| numpy_case(&app, title);
    let old = new("old");
    app.advance(3600);
    acknowledge(&app, &old);
    app.advance(400 * 86_400);
    let recent = new("recent");
    let (mut srt, _) = app.person("sam", "srt");
    let body = srt.get("/dashboard").body;
    let month = embargo_core::stats::month_of(app.now()) - 11;
    let start = embargo_core::stats::month_start(month).strftime("%-d %B %Y");
    assert!(
        body.contains(&format!(
            "Reports received since {start} (this month and the eleven before)."
        )),
        "the window is named"
    );
    let steps = &body[body.find("id=\"steps\"").unwrap()..];
    let steps = strip_tags(&steps[..steps.find("</table>").unwrap()].replace("</td><td>", " | "));
    assert!(
        steps.contains("acknowledge | 0 |"),
        "the old answer is outside: {steps}"
    );
    let exposure = &body[body.find("id=\"exposure\"").unwrap()..];
    let exposure = &exposure[..exposure.find("</table>").unwrap()];
    assert!(
        exposure.contains(&recent) && !exposure.contains(&old),
        "{exposure}"
    );
    let stages = &body[body.find("id=\"stage-table\"").unwrap()..];
    let stages =
        strip_tags(&stages[..stages.find("</table>").unwrap()].replace("</td><td>", " | "));
    assert!(
        stages.contains("new | 1") && stages.contains("acknowledged | 1"),
        "{stages}"
    );
    // The old case's triage clock still runs and is listed.
    let due = &body[body.find("<ul id=\"due\">").unwrap()..];
    assert!(due[..due.find("</ul>").unwrap()].contains(&old), "{due}");
}

/// The compliance report covers the reports of the period asked for (a
/// year unless told), on the page, in the API and by the same figures.
#[test]
fn the_compliance_report_covers_the_period_asked_for() {
    let app = TestApp::start();
    let t = app.admin_token.clone();
    let new = |title: &str| numpy_case(&app, title);
    let ack = |id: &str| acknowledge(&app, id);
    let late = new("late");
    app.advance(30 * 3600);
    ack(&late);
    app.advance(100 * 86_400);
    let prompt = new("prompt");
    app.advance(3600);
    ack(&prompt);
    let ack_line = |query: &str| {
        let (status, checks) = app.api(&t, "GET", &format!("/api/v1/compliance{query}"), None);
        assert_eq!(status, 200, "{checks}");
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["check"]
                    .as_str()
                    .unwrap()
                    .starts_with("every report is acknowledged")
            })
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(ack_line(""), format!("50% of 2 in time; late: {late}"));
    assert_eq!(ack_line("?days=30"), "100% of 1 in time");
    assert_eq!(
        ack_line("?project=numpy&days=365"),
        format!("50% of 2 in time; late: {late}")
    );
    let (status, _) = app.api(&t, "GET", "/api/v1/compliance?days=0", None);
    assert_eq!(status, 422);
    let (mut srt, _) = app.person("sam", "srt");
    let page = srt.get("/compliance?days=30");
    assert!(
        page.body
            .contains("Over the reports received in the last 30 days.")
    );
    assert!(page.body.contains("100% of 1 in time") && !page.body.contains(&late));
}
