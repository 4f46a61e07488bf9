//! Publishing an image from the engine without buildx and without handing credentials to the
//! engine: the image is exported through the engine API (`docker save` format, either the
//! classic layout or the OCI layout newer engines write), each layer is gzipped (a fixed gzip
//! header, so the same layer always gives the same digest) and uploaded unless the registry has
//! it, then the config and an OCI image manifest are pushed. [`push_index`] puts an OCI image
//! index over per-platform manifests pushed by digest.

use super::{config_labels, config_platform, Registry};
use crate::docker::{engine_error, Engine};
use crate::error::Error;
use futures_util::StreamExt as _;
use oci_client::manifest::{
    IMAGE_CONFIG_MEDIA_TYPE, IMAGE_LAYER_GZIP_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;

/// A manifest kz pushed for one platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedImage {
    pub digest: String,
    pub size: u64,
    /// `os/architecture[/variant]` from the image config.
    pub platform: String,
    pub config_digest: String,
    pub labels: BTreeMap<String, String>,
    /// Blobs (layers and config) the registry did not have yet.
    pub uploaded_blobs: usize,
    pub uploaded_bytes: u64,
}

#[derive(Deserialize)]
struct SaveEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

struct Layer {
    path: PathBuf,
    digest: String,
    size: u64,
}

struct Prepared {
    config: Vec<u8>,
    layers: Vec<Layer>,
}

/// Push the engine's image `local` (a tag or an id) to `repo` on `registry`, under `tag`, or by
/// digest only when `tag` is `None`.
pub async fn push_engine_image(
    engine: &Engine,
    local: &str,
    registry: &Registry,
    repo: &str,
    tag: Option<&str>,
) -> Result<PushedImage, Error> {
    let work = tempfile::tempdir().map_err(|e| Error::write(std::env::temp_dir(), e))?;
    let archive = work.path().join("image.tar");
    let mut file = tokio::fs::File::create(&archive)
        .await
        .map_err(|e| Error::write(&archive, e))?;
    let mut stream = engine.docker().export_image(local);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| engine_error(format!("export image {local}"), e))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| Error::write(&archive, e))?;
    }
    file.flush().await.map_err(|e| Error::write(&archive, e))?;
    drop(file);

    let dir = work.path().to_owned();
    let prepared = tokio::task::spawn_blocking(move || prepare(&dir))
        .await
        .map_err(|e| Error::Runtime {
            source: std::io::Error::other(e.to_string()),
        })??;

    let mut uploaded_blobs = 0;
    let mut uploaded_bytes = 0;
    let mut layers = Vec::new();
    for layer in &prepared.layers {
        if registry
            .push_blob_file(repo, &layer.digest, &layer.path, layer.size)
            .await?
        {
            uploaded_blobs += 1;
            uploaded_bytes += layer.size;
        }
        layers.push(json!({
            "mediaType": IMAGE_LAYER_GZIP_MEDIA_TYPE,
            "digest": layer.digest,
            "size": layer.size,
        }));
    }
    let config_size = prepared.config.len() as u64;
    let config_json: serde_json::Value =
        serde_json::from_slice(&prepared.config).unwrap_or_default();
    let had_config = registry
        .blob_exists(repo, &super::sha256_digest(&prepared.config))
        .await?;
    let config_digest = registry
        .push_blob_bytes(repo, bytes::Bytes::from(prepared.config))
        .await?;
    if !had_config {
        uploaded_blobs += 1;
        uploaded_bytes += config_size;
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_MEDIA_TYPE,
        "config": {
            "mediaType": IMAGE_CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config_size,
        },
        "layers": layers,
    });
    let body = serde_json::to_vec(&manifest).map_err(|e| Error::Runtime {
        source: std::io::Error::other(e),
    })?;
    let size = body.len() as u64;
    let digest = super::sha256_digest(&body);
    registry
        .push_manifest(repo, tag.unwrap_or(&digest), body, OCI_IMAGE_MEDIA_TYPE)
        .await?;
    Ok(PushedImage {
        digest,
        size,
        platform: config_platform(&config_json),
        config_digest,
        labels: config_labels(&config_json),
        uploaded_blobs,
        uploaded_bytes,
    })
}

/// The OCI image index over `images` (each pushed by digest), as bytes.
pub fn index_body(images: &[PushedImage]) -> Vec<u8> {
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|m| {
            let mut parts = m.platform.splitn(3, '/');
            let os = parts.next().unwrap_or("");
            let arch = parts.next().unwrap_or("");
            let mut platform = json!({"architecture": arch, "os": os});
            if let Some(variant) = parts.next() {
                platform["variant"] = json!(variant);
            }
            json!({
                "mediaType": OCI_IMAGE_MEDIA_TYPE,
                "digest": m.digest,
                "size": m.size,
                "platform": platform,
            })
        })
        .collect();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE,
        "manifests": manifests,
    });
    serde_json::to_vec(&index).unwrap_or_default()
}

/// Push the OCI image index over `images` at `repo:tag`; returns the index digest.
pub async fn push_index(
    registry: &Registry,
    repo: &str,
    tag: &str,
    images: &[PushedImage],
) -> Result<String, Error> {
    registry
        .push_manifest(repo, tag, index_body(images), OCI_IMAGE_INDEX_MEDIA_TYPE)
        .await
}

/// Unpack the saved image under `dir`, read its config and gzip its layers.
fn prepare(dir: &Path) -> Result<Prepared, Error> {
    let archive = dir.join("image.tar");
    let root = dir.join("x");
    let file = std::fs::File::open(&archive).map_err(|e| Error::read(&archive, e))?;
    tar::Archive::new(file)
        .unpack(&root)
        .map_err(|e| Error::read(&archive, e))?;
    let manifest_path = root.join("manifest.json");
    let text = std::fs::read(&manifest_path).map_err(|e| Error::read(&manifest_path, e))?;
    let entries: Vec<SaveEntry> = serde_json::from_slice(&text)
        .map_err(|e| Error::invalid(&manifest_path, format!("not a saved image: {e}")))?;
    let [entry] = entries.as_slice() else {
        return Err(Error::invalid(
            &manifest_path,
            format!("expected one image, found {}", entries.len()),
        ));
    };
    let inside = |rel: &str| -> Result<PathBuf, Error> {
        if Path::new(rel)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Error::invalid(&manifest_path, format!("bad path `{rel}`")));
        }
        Ok(root.join(rel))
    };
    let config_path = inside(&entry.config)?;
    let config = std::fs::read(&config_path).map_err(|e| Error::read(&config_path, e))?;
    let mut layers = Vec::new();
    for (i, rel) in entry.layers.iter().enumerate() {
        let src = inside(rel)?;
        let dest = dir.join(format!("layer-{i}.tar.gz"));
        layers.push(gzip_layer(&src, &dest)?);
    }
    Ok(Prepared { config, layers })
}

/// Gzip `src` into `dest` (or copy it when it is gzipped already), hashing what is written.
fn gzip_layer(src: &Path, dest: &Path) -> Result<Layer, Error> {
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
    let mut input = std::fs::File::open(src).map_err(|e| Error::read(src, e))?;
    let mut magic = [0u8; 2];
    let n = input.read(&mut magic).map_err(|e| Error::read(src, e))?;
    let out = std::fs::File::create(dest).map_err(|e| Error::write(dest, e))?;
    let mut sink = Hashing {
        inner: std::io::BufWriter::new(out),
        hash: sha2::Sha256::new(),
        size: 0,
    };
    let mut input = std::io::Read::chain(&magic[..n], input);
    if magic[..n] == [0x1f, 0x8b] {
        std::io::copy(&mut input, &mut sink).map_err(|e| Error::write(dest, e))?;
    } else {
        let mut gz = flate2::GzBuilder::new().write(&mut sink, flate2::Compression::default());
        std::io::copy(&mut input, &mut gz).map_err(|e| Error::write(dest, e))?;
        gz.finish().map_err(|e| Error::write(dest, e))?;
    }
    sink.flush().map_err(|e| Error::write(dest, e))?;
    let hash = sink.hash.finalize();
    let mut digest = String::from("sha256:");
    for b in hash {
        digest.push_str(&format!("{b:02x}"));
    }
    Ok(Layer {
        path: dest.to_owned(),
        digest,
        size: sink.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_deterministic_and_gzip_input_is_kept() {
        let t = tempfile::tempdir().expect("tmp");
        let src = t.path().join("layer.tar");
        std::fs::write(&src, b"hello layer".repeat(100)).expect("write");
        let a = gzip_layer(&src, &t.path().join("a.gz")).expect("a");
        let b = gzip_layer(&src, &t.path().join("b.gz")).expect("b");
        assert_eq!(a.digest, b.digest);
        assert_eq!(
            a.digest,
            crate::oci::sha256_digest(&std::fs::read(&a.path).expect("read"))
        );
        let again = gzip_layer(&a.path, &t.path().join("c.gz")).expect("c");
        assert_eq!(
            again.digest, a.digest,
            "a gzipped layer is uploaded as it is"
        );
    }

    #[test]
    fn index_lists_platforms() {
        let img = |p: &str, d: &str| PushedImage {
            digest: d.into(),
            size: 10,
            platform: p.into(),
            config_digest: String::new(),
            labels: BTreeMap::new(),
            uploaded_blobs: 0,
            uploaded_bytes: 0,
        };
        let body = index_body(&[
            img("linux/amd64", "sha256:a"),
            img("linux/arm/v7", "sha256:b"),
        ]);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["mediaType"], OCI_IMAGE_INDEX_MEDIA_TYPE);
        assert_eq!(v["manifests"][0]["platform"]["architecture"], "amd64");
        assert_eq!(v["manifests"][1]["platform"]["variant"], "v7");
    }
}
