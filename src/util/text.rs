//! Control characters escaped in human-readable output: a folder name or a kamiwaza.json value
//! holding a newline, an escape sequence or a carriage return is shown as `\n`, `\x1b`, `\r`, so it
//! can neither forge a line (a GitHub Actions `::error::` command, a fake `ok`) nor drive the
//! terminal.

use std::borrow::Cow;

/// `s` with every control character (newlines and tabs too) written as an escape.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    escape_where(s, |_| true)
}

/// `s` with every control character but `\n` and `\t` written as an escape: for text that is
/// meant to span lines (a diff, a build log).
pub fn escape_controls_keep_lines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && c != '\t')
}

fn escape_where(s: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    let is_bad = |c: char| (c.is_control() || is_bidi(c)) && escape(c);
    if !s.chars().any(is_bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_bad(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// Bidirectional overrides and isolates, which reorder what a terminal shows.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape_controls("a\n::error::x"), "a\\n::error::x");
        assert_eq!(escape_controls("\x1b[31mred\r"), "\\x1b[31mred\\r");
        assert_eq!(escape_controls("plain é"), "plain é");
        assert_eq!(escape_controls_keep_lines("a\nb\x07"), "a\nb\\x07");
        assert_eq!(escape_controls("\u{202e}x"), "\\u{202e}x");
    }
}
