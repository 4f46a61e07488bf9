//! Issue 15: `kz sync-compose` on real compose files from public repositories
//! (tests/fixtures/realworld, sources in its SOURCES file). Each output is pinned by a golden
//! file (tests/golden/realworld/<name>.yml) and checked for the properties App Garden needs: it
//! parses, holds no bind mount, every mount names a declared volume, no two host folders share
//! a volume, and a second run changes nothing. PyYAML and `docker-compose config -q` over the
//! same outputs are in `realworld_tools` (they need scripts/engine-setup.sh).

use crate::harness::{assert_golden, Ws};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub(crate) fn fixtures() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/realworld");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .expect("fixtures")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("docker-compose.yml").is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("rel");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// A workspace holding every fixture as an app, synced once; the outputs by fixture name.
pub(crate) fn synced() -> (Ws, BTreeMap<String, String>, String) {
    let ws = Ws::new();
    for (name, path) in fixtures() {
        copy_dir(&path, &ws.path(&format!("apps/{name}")));
    }
    let run = ws.kz(&["sync-compose"]);
    run.code(0);
    let outputs = fixtures()
        .into_iter()
        .map(|(name, _)| {
            let text = ws.read(&format!("apps/{name}/docker-compose.appgarden.yml"));
            (name, text)
        })
        .collect();
    (ws, outputs, run.stderr.clone())
}

/// The host source of a short-form or long-form mount that is still a bind mount.
fn is_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~', '$']) || source.contains(['/', '\\'])
}

/// Check the properties of one App Garden output; `None` when they hold.
pub(crate) fn property_violation(text: &str) -> Option<String> {
    let doc = match kz::yaml::load(text, &kz::yaml::LoadLimits::default()) {
        Ok(Some(doc)) => doc,
        other => return Some(format!("does not parse: {other:?}")),
    };
    let declared: BTreeSet<String> = doc
        .get("volumes")
        .and_then(kz::yaml::Node::as_map)
        .map(|m| m.iter().filter_map(|(k, _)| k.py_str()).collect())
        .unwrap_or_default();
    let services = doc.get("services").and_then(kz::yaml::Node::as_map)?;
    for (name, svc) in services {
        let Some(items) = svc.get("volumes").and_then(kz::yaml::Node::as_seq) else {
            continue;
        };
        for item in items {
            let source = match item.as_str() {
                Some(s) if s.contains(':') => s.split(':').next().unwrap_or("").to_owned(),
                Some(_) => continue, // anonymous volume
                None => {
                    if item.get("type").and_then(kz::yaml::Node::as_str) == Some("bind") {
                        return Some(format!("service {name:?} keeps a long-form bind mount"));
                    }
                    match item.get("source").and_then(kz::yaml::Node::as_str) {
                        Some(s) => s.to_owned(),
                        None => continue,
                    }
                }
            };
            if is_path(&source) {
                return Some(format!("service {name:?} keeps bind mount {source:?}"));
            }
            if !declared.contains(&source) {
                return Some(format!(
                    "service {name:?} mounts volume {source:?}, which is not declared"
                ));
            }
        }
    }
    None
}

/// `bind mount `SRC:…` became named volume `V`` notes: every volume must come from one host
/// folder (trailing `/` and `./` spellings aside).
pub(crate) fn shared_volume_violation(stderr: &str) -> Option<String> {
    let re = regex::Regex::new(r"bind mount `(.+?)` became named volume `(.+?)`").expect("re");
    let mut by_volume: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut app = String::new();
    for line in stderr.lines() {
        if let Some(at) = line.find("apps/") {
            let rest = &line[at + 5..];
            app = rest.split([' ', ':', '/']).next().unwrap_or("").to_owned();
        }
        for cap in re.captures_iter(line) {
            let mount = &cap[1];
            let source = split_source(mount).trim_end_matches('/').to_owned();
            by_volume
                .entry((app.clone(), cap[2].to_owned()))
                .or_default()
                .insert(source);
        }
    }
    by_volume
        .into_iter()
        .find(|(_, sources)| sources.len() > 1)
        .map(|((app, v), sources)| format!("{app}: volume {v} holds {sources:?}"))
}

fn split_source(mount: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in mount.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => return &mount[..i],
            _ => {}
        }
    }
    mount
}

#[test]
fn realworld_outputs_match_their_goldens_and_hold_the_properties() {
    let (ws, outputs, stderr) = synced();
    assert!(outputs.len() >= 40, "{} fixtures", outputs.len());
    let mut failures = Vec::new();
    for (name, text) in &outputs {
        assert_golden(&format!("realworld/{name}.yml"), text);
        if let Some(v) = property_violation(text) {
            failures.push(format!("{name}: {v}"));
        }
    }
    if let Some(v) = shared_volume_violation(&stderr) {
        failures.push(v);
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // A second run changes nothing.
    ws.kz(&["sync-compose", "--check"]).code(0);
}
