//! Versions and version ranges as a reporter or an advisory gives them:
//! PEP 440 and semver versions, "am I affected" over a range the input
//! names, compact ranges and affected packages
//! (`ECOSYSTEM:NAME:INTRODUCED..FIXED`).
#![no_main]

use embargo_core::advisory::{Range, RangeKind};
use embargo_core::affected::AffectedPackage;
use embargo_core::versions::{Event, Scheme, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `VERSION|INTRODUCED|FIXED`: is VERSION in [INTRODUCED, FIXED)?
    let mut parts = text.splitn(3, '|');
    let (version, introduced, fixed) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("0"),
        parts.next().unwrap_or_default(),
    );
    for scheme in [Scheme::Pep440, Scheme::Semver] {
        if let (Ok(a), Ok(b)) = (scheme.parse(version), scheme.parse(version)) {
            assert_eq!(a, b);
        }
        let events = [
            Event::Introduced(introduced.to_owned()),
            Event::Fixed(fixed.to_owned()),
        ];
        let _ = check(scheme, &events, version);
    }
    for kind in [RangeKind::Ecosystem, RangeKind::Semver, RangeKind::Git] {
        let _ = Range::parse(kind, None, text);
    }
    let _ = AffectedPackage::parse(text);
});
