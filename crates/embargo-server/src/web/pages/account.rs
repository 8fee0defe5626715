//! The viewer's own account: notice preferences, API tokens, calendar feeds.

use super::*;

/// Issues an API token for the signed-in person (for the CLI), shown once.
pub(crate) async fn new_api_token(
    State(state): State<Shared>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let token = accounts::new_token("emb_");
    state
        .store
        .add_api_token(
            &token_hash(&token),
            posted.who.caller.id().as_str(),
            state.clock.now(),
        )
        .await?;
    Ok(render(
        "message.html",
        context! {
            me => ser(me(&posted.who)),
            title => "Your new API token",
            message => format!("Use it as EMBARGO_TOKEN for the embargo CLI. It is shown only now: {token}"),
        },
    ))
}

/// `POST /account/tokens/{token}/revoke`: one of the caller's own API
/// tokens stops working.
pub(crate) async fn revoke_api_token(
    State(state): State<Shared>,
    Path(token): Path<String>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let who = posted.who;
    if !state
        .store
        .revoke_api_token(who.caller.id().as_str(), &token)
        .await?
    {
        return Err(Failure(ServiceError::NotFound).into());
    }
    tracing::info!(person = %who.caller.id(), token, "API token revoked");
    Ok(Redirect::to("/account?revoked=1#tokens").into_response())
}

/// `POST /account/recovery-codes`: new recovery codes, shown once; the
/// old ones stop working.
pub(crate) async fn new_recovery_codes(
    State(state): State<Shared>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let who = posted.who;
    let enrolled = state
        .store
        .person(who.caller.id().as_str())
        .await?
        .is_some_and(|p| p.totp_enrolled);
    if !enrolled {
        return Err(WebError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "No second factor",
            message: "Recovery codes stand in for an authenticator; you have none enrolled.".into(),
        });
    }
    let codes = accounts::new_recovery_codes(&state, who.caller.id()).await?;
    tracing::info!(person = %who.caller.id(), "recovery codes replaced");
    Ok(render(
        "message.html",
        context! {
            me => ser(me(&who)),
            title => "New recovery codes",
            message => "The old codes no longer work.",
            codes => codes,
        },
    ))
}

/// `POST /account/calendar`: a new private calendar URL (the old one stops).
pub(crate) async fn new_calendar(
    State(state): State<Shared>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let url = crate::calendar::issue(&state, &posted.who.caller).await?;
    Ok(render(
        "message.html",
        context! {
            me => ser(me(&posted.who)),
            title => "Your private calendar",
            message => format!("Subscribe to your deadlines with this address; anyone with it can read them, so keep it to yourself. It is shown only now: {url}"),
        },
    ))
}

// ------------------------------------------------------------------ admin

pub(crate) async fn account_view(
    state: &AppState,
    who: &SignedIn,
    saved: bool,
    error: Option<String>,
) -> Result<Response, WebError> {
    let prefs = state.store.prefs(who.caller.id()).await?;
    let fingerprint = prefs
        .openpgp_key
        .as_deref()
        .and_then(|k| embargo_pgp::Certificate::parse(k.as_bytes()).ok())
        .map(|c| c.fingerprint());
    let tokens = state.store.api_tokens_of(who.caller.id().as_str()).await?;
    let person = state.store.person(who.caller.id().as_str()).await?;
    let recovery = match person.filter(|p| p.totp_enrolled) {
        Some(p) => Some(state.store.recovery_codes_left(&p.id).await?),
        None => None,
    };
    let mut resp = render(
        "account.html",
        context! {
            recovery_left => recovery,
            tokens => tokens.iter().map(|(id, at)| context! {
                id => id,
                at => at.parse::<jiff::Timestamp>().map(super::case::when).unwrap_or_else(|_| at.clone()),
            }).collect::<Vec<_>>(),
            me => ser(me(who)),
            notify => prefs.notify,
            fingerprint => fingerprint,
            saved => saved,
            error => error,
        },
    );
    if resp.status().is_success() && saved {
        *resp.status_mut() = StatusCode::OK;
    }
    Ok(resp)
}

/// `GET /account`: notification preferences and the OpenPGP key on file.
pub(crate) async fn account_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    account_view(&state, &who, false, None).await
}

#[derive(Deserialize)]
pub(crate) struct PrefsForm {
    notify: String,
    #[serde(default)]
    openpgp_key: String,
    #[serde(default)]
    remove_key: Option<String>,
}

/// `POST /account`: saves the preferences. A key that does not parse is
/// refused with the reason; the previous one stays.
pub(crate) async fn save_account(
    State(state): State<Shared>,
    posted: Posted<PrefsForm>,
) -> Result<Response, WebError> {
    let f = posted.form;
    let who = posted.who;
    if !["immediate", "digest", "none"].contains(&f.notify.as_str()) {
        return account_view(
            &state,
            &who,
            false,
            Some("Choose immediate, digest or none.".into()),
        )
        .await;
    }
    let mut prefs = state.store.prefs(who.caller.id()).await?;
    prefs.notify = f.notify;
    if f.remove_key.is_some() {
        prefs.openpgp_key = None;
    } else if !f.openpgp_key.trim().is_empty() {
        match embargo_pgp::Certificate::parse(f.openpgp_key.trim().as_bytes()) {
            Ok(cert) => prefs.openpgp_key = cert.to_armored().ok(),
            Err(e) => {
                return account_view(
                    &state,
                    &who,
                    false,
                    Some(format!("That key cannot be used: {e}")),
                )
                .await;
            }
        }
    }
    state.store.set_prefs(who.caller.id(), &prefs).await?;
    account_view(&state, &who, true, None).await
}
