//! Signing in and out, and taking up an invitation.

use super::*;

/// Ensures the pre-session CSRF cookie exists; returns its value and whether
/// it must be set on the response.
pub(crate) fn pre_csrf(parts: &Parts) -> (String, bool) {
    match cookie(parts, PRE_COOKIE) {
        Some(v) if v.len() == 64 => (v, false),
        _ => (accounts::new_token(""), true),
    }
}

pub(crate) fn with_pre_cookie(resp: Response, token: &str, fresh: bool) -> Response {
    let mut resp = resp;
    if fresh {
        resp.headers_mut()
            .append(header::SET_COOKIE, set_cookie(PRE_COOKIE, token, 3600));
    }
    resp
}

// ---------------------------------------------------------------- sign-in

pub(crate) async fn login_page(parts: Parts) -> Response {
    let (csrf, fresh) = pre_csrf(&parts);
    with_pre_cookie(
        render(
            "login.html",
            context! { me => (), csrf => &csrf, error => (), handle => "" },
        ),
        &csrf,
        fresh,
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    handle: String,
    password: String,
    #[serde(default)]
    code: String,
    csrf: String,
}

pub(crate) async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    posted: AnonPosted<LoginForm>,
) -> Response {
    let f = posted.form;
    let accounts_cfg = &state.config.accounts;
    let outcome = match accounts::attempt(
        &state,
        "signin",
        peer.ip(),
        accounts_cfg.attempts_per_address,
        i64::from(accounts_cfg.address_window_seconds),
    )
    .await
    {
        Err(wait) => Err(accounts::SignInFailure::Throttled(wait)),
        Ok(()) => {
            accounts::sign_in(
                &state,
                &f.handle,
                &f.password,
                &f.code,
                posted.old_session.as_deref(),
            )
            .await
        }
    };
    match outcome {
        Ok(session) => {
            let max_age = i64::from(state.config.accounts.session_hours) * 3600;
            let mut resp = Redirect::to("/").into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &session.token, max_age),
            );
            resp
        }
        Err(failure) => {
            let status = match failure {
                accounts::SignInFailure::Rejected => StatusCode::UNAUTHORIZED,
                accounts::SignInFailure::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                accounts::SignInFailure::Locked => StatusCode::FORBIDDEN,
                accounts::SignInFailure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            let mut resp = with_status(
                status,
                render(
                    "login.html",
                    context! {
                        me => (), csrf => &f.csrf, error => failure.message(),
                        handle => f.handle.chars().take(254).collect::<String>(),
                    },
                ),
            );
            if let accounts::SignInFailure::Throttled(secs) = failure
                && let Ok(v) = secs.to_string().parse()
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

pub(crate) async fn logout(State(state): State<Shared>, posted: Posted<Empty>) -> Response {
    let _ = state
        .store
        .remove_session(&token_hash(&posted.who.token))
        .await;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    resp
}

// ------------------------------------------------------------ invitations

pub(crate) async fn invite_page(
    State(state): State<Shared>,
    Path(token): Path<String>,
    parts: Parts,
) -> Result<Response, WebError> {
    let person = state
        .store
        .invitation(&token_hash(&token), state.clock.unix())
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let (csrf, fresh) = pre_csrf(&parts);
    let secret = person.totp_secret.clone().unwrap_or_default();
    Ok(with_pre_cookie(
        render(
            "invite.html",
            context! {
                me => (), csrf => &csrf, error => (),
                person => context! { id => person.id.as_str(), name => &person.name, role => person.role.name() },
                totp_required => state.config.totp_required(person.role),
                totp_secret => &secret,
                totp_uri => accounts::totp_uri(&secret, person.id.as_str()).unwrap_or_default(),
                totp_qr => totp_qr(&accounts::totp_uri(&secret, person.id.as_str()).unwrap_or_default()),
                typed => (),
            },
        ),
        &csrf,
        fresh,
    ))
}

/// The TOTP key's `otpauth:` link as a QR code, drawn here as inline SVG
/// (no image service sees the key).
fn totp_qr(uri: &str) -> Option<String> {
    if uri.is_empty() {
        return None;
    }
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in the page: the XML declaration has no place there.
    Some(match svg.find("<svg") {
        Some(at) => svg.get(at..).unwrap_or_default().to_owned(),
        None => svg,
    })
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    password: String,
    confirm: String,
    #[serde(default)]
    code: String,
    csrf: String,
}

pub(crate) async fn accept_invite(
    State(state): State<Shared>,
    Path(token): Path<String>,
    posted: AnonPosted<InviteForm>,
) -> Result<Response, WebError> {
    let now = state.clock.unix();
    let hash = token_hash(&token);
    let person = state
        .store
        .invitation(&hash, now)
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let f = posted.form;
    let secret = person.totp_secret.clone().unwrap_or_default();
    let required = state.config.totp_required(person.role);
    let step = if f.code.trim().is_empty() {
        None
    } else {
        accounts::totp_step(&secret, &f.code, now)
    };
    let problem = if let Err(e) = accounts::check_password(&f.password, &f.confirm) {
        Some(e)
    } else if !f.code.trim().is_empty() && step.is_none() {
        Some(
            "The code does not match. Check the time on your device and enter the current code."
                .into(),
        )
    } else if required && step.is_none() {
        Some(format!(
            "As {}, you need a second factor: add the key to your authenticator app and enter its current code.",
            person.role
        ))
    } else {
        None
    };
    if let Some(error) = problem {
        return Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(
                "invite.html",
                context! {
                    me => (), csrf => &f.csrf, error => error,
                    person => context! { id => person.id.as_str(), name => &person.name, role => person.role.name() },
                    totp_required => required,
                    totp_secret => &secret,
                    totp_uri => accounts::totp_uri(&secret, person.id.as_str()).unwrap_or_default(),
                    totp_qr => totp_qr(&accounts::totp_uri(&secret, person.id.as_str()).unwrap_or_default()),
                    // What was typed stays, so a wrong code costs one field.
                    typed => context! { password => &f.password, confirm => &f.confirm },
                },
            ),
        ));
    }
    let hashed = accounts::hash_password(f.password)
        .await
        .map_err(ServiceError::Internal)?;
    if !state
        .store
        .accept_invitation(&hash, &hashed, step, now)
        .await?
    {
        return Err(Failure(ServiceError::NotFound).into());
    }
    // The password and the code were just proved: signed in at once; with
    // a second factor, recovery codes for a lost authenticator, shown once.
    let session = accounts::start_session(&state, &person.id).await.ok();
    let codes = if step.is_some() {
        accounts::new_recovery_codes(&state, &person.id).await?
    } else {
        Vec::new()
    };
    let mut resp = render(
        "message.html",
        context! {
            me => (),
            title => "Your account is ready",
            message => if session.is_some() {
                format!("Welcome, {}. You are signed in; next time, sign in with your handle `{}`.", person.name, person.id)
            } else {
                format!("Welcome, {}. Sign in with your handle `{}`.", person.name, person.id)
            },
            link => if session.is_some() { "/" } else { "/login" },
            link_text => if session.is_some() { "Go to the inbox" } else { "Sign in" },
            codes => codes,
        },
    );
    if let Some(session) = session {
        let max_age = i64::from(state.config.accounts.session_hours) * 3600;
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, &session.token, max_age),
        );
    }
    Ok(resp)
}

// ------------------------------------------------------------------ inbox
