//! The printer: stdout carries data (`--json`, diffs, tables), stderr carries progress and
//! messages. The only place that renders errors (`error:`, causes, `hint:`).

use anstream::{eprintln, print, println};
use anstyle::{AnsiColor, Style};
use std::borrow::Cow;

/// Text as it may be shown: every credential masked (`util::redact`), every control character but
/// newlines and tabs escaped (`util::text`).
fn shown(text: &str) -> String {
    match crate::util::redact::redact(text) {
        Cow::Borrowed(t) => crate::util::text::escape_controls_keep_lines(t).into_owned(),
        Cow::Owned(t) => crate::util::text::escape_controls_keep_lines(&t).into_owned(),
    }
}

/// Data as it may be shown: credentials masked, the bytes otherwise as they are (JSON and diffs
/// carry their own escapes).
fn masked(text: &str) -> String {
    let text = crate::util::redact::redact(text);
    crate::util::text::defuse_commands(&text).into_owned()
}

/// A value as a one-line human-readable field: every control character (newlines too) escaped.
pub(crate) fn field(value: &str) -> Cow<'_, str> {
    crate::util::text::escape_controls(value)
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const NOTE: Style = AnsiColor::Cyan.on_default().bold();
const OK: Style = AnsiColor::Green.on_default().bold();
const DIM: Style = Style::new().dimmed();

/// `1 error`, `3 errors`: a count with its noun, for summaries.
pub(crate) fn count(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("{n} {noun}"),
        // repository -> repositories (a vowel before the y keeps it: key -> keys)
        (_, Some(stem)) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Output {
    quiet: bool,
}

impl Output {
    pub fn new(quiet: bool) -> Self {
        Output { quiet }
    }

    /// Whether `--quiet` was given.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// `text` as a progress bar may show it (credentials masked, control characters escaped).
    pub fn progress_text(&self, text: &str) -> String {
        shown(text)
    }

    /// A data line on stdout.
    pub fn data(&self, line: &str) {
        println!("{}", masked(line));
    }

    /// A line of kz's own GitHub Actions commands (`--format github`) on stdout: credentials
    /// masked, the values inside already escaped by the printer.
    pub fn annotation(&self, line: &str) {
        println!("{}", crate::util::redact::redact(line));
    }

    /// Text on stdout as it is (it carries its own newlines).
    pub fn raw(&self, text: &str) {
        print!("{}", masked(text));
    }

    /// A progress or status line on stderr (hidden by `--quiet`).
    pub fn status(&self, line: &str) {
        if !self.quiet {
            eprintln!("{}", shown(line));
        }
    }

    /// `verb` in green, then the rest: "   Wrote apps/x/...".
    pub fn done(&self, verb: &str, rest: &str) {
        if !self.quiet {
            eprintln!("{OK}{verb:>9}{OK:#} {}", shown(rest));
        }
    }

    /// `verb` in red, then the rest: "   FAILED apps/x backend pytest". Shown even with --quiet.
    pub fn failed(&self, verb: &str, rest: &str) {
        eprintln!("{ERROR}{verb:>9}{ERROR:#} {}", shown(rest));
    }

    /// Bytes on stderr as they are (a container's output), flushed at once.
    pub fn stderr_bytes(&self, bytes: &[u8]) {
        use std::io::Write;
        let mut err = anstream::stderr().lock();
        let text = String::from_utf8_lossy(bytes);
        let _ = err.write_all(masked(&text).as_bytes());
        let _ = err.flush();
    }

    /// A warning on stderr (hidden by `--quiet`, which prints only errors and data).
    pub fn warn(&self, message: &str) {
        if self.quiet {
            return;
        }
        eprintln!("{WARN}warning{WARN:#}: {}", shown(message));
    }

    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{NOTE}note{NOTE:#}: {}", shown(message));
        }
    }

    pub fn dim(&self, message: &str) -> String {
        format!("{DIM}{message}{DIM:#}")
    }

    pub fn styled(&self, severity: crate::validate::Severity) -> String {
        match severity {
            crate::validate::Severity::Error => format!("{ERROR}error{ERROR:#}"),
            crate::validate::Severity::Warning => format!("{WARN}warning{WARN:#}"),
            crate::validate::Severity::Info => format!("{NOTE}info{NOTE:#}"),
        }
    }

    /// Render a borrowed error (say, one of many kept in a summary) with its causes and hint.
    pub fn error_of(&self, err: &(dyn std::error::Error + 'static), hint: Option<&str>) {
        eprintln!("{ERROR}error{ERROR:#}: {}", shown(&err.to_string()));
        let mut cause = err.source();
        while let Some(c) = cause {
            eprintln!("  {DIM}caused by:{DIM:#} {}", shown(&c.to_string()));
            cause = c.source();
        }
        if let Some(hint) = hint {
            eprintln!("{NOTE}hint{NOTE:#}: {}", shown(hint));
        }
    }

    /// Render an error with its chain of causes and an optional hint.
    pub fn error(&self, err: &anyhow::Error, hint: Option<&str>) {
        eprintln!("{ERROR}error{ERROR:#}: {}", shown(&err.to_string()));
        for cause in err.chain().skip(1) {
            eprintln!("  {DIM}caused by:{DIM:#} {}", shown(&cause.to_string()));
        }
        if let Some(hint) = hint {
            eprintln!("{NOTE}hint{NOTE:#}: {}", shown(hint));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_take_english_plurals() {
        assert_eq!(count(1, "image"), "1 image");
        assert_eq!(count(2, "image"), "2 images");
        assert_eq!(count(0, "repository"), "0 repositories");
        assert_eq!(count(1, "repository"), "1 repository");
        assert_eq!(count(3, "key"), "3 keys");
    }
}
