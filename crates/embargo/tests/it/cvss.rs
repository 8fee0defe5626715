//! `embargo cvss` against Red Hat's `cvss` (PyPI) on vectors this test
//! generates, and its errors on bad input. The reference implementation is a
//! real Python package the test command installs; it is not mocked.

use std::io::Write;
use std::process::{Command, Stdio};

fn embargo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_embargo"))
}

/// A small deterministic generator (splitmix64), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[(self.next() % options.len() as u64) as usize]
    }
}

const V3: &[(&str, &[&str], bool)] = &[
    ("AV", &["N", "A", "L", "P"], true),
    ("AC", &["L", "H"], true),
    ("PR", &["N", "L", "H"], true),
    ("UI", &["N", "R"], true),
    ("S", &["U", "C"], true),
    ("C", &["H", "L", "N"], true),
    ("I", &["H", "L", "N"], true),
    ("A", &["H", "L", "N"], true),
    ("E", &["X", "H", "F", "P", "U"], false),
    ("RL", &["X", "U", "W", "T", "O"], false),
    ("RC", &["X", "C", "R", "U"], false),
    ("CR", &["X", "H", "M", "L"], false),
    ("IR", &["X", "H", "M", "L"], false),
    ("AR", &["X", "H", "M", "L"], false),
    ("MAV", &["X", "N", "A", "L", "P"], false),
    ("MAC", &["X", "L", "H"], false),
    ("MPR", &["X", "N", "L", "H"], false),
    ("MUI", &["X", "N", "R"], false),
    ("MS", &["X", "U", "C"], false),
    ("MC", &["X", "H", "L", "N"], false),
    ("MI", &["X", "H", "L", "N"], false),
    ("MA", &["X", "H", "L", "N"], false),
];

const V4: &[(&str, &[&str], bool)] = &[
    ("AV", &["N", "A", "L", "P"], true),
    ("AC", &["L", "H"], true),
    ("AT", &["N", "P"], true),
    ("PR", &["N", "L", "H"], true),
    ("UI", &["N", "P", "A"], true),
    ("VC", &["H", "L", "N"], true),
    ("VI", &["H", "L", "N"], true),
    ("VA", &["H", "L", "N"], true),
    ("SC", &["H", "L", "N"], true),
    ("SI", &["H", "L", "N"], true),
    ("SA", &["H", "L", "N"], true),
    ("E", &["X", "A", "P", "U"], false),
    ("CR", &["X", "H", "M", "L"], false),
    ("IR", &["X", "H", "M", "L"], false),
    ("AR", &["X", "H", "M", "L"], false),
    ("MAV", &["X", "N", "A", "L", "P"], false),
    ("MAC", &["X", "L", "H"], false),
    ("MAT", &["X", "N", "P"], false),
    ("MPR", &["X", "N", "L", "H"], false),
    ("MUI", &["X", "N", "P", "A"], false),
    ("MVC", &["X", "H", "L", "N"], false),
    ("MVI", &["X", "H", "L", "N"], false),
    ("MVA", &["X", "H", "L", "N"], false),
    ("MSC", &["X", "H", "L", "N"], false),
    ("MSI", &["X", "S", "H", "L", "N"], false),
    ("MSA", &["X", "S", "H", "L", "N"], false),
];

fn vector(rng: &mut Rng, prefix: &str, metrics: &[(&str, &[&str], bool)]) -> String {
    let mut v = prefix.to_owned();
    for (name, values, mandatory) in metrics {
        // Optional metrics appear in about a third of the vectors each.
        if *mandatory || rng.next().is_multiple_of(3) {
            v.push_str(&format!("/{name}:{}", rng.pick(values)));
        }
    }
    v
}

const ORACLE: &str = r#"
import sys
from cvss import CVSS3, CVSS4
for line in sys.stdin:
    v = line.strip()
    if v.startswith("CVSS:3"):
        c = CVSS3(v)
        print("%.1f\t%s" % (c.scores()[2] if any(m in c.original_metrics for m in ("CR","IR","AR","MAV","MAC","MPR","MUI","MS","MC","MI","MA")) else (c.scores()[1] if any(m in c.original_metrics for m in ("E","RL","RC")) else c.scores()[0]), v))
    else:
        c = CVSS4(v)
        print("%.1f\t%s" % (c.base_score, v))
"#;

/// Whether Red Hat's cvss (the oracle) is importable; under CI it must be.
fn oracle_installed() -> bool {
    let probe = Command::new("python3").args(["-c", "import cvss"]).status();
    if probe.is_ok_and(|s| s.success()) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the test command installs Red Hat's cvss (pip install cvss)"
    );
    eprintln!("skipping: python3 with the `cvss` package is not installed");
    false
}

#[test]
fn agrees_with_red_hat_cvss_on_random_vectors() {
    if !oracle_installed() {
        return;
    }
    let mut rng = Rng(0x0005_EC11);
    let mut vectors = Vec::new();
    for _ in 0..2500 {
        vectors.push(vector(&mut rng, "CVSS:3.1", V3));
        vectors.push(vector(&mut rng, "CVSS:4.0", V4));
    }
    let input = vectors.join("\n") + "\n";

    let run = |mut cmd: Command| -> String {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Feed stdin from a thread: writing it all before reading stdout would
        // deadlock once both pipe buffers are full.
        let mut stdin = child.stdin.take().unwrap();
        let input = input.clone();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ours = run({
        let mut c = embargo();
        c.arg("cvss");
        c
    });
    let theirs = run({
        let mut c = Command::new("python3");
        c.args(["-c", ORACLE]);
        c
    });
    let ours: Vec<String> = ours
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("{}\t{}", f[0], f[2])
        })
        .collect();
    let theirs: Vec<&str> = theirs.lines().collect();
    assert_eq!(ours.len(), vectors.len());
    let disagreements: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a.as_str() != **b)
        .map(|(a, b)| format!("ours {a} | red hat {b}"))
        .collect();
    assert!(
        disagreements.is_empty(),
        "{} disagreements, first: {:#?}",
        disagreements.len(),
        &disagreements[..disagreements.len().min(5)]
    );
}

#[test]
fn prints_score_severity_vector() {
    let out = embargo()
        .args([
            "cvss",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap(), @r"
    9.8	Critical	CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
    9.3	Critical	CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N
    ");
}

#[test]
fn an_invalid_vector_names_the_metric_and_fails() {
    let out = embargo()
        .args([
            "cvss",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:X/PR:N/UI:N/S:U/C:H/I:H/A:H",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "the valid vector is still scored"
    );
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap(), @"embargo cvss: invalid CVSS vector `CVSS:3.1/AV:N/AC:X/PR:N/UI:N/S:U/C:H/I:H/A:H`: invalid CVSSv3 AC (Attack Complexity) metric: `X`");
}

#[test]
fn malformed_vectors_and_empty_arguments_are_refused() {
    for (vector, problem) in [
        ("", "the vector is empty"),
        (
            "CVSS:3.1/av:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "must be written in upper case (`AV:N`)",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "a trailing or doubled `/`",
        ),
    ] {
        let out = embargo().args(["cvss", vector]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{vector}");
        assert!(out.stdout.is_empty(), "{vector}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(problem), "{vector}: {err}");
    }
}

const ORACLE_ALL: &str = r#"
import sys
from cvss import CVSS3
for line in sys.stdin:
    v = line.strip()
    b, t, e = CVSS3(v).scores()
    print("%.1f\t%.1f\t%.1f\t%s" % (b, t, e, v))
"#;

/// `--all` prints a v3 vector's base, temporal and environmental scores,
/// each as Red Hat's cvss computes them.
#[test]
fn all_three_v3_scores_agree_with_red_hat_cvss() {
    if !oracle_installed() {
        return;
    }
    let mut rng = Rng(0x00A1_1A11);
    let vectors: Vec<String> = (0..500).map(|_| vector(&mut rng, "CVSS:3.1", V3)).collect();
    let ours = embargo()
        .arg("cvss")
        .arg("--all")
        .args(&vectors)
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let mut oracle = Command::new("python3")
        .args(["-c", ORACLE_ALL])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    oracle
        .stdin
        .take()
        .unwrap()
        .write_all((vectors.join("\n") + "\n").as_bytes())
        .unwrap();
    let theirs = oracle.wait_with_output().unwrap();
    let ours = String::from_utf8(ours.stdout).unwrap();
    let theirs = String::from_utf8(theirs.stdout).unwrap();
    assert_eq!(ours.lines().count(), vectors.len());
    let differ: Vec<_> = ours
        .lines()
        .zip(theirs.lines())
        .filter(|(a, b)| a != b)
        .take(5)
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
}
