//! The public side: the report form (no account; works without JavaScript;
//! with it, the browser encrypts the report to the team's key before
//! sending), the receipt, and the reporter's private status page with the
//! thread and a reply form.
//!
//! The form is `multipart/form-data` (attachments), so it has its own
//! extractor, [`ReportPosted`], which checks the pre-session CSRF cookie
//! (double submit) exactly as `AnonPosted` does and enforces the attachment
//! limits while reading.

use crate::error::ServiceError;
use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, FromRequest, Multipart, Path, Request, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use embargo_core::event::{Channel, Intake, Report};
use minijinja::context;
use serde::Deserialize;

use super::{AnonPosted, PRE_COOKIE, WebError, cookie, pages::reporter_thread, render};
use crate::{
    AppState,
    datadir::token_hash,
    failure::Failure,
    intake::{self, FileIn, IntakeError, Submission},
};

type Shared = Arc<AppState>;

/// The report's own fields, and the longest each may be (in characters).
/// The form page renders the names into the form (`data-fields`), and the
/// browser's script encrypts exactly these: one list, so the two cannot
/// drift apart.
const REPORT_FIELDS: &[(&str, usize)] = &[
    ("project", 200),
    ("title", 300),
    ("affected_versions", 2_000),
    ("description", 100_000),
    ("steps", 100_000),
    ("impact", 20_000),
    ("name", 200),
    ("email", 254),
    ("credit", 500),
];

/// The form's other fields: the CSRF token, a message the reporter
/// encrypted themselves, and what the browser's script encrypted.
const CONTROL_FIELDS: &[(&str, usize)] = &[
    ("csrf", 64),
    ("armored", 2_000_000),
    ("sealed", 2_000_000),
    ("encrypted_by", 20),
];

fn check_in<'a>(
    list: impl IntoIterator<Item = &'a (&'a str, usize)>,
    name: &str,
    value: &str,
) -> Result<(), String> {
    let Some((_, max)) = list.into_iter().find(|(n, _)| *n == name) else {
        return Err(format!("Unexpected field `{}`.", intake::one_line(name)));
    };
    if value.chars().count() > *max {
        return Err(format!("Field `{name}` is longer than {max} characters."));
    }
    Ok(())
}

fn check_field(name: &str, value: &str) -> Result<(), String> {
    check_in(REPORT_FIELDS.iter().chain(CONTROL_FIELDS), name, value)
}

/// The most an encrypted attachment may be for `limit` bytes of plaintext:
/// the script pads by less than an eighth (Padmé over 4 KiB) and adds a few
/// hundred bytes of packets and tags.
fn sealed_limit(limit: usize) -> usize {
    limit.saturating_add(limit / 8).saturating_add(64 * 1024)
}

/// The report form as posted, CSRF checked.
pub(crate) struct ReportPosted {
    fields: HashMap<String, String>,
    files: Vec<FileIn>,
    /// The request's bytes as received, kept raw.
    raw: Vec<u8>,
}

impl ReportPosted {
    fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |s| s.as_str())
    }
}

fn form_error(message: String) -> Response {
    WebError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "Please check the form",
        message,
    }
    .into_response()
}

impl FromRequest<Shared> for ReportPosted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let expected = cookie(&parts, PRE_COOKIE).unwrap_or_default();
        // Keep the bytes as received (the raw submission), then read them.
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        read_posted(&parts, bytes, &state.config.intake, &expected).await
    }
}

/// Reads the form's bytes as posted (urlencoded, or multipart with files),
/// checking the CSRF token against `expected` and every field against the
/// form's list and limits. A stranger writes these bytes: this is fuzzed
/// (`fuzz/fuzz_targets/report_form.rs`).
pub(crate) async fn read_posted(
    parts: &axum::http::request::Parts,
    bytes: axum::body::Bytes,
    limits: &embargo_service::config::Intake,
    expected: &str,
) -> Result<ReportPosted, Response> {
    let raw = bytes.to_vec();
    let urlencoded = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if urlencoded {
        // Without files a client may send the form urlencoded.
        let pairs: Vec<(String, String)> = serde_html_form::from_bytes(&bytes)
            .map_err(|e| form_error(format!("The form could not be read: {e}")))?;
        let posted = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if !super::same_secret(&posted, expected) {
            return Err(super::forbidden_form().into_response());
        }
        let mut fields = HashMap::new();
        for (name, value) in pairs {
            check_field(&name, &value).map_err(form_error)?;
            fields.insert(name, value);
        }
        return Ok(ReportPosted {
            fields,
            files: Vec::new(),
            raw,
        });
    }
    let req = Request::from_parts(parts.clone(), axum::body::Body::from(bytes));
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| form_error(format!("The form could not be read: {e}")))?;
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| form_error(format!("The form could not be read: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachment" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let data = field
                .bytes()
                .await
                .map_err(|e| form_error(format!("An attachment could not be read: {e}")))?;
            if file_name.is_empty() && data.is_empty() {
                continue; // the empty file input of a form sent without a file
            }
            if files.len() >= limits.max_attachments {
                return Err(form_error(format!(
                    "At most {} attachments are accepted.",
                    limits.max_attachments
                )));
            }
            // The form (and the script) send `encrypted_by` before the
            // files: a file in clear has the plaintext limit now, an
            // encrypted one room for padding until it is opened.
            let sealed = fields.get("encrypted_by").is_some_and(|v| v == "browser");
            let limit = if sealed {
                sealed_limit(limits.max_attachment_bytes)
            } else {
                limits.max_attachment_bytes
            };
            if data.len() > limit {
                return Err(form_error(too_large(&file_name, Some(data.len()), limits)));
            }
            files.push(FileIn {
                name: file_name,
                content_type,
                bytes: data.to_vec(),
            });
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|e| form_error(format!("Field `{name}` could not be read: {e}")))?;
        fields.insert(name, value);
    }
    // The token first: a forged post learns nothing about the fields.
    let posted = fields.get("csrf").cloned().unwrap_or_default();
    if !super::same_secret(&posted, expected) {
        return Err(super::forbidden_form().into_response());
    }
    for (name, value) in &fields {
        check_field(name, value).map_err(form_error)?;
    }
    Ok(ReportPosted { fields, files, raw })
}

/// The form's fields, sent in clear or, by the browser's script, as JSON
/// inside the encrypted message. Both ways go through the same rules.
#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(serde::Serialize))]
struct FormReport {
    #[serde(default)]
    project: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    affected_versions: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    steps: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    credit: String,
}

/// Why an attachment is refused, with its size when it is known (an
/// encrypted one's plaintext is read only up to the limit).
fn too_large(name: &str, size: Option<usize>, limits: &crate::config::Intake) -> String {
    let name = intake::one_line(name);
    let limit = limits.max_attachment_bytes;
    match size {
        Some(size) => format!("Attachment `{name}` is {size} bytes; the limit is {limit}."),
        None => format!("Attachment `{name}` is larger than the limit of {limit} bytes."),
    }
}

impl FormReport {
    /// The report's fields out of what was posted (or sealed); the names
    /// are [`REPORT_FIELDS`], which a test holds equal to this struct's.
    fn from_fields(fields: &HashMap<String, String>) -> Self {
        let known = REPORT_FIELDS
            .iter()
            .filter_map(|(n, _)| Some(((*n).to_owned(), fields.get(*n)?.clone().into())))
            .collect();
        serde_json::from_value(serde_json::Value::Object(known)).unwrap_or_default()
    }

    /// What the reporter must still give, if anything.
    fn missing(&self) -> Option<&'static str> {
        if self.title.trim().is_empty() || self.description.trim().is_empty() {
            Some("A summary and a description are required.")
        } else if self.steps.trim().is_empty() {
            Some(
                "Steps to reproduce or a proof of concept are required: the team needs them to confirm the issue.",
            )
        } else {
            None
        }
    }

    fn report(&self, default_project: &str) -> Report {
        Report {
            project: given(&self.project).unwrap_or_else(|| default_project.to_owned()),
            title: self.title.clone(),
            body: self.body(true),
            reporter_name: given(&self.name),
            reporter_email: given(&self.email),
            channel: Channel::Web,
            intake: Intake {
                credit: given(&self.credit),
                affected_versions: given(&self.affected_versions),
                ..Intake::default()
            },
        }
    }

    /// The report's text in Markdown. With `whole`, the required sections
    /// are there even when empty; without, only what the reporter wrote
    /// (beside a message they encrypted themselves).
    fn body(&self, whole: bool) -> String {
        let mut body = String::new();
        if !self.affected_versions.trim().is_empty() {
            body.push_str(&format!(
                "**Affected versions:** {}\n\n",
                intake::one_line(&self.affected_versions)
            ));
        }
        let sections = [
            ("Description", &self.description),
            ("Steps to reproduce / proof of concept", &self.steps),
            ("Impact", &self.impact),
        ];
        for (i, (heading, text)) in sections.into_iter().enumerate() {
            if !text.trim().is_empty() || (whole && i < 2) {
                body.push_str(&format!("## {heading}\n\n{}\n\n", text.trim()));
            }
        }
        body.truncate(body.trim_end().len());
        body.push('\n');
        body
    }

    /// A report whose text is a message the reporter encrypted themselves,
    /// with whatever else they wrote on the form after it.
    fn with_own_message(&self, text: &str, default_project: &str) -> Report {
        let mut body = text.trim_end().to_owned();
        let rest = self.body(false);
        if !rest.trim().is_empty() {
            body.push_str("\n\n");
            body.push_str(&rest);
        }
        Report {
            title: given(&self.title).unwrap_or_else(|| "(encrypted report)".into()),
            body,
            ..self.report(default_project)
        }
    }
}

/// The content hash of the form's script, in its URL: a page always loads
/// the script it was written for, however long a cache keeps the old one.
fn script_version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(include_str!("../../static/report.js"));
        hex::encode(digest.get(..8).unwrap_or_default())
    });
    &VERSION
}

/// What the projects ask of a report and do not treat as a
/// vulnerability, as the form shows it: the policies that ask anything.
async fn policies_shown(state: &AppState) -> Vec<minijinja::Value> {
    let published = crate::screening::published(state)
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "screening policies unreadable");
            Vec::new()
        });
    let others = published.len() > 1;
    published
        .into_iter()
        .filter(|(_, p)| p.asks_anything())
        .map(|(project, p)| {
            let mut needs = Vec::new();
            if p.require_reproduction {
                needs.push("steps to reproduce it with code (a script, a shell or Python session, in a code block), or a proof-of-concept file".to_owned());
            }
            if p.require_version {
                needs.push(if p.known_versions.is_empty() {
                    "the version you found it in".to_owned()
                } else {
                    format!("the version you found it in (released: {})", p.known_versions.join(", "))
                });
            }
            if p.require_component && !p.components.is_empty() {
                needs.push(format!("the component affected: one of {}", p.components.join(", ")));
            }
            context! {
                project => project,
                for_others => others,
                needs => needs,
                not_vulnerabilities => p.not_vulnerabilities.iter()
                    .map(|e| context! { title => e.title.clone(), why => e.why.clone() })
                    .collect::<Vec<_>>(),
            }
        })
        .collect()
}

fn form_page(
    state: &AppState,
    csrf: &str,
    error: Option<String>,
    (projects, policies): (Vec<String>, Vec<minijinja::Value>),
    values: &HashMap<String, String>,
) -> Response {
    let failed = error.is_some();
    let intake = state.intake();
    let recipient = intake.keys.current().browser_recipient();
    let mut resp = render(
        "report.html",
        context! {
            me => (),
            csrf => csrf,
            error => error,
            projects => projects,
            policies => policies,
            fingerprint => &intake.fingerprint,
            recipient_fpr => recipient.as_ref().map(|r| hex::encode(&r.fingerprint)),
            recipient_key => recipient.as_ref().map(|r| hex::encode(&r.public)),
            max_attachments => state.config.intake.max_attachments,
            // What the reporter typed comes back with the error: nothing lost.
            values => REPORT_FIELDS
                .iter()
                .chain(CONTROL_FIELDS)
                .map(|(n, _)| (*n, values.get(*n).cloned().unwrap_or_default()))
                .collect::<std::collections::BTreeMap<&str, String>>(),
            fields => REPORT_FIELDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" "),
            max_attachment_mb => state.config.intake.max_attachment_bytes / (1024 * 1024),
            max_attachment_bytes => state.config.intake.max_attachment_bytes,
            max_message_mb => state.config.intake.max_message_bytes / (1024 * 1024),
            max_message_bytes => state.config.intake.max_message_bytes,
            script_version => script_version(),
        },
    );
    if failed {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

/// What the form lists: the projects, and the screening policies in force.
async fn form_lists(state: &AppState) -> (Vec<String>, Vec<minijinja::Value>) {
    let names = state
        .store
        .projects()
        .await
        .map(|ps| ps.into_iter().map(|p| p.name).collect())
        .unwrap_or_default();
    (names, policies_shown(state).await)
}

/// `GET /report`: the form.
pub(crate) async fn report_page(State(state): State<Shared>, parts: Parts) -> Response {
    let (csrf, fresh) = super::pages::pre_csrf(&parts);
    let page = form_page(
        &state,
        &csrf,
        None,
        form_lists(&state).await,
        &HashMap::new(),
    );
    super::pages::with_pre_cookie(page, &csrf, fresh)
}

fn given(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The form given back with a 429 and when to try again.
fn too_many(mut page: Response, wait: i64) -> Response {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = wait.to_string().parse() {
        page.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, v);
    }
    page
}

/// `POST /report`: files the report, or says what to fix.
pub(crate) async fn submit_report(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut posted: ReportPosted,
) -> Response {
    let csrf = posted.get("csrf").to_owned();
    let cfg = &state.config.intake;
    let mut values = posted.fields.clone();
    values.remove("csrf");
    values.remove("encrypted_by");
    // Past a limit the form comes back with everything typed, says why,
    // and when to try again: nothing a person wrote is lost.
    let given_back = |why: &str, wait: i64| {
        let state = state.clone();
        let message = format!(
            "{why} Nothing was filed: your text is below. Please send it again in {wait} seconds, or write to {}.",
            cfg.address
        );
        let (csrf, values) = (csrf.clone(), values.clone());
        async move {
            let page = form_page(
                &state,
                &csrf,
                Some(message),
                form_lists(&state).await,
                &values,
            );
            too_many(page, wait)
        }
    };
    if let Err(wait) = crate::accounts::attempt(
        &state,
        "report",
        peer.ip(),
        cfg.submissions_per_address,
        i64::from(cfg.submission_window_seconds),
    )
    .await
    {
        return given_back("Too many reports from this address just now.", wait).await;
    }
    // Many addresses of one network count together.
    if cfg.submissions_per_network > 0
        && let Err(wait) = crate::accounts::counted(
            &state,
            &format!("report-net:{}", crate::intake::network_of(peer.ip())),
            cfg.submissions_per_network,
            i64::from(cfg.submission_window_seconds),
        )
        .await
    {
        return given_back("Too many reports from your network just now.", wait).await;
    }
    let again = |error: String| {
        let state = state.clone();
        let csrf = csrf.clone();
        let values = values.clone();
        async move {
            let projects = form_lists(&state).await;
            form_page(&state, &csrf, Some(error), projects, &values)
        }
    };
    let by_browser = posted.get("encrypted_by") == "browser";
    let files = std::mem::take(&mut posted.files);
    let opened = if by_browser {
        open_sealed(&state, &posted.fields, files)
    } else {
        open_clear(&state, &posted.fields, files)
    };
    let (report, files, encrypted) = match opened {
        Ok(opened) => opened,
        Err(Refused::Form(message)) => return again(message).await,
        Err(Refused::Kept(reason)) => {
            // What cannot be opened is kept, with the reason, for the team.
            let kept =
                intake::quarantine(&state, Channel::Web, "web form", None, posted.raw, &reason)
                    .await
                    .map(|id| format!(" It is kept (quarantine #{id}) and the team can see it."))
                    .unwrap_or_default();
            return again(format!(
                "The encrypted report could not be opened: {reason}.{kept} Please encrypt it to the key with fingerprint {}.",
                state.intake().fingerprint
            ))
            .await;
        }
    };
    let mut report = report;
    report.intake.encrypted = encrypted;
    if let Some(reason) = crate::intake::over_budget(&state, &report).await {
        tracing::info!(reason, "web report asked to wait");
        return given_back(
            "The team is receiving an unusual number of reports just now.",
            60,
        )
        .await;
    }
    let submission = Submission {
        channel: Channel::Web,
        source: "web form".into(),
        reference: None,
        raw: posted.raw,
        report,
        attachments: files,
        entered_by: None,
    };
    match intake::receive(&state, submission).await {
        Ok(receipt) => {
            let url = intake::status_url(&state, &receipt.status_token);
            let mut resp = render(
                "report_received.html",
                context! {
                    me => (),
                    case_id => receipt.case_id.as_str(),
                    status_url => url,
                    hours => state.config.sla.acknowledge_hours,
                    encrypted => encrypted,
                },
            );
            *resp.status_mut() = StatusCode::CREATED;
            resp
        }
        Err(IntakeError::Invalid(m)) => again(m).await,
        Err(e) => WebError::from(Failure::from(e)).into_response(),
    }
}

/// Why a submission is not filed.
enum Refused {
    /// Something for the reporter to fix on the form (nothing is kept: the
    /// form still holds it).
    Form(String),
    /// It cannot be opened: kept in quarantine with this reason. The
    /// reason is logged, so it names no file and quotes nothing sent.
    Kept(String),
}

type Opened = (Report, Vec<FileIn>, bool);

/// A browser's idea of a file's type when it looks like one, else bytes.
fn media_type(given: &str) -> String {
    let plausible = given.len() <= 127
        && given
            .split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && given
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-/".contains(&b));
    if plausible {
        given.to_ascii_lowercase()
    } else {
        "application/octet-stream".into()
    }
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> &'a str {
    fields.get(name).map_or("", |s| s.trim())
}

/// The form as sent without the browser's encryption: fields and files in
/// clear, and perhaps a message the reporter encrypted themselves.
fn open_clear(
    state: &AppState,
    fields: &HashMap<String, String>,
    files: Vec<FileIn>,
) -> Result<Opened, Refused> {
    let cfg = &state.config.intake;
    let form = FormReport::from_fields(fields);
    if let Some(file) = files
        .iter()
        .find(|f| f.bytes.len() > cfg.max_attachment_bytes)
    {
        return Err(Refused::Form(too_large(
            &file.name,
            Some(file.bytes.len()),
            cfg,
        )));
    }
    finish(state, &form, fields, files, false)
}

/// The report the form makes: its fields alone (all required ones given),
/// or a message the reporter encrypted themselves with the fields beside
/// it (then encrypted). `sealed`: the fields travelled encrypted.
fn finish(
    state: &AppState,
    form: &FormReport,
    fields: &HashMap<String, String>,
    files: Vec<FileIn>,
    sealed: bool,
) -> Result<Opened, Refused> {
    let default_project = &state.config.intake.default_project;
    let armored = field(fields, "armored");
    if armored.is_empty() {
        if let Some(missing) = form.missing() {
            return Err(Refused::Form(missing.into()));
        }
        return Ok((form.report(default_project), files, sealed));
    }
    let text = open_own(state, armored)?;
    Ok((form.with_own_message(&text, default_project), files, true))
}

/// A message the reporter encrypted themselves: its plaintext is the report.
fn open_own(state: &AppState, armored: &str) -> Result<String, Refused> {
    let opened = state
        .intake()
        .keys
        .open(
            armored.as_bytes(),
            state.config.intake.max_message_bytes,
            &[],
        )
        .map_err(|e| Refused::Kept(e.to_string()))?;
    Ok(String::from_utf8_lossy(&opened.plaintext).into_owned())
}

/// What the browser's script sealed: the fields and the attachments' names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    fields: HashMap<String, String>,
    #[serde(default)]
    files: Vec<SealedFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedFile {
    name: String,
    #[serde(rename = "type", default)]
    content_type: String,
}

/// The form as the browser's script sent it: every field and every file
/// name in one encrypted message, each file's bytes in its own, and perhaps
/// a message the reporter encrypted themselves beside them.
fn open_sealed(
    state: &AppState,
    fields: &HashMap<String, String>,
    sent: Vec<FileIn>,
) -> Result<Opened, Refused> {
    let cfg = &state.config.intake;
    let opened = state
        .intake()
        .keys
        .open(
            field(fields, "sealed").as_bytes(),
            cfg.max_message_bytes,
            &[],
        )
        .map_err(|e| Refused::Kept(e.to_string()))?;
    let sealed: Sealed = serde_json::from_slice(&opened.plaintext).map_err(|_| {
        Refused::Kept("the encrypted form is not the list of fields the form sends".into())
    })?;
    for (name, value) in &sealed.fields {
        check_in(REPORT_FIELDS, name, value).map_err(Refused::Form)?;
    }
    if sealed.files.len() != sent.len() {
        return Err(Refused::Kept(format!(
            "the encrypted form names {} attachments but {} were sent",
            sealed.files.len(),
            sent.len()
        )));
    }
    let count = sent.len();
    let mut files = Vec::with_capacity(count);
    for (i, (file, about)) in sent.iter().zip(&sealed.files).enumerate() {
        let opened = state
            .intake()
            .keys
            .open(&file.bytes, cfg.max_attachment_bytes, &[])
            .map_err(|e| match e {
                embargo_pgp::OpenError::TooLarge { .. } => {
                    Refused::Form(too_large(&about.name, None, cfg))
                }
                e => Refused::Kept(format!("attachment {} of {count}: {e}", i + 1)),
            })?;
        files.push(FileIn {
            name: about.name.chars().take(255).collect(),
            content_type: media_type(&about.content_type),
            bytes: opened.plaintext,
        });
    }
    let form = FormReport::from_fields(&sealed.fields);
    finish(state, &form, fields, files, true)
}

/// The case a status token opens, or 404.
async fn case_for(state: &AppState, token: &str) -> Result<embargo_core::Case, WebError> {
    if !token.starts_with("rpt_") || token.len() != 68 {
        return Err(Failure(ServiceError::NotFound).into());
    }
    let case_id = state
        .store
        .reporter_link_case(&token_hash(token))
        .await
        .map_err(Failure::from)?
        .ok_or(Failure(ServiceError::NotFound))?;
    Ok(state.store.case(&case_id).await.map_err(Failure::from)?)
}

/// `GET /report/status/{token}`: where the reporter follows their case.
pub(crate) async fn status_page(
    State(state): State<Shared>,
    Path(token): Path<String>,
    parts: Parts,
) -> Result<Response, WebError> {
    let (case, events) = crate::authz::for_reporter_link(&state, case_for(&state, &token).await?)
        .await
        .map_err(WebError::from)?;
    let stage_text = super::pages::reporter_text(&state, case.stage()).await?;
    let attachments = state
        .store
        .attachments(&case.id)
        .await
        .map_err(Failure::from)?;
    // The disclosure moment, agreed or proposed, in several time zones.
    let disclosure = case
        .embargo
        .agreed_until()
        .map(|t| ("agreed", t))
        .or_else(|| case.embargo.proposed().map(|t| ("proposed", t)))
        .filter(|_| case.published_at.is_none())
        .map(|(how, at)| {
            context! {
                how => how,
                zones => embargo_core::timeline::in_zones(at, &state.config.disclosure.show_zones),
            }
        });
    // The credits that name the reporter, and what they answered.
    let answer = case.credit_answer(&embargo_core::advisory::CreditHolder::Reporter);
    let named_as = case
        .credit_names
        .iter()
        .find(|(h, _)| *h == embargo_core::advisory::CreditHolder::Reporter)
        .map(|(_, n)| n.clone());
    let credits: Vec<_> = case
        .current_advisory()
        .map(|a| {
            a.credits
                .iter()
                .filter(|c| c.holder == Some(embargo_core::advisory::CreditHolder::Reporter))
                .map(|c| context! { name => &c.name, kind => c.kind.as_deref().map(|k| k.to_lowercase().replace('_', " ")) })
                .collect()
        })
        .unwrap_or_default();
    let open = case.handling != embargo_core::Handling::Closed;
    let retest = case
        .facts
        .fix_ready
        .filter(|_| (open && case.published_at.is_none()) || case.retest.is_some())
        .map(|ready| {
            context! {
                ready => ready.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                answered => case.retest.as_ref().map(|(fixed, note, at)| context! {
                    fixed => fixed,
                    html => super::markdown::render(note),
                    at => at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                }),
                open => open && case.published_at.is_none(),
            }
        });
    // A date proposed (or a new one): the reporter agrees or declines.
    let asks_date = open
        && case.published_at.is_none()
        && matches!(
            case.embargo,
            embargo_core::Embargo::Proposed { .. } | embargo_core::Embargo::Revising { .. }
        );
    let (csrf, fresh) = super::pages::pre_csrf(&parts);
    let page = render(
        "report_status.html",
        context! {
            me => (),
            csrf => &csrf,
            token => &token,
            case_id => case.id.as_str(),
            title => &case.report.title,
            stage => case.stage().label(),
            stage_text => super::markdown::render(&stage_text),
            received => case.received_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            report_html => super::markdown::render(&case.report.body),
            attachments => attachments.iter().map(|a| context! { name => &a.name, size => a.size }).collect::<Vec<_>>(),
            thread => reporter_thread(&events, true),
            closed => case.handling == embargo_core::Handling::Closed,
            disclosure => disclosure,
            credits => credits,
            credit_answer => answer,
            named_as => named_as,
            retest => retest,
            asks_date => asks_date,
            proposed => case.embargo.proposed().map(|t| embargo_core::timeline::in_zones(t, &state.config.disclosure.show_zones)),
            notice => parts.uri.query().and_then(|q| q.strip_prefix("done=")).and_then(|d| match d {
                "credit" => Some("Thank you: your answer about the credit is recorded."),
                "retest" => Some("Thank you: your retest is recorded; the team sees it on the case."),
                "timeline" => Some("Thank you: your answer about the date is recorded; the team sees it on the case."),
                _ => None,
            }),
        },
    );
    Ok(super::pages::with_pre_cookie(page, &csrf, fresh))
}

#[derive(Deserialize)]
pub(crate) struct ReplyForm {
    text: String,
    #[expect(dead_code, reason = "checked by AnonPosted")]
    csrf: String,
}

/// `POST /report/status/{token}/reply`: the reporter writes to the team.
pub(crate) async fn reply(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    posted: AnonPosted<ReplyForm>,
) -> Result<Response, WebError> {
    let case = case_for(&state, &token).await?;
    // Replies count against the same per-address allowance as reports.
    let cfg = &state.config.intake;
    if let Err(wait) = crate::accounts::attempt(
        &state,
        "report",
        peer.ip(),
        cfg.submissions_per_address,
        i64::from(cfg.submission_window_seconds),
    )
    .await
    {
        return Err(WebError {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Too many messages from this address",
            message: format!("Please wait {wait} seconds before writing again."),
        });
    }
    let text = posted.form.text;
    if text.trim().is_empty() {
        return Err(WebError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Please check the form",
            message: "The message is empty.".into(),
        });
    }
    intake::receive_reply(
        &state,
        case.id.clone(),
        Channel::Web,
        "status page",
        None,
        text.clone().into_bytes(),
        &text,
    )
    .await
    .map_err(Failure::from)?;
    Ok(Redirect::to(&format!("/report/status/{token}#thread")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AnswerForm {
    /// `accept` or `decline` (credit); `yes` or `no` (retest).
    #[serde(default)]
    answer: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    note: String,
    #[expect(dead_code, reason = "checked by AnonPosted")]
    csrf: String,
}

/// `POST /report/status/{token}/{credit|retest}`: the reporter answers
/// the credit that names them, or says whether the fix works.
pub(crate) async fn answer(
    State(state): State<Shared>,
    Path((token, what)): Path<(String, String)>,
    posted: AnonPosted<AnswerForm>,
) -> Result<Response, WebError> {
    let case = case_for(&state, &token).await?;
    let f = posted.form;
    let bad = |message: &str| WebError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "Please check the form",
        message: message.into(),
    };
    let command = match (what.as_str(), f.answer.as_str()) {
        ("credit", "accept" | "decline") => embargo_core::Command::AnswerCredit {
            accepted: f.answer == "accept",
            name: Some(f.name.trim().to_owned()).filter(|n| !n.is_empty() && f.answer == "accept"),
        },
        ("retest", "yes" | "no") => embargo_core::Command::AnswerRetest {
            fixed: f.answer == "yes",
            note: if f.note.trim().is_empty() {
                (if f.answer == "yes" {
                    "The fix works for me."
                } else {
                    "The fix does not resolve it for me."
                })
                .to_owned()
            } else {
                embargo_core::text::multi_line(&f.note)
            },
        },
        ("timeline", "accept") => embargo_core::Command::AcceptTimeline,
        ("timeline", "decline") => {
            if f.note.trim().is_empty() {
                return Err(bad(
                    "Say why the date does not work for you, and what would.",
                ));
            }
            embargo_core::Command::DeclineTimeline {
                reason: embargo_core::text::multi_line(&f.note),
            }
        }
        ("credit" | "retest" | "timeline", _) => return Err(bad("Choose one of the answers.")),
        _ => return Err(Failure(ServiceError::NotFound).into()),
    };
    crate::authz::run_as_reporter(&state, &case.id, command)
        .await
        .map_err(Failure::from)?;
    Ok(Redirect::to(&format!("/report/status/{token}?done={what}#{what}")).into_response())
}

/// The browser-side encryption script.
pub(crate) async fn script() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/report.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list the page renders for the script is the list the server
    /// reads: adding a field to one and not the other fails here.
    #[test]
    fn the_form_fields_are_the_report_fields() {
        let value = serde_json::to_value(FormReport::default()).unwrap();
        let mut read: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut listed: Vec<&str> = REPORT_FIELDS.iter().map(|(n, _)| *n).collect();
        read.sort_unstable();
        listed.sort_unstable();
        assert_eq!(read, listed);
        let fields: HashMap<String, String> = REPORT_FIELDS
            .iter()
            .map(|(n, _)| ((*n).to_owned(), format!("<{n}>")))
            .collect();
        let back = serde_json::to_value(FormReport::from_fields(&fields)).unwrap();
        for (n, _) in REPORT_FIELDS {
            assert_eq!(back[*n], format!("<{n}>"), "{n} is read");
        }
    }

    #[test]
    fn a_browser_file_type_is_kept_only_when_it_looks_like_one() {
        assert_eq!(media_type("text/x-python"), "text/x-python");
        assert_eq!(media_type("Image/PNG"), "image/png");
        for odd in ["", "text", "/x", "text/html; charset=\"x\"", "a/b\r\nX: y"] {
            assert_eq!(media_type(odd), "application/octet-stream", "{odd}");
        }
    }

    #[test]
    fn the_sealed_limit_leaves_room_for_padding() {
        // Padmé pads 10 MiB by at most 2^(23-5) bytes, 2.5 %.
        let limit = 10 * 1024 * 1024;
        assert!(sealed_limit(limit) >= limit + limit / 40 + 1024);
    }
}
