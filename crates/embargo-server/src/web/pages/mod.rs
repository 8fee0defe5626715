//! Page handlers: sign-in, invitations, the inbox, the case page with its
//! actions, and the admin pages. Each reads through `authz`; each form
//! arrives through `Posted`/`AnonPosted`, so its CSRF token is checked.

use crate::error::ServiceError;

use std::sync::Arc;

use axum::{
    Json,
    extract::{ConnectInfo, Path, Query, State},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};

use embargo_api::CommandRequest;

use embargo_core::{
    Case, CommandKind, EventData, PersonId,
    access::{OrgRole, Standing},
    cvss::Cvss,
    event::{ProjectStatus, RejectReason},
    participant::Role,
    tlp::Tlp,
};

use minijinja::context;

use serde::{Deserialize, Serialize};

use super::{
    AnonPosted, PRE_COOKIE, Posted, SESSION_COOKIE, SignedIn, WebError, cookie, markdown, render,
    set_cookie,
};

use crate::{
    AppState, accounts,
    authz::{self, CaseAccess},
    datadir::token_hash,
    failure::Failure,
};

pub(crate) type Shared = Arc<AppState>;

/// What every signed-in page knows about the viewer.
#[derive(Serialize)]
pub(crate) struct Me<'a> {
    id: &'a str,
    name: &'a str,
    is_admin: bool,
    is_srt: bool,
    csrf: &'a str,
}

pub(crate) fn ser<T: Serialize>(value: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

pub(crate) fn me(who: &SignedIn) -> Me<'_> {
    Me {
        id: who.caller.id().as_str(),
        name: &who.caller.name,
        is_admin: who.caller.is_admin(),
        is_srt: who.caller.is_srt(),
        csrf: &who.csrf,
    }
}

pub(crate) fn with_status(status: StatusCode, mut resp: Response) -> Response {
    *resp.status_mut() = status;
    resp
}

#[derive(Deserialize)]
pub(crate) struct Empty {}

/// A file to download, never shown inline: reporter files are untrusted.
pub(crate) fn download(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let disposition = format!("attachment; filename=\"{safe}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// A stored unix time for a page, to the minute (or the second).
pub(crate) fn unix_text(secs: i64, seconds: bool) -> String {
    let format = if seconds {
        "%Y-%m-%d %H:%M:%S UTC"
    } else {
        "%Y-%m-%d %H:%M UTC"
    };
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime(format).to_string())
        .unwrap_or_default()
}

mod account;
mod admin;
mod advisory;
mod case;
mod inbox;
mod screening;
mod session;

pub(crate) use account::*;
pub(crate) use admin::*;
pub(crate) use advisory::{markdown_preview, preview as advisory_preview};
pub(crate) use case::*;
pub(crate) use inbox::*;
pub(crate) use screening::*;
pub(crate) use session::*;
