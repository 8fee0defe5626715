//! The organisation's story in the store: people, one-use invitations, TOTP
//! steps accepted once, sessions that expire, projects and the access log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

mod support;

use embargo_core::{PersonId, access::OrgRole};
use embargo_store::{AccessEntry, Project, StoreError};

fn id(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

/// A new store in `dir` with one person, the maintainer `mia` (TOTP seed
/// `SEED`), added at `now`.
async fn with_mia(dir: &tempfile::TempDir, now: i64) -> embargo_store::Store {
    let store = support::open(
        &dir.path().join("embargo.db"),
        true,
        Some(embargo_store::MasterKey::generate()),
    )
    .await
    .unwrap();
    store
        .add_person(
            &id("mia"),
            "Mia",
            "mia@example.org",
            OrgRole::Maintainer,
            "SEED",
            now,
        )
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn people_invitations_sessions_projects_and_the_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_800_000_000;
    let store = with_mia(&dir, now).await;
    let again = store
        .add_person(
            &id("mia"),
            "Other",
            "o@example.org",
            OrgRole::Admin,
            "SEED",
            now,
        )
        .await;
    assert!(matches!(again, Err(StoreError::PersonExists(p)) if p == id("mia")));
    let mia = store.person("mia").await.unwrap().unwrap();
    assert_eq!((mia.name.as_str(), mia.role), ("Mia", OrgRole::Maintainer));
    assert!(mia.password_hash.is_none());
    // The seed reads back, stays out of Debug, and is sealed in the file.
    assert_eq!(mia.totp_secret.as_deref(), Some("SEED"));
    assert!(!format!("{mia:?}").contains("SEED"));
    // Only the sign-in's lookup opens it: a list of people and a request's
    // caller leave it sealed.
    let listed = store.people().await.unwrap();
    assert!(listed.iter().all(|p| p.totp_secret.is_none()));
    assert!(
        store
            .member("mia")
            .await
            .unwrap()
            .unwrap()
            .0
            .totp_secret
            .is_none()
    );
    let raw = support::at_rest(&dir.path().join("embargo.db")).await;
    assert!(!raw.windows(4).any(|w| w == b"SEED"));

    // An invitation works once and not after it expires.
    store
        .add_invitation("h1", &id("mia"), &id("admin"), now + 100)
        .await
        .unwrap();
    assert!(store.invitation("h1", now + 101).await.unwrap().is_none());
    assert!(store.invitation("h1", now).await.unwrap().is_some());
    assert!(
        store
            .accept_invitation("h1", "$argon2id$x", Some(7), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .accept_invitation("h1", "$argon2id$y", None, now)
            .await
            .unwrap()
    );
    let mia = store.person("mia").await.unwrap().unwrap();
    assert_eq!(mia.password_hash.as_deref(), Some("$argon2id$x"));
    assert!(mia.totp_enrolled);

    // The enrolment code's step (7) and earlier ones are spent; later ones once.
    assert!(!store.use_totp_step(&id("mia"), 7).await.unwrap());
    assert!(store.use_totp_step(&id("mia"), 8).await.unwrap());
    assert!(!store.use_totp_step(&id("mia"), 8).await.unwrap());

    // Sessions end at their expiry and when removed.
    store
        .add_session("s1", &id("mia"), "csrf", now, now + 60)
        .await
        .unwrap();
    let (session, member) = store.session_member("s1", now + 59).await.unwrap().unwrap();
    assert_eq!(
        (session.person, session.csrf_token.as_str()),
        (id("mia"), "csrf")
    );
    assert_eq!(member.unwrap().0.id, id("mia"));
    assert!(
        store
            .session_member("s1", now + 60)
            .await
            .unwrap()
            .is_none()
    );
    store.remove_session("s1").await.unwrap();
    assert!(store.session_member("s1", now).await.unwrap().is_none());

    // Projects round-trip with their maintainers; saving again replaces them.
    let mut numpy = Project {
        name: "numpy".into(),
        repositories: vec!["https://github.com/numpy/numpy".into()],
        packages: vec!["PyPI:numpy".into()],
        series: vec!["1.26".into(), "2.0".into()],
        maintainers: vec![id("mia")],
    };
    store.put_project(&numpy, now).await.unwrap();
    assert_eq!(store.projects().await.unwrap(), vec![numpy.clone()]);
    assert!(store.project_exists("numpy").await.unwrap());
    assert!(!store.project_exists("numpyx").await.unwrap());
    assert_eq!(store.member("mia").await.unwrap().unwrap().1, vec!["numpy"]);
    let scipy = Project {
        name: "scipy".into(),
        maintainers: vec![id("mia")],
        ..numpy.clone()
    };
    store.put_project(&scipy, now).await.unwrap();
    // A person and what they maintain in one read, also by API token.
    let (who, maintains) = store.member("mia").await.unwrap().unwrap();
    assert_eq!(
        (who.name.as_str(), maintains),
        ("Mia", vec!["numpy".to_owned(), "scipy".to_owned()])
    );
    let at = jiff::Timestamp::from_second(now).unwrap();
    store.add_api_token("hash-of-mia", "mia", at).await.unwrap();
    store
        .add_api_token("hash-of-gone", "gone", at)
        .await
        .unwrap();
    let (who, maintains) = store
        .api_token_member("hash-of-mia")
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((who.id, maintains.len()), (id("mia"), 2));
    assert!(
        store
            .api_token_member("hash-of-gone")
            .await
            .unwrap()
            .unwrap()
            .is_none(),
        "a token whose person is gone"
    );
    assert!(
        store
            .api_token_member("no such hash")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.member("gone").await.unwrap().is_none());
    numpy.maintainers.clear();
    store.put_project(&numpy, now).await.unwrap();
    let (_, maintains) = store.member("mia").await.unwrap().unwrap();
    assert_eq!(maintains, vec!["scipy"]);

    // The access log keeps entries per subject, in order.
    for (at, action) in [(now, "view_case"), (now + 5, "view_case")] {
        store
            .log_access(&AccessEntry {
                at,
                person: "mia".into(),
                action: action.into(),
                subject: "EMB-2026-000001".into(),
                detail: "fixer".into(),
            })
            .await
            .unwrap();
    }
    let log = store.access_log("EMB-2026-000001", 100).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.at).collect::<Vec<_>>(),
        vec![now, now + 5]
    );
    // The newest only, when asked for fewer.
    let newest = store.access_log("EMB-2026-000001", 1).await.unwrap();
    assert_eq!(
        newest.iter().map(|e| e.at).collect::<Vec<_>>(),
        vec![now + 5]
    );
    assert!(
        store
            .access_log("EMB-2026-000002", 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Failed sign-ins are counted per account (and per unknown handle) in
/// one statement: the free failures pass, then each waits twice as long
/// as the one before, and the last one the policy allows locks the
/// account; a good sign-in clears the count.
#[tokio::test]
async fn failed_sign_ins_slow_then_lock_and_a_good_one_clears_them() {
    use embargo_store::{SigninAttempt, SigninPolicy};
    let dir = tempfile::tempdir().unwrap();
    let now = 1_800_000_000;
    let store = with_mia(&dir, now).await;
    let policy = SigninPolicy {
        free_failures: 2,
        throttle_seconds: 10,
        lock_after: 5,
    };
    let mia = Some(id("mia"));
    let attempt = |at: i64| store.count_signin_attempt(mia.as_ref(), "mia", at, policy);
    for n in 1..=2 {
        assert_eq!(
            attempt(now).await.unwrap(),
            SigninAttempt::Counted {
                failures: n,
                locks: false
            }
        );
    }
    // The third failure is counted and makes the next wait 10 s ...
    assert_eq!(
        attempt(now).await.unwrap(),
        SigninAttempt::Counted {
            failures: 3,
            locks: false
        }
    );
    assert_eq!(
        attempt(now + 1).await.unwrap(),
        SigninAttempt::Throttled { seconds: 9 }
    );
    // ... the fourth, 20 s.
    assert_eq!(
        attempt(now + 10).await.unwrap(),
        SigninAttempt::Counted {
            failures: 4,
            locks: false
        }
    );
    assert_eq!(
        attempt(now + 11).await.unwrap(),
        SigninAttempt::Throttled { seconds: 19 }
    );
    // The fifth locks, unless the password proves right.
    assert_eq!(
        attempt(now + 30).await.unwrap(),
        SigninAttempt::Counted {
            failures: 5,
            locks: true
        }
    );
    assert_eq!(attempt(now + 10_000).await.unwrap(), SigninAttempt::Locked);
    store
        .set_signin_state(&id("mia"), 0, 0, false)
        .await
        .unwrap();
    assert_eq!(
        attempt(now + 10_001).await.unwrap(),
        SigninAttempt::Counted {
            failures: 1,
            locks: false
        }
    );
    // An unknown handle is slowed the same way, whatever its case.
    for n in 1..=3 {
        assert_eq!(
            store
                .count_signin_attempt(None, "Nobody", now, policy)
                .await
                .unwrap(),
            SigninAttempt::Counted {
                failures: n,
                locks: false
            }
        );
    }
    assert_eq!(
        store
            .count_signin_attempt(None, "nobody", now + 1, policy)
            .await
            .unwrap(),
        SigninAttempt::Throttled { seconds: 9 }
    );
}
