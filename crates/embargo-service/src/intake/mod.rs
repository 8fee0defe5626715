//! One intake path for every channel.
//!
//! A channel (the web form, email, GitHub, the API) turns what arrived into a
//! [`Submission`] and calls [`receive`]: limits are checked, the case is
//! created with its acknowledgement clock running from that moment, the raw
//! bytes are kept (sealed) in the same transaction, and the reporter gets a
//! private status link. What cannot be processed is [`quarantine`]d with the
//! reason, never dropped. A reporter's later message goes through
//! [`receive_reply`].

pub mod mail;

use embargo_core::{
    CaseId, Command, PersonId, Timestamp,
    event::{Channel, Report},
};
use embargo_store::{NewInbound, StoreError};
use rand::RngCore;

use crate::{AppState, accounts::new_token, datadir::token_hash};

/// The actor recorded for what the intake path writes.
pub fn intake_actor() -> PersonId {
    PersonId::new("system:intake").unwrap_or_else(|_| unreachable!("a valid person id"))
}

pub use crate::authz::reporter_actor;

/// A file sent with a report.
pub struct FileIn {
    /// The file's name as the sender gave it.
    pub name: String,
    /// Its media type as the sender gave it.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What a channel hands to the intake path.
pub struct Submission {
    /// Where it came from.
    pub channel: Channel,
    /// Which channel of its kind, or where from.
    pub source: String,
    /// The channel's own id for it (Message-ID, GHSA id), for idempotency.
    pub reference: Option<String>,
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// The report.
    pub report: Report,
    /// Files sent with it.
    pub attachments: Vec<FileIn>,
    /// The SRT member who entered it by hand; `None` when a channel delivered it.
    pub entered_by: Option<PersonId>,
}

/// The reporter's private status page for a token.
pub fn status_url(state: &AppState, token: &str) -> String {
    format!(
        "{}/report/status/{token}",
        crate::links::browser_base_url(state)
    )
}

/// A stranger's submission's turn at the intake gate (the server lets at
/// most one per core be worked on at once): held while the message is
/// read, decrypted and screened, and given back once only the durable
/// commit is awaited, so that many wait on one batch while the processor
/// goes to the next message.
#[derive(Clone, Debug)]
pub struct Turn(std::sync::Arc<std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>);

impl Turn {
    /// A turn holding `permit` until it is released (or dropped).
    pub fn new(permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        Turn(std::sync::Arc::new(std::sync::Mutex::new(Some(permit))))
    }

    fn release(&self) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }
}

tokio::task_local! {
    /// The turn of the submission this task works on, when it came
    /// through the intake gate.
    pub static TURN: Turn;
}

/// What the reporter is given back.
pub struct Receipt {
    /// The new case.
    pub case_id: CaseId,
    /// The case as the writer folded it (no read-back needed).
    pub case: Box<embargo_core::Case>,
    /// The private status link's token (shown once; stored as a hash).
    pub status_token: String,
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The report and the status token are the reporter's: never in a log line.
        f.debug_struct("Receipt")
            .field("case_id", &self.case_id)
            .finish_non_exhaustive()
    }
}

/// Why intake refused or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The submission breaks a rule; the submitter is told which.
    #[error("{0}")]
    Invalid(String),
    /// The channel delivered this before; it became this case (or was quarantined).
    #[error("already received ({0})")]
    AlreadyReceived(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for IntakeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyReceived(c) => IntakeError::AlreadyReceived(c),
            // A report the core refuses names the field, not a command.
            StoreError::Refused(embargo_core::Refusal::Invalid { reason, .. }) => {
                IntakeError::Invalid(reason)
            }
            StoreError::Refused(r) => IntakeError::Invalid(r.to_string()),
            other => IntakeError::Store(other),
        }
    }
}

impl From<IntakeError> for crate::error::ServiceError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid(m) => crate::error::ServiceError::Invalid(m),
            IntakeError::AlreadyReceived(c) => {
                crate::error::ServiceError::Invalid(format!("already received ({c})"))
            }
            IntakeError::Store(s) => s.into(),
        }
    }
}

pub use embargo_core::text::{multi_line, one_line};

/// A reporter's address: checked, not trusted.
pub fn email_address(text: &str) -> Result<Option<String>, IntakeError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let ok = t.len() <= 254
        && t.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !t
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c));
    if ok {
        Ok(Some(t.to_owned()))
    } else {
        // The reason is kept and shown: it names the problem, not the value.
        Err(IntakeError::Invalid(
            "the reporter's address is not an email address".into(),
        ))
    }
}

/// A fresh case id for `now`.
pub fn new_case_id(now: Timestamp) -> CaseId {
    let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
    CaseId::from_parts(year, rand::rngs::OsRng.next_u32() & 0x3FFF_FFFF)
}

fn check_limits(state: &AppState, sub: &Submission) -> Result<(), IntakeError> {
    let limits = &state.config.intake;
    if sub.raw.len() > limits.max_message_bytes {
        return Err(IntakeError::Invalid(format!(
            "the submission is {} bytes; the limit is {}",
            sub.raw.len(),
            limits.max_message_bytes
        )));
    }
    if sub.attachments.len() > limits.max_attachments {
        return Err(IntakeError::Invalid(format!(
            "{} attachments; at most {} are accepted",
            sub.attachments.len(),
            limits.max_attachments
        )));
    }
    for (n, f) in sub.attachments.iter().enumerate() {
        if f.bytes.len() > limits.max_attachment_bytes {
            return Err(IntakeError::Invalid(format!(
                "attachment {} of {} is {} bytes; the limit is {}",
                n + 1,
                sub.attachments.len(),
                f.bytes.len(),
                limits.max_attachment_bytes
            )));
        }
    }
    Ok(())
}

/// The network an address belongs to, for per-network limits: its IPv4
/// /24 or IPv6 /48.
pub fn network_of(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_of(std::net::IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

/// Counts one new report against the deployment's budget
/// (`[intake] reports_per_minute`, shared by every server). Within it, or
/// from a known reporter (an earlier report of theirs stood: not
/// rejected), `None`; else why the report is held.
pub async fn over_budget(state: &AppState, report: &Report) -> Option<String> {
    let limit = state.config.intake.reports_per_minute;
    if limit == 0 {
        return None;
    }
    if crate::accounts::counted(state, "intake-budget", limit, 60)
        .await
        .is_ok()
    {
        return None;
    }
    let known = state
        .store
        .reporter_history(
            report.reporter_email.as_deref(),
            report.intake.signed_by.as_deref(),
            crate::screening::HISTORY_LIMIT,
        )
        .await
        .is_ok_and(|h| h.iter().any(|c| c.rejected.is_empty()));
    (!known).then(|| {
        format!(
            "over the intake budget: more than {limit} new reports a minute from everyone; kept for the SRT"
        )
    })
}

/// Takes a report in: one case, its raw submission and the reporter's link,
/// written together. The acknowledgement clock starts now.
pub async fn receive(state: &AppState, sub: Submission) -> Result<Receipt, IntakeError> {
    check_limits(state, &sub)?;
    let mut report = sub.report;
    report.project = one_line(&report.project);
    report.title = one_line(&report.title);
    report.body = multi_line(&report.body);
    report.reporter_name = report
        .reporter_name
        .as_deref()
        .map(one_line)
        .filter(|n| !n.is_empty());
    report.reporter_email = match report.reporter_email.as_deref() {
        Some(e) => email_address(e)?,
        None => None,
    };
    report.intake.reference = sub.reference.clone();
    let now = state.clock.now();
    let status_token = new_token("rpt_");
    let inbound = NewInbound {
        received_at: now.as_second(),
        channel: sub.channel.name().to_owned(),
        source: sub.source.clone(),
        reference: sub.reference.clone(),
        raw: sub.raw,
        reporter_link: Some(token_hash(&status_token)),
        jobs: Vec::new(),
    };
    let actor = sub.entered_by.clone().unwrap_or_else(intake_actor);
    // A report an SRT member enters by hand is screened already.
    let held = if sub.entered_by.is_some() {
        Vec::new()
    } else {
        crate::screening::reasons(state, &report, sub.attachments.len()).await
    };
    // From here on the request waits for the writer's commit: the gate's
    // turn goes to the next submission.
    let _ = TURN.try_with(Turn::release);
    for _ in 0..3 {
        let id = new_case_id(now);
        let (r, a, held) = (report.clone(), actor.clone(), held.clone());
        // The receipt is written with the case, in one transaction.
        let mut inbound = inbound.clone();
        let url = status_url(state, &status_token);
        inbound.jobs.extend(crate::mailer::reporter_job(
            state,
            &id,
            report.reporter_email.is_some(),
            &format!("receipt:{id}"),
            &format!("[{id}] Report received"),
            &crate::mailer::receipt_text(state, &id, &url),
        ));
        match state
            .store
            .receive(id.clone(), inbound, move || {
                let mut events = embargo_core::decide_new(r, &a, now)?;
                if !held.is_empty() {
                    events.push(embargo_core::Event {
                        at: now,
                        actor: a,
                        data: embargo_core::EventData::ScreeningHeld { reasons: held },
                    });
                }
                Ok(events)
            })
            .await
        {
            Ok(case) => {
                // The case exists from here on: what follows is logged if it
                // fails, never reported as a failed submission (the reporter
                // would send it again). Attachments are in the raw
                // submission too.
                for f in &sub.attachments {
                    let name = one_line(&f.name);
                    let kind = one_line(&f.content_type);
                    if let Err(e) = state
                        .store
                        .add_attachment(&case.id, &name, &kind, &f.bytes)
                        .await
                    {
                        tracing::error!(case = %case.id, error = %e, "attachment not stored apart");
                    }
                }
                // At debug: under a flood a line per report would be the
                // intake's own I/O (the inventory and /metrics count them).
                tracing::debug!(
                    case = %case.id,
                    channel = sub.channel.name(),
                    screening = case.in_screening(),
                    "report received"
                );
                // Passive channels in the inventory show when they last carried a report.
                let kind = match sub.channel {
                    Channel::Email if sub.source.starts_with("pipe") => Some("pipe"),
                    Channel::Email | Channel::Github => None,
                    other => Some(other.name()),
                };
                // Once a second per kind: the inventory shows the second.
                let fresh = kind.is_some_and(|kind| {
                    let mut seen = state
                        .channel_seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    seen.insert(kind, now.as_second()) != Some(now.as_second())
                });
                if fresh
                    && let Some(kind) = kind
                    && let Err(e) = state
                        .store
                        .record_channel_message(kind, now.as_second())
                        .await
                {
                    tracing::warn!(error = %e, "channel inventory not updated");
                }
                return Ok(Receipt {
                    case_id: case.id.clone(),
                    case: Box::new(case),
                    status_token,
                });
            }
            Err(StoreError::CaseExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(IntakeError::Store(StoreError::Corrupt(
        "could not draw a free case id".into(),
    )))
}

/// Threads a reporter's message onto their case.
pub async fn receive_reply(
    state: &AppState,
    case_id: CaseId,
    channel: Channel,
    source: &str,
    reference: Option<String>,
    raw: Vec<u8>,
    text: &str,
) -> Result<(), IntakeError> {
    let limits = &state.config.intake;
    if raw.len() > limits.max_message_bytes {
        return Err(IntakeError::Invalid(format!(
            "the message is {} bytes; the limit is {}",
            raw.len(),
            limits.max_message_bytes
        )));
    }
    let now = state.clock.now();
    let inbound = NewInbound {
        received_at: now.as_second(),
        channel: channel.name().to_owned(),
        source: source.to_owned(),
        reference,
        raw,
        reporter_link: None,
        jobs: Vec::new(),
    };
    let text = multi_line(text);
    let actor = reporter_actor();
    state
        .store
        .receive_reply(case_id, inbound, move |case| {
            embargo_core::decide(case, Command::ReporterWrote { text, channel }, &actor, now)
        })
        .await?;
    Ok(())
}

/// Keeps what could not be processed, with the reason.
pub async fn quarantine(
    state: &AppState,
    channel: Channel,
    source: &str,
    reference: Option<String>,
    raw: Vec<u8>,
    reason: &str,
) -> Result<i64, IntakeError> {
    let inbound = NewInbound {
        received_at: state.clock.unix(),
        channel: channel.name().to_owned(),
        source: source.to_owned(),
        reference,
        raw,
        reporter_link: None,
        jobs: Vec::new(),
    };
    let id = state.store.quarantine(inbound, reason).await?;
    tracing::warn!(
        quarantine = id,
        channel = channel.name(),
        reason,
        "inbound message quarantined"
    );
    Ok(id)
}
