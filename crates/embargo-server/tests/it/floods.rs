//! Floods from many places: many addresses of one network on the form
//! count together (loopback: all of 127.0.0.0/8 reaches the server, each
//! from its own source address), and a deployment-wide budget holds new
//! senders past it while known reporters still file. Nothing is dropped:
//! the form gives the text back, mail waits in quarantine.

use serde_json::Value;

use crate::{app::TestApp, mail::deliver};

fn form(title: &str) -> Vec<(&'static str, String)> {
    vec![
        ("title", title.to_owned()),
        ("description", "Crash when parsing.".to_owned()),
        ("steps", "run it".to_owned()),
    ]
}

#[test]
fn many_addresses_of_one_network_share_the_forms_allowance() {
    let app =
        TestApp::start_with("[intake]\nsubmissions_per_address = 2\nsubmissions_per_network = 5\n");
    let ip = |c: u8, d: u8| std::net::IpAddr::from([127, 0, c, d]);
    let mut statuses = Vec::new();
    let mut last = String::new();
    for d in 1..=8 {
        let mut b = app.browser_from(ip(9, d));
        b.get("/report");
        let fields = form(&format!("Report from .{d}"));
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let got = b.post_report(&fields, &[]);
        statuses.push(got.status);
        last = got.body;
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429, 429, 429]);
    // The text comes back with the reason: nothing typed is lost.
    assert!(
        last.contains("Too many reports from your network"),
        "{last}"
    );
    assert!(last.contains("Report from .8"), "{last}");
    // Another network files at once.
    let mut other = app.browser_from(ip(10, 1));
    other.get("/report");
    let fields = form("Real report");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let got = other.post_report(&fields, &[]);
    assert_eq!(got.status, 201, "{}", got.body);
    // After the window, the network may report again.
    app.advance(3601);
    let mut again = app.browser_from(ip(9, 200));
    again.get("/report");
    assert_eq!(again.post_report(&fields, &[]).status, 201);
    let (_, cases) = app.api(&app.admin_token, "GET", "/api/v1/cases", None);
    assert_eq!(
        cases.as_array().unwrap().len(),
        7,
        "5 + 1 + 1 filed: {cases}"
    );
}

fn mail(from: &str, id: &str) -> Vec<u8> {
    crate::mail::mail(from, "Crash", id, "", "It crashes.")
}

#[test]
fn past_the_intake_budget_new_senders_wait_and_known_reporters_file() {
    let app = TestApp::start_with(
        "[intake]\nreports_per_minute = 3\nmail_per_sender = 0\nmail_per_domain = 0\n",
    );
    // A reporter whose earlier report stood.
    let first = deliver(&app, mail("lin@example.net", "lin-1@example.net"));
    assert_eq!(first["outcome"], "case", "{first}");
    app.advance(61);
    let outcomes: Vec<Value> = (0..5)
        .map(|n| {
            deliver(
                &app,
                mail(&format!("bot{n}@flood.example"), &format!("bot-{n}@x")),
            )
        })
        .collect();
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["case", "case", "case", "quarantined", "quarantined"]
    );
    assert!(
        outcomes[3]["reason"]
            .as_str()
            .unwrap()
            .starts_with("over the intake budget: more than 3 new reports a minute"),
        "{}",
        outcomes[3]
    );
    // Over the budget, the known reporter still files at once.
    let known = deliver(&app, mail("lin@example.net", "lin-2@example.net"));
    assert_eq!(known["outcome"], "case", "{known}");
    // The form asks a new sender to wait, with the text given back.
    let mut b = app.browser();
    b.get("/report");
    let got = b.post_report(
        &[
            ("title", "Form flood"),
            ("description", "x"),
            ("steps", "y"),
        ],
        &[],
    );
    assert_eq!(got.status, 429, "{}", got.body);
    assert!(
        got.body.contains("unusual number of reports"),
        "{}",
        got.body
    );
    assert!(got.body.contains("Form flood"));
    assert!(got.headers.contains_key("retry-after"));
    // Held, not lost: the SRT files one; the next minute has room again.
    let held = outcomes[3]["quarantine_id"].as_i64().unwrap();
    let (mut srt, _) = app.person("sue", "srt");
    let filed = srt.post(&format!("/quarantine/{held}/file"), &[]);
    assert_eq!(filed.status, 303, "{}", filed.body);
    let case = filed
        .location()
        .unwrap()
        .trim_start_matches("/cases/")
        .to_owned();
    let (s, c) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case}"),
        None,
    );
    assert_eq!(s, 200, "{c}");
    app.advance(61);
    let later = deliver(&app, mail("bot9@flood.example", "bot-9@x"));
    assert_eq!(later["outcome"], "case", "{later}");
}
