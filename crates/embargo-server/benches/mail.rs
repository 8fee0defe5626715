//! Encrypted mail at 16 connections, beside one GnuPG process per message
//! in the same run: OpenPGP-encrypted reports (to the intake key) posted
//! to `/api/v1/intake/mail` from 16 concurrent connections, each parsed,
//! decrypted, sealed and committed as a new case before its answer; and
//! the same messages decrypted by `gpg --decrypt`, one process each, as
//! mail-pipe tools do it (the intake's secret key imported into a
//! throwaway GnuPG home).
//!
//! `cargo bench -p embargo-server --bench mail` runs 20 s of load and 200
//! gpg processes; under `cargo test` (no `--bench` argument) 1 s and 5,
//! as a smoke test. Results go in BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    reason = "a benchmark: failures stop it loudly, results are printed"
)]

use std::{
    io::Write,
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

mod common;
use common::{message, percentile};

const TEXT: &str = "Steps to reproduce: call parse() with a 70000-byte header.\n";

/// Messages a second for one `gpg --decrypt` process per message, over
/// `bodies` (armored messages), in a GnuPG home holding `secret`.
fn gpg_rate(secret: &str, bodies: &[String]) -> f64 {
    let home = tempfile::tempdir().unwrap();
    let gpg = || {
        let mut c = Command::new("gpg");
        c.arg("--homedir").arg(home.path()).args([
            "--batch",
            "--quiet",
            "--yes",
            "--pinentry-mode",
            "loopback",
        ]);
        c
    };
    let mut import = gpg()
        .arg("--import")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gpg is missing: run ./scripts/test, which installs gnupg");
    import
        .stdin
        .take()
        .unwrap()
        .write_all(secret.as_bytes())
        .unwrap();
    assert!(import.wait().unwrap().success(), "gpg --import");
    let decrypt = |body: &str| {
        let mut child = gpg()
            .arg("--decrypt")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "gpg --decrypt");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(TEXT));
    };
    // The first one starts gpg-agent: not counted.
    decrypt(&bodies[0]);
    let started = Instant::now();
    for body in bodies {
        decrypt(body);
    }
    bodies.len() as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (seconds, gpg_messages) = if full { (20, 200) } else { (1, 5) };
    // It measures filing: every reporter writes from one domain, which the
    // flood limits would otherwise hold in quarantine.
    let common::Bench {
        rt,
        dir,
        url,
        token,
        ..
    } = common::start(
        "[intake]\nmail_per_sender = 0\nmail_per_domain = 0\nreports_per_minute = 0\n",
    );
    let secret = std::fs::read_to_string(dir.path().join("data").join("intake-key.asc")).unwrap();
    let public = rt
        .block_on(async {
            reqwest::get(format!("{url}/pgp-key.txt"))
                .await?
                .text()
                .await
        })
        .unwrap();
    let team = embargo_pgp::Certificate::parse(public.as_bytes()).unwrap();
    let text = TEXT.repeat(40);
    // Encrypted before the clock starts, as a reporter's client does.
    let pool: Vec<String> = (0..512)
        .map(|_| team.encrypt(text.as_bytes()).unwrap())
        .collect();
    let before = gpg_rate(&secret, &pool[..gpg_messages]);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let pool = Arc::new(pool);
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (url, token, latencies, next, pool) = (
                url.clone(),
                token.clone(),
                latencies.clone(),
                next.clone(),
                pool.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let body = message("mail-bench", i, &pool[i % pool.len()]);
                    let t = Instant::now();
                    let resp = client
                        .post(format!("{url}/api/v1/intake/mail"))
                        .bearer_auth(&token)
                        .header("content-type", "message/rfc822")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert!(resp.status().is_success(), "{}", resp.status());
                    let got: serde_json::Value = resp.json().await.unwrap();
                    assert_eq!(got["outcome"], "case", "{got}");
                    mine.push(t.elapsed());
                }
                latencies.lock().unwrap().extend(mine);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let after = gpg_rate(&secret, &Arc::try_unwrap(pool).unwrap()[..gpg_messages]);
    let mut latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    latencies.sort_unstable();
    let rate = latencies.len() as f64 / elapsed;
    let peer = f64::midpoint(before, after);
    println!("encrypted mail benchmark: {seconds} s, 16 connections, POST /api/v1/intake/mail");
    println!(
        "messages: {} in {elapsed:.1} s = {rate:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "one gpg --decrypt per message (before / after): {before:.0} / {after:.0} per s; intake is {:.1}x of it",
        rate / peer
    );
}
