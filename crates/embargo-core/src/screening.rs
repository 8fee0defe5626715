//! Screening: which new reports wait in a queue beside the inbox before
//! the team reads them as cases.
//!
//! A project publishes what a report must hold (reproduction material, an
//! affected version that exists, a named component) and what it does not
//! treat as a vulnerability. A report that lacks the first, matches the
//! second, or comes from a sender whose earlier reports were rejected, is
//! held with the reasons. Held reports still have their 24-hour clock: an
//! answer from screening (passed, acknowledged, rejected) is an
//! acknowledgement. Nothing here drops a report.

use serde::{Deserialize, Serialize};

use crate::event::Report;

/// What a project asks of a report, and what it does not treat as a
/// vulnerability. Published on the report form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Steps with code (a code block, a shell or Python session) or a
    /// proof-of-concept file.
    pub require_reproduction: bool,
    /// An affected version, one of `known_versions` when that list is given.
    pub require_version: bool,
    /// One of `components`, by name.
    pub require_component: bool,
    /// The project's components (modules, subpackages), by name.
    pub components: Vec<String>,
    /// Versions the project released; empty: any version-like text counts.
    pub known_versions: Vec<String>,
    /// What the project does not treat as a vulnerability.
    pub not_vulnerabilities: Vec<NotVulnerability>,
    /// Hold reports from a sender (address or key) with at least this many
    /// earlier reports rejected (spam, not a vulnerability, out of scope,
    /// not reproducible); 0: never.
    pub rejected_before: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            require_reproduction: false,
            require_version: false,
            require_component: false,
            components: Vec::new(),
            known_versions: Vec::new(),
            not_vulnerabilities: Vec::new(),
            rejected_before: 2,
        }
    }
}

/// An entry of the "not a vulnerability" list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotVulnerability {
    /// What it is, as the form shows it ("Loading untrusted pickles").
    pub title: String,
    /// Words that all appear in a report that matches (any case).
    #[serde(rename = "match")]
    pub terms: Vec<String>,
    /// Why the project does not treat it as a vulnerability.
    #[serde(default)]
    pub why: String,
}

/// Most entries, terms and names a policy may hold, and their length.
const MAX_ITEMS: usize = 200;
const MAX_TEXT: usize = 2_000;

impl Policy {
    /// Whether the policy asks anything of a report's content.
    pub fn asks_anything(&self) -> bool {
        self.require_reproduction
            || self.require_version
            || (self.require_component && !self.components.is_empty())
            || !self.not_vulnerabilities.is_empty()
    }

    /// Refuses a policy that could not be shown or applied: empty or
    /// overlong entries, too many of them.
    pub fn check(&self) -> Result<(), String> {
        let lists = [
            ("components", self.components.len()),
            ("known versions", self.known_versions.len()),
            (
                "not-a-vulnerability entries",
                self.not_vulnerabilities.len(),
            ),
        ];
        for (what, n) in lists {
            if n > MAX_ITEMS {
                return Err(format!("{n} {what}; at most {MAX_ITEMS}"));
            }
        }
        let names = self.components.iter().chain(&self.known_versions);
        for name in names {
            if name.trim().is_empty() || name.len() > 200 || name.contains(['\n', '\r']) {
                return Err(format!(
                    "`{}` is not a component or version name",
                    name.trim()
                ));
            }
        }
        for e in &self.not_vulnerabilities {
            if e.title.trim().is_empty() || e.title.len() > 300 || e.title.contains('\n') {
                return Err("each not-a-vulnerability entry has a one-line title".into());
            }
            if e.terms.is_empty() || e.terms.iter().any(|t| t.trim().is_empty()) {
                return Err(format!(
                    "entry `{}`: name the words a matching report holds",
                    e.title
                ));
            }
            if e.terms.len() > 20 || e.why.len() > MAX_TEXT {
                return Err(format!(
                    "entry `{}`: at most 20 words and {MAX_TEXT} bytes of explanation",
                    e.title
                ));
            }
        }
        if self.require_component && self.components.is_empty() {
            return Err("list the components a report must name".into());
        }
        Ok(())
    }
}

/// What the intake path knows of a report beyond its text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Files sent with it.
    pub attachments: usize,
    /// The sender's earlier reports (same address or key) that were rejected.
    pub earlier_rejections: u32,
}

/// Why `report` waits in screening under `policy`; empty: it goes to the
/// inbox.
pub fn reasons(report: &Report, cx: Context, policy: &Policy) -> Vec<String> {
    let text = format!("{}\n{}", report.title, report.body);
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    if policy.require_reproduction && cx.attachments == 0 && !has_reproduction(&report.body) {
        out.push(
            "no reproduction: no steps with code (a code block, a shell or Python session) and no proof-of-concept file"
                .to_owned(),
        );
    }
    if policy.require_version {
        let named = versions_named(&text);
        if named.is_empty() {
            out.push("names no affected version".to_owned());
        } else if !policy.known_versions.is_empty()
            && !named
                .iter()
                .any(|v| policy.known_versions.iter().any(|k| same_version(k, v)))
        {
            out.push(format!(
                "names version {}, which {} never released",
                named.join(", "),
                if report.project.is_empty() {
                    "the project"
                } else {
                    report.project.as_str()
                }
            ));
        }
    }
    if policy.require_component
        && !policy.components.is_empty()
        && !policy
            .components
            .iter()
            .any(|c| contains_word(&lower, &c.to_lowercase()))
    {
        out.push(format!(
            "names none of the project's components ({})",
            policy.components.join(", ")
        ));
    }
    for entry in &policy.not_vulnerabilities {
        if entry
            .terms
            .iter()
            .all(|t| lower.contains(&t.trim().to_lowercase()))
        {
            out.push(format!(
                "matches the published \u{201c}not a vulnerability\u{201d} entry: {}",
                entry.title
            ));
        }
    }
    if policy.rejected_before > 0 && cx.earlier_rejections >= policy.rejected_before {
        out.push(format!(
            "the sender's earlier reports were rejected ({} of them)",
            cx.earlier_rejections
        ));
    }
    out
}

/// Whether a body carries reproduction material: a fenced code block, an
/// indented block of two or more lines, or a shell or Python session.
pub fn has_reproduction(body: &str) -> bool {
    if body.contains("```") || body.contains("~~~") {
        return true;
    }
    let mut indented = 0;
    for line in body.lines() {
        let t = line.trim_start();
        if ["$ ", ">>> ", "PS> ", "In ["]
            .iter()
            .any(|p| t.starts_with(p) && t.len() > p.len() + 1)
        {
            return true;
        }
        if (line.starts_with("    ") || line.starts_with('\t')) && !t.is_empty() {
            indented += 1;
            if indented >= 2 {
                return true;
            }
        } else {
            indented = 0;
        }
    }
    false
}

/// Version-like words in `text` (`1.2`, `v2.0.1`, `1.26.0rc1`), without a
/// leading `v`, at most 10.
pub fn versions_named(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || ",;:()[]<>=!~'\"`".contains(c)) {
        let w = word.trim_end_matches(['.', '?']);
        let w = w.strip_prefix(['v', 'V']).unwrap_or(w);
        let mut parts = w.split('.');
        let first_ok = parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        let rest: Vec<&str> = parts.collect();
        let ok = first_ok
            && !rest.is_empty()
            && rest.len() <= 4
            && rest.iter().all(|p| {
                p.chars().next().is_some_and(|c| c.is_ascii_digit())
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+')
            });
        if ok && !out.iter().any(|v| v == w) {
            out.push(w.to_owned());
            if out.len() == 10 {
                break;
            }
        }
    }
    out
}

/// `1.2` and `1.2.0` name the same release; a leading `v` does not count.
fn same_version(known: &str, named: &str) -> bool {
    let norm = |v: &str| {
        let v = v.trim();
        let v = v.strip_prefix(['v', 'V']).unwrap_or(v).to_lowercase();
        let mut parts: Vec<String> = v.split('.').map(str::to_owned).collect();
        while parts.len() > 1 && parts.last().is_some_and(|p| p == "0") {
            parts.pop();
        }
        parts
    };
    norm(known) == norm(named)
}

/// `needle` in `haystack` (both lower case), not inside a longer word.
fn contains_word(haystack: &str, needle: &str) -> bool {
    let needle = needle.trim();
    if needle.is_empty() {
        return false;
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Channel, Intake};

    fn report(title: &str, body: &str) -> Report {
        Report {
            project: "numpy".into(),
            title: title.into(),
            body: body.into(),
            reporter_name: None,
            reporter_email: Some("a@example.org".into()),
            channel: Channel::Email,
            intake: Intake::default(),
        }
    }

    fn strict() -> Policy {
        Policy {
            require_reproduction: true,
            require_version: true,
            require_component: true,
            components: vec!["numpy.load".into(), "f2py".into()],
            known_versions: vec!["1.26.4".into(), "2.0".into(), "2.1.3".into()],
            not_vulnerabilities: vec![NotVulnerability {
                title: "Loading untrusted pickles".into(),
                terms: vec!["pickle".into(), "untrusted".into()],
                why: "allow_pickle=True runs code by design".into(),
            }],
            rejected_before: 2,
        }
    }

    #[test]
    fn a_complete_report_goes_to_the_inbox() {
        let r = report(
            "Heap overflow in numpy.load",
            "On numpy 2.1.3:\n\n```python\nimport numpy\nnumpy.load('x.npy')\n```\nIt crashes.",
        );
        assert_eq!(
            reasons(&r, Context::default(), &strict()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_missing_part_is_a_reason_of_its_own() {
        let r = report(
            "Your library is insecure",
            "I found a critical vulnerability.",
        );
        let got = reasons(&r, Context::default(), &strict());
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].starts_with("no reproduction"));
        assert_eq!(got[1], "names no affected version");
        assert!(got[2].contains("numpy.load, f2py"));
    }

    #[test]
    fn a_proof_of_concept_file_is_reproduction_material() {
        let r = report("f2py crash in 2.0", "See the attached file.");
        let cx = Context {
            attachments: 1,
            ..Context::default()
        };
        assert!(reasons(&r, cx, &strict()).is_empty());
        assert_eq!(reasons(&r, Context::default(), &strict()).len(), 1);
    }

    #[test]
    fn a_version_never_released_is_named() {
        let r = report(
            "f2py crash",
            "In version 9.9.9:\n    $ f2py -c x.f\n    boom\n",
        );
        let got = reasons(&r, Context::default(), &strict());
        assert_eq!(got, vec!["names version 9.9.9, which numpy never released"]);
        let r = report("f2py crash", "In v2.0.0:\n    $ f2py -c x.f\n    boom\n");
        assert!(reasons(&r, Context::default(), &strict()).is_empty());
    }

    #[test]
    fn the_not_a_vulnerability_list_matches_every_word_in_any_case() {
        let body = "numpy.load in 2.0 runs code from an UNTRUSTED Pickle:\n```\nnumpy.load(f, allow_pickle=True)\n```";
        let got = reasons(&report("RCE", body), Context::default(), &strict());
        assert_eq!(
            got,
            vec![
                "matches the published \u{201c}not a vulnerability\u{201d} entry: Loading untrusted pickles"
            ]
        );
        let body = "numpy.load in 2.0 reads a pickle:\n```\nx\n```";
        assert!(reasons(&report("RCE", body), Context::default(), &strict()).is_empty());
    }

    #[test]
    fn earlier_rejections_hold_the_sender_from_the_threshold_on() {
        let policy = Policy::default();
        let r = report("t", "b");
        let cx = |n| Context {
            attachments: 0,
            earlier_rejections: n,
        };
        assert!(reasons(&r, cx(1), &policy).is_empty());
        assert_eq!(
            reasons(&r, cx(2), &policy),
            vec!["the sender's earlier reports were rejected (2 of them)"]
        );
        let off = Policy {
            rejected_before: 0,
            ..Policy::default()
        };
        assert!(reasons(&r, cx(9), &off).is_empty());
    }

    #[test]
    fn the_default_policy_holds_nothing_by_its_content() {
        let r = report("x", "y");
        assert!(reasons(&r, Context::default(), &Policy::default()).is_empty());
        assert!(!Policy::default().asks_anything());
    }

    #[test]
    fn components_match_whole_words_only() {
        assert!(contains_word("bug in numpy.load here", "numpy.load"));
        assert!(!contains_word("bug in numpy.loader", "numpy.load"));
        assert!(!contains_word("af2py", "f2py"));
    }

    #[test]
    fn version_words_are_found_without_their_v() {
        assert_eq!(
            versions_named("numpy v2.0.1 and 1.26.0rc1, not 127 or a.b"),
            vec!["2.0.1", "1.26.0rc1"]
        );
        assert!(same_version("2.0", "2.0.0"));
        assert!(!same_version("2.0", "2.0.1"));
    }

    #[test]
    fn a_session_or_indented_block_is_reproduction() {
        assert!(has_reproduction("Run:\n$ python -c 'import x'\n"));
        assert!(has_reproduction(">>> import numpy\n"));
        assert!(has_reproduction("code:\n    a = 1\n    b = 2\n"));
        assert!(!has_reproduction("It is broken.\n    only one line\nend"));
        assert!(!has_reproduction("# Heading\nplain words"));
    }

    #[test]
    fn a_policy_that_cannot_be_applied_is_refused() {
        let mut p = strict();
        assert_eq!(p.check(), Ok(()));
        p.not_vulnerabilities[0].terms.clear();
        assert!(p.check().is_err());
        let p = Policy {
            require_component: true,
            ..Policy::default()
        };
        assert!(p.check().is_err());
    }
}
