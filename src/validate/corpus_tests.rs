//! The corpus comparison: `validate()` over every corpus root of `shared/corpus/kamiwaza/` and
//! the synthetic inputs of `shared/corpus/reference-outputs/`, checked against what the reference
//! scripts printed before sync (`validate-metadata.pre.stdout`, `validate-compose.pre.stdout`)
//! and the build-registry gate's errors (`build-registry.*.stdout`):
//!
//! * every reference finding has a kz finding, for the same extension, of a rule the mapping
//!   table below gives for its message;
//! * an extension the reference passed (`✅`) gets no kz error of that script's group, unless
//!   listed in `KNOWN_DIFFERENCES` with the reason.
//!
//! The corpus is the folder `KZ_COMPAT_CORPUS` names (CI: `../shared/corpus`); this is part of
//! the compat lane (`--features compat-tests`) and fails when the folder is unset or missing
//! rather than passing vacuously.

use super::{validate, Report, Severity};
use crate::manifest::{Manifest, FILE_NAME};
use crate::settings::Settings;
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

type Mapping = &'static [(&'static str, &'static [&'static str])];

/// validate-metadata.py messages (matched as substrings, first match wins) → kz rules.
const METADATA: Mapping = &[
    ("No kamiwaza.json file found", &["metadata/missing"]),
    ("Invalid JSON:", &["metadata/invalid-json"]),
    ("Error reading file:", &["metadata/unreadable"]),
    ("Missing required field:", &["metadata/required-field"]),
    ("must be of type", &["metadata/field-type"]),
    ("Invalid version format:", &["metadata/version-format"]),
    // kz reports a value of the wrong type once, as field-type
    (
        "source_type must be one of",
        &["metadata/source-type", "metadata/field-type"],
    ),
    (
        "visibility must be one of",
        &["metadata/visibility", "metadata/field-type"],
    ),
    (
        "risk_tier must be 0, 1, or 2",
        &["metadata/risk-tier", "metadata/field-type"],
    ),
    (
        "Missing docker-compose.appgarden.yml (required for App Garden)",
        &["metadata/appgarden-missing"],
    ),
    (
        "docker-compose.appgarden.yml is empty",
        &["metadata/appgarden-empty"],
    ),
    (
        "Failed to read docker-compose.appgarden.yml",
        &["compose/unreadable"],
    ),
    ("'tags' must be a list", &["metadata/tags-type"]),
    (
        "'env_defaults' must be a dictionary",
        &["metadata/env-defaults-type"],
    ),
    ("required_env_vars", &["metadata/required-env-vars"]),
    ("capabilities", &["metadata/capabilities"]),
    ("preview_image", &["metadata/preview-image"]),
    (
        "Image tag contains stage suffix",
        &["metadata/image-stage-suffix"],
    ),
    ("Image tag has 'v' prefix", &["metadata/image-v-prefix"]),
    ("Image tag version", &["metadata/image-tag-mismatch"]),
    ("kamiwaza_version", &["metadata/kamiwaza-version"]),
    ("template_type must be", &["metadata/template-type"]),
    ("Service name must start with", &["metadata/service-prefix"]),
    ("Tool name must start with", &["metadata/tool-prefix"]),
    (
        "Tool must have either 'image' field or docker-compose file",
        &["metadata/tool-image-or-compose"],
    ),
    ("'image' must be a string", &["metadata/image-format"]),
    ("Invalid image format:", &["metadata/image-format"]),
];

/// validate-compose.py messages → kz rules. kz says "the App Garden file is missing" once: for
/// apps and services as a metadata finding, for tools as a compose finding.
const COMPOSE: Mapping = &[
    (
        "Missing docker-compose.appgarden.yml (using docker-compose.yml)",
        &["compose/appgarden-missing", "metadata/appgarden-missing"],
    ),
    (
        "No docker-compose file found",
        &[
            "compose/missing",
            "metadata/appgarden-missing",
            "metadata/tool-image-or-compose",
        ],
    ),
    ("Invalid YAML:", &["compose/invalid-yaml"]),
    ("Error reading file:", &["compose/unreadable"]),
    (
        "Empty compose file",
        &["compose/empty", "metadata/appgarden-empty"],
    ),
    ("No 'services' section found", &["compose/no-services"]),
    ("Invalid service definition", &["compose/service-type"]),
    ("includes host port", &["compose/host-port"]),
    ("Port has 'published' field", &["compose/host-port"]),
    ("Bind mount detected", &["compose/bind-mount"]),
    ("Has 'build' section", &["compose/build-section"]),
    ("extra_hosts", &["compose/extra-hosts"]),
    ("Missing resource limits", &["compose/resource-limits"]),
    ("Image must be a string", &["compose/image-format"]),
    (
        "Invalid image format",
        &["compose/image-format", "compose/image-variable"],
    ),
    (
        "driver_opts may reference host path",
        &["compose/volume-host-path"],
    ),
];

/// build-registry gate messages (after `<name>: `) → kz rules; the metadata rules cover all
/// per-entry checks (see gate.rs).
const GATE: Mapping = &[
    ("Missing required field '", &["metadata/required-field"]),
    (
        "Must have either 'image' or 'compose_yml'",
        &["metadata/tool-image-or-compose"],
    ),
    ("Missing 'compose_yml'", &["metadata/appgarden-missing"]),
    (
        "risk_tier must be 0, 1, or 2",
        &["metadata/risk-tier", "metadata/field-type"],
    ),
    (
        "template_type must be 'service'",
        &["metadata/template-type"],
    ),
    ("Duplicate preview_image", &["registry/duplicate-preview"]),
];

/// Extensions the reference passed where kz reports an error on purpose:
/// (corpus root, extension, rule, why).
const KNOWN_DIFFERENCES: &[(&str, &str, &str, &str)] = &[];

/// The corpus folder `$KZ_COMPAT_CORPUS` names (relative to the repository).
fn shared() -> PathBuf {
    let corpus = std::env::var_os("KZ_COMPAT_CORPUS")
        .map(PathBuf::from)
        .expect("KZ_COMPAT_CORPUS is not set: point it at the corpus (../shared/corpus in CI)");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join(corpus);
    assert!(
        corpus.join("kamiwaza").is_dir() && corpus.join("reference-outputs").is_dir(),
        "KZ_COMPAT_CORPUS={}: not a corpus (kamiwaza/ and reference-outputs/ expected)",
        corpus.display()
    );
    corpus
}

/// (corpus root, folder of its reference transcripts).
fn roots(shared: &Path) -> Vec<(PathBuf, PathBuf)> {
    let outputs = shared.join("reference-outputs");
    let mut roots: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(shared.join("kamiwaza"))
        .expect("list corpus/kamiwaza")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| (e.path(), outputs.join(e.file_name())))
        .collect();
    roots.sort();
    for synthetic in ["synthetic", "synthetic-ok"] {
        let dir = outputs.join(synthetic);
        roots.push((dir.join("input"), dir.join("output")));
    }
    roots
}

/// What a reference transcript says: findings per extension, and the extensions it passed.
#[derive(Default)]
struct Transcript {
    findings: Vec<(String, String)>,
    passed: Vec<String>,
}

fn is_extension(s: &str) -> bool {
    ["apps/", "services/", "tools/"]
        .iter()
        .any(|p| s.starts_with(p))
}

fn parse_validate(text: &str) -> Transcript {
    let mut t = Transcript::default();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("❌ ") {
            current = rest
                .strip_suffix(':')
                .filter(|e| is_extension(e))
                .map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("✅ ") {
            if is_extension(rest) {
                t.passed.push(rest.to_owned());
            }
        } else if let (Some(message), Some(ext)) = (line.strip_prefix("   - "), &current) {
            t.findings.push((ext.clone(), message.to_owned()));
        }
    }
    t
}

/// `  - <name>: <message>` lines after `Validation errors found:`, as (names, message): the
/// names of the entries the message is about (two for a duplicate preview).
fn parse_gate(text: &str) -> Vec<(Vec<String>, String)> {
    let Some((_, errors)) = text.split_once("Validation errors found:") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in errors.lines().filter_map(|l| l.strip_prefix("  - ")) {
        if line.starts_with("Duplicate preview_image") {
            let names = line.rsplit(" found in ").next().unwrap_or_default();
            let names = names
                .split(" and ")
                .map(|n| n.trim_matches('\'').to_owned())
                .collect();
            out.push((names, line.to_owned()));
        } else if let Some((name, message)) = line.split_once(": ") {
            out.push((vec![name.to_owned()], message.to_owned()));
        }
    }
    out
}

fn rules_for(mapping: Mapping, message: &str) -> Option<&'static [&'static str]> {
    mapping
        .iter()
        .find(|(pattern, _)| message.contains(pattern))
        .map(|(_, rules)| *rules)
}

/// Compare one corpus root; push a line per mismatch to `failures`. Returns how many reference
/// findings were checked.
fn compare_root(root: &Path, transcripts: &Path, failures: &mut Vec<String>) -> usize {
    let label = root
        .strip_prefix(shared())
        .unwrap_or(root)
        .display()
        .to_string();
    let ws = Workspace::open(root, None).expect("open corpus root");
    let all: Vec<_> = ws.extensions.iter().collect();
    let report = validate(&ws, &all, &Settings::default());
    let has = |ext: &str, rules: &[&str]| {
        report
            .findings
            .iter()
            .any(|f| f.extension == ext && rules.contains(&f.rule))
    };
    let mut checked = 0;
    for (script, mapping, group) in [
        ("validate-metadata", METADATA, "metadata/"),
        ("validate-compose", COMPOSE, "compose/"),
    ] {
        let path = transcripts.join(format!("{script}.pre.stdout"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let t = parse_validate(&text);
        for (ext, message) in &t.findings {
            checked += 1;
            match rules_for(mapping, message) {
                None => failures.push(format!("{label}: {script}: no rule mapped for {message:?}")),
                Some(rules) if !has(ext, rules) => {
                    failures.push(format!(
                        "{label}: {ext}: {script} says {message:?}; kz has none of {rules:?}"
                    ));
                }
                Some(_) => {}
            }
        }
        for ext in &t.passed {
            unexpected_errors(&report, &label, ext, group, failures);
        }
    }
    checked + compare_gate(&ws, &report, &label, transcripts, failures)
}

fn unexpected_errors(
    report: &Report,
    label: &str,
    ext: &str,
    group: &str,
    failures: &mut Vec<String>,
) {
    for f in report
        .findings
        .iter()
        .filter(|f| f.extension == ext && f.rule.starts_with(group))
    {
        let known = KNOWN_DIFFERENCES
            .iter()
            .any(|(root, e, rule, _)| label.contains(root) && *e == ext && *rule == f.rule);
        if f.severity == Severity::Error && !known {
            failures.push(format!(
                "{label}: {ext}: the reference passed it, kz reports {} {}",
                f.rule, f.message
            ));
        }
    }
}

fn compare_gate(
    ws: &Workspace,
    report: &Report,
    label: &str,
    transcripts: &Path,
    failures: &mut Vec<String>,
) -> usize {
    let named: Vec<(String, String)> = ws
        .extensions
        .iter()
        .filter_map(|e| {
            let m = Manifest::load(&e.file(FILE_NAME)).ok()?;
            Some((m.name()?.to_owned(), e.rel()))
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(transcripts)
        .expect("list transcripts")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("build-registry."))
        })
        .filter(|p| p.extension().is_some_and(|x| x == "stdout"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read transcript");
        seen.extend(parse_gate(&text));
    }
    for (names, message) in &seen {
        let Some(rules) = rules_for(GATE, message) else {
            failures.push(format!(
                "{label}: build-registry: no rule mapped for {message:?}"
            ));
            continue;
        };
        let exts: Vec<&str> = named
            .iter()
            .filter(|(n, _)| names.contains(n))
            .map(|(_, rel)| rel.as_str())
            .collect();
        let found = report
            .findings
            .iter()
            .any(|f| exts.contains(&f.extension.as_str()) && rules.contains(&f.rule));
        if !found {
            failures.push(format!(
                "{label}: {names:?}: build-registry says {message:?}; kz has none of {rules:?}"
            ));
        }
    }
    seen.len()
}

#[test]
fn kz_reports_every_reference_finding_of_the_corpus() {
    let shared = shared();
    let roots = roots(&shared);
    assert!(
        roots.len() >= 9,
        "expected the corpus roots, found {}",
        roots.len()
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for (root, transcripts) in &roots {
        assert!(root.is_dir(), "missing corpus root {}", root.display());
        checked += compare_root(root, transcripts, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        checked >= 40,
        "only {checked} reference findings were checked; is the transcript format unchanged?"
    );
}

#[test]
fn transcript_parsing() {
    let t = parse_validate("Validating apps...\n\n❌ apps/x:\n   - Missing required field: name\n✅ tools/y\n\n==\n❌ Validation failed with 1 error(s)\n");
    assert_eq!(
        t.findings,
        [(
            "apps/x".to_owned(),
            "Missing required field: name".to_owned()
        )]
    );
    assert_eq!(t.passed, ["tools/y"]);
    let g = parse_gate("x\nValidation errors found:\n  - edge: template_type must be 'service'\n  - Duplicate preview_image 'p' found in 'b' and 'a'\n");
    assert_eq!(
        g[0],
        (
            vec!["edge".to_owned()],
            "template_type must be 'service'".to_owned()
        )
    );
    assert_eq!(g[1].0, ["b", "a"]);
}

/// kz's own example workspace (what `kz new` writes, filled in) passes without a finding.
#[test]
fn the_examples_are_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let ws = Workspace::open(&root, None).expect("examples workspace");
    let all: Vec<_> = ws.extensions.iter().collect();
    assert!(all.len() >= 3, "examples has {} extensions", all.len());
    let settings = Settings::load(&root, &std::collections::BTreeMap::new()).expect("settings");
    let report = validate(&ws, &all, &settings);
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.file, f.rule, f.message))
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}
