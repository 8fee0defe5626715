//! The read model the writer keeps: lists in queue order, a page at a time,
//! for exactly the cases a reader's principals are granted, filtered in
//! SQL on values that are stored only as keyed hashes; and timers that name
//! the changed cases and then the policy's next instant.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

mod support;

use std::sync::Arc;

use embargo_core::{
    Case, CaseId, Command, PersonId, Timestamp,
    access::{Grant, Member, OrgRole, principals},
    decide, decide_new,
    event::{Assessment, Channel, Report, Reproduction},
    tlp::Tlp,
};
use embargo_store::{ListQuery, Policy, Store};

fn t(h: i64) -> Timestamp {
    "2026-03-02T09:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_hours(h)
}

fn srt() -> PersonId {
    PersonId::new("sam").unwrap()
}

/// A policy whose next instant is a fixed hour after any change.
struct EveryHour;

impl Policy for EveryHour {
    fn ack_due(&self, case: &Case) -> Timestamp {
        case.received_at + jiff::SignedDuration::from_hours(24)
    }
    fn next_due(&self, _: &Case, after: Timestamp) -> Option<Timestamp> {
        Some(after + jiff::SignedDuration::from_hours(1))
    }
    fn fingerprint(&self) -> String {
        "every hour".into()
    }
}

/// Case `n`: reported at hour `n` against `project`; triaged under `tlp`
/// when one is given.
async fn case(store: &Store, n: u32, project: &str, tlp: Option<Tlp>) -> CaseId {
    let id = CaseId::from_parts(2026, n);
    let report = Report {
        project: project.into(),
        title: format!("secret title {n}"),
        body: "steps".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Web,
        intake: Default::default(),
    };
    let at = t(i64::from(n));
    store
        .create(id.clone(), move || decide_new(report, &srt(), at))
        .await
        .unwrap();
    if let Some(tlp) = tlp {
        for command in [
            Command::Acknowledge {
                message: "thanks".into(),
            },
            Command::Triage {
                assessment: Assessment {
                    reproduced: Reproduction::Yes,
                    notes: "seen".into(),
                    affected: Vec::new(),
                    cvss_v31: None,
                    cvss_v40: None,
                    cwe: None,
                    tlp,
                    projects: Vec::new(),
                },
            },
        ] {
            store
                .execute(id.clone(), move |c| decide(c, command, &srt(), at))
                .await
                .unwrap();
        }
    }
    id
}

/// A new store in `dir` (`embargo.db`), with a fresh master key.
async fn opened(dir: &tempfile::TempDir) -> Store {
    support::open(
        &dir.path().join("embargo.db"),
        true,
        Some(embargo_store::MasterKey::generate()),
    )
    .await
    .unwrap()
}

fn member(id: &str, role: OrgRole, maintains: &[&str]) -> Vec<Grant> {
    let m = Member {
        id: PersonId::new(id).unwrap(),
        role,
        maintains: maintains.iter().map(|s| (*s).to_owned()).collect(),
    };
    principals(&m, []).into_iter().collect()
}

async fn all_pages(store: &Store, mut q: ListQuery) -> (Vec<CaseId>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list_cases(&q).await.unwrap();
        pages += 1;
        out.extend(page.cases.into_iter().map(|(id, _)| id));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return (out, pages),
        }
    }
}

#[tokio::test]
async fn lists_page_through_exactly_what_each_reader_is_granted() {
    let dir = tempfile::tempdir().unwrap();
    let store = opened(&dir).await;
    store.set_policy(Arc::new(EveryHour)).await.unwrap();
    // New reports (unacknowledged: first in the queue, by deadline), and
    // triaged ones under each label.
    let new_a = case(&store, 5, "numpy", None).await;
    let new_b = case(&store, 3, "scipy", None).await;
    let amber = case(&store, 1, "numpy", Some(Tlp::Amber)).await;
    let strict = case(&store, 2, "numpy", Some(Tlp::AmberStrict)).await;
    let green = case(&store, 4, "scipy", Some(Tlp::Green)).await;
    let red = case(&store, 6, "numpy", Some(Tlp::Red)).await;

    // The SRT sees every case, unacknowledged first, each by deadline, a
    // page of two at a time, none twice.
    let q = ListQuery {
        principals: member("sam", OrgRole::Srt, &[]),
        limit: 2,
        ..Default::default()
    };
    let (seen, pages) = all_pages(&store, q).await;
    assert_eq!(
        seen,
        [
            new_b.clone(),
            new_a.clone(),
            amber.clone(),
            strict.clone(),
            green.clone(),
            red.clone()
        ]
    );
    assert_eq!(pages, 3);

    // A numpy maintainer: numpy's AMBER case, and the GREEN one everyone sees.
    let q = ListQuery {
        principals: member("mia", OrgRole::Maintainer, &["numpy"]),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(all_pages(&store, q).await.0, [amber.clone(), green.clone()]);
    // Anyone else in the organisation: the GREEN case only.
    let q = ListQuery {
        principals: member("zed", OrgRole::Maintainer, &[]),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(all_pages(&store, q).await.0, std::slice::from_ref(&green));

    // Filters match in SQL: by project (a keyed hash), by stage, by label.
    let srt_q = |f: fn(&mut ListQuery)| {
        let mut q = ListQuery {
            principals: member("sam", OrgRole::Srt, &[]),
            limit: 10,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let q = srt_q(|q| q.project = Some("scipy".into()));
    assert_eq!(all_pages(&store, q).await.0, [new_b.clone(), green.clone()]);
    let q = srt_q(|q| q.stage = Some("new".into()));
    assert_eq!(all_pages(&store, q).await.0, [new_b.clone(), new_a.clone()]);
    let q = srt_q(|q| q.tlp = Some("TLP:RED".into()));
    assert_eq!(all_pages(&store, q).await.0, std::slice::from_ref(&red));

    // The stage totals follow every change (two new, four triaged).
    let mut counts = store.stage_counts().await.unwrap();
    counts.retain(|(_, n)| *n > 0);
    counts.sort();
    assert_eq!(counts, [("new".to_owned(), 2), ("triaged".to_owned(), 4)]);

    // Nothing the reporter wrote, and no project name, is in the database
    // file in clear.
    drop(store);
    let bytes = support::at_rest(&dir.path().join("embargo.db")).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("secret title"));
    assert!(!text.contains("scipy"), "a project name in clear");
}

#[tokio::test]
async fn timers_name_changed_cases_then_the_policys_next_instant() {
    let dir = tempfile::tempdir().unwrap();
    let store = opened(&dir).await;
    store.set_policy(Arc::new(EveryHour)).await.unwrap();
    let a = case(&store, 1, "numpy", None).await;
    let b = case(&store, 2, "numpy", None).await;
    // A change makes the case due at once (at the change's time).
    let due = store.due_timers(t(2), 100).await.unwrap();
    assert_eq!(
        due.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        [a.clone(), b.clone()]
    );
    assert!(
        store.due_timers(t(0), 100).await.unwrap().is_empty(),
        "nothing before the first change"
    );
    // The scheduler looked and set the next instant: not due until then.
    for (id, version) in &due {
        store.rearm_timer(id, *version, Some(t(10))).await.unwrap();
    }
    assert!(store.due_timers(t(9), 100).await.unwrap().is_empty());
    assert_eq!(store.due_timers(t(10), 100).await.unwrap().len(), 2);
    // A rearm computed from an older version does not overwrite the timer
    // a newer change set.
    let (_, old_version) = due[0].clone();
    store
        .execute(a.clone(), |c| {
            decide(
                c,
                Command::Acknowledge {
                    message: "thanks".into(),
                },
                &srt(),
                t(3),
            )
        })
        .await
        .unwrap();
    store
        .rearm_timer(&a, old_version, Some(t(50)))
        .await
        .unwrap();
    let due_at_3 = store.due_timers(t(3), 100).await.unwrap();
    assert_eq!(
        due_at_3
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&a)
    );
    // Nothing more to do: the timer goes.
    let (_, v) = due_at_3[0].clone();
    store.rearm_timer(&a, v, None).await.unwrap();
    assert_eq!(store.timer_count().await.unwrap(), 1);

    // A policy with another fingerprint recomputes every timer once, from
    // each case's last change.
    struct Later;
    impl Policy for Later {
        fn ack_due(&self, case: &Case) -> Timestamp {
            case.received_at
        }
        fn next_due(&self, _: &Case, after: Timestamp) -> Option<Timestamp> {
            Some(after + jiff::SignedDuration::from_hours(100))
        }
        fn fingerprint(&self) -> String {
            "later".into()
        }
    }
    assert_eq!(store.set_policy(Arc::new(Later)).await.unwrap(), 2);
    assert_eq!(store.set_policy(Arc::new(Later)).await.unwrap(), 0, "once");
    assert_eq!(store.timer_count().await.unwrap(), 2);
    assert!(store.due_timers(t(90), 100).await.unwrap().is_empty());
    assert_eq!(store.due_timers(t(104), 100).await.unwrap().len(), 2);
}

/// A policy with running clocks: one per unacknowledged case, due a day
/// after the report.
struct WithClocks;

impl Policy for WithClocks {
    fn ack_due(&self, case: &Case) -> Timestamp {
        case.received_at + jiff::SignedDuration::from_hours(24)
    }
    fn next_due(&self, _: &Case, _: Timestamp) -> Option<Timestamp> {
        None
    }
    fn fingerprint(&self) -> String {
        "with clocks".into()
    }
    fn running_clocks(&self, case: &Case) -> Vec<(String, Timestamp)> {
        if case.acknowledged_at.is_some() {
            Vec::new()
        } else {
            vec![("acknowledgement".into(), self.ack_due(case))]
        }
    }
}

#[tokio::test]
async fn figures_and_running_clocks_follow_each_append_and_a_new_policy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("embargo.db");
    let store = opened(&dir).await;
    // Written under one policy, then computed again under another.
    store.set_policy(Arc::new(EveryHour)).await.unwrap();
    let a = case(&store, 1, "numpy", None).await;
    let b = case(&store, 2, "scipy", Some(Tlp::Amber)).await;
    assert!(store.soonest_clocks(10).await.unwrap().0.is_empty());
    assert_eq!(store.set_policy(Arc::new(WithClocks)).await.unwrap(), 2);
    let (clocks, total) = store.soonest_clocks(10).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!((clocks[0].case.clone(), clocks[0].due), (a.clone(), t(25)));

    let figures = store.figures_since(t(2).as_second()).await.unwrap();
    assert_eq!(figures.len(), 1, "the window starts at hour 2");
    let f = &figures[0];
    assert_eq!(f.case, b);
    assert_eq!(f.project, store.project_key("scipy").unwrap());
    assert_ne!(f.project, "scipy", "a keyed hash, not the name");
    assert_eq!((f.received, f.ack_due), (t(2), t(26)));
    assert!(f.acknowledged.is_some() && f.triaged.is_some() && f.valid);

    // An append moves them: acknowledged, the clock stops.
    store
        .execute(a.clone(), |c| {
            decide(
                c,
                Command::Acknowledge {
                    message: "thanks".into(),
                },
                &srt(),
                t(5),
            )
        })
        .await
        .unwrap();
    assert_eq!(store.soonest_clocks(10).await.unwrap(), (Vec::new(), 0));
    let figures = store.figures_since(0).await.unwrap();
    assert_eq!(figures[0].acknowledged, Some(t(5)));
    drop(store);
    let bytes = support::at_rest(&db).await;
    for name in [b"numpy".as_slice(), b"scipy"] {
        assert!(
            !bytes.windows(name.len()).any(|w| w == name),
            "a project name in clear"
        );
    }
}

/// Case `n` of `project` titled `title`.
async fn titled(store: &Store, n: u32, project: &str, title: &str) -> CaseId {
    let id = CaseId::from_parts(2026, n);
    let report = Report {
        project: project.into(),
        title: title.into(),
        body: "steps".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Web,
        intake: Default::default(),
    };
    let at = t(i64::from(n));
    store
        .create(id.clone(), move || decide_new(report, &srt(), at))
        .await
        .unwrap();
    id
}

async fn acknowledge(store: &Store, id: &CaseId) -> Case {
    store
        .execute(id.clone(), |case| {
            decide(
                case,
                Command::Acknowledge {
                    message: "thanks".into(),
                },
                &srt(),
                t(29),
            )
        })
        .await
        .unwrap()
}

async fn reject(store: &Store, id: &CaseId) -> Case {
    store
        .execute(id.clone(), |case| {
            decide(
                case,
                Command::Reject {
                    rejection: embargo_core::event::Rejection {
                        reason: embargo_core::event::RejectReason::NotReproducible,
                        explanation: "no".into(),
                    },
                },
                &srt(),
                t(30),
            )
        })
        .await
        .unwrap()
}

/// A page's or a hint pass's cases come in one read: the same cases, each
/// folded from its own sealed events, in id order; an unknown id is left out.
#[tokio::test]
async fn cases_read_together_are_the_cases_read_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = opened(&dir).await;
    let a = titled(&store, 7, "numpy", "Heap corruption in loadtxt").await;
    let b = titled(&store, 3, "scipy", "Path traversal in io.loadmat").await;
    let c = titled(&store, 5, "numpy", "XSS in the docs search").await;
    acknowledge(&store, &b).await;
    reject(&store, &b).await;
    let unknown = CaseId::from_parts(2026, 99);
    let together = store
        .cases(&[a.clone(), unknown, b.clone(), c.clone()])
        .await
        .unwrap();
    let mut one_by_one = Vec::new();
    for id in [&b, &c, &a] {
        one_by_one.push(store.case(id).await.unwrap());
    }
    assert_eq!(together, one_by_one);
    assert!(
        together[0].version > together[1].version,
        "b has its own events"
    );
    assert_eq!(together[2].report.title, "Heap corruption in loadtxt");
    assert!(store.cases(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn similar_cases_share_a_term_that_few_cases_have_and_are_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = opened(&dir).await;
    let a = titled(&store, 1, "numpy", "Heap corruption in loadtxt converters").await;
    let b = titled(&store, 2, "scipy", "loadtxt converters corrupt the heap").await;
    let c = titled(&store, 3, "numpy", "XSS in the docs search").await;
    // Twelve more that all say "report": a word that common says nothing.
    for n in 10..22 {
        titled(&store, n, "numpy", &format!("report {n}")).await;
    }
    let terms = |title: &str| {
        embargo_core::duplicates::lookup_terms(
            &Case::from_events(
                CaseId::from_parts(2026, 99),
                &decide_new(
                    Report {
                        project: "numpy".into(),
                        title: title.into(),
                        body: "probe".into(),
                        reporter_name: None,
                        reporter_email: None,
                        channel: Channel::Web,
                        intake: Default::default(),
                    },
                    &srt(),
                    t(0),
                )
                .unwrap(),
            )
            .unwrap(),
        )
    };
    let ids = |found: Vec<(CaseId, u64)>| found.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    let probe = terms("Heap corruption in loadtxt converters");
    let found = ids(store.similar_cases(&probe, &a, 10, 50).await.unwrap());
    assert_eq!(
        found,
        std::slice::from_ref(&b),
        "across projects, most terms first; not itself"
    );
    let found = ids(store
        .similar_cases(&probe, &CaseId::from_parts(2026, 99), 10, 50)
        .await
        .unwrap());
    assert_eq!(found, [a.clone(), b.clone()]);
    assert!(
        store
            .similar_cases(&terms("a report"), &c, 10, 50)
            .await
            .unwrap()
            .is_empty(),
        "a term twelve cases share is not looked up with a limit of ten"
    );
    assert_eq!(
        store
            .similar_cases(&terms("a report"), &c, 20, 50)
            .await
            .unwrap()
            .len(),
        12
    );
    // Rejected, a case leaves the index.
    acknowledge(&store, &b).await;
    reject(&store, &b).await;
    let found = ids(store.similar_cases(&probe, &a, 10, 50).await.unwrap());
    assert!(found.is_empty(), "{found:?}");
}

/// A case whose terms change is named in `hints_due` by the writer; hints
/// stored for it are read from either side, replaced whole, and a request
/// made while they were worked out is not lost.
#[tokio::test]
async fn hints_are_due_when_terms_change_and_stored_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let store = opened(&dir).await;
    let a = titled(&store, 1, "numpy", "Heap corruption in loadtxt converters").await;
    let b = titled(&store, 2, "scipy", "loadtxt converters corrupt the heap").await;
    let c = titled(&store, 3, "numpy", "XSS in the docs search").await;
    let due = store.hints_due(10).await.unwrap();
    assert_eq!(
        due.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        [a.clone(), b.clone(), c.clone()],
        "each new case is due"
    );
    let ids = |found: Vec<(CaseId, u64)>| found.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    store
        .set_hints(&b, due[1].1, &[(a.clone(), 30), (c.clone(), 100)])
        .await
        .unwrap();
    assert_eq!(
        ids(store.hints(&b, 10).await.unwrap()),
        [a.clone(), c.clone()]
    );
    assert_eq!(
        ids(store.hints(&a, 10).await.unwrap()),
        std::slice::from_ref(&b),
        "both ways"
    );
    assert_eq!(
        ids(store.hints(&b, 1).await.unwrap()),
        std::slice::from_ref(&a),
        "the closest first"
    );
    // Worked out again, the pairs are replaced, not added to.
    store
        .set_hints(&b, due[1].1, &[(c.clone(), 100)])
        .await
        .unwrap();
    assert!(store.hints(&a, 10).await.unwrap().is_empty());
    assert_eq!(
        ids(store.hints(&c, 10).await.unwrap()),
        std::slice::from_ref(&b)
    );
    // A change that does not touch the title or packages asks for nothing;
    // a rejection (the case leaves the index) does, at its new version.
    let acked = acknowledge(&store, &a).await;
    assert_eq!(
        store.hints_due(10).await.unwrap().first(),
        Some(&(a.clone(), due[0].1)),
        "an acknowledgement changes no term"
    );
    let rejected = reject(&store, &a).await;
    assert!(rejected.version > acked.version);
    // Hints worked out from the older version do not end the newer request.
    store.set_hints(&a, due[0].1, &[]).await.unwrap();
    assert_eq!(
        store.hints_due(10).await.unwrap().first(),
        Some(&(a.clone(), rejected.version))
    );
    store.set_hints(&a, rejected.version, &[]).await.unwrap();
    assert_eq!(
        ids(store.hints_due(10).await.unwrap()),
        std::slice::from_ref(&c),
        "b was worked out, a is done"
    );
}

/// A policy whose acknowledgement deadline moves when the case is triaged:
/// a late answer becomes one in time, and the aggregates must move with it.
struct LongerOnceTriaged;

impl Policy for LongerOnceTriaged {
    fn ack_due(&self, case: &Case) -> Timestamp {
        let hours = if case.triaged_at.is_some() { 200 } else { 24 };
        case.received_at + jiff::SignedDuration::from_hours(hours)
    }
    fn next_due(&self, _: &Case, _: Timestamp) -> Option<Timestamp> {
        None
    }
    fn fingerprint(&self) -> String {
        "longer once triaged".into()
    }
}

/// The dashboard's aggregates (`ack_days`, `step_months`, the longest
/// exposures) say what the exact figures of the same cases say, as cases
/// are acknowledged late or in time, triaged and rejected over fourteen
/// months, and again after the read model is computed under another policy.
#[tokio::test]
async fn aggregates_agree_with_the_exact_figures() {
    use embargo_core::{
        event::{RejectReason, Rejection},
        stats::{self, Histogram, Step},
    };
    let dir = tempfile::tempdir().unwrap();
    let store = opened(&dir).await;
    store.set_policy(Arc::new(LongerOnceTriaged)).await.unwrap();
    // A small deterministic generator: the same cases on every run.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let start = t(0);
    for n in 1..=120u32 {
        let id = CaseId::from_parts(2026, n);
        let at =
            start + jiff::SignedDuration::from_hours(i64::try_from(next(14 * 30 * 24)).unwrap());
        let project = ["numpy", "scipy", "pandas"][usize::try_from(next(3)).unwrap()];
        let report = Report {
            project: project.into(),
            title: format!("report {n}"),
            body: "steps".into(),
            reporter_name: None,
            reporter_email: None,
            channel: Channel::Web,
            intake: Default::default(),
        };
        store
            .create(id.clone(), move || decide_new(report, &srt(), at))
            .await
            .unwrap();
        // Half answered within a day, a third late, the rest never.
        let ack = match next(6) {
            0..=2 => {
                Some(at + jiff::SignedDuration::from_mins(i64::try_from(next(23 * 60)).unwrap()))
            }
            3 | 4 => {
                Some(at + jiff::SignedDuration::from_hours(25 + i64::try_from(next(200)).unwrap()))
            }
            _ => None,
        };
        let Some(ack) = ack else {
            if next(3) == 0 {
                // Spam, rejected unanswered: the rejection is the answer.
                let command = Command::Reject {
                    rejection: Rejection {
                        reason: RejectReason::Spam,
                        explanation: "machine-written".into(),
                    },
                };
                let when = at + jiff::SignedDuration::from_hours(i64::try_from(next(60)).unwrap());
                store
                    .execute(id.clone(), move |c| decide(c, command, &srt(), when))
                    .await
                    .unwrap();
            }
            continue;
        };
        store
            .execute(id.clone(), move |c| {
                decide(
                    c,
                    Command::Acknowledge {
                        message: "thanks".into(),
                    },
                    &srt(),
                    ack,
                )
            })
            .await
            .unwrap();
        let later =
            ack + jiff::SignedDuration::from_mins(i64::try_from(1 + next(30 * 24 * 60)).unwrap());
        let command = if next(4) == 0 {
            Command::Reject {
                rejection: Rejection {
                    reason: RejectReason::NotAVulnerability,
                    explanation: "as designed".into(),
                },
            }
        } else {
            Command::Triage {
                assessment: Assessment {
                    reproduced: Reproduction::Yes,
                    notes: "seen".into(),
                    affected: Vec::new(),
                    cvss_v31: None,
                    cvss_v40: None,
                    cwe: None,
                    tlp: Tlp::Amber,
                    projects: Vec::new(),
                },
            }
        };
        store
            .execute(id.clone(), move |c| decide(c, command, &srt(), later))
            .await
            .unwrap();
    }
    let now = start + jiff::SignedDuration::from_hours(14 * 30 * 24 + 10);
    let check = |label: &'static str| {
        let store = &store;
        async move {
            let all = store.figures_since(0).await.unwrap();
            // Compliance over 30, 90 and 400 days, per project.
            let windows: Vec<i64> = [30i64, 90, 400]
                .iter()
                .map(|d| now.as_second() - d * 86_400)
                .collect();
            let got = store.ack_compliance(&windows, now).await.unwrap();
            let mut projects: Vec<&str> = all.iter().map(|f| f.project.as_str()).collect();
            projects.sort();
            projects.dedup();
            assert_eq!(projects.len(), 3, "{label}");
            for p in projects {
                for (w, days) in [30i64, 90, 400].iter().enumerate() {
                    let exact = stats::ack_compliance(&all, now, *days, Some(p));
                    let got = got.get(p).map_or_else(Default::default, |c| c[w]);
                    assert_eq!(got, exact, "{label}: project {p}, {days} days");
                }
            }
            // Step histograms from the fifth month on.
            let since_month = stats::month_of(start) + 4;
            let got = store.step_histograms(since_month).await.unwrap();
            for step in Step::ALL {
                let mut exact = Histogram::default();
                for d in stats::durations(
                    all.iter()
                        .filter(|f| stats::month_of(f.received) >= since_month),
                    step,
                ) {
                    exact.add(stats::bucket((d * 3600.0).round() as i64), 1);
                }
                let got = &got.iter().find(|(s, _)| *s == step).unwrap().1;
                assert_eq!(got, &exact, "{label}: step {}", step.name());
                if step == Step::Triage {
                    assert!(
                        got.summary().unwrap().count > 20,
                        "{label}: triage has cases"
                    );
                }
            }
            // The twenty longest exposures of the last six months.
            let since = now.as_second() - 180 * 86_400;
            let window: Vec<_> = all
                .iter()
                .filter(|f| f.received.as_second() >= since)
                .cloned()
                .collect();
            let exact: Vec<_> = stats::exposure(&window, now).into_iter().take(20).collect();
            let got: Vec<_> =
                stats::exposure(&store.longest_exposures(since, 20).await.unwrap(), now)
                    .into_iter()
                    .take(20)
                    .collect();
            assert_eq!(got, exact, "{label}");
            assert_eq!(got.len(), 20, "{label}");
        }
    };
    check("written append by append").await;
    assert_eq!(store.set_policy(Arc::new(WithClocks)).await.unwrap(), 120);
    check("computed again under another policy").await;
}

/// [`WithClocks`] under another name: setting it rebuilds the read model
/// from the log, and nothing else differs.
struct WithClocksAgain;

impl Policy for WithClocksAgain {
    fn ack_due(&self, case: &Case) -> Timestamp {
        WithClocks.ack_due(case)
    }
    fn next_due(&self, case: &Case, after: Timestamp) -> Option<Timestamp> {
        WithClocks.next_due(case, after)
    }
    fn fingerprint(&self) -> String {
        "with clocks, again".into()
    }
    fn running_clocks(&self, case: &Case) -> Vec<(String, Timestamp)> {
        WithClocks.running_clocks(case)
    }
}

/// Every row of the read model's tables but the timers (whose instants
/// a rebuild computes from the policy, not from the change), in order;
/// counters that came back to zero are left out (a rebuild never makes them).
async fn read_model_rows(path: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let mut conn = support::raw(path).await;
    let mut out = Vec::new();
    for (table, keep) in [
        ("case_list", ""),
        ("case_grants", ""),
        ("stage_totals", "WHERE n <> 0"),
        ("case_figures", ""),
        ("case_clocks", ""),
        ("case_terms", ""),
        ("term_counts", "WHERE n <> 0"),
        ("search_terms", ""),
        ("ack_days", "WHERE in_time <> 0 OR late <> 0"),
        ("step_months", ""),
        ("reporter_cases", ""),
        ("cases", ""),
    ] {
        let mut rows = conn.rows(&format!("SELECT * FROM {table} {keep}")).await;
        rows.sort();
        out.extend(rows.into_iter().map(|r| (table.to_owned(), r)));
    }
    out
}

/// Many clients at once: the writer takes their new cases and their
/// changes to cases (created in the same batch or before) together, with
/// the new cases' rows sent a table at a time. The read model it keeps is
/// the one a rebuild from the log makes, and a message delivered twice in
/// one batch makes one case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_new_and_changed_cases_keep_the_read_model_a_rebuild_makes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("embargo.db");
    let store = opened(&dir).await;
    store.set_policy(Arc::new(WithClocks)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 1..=120u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let project = ["numpy", "scipy", "p"][(n % 3) as usize];
            let tlp = match n % 4 {
                0 => Some(Tlp::Amber),
                1 => Some(Tlp::Red),
                _ => None,
            };
            case(&store, n, project, tlp).await;
        }));
    }
    // Twenty deliveries of ten messages, all at once.
    for n in 0..20u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = CaseId::from_parts(2026, 1000 + n);
            let report = Report {
                project: "numpy".into(),
                title: format!("mailed report {}", n % 10),
                body: "steps".into(),
                reporter_name: None,
                reporter_email: Some(format!("r{}@example.net", n % 10)),
                channel: Channel::Email,
                intake: Default::default(),
            };
            let inbound = embargo_store::NewInbound {
                received_at: t(0).as_second(),
                channel: "email".into(),
                source: "inbox".into(),
                reference: Some(format!("<m{}@example.net>", n % 10)),
                raw: b"the message".to_vec(),
                reporter_link: None,
                jobs: Vec::new(),
            };
            let _ = store
                .receive(id, inbound, move || decide_new(report, &srt(), t(0)))
                .await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mailed_ids: Vec<String> = (1000..1020)
        .map(|n| CaseId::from_parts(2026, n).to_string())
        .collect();
    let mailed = store
        .projection()
        .await
        .unwrap()
        .iter()
        .filter(|row| mailed_ids.contains(&row[0]))
        .count();
    let kept = read_model_rows(&path).await;
    assert_eq!(
        store.set_policy(Arc::new(WithClocksAgain)).await.unwrap(),
        130
    );
    let rebuilt = read_model_rows(&path).await;
    assert_eq!(mailed, 10, "one case per message");
    for table in [
        "case_list",
        "case_grants",
        "stage_totals",
        "case_figures",
        "case_clocks",
        "case_terms",
        "term_counts",
        "search_terms",
        "reporter_cases",
        "cases",
    ] {
        assert!(kept.iter().any(|(t, _)| t == table), "{table} is empty");
    }
    for (a, b) in kept.iter().zip(&rebuilt) {
        assert_eq!(a, b, "kept by the writer, then rebuilt");
    }
    assert_eq!(kept.len(), rebuilt.len());
}

/// A case made, changed and made again in one batch (all queued before
/// the writer runs, which one thread makes certain): the change reads
/// what the making wrote, so the rows wait no longer than that, and the
/// second making is refused.
#[tokio::test]
async fn a_case_made_and_changed_in_one_batch_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("embargo.db");
    let store = opened(&dir).await;
    store.set_policy(Arc::new(WithClocks)).await.unwrap();
    let id = CaseId::from_parts(2026, 7);
    let report = Report {
        project: "numpy".into(),
        title: "made and changed at once".into(),
        body: "steps".into(),
        reporter_name: None,
        reporter_email: Some("r@example.net".into()),
        channel: Channel::Web,
        intake: Default::default(),
    };
    let again = report.clone();
    let (made, changed, twice) = tokio::join!(
        store.create(id.clone(), move || decide_new(report, &srt(), t(0))),
        store.execute(id.clone(), |c| decide(
            c,
            Command::Acknowledge {
                message: "thanks".into()
            },
            &srt(),
            t(1)
        )),
        // The same id again after the change made the batch write its
        // rows: still one case.
        store.create(id.clone(), move || decide_new(again, &srt(), t(2))),
    );
    made.unwrap();
    let changed = changed.unwrap();
    assert!(changed.acknowledged_at.is_some());
    assert!(
        matches!(twice, Err(embargo_store::StoreError::CaseExists(ref c)) if *c == id),
        "{twice:?}"
    );
    let kept = read_model_rows(&path).await;
    store.set_policy(Arc::new(WithClocksAgain)).await.unwrap();
    assert_eq!(kept, read_model_rows(&path).await);
}
