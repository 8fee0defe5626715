//! `embargo backup` while a server serves and clients keep writing;
//! `embargo restore` into a new directory, a server on it with every case
//! acknowledged before the backup began, the chain intact; a restore onto
//! a directory in use refused; a backup without its master key restored
//! with the key kept apart, and refused with another.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use serde_json::{Value, json};

use crate::serve::{embargo, report, start, stdout, token_for};

#[test]
fn a_backup_taken_under_load_restores_every_acknowledged_case() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let server = start(&dir);
    let token = server.token().unwrap();
    let client = reqwest::blocking::Client::new();
    let project = json!({"name": "numpy", "packages": ["PyPI:numpy"]});
    let status = client
        .post(format!("{}/api/v1/projects", server.url))
        .bearer_auth(&token)
        .json(&project)
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    let before: Vec<String> = (0..20)
        .map(|n| report(&client, &server.url, &token, n).unwrap())
        .collect();

    // Clients keep writing while the backup runs (a bounded loop that
    // stops when told or after 2,000 reports).
    let stop = Arc::new(AtomicBool::new(false));
    let during = Arc::new(Mutex::new(0usize));
    let writer = {
        let (stop, during) = (stop.clone(), during.clone());
        let (base, token) = (server.url.clone(), token.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            for n in 100..2_100 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if report(&client, &base, &token, n).is_some() {
                    *during.lock().unwrap() += 1;
                }
            }
        })
    };
    while *during.lock().unwrap() < 5 {
        std::thread::yield_now();
    }
    // An intake key replaced before the backup still decrypts for a while:
    // the archive carries it.
    let said = stdout(&embargo(&[
        "keys",
        "rotate-intake",
        "--data-dir",
        dir.to_str().unwrap(),
    ]));
    let intake_key = |url: &str, token: &str| -> Value {
        client
            .get(format!("{url}/api/v1/admin/intake-key"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let old_intake = said
        .split_whitespace()
        .nth(10)
        .unwrap()
        .trim_end_matches(';')
        .to_owned();
    let archive = tmp.path().join("backup.tar");
    let out = embargo(&[
        "backup",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        archive.to_str().unwrap(),
        "--include-master-key",
    ]);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    stdout(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("ok: ") && said.contains("with the master key"),
        "{said}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WARNING: this archive holds the master key"),
        "a loud warning"
    );
    assert!(*during.lock().unwrap() >= 5, "the server kept serving");

    // The archive checks out on its own.
    let verified = embargo(&["backup", "verify", archive.to_str().unwrap()]);
    stdout(&verified);

    // Restored into a new directory, a server on it has every case
    // acknowledged before the backup began, and the chain is intact.
    let restored = tmp.path().join("restored");
    let out = embargo(&[
        "restore",
        archive.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    stdout(&out);
    let again = embargo(&[
        "restore",
        archive.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("is not empty"),
        "refused onto a directory in use"
    );
    let audit = embargo(&["audit", "verify", "--data-dir", restored.to_str().unwrap()]);
    stdout(&audit);
    drop(server);
    let other = start(&restored);
    let token = token_for(&restored, "admin");
    for id in &before {
        let resp = client
            .get(format!("{}/api/v1/cases/{id}", other.url))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{id}");
        let case: Value = resp.json().unwrap();
        assert!(
            case["title"]
                .as_str()
                .unwrap()
                .ends_with("in the tokenizer"),
            "{case}"
        );
    }
    let keys = intake_key(&other.url, &token);
    assert_eq!(
        keys["retired"][0]["fingerprint"], old_intake,
        "the retired intake key came back: {keys}"
    );
    assert_ne!(keys["fingerprint"], old_intake);
    drop(other);

    // Without the master key: restored with the key kept apart, and
    // refused with another key.
    let bare = tmp.path().join("bare.tar");
    let out = embargo(&[
        "backup",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        bare.to_str().unwrap(),
    ]);
    stdout(&out);
    let key = dir.join("master.key");
    let out = embargo(&[
        "restore",
        bare.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("r2").to_str().unwrap(),
        "--master-key",
        key.to_str().unwrap(),
    ]);
    stdout(&out);
    let wrong = tmp.path().join("wrong.key");
    std::fs::write(&wrong, "00".repeat(32)).unwrap();
    let out = embargo(&[
        "restore",
        bare.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("r3").to_str().unwrap(),
        "--master-key",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // An archive may not be written over an existing file.
    let out = embargo(&[
        "backup",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        bare.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
}
