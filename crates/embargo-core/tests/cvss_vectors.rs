//! Every vector in ../shared/data/cvss scores as FIRST's reference
//! implementations do (data read in place, never copied into the project).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use std::path::PathBuf;

use embargo_core::cvss::Cvss;

fn data(name: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/cvss")
        .join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: {} not found", path.display());
            None
        }
        Err(e) => panic!("{} is required in CI: {e}", path.display()),
    }
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

#[test]
fn v31_vectors_agree() {
    let Some(text) = data("cvss31.tsv") else {
        return;
    };
    let mut checked = 0;
    for row in rows(&text) {
        let [vector, base, severity, temporal, environmental, ..] = row.as_slice() else {
            panic!("short row {row:?}")
        };
        let parsed = Cvss::parse(vector).unwrap_or_else(|e| panic!("{e}"));
        let metrics: Vec<&str> = vector
            .split('/')
            .skip(1)
            .map(|m| m.split(':').next().unwrap_or(""))
            .collect();
        let has_env = metrics
            .iter()
            .any(|m| ["CR", "IR", "AR"].contains(m) || m.starts_with('M'));
        let has_temporal = metrics.iter().any(|m| ["E", "RL", "RC"].contains(m));
        let expected = if has_env {
            environmental
        } else if has_temporal {
            temporal
        } else {
            assert_eq!(parsed.severity().name(), *severity, "{vector}");
            base
        };
        assert_eq!(parsed.score_text(), *expected, "{vector}");
        checked += 1;
    }
    assert!(checked > 3000, "only {checked} vectors");
}

#[test]
fn v40_vectors_agree() {
    let Some(text) = data("cvss40.tsv") else {
        return;
    };
    let mut checked = 0;
    for row in rows(&text) {
        let [vector, score, severity, ..] = row.as_slice() else {
            panic!("short row {row:?}")
        };
        let parsed = Cvss::parse(vector).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.score_text(), *score, "{vector}");
        assert_eq!(parsed.severity().name(), *severity, "{vector}");
        checked += 1;
    }
    assert!(checked > 3000, "only {checked} vectors");
}

#[test]
fn invalid_vectors_are_refused_with_the_reason() {
    let Some(text) = data("cvss31_invalid.tsv") else {
        return;
    };
    for row in rows(&text) {
        let vector = row.first().copied().unwrap_or_default();
        let err = Cvss::parse(vector).expect_err(vector);
        assert!(err.to_string().starts_with("invalid CVSS vector"), "{err}");
    }
}
