//! Identifiers with validating constructors: case ids, people, CVE and CWE ids.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A validation failure for an identifier or a value, with a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidValue> {
                let value: String = value.into();
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map_err(InvalidValue)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, InvalidValue> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                Self::new(s)
            }
        }
    };
}

string_newtype!(
    /// A case id such as `EMB-2026-7KQ3MZ`: `EMB-`, a year, `-`, 6 characters of
    /// Crockford base32. The server draws the random part.
    CaseId,
    |s| {
        let bad = || format!("`{s}` is not a case id (expected EMB-YYYY-XXXXXX)");
        let rest = s.strip_prefix("EMB-").ok_or_else(bad)?;
        let (year, tail) = rest.split_once('-').ok_or_else(bad)?;
        let ok = year.len() == 4
            && year.bytes().all(|b| b.is_ascii_digit())
            && tail.len() == 6
            && tail.bytes().all(|b| CROCKFORD.contains(&b));
        if ok { Ok(()) } else { Err(bad()) }
    }
);

/// The Crockford base32 alphabet used in case ids (no I, L, O, U).
pub const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl CaseId {
    /// Builds a case id from a year and 30 random bits (the caller draws them).
    pub fn from_parts(year: i16, random: u32) -> Self {
        let mut tail = String::with_capacity(6);
        for i in (0..6).rev() {
            let idx = ((random >> (i * 5)) & 31) as usize;
            tail.push(char::from(*CROCKFORD.get(idx).unwrap_or(&b'0')));
        }
        Self(format!("EMB-{year:04}-{tail}"))
    }
}

string_newtype!(
    /// A person's handle: an email address or a short login name.
    PersonId,
    |s| {
        if s.is_empty() || s.len() > 254 {
            return Err("a person id must be 1 to 254 characters".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("person id `{s}` must not contain spaces"));
        }
        Ok(())
    }
);

string_newtype!(
    /// A CVE identifier, `CVE-YYYY-NNNN…` (four or more digits).
    CveId,
    |s| {
        let bad = || format!("`{s}` is not a CVE id (expected CVE-YYYY-NNNN)");
        let rest = s.strip_prefix("CVE-").ok_or_else(bad)?;
        let (year, num) = rest.split_once('-').ok_or_else(bad)?;
        let ok = year.len() == 4
            && year.bytes().all(|b| b.is_ascii_digit())
            && num.len() >= 4
            && num.len() <= 19
            && num.bytes().all(|b| b.is_ascii_digit());
        if ok { Ok(()) } else { Err(bad()) }
    }
);

string_newtype!(
    /// A CWE identifier, `CWE-N`.
    Cwe,
    |s| {
        let ok = s
            .strip_prefix("CWE-")
            .is_some_and(|n| !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit()));
        if ok { Ok(()) } else { Err(format!("`{s}` is not a CWE id (expected CWE-N)")) }
    }
);

/// Checks that a free-text field is present and within `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<(), InvalidValue> {
    if value.trim().is_empty() {
        return Err(InvalidValue(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(InvalidValue(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids() {
        let id = CaseId::from_parts(2026, 0x3FFF_FFFF);
        assert_eq!(id.as_str(), "EMB-2026-ZZZZZZ");
        assert!(CaseId::new(id.as_str()).is_ok());
        assert_eq!(CaseId::from_parts(2026, 0).as_str(), "EMB-2026-000000");
        for bad in [
            "",
            "EMB-26-ABCDEF",
            "EMB-2026-ABCDE",
            "EMB-2026-ABCDEI",
            "emb-2026-ABCDEF",
        ] {
            assert!(CaseId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cve_and_cwe() {
        assert!(CveId::new("CVE-2024-28219").is_ok());
        assert!(CveId::new("CVE-2024-123456").is_ok());
        assert_eq!(
            CveId::new("CVE-24-1").unwrap_err().to_string(),
            "`CVE-24-1` is not a CVE id (expected CVE-YYYY-NNNN)"
        );
        assert!(Cwe::new("CWE-79").is_ok());
        assert!(Cwe::new("CWE-").is_err());
    }
}
