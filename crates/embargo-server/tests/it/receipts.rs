//! Receipts and the team's messages reach the reporter at a real local mail
//! system (OpenSMTPD into Dovecot), checked in the reporter's mailbox there:
//! nothing of the report in clear, and encrypted to the reporter's key when
//! they sent one.

use crate::{app::TestApp, gpg::Gpg, mail::deliver, mailserver::MailServer};

const SECRET: &str = "Signature check skipped when the certificate chain is empty";

#[test]
fn a_web_report_gets_a_receipt_with_its_status_link_and_no_report_text() {
    let mail = MailServer::start();
    let app = TestApp::start_with(&mail.smtp_config());
    let mut reporter = app.browser();
    reporter.get("/report");
    let got = reporter.post_report(
        &[
            ("title", "Signature bypass"),
            ("description", SECRET),
            ("steps", "verify(cert_chain=[])"),
            ("email", "lin@example.net"),
        ],
        &[],
    );
    assert_eq!(got.status, 201, "{}", got.body);
    let case = crate::app::between(&got.body, "<span id=\"case-id\">", "<").to_owned();
    let inbox = mail.mailbox("lin@example.net", 1);
    let receipt = &inbox[0];
    assert!(
        receipt.contains(&format!("Subject: [{case}] Report received")),
        "{receipt}"
    );
    assert!(receipt.contains("/report/status/rpt_"), "{receipt}");
    assert!(receipt.contains("within 24 hours"));
    assert!(
        !receipt.contains(SECRET),
        "the receipt carries no report text"
    );
    assert!(!receipt.contains("Signature bypass"));

    // The team's message goes out too, and a reply to it threads back.
    let (mut srt, _) = app.person("sam", "srt");
    srt.get(&format!("/cases/{case}"));
    let sent = srt.post(
        &format!("/cases/{case}/commands/acknowledge"),
        &[("message", "Thanks, we are looking at it.")],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    let inbox = mail.mailbox("lin@example.net", 2);
    let ack = inbox
        .iter()
        .find(|m| m.contains("Thanks, we are looking at it."))
        .expect("the acknowledgement arrived");
    let message_id = ack
        .lines()
        .find_map(|l| {
            l.strip_prefix("Message-ID: ")
                .or_else(|| l.strip_prefix("Message-Id: "))
        })
        .unwrap()
        .trim()
        .to_owned();
    let reply = format!(
        "From: lin@example.net\r\nTo: security@example.org\r\nSubject: Re: ack\r\n\
         Message-ID: <reply-1@example.net>\r\nIn-Reply-To: {message_id}\r\n\r\nIt also affects 4.1.\r\n"
    );
    let got = deliver(&app, reply.into_bytes());
    assert_eq!(got["outcome"], "reply", "{got}");
    assert_eq!(got["case_id"], case.as_str());
}

#[test]
fn a_reporter_who_sent_a_key_gets_receipts_encrypted_to_it() {
    let mail = MailServer::start();
    let app = TestApp::start_with(&mail.smtp_config());
    let team = app.intake_key();
    let gpg = Gpg::new();
    let their_key = gpg.reporter(&team, "ada@example.net");
    let fpr = gpg.fingerprint_of(&team);
    let inner = format!(
        "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\n\
         Content-Type: text/plain\r\n\r\n{SECRET}\r\n--in\r\n\
         Content-Type: application/pgp-keys\r\nContent-Disposition: attachment; filename=\"k.asc\"\r\n\r\n\
         {their_key}\r\n--in--\r\n"
    );
    let armored = gpg.encrypt(&fpr, Some("ada@example.net"), inner.as_bytes());
    let raw = format!(
        "From: Ada <ada@example.net>\r\nTo: security@example.org\r\nSubject: ...\r\nMessage-ID: <enc-1@example.net>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\n\
         Content-Type: application/octet-stream\r\n\r\n{armored}\r\n--b--\r\n"
    );
    let got = deliver(&app, raw.into_bytes());
    assert_eq!(got["outcome"], "case", "{got}");
    // The mail server is shared: the IMAP test's reporter is Ada too, so
    // the receipt is the message answering this one.
    let receipt = &mail.message_to("ada@example.net", "In-Reply-To: <enc-1@example.net>");
    assert!(receipt.contains("multipart/encrypted"), "{receipt}");
    assert!(
        !receipt.contains("/report/status/"),
        "the link travels encrypted"
    );
    let block_start = receipt.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let block_end =
        receipt.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
    let plain = String::from_utf8(
        gpg.run(
            &["--decrypt"],
            receipt[block_start..block_end]
                .replace("\r\n", "\n")
                .as_bytes(),
        ),
    )
    .unwrap();
    assert!(plain.contains("/report/status/rpt_"), "{plain}");
    assert!(
        plain.contains("Report received"),
        "protected subject: {plain}"
    );
}

/// Mail goes out over one kept connection to the mail server, not one per
/// message, and a connection that stalled is left behind: the first
/// connection (the first receipt's) is held by a relay without a byte
/// until the send runs out of time; every message after it, and that
/// receipt's retry, go over one second connection.
#[test]
fn messages_share_one_connection_to_the_mail_server_and_a_stalled_one_is_left() {
    use std::sync::atomic::Ordering;
    let mail = MailServer::start();
    let (port, connections) = crate::mailserver::relay(mail.smtp_port, None);
    let app = TestApp::start_with(&format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_seconds = 1\n"
    ));
    let report = |title: &str, email: &str| {
        let (status, made) = app.api(
            &app.admin_token,
            "POST",
            "/api/v1/cases",
            Some(serde_json::json!({ "project": "numpy", "title": title,
                                     "body": "Steps: call it twice.", "reporter_email": email })),
        );
        assert_eq!(status, 201, "{made}");
        made["id"].as_str().unwrap().to_owned()
    };
    let first = report("Stalled receipt", "lin@example.net");
    for _ in 0..600 {
        if connections.load(Ordering::SeqCst) > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the receipt was tried"
    );
    // The worker is stuck on the first receipt until its second runs out;
    // these wait behind it, then go out.
    let second = report("Second", "ada@example.net");
    let third = report("Third", "bo@example.net");
    assert!(mail.mailbox("ada@example.net", 1)[0].contains(&format!("[{second}]")));
    assert!(mail.mailbox("bo@example.net", 1)[0].contains(&format!("[{third}]")));
    // The first receipt's retry is due 30 s later (the manual clock).
    app.advance(30);
    app.pump();
    assert!(mail.mailbox("lin@example.net", 1)[0].contains(&format!("[{first}]")));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "the stalled connection, then one for the three messages"
    );
}
