//! The JSON API for cases: wire requests validated into core commands, run
//! through the store's writer, and errors mapped to HTTP in one place.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};

use embargo_api::{CaseView, CommandRequest, EventView, NewReport};

use embargo_core::{
    Case, CaseId, Command, PersonId, PublishMode, WorldFact,
    advisory::{Advisory, Credit, CreditHolder, Package, Range, RangeKind, Reference},
    affected::AffectedPackage,
    cvss::Cvss,
    event::{
        Assessment, Channel, CveVia, RejectReason, Rejection, ReleaseStep, Report, Reproduction,
    },
    participant::Participant,
};

use crate::{AppState, authz, error::ServiceError, extract::Principal};

pub(crate) type Shared = Arc<AppState>;

pub(crate) use crate::failure::Failure;

pub(crate) fn invalid(e: impl std::fmt::Display) -> Failure {
    Failure(ServiceError::Invalid(e.to_string()))
}

pub(crate) fn view(state: &AppState, case: &Case) -> CaseView {
    CaseView {
        id: case.id.to_string(),
        project: case.report.project.clone(),
        title: case.report.title.clone(),
        stage: case.stage().label().to_owned(),
        handling: case.handling.name().to_owned(),
        embargo: case.embargo.name().to_owned(),
        disclose_at: case.embargo.agreed_until().map(|t| t.to_string()),
        received_at: case.received_at.to_string(),
        ack_due: case
            .ack_clock(state.config.ack_policy_for(case))
            .due
            .to_string(),
        tlp: case.assessment.as_ref().map(|a| a.tlp.label().to_owned()),
        advisory_revision: case.advisory_revision(),
        allowed: embargo_core::allowed(case)
            .iter()
            .map(|k| k.name().to_owned())
            .collect(),
        version: case.version,
        status_url: None,
        failed_jobs: Vec::new(),
        screening: case.screening.clone(),
    }
}

pub(crate) fn not_ready(e: embargo_formats::FormatError) -> Failure {
    match e {
        embargo_formats::FormatError::NotReady(m) => Failure(ServiceError::Invalid(m)),
        other => Failure(ServiceError::Internal(other.to_string())),
    }
}

pub(crate) fn text(content_type: &'static str, body: String) -> Response {
    ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
}

mod advisories;
mod cases;
mod channels;
mod commands;
mod org;
mod release;
mod reports;
mod screening;

pub(crate) use advisories::*;
pub(crate) use cases::*;
pub(crate) use channels::*;
pub(crate) use commands::*;
pub(crate) use org::*;
pub(crate) use release::*;
pub(crate) use reports::*;
pub(crate) use screening::*;
