//! The channel inventory and the pollers: every reporting channel listed,
//! active ones (an IMAP mailbox) checked on schedule, and their health worked
//! out by `embargo_core::channel` from what the checks saw.
//!
//! The poller runs in the server and reads time only from the `Clock`; a
//! mailbox message is marked `\Seen` only after the intake path has stored
//! it (as a case, a reply, in quarantine, or found already received), so a
//! crash between fetch and store leaves it to be fetched again, and the
//! Message-ID makes that second delivery harmless.

use std::{collections::HashMap, sync::Arc, time::Duration};

use embargo_core::channel::Watch;
use embargo_store::ChannelRow;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{AppState, error::ServiceError, intake};

/// The channel kinds, and whether embargo polls them.
pub const KINDS: &[(&str, bool)] = &[
    ("imap", true),
    ("pipe", false),
    ("web", false),
    ("github", true),
    ("api", false),
    ("forum", false),
    ("bounty", false),
    ("other", false),
];

/// An IMAP mailbox's settings.
#[derive(Clone, Deserialize, Serialize)]
pub struct ImapSettings {
    /// The IMAP server.
    pub host: String,
    /// Its port (993 by default).
    #[serde(default = "default_imap_port")]
    pub port: u16,
    /// Implicit TLS (993). Plain IMAP only for a server on this machine.
    #[serde(default = "yes")]
    pub tls: bool,
    /// The account.
    pub username: String,
    /// Its password (kept in the channel's sealed settings).
    pub password: String,
    /// The mailbox read (INBOX by default).
    #[serde(default = "inbox")]
    pub mailbox: String,
    /// The address this mailbox receives: a canary is sent there through
    /// `[smtp]` and must come back through IMAP.
    #[serde(default)]
    pub canary_address: Option<String>,
    /// Seconds between canaries.
    #[serde(default = "day")]
    pub canary_every_seconds: i64,
    /// Seconds a canary may take to come back.
    #[serde(default = "quarter_hour")]
    pub canary_timeout_seconds: i64,
}

fn default_imap_port() -> u16 {
    993
}
fn yes() -> bool {
    true
}
fn inbox() -> String {
    "INBOX".into()
}
fn day() -> i64 {
    86_400
}
fn quarter_hour() -> i64 {
    900
}

fn ts(secs: Option<i64>) -> Option<jiff::Timestamp> {
    secs.and_then(|s| jiff::Timestamp::from_second(s).ok())
}

/// What the health rules need to know of a channel.
pub fn watch(row: &ChannelRow) -> Watch {
    let active = KINDS.iter().any(|(k, a)| *k == row.kind && *a);
    let imap: Option<ImapSettings> = serde_json::from_value(row.settings.clone()).ok();
    let canary_pending_since = match (row.canary_token.as_ref(), row.canary_sent_at) {
        (Some(_), Some(sent)) => ts(Some(sent)),
        _ => None,
    };
    Watch {
        active,
        interval_seconds: row.interval_seconds,
        created_at: ts(Some(row.created_at)),
        last_check: ts(row.last_check_at),
        last_ok: ts(row.last_ok_at),
        last_error: row.last_error.clone(),
        canary_pending_since,
        canary_timeout_seconds: imap.map_or(900, |i| i.canary_timeout_seconds),
    }
}

/// A channel with its health, as the inventory shows it.
pub type ChannelView = embargo_api::ChannelWire;

fn time_text(secs: Option<i64>) -> Option<String> {
    ts(secs).map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// The channel as lists and pages show it, health judged at `now`.
pub fn view(row: &ChannelRow, now: jiff::Timestamp) -> ChannelView {
    let health = embargo_core::channel::health(&watch(row), now);
    ChannelView {
        name: row.name.clone(),
        kind: row.kind.clone(),
        scope: row.scope.clone(),
        interval_seconds: row.interval_seconds,
        last_check: time_text(row.last_check_at),
        last_ok: time_text(row.last_ok_at),
        last_message: time_text(row.last_message_at),
        alert: health.is_alert(),
        health: health.describe(),
    }
}

/// Every channel with its health now.
pub async fn inventory(state: &AppState) -> Result<Vec<ChannelView>, ServiceError> {
    let now = state.clock.now();
    Ok(state
        .store
        .channels()
        .await?
        .iter()
        .map(|r| view(r, now))
        .collect())
}

/// Adds a channel after checking its settings.
pub async fn add(
    state: &AppState,
    req: embargo_api::NewChannel,
) -> Result<ChannelView, ServiceError> {
    let invalid = |m: String| ServiceError::Invalid(m);
    let Some((_, active)) = KINDS.iter().find(|(k, _)| *k == req.kind) else {
        return Err(invalid(format!(
            "unknown channel kind `{}` (imap, pipe, web, github, api, forum, bounty, other)",
            intake::one_line(&req.kind)
        )));
    };
    embargo_core::ids::required_text("name", &req.name, 200).map_err(|e| invalid(e.0))?;
    let scope = req.scope.unwrap_or_else(|| "org".into());
    if req.kind == "imap" {
        serde_json::from_value::<ImapSettings>(req.settings.clone())
            .map_err(|e| invalid(format!("IMAP settings: {e}")))?;
    }
    if req.kind == "github" {
        crate::github::settings(&req.settings).map_err(invalid)?;
    }
    let interval = if *active {
        req.interval_seconds.unwrap_or(300).clamp(10, 86_400)
    } else {
        0
    };
    state
        .store
        .add_channel(
            &req.kind,
            req.name.trim(),
            &scope,
            &req.settings,
            interval,
            state.clock.unix(),
        )
        .await
        .map_err(|e| match e {
            embargo_store::StoreError::Corrupt(m) if m.contains("exists already") => invalid(m),
            other => other.into(),
        })?;
    let rows = state.store.channels().await?;
    let row = rows
        .iter()
        .find(|r| r.name == req.name.trim())
        .ok_or(ServiceError::NotFound)?;
    Ok(view(row, state.clock.now()))
}

/// One lock per channel in this process, so a scheduled check and a
/// "check now" wait for each other instead of polling the same mailbox at
/// once. Across servers, the lease `channel:ID` does the same.
#[derive(Default)]
pub struct Locks(std::sync::Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>);

impl Locks {
    fn of(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        match self.0.lock() {
            Ok(mut m) => m.entry(id).or_default().clone(),
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

/// How long a channel check may hold its lease (seconds of the `Clock`).
const CHECK_LEASE_SECONDS: i64 = 300;

/// Checks one channel now and records the outcome. While another server
/// is checking it, the answer is the channel as last recorded.
pub async fn check(state: &AppState, name: &str) -> Result<ChannelView, ServiceError> {
    let row = state
        .store
        .channels()
        .await?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or(ServiceError::NotFound)?;
    let lock = state.channel_locks.of(row.id);
    let _held = lock.lock().await;
    let lease = format!("channel:{}", row.id);
    let now = state.clock.unix();
    if !state
        .store
        .take_lease(&lease, &state.worker, now, CHECK_LEASE_SECONDS)
        .await?
    {
        return Ok(view(&row, state.clock.now()));
    }
    let outcome = match row.kind.as_str() {
        "imap" => poll_imap(state, &row).await,
        "github" => crate::github::poll(state, &row).await,
        _ => Ok(()),
    };
    if let Err(e) = state.store.release_lease(&lease, &state.worker).await {
        tracing::warn!(channel = %row.name, error = %e, "the check's lease is kept until it ends");
    }
    let error = outcome.err();
    if let Some(e) = &error {
        tracing::warn!(channel = %row.name, error = %e, "channel check failed");
    }
    state
        .store
        .record_check(row.id, state.clock.unix(), error.as_deref())
        .await?;
    let rows = state.store.channels().await?;
    let row = rows
        .iter()
        .find(|r| r.name == name)
        .ok_or(ServiceError::NotFound)?;
    Ok(view(row, state.clock.now()))
}

/// The background poller: every second it asks the clock which active
/// channels are due and checks them. Ends when the server does.
pub async fn run_poller(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.beats.beat(crate::health::Loop::Poller);
        let Ok(rows) = state.store.channels().await else {
            continue;
        };
        let now = state.clock.now();
        for row in rows {
            if embargo_core::channel::check_due(&watch(&row), now) {
                let _ = check(&state, &row.name).await;
            }
        }
        state.beats.beat(crate::health::Loop::Poller);
    }
}

/// One poll of a mailbox: every unseen message through the intake path,
/// canaries recognised, then a new canary if one is due. A message is
/// marked seen only once it is stored.
async fn poll_imap(state: &AppState, row: &ChannelRow) -> Result<(), String> {
    let s: ImapSettings =
        serde_json::from_value(row.settings.clone()).map_err(|e| format!("settings: {e}"))?;
    let account = embargo_mail::imap::Account {
        host: &s.host,
        port: s.port,
        tls: s.tls,
        username: &s.username,
        password: &s.password,
        mailbox: &s.mailbox,
    };
    let mut mailbox =
        embargo_mail::imap::Mailbox::open(&account, Arc::new(crate::net::tls_config()?)).await?;
    let source = format!("imap {} ({})", row.name, s.mailbox);
    for uid in mailbox.unseen().await? {
        let Some(raw) = mailbox.fetch(uid).await? else {
            continue;
        };
        let now = state.clock.unix();
        if let Some(token) = embargo_mail::imap::canary_token(&raw) {
            // Ours: not a report. Only a canary we sent counts.
            let _ = state.store.canary_back(row.id, &token, now).await;
        } else {
            intake::mail::ingest(state, raw, &source)
                .await
                .map_err(|e| format!("storing message {uid}: {e}"))?;
            state
                .store
                .record_message_on(row.id, now)
                .await
                .map_err(|e| e.to_string())?;
        }
        // Stored: only now is it marked handled.
        mailbox.mark_seen(uid).await?;
    }
    mailbox.close().await;
    send_canary_if_due(state, row, &s).await
}

async fn send_canary_if_due(
    state: &AppState,
    row: &ChannelRow,
    s: &ImapSettings,
) -> Result<(), String> {
    let Some(address) = &s.canary_address else {
        return Ok(());
    };
    let now = state.clock.unix();
    let pending = row.canary_token.is_some();
    let last = row.canary_sent_at.unwrap_or(i64::MIN / 2);
    if pending || now - last < s.canary_every_seconds {
        return Ok(());
    }
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    crate::mailer::canary(
        &crate::mailer::Mailer::of(state),
        address,
        embargo_mail::imap::CANARY_HEADER,
        &token,
    )
    .await
    .map_err(|e| format!("sending the canary: {e}"))?;
    state
        .store
        .canary_sent(row.id, &token, now)
        .await
        .map_err(|e| e.to_string())
}

/// Whether any channel needs the SRT's attention.
pub async fn alerts(state: &AppState) -> Vec<ChannelView> {
    inventory(state)
        .await
        .map(|all| all.into_iter().filter(|c| c.alert).collect())
        .unwrap_or_default()
}
