//! The advisory as an OSV record (<https://ossf.github.io/osv-schema/>).

use embargo_core::{Case, Timestamp, affected::Ecosystem, cvss::CvssVersion};
use serde_json::{Value, json};

use crate::FormatError;

fn range_type(eco: &Ecosystem) -> &'static str {
    match eco {
        // crates.io and npm versions are semver; OSV's SEMVER type orders them exactly.
        Ecosystem::CratesIo | Ecosystem::Npm => "SEMVER",
        _ => "ECOSYSTEM",
    }
}

/// The OSV record of the case's current advisory, `modified` at the given time.
pub fn to_osv(case: &Case, modified: Timestamp) -> Result<Value, FormatError> {
    let advisory = case
        .current_advisory()
        .ok_or_else(|| FormatError::NotReady(format!("case {} has no advisory yet", case.id)))?;
    let assessment = case.assessment.as_ref();
    let mut record = json!({
        "schema_version": "1.6.0",
        // OSV reserves registered prefixes for known databases; a self-hosted
        // database uses the schema's `x_` prefix for unregistered ids.
        "id": format!("x_{}", case.id),
        "modified": modified.to_string(),
        "summary": advisory.summary,
        "details": advisory.details,
    });
    let obj = record
        .as_object_mut()
        .ok_or_else(|| FormatError::NotReady("internal".into()))?;
    if let Some(published) = case.published_at {
        obj.insert("published".into(), json!(published.to_string()));
    }
    if let Some(cve) = &advisory.cve {
        obj.insert("aliases".into(), json!([cve.as_str()]));
    }
    let affected: Vec<Value> = assessment
        .map(|a| a.affected.iter())
        .into_iter()
        .flatten()
        .filter(|p| p.ecosystem != Ecosystem::Git)
        .map(|p| {
            let mut events = Vec::new();
            for r in &p.ranges {
                events.push(json!({ "introduced": r.introduced }));
                if let Some(fixed) = &r.fixed {
                    events.push(json!({ "fixed": fixed }));
                }
            }
            json!({
                "package": { "ecosystem": p.ecosystem.osv_name(), "name": p.name },
                "ranges": [{ "type": range_type(&p.ecosystem), "events": events }],
            })
        })
        .collect();
    if !affected.is_empty() {
        obj.insert("affected".into(), Value::Array(affected));
    }
    let severity: Vec<Value> = assessment
        .map(|a| [a.cvss_v31.as_ref(), a.cvss_v40.as_ref()])
        .into_iter()
        .flatten()
        .flatten()
        .map(|c| {
            let kind = if c.version() == CvssVersion::V40 {
                "CVSS_V4"
            } else {
                "CVSS_V3"
            };
            json!({ "type": kind, "score": c.vector() })
        })
        .collect();
    if !severity.is_empty() {
        obj.insert("severity".into(), Value::Array(severity));
    }
    if !advisory.references.is_empty() {
        let refs: Vec<Value> = advisory
            .references
            .iter()
            .map(|r| json!({ "type": r.kind, "url": r.url }))
            .collect();
        obj.insert("references".into(), Value::Array(refs));
    }
    if !advisory.credits.is_empty() {
        let credits: Vec<Value> = advisory
            .credits
            .iter()
            .map(|c| json!({ "name": c.name, "type": c.kind }))
            .collect();
        obj.insert("credits".into(), Value::Array(credits));
    }
    if let Some(cwe) = assessment.and_then(|a| a.cwe.as_ref()) {
        obj.insert(
            "database_specific".into(),
            json!({ "cwe_ids": [cwe.as_str()] }),
        );
    }
    Ok(record)
}
