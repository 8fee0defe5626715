//! Two servers of one deployment, as behind a load balancer: one data
//! directory and one database (the SQLite file in the suite's first run,
//! one PostgreSQL database in its PostgreSQL run), requests spread over
//! both. What one stores the other serves at once; one message delivered
//! to both at once makes one case; every notice reaches the mail system
//! once, whichever server's scheduler holds the lease; a case one server
//! has folded and kept is served as the other changed it.

use serde_json::json;

use crate::{app::TestApp, mail::mail, mailserver::MailServer, sla::subjects};

#[test]
fn two_servers_on_one_database_serve_one_deployment() {
    let mail_system = MailServer::start();
    let app = TestApp::start_with(&mail_system.smtp_config());
    let second = app.second_server();
    app.person("sam", "srt");
    let token = app.admin_token.clone();

    // A case made on one server is served by the other at once.
    let (status, made) = app.api(
        &token,
        "POST",
        "/api/v1/cases",
        Some(json!({ "project": "numpy", "title": "Overflow in the loader", "body": "Steps: load it." })),
    );
    assert_eq!(status, 201, "{made}");
    let first = made["id"].as_str().unwrap().to_owned();
    let (status, seen) = app.api_at(
        &second,
        &token,
        "GET",
        &format!("/api/v1/cases/{first}"),
        None,
    );
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["title"], "Overflow in the loader");

    // The same email delivered twenty times at once, to both servers in
    // turn (two mail exchangers retrying): one case.
    let raw = mail(
        "ada@example.net",
        "Heap overflow in the tokenizer",
        "twice.ada@example.net",
        "",
        "Steps: feed it the attached file.",
    );
    let outcomes: Vec<(u16, serde_json::Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let base = if i % 2 == 0 {
                    app.url.clone()
                } else {
                    second.clone()
                };
                let raw = raw.clone();
                let (app, token) = (&app, &token);
                s.spawn(move || {
                    app.api_raw_at(&base, token, "/api/v1/intake/mail", "message/rfc822", raw)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut cases: Vec<&str> = outcomes
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["case_id"].as_str().unwrap()
        })
        .collect();
    let made = outcomes
        .iter()
        .filter(|(_, body)| body["outcome"] != "already_received")
        .count();
    assert_eq!(made, 1, "one delivery makes the case: {outcomes:?}");
    cases.dedup();
    assert_eq!(
        cases.len(),
        1,
        "every delivery names the one case: {outcomes:?}"
    );
    let mailed = cases[0].to_owned();
    for base in [&app.url, &second] {
        let (status, list) = app.api_at(base, &token, "GET", "/api/v1/cases", None);
        assert_eq!(status, 200, "{list}");
        let titled = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["title"] == "Heap overflow in the tokenizer")
            .count();
        assert_eq!(titled, 1, "{list}");
    }

    // Half the acknowledgement window: each case's warning, once, though
    // both servers run their schedulers.
    app.advance(12 * 3600);
    let got = subjects(&mail_system, "sam@example.org", 2);
    assert_eq!(got.len(), 2, "{got:?}");
    for case in [&first, &mailed] {
        assert_eq!(
            got.iter()
                .filter(|s| s.starts_with(&format!("[{case}]")))
                .count(),
            1,
            "{got:?}"
        );
    }
    // Past the deadline: each case's escalation, once.
    app.advance(12 * 3600 + 1);
    let got = subjects(&mail_system, "sam@example.org", 6);
    assert_eq!(
        got.iter().filter(|s| s.contains("overdue")).count(),
        2,
        "{got:?}"
    );
    // A later report's first warning is the marker: by the time it has
    // arrived, a repeat of any earlier notice would have arrived before it.
    let (status, later) = app.api_at(
        &second,
        &token,
        "POST",
        "/api/v1/cases",
        Some(json!({ "project": "numpy", "title": "Later", "body": "Steps: none." })),
    );
    assert_eq!(status, 201, "{later}");
    let later = later["id"].as_str().unwrap().to_owned();
    app.advance(12 * 3600);
    let got = subjects(&mail_system, "sam@example.org", 7);
    assert!(
        got.iter().any(|s| s.starts_with(&format!("[{later}]"))),
        "{got:?}"
    );
    for case in [&first, &mailed] {
        assert_eq!(
            got.iter()
                .filter(|s| s.starts_with(&format!("[{case}]")))
                .count(),
            3,
            "each notice once: {got:?}"
        );
    }

    // The second server folded the first case when it served it; the
    // first changes it; the second serves the change, not what it kept.
    let (status, before) = app.api_at(
        &second,
        &token,
        "GET",
        &format!("/api/v1/cases/{first}"),
        None,
    );
    assert_eq!(status, 200, "{before}");
    assert_ne!(before["stage"], "acknowledged", "{before}");
    let (status, done) = app.api(
        &token,
        "POST",
        &format!("/api/v1/cases/{first}/commands"),
        Some(json!({"command": "acknowledge", "message": "Thanks, we are on it."})),
    );
    assert_eq!(status, 200, "{done}");
    let (status, after) = app.api_at(
        &second,
        &token,
        "GET",
        &format!("/api/v1/cases/{first}"),
        None,
    );
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["stage"], "acknowledged", "{after}");
}

/// One server claims the reporter's receipt and dies in the middle of
/// sending it (its mail server stalled; then kill -9). The job stays
/// claimed under that server's lease; once the lease has run out (the
/// manual clock moved past it), the other server sends it, and not before:
/// the reporter
/// gets it once, and the case stays as it was acknowledged to the client.
#[test]
fn a_job_whose_server_died_under_its_lease_is_finished_by_the_other_once() {
    let mail_system = MailServer::start();
    let (port, connections) = crate::mailserver::relay(mail_system.smtp_port, None);
    let mut app = TestApp::start_with(&format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_seconds = 120\n"
    ));
    let token = app.admin_token.clone();
    let (status, made) = app.api(
        &token,
        "POST",
        "/api/v1/cases",
        Some(
            json!({ "project": "numpy", "title": "Use after free", "body": "Steps: free it twice.",
                     "reporter_email": "lin@example.net" }),
        ),
    );
    assert_eq!(status, 201, "{made}");
    let case = made["id"].as_str().unwrap().to_owned();
    // The first server's worker has claimed the receipt and is stuck
    // sending it.
    let connected = || connections.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..600 {
        if connected() > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(connected(), 1, "the receipt was claimed");
    let (second, second_pump) = app.second_server_and_pump();
    app.kill();
    // While the dead server's lease runs, the job is not due on the other:
    // its pump does every due job there and finds none.
    app.advance(59);
    assert_eq!(app.rt.block_on(second_pump.run()).unwrap().jobs, 0);
    assert_eq!(connected(), 1, "no second server sent it under the lease");
    // Past the lease: the second sends it.
    app.advance(2);
    let inbox = mail_system.mailbox("lin@example.net", 1);
    assert!(
        inbox[0].contains(&format!("Subject: [{case}] Report received")),
        "{}",
        inbox[0]
    );
    // Once: a later report's receipt is the marker; by the time it has
    // arrived, a second copy of the first would have arrived before it.
    let (status, later) = app.api_at(
        &second,
        &token,
        "POST",
        "/api/v1/cases",
        Some(
            json!({ "project": "numpy", "title": "Later", "body": "Steps.",
                     "reporter_email": "ada@example.net" }),
        ),
    );
    assert_eq!(status, 201, "{later}");
    mail_system.mailbox("ada@example.net", 1);
    assert_eq!(
        mail_system.mailbox("lin@example.net", 1).len(),
        1,
        "the receipt once"
    );
    // Nothing acknowledged was lost.
    let (status, view) = app.api_at(
        &second,
        &token,
        "GET",
        &format!("/api/v1/cases/{case}"),
        None,
    );
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["title"], "Use after free");
}
