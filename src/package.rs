//! `kz package`: the registry folder as a deterministic, streamed tar.gz. Entries are sorted,
//! owners, times and modes are fixed and the gzip header carries no name or time, so the same
//! inputs give the same bytes whatever the archive is called. Secrets never go in: `.env` files,
//! private keys (by name and by content) and anything under `.certs/` are skipped and reported.
//! Files are streamed from disk into the compressor, so memory stays bounded whatever the size.

use crate::error::{Error, Result};
use flate2::{Compression, GzBuilder};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The fixed modification time of every entry (2000-01-01T00:00:00Z; tar readers dislike 0).
pub const FIXED_MTIME: u64 = 946_684_800;

/// Why a file was left out of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Path inside the archive.
    pub path: String,
    pub reason: &'static str,
}

#[derive(Debug)]
pub struct Packed {
    pub archive: PathBuf,
    pub files: usize,
    pub bytes: u64,
    pub skipped: Vec<Skipped>,
}

/// Why a file must not be packed, if it must not: the one secret-file policy
/// (`util::secret_files`), an allowlist by kind.
pub fn secret_reason(rel: &str, path: &Path) -> Option<&'static str> {
    crate::util::secret_files::refusal(rel, path)
}

/// Files packed from elsewhere into one folder of the archive (the exported images of
/// `kz package --with-images`), replacing that folder if the packed tree has one.
#[derive(Clone, Debug)]
pub struct Overlay {
    /// The folder inside the archive root, e.g. `garden/v2/docker-images`.
    pub dir: String,
    /// (name in that folder, file on disk), in the order to pack them.
    pub files: Vec<(String, PathBuf)>,
}

/// Pack `dir` (its contents under the archive root `root_name/`) into `archive`, atomically.
pub fn pack(dir: &Path, root_name: &str, archive: &Path) -> Result<Packed> {
    pack_with(dir, root_name, archive, None)
}

/// [`pack`], with `overlay`'s files appended (sorted, fixed metadata like the rest) after the
/// tree.
pub fn pack_with(
    dir: &Path,
    root_name: &str,
    archive: &Path,
    overlay: Option<&Overlay>,
) -> Result<Packed> {
    let out_dir = archive.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(out_dir).map_err(|e| Error::write(out_dir, e))?;
    // Partial archives of runs that were killed are swept; those of a running kz are not.
    crate::util::tempfiles::sweep(out_dir, "package");
    let tmp = tempfile::Builder::new()
        .prefix(&crate::util::tempfiles::prefix("package"))
        .tempfile_in(out_dir)
        .map_err(|e| Error::write(archive, e))?;
    crate::util::tempfiles::track(tmp.path());
    let tmp_path = tmp.path().to_owned();
    let gz = GzBuilder::new()
        .mtime(0)
        .write(BufWriter::new(tmp.as_file()), Compression::default());
    let mut builder = tar::Builder::new(gz);
    let mut packed = Packed {
        archive: archive.to_owned(),
        files: 0,
        bytes: 0,
        skipped: Vec::new(),
    };
    let mut walk = WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(false)
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| Error::read(dir, e.into()))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let rel = rel.to_string_lossy().replace('\\', "/");
        let name = if rel.is_empty() {
            format!("{root_name}/")
        } else {
            format!("{root_name}/{rel}")
        };
        let ft = entry.file_type();
        if overlay.is_some_and(|o| o.dir == rel) {
            packed.skipped.push(Skipped {
                path: format!("{name}/"),
                reason: "replaced by the images exported now",
            });
            if ft.is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        if ft.is_symlink() {
            packed.skipped.push(Skipped {
                path: name,
                reason: "a symbolic link",
            });
            continue;
        }
        if ft.is_dir() && entry.file_name() == ".certs" {
            packed.skipped.push(Skipped {
                path: format!("{name}/"),
                reason: "certificates and their keys",
            });
            walk.skip_current_dir();
            continue;
        }
        if ft.is_dir() {
            let dir_name = if name.ends_with('/') {
                name
            } else {
                format!("{name}/")
            };
            append(
                &mut builder,
                &dir_name,
                tar::EntryType::Directory,
                0o755,
                0,
                std::io::empty(),
                archive,
            )?;
            continue;
        }
        if let Some(reason) = secret_reason(&rel, entry.path()) {
            packed.skipped.push(Skipped { path: name, reason });
            continue;
        }
        let meta = entry
            .metadata()
            .map_err(|e| Error::read(entry.path(), e.into()))?;
        let mode = if is_executable(&meta) { 0o755 } else { 0o644 };
        let file = File::open(entry.path()).map_err(|e| Error::read(entry.path(), e))?;
        append(
            &mut builder,
            &name,
            tar::EntryType::Regular,
            mode,
            meta.len(),
            file,
            archive,
        )?;
        packed.files += 1;
        packed.bytes += meta.len();
    }
    if let Some(o) = overlay {
        let folder = format!("{root_name}/{}/", o.dir);
        let (dir_kind, no_data) = (tar::EntryType::Directory, std::io::empty());
        append(&mut builder, &folder, dir_kind, 0o755, 0, no_data, archive)?;
        for (name, path) in &o.files {
            let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
            let mode = if is_executable(&meta) { 0o755 } else { 0o644 };
            let file = File::open(path).map_err(|e| Error::read(path, e))?;
            let entry_name = format!("{folder}{name}");
            let kind = tar::EntryType::Regular;
            append(
                &mut builder,
                &entry_name,
                kind,
                mode,
                meta.len(),
                file,
                archive,
            )?;
            packed.files += 1;
            packed.bytes += meta.len();
        }
    }
    let gz = builder.into_inner().map_err(|e| Error::write(archive, e))?;
    let mut buffered = gz.finish().map_err(|e| Error::write(archive, e))?;
    buffered.flush().map_err(|e| Error::write(archive, e))?;
    drop(buffered);
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::write(archive, e))?;
    let persisted = tmp.persist(archive);
    crate::util::tempfiles::untrack(&tmp_path);
    persisted.map_err(|e| Error::write(archive, e.error))?;
    Ok(packed)
}

fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    kind: tar::EntryType,
    mode: u32,
    size: u64,
    data: impl Read,
    archive: &Path,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(FIXED_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    builder
        .append_data(&mut header, name, data)
        .map_err(|e| Error::write(archive, e))
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_by_name_and_content() {
        let t = tempfile::tempdir().expect("tmp");
        let p = t.path().join("f");
        std::fs::write(&p, "plain").expect("write");
        assert_eq!(secret_reason(".env", &p), Some("an .env file"));
        assert_eq!(secret_reason("a/.env.prod", &p), Some("an .env file"));
        // Not a secret, but a hidden file: the allowlist by kind leaves it out.
        assert!(secret_reason("a/.env.example", &p).is_some_and(|r| r.contains("hidden")));
        assert_eq!(
            secret_reason("x/server.key", &p),
            Some("a private key file")
        );
        assert_eq!(
            secret_reason(".certs/server.pem", &p),
            Some("inside .certs/")
        );
        assert_eq!(secret_reason("kamiwaza-registry.env.template", &p), None);
        std::fs::write(&p, "junk\n-----BEGIN RSA PRIVATE KEY-----\nabc").expect("write");
        assert_eq!(secret_reason("cert.pem", &p), Some("holds a private key"));
    }
}
