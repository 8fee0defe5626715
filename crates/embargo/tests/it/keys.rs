//! `embargo keys rotate-master` while a server serves and clients keep
//! writing: killed (SIGKILL) halfway, then run again, it finishes; the
//! server never stopped; afterwards a server holding only the new key
//! serves every acknowledged case, and the old key opens nothing the
//! database needs.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use serde_json::{Value, json};

use crate::serve::{
    dir_store, embargo, on_postgres, postgres_cluster, report, start, stdout, token_for,
};

/// `embargo keys status`: (values the sealing key does not open, in all).
fn status(dir: &str) -> (String, u64, u64) {
    let said = stdout(&embargo(&["keys", "status", "--data-dir", dir]));
    let line = said
        .lines()
        .find(|l| l.contains("sealed values are not under"))
        .unwrap_or_else(|| panic!("{said}"));
    let mut words = line.split_whitespace();
    let left = words.next().unwrap().parse().unwrap();
    words.next();
    let total = words.next().unwrap().parse().unwrap();
    (said, left, total)
}

#[test]
fn a_master_key_rotation_killed_halfway_resumes_and_then_needs_only_the_new_key() {
    rotation_killed_halfway(None);
}

/// The same story on PostgreSQL (the data directory's `[storage]
/// database`): the rotation walks the same tables there.
#[test]
fn a_master_key_rotation_on_postgresql_killed_halfway_resumes_and_then_needs_only_the_new_key() {
    let Some(admin) = postgres_cluster() else {
        return;
    };
    rotation_killed_halfway(Some(&admin));
}

/// A deployment on SQLite, or on a new database of the cluster `admin`.
fn rotation_killed_halfway(admin: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let d = dir.to_str().unwrap();
    if let Some(admin) = admin {
        on_postgres(&dir, admin, &format!("rotation_{}", std::process::id()));
    }
    let server = start(&dir);
    let token = server.token().unwrap();
    let client = reqwest::blocking::Client::new();
    let status_code = client
        .post(format!("{}/api/v1/projects", server.url))
        .bearer_auth(&token)
        .json(&json!({"name": "numpy", "packages": ["PyPI:numpy"]}))
        .send()
        .unwrap()
        .status();
    assert_eq!(status_code.as_u16(), 201);
    let acknowledged = Arc::new(Mutex::new(
        (0..60)
            .map(|n| report(&client, &server.url, &token, n).unwrap())
            .collect::<Vec<_>>(),
    ));
    let key_file = dir.join("master.key");
    let next_file = dir.join("master.key.next");
    let old_key = std::fs::read_to_string(&key_file).unwrap();

    // Clients keep writing through the whole rotation (a bounded loop that
    // stops when told or after 3,000 reports).
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
        let (base, token) = (server.url.clone(), token.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            for n in 1_000..4_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Some(id) = report(&client, &base, &token, n) {
                    acknowledged.lock().unwrap().push(id);
                }
            }
        })
    };

    // Throttled so that it is surely halfway when the first batch is
    // reported; killed there.
    let mut rotation = Command::new(env!("CARGO_BIN_EXE_embargo"))
        .args([
            "keys",
            "rotate-master",
            "--data-dir",
            d,
            "--batch",
            "5",
            "--max-per-second",
            "40",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(rotation.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("progress: 5 of "), "{first}");
    rotation.kill().unwrap();
    rotation.wait().unwrap();

    let (said, left, total) = status(d);
    assert!(said.contains("is unfinished"), "{said}");
    assert!(left > 0 && left < total, "halfway: {left} of {total} left");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), old_key);
    assert!(next_file.is_file(), "the new key waits beside the old one");

    // The server kept serving, sealing new cases with the new key.
    let before_resume = acknowledged.lock().unwrap().len();
    while acknowledged.lock().unwrap().len() < before_resume + 10 {
        std::thread::yield_now();
    }

    let said = stdout(&embargo(&["keys", "rotate-master", "--data-dir", d]));
    assert!(said.contains("ok: ") && said.contains("resuming"), "{said}");
    assert!(!next_file.exists());
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(new_key, old_key);

    // Still serving after it, under the new key alone.
    let after = acknowledged.lock().unwrap().len();
    while acknowledged.lock().unwrap().len() < after + 10 {
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let (said, left, total) = status(d);
    assert!(said.contains("no rotation running"), "{said}");
    assert_eq!(left, 0, "{said}");
    assert!(total > 120, "{said}");
    drop(server);

    // A server with only the new key serves every acknowledged case.
    let again = start(&dir);
    let token = token_for(&dir, "admin");
    let ids = acknowledged.lock().unwrap().clone();
    for id in &ids {
        let resp = client
            .get(format!("{}/api/v1/cases/{id}", again.url))
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
    assert!(report(&client, &again.url, &token, 9_999).is_some());
    drop(again);
    stdout(&embargo(&["audit", "verify", "--data-dir", d]));

    // The old key opens nothing: the database refuses it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = rt.block_on(dir_store(
        &dir,
        vec![embargo_store::MasterKey::from_hex(&old_key).unwrap()],
    ));
    assert!(
        matches!(refused, Err(embargo_store::StoreError::WrongKey)),
        "{refused:?}"
    );
}

#[test]
fn a_master_key_kept_outside_the_data_directory_stays_out_of_its_backups() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let vault = tmp.path().join("vault");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&vault).unwrap();
    let key_file = vault.join("embargo-master.key");
    std::fs::write(
        dir.join("embargo.toml"),
        format!("[keys]\nmaster_key = {:?}\n", key_file.to_str().unwrap()),
    )
    .unwrap();
    let server = start(&dir);
    let token = server.token().unwrap();
    let client = reqwest::blocking::Client::new();
    client
        .post(format!("{}/api/v1/projects", server.url))
        .bearer_auth(&token)
        .json(&json!({"name": "numpy", "packages": ["PyPI:numpy"]}))
        .send()
        .unwrap();
    let id = report(&client, &server.url, &token, 1).unwrap();
    assert!(key_file.is_file(), "the key is made where the config says");
    assert!(
        !dir.join("master.key").exists(),
        "and not in the data directory"
    );

    // Rotated where it lives, while the server serves.
    let d = dir.to_str().unwrap();
    let said = stdout(&embargo(&["keys", "rotate-master", "--data-dir", d]));
    assert!(said.contains(key_file.to_str().unwrap()), "{said}");
    let id2 = report(&client, &server.url, &token, 2).unwrap();
    let (_, left, _) = status(d);
    assert_eq!(left, 0);

    // A backup of the data does not carry it unless asked, and then from
    // where it lives.
    let bare = tmp.path().join("bare.tar");
    stdout(&embargo(&[
        "backup",
        "--data-dir",
        d,
        "--out",
        bare.to_str().unwrap(),
    ]));
    let full = tmp.path().join("full.tar");
    stdout(&embargo(&[
        "backup",
        "--data-dir",
        d,
        "--out",
        full.to_str().unwrap(),
        "--include-master-key",
    ]));
    let restored = tmp.path().join("restored");
    let r = restored.to_str().unwrap();
    // Restored where the configured key's place is empty (a new machine):
    // the restore says to put the key there before serving.
    let away = tmp.path().join("away.key");
    std::fs::rename(&key_file, &away).unwrap();
    let out = embargo(&["restore", full.to_str().unwrap(), "--data-dir", r]);
    std::fs::rename(&away, &key_file).unwrap();
    stdout(&out);
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains(&format!("keeps the master key at {}", key_file.display())),
        "{note}"
    );
    assert_eq!(
        std::fs::read_to_string(restored.join("master.key")).unwrap(),
        std::fs::read_to_string(&key_file).unwrap()
    );
    let without = tmp.path().join("without");
    let out = embargo(&[
        "restore",
        bare.to_str().unwrap(),
        "--data-dir",
        without.to_str().unwrap(),
    ]);
    stdout(&out);
    assert!(!without.join("master.key").exists());
    drop(server);
    let again = start(&dir);
    for case in [id, id2] {
        let resp = client
            .get(format!("{}/api/v1/cases/{case}", again.url))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
}

#[test]
fn an_intake_key_replaced_from_the_command_line_is_served_by_the_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let server = start(&dir);
    let fingerprint = || {
        reqwest::blocking::get(format!("{}/pgp-key.txt", server.url))
            .unwrap()
            .headers()["x-key-fingerprint"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let old = fingerprint();
    let said = stdout(&embargo(&[
        "keys",
        "rotate-intake",
        "--data-dir",
        dir.to_str().unwrap(),
    ]));
    assert!(said.contains(&old), "{said}");
    let new = said
        .split_whitespace()
        .nth(6)
        .unwrap()
        .trim_end_matches(';')
        .to_owned();
    assert_ne!(new, old);
    // The server reads the key files again on its next tick (each second):
    // asked until it serves the new key, at most 10 s.
    let mut served = fingerprint();
    for _ in 0..200 {
        if served == new {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        served = fingerprint();
    }
    assert_eq!(served, new);
    let retired: Vec<_> = std::fs::read_dir(dir.join("retired-intake-keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        retired.len() == 1 && retired[0].ends_with(&format!("-{old}.asc")),
        "{retired:?}"
    );
}
