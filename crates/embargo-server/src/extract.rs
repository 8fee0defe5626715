//! Extractors for the API: a handler that needs a caller takes a
//! `Principal`, which only a valid bearer token produces.

use std::sync::Arc;

use axum::{
    Json,
    extract::FromRequestParts,
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};

use crate::{AppState, authz, datadir::token_hash};

type Shared = Arc<AppState>;

/// A caller proven by a bearer token. Handlers that need a person take this.
pub(crate) struct Principal(pub(crate) authz::Caller);

impl FromRequestParts<Shared> for Principal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = |message: &str| {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(serde_json::json!({ "code": "unauthorized", "message": message })),
            )
                .into_response()
        };
        let Some(token) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return Err(unauthorized(
                "send an API token as `Authorization: Bearer <token>`",
            ));
        };
        match authz::token_caller(state, &token_hash(token.trim())).await {
            Ok(Some(Some(caller))) => Ok(Principal(caller)),
            Ok(Some(None)) => Err(unauthorized("the API token's person has no account")),
            Ok(None) => Err(unauthorized("the API token is not valid")),
            Err(e) => {
                tracing::error!(error = %e, "token lookup failed");
                Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({ "code": "unavailable", "message": "try again" })),
                )
                    .into_response())
            }
        }
    }
}
