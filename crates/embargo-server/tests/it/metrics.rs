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
        "embargo_cases{stage=\"new\"} 2
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
