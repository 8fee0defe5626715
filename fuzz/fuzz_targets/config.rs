//! `embargo.toml` as an operator (or a mistake) writes it. Whatever is
//! accepted, the security.txt fields it sets are one line each: no value
//! can inject another field.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = embargo_service::Config::parse(text) {
        let txt = &config.security_txt;
        for value in txt.contact.iter().chain(txt.policy.iter()) {
            assert!(!value.chars().any(char::is_control), "{value:?}");
        }
        assert!(!txt.preferred_languages.chars().any(char::is_control));
    }
});
