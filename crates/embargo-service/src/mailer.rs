//! Mail to reporters: receipts and the team's messages, by SMTP, encrypted
//! (PGP/MIME, RFC 3156) when the reporter's key is on file.
//!
//! What goes out in clear names the case and says what to do; it never
//! carries the report. Each message's Message-ID is filed under the case so
//! that the reporter's reply threads onto it.

use embargo_core::{Case, CaseId};
use embargo_pgp::Certificate;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MessageBuilder, MultiPart, SinglePart, header::ContentType},
    transport::smtp::authentication::Credentials,
};
use rand::RngCore;

use crate::AppState;

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No SMTP server is configured.
    #[error("no SMTP server is configured ([smtp] host)")]
    NotConfigured,
    /// The case has no address to write to.
    #[error("the case has no reporter address")]
    NoAddress,
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP server refused or failed.
    #[error("the SMTP server refused or failed: {0}")]
    Send(String),
}

/// What sending needs, detached from the request (cheap to clone).
#[derive(Clone)]
pub struct Mailer {
    smtp: crate::config::Smtp,
    address: String,
    store: embargo_store::Store,
}

impl Mailer {
    /// The mail settings of `state`.
    pub fn of(state: &AppState) -> Self {
        Self {
            smtp: state.config.smtp.clone(),
            address: state.config.intake.address.clone(),
            store: state.store.clone(),
        }
    }
}

fn transport(m: &Mailer) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let cfg = &m.smtp;
    let host = cfg.host.as_deref().ok_or(MailError::NotConfigured)?;
    let builder = match cfg.security.as_str() {
        "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| MailError::Build(e.to_string()))?,
        _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| MailError::Build(e.to_string()))?,
    };
    let mut builder = builder
        .port(cfg.port)
        .timeout(Some(std::time::Duration::from_secs(u64::from(
            cfg.timeout_seconds,
        ))));
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(builder.build())
}

/// A fresh Message-ID in the team's domain.
fn message_id(m: &Mailer) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let domain = m
        .address
        .rsplit_once('@')
        .map_or("embargo.invalid", |(_, d)| d);
    format!("<{}@{domain}>", hex::encode(bytes))
}

/// The Message-ID of the mail an outbox job sends: the same for every
/// attempt, so a repeat after a crash is the same message to the recipient.
pub fn message_id_for(m: &Mailer, key: &str) -> String {
    use sha2::Digest;
    let domain = m
        .address
        .rsplit_once('@')
        .map_or("embargo.invalid", |(_, d)| d);
    let digest = sha2::Sha256::digest(key.as_bytes());
    format!(
        "<{}@{domain}>",
        hex::encode(digest.get(..16).unwrap_or_default())
    )
}

/// Sends `text` to the case's reporter with `subject` as `id`.
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
    let transport = transport(m)?;
    let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
    let from: Mailbox = format!("Security team <{}>", m.address)
        .parse()
        .map_err(|e| build(&e))?;
    let to: Mailbox = to.parse().map_err(|e| build(&e))?;
    let id = id.to_owned();
    let mut builder = Message::builder()
        .from(from.clone())
        .reply_to(from)
        .to(to)
        .message_id(Some(id.clone()));
    // Thread onto the reporter's own first message, when it came by email.
    if let Some(reference) = &case.report.intake.reference
        && case.report.channel == embargo_core::event::Channel::Email
    {
        let reference = format!("<{}>", reference.trim_matches(['<', '>']));
        builder = builder.in_reply_to(reference.clone()).references(reference);
    }
    let key = case
        .report
        .intake
        .reporter_key
        .as_deref()
        .and_then(|k| Certificate::parse(k.as_bytes()).ok());
    let message = match key {
        // The outer Subject names only the case; the real one is inside.
        Some(cert) => sealed(builder, &cert, &format!("[{}] ...", case.id), subject, text)?,
        None => plain(builder, subject, text)?,
    };
    transport
        .send(message)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    m.store
        .add_thread_id(id.trim_matches(['<', '>']), &case.id)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    Ok(id)
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
    Some(embargo_store::NewJob {
        key: key.to_owned(),
        kind: "mail_reporter".into(),
        case_id: Some(case.to_string()),
        payload: serde_json::json!({ "case_id": case.as_str(), "subject": subject, "text": text }),
        at,
    })
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
    let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
    let from: Mailbox = format!("embargo canary <{}>", m.address)
        .parse()
        .map_err(|e| build(&e))?;
    let to: Mailbox = to.parse().map_err(|e| build(&e))?;
    let mut message = Message::builder()
        .from(from)
        .to(to)
        .message_id(Some(message_id(m)))
        .subject("embargo channel canary")
        .header(ContentType::TEXT_PLAIN)
        .body(String::from(
            "This message checks that this mailbox is watched. It is not a report.\n",
        ))
        .map_err(|e| build(&e))?;
    message
        .headers_mut()
        .insert_raw(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str(header),
            token.to_owned(),
        ));
    transport(m)?
        .send(message)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    Ok(())
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
    let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
    let from: Mailbox = format!("embargo <{}>", m.address)
        .parse()
        .map_err(|e| build(&e))?;
    let to: Mailbox = to.parse().map_err(|e| build(&e))?;
    let builder = Message::builder()
        .from(from)
        .to(to)
        .message_id(Some(id.to_owned()));
    let cert = key.and_then(|k| Certificate::parse(k.as_bytes()).ok());
    let message = match cert {
        Some(cert) => {
            let full = if detail.is_empty() {
                text.to_owned()
            } else {
                format!("{text}\nIn detail (sent only encrypted):\n{detail}\n")
            };
            sealed(builder, &cert, "...", subject, &full)?
        }
        None => plain(builder, subject, text)?,
    };
    transport(m)?
        .send(message)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    Ok(())
}

/// Sends a public announcement (plain text) to `lists`, one message.
pub async fn announce(
    m: &Mailer,
    lists: &[String],
    subject: &str,
    text: &str,
    id: &str,
) -> Result<(), MailError> {
    let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
    let from: Mailbox = format!("Security team <{}>", m.address)
        .parse()
        .map_err(|e| build(&e))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .reply_to(from)
        .message_id(Some(id.to_owned()));
    for l in lists {
        builder = builder.to(l.parse().map_err(|e| build(&e))?);
    }
    let message = plain(builder, subject, text)?;
    transport(m)?
        .send(message)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    Ok(())
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
    let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
    let cert = Certificate::parse(key.as_bytes()).map_err(|e| build(&e))?;
    let from: Mailbox = format!("Security team <{}>", m.address)
        .parse()
        .map_err(|e| build(&e))?;
    let to: Mailbox = to.parse().map_err(|e| build(&e))?;
    let builder = Message::builder()
        .from(from.clone())
        .reply_to(from)
        .to(to)
        .message_id(Some(id.to_owned()));
    let message = sealed(builder, &cert, "Embargoed security notice", subject, text)?;
    transport(m)?
        .send(message)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    Ok(())
}

/// A plain-text message.
fn plain(builder: MessageBuilder, subject: &str, text: &str) -> Result<Message, MailError> {
    builder
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(text.to_owned())
        .map_err(|e| MailError::Build(e.to_string()))
}

/// A PGP/MIME message (RFC 3156) encrypted to `cert`, its real Subject
/// protected inside (the `protected-headers` convention), `outer_subject`
/// outside.
fn sealed(
    builder: MessageBuilder,
    cert: &Certificate,
    outer_subject: &str,
    subject: &str,
    text: &str,
) -> Result<Message, MailError> {
    let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
    let inner = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n\
         Subject: {subject}\r\n\r\n{}",
        text.replace('\n', "\r\n")
    );
    let armored = cert.encrypt(inner.as_bytes()).map_err(|e| build(&e))?;
    let control = ContentType::parse("application/pgp-encrypted").map_err(|e| build(&e))?;
    let payload = ContentType::parse("application/octet-stream; name=\"encrypted.asc\"")
        .map_err(|e| build(&e))?;
    builder
        .subject(outer_subject)
        .multipart(
            MultiPart::encrypted("application/pgp-encrypted".into())
                .singlepart(
                    SinglePart::builder()
                        .header(control)
                        .body(String::from("Version: 1\r\n")),
                )
                .singlepart(SinglePart::builder().header(payload).body(armored)),
        )
        .map_err(|e| build(&e))
}
