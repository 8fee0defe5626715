//! The advisory as an OSV record (<https://ossf.github.io/osv-schema/>), both
//! ways.
//!
//! Export writes what the document holds, in OSV's shape; import reads every
//! field the schema defines and refuses (with the field's name) what the
//! document cannot hold, so nothing is dropped silently. An imported record
//! exports back equal: opaque `database_specific` and `ecosystem_specific`
//! data and the timestamps' text are kept as they came. Team-only fields
//! (impact, workarounds, upgrade instructions) have no OSV field: they are
//! appended to `details` as Markdown sections, and `confidential` is never
//! written.

use embargo_core::{
    advisory::{Advisory, Credit, Package, Range, RangeEvent, RangeKind, Reference},
    affected::Ecosystem,
    cvss::{Cvss, CvssVersion},
};
use serde_json::{Map, Value, json};

use crate::FormatError;

/// The OSV schema version written into records we make.
pub const SCHEMA_VERSION: &str = "1.7.0";

fn bad(what: impl Into<String>) -> FormatError {
    FormatError::Invalid(what.into())
}

/// `details` as published: the text, then Impact, Workarounds and Upgrade
/// sections when the advisory has them.
pub fn published_details(a: &Advisory) -> String {
    let mut out = a.details.clone();
    for (title, body) in [
        ("Impact", &a.impact),
        ("Workarounds", &a.mitigation),
        ("Upgrade", &a.upgrade),
    ] {
        if let Some(body) = body.as_deref().filter(|b| !b.trim().is_empty()) {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&format!("### {title}\n\n{}", body.trim_end()));
        }
    }
    out
}

/// The OSV record of an advisory. It needs an `id` and a `modified` time.
pub fn to_osv(a: &Advisory) -> Result<Value, FormatError> {
    let id =
        a.id.as_deref()
            .ok_or_else(|| FormatError::NotReady("the advisory has no id".into()))?;
    let modified = a
        .modified
        .as_deref()
        .ok_or_else(|| FormatError::NotReady("the advisory has no modified time".into()))?;
    let mut o = Map::new();
    if let Some(v) = &a.schema_version {
        o.insert("schema_version".into(), json!(v));
    }
    o.insert("id".into(), json!(id));
    o.insert("modified".into(), json!(modified));
    if let Some(p) = &a.published {
        o.insert("published".into(), json!(p));
    }
    if let Some(w) = &a.withdrawn {
        o.insert("withdrawn".into(), json!(w));
    }
    let kept = |key: &str| a.empty_lists.iter().any(|k| k == key);
    let aliases = a.all_aliases();
    if !aliases.is_empty() || kept("aliases") {
        o.insert("aliases".into(), json!(aliases));
    }
    if !a.related.is_empty() || kept("related") {
        o.insert("related".into(), json!(a.related));
    }
    if !a.upstream.is_empty() || kept("upstream") {
        o.insert("upstream".into(), json!(a.upstream));
    }
    if !a.summary.is_empty() {
        o.insert("summary".into(), json!(a.summary));
    }
    let details = published_details(a);
    if !details.is_empty() {
        o.insert("details".into(), json!(details));
    }
    let severity: Vec<Value> = a
        .cvss
        .iter()
        .map(|c| json!({ "type": severity_type(c), "score": c.vector() }))
        .collect();
    if !severity.is_empty() || kept("severity") {
        o.insert("severity".into(), Value::Array(severity));
    }
    if !a.affected.is_empty() || kept("affected") {
        o.insert(
            "affected".into(),
            Value::Array(a.affected.iter().map(package_to_osv).collect()),
        );
    }
    if !a.references.is_empty() || kept("references") {
        let refs: Vec<Value> = a
            .references
            .iter()
            .map(|r| json!({ "type": r.kind, "url": r.url }))
            .collect();
        o.insert("references".into(), Value::Array(refs));
    }
    if !a.credits.is_empty() || kept("credits") {
        let credits: Vec<Value> = a
            .credits
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("name".into(), json!(c.name));
                if !c.contact.is_empty() {
                    m.insert("contact".into(), json!(c.contact));
                }
                if let Some(k) = &c.kind {
                    m.insert("type".into(), json!(k));
                }
                Value::Object(m)
            })
            .collect();
        o.insert("credits".into(), Value::Array(credits));
    }
    let mut db = a.database_specific.clone();
    if !a.cwes.is_empty() {
        // GitHub's convention for weaknesses in OSV; an imported record that
        // already says so keeps its own text.
        let m = db.get_or_insert_with(|| json!({}));
        if let Some(m) = m.as_object_mut()
            && !m.contains_key("cwe_ids")
        {
            m.insert(
                "cwe_ids".into(),
                json!(a.cwes.iter().map(ToString::to_string).collect::<Vec<_>>()),
            );
        }
    }
    if let Some(db) = db {
        o.insert("database_specific".into(), db);
    }
    Ok(Value::Object(o))
}

fn severity_type(c: &Cvss) -> &'static str {
    if c.version() == CvssVersion::V40 {
        "CVSS_V4"
    } else {
        "CVSS_V3"
    }
}

fn package_to_osv(p: &Package) -> Value {
    let mut pkg = Map::new();
    pkg.insert("ecosystem".into(), json!(p.ecosystem.osv_name()));
    pkg.insert("name".into(), json!(p.name));
    if let Some(purl) = &p.purl {
        pkg.insert("purl".into(), json!(purl));
    }
    let mut m = Map::new();
    m.insert("package".into(), Value::Object(pkg));
    let kept = |key: &str| p.empty_lists.iter().any(|k| k == key);
    if !p.ranges.is_empty() || kept("ranges") {
        let ranges: Vec<Value> = p
            .ranges
            .iter()
            .map(|r| {
                let mut rm = Map::new();
                rm.insert("type".into(), json!(r.kind.name()));
                if let Some(repo) = &r.repo {
                    rm.insert("repo".into(), json!(repo));
                }
                rm.insert(
                    "events".into(),
                    serde_json::to_value(&r.events).unwrap_or(Value::Null),
                );
                if let Some(db) = &r.database_specific {
                    rm.insert("database_specific".into(), db.clone());
                }
                Value::Object(rm)
            })
            .collect();
        m.insert("ranges".into(), Value::Array(ranges));
    }
    if !p.versions.is_empty() || kept("versions") {
        m.insert("versions".into(), json!(p.versions));
    }
    if let Some(e) = &p.ecosystem_specific {
        m.insert("ecosystem_specific".into(), e.clone());
    }
    if let Some(d) = &p.database_specific {
        m.insert("database_specific".into(), d.clone());
    }
    Value::Object(m)
}

fn obj<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, FormatError> {
    v.as_object()
        .ok_or_else(|| bad(format!("{at} must be an object")))
}

fn string(v: &Value, at: &str) -> Result<String, FormatError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| bad(format!("{at} must be a string")))
}

fn strings(v: &Value, at: &str) -> Result<Vec<String>, FormatError> {
    v.as_array()
        .ok_or_else(|| bad(format!("{at} must be a list")))?
        .iter()
        .enumerate()
        .map(|(i, x)| string(x, &format!("{at}[{i}]")))
        .collect()
}

fn timestamp(v: &Value, at: &str) -> Result<String, FormatError> {
    let s = string(v, at)?;
    s.parse::<jiff::Timestamp>()
        .map_err(|e| bad(format!("{at} `{s}` is not an RFC 3339 time: {e}")))?;
    Ok(s)
}

fn list<'a>(v: &'a Value, at: &str) -> Result<&'a Vec<Value>, FormatError> {
    v.as_array()
        .ok_or_else(|| bad(format!("{at} must be a list")))
}

/// Reads an OSV record into the document, refusing what it cannot hold.
pub fn from_osv(v: &Value) -> Result<Advisory, FormatError> {
    let o = obj(v, "the record")?;
    let mut a = Advisory::new("", "");
    for (key, value) in o {
        let at = key.as_str();
        if value.as_array().is_some_and(Vec::is_empty) {
            a.empty_lists.push(key.clone());
        }
        match at {
            "schema_version" => a.schema_version = Some(string(value, at)?),
            "id" => a.id = Some(string(value, at)?),
            "modified" => a.modified = Some(timestamp(value, at)?),
            "published" => a.published = Some(timestamp(value, at)?),
            "withdrawn" => a.withdrawn = Some(timestamp(value, at)?),
            "aliases" => a.aliases = strings(value, at)?,
            "related" => a.related = strings(value, at)?,
            "upstream" => a.upstream = strings(value, at)?,
            "summary" => a.summary = string(value, at)?,
            "details" => a.details = string(value, at)?,
            "severity" => {
                for (i, s) in list(value, at)?.iter().enumerate() {
                    a.cvss
                        .push(severity_from_osv(s, &format!("severity[{i}]"))?);
                }
            }
            "affected" => {
                for (i, p) in list(value, at)?.iter().enumerate() {
                    a.affected
                        .push(package_from_osv(p, &format!("affected[{i}]"))?);
                }
            }
            "references" => {
                for (i, r) in list(value, at)?.iter().enumerate() {
                    let at = format!("references[{i}]");
                    let r = obj(r, &at)?;
                    a.references.push(Reference {
                        kind: string(r.get("type").unwrap_or(&Value::Null), &format!("{at}.type"))?,
                        url: string(r.get("url").unwrap_or(&Value::Null), &format!("{at}.url"))?,
                    });
                }
            }
            "credits" => {
                for (i, c) in list(value, at)?.iter().enumerate() {
                    let at = format!("credits[{i}]");
                    let c = obj(c, &at)?;
                    a.credits.push(Credit {
                        name: string(c.get("name").unwrap_or(&Value::Null), &format!("{at}.name"))?,
                        kind: c
                            .get("type")
                            .map(|t| string(t, &format!("{at}.type")))
                            .transpose()?,
                        contact: c
                            .get("contact")
                            .map(|t| strings(t, &format!("{at}.contact")))
                            .transpose()?
                            .unwrap_or_default(),
                        holder: None,
                    });
                }
            }
            "database_specific" => {
                if let Some(ids) = value.get("cwe_ids").and_then(Value::as_array) {
                    a.cwes = ids
                        .iter()
                        .filter_map(Value::as_str)
                        .filter_map(|s| s.parse().ok())
                        .collect();
                }
                a.database_specific = Some(value.clone());
            }
            other => {
                return Err(bad(format!(
                    "field `{other}` is not part of the OSV schema embargo reads"
                )));
            }
        }
    }
    if a.id.is_none() || a.modified.is_none() {
        return Err(bad("an OSV record has an `id` and a `modified` time"));
    }
    a.cve = a.aliases.iter().find_map(|x| x.parse().ok());
    let own_ghsa = a.id.as_deref().filter(|i| i.starts_with("GHSA-"));
    a.ghsa = own_ghsa
        .or_else(|| {
            a.aliases
                .iter()
                .map(String::as_str)
                .find(|x| x.starts_with("GHSA-"))
        })
        .map(str::to_owned);
    // A GHSA record's own id is not repeated as its GHSA alias.
    if own_ghsa.is_some() {
        a.ghsa = None;
    }
    a.validate_imported()
        .map_err(|e| bad(format!("{}: {e}", a.id.as_deref().unwrap_or("record"))))?;
    Ok(a)
}

fn severity_from_osv(s: &Value, at: &str) -> Result<Cvss, FormatError> {
    let s = obj(s, at)?;
    let kind = string(s.get("type").unwrap_or(&Value::Null), &format!("{at}.type"))?;
    let score = string(
        s.get("score").unwrap_or(&Value::Null),
        &format!("{at}.score"),
    )?;
    if !matches!(kind.as_str(), "CVSS_V3" | "CVSS_V4") {
        return Err(bad(format!(
            "{at}: severity type `{kind}` is not supported (CVSS_V3 and CVSS_V4 are)"
        )));
    }
    let c = Cvss::parse(&score).map_err(|e| bad(format!("{at}: {e}")))?;
    if severity_type(&c) != kind {
        return Err(bad(format!("{at}: `{score}` is not a {kind} vector")));
    }
    Ok(c)
}

fn package_from_osv(p: &Value, at: &str) -> Result<Package, FormatError> {
    let p = obj(p, at)?;
    let mut out = Package {
        ecosystem: Ecosystem::Other(String::new()),
        name: String::new(),
        purl: None,
        ranges: Vec::new(),
        versions: Vec::new(),
        ecosystem_specific: None,
        database_specific: None,
        empty_lists: Vec::new(),
    };
    for (key, value) in p {
        let here = format!("{at}.{key}");
        if value.as_array().is_some_and(Vec::is_empty) {
            out.empty_lists.push(key.clone());
        }
        match key.as_str() {
            "package" => {
                let pkg = obj(value, &here)?;
                for (k, v) in pkg {
                    match k.as_str() {
                        "ecosystem" => {
                            out.ecosystem = Ecosystem::try_from(string(v, &here)?)
                                .map_err(|e| bad(format!("{here}: {e}")))?;
                        }
                        "name" => out.name = string(v, &here)?,
                        "purl" => out.purl = Some(string(v, &here)?),
                        other => {
                            return Err(bad(format!("{here}.{other} is not supported")));
                        }
                    }
                }
            }
            "ranges" => {
                for (i, r) in list(value, &here)?.iter().enumerate() {
                    out.ranges.push(range_from_osv(r, &format!("{here}[{i}]"))?);
                }
            }
            "versions" => out.versions = strings(value, &here)?,
            "ecosystem_specific" => out.ecosystem_specific = Some(value.clone()),
            "database_specific" => out.database_specific = Some(value.clone()),
            other => {
                return Err(bad(format!(
                    "{at}.{other} is not supported (per-package severity is not read)"
                )));
            }
        }
    }
    if out.name.is_empty() {
        return Err(bad(format!("{at} names no package")));
    }
    Ok(out)
}

fn range_from_osv(r: &Value, at: &str) -> Result<Range, FormatError> {
    let r = obj(r, at)?;
    let kind = match r.get("type").and_then(Value::as_str) {
        Some("ECOSYSTEM") => RangeKind::Ecosystem,
        Some("SEMVER") => RangeKind::Semver,
        Some("GIT") => RangeKind::Git,
        other => {
            return Err(bad(format!(
                "{at}.type `{}` is not one of ECOSYSTEM, SEMVER, GIT",
                other.unwrap_or("")
            )));
        }
    };
    let mut out = Range {
        kind,
        repo: None,
        events: Vec::new(),
        database_specific: None,
    };
    for (key, value) in r {
        let here = format!("{at}.{key}");
        match key.as_str() {
            "type" => {}
            "repo" => out.repo = Some(string(value, &here)?),
            "database_specific" => out.database_specific = Some(value.clone()),
            "events" => {
                out.events = serde_json::from_value::<Vec<RangeEvent>>(value.clone())
                    .map_err(|e| bad(format!("{here}: {e}")))?;
            }
            other => return Err(bad(format!("{at}.{other} is not supported"))),
        }
    }
    Ok(out)
}
