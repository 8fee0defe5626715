//! The advisory as a CSAF 2.0 security advisory
//! (<https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html>).
//!
//! Mapping notes:
//! - the product tree has one product family per ecosystem, one product
//!   name per package, and per affected interval a `product_version_range`
//!   in vers syntax (`vers:pypi/>=1.22.0|<1.26.4`) listed as known
//!   affected, and each fixed version as a `product_version` listed as
//!   fixed. Git ranges (commits) are not products; explicit versions are
//!   used only when a package has no ranges;
//! - CSAF 2.0 scores only CVSS v2 and v3: v4.0 vectors are not written;
//! - CSAF 2.0's `cwe` needs the CWE catalog's name, which embargo does not
//!   carry: weaknesses are named in a vulnerability note instead;
//! - the TLP label is written with CSAF 2.0's TLP v1 names, never wider
//!   than the case's: CLEAR is WHITE, and AMBER+STRICT, which TLP v1 does
//!   not have, is RED (the nearest label at least as strict), with the
//!   distribution's text saying so.

use embargo_core::{
    advisory::{Advisory, Package, RangeEvent, RangeKind},
    affected::Ecosystem,
    cvss::CvssVersion,
    tlp::Tlp,
};
use serde_json::{Value, json};

use crate::{Context, FormatError};

/// Sets `key` on a JSON object (nothing on anything else).
fn put(v: &mut Value, key: &str, x: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), x);
    }
}

fn vers_scheme(eco: &Ecosystem) -> String {
    match eco {
        Ecosystem::PyPI => "pypi".into(),
        Ecosystem::CratesIo => "cargo".into(),
        Ecosystem::Npm => "npm".into(),
        other => other
            .osv_name()
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect(),
    }
}

fn purl_type(eco: &Ecosystem) -> Option<&'static str> {
    match eco {
        Ecosystem::PyPI => Some("pypi"),
        Ecosystem::CratesIo => Some("cargo"),
        Ecosystem::Npm => Some("npm"),
        _ => None,
    }
}

fn purl(eco: &Ecosystem, name: &str, version: &str) -> Option<String> {
    let t = purl_type(eco)?;
    let simple = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if !simple(name) || !simple(version) {
        return None;
    }
    let name = if t == "pypi" {
        name.to_ascii_lowercase().replace('_', "-")
    } else {
        name.to_owned()
    };
    Some(format!("pkg:{t}/{name}@{version}"))
}

/// Affected intervals of a range as vers constraints.
fn intervals(scheme: &str, events: &[RangeEvent]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut open: Option<&str> = None;
    let lower = |v: &str| (v != "0").then(|| format!(">={v}"));
    let join = |parts: Vec<String>| {
        if parts.is_empty() {
            format!("vers:{scheme}/*")
        } else {
            format!("vers:{scheme}/{}", parts.join("|"))
        }
    };
    for e in events {
        match e {
            RangeEvent::Introduced(v) => {
                if let Some(o) = open.replace(v) {
                    out.push((join(lower(o).into_iter().collect()), None));
                }
            }
            RangeEvent::Fixed(f) | RangeEvent::Limit(f) => {
                let o = open.take().unwrap_or("0");
                let mut parts: Vec<String> = lower(o).into_iter().collect();
                parts.push(format!("<{f}"));
                let fixed = matches!(e, RangeEvent::Fixed(_)).then(|| f.clone());
                out.push((join(parts), fixed));
            }
            RangeEvent::LastAffected(l) => {
                let o = open.take().unwrap_or("0");
                let mut parts: Vec<String> = lower(o).into_iter().collect();
                parts.push(format!("<={l}"));
                out.push((join(parts), None));
            }
        }
    }
    if let Some(o) = open {
        out.push((join(lower(o).into_iter().collect()), None));
    }
    out
}

struct Products {
    next: usize,
    family: Vec<(String, Vec<Value>)>,
    affected: Vec<String>,
    fixed: Vec<String>,
    /// (affected product, fixed version, package) for remediations.
    fixes: Vec<(String, String, String)>,
}

impl Products {
    fn id(&mut self) -> String {
        self.next += 1;
        format!("CSAFPID-{:04}", self.next)
    }

    fn add(&mut self, p: &Package) {
        let scheme = vers_scheme(&p.ecosystem);
        let mut versions = Vec::new();
        let mut seen_fixed: Vec<String> = Vec::new();
        for r in p.ranges.iter().filter(|r| r.kind != RangeKind::Git) {
            for (vers, fixed) in intervals(&scheme, &r.events) {
                let id = self.id();
                versions.push(json!({
                    "category": "product_version_range",
                    "name": vers,
                    "product": { "name": format!("{} {vers}", p.name), "product_id": id },
                }));
                self.affected.push(id.clone());
                if let Some(f) = fixed {
                    self.fixes.push((id, f.clone(), p.name.clone()));
                    if !seen_fixed.contains(&f) {
                        seen_fixed.push(f);
                    }
                }
            }
        }
        let has_ranges = !versions.is_empty();
        for f in seen_fixed {
            let id = self.id();
            let mut product = json!({ "name": format!("{} {f}", p.name), "product_id": id });
            if let Some(purl) = purl(&p.ecosystem, &p.name, &f) {
                put(
                    &mut product,
                    "product_identification_helper",
                    json!({ "purl": purl }),
                );
            }
            versions.push(json!({ "category": "product_version", "name": f, "product": product }));
            self.fixed.push(id);
        }
        if !has_ranges {
            for v in &p.versions {
                let id = self.id();
                let mut product = json!({ "name": format!("{} {v}", p.name), "product_id": id });
                if let Some(purl) = purl(&p.ecosystem, &p.name, v) {
                    put(
                        &mut product,
                        "product_identification_helper",
                        json!({ "purl": purl }),
                    );
                }
                versions
                    .push(json!({ "category": "product_version", "name": v, "product": product }));
                self.affected.push(id);
            }
        }
        if versions.is_empty() {
            return;
        }
        let branch = json!({ "category": "product_name", "name": p.name, "branches": versions });
        let family = p.ecosystem.osv_name().to_owned();
        match self.family.iter_mut().find(|(f, _)| *f == family) {
            Some((_, list)) => list.push(branch),
            None => self.family.push((family, vec![branch])),
        }
    }
}

/// The TLP v1 label CSAF 2.0 can carry for `t`: the same sharing or
/// narrower, never wider.
pub fn tlp_v1(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "WHITE",
        Tlp::Green => "GREEN",
        Tlp::Amber => "AMBER",
        Tlp::AmberStrict | Tlp::Red => "RED",
    }
}

/// The document's distribution section for `t`.
fn distribution(t: Tlp) -> Value {
    let mut d = json!({ "tlp": { "label": tlp_v1(t), "url": "https://www.first.org/tlp/" } });
    if t == Tlp::AmberStrict {
        put(
            &mut d,
            "text",
            json!(
                "The case is TLP:AMBER+STRICT: share within the recipient's own organisation only. \
                 CSAF 2.0 has no AMBER+STRICT, so the label is RED, the nearest that is at least as strict."
            ),
        );
    }
    d
}

/// The CSAF 2.0 security advisory of a document. It needs an id, a
/// modified time and at least one affected product.
pub fn to_csaf(a: &Advisory, ctx: &Context) -> Result<Value, FormatError> {
    let id =
        a.id.as_deref()
            .ok_or_else(|| FormatError::NotReady("the advisory has no id".into()))?;
    let modified = a
        .modified
        .clone()
        .ok_or_else(|| FormatError::NotReady("the advisory has no modified time".into()))?;
    let initial = a.published.clone().unwrap_or_else(|| modified.clone());
    let mut products = Products {
        next: 0,
        family: Vec::new(),
        affected: Vec::new(),
        fixed: Vec::new(),
        fixes: Vec::new(),
    };
    for p in &a.affected {
        products.add(p);
    }
    if products.affected.is_empty() {
        return Err(FormatError::NotReady(format!(
            "{id}: a CSAF advisory needs at least one affected package version or range"
        )));
    }
    let title = if a.summary.trim().is_empty() {
        format!("Security advisory {id}")
    } else {
        a.summary.clone()
    };
    let refs: Vec<Value> = a
        .references
        .iter()
        .map(|r| json!({ "category": "external", "summary": r.kind, "url": r.url }))
        .collect();
    let mut doc_refs = refs.clone();
    if doc_refs.is_empty() {
        doc_refs
            .push(json!({ "category": "external", "summary": "Publisher", "url": ctx.namespace }));
    }
    let revisions: Vec<Value> = if ctx.revisions.is_empty() {
        vec![json!({ "number": "1", "date": initial, "summary": "Initial version." })]
    } else {
        ctx.revisions
            .iter()
            .map(|(n, date, summary)| json!({ "number": n.to_string(), "date": date, "summary": summary }))
            .collect()
    };
    let version = ctx
        .revisions
        .last()
        .map_or_else(|| "1".to_owned(), |(n, _, _)| n.to_string());
    let mut aliases: Vec<String> = a.all_aliases();
    aliases.retain(|x| x != id);
    let mut tracking = json!({
        "id": id,
        "status": "final",
        "version": version,
        "initial_release_date": initial,
        "current_release_date": modified,
        "revision_history": revisions,
        "generator": { "engine": { "name": "embargo", "version": env!("CARGO_PKG_VERSION") } },
    });
    if !aliases.is_empty() {
        put(&mut tracking, "aliases", json!(aliases));
    }
    let mut notes = vec![json!({ "category": "summary", "title": "Summary", "text": title })];
    if let Some(up) = a.upgrade.as_deref().filter(|u| !u.trim().is_empty()) {
        notes.push(json!({ "category": "general", "title": "Upgrade", "text": up }));
    }
    let details = if a.details.trim().is_empty() {
        title.clone()
    } else {
        a.details.clone()
    };
    let mut vnotes =
        vec![json!({ "category": "description", "title": "Details", "text": details })];
    if let Some(impact) = a.impact.as_deref().filter(|u| !u.trim().is_empty()) {
        vnotes.push(json!({ "category": "details", "title": "Impact", "text": impact }));
    }
    if !a.cwes.is_empty() {
        let list: Vec<String> = a.cwes.iter().map(ToString::to_string).collect();
        vnotes.push(json!({ "category": "other", "title": "Weaknesses", "text": list.join(", ") }));
    }
    let mut vuln = json!({
        "title": title,
        "notes": vnotes,
        "product_status": { "known_affected": products.affected },
    });
    if let Some(cve) = &a.cve {
        put(&mut vuln, "cve", json!(cve.as_str()));
    }
    let ids: Vec<Value> = std::iter::once(id.to_owned())
        .chain(a.all_aliases())
        .filter(|x| !x.starts_with("CVE-"))
        .map(|x| {
            let system = x.split('-').next().unwrap_or("OSV").to_owned();
            json!({ "system_name": system, "text": x })
        })
        .collect();
    if !ids.is_empty() {
        put(&mut vuln, "ids", json!(ids));
    }
    if !products.fixed.is_empty()
        && let Some(ps) = vuln.get_mut("product_status")
    {
        put(ps, "fixed", json!(products.fixed));
    }
    let scores: Vec<Value> = a
        .cvss
        .iter()
        .filter(|c| c.version() != CvssVersion::V40)
        .map(|c| {
            let version = if c.version() == CvssVersion::V30 {
                "3.0"
            } else {
                "3.1"
            };
            json!({
                "cvss_v3": {
                    "version": version,
                    "vectorString": c.vector(),
                    "baseScore": c.score(),
                    "baseSeverity": c.severity().name().to_ascii_uppercase(),
                },
                "products": products.affected,
            })
        })
        .collect();
    if !scores.is_empty() {
        put(&mut vuln, "scores", json!(scores));
    }
    let mut remediations: Vec<Value> = products
        .fixes
        .iter()
        .map(|(pid, fixed, name)| {
            let mut details = format!("Upgrade {name} to {fixed} or later.");
            if let Some(up) = a.upgrade.as_deref().filter(|u| !u.trim().is_empty()) {
                details.push_str(&format!("\n\n{up}"));
            }
            json!({ "category": "vendor_fix", "details": details, "product_ids": [pid] })
        })
        .collect();
    if let Some(m) = a.mitigation.as_deref().filter(|m| !m.trim().is_empty()) {
        remediations.push(json!({
            "category": "workaround", "details": m, "product_ids": products.affected,
        }));
    }
    if !remediations.is_empty() {
        put(&mut vuln, "remediations", json!(remediations));
    }
    if !refs.is_empty() {
        put(&mut vuln, "references", json!(refs));
    }
    if !a.credits.is_empty() {
        let acks: Vec<Value> = a
            .credits
            .iter()
            .map(|c| {
                let mut ack = json!({ "names": [c.name] });
                if let Some(k) = &c.kind {
                    put(
                        &mut ack,
                        "summary",
                        json!(k.to_ascii_lowercase().replace('_', " ")),
                    );
                }
                if let Some(url) = c.contact.iter().find(|u| u.starts_with("http")) {
                    put(&mut ack, "urls", json!([url]));
                }
                ack
            })
            .collect();
        put(&mut vuln, "acknowledgments", json!(acks));
    }
    let branches: Vec<Value> = products
        .family
        .into_iter()
        .map(|(name, list)| json!({ "category": "product_family", "name": name, "branches": list }))
        .collect();
    Ok(json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "lang": "en",
            "title": title,
            "publisher": {
                "category": "vendor",
                "name": ctx.publisher,
                "namespace": ctx.namespace,
            },
            "distribution": distribution(ctx.tlp),
            "notes": notes,
            "references": doc_refs,
            "tracking": tracking,
        },
        "product_tree": { "branches": branches },
        "vulnerabilities": [vuln],
    }))
}
