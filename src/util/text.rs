//! Control characters escaped in human-readable output: a folder name or a kamiwaza.json value
//! holding a newline, an escape sequence or a carriage return is shown as `\n`, `\x1b`, `\r`, so it
//! can neither forge a line (a GitHub Actions `::error::` command, a fake `ok`) nor drive the
//! terminal.

use std::borrow::Cow;

/// `s` with every control character (newlines and tabs too) written as an escape.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    escape_where(s, |_| true)
}

/// `s` with every control character but `\n`, `\t` and kz's own colour codes (SGR sequences,
/// `ESC [ digits ; m`) written as an escape, and every line that a CI would read as a command
/// (GitHub Actions' `::name::`) defused with a leading backslash: for messages and text meant to
/// span lines (a diff, a build log).
pub fn escape_controls_keep_lines(s: &str) -> Cow<'_, str> {
    let escaped = escape_where(s, |c| c != '\n' && c != '\t');
    match defuse_commands(&escaped) {
        Cow::Borrowed(_) => escaped,
        Cow::Owned(o) => Cow::Owned(o),
    }
}

/// Lines starting (after blanks) with `::` get a backslash before them, so a value holding
/// `\n::error::` or `::add-mask::` cannot become a workflow command. kz's own annotations
/// (`--format github`) are printed without this.
pub fn defuse_commands(s: &str) -> Cow<'_, str> {
    let starts_command = |line: &str| line.trim_start().starts_with("::");
    if !s.split('\n').any(starts_command) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<String> = s
        .split('\n')
        .map(|line| {
            if starts_command(line) {
                format!("\\{}", line.trim_start())
            } else {
                line.to_owned()
            }
        })
        .collect();
    Cow::Owned(lines.join("\n"))
}

/// The length of an SGR colour sequence (`ESC [ 0-9;* m`) at the start of `rest`, if one is.
fn sgr_len(rest: &str) -> Option<usize> {
    let body = rest.strip_prefix("\x1b[")?;
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (body[end..].starts_with('m')).then_some(2 + end + 1)
}

fn escape_where(s: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    let is_bad = |c: char| (c.is_control() || is_bidi(c)) && escape(c);
    if !s.chars().any(is_bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut skip_to = 0;
    for (i, c) in s.char_indices() {
        if i < skip_to {
            out.push(c);
            continue;
        }
        // In keep-lines mode kz's own colours stay; any other escape sequence is escaped.
        if c == '\x1b' && !escape('\n') {
            if let Some(len) = sgr_len(&s[i..]) {
                skip_to = i + len;
                out.push(c);
                continue;
            }
        }
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
        assert_eq!(
            escape_controls_keep_lines("\x1b[1;31merror\x1b[0m \x1b]0;title\x07"),
            "\x1b[1;31merror\x1b[0m \\x1b]0;title\\x07"
        );
        assert_eq!(
            escape_controls_keep_lines("skipped apps/x\n  ::error::pwned"),
            "skipped apps/x\n\\::error::pwned"
        );
    }
}
