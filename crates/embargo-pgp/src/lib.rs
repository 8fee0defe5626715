//! OpenPGP for embargo: the only crate that names the OpenPGP library.
//!
//! The intake key is Ed25519 (certify/sign) with a Cv25519 encryption subkey, so
//! the server never performs RSA decryption (RUSTSEC-2023-0071 concerns RSA).

use pgp::{
    composed::{
        ArmorOptions, Deserializable, EncryptionCaps, KeyType, SecretKeyParamsBuilder,
        SignedSecretKey, SubkeyParamsBuilder,
    },
    crypto::ecc_curve::ECCCurve,
    types::KeyDetails,
};

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
        let gen_err = |e: &dyn std::fmt::Display| PgpError::Generate(e.to_string());
        let mut encrypt = SubkeyParamsBuilder::default();
        encrypt
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
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
            .subkeys(vec![encrypt.build().map_err(|e| gen_err(&e))?]);
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

    #[test]
    fn garbage_is_a_clear_error() {
        let err = IntakeKey::from_armored_secret("not a key").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the OpenPGP secret key is not readable")
        );
    }
}
