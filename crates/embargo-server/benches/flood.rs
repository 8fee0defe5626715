//! A bounded flood on loopback, with embargo's default limits: 1,000 source
//! addresses on the web form (127.1.0.1 to 127.1.3.232: four /24
//! networks) and 1,000 mail senders at ten domains (posted to
//! `/api/v1/intake/mail`, what `embargo ingest-mail` does), for a fixed
//! time, while a known reporter files one real report by mail and the
//! SRT's list (`GET /api/v1/cases`, the inbox's read-model query, first
//! page) is timed before and during the flood.
//!
//! What it prints: requests and outcomes by kind (a form answer is 201,
//! or 429 with the text given back; a mail answer is a case or a
//! quarantine entry: anything else would be a lost message), how many
//! cases the flood made against what the limits allow, how long the real
//! report took to be a case the SRT can open, and the list's p99 under
//! load against unloaded, in the same run.
//!
//! `cargo bench -p embargo-server --bench flood` floods for 60 s; under
//! `cargo test` (no `--bench` argument) for 2 s, as a smoke test. Results
//! go in BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "a benchmark: failures stop it loudly, results are printed"
)]

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A double-submit CSRF token a script picks for itself, as a bot would.
const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[derive(Default)]
struct Tally {
    form_created: AtomicU64,
    form_refused: AtomicU64,
    form_other: AtomicU64,
    mail_case: AtomicU64,
    mail_held: AtomicU64,
    mail_other: AtomicU64,
}

mod common;
use common::percentile;

fn form_address(i: usize) -> IpAddr {
    IpAddr::from([127, 1, (i / 250) as u8, (i % 250 + 1) as u8])
}

async fn list_times(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let resp = client
            .get(format!("{url}/api/v1/cases?limit=50"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let _ = resp.bytes().await.unwrap();
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out.sort_unstable();
    out
}

fn mail(from: &str, id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: security@example.org\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\n\
         Critical vulnerability found, please pay bounty.\r\n"
    )
    .into_bytes()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full { 60 } else { 2 };
    let common::Bench {
        rt,
        dir: _dir,
        url,
        token,
        ..
    } = common::start("");
    let client = reqwest::Client::new();

    rt.block_on(async {
        // The known reporter: an earlier report that stood.
        let post_mail = |body: Vec<u8>| {
            client
                .post(format!("{url}/api/v1/intake/mail"))
                .bearer_auth(&token)
                .header("content-type", "message/rfc822")
                .body(body)
                .send()
        };
        let first: serde_json::Value = post_mail(mail("lin@example.net", "lin-0@example.net", "Earlier report"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(first["outcome"], "case", "{first}");
        let unloaded = list_times(&client, &url, &token, 200).await;

        let tally = Arc::new(Tally::default());
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        // The form: 24 workers, each cycling over its share of the 1,000
        // addresses, one connection per address.
        for w in 0..24usize {
            let (url, tally) = (url.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                let clients: Vec<reqwest::Client> = (w..1000)
                    .step_by(24)
                    .map(|i| {
                        reqwest::Client::builder()
                            .local_address(form_address(i))
                            .build()
                            .unwrap()
                    })
                    .collect();
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let c = &clients[n % clients.len()];
                    n += 1;
                    let resp = c
                        .post(format!("{url}/report"))
                        .header("cookie", format!("__Host-embargo-csrf={CSRF}"))
                        .form(&[
                            ("csrf", CSRF),
                            ("title", "URGENT security issue"),
                            ("description", "Critical vulnerability found, please pay bounty."),
                            ("steps", "n/a"),
                        ])
                        .send()
                        .await;
                    let counter = match resp.as_ref().map(reqwest::Response::status) {
                        Ok(s) if s == 201 => &tally.form_created,
                        Ok(s) if s == 429 => &tally.form_refused,
                        _ => &tally.form_other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    if let Ok(r) = resp {
                        let _ = r.bytes().await;
                    }
                }
            }));
        }
        // Mail: 16 workers over 1,000 senders at ten domains.
        for w in 0..16usize {
            let (url, token, tally) = (url.clone(), token.clone(), tally.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let i = (w + 16 * n) % 1000;
                    let id = format!("flood-{w}-{n}@flood.example");
                    n += 1;
                    let from = format!("bot{i}@flood{}.example", i % 10);
                    let resp = client
                        .post(format!("{url}/api/v1/intake/mail"))
                        .bearer_auth(&token)
                        .header("content-type", "message/rfc822")
                        .body(mail(&from, &id, "URGENT security issue"))
                        .send()
                        .await;
                    let outcome = match resp {
                        Ok(r) if r.status() == 200 => r
                            .json::<serde_json::Value>()
                            .await
                            .ok()
                            .and_then(|v| v["outcome"].as_str().map(str::to_owned)),
                        _ => None,
                    };
                    let counter = match outcome.as_deref() {
                        Some("case") => &tally.mail_case,
                        Some("quarantined") => &tally.mail_held,
                        _ => &tally.mail_other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // Halfway, the real report; meanwhile the SRT's list is timed.
        tokio::time::sleep(Duration::from_millis(seconds * 500)).await;
        let t = Instant::now();
        let real: serde_json::Value = post_mail(mail("lin@example.net", "lin-1@example.net", "Heap overflow in loadtxt"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(real["outcome"], "case", "the real report is filed: {real}");
        let id = real["case_id"].as_str().unwrap().to_owned();
        let resp = client
            .get(format!("{url}/api/v1/cases/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let real_took = t.elapsed();
        let loaded_n = if full { 300 } else { 20 };
        let loaded = list_times(&client, &url, &token, loaded_n).await;
        for task in tasks {
            task.await.unwrap();
        }
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let lost = get(&tally.form_other) + get(&tally.mail_other);
        println!("flood benchmark: {seconds} s, 1,000 form addresses (4 networks) and 1,000 mail senders (10 domains), default limits");
        println!(
            "form: {} requests, {} filed (201), {} given back (429), {} other",
            get(&tally.form_created) + get(&tally.form_refused) + get(&tally.form_other),
            get(&tally.form_created),
            get(&tally.form_refused),
            get(&tally.form_other)
        );
        println!(
            "mail: {} messages, {} filed, {} in quarantine, {} other (lost)",
            get(&tally.mail_case) + get(&tally.mail_held) + get(&tally.mail_other),
            get(&tally.mail_case),
            get(&tally.mail_held),
            get(&tally.mail_other)
        );
        println!(
            "the real report: a case the SRT opens {:.1} ms after it was sent",
            real_took.as_secs_f64() * 1000.0
        );
        let (u, l) = (percentile(&unloaded, 0.99), percentile(&loaded, 0.99));
        println!(
            "SRT's list p99: unloaded {:.2} ms, during the flood {:.2} ms ({:.2}x), p50 {:.2} / {:.2} ms",
            u.as_secs_f64() * 1000.0,
            l.as_secs_f64() * 1000.0,
            l.as_secs_f64() / u.as_secs_f64(),
            percentile(&unloaded, 0.5).as_secs_f64() * 1000.0,
            percentile(&loaded, 0.5).as_secs_f64() * 1000.0
        );
        assert_eq!(lost, 0, "every message has an answer that keeps it");
    });
}
