//! Coordination every server of a deployment shares through the database:
//! rate counts that count parallel attempts exactly and keep no address in
//! clear, and leases that one holder has at a time until they expire.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

mod support;

use embargo_store::{MasterKey, Store};

async fn store(dir: &tempfile::TempDir) -> Store {
    support::open(
        &dir.path().join("embargo.db"),
        true,
        Some(MasterKey::generate()),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn parallel_attempts_count_exactly_in_their_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    // Forty attempts at once, on the pool's connections.
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.count_attempt("signin:192.0.2.7", 1_000, 60)
                .await
                .unwrap()
        }));
    }
    let mut seen: Vec<i64> = Vec::new();
    for t in tasks {
        let (start, n) = t.await.unwrap();
        assert_eq!(start, 1_000);
        seen.push(n);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=40).collect::<Vec<_>>(),
        "each attempt counted once"
    );
    // Another key has its own count; the window ends 60 s after it began.
    assert_eq!(
        store
            .count_attempt("signin:192.0.2.8", 1_030, 60)
            .await
            .unwrap(),
        (1_030, 1)
    );
    assert_eq!(
        store
            .count_attempt("signin:192.0.2.7", 1_059, 60)
            .await
            .unwrap(),
        (1_000, 41)
    );
    assert_eq!(
        store
            .count_attempt("signin:192.0.2.7", 1_060, 60)
            .await
            .unwrap(),
        (1_060, 1)
    );
    // Old counts are forgotten in bounded batches.
    assert_eq!(store.forget_attempts(1_031, 1).await.unwrap(), 1);
    assert_eq!(store.forget_attempts(1_031, 10).await.unwrap(), 0);
    assert_eq!(
        store
            .count_attempt("signin:192.0.2.8", 1_040, 60)
            .await
            .unwrap(),
        (1_040, 1)
    );
    drop(store);
    let db = support::at_rest(&dir.path().join("embargo.db")).await;
    let needle = b"192.0.2.7";
    assert!(
        !db.windows(needle.len()).any(|w| w == needle),
        "a source address in clear"
    );
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    assert!(store.take_lease("scheduler", "a", 100, 30).await.unwrap());
    assert!(
        !store.take_lease("scheduler", "b", 129, 30).await.unwrap(),
        "a holds it"
    );
    assert!(
        store.take_lease("scheduler", "a", 120, 30).await.unwrap(),
        "a renews"
    );
    assert!(
        !store.take_lease("scheduler", "b", 149, 30).await.unwrap(),
        "renewed to 150"
    );
    assert!(
        store.take_lease("scheduler", "b", 150, 30).await.unwrap(),
        "expired: b takes over"
    );
    assert!(
        !store.take_lease("scheduler", "a", 151, 30).await.unwrap(),
        "a lost it"
    );
    // Another name is another lease; a release by a non-holder does nothing.
    assert!(store.take_lease("channel:1", "a", 151, 300).await.unwrap());
    store.release_lease("scheduler", "a").await.unwrap();
    assert!(!store.take_lease("scheduler", "c", 160, 30).await.unwrap());
    store.release_lease("scheduler", "b").await.unwrap();
    assert!(
        store.take_lease("scheduler", "c", 160, 30).await.unwrap(),
        "released"
    );
    // Parallel takers of a free lease: exactly one wins.
    let mut tasks = Vec::new();
    for n in 0..20 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.take_lease("digest", &format!("w{n}"), 500, 60)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

/// Two stores on one database (two servers) claiming due jobs at once:
/// each job is claimed by exactly one claim, none twice, none left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_from_two_stores_at_once_take_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let path = dir.path().join("embargo.db");
    let one = support::open(&path, true, Some(key.clone())).await.unwrap();
    let two = support::open(&path, false, Some(key)).await.unwrap();
    for n in 0..200 {
        let added = one
            .enqueue(
                &format!("job:{n}"),
                "notice",
                None,
                &serde_json::json!({}),
                1,
            )
            .await
            .unwrap();
        assert!(added);
    }
    let claimers: Vec<_> = [(&one, "a1"), (&one, "a2"), (&two, "b1"), (&two, "b2")]
        .into_iter()
        .map(|(store, worker)| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut keys = Vec::new();
                loop {
                    let jobs = store
                        .claim_jobs(embargo_store::Lane::Main, worker, 10, 600, 7)
                        .await
                        .unwrap();
                    if jobs.is_empty() {
                        return keys;
                    }
                    keys.extend(jobs.into_iter().map(|j| j.key));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.unwrap());
    }
    let all = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!((all, claimed.len()), (200, 200), "each job claimed once");
}

/// On PostgreSQL a server keeps at most `[storage] connections` for reads,
/// and one for its writer, however many requests come at once: the
/// operator sizes the servers' sum against the database's limit.
#[tokio::test]
async fn a_server_on_postgresql_keeps_the_connections_it_was_given() {
    if !support::on_postgres() {
        return; // SQLite has no pool to size
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("embargo.db");
    let key = MasterKey::generate();
    drop(support::open(&path, true, Some(key.clone())).await.unwrap());
    let url = support::postgres_url(&path).await;
    let store = Store::connect(&url, 3, vec![key], None).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..40 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                s.count_attempt(&format!("signin:192.0.2.{n}"), 1_000, 60)
                    .await
                    .unwrap();
                s.hints_backlog().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut raw = support::raw(&path).await;
    let theirs = raw
        .number(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
    assert!((2..=4).contains(&theirs), "{theirs} connections");
}
