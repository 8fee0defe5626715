//! The SRT's dashboard: open cases by stage and what is due, the 24-hour
//! promise kept (30 and 90 days, per project), how long each step takes,
//! each case's exposure window, and channel health. Charts are SVG made
//! here, on the server: no JavaScript, no CDN, presentation attributes
//! only (the CSP allows no inline style), each with a title and a text
//! alternative, and the same figures in tables beside them.

use std::{fmt::Write, sync::Arc};

use axum::{extract::State, response::Response};
use embargo_core::{Stage, stats};
use minijinja::context;

use super::{SignedIn, WebError, render};
use crate::{AppState, authz, failure::Failure};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A horizontal bar chart. `bars` are (label, value, value text).
pub(crate) fn bar_chart(
    id: &str,
    title: &str,
    desc: &str,
    bars: &[(String, f64, String)],
) -> String {
    let row = 26.0;
    let label_w = 170.0;
    let chart_w = 360.0;
    let height = row * bars.len().max(1) as f64 + 10.0;
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" role=\"img\" \
         aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(desc),
        w = label_w + chart_w + 80.0,
    );
    for (i, (label, value, text)) in bars.iter().enumerate() {
        let y = 5.0 + row * i as f64;
        let w = (value / max * chart_w).max(if *value > 0.0 { 2.0 } else { 0.0 });
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\" fill=\"#222\">{}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" fill=\"#2f5f8f\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"#222\">{}</text>",
            label_w - 8.0,
            y + 14.0,
            esc(label),
            label_w + w + 6.0,
            y + 14.0,
            esc(text),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn hours_text(h: f64) -> String {
    if h >= 48.0 {
        format!("{:.1} d", h / 24.0)
    } else {
        format!("{h:.1} h")
    }
}

/// How many running clocks the dashboard lists (the soonest).
const DUE_SHOWN: u32 = 50;

/// How many of the longest exposures it lists.
const EXPOSURES_SHOWN: u32 = 20;

/// The window of the step and exposure figures: reports of this month and
/// the eleven before (the step figures are kept per month of report).
const WINDOW_MONTHS: i64 = 12;

/// `GET /dashboard` (SRT and admins).
pub(crate) async fn dashboard(
    State(state): State<Arc<AppState>>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let now = state.clock.now();
    // The organisation's figures from the read model and its aggregates:
    // the stage totals, the soonest running clocks, acknowledgements per
    // day, step durations per month, the longest exposures from two index
    // ranges. No case is folded and no report of the window is read one by
    // one, so the page costs the days and months it shows, not the archive.
    let totals = state.store.stage_counts().await.map_err(Failure::from)?;
    let by_stage: Vec<(String, f64, String)> = Stage::ALL
        .iter()
        .filter(|s| **s != Stage::Closed)
        .map(|s| {
            let n = totals
                .iter()
                .find(|(stage, _)| stage == s.label())
                .map_or(0, |(_, n)| *n);
            (s.label().to_owned(), n as f64, n.to_string())
        })
        .collect();
    let open_total: i64 = by_stage.iter().map(|(_, n, _)| *n as i64).sum();
    // The screening queue: how many wait, and for how long the oldest.
    let held = totals
        .iter()
        .find(|(s, _)| s == Stage::Screening.label())
        .map_or(0, |(_, n)| *n);
    let oldest_held = state
        .store
        .oldest_at(Stage::Screening.label())
        .await
        .map_err(Failure::from)?
        .map(|at| hours_text((now.as_second() - at) as f64 / 3600.0));
    let (due, running) = state
        .store
        .soonest_clocks(DUE_SHOWN)
        .await
        .map_err(Failure::from)?;

    let names = crate::timers::project_names(&state)
        .await
        .map_err(Failure::from)?;
    let day = 86_400;
    let windows = [now.as_second() - 30 * day, now.as_second() - 90 * day];
    let mut by_project: std::collections::BTreeMap<String, [stats::Compliance; 2]> =
        Default::default();
    let mut everyone = [stats::Compliance::default(); 2];
    for (hash, counts) in state
        .store
        .ack_compliance(&windows, now)
        .await
        .map_err(Failure::from)?
    {
        let row = by_project
            .entry(crate::timers::project_name(&names, &hash))
            .or_default();
        for (w, c) in counts.iter().enumerate() {
            for total in [row.get_mut(w), everyone.get_mut(w)].into_iter().flatten() {
                total.settled += c.settled;
                total.in_time += c.in_time;
            }
        }
    }
    let percent = |c: &stats::Compliance| {
        c.percent().map_or("no data".to_owned(), |p| {
            format!("{p}% ({} of {})", c.in_time, c.settled)
        })
    };
    let compliance_row = |project: &str, [c30, c90]: &[stats::Compliance; 2]| {
        context! {
            project => project,
            d30 => percent(c30),
            d90 => percent(c90),
        }
    };
    let mut compliance = vec![compliance_row("all projects", &everyone)];
    compliance.extend(by_project.iter().map(|(p, c)| compliance_row(p, c)));

    let since_month = stats::month_of(now) - (WINDOW_MONTHS - 1);
    let window_start = stats::month_start(since_month);
    let histograms = state
        .store
        .step_histograms(since_month)
        .await
        .map_err(Failure::from)?;
    let mut steps = Vec::new();
    let mut medians = Vec::new();
    for (step, hist) in &histograms {
        let s = hist.summary();
        if let Some(s) = s {
            medians.push((step.name().to_owned(), s.median, hours_text(s.median)));
        }
        steps.push(context! {
            step => step.name(),
            count => s.map_or(0, |s| s.count),
            median => s.map(|s| hours_text(s.median)),
            p90 => s.map(|s| hours_text(s.p90)),
            max => s.map(|s| hours_text(s.max)),
        });
    }
    let longest = state
        .store
        .longest_exposures(window_start.as_second(), EXPOSURES_SHOWN)
        .await
        .map_err(Failure::from)?;
    let exposure: Vec<stats::Exposure> = stats::exposure(&longest, now)
        .into_iter()
        .take(EXPOSURES_SHOWN as usize)
        .collect();
    let exposure_bars: Vec<(String, f64, String)> = exposure
        .iter()
        .map(|e| {
            let state = if e.public {
                "public"
            } else if e.fixed {
                "fixed, not public"
            } else {
                "open"
            };
            (
                e.case.clone(),
                e.to_public_hours,
                format!("{} ({state})", hours_text(e.to_public_hours)),
            )
        })
        .collect();
    let channels = crate::channels::inventory(&state).await?;
    let html = |s: String| minijinja::Value::from_safe_string(s);
    Ok(render(
        "dashboard.html",
        context! {
            me => super::pages::ser(super::pages::me(&who)),
            window_start => window_start.strftime("%-d %B %Y").to_string(),
            running => running,
            held => held,
            oldest_held => oldest_held,
            stage_chart => html(bar_chart("stages", "Open cases by stage", &format!("{open_total} open cases: {}", by_stage.iter().map(|(l, _, t)| format!("{l} {t}")).collect::<Vec<_>>().join(", ")), &by_stage)),
            stages => by_stage.iter().map(|(l, _, t)| context! { stage => l, count => t }).collect::<Vec<_>>(),
            due => due.iter().map(|c| context! {
                case => c.case.as_str(),
                what => &c.clock,
                due => c.due.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                overdue => c.due < now,
            }).collect::<Vec<_>>(),
            compliance => compliance,
            step_chart => html(bar_chart("steps", "Median time from report, by step", &medians.iter().map(|(l, _, t)| format!("{l}: {t}")).collect::<Vec<_>>().join(", "), &medians)),
            steps => steps,
            exposure_chart => html(bar_chart("exposure", "Exposure window per case (report to advisory public, or to now)", &exposure_bars.iter().map(|(l, _, t)| format!("{l}: {t}")).collect::<Vec<_>>().join(", "), &exposure_bars)),
            exposure => exposure.iter().map(|e| context! {
                case => &e.case,
                to_fix => hours_text(e.to_fix_hours),
                to_public => hours_text(e.to_public_hours),
                fixed => e.fixed,
                public => e.public,
            }).collect::<Vec<_>>(),
            channels => super::pages::ser(channels),
        },
    ))
}
