//! Accounts: invitations, argon2id passwords, TOTP, sign-in with throttling
//! and lockout, and session tokens. Tokens leave here once, in clear, and are
//! stored only as SHA-256 hashes.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use embargo_core::{PersonId, access::OrgRole};
use embargo_store::AccessEntry;
use rand::RngCore;
use totp_rs::{Secret, Totp};

use crate::{AppState, datadir::token_hash};

/// Counts an attempt of `what` (`signin`, `report`) from `ip` in a fixed
/// window of `window` seconds; `Err(seconds)` to wait when it is over
/// `limit`. The counts are rows every server of the deployment shares
/// (the address only as a keyed hash). Sign-in per source address stops
/// one address from trying many handles (per-account throttling stops
/// many tries at one); per form, a flood from one address. If the
/// database cannot count, the attempt goes on: it cannot store anything
/// then either.
pub async fn attempt(
    state: &AppState,
    what: &str,
    ip: std::net::IpAddr,
    limit: u32,
    window: i64,
) -> Result<(), i64> {
    counted(state, &format!("{what}:{ip}"), limit, window).await
}

/// The rate keys this process has seen over their limit, each with the
/// end of its window: a count only grows within a window, so until then
/// the answer is known without writing (a flood's refusals cost no
/// write). The database stays the shared truth: a key first goes over
/// there, on whichever server. Bounded: when full, the expired entries
/// go, else all of them (the database answers again).
#[derive(Default)]
pub struct Over(std::sync::Mutex<std::collections::HashMap<String, i64>>);

/// Most keys [`Over`] remembers.
const OVER_MOST: usize = 65_536;

impl Over {
    fn until(&self, key: &str, now: i64) -> Option<i64> {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key).copied().filter(|until| *until > now)
    }

    fn remember(&self, key: &str, until: i64, now: i64) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= OVER_MOST {
            map.retain(|_, u| *u > now);
            if map.len() >= OVER_MOST {
                map.clear();
            }
        }
        map.insert(key.to_owned(), until);
    }
}

/// Counts one attempt under `key` (kept as a keyed hash); `Err` with the
/// seconds to wait when it is over `limit` in the window.
pub async fn counted(state: &AppState, key: &str, limit: u32, window: i64) -> Result<(), i64> {
    let now = state.clock.unix();
    if let Some(until) = state.over.until(key, now) {
        return Err(until - now);
    }
    match state.store.count_attempt(key, now, window).await {
        Ok((start, n)) if n > i64::from(limit) => {
            state.over.remember(key, start + window, now);
            Err(start + window - now)
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "an attempt could not be counted");
            Ok(())
        }
    }
}

/// A fresh random token: `prefix` and 256 bits in hex.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;

/// Fresh recovery codes for `person`, stored (as keyed hashes) in place of
/// any before: `xxxx-xxxx-xxxx`, 60 random bits each, from an alphabet
/// without look-alikes. Shown once.
pub async fn new_recovery_codes(
    state: &AppState,
    person: &PersonId,
) -> Result<Vec<String>, embargo_store::StoreError> {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 12];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| char::from(ALPHABET.get(usize::from(b % 32)).copied().unwrap_or(b'a')))
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect();
    state.store.set_recovery_codes(person, &codes).await?;
    Ok(codes)
}

/// Whether `code` is written as a recovery code (not a TOTP code).
fn looks_like_recovery(code: &str) -> bool {
    let c = code.trim();
    c.len() == 14 && c.matches('-').count() == 2
}

/// A fresh base32 TOTP seed (160 bits, as RFC 4226 recommends).
pub fn new_totp_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret).ok()?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_issuer(Some("embargo"))
        .with_account_name(account.replace(':', "_"))
        .build()
        .ok()
}

/// The `otpauth://` URI an authenticator app takes.
pub fn totp_uri(secret: &str, account: &str) -> Option<String> {
    totp(secret, account)?.to_url().ok()
}

/// The time step a code matches now (one step of skew either way), if any.
pub fn totp_step(secret: &str, code: &str, now_unix: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now_unix).ok()?;
    let step = totp(secret, "x")?.check(&code, now)?;
    i64::try_from(step).ok()
}

/// Hashes a password with argon2id (off the async threads: it is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Checks a password against a stored argon2id hash.
async fn password_matches(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// What a new password must be.
pub fn check_password(password: &str, confirm: &str) -> Result<(), String> {
    if password != confirm {
        return Err("the two passwords differ".into());
    }
    let chars = password.chars().count();
    if chars < 12 {
        return Err("a password has at least 12 characters".into());
    }
    if chars > 1000 {
        return Err("a password has at most 1000 characters".into());
    }
    Ok(())
}

/// Why a sign-in failed. The message never says which part was wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInFailure {
    /// Wrong handle, password or code (deliberately not told apart).
    Rejected,
    /// Too many recent failures: wait this many seconds.
    Throttled(i64),
    /// Locked; an admin must unlock.
    Locked,
    /// The database failed.
    Unavailable,
}

impl SignInFailure {
    /// What the sign-in page says.
    pub fn message(&self) -> String {
        match self {
            SignInFailure::Rejected => {
                "The handle, password or code is not right. Check them and try again.".into()
            }
            SignInFailure::Throttled(secs) => {
                format!("Too many failed sign-ins. Wait {secs} seconds before trying again.")
            }
            SignInFailure::Locked => {
                "This account is locked after too many failed sign-ins. Ask an admin to unlock it."
                    .into()
            }
            SignInFailure::Unavailable => "Sign-in is unavailable; try again shortly.".into(),
        }
    }
}

/// A new session: the token for the cookie and the CSRF token for forms.
pub struct NewSession {
    /// The session cookie's secret.
    pub token: String,
    /// The token every form of the session carries.
    pub csrf: String,
}

async fn log(state: &AppState, person: &str, action: &str, detail: &str) {
    let entry = AccessEntry {
        at: state.clock.unix(),
        person: person.to_owned(),
        action: action.to_owned(),
        subject: format!("account:{person}"),
        detail: detail.to_owned(),
    };
    if let Err(e) = state.store.log_access(&entry).await {
        tracing::error!(error = %e, "cannot write the access log");
    }
}

/// Signs a person in: throttle and lock first, then password, then TOTP (if
/// enrolled, or required for the role). Success rotates the session: the old
/// one (if any) is removed and a new token is issued.
pub async fn sign_in(
    state: &AppState,
    handle: &str,
    password: &str,
    code: &str,
    old_session: Option<&str>,
) -> Result<NewSession, SignInFailure> {
    let now = state.clock.unix();
    let handle = handle.trim();
    let person = match state.store.person(handle).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "sign-in lookup failed");
            return Err(SignInFailure::Unavailable);
        }
    };
    let person = person.filter(|p| p.password_hash.is_some());
    let cfg = &state.config.accounts;
    let policy = embargo_store::SigninPolicy {
        free_failures: cfg.free_failures,
        throttle_seconds: cfg.throttle_seconds,
        lock_after: cfg.lock_after,
    };
    // Counted and decided before the password is checked, for known and
    // unknown handles alike, so neither parallel attempts nor the answers
    // tell more than sequential ones would.
    let shown = person
        .as_ref()
        .map_or_else(|| handle.chars().take(100).collect(), |p| p.id.to_string());
    let attempt = match state
        .store
        .count_signin_attempt(person.as_ref().map(|p| &p.id), handle, now, policy)
        .await
    {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "cannot count a sign-in attempt");
            return Err(SignInFailure::Unavailable);
        }
    };
    let (failures, locks) = match attempt {
        embargo_store::SigninAttempt::Locked => {
            log(state, &shown, "sign_in_refused", "locked").await;
            return Err(SignInFailure::Locked);
        }
        embargo_store::SigninAttempt::Throttled { seconds } => {
            log(state, &shown, "sign_in_refused", "throttled").await;
            return Err(SignInFailure::Throttled(seconds));
        }
        embargo_store::SigninAttempt::Counted { failures, locks } => (failures, locks),
    };
    let refuse = |detail: String| async move {
        log(state, &shown, "sign_in_failed", &detail).await;
        Err(if locks {
            SignInFailure::Locked
        } else {
            SignInFailure::Rejected
        })
    };
    let Some(person) = person else {
        // Spend the same effort as a real check, so timing does not tell
        // which handles exist.
        let _ = hash_password(password.to_owned()).await;
        return refuse(format!("unknown handle, failure {failures}")).await;
    };
    let stored = person.password_hash.clone().unwrap_or_default();
    let mut ok = password_matches(password.to_owned(), stored).await;
    let needs_code = person.totp_enrolled || state.config.totp_required(person.role);
    if ok && needs_code {
        ok = match (&person.totp_secret, person.totp_enrolled) {
            // A lost authenticator: one of the recovery codes, once.
            (Some(_), true) if looks_like_recovery(code) => {
                let used = state
                    .store
                    .use_recovery_code(&person.id, &code.trim().to_ascii_lowercase(), now)
                    .await
                    .unwrap_or(false);
                if used {
                    log(state, person.id.as_str(), "recovery_code_used", "").await;
                }
                used
            }
            (Some(secret), true) => match totp_step(secret, code, now) {
                // A code is good once: a replayed step fails like a wrong one.
                Some(step) => state
                    .store
                    .use_totp_step(&person.id, step)
                    .await
                    .unwrap_or(false),
                None => false,
            },
            _ => false,
        };
    }
    if !ok {
        return refuse(format!("failure {failures}")).await;
    }
    if let Err(e) = state.store.set_signin_state(&person.id, 0, 0, false).await {
        tracing::error!(error = %e, "cannot reset sign-in failures");
        return Err(SignInFailure::Unavailable);
    }
    if let Some(old) = old_session {
        let _ = state.store.remove_session(&token_hash(old)).await;
    }
    let session = start_session(state, &person.id).await?;
    log(state, handle, "sign_in", "").await;
    Ok(session)
}

/// A new session for `person`, who has just proved who they are (signed
/// in, or finished their sign-up with the password and the code).
pub async fn start_session(
    state: &AppState,
    person: &PersonId,
) -> Result<NewSession, SignInFailure> {
    let now = state.clock.unix();
    let session = NewSession {
        token: new_token("ses_"),
        csrf: new_token(""),
    };
    let hours = i64::from(state.config.accounts.session_hours);
    if let Err(e) = state
        .store
        .add_session(
            &token_hash(&session.token),
            person,
            &session.csrf,
            now,
            now + hours * 3600,
        )
        .await
    {
        tracing::error!(error = %e, "cannot store the session");
        return Err(SignInFailure::Unavailable);
    }
    Ok(session)
}

/// An invitation just created: the link is shown once.
pub struct Invitation {
    /// The one-use link.
    pub url: String,
}

/// Creates a person and an invitation link for them.
pub async fn invite(
    state: &AppState,
    by: &PersonId,
    id: &PersonId,
    name: &str,
    email: &str,
    role: OrgRole,
) -> Result<Invitation, crate::error::ServiceError> {
    use crate::error::ServiceError;
    embargo_core::ids::required_text("name", name, 200).map_err(|e| ServiceError::Invalid(e.0))?;
    embargo_core::ids::required_text("email", email, 254)
        .map_err(|e| ServiceError::Invalid(e.0))?;
    if !email.contains('@') || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ServiceError::Invalid(format!(
            "`{email}` is not an email address"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "a name has no control characters".into(),
        ));
    }
    let now = state.clock.unix();
    state
        .store
        .add_person(id, name.trim(), email.trim(), role, &new_totp_secret(), now)
        .await
        .map_err(|e| match e {
            embargo_store::StoreError::PersonExists(p) => {
                ServiceError::Invalid(format!("{p} already has an account"))
            }
            other => other.into(),
        })?;
    let token = new_token("inv_");
    let days = i64::from(state.config.accounts.invitation_days);
    state
        .store
        .add_invitation(&token_hash(&token), id, by, now + days * 86_400)
        .await?;
    Ok(Invitation {
        url: format!("{}/invite/{token}", crate::links::browser_base_url(state)),
    })
}
