//! Text as fields hold it: cleaning applied to what strangers send, on
//! every way in (a form, a mail header, an API call).

/// A one-line field: control characters (a CR/LF header injection among
/// them) become spaces, and runs of spaces one. Bidirectional controls
/// (U+202A–U+202E, U+2066–U+2069, the marks U+200E, U+200F, U+061C) are
/// dropped: in a title they can make text read other than it is stored
/// (`exe.txt` shown for `txt.exe`).
pub fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Multi-line text: keeps newlines and tabs, drops other control characters
/// (NUL, escape sequences).
pub fn multi_line(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect()
}

/// Unicode's explicit bidirectional formatting characters (UAX #9).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_fields_lose_line_breaks_and_bidirectional_controls() {
        assert_eq!(one_line("a\r\nBcc: x"), "a Bcc: x");
        assert_eq!(
            one_line("Overflow in \u{202E}txt.exe\u{202C} parser"),
            "Overflow in txt.exe parser"
        );
        assert_eq!(one_line("\u{2066}x\u{2069}\u{200F}"), "x");
        // Other scripts stay as they are.
        assert_eq!(one_line("Débordement مخزن"), "Débordement مخزن");
    }
}
