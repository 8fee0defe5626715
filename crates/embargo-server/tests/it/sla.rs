//! The 24-hour promise kept by the scheduler: with the fake clock, a report
//! received at T gets its warnings at 50 % and 90 % of the window and an
//! escalation just after T + 24 h, each mailed exactly once to the SRT at a
//! real local mail system, also when the server is killed and restarted
//! between them. The mails carry the case id and a link, never the report.

use serde_json::json;

use crate::{app::TestApp, mailserver::MailServer};

const TITLE: &str = "Remote code execution through pickle in the cache loader";

fn report(app: &TestApp, title: &str) -> String {
    let (status, case) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(json!({ "project": "numpy", "title": title, "body": "Steps: load a crafted cache file." })),
    );
    assert_eq!(status, 201, "{case}");
    case["id"].as_str().unwrap().to_owned()
}

/// The subjects of the first `count` messages in `user`'s mailbox, sorted.
pub(crate) fn subjects(mail: &MailServer, user: &str, count: usize) -> Vec<String> {
    let mut out: Vec<String> = mail
        .mailbox(user, count)
        .iter()
        .map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn warnings_and_the_escalation_arrive_once_each_across_restarts() {
    let mail = MailServer::start();
    let mut app = TestApp::start_with(&mail.smtp_config());
    app.person("sam", "srt"); // sam@example.org, a signed-up SRT member
    let case = report(&app, TITLE); // received now, due 24 hours later

    app.advance(12 * 3600); // half the window
    let got = subjects(&mail, "sam@example.org", 1);
    let (_, view) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case}"),
        None,
    );
    let due = view["ack_due"].as_str().unwrap();
    assert_eq!(got, [format!("[{case}] Acknowledgement due at {due}")]);

    app.restart();
    app.advance(9 * 3600 + 36 * 60); // 90 %
    let got = subjects(&mail, "sam@example.org", 2);
    assert_eq!(got.len(), 2, "{got:?}");

    app.restart();
    app.advance(2 * 3600 + 24 * 60 + 1); // one second past the deadline
    let got = subjects(&mail, "sam@example.org", 3);
    assert!(
        got.contains(&format!("[{case}] Acknowledgement overdue")),
        "{got:?}"
    );

    // Later, and after another restart, nothing is sent again. A second
    // report's first warning is the marker: by the time it arrives, any
    // repeat of the first case's notices would have gone out before it.
    app.restart();
    app.advance(3600);
    let other = report(&app, "Second report");
    app.advance(12 * 3600);
    let got = subjects(&mail, "sam@example.org", 4);
    assert!(
        got.iter().any(|s| s.starts_with(&format!("[{other}]"))),
        "{got:?}"
    );
    let first: Vec<_> = got
        .iter()
        .filter(|s| s.starts_with(&format!("[{case}]")))
        .collect();
    assert_eq!(first.len(), 3, "each notice once: {got:?}");

    // No report text in any of them; each names the case and links to it.
    for m in mail.mailbox("sam@example.org", 4) {
        assert!(!m.contains(TITLE) && !m.contains("crafted cache"), "{m}");
        assert!(m.contains("/cases/EMB-"), "{m}");
    }
    // Every attempt is recorded on the case.
    let (mut srt, _) = app.person("ann", "srt");
    let page = srt.get(&format!("/cases/{case}"));
    assert!(
        page.body.contains("ack-escalation:"),
        "the case shows its deliveries: {}",
        page.body
    );
}

#[test]
fn a_failing_mail_server_is_retried_with_backoff_and_every_attempt_is_recorded() {
    // Nothing listens on this port: every send fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::start_with(&format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {closed}\nsecurity = \"none\"\ntimeout_seconds = 2\n"
    ));
    let (mut srt, _) = app.person("sam", "srt");
    let (status, case) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(json!({ "project": "p", "title": "t", "body": "b", "reporter_email": "lin@example.net" })),
    );
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap();
    let attempts = |srt: &mut crate::app::Browser<'_>, n: usize| -> Vec<String> {
        for _ in 0..300 {
            let page = srt.get(&format!("/cases/{id}"));
            let found: Vec<String> = page
                .body
                .split("<li><time>")
                .skip(1)
                .filter(|l| l.contains(&format!("receipt:{id}")))
                .map(|l| l.split("</li>").next().unwrap_or_default().to_owned())
                .collect();
            if found.len() >= n {
                return found;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("fewer than {n} attempts recorded");
    };
    let first = attempts(&mut srt, 1);
    assert!(first[0].contains("retry"), "{first:?}");
    // The next try waits 30 s (fake clock), the one after that 60 s.
    app.advance(29);
    app.pump();
    assert_eq!(attempts(&mut srt, 1).len(), 1, "not before its time");
    app.advance(1);
    app.pump();
    let second = attempts(&mut srt, 2);
    assert!(second.iter().all(|a| a.contains("retry")), "{second:?}");
    app.advance(59);
    app.pump();
    assert_eq!(attempts(&mut srt, 2).len(), 2, "the wait doubled");
    app.advance(1);
    app.pump();
    assert_eq!(attempts(&mut srt, 3).len(), 3);
    // After the tenth attempt it is given up, and says so: an alert on the
    // case page, in the API (and so in `embargo case show`).
    let given_up = |srt: &mut crate::app::Browser<'_>| {
        let page = srt.get(&format!("/cases/{id}"));
        page.body.find("id=\"failed-jobs\"").map(|at| {
            page.body[at..]
                .split("</section>")
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    };
    assert_eq!(given_up(&mut srt), None, "still being retried");
    for _ in 0..10 {
        app.advance(3600);
        app.pump();
    }
    assert_eq!(attempts(&mut srt, 10).len(), 10);
    let alert = given_up(&mut srt).expect("an alert for the given-up receipt");
    assert!(
        alert.contains(&format!("(receipt:{id}): 10 attempts")),
        "{alert}"
    );
    let (_, view) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{id}"),
        None,
    );
    let failed = view["failed_jobs"].as_array().unwrap();
    let receipt = failed
        .iter()
        .find(|j| j["key"] == format!("receipt:{id}"))
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(receipt["attempts"], 10);
    assert!(receipt["error"].as_str().unwrap().len() > 5, "{receipt}");
}

#[test]
fn a_member_with_a_key_on_file_gets_encrypted_notices_and_digests_go_out_once_a_day() {
    let mail = MailServer::start();
    let app = TestApp::start_with(&mail.smtp_config());
    let gpg = crate::gpg::Gpg::new();
    let key = gpg.reporter(&app.intake_key(), "sam@example.org");
    let (mut sam, _) = app.person("sam", "srt");
    sam.get("/account");
    let saved = sam.post(
        "/account",
        &[("notify", "immediate"), ("openpgp_key", key.as_str())],
    );
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("id=\"key-on-file\""), "{}", saved.body);
    // A bad key is refused with the reason and the good one stays.
    let bad = sam.post(
        "/account",
        &[("notify", "immediate"), ("openpgp_key", "not a key")],
    );
    assert!(bad.body.contains("That key cannot be used"));
    assert!(bad.body.contains("id=\"key-on-file\""));
    let case = report(&app, TITLE);
    app.advance(12 * 3600);
    let m = &mail.mailbox("sam@example.org", 1)[0];
    assert!(m.contains("multipart/encrypted"), "{m}");
    assert!(
        !m.contains(TITLE) && !m.contains(&case),
        "nothing in clear: {m}"
    );
    let start = m.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = m.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
    let plain = String::from_utf8(gpg.run(
        &["--decrypt"],
        m[start..end].replace("\r\n", "\n").as_bytes(),
    ))
    .unwrap();
    assert!(
        plain.contains(&format!("[{case}] Acknowledgement due at")),
        "{plain}"
    );
    assert!(
        plain.contains(TITLE),
        "encrypted mail may say what the case is about: {plain}"
    );

    // Dee wants a digest instead: past 08:00 UTC, today's goes out once,
    // naming the waiting case but not what it is about.
    let (mut dee, _) = app.person("dee", "srt");
    dee.get("/account");
    assert_eq!(dee.post("/account", &[("notify", "digest")]).status, 200);
    let digests = mail.mailbox("dee@example.org", 1);
    assert!(
        digests[0].contains("embargo digest for 2026-03-02"),
        "{}",
        digests[0]
    );
    assert!(digests[0].contains(&case) && !digests[0].contains(TITLE));
    // The next day at 08:00, the next one; today's is not repeated.
    app.advance(11 * 3600);
    let digests = mail.mailbox("dee@example.org", 2);
    assert!(
        digests
            .iter()
            .any(|d| d.contains("embargo digest for 2026-03-03")),
        "{digests:?}"
    );
    assert_eq!(
        digests
            .iter()
            .filter(|d| d.contains("embargo digest for 2026-03-02"))
            .count(),
        1
    );
    // Dee gets no immediate notices, only digests.
    assert!(digests.iter().all(|d| d.contains("embargo digest for")));
}

#[test]
fn after_the_answer_the_triage_clock_runs_and_escalates_when_it_passes() {
    let mail = MailServer::start();
    let app = TestApp::start_with(&mail.smtp_config());
    app.person("sam", "srt");
    let case = report(&app, TITLE);
    let (s, b) = app.api(
        &app.admin_token,
        "POST",
        &format!("/api/v1/cases/{case}/commands"),
        Some(json!({"command": "acknowledge", "message": "Thanks"})),
    );
    assert_eq!(s, 200, "{b}");
    // Seven days (the default triage window) and a second.
    app.advance(7 * 86_400 + 1);
    let got = subjects(&mail, "sam@example.org", 3);
    let (_, view) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case}"),
        None,
    );
    assert_eq!(view["stage"], "acknowledged");
    assert_eq!(
        got.iter()
            .filter(|s| s.starts_with(&format!("[{case}] Triage due at")))
            .count(),
        2,
        "{got:?}"
    );
    assert!(got.contains(&format!("[{case}] Triage overdue")), "{got:?}");
    assert!(
        !got.iter().any(|s| s.contains("Acknowledgement")),
        "answered in time: {got:?}"
    );
}

#[test]
fn a_project_with_its_own_answer_window_shows_it_everywhere() {
    let app = TestApp::start_with("[sla.projects.numpy]\nacknowledge_hours = 12\n");
    let new = |project: &str| {
        let (s, c) = app.api(
            &app.admin_token,
            "POST",
            "/api/v1/cases",
            Some(json!({ "project": project, "title": "t", "body": "b" })),
        );
        assert_eq!(s, 201, "{c}");
        c
    };
    assert_eq!(new("numpy")["ack_due"], "2026-03-02T21:00:00Z");
    assert_eq!(new("scipy")["ack_due"], "2026-03-03T09:00:00Z");
}
