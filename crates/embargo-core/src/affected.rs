//! Affected packages and their version ranges, in the shape OSV uses.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::InvalidValue;

/// A package ecosystem, named as OSV names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Ecosystem {
    /// Python packages (PEP 440 versions).
    PyPI,
    /// Rust crates (semver).
    CratesIo,
    /// npm packages (semver).
    Npm,
    /// A git repository; versions are commits or tags.
    Git,
    /// Another OSV ecosystem, kept by name.
    Other(String),
}

impl Ecosystem {
    /// The OSV name (`PyPI`, `crates.io`, `npm`, `GIT`).
    pub fn osv_name(&self) -> &str {
        match self {
            Ecosystem::PyPI => "PyPI",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::Git => "GIT",
            Ecosystem::Other(name) => name,
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

impl TryFrom<String> for Ecosystem {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        Ok(match value.to_ascii_lowercase().as_str() {
            "pypi" => Ecosystem::PyPI,
            "crates.io" | "cargo" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "git" => Ecosystem::Git,
            "" => return Err(InvalidValue("an ecosystem must be named".into())),
            _ => Ecosystem::Other(value),
        })
    }
}

impl From<Ecosystem> for String {
    fn from(value: Ecosystem) -> String {
        value.osv_name().to_owned()
    }
}

/// One affected interval: from `introduced` (inclusive) up to `fixed`
/// (exclusive) when a fix exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRange {
    /// First affected version; `0` means every version before `fixed`.
    pub introduced: String,
    /// First version with the fix, when one exists.
    pub fixed: Option<String>,
}

/// A package the vulnerability affects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// Where the package lives.
    pub ecosystem: Ecosystem,
    /// The package name in that ecosystem.
    pub name: String,
    /// Affected intervals, one per release series.
    pub ranges: Vec<VersionRange>,
}

fn check_version(what: &str, v: &str) -> Result<(), InvalidValue> {
    if v.is_empty() || v.len() > 100 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidValue(format!(
            "{what} version `{v}` must be 1 to 100 characters without spaces"
        )));
    }
    Ok(())
}

impl AffectedPackage {
    /// Parses the compact form `ecosystem:name:introduced..fixed[,introduced..fixed]`,
    /// e.g. `PyPI:numpy:0..1.26.4` or `crates.io:foo:1.0.0..1.0.3,2.0.0..` (no fix yet).
    pub fn parse(spec: &str) -> Result<Self, InvalidValue> {
        let bad = || {
            InvalidValue(format!(
                "`{spec}` is not an affected package (expected ECOSYSTEM:NAME:INTRODUCED..FIXED, e.g. PyPI:numpy:0..1.26.4)"
            ))
        };
        let mut parts = spec.splitn(3, ':');
        let (Some(eco), Some(name), Some(ranges)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let ecosystem = Ecosystem::try_from(eco.to_owned())?;
        if name.is_empty() || name.len() > 214 || name.chars().any(char::is_whitespace) {
            return Err(InvalidValue(format!(
                "package name `{name}` must be 1 to 214 characters without spaces"
            )));
        }
        let mut out = Vec::new();
        for range in ranges.split(',') {
            let (introduced, fixed) = range.split_once("..").ok_or_else(bad)?;
            check_version("introduced", introduced)?;
            let fixed = if fixed.is_empty() {
                None
            } else {
                check_version("fixed", fixed)?;
                Some(fixed.to_owned())
            };
            out.push(VersionRange {
                introduced: introduced.to_owned(),
                fixed,
            });
        }
        Ok(Self {
            ecosystem,
            name: name.to_owned(),
            ranges: out,
        })
    }
}

impl fmt::Display for AffectedPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.ecosystem, self.name)?;
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}..{}", r.introduced, r.fixed.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_form_round_trips() {
        for spec in ["PyPI:numpy:0..1.26.4", "crates.io:foo:1.0.0..1.0.3,2.0.0.."] {
            assert_eq!(AffectedPackage::parse(spec).unwrap().to_string(), spec);
        }
        assert!(
            AffectedPackage::parse("PyPI:numpy")
                .unwrap_err()
                .to_string()
                .contains("ECOSYSTEM:NAME")
        );
        assert!(AffectedPackage::parse("PyPI:numpy:1.0").is_err());
        assert!(AffectedPackage::parse("PyPI:num py:0..1").is_err());
    }
}
