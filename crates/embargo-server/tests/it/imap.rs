//! The whole email path with real parts: a reporter's GnuPG encrypts a
//! report, it is sent by SMTP to OpenSMTPD, delivered into Dovecot, picked
//! up by embargo's IMAP poller, decrypted and shown in the inbox with its
//! clock. Stopping Dovecot makes the channel unhealthy and raises an alert;
//! a channel nobody checks turns late under the fake clock. The canary goes
//! out through SMTP and comes back through IMAP.

use serde_json::json;

use crate::{
    app::TestApp,
    gpg::Gpg,
    mailserver::{MailServer, PASSWORD},
};

fn add_mailbox(app: &TestApp, mail: &MailServer, canary: bool) {
    let mut settings = json!({
        "host": "127.0.0.1", "port": mail.imap_port, "tls": false,
        "username": "security@example.org", "password": PASSWORD,
    });
    if canary {
        settings["canary_address"] = json!("security@example.org");
        settings["canary_every_seconds"] = json!(3600);
        settings["canary_timeout_seconds"] = json!(600);
    }
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels",
        Some(json!({ "kind": "imap", "name": "security@", "interval_seconds": 60, "settings": settings })),
    );
    assert_eq!(status, 201, "{body}");
}

fn check(app: &TestApp) -> serde_json::Value {
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels/security@/check",
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn cases(app: &TestApp) -> Vec<serde_json::Value> {
    app.api(&app.admin_token, "GET", "/api/v1/cases", None)
        .1
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn an_encrypted_report_sent_by_smtp_is_polled_from_imap_into_the_inbox() {
    let mail = MailServer::start();
    let app = TestApp::start_with(&mail.smtp_config());
    add_mailbox(&app, &mail, false);
    let gpg = Gpg::new();
    gpg.reporter(&app.intake_key(), "ada@example.net");
    let fpr = gpg.fingerprint_of(&app.intake_key());
    let secret = "Timing side channel in the HMAC comparison of session tokens";
    let armored = gpg.encrypt(&fpr, None, secret.as_bytes());
    let raw = format!(
        "From: Ada <ada@example.net>\r\nTo: security@example.org\r\nSubject: Token comparison\r\n\
         Message-ID: <imap-1@example.net>\r\n\r\n{armored}"
    );
    mail.send("ada@example.net", "security@example.org", raw.as_bytes());
    mail.mailbox("security@example.org", 1);

    let health = check(&app);
    assert_eq!(health["health"], "healthy", "{health}");
    let all = cases(&app);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["title"], "Token comparison");
    assert_eq!(all[0]["ack_due"], "2026-03-03T09:00:00Z");
    let id = all[0]["id"].as_str().unwrap();
    let (_, events) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{id}/events"),
        None,
    );
    let report = &events[0]["data"]["report"];
    assert!(report["body"].as_str().unwrap().contains(secret));
    assert_eq!(report["intake"]["encrypted"], true);

    // Seen now: the next poll files nothing twice.
    check(&app);
    assert_eq!(cases(&app).len(), 1);

    // The SRT's inbox shows it with its clock; the inventory lists the mailbox.
    let (mut srt, _) = app.person("sam", "srt");
    let inbox = srt.get("/");
    assert!(inbox.body.contains("Token comparison"));
    assert!(!inbox.body.contains("Channels need attention"));
    let page = srt.get("/channels");
    assert!(page.body.contains("security@"), "{}", page.body);
    assert!(page.body.contains("healthy"));

    // Stopping the IMAP server: the next check fails and the inbox says so.
    let mut mail = mail;
    mail.stop_dovecot();
    app.advance(60);
    let health = check(&app);
    assert_eq!(health["alert"], true, "{health}");
    assert!(
        health["health"]
            .as_str()
            .unwrap()
            .starts_with("failing: cannot connect"),
        "{health}"
    );
    let inbox = srt.get("/");
    assert!(
        inbox.body.contains("Channels need attention"),
        "{}",
        inbox.body
    );

    // Back up: healthy again.
    mail.start_dovecot();
    let health = check(&app);
    assert_eq!(health["health"], "healthy", "{health}");
}

#[test]
fn a_canary_proves_the_mailbox_is_watched_and_a_lost_one_is_an_alert() {
    let mail = MailServer::start();
    let app = TestApp::start_with(&mail.smtp_config());
    add_mailbox(&app, &mail, true);
    // The first check sends the canary through SMTP; the next sees it come
    // back through IMAP, and files no case for it.
    check(&app);
    mail.mailbox("security@example.org", 1);
    let health = check(&app);
    assert_eq!(health["health"], "healthy", "{health}");
    assert!(cases(&app).is_empty(), "a canary is not a report");

    // A second mailbox whose canary address delivers elsewhere (a list
    // stuck in moderation, a wrong forward): the canary never comes back.
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels",
        Some(
            json!({ "kind": "imap", "name": "team@", "interval_seconds": 60, "settings": {
                "host": "127.0.0.1", "port": mail.imap_port, "tls": false,
                "username": "team@example.org", "password": PASSWORD,
                "canary_address": "moderation@example.org", "canary_timeout_seconds": 600,
            }}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let (_, first) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels/team@/check",
        None,
    );
    assert_eq!(first["health"], "healthy", "{first}");
    mail.mailbox("moderation@example.org", 1);
    app.advance(601);
    let (_, late) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/channels/team@/check",
        None,
    );
    assert_eq!(late["alert"], true, "{late}");
    assert!(
        late["health"]
            .as_str()
            .unwrap()
            .starts_with("the canary sent 601 s ago has not come back"),
        "{late}"
    );
    // The working mailbox is still healthy beside it.
    let health = check(&app);
    assert_eq!(health["alert"], false, "{health}");
}
