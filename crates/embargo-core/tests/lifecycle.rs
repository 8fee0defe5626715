//! The case state machines, tested through commands as callers use them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use embargo_core::{
    Case, CaseId, Command, Embargo, Handling, PersonId, PublishMode, Refusal, Stage, Timestamp,
    WorldFact,
    advisory::AdvisoryDraft,
    affected::AffectedPackage,
    cvss::Cvss,
    decide, decide_new,
    event::{
        Assessment, Channel, Event, RejectReason, Rejection, ReleaseStep, Report, Reproduction,
    },
    participant::{Participant, Role},
    tlp::Tlp,
};
use jiff::SignedDuration;
use proptest::prelude::*;

fn person(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

fn t0() -> Timestamp {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn report() -> Report {
    Report {
        project: "numpy".into(),
        title: "Heap overflow in loadtxt".into(),
        body: "Steps to reproduce: ...".into(),
        reporter_name: Some("Ada".into()),
        reporter_email: Some("ada@example.org".into()),
        channel: Channel::Web,
        intake: Default::default(),
    }
}

fn assessment() -> Assessment {
    Assessment {
        reproduced: Reproduction::Yes,
        notes: "Reproduced on 1.26.3".into(),
        affected: vec![AffectedPackage::parse("PyPI:numpy:0..1.26.4").unwrap()],
        cvss_v31: Some(Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H").unwrap()),
        cvss_v40: None,
        cwe: Some("CWE-122".parse().unwrap()),
        tlp: Tlp::AmberStrict,
        projects: Vec::new(),
    }
}

fn draft(mitigation: Option<&str>) -> AdvisoryDraft {
    let mut a = AdvisoryDraft::new(
        "Heap overflow in numpy.loadtxt",
        "A crafted file overflows a buffer.",
    );
    a.cve = Some("CVE-2026-12345".parse().unwrap());
    a.mitigation = mitigation.map(str::to_owned);
    a.upgrade = Some("pip install -U numpy".into());
    a
}

struct Harness {
    case: Case,
    log: Vec<Event>,
    now: Timestamp,
}

impl Harness {
    fn new() -> Self {
        let log = decide_new(report(), &person("intake"), t0()).unwrap();
        let case = Case::from_events(CaseId::from_parts(2026, 1), &log).unwrap();
        Harness {
            case,
            log,
            now: t0(),
        }
    }

    fn run(&mut self, command: Command) -> Result<(), Refusal> {
        self.now += SignedDuration::from_hours(1);
        // The fixer writes the advisory; the SRT reviews it (a revision is
        // approved by someone other than its author).
        let actor = if matches!(command, Command::ReviseAdvisory { .. }) {
            person("fred")
        } else {
            person("srt")
        };
        let events = decide(&self.case, command, &actor, self.now)?;
        for e in &events {
            self.case
                .apply(e)
                .unwrap_or_else(|err| panic!("fold refused a decided event: {err}"));
        }
        self.log.extend(events);
        Ok(())
    }
}

#[test]
fn one_case_through_every_step() {
    let mut h = Harness::new();
    let mut stages = vec![h.case.stage()];
    let steps = vec![
        Command::Acknowledge {
            message: "Thanks, we are on it.".into(),
        },
        Command::Triage {
            assessment: assessment(),
        },
        Command::AssignFixingTeam {
            coordinator: person("cora"),
            fixers: vec![person("fred")],
        },
        Command::ProposeTimeline {
            disclose_at: "2026-03-19T16:00:00Z".parse().unwrap(),
        },
        Command::AcceptTimeline,
        Command::ReviseAdvisory {
            base_revision: 0,
            draft: Box::new(draft(None)),
        },
        Command::SubmitAdvisory { revision: 1 },
        Command::ApproveAdvisory { revision: 1 },
        Command::OpenPrivateFork {
            url: Some("https://git.example.org/numpy-ghsa".into()),
            project: None,
            host: embargo_core::event::ForkHost::Elsewhere,
        },
        Command::MarkFixReady,
        Command::CompleteReleaseStep {
            step: ReleaseStep::MergeFix,
        },
        Command::CompleteReleaseStep {
            step: ReleaseStep::PatchRelease {
                package: "numpy".into(),
                version: "1.26.4".into(),
            },
        },
        Command::CompleteReleaseStep {
            step: ReleaseStep::PublishPackages,
        },
        Command::Publish {
            mode: PublishMode::WithFix,
            reason: Some("the fix is out".into()),
        },
        Command::CompleteReleaseStep {
            step: ReleaseStep::SendAnnouncement,
        },
        Command::ClosePrivateFork { project: None },
        Command::Close {
            note: "Retrospective written.".into(),
        },
    ];
    for step in steps {
        h.run(step.clone())
            .unwrap_or_else(|e| panic!("{step:?}: {e}"));
        stages.push(h.case.stage());
    }
    let labels: Vec<&str> = stages.iter().map(|s| s.label()).collect();
    insta::assert_snapshot!(labels.join(" → "), @"new → acknowledged → triaged → fixing → fixing → fixing → fixing → fixing → fixing → fixing → scheduled → scheduled → released → released → disclosed → disclosed → disclosed → closed");
    assert_eq!(
        h.case.embargo,
        Embargo::Exited {
            how: embargo_core::event::EmbargoExit::Lifted
        }
    );
    assert!(
        h.case
            .release_checklist()
            .iter()
            .all(|(_, done)| done.is_some())
    );
    // Replaying the log gives the same state.
    let again = Case::from_events(h.case.id.clone(), &h.log).unwrap();
    assert_eq!(again, h.case);
}

#[test]
fn refusals_name_the_state_and_the_allowed_moves() {
    let mut h = Harness::new();
    let err = h
        .run(Command::Publish {
            mode: PublishMode::WithFix,
            reason: Some("the fix is out".into()),
        })
        .unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"cannot publish: the case is received (embargo none); allowed now: acknowledge, request_info, reject, add_participant, request_addition, add_note, message_reporter, record_fact");
    let err = h
        .run(Command::Reject {
            rejection: Rejection {
                reason: RejectReason::OutOfScope,
                explanation: "Not ours".into(),
            },
        })
        .unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"cannot reject: only spam is rejected before acknowledgement; acknowledge the report first");
    h.run(Command::Acknowledge {
        message: "Thanks".into(),
    })
    .unwrap();
    h.run(Command::Triage {
        assessment: assessment(),
    })
    .unwrap();
    h.run(Command::AssignFixingTeam {
        coordinator: person("cora"),
        fixers: vec![person("fred")],
    })
    .unwrap();
    h.run(Command::ReviseAdvisory {
        base_revision: 0,
        draft: Box::new(draft(None)),
    })
    .unwrap();
    let err = h
        .run(Command::ReviseAdvisory {
            base_revision: 0,
            draft: Box::new(draft(None)),
        })
        .unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"cannot revise_advisory: it is at revision 1, the edit was made on revision 0; reload and edit again");
    let err = h
        .run(Command::Publish {
            mode: PublishMode::WithoutFix,
            reason: Some("the fix is out".into()),
        })
        .unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"cannot publish: the advisory is draft: submit it for review and have a reviewer approve it before publishing");
    h.run(Command::SubmitAdvisory { revision: 1 }).unwrap();
    // The author cannot approve their own text.
    let events = decide(
        &h.case,
        Command::ApproveAdvisory { revision: 1 },
        &person("fred"),
        h.now,
    );
    insta::assert_snapshot!(events.unwrap_err().to_string(), @"cannot approve_advisory: a revision is approved by someone other than its author");
    h.run(Command::ApproveAdvisory { revision: 1 }).unwrap();
    let err = h
        .run(Command::Publish {
            mode: PublishMode::WithoutFix,
            reason: Some("the fix is out".into()),
        })
        .unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"cannot publish: a disclosure without a fix needs a mitigation in the advisory");
}

#[test]
fn a_leak_breaks_the_embargo_and_exploit_implies_public() {
    let mut h = Harness::new();
    h.run(Command::Acknowledge {
        message: "Thanks".into(),
    })
    .unwrap();
    h.run(Command::Triage {
        assessment: assessment(),
    })
    .unwrap();
    h.run(Command::AssignFixingTeam {
        coordinator: person("cora"),
        fixers: vec![person("fred")],
    })
    .unwrap();
    h.run(Command::ProposeTimeline {
        disclose_at: "2026-04-02T16:00:00Z".parse().unwrap(),
    })
    .unwrap();
    h.run(Command::AcceptTimeline).unwrap();
    h.run(Command::RecordFact {
        fact: WorldFact::ExploitPublic,
    })
    .unwrap();
    assert!(h.case.facts.public_aware.is_some());
    assert_eq!(
        h.case.embargo,
        Embargo::Exited {
            how: embargo_core::event::EmbargoExit::Broken
        }
    );
}

fn arb_command() -> impl Strategy<Value = Command> {
    let people = prop::sample::select(vec!["cora", "fred", "mia"]);
    let times = (1i64..2000).prop_map(|h| t0() + SignedDuration::from_hours(h));
    prop_oneof![
        Just(Command::Acknowledge {
            message: "ack".into()
        }),
        Just(Command::RequestInfo {
            question: "which version?".into()
        }),
        Just(Command::InfoReceived {
            note: "1.26".into()
        }),
        Just(Command::Triage {
            assessment: assessment()
        }),
        prop::sample::select(vec![
            RejectReason::Spam,
            RejectReason::NotAVulnerability,
            RejectReason::OutOfScope,
            RejectReason::NotReproducible,
            RejectReason::DuplicateOf {
                case: CaseId::from_parts(2026, 2)
            },
        ])
        .prop_map(|reason| Command::Reject {
            rejection: Rejection {
                reason,
                explanation: "because".into()
            }
        }),
        Just(Command::Revalidate {
            note: "new evidence".into()
        }),
        people.clone().prop_map(|p| Command::AssignFixingTeam {
            coordinator: person("cora"),
            fixers: vec![person(p)]
        }),
        people.clone().prop_map(|p| Command::AddParticipant {
            participant: Participant {
                person: person(p),
                role: Role::Observer
            }
        }),
        people.prop_map(|p| Command::RequestAddition {
            participant: Participant {
                person: person(p),
                role: Role::Fixer
            },
            reason: "knows the code".into()
        }),
        (1u32..4).prop_map(|request| Command::ApproveAddition { request }),
        (1u32..4).prop_map(|request| Command::DeclineAddition {
            request,
            reason: "not needed".into()
        }),
        Just(Command::AddNote {
            text: "internal".into(),
            part: None,
        }),
        Just(Command::Defer {
            reason: "later".into()
        }),
        Just(Command::Reopen { note: "now".into() }),
        times.prop_map(|disclose_at| Command::ProposeTimeline { disclose_at }),
        Just(Command::AcceptTimeline),
        Just(Command::DeclineTimeline {
            reason: "too soon".into()
        }),
        (0u32..3, prop::bool::ANY).prop_map(|(base_revision, m)| Command::ReviseAdvisory {
            base_revision,
            draft: Box::new(draft(m.then_some("disable the loader"))),
        }),
        (0u32..3).prop_map(|revision| Command::SubmitAdvisory { revision }),
        (0u32..3).prop_map(|revision| Command::ApproveAdvisory { revision }),
        Just(Command::OpenPrivateFork {
            url: Some("https://git.example.org/fork".into()),
            project: None,
            host: embargo_core::event::ForkHost::Elsewhere,
        }),
        Just(Command::ClosePrivateFork { project: None }),
        Just(Command::MarkFixReady),
        prop::sample::select(vec![
            WorldFact::PublicAware,
            WorldFact::ExploitPublic,
            WorldFact::AttacksSeen
        ])
        .prop_map(|fact| Command::RecordFact { fact }),
        prop::sample::select(vec![
            ReleaseStep::MergeFix,
            ReleaseStep::PatchRelease {
                package: "numpy".into(),
                version: "1.26.4".into()
            },
            ReleaseStep::PublishPackages,
            ReleaseStep::SendAnnouncement,
        ])
        .prop_map(|step| Command::CompleteReleaseStep { step }),
        prop::sample::select(vec![PublishMode::WithFix, PublishMode::WithoutFix]).prop_map(
            |mode| Command::Publish {
                mode,
                reason: Some("lifted".into())
            }
        ),
        Just(Command::Close {
            note: "done".into()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever people do, decided events always fold, the facts keep their
    /// implications, and the log replays to the same state.
    #[test]
    fn random_command_sequences_keep_the_machines_consistent(commands in prop::collection::vec(arb_command(), 0..60)) {
        let mut h = Harness::new();
        for command in commands {
            let before = h.case.clone();
            let kind = command.kind();
            match h.run(command) {
                Ok(()) => {}
                Err(refusal) => {
                    prop_assert_eq!(&before, &h.case, "a refused {} changed the case", kind);
                    if let Refusal::NotAllowedNow { allowed, .. } = &refusal {
                        prop_assert!(!allowed.contains(&kind));
                    }
                }
            }
            let f = h.case.facts;
            prop_assert!(f.exploit_public.is_none() || f.public_aware.is_some());
            prop_assert!(f.fix_released.is_none() || f.fix_ready.is_some());
            prop_assert!(f.fix_ready.is_none() || f.vendor_aware.is_some());
            if h.case.published_at.is_some() {
                prop_assert!(!h.case.embargo.is_running());
                prop_assert!(f.public_aware.is_some());
            }
            if h.case.facts.public_aware.is_some() {
                let agreed = h.case.embargo.agreed_until().is_some();
                prop_assert!(!agreed, "public but the embargo still holds");
            }
            if h.case.handling == Handling::Closed {
                prop_assert_eq!(h.case.stage(), Stage::Closed);
            }
        }
        let again = Case::from_events(h.case.id.clone(), &h.log).unwrap();
        prop_assert_eq!(again, h.case);
    }
}

/// The SPEC-11 compliance checks over cases built by commands: a fix
/// shipped with the advisory still private, and an agreed date passed
/// without disclosure, are broken promises; the acknowledgement in time is
/// kept.
#[test]
fn compliance_checks_name_the_broken_promises() {
    use embargo_core::stats::spec11_checks;
    let mut h = Harness::new();
    for step in [
        Command::Acknowledge {
            message: "Thanks".into(),
        },
        Command::Triage {
            assessment: assessment(),
        },
        Command::AssignFixingTeam {
            coordinator: person("cora"),
            fixers: vec![person("fred")],
        },
        Command::ProposeTimeline {
            disclose_at: "2026-03-19T16:00:00Z".parse().unwrap(),
        },
        Command::AcceptTimeline,
        Command::MarkFixReady,
        Command::CompleteReleaseStep {
            step: ReleaseStep::PatchRelease {
                package: "numpy".into(),
                version: "1.26.4".into(),
            },
        },
    ] {
        h.run(step.clone())
            .unwrap_or_else(|e| panic!("{step:?}: {e}"));
    }
    let id = h.case.id.to_string();
    let due = h
        .case
        .ack_clock(embargo_core::sla::AckPolicy::default())
        .due;
    let figures = [embargo_core::stats::Figures::of(&h.case, due)];
    let after_date: Timestamp = "2026-03-20T00:00:00Z".parse().unwrap();
    let checks = spec11_checks(&figures, &[("security@".into(), true)], after_date);
    let line = |name: &str| {
        checks
            .iter()
            .find(|c| c.name.starts_with(name))
            .unwrap()
            .clone()
    };
    assert_eq!(line("reporting channels").kept, Some(true));
    assert_eq!(line("every report is acknowledged").kept, Some(true));
    assert_eq!(
        line("every report is acknowledged").detail,
        "100% of 1 in time"
    );
    let timeline = line("agreed disclosure dates");
    assert_eq!(
        (timeline.kept, timeline.detail),
        (
            Some(false),
            format!("past the agreed date and not disclosed: {id}")
        )
    );
    let advisory = line("every shipped fix");
    assert_eq!(
        (advisory.kept, advisory.detail),
        (
            Some(false),
            format!("fix shipped, advisory still private: {id}")
        )
    );
    assert_eq!(line("a retrospective").kept, None);
    // Before the date, the timeline is not broken yet; an unhealthy channel is.
    let before: Timestamp = "2026-03-10T00:00:00Z".parse().unwrap();
    let checks = spec11_checks(&figures, &[("security@".into(), false)], before);
    assert_eq!(checks[0].kept, Some(false));
    assert_eq!(
        checks[0].detail,
        "0 of 1 healthy; needs attention: security@"
    );
    assert_eq!(checks[2].kept, Some(true));
}

/// Every promise a case is under, by hand: acknowledged at 10:00 and
/// triaged at 11:00 on Monday 2 March 2026, CVSS 8.8 (high).
#[test]
fn the_policy_sets_each_deadline_by_severity_in_calendar_or_business_days() {
    use embargo_core::sla::{ClockKind, Policy, case_notices, deadlines};
    let mut h = Harness::new();
    h.run(Command::Acknowledge {
        message: "Thanks".into(),
    })
    .unwrap();
    h.run(Command::Triage {
        assessment: assessment(),
    })
    .unwrap();
    let due = |policy: &Policy, kind: ClockKind| {
        deadlines(&h.case, policy)
            .into_iter()
            .find(|d| d.kind == kind)
            .map(|d| d.clock.due.to_string())
            .unwrap()
    };
    let calendar = Policy::default();
    assert_eq!(
        due(&calendar, ClockKind::Acknowledge),
        "2026-03-03T09:00:00Z"
    );
    assert_eq!(due(&calendar, ClockKind::Triage), "2026-03-09T10:00:00Z");
    assert_eq!(
        due(&calendar, ClockKind::Fix),
        "2026-04-01T11:00:00Z",
        "high: 30 days from triage"
    );
    assert_eq!(
        due(&calendar, ClockKind::Disclose),
        "2026-04-16T09:00:00Z",
        "high: 45 days from the report"
    );
    // Business days, with Good Friday off: 30 working days are six weeks and a day.
    let business = Policy {
        business_days: true,
        holidays: ["2026-04-03".parse().unwrap()].into_iter().collect(),
        ..Policy::default()
    };
    assert_eq!(due(&business, ClockKind::Fix), "2026-04-14T11:00:00Z");
    // The triage clock stopped at triage: no notices for it, ever.
    let late: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
    let keys: Vec<String> = case_notices(&h.case, &calendar, late)
        .into_iter()
        .map(|(_, n)| n.key)
        .collect();
    let id = h.case.id.to_string();
    assert!(
        !keys
            .iter()
            .any(|k| k.starts_with("triage-") || k.starts_with("ack-")),
        "{keys:?}"
    );
    assert!(keys.contains(&format!("fix-escalation:{id}")), "{keys:?}");
    assert!(
        keys.contains(&format!("disclose-warning-90:{id}")),
        "{keys:?}"
    );
    // Once the fix is ready, its clock stops too.
    h.run(Command::AssignFixingTeam {
        coordinator: person("cora"),
        fixers: vec![person("fred")],
    })
    .unwrap();
    h.run(Command::MarkFixReady).unwrap();
    let keys: Vec<String> = case_notices(&h.case, &calendar, late)
        .into_iter()
        .map(|(_, n)| n.key)
        .collect();
    assert!(!keys.iter().any(|k| k.starts_with("fix-")), "{keys:?}");
}

/// A report held for screening: its own stage, answerable from there
/// (rejected for any reason, or passed to the inbox), and the reasons are
/// the team's only.
#[test]
fn a_held_report_waits_in_screening_until_answered() {
    use embargo_core::{access::Standing, event::EventData, view::Lens};
    let held = |h: &mut Harness| {
        let e = Event {
            at: h.now,
            actor: person("intake"),
            data: EventData::ScreeningHeld {
                reasons: vec!["names no affected version".into()],
            },
        };
        h.case.apply(&e).unwrap();
        h.log.push(e);
    };
    let mut h = Harness::new();
    held(&mut h);
    assert_eq!(h.case.stage(), Stage::Screening);
    assert!(h.case.acknowledged_at.is_none(), "the clock still runs");
    // The reporter sees a new report, and not why it was held.
    let lens = Lens::new(&h.case, Standing::Reporter, &person("ada"));
    assert_eq!(lens.case(&h.case).stage(), Stage::New);
    assert!(h.log.iter().all(|e| {
        !matches!(
            lens.event(&h.case, e).map(|e| e.data),
            Some(EventData::ScreeningHeld { .. })
        )
    }));
    let team = Lens::new(&h.case, Standing::Srt, &person("srt"));
    assert_eq!(team.case(&h.case).screening, h.case.screening);

    // Rejected from screening for a reason other than spam: an answer.
    h.run(Command::Reject {
        rejection: Rejection {
            reason: RejectReason::NotAVulnerability,
            explanation: "This is documented behaviour.".into(),
        },
    })
    .unwrap();
    assert_eq!(h.case.stage(), Stage::Rejected);
    assert_eq!(h.case.acknowledged_at, Some(h.now));
    assert_eq!(h.case.screened_at, Some(h.now));

    // Passed: it becomes a new report in the inbox, clock still running.
    let mut h = Harness::new();
    held(&mut h);
    h.run(Command::PassScreening {
        note: String::new(),
    })
    .unwrap();
    assert_eq!(h.case.stage(), Stage::New);
    assert!(h.case.acknowledged_at.is_none());
    assert_eq!(
        h.run(Command::PassScreening {
            note: String::new()
        })
        .map_err(|r| matches!(r, Refusal::NotAllowedNow { .. })),
        Err(true)
    );
    // Out of screening, only spam is rejected unanswered, as before.
    assert!(
        h.run(Command::Reject {
            rejection: Rejection {
                reason: RejectReason::NotAVulnerability,
                explanation: "x".into(),
            },
        })
        .is_err()
    );
}
