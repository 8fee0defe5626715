//! Mail in and out, with no HTTP and no store: the service decides what is
//! sent and what becomes of what arrives; this crate reads and writes the
//! messages.
//!
//! - `inbound`: one RFC 5322 message read (plain, inline OpenPGP or
//!   PGP/MIME with protected headers), opened with the intake key, its
//!   signature checked, its attachments and the sender's key collected.
//! - `outbound`: plain or PGP/MIME (RFC 3156) messages by SMTP, with
//!   Message-IDs in the team's domain.
//! - `imap`: a mailbox's unseen messages, marked seen only when the caller
//!   says they are stored; and the canary's header.

pub mod imap;
pub mod inbound;
pub mod outbound;
