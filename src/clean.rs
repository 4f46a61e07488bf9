//! `kz clean`: the guide's hierarchy of clean targets. `plan` lists what a scope removes (sorted,
//! never following symlinks, never inside `.git`, never outside the root); `remove` deletes it.
//!
//! | scope | removes |
//! |---|---|
//! | build (default) | `build/`, `*.egg-info` at the root; `__pycache__`, `.pytest_cache`, `.mypy_cache`, `.ruff_cache` folders and `*.pyc`, `*.pyo`, `.coverage`, `coverage.xml` files anywhere |
//! | deps | `node_modules/` anywhere under apps/, services/, tools/ and shared/; `.venv/` at the root |
//! | all | build + deps |
//! | dist | all + `dist/` |

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Build,
    Deps,
    All,
    Dist,
}

impl Scope {
    fn build(self) -> bool {
        matches!(self, Scope::Build | Scope::All | Scope::Dist)
    }

    fn deps(self) -> bool {
        matches!(self, Scope::Deps | Scope::All | Scope::Dist)
    }
}

const CACHE_DIRS: [&str; 4] = ["__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"];
const CACHE_FILES: [&str; 2] = [".coverage", "coverage.xml"];
const DEP_ROOTS: [&str; 4] = ["apps", "services", "tools", "shared"];

/// One thing to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    pub is_dir: bool,
    /// Bytes it holds (files below it, not following links).
    pub bytes: u64,
}

/// What `scope` would remove under `root`, sorted by path.
pub fn plan(root: &Path, scope: Scope) -> Vec<Target> {
    let mut found: Vec<PathBuf> = Vec::new();
    let top = |name: &str| root.join(name);
    if scope.build() {
        found.push(top("build"));
        if let Ok(rd) = std::fs::read_dir(root) {
            found.extend(
                rd.filter_map(std::result::Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".egg-info"))
                    .map(|e| e.path()),
            );
        }
        found.extend(walk(root, |name, is_dir| {
            if is_dir {
                CACHE_DIRS.contains(&name)
            } else {
                CACHE_FILES.contains(&name) || name.ends_with(".pyc") || name.ends_with(".pyo")
            }
        }));
    }
    if scope.deps() {
        found.push(top(".venv"));
        for dir in DEP_ROOTS {
            found.extend(walk(&root.join(dir), |name, is_dir| {
                is_dir && name == "node_modules"
            }));
        }
    }
    if scope == Scope::Dist {
        found.push(top("dist"));
    }
    let mut targets: Vec<Target> = found
        .into_iter()
        .filter_map(|path| {
            let meta = std::fs::symlink_metadata(&path).ok()?;
            let is_dir = meta.is_dir();
            let bytes = if is_dir { dir_size(&path) } else { meta.len() };
            Some(Target {
                path,
                is_dir,
                bytes,
            })
        })
        .collect();
    targets.sort_by(|a, b| a.path.cmp(&b.path));
    targets.dedup_by(|b, a| b.path.starts_with(&a.path));
    targets
}

/// Matching entries below `dir`, not descending into matches, `.git`, or symlinks.
fn walk(dir: &Path, wanted: impl Fn(&str, bool) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    // A kind folder that is itself a symlink (apps/ -> elsewhere) is not entered either.
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return out;
    }
    let mut it = WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = it.next() {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy();
        let is_dir = entry.file_type().is_dir();
        if is_dir && name == ".git" {
            it.skip_current_dir();
            continue;
        }
        if wanted(&name, is_dir) {
            out.push(entry.path().to_owned());
            if is_dir {
                it.skip_current_dir();
            }
        }
    }
    out
}

fn dir_size(dir: &Path) -> u64 {
    WalkDir::new(dir)
        .into_iter()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Remove the planned targets (a symlink is removed as a link, never followed).
pub fn remove(targets: &[Target]) -> Result<u64> {
    let mut freed = 0;
    for t in targets {
        let result = if t.is_dir {
            std::fs::remove_dir_all(&t.path)
        } else {
            std::fs::remove_file(&t.path)
        };
        match result {
            Ok(()) => freed += t.bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::write(&t.path, e)),
        }
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, b"12345").expect("write");
    }

    fn rels(root: &Path, scope: Scope) -> Vec<String> {
        plan(root, scope)
            .iter()
            .map(|t| {
                t.path
                    .strip_prefix(root)
                    .expect("rel")
                    .display()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn hierarchy() {
        let t = tempfile::tempdir().expect("tmp");
        let r = t.path();
        for f in [
            "build/x",
            "dist/a.tar.gz",
            ".venv/bin/python",
            "kz.egg-info/PKG-INFO",
            "apps/a/backend/__pycache__/m.pyc",
            "apps/a/backend/app/x.pyc",
            "apps/a/.coverage",
            "apps/a/frontend/node_modules/p/index.js",
            "shared/typescript/node_modules/q",
            ".git/objects/__pycache__/keep",
            "apps/a/src/main.py",
        ] {
            touch(r, f);
        }
        assert_eq!(
            rels(r, Scope::Build),
            [
                "apps/a/.coverage",
                "apps/a/backend/__pycache__",
                "apps/a/backend/app/x.pyc",
                "build",
                "kz.egg-info"
            ]
        );
        assert_eq!(
            rels(r, Scope::Deps),
            [
                ".venv",
                "apps/a/frontend/node_modules",
                "shared/typescript/node_modules"
            ]
        );
        assert_eq!(rels(r, Scope::All).len(), 8);
        let dist = plan(r, Scope::Dist);
        assert!(dist.iter().any(|t| t.path.ends_with("dist")));
        let freed = remove(&dist).expect("remove");
        assert_eq!(freed, 9 * 5);
        assert!(r.join("apps/a/src/main.py").exists());
        assert!(r.join(".git/objects/__pycache__/keep").exists());
        assert!(plan(r, Scope::Dist).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_not_followed() {
        let t = tempfile::tempdir().expect("tmp");
        let outside = tempfile::tempdir().expect("outside");
        touch(outside.path(), "__pycache__/precious.pyc");
        std::fs::create_dir_all(t.path().join("apps")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), t.path().join("apps/link")).expect("link");
        std::os::unix::fs::symlink(outside.path(), t.path().join("build")).expect("link");
        let targets = plan(t.path(), Scope::All);
        assert_eq!(targets.len(), 1, "{targets:?}");
        remove(&targets).expect("remove");
        assert!(outside.path().join("__pycache__/precious.pyc").exists());
        assert!(!t.path().join("build").exists());
    }
}
