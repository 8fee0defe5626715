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
mod migrate;
mod serve;
