//! The one mapping from a service error to an API answer: a status and a
//! JSON body with a stable `code` (pages map the same errors in
//! `web::WebError`).

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use embargo_api::ApiError;
use embargo_core::Refusal;
use embargo_store::StoreError;

use crate::error::ServiceError;

/// A service error as the API answers it: mapped to HTTP here, in
/// `into_response`, and nowhere else.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) ServiceError);

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self(e.into())
    }
}

impl From<crate::intake::IntakeError> for Failure {
    fn from(e: crate::intake::IntakeError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code, message) = match self.0 {
            ServiceError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such case".to_owned(),
            ),
            ServiceError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", m),
            ServiceError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
            ServiceError::Refused(r @ Refusal::NotAllowedNow { .. }) => {
                (StatusCode::CONFLICT, "not_allowed_now", r.to_string())
            }
            ServiceError::Refused(r @ Refusal::Conflict { .. }) => {
                (StatusCode::CONFLICT, "conflict", r.to_string())
            }
            ServiceError::Refused(r @ Refusal::Invalid { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                r.to_string(),
            ),
            ServiceError::Unavailable(cause) => {
                tracing::error!(cause = %cause, "storage unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    format!("storage unavailable, nothing was stored: {cause}"),
                )
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log".to_owned(),
                )
            }
        };
        (
            status,
            Json(ApiError {
                code: code.into(),
                message,
            }),
        )
            .into_response()
    }
}
