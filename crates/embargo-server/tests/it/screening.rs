//! The screening queue: reports that lack what the policy asks, match the
//! "not a vulnerability" list, or come from a sender with earlier
//! rejections wait beside the inbox with the reasons; a bulk canned answer
//! reaches each reporter at a real mail system (OpenSMTPD into Dovecot); a
//! sender's history shows on the case.

use serde_json::{Value, json};

use crate::{
    app::{TestApp, between},
    mail::{deliver, mail as raw_mail},
    mailserver::MailServer,
};

fn mail(from: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    raw_mail(from, subject, id, "", body)
}

fn case_of(outcome: &Value) -> String {
    assert_eq!(outcome["outcome"], "case", "{outcome}");
    outcome["case_id"].as_str().unwrap().to_owned()
}

fn case(app: &TestApp, id: &str) -> Value {
    let (status, body) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{id}"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn held(app: &TestApp) -> Vec<String> {
    let (status, body) = app.api(
        &app.admin_token,
        "GET",
        "/api/v1/cases?stage=screening",
        None,
    );
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

const POLICY: &str = "[screening]\nrequire_reproduction = true\n\
    [[screening.not_vulnerabilities]]\ntitle = \"Loading untrusted pickles\"\n\
    match = [\"pickle\", \"untrusted\"]\n\
    why = \"allow_pickle=True runs code by design.\"\n";

#[test]
fn held_reports_wait_beside_the_inbox_and_one_bulk_answer_reaches_each_reporter() {
    let mail_system = MailServer::start();
    let app = TestApp::start_with(&format!("{POLICY}{}", mail_system.smtp_config()));
    // Nothing yet: the inbox says how to begin.
    let (mut sam, _) = app.person("sam", "srt");
    assert!(sam.get("/").body.contains("id=\"first-steps\""));

    // The form says what a report needs before anyone writes.
    let mut reporter = app.browser();
    let form = reporter.get("/report");
    assert!(
        form.body.contains("Loading untrusted pickles"),
        "{}",
        form.body
    );
    assert!(form.body.contains("allow_pickle=True runs code by design."));
    assert!(form.body.contains("steps to reproduce it with code"));

    // A form report without code, a mail matching the list, a real one.
    let got = reporter.post_report(
        &[
            ("title", "Your site is insecure"),
            ("description", "I found a critical vulnerability. Pay me."),
            ("steps", "Trust me."),
            ("email", "ana@example.net"),
        ],
        &[],
    );
    assert_eq!(got.status, 201, "{}", got.body);
    let ana = between(&got.body, "<span id=\"case-id\">", "<").to_owned();
    let ben = case_of(&deliver(
        &app,
        mail(
            "ben@example.net",
            "RCE in load",
            "ben-1@example.net",
            "Untrusted data runs code:\n\n```\nnumpy.load(f, allow_pickle=True)  # a pickle\n```",
        ),
    ));
    // Only held reports: not an empty organisation.
    let inbox = sam.get("/");
    assert!(!inbox.body.contains("id=\"first-steps\""), "{}", inbox.body);
    assert!(inbox.body.contains("2 report(s) wait in screening"));
    let cy = case_of(&deliver(
        &app,
        mail(
            "cy@example.net",
            "Heap overflow in loadtxt",
            "cy-1@example.net",
            "Reproduce:\n\n```python\nnumpy.loadtxt('x', max_rows=-1)\n```",
        ),
    ));
    let mut queue = held(&app);
    queue.sort();
    let mut want = vec![ana.clone(), ben.clone()];
    want.sort();
    assert_eq!(queue, want, "the two held, the real one not");
    assert_eq!(case(&app, &cy)["stage"], "new");
    let a = case(&app, &ana);
    assert_eq!(a["stage"], "screening");
    assert!(
        a["screening"][0]
            .as_str()
            .unwrap()
            .starts_with("no reproduction"),
        "{a}"
    );
    assert_eq!(
        case(&app, &ben)["screening"],
        json!([
            "matches the published \u{201c}not a vulnerability\u{201d} entry: Loading untrusted pickles"
        ])
    );

    // The reporter's page says "received", never why it was held.
    let status_href = between(&got.body, "id=\"status-link\" href=\"", "\"").replace("&#x2f;", "/");
    let path = status_href
        .split_once("/report/")
        .map(|(_, p)| format!("/report/{p}"))
        .unwrap();
    let status = reporter.get(&path);
    assert_eq!(status.status, 200);
    assert!(
        status.body.contains("We have received your report"),
        "{}",
        status.body
    );
    assert!(!status.body.contains("no reproduction"));
    assert!(!status.body.contains("screening"));

    // The SRT's inbox leaves the held ones out and points to them.
    let inbox = sam.get("/");
    assert!(
        inbox.body.contains(&format!("/cases/{cy}\"")),
        "{}",
        inbox.body
    );
    assert!(!inbox.body.contains(&format!("/cases/{ana}\"")));
    assert!(inbox.body.contains("2 report(s) wait in screening"));
    let page = sam.get("/screening");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("value=\"{ana}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Loading untrusted pickles"));
    assert!(!page.body.contains(&format!("value=\"{cy}\"")));

    // One canned answer from Ana's case page, which it returns to; the
    // same answer to Ben from the queue. Each reporter gets it, both leave
    // the queue.
    let page = sam.get(&format!("/cases/{ana}"));
    assert!(
        page.body.contains("name=\"back\" value=\"case\""),
        "{}",
        page.body
    );
    let done = sam.post(
        "/screening",
        &[
            ("case", ana.as_str()),
            ("answer", "incomplete"),
            ("action", "reject"),
            ("back", "case"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some(format!("/cases/{ana}").as_str()));
    let done = sam.post(
        "/screening",
        &[
            ("case", ben.as_str()),
            ("answer", "incomplete"),
            ("action", "reject"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let after = sam.get(done.location().unwrap());
    assert!(
        after.body.contains("1 report(s) answered and rejected"),
        "{}",
        after.body
    );
    assert!(after.body.contains("No report waits in screening"));
    for (who, id) in [("ana@example.net", &ana), ("ben@example.net", &ben)] {
        // The receipt, then the answer (quoted-printable: soft breaks out).
        let answer = mail_system
            .mailbox(who, 2)
            .into_iter()
            .map(|m| m.replace("=\n", ""))
            .find(|m| m.contains("We cannot act on this report as it stands"))
            .unwrap_or_else(|| panic!("{who} got no canned answer"));
        assert!(
            answer.contains(&format!("Subject: [{id}] A message from the security team")),
            "{answer}"
        );
        let c = case(&app, id);
        assert_eq!(c["stage"], "rejected");
        assert_eq!(c["screening"], Value::Null, "out of the queue: {c}");
    }

    // A screening answer is an acknowledgement, and its time is a step.
    let dash = sam.get("/dashboard");
    assert!(
        dash.body.contains("No report waits in screening"),
        "{}",
        dash.body
    );
    assert!(
        dash.body.contains("<tr><td>screen</td><td>2</td>"),
        "{}",
        dash.body
    );
}

#[test]
fn a_sender_with_two_earlier_rejections_is_held_with_their_history() {
    let app = TestApp::start();
    let spam = |n: usize| {
        case_of(&deliver(
            &app,
            mail(
                "Noisy <noisy@example.net>",
                &format!("URGENT bug {n}"),
                &format!("noisy-{n}@example.net"),
                "Critical!!! Your project is hacked.",
            ),
        ))
    };
    let reject = |id: &str| {
        let (status, body) = app.api(
            &app.admin_token,
            "POST",
            &format!("/api/v1/cases/{id}/commands"),
            Some(json!({ "command": "reject", "reason": "spam", "explanation": "Noise." })),
        );
        assert_eq!(status, 200, "{body}");
    };
    let first = spam(1);
    assert_eq!(
        case(&app, &first)["stage"],
        "new",
        "the default asks nothing of content"
    );
    reject(&first);
    app.advance(60);
    let second = spam(2);
    assert_eq!(
        case(&app, &second)["stage"],
        "new",
        "one rejection is not a pattern"
    );
    reject(&second);
    let third = spam(3);
    let c = case(&app, &third);
    assert_eq!(c["stage"], "screening", "{c}");
    assert_eq!(
        c["screening"],
        json!(["the sender's earlier reports were rejected (2 of them)"])
    );
    // Another sender is not held for them.
    let other = case_of(&deliver(
        &app,
        mail("lin@example.net", "Bug", "lin-1@example.net", "x"),
    ));
    assert_eq!(case(&app, &other)["stage"], "new");

    // The history: over the API, and on the case page for the SRT.
    let (status, history) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{third}/reporter-history"),
        None,
    );
    assert_eq!(status, 200, "{history}");
    let rows: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["case"].as_str().unwrap().to_owned(),
                h["rejected"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (second.clone(), "spam".to_owned()),
            (first.clone(), "spam".to_owned())
        ]
    );
    let (mut sam, _) = app.person("sam", "srt");
    let page = sam.get(&format!("/cases/{third}"));
    assert!(
        page.body.contains("The sender's other reports"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<strong>2 rejected</strong>"));
    assert!(page.body.contains("Held for screening"));
    // A maintainer who sees nothing of these cases sees no history either.
    let (status, _) = app.api(
        &app.token_of("mo", "maintainer"),
        "GET",
        &format!("/api/v1/cases/{third}/reporter-history"),
        None,
    );
    assert_eq!(status, 404);

    // Passed to the inbox from the case page: an ordinary new report.
    let passed = sam.post(
        &format!("/cases/{third}/commands/pass_screening"),
        &[("message", "Looks real this time.")],
    );
    assert_eq!(passed.status, 303, "{}", passed.body);
    assert_eq!(case(&app, &third)["stage"], "new");
    let inbox = sam.get("/");
    assert!(
        inbox.body.contains(&format!("/cases/{third}\"")),
        "{}",
        inbox.body
    );
}

#[test]
fn an_admin_sets_a_projects_policy_in_the_browser_and_it_holds_the_next_report() {
    let app = TestApp::start();
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/projects",
        Some(json!({ "name": "numpy" })),
    );
    assert_eq!(status, 201, "{body}");
    let (mut admin, _) = app.person("ada", "admin");
    let page = admin.get("/admin/projects/numpy");
    assert!(
        page.body.contains("id=\"screening-policy\""),
        "{}",
        page.body
    );
    let saved = admin.post(
        "/admin/projects/numpy/screening",
        &[
            ("require_version", "1"),
            ("known_versions", "2.0.2\n2.1.3"),
            ("require_component", "1"),
            ("components", "numpy.load\nf2py"),
            (
                "not_vulnerabilities",
                "Slow on huge input | slow, large | Not a denial of service.",
            ),
            ("rejected_before", "2"),
        ],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    // A malformed entry is refused with the reason; nothing is lost.
    let bad = admin.post(
        "/admin/projects/numpy/screening",
        &[("not_vulnerabilities", "Only a title")],
    );
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("write `title | word, word | why`"),
        "{}",
        bad.body
    );
    let (status, policy) = app.api(
        &app.admin_token,
        "GET",
        "/api/v1/projects/numpy/screening",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(policy["components"], json!(["numpy.load", "f2py"]));
    assert_eq!(
        policy["not_vulnerabilities"][0]["match"],
        json!(["slow", "large"])
    );

    let file = |title: &str, body: &str| {
        let mut b = app.browser();
        b.get("/report");
        let got = b.post_report(
            &[
                ("project", "numpy"),
                ("title", title),
                ("description", body),
                ("steps", "-"),
            ],
            &[],
        );
        assert_eq!(got.status, 201, "{}", got.body);
        between(&got.body, "<span id=\"case-id\">", "<").to_owned()
    };
    let wrong = file("f2py crash", "In numpy 9.9.9 f2py crashes.");
    assert_eq!(
        case(&app, &wrong)["screening"],
        json!(["names version 9.9.9, which numpy never released"])
    );
    let fine = file("numpy.load crash", "In numpy 2.1.3 numpy.load crashes.");
    assert_eq!(case(&app, &fine)["stage"], "new");
    // The form now shows numpy's own policy.
    let form = app.browser().get("/report");
    assert!(form.body.contains("For numpy"), "{}", form.body);
    assert!(form.body.contains("released: 2.0.2, 2.1.3"));
    assert!(form.body.contains("Slow on huge input"));
}
