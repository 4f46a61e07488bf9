//! The one file-opening policy every command reads through: regular files only (a named pipe,
//! a device or a folder is refused before anything is read from it, so a FIFO in place of
//! kamiwaza.json never hangs kz), size-bounded, and, for paths inside the workspace, inside it
//! once symlinks are resolved (a committed symlink to `~/.aws/credentials` is refused, never
//! printed).
//!
//! The CLI names the workspace root once per run ([`set_workspace`]); a path below that root whose
//! real location is outside it is refused. Paths outside the root (the user's own
//! `~/.kamiwaza/config.yaml`, a docker config) are the user's choice and only need to be regular.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Largest small file (a token, a profile file) read through [`read_regular`] by the redactor.
pub const MAX_SMALL_FILE: u64 = 1024 * 1024;

static WORKSPACE: RwLock<Option<(PathBuf, PathBuf)>> = RwLock::new(None);

/// Name the run's workspace root (as given, and resolved): paths under it must stay inside it.
pub fn set_workspace(root: &Path) {
    let real = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    if let Ok(mut w) = WORKSPACE.write() {
        *w = Some((root.to_owned(), real));
    }
}

/// What a non-regular file is, for messages.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if ft.is_fifo() {
            return "a named pipe";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else {
        "an unusual file"
    }
}

/// Refuse `path` when it lies under the workspace root but resolves outside it.
pub fn check_inside(path: &Path) -> Result<()> {
    let Ok(guard) = WORKSPACE.read() else {
        return Ok(());
    };
    let Some((root, real_root)) = guard.as_ref() else {
        return Ok(());
    };
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let base = if abs.starts_with(root) {
        root
    } else if abs.starts_with(real_root) {
        real_root
    } else {
        return Ok(());
    };
    // Only a link below the root can lead out of it: look at those components alone (one lstat
    // each) and resolve the whole path only when one is a link (or the path climbs with `..`).
    let rel = abs.strip_prefix(base).unwrap_or(&abs);
    let mut cur = base.to_path_buf();
    for c in rel.components() {
        if !matches!(c, std::path::Component::Normal(_)) {
            return check_within(real_root, path);
        }
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => return check_within(real_root, path),
            Ok(_) => {}
            // Missing: nothing to follow (the caller's open reports it).
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// Refuse `path` when its real location (symlinks resolved) is outside `real_root`.
pub fn check_within(real_root: &Path, path: &Path) -> Result<()> {
    match path.canonicalize() {
        Ok(real) if real.starts_with(real_root) => Ok(()),
        Ok(real) => Err(Error::invalid(
            path,
            format!(
                "it is a symbolic link to `{}`, outside the workspace; kz does not follow it",
                real.display()
            ),
        )),
        // Missing: nothing to follow (the caller's open reports it).
        Err(_) => Ok(()),
    }
}

/// Open `path` for reading if it is a regular file. The open does not block on a named pipe
/// (O_NONBLOCK), and the type is checked on the opened file itself, so nothing can be swapped in
/// between the check and the read.
pub fn open_regular(path: &Path) -> Result<File> {
    check_inside(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(|e| Error::read(path, e))?;
    let meta = file.metadata().map_err(|e| Error::read(path, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(
            path,
            format!("it is {}; kz reads only regular files", kind_of(&meta)),
        ));
    }
    Ok(file)
}

/// The bytes of the regular file `path`, at most `limit` of them.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = open_regular(path)?;
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
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("kamiwaza.json");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        let err = read_regular(&fifo, 100).expect_err("fifo");
        assert!(err.to_string().contains("kamiwaza.json"), "{err}");
        let err = open_regular(dir.path()).expect_err("folder");
        assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    }

    #[test]
    fn bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, "12345").expect("write");
        assert_eq!(read_regular(&p, 5).expect("read"), b"12345");
        assert!(matches!(read_regular(&p, 4), Err(Error::TooLarge { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_a_root_are_refused() {
        let root = tempfile::tempdir().expect("root");
        let outside = tempfile::tempdir().expect("outside");
        std::fs::write(outside.path().join("credentials"), "x").expect("write");
        std::fs::write(root.path().join("inside"), "x").expect("write");
        let link = root.path().join("link");
        std::os::unix::fs::symlink(outside.path().join("credentials"), &link).expect("link");
        let inner = root.path().join("inner");
        std::os::unix::fs::symlink(root.path().join("inside"), &inner).expect("link");
        let real = root.path().canonicalize().expect("real");
        assert!(check_within(&real, &link).is_err());
        assert!(check_within(&real, &inner).is_ok());
    }
}
