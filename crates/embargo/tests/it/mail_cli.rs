//! `embargo ingest-mail` as a mail server's pipe runs it, and `embargo
//! channel` managing the inventory, against a running server.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use crate::serve::start;

fn ingest(url: &str, token: &str, raw: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_embargo"))
        .arg("ingest-mail")
        .env("EMBARGO_SERVER", url)
        .env("EMBARGO_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    child.wait_with_output().unwrap()
}

fn channel(url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_embargo"))
        .arg("channel")
        .args(args)
        .env("EMBARGO_SERVER", url)
        .env("EMBARGO_TOKEN", token)
        .output()
        .unwrap()
}

#[test]
fn a_pipe_delivers_mail_and_the_inventory_shows_the_channel() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(&tmp.path().join("data"));
    let (url, token) = (server.url.clone(), server.token().unwrap());

    let out = channel(&url, &token, &["add", "pipe", "security@ pipe"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = b"From: Ada <ada@example.net>\r\nTo: security@example.org\r\nSubject: Crash on import\r\nMessage-ID: <pipe-1@example.net>\r\n\r\nimport pkg crashes with a crafted config.\r\n";
    let out = ingest(&url, &token, raw);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.starts_with("new case EMB-"), "{said}");
    // The mail server delivers again after a hiccup: stored once.
    let again = String::from_utf8(ingest(&url, &token, raw).stdout).unwrap();
    assert!(again.starts_with("already received (EMB-"), "{again}");
    // What cannot be read is kept and the pipe still succeeds (no bounce).
    let out = ingest(&url, &token, b"\x00\x01 not mail at all");
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("quarantined #")
    );

    let list = String::from_utf8(channel(&url, &token, &["list"]).stdout).unwrap();
    assert!(
        list.contains("security@ pipe\tpipe\torg\thealthy"),
        "{list}"
    );
    assert!(
        !list.contains("last message none"),
        "the pipe carried a report: {list}"
    );
    let out = channel(&url, &token, &["add", "carrier-pigeon", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown channel kind"));
    let out = channel(&url, &token, &["remove", "security@ pipe"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8(channel(&url, &token, &["list"]).stdout)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_unreachable_server_is_a_temporary_failure_for_the_mail_server() {
    let out = ingest("http://127.0.0.1:9", "emb_x", b"From: a@b.c\r\n\r\nx\r\n");
    assert_eq!(
        out.status.code(),
        Some(75),
        "EX_TEMPFAIL: the mail server keeps it and retries"
    );
}

#[test]
fn the_compliance_report_says_what_is_kept_and_what_is_broken() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(&tmp.path().join("data"));
    let (url, token) = (server.url.clone(), server.token().unwrap());
    let report = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_embargo"))
            .arg("report")
            .args(args)
            .env("EMBARGO_SERVER", &url)
            .env("EMBARGO_TOKEN", &token)
            .output()
            .unwrap()
    };
    // No channel listed: a broken promise, and exit 1.
    let out = report(&["compliance"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "broken   reporting channels are inventoried and watched: no channel is listed"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "no data  every report is acknowledged within 24 hours: no report settled yet"
        ),
        "{text}"
    );
    // A channel listed and watched: nothing broken.
    assert!(
        channel(&url, &token, &["add", "web", "report form"])
            .status
            .success()
    );
    let out = report(&["compliance", "--project", "numpy"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("SPEC-11 compliance: numpy"));
    assert!(
        text.contains(
            "kept     reporting channels are inventoried and watched: 1 channel(s), all healthy"
        ),
        "{text}"
    );
}
