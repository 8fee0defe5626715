//! Every advisory of the test corpus, exported to every format, validated
//! against the official schemas; the real OSV advisories imported and
//! exported back equal; CSAF exports run through the BSI validator
//! library's mandatory tests.
//!
//! The corpus is read from `../shared/data` (never copied into the
//! project): the real OSV advisories (PYSEC, GHSA, RUSTSEC), the real CVE
//! records, and one advisory written here with every field filled. The
//! BSI validator (`@secvisogram/csaf-validator-lib`) comes from the npm
//! registry; `scripts/test` installs it into `target/npm`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use std::path::{Path, PathBuf};

use embargo_core::{
    advisory::{Advisory, Credit, Package, Range, RangeEvent, RangeKind, Reference},
    affected::Ecosystem,
    cvss::Cvss,
    tlp::Tlp,
};
use embargo_formats::{Context, Format, csaf, cve, detect, export, import, markdown, osv};
use serde_json::{Value, json};

fn data() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if path.is_dir() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is required in CI",
        path.display()
    );
    eprintln!("skipped: {} is not here", path.display());
    None
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn ctx() -> Context {
    Context {
        publisher: "Example Project Security Team".into(),
        namespace: "https://security.example.org".into(),
        cna_org_id: Some("0b7b6a4c-3b1e-4b6e-9d2a-5c1f0e6d7a8b".into()),
        cna_short_name: Some("example".into()),
        tlp: Tlp::Clear,
        revisions: Vec::new(),
    }
}

/// An advisory written here with every field the document has.
fn full_advisory() -> Advisory {
    let mut a = Advisory::new(
        "Heap overflow in numpy.loadtxt",
        "A crafted text file makes `loadtxt` write past a buffer.",
    );
    a.id = Some("x_EMB-2026-0042".into());
    a.modified = Some("2026-03-19T16:00:00Z".into());
    a.published = Some("2026-03-19T16:00:00Z".into());
    a.schema_version = Some(osv::SCHEMA_VERSION.into());
    a.cve = Some("CVE-2026-12345".parse().unwrap());
    a.ghsa = Some("GHSA-abcd-efgh-2345".into());
    a.aliases = vec!["PYSEC-2026-7".into()];
    a.impact = Some("Anyone loading untrusted text files.".into());
    a.mitigation = Some("Do not pass untrusted files to `loadtxt`.".into());
    a.upgrade = Some("pip install --upgrade 'numpy>=1.26.4'".into());
    a.affected = vec![
        Package {
            ecosystem: Ecosystem::PyPI,
            name: "numpy".into(),
            purl: Some("pkg:pypi/numpy".into()),
            ranges: vec![
                Range::parse(RangeKind::Ecosystem, None, "1.22.0..1.25.3").unwrap(),
                Range::parse(RangeKind::Ecosystem, None, "1.26.0..1.26.4").unwrap(),
                Range::parse(RangeKind::Ecosystem, None, "2.0.0rc1..=2.0.0rc2").unwrap(),
            ],
            versions: Vec::new(),
            ecosystem_specific: None,
            database_specific: None,
            empty_lists: Vec::new(),
        },
        Package {
            ecosystem: Ecosystem::CratesIo,
            name: "numpy-sys".into(),
            purl: None,
            ranges: vec![Range::parse(RangeKind::Semver, None, "0..0.4.2").unwrap()],
            versions: Vec::new(),
            ecosystem_specific: None,
            database_specific: None,
            empty_lists: Vec::new(),
        },
        Package {
            ecosystem: Ecosystem::Git,
            name: "https://github.com/numpy/numpy".into(),
            purl: None,
            ranges: vec![Range {
                kind: RangeKind::Git,
                repo: Some("https://github.com/numpy/numpy".into()),
                events: vec![
                    RangeEvent::Introduced("0".into()),
                    RangeEvent::Fixed("4b1c1a2e0d9f8e7d6c5b4a39281706f5e4d3c2b1".into()),
                ],
                database_specific: None,
            }],
            versions: Vec::new(),
            ecosystem_specific: None,
            database_specific: None,
            empty_lists: Vec::new(),
        },
    ];
    a.references = vec![
        Reference {
            kind: "FIX".into(),
            url: "https://github.com/numpy/numpy/commit/4b1c1a2e0d9f8e7d6c5b4a39281706f5e4d3c2b1"
                .into(),
        },
        Reference {
            kind: "ADVISORY".into(),
            url: "https://security.example.org/advisories/EMB-2026-0042".into(),
        },
    ];
    a.cwes = vec!["CWE-122".parse().unwrap()];
    a.cvss = vec![
        Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H").unwrap(),
        Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap(),
    ];
    a.credits = vec![
        Credit {
            name: "Ada".into(),
            kind: Some("FINDER".into()),
            contact: vec!["https://ada.example".into()],
            holder: None,
        },
        Credit {
            name: "Fuzzer Bot".into(),
            kind: Some("TOOL".into()),
            contact: Vec::new(),
            holder: None,
        },
    ];
    a.confidential = Some("SECRET-MARKER: exploit works on the vendor's CI too".into());
    a.validate().unwrap();
    a
}

/// Every advisory of the corpus, by name.
fn corpus(data: &Path) -> Vec<(String, Advisory)> {
    let mut out = vec![("full".to_owned(), full_advisory())];
    for f in json_files(&data.join("advisories/osv")) {
        let a = osv::from_osv(&read_json(&f)).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        out.push((f.file_name().unwrap().to_string_lossy().into_owned(), a));
    }
    for f in json_files(&data.join("advisories/cve")) {
        let a = cve::from_cve(&read_json(&f)).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        out.push((
            format!("cve/{}", f.file_name().unwrap().to_string_lossy()),
            a,
        ));
    }
    out
}

struct Validators {
    osv: jsonschema::Validator,
    cve: jsonschema::Validator,
    csaf: jsonschema::Validator,
}

fn validators(data: &Path) -> Validators {
    let schemas = data.join("schemas");
    let osv = jsonschema::validator_for(&read_json(&schemas.join("osv/osv_schema.json"))).unwrap();
    let cve =
        jsonschema::validator_for(&read_json(&schemas.join("cve/CVE_JSON_bundled_5.1.1.json")))
            .unwrap();
    // CSAF refers to FIRST's CVSS schemas by URL: the local copies answer,
    // and nothing is fetched.
    let csaf = jsonschema::options()
        .with_retriever(LocalCvss(schemas.join("cvss")))
        .build(&read_json(&schemas.join("csaf/csaf_json_schema.json")))
        .unwrap();
    Validators { osv, cve, csaf }
}

struct LocalCvss(PathBuf);

impl jsonschema::Retrieve for LocalCvss {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix("https://www.first.org/cvss/")
            .ok_or_else(|| format!("{} is not a FIRST CVSS schema", uri.as_str()))?;
        Ok(read_json(&self.0.join(name)))
    }
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .take(5)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn every_real_osv_advisory_round_trips() {
    let Some(data) = data() else { return };
    let files = json_files(&data.join("advisories/osv"));
    let mut seen = std::collections::BTreeSet::new();
    for f in &files {
        let original = read_json(f);
        let a = osv::from_osv(&original).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let back = osv::to_osv(&a).unwrap();
        // serde_json compares objects by key, so only the order of keys in
        // an object is free; arrays keep their order.
        assert_eq!(back, original, "{} did not come back equal", f.display());
        seen.insert(a.id.unwrap().split('-').next().unwrap().to_owned());
    }
    assert!(files.len() >= 70, "the corpus has its advisories");
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["GHSA", "PYSEC", "RUSTSEC"]
    );
}

#[test]
fn every_export_validates_against_the_official_schemas() {
    let Some(data) = data() else { return };
    let v = validators(&data);
    let ctx = ctx();
    let mut counts = [0usize; 3];
    for (name, a) in corpus(&data) {
        let record = osv::to_osv(&a).unwrap();
        let e = errors(&v.osv, &record);
        assert!(e.is_empty(), "OSV of {name}: {e:#?}");
        counts[0] += 1;
        match cve::to_record(&a, &ctx) {
            Ok(record) => {
                let e = errors(&v.cve, &record);
                assert!(e.is_empty(), "CVE of {name}: {e:#?}");
                counts[1] += 1;
            }
            Err(err) => assert!(
                a.cve.is_none() || a.affected.is_empty(),
                "{name} has a CVE and packages, yet: {err}"
            ),
        }
        match csaf::to_csaf(&a, &ctx) {
            Ok(doc) => {
                let e = errors(&v.csaf, &doc);
                assert!(e.is_empty(), "CSAF of {name}: {e:#?}");
                counts[2] += 1;
            }
            Err(err) => assert!(
                err.to_string().contains("at least one affected"),
                "{name}: {err}"
            ),
        }
        let md = markdown::to_markdown(&a);
        assert!(md.starts_with("# "), "{name}");
        for out in [
            export(&a, Format::Osv, &ctx).unwrap(),
            md,
            csaf::to_csaf(&a, &ctx)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            cve::to_record(&a, &ctx)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ] {
            assert!(
                !out.contains("SECRET-MARKER"),
                "{name}: confidential notes exported"
            );
        }
    }
    // Most of the corpus goes to every format; none is skipped silently.
    assert!(
        counts[0] >= 75 && counts[1] >= 40 && counts[2] >= 70,
        "{counts:?}"
    );
    // And the validators do fail on a broken document.
    let full = full_advisory();
    let mut bad = osv::to_osv(&full).unwrap();
    bad["affected"][0]["ranges"][0]["type"] = json!("NOT_A_TYPE");
    assert!(!v.osv.is_valid(&bad));
    let mut bad = cve::to_record(&full, &ctx).unwrap();
    bad["containers"]["cna"]["affected"][0]["versions"][0]["status"] = json!("maybe");
    assert!(!v.cve.is_valid(&bad));
    let mut bad = csaf::to_csaf(&full, &ctx).unwrap();
    bad["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseSeverity"] = json!("HUGE");
    assert!(!v.csaf.is_valid(&bad));
}

#[test]
fn the_full_advisory_maps_field_by_field() {
    let a = full_advisory();
    let ctx = ctx();
    let record = osv::to_osv(&a).unwrap();
    assert_eq!(
        record["aliases"],
        json!(["PYSEC-2026-7", "CVE-2026-12345", "GHSA-abcd-efgh-2345"])
    );
    assert_eq!(
        record["affected"][0]["ranges"][2]["events"][1],
        json!({"last_affected": "2.0.0rc2"})
    );
    assert_eq!(record["affected"][1]["ranges"][0]["type"], "SEMVER");
    assert_eq!(record["database_specific"]["cwe_ids"], json!(["CWE-122"]));
    let details = record["details"].as_str().unwrap();
    assert!(details.contains("### Workarounds") && details.contains("### Upgrade"));

    let c = cve::to_record(&a, &ctx).unwrap();
    let cna = &c["containers"]["cna"];
    assert_eq!(
        cna["affected"][0]["versions"][0],
        json!({"version": "1.22.0", "lessThan": "1.25.3", "status": "affected", "versionType": "python"})
    );
    assert_eq!(
        cna["affected"][0]["versions"][2]["lessThanOrEqual"],
        "2.0.0rc2"
    );
    assert_eq!(cna["metrics"][0]["cvssV3_1"]["baseScore"], json!(8.8));
    assert_eq!(cna["credits"][1]["type"], "tool");
    assert_eq!(cna["references"][0]["tags"], json!(["patch"]));

    let d = csaf::to_csaf(&a, &ctx).unwrap();
    let branches = &d["product_tree"]["branches"];
    assert_eq!(branches[0]["name"], "PyPI");
    assert_eq!(
        branches[0]["branches"][0]["branches"][0]["name"],
        "vers:pypi/>=1.22.0|<1.25.3"
    );
    assert_eq!(
        branches[1]["branches"][0]["branches"][0]["name"],
        "vers:cargo/<0.4.2"
    );
    let v = &d["vulnerabilities"][0];
    assert_eq!(v["cve"], "CVE-2026-12345");
    assert_eq!(
        v["product_status"]["known_affected"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(v["product_status"]["fixed"].as_array().unwrap().len(), 3);
    assert_eq!(v["remediations"][0]["category"], "vendor_fix");
    assert_eq!(
        v["remediations"].as_array().unwrap().last().unwrap()["category"],
        "workaround"
    );
    assert_eq!(d["document"]["distribution"]["tlp"]["label"], "WHITE");

    insta::assert_snapshot!(markdown::to_markdown(&a));
}

#[test]
fn formats_are_detected_and_bad_input_is_named() {
    let a = full_advisory();
    let ctx = ctx();
    assert_eq!(detect(&osv::to_osv(&a).unwrap()), Some(Format::Osv));
    assert_eq!(
        detect(&cve::to_record(&a, &ctx).unwrap()),
        Some(Format::Cve)
    );
    assert_eq!(
        detect(&csaf::to_csaf(&a, &ctx).unwrap()),
        Some(Format::Csaf)
    );
    assert!(
        import(&json!({"hello": 1}))
            .unwrap_err()
            .to_string()
            .contains("not an OSV")
    );
    let mut odd = osv::to_osv(&a).unwrap();
    odd["severity"] = json!([{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}]);
    assert!(import(&odd).unwrap_err().to_string().contains("CVSS_V2"));
    let mut odd = osv::to_osv(&a).unwrap();
    odd["surprise"] = json!(true);
    assert!(import(&odd).unwrap_err().to_string().contains("surprise"));
    let mut odd = osv::to_osv(&a).unwrap();
    odd["modified"] = json!("yesterday");
    assert!(import(&odd).unwrap_err().to_string().contains("RFC 3339"));
    // A CVE record from a CVE-less advisory is refused with the reason.
    let mut no_cve = a.clone();
    no_cve.cve = None;
    assert!(
        cve::to_record(&no_cve, &ctx)
            .unwrap_err()
            .to_string()
            .contains("no CVE id")
    );
}

#[test]
fn real_cve_records_import_with_their_facts() {
    let Some(data) = data() else { return };
    let a = cve::from_cve(&read_json(&data.join("advisories/cve/CVE-2022-21699.json"))).unwrap();
    assert_eq!(a.cve.as_ref().unwrap().as_str(), "CVE-2022-21699");
    assert_eq!(a.ghsa.as_deref(), Some("GHSA-pq7m-3gw7-gq5x"));
    assert_eq!(
        a.cvss[0].vector(),
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:C/C:H/I:H/A:H"
    );
    let cwes: Vec<String> = a.cwes.iter().map(ToString::to_string).collect();
    assert_eq!(cwes, ["CWE-250", "CWE-279"]);
    // "< 5.11" is text, not a range: kept for the team, not guessed.
    assert!(a.confidential.as_deref().unwrap().contains("< 5.11"));
}

#[test]
fn csaf_exports_pass_the_bsi_validator() {
    let Some(data) = data() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lib = std::env::var_os("CSAF_VALIDATOR_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/npm/node_modules/@secvisogram/csaf-validator-lib"));
    if !lib.join("validateStrict.js").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is required in CI (scripts/test installs it from npm)",
            lib.display()
        );
        eprintln!("skipped: the BSI CSAF validator library is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let mut files = Vec::new();
    for (i, (name, a)) in corpus(&data).into_iter().enumerate() {
        if let Ok(doc) = csaf::to_csaf(&a, &ctx) {
            let path = dir
                .path()
                .join(format!("{i:03}-{}.json", name.replace('/', "_")));
            std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
            files.push(path);
        }
    }
    // And one that must fail, so the run can fail.
    let mut broken = csaf::to_csaf(&full_advisory(), &ctx).unwrap();
    broken["vulnerabilities"][0]["product_status"]["known_affected"] = json!(["CSAFPID-9999"]);
    let broken_path = dir.path().join("broken.json");
    std::fs::write(&broken_path, broken.to_string()).unwrap();
    let run = |paths: &[PathBuf]| {
        std::process::Command::new("node")
            .arg(root.join("scripts/csaf-validate.mjs"))
            .args(paths)
            .env("CSAF_VALIDATOR_LIB", &lib)
            .output()
            .unwrap()
    };
    let out = run(&files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failing: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"isValid\":false"))
        .collect();
    assert!(
        out.status.success() && failing.is_empty(),
        "BSI mandatory tests failed:\n{}\n{}",
        failing.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), files.len());
    assert!(files.len() >= 70);
    let out = run(&[broken_path]);
    assert!(!out.status.success(), "a dangling product id is caught");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("mandatoryTest_6_1_1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// TLP 2.0 labels from widest to narrowest sharing, and TLP v1's, so that
/// "at least as strict" is a comparison.
fn sharing_v2(t: Tlp) -> u8 {
    match t {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    }
}

fn sharing_v1(label: &str) -> u8 {
    match label {
        "WHITE" => 0,
        "GREEN" => 1,
        "AMBER" => 2,
        // TLP v1 has nothing between AMBER and RED.
        "RED" => 4,
        other => panic!("not a TLP v1 label: {other}"),
    }
}

#[test]
fn a_csaf_export_never_widens_the_case_label() {
    let full = full_advisory();
    let schema = data().map(|d| validators(&d));
    for t in Tlp::ALL {
        let mut c = ctx();
        c.tlp = t;
        let doc = csaf::to_csaf(&full, &c).unwrap();
        let label = doc["document"]["distribution"]["tlp"]["label"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            sharing_v1(&label) >= sharing_v2(t),
            "{} exported as the wider {label}",
            t.label()
        );
        let text = doc["document"]["distribution"]["text"].as_str();
        if t == Tlp::AmberStrict {
            assert_eq!(label, "RED");
            assert!(
                text.is_some_and(|x| x.contains("AMBER+STRICT") && x.contains("RED")),
                "{text:?}"
            );
        } else {
            assert!(text.is_none(), "{}: {text:?}", t.label());
        }
        if let Some(v) = &schema {
            let e = errors(&v.csaf, &doc);
            assert!(e.is_empty(), "{}: {e:#?}", t.label());
        }
    }
}
