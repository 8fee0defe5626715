//! Mail to reporters: receipts and the team's messages, by SMTP, encrypted
//! (PGP/MIME, RFC 3156) when the reporter's key is on file.
//!
//! What goes out in clear names the case and says what to do; it never
//! carries the report. Each message's Message-ID is filed under the case so
//! that the reporter's reply threads onto it.

use embargo_core::{Case, CaseId};
use embargo_mail::outbound::{Outgoing, Sender};
use embargo_pgp::Certificate;

pub use embargo_mail::outbound::MailError;

use crate::AppState;

/// What sending needs, detached from the request (cheap to clone).
#[derive(Clone)]
pub struct Mailer {
    sender: Sender,
    store: embargo_store::Store,
}

impl Mailer {
    /// The mail settings of `state`, sending over its connections.
    pub fn of(state: &AppState) -> Self {
        Self {
            sender: state.mail_out.clone(),
            store: state.store.clone(),
        }
    }
}

/// The Message-ID of the mail an outbox job sends: the same for every
/// attempt, so a repeat after a crash is the same message to the recipient.
pub fn message_id_for(m: &Mailer, key: &str) -> String {
    m.sender.message_id_for(key)
}

/// Sends `text` to the case's reporter with `subject` as `id`, encrypted
/// when their key is on file, threaded onto their first message when it
/// came by email; the Message-ID is filed under the case.
pub async fn to_reporter(
    m: &Mailer,
    case: &Case,
    subject: &str,
    text: &str,
    id: &str,
) -> Result<String, MailError> {
    let to = case
        .report
        .reporter_email
        .as_deref()
        .ok_or(MailError::NoAddress)?;
    let reference = case
        .report
        .intake
        .reference
        .as_deref()
        .filter(|_| case.report.channel == embargo_core::event::Channel::Email);
    let key = case
        .report
        .intake
        .reporter_key
        .as_deref()
        .and_then(|k| Certificate::parse(k.as_bytes()).ok());
    // The outer Subject names only the case; the real one is inside.
    let outer = format!("[{}] ...", case.id);
    m.sender
        .send(Outgoing {
            from_name: "Security team",
            to: &[to.to_owned()],
            reply_to_sender: true,
            message_id: id,
            in_reply_to: reference,
            subject,
            text,
            sealed_to: key.as_ref().map(|k| (k, outer.as_str())),
            header: None,
        })
        .await?;
    m.store
        .add_thread_id(id.trim_matches(['<', '>']), &case.id)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    Ok(id.to_owned())
}

/// The receipt for a new report: the case id, the promise, the status link.
/// Nothing of the report itself.
pub fn receipt_text(state: &AppState, case: &CaseId, status_url: &str) -> String {
    format!(
        "Thank you for your report. It is filed as {case}.\n\n\
         The security team will acknowledge it within {hours} hours.\n\n\
         Follow it, and write to the team, on your private status page:\n{status_url}\n\n\
         Anyone with this link can read your report: keep it to yourself.\n\
         You can also reply to this message.\n",
        hours = state.config.sla.acknowledge_hours,
    )
}

/// Puts a message to the reporter in the outbox under `key` (once per key):
/// the worker sends it, retries it, and records every attempt on the case.
/// Nothing is queued without an SMTP server or a reporter address; the
/// status page shows the same messages.
pub async fn enqueue_to_reporter(
    state: &AppState,
    case: &Case,
    key: &str,
    subject: &str,
    text: &str,
) -> Result<(), embargo_store::StoreError> {
    let Some(job) = reporter_job(
        state,
        &case.id,
        case.report.reporter_email.is_some(),
        key,
        subject,
        text,
    ) else {
        return Ok(());
    };
    state
        .store
        .enqueue(
            &job.key,
            &job.kind,
            job.case_id.as_deref(),
            &job.payload,
            job.at,
        )
        .await?;
    Ok(())
}

/// The outbox job that mails the reporter `subject` and `text` under
/// `key`; `None` without an SMTP server or a reporter address.
pub fn reporter_job(
    state: &AppState,
    case: &embargo_core::CaseId,
    has_address: bool,
    key: &str,
    subject: &str,
    text: &str,
) -> Option<embargo_store::NewJob> {
    reporter_job_with(
        state.config.smtp.host.is_some(),
        state.clock.unix(),
        case,
        has_address,
        key,
        subject,
        text,
    )
}

/// `reporter_job` from what it depends on: whether mail can go out, and
/// the time (for a job built inside the store's writer).
pub fn reporter_job_with(
    mail_on: bool,
    at: i64,
    case: &embargo_core::CaseId,
    has_address: bool,
    key: &str,
    subject: &str,
    text: &str,
) -> Option<embargo_store::NewJob> {
    if !mail_on || !has_address {
        return None;
    }
    use crate::jobs::Job;
    Some(
        crate::jobs::mail_reporter::MailReporter {
            case_id: case.to_string(),
            subject: subject.to_owned(),
            text: text.to_owned(),
            key: key.to_owned(),
        }
        .row(at),
    )
}

/// What the reporter is told when the team runs `command`, if anything.
pub fn for_reporter(case: &CaseId, command: &embargo_core::Command) -> Option<(String, String)> {
    use embargo_core::Command as C;
    let text = match command {
        C::Acknowledge { message } => message.clone(),
        C::RequestInfo { question } => question.clone(),
        C::MessageReporter { text } => text.clone(),
        C::Reject { rejection } if rejection.reason != embargo_core::event::RejectReason::Spam => {
            format!("{}: {}", rejection.reason.name(), rejection.explanation)
        }
        C::MarkFixReady => {
            return Some((
                format!("[{case}] A fix is ready: please retest"),
                "The fixing team has a fix for the vulnerability you reported. Could you check \
                 that it resolves the problem? Your status page asks whether it does; you can \
                 answer there, with what you found."
                    .into(),
            ));
        }
        _ => return None,
    };
    Some((format!("[{case}] A message from the security team"), text))
}

/// Sends a canary to a watched mailbox: a message the poller recognises by
/// its header and token when it comes back.
pub async fn canary(
    m: &Mailer,
    to: &str,
    header: &'static str,
    token: &str,
) -> Result<(), MailError> {
    m.sender
        .send(Outgoing {
            from_name: "embargo canary",
            to: &[to.to_owned()],
            reply_to_sender: false,
            message_id: &m.sender.message_id(),
            in_reply_to: None,
            subject: "embargo channel canary",
            text: "This message checks that this mailbox is watched. It is not a report.\n",
            sealed_to: None,
            header: Some((header, token)),
        })
        .await
}

/// Mails one team member. With their OpenPGP key on file the message is
/// encrypted (PGP/MIME) and also carries `detail` (case titles); without
/// it, only `text`, which names cases and times, never what they are about.
pub async fn to_person(
    m: &Mailer,
    to: &str,
    key: Option<&str>,
    subject: &str,
    text: &str,
    detail: &str,
    id: &str,
) -> Result<(), MailError> {
    let cert = key.and_then(|k| Certificate::parse(k.as_bytes()).ok());
    let full = match &cert {
        Some(_) if !detail.is_empty() => {
            format!("{text}\nIn detail (sent only encrypted):\n{detail}\n")
        }
        _ => text.to_owned(),
    };
    m.sender
        .send(Outgoing {
            from_name: "embargo",
            to: &[to.to_owned()],
            reply_to_sender: false,
            message_id: id,
            in_reply_to: None,
            subject,
            text: &full,
            sealed_to: cert.as_ref().map(|c| (c, "...")),
            header: None,
        })
        .await
}

/// Sends a public announcement (plain text) to `lists`, one message.
pub async fn announce(
    m: &Mailer,
    lists: &[String],
    subject: &str,
    text: &str,
    id: &str,
) -> Result<(), MailError> {
    m.sender
        .send(Outgoing {
            from_name: "Security team",
            to: lists,
            reply_to_sender: true,
            message_id: id,
            in_reply_to: None,
            subject,
            text,
            sealed_to: None,
            header: None,
        })
        .await
}

/// Sends `text` encrypted to `key` (PGP/MIME, the subject protected
/// inside); never in clear: a key that does not read is an error.
pub async fn encrypted_to(
    m: &Mailer,
    to: &str,
    key: &str,
    subject: &str,
    text: &str,
    id: &str,
) -> Result<(), MailError> {
    let cert = Certificate::parse(key.as_bytes()).map_err(|e| MailError::Build(e.to_string()))?;
    m.sender
        .send(Outgoing {
            from_name: "Security team",
            to: &[to.to_owned()],
            reply_to_sender: true,
            message_id: id,
            in_reply_to: None,
            subject,
            text,
            sealed_to: Some((&cert, "Embargoed security notice")),
            header: None,
        })
        .await
}
