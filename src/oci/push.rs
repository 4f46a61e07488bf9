//! Publishing an image from the engine without buildx and without handing credentials to the
//! engine: the image is exported through the engine API (`docker save` format, read by
//! [`layers`] without unpacking), each layer the registry lacks is gzipped (a fixed gzip header,
//! so the same layer always gives the same digest) and uploaded, then the config and an OCI image
//! manifest are pushed. [`push_index`] puts an OCI image
//! index over per-platform manifests pushed by digest.

use super::layers::{self, Blob, LayerCache};
use super::{config_labels, config_platform, Registry};
use crate::docker::{engine_error, Engine};
use crate::error::Error;
use futures_util::StreamExt as _;
use oci_client::manifest::{
    IMAGE_CONFIG_MEDIA_TYPE, IMAGE_LAYER_GZIP_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
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

/// Push the engine's image `local` (a tag or an id) to `repo` on `registry`, under `tag`, or by
/// digest only when `tag` is `None`. `cache` remembers compressed layers across images (and
/// runs): a layer the registry has already, in this repository or another, is not compressed
/// again.
pub async fn push_engine_image(
    engine: &Engine,
    local: &str,
    registry: &Registry,
    repo: &str,
    tag: Option<&str>,
    cache: &LayerCache,
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

    let path = archive.clone();
    let saved = blocking(move || layers::read_saved(&path)).await?;
    let here = format!("{}/{repo}", registry.host());
    let mut blobs: Vec<Option<Blob>> = Vec::new();
    let mut needed = BTreeSet::new();
    for layer in &saved.layers {
        let known = match layer.diff_id.as_deref().and_then(|d| cache.get(d)) {
            Some(blob) => reuse(registry, repo, blob).await?,
            None => None,
        };
        if known.is_none() {
            needed.insert(layer.path.clone());
        }
        blobs.push(known);
    }
    let (path, dir) = (archive.clone(), work.path().to_owned());
    let compressed = blocking(move || layers::compress(&path, &needed, &dir)).await?;

    let mut uploaded_blobs = 0;
    let mut uploaded_bytes = 0;
    let mut descriptors = Vec::new();
    for (layer, known) in saved.layers.iter().zip(blobs) {
        let blob = match known {
            Some(b) => b,
            None => {
                let c = compressed.get(&layer.path).ok_or_else(|| {
                    Error::invalid(&archive, format!("layer `{}` lost", layer.path))
                })?;
                if registry
                    .push_blob_file(repo, &c.digest, &c.file, c.size)
                    .await?
                {
                    uploaded_blobs += 1;
                    uploaded_bytes += c.size;
                }
                Blob {
                    digest: c.digest.clone(),
                    size: c.size,
                    seen_in: here.clone(),
                }
            }
        };
        if let Some(d) = &layer.diff_id {
            cache.insert(
                d,
                Blob {
                    seen_in: here.clone(),
                    ..blob.clone()
                },
            );
        }
        descriptors.push(json!({
            "mediaType": IMAGE_LAYER_GZIP_MEDIA_TYPE,
            "digest": blob.digest,
            "size": blob.size,
        }));
    }
    let config_size = saved.config.len() as u64;
    let config_json: serde_json::Value = serde_json::from_slice(&saved.config).unwrap_or_default();
    let had_config = registry
        .blob_exists(repo, &super::sha256_digest(&saved.config))
        .await?;
    let config_digest = registry
        .push_blob_bytes(repo, bytes::Bytes::from(saved.config))
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
        "layers": descriptors,
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

/// A cached blob, when the registry has it in `repo` or can mount it there from the repository
/// it was last pushed to.
async fn reuse(registry: &Registry, repo: &str, blob: Blob) -> Result<Option<Blob>, Error> {
    if registry.blob_exists(repo, &blob.digest).await? {
        return Ok(Some(blob));
    }
    let from = blob
        .seen_in
        .strip_prefix(registry.host())
        .and_then(|r| r.strip_prefix('/'));
    if let Some(from) = from.filter(|f| *f != repo) {
        if registry.mount_blob(repo, from, &blob.digest).await {
            return Ok(Some(blob));
        }
    }
    Ok(None)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Runtime {
            source: std::io::Error::other(e.to_string()),
        })?
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

#[cfg(test)]
mod tests {
    use super::*;

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
