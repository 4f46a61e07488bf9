//! `kz validate`: rules over kamiwaza.json (metadata), the App Garden compose file (compose) and
//! the catalogue gate (registry), each with a stable id and a severity. Rules return findings;
//! they never print and never fail on a value of the wrong type (that is a finding too).

mod compose;
#[cfg(all(test, feature = "compat-tests"))]
mod corpus_tests;
mod gate;
mod imagefmt;
mod metadata;
mod rules;
#[cfg(test)]
mod testutil;

pub use rules::{Rule, RULES};

use crate::settings::Settings;
use crate::workspace::{Extension, Workspace};
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Worth knowing, never a failure (only Synapse rules use it).
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One problem found. `file` is relative to the workspace root (`apps/x/kamiwaza.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub extension: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

/// Everything `kz validate` found, in extension order then file and line order (Synapse apps
/// after the extensions).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub extensions: usize,
    /// Synapse app folders and manifest files checked (`synapse::lint`).
    pub synapse_apps: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }

    pub fn infos(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .count()
    }
}

/// Collects findings for one extension; rules call `error`/`warning` with a rule id.
pub(crate) struct Sink<'a> {
    pub(crate) extension: &'a Extension,
    pub(crate) root: &'a Path,
    pub(crate) findings: Vec<Finding>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(extension: &'a Extension, root: &'a Path) -> Self {
        Sink {
            extension,
            root,
            findings: Vec::new(),
        }
    }

    /// Record a finding of `rule` (its severity comes from the rule table) in `file` (a name
    /// inside the extension folder) at `line`.
    pub(crate) fn push(
        &mut self,
        rule: &'static str,
        file: &str,
        line: Option<u32>,
        message: String,
    ) {
        let severity = rules::severity_of(rule);
        self.push_with(rule, severity, file, line, message);
    }

    pub(crate) fn push_with(
        &mut self,
        rule: &'static str,
        severity: Severity,
        file: &str,
        line: Option<u32>,
        message: String,
    ) {
        let path = self.extension.path.join(file);
        let file = path
            .strip_prefix(self.root)
            .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
        self.findings.push(Finding {
            rule,
            severity,
            extension: self.extension.rel(),
            file,
            line,
            message,
        });
    }
}

/// Validate the chosen extensions of `ws`. Cross-extension rules (duplicate preview images)
/// look at every extension of the workspace, as the catalogue gate does.
pub fn validate(ws: &Workspace, chosen: &[&Extension], settings: &Settings) -> Report {
    let mut findings = Vec::new();
    // Each kamiwaza.json is read once: the metadata rules hand it to the compose rules and keep
    // what the catalogue gate compares.
    let per_extension = crate::par::map(chosen, |ext| {
        let mut sink = Sink::new(ext, &ws.root);
        let manifest = metadata::check(&mut sink, settings);
        compose::check(&mut sink, manifest.as_ref());
        let entry = manifest
            .as_ref()
            .and_then(|m| gate::Entry::from_manifest(ext, m));
        (sink.findings, entry)
    });
    let mut known = Vec::new();
    for (found, entry) in per_extension {
        findings.extend(found);
        known.extend(entry);
    }
    findings.extend(gate::check_workspace(ws, chosen, known));
    sort_findings(&mut findings, chosen);
    for skipped in &ws.skipped {
        findings.push(Finding {
            rule: "workspace/symlink",
            severity: rules::severity_of("workspace/symlink"),
            extension: skipped.rel.clone(),
            file: skipped.rel.clone(),
            line: None,
            message: format!("`{}` is {}", skipped.rel, skipped.reason),
        });
    }
    Report {
        extensions: chosen.len(),
        synapse_apps: 0,
        findings,
    }
}

/// Extension order (as chosen), then file, then line; stable, so findings on one line keep the
/// order the rules ran in. Findings of unknown extensions (skipped folders) go last.
fn sort_findings(findings: &mut [Finding], chosen: &[&Extension]) {
    let order: std::collections::HashMap<String, usize> = chosen
        .iter()
        .enumerate()
        .map(|(i, e)| (e.rel(), i))
        .collect();
    let position = |f: &Finding| order.get(&f.extension).copied().unwrap_or(usize::MAX);
    findings.sort_by_cached_key(|f| (position(f), f.file.clone(), f.line));
}

/// A value quoted for a message: in backticks, control characters escaped, long text shortened.
pub(crate) fn code(text: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::from("`");
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

/// A file that could not be read, as a finding's line and message.
pub(crate) fn read_problem(file: &str, err: &crate::error::Error) -> (Option<u32>, String) {
    use crate::error::Error;
    match err {
        Error::TooLarge { limit, .. } => (
            None,
            format!(
                "{file} is larger than {} KiB, the most kz reads",
                limit / 1024
            ),
        ),
        Error::NotUtf8 { line, .. } => (
            u32::try_from(*line).ok(),
            format!("{file} is not valid UTF-8"),
        ),
        other => {
            let cause = std::error::Error::source(other)
                .map_or_else(|| other.to_string(), ToString::to_string);
            (None, format!("cannot read {file}: {cause}"))
        }
    }
}
