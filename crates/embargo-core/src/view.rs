//! What a person sees of a case, decided here and nowhere else.
//!
//! `access::standing` says whether someone sees a case at all; a [`Lens`]
//! says how much of it. Every route that returns case data (pages, the API,
//! exports, the calendar, mail) shows the lens's [`Lens::case`] and
//! [`Lens::event`] and never the fold itself, so a route cannot assemble a
//! view of its own.
//!
//! | depth    | who                                         | sees                                                                 |
//! |----------|---------------------------------------------|----------------------------------------------------------------------|
//! | team     | coordinator, SRT, fixers, observers         | everything (a project team: its own part of notes, forks, CI, people) |
//! | reporter | the reporter, named on the case             | the report, the thread, the advisory without confidential notes      |
//! | outsider | project maintainers (AMBER), members (GREEN) | what the case is and where it stands: no report, reporter, thread, notes, confidential notes or release work |
//!
//! The matches below are exhaustive on purpose: a new event kind or case
//! field does not compile until someone decides who sees it.

use crate::{
    access::Standing,
    advisory::Advisory,
    case::{AdditionDecision, AdditionRequest, Case},
    event::{Assessment, Event, EventData, Intake, Rejection, Report},
    ids::PersonId,
    participant::Role,
};

/// How much of a case a standing sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Depth {
    /// The case's team: everything, within their part.
    Team,
    /// The reporter: their report and the thread.
    Reporter,
    /// Read only: what the case is and where it stands.
    Outsider,
}

/// One person's view of one case: their standing and, for a member of one
/// project's own team, the part they work on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lens {
    standing: Standing,
    part: Option<String>,
}

impl Lens {
    /// The lens of `person`, who sees `case` as `standing`.
    pub fn new(case: &Case, standing: Standing, person: &PersonId) -> Lens {
        Lens {
            standing,
            part: case.part_of(person).map(str::to_owned),
        }
    }

    /// Why they see the case.
    pub fn standing(&self) -> Standing {
        self.standing
    }

    /// The project whose part they are limited to, if any.
    pub fn part(&self) -> Option<&str> {
        self.part.as_deref()
    }

    /// How much they see.
    pub fn depth(&self) -> Depth {
        match self.standing {
            Standing::Coordinator | Standing::Srt | Standing::Fixer | Standing::Observer => {
                Depth::Team
            }
            Standing::Reporter => Depth::Reporter,
            Standing::ProjectMaintainer | Standing::Community => Depth::Outsider,
        }
    }

    /// The report's text, the reporter's identity and the attachments.
    pub fn sees_report(&self) -> bool {
        self.depth() != Depth::Outsider
    }

    /// What the team and the reporter said to each other.
    pub fn sees_thread(&self) -> bool {
        self.depth() != Depth::Outsider
    }

    /// Internal notes, triage notes, review comments, confidential notes.
    pub fn sees_internal(&self) -> bool {
        self.depth() == Depth::Team
    }

    /// The release plan: forks, CI, the announcement, embargo notices.
    pub fn sees_release(&self) -> bool {
        self.depth() == Depth::Team
    }

    /// Everything every project's team did (the retrospective covers it).
    pub fn sees_every_part(&self) -> bool {
        self.depth() == Depth::Team && self.part.is_none()
    }

    /// The raw messages as received, deliveries and the access log: those
    /// who run the case.
    pub fn sees_raw(&self) -> bool {
        matches!(self.standing, Standing::Srt | Standing::Coordinator)
    }

    /// The event as this person sees it, or `None` when it is hidden.
    pub fn event(&self, case: &Case, event: &Event) -> Option<Event> {
        if !case.shows(self.part(), &event.data) {
            return None;
        }
        let data = self.data(&event.data)?;
        Some(Event {
            at: event.at,
            actor: event.actor.clone(),
            data,
        })
    }

    fn data(&self, data: &EventData) -> Option<EventData> {
        use EventData as E;
        let thread = self.sees_thread();
        let internal = self.sees_internal();
        let said = |text: &String| if thread { text.clone() } else { String::new() };
        let noted = |text: &String| {
            if internal {
                text.clone()
            } else {
                String::new()
            }
        };
        Some(match data {
            E::ReportReceived { report } => E::ReportReceived {
                report: self.report(report),
            },
            // Screening is the team's triage of its queue: why a report was
            // held is not the reporter's to read (nor a reason to write
            // back to game the rules).
            E::ScreeningHeld { .. } | E::ScreeningPassed { .. } => {
                if !internal {
                    return None;
                }
                data.clone()
            }
            E::Acknowledged { message } => E::Acknowledged {
                message: said(message),
            },
            E::ReporterWrote { text, channel } => E::ReporterWrote {
                text: said(text),
                channel: *channel,
            },
            E::ReporterMessaged { text } => E::ReporterMessaged { text: said(text) },
            E::InfoRequested { question } => E::InfoRequested {
                question: said(question),
            },
            E::InfoReceived { note } => E::InfoReceived { note: said(note) },
            E::Triaged { assessment } => E::Triaged {
                assessment: self.assessment(assessment),
            },
            E::Rejected { rejection } => E::Rejected {
                rejection: self.rejection(rejection),
            },
            E::Revalidated { note } => E::Revalidated { note: noted(note) },
            E::FixingTeamAssigned { .. }
            | E::AdditionApproved { .. }
            | E::TimelineProposed { .. }
            | E::TimelineAccepted
            | E::EmbargoExited { .. }
            | E::EmbargoLifted { .. }
            | E::AdvisorySubmitted { .. }
            | E::AdvisoryApproved { .. }
            | E::CreditAnswered { .. }
            | E::CveRequested { .. }
            | E::CveAssigned { .. }
            | E::CveFailed { .. }
            | E::CveRecordPublished { .. }
            | E::ProjectTeamAssigned { .. }
            | E::AnnouncementSent { .. }
            | E::FactRecorded { .. }
            | E::ReleaseStepCompleted { .. }
            | E::Published => data.clone(),
            E::ParticipantAdded { participant } => {
                if !self.sees_report() && participant.role == Role::Reporter {
                    return None;
                }
                data.clone()
            }
            E::AdditionRequested {
                request,
                participant,
                reason,
            } => {
                if !self.sees_report() && participant.role == Role::Reporter {
                    return None;
                }
                E::AdditionRequested {
                    request: *request,
                    participant: participant.clone(),
                    reason: noted(reason),
                }
            }
            E::AdditionDeclined { request, reason } => E::AdditionDeclined {
                request: *request,
                reason: noted(reason),
            },
            E::NoteAdded { .. } => {
                if !internal {
                    return None;
                }
                data.clone()
            }
            E::Deferred { reason } => E::Deferred {
                reason: noted(reason),
            },
            E::Reopened { note } => E::Reopened { note: noted(note) },
            E::TimelineDeclined { reason } => E::TimelineDeclined {
                reason: said(reason),
            },
            E::RetestAnswered { fixed, note } => E::RetestAnswered {
                fixed: *fixed,
                note: said(note),
            },

            E::AdvisoryRevised { revision, draft } => E::AdvisoryRevised {
                revision: *revision,
                draft: Box::new(self.advisory(draft)),
            },
            E::AdvisoryChangesRequested { revision, comment } => E::AdvisoryChangesRequested {
                revision: *revision,
                comment: noted(comment),
            },
            E::ForkOpened { .. }
            | E::ForkRequested { .. }
            | E::ForkFailed { .. }
            | E::ForkClosed { .. }
            | E::CiReported { .. }
            | E::AnnouncementApproved { .. }
            | E::EmbargoNoticeSent { .. } => {
                if !self.sees_release() {
                    return None;
                }
                data.clone()
            }
            // A key's fingerprint names the reporter.
            E::SignatureVerified { .. } => {
                if !self.sees_report() {
                    return None;
                }
                data.clone()
            }
            E::RetrospectiveWritten { .. } => {
                if !self.sees_every_part() {
                    return None;
                }
                data.clone()
            }
            E::Closed { note } => E::Closed { note: noted(note) },
        })
    }

    fn report(&self, report: &Report) -> Report {
        if self.sees_report() {
            return report.clone();
        }
        Report {
            project: report.project.clone(),
            title: report.title.clone(),
            body: String::new(),
            reporter_name: None,
            reporter_email: None,
            channel: report.channel,
            intake: Intake {
                encrypted: report.intake.encrypted,
                ..Intake::default()
            },
        }
    }

    fn assessment(&self, a: &Assessment) -> Assessment {
        let mut a = a.clone();
        if !self.sees_internal() {
            a.notes = String::new();
        }
        a
    }

    fn rejection(&self, r: &Rejection) -> Rejection {
        Rejection {
            reason: r.reason.clone(),
            explanation: if self.sees_thread() {
                r.explanation.clone()
            } else {
                String::new()
            },
        }
    }

    fn advisory(&self, a: &Advisory) -> Advisory {
        let mut a = a.clone();
        if !self.sees_internal() {
            a.confidential = None;
        }
        if !self.sees_report() {
            for c in &mut a.credits {
                c.contact.clear();
            }
        }
        a
    }

    /// The case as this person sees it: the same fold, with what they may
    /// not see blanked or left out.
    pub fn case(&self, case: &Case) -> Case {
        let part = self.part();
        let release = self.sees_release();
        let thread = self.sees_thread();
        let internal = self.sees_internal();
        let Case {
            id,
            report,
            received_at,
            handling,
            embargo,
            facts,
            needs_info,
            screening,
            screened_at,
            acknowledged_at,
            triaged_at,
            accepted_at,
            published_at,
            closed_at,
            assessment,
            rejection,
            participants,
            addition_requests,
            advisory,
            review,
            approved_revision,
            approved_at,
            credit_answers,
            credit_names,
            retest,
            lifted,
            cve,
            forks,
            fork_requests,
            fork_failures,
            teams,
            ci_runs,
            announcement,
            announcement_sent,
            embargo_notices,
            retrospective,
            release_steps,
            version,
        } = case;
        let mine = |project: &str| part.is_none_or(|p| p == project);
        Case {
            id: id.clone(),
            report: self.report(report),
            received_at: *received_at,
            handling: *handling,
            embargo: *embargo,
            facts: *facts,
            needs_info: needs_info
                .as_ref()
                .map(|q| if thread { q.clone() } else { String::new() }),
            screening: if internal {
                screening.clone()
            } else {
                Vec::new()
            },
            screened_at: screened_at.filter(|_| internal),
            acknowledged_at: *acknowledged_at,
            triaged_at: *triaged_at,
            accepted_at: *accepted_at,
            published_at: *published_at,
            closed_at: *closed_at,
            assessment: assessment.as_ref().map(|a| self.assessment(a)),
            rejection: rejection.as_ref().map(|r| self.rejection(r)),
            participants: participants
                .iter()
                .filter(|p| case.shows_person(part, &p.person))
                .filter(|p| self.sees_report() || p.role != Role::Reporter)
                .cloned()
                .collect(),
            addition_requests: addition_requests
                .iter()
                .filter(|r| self.sees_report() || r.participant.role != Role::Reporter)
                .map(|r| AdditionRequest {
                    reason: if internal {
                        r.reason.clone()
                    } else {
                        String::new()
                    },
                    decision: r.decision.as_ref().map(|(by, at, d)| {
                        let d = match d {
                            AdditionDecision::Declined { .. } if !internal => {
                                AdditionDecision::Declined {
                                    reason: String::new(),
                                }
                            }
                            other => other.clone(),
                        };
                        (by.clone(), *at, d)
                    }),
                    ..r.clone()
                })
                .collect(),
            advisory: advisory
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.draft = self.advisory(&r.draft);
                    r
                })
                .collect(),
            review: review.clone(),
            approved_revision: *approved_revision,
            approved_at: *approved_at,
            credit_answers: credit_answers.clone(),
            credit_names: credit_names.clone(),
            retest: retest
                .as_ref()
                .map(|(f, note, at)| (*f, if thread { note.clone() } else { String::new() }, *at)),
            lifted: lifted.clone(),
            cve: cve.clone(),
            forks: forks
                .iter()
                .filter(|f| release && mine(&f.project))
                .cloned()
                .collect(),
            fork_requests: fork_requests
                .iter()
                .filter(|(p, _, _)| release && mine(p))
                .cloned()
                .collect(),
            fork_failures: fork_failures
                .iter()
                .filter(|(p, _, _)| release && mine(p))
                .cloned()
                .collect(),
            teams: teams.iter().filter(|(p, _)| mine(p)).cloned().collect(),
            ci_runs: ci_runs
                .iter()
                .filter(|r| release && mine(&r.project))
                .cloned()
                .collect(),
            announcement: announcement.clone().filter(|_| release),
            announcement_sent: announcement_sent.clone(),
            embargo_notices: embargo_notices
                .iter()
                .filter(|_| release)
                .cloned()
                .collect(),
            retrospective: retrospective.clone().filter(|_| self.sees_every_part()),
            release_steps: release_steps.clone(),
            version: *version,
        }
    }
}
