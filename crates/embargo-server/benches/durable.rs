//! Durable intake at 64 connections, beside the disk's own ceiling in the
//! same run: `POST /api/v1/cases` (a 201 only after the fsync'd commit)
//! from 64 concurrent connections on loopback, against how many
//! `fdatasync`s a second the same filesystem does for one small append
//! each (one commit per report could go no faster).
//!
//! `cargo bench -p embargo-server --bench durable` runs 20 s of load; under
//! `cargo test` (no `--bench` argument) 1 s, as a smoke test. Results go in
//! BENCHMARKS.md. With `EMBARGO_BENCH_POSTGRES` (a cluster's admin URL) the
//! server keeps its cases in a new database there, and
//! `EMBARGO_BENCH_SERVERS=2` adds a second server of the same deployment
//! (in this process) and spreads the connections over both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "a benchmark: failures stop it loudly, results are printed"
)]

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

mod common;
use common::percentile;

/// Appends and `fdatasync`s one small record at a time for `secs` seconds
/// in `dir`: the disk's one-commit-at-a-time rate.
fn fsync_rate(dir: &std::path::Path, secs: f64) -> f64 {
    let mut f = std::fs::File::create(dir.join("fsync-probe")).unwrap();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < secs {
        f.write_all(b"0123456789abcdef").unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full { 20 } else { 1 };
    let bench = common::start("");
    let servers: usize = std::env::var("EMBARGO_BENCH_SERVERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    assert!(
        servers == 1 || bench.database.is_some(),
        "several servers share a PostgreSQL database: set EMBARGO_BENCH_POSTGRES"
    );
    let mut urls = vec![bench.url.clone()];
    urls.extend((1..servers).map(|_| bench.another_server()));
    let common::Bench { rt, dir, token, .. } = bench;
    let before = fsync_rate(dir.path(), if full { 5.0 } else { 0.5 });
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..64 {
            let url = urls[c % urls.len()].clone();
            let (token, latencies) = (token.clone(), latencies.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut mine = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let t = Instant::now();
                    let resp = client
                        .post(format!("{url}/api/v1/cases"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({
                            "project": "unassigned",
                            "title": format!("Overflow {c}-{n} in the parser"),
                            "body": "Steps to reproduce: call parse() with a 70000-byte header.",
                            "reporter_email": format!("r{c}@example.net"),
                        }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 201);
                    let _ = resp.bytes().await.unwrap();
                    mine.push(t.elapsed());
                }
                latencies.lock().unwrap().extend(mine);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let took = started.elapsed();
    let after = fsync_rate(dir.path(), if full { 5.0 } else { 0.5 });
    let mut l = latencies.lock().unwrap().clone();
    l.sort_unstable();
    let rate = l.len() as f64 / took.as_secs_f64();
    let ceiling = (before + after) / 2.0;
    let backend = match servers {
        _ if std::env::var_os("EMBARGO_BENCH_POSTGRES").is_none() => "SQLite".to_owned(),
        1 => "PostgreSQL (same disk)".to_owned(),
        k => format!("PostgreSQL (same disk), {k} servers"),
    };
    println!(
        "durable intake benchmark: {seconds} s, 64 connections, POST /api/v1/cases, on {backend}"
    );
    println!(
        "reports: {} in {:.1} s = {rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        l.len(),
        took.as_secs_f64(),
        percentile(&l, 0.5).as_secs_f64() * 1000.0,
        percentile(&l, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "the disk's one-commit ceiling (fdatasync of one append, before / after): {before:.0} / {after:.0} per s; intake is {:.2}x of it",
        rate / ceiling
    );
}
