//! Markdown a reporter writes (shown to the team) and the team writes
//! (shown to the reporter), rendered as the pages do: whatever goes in,
//! what comes out has no script or image tag, no event handler attribute,
//! and links only to http, https or mailto.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Each tag's name and attributes (name, value) in `html`, reading quoted
/// values whole (a `>` inside one does not end the tag).
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let mut chars = rest.char_indices().peekable();
        let mut name = String::new();
        while let Some((_, c)) = chars.peek().copied() {
            if c.is_ascii_alphanumeric() || c == '/' {
                name.push(c.to_ascii_lowercase());
                chars.next();
            } else {
                break;
            }
        }
        let mut attrs = Vec::new();
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            if c == '>' {
                end = i + 1;
                break;
            }
            if c.is_whitespace() || c == '/' {
                continue;
            }
            let mut attr = c.to_ascii_lowercase().to_string();
            let mut value = String::new();
            while let Some((_, c)) = chars.peek().copied() {
                if c == '=' || c == '>' || c.is_whitespace() {
                    break;
                }
                attr.push(c.to_ascii_lowercase());
                chars.next();
            }
            if chars.peek().is_some_and(|(_, c)| *c == '=') {
                chars.next();
                let quote = chars.peek().map(|(_, c)| *c);
                if let Some(q @ ('"' | '\'')) = quote {
                    chars.next();
                    for (_, c) in chars.by_ref() {
                        if c == q {
                            break;
                        }
                        value.push(c);
                    }
                } else {
                    while let Some((_, c)) = chars.peek().copied() {
                        if c == '>' || c.is_whitespace() {
                            break;
                        }
                        value.push(c);
                        chars.next();
                    }
                }
            }
            attrs.push((attr, value));
        }
        out.push((name, attrs));
        rest = &rest[end.min(rest.len())..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let html = embargo_server::fuzzing::markdown_html(text);
    for (tag, attrs) in tags(&html) {
        assert!(
            !matches!(tag.as_str(), "script" | "img" | "iframe" | "style"),
            "<{tag}> in {html}"
        );
        for (name, value) in attrs {
            assert!(!name.starts_with("on"), "{name}= in {html}");
            if name == "href" || name == "src" {
                // As a browser reads it: entities of `&`, no tab or line
                // break, no leading space or control.
                let v: String = value
                    .replace("&amp;", "&")
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect::<String>()
                    .trim_start_matches(|c: char| c <= ' ')
                    .to_ascii_lowercase();
                // A scheme is letters, digits, `+`, `-`, `.` before the
                // first `:`, starting with a letter; anything else is a
                // relative link.
                let scheme = v.split_once(':').map(|(s, _)| s).filter(|s| {
                    s.starts_with(|c: char| c.is_ascii_alphabetic())
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                });
                let scheme_ok = scheme.is_none_or(|s| matches!(s, "http" | "https" | "mailto"));
                assert!(scheme_ok, "{name}={value:?} in {html}");
            }
        }
    }
});
