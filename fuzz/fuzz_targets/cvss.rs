//! A CVSS v3.1 or v4.0 vector as a reporter or an imported advisory gives
//! it: a vector that parses scores within 0.0–10.0 and parses again from
//! the form embargo stores, to the same score.
#![no_main]

use embargo_core::cvss::Cvss;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cvss) = Cvss::parse(text) {
        assert!((0.0..=10.0).contains(&cvss.score()));
        let again = Cvss::parse(cvss.vector()).expect("a stored vector parses again");
        assert_eq!(again.tenths(), cvss.tenths());
        let _ = cvss.v3_scores();
        let _ = cvss.severity();
    }
});
