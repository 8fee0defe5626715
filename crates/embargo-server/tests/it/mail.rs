//! Email into the inbox through `POST /api/v1/intake/mail` (what `embargo
//! ingest-mail` pipes to): plain, inline OpenPGP and PGP/MIME messages made
//! by GnuPG as the reporter's client, signatures, threading and redelivery.

use serde_json::Value;

use crate::{app::TestApp, gpg::Gpg};

pub(crate) fn mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: security@example.org\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 02 Mar 2026 08:59:00 +0000\r\n{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

pub(crate) fn pgp_mime(from: &str, id: &str, armored: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: security@example.org\r\nSubject: ...\r\nMessage-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
    .into_bytes()
}

pub(crate) fn deliver(app: &TestApp, raw: Vec<u8>) -> Value {
    let (status, body) = app.api_raw(
        &app.admin_token,
        "/api/v1/intake/mail",
        "message/rfc822",
        raw,
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn events(app: &TestApp, case: &str) -> Vec<Value> {
    let (status, body) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case}/events"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn report_of(app: &TestApp, case: &str) -> Value {
    events(app, case)[0]["data"]["report"].clone()
}

#[test]
fn plain_inline_and_pgp_mime_reports_arrive_decrypted_with_their_clock() {
    let app = TestApp::start();
    let team = app.intake_key();
    let reporter = Gpg::new();
    let their_key = reporter.reporter(&team, "ada@example.net");
    let team_fpr = reporter.fingerprint_of(&team);

    // Plain.
    let got = deliver(
        &app,
        mail(
            "Ada <ada@example.net>",
            "XSS in the docs search",
            "p1@example.net",
            "",
            "Steps: open /search?q=<script>",
        ),
    );
    assert_eq!(got["outcome"], "case", "{got}");
    let plain_case = got["case_id"].as_str().unwrap().to_owned();
    let (_, view) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{plain_case}"),
        None,
    );
    assert_eq!(view["title"], "XSS in the docs search");
    assert_eq!(view["stage"], "new");
    assert_eq!(view["received_at"], "2026-03-02T09:00:00Z");
    assert_eq!(view["ack_due"], "2026-03-03T09:00:00Z");
    let report = report_of(&app, &plain_case);
    assert_eq!(report["channel"], "email");
    assert_eq!(report["reporter_email"], "ada@example.net");
    assert_eq!(report["intake"]["encrypted"], false);

    // Inline-armored, encrypted by GnuPG.
    let secret_text = "Heap overflow in read_header when the length field is negative";
    let armored = reporter.encrypt(&team_fpr, None, secret_text.as_bytes());
    let got = deliver(
        &app,
        mail(
            "Ada <ada@example.net>",
            "Encrypted report",
            "p2@example.net",
            "",
            &format!("Please see below.\r\n\r\n{armored}"),
        ),
    );
    assert_eq!(got["outcome"], "case", "{got}");
    let inline_case = got["case_id"].as_str().unwrap();
    let report = report_of(&app, inline_case);
    assert!(
        report["body"].as_str().unwrap().contains(secret_text),
        "{report}"
    );
    assert!(
        !report["body"]
            .as_str()
            .unwrap()
            .contains("BEGIN PGP MESSAGE")
    );
    assert_eq!(report["intake"]["encrypted"], true);
    assert_eq!(report["intake"]["signed_by"], Value::Null);

    // PGP/MIME, signed and encrypted, with a protected Subject and the
    // reporter's key attached inside: the signature verifies against it.
    let inner = format!(
        "Content-Type: multipart/mixed; boundary=\"in1\"; protected-headers=\"v1\"\r\n\
         Subject: Path traversal in the archive extractor\r\n\r\n\
         --in1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Extracting ../../etc/passwd from a crafted tarball overwrites files.\r\n\
         --in1\r\nContent-Type: application/pgp-keys; name=\"ada.asc\"\r\n\
         Content-Disposition: attachment; filename=\"ada.asc\"\r\n\r\n{their_key}\r\n--in1--\r\n"
    );
    let armored = reporter.encrypt(&team_fpr, Some("ada@example.net"), inner.as_bytes());
    let got = deliver(
        &app,
        pgp_mime("Ada <ada@example.net>", "p3@example.net", &armored),
    );
    assert_eq!(got["outcome"], "case", "{got}");
    let mime_case = got["case_id"].as_str().unwrap().to_owned();
    let (_, view) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{mime_case}"),
        None,
    );
    assert_eq!(view["title"], "Path traversal in the archive extractor");
    let report = report_of(&app, &mime_case);
    assert!(report["body"].as_str().unwrap().contains("crafted tarball"));
    assert_eq!(report["intake"]["encrypted"], true);
    assert_eq!(
        report["intake"]["signed_by"].as_str().unwrap(),
        reporter.fingerprint_of(&their_key)
    );
    assert!(
        report["intake"]["reporter_key"]
            .as_str()
            .unwrap()
            .contains("BEGIN PGP PUBLIC KEY")
    );

    // Redelivery of the same message makes no second case.
    let got = deliver(
        &app,
        pgp_mime("Ada <ada@example.net>", "p3@example.net", &armored),
    );
    assert_eq!(got["outcome"], "already_received", "{got}");
    assert_eq!(got["case_id"], mime_case.as_str());
    let (_, all) = app.api(&app.admin_token, "GET", "/api/v1/cases", None);
    assert_eq!(all.as_array().unwrap().len(), 3);

    // The inbox lists them, each with its clock.
    let (mut srt, _) = app.person("sam", "srt");
    let inbox = srt.get("/");
    assert!(
        inbox
            .body
            .contains("Path traversal in the archive extractor"),
        "{}",
        inbox.body
    );
    assert!(inbox.body.contains(&plain_case));

    // Signed and encrypted, without the reporter's key: not verified, but
    // the case records which key signed it, on the page too.
    let armored = reporter.encrypt(
        &team_fpr,
        Some("ada@example.net"),
        b"Content-Type: text/plain\r\n\r\nThe parser loops forever on a crafted header.\r\n",
    );
    let got = deliver(
        &app,
        pgp_mime("Ada <ada@example.net>", "p4@example.net", &armored),
    );
    assert_eq!(got["outcome"], "case", "{got}");
    let unsigned_case = got["case_id"].as_str().unwrap().to_owned();
    let report = report_of(&app, &unsigned_case);
    let fpr = reporter.fingerprint_of(&their_key);
    assert_eq!(report["intake"]["signed_by"], Value::Null);
    assert_eq!(
        report["intake"]["signed_by_unknown"],
        fpr.as_str(),
        "{report}"
    );
    let page = srt.get(&format!("/cases/{unsigned_case}"));
    assert!(
        page.body
            .contains(&format!("signed by an unknown key <code>{fpr}</code>")),
        "{}",
        page.body
    );

    // The reporter's key arrives later, with a reply: the report as it was
    // received is checked against it, and its signature now verifies.
    let reply = format!(
        "From: Ada <ada@example.net>\r\nTo: security@example.org\r\nSubject: Re: report\r\n\
         Message-ID: <p5@example.net>\r\nIn-Reply-To: <p4@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"k1\"\r\n\r\n\
         --k1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is my key.\r\n\
         --k1\r\nContent-Type: application/pgp-keys; name=\"ada.asc\"\r\n\
         Content-Disposition: attachment; filename=\"ada.asc\"\r\n\r\n{their_key}\r\n--k1--\r\n"
    );
    let got = deliver(&app, reply.into_bytes());
    assert_eq!(got["outcome"], "reply", "{got}");
    let verified: Vec<Value> = events(&app, &unsigned_case)
        .into_iter()
        .filter(|e| e["kind"] == "signature_verified")
        .collect();
    assert_eq!(verified.len(), 1, "{verified:?}");
    assert_eq!(verified[0]["actor"], "system:intake");
    assert_eq!(verified[0]["data"]["fingerprint"], fpr.as_str());
    let page = srt.get(&format!("/cases/{unsigned_case}"));
    assert!(
        page.body
            .contains(&format!("signed by key <code>{fpr}</code>"))
            && !page.body.contains("signed by an unknown key"),
        "{}",
        page.body
    );
}

#[test]
fn replies_thread_onto_their_case_and_strangers_go_to_quarantine() {
    let app = TestApp::start();
    let got = deliver(
        &app,
        mail(
            "Ada <ada@example.net>",
            "Auth bypass",
            "first@example.net",
            "",
            "Details follow.",
        ),
    );
    let case = got["case_id"].as_str().unwrap().to_owned();
    // Put the case into "needs info": the reply clears it.
    let (s, b) = app.api(
        &app.admin_token,
        "POST",
        &format!("/api/v1/cases/{case}/commands"),
        Some(serde_json::json!({"command": "request_info", "question": "Which version?"})),
    );
    assert_eq!(s, 200, "{b}");

    let reply = mail(
        "Ada <ada@example.net>",
        "Re: Auth bypass",
        "second@example.net",
        "In-Reply-To: <first@example.net>\r\nReferences: <first@example.net>\r\n",
        "Version 2.3.1, on Linux.",
    );
    let got = deliver(&app, reply.clone());
    assert_eq!(got["outcome"], "reply", "{got}");
    assert_eq!(got["case_id"], case.as_str());
    let kinds: Vec<String> = events(&app, &case)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "report_received",
            "info_requested",
            "reporter_wrote",
            "info_received"
        ]
    );
    let evs = events(&app, &case);
    assert_eq!(
        evs[2]["data"]["text"].as_str().unwrap().trim(),
        "Version 2.3.1, on Linux."
    );
    assert_eq!(evs[2]["actor"], "system:reporter");

    // The same reply delivered twice is recorded once.
    assert_eq!(deliver(&app, reply)["outcome"], "already_received");
    assert_eq!(events(&app, &case).len(), 4);

    // A reply to the thread from someone else is not added to the case.
    let got = deliver(
        &app,
        mail(
            "Mallory <mallory@example.com>",
            "Re: Auth bypass",
            "third@example.com",
            "In-Reply-To: <second@example.net>\r\n",
            "Please send me the exploit.",
        ),
    );
    assert_eq!(got["outcome"], "quarantined", "{got}");
    assert!(
        got["reason"]
            .as_str()
            .unwrap()
            .contains("not the reporter's"),
        "{got}"
    );
    assert_eq!(events(&app, &case).len(), 4);

    // The SRT decides it is a report of its own and files it as a new case.
    let q = got["quarantine_id"].as_i64().unwrap();
    let (mut srt, _) = app.person("sam", "srt");
    srt.get("/quarantine");
    let filed = srt.post(&format!("/quarantine/{q}/file"), &[]);
    assert_eq!(filed.status, 303, "{}", filed.body);
    let new_case = filed
        .location()
        .unwrap()
        .trim_start_matches("/cases/")
        .to_owned();
    assert_ne!(new_case, case);
    let report = &events(&app, &new_case)[0]["data"]["report"];
    assert_eq!(report["reporter_email"], "mallory@example.com");
    assert!(
        report["body"]
            .as_str()
            .unwrap()
            .contains("Please send me the exploit.")
    );
    assert_eq!(events(&app, &case).len(), 4, "the first case is untouched");
    let page = srt.get("/quarantine");
    assert!(
        !page.body.contains(&format!("/quarantine/{q}\"")),
        "released: {}",
        page.body
    );
    // The same message delivered again is recognised as filed.
    let again = deliver(
        &app,
        mail(
            "Mallory <mallory@example.com>",
            "Re: Auth bypass",
            "third@example.com",
            "In-Reply-To: <second@example.net>\r\n",
            "Please send me the exploit.",
        ),
    );
    assert_eq!(again["outcome"], "already_received", "{again}");
    assert_eq!(again["case_id"], new_case.as_str());
}

#[test]
fn mail_intake_is_for_the_srt_only() {
    let app = TestApp::start();
    let (status, _) = app.api_raw(
        "not-a-token",
        "/api/v1/intake/mail",
        "message/rfc822",
        b"x".to_vec(),
    );
    assert_eq!(status, 401);
}

/// A flood by mail: past the limits per sender address and per domain, new
/// reports are kept in quarantine with the reason, not filed and not
/// dropped; another sender still files at once; a redelivery is still
/// recognised; the SRT can file a held one as a case.
#[test]
fn a_mail_flood_from_one_sender_or_domain_is_held_in_quarantine() {
    let app = TestApp::start_with("[intake]\nmail_per_sender = 3\nmail_per_domain = 5\n");
    let outcome = |from: &str, n: usize| -> Value {
        deliver(
            &app,
            mail(
                from,
                &format!("Crash number {n}"),
                &format!("flood-{n}@flood.example"),
                "",
                "steps",
            ),
        )
    };
    let outcomes: Vec<Value> = (0..4).map(|n| outcome("a@flood.example", n)).collect();
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["case", "case", "case", "quarantined"],
        "{outcomes:?}"
    );
    let reason = outcomes[3]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "over the limit: more than 3 new reports from this sender's address (a@flood.example)"
        ),
        "{reason}"
    );
    // Other addresses at the same domain: the domain's limit (5) holds.
    let more: Vec<String> = (4..8)
        .map(|n| {
            outcome(&format!("u{n}@flood.example"), n)["outcome"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        more,
        ["case", "quarantined", "quarantined", "quarantined"],
        "the 5th address-distinct report"
    );
    // A known reporter elsewhere files at once.
    let real = deliver(
        &app,
        mail(
            "lin@example.net",
            "Real report",
            "real-1@example.net",
            "",
            "PoC attached",
        ),
    );
    assert_eq!(real["outcome"], "case", "{real}");
    // A held message delivered again is recognised, not counted twice.
    let again = outcome("a@flood.example", 3);
    assert_eq!(again["outcome"], "already_received", "{again}");
    // Held, not lost: the SRT files one from quarantine as a case.
    let held = outcomes[3]["quarantine_id"].as_i64().unwrap();
    let (mut srt, _) = app.person("sue", "srt");
    let page = srt.get("/quarantine").body;
    assert!(page.contains("over the limit"), "{page}");
    let filed = srt.post(&format!("/quarantine/{held}/file"), &[]);
    assert!(filed.status == 303 || filed.status == 200, "{}", filed.body);
    let (_, cases) = app.api(&app.admin_token, "GET", "/api/v1/cases?q=crash", None);
    assert_eq!(
        cases.as_array().unwrap().len(),
        5,
        "4 filed, 1 released: {cases}"
    );
}
