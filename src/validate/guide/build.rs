//! What the guide rules need from each service's build (the dev file's `build:` blocks): the
//! ports its Dockerfile `EXPOSE`s, the `ARG`s it declares, the build args compose passes, and
//! whether it runs `next build` (directly, or through a package.json script run by npm, pnpm
//! or yarn). Files are read only inside the workspace, bounded; unreadable ones count as absent.

use super::{File, Sink};
use crate::yaml::{Node, Value};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Package manager script runs: `npm run build`, `npm run-script build`, `pnpm build`, `yarn build`.
static SCRIPT_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:npm\s+(?:run|run-script)|pnpm(?:\s+run)?|yarn(?:\s+run)?)\s+([A-Za-z0-9:_.-]+)",
    )
    .expect("static regex")
});
static NEXT_BUILD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bnext\s+build\b").expect("static regex"));

#[derive(Debug, Default)]
pub(crate) struct Build {
    pub(crate) exposes: Vec<u16>,
    /// Where `next build` runs: `frontend/Dockerfile:7` (through `npm run build` maybe).
    pub(crate) next_build: Option<String>,
    args: BTreeSet<String>,
}

impl Build {
    /// Whether `name` reaches the build: an `ARG` in the Dockerfile or a compose build arg.
    pub(crate) fn build_time(&self, name: &str) -> bool {
        self.args.contains(name)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Builds(BTreeMap<String, Build>);

impl Builds {
    pub(crate) fn get(&self, service: &str) -> Option<&Build> {
        self.0.get(service)
    }

    pub(crate) fn read(sink: &Sink<'_>, dev: Option<&File>) -> Builds {
        let mut out = BTreeMap::new();
        let Some(dev) = dev else {
            return Builds(out);
        };
        let ext = &sink.extension.path;
        let depth = ext
            .strip_prefix(sink.root)
            .map_or(0, |p| p.components().count());
        for svc in dev.services() {
            let Some(spec) = svc.node.get("build") else {
                continue;
            };
            let (context, dockerfile, args) = match &spec.value {
                Value::Str(c) => (c.clone(), None, BTreeSet::new()),
                Value::Map(_) => (
                    spec.get("context")
                        .and_then(Node::py_str)
                        .unwrap_or_else(|| ".".to_owned()),
                    spec.get("dockerfile").and_then(Node::py_str),
                    compose_args(spec.get("args")),
                ),
                _ => continue,
            };
            let dockerfile = dockerfile.unwrap_or_else(|| "Dockerfile".to_owned());
            let context = PathBuf::from(context);
            let docker_path = context.join(&dockerfile);
            let mut build = Build {
                args,
                ..Build::default()
            };
            if !crate::fsx::escapes_root(depth, &docker_path) {
                let shown = docker_path
                    .strip_prefix(".")
                    .unwrap_or(&docker_path)
                    .display()
                    .to_string();
                if let Some(text) = read(&ext.join(&docker_path)) {
                    dockerfile_facts(&text, &shown, &ext.join(&context), &mut build);
                }
            }
            out.insert(svc.name.clone(), build);
        }
        Builds(out)
    }
}

fn read(path: &Path) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    crate::fsx::read_text(path, crate::fsx::MAX_TEXT_FILE).ok()
}

/// Build args compose passes: a mapping or a list of `KEY=value` / `KEY`.
fn compose_args(node: Option<&Node>) -> BTreeSet<String> {
    match node.map(|n| &n.value) {
        Some(Value::Map(pairs)) => pairs.iter().filter_map(|(k, _)| k.py_str()).collect(),
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(Node::as_str)
            .map(|s| s.split('=').next().unwrap_or(s).trim().to_owned())
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Dockerfile instructions, continuation lines joined, with the line each starts on.
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if current.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        if trimmed.starts_with('#') {
            current = Some((start, acc));
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            acc.push_str(body);
            acc.push(' ');
            current = Some((start, acc));
        } else {
            acc.push_str(trimmed);
            out.push((start, acc));
        }
    }
    out.extend(current);
    out
}

fn dockerfile_facts(text: &str, shown: &str, context: &Path, build: &mut Build) {
    let mut scripts: Option<BTreeMap<String, String>> = None;
    for (line, instruction) in instructions(text) {
        let (word, rest) = instruction
            .split_once(char::is_whitespace)
            .unwrap_or((instruction.as_str(), ""));
        match word.to_ascii_uppercase().as_str() {
            "EXPOSE" => build.exposes.extend(
                rest.split_whitespace()
                    .filter_map(|p| p.split('/').next()?.parse::<u16>().ok()),
            ),
            "ARG" => build.args.extend(
                rest.split_whitespace()
                    .map(|a| a.split('=').next().unwrap_or(a).to_owned()),
            ),
            "RUN" if build.next_build.is_none() => {
                if NEXT_BUILD.is_match(rest) {
                    build.next_build = Some(format!("{shown}:{line}"));
                    continue;
                }
                let scripts = scripts.get_or_insert_with(|| package_scripts(context));
                for cap in SCRIPT_RUN.captures_iter(rest) {
                    let name = &cap[1];
                    if scripts.get(name).is_some_and(|s| NEXT_BUILD.is_match(s)) {
                        build.next_build = Some(format!(
                            "{shown}:{line}, script {} of package.json",
                            super::code(name)
                        ));
                        break;
                    }
                }
            }
            _ => {}
        }
    }
}

/// `scripts` of the build context's package.json.
fn package_scripts(context: &Path) -> BTreeMap<String, String> {
    let Some(text) = read(&context.join("package.json")) else {
        return BTreeMap::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return BTreeMap::new();
    };
    json.get("scripts")
        .and_then(|s| s.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_and_comments() {
        let text = "FROM x\n# c\nRUN a \\\n  # inner\n  && next build\nEXPOSE 3000/tcp 3001\n";
        let got = instructions(text);
        assert_eq!(got[1].0, 3);
        assert!(got[1].1.contains("next build"), "{got:?}");
        let mut b = Build::default();
        dockerfile_facts(text, "Dockerfile", Path::new("/nowhere"), &mut b);
        assert_eq!(b.exposes, vec![3000, 3001]);
        assert_eq!(b.next_build.as_deref(), Some("Dockerfile:3"));
    }

    #[test]
    fn script_runs() {
        for (cmd, name) in [
            ("npm run build", "build"),
            ("npm run-script build:prod", "build:prod"),
            ("pnpm build", "build"),
            ("pnpm run build", "build"),
            ("yarn build", "build"),
            ("yarn run web", "web"),
        ] {
            let cap = SCRIPT_RUN.captures(cmd).expect(cmd);
            assert_eq!(&cap[1], name, "{cmd}");
        }
        assert!(SCRIPT_RUN.captures("npm ci").is_none());
    }
}
