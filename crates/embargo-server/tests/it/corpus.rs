//! A corpus of bad inbound messages and submissions, generated here: each
//! gets a clear error or a quarantine entry with its reason, nothing panics
//! (the server answers after every one), and nothing is lost (every email
//! is a case, a reply, or in quarantine; a refused form comes back with what
//! was typed).

use serde_json::{Value, json};

use crate::{app::TestApp, gpg::Gpg};

type Fields = Vec<(&'static str, &'static str)>;

/// What an item must come to.
#[derive(Debug)]
enum Want {
    /// Quarantined, the reason containing this.
    Quarantine(&'static str),
    /// Filed as a case (made safe on the way).
    Case,
    /// Refused with this status and a message containing this.
    Refused(u16, &'static str),
}

fn head(subject: &str, extra: &str) -> String {
    format!(
        "From: Ada <ada@example.net>\r\nTo: security@example.org\r\nSubject: {subject}\r\n{extra}"
    )
}

fn emails(gpg: &Gpg, team_fpr: &str) -> Vec<(&'static str, Vec<u8>, Want)> {
    let armored = gpg.encrypt(team_fpr, None, b"a real report");
    let other = Gpg::new();
    other.run(
        &[
            "--quick-gen-key",
            "other@example.net",
            "future-default",
            "default",
            "never",
        ],
        b"",
    );
    let not_ours =
        String::from_utf8(other.run(&["--armor", "--encrypt", "-r", "other@example.net"], b"x"))
            .unwrap();
    let symmetric = String::from_utf8(gpg.run(
        &[
            "--armor",
            "--symmetric",
            "--passphrase",
            "pw",
            "--pinentry-mode",
            "loopback",
        ],
        b"x",
    ))
    .unwrap();
    let signed_only =
        String::from_utf8(gpg.run(&["--armor", "--sign", "-u", "ada@example.net"], b"x")).unwrap();
    let zeros = vec![0u8; 30 * 1024 * 1024];
    let bomb =
        String::from_utf8(gpg.run(&["--armor", "--encrypt", "-z", "9", "-r", team_fpr], &zeros))
            .unwrap();
    let cut = &armored[..armored.len() / 2];
    let mut corrupt = armored.clone().into_bytes();
    let mid = corrupt.len() / 2;
    for b in corrupt.iter_mut().skip(mid).take(40) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    let corrupt = String::from_utf8(corrupt).unwrap();
    let pgp_mime = |part: &str| {
        format!(
            "{}MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n{part}--b--\r\n",
            head("...", "")
        )
        .into_bytes()
    };
    let octet =
        |body: &str| format!("--b\r\nContent-Type: application/octet-stream\r\n\r\n{body}\r\n");
    let mut nested = head(
        "nested",
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n",
    );
    for i in 1..400 {
        nested.push_str(&format!(
            "--n{}\r\nContent-Type: multipart/mixed; boundary=\"n{i}\"\r\n\r\n",
            i - 1
        ));
    }
    nested.push_str("--n399\r\nContent-Type: text/plain\r\n\r\ndeep\r\n");
    let mut many = head(
        "many parts",
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee attachments\r\n",
    );
    for i in 0..2000 {
        many.push_str(&format!("--m\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f{i}.bin\"\r\n\r\nxx\r\n"));
    }
    many.push_str("--m--\r\n");
    let twenty_mb = {
        let mut m = head("huge", "\r\n").into_bytes();
        m.extend(std::iter::repeat_n(b'a', 20 * 1024 * 1024));
        m
    };
    let over_limit = {
        let mut m = head("over", "\r\n").into_bytes();
        m.extend(std::iter::repeat_n(b'a', 26 * 1024 * 1024));
        m
    };
    let mut latin1 = head(
        "caf\u{e9}",
        "Content-Type: text/plain; charset=utf-8\r\n\r\n",
    )
    .into_bytes();
    latin1.extend_from_slice(b"Invalid UTF-8: caf\xe9 \xff\xfe here\r\n");
    let mut bad_subject =
        b"From: ada@example.net\r\nSubject: bad \xff\xfe subject\r\n\r\nbody\r\n".to_vec();
    bad_subject.extend_from_slice(b"");
    vec![
        ("empty message", Vec::new(), Want::Quarantine("")),
        ("binary garbage", vec![0xff, 0x00, 0xfe, 0x13, 0x37, 0x00, 0x01], Want::Quarantine("")),
        ("only a newline", b"\r\n".to_vec(), Want::Quarantine("")),
        ("no From", b"Subject: hi\r\n\r\nbody\r\n".to_vec(), Want::Quarantine("no From address")),
        ("headers and no body", head("empty", "\r\n").into_bytes(), Want::Quarantine("no text")),
        ("inline armor truncated", format!("{}\r\n{cut}", head("cut", "")).into_bytes(), Want::Quarantine("truncated armor")),
        ("inline armor corrupted", format!("{}\r\n{corrupt}", head("corrupt", "")).into_bytes(), Want::Quarantine("")),
        ("inline armor garbage", format!("{}\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nnot base64 at all !!!\r\n-----END PGP MESSAGE-----\r\n", head("garbage", "")).into_bytes(), Want::Quarantine("")),
        ("encrypted to another key", format!("{}\r\n{not_ours}", head("not ours", "")).into_bytes(), Want::Quarantine("not encrypted to this team's intake key")),
        ("symmetric passphrase", format!("{}\r\n{symmetric}", head("sym", "")).into_bytes(), Want::Quarantine("not encrypted to this team's intake key")),
        ("signed, not encrypted", format!("{}\r\n{signed_only}", head("signed", "")).into_bytes(), Want::Quarantine("not encrypted")),
        ("compression bomb", format!("{}\r\n{bomb}", head("bomb", "")).into_bytes(), Want::Quarantine("larger than")),
        ("PGP/MIME without its payload", pgp_mime(""), Want::Quarantine("without its application/octet-stream part")),
        ("PGP/MIME payload garbage", pgp_mime(&octet("%%% not openpgp %%%")), Want::Quarantine("not a readable OpenPGP message")),
        ("PGP/MIME payload truncated", pgp_mime(&octet(cut)), Want::Quarantine("")),
        ("PGP/MIME to another key", pgp_mime(&octet(&not_ours)), Want::Quarantine("not encrypted to this team's intake key")),
        ("PGP/MIME boundary never closed", format!("{}MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--z\r\nContent-Type: application/octet-stream\r\n\r\n{cut}", head("open", "")).into_bytes(), Want::Quarantine("")),
        ("truncated MIME", head("truncated", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"t\"\r\n\r\n--t\r\nContent-Type: text/pl").into_bytes(), Want::Quarantine("")),
        ("20 MB body", twenty_mb, Want::Quarantine("characters; the limit is 200000")),
        ("26 MB message", over_limit, Want::Quarantine("the limit is 26214400")),
        ("invalid UTF-8 body", latin1, Want::Case),
        ("invalid UTF-8 subject", bad_subject, Want::Case),
        ("CRLF injection in an encoded subject", head("=?utf-8?q?Hello=0D=0ABcc=3A_everyone=40example=2Ecom?=", "\r\nbody\r\n").into_bytes(), Want::Case),
        ("injection in the From name", b"From: \"Eve\\r\\nBcc: x@y.z\" <eve@example.net>\r\nSubject: s\r\n\r\nbody\r\n".to_vec(), Want::Case),
        ("a 1 MB subject", head(&"S".repeat(1024 * 1024), "\r\nbody\r\n").into_bytes(), Want::Case),
        ("NUL bytes in the body", head("nul", "\r\nbefore\0after\0\r\n").into_bytes(), Want::Case),
        ("400 nested multiparts", nested.into_bytes(), Want::Quarantine("report body must not be empty")),
        ("2000 attachments", many.into_bytes(), Want::Case),
        ("bad base64 attachment", head("b64", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\ntext\r\n--q\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"x.bin\"\r\n\r\n!!!!****\r\n--q--\r\n").into_bytes(), Want::Case),
        ("broken quoted-printable", head("qp", "Content-Transfer-Encoding: quoted-printable\r\n\r\nbad =ZZ escape =\r\n").into_bytes(), Want::Case),
        ("unknown charset", head("cs", "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nbody\r\n").into_bytes(), Want::Case),
    ]
}

fn deliver(app: &TestApp, raw: Vec<u8>) -> (u16, Value) {
    app.api_raw(
        &app.admin_token,
        "/api/v1/intake/mail",
        "message/rfc822",
        raw,
    )
}

fn alive(app: &TestApp) {
    let (status, _) = app.api("x", "GET", "/healthz", None);
    assert_eq!(status, 200, "the server stopped answering");
}

#[test]
fn fifty_bad_inputs_each_get_a_clear_answer_and_nothing_is_lost() {
    let app = TestApp::start();
    let gpg = Gpg::new();
    gpg.reporter(&app.intake_key(), "ada@example.net");
    let fpr = gpg.fingerprint_of(&app.intake_key());
    let mut count = 0;
    let mut quarantined = 0;
    let mut cases = 0;

    // Email.
    for (name, raw, want) in emails(&gpg, &fpr) {
        count += 1;
        let (status, got) = deliver(&app, raw);
        assert_eq!(status, 200, "{name}: {got}");
        match want {
            Want::Quarantine(why) => {
                assert_eq!(got["outcome"], "quarantined", "{name}: {got}");
                let reason = got["reason"].as_str().unwrap();
                assert!(
                    !reason.is_empty() && reason.contains(why),
                    "{name}: {reason}"
                );
                quarantined += 1;
            }
            Want::Case => {
                assert_eq!(got["outcome"], "case", "{name}: {got}");
                cases += 1;
            }
            Want::Refused(..) => unreachable!(),
        }
        alive(&app);
    }

    // The web form (urlencoded and multipart) and the API.
    let mut browser = app.browser();
    browser.get("/report");
    let ok = [("title", "t"), ("description", "d"), ("steps", "s")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = ok
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        v.extend_from_slice(extra);
        v
    };
    let long_title: &'static str = Box::leak("T".repeat(301).into_boxed_str());
    let long_text: &'static str = Box::leak("D".repeat(100_001).into_boxed_str());
    let forms: Vec<(&str, Fields, Want)> = vec![
        (
            "no steps",
            with(&[("steps", "")]),
            Want::Refused(422, "Steps to reproduce"),
        ),
        (
            "no title",
            with(&[("title", " ")]),
            Want::Refused(422, "A summary and a description are required"),
        ),
        (
            "no description",
            with(&[("description", "")]),
            Want::Refused(422, "A summary and a description are required"),
        ),
        (
            "title too long",
            with(&[("title", long_title)]),
            Want::Refused(422, "longer than 300"),
        ),
        (
            "description too long",
            with(&[("description", long_text)]),
            Want::Refused(422, "longer than 100000"),
        ),
        (
            "unknown field",
            with(&[("evil", "x")]),
            Want::Refused(422, "Unexpected field"),
        ),
        (
            "not an email",
            with(&[("email", "nobody")]),
            Want::Refused(422, "is not an email address"),
        ),
        (
            "CRLF in the email",
            with(&[("email", "a@example.net\r\nBcc: x@y.z")]),
            Want::Refused(422, "is not an email address"),
        ),
        (
            "armored garbage",
            vec![(
                "armored",
                "-----BEGIN PGP MESSAGE-----\n\nxx\n-----END PGP MESSAGE-----",
            )],
            Want::Refused(422, "could not be opened"),
        ),
        (
            "armored nonsense",
            vec![("armored", "hello")],
            Want::Refused(422, "could not be opened"),
        ),
        (
            "CRLF in the name",
            with(&[("name", "Eve\r\nBcc: x@y.z")]),
            Want::Case,
        ),
        (
            "control characters in the project",
            with(&[("project", "num\u{1b}[31mpy")]),
            Want::Case,
        ),
        (
            "RTL override in the title",
            with(&[("title", "evil\u{202e}txt.exe")]),
            Want::Case,
        ),
    ];
    for (name, fields, want) in forms {
        count += 1;
        let got = browser.post_report(&fields, &[]);
        match want {
            Want::Refused(status, text) => {
                assert_eq!(got.status, status, "{name}: {}", got.body);
                assert!(got.body.contains(text), "{name}: {}", got.body);
            }
            Want::Case => {
                assert_eq!(got.status, 201, "{name}: {}", got.body);
                cases += 1;
            }
            Want::Quarantine(_) => unreachable!(),
        }
        alive(&app);
    }
    // The two armored submissions that could not be opened are kept too.
    quarantined += 2;
    // Six files, a file over 10 MB, a body over the route's limit.
    count += 3;
    let six: Vec<(&str, &[u8])> = (0..6).map(|_| ("f", b"x".as_slice())).collect();
    assert_eq!(browser.post_report(&ok, &six).status, 422);
    let big = vec![0u8; 10 * 1024 * 1024 + 1];
    assert_eq!(
        browser.post_report(&ok, &[("big", big.as_slice())]).status,
        422
    );
    // Refused from its Content-Length, before the body is read: the answer
    // is 413, or the connection closes while the client is still writing.
    let huge = vec![0u8; 40 * 1024 * 1024];
    let sent = app.rt.block_on(
        reqwest::Client::new()
            .post(format!("{}/report", app.url))
            .header("content-type", "multipart/form-data; boundary=x")
            .body(huge)
            .send(),
    );
    match sent {
        Ok(resp) => assert_eq!(resp.status().as_u16(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    alive(&app);

    // API intake.
    let api: Vec<(&str, Value, &str)> = vec![
        (
            "unknown channel",
            json!({"project": "p", "title": "t", "body": "b", "channel": "fax"}),
            "unknown channel",
        ),
        (
            "empty title",
            json!({"project": "p", "title": "", "body": "b"}),
            "title",
        ),
        (
            "body too long",
            json!({"project": "p", "title": "t", "body": "b".repeat(200_001)}),
            "report body",
        ),
        (
            "bad reporter email",
            json!({"project": "p", "title": "t", "body": "b", "reporter_email": "x"}),
            "not an email address",
        ),
        ("not JSON", json!("just a string"), ""),
    ];
    for (name, body, text) in api {
        count += 1;
        let (status, got) = app.api(&app.admin_token, "POST", "/api/v1/cases", Some(body));
        assert!((400..500).contains(&status), "{name}: {status} {got}");
        assert!(got.to_string().contains(text), "{name}: {got}");
        alive(&app);
    }

    assert!(count >= 50, "only {count} items");
    // Nothing lost: every email is accounted for.
    let (mut srt, _) = app.person("sam", "srt");
    let q = srt.get("/quarantine");
    assert_eq!(
        q.body.matches("<tr><td><a href=\"/quarantine/").count(),
        quarantined,
        "{}",
        q.body
    );
    let (_, all) = app.api(&app.admin_token, "GET", "/api/v1/cases", None);
    assert_eq!(all.as_array().unwrap().len(), cases);
    // And what was made safe is safe.
    let titles: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        titles
            .iter()
            .all(|t| !t.contains('\r') && !t.contains('\n') && t.chars().count() <= 300),
        "{titles:?}"
    );
}
