//! The web UI: server-rendered pages that work without JavaScript.
//!
//! Sessions live in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict)
//! whose token is stored hashed. Every form that changes anything is read
//! through `Posted` (signed in) or `AnonPosted` (sign-in and invitations),
//! which check the CSRF token before the handler runs: a handler cannot
//! receive a form without the check.

mod dashboard;
pub(crate) mod markdown;
mod pages;
mod public;
pub(crate) mod report;

use std::sync::{Arc, LazyLock};

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::de::DeserializeOwned;

pub(crate) use dashboard::dashboard;
pub(crate) use pages::*;
pub(crate) use public::{
    advisories_page, advisory_file, advisory_page, atom, csaf_changes, csaf_document, csaf_index,
    csaf_provider_metadata, csaf_rolie, osv_all, osv_index, osv_one,
};
pub(crate) use report::{
    answer as reporter_answer, reply as reporter_reply, report_page, script as report_script,
    status_page, submit_report,
};

use crate::{AppState, authz, datadir::token_hash, error::ServiceError, failure::Failure};

type Shared = Arc<AppState>;

pub(crate) const SESSION_COOKIE: &str = "__Host-embargo-session";
pub(crate) const PRE_COOKIE: &str = "__Host-embargo-csrf";

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("invite.html", include_str!("../../templates/invite.html")),
    ("inbox.html", include_str!("../../templates/inbox.html")),
    ("case.html", include_str!("../../templates/case.html")),
    (
        "public_issue.html",
        include_str!("../../templates/public_issue.html"),
    ),
    ("people.html", include_str!("../../templates/people.html")),
    (
        "projects.html",
        include_str!("../../templates/projects.html"),
    ),
    (
        "status_texts.html",
        include_str!("../../templates/status_texts.html"),
    ),
    ("policy.html", include_str!("../../templates/policy.html")),
    ("report.html", include_str!("../../templates/report.html")),
    ("account.html", include_str!("../../templates/account.html")),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    (
        "compliance.html",
        include_str!("../../templates/compliance.html"),
    ),
    (
        "channels.html",
        include_str!("../../templates/channels.html"),
    ),
    (
        "quarantine.html",
        include_str!("../../templates/quarantine.html"),
    ),
    (
        "screening.html",
        include_str!("../../templates/screening.html"),
    ),
    (
        "report_received.html",
        include_str!("../../templates/report_received.html"),
    ),
    (
        "report_status.html",
        include_str!("../../templates/report_status.html"),
    ),
    (
        "advisories.html",
        include_str!("../../templates/advisories.html"),
    ),
    (
        "advisory.html",
        include_str!("../../templates/advisory.html"),
    ),
    ("preview.html", include_str!("../../templates/preview.html")),
    ("project.html", include_str!("../../templates/project.html")),
];

static ENV: LazyLock<Result<minijinja::Environment<'static>, String>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // `.html` templates are auto-escaped (minijinja's default for the name).
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(env)
});

/// The compiled page templates.
pub(crate) struct Pages;

impl Pages {
    /// Compiles the templates once, at start-up, so a broken one stops the server.
    pub(crate) fn check() -> Result<(), String> {
        ENV.as_ref().map(|_| ()).map_err(Clone::clone)
    }
}

/// Renders a page, or a plain 500 if a template is broken.
pub(crate) fn render(name: &str, ctx: minijinja::Value) -> Response {
    let result = ENV.as_ref().map_err(Clone::clone).and_then(|env| {
        env.get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| format!("{e:#}"))
    });
    match result {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// An error page with a status.
pub(crate) struct WebError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut resp = render(
            "message.html",
            minijinja::context! { title => self.title, message => self.message, me => () },
        );
        *resp.status_mut() = self.status;
        resp
    }
}

impl From<ServiceError> for WebError {
    fn from(f: ServiceError) -> Self {
        use embargo_core::Refusal;
        let (status, title, message) = match f {
            ServiceError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or you do not have access to it.".to_owned(),
            ),
            ServiceError::Invalid(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "Please check the form", m)
            }
            ServiceError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            ServiceError::Refused(r @ Refusal::Invalid { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the form",
                r.to_string(),
            ),
            ServiceError::Refused(r) => (StatusCode::CONFLICT, "Not possible now", r.to_string()),
            ServiceError::Unavailable(cause) => {
                tracing::error!(cause = %cause, "storage unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage unavailable",
                    format!(
                        "Nothing was saved: the server's storage is unavailable ({cause}). Try again once an operator has fixed it."
                    ),
                )
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An internal error happened; the server log has the details.".to_owned(),
                )
            }
        };
        WebError {
            status,
            title,
            message,
        }
    }
}

impl From<Failure> for WebError {
    fn from(f: Failure) -> Self {
        f.0.into()
    }
}

impl From<embargo_store::StoreError> for WebError {
    fn from(e: embargo_store::StoreError) -> Self {
        Failure::from(e).into()
    }
}

pub(crate) fn forbidden_form() -> WebError {
    WebError {
        status: StatusCode::FORBIDDEN,
        title: "Form expired",
        message: "This form is missing its security token or it has expired. Go back, reload the page and try again.".into(),
    }
}

/// The value of a cookie.
pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value for a `__Host-` cookie.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    let text =
        format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Compares two secrets without an early exit.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in person, from the session cookie. Pages that need one take this;
/// without a session the browser is sent to the sign-in page.
pub(crate) struct SignedIn {
    pub caller: authz::Caller,
    pub csrf: String,
    pub token: String,
}

impl FromRequestParts<Shared> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match authz::session_caller(state, &token_hash(&token)).await {
            Ok(Some((session, Some(caller)))) => Ok(SignedIn {
                caller,
                csrf: session.csrf_token,
                token,
            }),
            Ok(None | Some((_, None))) => Err(to_login()),
            Err(e) => Err(WebError::from(e).into_response()),
        }
    }
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

async fn form_body(req: Request, state: &Shared) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = req.into_parts();
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((parts, bytes))
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Box<WebError>> {
    serde_html_form::from_bytes(bytes).map_err(|e| {
        Box::new(WebError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Please check the form",
            message: format!("The form could not be read: {e}"),
        })
    })
}

/// A form posted by a signed-in person, its CSRF token already checked
/// against the session's.
pub(crate) struct Posted<T> {
    pub who: SignedIn,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<Shared> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let (mut parts, bytes) = form_body(req, state).await?;
        let who = SignedIn::from_request_parts(&mut parts, state).await?;
        let field: CsrfField = parse_form(&bytes).map_err(|e| e.into_response())?;
        if !same_secret(&field.csrf, &who.csrf) {
            return Err(forbidden_form().into_response());
        }
        Ok(Posted {
            who,
            form: parse_form(&bytes).map_err(|e| e.into_response())?,
        })
    }
}

/// A form posted without a session (sign-in, invitations), its CSRF token
/// checked against the pre-session cookie (double submit).
pub(crate) struct AnonPosted<T> {
    pub form: T,
    /// The session token the browser still holds, to be replaced at sign-in.
    pub old_session: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<Shared> for AnonPosted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let (parts, bytes) = form_body(req, state).await?;
        let expected = cookie(&parts, PRE_COOKIE).unwrap_or_default();
        let field: CsrfField = parse_form(&bytes).map_err(|e| e.into_response())?;
        if !same_secret(&field.csrf, &expected) {
            return Err(forbidden_form().into_response());
        }
        Ok(AnonPosted {
            form: parse_form(&bytes).map_err(|e| e.into_response())?,
            old_session: cookie(&parts, SESSION_COOKIE),
        })
    }
}

/// The stylesheet.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// The one script: the CVSS calculator. Pages work without it.
pub(crate) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.js"),
    )
        .into_response()
}

/// Anything not routed.
pub(crate) async fn not_found() -> WebError {
    Failure(ServiceError::NotFound).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    #[test]
    fn every_template_file_is_compiled_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                super::TEMPLATES.iter().any(|(n, _)| *n == name),
                "templates/{name} is not in TEMPLATES"
            );
        }
        super::Pages::check().unwrap();
    }
}
