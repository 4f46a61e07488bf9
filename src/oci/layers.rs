//! Layers of a saved image (`docker save` format: the classic layout with `<id>/layer.tar`, or
//! the OCI layout newer engines write), read straight from the archive without unpacking it, and
//! the [`LayerCache`] that remembers which compressed blob each uncompressed layer (`diff_id`)
//! became, so a layer shared by several images (a base image) is gzipped once and then found in
//! the registry or mounted from another repository instead of compressed again.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a saved image holds: its config (raw bytes: their digest is the image id) and its
/// layers, in order, by path inside the archive with their `diff_id` when the config gives one.
pub struct Saved {
    pub config: Vec<u8>,
    pub layers: Vec<SavedLayer>,
}

pub struct SavedLayer {
    pub path: String,
    pub diff_id: Option<String>,
}

/// A layer as a compressed blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    pub digest: String,
    pub size: u64,
    /// Where it was last pushed: `host/repository`.
    pub seen_in: String,
}

/// `diff_id` → compressed blob, kept for the run and, with a file, between runs.
#[derive(Debug, Default)]
pub struct LayerCache {
    file: Option<PathBuf>,
    map: Mutex<BTreeMap<String, Blob>>,
}

impl LayerCache {
    /// A cache kept in `file` (read now if it exists; an unreadable file is an empty cache).
    pub fn at(file: &Path) -> LayerCache {
        let map = std::fs::read(file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        LayerCache {
            file: Some(file.to_owned()),
            map: Mutex::new(map),
        }
    }

    pub fn get(&self, diff_id: &str) -> Option<Blob> {
        self.map.lock().ok()?.get(diff_id).cloned()
    }

    pub fn insert(&self, diff_id: &str, blob: Blob) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(diff_id.to_owned(), blob);
        }
    }

    /// Write the cache to its file (a cache is an optimisation: a failed write is reported to
    /// the caller, who may ignore it).
    pub fn save(&self) -> Result<(), Error> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let text = {
            let m = self
                .map
                .lock()
                .map_err(|_| Error::invalid(file, "layer cache poisoned"))?;
            serde_json::to_string_pretty(&*m).unwrap_or_default()
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        }
        crate::fsx::write_atomic(file, text.as_bytes())
    }
}

#[derive(Deserialize)]
struct SaveEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

fn entry_path(e: &tar::Entry<'_, std::fs::File>) -> Option<String> {
    let p = e.path().ok()?;
    let s = p.to_str()?.trim_start_matches("./").to_owned();
    Some(s)
}

/// Read the archive's `manifest.json` and the config it names (one pass, small files only).
pub fn read_saved(archive: &Path) -> Result<Saved, Error> {
    let bad = |m: String| Error::invalid(archive, m);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    let mut manifest: Option<Vec<SaveEntry>> = None;
    let file = std::fs::File::open(archive).map_err(|e| Error::read(archive, e))?;
    let mut tar = tar::Archive::new(file);
    for entry in tar.entries().map_err(|e| Error::read(archive, e))? {
        let mut entry = entry.map_err(|e| Error::read(archive, e))?;
        let Some(path) = entry_path(&entry) else {
            continue;
        };
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            if let Ok(Some(target)) = entry.link_name() {
                let base = Path::new(&path).parent().unwrap_or(Path::new(""));
                let joined = if kind.is_symlink() {
                    base.join(target)
                } else {
                    target.into_owned()
                };
                links.insert(path, normalize(&joined));
            }
            continue;
        }
        // Configs and the manifest are small JSON files; layers are skipped here.
        if path == "manifest.json" || (path.ends_with(".json") && entry.size() < 4 << 20) {
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| Error::read(archive, e))?;
            if path == "manifest.json" {
                manifest = Some(
                    serde_json::from_slice(&buf)
                        .map_err(|e| bad(format!("not a saved image: {e}")))?,
                );
            } else {
                files.insert(path, buf);
            }
        } else if path.starts_with("blobs/") && entry.size() < 4 << 20 {
            // OCI layout: the config is a blob without an extension.
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| Error::read(archive, e))?;
            files.insert(path, buf);
        }
    }
    let entries = manifest.ok_or_else(|| bad("not a saved image: no manifest.json".into()))?;
    let [entry] = entries.as_slice() else {
        return Err(bad(format!("expected one image, found {}", entries.len())));
    };
    let resolve = |p: &str| links.get(p).cloned().unwrap_or_else(|| p.to_owned());
    let config = files
        .remove(&resolve(&entry.config))
        .ok_or_else(|| bad(format!("the config `{}` is missing", entry.config)))?;
    let parsed: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
    let diff_ids: Vec<String> = parsed["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let known = diff_ids.len() == entry.layers.len();
    let layers = entry
        .layers
        .iter()
        .enumerate()
        .map(|(i, p)| SavedLayer {
            path: resolve(p),
            diff_id: known.then(|| diff_ids[i].clone()),
        })
        .collect();
    Ok(Saved { config, layers })
}

fn normalize(p: &Path) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::Normal(s) => out.push(s.to_str().unwrap_or("")),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.join("/")
}

/// A layer gzipped into a file of the work folder.
pub struct Compressed {
    pub file: PathBuf,
    pub digest: String,
    pub size: u64,
}

/// Gzip the layers at `paths` (archive paths) into `dir`, in one pass over the archive. A layer
/// that is gzipped already is copied as it is. Returns them by path.
pub fn compress(
    archive: &Path,
    paths: &BTreeSet<String>,
    dir: &Path,
) -> Result<BTreeMap<String, Compressed>, Error> {
    let mut out = BTreeMap::new();
    if paths.is_empty() {
        return Ok(out);
    }
    let file = std::fs::File::open(archive).map_err(|e| Error::read(archive, e))?;
    let mut tar = tar::Archive::new(file);
    for entry in tar.entries().map_err(|e| Error::read(archive, e))? {
        let mut entry = entry.map_err(|e| Error::read(archive, e))?;
        let Some(path) = entry_path(&entry) else {
            continue;
        };
        if !paths.contains(&path)
            || out.contains_key(&path)
            || !entry.header().entry_type().is_file()
        {
            continue;
        }
        let dest = dir.join(format!("layer-{}.tar.gz", out.len()));
        let (digest, size) = gzip_into(&mut entry, &dest).map_err(|e| Error::write(&dest, e))?;
        out.insert(
            path,
            Compressed {
                file: dest,
                digest,
                size,
            },
        );
    }
    if let Some(missing) = paths.iter().find(|p| !out.contains_key(*p)) {
        return Err(Error::invalid(
            archive,
            format!("layer `{missing}` is not in the saved image"),
        ));
    }
    Ok(out)
}

/// Gzip `input` (or copy it when it is gzipped already) into `dest`, hashing what is written.
/// The gzip header is fixed (no name, no time), so the same layer gives the same digest.
pub fn gzip_into(input: &mut impl std::io::Read, dest: &Path) -> std::io::Result<(String, u64)> {
    use sha2::Digest as _;
    struct Hashing<W> {
        inner: W,
        hash: sha2::Sha256,
        size: u64,
    }
    impl<W: std::io::Write> std::io::Write for Hashing<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.hash.update(&buf[..n]);
            self.size += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        let got = input.read(&mut magic[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    let out = std::fs::File::create(dest)?;
    let mut sink = Hashing {
        inner: std::io::BufWriter::new(out),
        hash: sha2::Sha256::new(),
        size: 0,
    };
    let mut all = std::io::Read::chain(&magic[..n], input);
    if magic[..n] == [0x1f, 0x8b] {
        std::io::copy(&mut all, &mut sink)?;
    } else {
        // Level 1: layers are mostly compressed already or large; speed matters more here.
        let mut gz = flate2::GzBuilder::new().write(&mut sink, flate2::Compression::fast());
        std::io::copy(&mut all, &mut gz)?;
        gz.finish()?;
    }
    sink.flush()?;
    let hash = sink.hash.finalize();
    let mut digest = String::from("sha256:");
    for b in hash {
        digest.push_str(&format!("{b:02x}"));
    }
    Ok((digest, sink.size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_deterministic_and_gzip_input_is_kept() {
        let t = tempfile::tempdir().expect("tmp");
        let data = b"hello layer".repeat(100);
        let (a, _) = gzip_into(&mut &data[..], &t.path().join("a.gz")).expect("a");
        let (b, _) = gzip_into(&mut &data[..], &t.path().join("b.gz")).expect("b");
        assert_eq!(a, b);
        let gz = std::fs::read(t.path().join("a.gz")).expect("read");
        assert_eq!(a, crate::oci::sha256_digest(&gz));
        let (again, _) = gzip_into(&mut &gz[..], &t.path().join("c.gz")).expect("c");
        assert_eq!(again, a, "a gzipped layer is uploaded as it is");
    }

    #[test]
    fn saved_images_are_read_without_unpacking() {
        let t = tempfile::tempdir().expect("tmp");
        let archive = t.path().join("image.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&archive).expect("create"));
        let add = |b: &mut tar::Builder<std::fs::File>, path: &str, body: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, body).expect("add");
        };
        let layer = b"layer bytes".repeat(10);
        add(&mut b, "abc/layer.tar", &layer);
        add(
            &mut b,
            "cfg.json",
            br#"{"architecture":"arm64","os":"linux","rootfs":{"diff_ids":["sha256:d1"]}}"#,
        );
        add(
            &mut b,
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["abc/layer.tar"]}]"#,
        );
        b.finish().expect("finish");
        drop(b);
        let saved = read_saved(&archive).expect("read");
        assert_eq!(saved.layers.len(), 1);
        assert_eq!(saved.layers[0].diff_id.as_deref(), Some("sha256:d1"));
        let want = BTreeSet::from(["abc/layer.tar".to_owned()]);
        let out = compress(&archive, &want, t.path()).expect("compress");
        assert!(out["abc/layer.tar"].size > 0);
        let missing = BTreeSet::from(["nope/layer.tar".to_owned()]);
        assert!(compress(&archive, &missing, t.path()).is_err());

        let cache = LayerCache::at(&t.path().join("c/layers.json"));
        let blob = Blob {
            digest: "sha256:x".into(),
            size: 3,
            seen_in: "h/r".into(),
        };
        cache.insert("sha256:d1", blob.clone());
        cache.save().expect("save");
        assert_eq!(
            LayerCache::at(&t.path().join("c/layers.json")).get("sha256:d1"),
            Some(blob)
        );
    }
}
