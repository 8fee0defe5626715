//! The public report form without JavaScript, the receipt, the reporter's
//! status page and the thread both ways, the SRT's view of what arrived, and
//! the form's limits.

use crate::{
    app::{TestApp, between},
    gpg::Gpg,
    openpgpjs::OpenPgpJs,
};

const SECRET: &str = "Unbounded recursion in parse_expr crashes the interpreter";

fn full_form(steps: &str) -> Vec<(&str, &str)> {
    vec![
        ("project", "numpy"),
        ("title", "Stack exhaustion in the expression parser"),
        ("affected_versions", "2.0.0 to 2.1.3"),
        ("description", SECRET),
        ("steps", steps),
        (
            "impact",
            "Denial of service for any service that parses user input.",
        ),
        ("name", "Grace"),
        ("email", "grace@example.net"),
        ("credit", "Grace H."),
    ]
}

#[test]
fn a_report_without_javascript_gets_a_receipt_a_status_page_and_a_thread() {
    let app = TestApp::start();
    let mut reporter = app.browser();
    let form = reporter.get("/report");
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Report a vulnerability"));
    assert!(
        form.body.contains("data-recipient-key="),
        "the form offers browser encryption"
    );

    let got = reporter.post_report(
        &full_form("echo '((((((((' | ./interp"),
        &[("poc.txt", b"(((((((".as_slice())],
    );
    assert_eq!(got.status, 201, "{}", got.body);
    let case_id = between(&got.body, "<span id=\"case-id\">", "<").to_owned();
    let status_url =
        between(&got.body, "<a id=\"status-link\" href=\"", "\"").replace("&#x2f;", "/");
    let status_path = status_url
        .strip_prefix(&app.url)
        .unwrap_or_else(|| panic!("{status_url} vs {}", app.url))
        .to_owned();
    assert!(status_path.starts_with("/report/status/rpt_"));
    assert_eq!(
        status_path.len(),
        "/report/status/".len() + 68,
        "256-bit token"
    );

    // The reporter's page: their report, the stage, no team names.
    let page = reporter.get(&status_path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&case_id));
    assert!(page.body.contains(SECRET));
    assert!(page.body.contains("poc.txt"));
    assert!(page.body.contains("id=\"stage\">new<"), "{}", page.body);

    // A wrong or malformed token is a plain 404.
    let wrong = format!("/report/status/rpt_{}", "0".repeat(64));
    assert_eq!(reporter.get(&wrong).status, 404);
    assert_eq!(reporter.get("/report/status/nonsense").status, 404);

    // The SRT sees it in the inbox, with how it arrived and the file.
    let (mut srt, _) = app.person("sam", "srt");
    let case_page = srt.get(&format!("/cases/{case_id}"));
    assert_eq!(case_page.status, 200);
    assert!(case_page.body.contains(SECRET));
    assert!(case_page.body.contains("Credit as: Grace H."));
    assert!(
        case_page.body.contains("**Affected versions:**")
            || case_page.body.contains("Affected versions:")
    );
    let attachment = between(
        &case_page.body,
        "<ul id=\"attachments\"><li><a href=\"",
        "\"",
    )
    .replace("&#x2f;", "/");
    let file = srt.get(&attachment);
    assert_eq!(file.status, 200);
    assert_eq!(file.body, "(((((((");
    assert!(
        file.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let raw_link =
        between(&case_page.body, "<ul id=\"inbound\"><li><a href=\"", "\"").replace("&#x2f;", "/");
    let raw = srt.get(&raw_link);
    assert_eq!(raw.status, 200);
    assert!(raw.body.contains("multipart") || raw.body.contains("Content-Disposition: form-data"));

    // The team writes; the reporter reads it and answers from the page.
    srt.get(&format!("/cases/{case_id}"));
    let sent = srt.post(
        &format!("/cases/{case_id}/commands/message_reporter"),
        &[("text", "Which Python version did you use?")],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    let page = reporter.get(&status_path);
    assert!(page.body.contains("Which Python version did you use?"));
    assert!(page.body.contains("the security team"));
    assert!(
        !page.body.contains("sam"),
        "team members are not named to the reporter"
    );
    let replied = reporter.post_anonymous(
        &format!("{status_path}/reply"),
        &[("text", "Python 3.12.1 on Debian.")],
    );
    assert_eq!(replied.status, 303, "{}", replied.body);
    let case_page = srt.get(&format!("/cases/{case_id}"));
    assert!(case_page.body.contains("Python 3.12.1 on Debian."));
    assert!(case_page.body.contains("The reporter wrote"));

    // Nothing the reporter wrote is in the database file in clear.
    let db = app.db_bytes();
    for text in [
        SECRET,
        "Python 3.12.1 on Debian",
        "grace@example.net",
        "(((((((",
        "Stack exhaustion",
    ] {
        assert!(
            !db.windows(text.len()).any(|w| w == text.as_bytes()),
            "`{text}` is in the database in clear"
        );
    }
}

#[test]
fn the_form_says_what_is_missing_and_keeps_what_it_cannot_open() {
    let app = TestApp::start();
    let mut reporter = app.browser();
    reporter.get("/report");

    // The reproduction field is required.
    let got = reporter.post_report(&full_form(""), &[]);
    assert_eq!(got.status, 422);
    assert!(
        got.body
            .contains("Steps to reproduce or a proof of concept are required"),
        "{}",
        got.body
    );
    // What was typed comes back with the error, escaped.
    assert!(
        got.body.contains(SECRET),
        "the description is kept: {}",
        got.body
    );
    assert!(
        got.body
            .contains("value=\"Stack exhaustion in the expression parser\"")
    );

    // A bad address, a header injection in the name.
    let mut fields = full_form("run it");
    fields.retain(|(k, _)| *k != "email");
    fields.push(("email", "not an address"));
    let got = reporter.post_report(&fields, &[]);
    assert_eq!(got.status, 422);
    assert!(got.body.contains("is not an email address"), "{}", got.body);

    let mut fields = full_form("run it");
    fields.retain(|(k, _)| *k != "name");
    fields.push(("name", "Eve\r\nBcc: everyone@example.com"));
    let got = reporter.post_report(&fields, &[]);
    assert_eq!(got.status, 201, "{}", got.body);
    let case_id = between(&got.body, "<span id=\"case-id\">", "<").to_owned();
    let (_, report) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case_id}/events"),
        None,
    );
    assert_eq!(
        report[0]["data"]["report"]["reporter_name"],
        "Eve Bcc: everyone@example.com"
    );

    // An armored message not for us is refused with the reason, and kept.
    let other = Gpg::new();
    let not_ours = other.reporter(&app.intake_key(), "someone@example.net");
    let _ = not_ours;
    let armored = String::from_utf8(other.run(
        &["--armor", "--encrypt", "-r", "someone@example.net"],
        b"hi",
    ))
    .unwrap();
    let got = reporter.post_report(&[("armored", armored.as_str())], &[]);
    assert_eq!(got.status, 422);
    assert!(
        got.body.contains("not encrypted to this team"),
        "{}",
        got.body
    );
    assert!(got.body.contains("quarantine #"), "{}", got.body);
    let (mut srt, _) = app.person("sam", "srt");
    let q = srt.get("/quarantine");
    assert_eq!(q.status, 200);
    assert!(q.body.contains("not encrypted to this team"));

    // A report the reporter armored with GnuPG themselves is opened.
    let gpg = Gpg::new();
    gpg.reporter(&app.intake_key(), "ada@example.net");
    let fpr = gpg.fingerprint_of(&app.intake_key());
    let armored = gpg.encrypt(
        &fpr,
        None,
        b"Use-after-free in the buffer pool, steps attached.",
    );
    let got = reporter.post_report(&[("title", "UAF"), ("armored", armored.as_str())], &[]);
    assert_eq!(got.status, 201, "{}", got.body);
    assert!(got.body.contains("It was encrypted before it left"));

    // Too many attachments, and one too large.
    let five: Vec<(&str, &[u8])> = (0..6).map(|_| ("f.txt", b"x".as_slice())).collect();
    let got = reporter.post_report(&full_form("run it"), &five);
    assert_eq!(got.status, 422);
    assert!(got.body.contains("At most 5 attachments"), "{}", got.body);
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let got = reporter.post_report(&full_form("run it"), &[("big.bin", big.as_slice())]);
    assert_eq!(got.status, 422);
    assert!(got.body.contains("the limit is"), "{}", got.body);
}

#[test]
fn one_address_cannot_flood_the_form() {
    let app = TestApp::start();
    let mut reporter = app.browser();
    reporter.get("/report");
    let mut status_path = String::new();
    for i in 0..10 {
        let got = reporter.post_report(&full_form("run it"), &[]);
        assert_eq!(got.status, 201, "submission {i}: {}", got.body);
        status_path = between(&got.body, "<a id=\"status-link\" href=\"", "\"")
            .replace("&#x2f;", "/")
            .replacen(&app.url, "", 1);
    }
    let got = reporter.post_report(&full_form("run it"), &[]);
    assert_eq!(got.status, 429);
    assert!(got.headers.contains_key("retry-after"));
    // Replies through a status page draw on the same allowance.
    let reply = reporter.post_anonymous(&format!("{status_path}/reply"), &[("text", "hello?")]);
    assert_eq!(reply.status, 429, "{}", reply.body);
    // After the window, the address may report again.
    app.advance(3601);
    assert_eq!(reporter.post_report(&full_form("run it"), &[]).status, 201);
}

/// Other OpenPGP clients encrypt to the intake key as the form's script
/// does (AEAD, SEIPDv2), because the key asks for it: OpenPGP.js reads the
/// preference, encrypts with it, and the server opens the result.
#[test]
fn other_clients_read_the_intake_keys_aead_preference_and_the_server_opens_their_messages() {
    let Some(js) = OpenPgpJs::find() else { return };
    let app = TestApp::start();
    let public = app.intake_key();
    let prefs = js.prefs(&public);
    assert_eq!(
        prefs["suites"],
        serde_json::json!([["aes256", "ocb"], ["aes256", "gcm"]]),
        "{prefs}"
    );
    assert_eq!(prefs["seipdv2"], true);
    let armored = js.encrypt(&public, SECRET.as_bytes());
    let secret = std::fs::read_to_string(app.data_dir().join("intake-key.asc")).unwrap();
    let seen = &js.decrypt_lines(&secret, &[armored.as_bytes()])[0];
    assert_eq!(seen["seipd"], 2, "{seen}");
    assert!(seen["aead"] == "gcm" || seen["aead"] == "ocb", "{seen}");

    // Pasted beside a description typed in clear: both are kept.
    let mut reporter = app.browser();
    let got = reporter.post_report(
        &[
            ("armored", armored.as_str()),
            ("impact", "Any service that parses input can be stopped."),
        ],
        &[],
    );
    assert_eq!(got.status, 201, "{}", got.body);
    let case = between(&got.body, "<span id=\"case-id\">", "<").to_owned();
    let (_, events) = app.api(
        &app.admin_token,
        "GET",
        &format!("/api/v1/cases/{case}/events"),
        None,
    );
    let body = events[0]["data"]["report"]["body"].as_str().unwrap();
    assert!(body.starts_with(SECRET), "{body}");
    assert!(
        body.contains("## Impact\n\nAny service that parses input"),
        "{body}"
    );
    assert!(
        !body.contains("## Description"),
        "no empty sections: {body}"
    );
    assert_eq!(events[0]["data"]["report"]["title"], "(encrypted report)");
}

/// A pasted message changed after it was encrypted is kept, and the page
/// says in words that it failed its integrity check.
#[test]
fn a_tampered_pasted_message_is_quarantined_as_damaged() {
    let app = TestApp::start();
    let gpg = Gpg::new();
    gpg.reporter(&app.intake_key(), "ada@example.net");
    let fpr = gpg.fingerprint_of(&app.intake_key());
    let binary = gpg.run(
        &["--encrypt", "--compress-algo", "none", "-r", &fpr],
        SECRET.as_bytes(),
    );
    let mut tampered = binary.clone();
    let at = tampered.len() - 30;
    tampered[at] ^= 0x01;
    let armored = armor(&tampered);
    let mut reporter = app.browser();
    let got = reporter.post_report(&[("armored", armored.as_str())], &[]);
    assert_eq!(got.status, 422, "{}", got.body);
    assert!(
        got.body.contains("failed its integrity check"),
        "{}",
        got.body
    );
    assert!(got.body.contains("quarantine #"), "{}", got.body);
    let (mut srt, _) = app.person("sam", "srt");
    let q = srt.get("/quarantine");
    assert!(
        q.body.contains("changed or damaged after it was encrypted"),
        "{}",
        q.body
    );
    // The untouched message opens.
    let got = reporter.post_report(&[("armored", armor(&binary).as_str())], &[]);
    assert_eq!(got.status, 201, "{}", got.body);
}

fn armor(bytes: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PGP MESSAGE-----\n\n{}\n-----END PGP MESSAGE-----\n",
        lines.join("\n")
    )
}
