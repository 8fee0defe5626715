//! The archive benchmark: how the pages an SRT opens every day, and the
//! idle server, behave as the archive grows.
//!
//! For each size N it creates a data directory with `embargo serve` (first
//! start), stops the server, seeds N cases straight through the store
//! (nine in ten older than two weeks and settled, rejected or deferred; the
//! rest recent and in every stage; TLP labels and projects mixed; one to
//! five events each), starts the real binary again and times, on loopback:
//! a static route (the peer), the inbox `/`, the first page of
//! `GET /api/v1/cases`, one case page, `/dashboard` and `/metrics`; then it
//! leaves the server idle for a while and reads its CPU time and resident
//! memory from `/proc`.
//!
//! `cargo bench -p embargo --bench archive -- 1000 20000 100000` measures
//! those sizes; under `cargo test` (no `--bench`) it runs 30 cases as a
//! smoke test. Results go in BENCHMARKS.md.
//!
//! With `EMBARGO_BENCH_POSTGRES` (a cluster's admin URL, such as the one
//! `scripts/postgres` starts) the deployment keeps its cases in a new
//! database there; `EMBARGO_BENCH_SERVERS=2` then starts two servers on it
//! and spreads the requests over both, as a load balancer would (the idle
//! CPU is the two servers' sum, the RSS each one's).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "a benchmark: failures stop it loudly, results are printed, and seeded times follow the real clock the server reads"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use embargo_core::{
    Case, CaseId, Command, PersonId, Timestamp,
    affected::AffectedPackage,
    cvss::Cvss,
    decide, decide_new,
    event::{Assessment, Channel, Event, RejectReason, Rejection, Report, Reproduction},
    tlp::Tlp,
};
use jiff::SignedDuration;

const PROJECTS: &[&str] = &[
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "scikit-learn",
    "networkx",
    "sympy",
    "astropy",
    "scikit-image",
    "xarray",
];

/// A small deterministic generator (xorshift), so every run seeds the same archive.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn person(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

/// The events of one seeded case: reported, and for most of them taken a
/// few steps further, as an archive holds them.
fn seeded(rng: &mut Rng, i: usize, now: Timestamp) -> (CaseId, Vec<Event>) {
    let id = CaseId::from_parts(2026, u32::try_from(i).unwrap());
    let project = PROJECTS[usize::try_from(rng.below(PROJECTS.len() as u64)).unwrap()];
    // An archive is mostly history: nine cases in ten are older than two
    // weeks and settled (rejected or deferred, their clocks stopped); the
    // rest arrived in the last two weeks and are in every stage, the
    // unanswered ones within the last six hours.
    let recent = i.is_multiple_of(10);
    let minutes = if recent {
        rng.below(14 * 24 * 60)
    } else {
        14 * 24 * 60 + rng.below(2 * 365 * 24 * 60)
    };
    let age = SignedDuration::from_mins(i64::try_from(minutes).unwrap());
    let mut at = now - age;
    let report = Report {
        project: project.into(),
        title: format!("Case {i}: out-of-bounds read in {project}'s parser"),
        body: "Steps to reproduce: build the attached file and load it.\n".repeat(8),
        reporter_name: Some(format!("Reporter {i}")),
        reporter_email: Some(format!("r{i}@example.net")),
        channel: Channel::Web,
        intake: Default::default(),
    };
    let mut log = decide_new(report, &person("intake"), at).unwrap();
    let mut case = Case::from_events(id.clone(), &log).unwrap();
    let srt = person("sam");
    let tlp = [Tlp::AmberStrict, Tlp::Amber, Tlp::Green, Tlp::Red]
        [usize::try_from(rng.below(4)).unwrap()];
    // 0: new; 1: acknowledged; 2: triaged; 3: fixing; 4: rejected; 5: deferred after triage.
    let depth = if recent {
        let d = [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 5][usize::try_from(rng.below(11)).unwrap()];
        if d == 0 && minutes > 6 * 60 { 1 } else { d }
    } else {
        [4, 4, 5][usize::try_from(rng.below(3)).unwrap()]
    };
    let mut steps = Vec::new();
    if depth >= 1 {
        steps.push(Command::Acknowledge {
            message: "Thank you, we are looking at it.".into(),
        });
    }
    if depth == 4 {
        steps.push(Command::Reject {
            rejection: Rejection {
                reason: RejectReason::NotReproducible,
                explanation: "Could not reproduce on any release.".into(),
            },
        });
    }
    if matches!(depth, 2 | 3 | 5) {
        steps.push(Command::Triage {
            assessment: Assessment {
                reproduced: Reproduction::Yes,
                notes: "Reproduced on the latest release.".into(),
                affected: vec![
                    AffectedPackage::parse(&format!("PyPI:{project}:0..9.9.9")).unwrap(),
                ],
                cvss_v31: Some(
                    Cvss::parse(
                        [
                            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
                            "CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N",
                            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                        ][usize::try_from(rng.below(3)).unwrap()],
                    )
                    .unwrap(),
                ),
                cvss_v40: None,
                cwe: Some("CWE-125".parse().unwrap()),
                tlp,
                projects: Vec::new(),
            },
        });
    }
    if depth == 5 {
        steps.push(Command::Defer {
            reason: "Waiting for the upstream parser rewrite.".into(),
        });
    }
    if depth == 3 {
        steps.push(Command::AssignFixingTeam {
            coordinator: person("cora"),
            fixers: vec![person("fred")],
        });
    }
    for step in steps {
        at += SignedDuration::from_hours(3);
        let events = decide(&case, step, &srt, at.min(now)).unwrap();
        for e in &events {
            case.apply(e).unwrap();
        }
        log.extend(events);
    }
    (id, log)
}

struct Server {
    child: Child,
    url: String,
    printed: std::sync::mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, database: Option<&str>) -> Server {
    let mut child = Process::new(env!("CARGO_BIN_EXE_embargo"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .envs(database.map(|url| ("EMBARGO_DATABASE", url)))
        .env("EMBARGO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("embargo is serving on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let (tx, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Server {
        child,
        url,
        printed,
    }
}

/// CPU time (user + system) of a process, in clock ticks, and its RSS in KiB.
fn proc_usage(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks, rss)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

struct Timing {
    route: &'static str,
    n: usize,
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

/// Times GET requests to one route: as many as fit in `budget` (at least
/// 3, at most `max`), after one unmeasured warm-up request to each server,
/// taking the servers `bases` in turn.
async fn time(
    client: &reqwest::Client,
    route: &'static str,
    bases: &[String],
    path: &str,
    auth: &[(&str, String)],
    max: usize,
    budget: Duration,
) -> Timing {
    let turn = std::cell::Cell::new(0_usize);
    let get = || {
        let base = &bases[turn.get() % bases.len()];
        turn.set(turn.get() + 1);
        let mut req = client.get(format!("{base}{path}"));
        for (k, v) in auth {
            req = req.header(*k, v);
        }
        req
    };
    for _ in bases {
        let warm = get().send().await.unwrap();
        assert!(warm.status().is_success(), "{route}: {}", warm.status());
        let _ = warm.bytes().await.unwrap();
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut bytes = 0;
    while samples.len() < max && (samples.len() < 3 || started.elapsed() < budget) {
        let t = Instant::now();
        let resp = get().send().await.unwrap();
        assert!(resp.status().is_success(), "{route}: {}", resp.status());
        bytes = resp.bytes().await.unwrap().len();
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    Timing {
        route,
        n: samples.len(),
        p50: percentile(&samples, 0.5),
        p99: percentile(&samples, 0.99),
        bytes,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn run(n: usize, full: bool, database: Option<&str>, servers: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // First start: the data directory, its keys and the admin's token.
    let token = {
        let server = start(&dir, database);
        let token = loop {
            let line = server
                .printed
                .recv_timeout(Duration::from_secs(10))
                .expect("the first start prints the admin's token");
            if line.trim().starts_with("emb_") {
                break line.trim().to_owned();
            }
        };
        drop(server);
        token
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let now = Timestamp::now();
    let seed_started = Instant::now();
    let (session, sample) = rt.block_on(async {
        let key = std::fs::read_to_string(dir.join("master.key")).unwrap();
        let master = embargo_store::MasterKey::from_hex(&key).unwrap();
        let store = match database {
            Some(url) => embargo_store::Store::connect(url, 8, vec![master], None).await,
            None => embargo_store::Store::open(&dir.join("embargo.db"), false, Some(master)).await,
        }
        .unwrap();
        for (id, role) in [
            ("sam", embargo_core::access::OrgRole::Srt),
            ("cora", embargo_core::access::OrgRole::Maintainer),
            ("fred", embargo_core::access::OrgRole::Maintainer),
            ("mia", embargo_core::access::OrgRole::Maintainer),
        ] {
            store
                .add_person(
                    &person(id),
                    id,
                    &format!("{id}@example.org"),
                    role,
                    "JBSWY3DPEHPK3PXP",
                    now.as_second(),
                )
                .await
                .unwrap();
        }
        for name in PROJECTS {
            store
                .put_project(
                    &embargo_store::Project {
                        name: (*name).into(),
                        repositories: Vec::new(),
                        packages: vec![format!("PyPI:{name}")],
                        series: Vec::new(),
                        maintainers: vec![person("mia")],
                    },
                    now.as_second(),
                )
                .await
                .unwrap();
        }
        // Seed through the writer, many appends in flight so it batches.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut sample = None;
        // A small archive may hold no such case: then any the SRT sees.
        let mut fallback = None;
        for chunk in (0..n).collect::<Vec<_>>().chunks(512) {
            let mut tasks = tokio::task::JoinSet::new();
            for &i in chunk {
                let (id, events) = seeded(&mut rng, i, now);
                // The case page of an open, triaged case the SRT sees: the
                // one an SRT member opens, with duplicate hints to compute.
                let open_triaged = events.iter().any(|e| e.data.kind() == "triaged")
                    && !events
                        .iter()
                        .any(|e| matches!(e.data.kind(), "rejected" | "deferred"));
                let srt_sees = || {
                    let case = Case::from_events(id.clone(), &events).unwrap();
                    case.tlp() != Tlp::Red || !case.has_coordinator()
                };
                if sample.is_none() && open_triaged && srt_sees() {
                    sample = Some(id.clone());
                }
                if fallback.is_none() && srt_sees() {
                    fallback = Some(id.clone());
                }
                let store = store.clone();
                tasks.spawn(async move { store.create(id, move || Ok(events)).await.unwrap() });
            }
            while let Some(r) = tasks.join_next().await {
                r.unwrap();
            }
        }
        let session = format!("benchsession{n}");
        store
            .add_session(
                &embargo_server::api_token_hash(&session),
                &person("sam"),
                "csrf",
                now.as_second(),
                now.as_second() + 86_400,
            )
            .await
            .unwrap();
        (session, sample.or(fallback).unwrap())
    });
    let seeded_in = seed_started.elapsed();
    let db_size = match database {
        Some(url) => rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            u64::try_from(size).unwrap()
        }),
        None => {
            std::fs::metadata(dir.join("embargo.db"))
                .map(|m| m.len())
                .unwrap_or(0)
                + std::fs::metadata(dir.join("embargo.db-wal"))
                    .map(|m| m.len())
                    .unwrap_or(0)
        }
    };

    let running: Vec<Server> = (0..servers).map(|_| start(&dir, database)).collect();
    let pids: Vec<u32> = running.iter().map(|s| s.child.id()).collect();
    let pid = pids[0];
    let url = running[0].url.clone();
    let bases: Vec<String> = running.iter().map(|s| s.url.clone()).collect();
    let (max, budget) = if full {
        (200, Duration::from_secs(20))
    } else {
        (3, Duration::ZERO)
    };
    let cookie = vec![("cookie", format!("__Host-embargo-session={session}"))];
    let bearer = vec![("authorization", format!("Bearer {token}"))];
    // The first start under the server's policy computes every case's
    // timer once and the scheduler then looks at each case once (a one-off
    // after an upgrade or a policy change); measure after that has settled.
    let settle_started = Instant::now();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut last_said = Instant::now();
        while settle_started.elapsed() < Duration::from_secs(1200) {
            let text = client
                .get(format!("{url}/metrics"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let gauge = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name} ")))
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    // A server without the gauge has no such backlog.
                    .unwrap_or(0)
            };
            let left = [
                "embargo_timers_due",
                "embargo_outbox_pending",
                "embargo_hints_due",
            ]
            .map(|g| (g, gauge(g)));
            if left.iter().all(|(_, v)| *v == 0) {
                break;
            }
            if last_said.elapsed() > Duration::from_secs(60) {
                println!(
                    "still settling after {:.0} s: {left:?}",
                    settle_started.elapsed().as_secs_f64()
                );
                last_said = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let settled_in = settle_started.elapsed();
    let mut rss_before_dashboard = 0;
    let timings = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut out = Vec::new();
        for (route, path, auth) in [
            (
                "static `/static/app.css`",
                "/static/app.css".to_owned(),
                &Vec::new(),
            ),
            ("inbox `/`", "/".to_owned(), &cookie),
            ("`GET /api/v1/cases`", "/api/v1/cases".to_owned(), &bearer),
            ("case page", format!("/cases/{sample}"), &cookie),
            ("`/metrics`", "/metrics".to_owned(), &bearer),
            ("static again", "/static/app.css".to_owned(), &Vec::new()),
            ("`/dashboard`", "/dashboard".to_owned(), &cookie),
        ] {
            if route == "`/dashboard`" {
                rss_before_dashboard = pids.iter().map(|p| proc_usage(*p).1).max().unwrap_or(0);
            }
            out.push(time(&client, route, &bases, &path, auth, max, budget).await);
        }
        out
    });
    // For a profile (`ARCHIVE_PROFILE=inbox|list|case`, with `perf` on the
    // path): perf records the server for 15 s while one route is asked
    // for in a loop; the report goes to target/archive-ROUTE.perf.
    if let Ok(which) = std::env::var("ARCHIVE_PROFILE") {
        let (path, auth) = match which.as_str() {
            "list" => ("/api/v1/cases".to_owned(), &bearer),
            "case" => (format!("/cases/{sample}"), &cookie),
            _ => ("/".to_owned(), &cookie),
        };
        let out = format!(
            "{}/../../target/archive-{which}.perf",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut perf = Process::new("perf")
            .args([
                "record",
                "-F",
                "999",
                "--call-graph",
                "dwarf,16384",
                "-o",
                &out,
                "-p",
            ])
            .arg(pid.to_string())
            .args(["--", "sleep", "15"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("perf runs");
        rt.block_on(async {
            let client = reqwest::Client::new();
            let _ = time(
                &client,
                "profiled",
                std::slice::from_ref(&url),
                &path,
                auth,
                100_000,
                Duration::from_secs(16),
            )
            .await;
        });
        let _ = perf.wait();
        println!("profile of {path} in {out}");
    }
    // Idle: no requests; the scheduler and pollers run as they do.
    let idle = if full {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(1)
    };
    let before: u64 = pids.iter().map(|p| proc_usage(*p).0).sum();
    std::thread::sleep(idle);
    let after: u64 = pids.iter().map(|p| proc_usage(*p).0).sum();
    let rss = pids.iter().map(|p| proc_usage(*p).1).max().unwrap_or(0);
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let idle_cpu = (after - before) as f64 / ticks_per_second / idle.as_secs_f64() * 100.0;
    drop(running);

    let backend = match (database, servers) {
        (None, _) => "SQLite".to_owned(),
        (Some(_), 1) => "PostgreSQL, one server".to_owned(),
        (Some(_), k) => format!("PostgreSQL, {k} servers"),
    };
    println!(
        "\n## {n} cases, {backend} (seeded in {:.1} s, database {:.1} MB; first look at every case settled in {:.1} s)",
        seeded_in.as_secs_f64(),
        db_size as f64 / 1e6,
        settled_in.as_secs_f64()
    );
    println!("| route | requests | p50 | p99 | response |");
    println!("|---|---|---|---|---|");
    for t in &timings {
        println!(
            "| {} | {} | {} | {} | {:.1} KB |",
            t.route,
            t.n,
            ms(t.p50),
            ms(t.p99),
            t.bytes as f64 / 1e3
        );
    }
    println!(
        "idle server over {} s: {:.2} % of a core; RSS {:.1} MB before the dashboard, {:.1} MB after",
        idle.as_secs(),
        idle_cpu,
        rss_before_dashboard as f64 / 1024.0,
        rss as f64 / 1024.0
    );
}

fn main() {
    embargo_server::install_tls_provider();
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = match (full, sizes.is_empty()) {
        (false, _) => vec![30],
        (true, true) => vec![1_000, 20_000, 100_000],
        (true, false) => sizes,
    };
    // A new database per size on the cluster named, or SQLite.
    let cluster = std::env::var("EMBARGO_BENCH_POSTGRES").ok();
    let servers: usize = std::env::var("EMBARGO_BENCH_SERVERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    assert!(
        servers == 1 || cluster.is_some(),
        "several servers share a PostgreSQL database: set EMBARGO_BENCH_POSTGRES"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in sizes {
        let database = cluster.as_ref().map(|admin| {
            let name = format!("archive_{n}_{}", std::process::id());
            rt.block_on(embargo_store::testing::postgres_database(admin, &name))
                .unwrap()
        });
        run(n, full, database.as_deref(), servers);
    }
}
