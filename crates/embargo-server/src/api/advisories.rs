//! Advisories: the draft and its wire form, and exports of a case's
//! advisory (OSV, CVE, CSAF, Markdown).

use super::*;

/// `GET /api/v1/cases/{id}/export/{format}`: the current draft as OSV, a
/// CVE record, CSAF or Markdown, for those who see the case (a preview:
/// public feeds carry only the approved revision of a disclosed case).
pub(crate) async fn export(
    State(state): State<Shared>,
    principal: Principal,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    let Some(to) = embargo_formats::Format::parse(&format) else {
        return Err(Failure(ServiceError::NotFound));
    };
    let body = export_text(&state, access.case(), to)?;
    Ok(text(
        if to == embargo_formats::Format::Markdown {
            "text/markdown; charset=utf-8"
        } else {
            "application/json"
        },
        body,
    ))
}

/// The current draft of `case` (as the caller's lens shows it) in one
/// format: what the API's export and the case page's previews show.
pub(crate) fn export_text(
    state: &AppState,
    case: &Case,
    to: embargo_formats::Format,
) -> Result<String, Failure> {
    let mut doc = embargo_formats::draft_document(case, state.clock.now()).ok_or_else(|| {
        Failure(ServiceError::Invalid(format!(
            "case {} has no advisory yet",
            case.id
        )))
    })?;
    if to == embargo_formats::Format::Osv {
        doc.id = Some(embargo_formats::case_osv_id(case));
    }
    let mut ctx = crate::exports::export_context(state, None);
    ctx.tlp = if case.published_at.is_some() {
        embargo_core::tlp::Tlp::Clear
    } else {
        case.tlp()
    };
    embargo_formats::export(&doc, to, &ctx).map_err(not_ready)
}

/// `GET /api/v1/cases/{id}/advisory`: the advisory, its review state and
/// every revision with its diff.
pub(crate) async fn get_advisory(
    State(state): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<embargo_api::AdvisoryView>, Failure> {
    let access = authz::open_case(&state, &principal.0, &id).await?;
    Ok(Json(advisory_view(access.case())))
}

/// The advisory as typed into the API or the web form, checked into the
/// core's document (ranges, ids and vectors parsed; `validate` runs in
/// `decide`).
pub(crate) fn advisory_from_wire(w: embargo_api::AdvisoryWire) -> Result<Advisory, String> {
    let mut a = Advisory::new(w.summary, w.details);
    let blank = |s: Option<String>| s.filter(|t| !t.trim().is_empty());
    a.cve = blank(w.cve)
        .map(|c| c.trim().parse::<embargo_core::CveId>())
        .transpose()
        .map_err(|e| e.to_string())?;
    a.ghsa = blank(w.ghsa).map(|g| g.trim().to_owned());
    a.aliases = w
        .aliases
        .into_iter()
        .filter(|x| !x.trim().is_empty())
        .collect();
    a.impact = blank(w.impact);
    a.mitigation = blank(w.mitigation);
    a.upgrade = blank(w.upgrade);
    a.confidential = blank(w.confidential);
    for p in w.affected {
        let ecosystem =
            embargo_core::affected::Ecosystem::try_from(p.ecosystem).map_err(|e| e.to_string())?;
        let kind = RangeKind::for_ecosystem(&ecosystem);
        let repo = (kind == RangeKind::Git).then(|| p.name.clone());
        let ranges = p
            .ranges
            .iter()
            .filter(|r| !r.trim().is_empty())
            .map(|r| Range::parse(kind, repo.clone(), r.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", p.name))?;
        a.affected.push(Package {
            ecosystem,
            name: p.name,
            purl: blank(p.purl),
            ranges,
            versions: p.versions,
            ecosystem_specific: None,
            database_specific: None,
            empty_lists: Vec::new(),
        });
    }
    a.references = w
        .references
        .into_iter()
        .map(|r| Reference {
            kind: r.kind.trim().to_ascii_uppercase(),
            url: r.url.trim().to_owned(),
        })
        .collect();
    a.cwes = w
        .cwes
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().parse::<embargo_core::Cwe>())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    a.cvss = w
        .cvss
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| Cvss::parse(c))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    for c in w.credits {
        let holder = match c.holder.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("reporter") => Some(CreditHolder::Reporter),
            Some(id) => Some(CreditHolder::Person(
                PersonId::new(id).map_err(|e| e.to_string())?,
            )),
        };
        a.credits.push(Credit {
            name: c.name,
            kind: c
                .kind
                .filter(|k| !k.trim().is_empty())
                .map(|k| k.trim().to_ascii_uppercase()),
            contact: c.contact,
            holder,
        });
    }
    Ok(a)
}

/// The core's document as the API shows it, with credit answers from the case.
pub(crate) fn advisory_to_wire(a: &Advisory, case: &Case) -> embargo_api::AdvisoryWire {
    embargo_api::AdvisoryWire {
        summary: a.summary.clone(),
        details: a.details.clone(),
        cve: a.cve.as_ref().map(ToString::to_string),
        ghsa: a.ghsa.clone(),
        aliases: a.aliases.clone(),
        impact: a.impact.clone(),
        affected: a
            .affected
            .iter()
            .map(|p| embargo_api::AffectedWire {
                ecosystem: p.ecosystem.to_string(),
                name: p.name.clone(),
                ranges: p.compact_ranges(),
                versions: p.versions.clone(),
                purl: p.purl.clone(),
            })
            .collect(),
        mitigation: a.mitigation.clone(),
        upgrade: a.upgrade.clone(),
        references: a
            .references
            .iter()
            .map(|r| embargo_api::ReferenceWire {
                kind: r.kind.clone(),
                url: r.url.clone(),
            })
            .collect(),
        cwes: a.cwes.iter().map(ToString::to_string).collect(),
        cvss: a.cvss.iter().map(|c| c.vector().to_owned()).collect(),
        credits: a
            .credits
            .iter()
            .map(|c| embargo_api::CreditWire {
                name: c.name.clone(),
                kind: c.kind.clone(),
                contact: c.contact.clone(),
                holder: c.holder.as_ref().map(|h| match h {
                    CreditHolder::Reporter => "reporter".to_owned(),
                    CreditHolder::Person(p) => p.to_string(),
                }),
                accepted: c.holder.as_ref().and_then(|h| case.credit_answer(h)),
            })
            .collect(),
        confidential: a.confidential.clone(),
    }
}

/// The case's advisory with every revision and its diff.
pub(crate) fn advisory_view(case: &Case) -> embargo_api::AdvisoryView {
    let mut revisions = Vec::new();
    let empty = Advisory::new("", "");
    let mut previous = &empty;
    for r in &case.advisory {
        let changes = embargo_core::advisory::diff(previous, &r.draft)
            .into_iter()
            .map(|c| {
                (
                    c.field.to_owned(),
                    c.lines.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        revisions.push(embargo_api::RevisionWire {
            revision: r.revision,
            author: r.author.to_string(),
            at: r.at.to_string(),
            changes,
        });
        previous = &r.draft;
    }
    embargo_api::AdvisoryView {
        revision: case.advisory_revision(),
        review: case.review.name().to_owned(),
        approved_revision: case.approved_revision,
        advisory: case.current_advisory().map(|a| advisory_to_wire(a, case)),
        revisions,
        cve: case
            .cve
            .assigned
            .as_ref()
            .map(|(c, via)| format!("{c} ({})", via.name())),
        cve_failure: case
            .cve
            .failure
            .as_ref()
            .map(|(via, why)| format!("{}: {why}", via.name())),
    }
}
