//! Email into the inbox: one RFC 5322 message at a time, from a mail
//! server's pipe (`embargo ingest-mail`) or the IMAP poller.
//!
//! Plain messages, inline-armored OpenPGP and PGP/MIME (RFC 3156, with
//! protected headers) are read; encrypted ones are opened with the intake
//! key and their signature checked when the sender's key is known (attached
//! to the message). A reply whose In-Reply-To or References names a message
//! of a case is threaded onto it. Whatever cannot be read is quarantined with
//! the reason.

use embargo_core::{
    CaseId,
    event::{Channel, Intake, Report},
};
use embargo_pgp::{Certificate, Signature};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

use super::{FileIn, IntakeError, Receipt, Submission, one_line};
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

/// A message read and, if it was encrypted, opened.
struct Read {
    from_address: Option<String>,
    from_name: Option<String>,
    subject: String,
    message_id: Option<String>,
    thread_ids: Vec<String>,
    text: String,
    encrypted: bool,
    signed_by: Option<String>,
    /// Signed by a key not on file: the key the signature names.
    signed_by_unknown: Option<String>,
    reporter_key: Option<String>,
    attachments: Vec<FileIn>,
}

const ARMOR_BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
const ARMOR_END: &str = "-----END PGP MESSAGE-----";

fn first_address(a: Option<&Address<'_>>) -> (Option<String>, Option<String>) {
    let Some(addr) = a.and_then(Address::first) else {
        return (None, None);
    };
    (
        addr.address().map(str::to_owned),
        addr.name().map(one_line).filter(|n| !n.is_empty()),
    )
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Reads a message; `Err` is the reason it goes to quarantine.
fn read(state: &AppState, raw: &[u8]) -> Result<Read, String> {
    read_with(state, raw, None)
}

/// `read`, checking the signature also against `later_key` (a key that
/// arrived after the message) when the message carries none.
fn read_with(state: &AppState, raw: &[u8], later_key: Option<&str>) -> Result<Read, String> {
    let limits = &state.config.intake;
    if raw.len() > limits.max_message_bytes {
        return Err(format!(
            "the message is {} bytes; the limit is {}",
            raw.len(),
            limits.max_message_bytes
        ));
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or("not an RFC 5322 message (no header could be read)")?;
    if msg.root_part().headers.is_empty() {
        return Err("not an RFC 5322 message (no header could be read)".into());
    }
    let (from_address, from_name) = first_address(msg.from());
    let from_address = from_address.ok_or("the message has no From address")?;
    let mut thread_ids = ids(msg.in_reply_to());
    thread_ids.extend(ids(msg.references()));
    let mut out = Read {
        from_address: Some(from_address),
        from_name,
        subject: one_line(msg.subject().unwrap_or_default()),
        message_id: msg.message_id().map(str::to_owned),
        thread_ids,
        text: String::new(),
        encrypted: false,
        signed_by: None,
        signed_by_unknown: None,
        reporter_key: None,
        attachments: Vec::new(),
    };

    let key = &state.intake_key;
    // The report body's own limit (the core refuses longer).
    let text_limit = 200_000;
    let pgp_mime = msg.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("encrypted"))
    });
    if pgp_mime {
        // RFC 3156: the second part carries the OpenPGP message.
        let payload = msg
            .parts
            .iter()
            .skip(1)
            .find(|p| {
                p.content_type().is_some_and(|ct| {
                    ct.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("octet-stream"))
                })
            })
            .map(|p| p.contents().to_vec())
            .ok_or("a multipart/encrypted message without its application/octet-stream part")?;
        let opened = key
            .open(&payload, limits.max_message_bytes, &[])
            .map_err(|e| e.to_string())?;
        out.encrypted = true;
        let inner = MessageParser::default()
            .parse(&opened.plaintext)
            .ok_or("the decrypted PGP/MIME part is not a MIME entity")?;
        // Protected headers (draft-autocrypt-lamps-protected-headers): the
        // inner part's Subject replaces the placeholder outside.
        if let Some(s) = inner.subject() {
            out.subject = one_line(s);
        }
        collect(
            &inner,
            &mut out,
            limits.max_attachments,
            limits.max_attachment_bytes,
        );
        if out.text.is_empty() {
            out.text = String::from_utf8_lossy(&opened.plaintext).into_owned();
        }
        out.signed_by = check_signature(key, &payload, &out, later_key, limits.max_message_bytes);
        out.signed_by_unknown = unknown_signer(&opened.signature, out.signed_by.as_deref());
    } else {
        collect(
            &msg,
            &mut out,
            limits.max_attachments,
            limits.max_attachment_bytes,
        );
        if let Some(start) = out.text.find(ARMOR_BEGIN) {
            let end = out.text[start..]
                .find(ARMOR_END)
                .map(|e| start + e + ARMOR_END.len())
                .ok_or("an inline OpenPGP message without its END line (truncated armor)")?;
            let block = out.text[start..end].to_owned();
            let opened = key
                .open(block.as_bytes(), limits.max_message_bytes, &[])
                .map_err(|e| e.to_string())?;
            out.encrypted = true;
            out.signed_by = check_signature(
                key,
                block.as_bytes(),
                &out,
                later_key,
                limits.max_message_bytes,
            );
            out.signed_by_unknown = unknown_signer(&opened.signature, out.signed_by.as_deref());
            let plain = String::from_utf8_lossy(&opened.plaintext).into_owned();
            out.text = format!("{}{}{}", &out.text[..start], plain, &out.text[end..]);
        }
    }
    let chars = out.text.chars().count();
    if chars > text_limit {
        return Err(format!(
            "the message text is {chars} characters; the limit is {text_limit}"
        ));
    }
    if out.text.trim().is_empty() && out.attachments.is_empty() {
        return Err("the message has no text and no attachment".into());
    }
    Ok(out)
}

/// For a signature no key on file verified: the key it names (or that it
/// names none), to record on the case.
fn unknown_signer(signature: &Signature, verified: Option<&str>) -> Option<String> {
    match signature {
        Signature::UnknownSigner { issuer } if verified.is_none() => Some(
            issuer
                .clone()
                .unwrap_or_else(|| "a key it does not name".into()),
        ),
        _ => None,
    }
}

/// Re-opens with the sender's key (found inside the message) to check the
/// signature. `None` when unsigned or not verified.
fn check_signature(
    key: &embargo_pgp::IntakeKey,
    payload: &[u8],
    read: &Read,
    later_key: Option<&str>,
    limit: usize,
) -> Option<String> {
    let armored = read.reporter_key.as_deref().or(later_key)?;
    let cert = Certificate::parse(armored.as_bytes()).ok()?;
    match key.open(payload, limit, &[cert]).ok()?.signature {
        Signature::Verified { fingerprint } => Some(fingerprint),
        Signature::Unsigned | Signature::UnknownSigner { .. } => None,
    }
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

/// Text bodies, the reporter's key and attachments of a (decrypted) message.
fn collect(
    msg: &mail_parser::Message<'_>,
    out: &mut Read,
    max_attachments: usize,
    max_bytes: usize,
) {
    let texts: Vec<String> = (0..msg.text_body_count())
        .filter_map(|i| msg.body_text(i).map(|t| t.into_owned()))
        .collect();
    if !texts.is_empty() {
        out.text = texts.join("\n\n");
    }
    let mut skipped = 0usize;
    for part in msg.attachments() {
        let is_key = part.content_type().is_some_and(|ct| {
            ct.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("pgp-keys"))
        });
        let bytes = match &part.body {
            PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Message(m) => m.raw_message().to_vec(),
            PartType::Multipart(_) => continue,
        };
        if is_key
            && out.reporter_key.is_none()
            && let Ok(cert) = Certificate::parse(&bytes)
        {
            out.reporter_key = cert.to_armored().ok();
            continue;
        }
        if out.attachments.len() >= max_attachments || bytes.len() > max_bytes {
            skipped += 1;
            continue;
        }
        out.attachments.push(FileIn {
            name: part.attachment_name().unwrap_or("attachment").to_owned(),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{sub}", ct.ctype()),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes,
        });
    }
    if skipped > 0 {
        out.text.push_str(&format!(
            "\n\n[{skipped} attachment(s) over the limits are kept only in the raw message]"
        ));
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

async fn ingest_as(
    state: &AppState,
    raw: Vec<u8>,
    source: &str,
    released: bool,
) -> Result<Outcome, IntakeError> {
    let read = match read(state, &raw) {
        Ok(r) => r,
        Err(reason) => {
            let reference = MessageParser::default()
                .parse_headers(&raw)
                .and_then(|m| m.message_id().map(str::to_owned));
            return match super::quarantine(state, Channel::Email, source, reference, raw, &reason)
                .await
            {
                Ok(id) => Ok(Outcome::Quarantined { id, reason }),
                Err(IntakeError::AlreadyReceived(c)) => Ok(Outcome::AlreadyReceived(c)),
                Err(e) => Err(e),
            };
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
            let id =
                super::quarantine(state, Channel::Email, source, read.message_id, raw, &reason)
                    .await?;
            return Ok(Outcome::Quarantined { id, reason });
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
        attachments: read.attachments,
        entered_by: None,
        raw: raw.clone(),
    };
    match super::receive(state, submission).await {
        Ok(receipt) => Ok(Outcome::Case(receipt)),
        Err(IntakeError::AlreadyReceived(c)) => Ok(Outcome::AlreadyReceived(c)),
        // A message that breaks a rule is kept with the reason, not bounced.
        Err(IntakeError::Invalid(reason)) => {
            let id =
                super::quarantine(state, Channel::Email, source, read.message_id, raw, &reason)
                    .await?;
            Ok(Outcome::Quarantined { id, reason })
        }
        Err(e) => Err(e),
    }
}
