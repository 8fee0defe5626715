//! Authorization, in one place. Handlers get a `CaseAccess` from `open_case`
//! (which answers 404 for a case the caller may not see) and can only change
//! a case through `run`, which takes that capability. The rules themselves
//! are pure, in `embargo_core::access`; this module loads what they need.

use std::collections::BTreeSet;

use embargo_core::{
    Case, CaseId, Command, PersonId,
    access::{self, Member, Scope, Standing},
    view::Lens,
};
use embargo_store::{AccessEntry, Project};

use crate::{AppState, error::ServiceError};

/// A signed-in caller (by session or API token), as access rules see them.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The person and their standing in the organisation.
    pub member: Member,
    /// Display name.
    pub name: String,
}

impl Caller {
    /// Who they are.
    pub fn id(&self) -> &PersonId {
        &self.member.id
    }

    /// On the security response team (or an admin).
    pub fn is_srt(&self) -> bool {
        self.member.role.is_srt()
    }

    /// An admin.
    pub fn is_admin(&self) -> bool {
        self.member.role == embargo_core::access::OrgRole::Admin
    }
}

/// Loads a person with the projects they maintain.
pub async fn caller(state: &AppState, id: &str) -> Result<Option<Caller>, ServiceError> {
    Ok(state.store.member(id).await?.map(caller_of))
}

/// A live session (by its token's hash) and its person as a caller:
/// `None` when there is no such session, a `None` caller when its person
/// is gone.
pub async fn session_caller(
    state: &AppState,
    token_hash: &str,
) -> Result<Option<(embargo_store::Session, Option<Caller>)>, ServiceError> {
    Ok(state
        .store
        .session_member(token_hash, state.clock.unix())
        .await?
        .map(|(session, member)| (session, member.map(caller_of))))
}

/// Loads the person an API token (by its hash) belongs to, with the
/// projects they maintain: `None` when there is no such token,
/// `Some(None)` when its person is gone.
pub async fn token_caller(
    state: &AppState,
    token_hash: &str,
) -> Result<Option<Option<Caller>>, ServiceError> {
    Ok(state
        .store
        .api_token_member(token_hash)
        .await?
        .map(|m| m.map(caller_of)))
}

fn caller_of((person, maintains): (embargo_store::Person, Vec<String>)) -> Caller {
    Caller {
        member: Member {
            id: person.id,
            role: person.role,
            maintains: maintains.into_iter().collect(),
        },
        name: person.name,
    }
}

/// The projects a case affects: the one it was reported against, those the
/// status matrix marks as involved, and every project owning one of the
/// affected packages.
pub fn projects_of(case: &Case, projects: &[Project]) -> BTreeSet<String> {
    access::projects_of(
        case,
        projects
            .iter()
            .map(|p| (p.name.as_str(), p.packages.as_slice())),
    )
}

/// Proof that the caller sees a case, and as what. Only `open_case` makes one.
/// Handlers read the case through it as the caller's `Lens` shows it; the
/// whole fold stays inside this module, for `run`.
pub struct CaseAccess {
    full: Case,
    shown: Case,
    lens: Lens,
    caller: Caller,
    projects: BTreeSet<String>,
    /// Every event of the case, as read with it (the lens filters them).
    events: Vec<(i64, embargo_core::Event)>,
    /// The organisation's projects, as read to decide the standing.
    all_projects: Vec<Project>,
}

impl CaseAccess {
    /// The case as the caller sees it (`Lens::case`).
    pub fn case(&self) -> &Case {
        &self.shown
    }

    /// What the caller's standing sees of the case.
    pub fn lens(&self) -> &Lens {
        &self.lens
    }

    /// The caller's standing on the case.
    pub fn standing(&self) -> Standing {
        self.lens.standing()
    }

    /// Who is asking, as loaded.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Who is asking.
    pub fn caller_id(&self) -> &PersonId {
        self.caller.id()
    }

    /// The part of the case the caller is limited to (a project team's
    /// member), if any.
    pub fn part(&self) -> Option<&str> {
        self.lens.part()
    }

    /// The projects the caller maintains.
    pub fn projects(&self) -> &BTreeSet<String> {
        &self.projects
    }

    /// Every project of the organisation, as read when the case was opened.
    pub fn organisation_projects(&self) -> &[Project] {
        &self.all_projects
    }

    /// Whether the caller may run a command of this kind here.
    pub fn may(&self, kind: embargo_core::CommandKind) -> bool {
        access::may(self.standing(), kind)
    }
}

/// A case the caller may see, or `NotFound`, exactly as for a case that does
/// not exist. Each successful opening is written to the access log.
pub async fn open_case(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<CaseAccess, ServiceError> {
    let id = CaseId::new(id).map_err(|_| ServiceError::NotFound)?;
    let (case, events) = state.store.case_and_events(&id).await?;
    let all_projects = state.store.projects().await?;
    let projects = projects_of(&case, &all_projects);
    let scope = Scope {
        case: &case,
        projects: &projects,
    };
    let standing = access::standing(scope, &caller.member).ok_or(ServiceError::NotFound)?;
    let entry = AccessEntry {
        at: state.clock.unix(),
        person: caller.id().to_string(),
        action: "view_case".into(),
        subject: id.to_string(),
        detail: standing.name().into(),
    };
    state.store.log_access(&entry).await?;
    let lens = Lens::new(&case, standing, caller.id());
    Ok(CaseAccess {
        shown: lens.case(&case),
        full: case,
        lens,
        caller: caller.clone(),
        projects,
        events,
        all_projects,
    })
}

/// The case's events as the caller's lens shows them, with their log
/// positions: hidden ones left out, what they may not read blanked.
pub fn visible_events(access: &CaseAccess) -> Vec<(i64, embargo_core::Event)> {
    access
        .events
        .iter()
        .filter_map(|(seq, e)| access.lens.event(&access.full, e).map(|e| (*seq, e)))
        .collect()
}

/// How `member` sees `case` (`None`: it does not exist for them), with
/// the organisation's `projects` already loaded.
fn lens_of(member: &Member, case: &Case, projects: &[Project]) -> Option<Lens> {
    let of = projects_of(case, projects);
    let scope = Scope {
        case,
        projects: &of,
    };
    access::standing(scope, member).map(|s| Lens::new(case, s, &member.id))
}

/// A person and the organisation's projects, loaded once, for what
/// embargo sends on its own (notices, digests): `lens` then asks how they
/// see each case without reading anything again.
pub struct Viewer {
    member: Member,
    projects: Vec<Project>,
}

impl Viewer {
    /// `None` when the person has no account (any more).
    pub async fn load(state: &AppState, person: &str) -> Result<Option<Viewer>, ServiceError> {
        let Some(caller) = caller(state, person).await? else {
            return Ok(None);
        };
        Ok(Some(Viewer {
            member: caller.member,
            projects: state.store.projects().await?,
        }))
    }

    /// How they see `case`, or `None` when it does not exist for them.
    pub fn lens(&self, case: &Case) -> Option<Lens> {
        lens_of(&self.member, case, &self.projects)
    }
}

/// The events of `case` as `lens` shows them, with their log positions:
/// hidden ones left out, what may not be read blanked.
async fn shown_events(
    state: &AppState,
    case: &Case,
    lens: &Lens,
) -> Result<Vec<(i64, embargo_core::Event)>, ServiceError> {
    Ok(state
        .store
        .events(&case.id)
        .await?
        .into_iter()
        .filter_map(|(seq, e)| lens.event(case, &e).map(|e| (seq, e)))
        .collect())
}

/// The actor recorded for what a reporter writes.
pub fn reporter_actor() -> PersonId {
    PersonId::new("system:reporter").unwrap_or_else(|_| unreachable!("a valid person id"))
}

/// Runs a command on a case the caller holds access to. The decision is
/// checked twice: here, to answer with a clear reason, and again inside the
/// store's writer against the case as it is at that moment.
pub async fn run(
    state: &AppState,
    access: &CaseAccess,
    command: Command,
) -> Result<Case, ServiceError> {
    // Load everyone the command would bring in, before entering the writer:
    // those it names, and for an approval the person asked for.
    let mut people = Vec::new();
    let mut names: Vec<PersonId> = access::joining(&command).into_iter().cloned().collect();
    if let Command::ApproveAddition { request } = &command
        && let Some(r) = access
            .full
            .addition_requests
            .iter()
            .find(|r| r.number == *request)
    {
        names.push(r.participant.person.clone());
    }
    for id in names {
        if let Some(c) = caller(state, id.as_str()).await? {
            people.push(c.member);
        }
    }
    let lookup = move |p: &PersonId| people.iter().find(|m| &m.id == p).cloned();
    let all_projects = state.store.projects().await?;
    let scope = Scope {
        case: &access.full,
        projects: &access.projects,
    };
    access::authorize(scope, access.standing(), &command, &lookup)
        .map_err(|d| ServiceError::Forbidden(d.to_string()))?;
    let member = access.caller.member.clone();
    let actor = member.id.clone();
    let now = state.clock.now();
    // What the change calls for goes to the outbox in its transaction: a
    // CVE request, what the team said to the reporter, a new timeline.
    let planned = crate::effects::Planned::for_command(state, &access.full.id, &command);
    let case = state
        .store
        .execute_with(
            access.full.id.clone(),
            move |current| {
                let projects = projects_of(current, &all_projects);
                let scope = Scope {
                    case: current,
                    projects: &projects,
                };
                let refused = |why: String| embargo_core::Refusal::Invalid {
                    command: command.kind(),
                    reason: why,
                };
                let standing = access::standing(scope, &member)
                    .ok_or_else(|| refused("you no longer have access to this case".into()))?;
                access::authorize(scope, standing, &command, &lookup)
                    .map_err(|d| refused(d.to_string()))?;
                embargo_core::decide(current, command, &actor, now)
            },
            move |before, after| planned.jobs(before, after),
        )
        .await?;
    Ok(case)
}

/// Runs what the reporter answers on their status page (a credit, the
/// retest, a proposed date), as the reporter: the page has no account, so the link is the
/// authority and only these commands are taken from it.
pub async fn run_as_reporter(
    state: &AppState,
    case: &CaseId,
    command: Command,
) -> Result<Case, ServiceError> {
    if !matches!(
        command,
        Command::AnswerCredit { .. }
            | Command::AnswerRetest { .. }
            | Command::AcceptTimeline
            | Command::DeclineTimeline { .. }
    ) {
        return Err(ServiceError::Forbidden(
            "the status page answers a credit, the retest or the proposed date only".into(),
        ));
    }
    Ok(run_as(state, case, reporter_actor(), command).await?)
}

/// Runs `command` on `case` as `actor` with no person's standing checked,
/// and what the change calls for stored with it (the effects).
async fn run_as(
    state: &AppState,
    case: &CaseId,
    actor: PersonId,
    command: Command,
) -> Result<Case, embargo_store::StoreError> {
    let now = state.clock.now();
    let planned = crate::effects::Planned::for_command(state, case, &command);
    state
        .store
        .execute_with(
            case.clone(),
            move |c| embargo_core::decide(c, command, &actor, now),
            move |before, after| planned.jobs(before, after),
        )
        .await
}

/// Runs a command as embargo itself (`system:cve`, `system:release`,
/// `system:ci`): the jobs and the scheduler record what they did. No
/// person's standing applies; the core's rules do, inside the writer.
pub async fn run_as_system(
    state: &AppState,
    case: &CaseId,
    actor: &str,
    command: Command,
) -> Result<Case, String> {
    let actor = PersonId::new(actor).map_err(|e| e.0)?;
    // What it calls for (a failed CVE request's alert) is stored with it.
    run_as(state, case, actor, command)
        .await
        .map_err(|e| e.to_string())
}

/// The case and its events as the holder of its reporter link sees them
/// (the reporter's lens): for the status page, which has no account.
pub async fn for_reporter_link(
    state: &AppState,
    case: Case,
) -> Result<(Case, Vec<embargo_core::Event>), ServiceError> {
    let reporter = reporter_actor();
    let lens = Lens::new(&case, Standing::Reporter, &reporter);
    let events = shown_events(state, &case, &lens)
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    Ok((lens.case(&case), events))
}

/// One page of the cases a caller may see, in queue order, each as their
/// lens shows it, and where the next page starts. The store lists what the
/// caller's principals are granted (one index range each); each row is
/// then checked by the core's rule like any other access, and `keep`
/// filters what the lens shows (so a filter never matches on something
/// the caller cannot see).
pub async fn visible_page(
    state: &AppState,
    caller: &Caller,
    projects: &[Project],
    mut query: embargo_store::ListQuery,
    keep: impl Fn(&Case) -> bool,
) -> Result<(Vec<(Case, Lens)>, Option<embargo_store::Cursor>), ServiceError> {
    let packages = projects
        .iter()
        .filter(|p| caller.member.maintains.contains(&p.name))
        .flat_map(|p| p.packages.iter().map(String::as_str));
    query.principals = access::principals(&caller.member, packages)
        .into_iter()
        .collect();
    let page = state.store.list_cases(&query).await?;
    let out = shown(state, caller, projects, page.cases, true, keep).await?;
    Ok((out, page.next))
}

/// Of the cases named (with the versions the read model gives), those the
/// caller may see, each as their lens shows it: for lists that come from an
/// index other than the grants (duplicate hints, calendar dates), which
/// name cases the caller may not see. `projects`: the organisation's
/// projects, as the caller already read them.
pub async fn visible_by_id(
    state: &AppState,
    caller: &Caller,
    projects: &[Project],
    ids: Vec<(embargo_core::CaseId, u64)>,
) -> Result<Vec<(Case, Lens)>, ServiceError> {
    shown(state, caller, projects, ids, false, |_| true).await
}

/// The cases the caller may see that match `query`: a case id, or words
/// each of which is in the title or names an affected package
/// (`duplicates::query_terms`), newest first, at most `limit`. The index
/// holds keyed hashes only; each hit is checked again against what the
/// caller sees of it, so a word only the team may read finds nothing for
/// others.
pub async fn search(
    state: &AppState,
    caller: &Caller,
    query: &str,
    limit: u32,
) -> Result<Vec<(Case, Lens)>, ServiceError> {
    let query = embargo_core::text::one_line(query);
    let by_id = CaseId::new(query.trim().to_ascii_uppercase()).ok();
    let mut ids = Vec::new();
    if let Some(id) = &by_id {
        match state.store.case(id).await {
            Ok(case) => ids.push((id.clone(), case.version)),
            Err(embargo_store::StoreError::NoSuchCase(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let words = embargo_core::duplicates::query_terms(&query);
    if by_id.is_none() {
        ids.extend(state.store.search_cases(&words, limit).await?);
    }
    let projects = state.store.projects().await?;
    shown(state, caller, &projects, ids, false, |c| {
        by_id.as_ref() == Some(&c.id) || {
            let terms = embargo_core::duplicates::search_terms(c);
            words
                .iter()
                .all(|alternatives| alternatives.iter().any(|t| terms.contains(t)))
        }
    })
    .await
}

/// `granted`: the ids come from the caller's grants, so a case the rule
/// does not show is a disagreement worth a warning.
async fn shown(
    state: &AppState,
    caller: &Caller,
    projects: &[embargo_store::Project],
    ids: Vec<(embargo_core::CaseId, u64)>,
    granted: bool,
    keep: impl Fn(&Case) -> bool,
) -> Result<Vec<(Case, Lens)>, ServiceError> {
    let mut out = Vec::with_capacity(ids.len());
    for case in crate::cache::cases(state, &ids).await? {
        let id = &case.id;
        match lens_of(&caller.member, &case, projects) {
            Some(lens) => {
                let shown = lens.case(&case);
                if keep(&shown) {
                    out.push((shown, lens));
                }
            }
            // The grants projection listed a case the rule does not show:
            // the rule wins, and the disagreement is logged.
            None if granted => {
                tracing::warn!(case = %id, "listed by its grants but not visible by the access rule")
            }
            None => {}
        }
    }
    Ok(out)
}

/// Proof that the caller is an admin; admin pages and endpoints take it.
pub struct Admin<'a>(pub &'a Caller);

/// The admin capability, or `NotFound` (admin pages do not exist for others).
pub fn admin(caller: &Caller) -> Result<Admin<'_>, ServiceError> {
    if caller.is_admin() {
        Ok(Admin(caller))
    } else {
        Err(ServiceError::NotFound)
    }
}

/// Proof that the caller is on the SRT (admin included).
pub struct Srt<'a>(pub &'a Caller);

/// The SRT capability, or `NotFound`.
pub fn srt(caller: &Caller) -> Result<Srt<'_>, ServiceError> {
    if caller.is_srt() {
        Ok(Srt(caller))
    } else {
        Err(ServiceError::NotFound)
    }
}
