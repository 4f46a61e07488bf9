//! `kz validate --format sarif`: a report as one SARIF 2.1.0 log (what code-scanning dashboards
//! read). The driver's rules are the whole rule registry (`all_rules`, the table `--list-rules`
//! prints), so a rule added there appears here without more work. Each result names its file
//! (relative to the workspace root, `uriBaseId` `SRCROOT`), line and column; accepted findings
//! are results with a SARIF suppression (`inSource` for `# kz-allow`, `external` for kz.yaml).
//!
//! Findings carry lines, not columns: the column is that of the first non-blank character of
//! the finding's line (where the key or list item the finding names starts in kamiwaza.json
//! and compose files), read from the file; 1 when the file cannot be read.

use super::{all_rules, AcceptKind, Finding, Report, Rule, Severity};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

/// Where SARIF readers learn the format.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A rule as a SARIF reportingDescriptor: id, summary, help text and default level.
fn descriptor(rule: &Rule) -> Value {
    let help = format!(
        "{}.\n\nSeverity: {}. Accept a finding on purpose with `# kz-allow {}: <reason>` on its line (YAML files, Dockerfiles) or a kz.yaml `validate.accept` entry; `kz validate --list-rules` lists every rule.",
        rule.summary, rule.severity, rule.id
    );
    json!({
        "id": rule.id,
        "name": rule.id,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": format!("{}.", rule.summary) },
        "help": { "text": help },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": { "tags": [rule.id.split('/').next().unwrap_or_default()] },
    })
}

/// The report as a SARIF log. `bases` are the folders finding paths are relative to, tried in
/// order when a column is looked up (the workspace root, then the current folder).
pub fn log(report: &Report, bases: &[&Path]) -> Value {
    let rules: Vec<&Rule> = all_rules().collect();
    let index: HashMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let mut files = FileCache::new(bases);
    let mut results = Vec::new();
    for f in &report.findings {
        results.push(result(f, &index, &mut files));
    }
    for a in &report.accepted {
        let mut r = result(&a.finding, &index, &mut files);
        let kind = match a.kind {
            AcceptKind::InSource => "inSource",
            AcceptKind::External => "external",
        };
        r["suppressions"] = json!([{
            "kind": kind,
            "status": "accepted",
            "justification": a.reason,
            "properties": { "acceptedAt": a.accepted_at },
        }]);
        results.push(r);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kz",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| descriptor(r)).collect::<Vec<_>>(),
            }},
            "columnKind": "utf16CodeUnits",
            "results": results,
        }],
    })
}

fn result(f: &Finding, index: &HashMap<&str, usize>, files: &mut FileCache<'_>) -> Value {
    let mut region = serde_json::Map::new();
    if let Some(line) = f.line {
        region.insert("startLine".into(), line.into());
        region.insert("startColumn".into(), files.column(&f.file, line).into());
    }
    let mut physical = json!({
        "artifactLocation": { "uri": uri(&f.file), "uriBaseId": "SRCROOT" },
    });
    if !region.is_empty() {
        physical["region"] = Value::Object(region);
    }
    let mut r = json!({
        "ruleId": f.rule,
        "level": level(f.severity),
        "message": { "text": f.message },
        "locations": [{ "physicalLocation": physical }],
        "properties": { "extension": f.extension },
    });
    if let Some(i) = index.get(f.rule) {
        r["ruleIndex"] = (*i).into();
    }
    r
}

/// A relative path as a URI reference: `/`-separated, each segment percent-encoded.
fn uri(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    path.replace('\\', "/")
        .split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// File texts read once each, for columns.
struct FileCache<'b> {
    bases: &'b [&'b Path],
    texts: HashMap<String, Option<String>>,
}

impl<'b> FileCache<'b> {
    fn new(bases: &'b [&'b Path]) -> Self {
        FileCache {
            bases,
            texts: HashMap::new(),
        }
    }

    /// 1-based column (UTF-16 code units) of the first non-blank character of `line`.
    fn column(&mut self, file: &str, line: u32) -> u32 {
        let bases = self.bases;
        let text = self.texts.entry(file.to_owned()).or_insert_with(|| {
            bases
                .iter()
                .map(|b| b.join(file))
                .find(|p| p.is_file())
                .and_then(|p| crate::fsx::read_text(&p, crate::fsx::MAX_TEXT_FILE).ok())
        });
        let Some(text) = text else { return 1 };
        let Some(l) = text.lines().nth(line.saturating_sub(1) as usize) else {
            return 1;
        };
        let blank: usize = l
            .chars()
            .take_while(|c| c.is_whitespace())
            .map(char::len_utf16)
            .sum();
        u32::try_from(blank + 1).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_per_segment() {
        assert_eq!(
            uri("apps/my app/kamiwaza.json"),
            "apps/my%20app/kamiwaza.json"
        );
        assert_eq!(uri("apps/a#b/x.yml"), "apps/a%23b/x.yml");
    }

    #[test]
    fn every_registry_rule_is_a_descriptor() {
        let log = log(&Report::default(), &[]);
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .expect("rules")
            .len();
        assert_eq!(rules, all_rules().count());
    }
}
