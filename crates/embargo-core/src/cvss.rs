//! CVSS v3.x and v4.0 vectors, parsed and scored by the RustSec `cvss` crate.
//!
//! The crate scores exactly; this module adds what it leaves to callers: a v3
//! vector must carry every base metric (the crate would score a missing one as
//! zero), and a v3 vector's score is the most specific one its metrics allow
//! (environmental if any environmental metric is given, else temporal if any
//! temporal metric is given, else base), as FIRST's calculator shows it.

use std::fmt;

use cvss::v3::Metric as _;
use serde::{Deserialize, Serialize};

/// The FIRST qualitative severity scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 0.0
    None,
    /// 0.1–3.9
    Low,
    /// 4.0–6.9
    Medium,
    /// 7.0–8.9
    High,
    /// 9.0–10.0
    Critical,
}

impl Severity {
    /// The rating for a score in tenths (0..=100).
    pub fn from_tenths(tenths: u8) -> Self {
        match tenths {
            0 => Severity::None,
            1..=39 => Severity::Low,
            40..=69 => Severity::Medium,
            70..=89 => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// The name FIRST uses, capitalised (`High`).
    pub fn name(self) -> &'static str {
        match self {
            Severity::None => "None",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which CVSS version a vector is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvssVersion {
    /// CVSS v3.0
    V30,
    /// CVSS v3.1
    V31,
    /// CVSS v4.0
    V40,
}

/// A parsed, scored CVSS vector. Keeps the vector text as given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cvss {
    vector: String,
    version: CvssVersion,
    tenths: u8,
}

/// Why a vector was refused; the message names the offending metric.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS vector `{vector}`: {problem}")]
pub struct CvssError {
    /// The vector as given.
    pub vector: String,
    /// What is wrong with it.
    pub problem: String,
}

impl Cvss {
    /// Parses and scores a `CVSS:3.0/…`, `CVSS:3.1/…` or `CVSS:4.0/…` vector.
    pub fn parse(vector: &str) -> Result<Self, CvssError> {
        let vector = vector.trim();
        let err = |problem: String| CvssError {
            vector: vector.to_owned(),
            problem,
        };
        if vector.is_empty() {
            return Err(err("the vector is empty".into()));
        }
        check_syntax(vector).map_err(err)?;
        let (version, tenths) =
            if vector.starts_with("CVSS:3.0/") || vector.starts_with("CVSS:3.1/") {
                let v: cvss::v3::Vector = vector
                    .parse()
                    .map_err(|e: cvss::Error| err(e.to_string()))?;
                (
                    if v.minor_version == 0 {
                        CvssVersion::V30
                    } else {
                        CvssVersion::V31
                    },
                    score_v3(&v).map_err(err)?,
                )
            } else if vector.starts_with("CVSS:4.0/") {
                let v: cvss::v4::Vector = vector
                    .parse()
                    .map_err(|e: cvss::Error| err(e.to_string()))?;
                (CvssVersion::V40, to_tenths(v.score().value()))
            } else if let Some((prefix, _)) = vector.split_once('/') {
                return Err(err(format!(
                    "unsupported prefix `{prefix}` (expected CVSS:3.1/ or CVSS:4.0/)"
                )));
            } else {
                return Err(err(
                    "expected a prefix such as CVSS:3.1/ or CVSS:4.0/".into()
                ));
            };
        Ok(Self {
            vector: vector.to_owned(),
            version,
            tenths,
        })
    }

    /// The vector text.
    pub fn vector(&self) -> &str {
        &self.vector
    }

    /// The CVSS version.
    pub fn version(&self) -> CvssVersion {
        self.version
    }

    /// The score in tenths (75 means 7.5), so scores compare exactly.
    pub fn tenths(&self) -> u8 {
        self.tenths
    }

    /// The score as a number with one decimal.
    pub fn score(&self) -> f64 {
        f64::from(self.tenths) / 10.0
    }

    /// The score written with one decimal, e.g. `7.5`.
    pub fn score_text(&self) -> String {
        tenths_text(self.tenths)
    }

    /// The qualitative rating of the score.
    pub fn severity(&self) -> Severity {
        Severity::from_tenths(self.tenths)
    }
}

/// The vector's shape, which the specification fixes and the crate is
/// lenient about: `/`-separated `NAME:VALUE` components after the prefix,
/// none empty, names and values in upper case (FIRST's calculators and
/// the reference implementation refuse `av:N`), but for v4.0's Provider
/// Urgency (`U:Clear`, `U:Amber`, …).
fn check_syntax(vector: &str) -> Result<(), String> {
    let Some((_, metrics)) = vector.split_once('/') else {
        return Ok(()); // no prefix: said below
    };
    for (n, component) in metrics.split('/').enumerate() {
        let position = n + 1;
        if component.is_empty() {
            return Err(format!(
                "metric {position} after the prefix is empty (a trailing or doubled `/`)"
            ));
        }
        let Some((name, value)) = component.split_once(':') else {
            return Err(format!("`{component}` is not NAME:VALUE"));
        };
        if name.is_empty() || value.is_empty() {
            return Err(format!("`{component}` is not NAME:VALUE"));
        }
        let upper = |t: &str| {
            t.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        // v4.0's Provider Urgency is the one metric whose values are words.
        let urgency = name == "U" && ["Clear", "Green", "Amber", "Red"].contains(&value);
        if !upper(name) || !(upper(value) || urgency) {
            return Err(format!(
                "metric `{component}` must be written in upper case (`{}`)",
                component.to_ascii_uppercase()
            ));
        }
    }
    Ok(())
}

/// A CVSS v3 vector's three scores, as NVD shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V3Scores {
    /// Base score, in tenths.
    pub base: u8,
    /// Temporal score (the base, adjusted by E, RL and RC).
    pub temporal: u8,
    /// Environmental score (with the modified metrics and requirements).
    pub environmental: u8,
}

impl Cvss {
    /// For a v3 vector, its base, temporal and environmental scores; `None`
    /// for v4.0, which has one score.
    pub fn v3_scores(&self) -> Option<V3Scores> {
        if self.version == CvssVersion::V40 {
            return None;
        }
        let v: cvss::v3::Vector = self.vector.parse().ok()?;
        let factor = v.e.map_or(1.0, |m| m.score())
            * v.rl.map_or(1.0, |m| m.score())
            * v.rc.map_or(1.0, |m| m.score());
        let temporal = cvss::v3::Score::new(v.base_score().value() * factor)
            .roundup_for_version(v.minor_version)
            .value();
        Some(V3Scores {
            base: to_tenths(v.base_score().value()),
            temporal: to_tenths(temporal),
            environmental: to_tenths(v.environmental_score().value()),
        })
    }
}

/// Tenths as a score with one decimal, e.g. `7.5`.
pub fn tenths_text(tenths: u8) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn to_tenths(score: f64) -> u8 {
    // Scores are already rounded to one decimal in [0, 10]; rounding here only
    // removes binary floating-point noise.
    (score * 10.0).round().clamp(0.0, 100.0) as u8
}

fn score_v3(v: &cvss::v3::Vector) -> Result<u8, String> {
    let base = [
        ("AV", v.av.is_some()),
        ("AC", v.ac.is_some()),
        ("PR", v.pr.is_some()),
        ("UI", v.ui.is_some()),
        ("S", v.s.is_some()),
        ("C", v.c.is_some()),
        ("I", v.i.is_some()),
        ("A", v.a.is_some()),
    ];
    if let Some((name, _)) = base.iter().find(|(_, present)| !present) {
        return Err(format!("missing mandatory base metric {name}"));
    }
    let environmental = v.cr.is_some()
        || v.ir.is_some()
        || v.ar.is_some()
        || v.mav.is_some()
        || v.mac.is_some()
        || v.mpr.is_some()
        || v.mui.is_some()
        || v.ms.is_some()
        || v.mc.is_some()
        || v.mi.is_some()
        || v.ma.is_some();
    let temporal = v.e.is_some() || v.rl.is_some() || v.rc.is_some();
    let score = if environmental {
        v.environmental_score().value()
    } else if temporal {
        let factor = v.e.map_or(1.0, |m| m.score())
            * v.rl.map_or(1.0, |m| m.score())
            * v.rc.map_or(1.0, |m| m.score());
        cvss::v3::Score::new(v.base_score().value() * factor)
            .roundup_for_version(v.minor_version)
            .value()
    } else {
        v.base_score().value()
    };
    Ok(to_tenths(score))
}

impl fmt::Display for Cvss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vector)
    }
}

impl TryFrom<String> for Cvss {
    type Error = CvssError;
    fn try_from(value: String) -> Result<Self, CvssError> {
        Self::parse(&value)
    }
}

impl From<Cvss> for String {
    fn from(value: Cvss) -> String {
        value.vector
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vector: &str, expect: &str) {
        let got = match Cvss::parse(vector) {
            Ok(c) => format!("{} {}", c.score_text(), c.severity()),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{vector}");
    }

    #[test]
    fn scores_and_errors() {
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "9.8 Critical",
        );
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U",
            "9.0 Critical",
        );
        check(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "9.3 Critical",
        );
        check(
            "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "invalid CVSS vector `CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`: invalid CVSSv3 AV (Attack Vector) metric: `Q`",
        );
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H",
            "invalid CVSS vector `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H`: missing mandatory base metric S",
        );
        check(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
            "invalid CVSS vector `CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N`: missing mandatory CVSSv4 SA (Availability Impact to the Subsequent System) metric",
        );
        check(
            "AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            "invalid CVSS vector `AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N`: unsupported prefix `AV:N` (expected CVSS:3.1/ or CVSS:4.0/)",
        );
        check("", "invalid CVSS vector ``: the vector is empty");
        check(
            "CVSS:3.1/av:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "invalid CVSS vector `CVSS:3.1/av:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`: metric `av:N` must be written in upper case (`AV:N`)",
        );
        check(
            "CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "invalid CVSS vector `CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`: metric `AV:n` must be written in upper case (`AV:N`)",
        );
        check(
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "invalid CVSS vector `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/`: metric 9 after the prefix is empty (a trailing or doubled `/`)",
        );
        check(
            "CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "invalid CVSS vector `CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`: metric 2 after the prefix is empty (a trailing or doubled `/`)",
        );
        check(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA",
            "invalid CVSS vector `CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA`: `SA` is not NAME:VALUE",
        );
    }
}
