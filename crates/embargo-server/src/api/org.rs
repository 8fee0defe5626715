//! The organisation: people and invitations, projects.

use super::*;

pub(crate) async fn invite_person(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<embargo_api::NewPerson>,
) -> Result<(StatusCode, Json<embargo_api::InvitationView>), Failure> {
    let admin = authz::admin(&principal.0)?;
    let id = PersonId::new(req.id.trim()).map_err(invalid)?;
    let role = req.role.parse().map_err(invalid)?;
    let inv =
        crate::accounts::invite(&state, admin.0.id(), &id, &req.name, &req.email, role).await?;
    Ok((
        StatusCode::CREATED,
        Json(embargo_api::InvitationView {
            id: id.to_string(),
            invitation_url: inv.url,
        }),
    ))
}

pub(crate) async fn list_people(
    State(state): State<Shared>,
    principal: Principal,
) -> Result<Json<Vec<embargo_api::PersonView>>, Failure> {
    authz::srt(&principal.0)?;
    let projects = state.store.projects().await?;
    Ok(Json(
        state
            .store
            .people()
            .await?
            .into_iter()
            .map(|p| embargo_api::PersonView {
                maintains: projects
                    .iter()
                    .filter(|pr| pr.maintainers.contains(&p.id))
                    .map(|pr| pr.name.clone())
                    .collect(),
                id: p.id.to_string(),
                name: p.name,
                role: p.role.name().to_owned(),
                active: p.password_hash.is_some(),
            })
            .collect(),
    ))
}

/// Checks a project's fields and that its maintainers have accounts.
pub(crate) async fn project_from_wire(
    state: &AppState,
    req: embargo_api::ProjectWire,
) -> Result<embargo_store::Project, Failure> {
    embargo_core::ids::required_text("project name", &req.name, 200).map_err(invalid)?;
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let packages = clean(req.packages);
    for p in &packages {
        let Some((eco, name)) = p.split_once(':') else {
            return Err(invalid(format!("package `{p}` is written Ecosystem:name")));
        };
        AffectedPackage::parse(&format!("{eco}:{name}:0..1")).map_err(invalid)?;
    }
    let mut maintainers = Vec::new();
    for m in clean(req.maintainers) {
        let id = PersonId::new(m.as_str()).map_err(invalid)?;
        if state.store.person(id.as_str()).await?.is_none() {
            return Err(invalid(format!("{id} has no account; invite them first")));
        }
        maintainers.push(id);
    }
    Ok(embargo_store::Project {
        name: req.name.trim().to_owned(),
        repositories: clean(req.repositories),
        packages,
        series: clean(req.series),
        maintainers,
    })
}

pub(crate) async fn put_project(
    State(state): State<Shared>,
    principal: Principal,
    Json(req): Json<embargo_api::ProjectWire>,
) -> Result<(StatusCode, Json<embargo_api::ProjectWire>), Failure> {
    authz::admin(&principal.0)?;
    let project = project_from_wire(&state, req).await?;
    state
        .store
        .put_project(&project, state.clock.unix())
        .await?;
    Ok((StatusCode::CREATED, Json(project_wire(project))))
}

pub(crate) fn project_wire(p: embargo_store::Project) -> embargo_api::ProjectWire {
    embargo_api::ProjectWire {
        name: p.name,
        repositories: p.repositories,
        packages: p.packages,
        series: p.series,
        maintainers: p.maintainers.iter().map(ToString::to_string).collect(),
    }
}

pub(crate) async fn list_projects(
    State(state): State<Shared>,
    _principal: Principal,
) -> Result<Json<Vec<embargo_api::ProjectWire>>, Failure> {
    Ok(Json(
        state
            .store
            .projects()
            .await?
            .into_iter()
            .map(project_wire)
            .collect(),
    ))
}

fn release_wire(e: crate::project_settings::Edited) -> embargo_api::ReleaseSettingsWire {
    embargo_api::ReleaseSettingsWire {
        upstream: e.upstream,
        test_command: e.test_command,
        announce_to: e.announce_to,
        prenotify_days: e.prenotify_days,
        distributors: e
            .distributors
            .into_iter()
            .map(|d| embargo_api::DistributorWire {
                name: d.name,
                email: d.email,
                key: d.key,
            })
            .collect(),
    }
}

pub(super) async fn known_project(state: &AppState, name: &str) -> Result<(), Failure> {
    if state.store.projects().await?.iter().any(|p| p.name == name) {
        Ok(())
    } else {
        Err(Failure(ServiceError::NotFound))
    }
}

/// `GET /api/v1/admin/intake-key` (admins): the intake key reporters
/// encrypt to, and the retired ones that still decrypt.
pub(crate) async fn get_intake_key(
    State(state): State<Shared>,
    principal: Principal,
) -> Result<Json<embargo_api::IntakeKeyWire>, Failure> {
    authz::admin(&principal.0)?;
    Ok(Json(crate::keys::intake_wire(&state)))
}

/// `POST /api/v1/admin/intake-key/rotate` (admins): a new intake key; the
/// old one decrypts for `[keys] retired_intake_days` more.
pub(crate) async fn rotate_intake_key(
    State(state): State<Shared>,
    principal: Principal,
) -> Result<Json<embargo_api::IntakeKeyWire>, Failure> {
    authz::admin(&principal.0)?;
    Ok(Json(
        crate::keys::rotate_intake_now(&state, principal.0.id().as_str()).await?,
    ))
}

/// `GET /api/v1/projects/{name}/release` (admins): the release settings
/// in force.
pub(crate) async fn get_project_release(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<embargo_api::ReleaseSettingsWire>, Failure> {
    authz::admin(&principal.0)?;
    known_project(&state, &name).await?;
    let settings = crate::project_settings::settings(&state, &name).await?;
    Ok(Json(release_wire(crate::project_settings::Edited::of(
        &settings,
    ))))
}

/// `PUT /api/v1/projects/{name}/release` (admins): new release settings,
/// in force at once.
pub(crate) async fn put_project_release(
    State(state): State<Shared>,
    principal: Principal,
    Path(name): Path<String>,
    Json(req): Json<embargo_api::ReleaseSettingsWire>,
) -> Result<Json<embargo_api::ReleaseSettingsWire>, Failure> {
    authz::admin(&principal.0)?;
    known_project(&state, &name).await?;
    let edited = crate::project_settings::Edited {
        upstream: req.upstream.filter(|u| !u.trim().is_empty()),
        test_command: req.test_command.filter(|c| !c.trim().is_empty()),
        announce_to: req.announce_to,
        prenotify_days: req.prenotify_days,
        distributors: req
            .distributors
            .into_iter()
            .map(|d| crate::config::Distributor {
                name: d.name,
                email: d.email,
                key: d.key,
            })
            .collect(),
    };
    crate::project_settings::save(&state, &name, edited.clone(), principal.0.id()).await?;
    Ok(Json(release_wire(edited)))
}
