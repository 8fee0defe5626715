//! One RFC 5322 message in: plain, inline-armored OpenPGP, or PGP/MIME
//! (RFC 3156, with protected headers), opened with the intake key and its
//! signature checked when the sender's key is known (attached to the
//! message). Field text is cleaned as every way in cleans it
//! (`embargo_core::text::one_line`).

use embargo_core::text::one_line;
use embargo_pgp::{Certificate, IntakeKeys, Signature};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

/// The limits a message is read under.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The whole message, in bytes.
    pub max_message_bytes: usize,
    /// How many files are kept (more stay only in the raw message).
    pub max_attachments: usize,
    /// The largest file kept, in bytes.
    pub max_attachment_bytes: usize,
}

/// A file that came with a message.
#[derive(Clone, Debug)]
pub struct Attachment {
    /// Its name as the sender gave it.
    pub name: String,
    /// Its media type as the sender gave it.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A message read and, if it was encrypted, opened.
pub struct Read {
    /// The From address.
    pub from_address: Option<String>,
    /// The From display name, one line.
    pub from_name: Option<String>,
    /// The Subject (the protected one inside PGP/MIME), one line.
    pub subject: String,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// In-Reply-To and References.
    pub thread_ids: Vec<String>,
    /// The text (opened, when it was encrypted).
    pub text: String,
    /// Whether it came encrypted to the intake key.
    pub encrypted: bool,
    /// The fingerprint of the key whose signature verified.
    pub signed_by: Option<String>,
    /// Signed by a key not on file: the key the signature names.
    pub signed_by_unknown: Option<String>,
    /// The sender's key sent with it (armored).
    pub reporter_key: Option<String>,
    /// Its files.
    pub attachments: Vec<Attachment>,
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

/// Reads a message and opens it with `key` (the current intake key or a
/// retired one that still decrypts); `Err` is the reason, in
/// embargo's words, it cannot be taken in (the caller keeps it in
/// quarantine). The signature is checked against the key the message
/// carries, or else `later_key` (a key that arrived after it).
///
/// A stranger writes these bytes, and the MIME parser has asserted on
/// some of them (mail-parser 0.11 checks a multipart's nesting with a
/// `debug_assert!`, found by `fuzz/fuzz_targets/mime.rs`), so a panic
/// inside is caught and the message kept as unreadable.
pub fn read(
    raw: &[u8],
    key: &IntakeKeys,
    limits: &Limits,
    later_key: Option<&str>,
) -> Result<Read, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_unguarded(raw, key, limits, later_key)
    }))
    .unwrap_or_else(|_| {
        Err("its MIME structure could not be read (the parser failed on it)".into())
    })
}

fn read_unguarded(
    raw: &[u8],
    key: &IntakeKeys,
    limits: &Limits,
    later_key: Option<&str>,
) -> Result<Read, String> {
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
    key: &IntakeKeys,
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
        out.attachments.push(Attachment {
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

/// The Message-ID of a message whose body could not be read (to file it
/// in quarantine under its reference).
pub fn message_id(raw: &[u8]) -> Option<String> {
    MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.message_id().map(str::to_owned))
}
