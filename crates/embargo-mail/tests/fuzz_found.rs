//! Inputs the fuzzers found (`fuzz/`), kept so they stay fixed.
#![allow(clippy::unwrap_used, reason = "test code")]

use embargo_mail::inbound::{Limits, read};

fn keys() -> embargo_pgp::IntakeKeys {
    embargo_pgp::IntakeKey::from_armored_secret(include_str!("../../../fuzz/seeds/intake-key.asc"))
        .unwrap()
        .into()
}

const LIMITS: Limits = Limits {
    max_message_bytes: 1 << 20,
    max_attachments: 8,
    max_attachment_bytes: 256 << 10,
};

/// mail-parser asserts (in a debug build) on this multipart's nesting: the
/// message is refused with a reason, the caller keeps it in quarantine,
/// and the process goes on.
#[test]
fn a_multipart_the_parser_asserts_on_is_refused_with_a_reason() {
    let raw = include_bytes!("fuzz-found/multipart-nesting.eml");
    let got = read(raw, &keys(), &LIMITS, None);
    if cfg!(debug_assertions) {
        // The parser's assertion fired and was caught.
        assert_eq!(
            got.err().as_deref(),
            Some("its MIME structure could not be read (the parser failed on it)")
        );
    } else if let Err(reason) = got {
        assert!(!reason.is_empty());
    }
    // And the next message reads as ever.
    let plain = b"From: Ada <ada@example.net>\r\nSubject: Crash\r\n\r\nSteps.\r\n";
    assert_eq!(
        read(plain, &keys(), &LIMITS, None).unwrap().subject,
        "Crash"
    );
}
