//! The server's integration tests: one binary, modules by feature, each
//! against a real server in-process with a manual clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

mod accounts;
mod advisories;
mod app;
mod browser;
mod browser_report;
mod corpus;
mod csrf;
mod dashboard;
mod floods;
mod github;
mod gpg;
mod health;
mod imap;
mod keys;
mod lifecycle;
mod lists;
mod mail;
mod mailserver;
mod markers;
mod metrics;
mod openpgpjs;
mod receipts;
mod release;
mod report;
mod routes;
mod screening;
mod servers;
mod sla;
mod team;
mod webhooks;
