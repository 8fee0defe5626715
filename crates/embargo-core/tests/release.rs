//! Release-day rules as pure functions: the timeline proposal by severity,
//! series and projects under the maximum embargo; the moment in several
//! time zones; a multi-project case where each project team sees only its
//! part; the guards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use embargo_core::{
    Case, CaseId, Command, Event, PersonId, Timestamp,
    affected::AffectedPackage,
    cvss::Cvss,
    decide, decide_new,
    event::{Assessment, Channel, EventData, ForkHost, Report, Reproduction},
    release::guards,
    timeline::{TimelinePolicy, in_zones},
    tlp::Tlp,
};
use jiff::SignedDuration;

fn p(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

fn t0() -> Timestamp {
    // A Monday.
    "2026-03-02T09:00:00Z".parse().unwrap()
}

/// An accepted numpy case scored with `vector`.
fn accepted(vector: &str) -> (Case, Vec<Event>) {
    let report = Report {
        project: "numpy".into(),
        title: "Heap overflow".into(),
        body: "PoC".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Web,
        intake: Default::default(),
    };
    let mut log = decide_new(report, &p("intake"), t0()).unwrap();
    let mut case = Case::from_events(CaseId::from_parts(2026, 1), &log).unwrap();
    let steps = [
        Command::Acknowledge {
            message: "ok".into(),
        },
        Command::Triage {
            assessment: Assessment {
                reproduced: Reproduction::Yes,
                notes: "yes".into(),
                affected: vec![AffectedPackage::parse("PyPI:numpy:0..1.26.4").unwrap()],
                cvss_v31: Some(Cvss::parse(vector).unwrap()),
                cvss_v40: None,
                cwe: None,
                tlp: Tlp::AmberStrict,
                projects: Vec::new(),
            },
        },
        Command::AssignFixingTeam {
            coordinator: p("cora"),
            fixers: vec![p("fay")],
        },
    ];
    for c in steps {
        run(&mut case, &mut log, c, "cora", t0());
    }
    (case, log)
}

fn run(case: &mut Case, log: &mut Vec<Event>, c: Command, actor: &str, at: Timestamp) {
    let events = decide(case, c, &p(actor), at).unwrap();
    for e in &events {
        case.apply(e).unwrap();
    }
    log.extend(events);
}

const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"; // 8.8
const LOW: &str = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"; // 1.8

#[test]
fn the_proposal_weighs_severity_series_and_projects() {
    let policy = TimelinePolicy::default();
    let (mut case, mut log) = accepted(HIGH);
    // High: 7 days from Monday 09:00 is Monday 09:00, the slot that day.
    let got = policy.propose(&case, 1, t0()).unwrap();
    assert_eq!(got.disclose_at.to_string(), "2026-03-09T16:00:00Z");
    // Three series: 2 × 2 more days, to Friday 09:00: next slot Monday.
    let got = policy.propose(&case, 3, t0()).unwrap();
    assert_eq!(got.disclose_at.to_string(), "2026-03-16T16:00:00Z");
    assert!(
        got.reasons
            .iter()
            .any(|r| r == "4 days for 2 more supported series")
    );
    // A second project adds 7 days: from 2026-03-16 09:00 (Monday), 16:00.
    run(
        &mut case,
        &mut log,
        Command::AssignProjectTeam {
            project: "scipy".into(),
            fixers: vec![p("sid")],
        },
        "cora",
        t0(),
    );
    let got = policy.propose(&case, 1, t0()).unwrap();
    assert_eq!(got.disclose_at.to_string(), "2026-03-16T16:00:00Z");
    // The maximum: 90 days from the report for high severity.
    assert_eq!(got.latest, t0() + SignedDuration::from_hours(90 * 24));
}

#[test]
fn the_maximum_embargo_caps_the_proposal_and_low_severity_may_run_longer() {
    let policy = TimelinePolicy {
        max_embargo_days: 10,
        ..TimelinePolicy::default()
    };
    let (case, _) = accepted(HIGH);
    // 7 + 2 × 10 series days would be far past the 10-day maximum
    // (2026-03-12 09:00): the last slot before it, Wednesday 16:00.
    let got = policy.propose(&case, 11, t0()).unwrap();
    assert_eq!(got.disclose_at.to_string(), "2026-03-11T16:00:00Z");
    assert!(got.reasons.iter().any(|r| r.contains("maximum embargo")));
    // Low severity: 30 days lead, and the maximum is 10 + 90 days.
    let (low, _) = accepted(LOW);
    let got = policy.propose(&low, 1, t0()).unwrap();
    assert_eq!(got.disclose_at.to_string(), "2026-04-01T16:00:00Z");
    assert_eq!(got.latest, t0() + SignedDuration::from_hours(100 * 24));
}

#[test]
fn the_moment_in_several_zones_follows_daylight_saving() {
    // 2026-03-12: New York is on EDT (since 2026-03-08), Berlin still CET.
    let t: Timestamp = "2026-03-12T16:00:00Z".parse().unwrap();
    let zones = in_zones(
        t,
        &[
            "America/New_York".into(),
            "Europe/Berlin".into(),
            "Asia/Tokyo".into(),
            "Mars/Olympus".into(),
        ],
    );
    let shown: Vec<String> = zones.iter().map(|(_, s)| s.clone()).collect();
    assert_eq!(
        shown,
        [
            "2026-03-12 16:00 UTC",
            "2026-03-12 12:00 EDT (-04:00)",
            "2026-03-12 17:00 CET (+01:00)",
            "2026-03-13 01:00 JST (+09:00)",
            "unknown time zone",
        ]
    );
}

#[test]
fn each_project_team_sees_only_its_part() {
    let (mut case, mut log) = accepted(HIGH);
    run(
        &mut case,
        &mut log,
        Command::AssignProjectTeam {
            project: "scipy".into(),
            fixers: vec![p("sid")],
        },
        "cora",
        t0(),
    );
    assert_eq!(case.part_of(&p("sid")), Some("scipy"));
    assert_eq!(
        case.part_of(&p("fay")),
        Some("numpy"),
        "the first team is numpy's"
    );
    assert_eq!(case.part_of(&p("cora")), None, "the coordinator sees all");
    let note = |text: &str| Command::AddNote {
        text: text.into(),
        part: None,
    };
    run(&mut case, &mut log, note("numpy fix idea"), "fay", t0());
    run(&mut case, &mut log, note("scipy fix idea"), "sid", t0());
    run(&mut case, &mut log, note("for everyone"), "cora", t0());
    let fork = Command::OpenPrivateFork {
        url: Some("https://git.example.org/scipy".into()),
        project: Some("scipy".into()),
        host: ForkHost::Elsewhere,
    };
    run(&mut case, &mut log, fork, "sid", t0());
    // fay may not open scipy's fork, nor write into scipy's part.
    let theirs = Command::OpenPrivateFork {
        url: Some("https://git.example.org/x".into()),
        project: Some("scipy".into()),
        host: ForkHost::Elsewhere,
    };
    let err = decide(&case, theirs, &p("fay"), t0()).unwrap_err();
    assert!(err.to_string().contains("numpy's team"), "{err}");
    let err = decide(
        &case,
        Command::AddNote {
            text: "x".into(),
            part: Some("scipy".into()),
        },
        &p("fay"),
        t0(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("stay in its part"), "{err}");

    let seen = |who: &str| -> Vec<String> {
        let part = case.part_of(&p(who));
        log.iter()
            .filter(|e| case.shows(part, &e.data))
            .filter_map(|e| match &e.data {
                EventData::NoteAdded { text, .. } => Some(text.clone()),
                EventData::ForkOpened { url, .. } => Some(url.clone()),
                EventData::ProjectTeamAssigned { project, .. } => Some(format!("team {project}")),
                _ => None,
            })
            .collect()
    };
    assert_eq!(seen("fay"), ["numpy fix idea", "for everyone"]);
    assert_eq!(
        seen("sid"),
        [
            "team scipy",
            "scipy fix idea",
            "for everyone",
            "https://git.example.org/scipy"
        ]
    );
    assert_eq!(seen("cora").len(), 5);
}

#[test]
fn guards_flag_a_live_fork_a_private_advisory_and_a_missed_moment() {
    let (mut case, mut log) = accepted(HIGH);
    let hour = SignedDuration::from_hours(1);
    let day = SignedDuration::from_hours(24);
    run(
        &mut case,
        &mut log,
        Command::ProposeTimeline {
            disclose_at: "2026-03-05T16:00:00Z".parse().unwrap(),
        },
        "cora",
        t0(),
    );
    run(&mut case, &mut log, Command::AcceptTimeline, "cora", t0());
    assert!(guards(&case, t0(), day, day).is_empty());
    let late: Timestamp = "2026-03-05T16:00:01Z".parse().unwrap();
    let kinds = |c: &Case, at: Timestamp| -> Vec<&'static str> {
        guards(c, at, day, day).iter().map(|g| g.kind).collect()
    };
    assert_eq!(kinds(&case, late), ["moment_passed"]);
    run(&mut case, &mut log, Command::MarkFixReady, "fay", t0());
    run(
        &mut case,
        &mut log,
        Command::CompleteReleaseStep {
            step: embargo_core::event::ReleaseStep::PatchRelease {
                package: "numpy".into(),
                version: "1.26.4".into(),
            },
        },
        "fay",
        t0() + hour,
    );
    assert!(!kinds(&case, t0() + day).contains(&"advisory_private"));
    assert!(kinds(&case, t0() + day + hour + hour).contains(&"advisory_private"));
}

#[test]
fn a_new_advisory_text_needs_a_new_announcement_approval() {
    let (mut case, mut log) = accepted(HIGH);
    let mut draft = embargo_core::advisory::AdvisoryDraft::new("Overflow", "Details.");
    draft.mitigation = Some("Avoid untrusted files.".into());
    run(
        &mut case,
        &mut log,
        Command::ReviseAdvisory {
            base_revision: 0,
            draft: Box::new(draft.clone()),
        },
        "fay",
        t0(),
    );
    run(
        &mut case,
        &mut log,
        Command::SubmitAdvisory { revision: 1 },
        "cora",
        t0(),
    );
    run(
        &mut case,
        &mut log,
        Command::ApproveAdvisory { revision: 1 },
        "cora",
        t0(),
    );
    let text = Command::ApproveAnnouncement {
        text: "Subject: numpy fixes\n\nUpgrade.".into(),
    };
    run(&mut case, &mut log, text, "cora", t0());
    assert!(case.announcement.is_some());
    draft.details = "More details.".into();
    run(
        &mut case,
        &mut log,
        Command::ReviseAdvisory {
            base_revision: 1,
            draft: Box::new(draft),
        },
        "fay",
        t0(),
    );
    assert!(case.announcement.is_none(), "approved on the old text");
    // Published without one: the guard says so.
    run(
        &mut case,
        &mut log,
        Command::SubmitAdvisory { revision: 2 },
        "fay",
        t0(),
    );
    run(
        &mut case,
        &mut log,
        Command::ApproveAdvisory { revision: 2 },
        "cora",
        t0(),
    );
    run(
        &mut case,
        &mut log,
        Command::Publish {
            mode: embargo_core::PublishMode::WithoutFix,
            reason: Some("the fix is out".into()),
        },
        "cora",
        t0(),
    );
    let day = SignedDuration::from_hours(24);
    let kinds: Vec<&str> = guards(&case, t0(), day, day)
        .iter()
        .map(|g| g.kind)
        .collect();
    assert_eq!(kinds, ["announcement_missing"]);
}

#[test]
fn a_fork_alive_after_disclosure_is_flagged_after_its_grace() {
    let (mut case, mut log) = accepted(HIGH);
    let fork = Command::OpenPrivateFork {
        url: Some("https://git.example.org/numpy-fix".into()),
        project: None,
        host: ForkHost::Elsewhere,
    };
    run(&mut case, &mut log, fork, "fay", t0());
    let mut draft = embargo_core::advisory::AdvisoryDraft::new("Overflow", "Details.");
    draft.mitigation = Some("Avoid untrusted files.".into());
    for (c, who) in [
        (
            Command::ReviseAdvisory {
                base_revision: 0,
                draft: Box::new(draft),
            },
            "fay",
        ),
        (Command::SubmitAdvisory { revision: 1 }, "fay"),
        (Command::ApproveAdvisory { revision: 1 }, "cora"),
        (
            Command::Publish {
                mode: embargo_core::PublishMode::WithoutFix,
                reason: Some("the fix is out".into()),
            },
            "cora",
        ),
    ] {
        run(&mut case, &mut log, c, who, t0());
    }
    let hour = SignedDuration::from_hours(1);
    let flagged = |case: &Case, at: Timestamp| -> bool {
        guards(case, at, hour, hour)
            .iter()
            .any(|g| g.kind == "fork_alive" && g.text.contains("git.example.org/numpy-fix"))
    };
    assert!(
        !flagged(&case, t0() + SignedDuration::from_mins(30)),
        "within its grace"
    );
    assert!(flagged(&case, t0() + hour + hour));
    run(
        &mut case,
        &mut log,
        Command::ClosePrivateFork { project: None },
        "fay",
        t0() + hour,
    );
    assert!(!flagged(&case, t0() + hour + hour), "removed");
}

/// Publishing before the agreed moment lifts the embargo, which needs a
/// reason; at the moment it needs none. The reporter's retest and credit
/// answer (with the name they chose) land on the case and in the export.
#[test]
fn publishing_early_needs_a_reason_and_the_reporter_answers_retest_and_credit() {
    let (mut case, mut log) = accepted(HIGH);
    let moment: Timestamp = "2026-03-09T16:00:00Z".parse().unwrap();
    run(
        &mut case,
        &mut log,
        Command::ProposeTimeline {
            disclose_at: moment,
        },
        "cora",
        t0(),
    );
    run(&mut case, &mut log, Command::AcceptTimeline, "cora", t0());
    run(&mut case, &mut log, Command::MarkFixReady, "fay", t0());
    let reporter = embargo_core::command::REPORTER_ACTOR;
    run(
        &mut case,
        &mut log,
        Command::AnswerRetest {
            fixed: true,
            note: "Works on the fork.".into(),
        },
        reporter,
        t0(),
    );
    assert_eq!(
        case.retest.as_ref().map(|(f, n, _)| (*f, n.as_str())),
        Some((true, "Works on the fork."))
    );
    let mut draft = embargo_core::advisory::AdvisoryDraft::new("Overflow", "Details.");
    draft.mitigation = Some("Avoid untrusted files.".into());
    draft.credits.push(embargo_core::advisory::Credit {
        name: "Lin Okafor".into(),
        kind: Some("FINDER".into()),
        contact: Vec::new(),
        holder: Some(embargo_core::advisory::CreditHolder::Reporter),
    });
    for (c, who) in [
        (
            Command::ReviseAdvisory {
                base_revision: 0,
                draft: Box::new(draft),
            },
            "fay",
        ),
        (Command::SubmitAdvisory { revision: 1 }, "fay"),
        (Command::ApproveAdvisory { revision: 1 }, "cora"),
    ] {
        run(&mut case, &mut log, c, who, t0());
    }
    // Declining names no one; accepting may rename.
    let refused = decide(
        &case,
        Command::AnswerCredit {
            accepted: false,
            name: Some("Lin".into()),
        },
        &p(reporter),
        t0(),
    );
    assert!(refused.is_err());
    run(
        &mut case,
        &mut log,
        Command::AnswerCredit {
            accepted: true,
            name: Some("Lin O. (Example Labs)".into()),
        },
        reporter,
        t0(),
    );
    let published = case.exportable(case.current_advisory().unwrap());
    assert_eq!(published.credits[0].name, "Lin O. (Example Labs)");

    let early = |reason: Option<&str>| Command::Publish {
        mode: embargo_core::PublishMode::WithoutFix,
        reason: reason.map(str::to_owned),
    };
    let err = decide(&case, early(None), &p("cora"), t0()).unwrap_err();
    assert!(
        err.to_string()
            .contains("publishing earlier lifts it, which needs a reason"),
        "{err}"
    );
    assert!(decide(&case, early(Some("  ")), &p("cora"), t0()).is_err());
    let lifted = decide(
        &case,
        early(Some("exploited in the wild")),
        &p("cora"),
        t0(),
    )
    .unwrap();
    assert!(matches!(
        &lifted[0].data,
        EventData::EmbargoLifted { reason } if reason == "exploited in the wild"
    ));
    // At the moment, the scheduler (or anyone) publishes without one.
    let on_time = decide(&case, early(None), &p("system:release"), moment).unwrap();
    assert!(
        !on_time
            .iter()
            .any(|e| matches!(e.data, EventData::EmbargoLifted { .. }))
    );
    for e in &lifted {
        case.apply(e).unwrap();
    }
    assert_eq!(
        case.lifted
            .as_ref()
            .map(|(r, by, _)| (r.as_str(), by.as_str())),
        Some(("exploited in the wild", "cora"))
    );
    // After publication there is nothing left to retest.
    assert!(
        decide(
            &case,
            Command::AnswerRetest {
                fixed: false,
                note: "x".into()
            },
            &p(reporter),
            t0()
        )
        .is_err()
    );
}
