//! The images a built registry references, saved from the engine for `kz package --with-images`
//! (reference §6.1): every `docker_images` and `extra_docker_images` entry of apps.json and
//! tools.json (the reference forgets the extra ones, §16.12), all streamed from ONE
//! multi-image save (`GET /images/get?names=…&names=…`) into one `images.tar`, so a layer
//! several images share is stored once (the reference writes one tar per image) and memory stays
//! flat whatever the size. The archive is docker-save's format (with its manifest.json), which
//! `docker load` of every engine version takes. Beside it, `manifest.json` (the reference's
//! shape, every image pointing at the one archive) and `import-images.sh`. A missing image is an
//! error naming it, not a line in a report.

use super::context::hex;
use crate::docker::{engine_error, Engine};
use crate::error::{Error, Result};
use crate::fsx;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The folder, under the catalogue folder (`garden/v2`), that holds the image archives.
pub const IMAGES_DIR: &str = "docker-images";

/// The catalogue folder of a built registry (`garden/v2`, else `garden/default`) and the images
/// its entries reference, sorted and unique.
pub fn registry_images(registry: &Path) -> Result<(String, Vec<String>)> {
    let garden = ["garden/v2", "garden/default"]
        .into_iter()
        .find(|g| {
            let dir = registry.join(g);
            dir.join("apps.json").is_file() || dir.join("tools.json").is_file()
        })
        .ok_or_else(|| {
            Error::invalid(
                registry,
                "no catalogue (garden/v2 or garden/default with apps.json or tools.json)",
            )
        })?;
    let mut images = BTreeSet::new();
    for file in ["apps.json", "tools.json"] {
        let path = registry.join(garden).join(file);
        if !path.is_file() {
            continue;
        }
        let text = fsx::read_text(&path, 256 * 1024 * 1024)?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Json {
            path: path.clone(),
            line: e.line(),
            col: e.column(),
            message: e.to_string(),
        })?;
        for entry in doc.as_array().into_iter().flatten() {
            for key in ["docker_images", "extra_docker_images"] {
                let list = entry.get(key).and_then(serde_json::Value::as_array);
                for image in list.into_iter().flatten() {
                    if let Some(image) = image.as_str().filter(|s| !s.trim().is_empty()) {
                        images.insert(image.to_owned());
                    }
                }
            }
        }
    }
    Ok((garden.to_owned(), images.into_iter().collect()))
}

/// The one archive all images are saved into.
pub const ARCHIVE: &str = "images.tar";

/// The saved archive and the images in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedImages {
    /// The images, in the order given (sorted by the caller), with the engine's size of each.
    pub images: Vec<(String, u64)>,
    pub file: String,
    pub path: PathBuf,
    /// Bytes of the archive.
    pub size: u64,
    /// sha256 of the archive, hex.
    pub sha256: String,
}

/// Progress of [`save_images`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveProgress {
    /// The save starts; `estimate` is the bytes of the distinct layers of all the images.
    Start { images: usize, estimate: u64 },
    /// `written` bytes of the archive are on disk so far.
    Written { written: u64 },
}

/// Save `images` into `dir/images.tar` with one multi-image save from the engine (each layer
/// once). `on_progress` sees the estimate, then the bytes written as they arrive. Fails before
/// writing anything on an image the engine does not have.
pub async fn save_images(
    engine: &Engine,
    images: &[String],
    dir: &Path,
    on_progress: impl Fn(SaveProgress),
) -> Result<SavedImages> {
    // Check them all first, so a missing image fails before gigabytes are written.
    let mut sizes = Vec::with_capacity(images.len());
    for image in images {
        if image.contains('$') {
            return Err(Error::invalid(
                dir,
                format!("image `{image}` holds a variable; it cannot be exported"),
            ));
        }
        match engine.docker().inspect_image(image).await {
            Ok(found) => sizes.push(found.size.unwrap_or(0).max(0) as u64),
            Err(e) if crate::docker::is_not_found(&e) => {
                return Err(Error::ImageMissing {
                    image: image.clone(),
                })
            }
            Err(e) => return Err(engine_error(format!("inspect image {image}"), e)),
        }
    }
    let estimate = distinct_layer_bytes(engine, images).await?;
    on_progress(SaveProgress::Start {
        images: images.len(),
        estimate,
    });
    let path = dir.join(ARCHIVE);
    let tmp = tempfile::Builder::new()
        .prefix(".kz-export-")
        .tempfile_in(dir)
        .map_err(|e| Error::write(&path, e))?;
    let (std_file, tmp_path) = tmp.into_parts();
    let mut file = tokio::fs::File::from_std(std_file);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let names: Vec<&str> = images.iter().map(String::as_str).collect();
    let mut stream = engine.docker().export_images(&names);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| engine_error("save images".to_owned(), e))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::write(&path, e))?;
        on_progress(SaveProgress::Written { written: size });
    }
    file.flush().await.map_err(|e| Error::write(&path, e))?;
    file.sync_all().await.map_err(|e| Error::write(&path, e))?;
    drop(file);
    tmp_path
        .persist(&path)
        .map_err(|e| Error::write(&path, e.error))?;
    Ok(SavedImages {
        images: images.iter().cloned().zip(sizes).collect(),
        file: ARCHIVE.to_owned(),
        path,
        size,
        sha256: hex(&hasher.finalize()),
    })
}

/// The bytes of the distinct layers of `images`, from their histories: a layer is known by the
/// chain of history entries up to it (oldest first), so a base shared by several images counts
/// once. An estimate of the archive's size (tar headers and configs are small).
async fn distinct_layer_bytes(engine: &Engine, images: &[String]) -> Result<u64> {
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    for image in images {
        let history = engine
            .docker()
            .image_history(image)
            .await
            .map_err(|e| engine_error(format!("history of {image}"), e))?;
        let mut chain = Sha256::new();
        for item in history.iter().rev() {
            chain.update(item.created_by.as_bytes());
            chain.update(item.created.to_le_bytes());
            chain.update(item.size.to_le_bytes());
            let key = hex(&chain.clone().finalize());
            if seen.insert(key) {
                total += item.size.max(0) as u64;
            }
        }
    }
    Ok(total)
}

/// Write `manifest.json` and `import-images.sh` (executable) into `dir`. The manifest keeps
/// §6.1's per-image shape; every image's `export.file` is the one archive, whose size and
/// sha256 are given once, under `archive` (docs/compat.md).
pub fn write_import_files(dir: &Path, saved: &SavedImages) -> Result<()> {
    let mut map = serde_json::Map::new();
    for (image, image_size) in &saved.images {
        map.insert(
            image.clone(),
            serde_json::json!({
                "name": image,
                "exists_locally": true,
                "size_info": {
                    "uncompressed": image_size,
                    "compressed_estimate": image_size / 3,
                    "human_readable": human(*image_size),
                },
                "export": {
                    "success": true,
                    "file": saved.file,
                },
            }),
        );
    }
    let manifest = serde_json::json!({
        "version": "2.0.0",
        "archive": {
            "file": saved.file,
            "size": saved.size,
            "human_readable_size": human(saved.size),
            "sha256": saved.sha256,
            "images": saved.images.len(),
        },
        "images": map,
        "total_images": saved.images.len(),
        "total_size": saved.size,
    });
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    fsx::write_atomic(&dir.join("manifest.json"), text.as_bytes())?;
    let script = dir.join("import-images.sh");
    fsx::write_atomic(&script, IMPORT_SCRIPT.as_bytes())?;
    set_executable(&script)
}

const IMPORT_SCRIPT: &str = r#"#!/usr/bin/env bash
# Load the image archive(s) of this folder into the local Docker engine: images.tar holds
# every image, each layer once (one `docker save` of them all).
# Written by `kz package --with-images`; exits 1 if any archive fails to load.
set -u
cd "$(dirname "$0")" || exit 1
failed=0
for archive in *.tar; do
  [ -e "$archive" ] || continue
  echo "Loading $archive"
  if ! docker load -i "$archive"; then
    echo "error: could not load $archive" >&2
    failed=1
  fi
done
exit "$failed"
"#;

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::write(path, e))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<()> {
    Ok(())
}

/// `%.1f` and B/KB/MB/GB/TB in steps of 1024, as the reference prints sizes.
fn human(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KB", "MB", "GB"] {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.1} TB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sizes() {
        assert_eq!(human(0), "0.0 B");
        assert_eq!(human(1536), "1.5 KB");
        assert_eq!(human(190 * 1024 * 1024), "190.0 MB");
        assert_eq!(human(3 * 1024u64.pow(4)), "3.0 TB");
    }

    #[test]
    fn registry_images_include_the_extra_ones() {
        let dir = tempfile::tempdir().expect("tmp");
        let g = dir.path().join("garden/v2");
        std::fs::create_dir_all(&g).expect("mkdir");
        std::fs::write(
            g.join("apps.json"),
            r#"[{"docker_images": ["ns/b:1", "ns/a:1"], "extra_docker_images": ["ns/x:1"]}]"#,
        )
        .expect("write");
        std::fs::write(g.join("tools.json"), r#"[{"docker_images": ["ns/a:1"]}]"#).expect("write");
        let (garden, images) = registry_images(dir.path()).expect("images");
        assert_eq!(garden, "garden/v2");
        assert_eq!(images, ["ns/a:1", "ns/b:1", "ns/x:1"]);
    }
}
