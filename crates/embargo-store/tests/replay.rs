//! Property: whatever commands people run through the store (accepted or
//! refused), rebuilding the projections from the log gives back exactly the
//! projections the writer kept, each case folds from its stored events to the
//! state the writer returned, and the chain verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

mod support;

use embargo_core::{
    CaseId, Command, PersonId, PublishMode, Timestamp, WorldFact,
    advisory::AdvisoryDraft,
    decide, decide_new,
    event::{Assessment, Channel, Report, Reproduction},
    tlp::Tlp,
};
use proptest::prelude::*;

fn command(n: u8, hour: i64) -> Command {
    let t0: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
    match n % 14 {
        0 => Command::Acknowledge {
            message: "thanks".into(),
        },
        1 => Command::Triage {
            assessment: Assessment {
                reproduced: Reproduction::Yes,
                notes: "ok".into(),
                affected: vec![],
                cvss_v31: None,
                cvss_v40: None,
                cwe: None,
                tlp: Tlp::Amber,
                projects: Vec::new(),
            },
        },
        2 => Command::AssignFixingTeam {
            coordinator: PersonId::new("cora").unwrap(),
            fixers: vec![PersonId::new("fred").unwrap()],
        },
        3 => Command::ProposeTimeline {
            disclose_at: t0 + jiff::SignedDuration::from_hours(hour + 500),
        },
        4 => Command::AcceptTimeline,
        5 => Command::ReviseAdvisory {
            base_revision: u32::from(n % 3),
            draft: {
                let mut a = AdvisoryDraft::new("s", "d");
                a.mitigation = Some("m".into());
                Box::new(a)
            },
        },
        6 => Command::MarkFixReady,
        7 => Command::RecordFact {
            fact: WorldFact::ExploitPublic,
        },
        8 => Command::Publish {
            mode: PublishMode::WithoutFix,
            reason: Some("the fix is out".into()),
        },
        9 => Command::Defer {
            reason: "later".into(),
        },
        10 => Command::Reopen { note: "now".into() },
        11 => Command::SubmitAdvisory {
            revision: u32::from(n % 3),
        },
        12 => Command::ApproveAdvisory {
            revision: u32::from(n % 3),
        },
        _ => Command::Close {
            note: "done".into(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn replaying_the_log_reproduces_the_projections(
        script in prop::collection::vec((0u8..3, any::<u8>()), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = support::open(&dir.path().join("embargo.db"), true, Some(embargo_store::MasterKey::generate())).await.unwrap();
            let who = PersonId::new("srt").unwrap();
            let t0: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
            let ids: Vec<CaseId> = (0..3).map(|n| CaseId::from_parts(2026, n)).collect();
            for (n, id) in ids.iter().enumerate() {
                let report = Report {
                    project: format!("p{n}"),
                    title: "t".into(),
                    body: "b".into(),
                    reporter_name: None,
                    reporter_email: None,
                    channel: Channel::Web,
                    intake: Default::default(),
                };
                let w = who.clone();
                store.create(id.clone(), move || decide_new(report, &w, t0)).await.unwrap();
            }
            let mut returned = std::collections::HashMap::new();
            for (hour, (case, n)) in script.into_iter().enumerate() {
                let hour = i64::try_from(hour).unwrap() + 1;
                let cmd = command(n, hour);
                // A revision is approved by someone other than its author.
                let w = if matches!(cmd, Command::ReviseAdvisory { .. }) {
                    PersonId::new("fred").unwrap()
                } else {
                    who.clone()
                };
                let now = t0 + jiff::SignedDuration::from_hours(hour);
                let id = ids[usize::from(case)].clone();
                if let Ok(state) = store.execute(id.clone(), move |c| decide(c, cmd, &w, now)).await {
                    returned.insert(id, state);
                }
            }
            let kept = store.projection().await.unwrap();
            store.rebuild_projections().await.unwrap();
            assert_eq!(store.projection().await.unwrap(), kept);
            for (id, state) in returned {
                assert_eq!(store.case(&id).await.unwrap(), state);
            }
            assert!(store.verify().await.unwrap().is_ok());
        });
    }
}
