//! Release-day guards: what should not be left as it is, as pure functions
//! of a case and the time.

use jiff::{SignedDuration, Timestamp};

use crate::{Case, Embargo};

/// Something a guard flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    /// A stable name (`fork_alive`, `advisory_private`,
    /// `announcement_missing`, `moment_passed`).
    pub kind: &'static str,
    /// What is wrong, for people.
    pub text: String,
}

/// What the guards flag on `case` at `now`: a private fork still open more
/// than `fork_grace` after disclosure; a released fix whose advisory is
/// still private after `advisory_grace`; a public advisory with no
/// announcement approved or sent; an agreed disclosure moment passed
/// without publication.
pub fn guards(
    case: &Case,
    now: Timestamp,
    fork_grace: SignedDuration,
    advisory_grace: SignedDuration,
) -> Vec<Guard> {
    let mut out = Vec::new();
    if let Some(published) = case.published_at
        && now.duration_since(published) > fork_grace
    {
        for fork in case.forks.iter().filter(|f| f.closed_at.is_none()) {
            out.push(Guard {
                kind: "fork_alive",
                text: format!(
                    "the private fork of {} ({}) is still there {} hours after disclosure; remove it",
                    fork.project,
                    fork.url,
                    now.duration_since(published).as_hours()
                ),
            });
        }
    }
    if case.published_at.is_none()
        && let Some(released) = case.facts.fix_released
        && now.duration_since(released) > advisory_grace
    {
        out.push(Guard {
            kind: "advisory_private",
            text: format!(
                "the fix shipped at {released} but the advisory is still private; publish it"
            ),
        });
    }
    if case.published_at.is_some()
        && case.announcement.is_none()
        && case.announcement_sent.is_none()
        && !case
            .release_steps
            .iter()
            .any(|(s, _)| *s == crate::event::ReleaseStep::SendAnnouncement)
    {
        out.push(Guard {
            kind: "announcement_missing",
            text: "the advisory is public but no announcement is approved; approve one (embargo case announce ID --approve) or record that it went out".into(),
        });
    }
    if case.published_at.is_none()
        && let Embargo::Active { until } | Embargo::Revising { until, .. } = case.embargo
        && until < now
    {
        out.push(Guard {
            kind: "moment_passed",
            text: format!("the disclosure moment {until} passed and the case is not published"),
        });
    }
    out
}
