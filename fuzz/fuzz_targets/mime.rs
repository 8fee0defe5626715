//! An email as a stranger sends it (plain, multipart with attachments and
//! nesting, inline OpenPGP, PGP/MIME), read as the mail intake reads it,
//! opened with a fixed intake key (`seeds/intake-key.asc`) so that the
//! seeds' encrypted messages reach the decrypted MIME inside.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static KEYS: LazyLock<embargo_pgp::IntakeKeys> = LazyLock::new(|| {
    embargo_pgp::IntakeKey::from_armored_secret(include_str!("../seeds/intake-key.asc"))
        .expect("the fuzz intake key reads")
        .into()
});

fuzz_target!(|data: &[u8]| {
    let limits = embargo_mail::inbound::Limits {
        max_message_bytes: 1 << 20,
        max_attachments: 8,
        max_attachment_bytes: 256 << 10,
    };
    if let Ok(read) = embargo_mail::inbound::read(data, &KEYS, &limits, None) {
        // What is kept stays within the limits.
        assert!(read.attachments.len() <= limits.max_attachments);
        assert!(
            read.attachments
                .iter()
                .all(|a| a.bytes.len() <= limits.max_attachment_bytes)
        );
    }
});
