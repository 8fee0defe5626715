//! `/healthz` and `/readyz` tell the truth about the background loops: a
//! scheduler pass stuck in a mail server that never answers makes the
//! server unhealthy (and not ready) while it lasts, and healthy again
//! after the SMTP timeout ends it. The mail server here is a loopback
//! socket that accepts and never speaks.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::TestApp;

fn get(app: &TestApp, path: &str) -> (u16, Value) {
    app.rt.block_on(async {
        let resp = reqwest::get(format!("{}{path}", app.url)).await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    })
}

/// Asks `path` until it answers `status` (at most `within`); the last answer.
fn until(app: &TestApp, path: &str, status: u16, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (got, body) = get(app, path);
        if got == status {
            return body;
        }
        assert!(
            started.elapsed() < within,
            "{path} still answers {got}, not {status}: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_stalled_scheduler_is_unhealthy_until_its_pass_ends() {
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    hole.set_nonblocking(true).unwrap();
    // Holds every connection open, saying nothing, until the test ends
    // (at most 60 s).
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over = done.clone();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60)
            && held.len() < 20
            && !over.load(std::sync::atomic::Ordering::Relaxed)
        {
            match hole.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let app = TestApp::start_with(&format!(
        "[server]\nstall_seconds = 2\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_seconds = 6\n"
    ));
    let ready = until(&app, "/readyz", 200, Duration::from_secs(10));
    assert_eq!(ready["ready"], true, "{ready}");
    let names: Vec<&str> = ready["loops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["scheduler", "long_lane", "poller"]);
    assert_eq!(get(&app, "/healthz").0, 200);

    // A report by mail: its receipt goes to the silent mail server, and
    // the scheduler's pass waits in it.
    let raw = b"From: Ada <ada@example.net>\r\nTo: security@example.org\r\nSubject: Crash in the parser\r\n\
Message-ID: <h1@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nSteps.\r\n"
        .to_vec();
    crate::mail::deliver(&app, raw);
    let sick = until(&app, "/healthz", 503, Duration::from_secs(10));
    let scheduler = &sick["loops"][0];
    assert_eq!(scheduler["status"], "stalled", "{sick}");
    assert_eq!(sick["store"], "ok");
    let (status, not_ready) = get(&app, "/readyz");
    assert_eq!(status, 503);
    assert_eq!(not_ready["not_ready"], "not healthy");

    // The SMTP timeout ends the pass (the receipt is retried later): healthy.
    let well = until(&app, "/healthz", 200, Duration::from_secs(20));
    assert_eq!(well["loops"][0]["status"], "ok", "{well}");
    drop(app);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    holder.join().unwrap();
}
