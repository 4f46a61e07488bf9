//! Preview images (spec §5.4): where an extension's preview file is, the name the catalogue
//! stores it under (`<images dir>/<file name>`), and the public path the entry points at.
//!
//! The reference looks only at the extension root, so `images/x.svg` (where the guide and real
//! repositories put previews) is never found; and its v1 paths point at `/garden/default/<file>`
//! while the file is stored in `app-garden-images/` (§16.8). kz looks at the path as written,
//! then the root, then `images/`, and points v1 entries at the folder the file is really in.
//! The reference's stand-ins (`icon.png`, `logo.png`, `preview.png`, `icon.svg`, used when the
//! named file is missing) are kept, but only one of the same file type is used, so a stored
//! `x.png` is a PNG, and kz says that it substituted one.

use super::RepoVersion;
use std::path::{Component, Path, PathBuf};

/// The files the reference falls back to when the named preview is missing, in its order.
const STAND_INS: [&str; 4] = ["icon.png", "logo.png", "preview.png", "icon.svg"];

/// What to do with one `preview_image` value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Preview {
    /// The value the entry gets.
    pub(crate) public: String,
    /// The file to copy and the name to store it under, when one is needed and was found.
    pub(crate) copy: Option<(PathBuf, String)>,
    /// The stand-in used instead of the named file, if any.
    pub(crate) stand_in: Option<&'static str>,
    /// A local file was needed but not found.
    pub(crate) missing: bool,
}

/// Whether a `preview_image` value names a preview at all (`""`, `"null"` and non-strings do
/// not, as the reference reads them).
pub(crate) fn is_preview(value: &str) -> bool {
    !value.is_empty() && value != "null"
}

/// Plan the preview `value` of the extension in `ext_dir` for the catalogue layout `rv`.
pub(crate) fn plan(value: &str, ext_dir: &Path, rv: RepoVersion) -> Preview {
    if value.starts_with("http://") || value.starts_with("https://") {
        return Preview {
            public: value.to_owned(),
            copy: None,
            stand_in: None,
            missing: false,
        };
    }
    let file_name = Path::new(value)
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned);
    let Some(file_name) = file_name else {
        return Preview {
            public: value.to_owned(),
            copy: None,
            stand_in: None,
            missing: true,
        };
    };
    let garden = format!("/garden/{}", rv.garden_dir());
    let public = if value.starts_with(&garden) {
        value.to_owned()
    } else {
        match rv {
            RepoVersion::V2 | RepoVersion::V3 => format!("{}/{file_name}", rv.images_dir()),
            RepoVersion::V1 => format!("{garden}/{}/{file_name}", rv.images_dir()),
        }
    };
    let (source, stand_in) = match find(value, &file_name, ext_dir) {
        Some(found) => (Some(found), None),
        None => match find_stand_in(&file_name, ext_dir) {
            Some((path, name)) => (Some(path), Some(name)),
            None => (None, None),
        },
    };
    Preview {
        public,
        missing: source.is_none(),
        copy: source.map(|s| (s, file_name)),
        stand_in,
    }
}

/// The named file: the path as written (when relative), then the root, then `images/`.
fn find(value: &str, file_name: &str, ext_dir: &Path) -> Option<PathBuf> {
    let as_written = Path::new(value);
    let relative = as_written
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let mut candidates = Vec::with_capacity(3);
    if relative {
        candidates.push(ext_dir.join(as_written));
    }
    candidates.push(ext_dir.join(file_name));
    candidates.push(ext_dir.join("images").join(file_name));
    candidates.into_iter().find(|c| inside(c, ext_dir))
}

/// The first stand-in of the same file type as `file_name`.
fn find_stand_in(file_name: &str, ext_dir: &Path) -> Option<(PathBuf, &'static str)> {
    let wanted = extension_of(file_name)?;
    STAND_INS
        .into_iter()
        .filter(|s| extension_of(s).as_deref() == Some(wanted.as_str()))
        .map(|s| (ext_dir.join(s), s))
        .find(|(path, _)| inside(path, ext_dir))
}

fn extension_of(name: &str) -> Option<String> {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// A regular file that, with symlinks resolved, is inside the extension folder.
fn inside(path: &Path, ext_dir: &Path) -> bool {
    path.is_file()
        && match (path.canonicalize(), ext_dir.canonicalize()) {
            (Ok(file), Ok(root)) => file.starts_with(root),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext() -> tempfile::TempDir {
        let t = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(t.path().join("images")).expect("mkdir");
        std::fs::write(t.path().join("images/shot.svg"), "<svg/>").expect("write");
        std::fs::write(t.path().join("edge.png"), "png").expect("write");
        std::fs::write(t.path().join("logo.png"), "png").expect("write");
        t
    }

    #[test]
    fn paths_and_lookups() {
        let t = ext();
        let dir = t.path();
        let p = plan("images/shot.svg", dir, RepoVersion::V2);
        assert_eq!(p.public, "images/shot.svg");
        assert_eq!(
            p.copy,
            Some((dir.join("images/shot.svg"), "shot.svg".into()))
        );
        let p = plan("shot.svg", dir, RepoVersion::V1);
        assert_eq!(p.public, "/garden/default/app-garden-images/shot.svg");
        assert_eq!(
            p.copy,
            Some((dir.join("images/shot.svg"), "shot.svg".into()))
        );
        let p = plan("edge.png", dir, RepoVersion::V1);
        assert_eq!(p.public, "/garden/default/app-garden-images/edge.png");
        let p = plan("https://info.kamiwaza.ai/x.png", dir, RepoVersion::V2);
        assert_eq!(
            (p.public.as_str(), p.copy, p.missing),
            ("https://info.kamiwaza.ai/x.png", None, false)
        );
        let p = plan("/garden/v2/images/edge.png", dir, RepoVersion::V2);
        assert_eq!(p.public, "/garden/v2/images/edge.png");
    }

    #[test]
    fn stand_ins_of_the_same_type_only() {
        let t = ext();
        let dir = t.path();
        let p = plan("/app-garden-images/svc.png", dir, RepoVersion::V2);
        assert_eq!(p.public, "images/svc.png");
        assert_eq!(p.copy, Some((dir.join("logo.png"), "svc.png".into())));
        assert_eq!(p.stand_in, Some("logo.png"));
        let p = plan("/app-garden-images/svc.jpg", dir, RepoVersion::V2);
        assert!(p.missing && p.copy.is_none());
    }

    #[test]
    fn nothing_outside_the_extension() {
        let t = ext();
        let p = plan("../edge.png", &t.path().join("images"), RepoVersion::V2);
        assert!(p.missing);
    }
}
