//! Duplicate hints: a new report that closely matches an open case's title
//! or names the same affected package is probably the same vulnerability.
//! A hint for the SRT, never a decision.

use std::collections::BTreeSet;

use crate::{Case, CaseId, Handling};

/// Why a case may be a duplicate of another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Likeness {
    /// The titles share most of their words (the share, in percent).
    Title(u8),
    /// Both name this affected package (`PyPI:numpy`).
    Package(String),
}

fn words(title: &str) -> BTreeSet<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect()
}

impl Likeness {
    /// Where a hint of this likeness is shown: lower first (the closer
    /// titles, then a common package).
    pub fn rank(&self) -> i64 {
        match self {
            Likeness::Title(s) => 100 - i64::from(*s),
            Likeness::Package(_) => 100,
        }
    }
}

/// The share of words two titles have in common (Jaccard), in percent.
pub fn title_likeness(a: &str, b: &str) -> u8 {
    let (a, b) = (words(a), words(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0;
    }
    let common = a.intersection(&b).count();
    u8::try_from(common * 100 / union).unwrap_or(100)
}

fn packages(case: &Case) -> BTreeSet<String> {
    case.assessment
        .iter()
        .flat_map(|a| &a.affected)
        .map(|p| format!("{}:{}", p.ecosystem, p.name).to_lowercase())
        .collect()
}

/// What the duplicate index keeps of a case that others may duplicate: the
/// words of its title (`w:` + word) and its affected packages (`p:` +
/// `ecosystem:name`). A closed or rejected case keeps none, as
/// [`candidates`] never names one.
pub fn terms(case: &Case) -> Vec<String> {
    if matches!(case.handling, Handling::Closed | Handling::Invalid) {
        return Vec::new();
    }
    lookup_terms(case)
}

/// The terms to look up a case's possible duplicates by: the same terms as
/// [`terms`], whatever the case's state. Cases sharing none of them cannot
/// be [`candidates`]: a title likeness of one half needs a common word,
/// and a package match a common package.
pub fn lookup_terms(case: &Case) -> Vec<String> {
    words(&case.report.title)
        .into_iter()
        .map(|w| format!("w:{w}"))
        .chain(packages(case).into_iter().map(|p| format!("p:{p}")))
        .collect()
}

/// What the search index keeps of every case, open or closed: the words
/// of its title (`w:`), its affected packages (`p:ecosystem:name`) and
/// their names (`n:name`).
pub fn search_terms(case: &Case) -> Vec<String> {
    let packages = packages(case);
    words(&case.report.title)
        .into_iter()
        .map(|w| format!("w:{w}"))
        .chain(packages.iter().map(|p| format!("p:{p}")))
        .chain(
            packages
                .iter()
                .filter_map(|p| p.split_once(':').map(|(_, n)| format!("n:{n}"))),
        )
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A search, word by word: each word with the terms that match it. A case
/// matches when it has a matching term for every word. `Ecosystem:name`
/// is a package; another word matches a title word or a package's name.
/// Words of fewer than three characters are not indexed, so not asked for.
pub fn query_terms(query: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for word in query.split_whitespace() {
        let word = word.to_lowercase();
        let alternatives = if word.contains(':') {
            vec![format!("p:{word}")]
        } else {
            words(&word)
                .into_iter()
                .flat_map(|w| [format!("w:{w}"), format!("n:{w}")])
                .collect()
        };
        if !alternatives.is_empty() && !out.contains(&alternatives) {
            out.push(alternatives);
        }
    }
    out
}

/// Open cases among `others` that `case` may duplicate, most likely first.
/// Titles sharing at least half their words, or a common affected package,
/// count; closed and rejected cases do not.
pub fn candidates<'a>(
    case: &Case,
    others: impl IntoIterator<Item = &'a Case>,
) -> Vec<(CaseId, Likeness)> {
    let mine = packages(case);
    let mut out: Vec<(CaseId, Likeness)> = Vec::new();
    for other in others {
        if other.id == case.id || matches!(other.handling, Handling::Closed | Handling::Invalid) {
            continue;
        }
        let score = title_likeness(&case.report.title, &other.report.title);
        if score >= 50 {
            out.push((other.id.clone(), Likeness::Title(score)));
        } else if let Some(p) = packages(other).intersection(&mine).next() {
            out.push((other.id.clone(), Likeness::Package(p.clone())));
        }
    }
    out.sort_by_key(|(_, l)| l.rank());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn titles_are_compared_by_their_words() {
        assert_eq!(
            title_likeness("Heap overflow in loadtxt", "heap OVERFLOW in loadtxt()"),
            100
        );
        assert_eq!(
            title_likeness("Heap overflow in loadtxt", "Overflow in loadtxt parser"),
            50
        );
        assert_eq!(
            title_likeness("Heap overflow in loadtxt", "XSS in the docs search"),
            0
        );
        assert_eq!(title_likeness("", "a b"), 0);
    }
}
