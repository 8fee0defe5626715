//! PEP 440 ordering against PyPA's `packaging` (PyPI), the reference
//! implementation pip uses: a few thousand generated versions (epochs,
//! one to four release segments, pre, post and dev releases, local
//! versions) sorted by both must come out in the same order.
//! `scripts/test` installs `packaging`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use std::{io::Write, process::Command};

use embargo_core::versions::Scheme;

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        // xorshift64*: deterministic, good enough to spread the cases.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn version(r: &mut Rng) -> String {
    let mut v = String::new();
    if r.next(10) == 0 {
        v.push_str(&format!("{}!", r.next(3)));
    }
    let segments = 1 + r.next(4);
    let parts: Vec<String> = (0..segments).map(|_| r.next(12).to_string()).collect();
    v.push_str(&parts.join("."));
    match r.next(5) {
        0 => v.push_str(&format!("a{}", r.next(3))),
        1 => v.push_str(&format!("b{}", r.next(3))),
        2 => v.push_str(&format!("rc{}", r.next(3))),
        _ => {}
    }
    if r.next(4) == 0 {
        v.push_str(&format!(".post{}", r.next(3)));
    }
    if r.next(4) == 0 {
        v.push_str(&format!(".dev{}", r.next(3)));
    }
    if r.next(6) == 0 {
        let locals = ["ubuntu1", "1", "abc.5", "7.b"];
        v.push_str(&format!("+{}", locals[r.next(4) as usize]));
    }
    v
}

#[test]
fn pep440_order_matches_pypa_packaging() {
    let probe = Command::new("python3")
        .args(["-c", "import packaging.version"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var("CI").is_err(),
            "CI installs packaging (scripts/test)"
        );
        eprintln!("skipped: python3 with packaging is not installed");
        return;
    }
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let versions: Vec<String> = (0..3000).map(|_| version(&mut r)).collect();
    // Ours: sort indices by our ordering (stable, ties by index).
    let parsed: Vec<_> = versions
        .iter()
        .map(|v| Scheme::Pep440.parse(v).unwrap())
        .collect();
    let mut ours: Vec<usize> = (0..versions.len()).collect();
    ours.sort_by(|&a, &b| parsed[a].partial_cmp(&parsed[b]).unwrap().then(a.cmp(&b)));
    // Theirs: the same, by packaging.version.Version.
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom packaging.version import Version\nvs=[l.strip() for l in sys.stdin]\n\
             order=sorted(range(len(vs)), key=lambda i: (Version(vs[i]), i))\nprint(' '.join(map(str, order)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(versions.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Vec<usize> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), versions.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            a, b,
            "position {i}: ours puts {} where packaging puts {}",
            versions[*a], versions[*b]
        );
    }
}
