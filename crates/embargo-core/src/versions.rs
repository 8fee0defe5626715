//! "Am I vulnerable?": whether a version falls in an advisory's affected
//! ranges, and which fixed version to upgrade to. OSV's model: each range
//! is a list of events (`introduced`, `fixed`, `last_affected`, `limit`)
//! ordered by version; a version is affected between an `introduced` and
//! the next `fixed` (exclusive) or `last_affected` (inclusive). Versions
//! compare by the ecosystem's rules: PEP 440 for PyPI (epochs, pre, post,
//! dev and local versions), semver for crates.io and npm (pre-releases
//! below their release). A version the rules cannot read is an error, not
//! a silent "not affected".

use std::cmp::Ordering;

use crate::ids::InvalidValue;

/// A version in one ecosystem's ordering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// PEP 440.
    Pep440(pep440_rs::Version),
    /// Semantic versioning.
    Semver(semver::Version),
}

/// The ordering an ecosystem uses, by OSV's ecosystem name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// PyPI.
    Pep440,
    /// crates.io, npm, and OSV `SEMVER` ranges.
    Semver,
}

impl Scheme {
    /// The scheme of an OSV ecosystem, if embargo knows it.
    pub fn of_ecosystem(ecosystem: &str) -> Option<Scheme> {
        match ecosystem.to_ascii_lowercase().as_str() {
            "pypi" => Some(Scheme::Pep440),
            "crates.io" | "npm" => Some(Scheme::Semver),
            _ => None,
        }
    }

    /// Reads a version.
    pub fn parse(self, text: &str) -> Result<Version, InvalidValue> {
        let bad =
            |e: &dyn std::fmt::Display| InvalidValue(format!("`{text}` is not a version: {e}"));
        match self {
            Scheme::Pep440 => text
                .trim()
                .parse()
                .map(Version::Pep440)
                .map_err(|e| bad(&e)),
            Scheme::Semver => {
                let t = text.trim().trim_start_matches('v');
                semver::Version::parse(t)
                    .map(Version::Semver)
                    .map_err(|e| bad(&e))
            }
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Version::Pep440(a), Version::Pep440(b)) => Some(a.cmp(b)),
            (Version::Semver(a), Version::Semver(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// One OSV range event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Affected from here (`"0"` means from the beginning).
    Introduced(String),
    /// Not affected from here.
    Fixed(String),
    /// Affected up to and including here.
    LastAffected(String),
    /// No statement beyond here.
    Limit(String),
}

/// What a range says of one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not in the range.
    NotAffected,
    /// Affected; the first fixed version above it, if the range names one.
    Affected {
        /// Upgrade to this.
        fixed: Option<String>,
    },
}

fn is_zero(s: &str) -> bool {
    s == "0" || s == "0.0.0-0"
}

/// Whether `version` is in the range given by `events`, read with `scheme`.
pub fn check(scheme: Scheme, events: &[Event], version: &str) -> Result<Verdict, InvalidValue> {
    let v = scheme.parse(version)?;
    // Sort events by version, as OSV asks readers to ("0" first).
    let mut parsed: Vec<(Option<Version>, &Event)> = Vec::with_capacity(events.len());
    for e in events {
        let text = match e {
            Event::Introduced(t) | Event::Fixed(t) | Event::LastAffected(t) | Event::Limit(t) => t,
        };
        let at = if matches!(e, Event::Introduced(_)) && is_zero(text) {
            None
        } else {
            Some(scheme.parse(text)?)
        };
        parsed.push((at, e));
    }
    parsed.sort_by(|(a, _), (b, _)| match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(x), Some(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
    });
    let mut affected = false;
    for (i, (at, e)) in parsed.iter().enumerate() {
        let at_or_below = at.as_ref().is_none_or(|a| a <= &v);
        match e {
            Event::Introduced(_) if at_or_below => affected = true,
            Event::Fixed(_) if at_or_below => affected = false,
            Event::LastAffected(_) if at.as_ref().is_some_and(|a| a < &v) => affected = false,
            Event::Limit(_) if at_or_below => affected = false,
            _ => {}
        }
        // The first event above the version decides nothing more, except
        // to name the fix when it is one.
        if at.as_ref().is_some_and(|a| a > &v) && !matches!(e, Event::LastAffected(_)) {
            if affected {
                let fixed = parsed.iter().skip(i).find_map(|(_, e)| match e {
                    Event::Fixed(t) => Some(t.clone()),
                    _ => None,
                });
                return Ok(Verdict::Affected { fixed });
            }
            return Ok(Verdict::NotAffected);
        }
    }
    Ok(if affected {
        Verdict::Affected { fixed: None }
    } else {
        Verdict::NotAffected
    })
}

/// PEP 503 normalisation of a PyPI project name.
pub fn normalise_pypi(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn below(scheme: Scheme, a: &str, b: &str) -> bool {
        scheme.parse(a).unwrap() < scheme.parse(b).unwrap()
    }

    #[test]
    fn pep440_orders_pre_post_dev_epochs_and_local_versions() {
        let chain = [
            "1.0.dev1",
            "1.0a1",
            "1.0a2.dev1",
            "1.0a2",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+local.7",
            "1.0.post1.dev3",
            "1.0.post1",
            "1.1",
        ];
        for pair in chain.windows(2) {
            assert!(
                below(Scheme::Pep440, pair[0], pair[1]),
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
        assert!(
            below(Scheme::Pep440, "2.0", "1!0.5"),
            "an epoch outranks everything"
        );
        assert_eq!(
            Scheme::Pep440.parse("1.0.0").unwrap(),
            Scheme::Pep440.parse("1.0").unwrap()
        );
        assert!(Scheme::Pep440.parse("not a version").is_err());
    }

    #[test]
    fn pep440_ranges_with_pre_releases_and_local_versions() {
        let range = [Event::Introduced("0".into()), Event::Fixed("1.26.4".into())];
        let affected = |v| check(Scheme::Pep440, &range, v).unwrap();
        assert_eq!(
            affected("1.26.3"),
            Verdict::Affected {
                fixed: Some("1.26.4".into())
            }
        );
        assert_eq!(
            affected("1.26.4rc1"),
            Verdict::Affected {
                fixed: Some("1.26.4".into())
            },
            "a pre-release of the fix is before it"
        );
        assert_eq!(affected("1.26.4"), Verdict::NotAffected);
        assert_eq!(
            affected("1.26.4+ubuntu1"),
            Verdict::NotAffected,
            "a local build of the fix is the fix"
        );
        assert_eq!(affected("1.26.4.post1"), Verdict::NotAffected);
        assert_eq!(
            affected("1!0.1"),
            Verdict::NotAffected,
            "a later epoch is past every fix"
        );
        let window = [
            Event::Introduced("1.9.0".into()),
            Event::Fixed("1.10.0".into()),
        ];
        assert_eq!(
            check(Scheme::Pep440, &window, "1.8.2").unwrap(),
            Verdict::NotAffected
        );
        assert_eq!(
            check(Scheme::Pep440, &window, "1.10.0.dev0").unwrap(),
            Verdict::Affected {
                fixed: Some("1.10.0".into())
            }
        );
        let last = [
            Event::Introduced("2.0".into()),
            Event::LastAffected("2.3".into()),
        ];
        assert_eq!(
            check(Scheme::Pep440, &last, "2.3").unwrap(),
            Verdict::Affected { fixed: None }
        );
        assert_eq!(
            check(Scheme::Pep440, &last, "2.3.post1").unwrap(),
            Verdict::NotAffected
        );
    }

    #[test]
    fn semver_pre_releases_and_split_ranges() {
        assert!(below(Scheme::Semver, "1.0.0-alpha", "1.0.0-alpha.1"));
        assert!(below(Scheme::Semver, "1.0.0-rc.1", "1.0.0"));
        // RUSTSEC-2021-0124 (tokio): two windows.
        let tokio = [
            Event::Introduced("0.1.14".into()),
            Event::Fixed("1.8.4".into()),
            Event::Introduced("1.9.0".into()),
            Event::Fixed("1.13.1".into()),
        ];
        let v = |s| check(Scheme::Semver, &tokio, s).unwrap();
        assert_eq!(
            v("1.8.3"),
            Verdict::Affected {
                fixed: Some("1.8.4".into())
            }
        );
        assert_eq!(v("1.8.4"), Verdict::NotAffected);
        assert_eq!(
            v("1.9.0-rc.1"),
            Verdict::NotAffected,
            "a pre-release sorts before the window"
        );
        assert_eq!(
            v("1.12.0"),
            Verdict::Affected {
                fixed: Some("1.13.1".into())
            }
        );
        assert_eq!(v("0.1.13"), Verdict::NotAffected);
        let from_zero = [
            Event::Introduced("0.0.0-0".into()),
            Event::Fixed("0.9.4".into()),
        ];
        assert_eq!(
            check(Scheme::Semver, &from_zero, "0.9.4-beta").unwrap(),
            Verdict::Affected {
                fixed: Some("0.9.4".into())
            }
        );
    }

    #[test]
    fn pypi_names_normalise() {
        assert_eq!(normalise_pypi("Jupyter_Server"), "jupyter-server");
        assert_eq!(normalise_pypi("zope.interface"), "zope-interface");
        assert_eq!(normalise_pypi("IPython"), "ipython");
    }
}
