//! The JSON that scripts read, deserialised into structs that refuse unknown fields: an added,
//! renamed or removed field fails here, so a change of shape is always a decision.

use crate::harness::{fixtures, Ws};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateReport {
    extensions: u64,
    errors: u64,
    warnings: u64,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Finding {
    rule: String,
    severity: String,
    extension: Option<String>,
    file: String,
    line: Option<u64>,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListEntry {
    #[serde(rename = "type")]
    kind: String,
    dir: String,
    path: String,
    name: Option<String>,
    version: Option<String>,
    services: Vec<String>,
    images: Vec<String>,
    files: BTreeMap<String, bool>,
}

#[test]
fn validate_json_has_exactly_its_fields() {
    let ws = Ws::new();
    ws.copy_extensions(&fixtures().join("synthetic-input"));
    let run = ws.kz(&["validate", "--format", "json"]);
    run.code(1);
    let report: ValidateReport = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("validate --format json: {e}\n{}", run.stdout));
    assert_eq!(report.extensions, 5);
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == "error")
        .count() as u64;
    let warnings = report
        .findings
        .iter()
        .filter(|f| f.severity == "warning")
        .count() as u64;
    assert_eq!((report.errors, report.warnings), (errors, warnings));
    assert!(report.findings.iter().all(|f| f.rule.contains('/')
        && !f.message.is_empty()
        && f.file.starts_with(f.extension.as_deref().unwrap_or(""))));
    assert!(report.findings.iter().any(|f| f.line.is_some()));
}

#[test]
fn list_json_has_exactly_its_fields() {
    let ws = Ws::new();
    ws.copy_extensions(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"));
    std::fs::create_dir_all(ws.path("synapse")).expect("mkdir");
    ws.kz_in(
        "synapse",
        &["new", "synapse", "notes", "--framework", "static"],
    )
    .code(0);
    let run = ws.kz(&["list", "--json"]);
    run.code(0);
    let list: Vec<ListEntry> = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("list --json: {e}\n{}", run.stdout));
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|e| (e.kind.as_str(), e.path.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("app", "apps/team-notes"),
            ("service", "services/service-kv"),
            ("tool", "tools/tool-echo"),
            ("synapse", "synapse/notes")
        ]
    );
    for e in &list {
        assert!(e.path.ends_with(&e.dir), "{e:?}");
        assert_eq!(e.name.as_deref(), Some(e.dir.as_str()), "{e:?}");
        assert!(e.version.is_some(), "{e:?}");
        if e.kind == "synapse" {
            assert!(e.services.is_empty(), "{e:?}");
            assert_eq!(
                e.images,
                ["registry.local.datamaker.io/synapse_apps/notes:0.1.0"],
                "{e:?}"
            );
            assert_eq!(
                e.files.keys().collect::<Vec<_>>(),
                [
                    "appgarden",
                    "compose",
                    "dockerfile",
                    "manifest",
                    "readme",
                    "synapse_app"
                ]
            );
            continue;
        }
        assert!(!e.services.is_empty(), "{e:?}");
        assert!(
            e.images
                .iter()
                .all(|i| i.starts_with("kamiwazaai/") && i.ends_with(":0.1.0")),
            "{e:?}"
        );
        assert_eq!(
            e.files.keys().collect::<Vec<_>>(),
            ["appgarden", "compose", "dockerfile", "manifest", "readme"]
        );
    }
}
