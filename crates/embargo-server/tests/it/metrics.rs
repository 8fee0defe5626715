//! `/metrics` from a seeded history equals the hand-computed values: three
//! reports at T, one acknowledged; 25 hours later two are past their
//! deadline, each with two warnings (50 %, 90 %) and one escalation raised;
//! one passive channel, healthy; nothing left in the outbox.

use serde_json::json;

use crate::app::TestApp;

fn metrics(app: &TestApp, token: &str) -> (u16, String) {
    app.rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(format!("{}/metrics", app.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = resp.text().await.unwrap();
        if status == 200 {
            assert_eq!(
                ctype.as_deref(),
                Some("text/plain; version=0.0.4; charset=utf-8")
            );
        }
        (status, body)
    })
}

#[test]
fn metrics_from_a_seeded_history_equal_hand_computed_values() {
    let app = TestApp::start();
    let t = app.admin_token.clone();
    let mut ids = Vec::new();
    for title in ["one", "two", "three"] {
        let (s, c) = app.api(
            &t,
            "POST",
            "/api/v1/cases",
            Some(json!({"project": "p", "title": title, "body": "b"})),
        );
        assert_eq!(s, 201);
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let (s, _) = app.api(
        &t,
        "POST",
        &format!("/api/v1/cases/{}/commands", ids[0]),
        Some(json!({"command": "acknowledge", "message": "ok"})),
    );
    assert_eq!(s, 200);
    let (s, _) = app.api(
        &t,
        "POST",
        "/api/v1/channels",
        Some(json!({"kind": "forum", "name": "discourse"})),
    );
    assert_eq!(s, 201);
    app.advance(25 * 3600);

    // The scheduler runs each second: wait for it to have raised everything.
    let mut body = String::new();
    for _ in 0..300 {
        body = metrics(&app, &t).1;
        if body.contains("embargo_ack_escalations_total 2")
            && body.contains("embargo_outbox_pending 0")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let stable: Vec<&str> = body
        .lines()
        .filter(|l| {
            !l.starts_with("embargo_http_request_duration") && !l.starts_with("embargo_scheduler_")
        })
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert_eq!(
        stable.join("\n"),
        "embargo_cases{stage=\"screening\"} 0
embargo_cases{stage=\"new\"} 2
embargo_cases{stage=\"acknowledged\"} 1
embargo_cases{stage=\"triaged\"} 0
embargo_cases{stage=\"fixing\"} 0
embargo_cases{stage=\"fix ready\"} 0
embargo_cases{stage=\"scheduled\"} 0
embargo_cases{stage=\"released\"} 0
embargo_cases{stage=\"disclosed\"} 0
embargo_cases{stage=\"closed\"} 0
embargo_cases{stage=\"rejected\"} 0
embargo_cases{stage=\"deferred\"} 0
embargo_ack_breached 2
embargo_ack_warnings_total 4
embargo_ack_escalations_total 2
embargo_channel_healthy{channel=\"discourse\",kind=\"forum\"} 1
embargo_timers_due 0
embargo_hints_due 0
embargo_outbox_pending 0
embargo_outbox_failed 0"
    );
    // The histogram is well formed: cumulative buckets, +Inf equals the count.
    let bucket = |le: &str| -> u64 {
        body.lines()
            .find(|l| {
                l.starts_with(&format!(
                    "embargo_http_request_duration_seconds_bucket{{le=\"{le}\"}}"
                ))
            })
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(bucket("0.005") <= bucket("0.1") && bucket("0.1") <= bucket("+Inf"));
    assert!(bucket("+Inf") >= 5, "the requests above were counted");
    assert!(body.contains(&format!(
        "embargo_http_request_duration_seconds_count {}",
        bucket("+Inf")
    )));
    assert!(body.contains("# TYPE embargo_http_request_duration_seconds histogram"));
    // Only the SRT's and admins' tokens read it.
    assert_eq!(metrics(&app, "emb_nobody").0, 401);
}

/// Scheduled backups (`[backup]`): one archive per slot whoever runs the
/// pass, the newest `keep` kept, each one restorable, and `/metrics`
/// giving the last good one's age.
#[test]
fn scheduled_backups_run_once_per_slot_keep_the_newest_and_show_their_age() {
    let app = TestApp::start_with("[backup]\ndir = \"backups\"\nevery_hours = 24\nkeep = 2\n");
    let (status, body) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(serde_json::json!({"project": "numpy", "title": "Overflow", "body": "steps"})),
    );
    assert_eq!(status, 201, "{body}");
    let age = || -> String {
        let (_, text) = app.api(&app.admin_token, "GET", "/metrics", None);
        let text = text.as_str().unwrap().to_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("embargo_backup_age_seconds "))
            .unwrap_or_else(|| panic!("no backup gauge in {text}"))
            .to_owned()
    };
    let archives = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(app.data_dir().join("backups"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    // (The server's own loops may take the first pass before the pump
    // does: the clock stands still, so either writes the same archive.)
    app.pump();
    if app.on_postgres() {
        // The archive copies SQLite: on PostgreSQL the database's own
        // backups serve, and the schedule writes none.
        assert_eq!(archives(), Vec::<String>::new());
        return;
    }
    let first = archives();
    assert_eq!(first, ["embargo-20260302T090000Z.tar"]);
    assert_eq!(age(), "0");
    app.pump();
    assert_eq!(archives().len(), 1, "once per slot");
    app.advance(3600);
    assert_eq!(age(), "3600");
    app.advance(23 * 3600);
    app.pump();
    app.advance(24 * 3600);
    app.pump();
    assert_eq!(
        archives(),
        [
            "embargo-20260303T090000Z.tar",
            "embargo-20260304T090000Z.tar"
        ],
        "the newest two kept"
    );
    let newest = app
        .data_dir()
        .join("backups")
        .join("embargo-20260304T090000Z.tar");
    let manifest = app
        .rt
        .block_on(embargo_server::backup::verify(&newest))
        .unwrap();
    assert!(manifest.events >= 1 && manifest.cases == 1, "{manifest:?}");
    assert!(!manifest.master_key, "not without asking");
}
