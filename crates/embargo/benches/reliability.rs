//! Reliability trials of the real binary on loopback, as commands with
//! their figures printed for RELIABILITY.md.
//!
//! - `crash`: 16 clients file reports at once, over the API, email
//!   (`/api/v1/intake/mail`) and the web form; the server is killed
//!   (SIGKILL) at a random moment; it is started again, and every report
//!   that had been acknowledged (a 201, a mail's "case", a receipt page)
//!   must be readable, SQLite's integrity check and the hash chain must
//!   pass. The data directory carries over from trial to trial.
//! - `soak`: reports at a steady rate for a number of minutes, recording
//!   each minute the reports filed, the errors and the server's resident
//!   memory; after the first minutes (warm) the memory must stay within
//!   ±10 % of its warm value.
//!
//! ```text
//! cargo bench -p embargo --bench reliability -- crash --trials 20 --seed 1
//! cargo bench -p embargo --bench reliability -- soak --minutes 30 --rate 400
//! ```
//!
//! Under `cargo test` (no `--bench` argument) it runs one crash trial and
//! a soak of a few seconds, as a smoke test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a benchmark: failures stop it loudly, results are printed"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*), so a seed replays a trial.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }
}

struct Server {
    child: Child,
    url: String,
    token: Option<String>,
}

/// Starts `embargo serve` on `dir`, on a free loopback port.
fn start(dir: &Path) -> Server {
    let first_start = !dir.join("embargo.db").exists();
    let mut child = Command::new(env!("CARGO_BIN_EXE_embargo"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--bind", "127.0.0.1:0"])
        .env("EMBARGO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let mut token = None;
    if first_start {
        // A first start prints the admin's token a few lines on.
        for _ in 0..4 {
            match lines.next() {
                Some(Ok(line)) if line.trim().starts_with("emb_") => {
                    token = Some(line.trim().to_owned());
                    break;
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
    }
    // Drain the rest so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let server = Server { child, url, token };
    let client = reqwest::blocking::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{}/readyz", server.url))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the server did not become ready");
}

fn kill9(server: &mut Server) {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[derive(Clone, Copy, Debug)]
enum Way {
    Api,
    Mail,
    Form,
}

/// Files one report `n` by `way`; the case id once it was acknowledged.
fn file(
    client: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    way: Way,
    n: u64,
) -> Option<String> {
    match way {
        Way::Api => {
            let resp = client
                .post(format!("{base}/api/v1/cases"))
                .bearer_auth(token)
                .json(&serde_json::json!({"project": "numpy", "title": format!("Trial report {n}"), "body": "steps"}))
                .send()
                .ok()?;
            if resp.status().as_u16() != 201 {
                return None;
            }
            let v: serde_json::Value = resp.json().ok()?;
            v["id"].as_str().map(str::to_owned)
        }
        Way::Mail => {
            let raw = format!(
                "From: Reporter {n} <r{n}@example.net>\r\nTo: security@example.org\r\n\
                 Subject: Trial report {n}\r\nMessage-ID: <trial-{n}@example.net>\r\n\r\nSteps.\r\n"
            );
            let resp = client
                .post(format!("{base}/api/v1/intake/mail"))
                .bearer_auth(token)
                .header("content-type", "message/rfc822")
                .body(raw)
                .send()
                .ok()?;
            if !resp.status().is_success() {
                return None;
            }
            let v: serde_json::Value = resp.json().ok()?;
            (v["outcome"] == "case")
                .then(|| v["case_id"].as_str().map(str::to_owned))
                .flatten()
        }
        Way::Form => {
            // The form's pre-session token: the cookie, echoed in the form.
            let page = client.get(format!("{base}/report")).send().ok()?;
            let cookie = page
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with("__Host-embargo-csrf="))?
                .split(';')
                .next()?
                .to_owned();
            let csrf = cookie.split_once('=')?.1.to_owned();
            let resp = client
                .post(format!("{base}/report"))
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("project", "numpy"),
                    ("title", &format!("Trial report {n}")),
                    ("description", "A crash in the parser."),
                    ("steps", "Open the file."),
                ])
                .send()
                .ok()?;
            if !resp.status().is_success() {
                return None;
            }
            let html = resp.text().ok()?;
            let start = html.find("<span id=\"case-id\">")? + "<span id=\"case-id\">".len();
            let end = html[start..].find('<')? + start;
            Some(html[start..end].to_owned())
        }
    }
}

fn config(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    // Every client writes from one address and one domain, faster than a
    // deployment's budget: the per-sender, per-address, per-network limits
    // and the budget would otherwise hold the reports back.
    std::fs::write(
        dir.join("embargo.toml"),
        "[intake]\nsubmissions_per_address = 100000000\nsubmission_window_seconds = 1\n\
         submissions_per_network = 0\nreports_per_minute = 0\n\
         mail_per_sender = 0\nmail_per_domain = 0\nmail_per_key = 0\n",
    )
    .unwrap();
}

fn project(server: &Server, token: &str) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/projects", server.url))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": "numpy"}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
}

/// The database's integrity and chain, read with the store itself.
fn check_store(dir: &Path) -> (String, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = embargo_store::Store::open(&dir.join("embargo.db"), false, None)
            .await
            .unwrap();
        let integrity = store.integrity_check().await.unwrap();
        let events = store
            .verify()
            .await
            .unwrap()
            .unwrap_or_else(|b| panic!("the chain is broken: {b}"));
        (integrity, events)
    })
}

fn crash(trials: u32, seed: u64, load: Duration) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    config(&dir);
    let mut server = start(&dir);
    let token = server
        .token
        .clone()
        .expect("a first start prints the admin's token");
    project(&server, &token);
    let mut rng = Rng(seed.max(1));
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    println!(
        "trial\tkilled after ms\tacknowledged (this trial: API, mail, form)\tacknowledged (all)\treadable\tlost\tintegrity\tevents"
    );
    let mut total_lost = 0;
    for trial in 1..=trials {
        let stop = Arc::new(AtomicBool::new(false));
        let before = acknowledged.lock().unwrap().len();
        let ways: Arc<Mutex<[usize; 3]>> = Arc::default();
        let clients: Vec<_> = (0..16)
            .map(|i| {
                let way = [Way::Api, Way::Mail, Way::Form][i % 3];
                let (stop, acknowledged, counter, ways) = (
                    stop.clone(),
                    acknowledged.clone(),
                    counter.clone(),
                    ways.clone(),
                );
                let (base, token) = (server.url.clone(), token.clone());
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(5))
                        .build()
                        .unwrap();
                    // Bounded: it stops when told, or after 100,000 reports.
                    for _ in 0..100_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        if let Some(id) = file(&client, &base, &token, way, n) {
                            acknowledged.lock().unwrap().push(id);
                            ways.lock().unwrap()[i % 3] += 1;
                        }
                    }
                })
            })
            .collect();
        let after_ms = rng.between(load.as_millis() as u64 / 4, load.as_millis() as u64);
        std::thread::sleep(Duration::from_millis(after_ms));
        kill9(&mut server);
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let ids = acknowledged.lock().unwrap().clone();
        server = start(&dir);
        let client = reqwest::blocking::Client::new();
        let readable = ids
            .iter()
            .filter(|id| {
                client
                    .get(format!("{}/api/v1/cases/{id}", server.url))
                    .bearer_auth(&token)
                    .send()
                    .is_ok_and(|r| r.status().as_u16() == 200)
            })
            .count();
        let lost = ids.len() - readable;
        let by_way = *ways.lock().unwrap();
        assert!(
            by_way.iter().all(|n| *n > 0),
            "every way in acknowledged reports before the kill (API, mail, form): {by_way:?}"
        );
        total_lost += lost;
        kill9(&mut server);
        let (integrity, events) = check_store(&dir);
        println!(
            "{trial}\t{after_ms}\t{} ({}, {}, {})\t{}\t{readable}\t{lost}\t{integrity}\t{events}",
            ids.len() - before,
            by_way[0],
            by_way[1],
            by_way[2],
            ids.len()
        );
        assert_eq!(integrity, "ok");
        server = start(&dir);
    }
    kill9(&mut server);
    println!(
        "crash: {trials} trials (seed {seed}), {} reports acknowledged, {total_lost} lost",
        acknowledged.lock().unwrap().len()
    );
    assert_eq!(total_lost, 0, "an acknowledged report was lost");
}

fn soak(minutes: u32, rate: u32, sample: Duration) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    config(&dir);
    let mut server = start(&dir);
    let token = server.token.clone().unwrap();
    project(&server, &token);
    let stop = Arc::new(AtomicBool::new(false));
    let filed = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let threads = 8u32;
    let started = Instant::now();
    let clients: Vec<_> = (0..threads)
        .map(|i| {
            let (stop, filed, errors) = (stop.clone(), filed.clone(), errors.clone());
            let (base, token) = (server.url.clone(), token.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let every = Duration::from_secs_f64(f64::from(threads) / f64::from(rate.max(1)));
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let due = every.mul_f64(k as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    let n = k * u64::from(threads) + u64::from(i);
                    let way = if n.is_multiple_of(2) {
                        Way::Api
                    } else {
                        Way::Mail
                    };
                    match file(&client, &base, &token, way, n) {
                        Some(_) => filed.fetch_add(1, Ordering::Relaxed),
                        None => errors.fetch_add(1, Ordering::Relaxed),
                    };
                    k += 1;
                }
            })
        })
        .collect();
    println!("minute\treports filed\treports/s\terrors\tserver RSS (MiB)");
    let pid = server.child.id();
    let mut rss = Vec::new();
    let mut last = 0;
    for m in 1..=minutes {
        if let Some(wait) = (sample * m).checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        let now = filed.load(Ordering::Relaxed);
        let kib = rss_kib(pid);
        rss.push(kib);
        println!(
            "{m}\t{}\t{:.0}\t{}\t{:.1}",
            now - last,
            (now - last) as f64 / sample.as_secs_f64(),
            errors.load(Ordering::Relaxed),
            kib as f64 / 1024.0
        );
        last = now;
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    kill9(&mut server);
    let (integrity, events) = check_store(&dir);
    // Warm: from a sixth of the run on (at least the first sample).
    let warm_from = (rss.len() / 6).max(1).min(rss.len() - 1);
    let warm = rss[warm_from];
    let (lo, hi) = rss[warm_from..]
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    let spread = |x: u64| (x as f64 - warm as f64) / warm as f64 * 100.0;
    println!(
        "soak: {minutes} samples at {rate}/s target, {} filed, {} errors, RSS warm {:.1} MiB, then {:+.1} % to {:+.1} %; integrity {integrity}, {events} events",
        filed.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        warm as f64 / 1024.0,
        spread(lo),
        spread(hi)
    );
    assert_eq!(integrity, "ok");
    assert_eq!(errors.load(Ordering::Relaxed), 0, "every report filed");
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    embargo_server::install_tls_provider();
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    if !full {
        // The smoke test under `cargo test`.
        crash(1, 7, Duration::from_millis(3000));
        soak(2, 40, Duration::from_secs(2));
        return;
    }
    let seed = arg(&args, "--seed", 1);
    if args.iter().any(|a| a == "crash") {
        crash(
            arg(&args, "--trials", 20) as u32,
            seed,
            Duration::from_millis(arg(&args, "--load-ms", 3000)),
        );
    }
    if args.iter().any(|a| a == "soak") {
        soak(
            arg(&args, "--minutes", 30) as u32,
            arg(&args, "--rate", 400) as u32,
            Duration::from_secs(arg(&args, "--sample-seconds", 60)),
        );
    }
}
