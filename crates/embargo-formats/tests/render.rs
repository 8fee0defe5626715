//! The announcement, retrospective and OSV record of one case carried through
//! every step at fixed times, snapshot-tested; the OSV record validates
//! against the official schema (read from ../shared/data, never copied).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use embargo_core::{
    Case, CaseId, Command, PersonId, PublishMode, Timestamp,
    advisory::{Advisory, Credit, Reference},
    affected::AffectedPackage,
    cvss::Cvss,
    decide, decide_new,
    event::{Assessment, Channel, Event, ForkHost, ReleaseStep, Report, Reproduction},
    sla::Policy,
    tlp::Tlp,
};
use embargo_formats::{announcement, osv, retrospective};

fn disclosed_case() -> (Case, Vec<Event>) {
    let t0: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
    let at = |h: i64| t0 + jiff::SignedDuration::from_hours(h);
    let srt = PersonId::new("sara@example.org").unwrap();
    let report = Report {
        project: "numpy".into(),
        title: "Heap overflow in loadtxt".into(),
        body: "PoC attached".into(),
        reporter_name: Some("Ada".into()),
        reporter_email: None,
        channel: Channel::Email,
        intake: Default::default(),
    };
    let mut log = decide_new(report, &PersonId::new("intake").unwrap(), t0).unwrap();
    let mut case = Case::from_events(CaseId::from_parts(2026, 42), &log).unwrap();
    let steps = vec![
        (
            5,
            Command::Acknowledge {
                message: "Thanks".into(),
            },
        ),
        (
            30,
            Command::Triage {
                assessment: Assessment {
                    reproduced: Reproduction::Yes,
                    notes: "Reproduced".into(),
                    affected: vec![AffectedPackage::parse("PyPI:numpy:1.22.0..1.26.4").unwrap()],
                    cvss_v31: Some(
                        Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H").unwrap(),
                    ),
                    cvss_v40: Some(
                        Cvss::parse(
                            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                        )
                        .unwrap(),
                    ),
                    cwe: Some("CWE-122".parse().unwrap()),
                    tlp: Tlp::AmberStrict,
                    projects: Vec::new(),
                },
            },
        ),
        (
            40,
            Command::AssignFixingTeam {
                coordinator: srt.clone(),
                fixers: vec![PersonId::new("fred@example.org").unwrap()],
            },
        ),
        (
            41,
            Command::ProposeTimeline {
                disclose_at: "2026-03-19T16:00:00Z".parse().unwrap(),
            },
        ),
        (42, Command::AcceptTimeline),
        (
            50,
            Command::ReviseAdvisory {
                base_revision: 0,
                draft: {
                    let mut a = Advisory::new(
                        "Heap overflow in numpy.loadtxt",
                        "A crafted text file makes `loadtxt` write past a buffer.",
                    );
                    a.cve = Some("CVE-2026-12345".parse().unwrap());
                    a.mitigation = Some("Do not pass untrusted files to `loadtxt`.".into());
                    a.upgrade = Some("pip install --upgrade 'numpy>=1.26.4'".into());
                    a.references = vec![Reference {
                        kind: "FIX".into(),
                        url: "https://github.com/numpy/numpy/commit/abc123".into(),
                    }];
                    a.credits = vec![Credit {
                        name: "Ada".into(),
                        kind: Some("FINDER".into()),
                        contact: Vec::new(),
                        holder: None,
                    }];
                    Box::new(a)
                },
            },
        ),
        (51, Command::SubmitAdvisory { revision: 1 }),
        (52, Command::ApproveAdvisory { revision: 1 }),
        (
            60,
            Command::OpenPrivateFork {
                url: Some("https://git.example.org/numpy-fix".into()),
                project: None,
                host: ForkHost::Elsewhere,
            },
        ),
        (200, Command::MarkFixReady),
        (
            391,
            Command::CompleteReleaseStep {
                step: ReleaseStep::MergeFix,
            },
        ),
        (
            392,
            Command::CompleteReleaseStep {
                step: ReleaseStep::PatchRelease {
                    package: "numpy".into(),
                    version: "1.26.4".into(),
                },
            },
        ),
        (
            393,
            Command::CompleteReleaseStep {
                step: ReleaseStep::PublishPackages,
            },
        ),
        (
            415,
            Command::Publish {
                mode: PublishMode::WithFix,
                reason: Some("the fix is out".into()),
            },
        ),
    ];
    let fred = PersonId::new("fred@example.org").unwrap();
    for (h, command) in steps {
        // The fixer writes the advisory; the coordinator reviews it.
        let actor = if matches!(command, Command::ReviseAdvisory { .. }) {
            &fred
        } else {
            &srt
        };
        let events = decide(&case, command, actor, at(h)).unwrap();
        for e in &events {
            case.apply(e).unwrap();
        }
        log.extend(events);
    }
    (case, log)
}

#[test]
fn announcement_follows_spec_11() {
    let (case, _) = disclosed_case();
    let text = announcement::render(&case, announcement::DEFAULT_TEMPLATE).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn a_broken_template_is_a_clear_error() {
    let (case, _) = disclosed_case();
    let err = announcement::render(&case, "{{ no_such_field }}").unwrap_err();
    assert!(err.to_string().starts_with("template error"), "{err}");
    let err = announcement::render(
        &case,
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("fuel"),
        "a runaway template is stopped: {err}"
    );
}

#[test]
fn retrospective_from_the_log() {
    let (case, log) = disclosed_case();
    insta::assert_snapshot!(retrospective::render(&case, &log, &Policy::default()));
}

#[test]
fn retrospective_durations_are_the_hand_computed_ones() {
    // The seeded log: received Monday 2026-03-02 09:00 UTC (t0); acknowledged
    // at t0+5 h; triaged at t0+30 h; team at t0+40 h; fix ready at t0+200 h;
    // patch release at t0+392 h; published at t0+415 h. The default policy:
    // acknowledge in 24 h, triage in 7 days, and for a high-severity case
    // (the CVSS v4.0 vector scores 8.7, high) a fix in 30 days and
    // disclosure in 45 days, all calendar days.
    let (case, log) = disclosed_case();
    assert_eq!(
        case.severity(),
        Some(embargo_core::cvss::Severity::High),
        "the premise: a high-severity case"
    );
    let text = retrospective::render(&case, &log, &Policy::default());
    let rows = [
        // 5 h
        "| acknowledge | 5 h 0 min | 24 h 0 min | kept |",
        // 30 h - 5 h = 25 h
        "| triage | 25 h 0 min | 7 days 0 h | kept |",
        // 40 h - 30 h = 10 h
        "| form the fixing team | 10 h 0 min | - |  |",
        // 200 h - 30 h = 170 h = 7 days 2 h
        "| fix (from triage) | 7 days 2 h | 30 days 0 h | kept |",
        // 392 h - 200 h = 192 h = 8 days 0 h
        "| release (fix ready to patch release) | 8 days 0 h | - |  |",
        // 415 h = 17 days 7 h
        "| disclose (from the report) | 17 days 7 h | 45 days 0 h | kept |",
    ];
    for row in rows {
        assert!(text.contains(row), "missing `{row}` in:\n{text}");
    }
    assert!(text.contains("Exposure window (report to public advisory): 17 days 7 h."));
    // A stricter policy turns the fix step into a miss: 7 days for high.
    let mut strict = Policy::default();
    strict.fix_days.high = 7;
    let text = retrospective::render(&case, &log, &strict);
    assert!(
        text.contains("| fix (from triage) | 7 days 2 h | 7 days 0 h | missed |"),
        "{text}"
    );
    // Everyone with their roles, and the sections the SRT writes.
    assert!(text.contains("- sara@example.org: coordinator"), "{text}");
    assert!(text.contains("- fred@example.org: fixer, acted"), "{text}");
    assert!(text.contains("## What went well") && text.contains("## What to change"));
}

#[test]
fn the_announcement_as_plain_text_email() {
    let (case, _) = disclosed_case();
    let text = announcement::render(&case, announcement::DEFAULT_TEMPLATE).unwrap();
    let (subject, body) = announcement::split(&text);
    assert_eq!(subject, "[security] numpy 1.26.4 fixes CVE-2026-12345");
    insta::assert_snapshot!(announcement::plain_text(body));
}

#[test]
fn osv_record_validates_against_the_official_schema() {
    let (case, _) = disclosed_case();
    let mut doc = embargo_formats::public_document(&case).unwrap();
    doc.id = Some(embargo_formats::case_osv_id(&case));
    let record = osv::to_osv(&doc).unwrap();
    insta::assert_json_snapshot!(record);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/schemas/osv/osv_schema.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is required in CI",
            path.display()
        );
        return;
    };
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&record)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And a broken record is caught, so the check above can fail.
    let mut broken = record.clone();
    broken["affected"][0]["ranges"][0]["type"] = serde_json::json!("NOT_A_TYPE");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn no_advisory_yet_is_a_clear_error() {
    let report = Report {
        project: "p".into(),
        title: "t".into(),
        body: "b".into(),
        reporter_name: None,
        reporter_email: None,
        channel: Channel::Web,
        intake: Default::default(),
    };
    let log = decide_new(
        report,
        &PersonId::new("x").unwrap(),
        "2026-01-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let case = Case::from_events(CaseId::from_parts(2026, 1), &log).unwrap();
    assert!(embargo_formats::public_document(&case).is_none());
    assert!(
        embargo_formats::draft_document(&case, "2026-01-02T00:00:00Z".parse().unwrap()).is_none()
    );
}

#[test]
fn the_announcement_reads_the_advisory_packages_before_triage_ranges() {
    let (mut case, _) = disclosed_case();
    let mut draft = case.current_advisory().unwrap().clone();
    draft.affected = vec![embargo_core::advisory::Package::from(
        &AffectedPackage::parse("PyPI:numpy:1.25.0..1.26.5").unwrap(),
    )];
    let events = decide(
        &case,
        Command::ReviseAdvisory {
            base_revision: 1,
            draft: Box::new(draft),
        },
        &PersonId::new("fred@example.org").unwrap(),
        "2026-03-20T09:00:00Z".parse().unwrap(),
    )
    .unwrap();
    for e in &events {
        case.apply(e).unwrap();
    }
    let text = announcement::render(&case, announcement::DEFAULT_TEMPLATE).unwrap();
    assert!(
        text.contains(
            "* numpy (PyPI): versions from 1.25.0 before 1.26.5; upgrade to 1.26.5 or later."
        ),
        "{text}"
    );
    assert!(!text.contains("1.22.0"), "{text}");
}
