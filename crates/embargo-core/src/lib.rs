//! The embargo domain: cases, their three state machines, TLP, CVSS, SLA and
//! disclosure rules.
//!
//! Pure: no IO, no clock, no async. Every function that depends on time takes
//! `now` as a parameter. Serde derives here define the *event-log encoding*;
//! JSON wire types for the API live in `embargo-api`.

pub mod access;
pub mod advisory;
pub mod affected;
pub mod case;
pub mod channel;
pub mod command;
pub mod cvss;
pub mod duplicates;
pub mod event;
pub mod ids;
pub mod participant;
pub mod release;
pub mod screening;
pub mod sla;
pub mod stats;
pub mod text;
pub mod timeline;
pub mod tlp;
pub mod versions;
pub mod view;

pub use case::{Case, Embargo, Facts, FoldError, Handling, Review, Stage};
pub use command::{
    Command, CommandKind, PublishMode, Refusal, WorldFact, allowed, decide, decide_new,
};
pub use event::{Event, EventData};
pub use ids::{CaseId, CveId, Cwe, PersonId};
pub use jiff::Timestamp;
