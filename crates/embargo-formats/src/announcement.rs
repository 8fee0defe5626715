//! The release announcement in SPEC-11's structure: what is fixed (CVE and
//! CVSS), am I vulnerable, how to mitigate, how to upgrade, details. Rendered
//! from a minijinja template that operators may replace.

use embargo_core::{Case, affected::Ecosystem};
use minijinja::{Environment, UndefinedBehavior, context};

use crate::FormatError;

/// The built-in template, in this project's own words.
pub const DEFAULT_TEMPLATE: &str = r#"Subject: [security] {{ project }} {{ versions | join(", ") }} fixes {{ ids | join(", ") }}

Dear {{ project }} users,

The {{ project }} security response team and maintainers have released {{ project }} {{ versions | join(", ") }}. It fixes:

{% for v in vulnerabilities %}* {{ v.id }}{% if v.score %} (CVSS {{ v.score }}, {{ v.severity }}){% endif %}: {{ v.summary }}
{% endfor %}
We recommend that everyone upgrades.

## Am I vulnerable?

{% for p in affected %}{% for r in p.ranges %}* {{ p.name }} ({{ p.ecosystem }}): {% if r.introduced == "0" %}every version{% else %}versions from {{ r.introduced }}{% endif %}{% if r.fixed %} before {{ r.fixed }}; upgrade to {{ r.fixed }} or later.{% elif r.last %} up to {{ r.last }}; no fixed version yet.{% else %}; no fixed version yet.{% endif %}
{% endfor %}{% endfor %}
{% for p in affected %}Check the installed version of {{ p.name }} with `{{ p.check }}`, or look in your lock file.
{% endfor %}{% if mitigation %}
## How do I mitigate the vulnerability?

{{ mitigation }}
{% endif %}
## How do I upgrade?

{{ upgrade or "Install the fixed version with your package manager." }}

## Details

{{ details }}
"#;

/// Renders the announcement for a case with `template` (minijinja syntax).
pub fn render(case: &Case, template: &str) -> Result<String, FormatError> {
    let advisory = case.current_advisory().ok_or_else(|| {
        FormatError::NotReady(format!(
            "case {} has no advisory yet; write one first",
            case.id
        ))
    })?;
    // The same document every exporter reads: the advisory's packages and
    // scores, or triage's where the advisory names none, and the case's CVE.
    let doc = case.exportable(advisory);
    let id = doc
        .cve
        .as_ref()
        .map_or_else(|| case.id.to_string(), ToString::to_string);
    let best = doc.headline_cvss();
    let versions: Vec<String> = doc
        .affected
        .iter()
        .flat_map(|p| p.patched().into_iter().map(str::to_owned))
        .collect();
    let affected: Vec<minijinja::Value> = doc
        .affected
        .iter()
        .map(|p| {
            let ranges: Vec<minijinja::Value> = p
                .compact_ranges()
                .iter()
                .map(|r| {
                    let (introduced, end) = r.split_once("..").unwrap_or((r, ""));
                    let (fixed, last) = match end.strip_prefix('=') {
                        Some(last) => (None, Some(last.to_owned())),
                        None => ((!end.is_empty()).then(|| end.to_owned()), None),
                    };
                    context! { introduced => introduced, fixed => fixed, last => last }
                })
                .collect();
            let check = match &p.ecosystem {
                Ecosystem::PyPI => format!("python -m pip show {}", p.name),
                Ecosystem::CratesIo => format!("cargo tree -i {}", p.name),
                Ecosystem::Npm => format!("npm ls {}", p.name),
                _ => format!("{} --version", p.name),
            };
            context! {
                name => &p.name,
                ecosystem => p.ecosystem.osv_name(),
                ranges => ranges,
                check => check,
            }
        })
        .collect();
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(100_000));
    env.add_template("announcement", template)
        .map_err(|e| FormatError::Template(e.to_string()))?;
    let tmpl = env
        .get_template("announcement")
        .map_err(|e| FormatError::Template(e.to_string()))?;
    tmpl.render(context! {
        project => &case.report.project,
        versions => versions,
        ids => vec![id.clone()],
        vulnerabilities => vec![context! {
            id => id,
            score => best.map(|c| c.score_text()),
            severity => best.map(|c| c.severity().name()),
            summary => &doc.summary,
        }],
        affected => affected,
        mitigation => &doc.mitigation,
        upgrade => &doc.upgrade,
        details => &doc.details,
    })
    .map_err(|e| FormatError::Template(e.to_string()))
}

/// An approved announcement's subject and body (its first line is
/// `Subject: ...`, then a blank line).
pub fn split(text: &str) -> (&str, &str) {
    match text.split_once('\n') {
        Some((first, rest)) => (
            first.strip_prefix("Subject: ").unwrap_or(first).trim(),
            rest.trim_start_matches('\n'),
        ),
        None => ("", text),
    }
}

/// The Markdown announcement as plain text for email: headings underlined,
/// emphasis and code marks dropped, links written out, lists kept.
pub fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
    let mut out = String::new();
    let mut heading: Option<(HeadingLevel, usize)> = None;
    let mut links: Vec<String> = Vec::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, out.len())),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, start)) = heading.take() {
                    let width = out.get(start..).map_or(0, |t| t.chars().count());
                    let mark = if level == HeadingLevel::H1 { '=' } else { '-' };
                    out.push('\n');
                    out.extend(std::iter::repeat_n(mark, width));
                    out.push_str("\n\n");
                }
            }
            Event::Start(Tag::List(first)) => lists.push(first),
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                let depth = lists.len().saturating_sub(1);
                out.extend(std::iter::repeat_n("  ", depth));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("* "),
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => out.push('\n'),
            Event::End(TagEnd::Paragraph) => out.push_str("\n\n"),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    out.push_str(&format!(" <{url}>"));
                }
            }
            Event::Start(Tag::CodeBlock(_)) => {}
            Event::End(TagEnd::CodeBlock) => out.push('\n'),
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t);
            }
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Rule => out.push_str("----\n\n"),
            _ => {}
        }
    }
    let mut text = out.trim_end().to_owned();
    text.push('\n');
    text
}
