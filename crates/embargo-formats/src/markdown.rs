//! The advisory as Markdown: the body of a GitHub security advisory or a
//! mailing-list post. Confidential notes are never written.

use std::fmt::Write;

use embargo_core::advisory::Advisory;

/// A compact range (`a..b`, `a..`, `a..=b`) as people read it.
fn human(range: &str) -> String {
    let Some((from, to)) = range.split_once("..") else {
        return range.to_owned();
    };
    let mut parts = Vec::new();
    if from != "0" {
        parts.push(format!(">= {from}"));
    }
    match to.strip_prefix('=') {
        Some(last) => parts.push(format!("<= {last}")),
        None if !to.is_empty() => parts.push(format!("< {to}")),
        None => {}
    }
    if parts.is_empty() {
        "every version".into()
    } else {
        parts.join(", ")
    }
}

/// The Markdown text of an advisory.
pub fn to_markdown(a: &Advisory) -> String {
    let mut out = String::new();
    let title = if a.summary.trim().is_empty() {
        a.id.clone().unwrap_or_else(|| "Security advisory".into())
    } else {
        a.summary.clone()
    };
    let _ = writeln!(out, "# {title}\n");
    let ids = a.identifiers();
    if !ids.is_empty() {
        let _ = writeln!(out, "**Identifiers:** {}\n", ids.join(", "));
    }
    if let Some(c) = a.headline_cvss() {
        let _ = writeln!(
            out,
            "**Severity:** {} {} (`{}`)\n",
            c.severity().name(),
            c.score_text(),
            c.vector()
        );
    }
    if !a.cwes.is_empty() {
        let list: Vec<String> = a.cwes.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "**Weaknesses:** {}\n", list.join(", "));
    }
    if !a.affected.is_empty() {
        let _ = writeln!(out, "## Affected packages\n");
        let _ = writeln!(out, "| Ecosystem | Package | Affected | Patched |");
        let _ = writeln!(out, "|---|---|---|---|");
        for p in &a.affected {
            let mut affected: Vec<String> = p.compact_ranges().iter().map(|r| human(r)).collect();
            if affected.is_empty() && !p.versions.is_empty() {
                affected.push(p.versions.join(", "));
            }
            let patched = p.patched();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                p.ecosystem,
                p.name.replace('|', "\\|"),
                affected.join("; ").replace('|', "\\|"),
                if patched.is_empty() {
                    "none yet".to_owned()
                } else {
                    patched.join(", ")
                }
            );
        }
        out.push('\n');
    }
    for (heading, body) in [
        ("Details", Some(&a.details)),
        ("Impact", a.impact.as_ref()),
        ("Patches", a.upgrade.as_ref()),
        ("Workarounds", a.mitigation.as_ref()),
    ] {
        if let Some(b) = body.filter(|b| !b.trim().is_empty()) {
            let _ = writeln!(out, "## {heading}\n\n{}\n", b.trim_end());
        }
    }
    if !a.references.is_empty() {
        let _ = writeln!(out, "## References\n");
        for r in &a.references {
            let _ = writeln!(out, "- {} ({})", r.url, r.kind.to_ascii_lowercase());
        }
        out.push('\n');
    }
    if !a.credits.is_empty() {
        let _ = writeln!(out, "## Credits\n");
        for c in &a.credits {
            match &c.kind {
                Some(k) => {
                    let _ = writeln!(
                        out,
                        "- {} ({})",
                        c.name,
                        k.to_ascii_lowercase().replace('_', " ")
                    );
                }
                None => {
                    let _ = writeln!(out, "- {}", c.name);
                }
            }
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
