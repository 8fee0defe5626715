//! Notices to webhooks in each format (embargo's JSON, Slack, Zulip,
//! Matrix), received by a local HTTP server that records what arrived; a
//! receiver that fails is retried with backoff and each attempt is recorded
//! on the case. The Slack, Zulip and Matrix endpoints here follow those
//! services' published webhook/API shapes; the services cannot run here.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{post, put},
};
use serde_json::json;

use crate::app::TestApp;

#[derive(Default)]
struct Received {
    calls: Mutex<Vec<(String, String, String)>>, // (route, idempotency key, body)
    flaky_failures_left: Mutex<u32>,
}

async fn record(
    State(r): State<Arc<Received>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if route == "flaky" {
        let mut left = r.flaky_failures_left.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            r.calls.lock().unwrap().push((route, key, "failed".into()));
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    r.calls
        .lock()
        .unwrap()
        .push((route, key, String::from_utf8_lossy(&body).into_owned()));
    StatusCode::OK
}

async fn matrix(
    State(r): State<Arc<Received>>,
    Path((room, txn)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != "Bearer syt_test" {
        return StatusCode::UNAUTHORIZED;
    }
    r.calls.lock().unwrap().push((
        format!("matrix {room} {txn}"),
        String::new(),
        String::from_utf8_lossy(&body).into_owned(),
    ));
    StatusCode::OK
}

fn wait_for(
    r: &Received,
    pred: impl Fn(&[(String, String, String)]) -> bool,
) -> Vec<(String, String, String)> {
    for _ in 0..300 {
        let calls = r.calls.lock().unwrap().clone();
        if pred(&calls) {
            return calls;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("never arrived: {:?}", r.calls.lock().unwrap());
}

#[test]
fn notices_reach_every_webhook_format_and_a_failing_one_is_retried() {
    embargo_server::install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let received = Arc::new(Received {
        flaky_failures_left: Mutex::new(2),
        ..Received::default()
    });
    let router = Router::new()
        .route("/hooks/{route}", post(record))
        .route(
            "/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}",
            put(matrix),
        )
        .with_state(received.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, router).await });

    let app = TestApp::start_with(&format!(
        "[[webhook]]\nurl = \"{base}/hooks/json\"\n\n\
         [[webhook]]\nurl = \"{base}/hooks/slack\"\nformat = \"slack\"\n\n\
         [[webhook]]\nurl = \"{base}/hooks/zulip\"\nformat = \"zulip\"\nstream = \"security\"\ntoken = \"bot@example.org:key\"\n\n\
         [[webhook]]\nurl = \"{base}/_matrix/client/v3/rooms/!sec:example.org\"\nformat = \"matrix\"\ntoken = \"syt_test\"\n\n\
         [[webhook]]\nurl = \"{base}/hooks/flaky\"\n"
    ));
    app.person("sam", "srt");
    let (_, case) = app.api(
        &app.admin_token,
        "POST",
        "/api/v1/cases",
        Some(
            json!({ "project": "p", "title": "Secret title of the report", "body": "secret body" }),
        ),
    );
    let id = case["id"].as_str().unwrap().to_owned();
    app.advance(12 * 3600);
    let calls = wait_for(&received, |c| {
        c.iter()
            .filter(|(r, _, b)| r != "flaky" || b != "failed")
            .count()
            >= 4
    });
    let body_of = |route: &str| {
        calls
            .iter()
            .find(|(r, _, _)| r.starts_with(route))
            .map(|(_, _, b)| b.clone())
            .unwrap()
    };
    let generic: serde_json::Value = serde_json::from_str(&body_of("json")).unwrap();
    assert_eq!(generic["event"], "acknowledgement_warning");
    assert_eq!(generic["case"], id.as_str());
    assert_eq!(generic["percent"], 50);
    assert!(
        generic["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/cases/{id}"))
    );
    let slack: serde_json::Value = serde_json::from_str(&body_of("slack")).unwrap();
    assert!(slack["text"].as_str().unwrap().contains(&id));
    let zulip = body_of("zulip");
    assert!(
        zulip.contains("type=stream")
            && zulip.contains("to=security")
            && zulip.contains(&format!("topic={id}")),
        "{zulip}"
    );
    let matrix: serde_json::Value = serde_json::from_str(&body_of("matrix")).unwrap();
    assert_eq!(matrix["msgtype"], "m.text");
    for (_, _, b) in &calls {
        assert!(
            !b.contains("Secret title") && !b.contains("secret body"),
            "{b}"
        );
    }
    // The flaky receiver: failed once, retried after 30 s, failed, after 60 s, done.
    wait_for(&received, |c| {
        c.iter().filter(|(r, _, _)| r == "flaky").count() >= 1
    });
    app.advance(30);
    wait_for(&received, |c| {
        c.iter().filter(|(r, _, _)| r == "flaky").count() >= 2
    });
    app.advance(60);
    let calls = wait_for(&received, |c| {
        c.iter().any(|(r, _, b)| r == "flaky" && b != "failed")
    });
    let keys: Vec<&String> = calls
        .iter()
        .filter(|(r, _, _)| r == "flaky")
        .map(|(_, k, _)| k)
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "the same idempotency key on every try"
    );
    // (Sessions last 12 hours: a fresh sign-in after the clock moved.)
    let (mut srt, _) = app.person("ann", "srt");
    let page = srt.get(&format!("/cases/{id}"));
    let flaky: Vec<&str> = page
        .body
        .split("<li><time>")
        .filter(|l| l.contains("webhook-4"))
        .collect();
    assert_eq!(flaky.len(), 3, "{}", page.body);
    assert!(
        flaky[0].contains("retry") && flaky[1].contains("retry") && flaky[2].contains("done"),
        "{flaky:?}"
    );
    drop(rt);
}
