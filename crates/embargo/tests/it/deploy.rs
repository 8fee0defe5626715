//! The deploy definitions as the README gives them: the systemd unit
//! (checked by `systemd-analyze verify`, with this build's binary in its
//! ExecStart) and the container definition (parsed: images cannot be built
//! on the test machine, which has no container daemon).

use std::{collections::BTreeMap, path::Path};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `[Section]` → key → values (a key may repeat).
fn unit(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        out.entry(section.clone())
            .or_default()
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned());
    }
    out
}

#[test]
fn the_systemd_unit_is_sandboxed_and_verifies() {
    let path = root().join("deploy/embargo.service");
    let text = std::fs::read_to_string(&path).unwrap();
    let u = unit(&text);
    let service = &u["Service"];
    let one = |k: &str| service.get(k).map(|v| v.join(" ")).unwrap_or_default();
    assert_eq!(one("User"), "embargo", "a dedicated user, not root");
    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("StateDirectory", "embargo"),
        ("StateDirectoryMode", "0700"),
        ("ReadWritePaths", "/var/lib/embargo"),
        ("UMask", "0077"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(one(key), want, "{key}");
    }
    assert!(
        one("ExecStart").starts_with("/usr/local/bin/embargo serve --data-dir /var/lib/embargo"),
        "{}",
        one("ExecStart")
    );
    assert_eq!(u["Install"]["WantedBy"], ["multi-user.target"]);
    // systemd's own check, with this build's binary where the unit runs it.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("embargo.service");
    std::fs::write(
        &copy,
        text.replace("/usr/local/bin/embargo", env!("CARGO_BIN_EXE_embargo")),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze is missing: run ./scripts/test, which installs Debian's systemd");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_container_builds_in_two_stages_and_runs_unprivileged_with_a_volume() {
    let text = std::fs::read_to_string(root().join("deploy/Containerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let from: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "a build stage and a runtime stage: {from:?}");
    assert!(
        from[0].contains("/rust:") && from[0].ends_with(" AS build"),
        "{}",
        from[0]
    );
    assert!(
        from[1].contains("/debian:") && from[1].contains("-slim"),
        "{}",
        from[1]
    );
    // The same Debian release in both (the binary links the build's glibc).
    let release = |l: &str| {
        l.rsplit(['-', ':'])
            .find(|p| ["bookworm", "trixie"].contains(p))
            .map(str::to_owned)
    };
    let build_release = from[0].split_whitespace().nth(1).and_then(release);
    let run_release = from[1]
        .split_whitespace()
        .nth(1)
        .map(|i| i.replace("-slim", ""))
        .and_then(|i| release(&i));
    assert!(
        build_release.is_some() && build_release == run_release,
        "{from:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("cargo build --release --locked --bin embargo"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("install -y --no-install-recommends ca-certificates git"))
    );
    let user = lines
        .iter()
        .position(|l| *l == "USER embargo")
        .expect("runs as embargo");
    let copy = lines
        .iter()
        .position(|l| l.starts_with("COPY --from=build"))
        .unwrap();
    assert!(copy < user, "installed as root, run as embargo");
    assert!(lines.contains(&"VOLUME [\"/var/lib/embargo\"]"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ENV EMBARGO_DATA_DIR=/var/lib/embargo"))
    );
    assert_eq!(lines.last(), Some(&"CMD [\"serve\"]"));
    // The README says how to build and run both.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for needle in [
        "deploy/embargo.service",
        "docker build -f deploy/Containerfile",
    ] {
        assert!(readme.contains(needle), "README lacks {needle}");
    }
}
