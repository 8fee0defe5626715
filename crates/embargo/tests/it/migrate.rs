//! `embargo migrate --to postgres://…` as an operator runs it: a SQLite data
//! directory with a few hundred cases, the server stopped, copied into a new
//! PostgreSQL database; `audit verify` passes on the copy, the server started
//! on it (`EMBARGO_DATABASE`) serves the same cases to the same token, and a
//! second migration into it is refused. Needs the PostgreSQL cluster
//! `scripts/test` starts (`EMBARGO_TEST_POSTGRES`).

use crate::serve::{
    embargo, postgres_cluster, postgres_database, report, start, start_with_env, stdout,
};

fn cases(base: &str, token: &str) -> serde_json::Value {
    let resp = reqwest::blocking::Client::new()
        .get(format!("{base}/api/v1/cases?limit=500"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().unwrap()
}

#[test]
fn a_sqlite_deployment_moves_to_postgresql_and_serves_the_same_cases() {
    let Some(admin) = postgres_cluster() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = start(&dir);
    let token = server.token().unwrap();
    let client = reqwest::blocking::Client::new();
    let status = client
        .post(format!("{}/api/v1/projects", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "numpy", "packages": ["PyPI:numpy"]}))
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    let mut ids = Vec::new();
    for n in 0..300 {
        ids.push(report(&client, &server.url, &token, n).expect("filed"));
    }
    let before = cases(&server.url, &token);
    assert_eq!(before.as_array().map(Vec::len), Some(ids.len()), "{before}");
    assert!(server.terminate().success());
    let sqlite = stdout(&embargo(&[
        "audit",
        "verify",
        "--data-dir",
        dir.to_str().unwrap(),
    ]));

    let name = format!("migrate_{}", std::process::id());
    let url = postgres_database(&admin, &name);
    let moved = stdout(&embargo(&[
        "migrate",
        "--data-dir",
        dir.to_str().unwrap(),
        "--to",
        &url,
    ]));
    assert!(moved.contains("copied events: "), "{moved}");
    assert!(
        moved.starts_with("copied ") && moved.contains("\nok: "),
        "{moved}"
    );
    assert!(moved.contains("every count matches"), "{moved}");

    // The copy's chain is the original's.
    let verified = stdout(&embargo(&[
        "audit",
        "verify",
        "--data-dir",
        dir.to_str().unwrap(),
        "--database",
        &url,
    ]));
    assert_eq!(verified, sqlite);

    // Served from PostgreSQL: the same cases, to the same token.
    let server = start_with_env(&dir, &[("EMBARGO_DATABASE", &url)]);
    assert!(server.token().is_none(), "not a first start");
    let after = cases(&server.url, &token);
    assert_eq!(after, before);
    assert!(
        server
            .logged
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("store opened") && l.contains("PostgreSQL"))
    );
    // ... and it goes on: a new report is filed there.
    assert!(report(&client, &server.url, &token, 300).is_some());
    drop(server);

    // A second migration into it is refused.
    let again = embargo(&["migrate", "--data-dir", dir.to_str().unwrap(), "--to", &url]);
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("not empty"), "{said}");
}
