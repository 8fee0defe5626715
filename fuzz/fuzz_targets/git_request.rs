//! A git smart-HTTP request as a stranger sends it to a built-in fork:
//! repository, path, method, content type and basic-auth header,
//! separated by NUL bytes, read as the server does before the store is
//! asked. An accepted repository name is one plain path component.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|b| *b == 0);
    let mut next = || fields.next().unwrap_or_default();
    let (repo, rest, method, content_type, authorization) =
        (next(), next(), next(), next(), next());
    let (Ok(repo), Ok(rest), Ok(method)) = (
        std::str::from_utf8(repo),
        std::str::from_utf8(rest),
        std::str::from_utf8(method),
    ) else {
        return;
    };
    if embargo_server::fuzzing::git_request(repo, rest, method, content_type, authorization) {
        // One path component under the case's directory, never a way out.
        let mut parts = std::path::Path::new(repo).components();
        assert!(
            matches!(parts.next(), Some(std::path::Component::Normal(_))) && parts.next().is_none(),
            "{repo:?}"
        );
        assert!(!repo.contains(['\\', '\0']), "{repo:?}");
    }
});
