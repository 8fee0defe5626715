//! The services' one error type: what went wrong, in words, with no HTTP
//! in it. The server maps it to a status and a page or a JSON answer in
//! one place each (`api::Failure`, `web::WebError`).

use embargo_core::Refusal;
use embargo_store::StoreError;

/// Every way a service call fails.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such case, or one the caller may not see: the same answer, so
    /// that an invisible case cannot be told from a missing one.
    #[error("no such case")]
    NotFound,
    /// The input is not acceptable; the text says why.
    #[error("{0}")]
    Invalid(String),
    /// The caller sees the case but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The case's rules refuse the command now.
    #[error("{0}")]
    Refused(Refusal),
    /// The storage failed (a full disk): nothing was stored.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A fault of ours; the text goes to the log, not to the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchCase(_) => ServiceError::NotFound,
            StoreError::Refused(r) => ServiceError::Refused(r),
            StoreError::Unavailable(cause) => ServiceError::Unavailable(cause),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
