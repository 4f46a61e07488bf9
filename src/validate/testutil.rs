//! Test fixtures: small workspaces written into temp folders, a valid baseline kamiwaza.json and
//! App Garden file, and a helper that lists the rule ids reported for one extension.

use super::{validate, Report};
use crate::settings::Settings;
use crate::workspace::Workspace;
use std::path::Path;

/// A valid App Garden file: one service with an image and resource limits.
pub(crate) const GOOD_COMPOSE: &str = "services:
  s:
    image: kamiwazaai/x:1.0.0
    deploy:
      resources:
        limits:
          cpus: \"1\"
";

/// Baseline fields, in order; values are JSON text.
const BASE: [(&str, &str); 7] = [
    ("version", "\"1.0.0\""),
    ("kamiwaza_version", "\">=0.9.0\""),
    ("source_type", "\"kamiwaza\""),
    ("visibility", "\"public\""),
    ("description", "\"d\""),
    ("risk_tier", "1"),
    ("verified", "false"),
];

/// A valid kamiwaza.json named `name`, one key per line (`name` on line 2), with `edits`
/// applied: `Some(json)` replaces a value in place or appends the key, `None` removes it.
pub(crate) fn manifest(name: &str, edits: &[(&str, Option<&str>)]) -> String {
    let name_json = format!("\"{name}\"");
    let mut fields: Vec<(String, Option<String>)> = std::iter::once(("name", name_json.as_str()))
        .chain(BASE)
        .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
        .collect();
    for (key, value) in edits {
        let value = value.map(str::to_owned);
        match fields.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => fields.push(((*key).to_owned(), value)),
        }
    }
    let body: Vec<String> = fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("  \"{k}\": {v}")))
        .collect();
    format!("{{\n{}\n}}\n", body.join(",\n"))
}

pub(crate) struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Write `text` to `rel` (parents created).
    pub(crate) fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.root().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
        self
    }

    pub(crate) fn mkdir(&self, rel: &str) -> &Self {
        std::fs::create_dir_all(self.root().join(rel)).expect("mkdir");
        self
    }

    /// An extension folder `rel` (`apps/x`) with `manifest` and a valid App Garden file.
    fn extension(&self, rel: &str, manifest: &str) -> &Self {
        self.write(&format!("{rel}/kamiwaza.json"), manifest);
        self.write(&format!("{rel}/docker-compose.appgarden.yml"), GOOD_COMPOSE)
    }

    pub(crate) fn app(&self, rel: &str, manifest: &str) -> &Self {
        self.extension(rel, manifest)
    }

    pub(crate) fn service(&self, rel: &str, manifest: &str) -> &Self {
        self.extension(rel, manifest)
    }

    pub(crate) fn tool(&self, rel: &str, manifest: &str) -> &Self {
        self.extension(rel, manifest)
    }

    pub(crate) fn workspace(&self) -> Workspace {
        Workspace::open(self.root(), None).expect("workspace")
    }

    pub(crate) fn report(&self) -> Report {
        self.report_with(&Settings::default())
    }

    pub(crate) fn report_with(&self, settings: &Settings) -> Report {
        let ws = self.workspace();
        let all: Vec<_> = ws.extensions.iter().collect();
        validate(&ws, &all, settings)
    }
}

/// The rule ids reported for extension `ext` (`apps/x`) whose id starts with `prefix`, sorted.
pub(crate) fn rules_of(report: &Report, ext: &str, prefix: &str) -> Vec<&'static str> {
    let mut rules: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.extension == ext && f.rule.starts_with(prefix))
        .map(|f| f.rule)
        .collect();
    rules.sort_unstable();
    rules
}

/// The findings for `ext` whose rule starts with `prefix`, as `rule line message` lines (for
/// assertion messages).
pub(crate) fn dump(report: &Report, ext: &str) -> String {
    report
        .findings
        .iter()
        .filter(|f| f.extension == ext)
        .map(|f| format!("{} {:?} {}", f.rule, f.line, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}
