//! People, invitations, sessions, projects and the access log.
//!
//! These are plain tables rather than events: they describe the organisation,
//! not a case. Every change to a case still goes through the event log.
//! Tokens arrive here already hashed; the store never sees a usable secret
//! except the TOTP seed, which checking a code needs: it is sealed with the
//! master key before it is written.

use embargo_core::{PersonId, access::OrgRole};

/// A person's account.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    /// Their handle, used as the actor in the event log.
    pub id: PersonId,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Organisation role.
    pub role: OrgRole,
    /// Argon2id PHC string; `None` until the invitation is accepted.
    pub password_hash: Option<String>,
    /// Base32 TOTP seed, set at invitation. Opened only where a code is
    /// checked or enrolled (`Store::person`, `Store::invitation`); a list
    /// of people and the lookup of a request's caller leave it `None`, so
    /// no page or API call holds a seed it does not need.
    pub totp_secret: Option<String>,
    /// Whether the second factor was confirmed with a code.
    pub totp_enrolled: bool,
    /// The last TOTP time step accepted (codes at or before it are refused).
    pub totp_last_step: i64,
    /// Consecutive failed sign-ins.
    pub failed_signins: i64,
    /// No sign-in is attempted before this moment (unix seconds).
    pub throttled_until: i64,
    /// Locked by too many failures; an admin unlocks.
    pub locked: bool,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password hash and the TOTP seed stay out of logs.
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("totp_enrolled", &self.totp_enrolled)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

/// A session, found by its token's hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Whose.
    pub person: PersonId,
    /// The CSRF token forms must carry.
    pub csrf_token: String,
    /// When it ends (unix seconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("person", &self.person)
            .finish_non_exhaustive()
    }
}

/// A project the SRT covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// Its name (as reports name it).
    pub name: String,
    /// Repository URLs.
    pub repositories: Vec<String>,
    /// Packages as `Ecosystem:name`.
    pub packages: Vec<String>,
    /// Supported release series (`1.26`, `2.0`).
    pub series: Vec<String>,
    /// Maintainers' handles.
    pub maintainers: Vec<PersonId>,
}

/// One line of the access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    /// When (unix seconds).
    pub at: i64,
    /// Who (a handle, or what was typed at a failed sign-in).
    pub person: String,
    /// `sign_in`, `sign_in_failed`, `view_case`, ...
    pub action: String,
    /// A case id, or the account concerned.
    pub subject: String,
    /// More, never a secret.
    pub detail: String,
}

/// A person's notification preferences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefs {
    /// `immediate`, `digest` or `none`.
    pub notify: String,
    /// Their armored OpenPGP certificate, if they gave one.
    pub openpgp_key: Option<String>,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            notify: "immediate".into(),
            openpgp_key: None,
        }
    }
}

/// How failed sign-ins are slowed and locked.
#[derive(Clone, Copy, Debug)]
pub struct SigninPolicy {
    /// Failures before the first wait.
    pub free_failures: u16,
    /// The first wait; each further failure doubles it.
    pub throttle_seconds: u32,
    /// Failures that lock the account.
    pub lock_after: u16,
}

/// What `count_signin_attempt` decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigninAttempt {
    /// Counted as a failure until the password proves right: the count
    /// now, and whether it locks the account if the password is wrong.
    Counted {
        /// Failures including this attempt.
        failures: i64,
        /// The account is locked unless this attempt succeeds.
        locks: bool,
    },
    /// Refused without counting: the account is slowed down.
    Throttled {
        /// For how long.
        seconds: i64,
    },
    /// Refused without counting: the account is locked.
    Locked,
}
