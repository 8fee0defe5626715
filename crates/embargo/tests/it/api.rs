//! The JSON case API over real HTTP: one case carried from report to closed,
//! and each kind of failure with its status and stable code.

use serde_json::{Value, json};

use crate::serve::start;

struct Api {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn call(&self, method: &str, path: &str, body: Option<Value>, auth: bool) -> (u16, Value) {
        self.rt.block_on(async {
            let url = format!("{}{path}", self.base);
            let mut req = match method {
                "POST" => self.client.post(url),
                _ => self.client.get(url),
            };
            if auth {
                req = req.bearer_auth(&self.token);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }

    fn command(&self, id: &str, body: Value) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/api/v1/cases/{id}/commands"),
            Some(body),
            true,
        )
    }

    fn ok(&self, id: &str, body: Value) -> Value {
        let (status, v) = self.command(id, body.clone());
        assert_eq!(status, 200, "{body} → {v}");
        v
    }
}

#[test]
fn a_case_from_report_to_closed_over_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let server = start(&dir);
    let api = Api {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        client: reqwest::Client::new(),
        base: server.url.clone(),
        token: server.token().unwrap(),
    };

    // The coordinator and fixer need accounts; the fixer maintains numpy.
    for (id, role) in [
        ("cora@example.org", "srt"),
        ("fred@example.org", "maintainer"),
    ] {
        let person = json!({"id": id, "name": id, "email": id, "role": role});
        let (status, body) = api.call("POST", "/api/v1/people", Some(person), true);
        assert_eq!(status, 201, "{body}");
    }
    let project =
        json!({"name": "numpy", "packages": ["PyPI:numpy"], "maintainers": ["fred@example.org"]});
    assert_eq!(
        api.call("POST", "/api/v1/projects", Some(project), true).0,
        201
    );

    let report = json!({"project": "numpy", "title": "Heap overflow in loadtxt", "body": "Steps: ...", "channel": "bounty"});
    assert_eq!(
        api.call("POST", "/api/v1/cases", Some(report.clone()), false)
            .0,
        401
    );
    let (status, case) = api.call("POST", "/api/v1/cases", Some(report), true);
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("EMB-"), "{id}");
    assert_eq!(case["stage"], "new");

    // Refused: wrong state. The message names the state and what is allowed.
    let (status, err) = api.command(&id, json!({"command": "publish"}));
    assert_eq!(status, 409);
    assert_eq!(err["code"], "not_allowed_now");
    assert_eq!(
        err["message"],
        "cannot publish: the case is received (embargo none); allowed now: acknowledge, request_info, reject, add_participant, request_addition, add_note, message_reporter, record_fact"
    );

    api.ok(
        &id,
        json!({"command": "acknowledge", "message": "Thanks, we are looking."}),
    );

    // Refused: bad input names the offending metric; nothing is written.
    let bad = json!({"command": "triage", "reproduced": "yes", "notes": "n", "tlp": "AMBER",
        "cvss_v31": "CVSS:3.1/AV:N/AC:Z/PR:N/UI:N/S:U/C:H/I:H/A:H"});
    let (status, err) = api.command(&id, bad);
    assert_eq!((status, err["code"].as_str()), (422, Some("invalid_input")));
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("AC (Attack Complexity)"),
        "{err}"
    );

    let steps = [
        json!({"command": "triage", "reproduced": "yes", "notes": "Reproduced on 1.26.3", "tlp": "AMBER+STRICT",
               "affected": ["PyPI:numpy:0..1.26.4"], "cvss_v31": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", "cwe": "CWE-122"}),
        json!({"command": "assign_fixing_team", "coordinator": "cora@example.org", "fixers": ["fred@example.org"]}),
        json!({"command": "propose_timeline"}),
        json!({"command": "accept_timeline"}),
        json!({"command": "revise_advisory", "base_revision": 0, "summary": "Heap overflow in numpy.loadtxt",
               "details": "A crafted file overflows a buffer.", "cve": "CVE-2026-12345", "upgrade": "pip install -U numpy"}),
        json!({"command": "submit_advisory", "revision": 1}),
        // The coordinator approves; the author could not.
        json!({"command": "approve_advisory", "revision": 1, "as": "cora"}),
        json!({"command": "open_private_fork", "url": "https://git.example.org/numpy-fix"}),
        json!({"command": "mark_fix_ready"}),
        json!({"command": "complete_release_step", "step": "merge_fix"}),
        json!({"command": "complete_release_step", "step": "patch_release", "package": "numpy", "version": "1.26.4"}),
        json!({"command": "complete_release_step", "step": "publish_packages"}),
        json!({"command": "publish", "reason": "the fix is released"}),
        json!({"command": "complete_release_step", "step": "send_announcement"}),
        json!({"command": "close_private_fork"}),
        json!({"command": "close", "note": "Retrospective written."}),
    ];
    let cora = Api {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        client: reqwest::Client::new(),
        base: server.url.clone(),
        token: crate::serve::token_for(&dir, "cora@example.org"),
    };
    let mut stages = Vec::new();
    for mut step in steps {
        let by_cora = step.as_object_mut().unwrap().remove("as").is_some();
        if by_cora {
            let (status, err) = api.command(&id, step.clone());
            assert_eq!(status, 422, "{err}");
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains("other than its author")
            );
        }
        let case = if by_cora {
            cora.ok(&id, step)
        } else {
            api.ok(&id, step)
        };
        stages.push(case["stage"].as_str().unwrap().to_owned());
        if case["embargo"] == "active" {
            // The default proposal is a disclosure slot: 16:00 UTC.
            assert!(
                case["disclose_at"]
                    .as_str()
                    .unwrap()
                    .ends_with("T16:00:00Z"),
                "{case}"
            );
        }
    }
    assert_eq!(stages.last().map(String::as_str), Some("closed"));
    assert!(
        stages.contains(&"scheduled".to_owned()) && stages.contains(&"disclosed".to_owned()),
        "{stages:?}"
    );

    let (status, events) = api.call("GET", &format!("/api/v1/cases/{id}/events"), None, true);
    assert_eq!(status, 200);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"report_received"));
    assert_eq!(kinds.last(), Some(&"closed"));
    assert!(kinds.contains(&"embargo_exited"), "{kinds:?}");

    // The advisory's history: one revision, approved, with what it added.
    let (status, adv) = api.call("GET", &format!("/api/v1/cases/{id}/advisory"), None, true);
    assert_eq!(status, 200, "{adv}");
    assert_eq!(
        (adv["review"].as_str(), adv["approved_revision"].as_u64()),
        (Some("approved"), Some(1))
    );
    assert!(
        adv["revisions"][0]["changes"]
            .to_string()
            .contains("+ Heap overflow in numpy.loadtxt"),
        "{adv}"
    );
    // Disclosed: the advisory is public, with triage's packages and score.
    let (status, all) = api.call("GET", "/osv/all.json", None, false);
    assert_eq!(status, 200);
    assert_eq!(all[0]["id"], format!("x_{id}"));
    assert_eq!(all[0]["aliases"], json!(["CVE-2026-12345"]));
    assert_eq!(all[0]["affected"][0]["package"]["name"], "numpy");

    let (status, list) = api.call("GET", "/api/v1/cases", None, true);
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));

    // Unknown and malformed ids are both simply not there.
    assert_eq!(
        api.call("GET", "/api/v1/cases/EMB-2026-000000", None, true)
            .0,
        404
    );
    assert_eq!(
        api.call("GET", "/api/v1/cases/not-an-id", None, true).0,
        404
    );

    // "Am I vulnerable?" from the server's own published advisories.
    let check = |spec: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_embargo"))
            .args(["check", "--server", &server.url, spec])
            .output()
            .unwrap()
    };
    let out = check("numpy==1.26.3");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("x_{id}")) && text.contains("1.26.4"),
        "{text}"
    );
    assert_eq!(check("numpy==1.26.4").status.code(), Some(0));

    // The log the API wrote verifies.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_embargo"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
