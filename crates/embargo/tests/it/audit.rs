//! `embargo audit verify` on an intact log, a tampered one, and no data dir.

use std::process::Command;

use embargo_core::{
    CaseId, Command as CaseCommand, PersonId, Timestamp, decide, decide_new,
    event::{Channel, Report},
};

fn embargo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_embargo"))
}

#[test]
fn verify_reports_intact_and_tampered_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("embargo.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store =
            embargo_store::Store::open(&db, true, Some(embargo_store::MasterKey::generate()))
                .await
                .unwrap();
        let who = PersonId::new("srt").unwrap();
        let now: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
        let id = CaseId::from_parts(2026, 7);
        let report = Report {
            project: "numpy".into(),
            title: "t".into(),
            body: "b".into(),
            reporter_name: None,
            reporter_email: None,
            channel: Channel::Api,
            intake: Default::default(),
        };
        let w = who.clone();
        store
            .create(id.clone(), move || decide_new(report, &w, now))
            .await
            .unwrap();
        store
            .execute(id, move |c| {
                decide(
                    c,
                    CaseCommand::Acknowledge {
                        message: "thanks".into(),
                    },
                    &who,
                    now,
                )
            })
            .await
            .unwrap();
    });
    let out = embargo()
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: 2 events, the chain is intact\n"
    );

    // Tamper with the file as an attacker with disk access would.
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE events SET actor = 'someone-else' WHERE seq = 2")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let out = embargo()
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr), @"embargo audit verify: the log was tampered with: event 2 (acknowledged on case EMB-2026-000007): its content does not match its hash (edited)");
}

#[test]
fn a_missing_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = embargo()
        .args(["audit", "verify", "--data-dir"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no database at") && err.contains("nope"),
        "{err}"
    );
    assert!(!missing.exists(), "verify must not create a data dir");
}
