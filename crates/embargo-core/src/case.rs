//! A case's state: three orthogonal machines (report handling, embargo, case
//! facts) plus what triage, the advisory, the fork and release day recorded.
//! State is only ever built by folding events.

use std::fmt;

use jiff::Timestamp;

use crate::{
    advisory::{Advisory, AdvisoryDraft, Credit, CreditHolder, Package},
    event::{
        Assessment, CveVia, EmbargoExit, Event, EventData, Fact, ForkHost, Rejection, ReleaseStep,
        Report,
    },
    ids::{CaseId, CveId, PersonId},
    participant::{Participant, Role},
    sla::{AckClock, AckPolicy},
};

/// Report handling: did we take the report seriously, and what did we decide?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Handling {
    /// Arrived, not yet answered.
    Received,
    /// Answered, being triaged.
    Acknowledged,
    /// Triaged as a real vulnerability.
    Valid,
    /// Found invalid (see the case's rejection).
    Invalid,
    /// Taken on by a fixing team.
    Accepted,
    /// Put aside.
    Deferred,
    /// Done.
    Closed,
}

impl Handling {
    /// The state's name.
    pub fn name(self) -> &'static str {
        match self {
            Handling::Received => "received",
            Handling::Acknowledged => "acknowledged",
            Handling::Valid => "valid",
            Handling::Invalid => "invalid",
            Handling::Accepted => "accepted",
            Handling::Deferred => "deferred",
            Handling::Closed => "closed",
        }
    }
}

/// The embargo machine: is there an agreed private period, and until when?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Embargo {
    /// No embargo.
    None,
    /// A date is proposed, not yet agreed.
    Proposed {
        /// The proposed moment.
        until: Timestamp,
    },
    /// Agreed.
    Active {
        /// The agreed disclosure moment.
        until: Timestamp,
    },
    /// Agreed, and a new date is proposed.
    Revising {
        /// The agreed moment, still in force.
        until: Timestamp,
        /// The proposed new moment.
        proposed: Timestamp,
    },
    /// Over.
    Exited {
        /// How it ended.
        how: EmbargoExit,
    },
}

impl Embargo {
    /// The state's name.
    pub fn name(self) -> &'static str {
        match self {
            Embargo::None => "none",
            Embargo::Proposed { .. } => "proposed",
            Embargo::Active { .. } => "active",
            Embargo::Revising { .. } => "revising",
            Embargo::Exited { .. } => "exited",
        }
    }

    /// The agreed disclosure moment, while one is in force.
    pub fn agreed_until(self) -> Option<Timestamp> {
        match self {
            Embargo::Active { until } | Embargo::Revising { until, .. } => Some(until),
            _ => None,
        }
    }

    /// A moment proposed and not yet answered (a first proposal, or a new
    /// moment while the agreed one stands).
    pub fn proposed(self) -> Option<Timestamp> {
        match self {
            Embargo::Proposed { until } => Some(until),
            Embargo::Revising { proposed, .. } => Some(proposed),
            _ => None,
        }
    }

    /// Whether an embargo is proposed, agreed or being revised.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            Embargo::Proposed { .. } | Embargo::Active { .. } | Embargo::Revising { .. }
        )
    }
}

/// When each case fact became true.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Facts {
    /// The fixing team knows.
    pub vendor_aware: Option<Timestamp>,
    /// A fix exists.
    pub fix_ready: Option<Timestamp>,
    /// Patch releases are out.
    pub fix_released: Option<Timestamp>,
    /// The vulnerability is public.
    pub public_aware: Option<Timestamp>,
    /// An exploit is public.
    pub exploit_public: Option<Timestamp>,
    /// Attacks seen.
    pub attacks_seen: Option<Timestamp>,
}

impl Facts {
    /// When `fact` became true, if it has.
    pub fn get(&self, fact: Fact) -> Option<Timestamp> {
        match fact {
            Fact::VendorAware => self.vendor_aware,
            Fact::FixReady => self.fix_ready,
            Fact::FixReleased => self.fix_released,
            Fact::PublicAware => self.public_aware,
            Fact::ExploitPublic => self.exploit_public,
            Fact::AttacksSeen => self.attacks_seen,
        }
    }

    fn slot(&mut self, fact: Fact) -> &mut Option<Timestamp> {
        match fact {
            Fact::VendorAware => &mut self.vendor_aware,
            Fact::FixReady => &mut self.fix_ready,
            Fact::FixReleased => &mut self.fix_released,
            Fact::PublicAware => &mut self.public_aware,
            Fact::ExploitPublic => &mut self.exploit_public,
            Fact::AttacksSeen => &mut self.attacks_seen,
        }
    }

    /// The facts a fact requires to be true already.
    pub fn requires(fact: Fact) -> Option<Fact> {
        match fact {
            Fact::FixReady => Some(Fact::VendorAware),
            Fact::FixReleased => Some(Fact::FixReady),
            Fact::ExploitPublic => Some(Fact::PublicAware),
            _ => None,
        }
    }
}

/// The one label people see, derived from the machines; never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Received, held for screening (lacks what the policy asks, or looks
    /// like noise), not answered.
    Screening,
    /// Received, not answered.
    New,
    /// Answered, being triaged.
    Acknowledged,
    /// Valid, waiting for a fixing team.
    Triaged,
    /// A team is fixing it.
    Fixing,
    /// A fix exists.
    FixReady,
    /// A fix exists and the disclosure date is agreed.
    Scheduled,
    /// Patch releases are out, the advisory is not yet public.
    Released,
    /// Public.
    Disclosed,
    /// Done.
    Closed,
    /// Invalid.
    Rejected,
    /// Put aside.
    Deferred,
}

impl Stage {
    /// Every stage, in the order a case usually moves through them.
    pub const ALL: [Stage; 12] = [
        Stage::Screening,
        Stage::New,
        Stage::Acknowledged,
        Stage::Triaged,
        Stage::Fixing,
        Stage::FixReady,
        Stage::Scheduled,
        Stage::Released,
        Stage::Disclosed,
        Stage::Closed,
        Stage::Rejected,
        Stage::Deferred,
    ];

    /// What the reporter is told at this stage, unless the admins wrote
    /// their own text. Says nothing a reporter should not know.
    pub fn default_reporter_text(self) -> &'static str {
        match self {
            Stage::Screening | Stage::New => {
                "We have received your report. The security team will acknowledge it within 24 hours."
            }
            Stage::Acknowledged => {
                "The security team has acknowledged your report and is assessing it."
            }
            Stage::Triaged => {
                "We have confirmed the problem and are bringing in the maintainers who will fix it."
            }
            Stage::Fixing => "The maintainers are working on a fix in private.",
            Stage::FixReady => "A fix is ready; we are preparing the release and the advisory.",
            Stage::Scheduled => {
                "The disclosure date is agreed. We will publish the fix and the advisory then."
            }
            Stage::Released => "The fixed versions are released; the advisory follows shortly.",
            Stage::Disclosed => "The advisory is public. Thank you for your report.",
            Stage::Closed => "This report is closed. Thank you.",
            Stage::Rejected => {
                "We have concluded that this report does not describe a vulnerability we will fix; see our message for the reason."
            }
            Stage::Deferred => "Work on this report is paused; we will tell you when it resumes.",
        }
    }

    /// The label, e.g. `fix ready`.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Screening => "screening",
            Stage::New => "new",
            Stage::Acknowledged => "acknowledged",
            Stage::Triaged => "triaged",
            Stage::Fixing => "fixing",
            Stage::FixReady => "fix ready",
            Stage::Scheduled => "scheduled",
            Stage::Released => "released",
            Stage::Disclosed => "disclosed",
            Stage::Closed => "closed",
            Stage::Rejected => "rejected",
            Stage::Deferred => "deferred",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A private fork, while it exists and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateFork {
    /// The project it forks.
    pub project: String,
    /// Who hosts it.
    pub host: ForkHost,
    /// Where.
    pub url: String,
    /// Opened.
    pub opened_at: Timestamp,
    /// Removed, if it has been.
    pub closed_at: Option<Timestamp>,
}

/// One run of a project's test command on a push to its built-in fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiRun {
    /// The project.
    pub project: String,
    /// The branch or tag pushed.
    pub reference: String,
    /// The commit tested.
    pub commit: String,
    /// Whether the command passed.
    pub passed: bool,
    /// The end of its output.
    pub output: String,
    /// When it finished.
    pub at: Timestamp,
}

/// A text with who wrote or approved it and when (the announcement, the
/// retrospective).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The text.
    pub text: String,
    /// Who.
    pub by: PersonId,
    /// When.
    pub at: Timestamp,
}

/// An advisory revision with who wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvisoryRevision {
    /// From 1.
    pub revision: u32,
    /// Author.
    pub author: PersonId,
    /// When.
    pub at: Timestamp,
    /// Text.
    pub draft: AdvisoryDraft,
}

/// Where the current advisory revision stands in review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Review {
    /// Being written; not yet put up for review.
    Draft,
    /// Waiting for a reviewer.
    InReview,
    /// Sent back with a comment.
    ChangesRequested {
        /// Who sent it back.
        by: PersonId,
        /// What to change.
        comment: String,
    },
    /// Approved for publication.
    Approved {
        /// Who approved it.
        by: PersonId,
        /// When.
        at: Timestamp,
    },
}

impl Review {
    /// A short name.
    pub fn name(&self) -> &'static str {
        match self {
            Review::Draft => "draft",
            Review::InReview => "in review",
            Review::ChangesRequested { .. } => "changes requested",
            Review::Approved { .. } => "approved",
        }
    }
}

/// The CVE side of a case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CveState {
    /// The assigned id and how it came.
    pub assigned: Option<(CveId, CveVia)>,
    /// Requests made, oldest first.
    pub requests: Vec<(CveVia, Timestamp)>,
    /// The last failure, until an id is assigned.
    pub failure: Option<(CveVia, String)>,
    /// When the record was published to the CVE Program.
    pub record_published: Option<Timestamp>,
}

/// A case: the fold of its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Its id.
    pub id: CaseId,
    /// What the reporter sent.
    pub report: Report,
    /// When it arrived.
    pub received_at: Timestamp,
    /// Report handling.
    pub handling: Handling,
    /// The embargo.
    pub embargo: Embargo,
    /// Case facts.
    pub facts: Facts,
    /// The open question to the reporter, while waiting for an answer.
    pub needs_info: Option<String>,
    /// Why the report waits in the screening queue; empty once screened
    /// (passed, acknowledged or rejected) or never held.
    pub screening: Vec<String>,
    /// When a held report was screened (passed, acknowledged or rejected).
    pub screened_at: Option<Timestamp>,
    /// When first acknowledged (or rejected without acknowledgement).
    pub acknowledged_at: Option<Timestamp>,
    /// When first triaged.
    pub triaged_at: Option<Timestamp>,
    /// When accepted.
    pub accepted_at: Option<Timestamp>,
    /// When the advisory went public.
    pub published_at: Option<Timestamp>,
    /// When closed.
    pub closed_at: Option<Timestamp>,
    /// The latest assessment.
    pub assessment: Option<Assessment>,
    /// The rejection, while invalid (kept after closing).
    pub rejection: Option<Rejection>,
    /// People on the case.
    pub participants: Vec<Participant>,
    /// Requests to add people, oldest first.
    pub addition_requests: Vec<AdditionRequest>,
    /// Every advisory revision, oldest first.
    pub advisory: Vec<AdvisoryRevision>,
    /// Where the current advisory revision stands in review.
    pub review: Review,
    /// The newest approved revision: what is published.
    pub approved_revision: Option<u32>,
    /// When that revision was approved.
    pub approved_at: Option<Timestamp>,
    /// Answers of credit holders (the latest counts).
    pub credit_answers: Vec<(CreditHolder, bool, Timestamp)>,
    /// How holders asked to be named (the latest counts).
    pub credit_names: Vec<(CreditHolder, String)>,
    /// The reporter's retest of the fix: (works, what they said, when).
    pub retest: Option<(bool, String, Timestamp)>,
    /// The embargo lifted before its moment: (why, by whom, when).
    pub lifted: Option<(String, PersonId, Timestamp)>,
    /// The CVE.
    pub cve: CveState,
    /// Private forks, one open at a time per project.
    pub forks: Vec<PrivateFork>,
    /// Forks asked for and not made yet: (project, host, when).
    pub fork_requests: Vec<(String, ForkHost, Timestamp)>,
    /// Forks whose making failed: (project, why, when), the latest last.
    pub fork_failures: Vec<(String, String, Timestamp)>,
    /// Each project's own fixing team, for a case that affects several.
    pub teams: Vec<(String, Vec<PersonId>)>,
    /// Test runs on the built-in forks.
    pub ci_runs: Vec<CiRun>,
    /// The announcement approved for sending.
    pub announcement: Option<Signed>,
    /// When the announcement went out, and to which lists.
    pub announcement_sent: Option<(Timestamp, Vec<String>)>,
    /// Embargo notices sent: distributor, the moment announced, when.
    pub embargo_notices: Vec<(String, Timestamp, Timestamp)>,
    /// The retrospective, once drafted.
    pub retrospective: Option<Signed>,
    /// Release-day steps done, in order.
    pub release_steps: Vec<(ReleaseStep, Timestamp)>,
    /// Number of events folded.
    pub version: u64,
}

/// What an SRT member decided about an addition request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdditionDecision {
    /// The person was added.
    Approved,
    /// The person was not added.
    Declined {
        /// Why.
        reason: String,
    },
}

/// A request to add someone to a case, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdditionRequest {
    /// Its number on the case, from 1.
    pub number: u32,
    /// Who should join, as what.
    pub participant: Participant,
    /// Who asked.
    pub requested_by: PersonId,
    /// When.
    pub requested_at: Timestamp,
    /// Why.
    pub reason: String,
    /// Who decided, when, and what; `None` while pending.
    pub decision: Option<(PersonId, Timestamp, AdditionDecision)>,
}

impl AdditionRequest {
    /// Whether it still waits for a decision.
    pub fn is_pending(&self) -> bool {
        self.decision.is_none()
    }
}

/// An event that cannot follow the state it was applied to: the log is
/// inconsistent (tampered with, or written by a buggy version).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event `{event}` cannot follow a case in state {handling}/{embargo}: {why}")]
pub struct FoldError {
    /// The event's kind.
    pub event: &'static str,
    /// Report handling at that point.
    pub handling: &'static str,
    /// Embargo at that point.
    pub embargo: &'static str,
    /// What is wrong.
    pub why: String,
}

impl Case {
    /// Folds a whole history. The first event must be `report_received`.
    pub fn from_events<'a>(
        id: CaseId,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Self, FoldError> {
        let mut events = events.into_iter();
        let first = events.next().ok_or_else(|| FoldError {
            event: "none",
            handling: "-",
            embargo: "-",
            why: "a case has at least one event".into(),
        })?;
        let EventData::ReportReceived { report } = &first.data else {
            return Err(FoldError {
                event: first.data.kind(),
                handling: "-",
                embargo: "-",
                why: "the first event of a case must be report_received".into(),
            });
        };
        let mut case = Case::received(id, report.clone(), first.at);
        for event in events {
            case.apply(event)?;
        }
        Ok(case)
    }

    fn received(id: CaseId, report: Report, at: Timestamp) -> Self {
        Case {
            id,
            report,
            received_at: at,
            handling: Handling::Received,
            embargo: Embargo::None,
            facts: Facts::default(),
            needs_info: None,
            screening: Vec::new(),
            screened_at: None,
            acknowledged_at: None,
            triaged_at: None,
            accepted_at: None,
            published_at: None,
            closed_at: None,
            assessment: None,
            rejection: None,
            participants: Vec::new(),
            addition_requests: Vec::new(),
            advisory: Vec::new(),
            review: Review::Draft,
            approved_revision: None,
            approved_at: None,
            credit_answers: Vec::new(),
            credit_names: Vec::new(),
            retest: None,
            lifted: None,
            cve: CveState::default(),
            forks: Vec::new(),
            fork_requests: Vec::new(),
            fork_failures: Vec::new(),
            teams: Vec::new(),
            ci_runs: Vec::new(),
            announcement: None,
            announcement_sent: None,
            embargo_notices: Vec::new(),
            retrospective: None,
            release_steps: Vec::new(),
            version: 1,
        }
    }

    /// The TLP label that governs who sees the case. Before triage sets one,
    /// a report is TLP:AMBER+STRICT: the SRT and the people on it.
    pub fn tlp(&self) -> crate::tlp::Tlp {
        self.assessment
            .as_ref()
            .map_or(crate::tlp::Tlp::AmberStrict, |a| a.tlp)
    }

    /// The role `person` holds on the case, the most responsible first.
    pub fn role_of(&self, person: &PersonId) -> Option<Role> {
        self.participants
            .iter()
            .filter(|p| &p.person == person)
            .map(|p| p.role)
            .min()
    }

    /// Whether a coordinator is named.
    pub fn has_coordinator(&self) -> bool {
        self.participants
            .iter()
            .any(|p| p.role == Role::Coordinator)
    }

    /// A pending addition request by number.
    pub fn pending_request(&self, number: u32) -> Option<&AdditionRequest> {
        self.addition_requests
            .iter()
            .find(|r| r.number == number && r.is_pending())
    }

    fn decide_request(
        &mut self,
        number: u32,
        event: &Event,
        decision: AdditionDecision,
    ) -> Result<(), &'static str> {
        let request = self
            .addition_requests
            .iter_mut()
            .find(|r| r.number == number)
            .ok_or("no such addition request")?;
        if request.decision.is_some() {
            return Err("the addition request was already decided");
        }
        request.decision = Some((event.actor.clone(), event.at, decision));
        Ok(())
    }

    /// A held report leaves the screening queue (an answer to it ends it).
    fn screen(&mut self, at: Timestamp) {
        if !self.screening.is_empty() {
            self.screening.clear();
            self.screened_at = Some(at);
        }
    }

    /// Whether the report waits in the screening queue.
    pub fn in_screening(&self) -> bool {
        !self.screening.is_empty()
    }

    /// Applies one event, refusing one that cannot follow the current state.
    pub fn apply(&mut self, event: &Event) -> Result<(), FoldError> {
        let fail = |case: &Case, why: &str| FoldError {
            event: event.data.kind(),
            handling: case.handling.name(),
            embargo: case.embargo.name(),
            why: why.to_owned(),
        };
        let h = self.handling;
        let at = event.at;
        if h == Handling::Closed {
            return Err(fail(self, "the case is closed"));
        }
        match &event.data {
            EventData::ReportReceived { .. } => {
                return Err(fail(self, "a case receives one report"));
            }
            EventData::ScreeningHeld { reasons } => {
                if h != Handling::Received || self.acknowledged_at.is_some() {
                    return Err(fail(self, "only a new report is held for screening"));
                }
                if reasons.is_empty() {
                    return Err(fail(self, "a report is held for a reason"));
                }
                self.screening = reasons.clone();
            }
            EventData::ScreeningPassed { .. } => {
                if self.screening.is_empty() {
                    return Err(fail(self, "the report is not held for screening"));
                }
                self.screen(at);
            }
            EventData::Acknowledged { .. } => {
                if h != Handling::Received {
                    return Err(fail(self, "only a received report is acknowledged"));
                }
                self.screen(at);
                self.handling = Handling::Acknowledged;
                self.acknowledged_at = Some(at);
            }
            EventData::InfoRequested { question } => {
                if !matches!(
                    h,
                    Handling::Received | Handling::Acknowledged | Handling::Valid
                ) {
                    return Err(fail(self, "information is requested before acceptance"));
                }
                self.needs_info = Some(question.clone());
            }
            EventData::InfoReceived { .. } => {
                if self.needs_info.take().is_none() {
                    return Err(fail(self, "no information was requested"));
                }
            }
            EventData::Triaged { assessment } => {
                match h {
                    Handling::Acknowledged => self.handling = Handling::Valid,
                    Handling::Valid | Handling::Accepted => {}
                    _ => return Err(fail(self, "triage follows acknowledgement")),
                }
                self.triaged_at.get_or_insert(at);
                self.assessment = Some(assessment.clone());
            }
            EventData::Rejected { rejection } => {
                if !matches!(
                    h,
                    Handling::Received | Handling::Acknowledged | Handling::Valid
                ) {
                    return Err(fail(
                        self,
                        "only an open report before acceptance is rejected",
                    ));
                }
                self.screen(at);
                self.handling = Handling::Invalid;
                self.acknowledged_at.get_or_insert(at);
                self.needs_info = None;
                self.rejection = Some(rejection.clone());
            }
            EventData::Revalidated { .. } => {
                if h != Handling::Invalid {
                    return Err(fail(self, "only an invalid report is revalidated"));
                }
                self.handling = if self.assessment.is_some() {
                    Handling::Valid
                } else {
                    Handling::Acknowledged
                };
                self.rejection = None;
            }
            EventData::FixingTeamAssigned {
                coordinator,
                fixers,
            } => {
                if !matches!(h, Handling::Valid | Handling::Accepted) {
                    return Err(fail(self, "a fixing team is assigned to a valid case"));
                }
                if h == Handling::Valid {
                    self.handling = Handling::Accepted;
                    self.accepted_at = Some(at);
                    self.needs_info = None;
                }
                // The case's coordinator and its main fixers are replaced;
                // the projects' own teams stay.
                let teams: Vec<PersonId> = self.teams.iter().flat_map(|(_, f)| f.clone()).collect();
                self.participants.retain(|p| {
                    p.role != Role::Coordinator
                        && (p.role != Role::Fixer || teams.contains(&p.person))
                });
                self.add_participant(Participant {
                    person: coordinator.clone(),
                    role: Role::Coordinator,
                });
                for f in fixers {
                    self.add_participant(Participant {
                        person: f.clone(),
                        role: Role::Fixer,
                    });
                }
            }
            EventData::ParticipantAdded { participant } => {
                self.add_participant(participant.clone())
            }
            EventData::AdditionRequested {
                request,
                participant,
                reason,
            } => {
                if *request as usize != self.addition_requests.len() + 1 {
                    return Err(fail(self, "addition requests are numbered in order"));
                }
                self.addition_requests.push(AdditionRequest {
                    number: *request,
                    participant: participant.clone(),
                    requested_by: event.actor.clone(),
                    requested_at: at,
                    reason: reason.clone(),
                    decision: None,
                });
            }
            EventData::AdditionApproved { request } => {
                self.decide_request(*request, event, AdditionDecision::Approved)
                    .map_err(|why| fail(self, why))?;
            }
            EventData::AdditionDeclined { request, reason } => {
                self.decide_request(
                    *request,
                    event,
                    AdditionDecision::Declined {
                        reason: reason.clone(),
                    },
                )
                .map_err(|why| fail(self, why))?;
            }
            EventData::NoteAdded { .. }
            | EventData::ReporterWrote { .. }
            | EventData::ReporterMessaged { .. } => {}
            EventData::Deferred { .. } => {
                if !matches!(h, Handling::Valid | Handling::Accepted) {
                    return Err(fail(self, "only a valid or accepted case is deferred"));
                }
                self.handling = Handling::Deferred;
            }
            EventData::Reopened { .. } => {
                if h != Handling::Deferred {
                    return Err(fail(self, "only a deferred case is reopened"));
                }
                self.handling = Handling::Valid;
            }
            EventData::TimelineProposed { disclose_at } => {
                self.embargo = match self.embargo {
                    Embargo::None | Embargo::Proposed { .. } => Embargo::Proposed {
                        until: *disclose_at,
                    },
                    Embargo::Active { until } | Embargo::Revising { until, .. } => {
                        Embargo::Revising {
                            until,
                            proposed: *disclose_at,
                        }
                    }
                    Embargo::Exited { .. } => return Err(fail(self, "the embargo is over")),
                };
            }
            EventData::TimelineAccepted => {
                self.embargo = match self.embargo {
                    Embargo::Proposed { until }
                    | Embargo::Revising {
                        proposed: until, ..
                    } => Embargo::Active { until },
                    _ => return Err(fail(self, "there is no proposal to accept")),
                };
            }
            EventData::TimelineDeclined { .. } => {
                self.embargo = match self.embargo {
                    Embargo::Proposed { .. } => Embargo::None,
                    Embargo::Revising { until, .. } => Embargo::Active { until },
                    _ => return Err(fail(self, "there is no proposal to decline")),
                };
            }
            EventData::EmbargoExited { how } => {
                if !self.embargo.is_running() {
                    return Err(fail(self, "there is no embargo to exit"));
                }
                self.embargo = Embargo::Exited { how: *how };
            }
            EventData::AdvisoryRevised { revision, draft } => {
                let expected = self.advisory_revision() + 1;
                if *revision != expected {
                    return Err(fail(
                        self,
                        &format!(
                            "advisory revision {revision} does not follow {}",
                            expected - 1
                        ),
                    ));
                }
                self.advisory.push(AdvisoryRevision {
                    revision: *revision,
                    author: event.actor.clone(),
                    at,
                    draft: (**draft).clone(),
                });
                // A new text needs a new review, and an announcement not yet
                // sent a new approval (it was approved on the old text).
                self.review = Review::Draft;
                if self.announcement_sent.is_none() {
                    self.announcement = None;
                }
            }
            EventData::AdvisorySubmitted { revision } => {
                if *revision != self.advisory_revision()
                    || !matches!(self.review, Review::Draft | Review::ChangesRequested { .. })
                {
                    return Err(fail(self, "only the current draft is put up for review"));
                }
                self.review = Review::InReview;
            }
            EventData::AdvisoryApproved { revision } => {
                if *revision != self.advisory_revision() || self.review != Review::InReview {
                    return Err(fail(self, "only the revision in review is approved"));
                }
                self.review = Review::Approved {
                    by: event.actor.clone(),
                    at,
                };
                self.approved_revision = Some(*revision);
                self.approved_at = Some(at);
            }
            EventData::AdvisoryChangesRequested { revision, comment } => {
                if *revision != self.advisory_revision() || self.review != Review::InReview {
                    return Err(fail(self, "only the revision in review is sent back"));
                }
                self.review = Review::ChangesRequested {
                    by: event.actor.clone(),
                    comment: comment.clone(),
                };
            }
            EventData::CreditAnswered {
                holder,
                accepted,
                name,
            } => {
                self.credit_answers.push((holder.clone(), *accepted, at));
                if let Some(name) = name {
                    self.credit_names.retain(|(h, _)| h != holder);
                    self.credit_names.push((holder.clone(), name.clone()));
                }
            }
            EventData::RetestAnswered { fixed, note } => {
                if self.facts.fix_ready.is_none() {
                    return Err(fail(self, "a retest follows a ready fix"));
                }
                self.retest = Some((*fixed, note.clone(), at));
            }
            EventData::EmbargoLifted { reason } => {
                self.lifted = Some((reason.clone(), event.actor.clone(), at));
            }
            EventData::CveRequested { via } => {
                self.cve.requests.push((*via, at));
                self.cve.failure = None;
            }
            EventData::CveAssigned { cve, via } => {
                if self.cve.assigned.is_some() {
                    return Err(fail(self, "a case gets one CVE"));
                }
                self.cve.assigned = Some((cve.clone(), *via));
                self.cve.failure = None;
            }
            EventData::CveFailed { via, reason } => {
                self.cve.failure = Some((*via, reason.clone()));
            }
            EventData::CveRecordPublished { .. } => {
                self.cve.record_published = Some(at);
            }
            EventData::SignatureVerified { fingerprint } => {
                self.report.intake.signed_by = Some(fingerprint.clone());
                self.report.intake.signed_by_unknown = None;
            }
            EventData::ForkOpened { url, project, host } => {
                let project = project
                    .clone()
                    .unwrap_or_else(|| self.report.project.clone());
                if self.open_fork(&project).is_some() {
                    return Err(fail(self, "a private fork of that project is already open"));
                }
                self.fork_requests.retain(|(p, _, _)| *p != project);
                self.forks.push(PrivateFork {
                    project,
                    host: *host,
                    url: url.clone(),
                    opened_at: at,
                    closed_at: None,
                });
            }
            EventData::ForkRequested { project, host } => {
                let project = project
                    .clone()
                    .unwrap_or_else(|| self.report.project.clone());
                if self.open_fork(&project).is_some() || self.fork_requested(&project) {
                    return Err(fail(
                        self,
                        "a private fork of that project is open or asked for",
                    ));
                }
                self.fork_requests.push((project, *host, at));
            }
            EventData::ForkFailed { project, reason } => {
                let project = project
                    .clone()
                    .unwrap_or_else(|| self.report.project.clone());
                if !self.fork_requested(&project) {
                    return Err(fail(self, "no private fork of that project was asked for"));
                }
                self.fork_requests.retain(|(p, _, _)| *p != project);
                self.fork_failures.push((project, reason.clone(), at));
            }
            EventData::ForkClosed { project } => {
                let project = project
                    .clone()
                    .unwrap_or_else(|| self.report.project.clone());
                match self
                    .forks
                    .iter_mut()
                    .find(|f| f.project == project && f.closed_at.is_none())
                {
                    Some(fork) => fork.closed_at = Some(at),
                    None => return Err(fail(self, "no private fork of that project is open")),
                }
            }
            EventData::ProjectTeamAssigned { project, fixers } => {
                if h != Handling::Accepted {
                    return Err(fail(self, "project teams join an accepted case"));
                }
                self.teams.retain(|(p, _)| p != project);
                self.teams.push((project.clone(), fixers.clone()));
                for f in fixers {
                    self.add_participant(Participant {
                        person: f.clone(),
                        role: Role::Fixer,
                    });
                }
            }
            EventData::CiReported {
                project,
                reference,
                commit,
                passed,
                output,
            } => self.ci_runs.push(CiRun {
                project: project.clone(),
                reference: reference.clone(),
                commit: commit.clone(),
                passed: *passed,
                output: output.clone(),
                at,
            }),
            EventData::AnnouncementApproved { text } => {
                self.announcement = Some(Signed {
                    text: text.clone(),
                    by: event.actor.clone(),
                    at,
                });
            }
            EventData::AnnouncementSent { to } => {
                if self.announcement.is_none() || self.announcement_sent.is_some() {
                    return Err(fail(self, "an approved announcement is sent once"));
                }
                self.announcement_sent = Some((at, to.clone()));
            }
            EventData::EmbargoNoticeSent {
                distributor,
                disclose_at,
            } => self
                .embargo_notices
                .push((distributor.clone(), *disclose_at, at)),
            EventData::RetrospectiveWritten { text } => {
                self.retrospective = Some(Signed {
                    text: text.clone(),
                    by: event.actor.clone(),
                    at,
                });
            }
            EventData::FactRecorded { fact } => {
                if self.facts.get(*fact).is_some() {
                    return Err(fail(self, "a fact is recorded once"));
                }
                if let Some(needed) = Facts::requires(*fact)
                    && self.facts.get(needed).is_none()
                {
                    return Err(fail(self, &format!("{fact:?} requires {needed:?}")));
                }
                *self.facts.slot(*fact) = Some(at);
            }
            EventData::ReleaseStepCompleted { step } => {
                if self.facts.fix_ready.is_none() {
                    return Err(fail(self, "release steps follow a ready fix"));
                }
                self.release_steps.push((step.clone(), at));
            }
            EventData::Published => {
                if h != Handling::Accepted
                    || self.published_at.is_some()
                    || self.advisory.is_empty()
                {
                    return Err(fail(
                        self,
                        "an accepted case with an advisory is published once",
                    ));
                }
                if self.facts.public_aware.is_none() {
                    return Err(fail(self, "publication records public awareness first"));
                }
                self.published_at = Some(at);
            }
            EventData::Closed { .. } => {
                let closable = matches!(h, Handling::Invalid | Handling::Deferred)
                    || (h == Handling::Accepted && self.published_at.is_some());
                if !closable {
                    return Err(fail(
                        self,
                        "only an invalid, deferred or disclosed case is closed",
                    ));
                }
                self.handling = Handling::Closed;
                self.closed_at = Some(at);
            }
        }
        self.version += 1;
        Ok(())
    }

    fn add_participant(&mut self, p: Participant) {
        if !self.participants.contains(&p) {
            self.participants.push(p);
        }
    }

    /// The severity triage scored (CVSS v4.0 first), if any.
    pub fn severity(&self) -> Option<crate::cvss::Severity> {
        self.assessment
            .as_ref()
            .and_then(|a| a.cvss_v40.as_ref().or(a.cvss_v31.as_ref()))
            .map(|c| c.severity())
    }

    /// Whether a fork of `project` was asked for and is not made yet.
    pub fn fork_requested(&self, project: &str) -> bool {
        self.fork_requests.iter().any(|(p, _, _)| p == project)
    }

    /// The open private fork of `project`, if any.
    pub fn open_fork(&self, project: &str) -> Option<&PrivateFork> {
        self.forks
            .iter()
            .find(|f| f.project == project && f.closed_at.is_none())
    }

    /// The projects the case names: the reported one, then each project
    /// with a team of its own.
    pub fn named_projects(&self) -> Vec<&str> {
        let mut out = vec![self.report.project.as_str()];
        for (p, _) in &self.teams {
            if !out.contains(&p.as_str()) {
                out.push(p);
            }
        }
        out
    }

    /// The one part of the case `person` is limited to: a member of a
    /// project's own fixing team who holds no wider role on the case.
    /// Once a second project has its own team, the case's first fixers
    /// are the reported project's team.
    pub fn part_of(&self, person: &PersonId) -> Option<&str> {
        if self.teams.is_empty() {
            return None;
        }
        // A fixer only: any wider role on the case sees all of it.
        let mut roles = self
            .participants
            .iter()
            .filter(|p| &p.person == person)
            .peekable();
        if roles.peek().is_none() || roles.any(|p| p.role != Role::Fixer) {
            return None;
        }
        Some(
            self.teams
                .iter()
                .find(|(_, fixers)| fixers.contains(person))
                .map_or(self.report.project.as_str(), |(p, _)| p.as_str()),
        )
    }

    /// Whether `person` on the case is shown to someone limited to `part`:
    /// not when they are on another project's team.
    pub fn shows_person(&self, part: Option<&str>, person: &PersonId) -> bool {
        match (part, self.part_of(person)) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => true,
        }
    }

    /// Whether an event is shown to someone limited to `part` (`None`: the
    /// whole case). Another project's notes, fork, CI and team are not.
    pub fn shows(&self, part: Option<&str>, data: &EventData) -> bool {
        let Some(mine) = part else { return true };
        if let Some(theirs) = data.part() {
            return theirs == mine;
        }
        match data {
            EventData::ParticipantAdded { participant } => {
                self.shows_person(part, &participant.person)
            }
            // The first fixing team is the reported project's.
            EventData::FixingTeamAssigned { .. } => mine == self.report.project,
            _ => true,
        }
    }

    /// The current advisory revision number (0 before the first).
    pub fn advisory_revision(&self) -> u32 {
        self.advisory.last().map_or(0, |r| r.revision)
    }

    /// The current advisory text.
    pub fn current_advisory(&self) -> Option<&AdvisoryDraft> {
        self.advisory.last().map(|r| &r.draft)
    }

    /// The newest approved revision's text.
    pub fn approved_advisory(&self) -> Option<&AdvisoryRevision> {
        let n = self.approved_revision?;
        self.advisory.iter().find(|r| r.revision == n)
    }

    /// Whether a credit may be published: one without a holder here may;
    /// one with a holder only once they accepted it.
    pub fn credit_accepted(&self, credit: &Credit) -> bool {
        match &credit.holder {
            None => true,
            Some(h) => self
                .credit_answers
                .iter()
                .rev()
                .find(|(who, _, _)| who == h)
                .is_some_and(|(_, accepted, _)| *accepted),
        }
    }

    /// The answer a holder gave last, if any.
    pub fn credit_answer(&self, holder: &CreditHolder) -> Option<bool> {
        self.credit_answers
            .iter()
            .rev()
            .find(|(who, _, _)| who == holder)
            .map(|(_, a, _)| *a)
    }

    /// The advisory as the world may read it, from a revision's text: the
    /// case's CVE when the text names none; triage's affected packages,
    /// scores and weakness where the text has none; credits only once their
    /// holders accepted them; the confidential notes removed. The caller
    /// chooses the revision (the approved one for anything public).
    pub fn exportable(&self, draft: &Advisory) -> Advisory {
        let mut a = draft.clone();
        a.confidential = None;
        if a.cve.is_none() {
            a.cve = self.cve.assigned.as_ref().map(|(c, _)| c.clone());
        }
        if let Some(assessment) = &self.assessment {
            if a.affected.is_empty() {
                a.affected = assessment.affected.iter().map(Package::from).collect();
            }
            if a.cvss.is_empty() {
                a.cvss = [&assessment.cvss_v31, &assessment.cvss_v40]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
            }
            if a.cwes.is_empty() {
                a.cwes = assessment.cwe.iter().cloned().collect();
            }
        }
        a.credits.retain(|c| self.credit_accepted(c));
        for c in &mut a.credits {
            if let Some((_, name)) = self
                .credit_names
                .iter()
                .find(|(h, _)| c.holder.as_ref() == Some(h))
            {
                c.name.clone_from(name);
            }
        }
        a
    }

    /// When the public advisory last changed: publication, a later
    /// approval, or a credit answer since.
    pub fn public_modified(&self) -> Option<Timestamp> {
        let published = self.published_at?;
        let answers = self.credit_answers.iter().map(|(_, _, at)| *at);
        Some(
            [Some(published), self.approved_at]
                .into_iter()
                .flatten()
                .chain(answers)
                .max()
                .unwrap_or(published),
        )
    }

    /// The revision the world reads: the approved one, once the case is
    /// disclosed. `None` before.
    pub fn public_advisory_revision(&self) -> Option<&AdvisoryRevision> {
        let published = self.published_at?;
        // Cases published before the review step existed have no approved
        // revision: the one current at publication is what went out.
        self.approved_advisory()
            .or_else(|| self.advisory.iter().rev().find(|r| r.at <= published))
    }

    /// The acknowledgement clock.
    pub fn ack_clock(&self, policy: AckPolicy) -> AckClock {
        AckClock::start(self.received_at, policy, self.acknowledged_at)
    }

    /// The label people see.
    pub fn stage(&self) -> Stage {
        match self.handling {
            Handling::Received if self.in_screening() => Stage::Screening,
            Handling::Received => Stage::New,
            Handling::Acknowledged => Stage::Acknowledged,
            Handling::Valid => Stage::Triaged,
            Handling::Invalid => Stage::Rejected,
            Handling::Deferred => Stage::Deferred,
            Handling::Closed => Stage::Closed,
            Handling::Accepted => {
                if self.published_at.is_some() {
                    Stage::Disclosed
                } else if self.facts.fix_released.is_some() {
                    Stage::Released
                } else if self.facts.fix_ready.is_some() {
                    if matches!(
                        self.embargo,
                        Embargo::Active { .. } | Embargo::Revising { .. }
                    ) {
                        Stage::Scheduled
                    } else {
                        Stage::FixReady
                    }
                } else {
                    Stage::Fixing
                }
            }
        }
    }

    /// The release-day checklist: each item with when it was done.
    pub fn release_checklist(&self) -> Vec<(String, Option<Timestamp>)> {
        let done = |want: &ReleaseStep| {
            self.release_steps
                .iter()
                .find(|(s, _)| s == want)
                .map(|(_, at)| *at)
        };
        let mut items = vec![(
            "merge the fix from the private fork".to_owned(),
            done(&ReleaseStep::MergeFix),
        )];
        // One patch release per fixed version the advisory names (each a
        // supported series), or triage's when there is no advisory yet.
        let planned: Vec<(String, String)> = match self.current_advisory() {
            Some(a) => self
                .exportable(a)
                .affected
                .iter()
                .flat_map(|p| {
                    p.patched()
                        .into_iter()
                        .map(|v| (p.name.clone(), v.to_owned()))
                        .collect::<Vec<_>>()
                })
                .collect(),
            None => self
                .assessment
                .iter()
                .flat_map(|a| a.affected.iter())
                .flat_map(|p| {
                    p.ranges
                        .iter()
                        .filter_map(|r| r.fixed.clone().map(|f| (p.name.clone(), f)))
                })
                .collect(),
        };
        for (package, version) in &planned {
            let step = ReleaseStep::PatchRelease {
                package: package.clone(),
                version: version.clone(),
            };
            items.push((format!("patch release {package} {version}"), done(&step)));
        }
        for (step, at) in &self.release_steps {
            if let ReleaseStep::PatchRelease { package, version } = step
                && !planned.iter().any(|(p, v)| p == package && v == version)
            {
                items.push((format!("patch release {package} {version}"), Some(*at)));
            }
        }
        items.push((
            "publish binaries and packages".into(),
            done(&ReleaseStep::PublishPackages),
        ));
        items.push(("publish the security advisory".into(), self.published_at));
        items.push((
            "send the announcement".into(),
            self.announcement_sent
                .as_ref()
                .map(|(at, _)| *at)
                .or_else(|| done(&ReleaseStep::SendAnnouncement)),
        ));
        items
    }
}
