//! Routes: every route the server answers is listed here, once. Public:
//! health, security.txt, the intake key, sign-in. API: bearer tokens. Web UI:
//! session cookies, with CSRF tokens on every form that changes anything.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::SignedDuration;
use tower_http::{limit::RequestBodyLimitLayer, set_header::SetResponseHeaderLayer};

use crate::{AppState, api, extract::Principal, web};

type Shared = Arc<AppState>;

/// The Content-Security-Policy of every response: our own script and style
/// files only, no inline code, no framing, forms post only to us.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(api::metrics))
        .route("/.well-known/security.txt", get(security_txt))
        .route("/pgp-key.txt", get(public_key))
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/cases", get(api::list_cases).post(api::create_case))
        .route("/api/v1/cases/{id}", get(api::get_case))
        .route("/api/v1/cases/{id}/events", get(api::case_events))
        .route("/api/v1/cases/{id}/commands", post(api::run_command))
        .route("/api/v1/cases/{id}/announcement", get(api::announcement))
        .route("/api/v1/cases/{id}/retrospective", get(api::retrospective))
        .route(
            "/api/v1/cases/{id}/announcement.txt",
            get(api::announcement_text),
        )
        .route("/api/v1/cases/{id}/release", get(api::release))
        .route(
            "/api/v1/cases/{id}/fork-credential",
            post(api::fork_credential),
        )
        .route("/api/v1/cases/{id}/export/{format}", get(api::export))
        .route("/api/v1/cases/{id}/advisory", get(api::get_advisory))
        .route("/advisories", get(web::advisories_page))
        .route("/advisories.atom", get(web::atom))
        .route("/advisories/{id}", get(web::advisory_page))
        .route("/advisories/{id}/{file}", get(web::advisory_file))
        .route("/osv/index.json", get(web::osv_index))
        .route("/osv/all.json", get(web::osv_all))
        .route("/osv/{file}", get(web::osv_one))
        .route(
            "/.well-known/csaf/provider-metadata.json",
            get(web::csaf_provider_metadata),
        )
        .route("/.well-known/csaf/white/index.txt", get(web::csaf_index))
        .route(
            "/.well-known/csaf/white/changes.csv",
            get(web::csaf_changes),
        )
        .route(
            "/.well-known/csaf/white/{year}/{file}",
            get(web::csaf_document),
        )
        .route(
            "/.well-known/csaf/feed-tlp-white.json",
            get(web::csaf_rolie),
        )
        .route(
            "/api/v1/channels",
            get(api::list_channels).post(api::add_channel),
        )
        .route("/api/v1/channels/{name}/remove", post(api::remove_channel))
        .route("/api/v1/channels/{name}/check", post(api::check_channel))
        .route("/channels", get(web::channels_page))
        .route("/dashboard", get(web::dashboard))
        .route("/compliance", get(web::compliance_page))
        .route("/api/v1/compliance", get(api::compliance))
        .route(
            "/api/v1/people",
            get(api::list_people).post(api::invite_person),
        )
        .route(
            "/api/v1/projects",
            get(api::list_projects).post(api::put_project),
        )
        .route(
            "/api/v1/projects/{project}/release",
            get(api::get_project_release).put(api::put_project_release),
        )
        .route(
            "/api/v1/projects/{project}/screening",
            get(api::get_project_screening).put(api::put_project_screening),
        )
        .route("/api/v1/screening/reject", post(api::reject_held))
        .route(
            "/api/v1/cases/{id}/reporter-history",
            get(api::reporter_history),
        )
        .route("/api/v1/admin/intake-key", get(api::get_intake_key))
        .route(
            "/api/v1/admin/intake-key/rotate",
            post(api::rotate_intake_key),
        )
        .route("/favicon.ico", get(favicon))
        .route("/static/app.css", get(web::stylesheet))
        .route("/static/app.js", get(web::script))
        .route("/static/report.js", get(web::report_script))
        .route("/report/status/{token}", get(web::status_page))
        .route("/report/status/{token}/reply", post(web::reporter_reply))
        .route(
            "/report/status/{token}/{answer}",
            post(web::reporter_answer),
        )
        .route("/", get(web::inbox))
        .route("/login", get(web::login_page).post(web::login))
        .route("/logout", post(web::logout))
        .route(
            "/invite/{token}",
            get(web::invite_page).post(web::accept_invite),
        )
        .route("/account/tokens", post(web::new_api_token))
        .route("/account/recovery-codes", post(web::new_recovery_codes))
        .route(
            "/account/tokens/{token}/revoke",
            post(web::revoke_api_token),
        )
        .route("/account/calendar", post(web::new_calendar))
        .route("/api/v1/calendar", post(crate::calendar::new_token))
        .route("/calendar/{token}", get(crate::calendar::feed))
        .route("/account", get(web::account_page).post(web::save_account))
        .route("/cvss", get(web::cvss_score))
        .route("/cases/{id}", get(web::case_page))
        .route("/cases/{id}/public-issue", get(web::public_issue))
        .route("/cases/{id}/preview/{format}", get(web::advisory_preview))
        .route("/markdown-preview", post(web::markdown_preview))
        .route("/cases/{id}/attachments/{n}", get(web::case_attachment))
        .route("/cases/{id}/inbound/{n}", get(web::case_inbound))
        .route(
            "/screening",
            get(web::screening_page).post(web::screening_action),
        )
        .route("/quarantine", get(web::quarantine_page))
        .route("/quarantine/{n}", get(web::quarantine_raw))
        .route("/quarantine/{n}/file", post(web::file_quarantined))
        .route("/cases/{id}/commands/{command}", post(web::case_command))
        .route("/cases/{id}/fork-credential", post(web::fork_credential))
        .route("/admin/people", get(web::people_page).post(web::invite))
        .route("/admin/people/{person}/unlock", post(web::unlock))
        .route(
            "/admin/people/{person}/invitation/revoke",
            post(web::revoke_invitation),
        )
        .route("/admin/people/{person}/role", post(web::set_role))
        .route("/admin/policy", get(web::policy_page))
        .route("/admin/intake-key/rotate", post(web::rotate_intake_key))
        .route(
            "/admin/projects",
            get(web::projects_page).post(web::save_project),
        )
        .route("/admin/projects/{project}", get(web::project_page))
        .route(
            "/admin/projects/{project}/release",
            post(web::save_project_release),
        )
        .route(
            "/admin/projects/{project}/screening",
            post(web::save_project_screening),
        )
        .route(
            "/admin/status-texts",
            get(web::status_texts_page).post(web::save_status_text),
        )
        .fallback(web::not_found)
        .layer(RequestBodyLimitLayer::new(1024 * 1024))
        .merge(intake_routes(&state))
        .merge(git_routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Case pages must not linger in shared caches or the back button;
        // only the static files say otherwise.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

/// The routes that take whole reports, attachments included: their body
/// limit is the intake's (`[intake] max_message_bytes`, plus room for form
/// encoding), not the 1 MiB of every other route.
fn intake_routes(state: &Shared) -> Router<Shared> {
    let limit = state
        .config
        .intake
        .max_message_bytes
        .saturating_mul(4)
        .saturating_div(3)
        .saturating_add(64 * 1024);
    // Strangers' reports take turns: at most one per core is worked on at
    // once, the rest wait their turn without using the processor, so a
    // flood cannot starve the team's own pages of it.
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let turns = Arc::new(tokio::sync::Semaphore::new(cores));
    // The turn is given back once a submission only awaits its commit
    // (`intake::TURN`), and at the latest with the answer. The form's page
    // itself (GET) takes no turn.
    Router::new()
        .route("/api/v1/intake/mail", post(api::ingest_mail))
        .route("/report", post(web::submit_report))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let turns = turns.clone();
                async move {
                    match turns.acquire_owned().await {
                        Ok(permit) => {
                            crate::intake::TURN
                                .scope(crate::intake::Turn::new(permit), next.run(req))
                                .await
                        }
                        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    }
                }
            },
        ))
        .route("/report", get(web::report_page))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
}

/// Git's smart HTTP for built-in private forks: pushes carry whole packs, so
/// the limit is larger (256 MiB).
fn git_routes() -> Router<Shared> {
    const LIMIT: usize = 256 * 1024 * 1024;
    Router::new()
        .route(
            "/git/{case}/{repo}/{*path}",
            get(crate::git::serve).post(crate::git::serve),
        )
        .layer(axum::extract::DefaultBodyLimit::max(LIMIT))
        .layer(RequestBodyLimitLayer::new(LIMIT))
}

/// Browsers ask for it on every site; there is none.
async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// `GET /healthz`: 200 when the store takes a write, else 503 naming the
/// failing part and why.
async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let health = embargo_service::health::check(&state).await;
    let code = if health.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health)).into_response()
}

/// `GET /readyz`: 200 when the server should get traffic (healthy, every
/// background loop has run, not stopping), else 503 saying why. Liveness
/// is `/healthz`: a server that is starting or stopping is alive but not
/// ready.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let health = embargo_service::health::check(&state).await;
    let code = if health.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health)).into_response()
}

/// RFC 9116: Contact, Expires, Encryption, Policy, Preferred-Languages, Canonical.
async fn security_txt(State(state): State<Shared>) -> Response {
    let cfg = &state.config.security_txt;
    let base = crate::links::base_url(&state);
    let expires = state
        .clock
        .now()
        .saturating_add(SignedDuration::from_hours(i64::from(cfg.expires_days) * 24))
        .unwrap_or(jiff::Timestamp::MAX)
        .round(jiff::Unit::Second)
        .unwrap_or(jiff::Timestamp::MAX);
    let mut body = String::new();
    for c in &cfg.contact {
        body.push_str(&format!("Contact: {c}\n"));
    }
    body.push_str(&format!("Expires: {expires}\n"));
    body.push_str(&format!("Encryption: {base}/pgp-key.txt\n"));
    if let Some(policy) = &cfg.policy {
        body.push_str(&format!("Policy: {policy}\n"));
    }
    body.push_str(&format!(
        "Preferred-Languages: {}\n",
        cfg.preferred_languages
    ));
    body.push_str(&format!("Canonical: {base}/.well-known/security.txt\n"));
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

async fn public_key(State(state): State<Shared>) -> Response {
    let intake = state.intake();
    (
        [
            (header::CONTENT_TYPE, "application/pgp-keys".to_owned()),
            (
                header::HeaderName::from_static("x-key-fingerprint"),
                intake.fingerprint.clone(),
            ),
        ],
        intake.public_key.clone(),
    )
        .into_response()
}

async fn whoami(principal: Principal) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "person": principal.0.id().as_str(),
        "role": principal.0.member.role.name(),
    }))
}
