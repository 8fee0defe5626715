//! Pure conversions from a case to what the world reads: the OSV record,
//! the SPEC-11 announcement and the retrospective. No IO; time comes in.

pub mod announcement;
pub mod check;
pub mod osv;
pub mod retrospective;

/// A rendering failure (a template error, or a case not ready for it).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The case lacks what the output needs.
    #[error("{0}")]
    NotReady(String),
    /// The template could not be rendered.
    #[error("template error: {0}")]
    Template(String),
}
