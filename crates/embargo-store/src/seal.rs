//! Encryption at rest. Each case has its own random data key; event payloads
//! are sealed with it (AES-256-GCM, the case id as associated data, so a
//! payload cannot be moved to another case). Data keys are stored wrapped by
//! the master key, which lives outside the database (a file in the data
//! directory by default) and never enters it: the database holds only a
//! check value that tells a wrong master key from a right one.
//!
//! The hash chain covers the sealed payloads, so `audit verify` needs no key.

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, KeyInit, Payload},
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::StoreError;

const SEALED_PREFIX: &str = "enc1:";
const NONCE_LEN: usize = 12;

/// What a keyed lookup hash starts with (a value stored before hashing
/// does not).
pub(crate) const LOOKUP_PREFIX: &str = "h1:";

/// The key that wraps every case's data key. Redacts itself in `Debug`.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        MasterKey(k)
    }

    /// Reads the key from its file form (64 hex digits).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| "the master key file must hold 64 hex digits".to_owned())?;
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the master key file must hold 64 hex digits".to_owned())?;
        Ok(MasterKey(k))
    }

    /// The key's file form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The keyed hash under which a channel reference (a Message-ID, a GHSA
    /// id) is stored where SQL must find it: HMAC-SHA-256 with a key derived
    /// from this one, so the database alone does not tell which messages
    /// arrived, and nobody without the key can test a guess.
    pub(crate) fn lookup(&self, value: &str) -> String {
        use hmac::Mac;
        let mut derived = Sha256::new();
        derived.update(b"embargo lookup key v1");
        derived.update(self.0);
        let Ok(mut mac) = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&derived.finalize()) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(value.as_bytes());
        format!(
            "{LOOKUP_PREFIX}{}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// A value that identifies the key without revealing it.
    pub(crate) fn check_value(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"embargo master key check v1");
        h.update(self.0);
        hex::encode(h.finalize())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }

    /// Seals a small secret kept in a table (a TOTP seed), bound to `label`.
    pub(crate) fn seal_value(&self, label: &str, value: &str) -> Result<String, StoreError> {
        seal_with(&self.cipher(), label, value.as_bytes())
    }

    /// Opens a value sealed by `seal_value`; values stored before sealing pass through.
    pub(crate) fn open_value(&self, label: &str, stored: &str) -> Result<String, StoreError> {
        if !is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        String::from_utf8(open_with(&self.cipher(), label, stored)?)
            .map_err(|_| StoreError::Corrupt(format!("{label}: not UTF-8")))
    }

    /// Seals bytes (a raw inbound message, an attachment) bound to `label`.
    pub(crate) fn seal_bytes(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        seal_raw(&self.cipher(), label, plaintext)
    }

    /// Opens bytes sealed by `seal_bytes`.
    pub(crate) fn open_bytes(&self, label: &str, stored: &[u8]) -> Result<Vec<u8>, StoreError> {
        open_raw(&self.cipher(), label, stored)
    }

    /// A new data key for `case`, and its wrapped (storable) form.
    pub(crate) fn new_data_key(&self, case: &str) -> Result<(DataKey, String), StoreError> {
        let dk = DataKey::generate();
        let wrapped = seal_with(&self.cipher(), &format!("case-key:{case}"), &dk.0)?;
        Ok((dk, wrapped))
    }

    /// Unwraps a stored data key.
    pub(crate) fn unwrap_data_key(&self, case: &str, wrapped: &str) -> Result<DataKey, StoreError> {
        let bytes = open_with(&self.cipher(), &format!("case-key:{case}"), wrapped)?;
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("case {case}: the data key is malformed")))?;
        Ok(DataKey(k))
    }
}

/// One case's key. Redacts itself in `Debug`.
pub(crate) struct DataKey([u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(redacted)")
    }
}

impl DataKey {
    fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        DataKey(k)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }

    /// Seals a payload for `case`.
    pub(crate) fn seal(&self, case: &str, plaintext: &str) -> Result<String, StoreError> {
        seal_with(&self.cipher(), case, plaintext.as_bytes())
    }

    /// Seals bytes (an attachment) for `case`, under `label`.
    pub(crate) fn seal_bytes(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        seal_raw(&self.cipher(), label, plaintext)
    }

    /// Opens bytes sealed by `seal_bytes`.
    pub(crate) fn open_bytes(&self, label: &str, stored: &[u8]) -> Result<Vec<u8>, StoreError> {
        open_raw(&self.cipher(), label, stored)
    }

    /// Opens a stored payload; payloads written before encryption pass through.
    pub(crate) fn open(&self, case: &str, stored: &str) -> Result<String, StoreError> {
        if !is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        let bytes = open_with(&self.cipher(), case, stored)?;
        String::from_utf8(bytes)
            .map_err(|_| StoreError::Corrupt(format!("case {case}: a payload is not UTF-8")))
    }
}

/// Whether a stored payload is sealed.
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

fn seal_with(cipher: &Aes256Gcm, aad: &str, plaintext: &[u8]) -> Result<String, StoreError> {
    Ok(format!(
        "{SEALED_PREFIX}{}",
        hex::encode(seal_raw(cipher, aad, plaintext)?)
    ))
}

/// Nonce followed by ciphertext and tag.
fn seal_raw(cipher: &Aes256Gcm, aad: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open_raw(cipher: &Aes256Gcm, aad: &str, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let bad = || {
        StoreError::Corrupt(format!(
            "{aad}: sealed bytes do not open with this key (wrong master key, or edited)"
        ))
    };
    let (nonce, ct) = bytes.split_at_checked(NONCE_LEN).ok_or_else(bad)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| bad())
}

fn open_with(cipher: &Aes256Gcm, aad: &str, stored: &str) -> Result<Vec<u8>, StoreError> {
    let bad = || {
        StoreError::Corrupt(format!(
            "{aad}: a sealed value does not open with this key (wrong master key, or edited)"
        ))
    };
    let hexed = stored.strip_prefix(SEALED_PREFIX).ok_or_else(bad)?;
    let bytes = hex::decode(hexed).map_err(|_| bad())?;
    let (nonce, ct) = bytes.split_at_checked(NONCE_LEN).ok_or_else(bad)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn sealed_payloads_open_only_with_their_key_and_case() {
        let master = MasterKey::generate();
        let (dk, wrapped) = master.new_data_key("EMB-2026-000001").unwrap();
        let sealed = dk.seal("EMB-2026-000001", "secret report").unwrap();
        assert!(!sealed.contains("secret"));
        let again = master.unwrap_data_key("EMB-2026-000001", &wrapped).unwrap();
        assert_eq!(
            again.open("EMB-2026-000001", &sealed).unwrap(),
            "secret report"
        );
        // Another case's id, another master key: refused, not misread.
        assert!(again.open("EMB-2026-000002", &sealed).is_err());
        assert!(
            MasterKey::generate()
                .unwrap_data_key("EMB-2026-000001", &wrapped)
                .is_err()
        );
        assert!(!format!("{master:?}{again:?}").contains(&master.to_hex()[..8]));
        let round = MasterKey::from_hex(&master.to_hex()).unwrap();
        assert_eq!(round.check_value(), master.check_value());
        assert!(MasterKey::from_hex("zz").is_err());
    }
}
