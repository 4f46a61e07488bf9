//! The Synapse lint: every `synapse/*` rule over a manifest (`check_bytes`: the file, or an image
//! label) and over an app folder (`check_app`: the manifest plus the Dockerfile and sources).
//! Rules return findings in the shape `kz validate` prints; nothing here prints or fails on a
//! value of the wrong type (that is a finding too).

mod checks;
pub(crate) use checks::split_image;
mod project;
mod scan;
mod schema;
#[cfg(test)]
mod tests;

use super::manifest::{self, FILE_NAME};
use super::rules::severity_of;
use super::Target;
use crate::validate::{self, Finding};
use crate::yaml::Node;
use std::path::Path;

/// Findings for one manifest, with its file name and the app they belong to.
pub(crate) struct Sink {
    app: String,
    file: String,
    pub(crate) findings: Vec<Finding>,
}

impl Sink {
    pub(crate) fn new(app: &str, file: &str) -> Sink {
        Sink {
            app: app.to_owned(),
            file: file.to_owned(),
            findings: Vec::new(),
        }
    }

    /// A finding of `rule` in the manifest at `line` (0 = no line).
    pub(crate) fn push(&mut self, rule: &'static str, line: u32, message: String) {
        let file = self.file.clone();
        self.push_in(rule, &file, line, message);
    }

    /// A finding at a node of the manifest.
    pub(crate) fn at(&mut self, rule: &'static str, node: &Node, message: String) {
        self.push(rule, node.mark.line, message);
    }

    /// A finding in another file of the app (`file` as it is displayed).
    pub(crate) fn push_in(&mut self, rule: &'static str, file: &str, line: u32, message: String) {
        self.findings.push(Finding {
            rule,
            severity: severity_of(rule),
            extension: self.app.clone(),
            file: file.to_owned(),
            line: (line > 0).then_some(line),
            message,
        });
    }
}

/// Lint manifest bytes. `app` names the app in findings (a folder, an image), `file` is how the
/// manifest is displayed. Returns the findings in line order, and the tree when it parsed.
pub fn check_bytes(bytes: &[u8], app: &str, file: &str, target: &Target) -> Vec<Finding> {
    let mut sink = Sink::new(app, file);
    check_into(&mut sink, bytes, target);
    sort(&mut sink.findings);
    sink.findings
}

fn check_into(sink: &mut Sink, bytes: &[u8], target: &Target) -> Option<Node> {
    let path = Path::new(FILE_NAME);
    let text = match manifest::text_of(path, bytes) {
        Ok(text) => text,
        Err(err) => {
            let (line, message) = validate::read_problem(&sink.file.clone(), &err);
            sink.push("synapse/unreadable", line.unwrap_or(0), message);
            return None;
        }
    };
    let root = match crate::yaml::load(&text, &manifest::LIMITS) {
        Ok(Some(root)) => root,
        Ok(None) => {
            sink.push(
                "synapse/not-mapping",
                0,
                "the manifest is empty; it must be a mapping (apiVersion, kind, metadata…)"
                    .to_owned(),
            );
            return None;
        }
        Err(err) => {
            let line = match &err {
                crate::yaml::YamlError::Syntax { line, .. }
                | crate::yaml::YamlError::TooManyNodes { line, .. }
                | crate::yaml::YamlError::TooDeep { line, .. }
                | crate::yaml::YamlError::UnknownAlias { line, .. }
                | crate::yaml::YamlError::BadMerge { line } => *line,
                crate::yaml::YamlError::MultipleDocuments { .. } => 0,
            };
            let rule = if matches!(err, crate::yaml::YamlError::MultipleDocuments { .. }) {
                "synapse/not-mapping"
            } else {
                "synapse/invalid-yaml"
            };
            sink.push(rule, line, err.to_string());
            return None;
        }
    };
    if root.as_map().is_none() {
        sink.at(
            "synapse/not-mapping",
            &root,
            format!("the manifest is {}; it must be a mapping", root.kind()),
        );
        return None;
    }
    scan::check(sink, &root, &text);
    schema::check(sink, &root);
    checks::check(sink, &root, target);
    Some(root)
}

/// Lint an app folder: its synapse-app.yaml (displayed as `<display>/synapse-app.yaml`), then the
/// Dockerfile and sources next to it.
pub fn check_app(dir: &Path, display: &str, target: &Target) -> Vec<Finding> {
    let join = |name: &str| {
        if display.is_empty() || display == "." {
            name.to_owned()
        } else {
            format!("{}/{name}", display.trim_end_matches('/'))
        }
    };
    let app = if display.is_empty() { "." } else { display };
    let mut sink = Sink::new(app, &join(FILE_NAME));
    let path = dir.join(FILE_NAME);
    let root = match manifest::read_bytes(&path) {
        Ok(bytes) => check_into(&mut sink, &bytes, target),
        Err(err) => {
            let (line, message) = validate::read_problem(FILE_NAME, &err);
            sink.push("synapse/unreadable", line.unwrap_or(0), message);
            None
        }
    };
    project::check(&mut sink, dir, &join, root.as_ref());
    sort(&mut sink.findings);
    sink.findings
}

/// Lint a manifest file on its own (no folder checks): `kz validate some/file.yaml`.
pub fn check_file(path: &Path, display: &str, target: &Target) -> Vec<Finding> {
    match manifest::read_bytes(path) {
        Ok(bytes) => check_bytes(&bytes, display, display, target),
        Err(err) => {
            let mut sink = Sink::new(display, display);
            let (line, message) = validate::read_problem(display, &err);
            sink.push("synapse/unreadable", line.unwrap_or(0), message);
            sink.findings
        }
    }
}

/// File, then line; stable, so findings on one line keep the order the rules ran in.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
}

/// A dotted path for messages: `network.health.path`, `runtime.volumes[1].host`.
pub(crate) fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Is `s` a valid slug (`^[a-z][a-z0-9-]{1,62}$`)?
pub fn is_slug(s: &str) -> bool {
    schema::SLUG.is_match(s)
}
