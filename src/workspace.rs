//! Finding the workspace root and its extensions. The type of an extension comes from its parent
//! folder (`apps/`, `services/`, `tools/`); its folder name and its registry name (`name` in
//! kamiwaza.json) are different things and both are kept. Walks are sorted, so every command
//! sees extensions in the same order.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub const SETTINGS_FILE: &str = "kz.yaml";

/// The three kinds of extension, in the order the reference processes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    App,
    Service,
    Tool,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::App, Kind::Service, Kind::Tool];

    /// The folder the kind lives in: `apps`, `services`, `tools`.
    pub fn dir(self) -> &'static str {
        match self {
            Kind::App => "apps",
            Kind::Service => "services",
            Kind::Tool => "tools",
        }
    }

    /// `app`, `service`, `tool`.
    pub fn singular(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Service => "service",
            Kind::Tool => "tool",
        }
    }

    pub fn from_dir(dir: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.dir() == dir)
    }

    /// Accepts `app`/`apps` (any case), as `template_type` and the CLI do.
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_suffix('s').unwrap_or(&s);
        Kind::ALL.into_iter().find(|k| k.singular() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.singular())
    }
}

/// One extension folder.
#[derive(Clone, Debug)]
pub struct Extension {
    pub kind: Kind,
    /// The folder name (used in image names and on the command line).
    pub dir_name: String,
    pub path: PathBuf,
}

impl Extension {
    /// `apps/<dir>`: how the extension is named in messages.
    pub fn rel(&self) -> String {
        format!("{}/{}", self.kind.dir(), self.dir_name)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// A folder that looked like an extension but is left out, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub rel: String,
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub extensions: Vec<Extension>,
    pub skipped: Vec<Skipped>,
    /// The extension the command was started in, if any.
    pub current: Option<usize>,
    /// Where the command was started (absolute), for names given as paths.
    pub start: Option<PathBuf>,
}

impl Workspace {
    /// Find the root from `start` (nearest ancestor with apps/, services/, tools/ or kz.yaml) and
    /// list its extensions.
    pub fn discover(start: &Path) -> Result<Workspace> {
        let start = std::path::absolute(start).map_err(|e| Error::read(start, e))?;
        let root = find_root(&start).ok_or_else(|| Error::NoWorkspace {
            start: start.clone(),
        })?;
        Workspace::open(&root, Some(&start))
    }

    /// List the extensions of a known root.
    pub fn open(root: &Path, start: Option<&Path>) -> Result<Workspace> {
        let mut extensions = Vec::new();
        let mut skipped = Vec::new();
        for kind in Kind::ALL {
            let dir = root.join(kind.dir());
            if !dir.is_dir() {
                continue;
            }
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| Error::read(&dir, e))?
                .filter_map(std::result::Result::ok)
                .collect();
            entries.sort_by_key(std::fs::DirEntry::file_name);
            for entry in entries {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let path = entry.path();
                let rel = format!("{}/{name}", kind.dir());
                let Ok(ft) = entry.file_type() else { continue };
                if ft.is_symlink() {
                    if path.is_dir() {
                        skipped.push(Skipped {
                            rel,
                            path,
                            reason:
                                "a symbolic link (kz does not follow symlinked extension folders)"
                                    .to_owned(),
                        });
                    }
                    continue;
                }
                if ft.is_dir() {
                    extensions.push(Extension {
                        kind,
                        dir_name: name,
                        path,
                    });
                }
            }
        }
        let current = start.and_then(|s| extensions.iter().position(|e| s.starts_with(&e.path)));
        Ok(Workspace {
            root: root.to_owned(),
            extensions,
            skipped,
            current,
            start: start.map(Path::to_owned),
        })
    }

    pub fn has_settings_file(&self) -> bool {
        self.root.join(SETTINGS_FILE).is_file()
    }

    /// The extensions a command targets: those named, else the current one, else all.
    /// Names are folder names, optionally qualified as `<type>/<name>` (`apps/chat`, `app/chat`).
    pub fn select(&self, names: &[String]) -> Result<Vec<&Extension>> {
        if names.is_empty() {
            return Ok(match self.current {
                Some(i) => vec![&self.extensions[i]],
                None => self.extensions.iter().collect(),
            });
        }
        let mut chosen: Vec<&Extension> = Vec::new();
        for name in names {
            let ext = self.find(name)?;
            if !chosen.iter().any(|c| c.path == ext.path) {
                chosen.push(ext);
            }
        }
        Ok(chosen)
    }

    /// Find one extension by `<dir>`, `<type>/<dir>` or a path to its folder (relative to
    /// where the command started, or absolute; `./apps/x`, `apps/x/`, `/abs/apps/x`).
    pub fn find(&self, name: &str) -> Result<&Extension> {
        if let Some(ext) = self.find_path(name) {
            return Ok(ext);
        }
        let (kind, dir) = parse_selector(name)?;
        let matches: Vec<&Extension> = self
            .extensions
            .iter()
            .filter(|e| e.dir_name == dir && kind.is_none_or(|k| k == e.kind))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => {
                if let Some(s) = self
                    .skipped
                    .iter()
                    .find(|s| s.rel.ends_with(&format!("/{dir}")))
                {
                    return Err(Error::Symlink {
                        path: s.path.clone(),
                    });
                }
                Err(Error::UnknownExtension {
                    name: name.to_owned(),
                    known: self.extensions.iter().map(Extension::rel).collect(),
                })
            }
            many => Err(Error::BadName {
                name: name.to_owned(),
                reason: format!(
                    "it names {}; qualify it with its type",
                    many.iter()
                        .map(|e| e.rel())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            }),
        }
    }
}

/// Split `apps/x`, `app/x` or `x`; refuse anything else with a path separator.
impl Workspace {
    /// The extension whose folder `name` is as a path, if any.
    fn find_path(&self, name: &str) -> Option<&Extension> {
        let given = Path::new(name);
        let base = self.start.as_deref().unwrap_or(&self.root);
        let path = normalize(&base.join(given));
        self.extensions.iter().find(|e| normalize(&e.path) == path)
    }
}

/// `path` with `.` and `..` folded lexically (the folder is not required to exist).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn parse_selector(name: &str) -> Result<(Option<Kind>, &str)> {
    let bad = |reason: &str| Error::BadName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let name = name.trim_end_matches(['/', '\\']);
    let name = name.strip_prefix("./").unwrap_or(name);
    let (kind, dir) = match name.split_once(['/', '\\']) {
        Some((t, d)) => {
            let kind = Kind::parse(t).ok_or_else(|| {
                bad(
                    "write `<name>`, `apps/<name>`, `services/<name>`, `tools/<name>` or a path \
                     to the extension's folder",
                )
            })?;
            (Some(kind), d)
        }
        None => (None, name),
    };
    if dir.is_empty() || dir.contains(['/', '\\']) || dir == "." || dir == ".." {
        return Err(bad(
            "write `<name>`, `apps/<name>`, `services/<name>`, `tools/<name>` or a path to the \
             extension's folder",
        ));
    }
    Ok((kind, dir))
}

/// The nearest ancestor of `start` that is a workspace root. A kz.yaml wins outright; a folder
/// holding apps/, services/ or tools/ counts unless it is itself an extension of a higher root
/// (an app may well have a `tools/` folder of its own).
pub fn find_root(start: &Path) -> Option<PathBuf> {
    let has_type_dirs = |p: &Path| Kind::ALL.iter().any(|k| p.join(k.dir()).is_dir());
    for dir in start.ancestors() {
        if dir.join(SETTINGS_FILE).is_file() {
            return Some(dir.to_owned());
        }
        if has_type_dirs(dir) {
            let inside_higher = dir.parent().is_some_and(|parent| {
                let parent_is_type_dir = parent
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| Kind::from_dir(n).is_some());
                parent_is_type_dir && parent.parent().is_some_and(|gp| find_root(gp).is_some())
            });
            if !inside_higher {
                return Some(dir.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(root: &Path, rel: &str) {
        std::fs::create_dir_all(root.join(rel)).expect("mkdir");
    }

    #[test]
    fn discovers_sorted_and_current() {
        let t = tempfile::tempdir().expect("tmp");
        let root = t.path();
        mk(root, "tools/b-tool");
        mk(root, "tools/a-tool");
        mk(root, "apps/zed/tools/inner");
        mk(root, "apps/.hidden");
        let ws = Workspace::discover(&root.join("apps/zed/tools/inner")).expect("ws");
        assert_eq!(ws.root, root);
        let rels: Vec<_> = ws.extensions.iter().map(Extension::rel).collect();
        assert_eq!(rels, ["apps/zed", "tools/a-tool", "tools/b-tool"]);
        assert_eq!(ws.current, Some(0));
        assert_eq!(ws.select(&[]).expect("sel").len(), 1);
    }

    #[test]
    fn selectors() {
        let t = tempfile::tempdir().expect("tmp");
        mk(t.path(), "apps/x");
        mk(t.path(), "tools/x");
        let ws = Workspace::discover(t.path()).expect("ws");
        assert!(matches!(ws.find("x"), Err(Error::BadName { .. })));
        assert_eq!(ws.find("tools/x").expect("t").kind, Kind::Tool);
        assert_eq!(ws.find("app/x").expect("a").kind, Kind::App);
        assert!(matches!(ws.find("../x"), Err(Error::BadName { .. })));
        assert!(matches!(ws.find("a/b/c"), Err(Error::BadName { .. })));
        assert!(matches!(
            ws.find("nope"),
            Err(Error::UnknownExtension { .. })
        ));
    }

    #[test]
    fn no_root() {
        let t = tempfile::tempdir().expect("tmp");
        assert!(matches!(
            Workspace::discover(t.path()),
            Err(Error::NoWorkspace { .. })
        ));
    }
}
