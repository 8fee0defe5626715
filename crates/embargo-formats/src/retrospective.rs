//! The retrospective, drafted from the case's event log: the timeline, how
//! long each step took against the policy, everyone involved, and links.

use std::fmt::Write;

use embargo_core::{
    Case, Event, EventData,
    event::ReleaseStep,
    sla::{ClockKind, Policy},
};
use jiff::{SignedDuration, Timestamp};

/// A duration as people read it: `D days H h` from two days on, else
/// `H h M min`.
pub fn span(d: SignedDuration) -> String {
    let hours = d.as_hours();
    if hours >= 48 {
        format!("{} days {} h", hours / 24, hours % 24)
    } else {
        format!("{hours} h {} min", (d.as_mins() % 60).abs())
    }
}

/// One step of the process: its name, its start and end, and the policy's
/// due moment for it if the policy has one.
struct Step {
    name: &'static str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    due: Option<Timestamp>,
}

/// Renders the retrospective as Markdown: how long each step took against
/// `policy` (the case's project policy, the same deadlines its clocks ran
/// on), everyone involved with their roles, the timeline, links, and the
/// sections the SRT writes.
pub fn render(case: &Case, events: &[Event], policy: &Policy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Retrospective: {} ({})\n",
        case.report.title, case.id
    );
    let _ = writeln!(
        out,
        "Projects: {}. Reported through: {}.\n",
        case.named_projects().join(", "),
        case.report.channel.name()
    );
    let deadlines = embargo_core::sla::deadlines(case, policy);
    let due = |kind: ClockKind| {
        deadlines
            .iter()
            .find(|d| d.kind == kind)
            .map(|d| d.clock.due)
    };
    let steps = [
        Step {
            name: "acknowledge",
            from: Some(case.received_at),
            to: case.acknowledged_at,
            due: due(ClockKind::Acknowledge),
        },
        Step {
            name: "triage",
            from: case.acknowledged_at,
            to: case.triaged_at,
            due: due(ClockKind::Triage),
        },
        Step {
            name: "form the fixing team",
            from: case.triaged_at,
            to: case.accepted_at,
            due: None,
        },
        Step {
            name: "fix (from triage)",
            from: case.triaged_at,
            to: case.facts.fix_ready,
            due: due(ClockKind::Fix),
        },
        Step {
            name: "release (fix ready to patch release)",
            from: case.facts.fix_ready,
            to: case.facts.fix_released,
            due: None,
        },
        Step {
            name: "disclose (from the report)",
            from: Some(case.received_at),
            to: case.published_at,
            due: due(ClockKind::Disclose),
        },
    ];
    let _ = writeln!(out, "## How long each step took\n");
    let _ = writeln!(out, "| step | took | policy | |");
    let _ = writeln!(out, "|---|---|---|---|");
    for step in steps {
        let took = match (step.from, step.to) {
            (Some(f), Some(t)) => span(t.duration_since(f)),
            _ => "not reached".into(),
        };
        let (allowed, verdict) = match (step.from, step.due) {
            (Some(f), Some(d)) => (
                span(d.duration_since(f)),
                match step.to {
                    Some(t) if t <= d => "kept",
                    Some(_) => "missed",
                    None => "",
                },
            ),
            _ => ("-".into(), ""),
        };
        let _ = writeln!(out, "| {} | {took} | {allowed} | {verdict} |", step.name);
    }
    if let Some(published) = case.published_at {
        let _ = writeln!(
            out,
            "\nExposure window (report to public advisory): {}.",
            span(published.duration_since(case.received_at))
        );
    }
    let accepted: Vec<&Timestamp> = events
        .iter()
        .filter(|e| matches!(e.data, EventData::TimelineAccepted))
        .map(|e| &e.at)
        .collect();
    let moved = events
        .iter()
        .filter(|e| matches!(e.data, EventData::TimelineProposed { .. }))
        .count();
    if !accepted.is_empty() {
        let _ = writeln!(
            out,
            "Disclosure timeline: dates proposed {moved} times, accepted {} times.",
            accepted.len()
        );
    }
    let _ = writeln!(out, "\n## People\n");
    let mut people: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |who: String, what: String| match people.iter_mut().find(|(p, _)| *p == who) {
        Some((_, roles)) if !roles.contains(&what) => roles.push(what),
        Some(_) => {}
        None => people.push((who, vec![what])),
    };
    for p in &case.participants {
        let role = match case.teams.iter().find(|(_, f)| f.contains(&p.person)) {
            Some((project, _)) => format!("{} ({project})", p.role),
            None => p.role.to_string(),
        };
        add(p.person.to_string(), role);
    }
    for e in events {
        if !e.actor.as_str().starts_with("system:") {
            add(e.actor.to_string(), "acted".into());
        }
    }
    for (who, roles) in people {
        let _ = writeln!(out, "- {who}: {}", roles.join(", "));
    }
    let _ = writeln!(out, "\n## Timeline\n");
    for e in events {
        let _ = writeln!(out, "- {} {} by {}", e.at, describe(&e.data), e.actor);
    }
    let mut links: Vec<String> = case
        .forks
        .iter()
        .map(|f| format!("- private fork of {}: {}", f.project, f.url))
        .collect();
    links.extend(case.ci_runs.iter().map(|r| {
        format!(
            "- CI on {} {} ({}): {}",
            r.project,
            r.reference,
            r.commit.get(..12).unwrap_or(&r.commit),
            if r.passed { "passed" } else { "failed" }
        )
    }));
    if let Some(a) = case.current_advisory() {
        links.extend(
            a.references
                .iter()
                .map(|r| format!("- {}: {}", r.kind.to_lowercase(), r.url)),
        );
        if let Some(cve) = a
            .cve
            .as_ref()
            .or(case.cve.assigned.as_ref().map(|(c, _)| c))
        {
            links.push(format!("- {cve}"));
        }
    }
    if !links.is_empty() {
        let _ = writeln!(out, "\n## Links\n");
        for l in links {
            let _ = writeln!(out, "{l}");
        }
    }
    let _ = writeln!(
        out,
        "\n## What went well\n\n(To be written by the SRT.)\n\n## What to change\n\n(To be written by the SRT.)"
    );
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
        EventData::ForkOpened { project, host, .. } => format!(
            "{kind}: {} ({})",
            project.as_deref().unwrap_or("the reported project"),
            host.name()
        ),
        EventData::CiReported {
            project, passed, ..
        } => format!(
            "CI on {project}: {}",
            if *passed { "passed" } else { "failed" }
        ),
        EventData::EmbargoNoticeSent { distributor, .. } => {
            format!("embargo notice sent to {distributor}")
        }
        EventData::AdvisoryRevised { revision, .. } => format!("{kind} (revision {revision})"),
        _ => kind,
    }
}
