//! Master key rotation, online: everything sealed with the master key (the
//! cases' data keys, the lookup key, TOTP seeds, channel settings, raw
//! inbound messages, job payloads) is sealed again under a new key in short
//! transactions while the server goes on serving.
//!
//! 1. [`Store::begin_master_rotation`] names the new key in `key_check`.
//!    From then on every transaction that seals reads that row first
//!    ([`sync`]) and seals with the new key, in this process or another.
//! 2. [`Store::rotation_step`] moves a batch of values and says where the
//!    next begins. A value already under the new key is left alone, so a
//!    rotation killed at any point resumes by starting again.
//! 3. [`Store::finish_master_rotation`] moves what is left and names the new
//!    key as the only one, in one transaction; after it the old key opens
//!    nothing that the database needs.

/// Where a rotation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// No rotation is running; the database's key has this check value.
    Idle {
        /// The key's check value.
        check: String,
    },
    /// A rotation from one key to another is running.
    Running {
        /// The old key's check value.
        from: String,
        /// The new key's check value.
        to: String,
    },
}

/// One batch of a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationStep {
    /// Values looked at.
    pub examined: u64,
    /// Values sealed again under the new key.
    pub moved: u64,
    /// Where the next batch starts; `None` when every table was gone through.
    pub next: Option<RotationCursor>,
}

/// A place in the rotation's pass: a table and the last row done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RotationCursor {
    pub(crate) table: usize,
    pub(crate) after: i64,
}
