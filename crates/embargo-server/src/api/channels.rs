//! Reporting channels: the inventory, adding and removing one, a check now.

use super::*;

/// `GET /api/v1/channels`: the inventory with health (SRT).
pub(crate) async fn list_channels(
    State(state): State<Shared>,
    principal: Principal,
) -> Result<Json<Vec<embargo_api::ChannelWire>>, Failure> {
    authz::srt(&principal.0)?;
    Ok(Json(crate::channels::inventory(&state).await?))
}

/// `POST /api/v1/channels`: adds a channel (admins).
pub(crate) async fn add_channel(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<embargo_api::NewChannel>,
) -> Result<(StatusCode, Json<embargo_api::ChannelWire>), Failure> {
    authz::admin(&principal.0)?;
    Ok((
        StatusCode::CREATED,
        Json(crate::channels::add(&state, req).await?),
    ))
}

/// `POST /api/v1/channels/{name}/remove` (admins).
pub(crate) async fn remove_channel(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<StatusCode, Failure> {
    authz::admin(&principal.0)?;
    if state.store.remove_channel(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Failure(ServiceError::NotFound))
    }
}

/// `POST /api/v1/channels/{name}/check`: checks a channel now (SRT).
pub(crate) async fn check_channel(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<embargo_api::ChannelWire>, Failure> {
    authz::srt(&principal.0)?;
    Ok(Json(crate::channels::check(&state, &name).await?))
}
