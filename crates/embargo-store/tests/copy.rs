//! `Store::copy_into` (what `embargo migrate` runs): a SQLite deployment
//! copied into a new PostgreSQL database serves the same cases, its log is
//! the same byte for byte (the chain verifies there), what the target makes
//! next does not collide with what was copied, and a target that holds a
//! deployment is refused. Needs the PostgreSQL cluster `scripts/test`
//! starts (`EMBARGO_TEST_POSTGRES`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use embargo_core::{
    CaseId, Command, PersonId, Timestamp,
    access::OrgRole,
    decide, decide_new,
    event::{Channel, Report},
};
use embargo_store::{MasterKey, Store, StoreError};

fn t(h: i64) -> Timestamp {
    "2026-03-02T09:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_hours(h)
}

fn srt() -> PersonId {
    PersonId::new("srt@example.org").unwrap()
}

fn inbound(reference: &str) -> embargo_store::NewInbound {
    embargo_store::NewInbound {
        received_at: 1,
        channel: "email".into(),
        source: "imap".into(),
        reference: Some(reference.into()),
        raw: b"Subject: hi\r\n\r\nbody".to_vec(),
        reporter_link: None,
        jobs: Vec::new(),
    }
}

/// The cluster's admin URL, or `None` (the test is skipped) outside
/// `scripts/test`; CI must have it.
fn cluster() -> Option<String> {
    match std::env::var("EMBARGO_TEST_POSTGRES") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI needs EMBARGO_TEST_POSTGRES: run scripts/test")
        }
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_copied_into_postgresql_serves_the_same_cases() {
    let Some(admin) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let source = Store::open(&dir.path().join("embargo.db"), true, Some(key.clone()))
        .await
        .unwrap();
    // A few hundred cases, some acknowledged, people, a project, held mail
    // and jobs.
    let mut ids = Vec::new();
    for n in 0..300u32 {
        let id = CaseId::from_parts(2026, n + 1);
        let report = Report {
            project: "numpy".into(),
            title: format!("Overflow number {n} in the parser"),
            body: "Steps: run it.".into(),
            reporter_name: None,
            reporter_email: Some(format!("r{n}@example.net")),
            channel: Channel::Web,
            intake: Default::default(),
        };
        source
            .create(id.clone(), move || decide_new(report, &srt(), t(0)))
            .await
            .unwrap();
        if n % 3 == 0 {
            source
                .execute(id.clone(), |c| {
                    decide(
                        c,
                        Command::Acknowledge {
                            message: "thanks".into(),
                        },
                        &srt(),
                        t(1),
                    )
                })
                .await
                .unwrap();
        }
        ids.push(id);
    }
    let mia = PersonId::new("mia").unwrap();
    source
        .add_person(
            &mia,
            "Mia",
            "mia@example.org",
            OrgRole::Maintainer,
            "SEED",
            1,
        )
        .await
        .unwrap();
    for n in 0..3 {
        source
            .quarantine(inbound(&format!("<held{n}@x>")), "unreadable")
            .await
            .unwrap();
    }
    source
        .enqueue(
            "notice:1",
            "notice",
            None,
            &serde_json::json!({"to": "mia"}),
            1,
        )
        .await
        .unwrap();
    let events = source.verify().await.unwrap().unwrap();

    let name = {
        use sha2::Digest;
        let path = dir.path().as_os_str().as_encoded_bytes();
        format!("copy_{}", &hex::encode(sha2::Sha256::digest(path))[..16])
    };
    let url = embargo_store::testing::postgres_database(&admin, &name)
        .await
        .unwrap();
    let target = Store::connect(&url, 8, vec![key.clone()], None)
        .await
        .unwrap();
    let mut heard = Vec::new();
    let copied = source
        .copy_into(&target, &mut |table, done, total| {
            heard.push((table.to_owned(), done, total))
        })
        .await
        .unwrap();
    let events_copied = copied.tables.iter().find(|(t, _)| t == "events").unwrap().1;
    assert_eq!(events_copied, events);
    assert!(
        heard
            .iter()
            .any(|(t, done, total)| t == "events" && done == total && *total == events)
    );
    drop(target);

    // The copy, opened as a server would: the same chain, the same cases.
    let copy = Store::connect(&url, 8, vec![key], None).await.unwrap();
    assert_eq!(copy.verify().await.unwrap(), Ok(events));
    assert_eq!(
        copy.head_and_cases().await.unwrap(),
        source.head_and_cases().await.unwrap()
    );
    for id in [&ids[0], &ids[1], &ids[299]] {
        assert_eq!(copy.case(id).await.unwrap(), source.case(id).await.unwrap());
        assert_eq!(
            copy.events(id).await.unwrap(),
            source.events(id).await.unwrap()
        );
    }
    assert_eq!(
        copy.person("mia").await.unwrap(),
        source.person("mia").await.unwrap()
    );
    let held = embargo_core::Stage::Screening.label();
    assert_eq!(
        copy.waiting(held).await.unwrap(),
        source.waiting(held).await.unwrap()
    );
    assert!(copy.job_exists("notice:1").await.unwrap());
    // What the copy makes next follows what was copied.
    let next = copy
        .quarantine(inbound("<new@x>"), "unreadable")
        .await
        .unwrap();
    assert!(next > 3, "a new id after the copied ones: {next}");
    let id = CaseId::from_parts(2026, 301);
    let report = Report {
        project: "numpy".into(),
        title: "After the move".into(),
        body: "Steps.".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Web,
        intake: Default::default(),
    };
    copy.create(id.clone(), move || decide_new(report, &srt(), t(2)))
        .await
        .unwrap();
    assert_eq!(copy.verify().await.unwrap(), Ok(events + 1));

    // A second copy into it is refused, and changes nothing.
    let again = source.copy_into(&copy, &mut |_, _, _| {}).await;
    assert!(matches!(again, Err(StoreError::NotEmpty(_))), "{again:?}");
    assert_eq!(copy.verify().await.unwrap(), Ok(events + 1));
}
