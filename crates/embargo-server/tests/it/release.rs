//! From fix to disclosure, against real parts: the scheduled publication
//! under the manual clock (public feeds, the announcement at a real local
//! SMTP server, GitHub's advisory published through a local server that
//! follows GitHub's published REST description, since GitHub cannot run
//! here), exactly once, also across a restart; the built-in private fork
//! over git's smart HTTP with per-case credentials, CI on push, and its
//! removal at disclosure; a multi-project case where each team sees its
//! part; distributors' encrypted embargo notices (decrypted with GnuPG);
//! timeline changes reaching the reporter.

use std::{
    path::Path,
    process::Command,
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};

use crate::{
    advisories::{Fake, run, start_fake, wait_for},
    app::{TestApp, between},
    gpg::Gpg,
    mailserver::MailServer,
};

fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    app.api(token, "GET", path, None)
}

/// Moves the manual clock to `at` (signing people up has moved it on a
/// little since the start).
fn advance_to(app: &TestApp, at: &str) {
    let at: jiff::Timestamp = at.parse().unwrap();
    let secs = at.duration_since(app.now()).as_secs();
    assert!(secs > 0, "{at} is already past");
    app.advance(secs);
}

fn subject_of(mail: &str) -> String {
    mail.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A numpy case with an approved advisory (GHSA id, mitigation), accepted
/// with `admin` coordinating and `fixers` fixing; not disclosed. Its id and
/// the reporter's status link.
fn approved_case(
    app: &TestApp,
    reviewer: &str,
    fixers: &[&str],
    reporter: Option<&str>,
) -> (String, String) {
    let admin = app.admin_token.clone();
    let mut report = json!({"project": "numpy", "title": "Heap overflow in loadtxt",
        "body": "Load crafted.txt"});
    if let Some(r) = reporter {
        report["reporter_email"] = json!(r);
    }
    let (status, case) = app.api(&admin, "POST", "/api/v1/cases", Some(report));
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    let status_url = case["status_url"].as_str().unwrap().to_owned();
    for step in [
        json!({"command": "acknowledge", "message": "Thanks"}),
        json!({"command": "triage", "reproduced": "yes", "notes": "reproduced", "tlp": "AMBER",
               "affected": ["PyPI:numpy:1.22.0..1.26.4"], "cvss_v31": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"}),
        json!({"command": "assign_fixing_team", "coordinator": "admin", "fixers": fixers}),
        json!({"command": "assign_cve", "cve": "CVE-2026-12345"}),
        json!({"command": "revise_advisory", "base_revision": 0, "summary": "Heap overflow in numpy.loadtxt",
               "details": "A crafted file makes `loadtxt` write past a buffer.", "ghsa": "GHSA-abcd-efgh-2345",
               "mitigation": "Do not pass untrusted files to `loadtxt`.",
               "upgrade": "pip install --upgrade 'numpy>=1.26.4'",
               "affected": [{"ecosystem": "PyPI", "name": "numpy", "ranges": ["1.22.0..1.26.4"]}]}),
        json!({"command": "submit_advisory", "revision": 1}),
    ] {
        run(app, &admin, &id, step);
    }
    run(
        app,
        reviewer,
        &id,
        json!({"command": "approve_advisory", "revision": 1}),
    );
    (id, status_url)
}

/// Waits for a message to `user` with `subject`; returns it.
fn wait_subject(mail: &MailServer, user: &str, subject: &str) -> String {
    let mut found = None;
    wait_for(subject, || {
        found = mail
            .mailbox(user, 0)
            .into_iter()
            .find(|m| subject_of(m) == subject);
        found.is_some()
    });
    found.unwrap()
}

/// The fix is ready, numpy 1.26.4 released, the case published (by the
/// admin, its coordinator).
fn release_and_publish(app: &TestApp, id: &str) {
    for step in [
        json!({"command": "mark_fix_ready"}),
        json!({"command": "complete_release_step", "step": "patch_release", "package": "numpy", "version": "1.26.4"}),
        json!({"command": "publish", "reason": "the fix is released"}),
    ] {
        run(app, &app.admin_token, id, step);
    }
}

fn put_numpy(app: &TestApp) {
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/projects",
        Some(
            json!({"name": "numpy", "repositories": ["https://github.com/numpy/numpy"],
                    "packages": ["PyPI:numpy"], "series": ["1.26"]}),
        ),
    );
    assert_eq!(status, 201, "{body}");
}

fn public(app: &TestApp, path: &str) -> (u16, String) {
    let (status, body) = app.api("none", "GET", path, None);
    (status, body.to_string())
}

fn count_kind(app: &TestApp, id: &str, kind: &str) -> usize {
    let (_, events) = get(app, &app.admin_token, &format!("/api/v1/cases/{id}/events"));
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .count()
}

/// Publication at the disclosure moment, with a second server of the
/// deployment running beside the first (both schedulers, one lease): the
/// advisory is public on both, and the announcement, the GitHub advisory
/// and the events happen once, also after the first is killed and started
/// again.
#[test]
fn publication_at_the_moment_goes_out_once_with_two_servers_and_across_a_restart() {
    let mail = MailServer::start();
    let github = Arc::new(Mutex::new(Fake::default()));
    let api = start_fake(github.clone());
    github.lock().unwrap().answers.push((
        "PATCH /repos/numpy/numpy/security-advisories/GHSA-abcd-efgh-2345".into(),
        200,
        json!({"ghsa_id": "GHSA-abcd-efgh-2345", "state": "published"}),
    ));
    let mut app = TestApp::start_with(&format!(
        "{}[release]\nannounce_to = [\"numpy-announce@example.org\"]\n\
         [cve]\ngithub_api_url = \"{api}\"\ngithub_token = \"ghp_test\"\n",
        mail.smtp_config()
    ));
    put_numpy(&app);
    let reviewer = app.token_of("rev", "srt");
    let admin = app.admin_token.clone();
    let (id, _) = approved_case(&app, &reviewer, &["rev"], None);
    for step in [
        json!({"command": "mark_fix_ready"}),
        json!({"command": "complete_release_step", "step": "patch_release", "package": "numpy", "version": "1.26.4"}),
        // The preview, approved as it stands.
        json!({"command": "approve_announcement"}),
        // Thursday 2026-03-05 16:00 UTC; the clock stands at Monday 09:00.
        json!({"command": "propose_timeline", "disclose_at": "2026-03-05T16:00:00Z"}),
        json!({"command": "accept_timeline"}),
    ] {
        run(&app, &admin, &id, step);
    }
    let (_, plan) = get(&app, &admin, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["disclose_at"], "2026-03-05T16:00:00Z");
    assert!(
        plan["in_zones"]
            .as_array()
            .unwrap()
            .iter()
            .any(|z| z[1] == "2026-03-05 08:00 PST (-08:00)"),
        "{plan}"
    );

    let second = app.second_server();
    // One minute before the moment: nothing is public, nothing is sent.
    advance_to(&app, "2026-03-05T15:59:00Z");
    app.pump();
    assert_eq!(public(&app, &format!("/advisories/{id}")).0, 404);
    for feed in [
        "/osv/all.json",
        "/advisories.atom",
        "/.well-known/csaf/white/index.txt",
    ] {
        let (status, body) = public(&app, feed);
        assert_eq!(status, 200, "{feed}");
        assert!(
            !body.contains(&id) && !body.contains("loadtxt"),
            "{feed}: {body}"
        );
    }
    assert!(mail.mailbox("numpy-announce@example.org", 0).is_empty());
    assert!(github.lock().unwrap().seen.is_empty());
    assert_eq!(count_kind(&app, &id, "published"), 0);

    // At the moment: everything together.
    app.advance(60);
    wait_for("publication", || {
        get(&app, &admin, &format!("/api/v1/cases/{id}")).1["stage"] == "disclosed"
    });
    assert_eq!(public(&app, &format!("/advisories/{id}")).0, 200);
    for feed in ["/osv/all.json", "/advisories.atom"] {
        assert!(public(&app, feed).1.contains(&id), "{feed}");
    }
    let (status, _) = app.api_at(&second, "none", "GET", &format!("/advisories/{id}"), None);
    assert_eq!(status, 200, "public on the second server too");
    let mails = mail.mailbox("numpy-announce@example.org", 1);
    // Read as the recipient does: quoted-printable undone, LF line ends.
    let announcement = &mails[0]
        .replace("\r\n", "\n")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert_eq!(
        subject_of(announcement),
        "[security] numpy 1.26.4 fixes CVE-2026-12345"
    );
    assert!(
        announcement.contains("Content-Type: text/plain"),
        "{announcement}"
    );
    for part in [
        "Am I vulnerable?\n----------------",
        "versions from 1.22.0 before 1.26.4; upgrade to 1.26.4 or later.",
        "Do not pass untrusted files to loadtxt.",
        "pip install --upgrade 'numpy>=1.26.4'",
    ] {
        assert!(announcement.contains(part), "{part} in {announcement}");
    }
    assert!(!announcement.contains("## "), "plain text, not Markdown");
    wait_for("the GitHub advisory published", || {
        !github.lock().unwrap().seen.is_empty()
    });
    {
        let seen = &github.lock().unwrap().seen;
        assert_eq!(seen[0].0, "PATCH");
        assert_eq!(seen[0].3, json!({"state": "published"}));
        assert_eq!(seen[0].2["authorization"], "Bearer ghp_test");
    }
    wait_for("the announcement recorded", || {
        count_kind(&app, &id, "announcement_sent") == 1
    });

    // Killed and restarted, an hour later: nothing goes out again.
    app.restart();
    app.advance(3600);
    app.pump();
    assert_eq!(mail.mailbox("numpy-announce@example.org", 1).len(), 1);
    assert_eq!(github.lock().unwrap().seen.len(), 1);
    assert_eq!(count_kind(&app, &id, "published"), 1);
    assert_eq!(count_kind(&app, &id, "announcement_sent"), 1);
    let (_, plan) = get(&app, &admin, &format!("/api/v1/cases/{id}/release"));
    let checklist = plan["checklist"].as_array().unwrap();
    assert!(
        checklist
            .iter()
            .filter(|i| i[0] != "merge the fix from the private fork"
                && i[0] != "publish binaries and packages")
            .all(|i| i[1].is_string()),
        "patch release, advisory and announcement are done: {plan}"
    );

    // Three days after the release the retrospective is drafted from the
    // log and kept with the case; the SRT edits it.
    assert_eq!(count_kind(&app, &id, "retrospective_written"), 0);
    app.advance(3 * 86400);
    wait_for("the retrospective drafted", || {
        count_kind(&app, &id, "retrospective_written") == 1
    });
    let (_, retro) = get(&app, &admin, &format!("/api/v1/cases/{id}/retrospective"));
    let retro = retro.as_str().unwrap().to_owned();
    assert!(retro.starts_with(&format!("# Retrospective: Heap overflow in loadtxt ({id})")));
    assert!(
        retro.contains("| disclose (from the report) | 3 days 6 h |"),
        "{retro}"
    );
    assert!(
        retro.contains("announcement sent by system:release"),
        "{retro}"
    );
    let edited = retro.replace(
        "## What went well\n\n(To be written by the SRT.)",
        "## What went well\n\nThe slot held; distributors were ready.",
    );
    run(
        &app,
        &admin,
        &id,
        json!({"command": "write_retrospective", "text": edited}),
    );
    let (_, kept) = get(&app, &admin, &format!("/api/v1/cases/{id}/retrospective"));
    assert!(kept.as_str().unwrap().contains("The slot held"));
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("git")
        .args(["-c", "user.name=Fay", "-c", "user.email=fay@example.org"])
        .args(["-c", "credential.helper=", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git is installed");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

pub(crate) fn ok(dir: &Path, args: &[&str]) {
    let (success, output) = git(dir, args);
    assert!(success, "git {args:?}: {output}");
}

/// An upstream repository whose test passes once `src.txt` says "fixed".
pub(crate) fn upstream() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("src.txt"), "buggy\n").unwrap();
    std::fs::write(
        dir.path().join("check.sh"),
        "echo \"testing in $PWD\"\ngrep -q fixed src.txt && echo all tests passed\n",
    )
    .unwrap();
    ok(dir.path(), &["add", "."]);
    ok(dir.path(), &["commit", "-q", "-m", "initial"]);
    dir
}

fn ci_runs(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    get(app, token, &format!("/api/v1/cases/{id}/release")).1["ci_runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn built_in_fork_runs_ci_on_push_admits_only_the_team_and_is_gone_after_disclosure() {
    let upstream = upstream();
    let app = TestApp::start_with(&format!(
        "[release.projects.numpy]\nupstream = \"{}\"\ntest_command = \"sh check.sh\"\n",
        upstream.path().display()
    ));
    let reviewer = app.token_of("rev", "srt");
    let fay = app.token_of("fay", "maintainer");
    let olga = app.token_of("olga", "maintainer");
    let admin = app.admin_token.clone();
    let (id, _) = approved_case(&app, &reviewer, &["fay"], None);

    run(
        &app,
        &fay,
        &id,
        json!({"command": "open_private_fork", "host": "builtin"}),
    );
    // The request is in the log; its job makes the fork.
    app.pump();
    let (status, cred) = app.api(
        &fay,
        "POST",
        &format!("/api/v1/cases/{id}/fork-credential"),
        Some(json!({})),
    );
    assert_eq!(status, 200, "{cred}");
    let url = cred["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/git/{id}/numpy.git", app.url));
    let password = cred["password"].as_str().unwrap();
    let with =
        |user: &str, pass: &str| url.replacen("http://", &format!("http://{user}:{pass}@"), 1);

    // The fixer clones over HTTP with the case credential, fixes, pushes.
    let work = tempfile::tempdir().unwrap();
    ok(
        work.path(),
        &["clone", "-q", &with("fay", password), "fork"],
    );
    let fork = work.path().join("fork");
    assert_eq!(
        std::fs::read_to_string(fork.join("src.txt")).unwrap(),
        "buggy\n"
    );
    std::fs::write(fork.join("src.txt"), "fixed\n").unwrap();
    ok(&fork, &["commit", "-q", "-am", "Fix the overflow"]);
    ok(&fork, &["push", "-q", "origin", "main"]);
    let (_, head) = git(&fork, &["rev-parse", "HEAD"]);
    let head = head.trim().to_owned();
    wait_for("CI on the fix", || {
        ci_runs(&app, &fay, &id).iter().any(|r| r["commit"] == head)
    });
    let runs = ci_runs(&app, &fay, &id);
    let run_ = runs.iter().find(|r| r["commit"] == head).unwrap();
    assert_eq!(run_["passed"], true, "{run_}");
    assert_eq!(run_["reference"], "main");
    assert!(
        run_["output"]
            .as_str()
            .unwrap()
            .contains("all tests passed"),
        "{run_}"
    );
    assert!(
        run_["output"].as_str().unwrap().contains("embargo-ci-"),
        "ran in its own temporary directory: {run_}"
    );

    // A broken branch fails, and says so on the case.
    ok(&fork, &["checkout", "-q", "-b", "variant"]);
    std::fs::write(fork.join("src.txt"), "still buggy\n").unwrap();
    ok(&fork, &["commit", "-q", "-am", "Try another way"]);
    ok(&fork, &["push", "-q", "origin", "variant"]);
    wait_for("CI on the variant", || {
        ci_runs(&app, &fay, &id)
            .iter()
            .any(|r| r["reference"] == "variant")
    });
    let variant = ci_runs(&app, &fay, &id)
        .into_iter()
        .find(|r| r["reference"] == "variant")
        .unwrap();
    assert_eq!(variant["passed"], false, "{variant}");
    // The case page shows the results too.
    let (mut srt, _) = app.person("cora", "srt");
    let page = srt.get(&format!("/cases/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("CI on the built-in forks")
            && page.body.contains(&head[..12])
            && page.body.contains("<strong>failed</strong>"),
        "{}",
        page.body
    );
    let (_, events) = get(&app, &admin, &format!("/api/v1/cases/{id}/events"));
    assert_eq!(
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "ci_reported")
            .count(),
        2
    );

    // Someone not on the case gets no credential (the case does not exist
    // for them), and nobody gets in with a wrong or borrowed one.
    let (status, _) = app.api(
        &olga,
        "POST",
        &format!("/api/v1/cases/{id}/fork-credential"),
        Some(json!({})),
    );
    assert_eq!(status, 404);
    let elsewhere = tempfile::tempdir().unwrap();
    for (user, pass) in [("olga", password), ("fay", "0000"), ("admin", password)] {
        let (success, output) = git(elsewhere.path(), &["ls-remote", &with(user, pass)]);
        assert!(!success, "{user} got in: {output}");
        assert!(
            output.contains("401") || output.contains("Authentication failed"),
            "{output}"
        );
    }
    let (success, _) = git(elsewhere.path(), &["ls-remote", url]);
    assert!(!success, "no anonymous access");

    // Release day: once the fix (the head that passed CI) is in upstream,
    // "merge the fix" ticks itself.
    run(&app, &fay, &id, json!({"command": "mark_fix_ready"}));
    let merged = |app: &TestApp| {
        get(app, &admin, &format!("/api/v1/cases/{id}/release")).1["checklist"][0][1].is_string()
    };
    let pumped = app.pump();
    assert!(pumped.jobs >= 1, "the merge check ran: {pumped:?}");
    assert!(!merged(&app), "not in upstream yet");
    ok(
        upstream.path(),
        &["fetch", "-q", fork.to_str().unwrap(), "main"],
    );
    ok(upstream.path(), &["merge", "-q", "--ff-only", "FETCH_HEAD"]);
    app.advance(599);
    app.pump();
    assert!(!merged(&app), "compared again only in the next ten minutes");
    app.advance(2); // the next comparison
    app.pump();
    assert!(merged(&app), "the merge found upstream");

    // Disclosure removes the repository.
    for step in [
        json!({"command": "complete_release_step", "step": "patch_release", "package": "numpy", "version": "1.26.4"}),
        json!({"command": "publish", "reason": "the fix is released"}),
    ] {
        run(&app, &admin, &id, step);
    }
    // The publication woke the scheduler in its own transaction; its next
    // pass (a second later on a server) removes the fork.
    app.pump();
    let (_, plan) = get(&app, &admin, &format!("/api/v1/cases/{id}/release"));
    assert!(plan["forks"][0]["closed_at"].is_string(), "{plan}");
    assert!(
        !app.data_dir()
            .join("forks")
            .join(&id)
            .join("numpy.git")
            .exists()
    );
    let (success, output) = git(elsewhere.path(), &["ls-remote", &with("fay", password)]);
    assert!(!success, "the fork is gone: {output}");
}

#[test]
fn each_project_team_sees_its_part_and_distributors_hear_before_the_moment() {
    let mail = MailServer::start();
    let debian = Gpg::new();
    debian.run(
        &[
            "--quick-gen-key",
            "debian@example.org",
            "future-default",
            "default",
            "never",
        ],
        b"",
    );
    let key =
        String::from_utf8(debian.run(&["--export", "--armor", "debian@example.org"], b"")).unwrap();
    let app = TestApp::start_with(&format!(
        "{}[release.projects.scipy]\nprenotify_days = 3\n\
         [[release.projects.scipy.distributors]]\nname = \"debian\"\nemail = \"debian@example.org\"\nkey = \"\"\"{key}\"\"\"\n",
        mail.smtp_config()
    ));
    let reviewer = app.token_of("rev", "srt");
    let fay = app.token_of("fay", "maintainer");
    let (mut sid_browser, _) = app.person("sid", "maintainer");
    let page = sid_browser.post("/account/tokens", &[]);
    let sid = format!("emb_{}", between(&page.body, "shown only now: emb_", "<"));
    let admin = app.admin_token.clone();
    let (id, status_url) = approved_case(&app, &reviewer, &["fay"], Some("lin@example.net"));
    run(
        &app,
        &admin,
        &id,
        json!({"command": "assign_project_team", "project": "scipy", "fixers": ["sid"]}),
    );
    run(
        &app,
        &fay,
        &id,
        json!({"command": "add_note", "text": "numpy: patch the tokenizer"}),
    );
    run(
        &app,
        &sid,
        &id,
        json!({"command": "add_note", "text": "scipy: vendored copy in scipy.io"}),
    );
    run(
        &app,
        &sid,
        &id,
        json!({"command": "open_private_fork", "project": "scipy", "url": "https://git.example.org/scipy-fix"}),
    );
    run(
        &app,
        &admin,
        &id,
        json!({"command": "add_note", "text": "both: release together"}),
    );
    // fay may not reach into scipy's part.
    let (status, body) = app.api(
        &fay,
        "POST",
        &format!("/api/v1/cases/{id}/commands"),
        Some(json!({"command": "close_private_fork", "project": "scipy"})),
    );
    assert_eq!(status, 422, "{body}");

    let seen = |token: &str| -> String {
        let (status, events) = get(&app, token, &format!("/api/v1/cases/{id}/events"));
        assert_eq!(status, 200);
        events.to_string()
    };
    let for_fay = seen(&fay);
    assert!(
        for_fay.contains("numpy: patch the tokenizer")
            && for_fay.contains("both: release together")
    );
    assert!(
        !for_fay.contains("scipy: vendored") && !for_fay.contains("scipy-fix"),
        "{for_fay}"
    );
    let for_sid = seen(&sid);
    assert!(
        for_sid.contains("scipy: vendored")
            && for_sid.contains("scipy-fix")
            && for_sid.contains("both: release")
    );
    assert!(!for_sid.contains("numpy: patch"), "{for_sid}");
    let for_admin = seen(&admin);
    assert!(for_admin.contains("numpy: patch") && for_admin.contains("scipy: vendored"));
    // The case page and the release plan keep to the same parts.
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["part"], "numpy");
    assert_eq!(plan["forks"], json!([]));
    let (_, plan) = get(&app, &sid, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["forks"][0]["url"], "https://git.example.org/scipy-fix");
    // The retrospective covers both projects: not for one team alone.
    let (status, _) = get(&app, &sid, &format!("/api/v1/cases/{id}/retrospective"));
    assert_eq!(status, 403);
    let page = sid_browser.get(&format!("/cases/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("scipy: vendored") && page.body.contains("scipy-fix"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("numpy: patch")
            && !page.body.contains("fixers fay")
            && !page.body.contains("<li>fay (fixer)</li>")
            && page.body.contains("<li>sid (fixer)</li>"),
        "another team's notes and people: {}",
        page.body
    );

    // One disclosure moment for both projects; the reporter hears of it.
    run(
        &app,
        &admin,
        &id,
        json!({"command": "propose_timeline", "disclose_at": "2026-03-12T16:00:00Z"}),
    );
    run(&app, &admin, &id, json!({"command": "accept_timeline"}));
    wait_subject(
        &mail,
        "lin@example.net",
        &format!("[{id}] A disclosure date is proposed"),
    );
    // The status page shows it too, in several zones.
    let path = status_url.strip_prefix(&app.url).unwrap();
    let page = app.browser().get(path);
    assert!(
        page.body.contains("Disclosure agreed for:")
            && page.body.contains("2026-03-12 16:00 UTC")
            && page.body.contains("2026-03-13 01:00 JST"),
        "{}",
        page.body
    );
    // Everyone on the case hears too (by their notification preferences).
    wait_subject(
        &mail,
        "sid@example.org",
        &format!("[{id}] The disclosure date is agreed"),
    );
    let agreed = wait_subject(
        &mail,
        "lin@example.net",
        &format!("[{id}] The disclosure date is agreed"),
    );
    assert!(
        agreed.contains("2026-03-12 16:00 UTC") && agreed.contains("2026-03-12 12:00 EDT"),
        "{agreed}"
    );

    // Distributors: three days before, not a minute earlier: the notice
    // is due 2026-03-09 16:00.
    advance_to(&app, "2026-03-09T15:59:00Z");
    app.pump();
    let early = mail.mailbox("debian@example.org", 0);
    assert!(
        early.is_empty(),
        "{}",
        get(&app, &admin, &format!("/api/v1/cases/{id}/release")).1
    );
    app.advance(120);
    let notices = mail.mailbox("debian@example.org", 1);
    let notice = &notices[0];
    assert!(
        !notice.contains("loadtxt") && !notice.contains("CVE-2026"),
        "nothing in clear: {notice}"
    );
    let decrypt = |m: &str| {
        let start = m.find("-----BEGIN PGP MESSAGE-----").unwrap();
        let end = m.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
        String::from_utf8(debian.run(
            &["--decrypt"],
            m[start..end].replace("\r\n", "\n").as_bytes(),
        ))
        .unwrap()
    };
    let text = decrypt(notice);
    for field in [
        "Summary: Heap overflow in numpy.loadtxt",
        "CVE: CVE-2026-12345",
        "Severity: High 8.8 (CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H)",
        "numpy (PyPI): affected 1.22.0..1.26.4; fixed in 1.26.4",
        "Mitigation: Do not pass untrusted files to `loadtxt`.",
        "UTC: 2026-03-12 16:00 UTC",
        "DO NOT SHARE",
    ] {
        assert!(text.contains(field), "{field} in {text}");
    }

    // The date moves: a revised notice at once, and the reporter is told.
    run(
        &app,
        &admin,
        &id,
        json!({"command": "propose_timeline", "disclose_at": "2026-03-16T16:00:00Z"}),
    );
    run(&app, &admin, &id, json!({"command": "accept_timeline"}));
    let notices = mail.mailbox("debian@example.org", 2);
    let revised = notices
        .iter()
        .map(|m| decrypt(m))
        .find(|t| t.contains("MOVED"))
        .expect("a revised notice");
    assert!(revised.contains("UTC: 2026-03-16 16:00 UTC"), "{revised}");
    wait_for("the reporter told of the new date", || {
        mail.mailbox("lin@example.net", 0)
            .iter()
            .any(|m| m.contains("2026-03-16 16:00 UTC") && subject_of(m).ends_with("is agreed"))
    });
    let (_, plan) = get(&app, &admin, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(
        plan["embargo_notices"].as_array().unwrap().len(),
        2,
        "{plan}"
    );

    // Each person's deadlines as a private calendar feed: the moment, and
    // the clocks still running; ids and times, nothing of the report.
    let calendar = |token: &str| -> String {
        let (status, body) = app.api(token, "POST", "/api/v1/calendar", None);
        assert_eq!(status, 200, "{body}");
        let url = body["url"].as_str().unwrap();
        let path = url.strip_prefix(&app.url).unwrap();
        let (status, feed) = app.api("none", "GET", path, None);
        assert_eq!(status, 200);
        feed.as_str().unwrap().to_owned()
    };
    let feed = calendar(&sid);
    assert!(
        feed.starts_with("BEGIN:VCALENDAR\r\n") && feed.ends_with("END:VCALENDAR\r\n"),
        "{feed}"
    );
    assert!(
        feed.contains(&format!("SUMMARY:Disclosure: {id}\r\n")),
        "{feed}"
    );
    assert!(
        feed.contains("DTSTART:20260316T160000Z"),
        "the moved moment: {feed}"
    );
    assert!(feed.contains(&format!("SUMMARY:Fix due: {id}")), "{feed}");
    assert!(
        !feed.contains("loadtxt") && !feed.contains("Heap"),
        "{feed}"
    );
    let olga = app.token_of("olga", "maintainer");
    assert!(!calendar(&olga).contains(&id), "not on olga's calendar");
    // A new address replaces the old one.
    let (_, first) = app.api(&sid, "POST", "/api/v1/calendar", None);
    let (_, _second) = app.api(&sid, "POST", "/api/v1/calendar", None);
    let old = first["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&app.url)
        .unwrap()
        .to_owned();
    assert_eq!(app.api("none", "GET", &old, None).0, 404);

    // The fix is ready: the reporter is asked to retest it.
    run(&app, &admin, &id, json!({"command": "mark_fix_ready"}));
    let ask = wait_subject(
        &mail,
        "lin@example.net",
        &format!("[{id}] A fix is ready: please retest"),
    );
    assert!(ask.contains("status page"), "{ask}");
    // Lifted before the moment: refused without a reason; with one, the
    // reporter and the distributor who was told are told why.
    run(
        &app,
        &admin,
        &id,
        json!({"command": "complete_release_step", "step": "patch_release", "package": "numpy", "version": "1.26.4"}),
    );
    let (status, refused) = app.api(
        &admin,
        "POST",
        &format!("/api/v1/cases/{id}/commands"),
        Some(json!({"command": "publish"})),
    );
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("publishing earlier lifts it, which needs a reason"),
        "{refused}"
    );
    run(
        &app,
        &admin,
        &id,
        json!({"command": "publish", "reason": "the fix leaked on a public mirror"}),
    );
    app.pump();
    let lifted = wait_subject(
        &mail,
        "lin@example.net",
        &format!("[{id}] The embargo is lifted: the advisory is public"),
    );
    assert!(
        lifted.contains("the fix leaked on a public mirror"),
        "{lifted}"
    );
    let notices = mail.mailbox("debian@example.org", 3);
    let told = notices
        .iter()
        .map(|m| decrypt(m))
        .find(|t| t.contains("was lifted before the agreed moment"))
        .expect("the distributor told of the lift");
    assert!(
        told.contains("Why: the fix leaked on a public mirror"),
        "{told}"
    );
}

/// GitHub's answers to "Create a temporary private fork" (202, the fork)
/// and to making the fixers collaborators on the advisory (200).
fn fork_made(g: &mut Fake) {
    g.answers.push((
        GITHUB_FORKS.into(),
        202,
        json!({"full_name": "numpy/numpy-ghsa-abcd-efgh-2345", "private": true,
               "html_url": "https://github.com/numpy/numpy-ghsa-abcd-efgh-2345"}),
    ));
    g.answers.push((
        "PATCH /repos/numpy/numpy/security-advisories/GHSA-abcd-efgh-2345".into(),
        200,
        json!({"ghsa_id": "GHSA-abcd-efgh-2345"}),
    ));
}

/// GitHub's "Create a temporary private fork" for the case's advisory.
const GITHUB_FORKS: &str = "POST /repos/numpy/numpy/security-advisories/GHSA-abcd-efgh-2345/forks";

/// A server whose GitHub is the local one at `api` (GitHub itself cannot
/// run here), an approved numpy case whose fixer fay has asked for
/// GitHub's private fork, and the outbox pumped once: the app, fay's token
/// and the case's id.
fn github_fork_asked(api: &str) -> (TestApp, String, String) {
    let app = TestApp::start_with(&format!(
        "[cve]\ngithub_api_url = \"{api}\"\ngithub_token = \"ghp_test\"\n"
    ));
    put_numpy(&app);
    let reviewer = app.token_of("rev", "srt");
    let fay = app.token_of("fay", "maintainer");
    let (id, _) = approved_case(&app, &reviewer, &["fay"], None);
    run(
        &app,
        &fay,
        &id,
        json!({"command": "open_private_fork", "host": "github"}),
    );
    app.pump();
    (app, fay, id)
}

/// GitHub busy (503) is not GitHub refusing: the attempt fails, the
/// request still waits (no `fork_failed` on the case), and the outbox's
/// retry makes the fork. A 422 is a refusal, recorded with GitHub's reason.
#[test]
fn a_github_fork_answered_503_is_retried_and_one_answered_422_is_recorded() {
    // A local server following GitHub's REST description of repository
    // advisories: GitHub itself cannot run here.
    let github = Arc::new(Mutex::new(Fake::default()));
    let api = start_fake(github.clone());
    {
        let mut g = github.lock().unwrap();
        g.answers.push((
            GITHUB_FORKS.into(),
            503,
            json!({"message": "Service unavailable"}),
        ));
        fork_made(&mut g);
    }
    let (app, fay, id) = github_fork_asked(&api);
    let tried = github.lock().unwrap().seen.len();
    assert_eq!(tried, 1, "GitHub was asked once");
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["forks"], json!([]), "{plan}");
    assert_eq!(
        plan["fork_failures"],
        json!([]),
        "not recorded as refused: {plan}"
    );
    assert_eq!(
        plan["fork_requests"].as_array().map(Vec::len),
        Some(1),
        "{plan}"
    );
    // The first retry comes 30 s later.
    app.advance(31);
    app.pump();
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(
        plan["forks"][0]["url"], "https://github.com/numpy/numpy-ghsa-abcd-efgh-2345",
        "{plan}"
    );
    assert_eq!(plan["fork_failures"], json!([]), "{plan}");
    // Closed and asked for again, GitHub refuses for good: recorded.
    run(&app, &fay, &id, json!({"command": "close_private_fork"}));
    github.lock().unwrap().answers.push((
        GITHUB_FORKS.into(),
        422,
        json!({"message": "Forks are disabled for this advisory"}),
    ));
    run(
        &app,
        &fay,
        &id,
        json!({"command": "open_private_fork", "host": "github"}),
    );
    app.pump();
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert!(
        plan["fork_failures"][0][1]
            .as_str()
            .is_some_and(|r| r.contains("422") && r.contains("Forks are disabled")),
        "{plan}"
    );
    assert_eq!(plan["fork_requests"], json!([]), "{plan}");
}

/// GitHub down at every one of the outbox's ten attempts: the last one
/// records the outage as the reason, so the request does not wait for a
/// job that was given up.
#[test]
fn a_github_fork_down_at_every_attempt_is_recorded_as_given_up() {
    let github = Arc::new(Mutex::new(Fake::default()));
    let api = start_fake(github.clone());
    for _ in 0..10 {
        github.lock().unwrap().answers.push((
            GITHUB_FORKS.into(),
            503,
            json!({"message": "Service unavailable"}),
        ));
    }
    let (app, fay, id) = github_fork_asked(&api);
    let plan = || get(&app, &fay, &format!("/api/v1/cases/{id}/release")).1;
    // Each retry waits longer, an hour at most.
    for tried in 1..10 {
        assert_eq!(github.lock().unwrap().seen.len(), tried);
        let now = plan();
        assert_eq!(now["fork_failures"], json!([]), "after {tried}: {now}");
        assert_eq!(
            now["fork_requests"].as_array().map(Vec::len),
            Some(1),
            "{now}"
        );
        app.advance(3_600);
        app.pump();
    }
    assert_eq!(github.lock().unwrap().seen.len(), 10);
    let now = plan();
    assert!(
        now["fork_failures"][0][1]
            .as_str()
            .is_some_and(|r| r.contains("given up after 10 attempts") && r.contains("503")),
        "{now}"
    );
    assert_eq!(now["fork_requests"], json!([]), "{now}");
}

#[test]
fn github_temporary_fork_for_the_team_and_gone_after_publication() {
    // A local server following GitHub's REST description of repository
    // advisories ("Create a temporary private fork", "Update a repository
    // security advisory"): GitHub itself cannot run here.
    let github = Arc::new(Mutex::new(Fake::default()));
    let api = start_fake(github.clone());
    {
        let mut g = github.lock().unwrap();
        fork_made(&mut g);
        g.answers.push((
            "PATCH /repos/numpy/numpy/security-advisories/GHSA-abcd-efgh-2345".into(),
            200,
            json!({"ghsa_id": "GHSA-abcd-efgh-2345", "state": "published"}),
        ));
        // Afterwards the fork is gone: GitHub answers 404 (unscripted).
    }
    let (app, fay, id) = github_fork_asked(&api);
    let admin = app.admin_token.clone();
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(
        plan["forks"][0]["url"],
        "https://github.com/numpy/numpy-ghsa-abcd-efgh-2345"
    );
    assert_eq!(plan["forks"][0]["host"], "github");
    {
        let g = github.lock().unwrap();
        assert_eq!(g.seen[0].0, "POST");
        assert_eq!(g.seen[1].0, "PATCH");
        assert_eq!(g.seen[1].3, json!({"collaborating_users": ["fay"]}));
    }
    release_and_publish(&app, &id);
    let gone = || {
        get(&app, &admin, &format!("/api/v1/cases/{id}/release")).1["forks"][0]["closed_at"]
            .is_string()
    };
    for _ in 0..600 {
        if gone() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if !gone() {
        // Say what happened: the requests GitHub saw, and the case's log.
        let seen: Vec<(String, String)> = github
            .lock()
            .unwrap()
            .seen
            .iter()
            .map(|(m, p, ..)| (m.clone(), p.clone()))
            .collect();
        let (mut srt, _) = app.person("ops", "srt");
        let page = srt.get(&format!("/cases/{id}"));
        panic!(
            "the fork was not recorded gone; GitHub saw {seen:?}; the case page says {}",
            page.body
        );
    }
    let g = github.lock().unwrap();
    assert_eq!(g.seen[2].3, json!({"state": "published"}));
    assert_eq!(g.seen[3].0, "GET");
    assert_eq!(g.seen[3].1, "/repos/numpy/numpy-ghsa-abcd-efgh-2345");
}

/// numpy's own announcement template (TOML), for the case-page test.
const TEMPLATE: &str = "announcement_template = \"Subject: numpy {{ versions | join(', ') }} is out\\n\\nDear NumPy users: {{ vulnerabilities[0].summary }}.\"\n";

#[test]
fn release_work_from_the_case_page() {
    let upstream = upstream();
    let app = TestApp::start_with(&format!(
        "[release.projects.numpy]\nupstream = \"{}\"\ntest_command = \"sh check.sh\"\n{TEMPLATE}",
        upstream.path().display()
    ));
    let reviewer = app.token_of("rev", "srt");
    let admin = app.admin_token.clone();
    let (id, _) = approved_case(&app, &reviewer, &["rev"], None);
    // numpy's own announcement template replaces the built-in one.
    let (status, preview) = get(&app, &admin, &format!("/api/v1/cases/{id}/announcement"));
    assert_eq!(status, 200);
    assert_eq!(
        preview,
        "Subject: numpy 1.26.4 is out\n\nDear NumPy users: Heap overflow in numpy.loadtxt."
    );
    let (mut srt, _) = app.person("cora", "srt");
    let case = format!("/cases/{id}");
    let page = srt.get(&case);
    for form in [
        "propose-timeline",
        "open-fork",
        "approve-announcement",
        "project-team",
    ] {
        assert!(page.body.contains(&format!("id=\"{form}\"")), "{form}");
    }
    assert!(
        page.body.contains("Subject: numpy 1.26.4 is out"),
        "the announcement form starts from the project's preview"
    );
    // An empty date: the policy's proposal (high severity: 7 days, the
    // next slot), then accepted.
    let done = srt.post(
        &format!("{case}/commands/propose_timeline"),
        &[("disclose_at", "")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let done = srt.post(&format!("{case}/commands/accept_timeline"), &[]);
    assert_eq!(done.status, 303, "{}", done.body);
    let (_, plan) = get(&app, &admin, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["disclose_at"], "2026-03-09T16:00:00Z", "{plan}");
    // A built-in fork, and a credential shown once.
    let done = srt.post(
        &format!("{case}/commands/open_private_fork"),
        &[("host", "builtin"), ("project", ""), ("url", "")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    app.pump();
    let page = srt.get(&format!("/cases/{id}")).body;
    assert!(
        page.contains("numpy.git</code>") && !page.contains("id=\"fork-requests\""),
        "the fork is made and no longer asked for"
    );
    let shown = srt.post(&format!("{case}/fork-credential"), &[("project", "numpy")]);
    assert_eq!(shown.status, 200, "{}", shown.body);
    let password = between(
        &shown.body,
        "shown only now (keep it in your git credential helper): ",
        "<",
    )
    .trim();
    let work = tempfile::tempdir().unwrap();
    let url = format!("{}/git/{id}/numpy.git", app.url).replacen(
        "http://",
        &format!("http://cora:{password}@"),
        1,
    );
    ok(work.path(), &["clone", "-q", &url, "fork"]);
    // An edited announcement, approved as written.
    let text = "Subject: numpy 1.26.4 security release\n\nUpgrade to numpy 1.26.4.";
    let done = srt.post(
        &format!("{case}/commands/approve_announcement"),
        &[("text", text)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let (_, plan) = get(&app, &admin, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["announcement"], text);
    // After disclosure, the retrospective from its form.
    release_and_publish(&app, &id);
    let page = srt.get(&case);
    assert!(page.body.contains("id=\"write-retrospective\""));
    assert!(
        page.body
            .contains("# Retrospective: Heap overflow in loadtxt")
    );
    let done = srt.post(
        &format!("{case}/commands/write_retrospective"),
        &[("text", "# Retrospective\n\nWhat went well: the slot held.")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let (_, kept) = get(&app, &admin, &format!("/api/v1/cases/{id}/retrospective"));
    assert_eq!(kept, "# Retrospective\n\nWhat went well: the slot held.");
}

/// An upstream that cannot be reached (nothing listens yet) is not a
/// refusal: the attempt fails, the request waits, and the retry clones it
/// once the upstream (here `git daemon`) is up. An upstream that is not a
/// repository is recorded on the case with git's reason.
#[test]
fn a_built_in_fork_whose_upstream_is_down_is_retried_and_a_missing_one_is_recorded() {
    let upstream = upstream();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let name = upstream.path().file_name().unwrap().to_str().unwrap();
    let app = TestApp::start_with(&format!(
        "[release.projects.numpy]\nupstream = \"git://127.0.0.1:{port}/{name}\"\n\
         [release.projects.scipy]\nupstream = \"{}/nothing-here\"\n",
        upstream.path().display()
    ));
    put_numpy(&app);
    let reviewer = app.token_of("rev", "srt");
    let fay = app.token_of("fay", "maintainer");
    let (id, _) = approved_case(&app, &reviewer, &["fay"], None);
    let open = json!({"command": "open_private_fork", "host": "builtin"});
    run(&app, &fay, &id, open);
    app.pump();
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["forks"], json!([]), "{plan}");
    assert_eq!(plan["fork_failures"], json!([]), "not a refusal: {plan}");
    assert_eq!(
        plan["fork_requests"].as_array().map(Vec::len),
        Some(1),
        "{plan}"
    );
    // The upstream comes up: git's own daemon, serving the repository
    // (the program itself: `git daemon` would leave it running when killed).
    let (_, exec_path) = git(upstream.path(), &["--exec-path"]);
    struct Stopped(std::process::Child);
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let daemon = std::process::Command::new(Path::new(exec_path.trim()).join("git-daemon"))
        .args([
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            &format!(
                "--base-path={}",
                upstream.path().parent().unwrap().display()
            ),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(Stopped)
        .unwrap();
    let mut up = false;
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(up, "git daemon did not listen on {port}");
    // The first retry comes 30 s later.
    app.advance(31);
    app.pump();
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    drop(daemon);
    assert!(
        plan["forks"][0]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/numpy.git")),
        "{plan}"
    );
    assert_eq!(plan["fork_failures"], json!([]), "{plan}");
    assert!(
        app.data_dir()
            .join("forks")
            .join(&id)
            .join("numpy.git")
            .join("HEAD")
            .exists()
    );
    // A path that holds no repository: git's reason, on the case.
    run(
        &app,
        &app.admin_token,
        &id,
        json!({"command": "assign_project_team", "project": "scipy", "fixers": ["fay"]}),
    );
    run(
        &app,
        &fay,
        &id,
        json!({"command": "open_private_fork", "host": "builtin", "project": "scipy"}),
    );
    app.pump();
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert!(
        plan["fork_failures"][0][1]
            .as_str()
            .is_some_and(|r| r.contains("cannot clone") && r.contains("nothing-here")),
        "{plan}"
    );
}

/// A fork that cannot be made (the project names no repository and no
/// upstream is configured) is a failure on the case with the reason, shown
/// on the case page; nothing is left on disk, and it may be asked for
/// again once the cause is fixed.
#[test]
fn a_fork_that_cannot_be_made_is_a_failure_with_its_reason_and_may_be_asked_again() {
    let app = TestApp::start();
    let reviewer = app.token_of("rev", "srt");
    let fay = app.token_of("fay", "maintainer");
    let (id, _) = approved_case(&app, &reviewer, &["fay"], None);
    let open = json!({"command": "open_private_fork", "host": "builtin"});
    run(&app, &fay, &id, open.clone());
    let (_, case) = get(&app, &fay, &format!("/api/v1/cases/{id}/events"));
    let kinds = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(
        kinds(&case).contains(&"fork_requested".to_owned()),
        "{case}"
    );
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    // The background loop may already have made its attempt: the request
    // either waits or has failed, never both and never neither.
    let waiting = plan["fork_requests"].as_array().map_or(0, Vec::len);
    let failed = plan["fork_failures"].as_array().map_or(0, Vec::len);
    assert_eq!(waiting + failed, 1, "{plan}");
    app.pump();
    let (_, events) = get(&app, &fay, &format!("/api/v1/cases/{id}/events"));
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "fork_failed")
        .unwrap_or_else(|| panic!("no fork_failed in {events}"));
    assert!(
        failed.to_string().contains("has no repository to fork"),
        "{failed}"
    );
    assert!(
        !app.data_dir()
            .join("forks")
            .join(&id)
            .join("numpy.git")
            .exists()
    );
    // The release plan (the API and `embargo case plan`) says so too.
    let (_, plan) = get(&app, &fay, &format!("/api/v1/cases/{id}/release"));
    assert_eq!(plan["fork_requests"], json!([]), "{plan}");
    assert_eq!(plan["fork_failures"][0][0], "numpy", "{plan}");
    assert!(
        plan["fork_failures"][0][1]
            .as_str()
            .is_some_and(|r| r.contains("has no repository to fork")),
        "{plan}"
    );
    let (mut sam, _) = app.person("sam", "srt");
    let page = sam.get(&format!("/cases/{id}")).body;
    let alert = between(&page, "id=\"fork-failures\"", "</div>");
    assert!(alert.contains("has no repository to fork"), "{alert}");
    // Asked for again: a second request, a second failure.
    run(&app, &fay, &id, open);
    app.pump();
    let (_, events) = get(&app, &fay, &format!("/api/v1/cases/{id}/events"));
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| *k == "fork_failed")
            .count(),
        2
    );
}

/// An admin changes a project's release settings in the browser, and
/// they are in force at once, without a restart: the fork is cloned from
/// the new upstream, CI runs the new command, the announcement goes to the
/// new list, a distributor is added with their key (a key that does not
/// read is refused, nothing saved).
#[test]
fn release_settings_edited_in_the_browser_are_in_force_at_once() {
    let upstream = upstream();
    let app = TestApp::start();
    let reviewer = app.token_of("rev", "srt");
    let fay = app.token_of("fay", "maintainer");
    let (mut ada, _) = app.person("ada", "admin");
    // The project's page starts from what it has.
    let page = ada.get("/admin/projects/numpy");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"release\""), "{}", page.body);
    let debian = Gpg::new();
    debian.run(
        &[
            "--quick-gen-key",
            "debian@example.org",
            "future-default",
            "default",
            "never",
        ],
        b"",
    );
    let key =
        String::from_utf8(debian.run(&["--export", "--armor", "debian@example.org"], b"")).unwrap();
    let form = |key: &str| {
        vec![
            ("upstream", upstream.path().display().to_string()),
            ("test_command", "sh check.sh".to_owned()),
            ("announce_to", "numpy-announce@example.org".to_owned()),
            ("prenotify_days", "4".to_owned()),
            ("new_name", "debian".to_owned()),
            ("new_email", "debian@example.org".to_owned()),
            ("new_key", key.to_owned()),
        ]
    };
    let post = |b: &mut crate::app::Browser<'_>, fields: &[(&str, String)]| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.post("/admin/projects/numpy/release", &fields)
    };
    let refused = post(&mut ada, &form("not a key"));
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("distributor debian: the key does not read"),
        "{}",
        refused.body
    );
    let saved = post(&mut ada, &form(&key));
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = ada.get("/admin/projects/numpy?saved=1").body;
    assert!(page.contains("Saved: in force now."), "{page}");
    assert!(
        page.contains("keep debian &lt;debian@example.org&gt;"),
        "{page}"
    );
    assert!(page.contains("sh check.sh"), "{page}");
    // A member who is not an admin does not find the page.
    let (mut olga, _) = app.person("olga", "maintainer");
    assert_eq!(olga.get("/admin/projects/numpy").status, 404);

    // In force: the built-in fork clones the new upstream, CI runs the
    // new command.
    let (id, _) = approved_case(&app, &reviewer, &["fay"], None);
    run(
        &app,
        &fay,
        &id,
        json!({"command": "open_private_fork", "host": "builtin"}),
    );
    app.pump();
    let (status, cred) = app.api(
        &fay,
        "POST",
        &format!("/api/v1/cases/{id}/fork-credential"),
        Some(json!({})),
    );
    assert_eq!(status, 200, "{cred}");
    let url = cred["url"].as_str().unwrap().replacen(
        "http://",
        &format!("http://fay:{}@", cred["password"].as_str().unwrap()),
        1,
    );
    let work = tempfile::tempdir().unwrap();
    ok(work.path(), &["clone", "-q", &url, "fork"]);
    let fork = work.path().join("fork");
    std::fs::write(fork.join("src.txt"), "fixed\n").unwrap();
    ok(&fork, &["commit", "-q", "-am", "Fix"]);
    ok(&fork, &["push", "-q", "origin", "main"]);
    wait_for("CI with the new command", || {
        ci_runs(&app, &fay, &id).iter().any(|r| {
            r["passed"] == true
                && r["output"]
                    .as_str()
                    .unwrap_or("")
                    .contains("all tests passed")
        })
    });
    // The announcement form names the new list.
    let (mut cora, _) = app.person("cora", "srt");
    let page = cora.get(&format!("/cases/{id}")).body;
    assert!(
        page.contains("Sent at publication to: numpy-announce@example.org."),
        "{page}"
    );
}
