//! `/metrics` in the Prometheus text exposition format (version 0.0.4):
//! cases by stage, the acknowledgement promise (breaches now, warnings and
//! escalations so far), the scheduler's lag, channel health, the outbox,
//! and HTTP request latency. Written by hand: a handful of gauges and one
//! histogram do not need a metrics library.

use std::{fmt::Write, sync::atomic::Ordering};

use embargo_core::Stage;

use crate::AppState;

/// Times every request.
pub(crate) async fn track(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    state.latency.observe(started.elapsed().as_secs_f64());
    resp
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition.
pub(crate) async fn render(state: &AppState) -> Result<String, embargo_store::StoreError> {
    let now = state.clock.now();
    // Sums the read model keeps: nothing here reads a case.
    let counts = state.store.stage_counts().await?;
    let by_stage: Vec<(&str, i64)> = Stage::ALL
        .iter()
        .map(|s| {
            let n = counts
                .iter()
                .find(|(label, _)| label == s.label())
                .map_or(0, |(_, n)| *n);
            (s.label(), n)
        })
        .collect();
    let breached = state
        .store
        .ack_breached(
            &[Stage::New.label(), Stage::Screening.label()],
            now.as_second(),
        )
        .await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP embargo_cases Cases by stage.\n# TYPE embargo_cases gauge"
    );
    for (stage, n) in &by_stage {
        let _ = writeln!(out, "embargo_cases{{stage=\"{}\"}} {n}", label(stage));
    }
    let _ = writeln!(
        out,
        "# HELP embargo_ack_breached Reports past their acknowledgement deadline, unanswered.\n\
         # TYPE embargo_ack_breached gauge\nembargo_ack_breached {breached}"
    );
    let warnings = state.store.count_jobs("ack-warning-").await?;
    let escalations = state.store.count_jobs("ack-escalation:").await?;
    let _ = writeln!(
        out,
        "# HELP embargo_ack_warnings_total Acknowledgement warnings raised.\n\
         # TYPE embargo_ack_warnings_total counter\nembargo_ack_warnings_total {warnings}\n\
         # HELP embargo_ack_escalations_total Acknowledgement deadlines missed and escalated.\n\
         # TYPE embargo_ack_escalations_total counter\nembargo_ack_escalations_total {escalations}"
    );
    let last = state.scheduler_tick.load(Ordering::Relaxed);
    let lag = if last == 0 {
        0
    } else {
        (now.as_second() - last).max(0)
    };
    let _ = writeln!(
        out,
        "# HELP embargo_scheduler_lag_seconds Seconds since the scheduler last ran, by the server's clock.\n\
         # TYPE embargo_scheduler_lag_seconds gauge\nembargo_scheduler_lag_seconds {lag}\n\
         # HELP embargo_scheduler_pass_seconds How long the scheduler's last pass over the open cases took.\n\
         # TYPE embargo_scheduler_pass_seconds gauge\nembargo_scheduler_pass_seconds {}",
        state.scheduler_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "# HELP embargo_channel_healthy 1 when a reporting channel is healthy, 0 when it needs attention.\n\
         # TYPE embargo_channel_healthy gauge"
    );
    for c in crate::channels::inventory(state).await.unwrap_or_default() {
        let _ = writeln!(
            out,
            "embargo_channel_healthy{{channel=\"{}\",kind=\"{}\"}} {}",
            label(&c.name),
            label(&c.kind),
            u8::from(!c.alert)
        );
    }
    let due = state.store.timers_due(now).await?;
    let _ = writeln!(
        out,
        "# HELP embargo_timers_due Cases with something due that the scheduler has not looked at yet.\n\
         # TYPE embargo_timers_due gauge\nembargo_timers_due {due}"
    );
    let hints = state.store.hints_backlog().await?;
    let _ = writeln!(
        out,
        "# HELP embargo_hints_due Cases whose duplicate hints are to be worked out again.\n\
         # TYPE embargo_hints_due gauge\nembargo_hints_due {hints}"
    );
    let (pending, failed) = state.store.outbox_depth().await?;
    let _ = writeln!(
        out,
        "# HELP embargo_outbox_pending Side effects waiting or being retried.\n\
         # TYPE embargo_outbox_pending gauge\nembargo_outbox_pending {pending}\n\
         # HELP embargo_outbox_failed Side effects given up after their last attempt.\n\
         # TYPE embargo_outbox_failed gauge\nembargo_outbox_failed {failed}"
    );
    // The last good scheduled backup's age (only with `[backup] dir`;
    // -1 until the first).
    if state.config.backup.dir.is_some() {
        let age = state
            .store
            .last_backup()
            .await?
            .map_or(-1, |(at, _)| now.as_second() - at);
        let _ = writeln!(
            out,
            "# HELP embargo_backup_age_seconds Seconds since the last good scheduled backup (-1: none yet).\n\
             # TYPE embargo_backup_age_seconds gauge\nembargo_backup_age_seconds {age}"
        );
    }
    out.push_str(&state.latency.exposition());
    Ok(out)
}
