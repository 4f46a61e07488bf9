//! Changed-only selection and shards, for CI at team scale (`--changed-since REF`, `--shard I/N`).
//!
//! An extension is selected when a changed file is under its folder, or under something it
//! depends on: the workspace settings (`kz.yaml` selects all), a `.env` key its files use, a
//! compose build context outside its folder, or a shared library it vendors (a `file:` or
//! relative path in its requirements files, pyproject.toml or package.json pointing outside its
//! folder). Changed paths under a kind folder that no extension holds any more are reported as
//! deleted or renamed. `git` finds the changes ([`git`]); the rest is pure.

pub mod git;

use crate::workspace::{Extension, Kind, Workspace};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Why an extension was selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A file under its folder changed (the first one, in path order).
    Own(String),
    /// The workspace settings changed.
    Settings(String),
    /// A `.env` key it uses changed.
    EnvKey(String),
    /// A folder it depends on (a build context or a shared library) changed.
    Dependency { dir: String, file: String },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Own(file) => write!(f, "{file} changed"),
            Reason::Settings(file) => write!(f, "{file} changed (workspace settings)"),
            Reason::EnvKey(key) => write!(f, ".env key {key} changed"),
            Reason::Dependency { dir, file } => write!(f, "depends on {dir}/ ({file} changed)"),
        }
    }
}

/// The outcome of changed-only selection over a workspace.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Selected extension paths (`apps/x`) with the reason, in path order.
    pub selected: BTreeMap<String, Reason>,
    /// `<kind>/<folder>` paths with changes where no extension exists now (deleted or renamed).
    pub gone: BTreeSet<String>,
}

/// What changed, relative to the workspace root (`/`-separated), and which `.env` keys differ.
#[derive(Debug, Default)]
pub struct WorkspaceChanges {
    pub files: BTreeSet<String>,
    pub env_keys: BTreeSet<String>,
}

/// The folders an extension depends on outside its own folder (relative to the root,
/// `/`-separated), found by the CLI from its build contexts and library references.
pub type Dependencies = BTreeMap<String, BTreeSet<String>>;

/// Select the extensions of `ws` that the changes touch.
pub fn select(
    ws: &Workspace,
    changes: &WorkspaceChanges,
    deps: &Dependencies,
    env_users: &BTreeMap<String, BTreeSet<String>>,
) -> Selection {
    let mut out = Selection::default();
    let settings = changes
        .files
        .iter()
        .find(|f| f.as_str() == crate::workspace::SETTINGS_FILE);
    for ext in &ws.extensions {
        let rel = ext.rel();
        let reason = if let Some(file) = settings {
            Some(Reason::Settings(file.clone()))
        } else if let Some(file) = first_under(&changes.files, &rel) {
            Some(Reason::Own(file.to_owned()))
        } else if let Some((dir, file)) = deps.get(&rel).and_then(|dirs| {
            dirs.iter()
                .find_map(|d| first_under(&changes.files, d).map(|f| (d.clone(), f.to_owned())))
        }) {
            Some(Reason::Dependency { dir, file })
        } else {
            env_users
                .get(&rel)
                .and_then(|keys| keys.intersection(&changes.env_keys).next())
                .map(|k| Reason::EnvKey(k.clone()))
        };
        if let Some(reason) = reason {
            out.selected.insert(rel, reason);
        }
    }
    let present: BTreeSet<String> = ws.extensions.iter().map(Extension::rel).collect();
    for file in &changes.files {
        let mut parts = file.split('/');
        let (Some(kind), Some(folder), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if Kind::from_dir(kind).is_none() {
            continue;
        }
        let rel = format!("{kind}/{folder}");
        if !present.contains(&rel) && !ws.skipped.iter().any(|s| s.rel == rel) {
            out.gone.insert(rel);
        }
    }
    out
}

/// The first changed file at or under `dir` (`/`-separated, relative).
fn first_under<'a>(files: &'a BTreeSet<String>, dir: &str) -> Option<&'a str> {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        return files.iter().next().map(String::as_str);
    }
    let prefix = format!("{dir}/");
    files
        .iter()
        .find(|f| f.as_str() == dir || f.starts_with(&prefix))
        .map(String::as_str)
}

/// A shard `I/N` (1-based): which part of a sorted list a runner takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: write I/N with 1 <= I <= N, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// This shard's part of `items` (already in path order): contiguous parts whose sizes differ
    /// by at most one, the larger ones first, so every item is in exactly one shard.
    pub fn take<T>(&self, items: Vec<T>) -> Vec<T> {
        let (len, n) = (items.len(), self.count);
        let (q, r) = (len / n, len % n);
        let i = self.index - 1;
        let start = i * q + i.min(r);
        let size = q + usize::from(i < r);
        items.into_iter().skip(start).take(size).collect()
    }
}

/// Keys of a `.env` text (`KEY=value` lines; `export` allowed; comments and blanks skipped) with
/// their values, for comparing two versions.
pub fn env_pairs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            out.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    out
}

/// The keys whose value differs between two `.env` texts (added and removed keys included).
pub fn changed_env_keys(before: &str, after: &str) -> BTreeSet<String> {
    let (a, b) = (env_pairs(before), env_pairs(after));
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// The `.env` keys a text refers to as `${KEY...}` or `$KEY`.
pub fn referenced_keys(text: &str, keys: &BTreeSet<String>) -> BTreeSet<String> {
    keys.iter()
        .filter(|k| {
            text.contains(&format!("${{{k}}}"))
                || text.contains(&format!("${{{k}:"))
                || text.contains(&format!("${{{k}-"))
                || text.contains(&format!("${{{k}?"))
                || text.match_indices(&format!("${k}")).any(|(i, m)| {
                    !text[i + m.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                })
        })
        .cloned()
        .collect()
}

/// Library folders an extension's dependency files point at: relative paths and `file:`
/// references in `requirements*.txt`, `pyproject.toml` and `package.json` anywhere in its folder
/// (not in `node_modules`), resolved against the file's folder. Returned absolute and lexically
/// normalised; the caller keeps those inside the workspace and outside the extension.
pub fn library_refs(ext_dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let walker = walkdir::WalkDir::new(ext_dir)
        .sort_by_file_name()
        .max_depth(4)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(e.file_type().is_dir()
                && (name == "node_modules" || name == ".git" || name == ".venv" || name == "venv"))
        });
    for entry in walker.filter_map(std::result::Result::ok) {
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_req = name.starts_with("requirements") && name.ends_with(".txt");
        if !(is_req || name == "pyproject.toml" || name == "package.json") {
            continue;
        }
        let Ok(text) = crate::fsx::read_text(entry.path(), 1 << 20) else {
            continue;
        };
        let base = entry.path().parent().unwrap_or(ext_dir);
        for reference in path_references(&text) {
            out.insert(crate::fsx::normalise(&base.join(reference)));
        }
    }
    out
}

/// Relative paths and `file:` URLs in a dependency file's text.
fn path_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '[' | ']' | '=' | ';'))
    {
        let token = token.trim_end_matches(['}', ')']);
        let path = if let Some(rest) = token.strip_prefix("file:") {
            rest.trim_start_matches("//")
        } else if token.starts_with("../") || token.starts_with("./") {
            token
        } else {
            continue;
        };
        if !path.is_empty() {
            out.push(path.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests;
