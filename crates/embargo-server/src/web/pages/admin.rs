//! The SRT's and admins' pages: people, projects, the reporter texts,
//! the policy, the quarantine, channels and the compliance report.

use super::*;

pub(crate) async fn people_view(
    state: &AppState,
    who: &SignedIn,
    invited: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let people = state.store.people().await?;
    let pending = state.store.pending_invitations(state.clock.unix()).await?;
    let activity: Vec<minijinja::Value> = state
        .store
        .recent_account_events(50)
        .await?
        .into_iter()
        .map(|e| {
            context! {
                at => unix_text(e.at, true),
                person => e.person,
                action => e.action.replace('_', " "),
                detail => e.detail,
            }
        })
        .collect();
    Ok(render(
        "people.html",
        context! {
            me => ser(me(who)),
            activity => activity,
            pending => pending.iter().map(|(person, by, until)| context! {
                person => person, by => by, until => unix_text(*until, false),
            }).collect::<Vec<_>>(),
            error => error,
            invited => invited.map(|(id, url)| context! { id => id, url => url }),
            roles => OrgRole::ALL.iter().map(|r| r.name()).collect::<Vec<_>>(),
            people => people.iter().map(|p| context! {
                id => p.id.as_str(), name => &p.name, email => &p.email, role => p.role.name(),
                active => p.password_hash.is_some(), totp => p.totp_enrolled, locked => p.locked,
                failures => p.failed_signins,
            }).collect::<Vec<_>>(),
        },
    ))
}

pub(crate) async fn people_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    people_view(&state, &who, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct InvitePersonForm {
    id: String,
    name: String,
    email: String,
    role: String,
}

pub(crate) async fn invite(
    State(state): State<Shared>,
    posted: Posted<InvitePersonForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    let admin = authz::admin(&who.caller)?;
    let f = posted.form;
    let result = async {
        let id = person_id(&f.id)?;
        let role: OrgRole = f
            .role
            .parse()
            .map_err(|e: embargo_core::ids::InvalidValue| Failure(ServiceError::Invalid(e.0)))?;
        let inv = accounts::invite(&state, admin.0.id(), &id, &f.name, &f.email, role).await?;
        Ok::<_, Failure>((id.to_string(), inv.url))
    }
    .await;
    match result {
        Ok(invited) => people_view(&state, &who, Some(invited), None).await,
        Err(e) => {
            let e = WebError::from(e);
            Ok(with_status(
                e.status,
                people_view(&state, &who, None, Some(e.message)).await?,
            ))
        }
    }
}

pub(crate) async fn unlock(
    State(state): State<Shared>,
    Path(person): Path<String>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    authz::admin(&posted.who.caller)?;
    let id = person_id(&person)?;
    state
        .store
        .person(id.as_str())
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    state.store.set_signin_state(&id, 0, 0, false).await?;
    Ok(Redirect::to("/admin/people").into_response())
}

/// `POST /admin/people/{person}/invitation/revoke`: the person's unused
/// invitation links stop working.
pub(crate) async fn revoke_invitation(
    State(state): State<Shared>,
    Path(person): Path<String>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    authz::admin(&posted.who.caller)?;
    let id = person_id(&person)?;
    if state
        .store
        .revoke_invitations(&id, state.clock.unix())
        .await?
        == 0
    {
        return Err(Failure(ServiceError::NotFound).into());
    }
    tracing::info!(person = %id, by = %posted.who.caller.id(), "invitation withdrawn");
    Ok(Redirect::to("/admin/people").into_response())
}

pub(crate) async fn projects_view(
    state: &AppState,
    who: &SignedIn,
    error: Option<String>,
) -> Result<Response, WebError> {
    let projects = state.store.projects().await?;
    let page = render(
        "projects.html",
        context! {
            me => ser(me(who)),
            error => error,
            projects => projects.iter().map(|p| context! {
                href => format!("/admin/projects/{}", crate::api::percent_encode(&p.name)),
                name => p.name.clone(), repositories => p.repositories.clone(), packages => p.packages.clone(),
                series => p.series.clone(), maintainers => p.maintainers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }).collect::<Vec<_>>(),
        },
    );
    Ok(page)
}

pub(crate) async fn projects_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    projects_view(&state, &who, None).await
}

#[derive(Deserialize)]
pub(crate) struct ProjectForm {
    name: String,
    #[serde(default)]
    repositories: String,
    #[serde(default)]
    packages: String,
    #[serde(default)]
    series: String,
    #[serde(default)]
    maintainers: String,
}

pub(crate) fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn save_project(
    State(state): State<Shared>,
    posted: Posted<ProjectForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    authz::admin(&who.caller)?;
    let f = posted.form;
    let wire = embargo_api::ProjectWire {
        name: f.name,
        repositories: words(&f.repositories),
        packages: words(&f.packages),
        series: words(&f.series),
        maintainers: words(&f.maintainers),
    };
    match crate::api::project_from_wire(&state, wire).await {
        Ok(project) => {
            state
                .store
                .put_project(&project, state.clock.unix())
                .await?;
            Ok(Redirect::to("/admin/projects").into_response())
        }
        Err(e) => {
            let e = WebError::from(e);
            Ok(with_status(
                e.status,
                projects_view(&state, &who, Some(e.message)).await?,
            ))
        }
    }
}

/// The reporter-facing text for a stage: the admins' own, or the default.
pub(crate) async fn reporter_text(
    state: &AppState,
    stage: embargo_core::Stage,
) -> Result<String, Failure> {
    // A held report reads as new to its reporter.
    let stage = match stage {
        embargo_core::Stage::Screening => embargo_core::Stage::New,
        other => other,
    };
    Ok(state
        .store
        .status_texts()
        .await?
        .into_iter()
        .find(|(s, _)| s == stage.label())
        .map_or_else(|| stage.default_reporter_text().to_owned(), |(_, t)| t))
}

pub(crate) async fn status_texts_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    let mut stages = Vec::new();
    // A reporter never sees "screening": their status reads as new.
    for stage in embargo_core::Stage::ALL
        .into_iter()
        .filter(|s| *s != embargo_core::Stage::Screening)
    {
        stages.push(context! {
            label => stage.label(),
            slug => stage.label().replace(' ', "-"),
            text => reporter_text(&state, stage).await?,
            fallback => stage.default_reporter_text(),
        });
    }
    Ok(render(
        "status_texts.html",
        context! { me => ser(me(&who)), stages => stages },
    ))
}

#[derive(Deserialize)]
pub(crate) struct StatusTextForm {
    stage: String,
    text: String,
}

pub(crate) async fn save_status_text(
    State(state): State<Shared>,
    posted: Posted<StatusTextForm>,
) -> Result<Response, WebError> {
    let admin = authz::admin(&posted.who.caller)?;
    let f = posted.form;
    let stage = embargo_core::Stage::ALL
        .into_iter()
        .find(|s| s.label() == f.stage)
        .ok_or_else(|| {
            Failure(ServiceError::Invalid(format!(
                "`{}` is not a stage",
                f.stage
            )))
        })?;
    embargo_core::ids::required_text("text", &f.text, 5000)
        .map_err(|e| Failure(ServiceError::Invalid(e.0)))?;
    state
        .store
        .set_status_text(
            stage.label(),
            f.text.trim(),
            admin.0.id(),
            state.clock.unix(),
        )
        .await?;
    Ok(Redirect::to("/admin/status-texts").into_response())
}

#[derive(Deserialize)]
pub(crate) struct RoleForm {
    role: String,
}

pub(crate) async fn set_role(
    State(state): State<Shared>,
    Path(person): Path<String>,
    posted: Posted<RoleForm>,
) -> Result<Response, WebError> {
    let admin = authz::admin(&posted.who.caller)?;
    let id = person_id(&person)?;
    state
        .store
        .person(id.as_str())
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    let role: OrgRole = posted
        .form
        .role
        .parse()
        .map_err(|e: embargo_core::ids::InvalidValue| Failure(ServiceError::Invalid(e.0)))?;
    if &id == admin.0.id() && role != OrgRole::Admin {
        return Err(Failure(ServiceError::Invalid(
            "you cannot take away your own admin role; ask another admin".into(),
        ))
        .into());
    }
    state.store.set_role(&id, role).await?;
    Ok(Redirect::to("/admin/people").into_response())
}

/// The policies in force, as configured in embargo.toml (read only here).
pub(crate) async fn policy_page(
    State(state): State<Shared>,
    who: SignedIn,
    Query(q): Query<SavedQuery>,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    let c = &state.config;
    let intake = crate::keys::intake_wire(&state);
    Ok(render(
        "policy.html",
        context! {
            me => ser(me(&who)),
            rotated => q.saved.is_some(),
            intake => context! {
                fingerprint => intake.fingerprint,
                retired => intake.retired.iter().map(|r| context! {
                    fingerprint => &r.fingerprint,
                    retired_at => time_text(&r.retired_at),
                    until => time_text(&r.until),
                }).collect::<Vec<_>>(),
                retired_days => intake.retired_days,
            },
            acknowledge_hours => c.sla.acknowledge_hours,
            sla => context! {
                triage_days => c.sla.triage_days,
                fix => format!("critical {}, high {}, medium {}, low {}", c.sla.fix_days.critical, c.sla.fix_days.high, c.sla.fix_days.medium, c.sla.fix_days.low),
                disclose => format!("critical {}, high {}, medium {}, low {}", c.sla.disclose_days.critical, c.sla.disclose_days.high, c.sla.disclose_days.medium, c.sla.disclose_days.low),
                days => if c.sla.business_days { "business days (Monday to Friday, not holidays)" } else { "calendar days" },
                holidays => c.sla.holidays.iter().map(ToString::to_string).collect::<Vec<_>>(),
                warn_at => c.sla.warn_at_percent.iter().map(|p| format!("{p}%")).collect::<Vec<_>>(),
                notify => c.sla.notify_roles.iter().chain(c.sla.notify_people.iter()).cloned().collect::<Vec<_>>(),
                projects => c.sla.projects.keys().cloned().collect::<Vec<_>>(),
            },
            hour_utc => c.disclosure.hour_utc,
            holidays => c.disclosure.holidays.iter().map(ToString::to_string).collect::<Vec<_>>(),
            lead_days => c.disclosure.default_lead_days,
            require_totp => c.accounts.require_totp.clone(),
            session_hours => c.accounts.session_hours,
            invitation_days => c.accounts.invitation_days,
            free_failures => c.accounts.free_failures,
            throttle_seconds => c.accounts.throttle_seconds,
            lock_after => c.accounts.lock_after,
            attempts_per_address => c.accounts.attempts_per_address,
            address_window_seconds => c.accounts.address_window_seconds,
        },
    ))
}

/// An RFC 3339 instant in words, as the pages show times.
fn time_text(at: &str) -> String {
    at.parse::<jiff::Timestamp>()
        .map(|t| unix_text(t.as_second(), false))
        .unwrap_or_else(|_| at.to_owned())
}

/// `POST /admin/intake-key/rotate` (admins): a new intake key, at once.
pub(crate) async fn rotate_intake_key(
    State(state): State<Shared>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    authz::admin(&posted.who.caller)?;
    crate::keys::rotate_intake_now(&state, posted.who.caller.id().as_str()).await?;
    Ok(Redirect::to("/admin/policy?saved=1#intake-key").into_response())
}

/// `GET /quarantine`: what could not be processed, with the reason (SRT).
pub(crate) async fn quarantine_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let entries = state.store.quarantined(500).await?;
    Ok(render(
        "quarantine.html",
        context! {
            me => ser(me(&who)),
            entries => entries.iter().map(|e| context! {
                id => e.id,
                at => unix_text(e.received_at, false),
                channel => &e.channel,
                source => &e.source,
                reason => &e.reason,
                size => e.size,
            }).collect::<Vec<_>>(),
        },
    ))
}

/// `GET /quarantine/{n}`: one quarantined message, raw (SRT).
pub(crate) async fn quarantine_raw(
    State(state): State<Shared>,
    Path(n): Path<i64>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let (entry, raw) = state
        .store
        .inbound_raw(n)
        .await?
        .ok_or(Failure(ServiceError::NotFound))?;
    if entry.outcome != "quarantined" {
        return Err(Failure(ServiceError::NotFound).into());
    }
    Ok(download(
        &format!("quarantine-{n}.eml"),
        "text/plain; charset=utf-8",
        raw,
    ))
}

/// `GET /channels`: the channel inventory with health (SRT).
pub(crate) async fn channels_page(
    State(state): State<Shared>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let channels = crate::channels::inventory(&state).await?;
    Ok(render(
        "channels.html",
        context! {
            me => ser(me(&who)),
            channels => ser(channels),
        },
    ))
}

#[derive(Deserialize)]
pub(crate) struct ComplianceQuery {
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    days: Option<i64>,
}

/// `GET /compliance?project=NAME`: the SPEC-11 compliance report (SRT).
pub(crate) async fn compliance_page(
    State(state): State<Shared>,
    Query(q): Query<ComplianceQuery>,
    who: SignedIn,
) -> Result<Response, WebError> {
    authz::srt(&who.caller)?;
    let project = q.project.filter(|p| !p.is_empty());
    let days = q.days.unwrap_or(crate::api::COMPLIANCE_DAYS);
    let checks = crate::api::compliance_checks(&state, project.as_deref(), days).await?;
    let projects: Vec<String> = state
        .store
        .projects()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    Ok(render(
        "compliance.html",
        context! {
            me => ser(me(&who)),
            project => project,
            projects => projects,
            days => days,
            checks => ser(checks),
        },
    ))
}

/// `POST /quarantine/{n}/file`: the SRT files a quarantined email as a new
/// case (a reply from an unexpected address that is in fact a new report,
/// say). What still cannot be read stays in quarantine, with the reason.
pub(crate) async fn file_quarantined(
    State(state): State<Shared>,
    Path(n): Path<i64>,
    posted: Posted<Empty>,
) -> Result<Response, WebError> {
    let srt = authz::srt(&posted.who.caller)?;
    let outcome = crate::intake::mail::file_as_new_case(&state, n, srt.0.id())
        .await
        .map_err(Failure::from)?;
    match outcome {
        crate::intake::mail::Outcome::Case(receipt) => {
            Ok(Redirect::to(&format!("/cases/{}", receipt.case_id)).into_response())
        }
        _ => Err(WebError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Still in quarantine",
            message: "The message still cannot be made into a report; its reason is on the quarantine page.".into(),
        }),
    }
}

/// `GET /admin/projects/{project}`: one project to edit, with its release
/// settings in force (the browser's, else the file's), nothing retyped.
#[derive(Deserialize, Default)]
pub(crate) struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub(crate) async fn project_page(
    State(state): State<Shared>,
    who: SignedIn,
    Path(name): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, WebError> {
    authz::admin(&who.caller)?;
    project_view(&state, &who, &name, None, q.saved.is_some()).await
}

async fn project_view(
    state: &AppState,
    who: &SignedIn,
    name: &str,
    error: Option<String>,
    saved: bool,
) -> Result<Response, WebError> {
    let projects = state.store.projects().await?;
    let Some(p) = projects.iter().find(|p| p.name == name) else {
        return Err(Failure(ServiceError::NotFound).into());
    };
    let settings = crate::project_settings::settings(state, name)
        .await
        .map_err(Failure::from)?;
    let edited = crate::project_settings::Edited::of(&settings);
    let (policy, own) = crate::screening::policy_and_whose(state, name)
        .await
        .map_err(Failure::from)?;
    let failed = error.is_some();
    let page = render(
        "project.html",
        context! {
            me => ser(me(who)),
            error => error,
            saved => saved,
            p => context! {
                href => format!("/admin/projects/{}", crate::api::percent_encode(&p.name)),
                name => &p.name,
                repositories => p.repositories.join(" "),
                packages => p.packages.join(" "),
                series => p.series.join(" "),
                maintainers => p.maintainers.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
            },
            screening => context! {
                own => own,
                require_reproduction => policy.require_reproduction,
                require_version => policy.require_version,
                require_component => policy.require_component,
                known_versions => policy.known_versions.join("\n"),
                components => policy.components.join("\n"),
                not_vulnerabilities => policy.not_vulnerabilities.iter()
                    .map(|e| format!("{} | {} | {}", e.title, e.terms.join(", "), e.why))
                    .collect::<Vec<_>>()
                    .join("\n"),
                rejected_before => policy.rejected_before,
            },
            release => context! {
                upstream => edited.upstream.clone().unwrap_or_default(),
                test_command => edited.test_command.clone().unwrap_or_default(),
                announce_to => edited.announce_to.clone().map(|l| l.join("\n")).unwrap_or_default(),
                default_lists => state.config.release.announce_to.join(", "),
                prenotify_days => edited.prenotify_days,
                distributors => edited.distributors.iter().map(|d| context! {
                    name => &d.name,
                    email => &d.email,
                    fingerprint => embargo_pgp::Certificate::parse(d.key.as_bytes()).map(|c| c.fingerprint()).unwrap_or_default(),
                }).collect::<Vec<_>>(),
            },
        },
    );
    Ok(if failed {
        with_status(StatusCode::UNPROCESSABLE_ENTITY, page)
    } else {
        page
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ScreeningPolicyForm {
    require_reproduction: String,
    require_version: String,
    require_component: String,
    known_versions: String,
    components: String,
    not_vulnerabilities: String,
    rejected_before: String,
}

/// The policy the project page's form describes, or what is wrong with it.
fn screening_of(f: &ScreeningPolicyForm) -> Result<embargo_core::screening::Policy, String> {
    let lines = |t: &str| -> Vec<String> {
        t.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut entries = Vec::new();
    for (n, line) in lines(&f.not_vulnerabilities).iter().enumerate() {
        let mut parts = line.splitn(3, '|').map(str::trim);
        let title = parts.next().unwrap_or_default().to_owned();
        let terms: Vec<String> = parts
            .next()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        if terms.is_empty() {
            return Err(format!(
                "not-a-vulnerability line {}: write `title | word, word | why`",
                n + 1
            ));
        }
        entries.push(embargo_core::screening::NotVulnerability {
            title,
            terms,
            why: parts.next().unwrap_or_default().to_owned(),
        });
    }
    let rejected_before = match f.rejected_before.trim() {
        "" => 0,
        n => n
            .parse()
            .map_err(|_| format!("`{n}` is not a number of rejections"))?,
    };
    Ok(embargo_core::screening::Policy {
        require_reproduction: !f.require_reproduction.is_empty(),
        require_version: !f.require_version.is_empty(),
        require_component: !f.require_component.is_empty(),
        components: lines(&f.components),
        known_versions: lines(&f.known_versions),
        not_vulnerabilities: entries,
        rejected_before,
    })
}

/// `POST /admin/projects/{project}/screening`: the project's screening
/// policy, in force at once for reports that arrive from now on.
pub(crate) async fn save_project_screening(
    State(state): State<Shared>,
    Path(name): Path<String>,
    posted: Posted<ScreeningPolicyForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    authz::admin(&who.caller)?;
    if !state.store.projects().await?.iter().any(|p| p.name == name) {
        return Err(Failure(ServiceError::NotFound).into());
    }
    let outcome = match screening_of(&posted.form) {
        Err(e) => Err(e),
        Ok(policy) => crate::screening::save(&state, &name, &policy, &who.caller.member.id)
            .await
            .map_err(|e| WebError::from(Failure::from(e)).message),
    };
    project_saved(&state, &who, &name, outcome).await
}

/// After a project page's form: back to the page, saved, or the page again
/// with the reason.
async fn project_saved(
    state: &AppState,
    who: &SignedIn,
    name: &str,
    outcome: Result<(), String>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!(
            "/admin/projects/{}?saved=1",
            crate::api::percent_encode(name)
        ))
        .into_response()),
        Err(message) => project_view(state, who, name, Some(message), false).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ReleaseForm {
    upstream: String,
    test_command: String,
    announce_to: String,
    prenotify_days: String,
    /// The distributors to keep, by name.
    keep: Vec<String>,
    new_name: String,
    new_email: String,
    new_key: String,
}

/// `POST /admin/projects/{project}/release`: the release settings, in
/// force at once.
pub(crate) async fn save_project_release(
    State(state): State<Shared>,
    Path(name): Path<String>,
    posted: Posted<ReleaseForm>,
) -> Result<Response, WebError> {
    let who = posted.who;
    authz::admin(&who.caller)?;
    if !state.store.projects().await?.iter().any(|p| p.name == name) {
        return Err(Failure(ServiceError::NotFound).into());
    }
    let f = posted.form;
    let current = crate::project_settings::settings(&state, &name)
        .await
        .map_err(Failure::from)?;
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut distributors: Vec<crate::config::Distributor> = current
        .distributors
        .into_iter()
        .filter(|d| f.keep.contains(&d.name))
        .collect();
    if let Some(new) = given(&f.new_name) {
        distributors.push(crate::config::Distributor {
            name: new,
            email: f.new_email.trim().to_owned(),
            key: f.new_key.replace("\r\n", "\n"),
        });
    }
    let lists: Vec<String> = f
        .announce_to
        .split([',', ' ', '\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let days = match f.prenotify_days.trim() {
        "" => Ok(0),
        d => d
            .parse::<u16>()
            .map_err(|_| format!("`{d}` is not a number of days")),
    };
    let outcome = match days {
        Err(e) => Err(e),
        Ok(prenotify_days) => {
            let edited = crate::project_settings::Edited {
                upstream: given(&f.upstream),
                test_command: given(&f.test_command),
                announce_to: (!lists.is_empty()).then_some(lists),
                prenotify_days,
                distributors,
            };
            crate::project_settings::save(&state, &name, edited, &who.caller.member.id)
                .await
                .map_err(|e| WebError::from(Failure::from(e)).message)
        }
    };
    project_saved(&state, &who, &name, outcome).await
}
