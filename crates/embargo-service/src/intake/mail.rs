//! Email into the inbox: one RFC 5322 message at a time, from a mail
//! server's pipe (`embargo ingest-mail`) or the IMAP poller, read by
//! `embargo_mail::inbound` (plain, inline OpenPGP, PGP/MIME; opened with
//! the intake key, the signature checked). A reply whose In-Reply-To or References names a message
//! of a case is threaded onto it. Whatever cannot be read is quarantined with
//! the reason.

use embargo_core::{
    CaseId,
    event::{Channel, Intake, Report},
};
use embargo_mail::inbound::Read;

use super::{FileIn, IntakeError, Receipt, Submission};
use crate::AppState;

/// What became of a message.
#[derive(Debug)]
pub enum Outcome {
    /// A new case.
    Case(Receipt),
    /// A reporter's reply on a case.
    Reply(CaseId),
    /// Kept in quarantine.
    Quarantined {
        /// Its quarantine entry.
        id: i64,
        /// Why, in words.
        reason: String,
    },
    /// This Message-ID was received before.
    AlreadyReceived(String),
}

/// Reads a message; `Err` is the reason it goes to quarantine.
fn read(state: &AppState, raw: &[u8]) -> Result<Read, String> {
    read_with(state, raw, None)
}

/// `read`, checking the signature also against `later_key` (a key that
/// arrived after the message) when the message carries none.
fn read_with(state: &AppState, raw: &[u8], later_key: Option<&str>) -> Result<Read, String> {
    let limits = &state.config.intake;
    embargo_mail::inbound::read(
        raw,
        &state.intake().keys,
        &embargo_mail::inbound::Limits {
            max_message_bytes: limits.max_message_bytes,
            max_attachments: limits.max_attachments,
            max_attachment_bytes: limits.max_attachment_bytes,
        },
        later_key,
    )
}

/// A key that came with a reply may be the one the report was signed
/// with: the report's message, as received, is checked against it, and a
/// signature that now verifies is recorded on the case.
async fn verify_later(state: &AppState, case_id: &embargo_core::CaseId, key: &str) {
    let verify = async {
        let case = state.store.case(case_id).await.map_err(|e| e.to_string())?;
        if case.report.intake.signed_by.is_some() || case.report.intake.signed_by_unknown.is_none()
        {
            return Ok(());
        }
        let entries = state
            .store
            .inbound_for_case(case_id)
            .await
            .map_err(|e| e.to_string())?;
        let Some(first) = entries.iter().find(|e| e.outcome == "case") else {
            return Ok(());
        };
        let Some((_, raw)) = state
            .store
            .inbound_raw(first.id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let Some(fingerprint) = read_with(state, &raw, Some(key))?.signed_by else {
            return Ok(());
        };
        crate::authz::run_as_system(
            state,
            case_id,
            "system:intake",
            embargo_core::Command::RecordSignature { fingerprint },
        )
        .await
        .map(|_| ())
    };
    if let Err(e) = verify.await {
        tracing::warn!(case = %case_id, error = %e, "the report's signature could not be checked again");
    }
}

/// The wire form of an outcome.
pub fn wire(outcome: Outcome) -> embargo_api::MailReceived {
    let mut out = embargo_api::MailReceived {
        outcome: String::new(),
        case_id: None,
        quarantine_id: None,
        reason: None,
    };
    match outcome {
        Outcome::Case(r) => {
            out.outcome = "case".into();
            out.case_id = Some(r.case_id.to_string());
        }
        Outcome::Reply(c) => {
            out.outcome = "reply".into();
            out.case_id = Some(c.to_string());
        }
        Outcome::Quarantined { id, reason } => {
            out.outcome = "quarantined".into();
            out.quarantine_id = Some(id);
            out.reason = Some(reason);
        }
        Outcome::AlreadyReceived(c) => {
            out.outcome = "already_received".into();
            out.case_id = c.starts_with("EMB-").then_some(c);
        }
    }
    out
}

/// Takes in one message from `source` (the mailbox or pipe it came by).
pub async fn ingest(state: &AppState, raw: Vec<u8>, source: &str) -> Result<Outcome, IntakeError> {
    ingest_as(state, raw, source, false).await
}

/// Files a quarantined email as a new case, as the SRT decided: threading
/// is not followed, and the message's reference stays with its quarantine
/// entry (now released to the case), so a redelivery is still recognised.
pub async fn file_as_new_case(
    state: &AppState,
    quarantine_id: i64,
    by: &embargo_core::PersonId,
) -> Result<Outcome, IntakeError> {
    let (entry, raw) = state
        .store
        .inbound_raw(quarantine_id)
        .await?
        .filter(|(e, _)| e.outcome == "quarantined" && e.channel == "email")
        .ok_or_else(|| IntakeError::Invalid("no such email in quarantine".into()))?;
    let source = format!("{} (released from quarantine by {by})", entry.source);
    let outcome = ingest_as(state, raw, &source, true).await?;
    if let Outcome::Case(receipt) = &outcome {
        state
            .store
            .release_quarantined(quarantine_id, &receipt.case_id)
            .await?;
    }
    Ok(outcome)
}

/// Counts one new email report against its sender's address, domain and
/// OpenPGP key; the reason when one of them is over its limit.
async fn over_the_limit(state: &AppState, read: &Read) -> Option<String> {
    let cfg = &state.config.intake;
    let window = i64::from(cfg.submission_window_seconds);
    let address = read.from_address.as_deref().map(str::to_ascii_lowercase);
    let domain = address
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d.to_owned());
    let key = read
        .signed_by
        .clone()
        .or_else(|| read.signed_by_unknown.clone())
        .or_else(|| {
            read.reporter_key
                .as_deref()
                .and_then(|k| embargo_pgp::Certificate::parse(k.as_bytes()).ok())
                .map(|c| c.fingerprint())
        });
    let mut over = None;
    for (what, value, limit) in [
        ("address", address, cfg.mail_per_sender),
        ("domain", domain, cfg.mail_per_domain),
        ("key", key, cfg.mail_per_key),
    ] {
        let Some(value) = value.filter(|_| limit > 0) else {
            continue;
        };
        let counted =
            crate::accounts::counted(state, &format!("mail-{what}:{value}"), limit, window).await;
        if counted.is_err() && over.is_none() {
            over = Some(format!(
                "over the limit: more than {limit} new reports from this sender's {what} ({value}) in {window} seconds; kept for the SRT"
            ));
        }
    }
    over
}

/// Keeps the message in quarantine with `reason`. One whose reference
/// is stored already (a delivery of the same message that won a race
/// to the store) is that earlier delivery's, not an error.
async fn hold(
    state: &AppState,
    source: &str,
    reference: Option<String>,
    raw: Vec<u8>,
    reason: String,
) -> Result<Outcome, IntakeError> {
    match super::quarantine(state, Channel::Email, source, reference, raw, &reason).await {
        Ok(id) => Ok(Outcome::Quarantined { id, reason }),
        Err(IntakeError::AlreadyReceived(c)) => Ok(Outcome::AlreadyReceived(c)),
        Err(e) => Err(e),
    }
}

async fn ingest_as(
    state: &AppState,
    raw: Vec<u8>,
    source: &str,
    released: bool,
) -> Result<Outcome, IntakeError> {
    let read = match read(state, &raw) {
        Ok(r) => r,
        Err(reason) => {
            let reference = embargo_mail::inbound::message_id(&raw);
            return hold(state, source, reference, raw, reason).await;
        }
    };
    // A released message's reference stays with its quarantine entry.
    let mut read = read;
    if released {
        read.message_id = None;
    }
    if let Some(mid) = &read.message_id
        && let Some(seen) = state.store.already_received("email", mid).await?
    {
        return Ok(Outcome::AlreadyReceived(seen));
    }
    let thread = if released {
        None
    } else {
        state.store.thread_case(&read.thread_ids).await?
    };
    if let Some(case_id) = thread {
        let case = state.store.case(&case_id).await?;
        let from = read.from_address.as_deref().unwrap_or_default();
        let same_sender = case
            .report
            .reporter_email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(from));
        if !same_sender {
            let reason = format!(
                "a reply to {case_id} from an address that is not the reporter's; the SRT decides"
            );
            return hold(state, source, read.message_id, raw, reason).await;
        }
        match super::receive_reply(
            state,
            case_id.clone(),
            Channel::Email,
            source,
            read.message_id.clone(),
            raw,
            &read.text,
        )
        .await
        {
            Ok(()) => {
                if let Some(mid) = &read.message_id {
                    state.store.add_thread_id(mid, &case_id).await?;
                }
                if let Some(key) = &read.reporter_key {
                    verify_later(state, &case_id, key).await;
                }
                return Ok(Outcome::Reply(case_id));
            }
            Err(IntakeError::AlreadyReceived(c)) => return Ok(Outcome::AlreadyReceived(c)),
            Err(e) => return Err(e),
        }
    }
    // A flood from one sender, domain or key is kept, not filed: past the
    // limits a new report goes to quarantine with the reason. One the SRT
    // releases from there is filed whatever the counts.
    if !released && let Some(reason) = over_the_limit(state, &read).await {
        return hold(state, source, read.message_id, raw, reason).await;
    }
    let subject = if read.subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        read.subject.chars().take(300).collect()
    };
    let submission = Submission {
        channel: Channel::Email,
        source: source.to_owned(),
        reference: read.message_id.clone(),
        report: Report {
            project: state.config.intake.default_project.clone(),
            title: subject,
            body: read.text,
            reporter_name: read.from_name,
            reporter_email: read.from_address,
            channel: Channel::Email,
            intake: Intake {
                encrypted: read.encrypted,
                signed_by: read.signed_by,
                signed_by_unknown: read.signed_by_unknown,
                reporter_key: read.reporter_key,
                ..Intake::default()
            },
        },
        attachments: read
            .attachments
            .into_iter()
            .map(|a| FileIn {
                name: a.name,
                content_type: a.content_type,
                bytes: a.bytes,
            })
            .collect(),
        entered_by: None,
        raw: raw.clone(),
    };
    // Past the deployment's budget, a sender not known is held too.
    if !released && let Some(reason) = super::over_budget(state, &submission.report).await {
        return hold(state, source, submission.reference, raw, reason).await;
    }
    match super::receive(state, submission).await {
        Ok(receipt) => Ok(Outcome::Case(receipt)),
        Err(IntakeError::AlreadyReceived(c)) => Ok(Outcome::AlreadyReceived(c)),
        // A message that breaks a rule is kept with the reason, not bounced.
        Err(IntakeError::Invalid(reason)) => {
            hold(state, source, read.message_id, raw, reason).await
        }
        Err(e) => Err(e),
    }
}
