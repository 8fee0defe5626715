//! Integration tests of the `embargo` binary, in one test binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

mod api;
mod audit;
mod backup;
mod check;
mod cli;
mod cvss;
mod deploy;
mod keys;
mod mail_cli;
// The server tests' real mail system (OpenSMTPD and Dovecot), shared.
#[path = "../../../embargo-server/tests/it/mailserver.rs"]
#[allow(dead_code, reason = "the server tests use the rest of it")]
mod mailserver;
mod migrate;
mod serve;
mod servers;
