//! Traffic Light Protocol 2.0 labels (FIRST, <https://www.first.org/tlp/>).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::InvalidValue;

/// A TLP 2.0 label, ordered from most to least restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Tlp {
    /// Recipients only, no further disclosure.
    Red,
    /// Recipients' organisation only, need to know.
    AmberStrict,
    /// Recipients' organisation and its clients, need to know.
    Amber,
    /// Recipients' community, not public.
    Green,
    /// No limit on disclosure.
    Clear,
}

impl Tlp {
    /// Every label, most restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Red,
        Tlp::AmberStrict,
        Tlp::Amber,
        Tlp::Green,
        Tlp::Clear,
    ];

    /// The label as FIRST writes it, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Red => "TLP:RED",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Amber => "TLP:AMBER",
            Tlp::Green => "TLP:GREEN",
            Tlp::Clear => "TLP:CLEAR",
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl std::str::FromStr for Tlp {
    type Err = InvalidValue;

    /// Accepts `TLP:AMBER+STRICT`, `amber+strict`, `amber-strict` and the like.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let upper = s.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("TLP:").unwrap_or(&upper);
        Ok(match bare {
            "RED" => Tlp::Red,
            "AMBER+STRICT" | "AMBER-STRICT" | "AMBER_STRICT" => Tlp::AmberStrict,
            "AMBER" => Tlp::Amber,
            "GREEN" => Tlp::Green,
            "CLEAR" | "WHITE" => Tlp::Clear,
            _ => {
                return Err(InvalidValue(format!(
                    "`{s}` is not a TLP 2.0 label (use CLEAR, GREEN, AMBER, AMBER+STRICT or RED)"
                )));
            }
        })
    }
}

impl TryFrom<String> for Tlp {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        value.parse()
    }
}

impl From<Tlp> for String {
    fn from(value: Tlp) -> String {
        value.label().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for tlp in Tlp::ALL {
            assert_eq!(tlp.label().parse::<Tlp>().unwrap(), tlp);
        }
        assert_eq!("amber+strict".parse::<Tlp>().unwrap(), Tlp::AmberStrict);
        assert!(
            "TLP:BLUE"
                .parse::<Tlp>()
                .unwrap_err()
                .to_string()
                .contains("not a TLP 2.0 label")
        );
        assert!(Tlp::Red < Tlp::Clear);
    }
}
