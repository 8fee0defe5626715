//! The store's story: cases written through the writer, read back, replayed
//! into projections, refused commands leaving the log alone, and every kind of
//! tampering with the SQLite file detected and named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

mod support;

use embargo_core::{
    CaseId, Command, PersonId, Refusal, Timestamp, decide, decide_new,
    event::{Channel, Report},
};
use embargo_store::{Store, StoreError};
use sqlx::{Connection, SqliteConnection};

fn t(h: i64) -> Timestamp {
    "2026-03-02T09:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_hours(h)
}

fn srt() -> PersonId {
    PersonId::new("srt@example.org").unwrap()
}

fn report(title: String) -> Report {
    Report {
        project: "numpy".into(),
        title,
        body: "steps".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Email,
        intake: Default::default(),
    }
}

async fn seeded(dir: &tempfile::TempDir) -> (Store, Vec<CaseId>) {
    let store = support::open(
        &dir.path().join("embargo.db"),
        true,
        Some(embargo_store::MasterKey::generate()),
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for n in 0..3u32 {
        let id = CaseId::from_parts(2026, n + 1);
        let r = report(format!("report {n}"));
        store
            .create(id.clone(), move || decide_new(r, &srt(), t(0)))
            .await
            .unwrap();
        store
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
        ids.push(id);
    }
    (store, ids)
}

async fn raw(dir: &tempfile::TempDir) -> support::Raw {
    support::raw(&dir.path().join("embargo.db")).await
}

#[tokio::test]
async fn cases_round_trip_and_projections_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = seeded(&dir).await;
    let case = store.case(&ids[1]).await.unwrap();
    assert_eq!(case.stage().label(), "acknowledged");
    assert_eq!(store.events(&ids[1]).await.unwrap().len(), 2);
    let before = store.projection().await.unwrap();
    assert_eq!(before.len(), 3);
    assert_eq!(before[0][3], "acknowledged");
    assert_eq!(store.rebuild_projections().await.unwrap(), 3);
    assert_eq!(store.projection().await.unwrap(), before);
    assert_eq!(store.verify().await.unwrap(), Ok(6));
}

#[tokio::test]
async fn a_refused_command_leaves_the_log_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = seeded(&dir).await;
    let before = store.events(&ids[0]).await.unwrap();
    let err = store
        .execute(ids[0].clone(), |c| {
            decide(
                c,
                Command::Acknowledge {
                    message: "again".into(),
                },
                &srt(),
                t(2),
            )
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Refused(Refusal::NotAllowedNow { .. })),
        "{err}"
    );
    assert_eq!(store.events(&ids[0]).await.unwrap(), before);
    assert_eq!(store.verify().await.unwrap(), Ok(6));
    let missing = CaseId::from_parts(2026, 999);
    assert!(matches!(
        store.case(&missing).await,
        Err(StoreError::NoSuchCase(_))
    ));
}

#[tokio::test]
async fn concurrent_appends_all_land_in_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::open(
        &dir.path().join("embargo.db"),
        true,
        Some(embargo_store::MasterKey::generate()),
    )
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for n in 0..50u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let r = report(format!("r{n}"));
            store
                .create(CaseId::from_parts(2026, n), move || {
                    decide_new(r, &srt(), t(0))
                })
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.verify().await.unwrap(), Ok(50));
    assert_eq!(store.projection().await.unwrap().len(), 50);
}

#[tokio::test]
async fn tampering_is_detected_and_the_event_named() {
    // Edit a payload.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = seeded(&dir).await;
    let mut db = raw(&dir).await;
    // Payloads are sealed: flip one hex digit of the ciphertext.
    db.exec(
        "UPDATE events SET payload = substr(payload, 1, 20) || \
         CASE substr(payload, 21, 1) WHEN 'a' THEN 'b' ELSE 'a' END || substr(payload, 22) \
         WHERE seq = 4",
    )
    .await;
    let brk = store.verify().await.unwrap().unwrap_err();
    assert_eq!(
        brk.to_string(),
        "event 4 (acknowledged on case EMB-2026-000002): its content does not match its hash (edited)"
    );

    // Delete a row in the middle.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = seeded(&dir).await;
    let mut db = raw(&dir).await;
    db.exec("DELETE FROM events WHERE seq = 3").await;
    let brk = store.verify().await.unwrap().unwrap_err();
    assert_eq!(
        brk.to_string(),
        "event 3: is missing (the next stored event is 4)"
    );

    // Delete the last row.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = seeded(&dir).await;
    let mut db = raw(&dir).await;
    db.exec("DELETE FROM events WHERE seq = 6").await;
    let brk = store.verify().await.unwrap().unwrap_err();
    assert_eq!(brk.seq, 6);
    assert!(brk.problem.contains("events removed from the end"), "{brk}");

    // Reorder: swap the sequence numbers of two events.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = seeded(&dir).await;
    let mut db = raw(&dir).await;
    for sql in [
        "UPDATE events SET seq = -1 WHERE seq = 2",
        "UPDATE events SET seq = 2 WHERE seq = 3",
        "UPDATE events SET seq = 3 WHERE seq = -1",
    ] {
        db.exec(sql).await;
    }
    let brk = store.verify().await.unwrap().unwrap_err();
    assert_eq!(brk.seq, 2);
    assert!(
        brk.problem.contains("does not follow the event before it"),
        "{brk}"
    );
}

#[tokio::test]
async fn nothing_the_reporter_wrote_is_in_the_database_file_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let key = embargo_store::MasterKey::generate();
    let store = support::open(&dir.path().join("embargo.db"), true, Some(key.clone()))
        .await
        .unwrap();
    let id = CaseId::from_parts(2026, 99);
    let report = Report {
        project: "zebrafish-toolkit".into(),
        title: "Quokka overflow in the parser".into(),
        body: "Send 70000 marmalade bytes to crash it".into(),
        reporter_name: Some("Philippa Wombat".into()),
        reporter_email: Some("philippa@wombat.example".into()),
        channel: Channel::Web,
        intake: Default::default(),
    };
    store
        .create(id.clone(), move || decide_new(report, &srt(), t(0)))
        .await
        .unwrap();
    store
        .execute(id.clone(), |case| {
            decide(
                case,
                Command::Acknowledge {
                    message: "Thanks for the marmalade report".into(),
                },
                &srt(),
                t(1),
            )
        })
        .await
        .unwrap();
    // Readable through the store ...
    assert_eq!(
        store.case(&id).await.unwrap().report.title,
        "Quokka overflow in the parser"
    );
    // ... and in the raw file and its write-ahead log, nowhere.
    let bytes = support::at_rest(&dir.path().join("embargo.db")).await;
    // (Not nothing: the sealed report is in there.)
    assert!(bytes.len() > 2048, "{} bytes at rest", bytes.len());
    for secret in [
        "Quokka",
        "marmalade",
        "Wombat",
        "wombat.example",
        "zebrafish",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "`{secret}` is in the database file in clear"
        );
    }
    drop(store);
    // Another master key cannot open this database.
    let wrong = support::open(
        &dir.path().join("embargo.db"),
        false,
        Some(embargo_store::MasterKey::generate()),
    )
    .await;
    assert!(matches!(wrong, Err(StoreError::WrongKey)), "{wrong:?}");
    // Without a key the chain still verifies, but cases cannot be read.
    let keyless = support::open(&dir.path().join("embargo.db"), false, None)
        .await
        .unwrap();
    assert_eq!(keyless.verify().await.unwrap(), Ok(2));
    assert!(matches!(keyless.case(&id).await, Err(StoreError::NoKey)));
}

/// The writer appends while other connections write (the outbox worker
/// records attempts, handlers log access): no append may fail for it. A
/// writer that read before taking the write lock would see
/// SQLITE_BUSY_SNAPSHOT ("database is locked") whenever another commit
/// landed in between; the writer's transactions are IMMEDIATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_succeed_while_other_connections_write() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = seeded(&dir).await;
    let busy = store.clone();
    let other = tokio::spawn(async move {
        for n in 0..400i64 {
            let key = format!("job-{n}");
            busy.enqueue(&key, "notice", None, &serde_json::json!({}), n)
                .await
                .unwrap();
            for job in busy
                .claim_jobs(embargo_store::Lane::Main, "test", n, 300, 10)
                .await
                .unwrap()
            {
                assert!(
                    busy.job_failed(job.id, "test", n, "no SMTP", Some(n + 30))
                        .await
                        .unwrap()
                );
            }
        }
    });
    let mut appends = Vec::new();
    for n in 0..200u32 {
        let store = store.clone();
        let id = ids[(n % 3) as usize].clone();
        appends.push(tokio::spawn(async move {
            store
                .execute(id, move |c| {
                    decide(
                        c,
                        Command::AddNote {
                            text: format!("note {n}"),
                            part: None,
                        },
                        &srt(),
                        t(2),
                    )
                })
                .await
        }));
    }
    for a in appends {
        a.await.unwrap().expect("every append is stored");
    }
    other.await.unwrap();
}

/// Channel references (Message-IDs, GHSA ids) are found again by the store
/// but stored only as keyed hashes, and a database that kept them in clear
/// is hashed at its next start.
#[tokio::test]
async fn message_ids_are_stored_only_as_keyed_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let key = embargo_store::MasterKey::generate();
    let path = dir.path().join("embargo.db");
    let store = support::open(&path, true, Some(key.clone())).await.unwrap();
    let id = CaseId::from_parts(2026, 7);
    let inbound = |reference: &str| embargo_store::NewInbound {
        received_at: 1,
        channel: "email".into(),
        source: "imap".into(),
        reference: Some(reference.into()),
        raw: b"Subject: hi\r\n\r\nbody".to_vec(),
        reporter_link: None,
        jobs: Vec::new(),
    };
    let r = report("a report".into());
    store
        .receive(
            id.clone(),
            inbound("<first.kangaroo@mail.example>"),
            move || decide_new(r, &srt(), t(0)),
        )
        .await
        .unwrap();
    store
        .add_thread_id("<sent.kangaroo@embargo.example>", &id)
        .await
        .unwrap();
    store
        .quarantine(
            inbound("<odd.kangaroo@mail.example>"),
            "not a readable OpenPGP message",
        )
        .await
        .unwrap();
    // Found again, by value ...
    assert_eq!(
        store
            .already_received("email", "<first.kangaroo@mail.example>")
            .await
            .unwrap(),
        Some(id.to_string())
    );
    for mid in [
        "<first.kangaroo@mail.example>",
        "<sent.kangaroo@embargo.example>",
    ] {
        assert_eq!(
            store.thread_case(&[mid.to_owned()]).await.unwrap(),
            Some(id.clone())
        );
    }
    let again = store
        .quarantine(inbound("<odd.kangaroo@mail.example>"), "again")
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyReceived(_))),
        "{again:?}"
    );
    // ... but nowhere in the file in clear.
    assert!(
        !support::at_rest(&path)
            .await
            .windows(8)
            .any(|w| w == b"kangaroo"),
        "a Message-ID is in the database in clear"
    );
    drop(store);

    // An older database kept them in clear: the next start hashes them.
    let mut conn = raw(&dir).await;
    conn.exec(&format!(
        "INSERT INTO mail_threads (message_id, case_id) VALUES ('<old.wallaby@x>', '{id}');
         UPDATE inbound SET reference = '<first.wallaby@x>' WHERE outcome = 'case';
         DELETE FROM lookup_hashed;"
    ))
    .await;
    if !support::on_postgres() {
        conn.exec("PRAGMA wal_checkpoint(TRUNCATE)").await;
    }
    drop(conn);
    let store = support::open(&path, false, Some(key)).await.unwrap();
    assert_eq!(
        store
            .thread_case(&["<old.wallaby@x>".to_owned()])
            .await
            .unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        store
            .already_received("email", "<first.wallaby@x>")
            .await
            .unwrap(),
        Some(id.to_string())
    );
    let mut conn = raw(&dir).await;
    let clear = conn
        .number(
            "SELECT (SELECT COUNT(*) FROM mail_threads WHERE message_id LIKE '%wallaby%')
                  + (SELECT COUNT(*) FROM inbound WHERE reference LIKE '%wallaby%')",
        )
        .await;
    assert_eq!(clear, 0);
}

/// The reporter's receipt is written in the transaction of the case it
/// answers: when the outbox cannot take it, the case is not stored either
/// (the message can be delivered again), and once stored, the receipt is
/// there for the worker however the process ends; a redelivery adds
/// neither.
#[tokio::test]
async fn a_receipt_is_stored_with_its_case_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("embargo.db");
    let store = support::open(&path, true, Some(embargo_store::MasterKey::generate()))
        .await
        .unwrap();
    let inbound = |reference: &str, key: &str| embargo_store::NewInbound {
        received_at: 1,
        channel: "email".into(),
        source: "imap".into(),
        reference: Some(reference.into()),
        raw: b"Subject: hi\r\n\r\nbody".to_vec(),
        reporter_link: Some("0".repeat(64)),
        jobs: vec![embargo_store::NewJob {
            key: key.into(),
            kind: "mail_reporter".into(),
            case_id: None,
            payload: serde_json::json!({"subject": "Report received"}),
            at: 1,
        }],
    };
    // The outbox refuses every insert: the case goes too.
    let mut conn = raw(&dir).await;
    conn.exec(if support::on_postgres() {
        "CREATE FUNCTION no_jobs() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'outbox refuses'; END; $$;
         CREATE TRIGGER no_jobs BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION no_jobs();"
    } else {
        "CREATE TRIGGER no_jobs BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox refuses'); END;"
    })
    .await;
    let first = CaseId::from_parts(2026, 11);
    let r = report("first".into());
    let refused = store
        .receive(first.clone(), inbound("<a@x>", "receipt:a"), move || {
            decide_new(r, &srt(), t(0))
        })
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(matches!(
        store.case(&first).await,
        Err(StoreError::NoSuchCase(_))
    ));
    // The outbox takes it: case and receipt, together.
    conn.exec(if support::on_postgres() {
        "DROP TRIGGER no_jobs ON outbox"
    } else {
        "DROP TRIGGER no_jobs"
    })
    .await;
    let r = report("first".into());
    store
        .receive(first.clone(), inbound("<a@x>", "receipt:a"), move || {
            decide_new(r, &srt(), t(0))
        })
        .await
        .unwrap();
    assert!(store.job_exists("receipt:a").await.unwrap());
    // A redelivery is refused and queues nothing.
    let second = CaseId::from_parts(2026, 12);
    let r = report("again".into());
    let again = store
        .receive(second, inbound("<a@x>", "receipt:b"), move || {
            decide_new(r, &srt(), t(0))
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyReceived(_))),
        "{again:?}"
    );
    assert!(!store.job_exists("receipt:b").await.unwrap());
}

/// Workers claim jobs with a lease: a claimed job is no one else's until
/// its lease ends; a worker that dies leaves it due again then; recorded,
/// it is done, and only its holder records the outcome. The long lane (CI)
/// is claimed apart from the main lane.
#[tokio::test]
async fn claimed_jobs_are_leased_and_lanes_are_apart() {
    use embargo_store::Lane;
    let dir = tempfile::tempdir().unwrap();
    let store = support::open(
        &dir.path().join("embargo.db"),
        true,
        Some(embargo_store::MasterKey::generate()),
    )
    .await
    .unwrap();
    let payload = serde_json::json!({ "case_id": "x" });
    store
        .enqueue("mail:1", "notice", None, &payload, 100)
        .await
        .unwrap();
    store
        .enqueue_in(Lane::Long, "ci:1", "ci_run", None, &payload, 100)
        .await
        .unwrap();
    let keys =
        |jobs: Vec<embargo_store::OutboxJob>| jobs.into_iter().map(|j| j.key).collect::<Vec<_>>();
    // One worker claims the main job; a second finds nothing until the
    // lease (60 s) ends, then takes it over.
    let first = store
        .claim_jobs(Lane::Main, "a", 100, 60, 10)
        .await
        .unwrap();
    assert_eq!(keys(first.clone()), ["mail:1"]);
    assert!(
        store
            .claim_jobs(Lane::Main, "b", 159, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_jobs(Lane::Main, "b", 160, 60, 10)
        .await
        .unwrap();
    assert_eq!(
        keys(again),
        ["mail:1"],
        "the dead worker's job is due again"
    );
    // A live worker renews its claim: at 220 its lease, renewed at 200
    // until 260, still holds; a worker that lost its claim renews nothing.
    assert_eq!(store.renew_jobs(&[first[0].id], "b", 260).await.unwrap(), 1);
    assert_eq!(store.renew_jobs(&[first[0].id], "a", 999).await.unwrap(), 0);
    assert!(
        store
            .claim_jobs(Lane::Main, "c", 259, 60, 10)
            .await
            .unwrap()
            .is_empty(),
        "renewed"
    );
    // Only the holder finishes it: the first worker, back from the dead,
    // cannot record an outcome over the second's lease.
    assert!(
        !store.job_done(first[0].id, "a", 165).await.unwrap(),
        "a lost lease finishes nothing"
    );
    assert!(
        !store
            .job_failed(first[0].id, "a", 165, "late", None)
            .await
            .unwrap()
    );
    assert!(store.job_done(first[0].id, "b", 170).await.unwrap());
    assert!(
        !store.job_done(first[0].id, "b", 171).await.unwrap(),
        "done once"
    );
    assert!(
        store
            .claim_jobs(Lane::Main, "c", 10_000, 60, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The CI job is only the long lane's.
    assert_eq!(
        keys(
            store
                .claim_jobs(Lane::Long, "a", 100, 3600, 1)
                .await
                .unwrap()
        ),
        ["ci:1"]
    );
    assert!(
        store
            .claim_jobs(Lane::Long, "b", 3_699, 3600, 1)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The bundled SQLite is built with the query planner stability guarantee
/// (`.cargo/config.toml`). Without it, a read whose WHERE binds a parameter
/// on a table with a partial index (case_list, case_figures) is parsed and
/// planned again on every use, because SQLite checks each new value
/// against the index's condition.
#[tokio::test]
async fn sqlite_plans_a_statement_once() {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "SQLite built without SQLITE_ENABLE_QPSG: {options:?}"
    );
}

/// The quarantine's count is kept by the database with its rows: a new
/// message in quarantine adds one, a redelivery refused adds none, a
/// message filed into a case or removed takes one away, and the count
/// survives a restart. The SRT's inbox reads it as one row.
#[tokio::test]
async fn the_quarantine_count_follows_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let key = embargo_store::MasterKey::generate();
    let path = dir.path().join("embargo.db");
    let store = support::open(&path, true, Some(key.clone())).await.unwrap();
    let inbound = |reference: &str| embargo_store::NewInbound {
        received_at: 1,
        channel: "email".into(),
        source: "imap".into(),
        reference: Some(reference.into()),
        raw: b"Subject: hi\r\n\r\nbody".to_vec(),
        reporter_link: None,
        jobs: Vec::new(),
    };
    let held = embargo_core::Stage::Screening.label();
    assert_eq!(store.waiting(held).await.unwrap(), (0, 0));
    let mut ids = Vec::new();
    for n in 0..3 {
        let reference = format!("<odd{n}@mail.example>");
        ids.push(
            store
                .quarantine(inbound(&reference), "unreadable")
                .await
                .unwrap(),
        );
    }
    assert!(
        store
            .quarantine(inbound("<odd0@mail.example>"), "again")
            .await
            .is_err()
    );
    assert_eq!(store.waiting(held).await.unwrap(), (0, 3));

    let id = CaseId::from_parts(2026, 1);
    let r = report("filed from quarantine".into());
    store
        .create(id.clone(), move || decide_new(r, &srt(), t(0)))
        .await
        .unwrap();
    assert!(store.release_quarantined(ids[0], &id).await.unwrap());
    assert!(!store.release_quarantined(ids[0], &id).await.unwrap());
    assert_eq!(store.waiting(held).await.unwrap(), (0, 2));
    drop(store);

    let mut conn = raw(&dir).await;
    conn.exec(&format!("DELETE FROM inbound WHERE id = {}", ids[1]))
        .await;
    drop(conn);
    let store = support::open(&path, false, Some(key)).await.unwrap();
    assert_eq!(store.waiting(held).await.unwrap(), (0, 1));
    let counted = raw(&dir)
        .await
        .number("SELECT COUNT(*) FROM inbound WHERE outcome = 'quarantined'")
        .await;
    assert_eq!(counted, 1);
}
