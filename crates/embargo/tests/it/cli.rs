//! `embargo case …` against a running server: one case through SPEC-11's
//! steps with the CLI alone, and the CLI's errors.

use std::process::{Command, Output};

use crate::serve::start;

fn cli(url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_embargo"))
        .arg("case")
        .args(args)
        .env("EMBARGO_SERVER", url)
        .env("EMBARGO_TOKEN", token)
        .output()
        .unwrap()
}

fn ok(url: &str, token: &str, args: &[&str]) -> String {
    let out = cli(url, token, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn one_case_through_every_step_with_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(&tmp.path().join("data"));
    let (url, token) = (server.url.clone(), server.token().unwrap());
    let run = |args: &[&str]| ok(&url, &token, args);
    let org = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_embargo"))
            .arg("org")
            .args(args)
            .env("EMBARGO_SERVER", &url)
            .env("EMBARGO_TOKEN", &token)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // The people on the case need accounts, and under AMBER+STRICT the fixer
    // must maintain the affected project.
    let link = org(&[
        "invite",
        "cora@example.org",
        "--name",
        "Cora",
        "--email",
        "cora@example.org",
        "--role",
        "srt",
    ]);
    assert!(link.trim().contains("/invite/inv_"), "{link}");
    org(&[
        "invite",
        "fred@example.org",
        "--name",
        "Fred",
        "--email",
        "fred@example.org",
    ]);
    org(&[
        "project",
        "numpy",
        "--package",
        "PyPI:numpy",
        "--maintainer",
        "fred@example.org",
    ]);
    assert!(org(&["people"]).contains("fred@example.org\tmaintainer\tinvited\tFred"));
    // Release settings, changed from the CLI; what is not given stays.
    let shown = org(&["release", "numpy", "--test-command", "sh check.sh"]);
    assert!(shown.contains("test command:  sh check.sh"), "{shown}");
    let shown = org(&[
        "release",
        "numpy",
        "--announce-to",
        "numpy-announce@example.org",
    ]);
    assert!(
        shown.contains("test command:  sh check.sh")
            && shown.contains("announce to:   numpy-announce@example.org"),
        "{shown}"
    );

    let id = run(&[
        "new",
        "--project",
        "numpy",
        "--title",
        "Heap overflow in loadtxt",
        "--body",
        "PoC: ...",
        "--channel",
        "forum",
    ]);
    let id = id.trim();
    assert!(id.starts_with("EMB-"), "{id}");

    // The coordinator reviews the advisory the admin writes.
    let cora = crate::serve::token_for(&tmp.path().join("data"), "cora@example.org");
    let steps: &[&[&str]] = &[
        // 1. acknowledge
        &["ack", id],
        // 2. triage
        &[
            "triage",
            id,
            "--reproduced",
            "yes",
            "--notes",
            "Reproduced",
            "--tlp",
            "amber+strict",
            "--affected",
            "PyPI:numpy:0..1.26.4",
            "--cvss",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
            "--cvss",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "--cwe",
            "CWE-122",
            "--project-status",
            "numpy:affected",
        ],
        // 3. fixing team
        &[
            "assign",
            id,
            "--coordinator",
            "cora@example.org",
            "--fixer",
            "fred@example.org",
        ],
        // 4. timeline
        &["timeline", id, "propose"],
        &["timeline", id, "accept"],
        // 5. advisory and CVE
        &[
            "advisory",
            id,
            "--summary",
            "Heap overflow in numpy.loadtxt",
            "--details",
            "A crafted file overflows a buffer.",
            "--cve",
            "CVE-2026-12345",
        ],
        &["review", id, "submit"],
        // 6. private fork
        &[
            "fork",
            id,
            "open",
            "--url",
            "https://git.example.org/numpy-fix",
        ],
        &["fix-ready", id],
        // 7. release day
        &["release", id, "merge_fix"],
        &[
            "release",
            id,
            "patch_release",
            "--package",
            "numpy",
            "--version",
            "1.26.4",
        ],
        &["release", id, "publish_packages"],
        &["announce", id, "--approve"],
        &["publish", id, "--reason", "the fix is released"],
        &["release", id, "send_announcement"],
        &["fork", id, "close"],
        // 8. retrospective and close
        &["close", id, "--note", "Retrospective written"],
    ];
    let mut stages = Vec::new();
    for step in steps {
        if step.first() == Some(&"fork") && step.get(2) == Some(&"open") {
            // Before the fork, the coordinator approves the advisory, and
            // the author could not have.
            let own = cli(&url, &token, &["review", id, "approve"]);
            assert!(
                String::from_utf8_lossy(&own.stderr).contains("someone other than its author"),
                "{own:?}"
            );
            let line = ok(&url, &cora, &["review", id, "approve"]);
            stages.push(line.trim().rsplit(": ").next().unwrap().to_owned());
        }
        let line = run(step);
        stages.push(line.trim().rsplit(": ").next().unwrap().to_owned());
    }
    assert_eq!(
        stages.join(" → "),
        "acknowledged → triaged → fixing → fixing → fixing → fixing → fixing → fixing → fixing → scheduled → scheduled → released → released → released → disclosed → disclosed → disclosed → closed"
    );

    let show = run(&["show", id]);
    assert!(
        show.contains("stage:     closed (handling closed, embargo exited)"),
        "{show}"
    );
    assert!(show.contains("tlp:       TLP:AMBER+STRICT"), "{show}");
    for kind in [
        "report_received",
        "acknowledged",
        "triaged",
        "fixing_team_assigned",
        "timeline_accepted",
        "advisory_revised",
        "fork_opened",
        "release_step_completed",
        "published",
        "embargo_exited",
        "closed",
    ] {
        assert!(show.contains(kind), "timeline lacks {kind}:\n{show}");
    }
    assert!(run(&["list"]).starts_with(id));
    // Found by its title's words, closed as it is; not by a word it lacks.
    assert!(run(&["list", "--search", "loadtxt heap"]).starts_with(id));
    assert_eq!(run(&["list", "--search", "tokenizer"]), "");

    // The announcement, with the case's real values (no clock in it: snapshot).
    insta::assert_snapshot!(run(&["announce", id, "--dry-run"]));
    // As the lists receive it: plain text.
    let plain = run(&["announce", id, "--plain"]);
    assert!(plain.starts_with("Subject: [security] numpy"), "{plain}");
    assert!(
        plain.contains("Am I vulnerable?\n----------------"),
        "{plain}"
    );
    let plan = run(&["plan", id]);
    assert!(
        plan.contains("\"checklist\"") && plan.contains("\"announcement_sent\""),
        "{plan}"
    );

    let retro = run(&["retrospective", id]);
    assert!(
        retro.starts_with(&format!("# Retrospective: Heap overflow in loadtxt ({id})")),
        "{retro}"
    );
    assert!(
        retro.contains("| acknowledge | 0 h 0 min | 24 h 0 min | kept |"),
        "{retro}"
    );
    assert!(
        retro.contains("- cora@example.org: coordinator")
            && retro.contains("- fred@example.org: fixer"),
        "{retro}"
    );

    // OSV, to a file, valid against the official schema.
    let file = tmp.path().join("advisory.json");
    run(&[
        "export",
        id,
        "--format",
        "osv",
        "--out",
        file.to_str().unwrap(),
    ]);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(record["id"], format!("x_{id}"));
    assert_eq!(record["aliases"][0], "CVE-2026-12345");
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/schemas/osv/osv_schema.json");
    match std::fs::read_to_string(&schema) {
        Ok(text) => {
            let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
            let validator = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&record)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
        Err(_) => assert!(
            std::env::var_os("CI").is_none(),
            "{} is required in CI",
            schema.display()
        ),
    }
}

#[test]
fn cli_errors_are_clear_and_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(&tmp.path().join("data"));
    let token = server.token().unwrap();
    // A report for a project embargo does not know is refused, by name.
    let out = cli(
        &server.url,
        &token,
        &["new", "--project", "p", "--title", "t", "--body", "b"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "embargo case: there is no project `p` here; known projects: none yet besides `unassigned` (an admin adds projects on the Projects page or with POST /api/v1/projects) (invalid_input)\n"
    );
    let added = Command::new(env!("CARGO_BIN_EXE_embargo"))
        .args(["org", "project", "p"])
        .env("EMBARGO_SERVER", &server.url)
        .env("EMBARGO_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let id = ok(
        &server.url,
        &token,
        &["new", "--project", "p", "--title", "t", "--body", "b"],
    );
    let id = id.trim();

    let out = cli(&server.url, &token, &["publish", id]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "embargo case: cannot publish: the case is received (embargo none); allowed now: acknowledge, request_info, reject, add_participant, request_addition, add_note, message_reporter, record_fact (not_allowed_now)\n"
    );

    let out = cli(&server.url, "emb_wrong", &["show", id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the API token is not valid (unauthorized)")
    );

    let out = cli("http://127.0.0.1:9", &token, &["show", id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach embargo at http://127.0.0.1:9")
    );

    let out = Command::new(env!("CARGO_BIN_EXE_embargo"))
        .args(["case", "show", id])
        .env_remove("EMBARGO_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no API token"));
}
