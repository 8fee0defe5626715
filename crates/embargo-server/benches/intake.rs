//! Intake throughput and latency, measured end to end on loopback: emails
//! posted to `/api/v1/intake/mail` (what `embargo ingest-mail` does), plain
//! and OpenPGP-encrypted to the intake key, each parsed, decrypted, sealed
//! and committed as a new case. Also the peak resident memory of the whole
//! process (server and client share it).
//!
//! `cargo bench -p embargo-server --bench intake` runs 400 messages of each
//! kind; under `cargo test` (no `--bench` argument) it runs 5, as a smoke
//! test. Results go in BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "a benchmark: failures stop it loudly, results are printed"
)]

use std::time::{Duration, Instant};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

mod common;
use common::{message, percentile};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 400 } else { 5 };
    // It measures filing: every reporter writes from one domain, which the
    // flood limit per domain would otherwise hold in quarantine, faster
    // than the deployment's budget of new reports a minute.
    let common::Bench {
        rt,
        dir: _dir,
        url,
        token,
        ..
    } = common::start("[intake]\nmail_per_domain = 0\nreports_per_minute = 0\n");
    let client = reqwest::Client::new();
    let public = rt
        .block_on(async {
            client
                .get(format!("{url}/pgp-key.txt"))
                .send()
                .await?
                .text()
                .await
        })
        .unwrap();
    let team = embargo_pgp::Certificate::parse(public.as_bytes()).unwrap();
    let text = "Steps to reproduce: call parse() with a 70000-byte header.\n".repeat(40);

    let mut results = Vec::new();
    for (kind, encrypted) in [("plain", false), ("encrypted", true)] {
        let bodies: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let id = if encrypted { i + 100_000 } else { i };
                if encrypted {
                    message("bench", id, &team.encrypt(text.as_bytes()).unwrap())
                } else {
                    message("bench", id, &text)
                }
            })
            .collect();
        let started = Instant::now();
        let mut latencies = Vec::with_capacity(n);
        for body in bodies {
            let t = Instant::now();
            let resp = rt
                .block_on(
                    client
                        .post(format!("{url}/api/v1/intake/mail"))
                        .bearer_auth(&token)
                        .header("content-type", "message/rfc822")
                        .body(body)
                        .send(),
                )
                .unwrap();
            assert!(resp.status().is_success());
            let got: serde_json::Value = rt.block_on(resp.json()).unwrap();
            assert_eq!(got["outcome"], "case", "{got}");
            latencies.push(t.elapsed());
        }
        let total = started.elapsed();
        latencies.sort_unstable();
        results.push((
            kind,
            n,
            total,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
        ));
    }
    println!("intake benchmark ({n} messages of each kind, one client, sequential)");
    for (kind, n, total, p50, p99) in results {
        println!(
            "{kind:>9}: {:>7.1} msg/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            n as f64 / total.as_secs_f64(),
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0
        );
    }
    // With every case above open, the scheduler folds each one per pass,
    // and /metrics does the same: how long do they take?
    std::thread::sleep(Duration::from_millis(2500));
    let mut metrics_times = Vec::new();
    let mut pass = String::new();
    for _ in 0..10 {
        let t = Instant::now();
        let body = rt
            .block_on(async {
                client
                    .get(format!("{url}/metrics"))
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .text()
                    .await
            })
            .unwrap();
        metrics_times.push(t.elapsed());
        pass = body
            .lines()
            .find(|l| l.starts_with("embargo_scheduler_pass_seconds "))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_default()
            .to_owned();
    }
    metrics_times.sort_unstable();
    println!(
        "with {} open cases: scheduler pass {:.1} ms, GET /metrics p50 {:.1} ms",
        2 * n,
        pass.parse::<f64>().unwrap_or(0.0) * 1000.0,
        percentile(&metrics_times, 0.5).as_secs_f64() * 1000.0
    );
    println!("peak RSS: {} MiB", peak_rss_kib() / 1024);
}
