//! Accepted findings: kz.yaml's `validate.accept` list (`{rule, extension, path?, reason}`) and
//! inline `# kz-allow RULE: reason` comments in the YAML files and Dockerfiles of an extension.
//!
//! An inline comment accepts the findings of RULE on its own line, or, when the comment stands
//! on a line of its own, on the next line that is neither blank nor a comment (so several
//! comments can be stacked above one line). A `#` counts as a comment when it starts the line or
//! follows a space, as in YAML and Dockerfiles. Accepted findings move from the report's
//! findings to its accepted list, so they never change the exit status; an acceptance that
//! matches nothing is itself a warning (`workspace/unused-acceptance`), and a comment that names
//! no known rule or gives no reason is `workspace/bad-acceptance`.

use super::{rules::severity_of, Finding};
use crate::settings::{Acceptance, Settings};
use crate::workspace::Extension;
use serde::Serialize;
use std::path::Path;

/// Where an acceptance was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcceptKind {
    /// A `# kz-allow` comment in the file itself (SARIF `inSource`).
    InSource,
    /// An entry of kz.yaml's `validate.accept` (SARIF `external`).
    External,
}

/// A finding accepted on purpose, with the reason and where the acceptance is written
/// (`kz.yaml:7`, `apps/x/docker-compose.appgarden.yml:12`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Accepted {
    #[serde(flatten)]
    pub finding: Finding,
    pub kind: AcceptKind,
    pub reason: String,
    pub accepted_at: String,
}

/// One `# kz-allow` comment: the file (workspace-relative), its own line, the line it accepts.
struct Comment {
    extension: String,
    file: String,
    line: u32,
    target: u32,
    rule: String,
    reason: String,
    used: bool,
}

/// Split `findings` into those still standing and those accepted, and add the warnings about
/// acceptances that matched nothing or are malformed.
pub(crate) fn apply(
    findings: Vec<Finding>,
    root: &Path,
    chosen: &[&Extension],
    settings: &Settings,
) -> (Vec<Finding>, Vec<Accepted>) {
    let mut warnings = Vec::new();
    let mut comments = Vec::new();
    for ext in chosen {
        scan_extension(ext, root, &mut comments, &mut warnings);
    }
    let entries: Vec<(&Acceptance, bool)> = settings
        .accept
        .iter()
        .filter(|a| chosen.iter().any(|e| names(e, &a.extension)))
        .map(|a| (a, false))
        .collect();
    let mut entries = entries;
    let settings_file = settings
        .file
        .as_ref()
        .and_then(|f| f.strip_prefix(root).ok())
        .map_or_else(|| "kz.yaml".to_owned(), |p| p.display().to_string());
    let mut standing = Vec::new();
    let mut accepted = Vec::new();
    for finding in findings {
        let inline = comments.iter_mut().find(|c| {
            c.rule == finding.rule && c.file == finding.file && Some(c.target) == finding.line
        });
        if let Some(c) = inline {
            c.used = true;
            accepted.push(Accepted {
                kind: AcceptKind::InSource,
                reason: c.reason.clone(),
                accepted_at: format!("{}:{}", c.file, c.line),
                finding,
            });
            continue;
        }
        let external = entries
            .iter_mut()
            .find(|(a, _)| matches_entry(a, &finding, chosen));
        if let Some((a, used)) = external {
            *used = true;
            accepted.push(Accepted {
                kind: AcceptKind::External,
                reason: a.reason.clone(),
                accepted_at: format!("{settings_file}:{}", a.line),
                finding,
            });
            continue;
        }
        standing.push(finding);
    }
    let unused = "workspace/unused-acceptance";
    for c in comments.iter().filter(|c| !c.used) {
        warnings.push(Finding {
            rule: unused,
            severity: severity_of(unused),
            extension: c.extension.clone(),
            file: c.file.clone(),
            line: Some(c.line),
            message: format!(
                "`# kz-allow {}` accepts nothing: no {} finding on line {}; remove the comment",
                c.rule, c.rule, c.target
            ),
        });
    }
    for (a, _) in entries.iter().filter(|(_, used)| !used) {
        let place = a
            .path
            .as_ref()
            .map_or_else(String::new, |p| format!(" in {p}"));
        warnings.push(Finding {
            rule: unused,
            severity: severity_of(unused),
            extension: a.extension.clone(),
            file: settings_file.clone(),
            line: Some(a.line),
            message: format!(
                "the acceptance of {} for {}{place} matches no finding; remove it from validate.accept",
                a.rule, a.extension
            ),
        });
    }
    standing.extend(warnings);
    (standing, accepted)
}

/// `name` (as written in kz.yaml) names `ext`: its `type/name` or its folder name.
fn names(ext: &Extension, name: &str) -> bool {
    ext.rel() == name || ext.dir_name == name
}

fn matches_entry(a: &Acceptance, f: &Finding, chosen: &[&Extension]) -> bool {
    if a.rule != f.rule {
        return false;
    }
    let Some(ext) = chosen.iter().find(|e| e.rel() == f.extension) else {
        return false;
    };
    if !names(ext, &a.extension) {
        return false;
    }
    match &a.path {
        None => true,
        Some(path) => f.file == format!("{}/{path}", ext.rel()),
    }
}

/// Folders never searched for comments.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "__pycache__",
    "target",
    "venv",
    "dist",
    "build",
];

/// Files that may hold `# kz-allow` comments: YAML and Dockerfiles.
fn commentable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yml")
        || lower.ends_with(".yaml")
        || lower.starts_with("dockerfile")
        || lower.ends_with(".dockerfile")
}

fn scan_extension(
    ext: &Extension,
    root: &Path,
    comments: &mut Vec<Comment>,
    warnings: &mut Vec<Finding>,
) {
    let walk = walkdir::WalkDir::new(&ext.path)
        .max_depth(4)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && (name.starts_with('.') || SKIP_DIRS.contains(&name.as_ref())))
        });
    for entry in walk.flatten() {
        if !entry.file_type().is_file() || !commentable(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let Ok(text) = crate::fsx::read_text(entry.path(), crate::fsx::MAX_TEXT_FILE) else {
            continue;
        };
        if !text.contains("kz-allow") {
            continue;
        }
        let file = entry.path().strip_prefix(root).map_or_else(
            |_| entry.path().display().to_string(),
            |p| p.display().to_string(),
        );
        scan_text(&text, &ext.rel(), &file, comments, warnings);
    }
}

/// The `# kz-allow` comments of one file.
fn scan_text(
    text: &str,
    extension: &str,
    file: &str,
    comments: &mut Vec<Comment>,
    warnings: &mut Vec<Finding>,
) {
    let lines: Vec<&str> = text.lines().collect();
    let comment_only = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = comment_start(line) else {
            continue;
        };
        let Some(rest) = line[at + 1..].trim_start().strip_prefix("kz-allow") else {
            continue;
        };
        let no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let target = if line[..at].trim().is_empty() {
            let next = lines[i + 1..].iter().position(|l| !comment_only(l));
            next.map_or(no, |n| u32::try_from(i + 2 + n).unwrap_or(u32::MAX))
        } else {
            no
        };
        let (rule, reason) = match rest.split_once(':') {
            Some((rule, reason)) => (rule.trim(), reason.trim()),
            None => (rest.trim(), ""),
        };
        let known = super::all_rules().any(|r| r.id == rule);
        if !known || reason.is_empty() || !rest.starts_with(char::is_whitespace) {
            let why = if known {
                "gives no reason"
            } else {
                "names no known rule"
            };
            let bad = "workspace/bad-acceptance";
            warnings.push(Finding {
                rule: bad,
                severity: severity_of(bad),
                extension: extension.to_owned(),
                file: file.to_owned(),
                line: Some(no),
                message: format!(
                    "this kz-allow comment {why}; write `# kz-allow RULE: reason` (`kz validate --list-rules` lists the rules)"
                ),
            });
            continue;
        }
        comments.push(Comment {
            extension: extension.to_owned(),
            file: file.to_owned(),
            line: no,
            target,
            rule: rule.to_owned(),
            reason: reason.to_owned(),
            used: false,
        });
    }
}

/// The byte offset of the `#` starting a comment that mentions kz-allow: at the start of the
/// line or after whitespace.
fn comment_start(line: &str) -> Option<usize> {
    line.match_indices('#').map(|(i, _)| i).find(|&i| {
        (i == 0 || line[..i].ends_with(char::is_whitespace))
            && line[i + 1..].trim_start().starts_with("kz-allow")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> (Vec<Comment>, Vec<Finding>) {
        let (mut c, mut w) = (Vec::new(), Vec::new());
        scan_text(text, "apps/a", "apps/a/f.yml", &mut c, &mut w);
        (c, w)
    }

    #[test]
    fn trailing_and_standalone_comments_find_their_lines() {
        let text = "services:\n  # kz-allow compose/host-port: demo only\n  # kz-allow compose/bind-mount: docker socket\n\n  s:  # kz-allow compose/resource-limits: tiny\n";
        let (c, w) = scan(text);
        assert!(w.is_empty());
        let got: Vec<(u32, u32, &str)> = c
            .iter()
            .map(|c| (c.line, c.target, c.rule.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, 5, "compose/host-port"),
                (3, 5, "compose/bind-mount"),
                (5, 5, "compose/resource-limits")
            ]
        );
        assert_eq!(c[0].reason, "demo only");
    }

    #[test]
    fn malformed_comments_are_warnings() {
        let text = "a: 1 # kz-allow compose/host-port\nb: 2 # kz-allow no/such-rule: x\nc: 'x#kz-allow compose/host-port: in a string'\n";
        let (c, w) = scan(text);
        assert!(c.is_empty());
        let lines: Vec<Option<u32>> = w.iter().map(|f| f.line).collect();
        assert_eq!(lines, [Some(1), Some(2)]);
        assert!(w[0].message.contains("gives no reason"), "{}", w[0].message);
        assert!(
            w[1].message.contains("names no known rule"),
            "{}",
            w[1].message
        );
        assert!(w.iter().all(|f| f.rule == "workspace/bad-acceptance"));
    }
}
