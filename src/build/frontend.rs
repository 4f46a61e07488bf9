//! Dockerfile features the engine's built-in frontend (Docker 20.10's dockerfile.v0) does not
//! know, found before the build so the error names the file, the line and the fix instead of
//! BuildKit's "unknown instruction". A Dockerfile that picks its frontend with a `# syntax=`
//! line is not checked: that frontend decides.
//!
//! The built-in frontend knows `FROM --platform`, `RUN --mount` (cache, secret, bind, tmpfs,
//! ssh), `COPY --from/--chown/--chmod` and `ADD --chown/--chmod`; anything else is refused here:
//! heredocs, `COPY --link`, `RUN --network`, `COPY --exclude`, `ADD --checksum`, ….

use super::{BuildTarget, Dockerfile};
use crate::error::Error;
use std::path::PathBuf;

/// Flags the built-in frontend accepts, per instruction.
fn known_flags(instruction: &str) -> &'static [&'static str] {
    match instruction {
        "FROM" => &["platform"],
        "RUN" => &["mount"],
        "COPY" => &["from", "chown", "chmod"],
        "ADD" => &["chown", "chmod"],
        _ => &[],
    }
}

/// The Dockerfile's text and the file (and line offset) errors name.
fn text_of(target: &BuildTarget) -> Result<(PathBuf, String, u32), Error> {
    Ok(match &target.dockerfile {
        Dockerfile::Path(p) => (
            p.clone(),
            crate::fsx::read_text(p, crate::fsx::MAX_TEXT_FILE)?,
            0,
        ),
        // An inline Dockerfile's lines are counted from the `build:` line of the compose file.
        Dockerfile::Inline(t) => (target.origin.file.clone(), t.clone(), target.origin.line),
    })
}

/// Whether any instruction is a `RUN` (which needs an emulator for a foreign platform).
pub(super) fn has_run(target: &BuildTarget) -> Result<bool, Error> {
    let (_, text, _) = text_of(target)?;
    Ok(text.lines().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("RUN"))
    }))
}

/// Refuse what the built-in frontend cannot build, naming file:line, the feature and the fix.
pub(super) fn check(target: &BuildTarget) -> Result<(), Error> {
    let (file, text, line_offset): (PathBuf, String, u32) = match &target.dockerfile {
        Dockerfile::Path(p) => (
            p.clone(),
            crate::fsx::read_text(p, crate::fsx::MAX_TEXT_FILE)?,
            0,
        ),
        // An inline Dockerfile's lines are counted from the `build:` line of the compose file.
        Dockerfile::Inline(t) => (target.origin.file.clone(), t.clone(), target.origin.line),
    };
    match find(&text) {
        None => Ok(()),
        Some((line, feature)) => Err(Error::invalid(
            &file,
            format!(
                "line {}: {feature} needs a newer Dockerfile frontend than the engine's built-in \
                 one; put `# syntax=docker/dockerfile:1` as the first line of the Dockerfile \
                 (on an engine that can pull docker/dockerfile:1)",
                line + line_offset
            ),
        )),
    }
}

/// The first unsupported feature: (1-based line, what it is).
fn find(text: &str) -> Option<(u32, String)> {
    let lines: Vec<&str> = text.lines().collect();
    // Parser directives come first, before any other line.
    for l in &lines {
        let t = l.trim();
        let Some(rest) = t.strip_prefix('#') else {
            break;
        };
        if let Some((k, _)) = rest.split_once('=') {
            if k.trim().eq_ignore_ascii_case("syntax") {
                return None;
            }
        } else {
            break;
        }
    }
    let heredoc = regex::Regex::new(r#"<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?"#).ok()?;
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let first = lines[i].trim_start();
        if first.is_empty() || first.starts_with('#') {
            i += 1;
            continue;
        }
        // Join continuation lines (a trailing backslash).
        let mut full = String::new();
        loop {
            let l = lines[i].trim_end();
            i += 1;
            if let Some(body) = l.strip_suffix('\\') {
                full.push_str(body);
                full.push(' ');
                if i >= lines.len() {
                    break;
                }
            } else {
                full.push_str(l);
                break;
            }
        }
        let line = u32::try_from(start + 1).unwrap_or(u32::MAX);
        let mut words = full.split_whitespace();
        let Some(instruction) = words.next().map(str::to_ascii_uppercase) else {
            continue;
        };
        if matches!(instruction.as_str(), "RUN" | "COPY" | "ADD") && heredoc.is_match(&full) {
            return Some((line, format!("a heredoc in `{instruction}`")));
        }
        for w in words {
            let Some(flag) = w.strip_prefix("--") else {
                break;
            };
            let name = flag.split('=').next().unwrap_or(flag);
            if !known_flags(&instruction).contains(&name) {
                return Some((line, format!("`{instruction} --{name}`")));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn what_the_built_in_frontend_lacks() {
        assert_eq!(find("FROM busybox\nRUN --mount=type=cache,target=/c true\nCOPY --chmod=0600 --from=a x /x\n"), None);
        assert_eq!(
            find("FROM busybox\nRUN <<EOF\necho hi\nEOF\n"),
            Some((2, "a heredoc in `RUN`".into()))
        );
        assert_eq!(
            find("FROM busybox\n\nCOPY --link a /a\n"),
            Some((3, "`COPY --link`".into()))
        );
        assert_eq!(
            find("FROM busybox\nRUN echo a \\\n  && true\nrun --network=none true\n"),
            Some((4, "`RUN --network`".into()))
        );
        assert_eq!(
            find("# syntax=docker/dockerfile:1\nFROM busybox\nCOPY --link a /a\n"),
            None
        );
        assert_eq!(
            find("# escape=`\nFROM busybox\nADD --checksum=sha256:ab x /x\n"),
            Some((3, "`ADD --checksum`".into()))
        );
        // A flag-like word after the command is the command's, not the instruction's.
        assert_eq!(find("FROM busybox\nRUN ls --link\n"), None);
    }
}
