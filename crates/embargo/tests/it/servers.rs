//! Two `embargo serve` processes of one deployment (one data directory, one
//! PostgreSQL database), as a load balancer has them, with a real mail
//! system (OpenSMTPD and Dovecot) behind a relay the test controls. One
//! server is killed with SIGKILL while it holds a job's lease: the other
//! does the job once, and nothing either acknowledged is lost. A server
//! whose send is slow keeps its lease by renewing it: the other does not
//! send the same mail again. The leases are 3 s (`[server]
//! job_lease_seconds`) and the clock is the machine's, so the tests wait
//! for what must happen and prove what must not by a later marker.
//! Needs the PostgreSQL cluster `scripts/test` starts.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::mailserver::{MailServer, relay};
use crate::serve::{Server, embargo, postgres_cluster, postgres_database, start_with_env, stdout};

/// A deployment's data directory with short job leases and mail through
/// `smtp_port`, and a new database for it: (its temporary home, the data
/// directory, the database URL).
fn deployment(
    admin: &str,
    tag: &str,
    smtp_port: u16,
) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("embargo.toml"),
        format!(
            "[server]\njob_lease_seconds = 3\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"none\"\ntimeout_seconds = 60\n"
        ),
    )
    .unwrap();
    let url = postgres_database(admin, &format!("{tag}_{}", std::process::id()));
    (tmp, dir, url)
}

fn serve(dir: &std::path::Path, url: &str) -> Server {
    start_with_env(dir, &[("EMBARGO_DATABASE", url)])
}

/// Files a report on `base`; its id once the server answered 201.
fn file(base: &str, token: &str, title: &str, email: Option<&str>) -> Option<String> {
    let mut body =
        serde_json::json!({"project": "numpy", "title": title, "body": "Steps: call it twice."});
    if let Some(email) = email {
        body["reporter_email"] = email.into();
    }
    let resp = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .ok()?;
    if resp.status().as_u16() != 201 {
        return None;
    }
    let v: serde_json::Value = resp.json().ok()?;
    v["id"].as_str().map(str::to_owned)
}

fn add_project(base: &str, token: &str) {
    let status = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": "numpy"}))
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
}

fn case_ids(base: &str, token: &str) -> Vec<String> {
    let resp = reqwest::blocking::Client::new()
        .get(format!("{base}/api/v1/cases?limit=500"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = resp.json().unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits (up to 30 s) until `connections` reaches `n`.
fn until_connected(connections: &AtomicUsize, n: usize) {
    for _ in 0..1_200 {
        if connections.load(Ordering::SeqCst) >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!(
        "the mail relay saw {} connections, expected {n}",
        connections.load(Ordering::SeqCst)
    );
}

/// Reports the receipts of `lin` and then of `ada` arrived for: by the
/// time `ada`'s has arrived, a second copy of `lin`'s would have arrived
/// before it (every claim of it was due earlier).
fn receipts_once(mail: &MailServer, base: &str, token: &str, case: &str) {
    let inbox = mail.mailbox("lin@example.net", 1);
    assert!(
        inbox[0].contains(&format!("Subject: [{case}] Report received")),
        "{}",
        inbox[0]
    );
    file(base, token, "The marker", Some("ada@example.net")).expect("filed");
    mail.mailbox("ada@example.net", 1);
    assert_eq!(
        mail.mailbox("lin@example.net", 1).len(),
        1,
        "the receipt went out once"
    );
}

#[test]
fn a_server_killed_while_it_holds_a_job_lease_loses_nothing_and_the_other_does_the_job_once() {
    let Some(admin) = postgres_cluster() else {
        return;
    };
    let mail = MailServer::start();
    let (port, connections) = relay(mail.smtp_port, None);
    let (_tmp, dir, url) = deployment(&admin, "kill", port);
    let first = serve(&dir, &url);
    let token = first.token().expect("a first start");
    add_project(&first.url, &token);
    let case = file(
        &first.url,
        &token,
        "Use after free",
        Some("lin@example.net"),
    )
    .expect("filed");
    // The first server has claimed the receipt: its send is stuck in the
    // mail server's silence.
    until_connected(&connections, 1);
    let second = serve(&dir, &url);

    // Reports spread over both servers while the first dies.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, token) = (stop.clone(), token.clone());
        let bases = [first.url.clone(), second.url.clone()];
        std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 10_000 {
                if let Some(id) = file(&bases[n % 2], &token, &format!("Report {n}"), None) {
                    acknowledged.push(id);
                }
                n += 1;
            }
            acknowledged
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    first.kill();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let acknowledged = load.join().unwrap();
    assert!(
        acknowledged.len() >= 10,
        "{} acknowledged",
        acknowledged.len()
    );

    // The second server sends the receipt once the dead one's lease ran
    // out, once.
    receipts_once(&mail, &second.url, &token, &case);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "the stuck send, then the second server's one connection for the receipt and the marker"
    );

    // Every report either server acknowledged is there.
    let stored = case_ids(&second.url, &token);
    for id in acknowledged.iter().chain([&case]) {
        assert!(stored.contains(id), "{id} was acknowledged and is gone");
    }
    let mut second = second;
    assert!(second.terminate().success());
    let verified = stdout(&embargo(&[
        "audit",
        "verify",
        "--data-dir",
        dir.to_str().unwrap(),
        "--database",
        &url,
    ]));
    assert!(verified.contains("the chain is intact"), "{verified}");
}

#[test]
fn a_slow_send_keeps_its_lease_and_the_other_server_does_not_send_it_again() {
    let Some(admin) = postgres_cluster() else {
        return;
    };
    let mail = MailServer::start();
    // The first send takes 8 s, more than twice the 3 s lease.
    let (port, connections) = relay(mail.smtp_port, Some(Duration::from_secs(8)));
    let (_tmp, dir, url) = deployment(&admin, "renew", port);
    let first = serve(&dir, &url);
    let token = first.token().expect("a first start");
    add_project(&first.url, &token);
    let second = serve(&dir, &url);
    let case = file(
        &first.url,
        &token,
        "Use after free",
        Some("lin@example.net"),
    )
    .expect("filed");
    until_connected(&connections, 1);
    // Whichever server claimed it renews its claim while it waits, so the
    // other never finds it due: the reporter gets one receipt. (The marker
    // goes over the slow connection when the same server sends it, over a
    // new one otherwise: the mailbox, not the count, says what was sent.)
    receipts_once(&mail, &second.url, &token, &case);
    assert!(connections.load(Ordering::SeqCst) <= 2);
}
