//! The web report form as a stranger posts it: the first line is the
//! Content-Type (urlencoded, or multipart with its boundary), the rest the
//! body, read and checked as the server does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (content_type, body) = data.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let _ = embargo_server::fuzzing::report_form(content_type, body);
});
