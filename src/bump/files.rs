//! Where else an extension carries its version, and the in-place edits that move it: the
//! `version` of kamiwaza.json, the tag of its `image`, the `image:` tags of the extension's own
//! images in its compose files, `ARG *_VERSION=` defaults in its Dockerfiles, and the
//! `version` of its package.json and pyproject.toml files. Every edit replaces the old version's
//! bytes inside one value; nothing else in a file changes.
//!
//! "Own" images are those in the workspace namespace (kz.yaml `images.namespace`) whose last
//! path part is the extension's folder or manifest name, or starts with it and a `-` (what
//! `imageref::extension_image` names), or is the repository of kamiwaza.json's `image`. A
//! third-party image (`postgres:1.0.0`) is never touched, nor a digest-pinned reference, nor one
//! built from `${…}` variables. A tag carries the old version when it is the version, with an
//! optional `v` prefix and an optional stage suffix (`1.0.0-dev`).

use crate::error::{Error, Result};
use crate::fsx;
use crate::imageref::ImageRef;
use crate::manifest::{Manifest, FILE_NAME};
use crate::settings::Settings;
use std::path::{Path, PathBuf};

/// One line that changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// 1-based line in the file.
    pub line: u32,
    /// What the value was and becomes (`1.0.0` → `1.1.0`, `kamiwazaai/x:1.0.0` → `…:1.1.0`).
    pub before: String,
    pub after: String,
}

/// One file's new contents and the changes that make it.
#[derive(Clone, Debug)]
pub struct FileEdit {
    pub path: PathBuf,
    pub old_text: String,
    pub new_text: String,
    pub changes: Vec<Change>,
}

/// The edits of a bump from `old` to `new` over the extension folder `dir`, kamiwaza.json first,
/// then the other files in sorted path order. Nothing is written.
pub fn plan(
    dir: &Path,
    dir_name: &str,
    old: &str,
    new: &str,
    settings: &Settings,
) -> Result<Vec<FileEdit>> {
    let manifest_path = dir.join(FILE_NAME);
    let manifest = Manifest::load(&manifest_path)?;
    let own = Own::new(dir_name, &manifest, &settings.namespace);
    let tags = Tags::new(old, new, settings);
    let mut edits = Vec::new();
    let mut text = manifest.text.clone();
    let mut changes = Vec::new();
    // `image` first (it comes later in the text only by convention; edit back to front)
    let mut spans = Vec::new();
    if let Some(span) = manifest.span_of("version") {
        spans.push((span, old.to_owned(), new.to_owned()));
    }
    if let (Some(span), Some(image)) = (manifest.span_of("image"), manifest.str_field("image")) {
        if let Some(moved) = retag(image, &own, &tags) {
            spans.push((span, image.to_owned(), moved));
        }
    }
    spans.sort_by_key(|(s, _, _)| std::cmp::Reverse(s.start));
    for (span, before, after) in spans {
        let literal = serde_json::to_string(&after).unwrap_or_else(|_| format!("\"{after}\""));
        let line = line_at(&text, span.start);
        text.replace_range(span.start..span.end, &literal);
        changes.push(Change {
            line,
            before,
            after,
        });
    }
    changes.sort_by_key(|c| c.line);
    edits.push(FileEdit {
        path: manifest_path,
        old_text: manifest.text.clone(),
        new_text: text,
        changes,
    });
    for path in candidates(dir) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let Ok(text) = fsx::read_text(&path, fsx::MAX_TEXT_FILE) else {
            continue;
        };
        let edit = if is_compose(&name) && path.parent() == Some(dir) {
            edit_lines(&text, |l| compose_line(l, &own, &tags))
        } else if is_dockerfile(&name) {
            edit_lines(&text, |l| arg_line(l, &tags))
        } else if name == "pyproject.toml" {
            pyproject(&text, &tags)
        } else if name == "package.json" {
            package_json(&path, text.clone(), &tags)?
        } else {
            None
        };
        if let Some((new_text, changes)) = edit {
            edits.push(FileEdit {
                path,
                old_text: text,
                new_text,
                changes,
            });
        }
    }
    Ok(edits)
}

/// Write every edit (each file atomically).
pub fn apply(edits: &[FileEdit]) -> Result<()> {
    for e in edits.iter().filter(|e| e.old_text != e.new_text) {
        // The reader drops a UTF-8 byte-order mark; the file keeps the one it had.
        let had_bom = crate::util::open::open_regular(&e.path).is_ok_and(|f| {
            let mut head = [0u8; 3];
            std::io::Read::read_exact(&mut &f, &mut head).is_ok() && head == [0xef, 0xbb, 0xbf]
        });
        if had_bom && !e.new_text.starts_with('\u{feff}') {
            let mut text = String::with_capacity(e.new_text.len() + 3);
            text.push('\u{feff}');
            text.push_str(&e.new_text);
            fsx::write_atomic(&e.path, text.as_bytes())?;
            continue;
        }
        fsx::write_atomic(&e.path, e.new_text.as_bytes())?;
    }
    Ok(())
}

fn line_at(text: &str, offset: usize) -> u32 {
    u32::try_from(text[..offset].matches('\n').count() + 1).unwrap_or(u32::MAX)
}

fn is_compose(name: &str) -> bool {
    (name.starts_with("docker-compose") || name.starts_with("compose"))
        && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

fn is_dockerfile(name: &str) -> bool {
    name.starts_with("dockerfile") || name.ends_with(".dockerfile")
}

/// Folders a bump never looks into.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "__pycache__",
    "venv",
    "dist",
    "build",
    "target",
];

/// Files that may carry the version, in sorted order.
fn candidates(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .max_depth(4)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && (name.starts_with('.') || SKIP_DIRS.contains(&name.as_ref())))
        })
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            is_compose(&name)
                || is_dockerfile(&name)
                || name == "pyproject.toml"
                || name == "package.json"
        })
        .collect()
}

/// Which repositories are the extension's own.
struct Own {
    namespace: String,
    names: Vec<String>,
    image_repo: Option<String>,
}

impl Own {
    fn new(dir_name: &str, manifest: &Manifest, namespace: &str) -> Own {
        let mut names = vec![dir_name.to_ascii_lowercase()];
        if let Some(name) = manifest.name() {
            names.push(name.to_ascii_lowercase());
        }
        let image_repo = manifest
            .str_field("image")
            .map(ImageRef::parse)
            .map(|r| full_repo(&r));
        Own {
            namespace: namespace.to_owned(),
            names,
            image_repo,
        }
    }

    fn owns(&self, r: &ImageRef) -> bool {
        if self.image_repo.as_deref() == Some(full_repo(r).as_str()) {
            return true;
        }
        let last = r.repository.rsplit('/').next().unwrap_or_default();
        r.in_namespace(&self.namespace)
            && self.names.iter().any(|n| {
                last == n
                    || last
                        .strip_prefix(n.as_str())
                        .is_some_and(|t| t.starts_with('-'))
            })
    }
}

fn full_repo(r: &ImageRef) -> String {
    match &r.registry {
        Some(reg) => format!("{reg}/{}", r.repository),
        None => r.repository.clone(),
    }
}

/// The old and new version and the stage suffixes a tag may carry.
struct Tags {
    old: String,
    new: String,
    suffixes: Vec<String>,
}

impl Tags {
    fn new(old: &str, new: &str, settings: &Settings) -> Tags {
        let mut suffixes: Vec<String> = settings
            .stages
            .iter()
            .map(|s| s.tag_suffix.clone())
            .filter(|s| !s.is_empty())
            .collect();
        suffixes.push(String::new());
        Tags {
            old: old.to_owned(),
            new: new.to_owned(),
            suffixes,
        }
    }

    /// The tag with the new version, when it carries the old one.
    fn moved(&self, tag: &str) -> Option<String> {
        let (prefix, rest) = match tag.strip_prefix('v') {
            Some(rest) if rest.starts_with(&self.old) => ("v", rest),
            _ => ("", tag),
        };
        let suffix = rest.strip_prefix(&self.old)?;
        self.suffixes
            .iter()
            .any(|s| s == suffix)
            .then(|| format!("{prefix}{}{suffix}", self.new))
    }

    /// A plain version value (`ARG X_VERSION=1.0.0`, `version = "1.0.0"`).
    fn moved_value(&self, value: &str) -> Option<String> {
        if value == self.old {
            Some(self.new.clone())
        } else if value.strip_prefix('v') == Some(self.old.as_str()) {
            Some(format!("v{}", self.new))
        } else {
            None
        }
    }
}

/// `image` with the new version in its tag, when it is an own image carrying the old one.
fn retag(image: &str, own: &Own, tags: &Tags) -> Option<String> {
    if image.contains('$') {
        return None;
    }
    let r = ImageRef::parse(image);
    if r.digest.is_some() || !own.owns(&r) {
        return None;
    }
    let tag = tags.moved(r.tag.as_deref()?)?;
    Some(r.with_tag(&tag).to_string())
}

/// Apply `edit` to every line (line endings kept); `None` when nothing changed.
fn edit_lines(
    text: &str,
    mut edit: impl FnMut(&str) -> Option<(String, String, String)>,
) -> Option<(String, Vec<Change>)> {
    let mut out = String::with_capacity(text.len());
    let mut changes = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        match edit(body) {
            Some((new_body, before, after)) => {
                out.push_str(&new_body);
                out.push_str(&line[body.len()..]);
                changes.push(Change {
                    line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    before,
                    after,
                });
            }
            None => out.push_str(line),
        }
    }
    (!changes.is_empty()).then_some((out, changes))
}

/// Replace the value found at `start..end` of `line`.
fn splice(line: &str, start: usize, end: usize, value: &str) -> String {
    format!("{}{value}{}", &line[..start], &line[end..])
}

static IMAGE_LINE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"^\s*(?:-\s+)?image\s*:\s*["']?([^\s"'#]+)"#).expect("regex")
});

fn compose_line(line: &str, own: &Own, tags: &Tags) -> Option<(String, String, String)> {
    let m = IMAGE_LINE.captures(line)?.get(1)?;
    let moved = retag(m.as_str(), own, tags)?;
    Some((
        splice(line, m.start(), m.end(), &moved),
        m.as_str().to_owned(),
        moved,
    ))
}

static ARG_LINE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"(?i)^\s*ARG\s+[A-Za-z0-9_]*_VERSION\s*=\s*["']?([^\s"']+)"#)
        .expect("regex")
});

fn arg_line(line: &str, tags: &Tags) -> Option<(String, String, String)> {
    let m = ARG_LINE.captures(line)?.get(1)?;
    let moved = tags.moved_value(m.as_str())?;
    Some((
        splice(line, m.start(), m.end(), &moved),
        line.trim().to_owned(),
        splice(line, m.start(), m.end(), &moved).trim().to_owned(),
    ))
}

static TOML_VERSION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"^\s*version\s*=\s*["']([^"']+)["']"#).expect("regex")
});

/// `version = "…"` in the `[project]` or `[tool.poetry]` table.
fn pyproject(text: &str, tags: &Tags) -> Option<(String, Vec<Change>)> {
    let mut table = String::new();
    edit_lines(text, |line| {
        let t = line.trim();
        if t.starts_with('[') {
            table = t.trim_matches(['[', ']']).trim().to_owned();
            return None;
        }
        if table != "project" && table != "tool.poetry" {
            return None;
        }
        let m = TOML_VERSION.captures(line)?.get(1)?;
        let moved = tags.moved_value(m.as_str())?;
        Some((
            splice(line, m.start(), m.end(), &moved),
            m.as_str().to_owned(),
            moved,
        ))
    })
}

/// The top-level `version` of a package.json.
fn package_json(path: &Path, text: String, tags: &Tags) -> Result<Option<(String, Vec<Change>)>> {
    let doc = Manifest::parse(path, text)?;
    let (Some(version), Some(span)) = (doc.str_field("version"), doc.span_of("version")) else {
        return Ok(None);
    };
    let Some(moved) = tags.moved_value(version) else {
        return Ok(None);
    };
    let mut out = doc.text.clone();
    let literal = serde_json::to_string(&moved).map_err(|e| Error::invalid(path, e.to_string()))?;
    let line = line_at(&out, span.start);
    out.replace_range(span.start..span.end, &literal);
    Ok(Some((
        out,
        vec![Change {
            line,
            before: version.to_owned(),
            after: moved,
        }],
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Tags {
        Tags::new("1.0.0", "1.1.0", &Settings::default())
    }

    #[test]
    fn tags_carrying_the_old_version() {
        let t = tags();
        assert_eq!(t.moved("1.0.0").as_deref(), Some("1.1.0"));
        assert_eq!(t.moved("v1.0.0-dev").as_deref(), Some("v1.1.0-dev"));
        assert_eq!(t.moved("1.0.0-stage").as_deref(), Some("1.1.0-stage"));
        assert_eq!(t.moved("1.0.0-rc.1"), None);
        assert_eq!(t.moved("1.0.01"), None);
        assert_eq!(t.moved("latest"), None);
    }

    #[test]
    fn only_own_images_move() {
        let m = Manifest::parse(
            Path::new("kamiwaza.json"),
            r#"{"name": "demo", "image": "ghcr.io/acme/demo-tool:1.0.0"}"#.into(),
        )
        .expect("json");
        let own = Own::new("demo", &m, "kamiwazaai");
        let t = tags();
        let r = |s: &str| retag(s, &own, &t);
        assert_eq!(
            r("kamiwazaai/demo-backend:1.0.0").as_deref(),
            Some("kamiwazaai/demo-backend:1.1.0")
        );
        assert_eq!(
            r("kamiwazaai/demo:1.0.0-dev").as_deref(),
            Some("kamiwazaai/demo:1.1.0-dev")
        );
        assert_eq!(
            r("ghcr.io/acme/demo-tool:1.0.0").as_deref(),
            Some("ghcr.io/acme/demo-tool:1.1.0")
        );
        assert_eq!(r("postgres:1.0.0"), None);
        assert_eq!(r("kamiwazaai/demoapp:1.0.0"), None);
        assert_eq!(r("kamiwazaai/other:1.0.0"), None);
        assert_eq!(r("kamiwazaai/demo@sha256:abc"), None);
        assert_eq!(r("${IMAGE:-kamiwazaai/demo:1.0.0}"), None);
    }

    #[test]
    fn lines_keep_their_bytes() {
        let t = tags();
        let (out, changes) = edit_lines(
            "ARG APP_VERSION=\"1.0.0\"\r\nARG PY_VERSION=3.11\r\n",
            |l| arg_line(l, &t),
        )
        .expect("edit");
        assert_eq!(out, "ARG APP_VERSION=\"1.1.0\"\r\nARG PY_VERSION=3.11\r\n");
        assert_eq!(changes.len(), 1);
        let py = "[tool.black]\nversion = \"1.0.0\"\n[project]\nname = \"x\"\nversion = '1.0.0'  # kept\n";
        let (out, _) = pyproject(py, &t).expect("edit");
        assert_eq!(out, py.replace("'1.0.0'", "'1.1.0'"));
    }
}
