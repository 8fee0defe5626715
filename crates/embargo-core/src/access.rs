//! Who may see a case, and what they may do there: decided here and nowhere
//! else, from the case, its TLP label and the person asking.
//!
//! The TLP 2.0 reading (FIRST, <https://www.first.org/tlp/>) for a case:
//!
//! | label          | who sees the case                                            |
//! |----------------|--------------------------------------------------------------|
//! | RED            | the people named on it (the coordinator among them), no one else; until a coordinator is named, also the SRT |
//! | AMBER+STRICT   | those, and the SRT (the organisation that received it)       |
//! | AMBER          | those, and the maintainers of the affected projects          |
//! | GREEN, CLEAR   | every member of the organisation (read only)                 |
//!
//! A report not yet triaged is AMBER+STRICT (see `Case::tlp`).
//!
//! Who may be *added* follows the same labels: under AMBER+STRICT only SRT
//! members and maintainers of affected projects may join; under RED only the
//! coordinator adds people. Anyone who may see a case but not add people
//! directly files a request that an SRT member approves or declines.

use std::collections::BTreeSet;

use crate::{
    case::Case,
    command::{Command, CommandKind},
    ids::{InvalidValue, PersonId},
    participant::Role,
    tlp::Tlp,
};

/// A person's role in the organisation running embargo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrgRole {
    /// Runs the installation: projects, people, policies; also on the SRT.
    Admin,
    /// A member of the security response team.
    Srt,
    /// A maintainer of one or more projects.
    Maintainer,
}

impl OrgRole {
    /// Every role.
    pub const ALL: [OrgRole; 3] = [OrgRole::Admin, OrgRole::Srt, OrgRole::Maintainer];

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            OrgRole::Admin => "admin",
            OrgRole::Srt => "srt",
            OrgRole::Maintainer => "maintainer",
        }
    }

    /// Whether the role belongs to the security response team.
    pub fn is_srt(self) -> bool {
        matches!(self, OrgRole::Admin | OrgRole::Srt)
    }
}

impl std::fmt::Display for OrgRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for OrgRole {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        OrgRole::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                InvalidValue(format!(
                    "`{s}` is not an organisation role (admin, srt, maintainer)"
                ))
            })
    }
}

/// A signed-in person as access rules see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub id: PersonId,
    /// Their organisation role.
    pub role: OrgRole,
    /// The projects they maintain.
    pub maintains: BTreeSet<String>,
}

/// A case together with the projects it affects (the reporter's project and
/// those owning the affected packages, resolved by the caller).
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// The case.
    pub case: &'a Case,
    /// Projects it affects.
    pub projects: &'a BTreeSet<String>,
}

impl Scope<'_> {
    fn maintained_by(&self, member: &Member) -> bool {
        member.maintains.iter().any(|p| self.projects.contains(p))
    }
}

/// Why a member sees a case; decides what they may do there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    /// The case's coordinator.
    Coordinator,
    /// An SRT member (on the case, or by organisation role).
    Srt,
    /// On the fixing team.
    Fixer,
    /// Named as the reporter.
    Reporter,
    /// Named as an observer.
    Observer,
    /// A maintainer of an affected project, not named on the case (AMBER and wider).
    ProjectMaintainer,
    /// A member of the organisation (GREEN and CLEAR).
    Community,
}

impl Standing {
    /// The standing's name, as shown in views.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Coordinator => "coordinator",
            Standing::Srt => "srt",
            Standing::Fixer => "fixer",
            Standing::Reporter => "reporter",
            Standing::Observer => "observer",
            Standing::ProjectMaintainer => "project maintainer",
            Standing::Community => "community",
        }
    }

    /// Whether this standing sees internal notes and the full report.
    pub fn is_team(self) -> bool {
        matches!(
            self,
            Standing::Coordinator | Standing::Srt | Standing::Fixer | Standing::Observer
        )
    }
}

/// Whether `member` sees the case at all, and as what. `None` means the case
/// does not exist for them.
pub fn standing(scope: Scope<'_>, member: &Member) -> Option<Standing> {
    let named = scope.case.role_of(&member.id).map(|r| match r {
        Role::Coordinator => Standing::Coordinator,
        Role::Srt => Standing::Srt,
        Role::Fixer => Standing::Fixer,
        Role::Reporter => Standing::Reporter,
        Role::Observer => Standing::Observer,
    });
    let tlp = scope.case.tlp();
    // Until a coordinator is named, the SRT as a whole is the recipient of a
    // RED report; after that, only the people named on it.
    let by_org = if tlp == Tlp::Red && scope.case.has_coordinator() {
        None
    } else if member.role.is_srt() {
        Some(Standing::Srt)
    } else if tlp <= Tlp::AmberStrict {
        None
    } else if scope.maintained_by(member) {
        Some(Standing::ProjectMaintainer)
    } else if tlp <= Tlp::Amber {
        None
    } else {
        Some(Standing::Community)
    };
    // Named roles come first, except that an SRT member named as observer
    // still acts as SRT.
    match (named, by_org) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The projects a case affects: the reporter's project, the projects the
/// status matrix involves, and those owning an affected package, given the
/// organisation's `projects` as (name, packages as `Ecosystem:name`).
pub fn projects_of<'a>(
    case: &Case,
    projects: impl IntoIterator<Item = (&'a str, &'a [String])> + Clone,
) -> BTreeSet<String> {
    let mut out = BTreeSet::from([case.report.project.clone()]);
    if let Some(a) = &case.assessment {
        for row in &a.projects {
            if row.status.involves() {
                out.insert(row.project.clone());
            }
        }
        for package in &a.affected {
            let key = format!("{}:{}", package.ecosystem, package.name);
            for (name, packages) in projects.clone() {
                if packages.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                    out.insert(name.to_owned());
                }
            }
        }
    }
    out
}

/// Who a case is open to, in terms a store can index: the case's side of
/// `standing`. A member sees a case exactly when one of their
/// `principals` is among its `grants` (a property test checks that both
/// agree on random cases); `standing` still decides how they see it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grant {
    /// The SRT, by organisation role.
    Srt,
    /// Every member of the organisation (GREEN, CLEAR).
    Everyone,
    /// Someone named on the case.
    Person(PersonId),
    /// The maintainers of a project the case names (AMBER and wider).
    Project(String),
    /// The maintainers of whichever project owns this affected package
    /// (`Ecosystem:name`, ASCII lowercase), AMBER and wider.
    Package(String),
}

impl Grant {
    /// A stable text form (`srt`, `everyone`, `person:ID`, `project:NAME`,
    /// `package:KEY`), which the store keeps only as a keyed hash.
    pub fn key(&self) -> String {
        match self {
            Grant::Srt => "srt".into(),
            Grant::Everyone => "everyone".into(),
            Grant::Person(p) => format!("person:{p}"),
            Grant::Project(p) => format!("project:{p}"),
            Grant::Package(p) => format!("package:{p}"),
        }
    }
}

/// The grants of a case: whoever `standing` would let see it, by the case
/// alone (projects are named by name and by package, so a change to the
/// organisation's projects needs no change here).
pub fn grants(case: &Case) -> BTreeSet<Grant> {
    let mut out: BTreeSet<Grant> = case
        .participants
        .iter()
        .map(|p| Grant::Person(p.person.clone()))
        .collect();
    let tlp = case.tlp();
    if !(tlp == Tlp::Red && case.has_coordinator()) {
        out.insert(Grant::Srt);
    }
    if tlp > Tlp::AmberStrict {
        out.insert(Grant::Project(case.report.project.clone()));
        if let Some(a) = &case.assessment {
            for row in a.projects.iter().filter(|r| r.status.involves()) {
                out.insert(Grant::Project(row.project.clone()));
            }
            for package in &a.affected {
                out.insert(Grant::Package(
                    format!("{}:{}", package.ecosystem, package.name).to_ascii_lowercase(),
                ));
            }
        }
    }
    if tlp > Tlp::Amber {
        out.insert(Grant::Everyone);
    }
    out
}

/// The member's side: what they hold, given the packages (`Ecosystem:name`)
/// of the projects they maintain.
pub fn principals<'a>(
    member: &Member,
    maintained_packages: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<Grant> {
    let mut out = BTreeSet::from([Grant::Person(member.id.clone()), Grant::Everyone]);
    if member.role.is_srt() {
        out.insert(Grant::Srt);
    }
    out.extend(member.maintains.iter().cloned().map(Grant::Project));
    out.extend(
        maintained_packages
            .into_iter()
            .map(|k| Grant::Package(k.to_ascii_lowercase())),
    );
    out
}

/// Whether a standing may run a command of this kind (the case's state is
/// checked separately, by `decide`).
pub fn may(standing: Standing, kind: CommandKind) -> bool {
    use CommandKind as K;
    match standing {
        // Only the intake path records what a reporter wrote.
        // The CVE jobs record their outcome as the system, not as people.
        _ if kind.is_system() && kind != K::ReporterWrote => false,
        // Whoever a credit names answers for themselves (`decide` takes the
        // holder from the actor).
        _ if kind == K::AnswerCredit => !matches!(standing, Standing::Community),
        Standing::Coordinator | Standing::Srt => {
            !matches!(kind, K::RequestAddition | K::ReporterWrote)
        }
        // A team names only its own fork (`decide` checks the project).
        Standing::Fixer => matches!(
            kind,
            K::RequestAddition
                | K::AddNote
                | K::ReviseAdvisory
                | K::SubmitAdvisory
                | K::OpenPrivateFork
                | K::ClosePrivateFork
                | K::MarkFixReady
                | K::CompleteReleaseStep
        ),
        Standing::Reporter => matches!(
            kind,
            K::InfoReceived | K::AcceptTimeline | K::DeclineTimeline | K::AnswerRetest
        ),
        Standing::ProjectMaintainer => matches!(kind, K::RequestAddition),
        Standing::Observer | Standing::Community => false,
    }
}

/// Why a member may not do what they asked. The case exists for them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Their standing does not allow the command.
    #[error("as {standing}, you cannot {command} on this case", standing = .standing.name())]
    Standing {
        /// Why they see the case.
        standing: Standing,
        /// What they asked.
        command: CommandKind,
    },
    /// The TLP label keeps this person out.
    #[error("{label} keeps {person} off this case: {why}", label = .tlp.label())]
    Tlp {
        /// The case's label.
        tlp: Tlp,
        /// Who would have joined.
        person: PersonId,
        /// The rule.
        why: &'static str,
    },
    /// Someone named in the command has no account.
    #[error("{0} has no account here; invite them first")]
    Unknown(PersonId),
}

/// Whether `candidate` may join the case at all under its TLP label.
pub fn may_join(scope: Scope<'_>, candidate: &Member) -> Result<(), Denied> {
    let tlp = scope.case.tlp();
    if tlp == Tlp::AmberStrict && !candidate.role.is_srt() && !scope.maintained_by(candidate) {
        return Err(Denied::Tlp {
            tlp,
            person: candidate.id.clone(),
            why: "only SRT members and maintainers of the affected projects may join; \
                  relabel the case TLP:AMBER to bring in others",
        });
    }
    Ok(())
}

/// The people a command would bring onto the case.
pub fn joining(command: &Command) -> Vec<&PersonId> {
    match command {
        Command::AssignFixingTeam {
            coordinator,
            fixers,
        } => std::iter::once(coordinator).chain(fixers).collect(),
        Command::AddParticipant { participant } | Command::RequestAddition { participant, .. } => {
            vec![&participant.person]
        }
        Command::AssignProjectTeam { fixers, .. } => fixers.iter().collect(),
        _ => Vec::new(),
    }
}

/// Decides whether `actor` (seeing the case as `standing`) may run `command`,
/// given the accounts of everyone the command would bring in (`lookup`).
/// Approving a request re-checks the TLP rule for the person joining.
pub fn authorize(
    scope: Scope<'_>,
    standing: Standing,
    command: &Command,
    lookup: impl Fn(&PersonId) -> Option<Member>,
) -> Result<(), Denied> {
    let kind = command.kind();
    if !may(standing, kind) {
        return Err(Denied::Standing {
            standing,
            command: kind,
        });
    }
    // Under RED, once there is a coordinator, only they name new people.
    if scope.case.tlp() == Tlp::Red
        && matches!(
            kind,
            CommandKind::AddParticipant
                | CommandKind::AssignFixingTeam
                | CommandKind::AssignProjectTeam
                | CommandKind::ApproveAddition
        )
        && standing != Standing::Coordinator
        && scope.case.has_coordinator()
    {
        return Err(Denied::Standing {
            standing,
            command: kind,
        });
    }
    let mut people: Vec<&PersonId> = joining(command);
    let approved;
    if let Command::ApproveAddition { request } = command
        && let Some(r) = scope.case.pending_request(*request)
    {
        approved = r.participant.person.clone();
        people.push(&approved);
    }
    for person in people {
        let member = lookup(person).ok_or_else(|| Denied::Unknown(person.clone()))?;
        may_join(scope, &member)?;
    }
    Ok(())
}
