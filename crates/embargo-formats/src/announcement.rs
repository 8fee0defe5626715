//! The release announcement in SPEC-11's structure: what is fixed (CVE and
//! CVSS), am I vulnerable, how to mitigate, how to upgrade, details. Rendered
//! from a minijinja template that operators may replace.

use embargo_core::Case;
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

{% for p in affected %}{% for r in p.ranges %}* {{ p.name }} ({{ p.ecosystem }}): {% if r.introduced == "0" %}every version{% else %}versions from {{ r.introduced }}{% endif %}{% if r.fixed %} before {{ r.fixed }}; upgrade to {{ r.fixed }} or later.{% else %}; no fixed version yet.{% endif %}
{% endfor %}{% endfor %}
Check the installed version, e.g. `pip show {{ project }}` or your lock file.
{% if mitigation %}
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
    let assessment = case
        .assessment
        .as_ref()
        .ok_or_else(|| FormatError::NotReady(format!("case {} is not triaged yet", case.id)))?;
    let id = advisory
        .cve
        .as_ref()
        .map_or_else(|| case.id.to_string(), ToString::to_string);
    let best = assessment
        .cvss_v40
        .as_ref()
        .or(assessment.cvss_v31.as_ref());
    let versions: Vec<String> = assessment
        .affected
        .iter()
        .flat_map(|p| p.ranges.iter().filter_map(|r| r.fixed.clone()))
        .collect();
    let affected: Vec<minijinja::Value> = assessment
        .affected
        .iter()
        .map(|p| {
            let ranges: Vec<minijinja::Value> = p
                .ranges
                .iter()
                .map(|r| context! { introduced => &r.introduced, fixed => &r.fixed })
                .collect();
            context! { name => &p.name, ecosystem => p.ecosystem.osv_name(), ranges => ranges }
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
            summary => &advisory.summary,
        }],
        affected => affected,
        mitigation => &advisory.mitigation,
        upgrade => &advisory.upgrade,
        details => &advisory.details,
    })
    .map_err(|e| FormatError::Template(e.to_string()))
}
