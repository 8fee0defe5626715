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

/// The screening queue with the CLI alone: mail piped in without
/// reproduction waits in screening; `case list --stage screening` lists
/// it, `case screen --answer` answers and rejects in bulk, `case pass`
/// passes one to the inbox, and `case history` shows the sender's reports.
#[test]
fn the_screening_queue_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("embargo.toml"),
        "[screening]\nrequire_reproduction = true\n",
    )
    .unwrap();
    let server = start(&dir);
    let (url, token) = (server.url.clone(), server.token().unwrap());
    let case = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_embargo"))
            .arg("case")
            .args(args)
            .env("EMBARGO_SERVER", &url)
            .env("EMBARGO_TOKEN", &token)
            .output()
            .unwrap()
    };
    let stdout = |o: Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let mut held = Vec::new();
    for n in 0..3 {
        let raw = format!(
            "From: ivy@example.net\r\nTo: security@example.org\r\nSubject: Insecure {n}\r\n\
             Message-ID: <ivy-{n}@example.net>\r\n\r\nYour library is insecure.\r\n"
        );
        let out = stdout(ingest(&url, &token, raw.as_bytes()));
        let id = out
            .split_whitespace()
            .find(|w| w.starts_with("EMB-"))
            .unwrap_or_else(|| panic!("a case id in {out}"))
            .to_owned();
        held.push(id);
    }
    let shown = stdout(case(&["show", &held[0]]));
    assert!(shown.contains("held:      no reproduction"), "{shown}");
    let listed = stdout(case(&["list", "--stage", "screening"]));
    for id in &held {
        assert!(listed.contains(&format!("{id}\tscreening")), "{listed}");
    }
    let answered = stdout(case(&[
        "screen",
        "--answer",
        "incomplete",
        &held[0],
        &held[1],
    ]));
    assert_eq!(
        answered,
        format!("{}\trejected\n{}\trejected\n", held[0], held[1])
    );
    // An unknown answer is refused, with the names.
    let bad = case(&["screen", "--answer", "go-away", &held[2]]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("`go-away` is not a canned answer"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    stdout(case(&["pass", &held[2], "--note", "Worth a look"]));
    let shown = stdout(case(&["show", &held[2]]));
    assert!(shown.contains("stage:     new "), "{shown}");
    assert!(!shown.contains("held:"), "{shown}");
    assert!(stdout(case(&["list", "--stage", "screening"])).is_empty());
    let history = stdout(case(&["history", &held[2]]));
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 2, "{history}");
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with("\trejected\tnot-reproducible")),
        "{history}"
    );
}
