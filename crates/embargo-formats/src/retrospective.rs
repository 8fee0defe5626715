//! The retrospective, drafted from the case's event log: the timeline, how
//! long each step took against the policy, everyone involved, and links.

use std::fmt::Write;

use embargo_core::{Case, Event, EventData, event::ReleaseStep, sla::AckPolicy};
use jiff::{SignedDuration, Timestamp};

/// A step: its name, when it started and ended, and the policy limit if any.
type Step<'a> = (
    &'a str,
    Option<Timestamp>,
    Option<Timestamp>,
    Option<SignedDuration>,
);

fn span(from: Timestamp, to: Timestamp) -> String {
    let d = to.duration_since(from);
    let hours = d.as_hours();
    if hours >= 48 {
        format!("{} days {} h", hours / 24, hours % 24)
    } else {
        format!("{hours} h {} min", (d.as_mins() % 60).abs())
    }
}

/// Renders the retrospective as Markdown.
pub fn render(case: &Case, events: &[Event], ack: AckPolicy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Retrospective: {} ({})\n",
        case.report.title, case.id
    );
    let _ = writeln!(
        out,
        "Project: {}. Reported through: {}.\n",
        case.report.project,
        case.report.channel.name()
    );
    let _ = writeln!(out, "## How long each step took\n");
    let steps: [Step<'_>; 5] = [
        (
            "acknowledge",
            Some(case.received_at),
            case.acknowledged_at,
            Some(ack.within),
        ),
        ("triage", case.acknowledged_at, case.triaged_at, None),
        (
            "form the fixing team",
            case.triaged_at,
            case.accepted_at,
            None,
        ),
        (
            "fix and release",
            case.accepted_at,
            case.facts.fix_released,
            None,
        ),
        ("disclose", case.facts.fix_released, case.published_at, None),
    ];
    for (name, from, to, limit) in steps {
        let line = match (from, to) {
            (Some(f), Some(t)) => {
                let verdict = match limit {
                    Some(l) if t.duration_since(f) <= l => {
                        format!(" (policy {} h: kept)", l.as_hours())
                    }
                    Some(l) => format!(" (policy {} h: missed)", l.as_hours()),
                    None => String::new(),
                };
                format!("- {name}: {}{verdict}", span(f, t))
            }
            _ => format!("- {name}: not reached"),
        };
        let _ = writeln!(out, "{line}");
    }
    if let Some(published) = case.published_at {
        let _ = writeln!(
            out,
            "\nExposure window (report to public advisory): {}.",
            span(case.received_at, published)
        );
    }
    let _ = writeln!(out, "\n## People\n");
    let mut people: Vec<String> = case
        .participants
        .iter()
        .map(|p| format!("- {} ({})", p.person, p.role))
        .collect();
    for e in events {
        let line = format!("- {} (acted)", e.actor);
        if !people
            .iter()
            .any(|p| p.starts_with(&format!("- {} ", e.actor)))
        {
            people.push(line);
        }
    }
    for p in people {
        let _ = writeln!(out, "{p}");
    }
    let _ = writeln!(out, "\n## Timeline\n");
    for e in events {
        let _ = writeln!(out, "- {} {} by {}", e.at, describe(&e.data), e.actor);
    }
    let mut links: Vec<String> = case
        .fork
        .iter()
        .map(|f| format!("- private fork: {}", f.url))
        .collect();
    if let Some(a) = case.current_advisory() {
        links.extend(
            a.references
                .iter()
                .map(|r| format!("- {}: {}", r.kind.to_lowercase(), r.url)),
        );
        if let Some(cve) = &a.cve {
            links.push(format!("- {cve}"));
        }
    }
    if !links.is_empty() {
        let _ = writeln!(out, "\n## Links\n");
        for l in links {
            let _ = writeln!(out, "{l}");
        }
    }
    let _ = writeln!(out, "\n## What we learned\n\n(To be written by the SRT.)");
    out
}

/// One timeline line's words: the event kind, and for facts and release steps which one.
fn describe(data: &EventData) -> String {
    let kind = data.kind().replace('_', " ");
    match data {
        EventData::FactRecorded { fact } => {
            let name = serde_json::to_value(fact)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("fact: {}", name.replace('_', " "))
        }
        EventData::ReleaseStepCompleted {
            step: ReleaseStep::PatchRelease { package, version },
        } => {
            format!("release step: patch release {package} {version}")
        }
        EventData::ReleaseStepCompleted { step } => {
            let name = serde_json::to_value(step)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_str()).map(str::to_owned))
                .unwrap_or_default();
            format!("release step: {}", name.replace('_', " "))
        }
        EventData::TimelineProposed { disclose_at } => format!("{kind} for {disclose_at}"),
        EventData::AdvisoryRevised { revision, .. } => format!("{kind} (revision {revision})"),
        _ => kind,
    }
}
