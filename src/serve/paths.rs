//! From a request path to a file inside the served folder, or a refusal.
//!
//! The path is percent-decoded once, segment by segment. A segment that decodes to `.` or `..`,
//! or holds a `/`, a backslash, a NUL or bytes that are not UTF-8, makes the request malformed
//! (400): no legitimate catalogue URL looks like that. Otherwise the file is found by
//! canonicalising the joined path and requiring the result to stay inside the canonical root, so a
//! symlink leaving the folder is not found (404), like a directory, a missing file, or anything
//! `package::secret_reason` flags (`.env`, private keys, `.certs/`), by its requested or its real
//! name.

use crate::package::secret_reason;
use percent_encoding::percent_decode_str;
use std::path::{Component, Path, PathBuf};

/// Why a request path does not lead to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The path is malformed or tries to climb out (400).
    BadRequest,
    /// No servable file there (404).
    NotFound,
}

/// The decoded, non-empty segments of the raw request path (the part of the URI before `?`).
pub(crate) fn segments(raw: &str) -> Result<Vec<String>, Refusal> {
    if !raw.starts_with('/') {
        return Err(Refusal::BadRequest);
    }
    let mut out = Vec::new();
    for part in raw.split('/').filter(|p| !p.is_empty()) {
        let decoded = percent_decode_str(part).collect::<Vec<u8>>();
        let segment = String::from_utf8(decoded).map_err(|_| Refusal::BadRequest)?;
        if segment.contains(['/', '\\', '\0']) || !is_plain_name(&segment) {
            return Err(Refusal::BadRequest);
        }
        out.push(segment);
    }
    Ok(out)
}

/// Exactly one ordinary path component: not `.`, `..`, a root or a drive prefix.
fn is_plain_name(segment: &str) -> bool {
    let mut components = Path::new(segment).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && segment != "."
}

/// The canonical path of the regular file `raw` names inside `root` (itself canonical).
pub(crate) fn resolve(root: &Path, raw: &str) -> Result<PathBuf, Refusal> {
    let segments = segments(raw)?;
    if segments.is_empty() {
        return Err(Refusal::NotFound);
    }
    let requested = segments.join("/");
    let joined = segments.iter().fold(root.to_path_buf(), |p, s| p.join(s));
    let real = joined.canonicalize().map_err(|_| Refusal::NotFound)?;
    let inside = real.strip_prefix(root).map_err(|_| Refusal::NotFound)?;
    let meta = std::fs::metadata(&real).map_err(|_| Refusal::NotFound)?;
    if !meta.is_file() {
        return Err(Refusal::NotFound);
    }
    let real_rel = inside
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()
        .ok_or(Refusal::NotFound)?
        .join("/");
    if secret_reason(&requested, &real).is_some()
        || (real_rel != requested && secret_reason(&real_rel, &real).is_some())
    {
        return Err(Refusal::NotFound);
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::{resolve, segments, Refusal};
    use std::path::Path;

    #[test]
    fn segments_are_decoded_once_and_climbing_is_refused() {
        assert_eq!(
            segments("/garden/v2//apps.json").expect("ok"),
            ["garden", "v2", "apps.json"]
        );
        assert_eq!(segments("/a%20b.json").expect("ok"), ["a b.json"]);
        // decoded once: a double-encoded dot-dot is a (missing) file name, not a climb
        assert_eq!(segments("/%252e%252e/x").expect("ok"), ["%2e%2e", "x"]);
        assert_eq!(segments("/").expect("ok"), Vec::<String>::new());
        for bad in [
            "/../kz.yaml",
            "/garden/../../kz.yaml",
            "/%2e%2e/kz.yaml",
            "/%2E%2e/kz.yaml",
            "/.%2e/kz.yaml",
            "/garden/..%2f..%2f..%2fkz.yaml",
            "/garden/%2fetc%2fpasswd",
            "/garden/..%5c..%5ckz.yaml",
            "/garden\\..\\kz.yaml",
            "/a%00.json",
            "/./apps.json",
            "/%ff.json",
            "garden/v2/apps.json",
            "",
        ] {
            assert_eq!(segments(bad), Err(Refusal::BadRequest), "{bad:?}");
        }
    }

    fn tree() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("registry");
        let write = |rel: &str, body: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, body).expect("write");
        };
        write("garden/v2/apps.json", "[]");
        write("garden/v2/server.key", "k");
        write(
            "garden/v2/images/hidden.png",
            "-----BEGIN PRIVATE KEY-----\n",
        );
        write(".certs/server.pem", "c");
        write(".env", "A=1");
        std::fs::write(dir.path().join("outside.json"), "{}").expect("write");
        let root = root.canonicalize().expect("canonical");
        (dir, root)
    }

    #[test]
    fn files_inside_are_found_everything_else_is_not() {
        let (_dir, root) = tree();
        let found = resolve(&root, "/garden/v2/apps.json").expect("found");
        assert_eq!(found, root.join("garden/v2/apps.json"));
        for missing in [
            "/",
            "/garden/v2",
            "/garden/v2/",
            "/garden/v2/nope.json",
            "/garden/v2/server.key",
            "/garden/v2/images/hidden.png",
            "/.certs/server.pem",
            "/.env",
        ] {
            assert_eq!(resolve(&root, missing), Err(Refusal::NotFound), "{missing}");
        }
        assert_eq!(resolve(&root, "/../outside.json"), Err(Refusal::BadRequest));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_may_not_leave_the_root_nor_rename_a_secret() {
        let (dir, root) = tree();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).expect("symlink");
        };
        link(&dir.path().join("outside.json"), "out.json");
        link(dir.path(), "up");
        link(&root.join("garden/v2/server.key"), "public.json");
        link(&root.join("garden/v2/apps.json"), "alias.json");
        link(&root.join("garden/v2/apps.json"), "alias.key");
        for refused in [
            "/out.json",
            "/up/outside.json",
            "/public.json",
            "/alias.key",
        ] {
            assert_eq!(resolve(&root, refused), Err(Refusal::NotFound), "{refused}");
        }
        let alias = resolve(&root, "/alias.json").expect("inside link is fine");
        assert_eq!(alias, root.join("garden/v2/apps.json"));
    }
}
