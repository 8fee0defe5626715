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
use std::sync::{Arc, RwLock};

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

    /// A value that identifies the key without revealing it (the database
    /// keeps it, to tell a wrong key from a right one).
    pub fn check_value(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"embargo master key check v1");
        h.update(self.0);
        hex::encode(h.finalize())
    }

    /// The key of the keyed lookup hashes that a database first sealed with
    /// this key uses (until a rotation, when it is kept in the database,
    /// wrapped).
    fn derived_lookup(&self) -> [u8; 32] {
        let mut derived = Sha256::new();
        derived.update(b"embargo lookup key v1");
        derived.update(self.0);
        derived.finalize().into()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }
}

/// Reads the master keys a deployment holds (the current key file, and
/// during a rotation the new one beside it), so that a store shared by
/// several processes follows a rotation that another process started.
pub type KeySource = Arc<dyn Fn() -> Result<Vec<MasterKey>, String> + Send + Sync>;

/// What the database says about its master key: the key everything was
/// sealed with, and during a rotation the key everything is being moved to
/// (which seals all that is written meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyState {
    pub(crate) check: String,
    pub(crate) next: Option<String>,
}

impl KeyState {
    fn write_check(&self) -> &str {
        self.next.as_deref().unwrap_or(&self.check)
    }
}

/// The keys in use: the one that seals, and during a rotation the old one
/// that still opens what is not yet moved.
#[derive(Clone)]
struct Ring {
    write: MasterKey,
    old: Option<MasterKey>,
    /// A key found in the key files to open something neither of the
    /// others opens (another process finished a rotation).
    found: Option<MasterKey>,
}

impl Ring {
    fn arrange(available: &[MasterKey], state: &KeyState) -> Result<Ring, StoreError> {
        let find = |check: &str| available.iter().find(|k| k.check_value() == check).cloned();
        let write = find(state.write_check()).ok_or(StoreError::WrongKey)?;
        let old = match &state.next {
            None => None,
            Some(_) => Some(find(&state.check).ok_or(StoreError::OldKeyMissing)?),
        };
        Ok(Ring {
            write,
            old,
            found: None,
        })
    }

    fn matches(&self, state: &KeyState) -> bool {
        self.write.check_value() == state.write_check()
            && match (&state.next, &self.old) {
                (None, _) => true,
                (Some(_), Some(old)) => old.check_value() == state.check,
                (Some(_), None) => false,
            }
    }

    fn openers(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.write)
            .chain(self.old.as_ref())
            .chain(self.found.as_ref())
    }
}

/// The store's keys: the master key (two during a rotation) and the key of
/// the lookup hashes, which outlives rotations. Every seal uses the key the
/// database names in the same transaction ([`Keys::sync`]); every open tries
/// the keys in use, then the key files.
pub(crate) struct Keys {
    ring: RwLock<Ring>,
    lookup: [u8; 32],
    /// The keys the store was opened with.
    given: Vec<MasterKey>,
    source: Option<KeySource>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(redacted)")
    }
}

/// The lookup key's place in `store_keys`.
pub(crate) const LOOKUP_KEY: &str = "lookup";

/// The label a store key is sealed under.
pub(crate) fn store_key_label(name: &str) -> String {
    format!("store-key:{name}")
}

impl Keys {
    /// The keys for a database in `state`, from the keys `available`;
    /// `lookup` is the stored lookup key, if the database keeps one.
    pub(crate) fn new(
        available: &[MasterKey],
        state: &KeyState,
        stored_lookup: Option<&str>,
        source: Option<KeySource>,
    ) -> Result<Self, StoreError> {
        let ring = Ring::arrange(available, state)?;
        let lookup = match stored_lookup {
            Some(wrapped) => {
                let label = store_key_label(LOOKUP_KEY);
                let bytes = ring
                    .openers()
                    .find_map(|k| open_with(&k.cipher(), &label, wrapped).ok())
                    .ok_or_else(|| {
                        StoreError::Corrupt(
                            "the lookup key does not open with the master key".into(),
                        )
                    })?;
                bytes
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("the lookup key is malformed".into()))?
            }
            None => {
                let original = available
                    .iter()
                    .find(|k| k.check_value() == state.check)
                    .ok_or(StoreError::OldKeyMissing)?;
                original.derived_lookup()
            }
        };
        Ok(Keys {
            ring: RwLock::new(ring),
            lookup,
            given: available.to_vec(),
            source,
        })
    }

    fn ring(&self) -> Ring {
        match self.ring.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_ring(&self, ring: Ring) {
        match self.ring.write() {
            Ok(mut r) => *r = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
    }

    fn reload(&self) -> Result<Vec<MasterKey>, StoreError> {
        match &self.source {
            Some(source) => source().map_err(StoreError::Unavailable),
            None => Ok(Vec::new()),
        }
    }

    /// Makes the key that seals the one `state` names, reading the key
    /// files again if another process started or finished a rotation.
    pub(crate) fn sync(&self, state: &KeyState) -> Result<(), StoreError> {
        if self.ring().matches(state) {
            return Ok(());
        }
        let mut available = self.reload()?;
        available.extend(self.given.iter().cloned());
        available.extend(self.ring().openers().cloned());
        self.set_ring(Ring::arrange(&available, state)?);
        Ok(())
    }

    /// The lookup key material (for the stored copy a rotation keeps).
    pub(crate) fn lookup_key(&self) -> [u8; 32] {
        self.lookup
    }

    /// Opens with any key in use, then with the key files' keys.
    fn open_any<T>(
        &self,
        open: impl Fn(&Aes256Gcm) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let ring = self.ring();
        let mut last = None;
        for k in ring.openers() {
            match open(&k.cipher()) {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        if self.source.is_some() {
            for k in self.reload()? {
                if let Ok(v) = open(&k.cipher()) {
                    let mut ring = ring;
                    ring.found = Some(k);
                    self.set_ring(ring);
                    return Ok(v);
                }
            }
        }
        Err(last.unwrap_or_else(|| StoreError::Corrupt("no key".into())))
    }

    /// Whether `stored` (a sealed value) opens with the key that seals.
    pub(crate) fn opens_with_write_key(&self, label: &str, stored: Sealed<'_>) -> bool {
        let cipher = self.ring().write.cipher();
        match stored {
            Sealed::Text(t) => open_with(&cipher, label, t).is_ok(),
            Sealed::Bytes(b) => open_raw(&cipher, label, b).is_ok(),
        }
    }

    /// The keyed hash under which a channel reference (a Message-ID, a GHSA
    /// id) is stored where SQL must find it: HMAC-SHA-256 with the lookup
    /// key, so the database alone does not tell which messages arrived, and
    /// nobody without the key can test a guess.
    pub(crate) fn lookup(&self, value: &str) -> String {
        use hmac::Mac;
        let Ok(mut mac) = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&self.lookup) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(value.as_bytes());
        format!(
            "{LOOKUP_PREFIX}{}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// Seals a small secret kept in a table (a TOTP seed), bound to `label`.
    pub(crate) fn seal_value(&self, label: &str, value: &str) -> Result<String, StoreError> {
        seal_with(&self.ring().write.cipher(), label, value.as_bytes())
    }

    /// Opens a value sealed by `seal_value`; values stored before sealing pass through.
    pub(crate) fn open_value(&self, label: &str, stored: &str) -> Result<String, StoreError> {
        if !is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        String::from_utf8(self.open_any(|c| open_with(c, label, stored))?)
            .map_err(|_| StoreError::Corrupt(format!("{label}: not UTF-8")))
    }

    /// Seals bytes (a raw inbound message, an attachment) bound to `label`.
    pub(crate) fn seal_bytes(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        seal_raw(&self.ring().write.cipher(), label, plaintext)
    }

    /// Opens bytes sealed by `seal_bytes`.
    pub(crate) fn open_bytes(&self, label: &str, stored: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.open_any(|c| open_raw(c, label, stored))
    }

    /// Seals `stored` again under the key that seals, if another key
    /// sealed it: the new form, or `None` if it needs nothing.
    pub(crate) fn reseal(
        &self,
        label: &str,
        stored: Sealed<'_>,
    ) -> Result<Option<Resealed>, StoreError> {
        if self.opens_with_write_key(label, stored) {
            return Ok(None);
        }
        Ok(Some(match stored {
            Sealed::Text(t) => {
                let plain = self.open_any(|c| open_with(c, label, t))?;
                Resealed::Text(seal_with(&self.ring().write.cipher(), label, &plain)?)
            }
            Sealed::Bytes(b) => {
                let plain = self.open_any(|c| open_raw(c, label, b))?;
                Resealed::Bytes(seal_raw(&self.ring().write.cipher(), label, &plain)?)
            }
        }))
    }

    /// A new data key for `case`, and its wrapped (storable) form.
    pub(crate) fn new_data_key(&self, case: &str) -> Result<(DataKey, String), StoreError> {
        let dk = DataKey::generate();
        let wrapped = seal_with(&self.ring().write.cipher(), &case_key_label(case), &dk.0)?;
        Ok((dk, wrapped))
    }

    /// Unwraps a stored data key.
    pub(crate) fn unwrap_data_key(&self, case: &str, wrapped: &str) -> Result<DataKey, StoreError> {
        let label = case_key_label(case);
        let bytes = self.open_any(|c| open_with(c, &label, wrapped))?;
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("case {case}: the data key is malformed")))?;
        Ok(DataKey(k))
    }
}

/// The label a case's data key is wrapped under.
pub(crate) fn case_key_label(case: &str) -> String {
    format!("case-key:{case}")
}

/// A sealed value as stored: text (`enc1:` and hex) or bytes.
#[derive(Clone, Copy)]
pub(crate) enum Sealed<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// A value sealed again, in its stored form.
pub(crate) enum Resealed {
    Text(String),
    Bytes(Vec<u8>),
}

/// Seals `value` with `key` directly (the stored lookup key).
pub(crate) fn seal_store_key(keys: &Keys, name: &str, value: &[u8]) -> Result<String, StoreError> {
    seal_with(&keys.ring().write.cipher(), &store_key_label(name), value)
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

    fn alone(key: &MasterKey) -> Keys {
        let state = KeyState {
            check: key.check_value(),
            next: None,
        };
        Keys::new(std::slice::from_ref(key), &state, None, None).unwrap()
    }

    #[test]
    fn sealed_payloads_open_only_with_their_key_and_case() {
        let master = MasterKey::generate();
        let keys = alone(&master);
        let (dk, wrapped) = keys.new_data_key("EMB-2026-000001").unwrap();
        let sealed = dk.seal("EMB-2026-000001", "secret report").unwrap();
        assert!(!sealed.contains("secret"));
        let again = keys.unwrap_data_key("EMB-2026-000001", &wrapped).unwrap();
        assert_eq!(
            again.open("EMB-2026-000001", &sealed).unwrap(),
            "secret report"
        );
        // Another case's id, another master key: refused, not misread.
        assert!(again.open("EMB-2026-000002", &sealed).is_err());
        assert!(
            alone(&MasterKey::generate())
                .unwrap_data_key("EMB-2026-000001", &wrapped)
                .is_err()
        );
        assert!(!format!("{master:?}{again:?}{keys:?}").contains(&master.to_hex()[..8]));
        let round = MasterKey::from_hex(&master.to_hex()).unwrap();
        assert_eq!(round.check_value(), master.check_value());
        assert!(MasterKey::from_hex("zz").is_err());
    }

    #[test]
    fn during_a_rotation_the_new_key_seals_and_both_open_and_lookups_stay() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let before = alone(&old);
        let (_, under_old) = before.new_data_key("EMB-2026-000001").unwrap();
        let rotating = KeyState {
            check: old.check_value(),
            next: Some(new.check_value()),
        };
        let both = [new.clone(), old.clone()];
        let keys = Keys::new(&both, &rotating, None, None).unwrap();
        // The lookup key is still the one derived from the old key.
        assert_eq!(keys.lookup("m@x"), before.lookup("m@x"));
        let (_, under_new) = keys.new_data_key("EMB-2026-000002").unwrap();
        assert!(keys.unwrap_data_key("EMB-2026-000001", &under_old).is_ok());
        assert!(
            alone(&new)
                .unwrap_data_key("EMB-2026-000002", &under_new)
                .is_ok()
        );
        assert!(
            before
                .unwrap_data_key("EMB-2026-000002", &under_new)
                .is_err()
        );
        // Resealing moves a value to the new key once.
        let label = case_key_label("EMB-2026-000001");
        let Some(Resealed::Text(moved)) = keys.reseal(&label, Sealed::Text(&under_old)).unwrap()
        else {
            panic!("a value under the old key is moved")
        };
        assert!(keys.reseal(&label, Sealed::Text(&moved)).unwrap().is_none());
        assert!(
            alone(&new)
                .unwrap_data_key("EMB-2026-000001", &moved)
                .is_ok()
        );
        // Rotating, the old key must be there; the new one seals.
        assert!(matches!(
            Keys::new(std::slice::from_ref(&new), &rotating, None, None),
            Err(StoreError::OldKeyMissing)
        ));
        assert!(matches!(
            Keys::new(std::slice::from_ref(&old), &rotating, None, None),
            Err(StoreError::WrongKey)
        ));
        // The stored lookup key carries it past the rotation.
        let stored = seal_store_key(&keys, LOOKUP_KEY, &keys.lookup_key()).unwrap();
        let after = KeyState {
            check: new.check_value(),
            next: None,
        };
        let later = Keys::new(std::slice::from_ref(&new), &after, Some(&stored), None).unwrap();
        assert_eq!(later.lookup("m@x"), before.lookup("m@x"));
    }
}
