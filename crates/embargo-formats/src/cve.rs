//! The advisory as a CVE JSON 5.1 record (the CNA container a CNA publishes
//! through CVE Services), and CVE records read back where they are
//! structured enough.
//!
//! Mapping notes:
//! - `descriptions` carries the published details (Markdown as text), cut at
//!   4000 characters with an ellipsis (the schema allows 4096);
//! - affected packages carry `collectionURL` + `packageName` for PyPI,
//!   crates.io and npm, `repo` for git; one version entry per range
//!   (`version` + `lessThan`, `lessThanOrEqual` for a last affected
//!   version, `lessThan: "*"` with no fix); explicit versions are listed
//!   only when a package has no ranges;
//! - OSV reference types map to CVE tags (FIX → patch, ADVISORY →
//!   vendor-advisory, REPORT → issue-tracking, EVIDENCE → exploit) and
//!   back; credits map to the CVE credit types.

use embargo_core::{
    advisory::{Advisory, Credit, Package, Range, RangeEvent, RangeKind, Reference},
    affected::Ecosystem,
    cvss::{Cvss, CvssVersion},
};
use serde_json::{Map, Value, json};

use crate::{Context, FormatError, osv::published_details};

const CREDIT_TYPES: &[(&str, &str)] = &[
    ("FINDER", "finder"),
    ("REPORTER", "reporter"),
    ("ANALYST", "analyst"),
    ("COORDINATOR", "coordinator"),
    ("REMEDIATION_DEVELOPER", "remediation developer"),
    ("REMEDIATION_REVIEWER", "remediation reviewer"),
    ("REMEDIATION_VERIFIER", "remediation verifier"),
    ("TOOL", "tool"),
    ("SPONSOR", "sponsor"),
    ("OTHER", "other"),
];

const REFERENCE_TAGS: &[(&str, &str)] = &[
    ("FIX", "patch"),
    ("ADVISORY", "vendor-advisory"),
    ("REPORT", "issue-tracking"),
    ("EVIDENCE", "exploit"),
];

/// Sets `key` on a JSON object (nothing on anything else).
fn put(v: &mut Value, key: &str, x: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), x);
    }
}

fn collection(eco: &Ecosystem) -> Option<&'static str> {
    match eco {
        Ecosystem::PyPI => Some("https://pypi.org"),
        Ecosystem::CratesIo => Some("https://crates.io"),
        Ecosystem::Npm => Some("https://www.npmjs.com"),
        _ => None,
    }
}

fn version_type(eco: &Ecosystem, kind: RangeKind) -> &'static str {
    match (eco, kind) {
        (_, RangeKind::Git) => "git",
        (_, RangeKind::Semver) => "semver",
        (Ecosystem::PyPI, _) => "python",
        _ => "custom",
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// The version entries of one range.
fn range_versions(eco: &Ecosystem, r: &Range) -> Vec<Value> {
    let vt = version_type(eco, r.kind);
    let mut out = Vec::new();
    let mut open: Option<&str> = None;
    for e in &r.events {
        match e {
            RangeEvent::Introduced(v) => {
                if let Some(o) = open.replace(v) {
                    out.push(json!({ "version": o, "lessThan": "*", "status": "affected", "versionType": vt }));
                }
            }
            RangeEvent::Fixed(f) | RangeEvent::Limit(f) => {
                let o = open.take().unwrap_or("0");
                out.push(
                    json!({ "version": o, "lessThan": f, "status": "affected", "versionType": vt }),
                );
            }
            RangeEvent::LastAffected(l) => {
                let o = open.take().unwrap_or("0");
                out.push(json!({ "version": o, "lessThanOrEqual": l, "status": "affected", "versionType": vt }));
            }
        }
    }
    if let Some(o) = open {
        out.push(json!({ "version": o, "lessThan": "*", "status": "affected", "versionType": vt }));
    }
    out
}

fn affected_entry(p: &Package) -> Value {
    let mut m = Map::new();
    let git_repo = p.ranges.iter().find_map(|r| {
        (r.kind == RangeKind::Git)
            .then_some(r.repo.clone())
            .flatten()
    });
    if let Some(url) = collection(&p.ecosystem) {
        m.insert("collectionURL".into(), json!(url));
        m.insert("packageName".into(), json!(p.name));
    } else {
        m.insert("vendor".into(), json!(p.ecosystem.osv_name()));
    }
    m.insert("product".into(), json!(cut(&p.name, 2000)));
    if let Some(repo) = git_repo {
        m.insert("repo".into(), json!(repo));
    }
    let mut versions: Vec<Value> = p
        .ranges
        .iter()
        .flat_map(|r| range_versions(&p.ecosystem, r))
        .collect();
    if versions.is_empty() {
        versions = p
            .versions
            .iter()
            .map(|v| json!({ "version": v, "status": "affected" }))
            .collect();
    }
    if !versions.is_empty() {
        m.insert("versions".into(), Value::Array(versions));
    }
    m.insert("defaultStatus".into(), json!("unaffected"));
    Value::Object(m)
}

fn metric(c: &Cvss) -> Value {
    let (key, version) = match c.version() {
        CvssVersion::V30 => ("cvssV3_0", "3.0"),
        CvssVersion::V31 => ("cvssV3_1", "3.1"),
        CvssVersion::V40 => ("cvssV4_0", "4.0"),
    };
    json!({ key: {
        "version": version,
        "vectorString": c.vector(),
        "baseScore": c.score(),
        "baseSeverity": c.severity().name().to_ascii_uppercase(),
    }})
}

/// The CNA container: what CVE Services takes to publish a record.
pub fn cna_container(a: &Advisory, ctx: &Context) -> Result<Value, FormatError> {
    let org = ctx.cna_org_id.as_deref().ok_or_else(|| {
        FormatError::NotReady(
            "a CVE record names its CNA: configure [cve] org_id (or pass --cna-org-id)".into(),
        )
    })?;
    let mut provider = json!({ "orgId": org });
    if let Some(short) = &ctx.cna_short_name {
        put(&mut provider, "shortName", json!(short));
    }
    if let Some(m) = &a.modified {
        put(&mut provider, "dateUpdated", json!(m));
    }
    let details = published_details(a);
    let description = if details.trim().is_empty() {
        a.summary.clone()
    } else {
        details
    };
    if description.trim().is_empty() {
        return Err(FormatError::NotReady(
            "a CVE record needs a description: the advisory has neither summary nor details".into(),
        ));
    }
    let mut cna = Map::new();
    cna.insert("providerMetadata".into(), provider);
    if !a.summary.trim().is_empty() {
        cna.insert("title".into(), json!(cut(a.summary.trim(), 250)));
    }
    cna.insert(
        "descriptions".into(),
        json!([{ "lang": "en", "value": cut(&description, 4000) }]),
    );
    let affected: Vec<Value> = a.affected.iter().map(affected_entry).collect();
    if affected.is_empty() {
        return Err(FormatError::NotReady(
            "a CVE record needs at least one affected package".into(),
        ));
    }
    cna.insert("affected".into(), Value::Array(affected));
    let mut refs: Vec<Value> = a
        .references
        .iter()
        .map(|r| {
            let mut m = json!({ "url": r.url });
            if let Some((_, tag)) = REFERENCE_TAGS.iter().find(|(k, _)| *k == r.kind) {
                put(&mut m, "tags", json!([tag]));
            }
            m
        })
        .collect();
    refs.dedup_by(|x, y| x.get("url") == y.get("url"));
    if refs.is_empty() {
        return Err(FormatError::NotReady(
            "a CVE record needs at least one reference".into(),
        ));
    }
    cna.insert("references".into(), Value::Array(refs));
    if !a.cwes.is_empty() {
        let types: Vec<Value> = a
            .cwes
            .iter()
            .map(|c| {
                json!({ "descriptions": [{
                    "lang": "en", "type": "CWE", "cweId": c.as_str(), "description": c.as_str(),
                }]})
            })
            .collect();
        cna.insert("problemTypes".into(), Value::Array(types));
    }
    if !a.cvss.is_empty() {
        cna.insert(
            "metrics".into(),
            Value::Array(a.cvss.iter().map(metric).collect()),
        );
    }
    if !a.credits.is_empty() {
        let credits: Vec<Value> = a
            .credits
            .iter()
            .map(|c| {
                let kind = c.kind.as_deref().unwrap_or("OTHER");
                let t = CREDIT_TYPES
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map_or("other", |(_, t)| t);
                json!({ "lang": "en", "value": c.name, "type": t })
            })
            .collect();
        cna.insert("credits".into(), Value::Array(credits));
    }
    if let Some(g) = &a.ghsa {
        cna.insert(
            "source".into(),
            json!({ "advisory": g, "discovery": "UNKNOWN" }),
        );
    }
    Ok(Value::Object(cna))
}

/// A whole published CVE record.
pub fn to_record(a: &Advisory, ctx: &Context) -> Result<Value, FormatError> {
    let cve = a.cve.as_ref().ok_or_else(|| {
        FormatError::NotReady(format!(
            "{} has no CVE id: request one, or enter it, before writing a CVE record",
            a.id.as_deref().unwrap_or("the advisory")
        ))
    })?;
    let cna = cna_container(a, ctx)?;
    let mut meta = json!({
        "cveId": cve.as_str(),
        "assignerOrgId": ctx.cna_org_id,
        "state": "PUBLISHED",
    });
    if let Some(s) = &ctx.cna_short_name {
        put(&mut meta, "assignerShortName", json!(s));
    }
    if let Some(p) = &a.published {
        put(&mut meta, "datePublished", json!(p));
    }
    if let Some(m) = &a.modified {
        put(&mut meta, "dateUpdated", json!(m));
    }
    Ok(json!({
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": meta,
        "containers": { "cna": cna },
    }))
}

/// The time text of a CVE record, with `Z` added where the record gives
/// none (older records write local-less times).
fn cve_time(v: Option<&Value>) -> Option<String> {
    let s = v?.as_str()?;
    if s.parse::<jiff::Timestamp>().is_ok() {
        return Some(s.to_owned());
    }
    let z = format!("{s}Z");
    z.parse::<jiff::Timestamp>().is_ok().then_some(z)
}

fn ecosystem_of(entry: &Value) -> Option<Ecosystem> {
    match entry.get("collectionURL").and_then(Value::as_str)? {
        u if u.contains("pypi.org") => Some(Ecosystem::PyPI),
        u if u.contains("crates.io") => Some(Ecosystem::CratesIo),
        u if u.contains("npmjs") => Some(Ecosystem::Npm),
        _ => None,
    }
}

/// Reads a CVE JSON 5 record. Structured affected entries become packages
/// with ranges; free-text version descriptions ("< 5.11") cannot be, and
/// are kept in the confidential notes for the team to turn into ranges.
pub fn from_cve(v: &Value) -> Result<Advisory, FormatError> {
    let bad = |m: &str| FormatError::Invalid(m.into());
    let id = v
        .pointer("/cveMetadata/cveId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("a CVE record has cveMetadata.cveId"))?;
    if v.pointer("/cveMetadata/state").and_then(Value::as_str) == Some("REJECTED") {
        return Err(bad("a rejected CVE record has no advisory to import"));
    }
    let cna = v
        .pointer("/containers/cna")
        .ok_or_else(|| bad("a CVE record has containers.cna"))?;
    let details = cna
        .get("descriptions")
        .and_then(Value::as_array)
        .and_then(|d| {
            d.iter()
                .find(|x| {
                    x.get("lang")
                        .and_then(Value::as_str)
                        .is_some_and(|l| l.starts_with("en"))
                })
                .or(d.first())
        })
        .and_then(|d| d.get("value"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let title = cna.get("title").and_then(Value::as_str).unwrap_or_default();
    let mut a = Advisory::new(title, details);
    a.id = Some(id.to_owned());
    a.cve = Some(
        id.parse()
            .map_err(|e: embargo_core::ids::InvalidValue| bad(&e.0))?,
    );
    a.published = cve_time(v.pointer("/cveMetadata/datePublished"));
    a.modified = cve_time(v.pointer("/cveMetadata/dateUpdated"))
        .or_else(|| cve_time(cna.pointer("/providerMetadata/dateUpdated")))
        .or_else(|| a.published.clone());
    a.ghsa = cna
        .pointer("/source/advisory")
        .and_then(Value::as_str)
        .filter(|s| s.starts_with("GHSA-"))
        .map(str::to_owned);
    let mut unstructured = Vec::new();
    for entry in cna
        .get("affected")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = entry
            .get("packageName")
            .or_else(|| entry.get("product"))
            .and_then(Value::as_str)
            .unwrap_or("n/a");
        let eco = ecosystem_of(entry);
        let repo = entry.get("repo").and_then(Value::as_str);
        let mut ranges = Vec::new();
        let mut loose = Vec::new();
        for ver in entry
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if ver.get("status").and_then(Value::as_str) != Some("affected") {
                continue;
            }
            let version = ver.get("version").and_then(Value::as_str).unwrap_or("");
            let kind = match ver.get("versionType").and_then(Value::as_str) {
                Some("git") if repo.is_some() => RangeKind::Git,
                Some("semver") => RangeKind::Semver,
                _ => RangeKind::Ecosystem,
            };
            let plain = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace) && s != "n/a";
            let event = match (
                ver.get("lessThan").and_then(Value::as_str),
                ver.get("lessThanOrEqual").and_then(Value::as_str),
            ) {
                (Some("*"), _) => Some(None),
                (Some(f), _) if plain(f) => Some(Some(RangeEvent::Fixed(f.to_owned()))),
                (_, Some(l)) if plain(l) => Some(Some(RangeEvent::LastAffected(l.to_owned()))),
                _ => None,
            };
            match event {
                Some(end) if plain(version) && eco.is_some() => {
                    let mut events = vec![RangeEvent::Introduced(version.to_owned())];
                    events.extend(end);
                    ranges.push(Range {
                        kind,
                        repo: (kind == RangeKind::Git).then(|| repo.unwrap_or_default().to_owned()),
                        events,
                        database_specific: None,
                    });
                }
                None if plain(version) && eco.is_some() => loose.push(version.to_owned()),
                _ => unstructured.push(format!("{name}: {}", ver)),
            }
        }
        if let Some(eco) = eco
            && (!ranges.is_empty() || !loose.is_empty())
        {
            a.affected.push(Package {
                ecosystem: eco,
                name: name.to_owned(),
                purl: None,
                ranges,
                versions: loose,
                ecosystem_specific: None,
                database_specific: None,
                empty_lists: Vec::new(),
            });
        }
    }
    if !unstructured.is_empty() {
        a.confidential = Some(format!(
            "Imported from {id}: affected versions given as text, to be entered as ranges:\n{}",
            unstructured.join("\n")
        ));
    }
    for m in cna
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for key in ["cvssV4_0", "cvssV3_1", "cvssV3_0"] {
            if let Some(vec) = m
                .get(key)
                .and_then(|c| c.get("vectorString"))
                .and_then(Value::as_str)
                && let Ok(c) = Cvss::parse(vec)
                && a.cvss_of(c.version()).is_none()
            {
                a.cvss.push(c);
            }
        }
    }
    for pt in cna
        .get("problemTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for d in pt
            .get("descriptions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(cwe) = d
                .get("cweId")
                .and_then(Value::as_str)
                .and_then(|c| c.parse().ok())
                && !a.cwes.contains(&cwe)
            {
                a.cwes.push(cwe);
            }
        }
    }
    for r in cna
        .get("references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(url) = r.get("url").and_then(Value::as_str) else {
            continue;
        };
        let tags: Vec<&str> = r
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let kind = REFERENCE_TAGS
            .iter()
            .find(|(_, t)| tags.contains(t))
            .map_or("WEB", |(k, _)| k);
        a.references.push(Reference {
            kind: kind.into(),
            url: url.to_owned(),
        });
    }
    for c in cna
        .get("credits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = c.get("value").and_then(Value::as_str) {
            let t = c.get("type").and_then(Value::as_str).unwrap_or("other");
            let kind = CREDIT_TYPES
                .iter()
                .find(|(_, x)| *x == t)
                .map_or("OTHER", |(k, _)| k);
            a.credits.push(Credit {
                name: cut(name, 200),
                kind: Some(kind.into()),
                contact: Vec::new(),
                holder: None,
            });
        }
    }
    a.validate_imported()
        .map_err(|e| FormatError::Invalid(format!("{id}: {e}")))?;
    Ok(a)
}
