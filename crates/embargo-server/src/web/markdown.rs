//! Reporter-written Markdown to safe HTML: raw HTML is shown as text, images
//! become links that load nothing, links carry `rel="nofollow noopener
//! noreferrer"` and only http, https and mailto URLs survive. ammonia
//! sanitises the result as a second, independent layer.

use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.rm_tags(["img"])
        .link_rel(Some("nofollow noopener noreferrer"))
        .url_schemes(["http", "https", "mailto"].into())
        .strip_comments(true);
    b
});

/// Renders Markdown from an untrusted source.
pub(crate) fn render(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let events = parser.filter_map(|event| match event {
        // Raw HTML is shown, not interpreted.
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        // An image would be fetched by every reader's browser: show its text
        // and address instead.
        Event::Start(Tag::Image { dest_url, .. }) => {
            Some(Event::Text(format!("[image: {dest_url}] ").into()))
        }
        Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    CLEANER.clean(&html).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markup_is_text_and_links_are_inert() {
        let out = render(
            "<script>alert(1)</script>\n\nSee **bold** <b onclick=x>b</b> [x](javascript:alert(1)) ![i](https://evil.example/p.png) [ok](https://example.org)",
        );
        assert!(!out.contains("<script"), "{out}");
        assert!(out.contains("&lt;script&gt;"), "{out}");
        assert!(out.contains("<strong>bold</strong>"), "{out}");
        assert!(out.contains("&lt;b onclick=x&gt;"), "{out}");
        assert!(!out.contains("javascript:"), "{out}");
        assert!(!out.contains("<img"), "{out}");
        assert!(out.contains("[image: https://evil.example/p.png]"), "{out}");
        assert!(
            out.contains(
                r#"<a href="https://example.org" rel="nofollow noopener noreferrer">ok</a>"#
            ),
            "{out}"
        );
    }
}
