//! People on a case and the role each plays there.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{InvalidValue, PersonId};

/// A person's role on one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the case for the SRT; speaks to the reporter.
    Coordinator,
    /// A member of the security response team.
    Srt,
    /// A maintainer on the fixing team.
    Fixer,
    /// The person who reported the vulnerability.
    Reporter,
    /// Follows the case without acting on it.
    Observer,
}

impl Role {
    /// The role's name as written in commands and views.
    pub fn name(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Srt => "srt",
            Role::Fixer => "fixer",
            Role::Reporter => "reporter",
            Role::Observer => "observer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Ok(match s {
            "coordinator" => Role::Coordinator,
            "srt" => Role::Srt,
            "fixer" => Role::Fixer,
            "reporter" => Role::Reporter,
            "observer" => Role::Observer,
            _ => {
                return Err(InvalidValue(format!(
                    "`{s}` is not a role (coordinator, srt, fixer, reporter, observer)"
                )));
            }
        })
    }
}

/// A person on a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Who.
    pub person: PersonId,
    /// As what.
    pub role: Role,
}
