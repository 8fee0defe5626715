//! The indexed side of access (`grants` of a case, `principals` of a
//! member) agrees with `standing` on random cases, members and project
//! tables: the store lists a case for someone exactly when they see it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use embargo_core::{
    Case, CaseId, Command, PersonId, Timestamp,
    access::{Member, OrgRole, Scope, grants, principals, projects_of, standing},
    affected::AffectedPackage,
    decide, decide_new,
    event::{Assessment, Channel, ProjectImpact, ProjectStatus, Report, Reproduction},
    participant::{Participant, Role},
    tlp::Tlp,
};
use proptest::prelude::*;

const PROJECTS: &[&str] = &["numpy", "scipy", "pandas", "astropy"];
const PACKAGES: &[&str] = &[
    "PyPI:numpy",
    "PyPI:SciPy",
    "conda:pandas",
    "PyPI:astropy-core",
    "npm:leftpad",
];
const PEOPLE: &[&str] = &["ana", "ben", "cai", "dee", "eli"];

fn id(s: &str) -> PersonId {
    PersonId::new(s).unwrap()
}

/// A triage: the label, affected packages (indexes into `PACKAGES`) and
/// status-matrix rows (project, status).
type Triage = (Tlp, Vec<usize>, Vec<(usize, usize)>);

#[derive(Debug, Clone)]
struct Shape {
    project: usize,
    triage: Option<Triage>,
    coordinator: Option<usize>,
    others: Vec<(usize, usize)>,
}

fn shape() -> impl Strategy<Value = Shape> {
    let tlp = prop::sample::select(Tlp::ALL.to_vec());
    let triage = prop::option::of((
        tlp,
        prop::collection::vec(0..PACKAGES.len(), 0..3),
        prop::collection::vec((0..PROJECTS.len(), 0..4usize), 0..3),
    ));
    (
        0..PROJECTS.len(),
        triage,
        prop::option::of(0..PEOPLE.len()),
        prop::collection::vec((0..PEOPLE.len(), 0..3usize), 0..3),
    )
        .prop_map(|(project, triage, coordinator, others)| Shape {
            project,
            triage,
            coordinator,
            others,
        })
}

fn build(shape: &Shape) -> Case {
    let at = Timestamp::from_second(1_780_000_000).unwrap();
    let report = Report {
        project: PROJECTS[shape.project].into(),
        title: "overflow".into(),
        body: "steps".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Web,
        intake: Default::default(),
    };
    let log = decide_new(report, &id("intake"), at).unwrap();
    let mut case = Case::from_events(CaseId::from_parts(2026, 9), &log).unwrap();
    let run = |case: &mut Case, cmd: Command| {
        // A command the state refuses is simply not part of this case.
        if let Ok(events) = decide(case, cmd, &id("srt"), at) {
            for e in &events {
                case.apply(e).unwrap();
            }
        }
    };
    run(
        &mut case,
        Command::Acknowledge {
            message: "thanks".into(),
        },
    );
    if let Some((tlp, packages, matrix)) = &shape.triage {
        run(
            &mut case,
            Command::Triage {
                assessment: Assessment {
                    reproduced: Reproduction::Yes,
                    notes: "seen".into(),
                    affected: packages
                        .iter()
                        .map(|&p| {
                            AffectedPackage::parse(&format!("{}:0..2.0.0", PACKAGES[p])).unwrap()
                        })
                        .collect(),
                    cvss_v31: None,
                    cvss_v40: None,
                    cwe: None,
                    tlp: *tlp,
                    projects: matrix
                        .iter()
                        .map(|&(p, s)| ProjectImpact {
                            project: PROJECTS[p].into(),
                            status: ProjectStatus::ALL[s],
                        })
                        .collect(),
                },
            },
        );
        if let Some(c) = shape.coordinator {
            run(
                &mut case,
                Command::AssignFixingTeam {
                    coordinator: id(PEOPLE[c]),
                    fixers: Vec::new(),
                },
            );
        }
    }
    for &(person, role) in &shape.others {
        run(
            &mut case,
            Command::AddParticipant {
                participant: Participant {
                    person: id(PEOPLE[person]),
                    role: [Role::Observer, Role::Fixer, Role::Srt][role],
                },
            },
        );
    }
    case
}

/// A member: a person, an organisation role, and the projects they maintain.
fn member() -> impl Strategy<Value = Member> {
    (
        0..PEOPLE.len(),
        prop::sample::select(vec![OrgRole::Admin, OrgRole::Srt, OrgRole::Maintainer]),
        prop::collection::btree_set(0..PROJECTS.len(), 0..3),
    )
        .prop_map(|(p, role, maintains)| Member {
            id: id(PEOPLE[p]),
            role,
            maintains: maintains
                .into_iter()
                .map(|i| PROJECTS[i].to_owned())
                .collect(),
        })
}

/// The organisation's projects: each owns some packages (spelled in any case).
fn table() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    prop::collection::vec(
        prop::collection::vec((0..PACKAGES.len(), any::<bool>()), 0..3),
        PROJECTS.len(),
    )
    .prop_map(|owned| {
        PROJECTS
            .iter()
            .zip(owned)
            .map(|(name, pkgs)| {
                let pkgs = pkgs
                    .into_iter()
                    .map(|(i, upper)| {
                        if upper {
                            PACKAGES[i].to_uppercase()
                        } else {
                            PACKAGES[i].to_owned()
                        }
                    })
                    .collect();
                ((*name).to_owned(), pkgs)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn grants_agree_with_standing(shape in shape(), members in prop::collection::vec(member(), 1..6), table in table()) {
        let case = build(&shape);
        let of = projects_of(&case, table.iter().map(|(n, p)| (n.as_str(), p.as_slice())));
        let scope = Scope { case: &case, projects: &of };
        let granted = grants(&case);
        for m in &members {
            let packages = table
                .iter()
                .filter(|(n, _)| m.maintains.contains(n))
                .flat_map(|(_, p)| p.iter().map(String::as_str));
            let held = principals(m, packages);
            let listed = !granted.is_disjoint(&held);
            let sees = standing(scope, m).is_some();
            prop_assert_eq!(listed, sees, "member {:?} on {:?}: grants {:?}, principals {:?}", m, case.tlp(), granted, held);
        }
    }
}
