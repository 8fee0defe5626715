//! `embargo check` against the real OSV advisories in ../shared/data (read
//! there, not copied): a requirements file, a Cargo.lock and arguments,
//! with the fixed version to upgrade to, across PEP 440 and semver.

use std::process::Command;

fn advisories() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/advisories/osv");
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var("CI").is_err(),
            "CI has ../shared/data beside the project"
        );
        None
    }
}

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embargo"))
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn installed_versions_are_checked_and_each_finding_names_its_fix() {
    let Some(dir) = advisories() else { return };
    let dir = dir.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let req = tmp.path().join("requirements.txt");
    std::fs::write(
        &req,
        "# pip freeze\nnumpy==1.16.0\nPillow[tk]==9.0.0  # pinned\njupyter_server==2.7.1 ; python_version >= \"3.8\"\nrequests>=2.0\n-e git+https://example.org/x.git#egg=x\n",
    )
    .unwrap();
    let (code, out, err) = check(&["--advisories", dir, "-r", req.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "numpy 1.16.0 (PyPI): PYSEC-2019-108 (CVE-2019-6446) — upgrade to 1.16.1 or later"
        ),
        "{out}"
    );
    assert!(out.contains("Pillow 9.0.0 (PyPI): GHSA-8vj2-vxx3-667w (CVE-2022-22817): Arbitrary expression injection in Pillow — upgrade to 9.0.1 or later"), "{out}");
    // PEP 503: jupyter_server is jupyter-server.
    assert!(
        out.contains("jupyter_server 2.7.1 (PyPI): GHSA-64x5-55rw-9974"),
        "{out}"
    );
    assert!(out.contains("3 of 3 package(s) affected"), "{out}");
    assert!(
        err.contains("`requests>=2.0` pins no version; not checked"),
        "{err}"
    );

    let lock = tmp.path().join("Cargo.lock");
    std::fs::write(
        &lock,
        "version = 3\n\n[[package]]\nname = \"tokio\"\nversion = \"1.12.0\"\n\n[[package]]\nname = \"tokio-util\"\nversion = \"0.7.0\"\n\n[[package]]\nname = \"regex\"\nversion = \"1.5.5\"\n\n[[package]]\nname = \"time\"\nversion = \"0.2.22\"\n",
    )
    .unwrap();
    let (code, out, _) = check(&["--advisories", dir, "--cargo-lock", lock.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("tokio 1.12.0 (crates.io): RUSTSEC-2021-0124"),
        "{out}"
    );
    assert!(
        out.contains("— upgrade to 1.13.1 or later"),
        "the second window's fix: {out}"
    );
    assert!(
        out.contains("time 0.2.22 (crates.io): RUSTSEC-2020-0071")
            && out.contains("upgrade to 0.2.23"),
        "{out}"
    );
    assert!(!out.contains("regex 1.5.5"), "1.5.5 is the fix: {out}");
    assert!(out.contains("2 of 4 package(s) affected"), "{out}");

    // Up to date: exit 0. Pre-releases and local versions follow PEP 440.
    let (code, out, _) = check(&[
        "--advisories",
        dir,
        "numpy==1.26.4",
        "scipy==1.11.0",
        "tornado==6.4.1+local",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = check(&["--advisories", dir, "tornado==6.4.1rc1"]);
    assert_eq!(code, 1, "a pre-release of the fix is before it: {out}");
    assert!(out.contains("upgrade to 6.4.1 or later"), "{out}");
    // A version that cannot be read is said, not passed over silently.
    let (code, _, err) = check(&["--advisories", dir, "numpy==banana"]);
    assert_eq!(code, 2);
    assert!(err.contains("`banana` is not a version"), "{err}");
    let (code, _, err) = check(&["--advisories", dir, "no-version-here"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not NAME==VERSION"), "{err}");
}

#[test]
fn convert_writes_every_format_and_names_what_it_cannot_read() {
    let Some(dir) = advisories() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let inputs = [
        dir.join("PYSEC-2023-75.json"),
        dir.join("GHSA-753j-mpmx-qq6g.json"),
        dir.join("RUSTSEC-2020-0071.json"),
        dir.join("../cve/CVE-2022-21699.json"),
    ];
    for to in ["osv", "csaf", "markdown", "cve"] {
        let out = Command::new(env!("CARGO_BIN_EXE_embargo"))
            .args([
                "convert",
                "--to",
                to,
                "--cna-org-id",
                "0b7b6a4c-3b1e-4b6e-9d2a-5c1f0e6d7a8b",
                "--out",
            ])
            .arg(tmp.path().join(to))
            .args(&inputs)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let written = std::fs::read_dir(tmp.path().join(to)).unwrap().count();
        if to == "cve" {
            // An advisory without a CVE id makes no CVE record: said, and
            // the others are still written.
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(stderr.contains("no CVE id"), "{stderr}");
            assert!(written >= 2, "{written}");
        } else if to == "csaf" {
            // The real CVE record gives its versions as text ("< 5.11"), so
            // it names no product for CSAF: said, not guessed.
            assert_eq!(out.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("CVE-2022-21699: a CSAF advisory needs at least one affected"),
                "{stderr}"
            );
            assert_eq!(written, inputs.len() - 1, "{to}");
        } else {
            assert!(out.status.success(), "{to}: {stderr}");
            assert_eq!(written, inputs.len(), "{to}");
        }
    }
    let csaf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("csaf/PYSEC-2023-75.csaf.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(csaf["document"]["tracking"]["id"], "PYSEC-2023-75");
    // An OSV record converted to OSV comes back as it was.
    let back: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("osv/GHSA-753j-mpmx-qq6g.osv.json")).unwrap(),
    )
    .unwrap();
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inputs[1]).unwrap()).unwrap();
    assert_eq!(back, original);
    // Not an advisory: named, exit 1.
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_embargo"))
        .args(["convert", "--to", "osv"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.json: not an OSV record"));
}
