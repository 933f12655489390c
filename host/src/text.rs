//! Text from plugins and servers, made safe to print on one line.

use std::borrow::Cow;

/// An error and its causes on one line, `outer: inner: innermost`; a cause
/// its error already quotes is not said twice.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Escapes control characters (a newline that would start a forged log
/// line, a terminal escape sequence) and the invisible marks that reorder
/// text, so what is printed is what was sent, on the line it belongs to.
/// Tabs stay.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_controls("plain\ttext é"), "plain\ttext é");
        assert_eq!(escape_controls("one\nERROR weir: forged"), "one\\nERROR weir: forged");
        assert_eq!(escape_controls("\x1b[2Jcleared\r"), "\\u{1b}[2Jcleared\\r");
        assert_eq!(escape_controls("abc\u{202e}cba"), "abc\\u{202e}cba");
    }
}
