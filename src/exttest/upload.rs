//! Putting a suite's folder into its container through the engine's archive upload (never a host
//! mount), for images whose Dockerfile or `.dockerignore` left the tests out. The folder is sent
//! as a tar stream made on a blocking thread (memory bounded): sorted walk, owner 0:0, mode 0644
//! or 0755, symlinks never followed; `.git`, dependency folders (`node_modules`, `.venv`,
//! `venv`), caches and secrets (`.env` files, private keys, `.certs/`) are never sent.

use crate::error::Error;
use bytes::Bytes;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
];

/// Send `dir` as a tar whose entries start with `prefix` (e.g. `app/tests-dir`, or empty) into
/// `tx`, one chunk at a time. Runs on a blocking thread; returns the number of files sent.
pub(crate) fn stream_dir(
    dir: &Path,
    prefix: &str,
    tx: tokio::sync::mpsc::Sender<Bytes>,
) -> Result<usize, Error> {
    let sink = ChannelWriter {
        tx,
        buf: Vec::with_capacity(CHUNK),
    };
    let mut tar = tar::Builder::new(sink);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut files = 0usize;
    let prefix = prefix.trim_matches('/');
    // Parent folders of the prefix first, so the engine can create them.
    let mut acc = String::new();
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(part);
        append_dir(&mut tar, &acc).map_err(|e| Error::read(dir, e))?;
    }
    let walker = WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
            Error::read(path, io::Error::other(e.to_string()))
        })?;
        if entry.depth() == 0 {
            continue;
        }
        let rel = rel_slash(dir, entry.path());
        if crate::util::secret_files::always_refused(&rel, entry.path()).is_some() {
            continue;
        }
        let name = if prefix.is_empty() {
            rel.clone()
        } else {
            format!("{prefix}/{rel}")
        };
        let ft = entry.file_type();
        let result = if ft.is_dir() {
            append_dir(&mut tar, &name)
        } else if ft.is_file() {
            files += 1;
            append_file(&mut tar, &name, entry.path())
        } else {
            // Symlinks and special files are not sent: a link could point out of the folder.
            continue;
        };
        result.map_err(|e| Error::read(entry.path(), e))?;
    }
    let sink = tar.into_inner().map_err(|e| Error::read(dir, e))?;
    sink.finish().map_err(|e| Error::read(dir, e))?;
    Ok(files)
}

fn rel_slash(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, name: &str) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(0);
    tar.append_data(&mut h, format!("{name}/"), io::empty())
}

fn append_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, path: &Path) -> io::Result<()> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(if is_exec(&meta) { 0o755 } else { 0o644 });
    h.set_size(meta.len());
    h.set_mtime(0);
    tar.append_data(&mut h, name, file)
}

#[cfg(unix)]
fn is_exec(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

#[cfg(not(unix))]
fn is_exec(_meta: &std::fs::Metadata) -> bool {
    false
}

const CHUNK: usize = 64 * 1024;

/// A `Write` that hands 64 KiB chunks to an async channel (blocking the writer thread when the
/// engine reads slower than the disk).
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the engine stopped reading"))
    }

    fn finish(mut self) -> io::Result<()> {
        self.send()
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The container path a folder is uploaded to: `workdir` joined with the folder's place in the
/// build context.
pub(crate) fn target_dir(workdir: &str, in_context: &Path) -> String {
    let mut p = PathBuf::from(if workdir.is_empty() { "/" } else { workdir });
    p.push(in_context);
    let s: Vec<String> = p
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    format!("/{}", s.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tar_holds_the_folder_without_secrets_or_dependencies() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, text) in [
            ("tests/test_a.py", "def test_a(): pass\n"),
            ("app/main.py", "x = 1\n"),
            (".env", "SECRET=1\n"),
            ("node_modules/x/index.js", ""),
            ("tests/__pycache__/a.pyc", ""),
            ("key.pem", "-----BEGIN PRIVATE KEY-----\n"),
        ] {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc", dir.path().join("etc-link")).expect("symlink");
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let path = dir.path().to_owned();
        let handle = std::thread::spawn(move || stream_dir(&path, "app/svc", tx));
        let mut bytes = Vec::new();
        while let Some(chunk) = rx.blocking_recv() {
            bytes.extend_from_slice(&chunk);
        }
        let files = handle.join().expect("thread").expect("tar");
        assert_eq!(files, 2);
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "app/",
                "app/svc/",
                "app/svc/app/",
                "app/svc/app/main.py",
                "app/svc/tests/",
                "app/svc/tests/test_a.py"
            ]
        );
    }

    #[test]
    fn target_dirs() {
        assert_eq!(target_dir("/app", Path::new("")), "/app");
        assert_eq!(target_dir("/app/", Path::new("worker")), "/app/worker");
        assert_eq!(target_dir("", Path::new("")), "/");
    }
}
