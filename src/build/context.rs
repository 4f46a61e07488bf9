//! A build context as the engine receives it: the files of the context folder after Docker's
//! `.dockerignore` rules, as a tar stream with fixed metadata (sorted walk, owner 0:0, a fixed
//! time, mode 0644 or 0755 from the owner's exec bit, 0755 folders), so the same files always give
//! the same bytes and so the same content hash. The Dockerfile and `.dockerignore` are always
//! sent, as the docker CLI does. Symlinks are stored as links and never followed; one whose target
//! lies outside the context is refused. Nothing is held in memory: the tar is written to any
//! `Write` (a hasher, or the channel that feeds the engine).

use super::Dockerfile;
use crate::dockerignore::DockerIgnore;
use crate::error::{Error, Result};
use crate::package::FIXED_MTIME;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The name a Dockerfile from outside the context (or an inline one) gets inside the tar.
pub(crate) const EXTRA_DOCKERFILE: &str = ".dockerfile.kz";

/// Dockerfiles outside the context are read into memory; they are text and small.
const MAX_DOCKERFILE: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
enum Kind {
    Dir,
    File { size: u64, exec: bool },
    Link(PathBuf),
}

#[derive(Debug)]
struct Entry {
    rel: String,
    path: PathBuf,
    kind: Kind,
}

/// A scanned context: what will be sent, in order.
#[derive(Debug)]
pub(crate) struct Context {
    entries: Vec<Entry>,
    /// A Dockerfile that is not a file of the context, sent as [`EXTRA_DOCKERFILE`].
    extra: Option<Vec<u8>>,
    /// The Dockerfile's path inside the tar: the engine's `dockerfile` parameter.
    pub(crate) dockerfile: String,
    /// Files and links sent (folders not counted), for messages.
    pub(crate) files: usize,
    /// Bytes of file content sent.
    pub(crate) bytes: u64,
}

impl Context {
    /// Walk `root` (an absolute folder) and decide what is sent.
    pub(crate) fn scan(root: &Path, dockerfile: &Dockerfile) -> Result<Context> {
        let (dockerfile_rel, extra) = match dockerfile {
            Dockerfile::Path(path) => match path.strip_prefix(root) {
                Ok(rel) if !rel.as_os_str().is_empty() => (Some(slash_path(root, rel)?), None),
                _ => (None, Some(read_dockerfile(path)?)),
            },
            Dockerfile::Inline(text) => (None, Some(text.as_bytes().to_vec())),
        };
        let ignore = DockerIgnore::for_context(root);
        // Without `!` exceptions an excluded folder holds nothing that is sent: skip it whole.
        let enter_excluded =
            ignore.has_exceptions() || dockerfile_rel.as_deref().is_some_and(|d| d.contains('/'));
        let always = |rel: &str| rel == ".dockerignore" || dockerfile_rel.as_deref() == Some(rel);
        let walker = WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| {
                if enter_excluded || !e.file_type().is_dir() {
                    return true;
                }
                match e.path().strip_prefix(root).ok().and_then(Path::to_str) {
                    Some(rel) => !ignore.excludes(rel),
                    None => true,
                }
            });
        let mut ctx = Context {
            entries: Vec::new(),
            extra,
            dockerfile: dockerfile_rel
                .clone()
                .unwrap_or_else(|| EXTRA_DOCKERFILE.to_owned()),
            files: 0,
            bytes: 0,
        };
        for item in walker {
            let item = item.map_err(|e| {
                let path = e.path().unwrap_or(root).to_path_buf();
                Error::read(path, e.into())
            })?;
            let path = item.path().to_path_buf();
            let rel = slash_path(root, path.strip_prefix(root).unwrap_or(&path))?;
            if ignore.excludes(&rel) && !always(&rel) {
                continue;
            }
            let ft = item.file_type();
            let kind = if ft.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|e| Error::read(&path, e))?;
                if link_escapes(&rel, &target) {
                    return Err(Error::invalid(
                        &path,
                        format!(
                            "a symbolic link to `{}`, outside the build context `{}`; kz never \
                             follows links out of a context (copy the file in, or widen the \
                             context)",
                            target.display(),
                            root.display()
                        ),
                    ));
                }
                ctx.files += 1;
                Kind::Link(target)
            } else if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() {
                let meta = item.metadata().map_err(|e| Error::read(&path, e.into()))?;
                ctx.files += 1;
                ctx.bytes += meta.len();
                Kind::File {
                    size: meta.len(),
                    exec: is_exec(&meta),
                }
            } else {
                // Sockets, FIFOs and devices have no place in an image build.
                continue;
            };
            ctx.entries.push(Entry { rel, path, kind });
        }
        if let Some(rel) = &dockerfile_rel {
            let found = ctx
                .entries
                .iter()
                .any(|e| &e.rel == rel && !matches!(e.kind, Kind::Dir));
            if !found {
                return Err(Error::invalid(
                    root.join(rel),
                    "the Dockerfile is missing from the build context",
                ));
            }
        }
        if let Some(extra) = &ctx.extra {
            ctx.files += 1;
            ctx.bytes += extra.len() as u64;
        }
        Ok(ctx)
    }

    /// Write the context as a tar to `out`; returns the writer once the tar is finished.
    pub(crate) fn write_tar<W: Write>(&self, out: W) -> Result<W> {
        let mut tar = tar::Builder::new(out);
        for entry in &self.entries {
            let mut h = header();
            let written = match &entry.kind {
                Kind::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    tar.append_data(&mut h, format!("{}/", entry.rel), io::empty())
                }
                Kind::File { size, exec } => {
                    h.set_mode(if *exec { 0o755 } else { 0o644 });
                    h.set_size(*size);
                    let file = File::open(&entry.path).map_err(|e| Error::read(&entry.path, e))?;
                    let exact = Exact {
                        inner: file.take(*size),
                        left: *size,
                    };
                    tar.append_data(&mut h, &entry.rel, exact)
                }
                Kind::Link(target) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_mode(0o777);
                    tar.append_link(&mut h, &entry.rel, target)
                }
            };
            written.map_err(|e| Error::read(&entry.path, e))?;
        }
        if let Some(extra) = &self.extra {
            let mut h = header();
            h.set_mode(0o644);
            h.set_size(extra.len() as u64);
            tar.append_data(&mut h, EXTRA_DOCKERFILE, extra.as_slice())
                .map_err(|e| Error::read(EXTRA_DOCKERFILE, e))?;
        }
        tar.into_inner()
            .map_err(|e| Error::read(EXTRA_DOCKERFILE, e))
    }

    /// The sha256 of the tar, in hex.
    pub(crate) fn digest(&self) -> Result<String> {
        let hasher = self.write_tar(HashWriter(Sha256::new()))?;
        Ok(hex(&hasher.0.finalize()))
    }
}

fn header() -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mtime(FIXED_MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    h
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `a/b/c` for a relative path; names that are not UTF-8 are refused (the tar and the
/// `.dockerignore` rules need text).
fn slash_path(root: &Path, rel: &Path) -> Result<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts.map(|p| p.join("/")).ok_or_else(|| {
        Error::invalid(
            root.join(rel),
            "the file name is not UTF-8; build contexts need UTF-8 names",
        )
    })
}

/// Whether a link at `rel` (inside the context) pointing at `target` resolves outside it.
fn link_escapes(rel: &str, target: &Path) -> bool {
    crate::fsx::escapes_root(rel.matches('/').count(), target)
}

fn read_dockerfile(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if meta.len() > MAX_DOCKERFILE {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DOCKERFILE,
        });
    }
    std::fs::read(path).map_err(|e| Error::read(path, e))
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

/// A reader that fails if the file gives fewer bytes than its header promised (it shrank while
/// being sent), rather than letting a corrupt tar through.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being sent",
            ));
        }
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn names(ctx: &Context) -> Vec<String> {
        let tar = ctx.write_tar(Vec::new()).expect("tar");
        let mut archive = tar::Archive::new(tar.as_slice());
        archive
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                assert_eq!(e.header().mtime().expect("mtime"), FIXED_MTIME);
                assert_eq!(e.header().uid().expect("uid"), 0);
                e.path().expect("path").to_string_lossy().into_owned()
            })
            .collect()
    }

    #[test]
    fn ignore_rules_and_always_sent_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "Dockerfile", "FROM busybox\n");
        write(
            root,
            ".dockerignore",
            "*.log\ndata\n.dockerignore\nDockerfile\n!keep.log\n",
        );
        write(root, "a.log", "x");
        write(root, "keep.log", "x");
        write(root, "data/db", "x");
        write(root, "src/main.py", "print(1)\n");
        let ctx = Context::scan(root, &Dockerfile::Path(root.join("Dockerfile"))).expect("scan");
        assert_eq!(ctx.dockerfile, "Dockerfile");
        assert_eq!(
            names(&ctx),
            [
                ".dockerignore",
                "Dockerfile",
                "keep.log",
                "src/",
                "src/main.py"
            ]
        );
    }

    #[test]
    fn the_hash_follows_content_not_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "Dockerfile", "FROM busybox\n");
        write(root, "f", "one");
        let df = Dockerfile::Path(root.join("Dockerfile"));
        let first = Context::scan(root, &df)
            .expect("scan")
            .digest()
            .expect("hash");
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(root, "f", "one");
        let again = Context::scan(root, &df)
            .expect("scan")
            .digest()
            .expect("hash");
        assert_eq!(first, again);
        write(root, "f", "two");
        let changed = Context::scan(root, &df)
            .expect("scan")
            .digest()
            .expect("hash");
        assert_ne!(first, changed);
    }

    #[cfg(unix)]
    #[test]
    fn links_stay_inside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("ctx");
        write(&root, "Dockerfile", "FROM busybox\n");
        write(&root, "sub/real", "x");
        std::os::unix::fs::symlink("real", root.join("sub/ok")).expect("link");
        std::os::unix::fs::symlink("../Dockerfile", root.join("sub/up")).expect("link");
        let df = Dockerfile::Path(root.join("Dockerfile"));
        let ctx = Context::scan(&root, &df).expect("links inside are fine");
        assert!(names(&ctx).contains(&"sub/ok".to_owned()));
        for (name, target) in [("etc", "/etc"), ("esc", "../../x"), ("esc2", "sub/../../y")] {
            let link = root.join(name);
            std::os::unix::fs::symlink(target, &link).expect("link");
            let err = Context::scan(&root, &df).expect_err("escapes");
            assert!(err.to_string().contains(name), "{err}");
            assert!(format!("{err:?}").contains(target), "{err:?}");
            std::fs::remove_file(link).expect("rm");
        }
    }

    #[test]
    fn a_dockerfile_outside_is_sent_under_its_own_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "Dockerfile.shared", "FROM busybox\n");
        write(dir.path(), "ctx/f", "x");
        let ctx = Context::scan(
            &dir.path().join("ctx"),
            &Dockerfile::Path(dir.path().join("Dockerfile.shared")),
        )
        .expect("scan");
        assert_eq!(ctx.dockerfile, EXTRA_DOCKERFILE);
        assert_eq!(names(&ctx), ["f", EXTRA_DOCKERFILE]);
    }
}
