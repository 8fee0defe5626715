//! The advisory, the CVE and release day on the case page: the form that
//! edits the advisory as lines of text (one package, credit or link per
//! line), its revisions with their diffs, review, the CVE's state, and the
//! previews of each export. The forms post commands like every other case
//! form (`case::command_from`); the text forms become the API's
//! `AdvisoryWire` here, so the web and the API share one conversion
//! (`api::advisory_from_wire`).

use super::*;

use embargo_api::{AdvisoryWire, AffectedWire, CreditWire, ReferenceWire};

/// The advisory form's fields, as typed.
#[derive(Default)]
pub(crate) struct AdvisoryText {
    pub summary: String,
    pub details: String,
    pub impact: String,
    pub affected: String,
    pub cwes: String,
    pub cvss: String,
    pub references: String,
    pub credits: String,
    pub mitigation: String,
    pub upgrade: String,
    pub confidential: String,
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn blank(s: &str) -> Option<String> {
    Some(s.replace("\r\n", "\n").trim().to_owned()).filter(|s| !s.is_empty())
}

/// The typed form as the API's advisory: `Ecosystem:name:range, range`
/// per package (the name may itself hold colons, as a git URL does),
/// `TYPE: Name @holder` per credit (`@reporter`, or a person's handle),
/// `KIND URL` (or a bare URL, a web link) per reference.
pub(crate) fn wire(t: AdvisoryText) -> Result<AdvisoryWire, String> {
    let mut affected = Vec::new();
    for line in lines(&t.affected) {
        let (ecosystem, rest) = line
            .split_once(':')
            .ok_or_else(|| format!("`{line}`: write Ecosystem:name:introduced..fixed"))?;
        let (name, ranges) = rest.rsplit_once(':').unwrap_or((rest, ""));
        affected.push(AffectedWire {
            ecosystem: ecosystem.trim().to_owned(),
            name: name.trim().to_owned(),
            ranges: ranges
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            versions: Vec::new(),
            purl: None,
        });
    }
    let mut credits = Vec::new();
    for line in lines(&t.credits) {
        let (kind, who) = match line.split_once(':') {
            Some((k, rest)) if !k.trim().is_empty() && !k.contains(' ') => {
                (Some(k.trim().to_ascii_uppercase()), rest.trim())
            }
            _ => (None, line),
        };
        let (name, holder) = match who.rsplit_once('@') {
            Some((n, h)) if !h.contains(' ') && !h.is_empty() => {
                (n.trim(), Some(h.trim().to_owned()))
            }
            _ => (who, None),
        };
        if name.is_empty() {
            return Err(format!("`{line}`: a credit names someone"));
        }
        credits.push(CreditWire {
            name: name.to_owned(),
            kind,
            contact: Vec::new(),
            holder,
            accepted: None,
        });
    }
    let references = lines(&t.references)
        .map(|line| match line.split_once(char::is_whitespace) {
            Some((kind, url)) => ReferenceWire {
                kind: kind.to_owned(),
                url: url.trim().to_owned(),
            },
            None => ReferenceWire {
                kind: "WEB".into(),
                url: line.to_owned(),
            },
        })
        .collect();
    Ok(AdvisoryWire {
        summary: embargo_core::text::one_line(&t.summary),
        details: t.details.replace("\r\n", "\n"),
        cve: None,
        ghsa: None,
        aliases: Vec::new(),
        impact: blank(&t.impact),
        affected,
        mitigation: blank(&t.mitigation),
        upgrade: blank(&t.upgrade),
        references,
        cwes: t
            .cwes
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        cvss: lines(&t.cvss).map(str::to_owned).collect(),
        credits,
        confidential: blank(&t.confidential),
    })
}

/// The form's text for an advisory (the inverse of `wire`).
fn text_of(w: &AdvisoryWire) -> minijinja::Value {
    context! {
        summary => &w.summary,
        details => &w.details,
        impact => w.impact.clone().unwrap_or_default(),
        affected => w.affected.iter().map(|p| format!("{}:{}:{}", p.ecosystem, p.name, p.ranges.join(", "))).collect::<Vec<_>>().join("\n"),
        cwes => w.cwes.join(", "),
        cvss => w.cvss.join("\n"),
        references => w.references.iter().map(|r| format!("{} {}", r.kind, r.url)).collect::<Vec<_>>().join("\n"),
        credits => w.credits.iter().map(|c| {
            let mut line = match &c.kind { Some(k) => format!("{k}: {}", c.name), None => c.name.clone() };
            if let Some(h) = &c.holder { line.push_str(&format!(" @{h}")); }
            line
        }).collect::<Vec<_>>().join("\n"),
        mitigation => w.mitigation.clone().unwrap_or_default(),
        upgrade => w.upgrade.clone().unwrap_or_default(),
        confidential => w.confidential.clone().unwrap_or_default(),
    }
}

/// A first draft from what triage recorded: the title, the affected
/// packages, the scores and weakness, the reporter as finder.
fn first_draft(case: &Case) -> AdvisoryWire {
    let a = case.assessment.as_ref();
    let reporter = case
        .report
        .intake
        .credit
        .clone()
        .or_else(|| case.report.reporter_name.clone())
        .filter(|n| !n.trim().is_empty());
    AdvisoryWire {
        summary: case.report.title.clone(),
        details: String::new(),
        cve: None,
        ghsa: None,
        aliases: Vec::new(),
        impact: a.map(|a| a.notes.clone()).filter(|n| !n.is_empty()),
        affected: a
            .map(|a| {
                a.affected
                    .iter()
                    .map(|p| AffectedWire {
                        ecosystem: p.ecosystem.to_string(),
                        name: p.name.clone(),
                        ranges: p
                            .ranges
                            .iter()
                            .map(|r| match &r.fixed {
                                Some(f) => format!("{}..{f}", r.introduced),
                                None => format!("{}..", r.introduced),
                            })
                            .collect(),
                        versions: Vec::new(),
                        purl: None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        mitigation: None,
        upgrade: None,
        references: Vec::new(),
        cwes: a
            .and_then(|a| a.cwe.as_ref())
            .map(|c| vec![c.to_string()])
            .unwrap_or_default(),
        cvss: a
            .map(|a| {
                [&a.cvss_v31, &a.cvss_v40]
                    .into_iter()
                    .flatten()
                    .map(|c| c.vector().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        credits: reporter
            .map(|name| CreditWire {
                name,
                kind: Some("FINDER".into()),
                contact: Vec::new(),
                holder: Some("reporter".into()),
                accepted: None,
            })
            .into_iter()
            .collect(),
        confidential: None,
    }
}

/// What the case page shows of the advisory and the CVE, and what its
/// forms start from. `can` says which commands the caller may run now.
pub(crate) fn context(
    case: &Case,
    me: &PersonId,
    can: &dyn Fn(CommandKind) -> bool,
) -> minijinja::Value {
    let view = crate::api::advisory_view(case);
    let current = case.advisory.last();
    let author_is_me = current.is_some_and(|r| &r.author == me);
    let draft = view.advisory.clone().unwrap_or_else(|| first_draft(case));
    let credits: Vec<minijinja::Value> = view
        .advisory
        .as_ref()
        .map(|a| {
            a.credits
                .iter()
                .map(|c| {
                    let named_as = case
                        .credit_names
                        .iter()
                        .find(|(h, _)| {
                            c.holder.as_deref()
                                == Some(match h {
                                    embargo_core::advisory::CreditHolder::Reporter => "reporter",
                                    embargo_core::advisory::CreditHolder::Person(p) => p.as_str(),
                                })
                        })
                        .map(|(_, n)| n.clone());
                    context! {
                        name => &c.name,
                        named_as => named_as,
                        kind => &c.kind,
                        holder => &c.holder,
                        answer => match (&c.holder, c.accepted) {
                            (None, _) => "needs no answer",
                            (Some(_), None) => "not answered yet",
                            (Some(_), Some(true)) => "accepted",
                            (Some(_), Some(false)) => "declined",
                        },
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let revisions: Vec<minijinja::Value> = view
        .revisions
        .iter()
        .rev()
        .map(|r| {
            context! {
                revision => r.revision,
                author => &r.author,
                at => r.at.parse::<jiff::Timestamp>().map(super::case::when).unwrap_or_else(|_| r.at.clone()),
                changes => r.changes.iter().map(|(field, lines)| context! {
                    field => field,
                    lines => lines.iter().map(|l| context! {
                        sign => match l.chars().next() { Some('+') => "added", Some('-') => "removed", _ => "same" },
                        text => l,
                    }).collect::<Vec<_>>(),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    use embargo_core::case::Review;
    let review_words = match &case.review {
        Review::Draft => "a draft, not submitted for review",
        Review::InReview => "waiting for a reviewer",
        Review::ChangesRequested { .. } => "sent back with changes requested",
        Review::Approved { .. } => "approved for publication",
    };
    let changes_comment = match &case.review {
        Review::ChangesRequested { by, comment } => {
            Some(context! { by => by.as_str(), comment => comment })
        }
        _ => None,
    };
    context! {
        exists => current.is_some(),
        revision => case.advisory_revision(),
        review => review_words,
        approved_revision => case.approved_revision,
        author => current.map(|r| r.author.to_string()),
        author_is_me => author_is_me,
        changes_comment => changes_comment,
        form => text_of(&draft),
        summary => view.advisory.as_ref().map(|a| a.summary.clone()),
        details_html => view.advisory.as_ref().map(|a| markdown::render(&a.details)),
        credits => credits,
        revisions => revisions,
        can_revise => can(CommandKind::ReviseAdvisory),
        can_submit => can(CommandKind::SubmitAdvisory),
        can_review => !author_is_me && (can(CommandKind::ApproveAdvisory) || can(CommandKind::RequestAdvisoryChanges)),
        cve => context! {
            assigned => view.cve,
            requests => case.cve.requests.iter().map(|(via, at)| context! { via => via.name(), at => super::case::when(*at) }).collect::<Vec<_>>(),
            failure => view.cve_failure,
            record_published => case.cve.record_published.map(super::case::when),
            can_request => can(CommandKind::RequestCve),
            can_assign => can(CommandKind::AssignCve) && case.cve.assigned.is_none(),
        },
    }
}

/// `GET /cases/{id}/preview/{format}`: the draft advisory as one export
/// (`osv`, `cve`, `csaf`, `markdown`) or as its public page (`page`),
/// before anything is published; for those who see the case.
pub(crate) async fn preview(
    State(state): State<Shared>,
    who: SignedIn,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let access = authz::open_case(&state, &who.caller, &id).await?;
    let case = access.case();
    let (name, to) = match format.as_str() {
        "page" => ("public page", embargo_formats::Format::Markdown),
        other => (
            other,
            embargo_formats::Format::parse(other).ok_or(Failure(ServiceError::NotFound))?,
        ),
    };
    // What keeps an export from being made (no advisory yet, no CVE id for
    // a CVE record) is said on the preview page, beside the other formats.
    let (body, not_ready) = match crate::api::export_text(&state, case, to) {
        Ok(body) => (Some(body), None),
        Err(Failure(ServiceError::Invalid(why))) => (None, Some(why)),
        Err(e) => return Err(e.into()),
    };
    let (html, text) = match (&body, format.as_str()) {
        (Some(b), "page") => (Some(markdown::render(b)), None),
        (b, _) => (None, b.clone()),
    };
    let page = render(
        "preview.html",
        context! {
            me => ser(me(&who)),
            id => case.id.to_string(),
            format => name,
            html => html,
            text => text,
            not_ready => &not_ready,
            formats => ["osv", "cve", "csaf", "markdown", "page"],
        },
    );
    Ok(if not_ready.is_some() {
        with_status(StatusCode::UNPROCESSABLE_ENTITY, page)
    } else {
        page
    })
}

#[derive(Deserialize)]
pub(crate) struct PreviewForm {
    #[serde(default)]
    text: String,
}

/// `POST /markdown-preview`: Markdown as the case page and the public
/// page render it (the same sanitizer), for the live preview beside the
/// advisory's details. Signed in and CSRF-checked like every form.
pub(crate) async fn markdown_preview(posted: Posted<PreviewForm>) -> Response {
    let text: String = posted.form.text.chars().take(100_000).collect();
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markdown::render(&text),
    )
        .into_response()
}
