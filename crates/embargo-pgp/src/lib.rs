//! OpenPGP for embargo: the only crate that names the OpenPGP library.
//!
//! The intake key is Ed25519 (certify/sign) with a Cv25519 encryption subkey, so
//! the server never performs RSA decryption (RUSTSEC-2023-0071 concerns RSA).

use std::io::Read;

use pgp::{
    composed::{
        ArmorOptions, Deserializable, EncryptionCaps, Esk, KeyType, Message, MessageBuilder,
        SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey, SubkeyParamsBuilder,
    },
    crypto::{
        aead::AeadAlgorithm, ecc_curve::ECCCurve, hash::HashAlgorithm, sym::SymmetricKeyAlgorithm,
    },
    types::{CompressionAlgorithm, KeyDetails, Password, PublicParams},
};

/// The AEAD ciphersuites an intake key asks for (RFC 9580 section
/// 5.2.3.15): clients that encrypt with SEIPDv2 pick from these. OCB is the
/// mode every RFC 9580 implementation must have; GCM is the one WebCrypto
/// offers, which the web form's script uses.
const AEAD_PREFERENCES: [(SymmetricKeyAlgorithm, AeadAlgorithm); 2] = [
    (SymmetricKeyAlgorithm::AES256, AeadAlgorithm::Ocb),
    (SymmetricKeyAlgorithm::AES256, AeadAlgorithm::Gcm),
];

/// Errors from key handling. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum PgpError {
    /// The key could not be generated.
    #[error("could not generate the OpenPGP key: {0}")]
    Generate(String),
    /// A stored key could not be read.
    #[error("the OpenPGP secret key is not readable: {0}")]
    Parse(String),
    /// A key could not be written out.
    #[error("could not serialize the OpenPGP key: {0}")]
    Serialize(String),
}

/// The intake key and the retired intake keys that still decrypt (for a
/// while after a rotation: mail in flight, a reporter with the old key
/// cached). New reports are encrypted to the current key only.
#[derive(Debug)]
pub struct IntakeKeys {
    current: IntakeKey,
    retired: Vec<IntakeKey>,
}

impl From<IntakeKey> for IntakeKeys {
    fn from(current: IntakeKey) -> Self {
        Self {
            current,
            retired: Vec::new(),
        }
    }
}

impl IntakeKeys {
    /// The current key and the retired ones that still decrypt.
    pub fn new(current: IntakeKey, retired: Vec<IntakeKey>) -> Self {
        Self { current, retired }
    }

    /// The key reporters encrypt to.
    pub fn current(&self) -> &IntakeKey {
        &self.current
    }

    /// The retired keys that still decrypt.
    pub fn retired(&self) -> &[IntakeKey] {
        &self.retired
    }

    /// Opens `message` with the current key, or a retired one if it was
    /// encrypted to that (as [`IntakeKey::open`]).
    pub fn open(
        &self,
        message: &[u8],
        limit: usize,
        signers: &[Certificate],
    ) -> Result<Opened, OpenError> {
        let mut outcome = self.current.open(message, limit, signers);
        for key in &self.retired {
            if !matches!(outcome, Err(OpenError::NotForUs)) {
                break;
            }
            outcome = key.open(message, limit, signers);
        }
        outcome
    }
}

/// The team's intake key: a secret key and what the world may see of it.
pub struct IntakeKey {
    secret: SignedSecretKey,
}

impl std::fmt::Debug for IntakeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets redact themselves: only the fingerprint is shown.
        f.debug_struct("IntakeKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl IntakeKey {
    /// Generates a fresh intake key for `user_id` (e.g. `Security team <security@example.org>`).
    pub fn generate(user_id: &str) -> Result<Self, PgpError> {
        Self::generate_stating(user_id, &AEAD_PREFERENCES)
    }

    fn generate_stating(
        user_id: &str,
        aead: &[(SymmetricKeyAlgorithm, AeadAlgorithm)],
    ) -> Result<Self, PgpError> {
        let gen_err = |e: &dyn std::fmt::Display| PgpError::Generate(e.to_string());
        let mut encrypt = SubkeyParamsBuilder::default();
        encrypt
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_sign(false)
            .can_encrypt(EncryptionCaps::All)
            .can_authenticate(false);
        // A second encryption subkey in RFC 9580's X25519 form, which the web
        // form's own WebCrypto code encrypts to. GnuPG 2.2 does not know the
        // algorithm and uses the Cv25519 subkey above.
        let mut browser = SubkeyParamsBuilder::default();
        browser
            .key_type(KeyType::X25519)
            .can_sign(false)
            .can_encrypt(EncryptionCaps::All)
            .can_authenticate(false);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(user_id.into())
            // Without stated preferences GnuPG signs a message to this key
            // with SHA-1, which no longer verifies.
            .preferred_hash_algorithms(
                [HashAlgorithm::Sha512, HashAlgorithm::Sha256]
                    .into_iter()
                    .collect(),
            )
            .preferred_symmetric_algorithms(
                [SymmetricKeyAlgorithm::AES256, SymmetricKeyAlgorithm::AES128]
                    .into_iter()
                    .collect(),
            )
            .preferred_compression_algorithms(
                [CompressionAlgorithm::ZLIB, CompressionAlgorithm::ZIP]
                    .into_iter()
                    .collect(),
            )
            .preferred_aead_algorithms(aead.iter().copied().collect())
            .feature_seipd_v2(true)
            .subkeys(vec![
                encrypt.build().map_err(|e| gen_err(&e))?,
                browser.build().map_err(|e| gen_err(&e))?,
            ]);
        let params = params.build().map_err(|e| gen_err(&e))?;
        let secret = params
            .generate(rand::thread_rng())
            .map_err(|e| gen_err(&e))?;
        Ok(Self { secret })
    }

    /// Reads an ASCII-armored secret key as written by [`IntakeKey::to_armored_secret`].
    pub fn from_armored_secret(armored: &str) -> Result<Self, PgpError> {
        let (secret, _headers) =
            SignedSecretKey::from_string(armored).map_err(|e| PgpError::Parse(e.to_string()))?;
        secret
            .verify_bindings()
            .map_err(|e| PgpError::Parse(e.to_string()))?;
        Ok(Self { secret })
    }

    /// The secret key, ASCII-armored, for the data directory (file mode 0600).
    pub fn to_armored_secret(&self) -> Result<String, PgpError> {
        self.secret
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| PgpError::Serialize(e.to_string()))
    }

    /// Brings a key made by an older embargo up to what a new one states:
    /// when the primary user's self-signature in force asks for no AEAD
    /// ciphersuite, a new self-signature copies it and adds the preference.
    /// The fingerprint stays; clients that fetch the key again see it.
    /// `now` (unix seconds, the caller's clock) dates the new signature,
    /// at least a second after the one it replaces. Returns whether the key
    /// changed (and must be written back).
    pub fn refresh_preferences(&mut self, now: i64) -> Result<bool, PgpError> {
        use pgp::packet::{Subpacket, SubpacketData};
        let fail = |e: &dyn std::fmt::Display| PgpError::Serialize(e.to_string());
        let Some(user) = self.secret.details.users.first() else {
            return Ok(false);
        };
        let Some(current) = user.signatures.iter().max_by_key(|s| s.created()) else {
            return Ok(false);
        };
        if !current.preferred_aead_algs().is_empty() {
            return Ok(false);
        }
        let Some(config) = current.config() else {
            return Ok(false);
        };
        let mut config = config.clone();
        config.hashed_subpackets.retain(|p| {
            !matches!(
                p.data,
                SubpacketData::SignatureCreationTime(_) | SubpacketData::PreferredAeadAlgorithms(_)
            )
        });
        let now = u32::try_from(now).unwrap_or(u32::MAX);
        let created = current
            .created()
            .map_or(0, |t| t.as_secs())
            .saturating_add(1)
            .max(now);
        config.hashed_subpackets.insert(
            0,
            Subpacket::regular(SubpacketData::SignatureCreationTime(
                pgp::types::Timestamp::from_secs(created),
            ))
            .map_err(|e| fail(&e))?,
        );
        config.hashed_subpackets.push(
            Subpacket::regular(SubpacketData::PreferredAeadAlgorithms(
                AEAD_PREFERENCES.iter().copied().collect(),
            ))
            .map_err(|e| fail(&e))?,
        );
        let id = user.id.clone();
        let signature = config
            .sign_certification(
                &self.secret.primary_key,
                self.secret.primary_key.public_key(),
                &Password::empty(),
                pgp::types::Tag::UserId,
                &id,
            )
            .map_err(|e| fail(&e))?;
        if let Some(user) = self.secret.details.users.first_mut() {
            user.signatures.push(signature);
        }
        Ok(true)
    }

    /// The public certificate, ASCII-armored, as served to reporters.
    pub fn to_armored_public(&self) -> Result<String, PgpError> {
        self.secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| PgpError::Serialize(e.to_string()))
    }

    /// The primary key's fingerprint in upper-case hex.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.secret.fingerprint())
    }

    /// The RFC 9580 X25519 subkey the browser encrypts to: its fingerprint
    /// (v4, 20 bytes) and public key (32 bytes), or `None` for a key made
    /// before the subkey existed (the form then falls back to the server).
    pub fn browser_recipient(&self) -> Option<BrowserRecipient> {
        self.secret.secret_subkeys.iter().find_map(|sub| {
            let PublicParams::X25519(params) = sub.key.public_params() else {
                return None;
            };
            Some(BrowserRecipient {
                fingerprint: sub.key.fingerprint().as_bytes().to_vec(),
                public: params.key.as_bytes().to_vec(),
            })
        })
    }

    /// Opens an inbound OpenPGP message (armored or binary): decrypts it with
    /// the intake key, decompresses it, reads at most `limit` bytes of
    /// plaintext and checks a signature against `signers` (the certificates
    /// embargo knows for the sender).
    ///
    /// A message that is not encrypted is refused: this is for reports that
    /// were sent encrypted, and a plain one never needs this call.
    ///
    /// A stranger writes these bytes, and the OpenPGP library has panicked
    /// on some of them (rpgp 0.21 subtracts past zero when the AEAD
    /// algorithm octet of a SEIPDv2 packet names no known algorithm), so a
    /// panic inside is caught and reported as a malformed message.
    pub fn open(
        &self,
        message: &[u8],
        limit: usize,
        signers: &[Certificate],
    ) -> Result<Opened, OpenError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.open_unguarded(message, limit, signers)
        }))
        .unwrap_or(Err(OpenError::Malformed("its encrypted data is malformed")))
    }

    fn open_unguarded(
        &self,
        message: &[u8],
        limit: usize,
        signers: &[Certificate],
    ) -> Result<Opened, OpenError> {
        let (msg, _) = Message::from_reader(std::io::BufReader::new(message))
            .map_err(|e| OpenError::Malformed(unreadable(&e)))?;
        let Message::Encrypted { esk, .. } = &msg else {
            return Err(OpenError::NotEncrypted);
        };
        // A session key made for one of our keys that does not unwrap was
        // changed on the way; one made for no key of ours is not for us.
        let names_us = esk.iter().any(|esk| match esk {
            Esk::PublicKeyEncryptedSessionKey(pkesk) => self.named_by(pkesk),
            Esk::SymKeyEncryptedSessionKey(_) => false,
        });
        let mut msg =
            msg.decrypt(&Password::empty(), &self.secret)
                .map_err(|e| match undecryptable(&e) {
                    OpenError::NotForUs if names_us => OpenError::Damaged,
                    other => other,
                })?;
        // One layer of compression is what GnuPG writes; a second is refused
        // rather than unpacked (a compression bomb may nest).
        if msg.is_compressed() {
            msg = msg
                .decompress()
                .map_err(|_| OpenError::Malformed("its compressed data does not decompress"))?;
            if msg.is_compressed() {
                return Err(OpenError::Malformed(
                    "it is compressed twice, which embargo does not unpack",
                ));
            }
        }
        let mut plaintext = Vec::new();
        let read = (&mut msg)
            .take(limit as u64 + 1)
            .read_to_end(&mut plaintext)
            .map_err(|e| {
                unreadable_io(&e).unwrap_or(OpenError::Malformed(
                    "its contents cannot be read to the end",
                ))
            })?;
        if read > limit {
            return Err(OpenError::TooLarge { limit });
        }
        let signature = if !msg.is_signed() {
            Signature::Unsigned
        } else {
            signers
                .iter()
                .find_map(|cert| cert.verifies(&msg))
                .map_or_else(
                    || Signature::UnknownSigner {
                        issuer: issuer(&msg),
                    },
                    |fingerprint| Signature::Verified { fingerprint },
                )
        };
        Ok(Opened {
            plaintext,
            signature,
        })
    }
}

impl IntakeKey {
    /// Whether a session key packet names one of this key's (sub)keys
    /// explicitly (an anonymous recipient names no one).
    fn named_by(&self, pkesk: &pgp::packet::PublicKeyEncryptedSessionKey) -> bool {
        let named = |key: &dyn KeyDetails| match pkesk {
            pgp::packet::PublicKeyEncryptedSessionKey::V3 { id, .. } => {
                !id.is_wildcard() && *id == key.legacy_key_id()
            }
            pgp::packet::PublicKeyEncryptedSessionKey::V6 { fingerprint, .. } => {
                fingerprint.as_ref() == Some(&key.fingerprint())
            }
            _ => false,
        };
        named(&self.secret.primary_key) || self.secret.secret_subkeys.iter().any(|s| named(&s.key))
    }
}

/// The key a signed message's first signature names: its issuer
/// fingerprint, else its key id (upper-case hex).
fn issuer(msg: &Message<'_>) -> Option<String> {
    let Message::Signed { reader, .. } = msg else {
        return None;
    };
    (0..reader.num_signatures())
        .filter_map(|i| reader.signature(i))
        .find_map(|sig| {
            sig.issuer_fingerprint()
                .first()
                .map(|f| format!("{f:X}"))
                .or_else(|| {
                    sig.issuer_key_id()
                        .first()
                        .map(|k| k.as_ref().iter().map(|b| format!("{b:02X}")).collect())
                })
        })
}

/// What is wrong with a message that does not parse, in embargo's words.
fn unreadable(e: &pgp::errors::Error) -> &'static str {
    use pgp::errors::Error as E;
    match e {
        E::InvalidArmorWrappers | E::InvalidChecksum => "its ASCII armor is broken",
        E::PacketIncomplete { .. } => "it is cut short",
        E::NoMatchingPacket { .. } => "it holds no OpenPGP message",
        _ => "its OpenPGP packets do not parse",
    }
}

/// What an I/O error from inside the library says, when it carries one of
/// its errors (the AEAD chunks are checked while the plaintext is read).
fn unreadable_io(e: &std::io::Error) -> Option<OpenError> {
    let inner = e.get_ref()?;
    if let Some(aead) = inner.downcast_ref::<pgp::crypto::aead::Error>() {
        return Some(match aead {
            pgp::crypto::aead::Error::Decrypt { .. } => OpenError::Damaged,
            pgp::crypto::aead::Error::UnsupporedAlgorithm { .. } => {
                OpenError::Undecryptable("it uses an algorithm embargo does not support")
            }
            _ => OpenError::Undecryptable("the session key or the data is malformed"),
        });
    }
    inner
        .downcast_ref::<pgp::errors::Error>()
        .map(undecryptable)
}

/// Why a message encrypted to someone does not decrypt, in embargo's words.
fn undecryptable(e: &pgp::errors::Error) -> OpenError {
    use pgp::errors::Error as E;
    match e {
        E::IO { source, .. } => unreadable_io(source).unwrap_or(OpenError::Undecryptable(
            "the session key or the data is malformed",
        )),
        E::MdcError | E::Aead { .. } => OpenError::Damaged,
        E::MissingKey | E::NoMatchingPacket { .. } => OpenError::NotForUs,
        E::Unsupported { .. } | E::Unimplemented { .. } => {
            OpenError::Undecryptable("it uses an algorithm embargo does not support")
        }
        _ => OpenError::Undecryptable("the session key or the data is malformed"),
    }
}

/// The key the browser encrypts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserRecipient {
    /// The subkey's v4 fingerprint.
    pub fingerprint: Vec<u8>,
    /// The X25519 public key.
    pub public: Vec<u8>,
}

/// A decrypted inbound message.
#[derive(Debug)]
pub struct Opened {
    /// What the reporter wrote.
    pub plaintext: Vec<u8>,
    /// Whether it was signed, and by whom.
    pub signature: Signature,
}

/// The outcome of checking an inbound message's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    /// Not signed.
    Unsigned,
    /// Signed by the certificate with this fingerprint (upper-case hex).
    Verified {
        /// The signer's primary fingerprint.
        fingerprint: String,
    },
    /// Signed, but by no key embargo knows (or the signature is bad).
    UnknownSigner {
        /// The signer the signature names (its issuer fingerprint, else its
        /// key id, upper-case hex), to verify once the key is on file.
        issuer: Option<String>,
    },
}

/// Why an inbound message could not be opened. Each is kept in quarantine
/// with this text as the reason, so each says what is wrong in a sentence
/// of embargo's own and never carries the library's text, which can quote
/// the message's bytes.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not OpenPGP, bad armor, truncated packets.
    #[error("not a readable OpenPGP message: {0}")]
    Malformed(&'static str),
    /// Encrypted, but not to the intake key.
    #[error("the message is not encrypted to this team's intake key")]
    NotForUs,
    /// Encrypted to the intake key, but its integrity check failed.
    #[error(
        "the message failed its integrity check: it was changed or damaged after it was encrypted"
    )]
    Damaged,
    /// Encrypted to the intake key, but it does not decrypt.
    #[error("the message is encrypted to this team's intake key but does not decrypt: {0}")]
    Undecryptable(&'static str),
    /// An OpenPGP message that is not encrypted.
    #[error("the OpenPGP message is not encrypted")]
    NotEncrypted,
    /// The plaintext is larger than allowed.
    #[error("the decrypted message is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// A correspondent's public certificate (a reporter's key).
#[derive(Clone, Debug)]
pub struct Certificate {
    key: SignedPublicKey,
}

impl Certificate {
    /// Reads an armored or binary public certificate, checking its bindings.
    pub fn parse(bytes: &[u8]) -> Result<Self, PgpError> {
        let (key, _) = SignedPublicKey::from_reader_single(std::io::BufReader::new(bytes))
            .map_err(|e| PgpError::Parse(e.to_string()))?;
        key.verify_bindings()
            .map_err(|e| PgpError::Parse(e.to_string()))?;
        Ok(Self { key })
    }

    /// The primary key's fingerprint in upper-case hex.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.key.fingerprint())
    }

    /// The certificate, armored (for storing).
    pub fn to_armored(&self) -> Result<String, PgpError> {
        self.key
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| PgpError::Serialize(e.to_string()))
    }

    fn verifies(&self, msg: &Message<'_>) -> Option<String> {
        if msg.verify(&self.key.primary_key).is_ok()
            || self
                .key
                .public_subkeys
                .iter()
                .any(|s| msg.verify(s).is_ok())
        {
            Some(self.fingerprint())
        } else {
            None
        }
    }

    /// Encrypts `plaintext` to this certificate's first encryption-capable
    /// subkey, ASCII-armored, in the SEIPDv1 form every GnuPG reads.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, PgpError> {
        let fail = |e: pgp::errors::Error| PgpError::Serialize(e.to_string());
        let subkey = self
            .key
            .public_subkeys
            .iter()
            .find(|s| s.key.algorithm().can_encrypt())
            .ok_or_else(|| PgpError::Parse("the key has no encryption subkey".into()))?;
        let mut builder = MessageBuilder::from_bytes("", plaintext.to_vec())
            .seipd_v1(rand::thread_rng(), SymmetricKeyAlgorithm::AES256);
        builder
            .encrypt_to_key(rand::thread_rng(), subkey)
            .map_err(fail)?;
        builder
            .to_armored_string(rand::thread_rng(), ArmorOptions::default())
            .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_through_armor() {
        let key = IntakeKey::generate("Security <security@example.org>").unwrap();
        let armored = key.to_armored_secret().unwrap();
        let again = IntakeKey::from_armored_secret(&armored).unwrap();
        assert_eq!(key.fingerprint(), again.fingerprint());
        assert_eq!(key.fingerprint().len(), 40);
        let public = key.to_armored_public().unwrap();
        assert!(public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        assert!(!format!("{key:?}").contains("SECRET"));
    }

    /// A message as the web form's script builds it: a v6 session key for
    /// the X25519 subkey, SEIPDv2 with `aead`, and (when `pad` is given) a
    /// padding packet after the literal data inside the encryption.
    fn browser_style(key: &IntakeKey, plaintext: &[u8], aead: AeadAlgorithm) -> Vec<u8> {
        use pgp::crypto::aead::ChunkSize;
        let public = key.secret.to_public_key();
        let sub = public
            .public_subkeys
            .iter()
            .find(|s| matches!(s.key.public_params(), PublicParams::X25519(_)))
            .unwrap();
        let mut b = MessageBuilder::from_bytes("", plaintext.to_vec()).seipd_v2(
            rand::thread_rng(),
            SymmetricKeyAlgorithm::AES256,
            aead,
            ChunkSize::default(),
        );
        b.encrypt_to_key(rand::thread_rng(), sub).unwrap();
        b.to_vec(rand::thread_rng()).unwrap()
    }

    #[test]
    fn a_changed_byte_anywhere_is_damage_unless_it_changed_whom_it_names() {
        let key = IntakeKey::generate("S <s@example.org>").unwrap();
        let plaintext = b"Heap overflow in the tokenizer; steps below.".repeat(20);
        for aead in [AeadAlgorithm::Gcm, AeadAlgorithm::Ocb] {
            let msg = browser_style(&key, &plaintext, aead);
            assert_eq!(key.open(&msg, 10_000, &[]).unwrap().plaintext, plaintext);
            // Past the session key packet's recipient (a v6 PKESK: 2 header
            // octets, version, length, key version, 20-octet fingerprint).
            // This covers the AEAD algorithm octet, on which rpgp panicked.
            let (mut damaged, mut not_ours) = (0, 0);
            for at in 25..msg.len() {
                let mut t = msg.clone();
                t[at] ^= 0x10;
                match key.open(&t, 10_000, &[]) {
                    Err(OpenError::Damaged) => damaged += 1,
                    Err(OpenError::NotForUs) => not_ours += 1,
                    Err(OpenError::Malformed(_) | OpenError::Undecryptable(_)) => {}
                    other => panic!("byte {at} changed and it opened: {other:?}"),
                }
            }
            assert_eq!(
                not_ours, 0,
                "{aead:?}: a changed byte is not another recipient"
            );
            assert!(
                damaged > msg.len() * 3 / 4,
                "{aead:?}: {damaged} of {}",
                msg.len()
            );
            // The recipient's fingerprint changed: not for us.
            let mut t = msg.clone();
            t[10] ^= 0x10;
            assert!(matches!(
                key.open(&t, 10_000, &[]),
                Err(OpenError::NotForUs)
            ));
        }
        let words = OpenError::Damaged.to_string();
        assert!(words.contains("changed or damaged"), "{words}");
    }

    #[test]
    fn padding_after_the_literal_data_is_ignored() {
        // The sequence the form's script encrypts: a literal data packet,
        // then a padding packet (tag 21) that hides the length. rpgp checks
        // what follows the literal data the same way inside an encrypted
        // packet (the browser test opens real padded messages end to end).
        let text = b"{\"fields\":{}}";
        let mut inner = vec![0xcb, 0xff];
        inner.extend((6 + text.len() as u32).to_be_bytes());
        inner.extend([b'b', 0, 0, 0, 0, 0]);
        inner.extend(text);
        inner.extend([0xd5, 0xff, 0, 0, 0x0f, 0xa0]);
        inner.extend(vec![7u8; 4000]);
        let (mut msg, _) = Message::from_reader(std::io::BufReader::new(&inner[..])).unwrap();
        let mut out = Vec::new();
        msg.read_to_end(&mut out).unwrap();
        assert_eq!(out, text);
        drop(msg);
        // Anything but padding after it is refused.
        inner[text.len() + 14] = 0xcb;
        let (mut msg, _) = Message::from_reader(std::io::BufReader::new(&inner[..])).unwrap();
        assert!(msg.read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn the_key_asks_for_aead_with_ocb_then_gcm() {
        let key = IntakeKey::generate("S <s@example.org>").unwrap();
        let public = Certificate::parse(key.to_armored_public().unwrap().as_bytes()).unwrap();
        let prefs = public.key.details.users[0].signatures[0].preferred_aead_algs();
        assert_eq!(
            prefs,
            [
                (SymmetricKeyAlgorithm::AES256, AeadAlgorithm::Ocb),
                (SymmetricKeyAlgorithm::AES256, AeadAlgorithm::Gcm),
            ]
        );
    }

    #[test]
    fn a_key_from_before_the_aead_preference_gets_it_with_the_same_fingerprint() {
        let mut old = IntakeKey::generate_stating("S <s@example.org>", &[]).unwrap();
        let prefs = |key: &IntakeKey| {
            let public = Certificate::parse(key.to_armored_public().unwrap().as_bytes()).unwrap();
            let user = &public.key.details.users[0];
            let current = user.signatures.iter().max_by_key(|s| s.created()).unwrap();
            current.preferred_aead_algs().to_vec()
        };
        assert!(prefs(&old).is_empty());
        let fingerprint = old.fingerprint();
        assert!(old.refresh_preferences(1_800_000_000).unwrap());
        assert_eq!(prefs(&old), AEAD_PREFERENCES);
        // It reads back (bindings verified), the same key, and is left alone now.
        let mut again = IntakeKey::from_armored_secret(&old.to_armored_secret().unwrap()).unwrap();
        assert_eq!(again.fingerprint(), fingerprint);
        assert!(!again.refresh_preferences(1_800_000_100).unwrap());
        // The other preferences are those of the signature it replaced.
        let public = Certificate::parse(again.to_armored_public().unwrap().as_bytes()).unwrap();
        let user = &public.key.details.users[0];
        let current = user.signatures.iter().max_by_key(|s| s.created()).unwrap();
        assert_eq!(
            current.preferred_hash_algs(),
            [HashAlgorithm::Sha512, HashAlgorithm::Sha256]
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = IntakeKey::from_armored_secret("not a key").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the OpenPGP secret key is not readable")
        );
    }
}
