//! OpenPGP bytes as a stranger sends them: a message to open with the
//! intake key (armored or binary packets), and a certificate (a reporter's
//! key, a team member's key on their account page).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static KEYS: LazyLock<embargo_pgp::IntakeKeys> = LazyLock::new(|| {
    embargo_pgp::IntakeKey::from_armored_secret(include_str!("../seeds/intake-key.asc"))
        .expect("the fuzz intake key reads")
        .into()
});

fuzz_target!(|data: &[u8]| {
    let limit = 64 << 10;
    if let Ok(opened) = KEYS.open(data, limit, &[]) {
        assert!(opened.plaintext.len() <= limit, "the limit holds");
    }
    if let Ok(cert) = embargo_pgp::Certificate::parse(data) {
        let _ = cert.fingerprint();
        let _ = cert.to_armored();
    }
});
