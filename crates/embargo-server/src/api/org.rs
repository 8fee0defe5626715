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
