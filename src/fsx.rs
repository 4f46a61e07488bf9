//! Small file-system helpers every command goes through: bounded UTF-8 reads and atomic writes
//! (temp file in the same folder, then rename), so no file is ever left half-written.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Largest manifest or compose file kz reads.
pub const MAX_TEXT_FILE: u64 = 4 * 1024 * 1024;

/// Read a text file of at most `limit` bytes, as UTF-8 (a leading BOM is dropped).
pub fn read_text(path: &Path, limit: u64) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{feff}') {
                s.drain(..3);
            }
            Ok(s)
        }
        Err(e) => {
            let upto = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..upto].iter().filter(|b| **b == b'\n').count() + 1;
            Err(Error::NotUtf8 {
                path: path.to_owned(),
                line,
            })
        }
    }
}

/// Write `contents` to `path` atomically. Returns `false` (and writes nothing) when the file
/// already holds exactly these bytes, so unchanged files keep their mtime.
pub fn write_if_changed(path: &Path, contents: &[u8]) -> Result<bool> {
    if let Ok(existing) = std::fs::read(path) {
        if existing == contents {
            return Ok(false);
        }
    }
    write_atomic(path, contents)?;
    Ok(true)
}

/// Write `contents` to `path` through a temp file in the same folder and a rename: readers and a
/// kz killed half way see the old file or the new one, never a mix. (No fsync: like cargo and
/// git's defaults, kz trades power-loss durability of generated files for speed.)
/// The file keeps the permissions of the file it replaces.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_via_temp(path, contents, false)
}

/// Like `write_atomic`, for secrets: the file is owner-only (0600) from the moment it exists.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    write_via_temp(path, contents, true)
}

fn write_via_temp(path: &Path, contents: &[u8], private: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".kz-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::write(path, e))?;
    tmp.write_all(contents).map_err(|e| Error::write(path, e))?;
    // The temp file is already 0600, which a private file keeps.
    if !private {
        match std::fs::metadata(path) {
            Ok(meta) => tmp.as_file().set_permissions(meta.permissions()),
            Err(_) => set_new_file_mode(tmp.as_file()),
        }
        .map_err(|e| Error::write(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::write(path, e.error))?;
    Ok(())
}

/// Temp files are created 0600; a new file gets the usual 0644.
#[cfg(unix)]
fn set_new_file_mode(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_new_file_mode(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Create the folder `dest` holding `files` (paths relative to it) as a whole: they are written in
/// a staging folder beside `dest`, which is then renamed into place, so `dest` either does not
/// exist or is complete. `dest` must not exist yet (not even as a dangling symlink).
pub fn create_dir_whole<P, B>(dest: &Path, files: impl IntoIterator<Item = (P, B)>) -> Result<()>
where
    P: AsRef<Path>,
    B: AsRef<[u8]>,
{
    if dest.exists() || dest.is_symlink() {
        return Err(Error::Exists {
            path: dest.to_path_buf(),
        });
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".kz-new-{name}-"))
        .tempdir_in(parent)
        .map_err(|e| Error::write(parent, e))?;
    for (path, body) in files {
        let file = staging.path().join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        }
        write_atomic(&file, body.as_ref())?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, dest).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        Error::write(dest, e)
    })
}

/// Whether the relative path `path`, followed from a folder `depth` levels below a root, leaves
/// that root: `..` past the top, or an absolute path. Nothing is read from disk.
pub fn escapes_root(depth: usize, path: &Path) -> bool {
    use std::path::Component;
    let mut depth = depth;
    for part in path.components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// `a/./b/../c` → `a/c`, without touching the file system (a `..` at the top is dropped).
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_and_unchanged_skip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.yml");
        assert!(write_if_changed(&p, b"x: 1\n").expect("write"));
        assert!(!write_if_changed(&p, b"x: 1\n").expect("same"));
        assert!(write_if_changed(&p, b"x: 2\n").expect("changed"));
        assert_eq!(std::fs::read(&p).expect("read"), b"x: 2\n");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".kz-tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn limits_and_utf8() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'a'; 11]).expect("write");
        assert!(matches!(read_text(&p, 10), Err(Error::TooLarge { .. })));
        std::fs::write(&p, b"ok\n\xff\n").expect("write");
        assert!(matches!(
            read_text(&p, 100),
            Err(Error::NotUtf8 { line: 2, .. })
        ));
        std::fs::write(&p, "\u{feff}hi").expect("write");
        assert_eq!(read_text(&p, 100).expect("read"), "hi");
    }

    #[test]
    fn a_folder_is_created_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("app");
        create_dir_whole(&dest, [("a.txt", "a"), ("sub/b.txt", "b")]).expect("create");
        assert_eq!(
            std::fs::read_to_string(dest.join("sub/b.txt")).expect("b"),
            "b"
        );
        let again = create_dir_whole(&dest, [("c.txt", "c")]).expect_err("exists");
        assert!(matches!(again, Error::Exists { .. }), "{again:?}");
        assert!(!dest.join("c.txt").exists());
        // A file that cannot be written leaves neither the folder nor a staging folder.
        let bad = dir.path().join("bad");
        let err = create_dir_whole(&bad, [("ok.txt", "x"), ("ok.txt/under-a-file", "y")]);
        assert!(err.is_err());
        assert!(!bad.exists());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["app"]);
    }

    #[test]
    fn escapes_root_counts_levels() {
        assert!(!escapes_root(0, Path::new("a/../b")));
        assert!(escapes_root(0, Path::new("../a")));
        assert!(!escapes_root(1, Path::new("../a")));
        assert!(escapes_root(1, Path::new("../../etc")));
        assert!(escapes_root(3, Path::new("/etc")));
        assert!(!escapes_root(0, Path::new("./x/./y")));
    }
}
