//! Who sees a case and who may do what, as allowed/denied tables: every
//! allowed line has its denied twin one label or one role away.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use std::collections::BTreeSet;

use embargo_core::{
    Case, CaseId, Command, PersonId, Timestamp,
    access::{Denied, Member, OrgRole, Scope, Standing, authorize, standing},
    affected::AffectedPackage,
    decide, decide_new,
    event::{Assessment, Channel, Event, Report, Reproduction},
    participant::{Participant, Role},
    tlp::Tlp,
};

fn id(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

fn member(name: &str, role: OrgRole, maintains: &[&str]) -> Member {
    Member {
        id: id(name),
        role,
        maintains: maintains.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The cast: who they are in the organisation.
fn cast() -> Vec<Member> {
    vec![
        member("coord", OrgRole::Srt, &[]),
        member("srt", OrgRole::Srt, &[]),
        member("admin", OrgRole::Admin, &[]),
        member("fixer", OrgRole::Maintainer, &["numpy"]),
        member("numpy-dev", OrgRole::Maintainer, &["numpy"]),
        member("scipy-dev", OrgRole::Maintainer, &["scipy"]),
        member("watcher", OrgRole::Maintainer, &["scipy"]),
    ]
}

fn lookup(p: &PersonId) -> Option<Member> {
    cast().into_iter().find(|m| &m.id == p)
}

fn at(h: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + h * 3600).unwrap()
}

/// A numpy case labelled `tlp`, with coord coordinating, fixer fixing and
/// watcher observing (when `team` is set).
fn case(tlp: Tlp, team: bool) -> Case {
    let report = Report {
        project: "numpy".into(),
        title: "overflow".into(),
        body: "steps".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Web,
        intake: Default::default(),
    };
    let mut log: Vec<Event> = decide_new(report, &id("intake"), at(0)).unwrap();
    let mut case = Case::from_events(CaseId::from_parts(2026, 7), &log).unwrap();
    let mut run = |case: &mut Case, cmd: Command| {
        let events = decide(case, cmd, &id("srt"), at(1)).unwrap();
        for e in &events {
            case.apply(e).unwrap();
        }
        log.extend(events);
    };
    run(
        &mut case,
        Command::Acknowledge {
            message: "thanks".into(),
        },
    );
    run(
        &mut case,
        Command::Triage {
            assessment: Assessment {
                reproduced: Reproduction::Yes,
                notes: "seen".into(),
                affected: vec![AffectedPackage::parse("PyPI:numpy:0..2.0.0").unwrap()],
                cvss_v31: None,
                cvss_v40: None,
                cwe: None,
                tlp,
                projects: Vec::new(),
            },
        },
    );
    if team {
        run(
            &mut case,
            Command::AssignFixingTeam {
                coordinator: id("coord"),
                fixers: vec![id("fixer")],
            },
        );
        run(
            &mut case,
            Command::AddParticipant {
                participant: Participant {
                    person: id("watcher"),
                    role: Role::Observer,
                },
            },
        );
    }
    case
}

fn projects() -> BTreeSet<String> {
    ["numpy".to_owned()].into()
}

fn name(s: Option<Standing>) -> &'static str {
    s.map_or("404", Standing::name)
}

#[test]
fn who_sees_a_case_under_each_label() {
    let projects = projects();
    let mut table = String::new();
    for tlp in Tlp::ALL {
        let case = case(tlp, true);
        let scope = Scope {
            case: &case,
            projects: &projects,
        };
        table.push_str(&format!("{:<17}", tlp.label()));
        for m in cast() {
            table.push_str(&format!(" {}={}", m.id, name(standing(scope, &m))));
        }
        table.push('\n');
    }
    let expected = "\
TLP:RED           coord=coordinator srt=404 admin=404 fixer=fixer numpy-dev=404 scipy-dev=404 watcher=observer
TLP:AMBER+STRICT  coord=coordinator srt=srt admin=srt fixer=fixer numpy-dev=404 scipy-dev=404 watcher=observer
TLP:AMBER         coord=coordinator srt=srt admin=srt fixer=fixer numpy-dev=project maintainer scipy-dev=404 watcher=observer
TLP:GREEN         coord=coordinator srt=srt admin=srt fixer=fixer numpy-dev=project maintainer scipy-dev=community watcher=observer
TLP:CLEAR         coord=coordinator srt=srt admin=srt fixer=fixer numpy-dev=project maintainer scipy-dev=community watcher=observer
";
    assert_eq!(table, expected);
}

#[test]
fn a_red_report_belongs_to_the_srt_until_a_coordinator_is_named() {
    let projects = projects();
    let before = case(Tlp::Red, false);
    let after = case(Tlp::Red, true);
    let srt = lookup(&id("srt")).unwrap();
    let scope = |c| Scope {
        case: c,
        projects: &projects,
    };
    assert_eq!(standing(scope(&before), &srt), Some(Standing::Srt));
    assert_eq!(standing(scope(&after), &srt), None);
}

fn add(person: &str, role: Role) -> Command {
    Command::AddParticipant {
        participant: Participant {
            person: id(person),
            role,
        },
    }
}

fn request(person: &str) -> Command {
    Command::RequestAddition {
        participant: Participant {
            person: id(person),
            role: Role::Fixer,
        },
        reason: "knows the parser".into(),
    }
}

/// `actor` runs `command` on a case labelled `tlp`: "ok", "404" or the denial.
fn attempt(tlp: Tlp, actor: &str, command: &Command) -> String {
    let projects = projects();
    let case = case(tlp, true);
    let scope = Scope {
        case: &case,
        projects: &projects,
    };
    let Some(s) = standing(scope, &lookup(&id(actor)).unwrap()) else {
        return "404".into();
    };
    match authorize(scope, s, command, lookup) {
        Ok(()) => "ok".into(),
        Err(Denied::Standing { .. }) => "denied: standing".into(),
        Err(Denied::Tlp { .. }) => "denied: tlp".into(),
        Err(Denied::Unknown(_)) => "denied: unknown".into(),
    }
}

#[test]
fn allowed_actions_and_their_denied_twins() {
    use Tlp::*;
    let ack = Command::AddNote {
        text: "internal".into(),
        part: None,
    };
    let triage_like = Command::Close { note: "x".into() };
    let rows: Vec<(Tlp, &str, Command, &str)> = vec![
        // The SRT adds a maintainer of the affected project under AMBER+STRICT ...
        (AmberStrict, "srt", add("numpy-dev", Role::Fixer), "ok"),
        // ... but not someone from another project: AMBER+STRICT keeps it in.
        (
            AmberStrict,
            "srt",
            add("scipy-dev", Role::Fixer),
            "denied: tlp",
        ),
        // Under AMBER the SRT may bring in someone from another project.
        (Amber, "srt", add("scipy-dev", Role::Fixer), "ok"),
        // A fixer cannot add directly ...
        (
            Amber,
            "fixer",
            add("scipy-dev", Role::Fixer),
            "denied: standing",
        ),
        // ... but may ask.
        (Amber, "fixer", request("scipy-dev"), "ok"),
        // Asking under AMBER+STRICT for an outsider fails at once.
        (AmberStrict, "fixer", request("scipy-dev"), "denied: tlp"),
        // Asking for an insider under AMBER+STRICT is fine.
        (AmberStrict, "fixer", request("numpy-dev"), "ok"),
        // Someone without an account cannot be added.
        (Amber, "srt", add("nobody", Role::Fixer), "denied: unknown"),
        // Under RED the coordinator adds people; the SRT does not even see the case.
        (Red, "coord", add("numpy-dev", Role::Fixer), "ok"),
        (Red, "srt", add("numpy-dev", Role::Fixer), "404"),
        // A maintainer of the affected project sees an AMBER case and may ask ...
        (Amber, "numpy-dev", request("numpy-dev"), "ok"),
        // ... but cannot touch an AMBER+STRICT one.
        (AmberStrict, "numpy-dev", request("numpy-dev"), "404"),
        // Fixers write internal notes; observers do not.
        (Amber, "fixer", ack.clone(), "ok"),
        (Amber, "watcher", ack, "denied: standing"),
        // The coordinator closes; a fixer does not.
        (Amber, "coord", triage_like.clone(), "ok"),
        (Amber, "fixer", triage_like.clone(), "denied: standing"),
        // GREEN lets the community read, never act.
        (Green, "scipy-dev", triage_like, "denied: standing"),
        (Green, "scipy-dev", request("scipy-dev"), "denied: standing"),
    ];
    let mut failures = Vec::new();
    for (tlp, actor, command, expected) in &rows {
        let got = attempt(*tlp, actor, command);
        if got != *expected {
            failures.push(format!(
                "{} {actor} {}: expected {expected}, got {got}",
                tlp.label(),
                command.kind()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn approving_a_request_adds_the_person_and_records_who_asked_and_who_approved() {
    let mut case = case(Tlp::Amber, true);
    let run = |case: &mut Case, cmd: Command, actor: &str| {
        for e in decide(case, cmd, &id(actor), at(2)).unwrap() {
            case.apply(&e).unwrap();
        }
    };
    run(&mut case, request("scipy-dev"), "fixer");
    assert_eq!(case.role_of(&id("scipy-dev")), None);
    // A second request for the same person is refused while one waits.
    assert!(decide(&case, request("scipy-dev"), &id("fixer"), at(2)).is_err());
    run(&mut case, Command::ApproveAddition { request: 1 }, "srt");
    assert_eq!(case.role_of(&id("scipy-dev")), Some(Role::Fixer));
    let r = &case.addition_requests[0];
    assert_eq!(r.requested_by, id("fixer"));
    assert_eq!(r.decision.as_ref().unwrap().0, id("srt"));
    // Decided requests cannot be decided again.
    assert!(
        decide(
            &case,
            Command::ApproveAddition { request: 1 },
            &id("srt"),
            at(3)
        )
        .is_err()
    );
}

#[test]
fn approval_rechecks_the_label_in_force_now() {
    // Requested under AMBER, then the case was relabelled AMBER+STRICT:
    // approving would bring an outsider into a STRICT case.
    let projects = projects();
    let mut case = case(Tlp::Amber, true);
    for e in decide(&case, request("scipy-dev"), &id("fixer"), at(2)).unwrap() {
        case.apply(&e).unwrap();
    }
    let mut assessment = case.assessment.clone().unwrap();
    assessment.tlp = Tlp::AmberStrict;
    for e in decide(&case, Command::Triage { assessment }, &id("srt"), at(3)).unwrap() {
        case.apply(&e).unwrap();
    }
    let scope = Scope {
        case: &case,
        projects: &projects,
    };
    let got = authorize(
        scope,
        Standing::Srt,
        &Command::ApproveAddition { request: 1 },
        lookup,
    );
    assert!(matches!(got, Err(Denied::Tlp { .. })), "{got:?}");
}
