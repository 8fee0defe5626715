//! An OSV or CVE JSON 5 document as `embargo convert` and the import read
//! it: what imports exports again as OSV, and that OSV imports again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(advisory) = embargo_formats::import(&value) {
        if let Ok(osv) = embargo_formats::osv::to_osv(&advisory) {
            let _ = embargo_formats::osv::from_osv(&osv);
        }
        let _ = embargo_formats::markdown::to_markdown(&advisory);
    }
});
