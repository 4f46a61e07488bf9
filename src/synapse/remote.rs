//! Reading Synapse apps from a registry, as the App Store does: repositories (`/v2/_catalog`
//! under `<NS>/`, or the ones named), their tags, each tag's manifest (an index is followed to
//! its linux/amd64 manifest, else its first), the config blob, and the label in it. Config
//! blobs are cached on disk by digest (checked on read), so a second scan fetches none again.
//! `inspect` reads one image; `index` reads a whole registry into a JSON index.

use super::{label, lint, Target, LABEL};
use crate::error::Error;
use crate::oci::{config_platform, Registry};
use crate::validate::{Finding, Severity};
use futures_util::StreamExt;
use oci_client::manifest::OciManifest;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The platform kz picks from an index (the production target).
pub const PLATFORM: &str = "linux/amd64";

/// The config blobs kept by digest under a folder.
#[derive(Debug)]
pub struct BlobCache {
    dir: Option<PathBuf>,
    /// Blobs fetched from the registry (cache misses).
    pub fetched: AtomicUsize,
    /// Blobs read from the cache.
    pub hits: AtomicUsize,
}

impl BlobCache {
    /// A cache in `dir`, or none.
    pub fn new(dir: Option<PathBuf>) -> BlobCache {
        BlobCache {
            dir,
            fetched: AtomicUsize::new(0),
            hits: AtomicUsize::new(0),
        }
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.dir.as_ref()?.join(format!("sha256-{hex}")))
    }

    /// The blob `digest` of `repo`: from the cache when it is there and intact, else fetched
    /// (and kept).
    async fn get(&self, registry: &Registry, repo: &str, digest: &str) -> Result<Vec<u8>, Error> {
        let path = self.path(digest);
        if let Some(path) = &path {
            if let Ok(bytes) = std::fs::read(path) {
                if sha256(&bytes) == digest {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(bytes);
                }
            }
        }
        let bytes = registry.blob(repo, digest).await?;
        self.fetched.fetch_add(1, Ordering::Relaxed);
        if let Some(path) = &path {
            if sha256(&bytes) == digest {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
                }
                crate::fsx::write_atomic(path, &bytes)?;
            }
        }
        Ok(bytes)
    }
}

fn sha256(bytes: &[u8]) -> String {
    crate::oci::sha256_digest(bytes)
}

/// One image read from a registry.
#[derive(Clone, Debug, Serialize)]
pub struct RemoteApp {
    /// `<registry>/<repo>:<tag>`.
    pub image: String,
    pub repository: String,
    pub tag: String,
    /// What the tag resolves to (an index's digest for a multi-platform image).
    pub digest: String,
    /// The platform manifest read (the same as `digest` for a single-platform image).
    pub manifest_digest: String,
    pub config_digest: String,
    pub platform: String,
    /// The label's value, decoded: the manifest text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// How the label stored `manifest` (base64 as publish.sh writes it, or plain text); the
    /// `manifest` field is always the decoded text.
    #[serde(rename = "label_encoding", skip_serializing_if = "Option::is_none")]
    pub encoding: Option<label::Encoding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why the image is not an app (no label, a label that is no manifest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub findings: Vec<Finding>,
}

impl RemoteApp {
    fn empty(image: String, repo: &str, tag: &str) -> Self {
        RemoteApp {
            image,
            repository: repo.to_owned(),
            tag: tag.to_owned(),
            digest: String::new(),
            manifest_digest: String::new(),
            config_digest: String::new(),
            platform: String::new(),
            manifest: None,
            encoding: None,
            slug: None,
            version: None,
            problem: None,
            findings: Vec::new(),
        }
    }

    /// An image the registry lists but kz could not read: rejected, with the reason.
    fn unreadable(host: &str, repo: &str, tag: &str, e: &Error) -> Self {
        let sep = if tag.contains(':') { "@" } else { ":" };
        let mut app = RemoteApp::empty(format!("{host}/{repo}{sep}{tag}"), repo, tag);
        app.problem = Some(format!("unreadable: {}", e.one_line()));
        app
    }

    /// A labelled image whose manifest has no error findings.
    pub fn is_valid(&self) -> bool {
        self.problem.is_none() && !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Read `repo:tag` (a tag or a digest); `None` when the registry has no such manifest.
pub async fn read(
    registry: &Registry,
    repo: &str,
    tag: &str,
    cache: &BlobCache,
    target: &Target,
) -> Result<Option<RemoteApp>, Error> {
    let Some(top) = registry.manifest(repo, tag).await? else {
        return Ok(None);
    };
    let sep = if tag.contains(':') { "@" } else { ":" };
    let image = format!("{}/{repo}{sep}{tag}", registry.host());
    let (manifest_digest, manifest) = match &top.manifest {
        OciManifest::Image(m) => (top.digest.clone(), Some(m.clone())),
        OciManifest::ImageIndex(index) => {
            let pick = index
                .manifests
                .iter()
                .find(|m| {
                    m.platform
                        .as_ref()
                        .is_some_and(|p| format!("{}/{}", p.os, p.architecture) == PLATFORM)
                })
                .or_else(|| index.manifests.first());
            match pick {
                Some(entry) => match registry.manifest(repo, &entry.digest).await? {
                    Some(fetched) => match fetched.manifest {
                        OciManifest::Image(m) => (entry.digest.clone(), Some(m)),
                        OciManifest::ImageIndex(_) => (entry.digest.clone(), None),
                    },
                    None => (entry.digest.clone(), None),
                },
                None => (top.digest.clone(), None),
            }
        }
    };
    let mut app = RemoteApp::empty(image.clone(), repo, tag);
    app.digest = top.digest.clone();
    app.manifest_digest = manifest_digest;
    let Some(manifest) = manifest else {
        app.problem = Some("no image manifest to read (an empty or nested index)".to_owned());
        return Ok(Some(app));
    };
    app.config_digest = manifest.config.digest.clone();
    let config = cache.get(registry, repo, &manifest.config.digest).await?;
    let config: serde_json::Value = match serde_json::from_slice(&config) {
        Ok(config) => config,
        Err(e) => {
            app.problem = Some(format!("the image config is not JSON: {e}"));
            return Ok(Some(app));
        }
    };
    app.platform = config_platform(&config);
    let labels = crate::oci::config_labels(&config);
    let Some(value) = labels.get(LABEL) else {
        app.problem = Some(format!("no {LABEL} label"));
        return Ok(Some(app));
    };
    let (bytes, encoding) = label::decode(value);
    app.encoding = Some(encoding);
    match super::AppManifest::from_bytes(Path::new(&image), bytes.clone()) {
        Ok(m) => {
            app.slug = m.name().map(str::to_owned);
            app.version = m.version().map(str::to_owned);
            app.manifest = Some(String::from_utf8_lossy(m.bytes()).into_owned());
            app.findings = lint::check_bytes(&bytes, &image, &image, target);
        }
        Err(e) => {
            app.problem = Some(format!("the {LABEL} label holds no manifest: {e}"));
        }
    }
    Ok(Some(app))
}

/// The whole index `kz index` writes.
#[derive(Debug, Serialize)]
pub struct Index {
    pub registry: String,
    pub namespace: String,
    /// Labelled images whose manifest validates (warnings and infos kept).
    pub apps: Vec<RemoteApp>,
    /// Images left out, and why: no label, a label that is no manifest, a manifest with errors.
    pub rejected: Vec<RemoteApp>,
    pub repositories: usize,
    pub images: usize,
}

/// How to scan.
#[derive(Debug)]
pub struct IndexOptions {
    /// The repositories to read; empty: `/v2/_catalog`, filtered to `<NS>/`.
    pub repos: Vec<String>,
    /// Requests in flight.
    pub concurrency: usize,
}

/// Scan a registry. Images without a label or with a broken one are reported, not fatal; a
/// registry that cannot be read is.
pub async fn index(
    registry: &Registry,
    target: &Target,
    opts: &IndexOptions,
    cache: &BlobCache,
) -> Result<Index, Error> {
    let repos = if opts.repos.is_empty() {
        let prefix = format!("{}/", target.namespace());
        registry
            .catalog()
            .await?
            .into_iter()
            .filter(|r| r.starts_with(&prefix))
            .collect()
    } else {
        let mut r = opts.repos.clone();
        r.sort();
        r.dedup();
        r
    };
    let concurrency = opts.concurrency.max(1);
    let tagged: Vec<Result<Vec<(String, String)>, Error>> = futures_util::stream::iter(&repos)
        .map(|repo| async move {
            let tags = registry.tags(repo).await?;
            Ok(tags.into_iter().map(|t| (repo.clone(), t)).collect())
        })
        .buffered(concurrency)
        .collect()
        .await;
    let mut images = Vec::new();
    for t in tagged {
        images.extend(t?);
    }
    let read: Vec<Result<Option<RemoteApp>, Error>> = futures_util::stream::iter(&images)
        .map(|(repo, tag)| read(registry, repo, tag, cache, target))
        .buffered(concurrency)
        .collect()
        .await;
    let mut index = Index {
        registry: registry.host().to_owned(),
        namespace: target.namespace().to_owned(),
        apps: Vec::new(),
        rejected: Vec::new(),
        repositories: repos.len(),
        images: images.len(),
    };
    for ((repo, tag), app) in images.iter().zip(read) {
        let app = match app {
            Ok(Some(app)) => app,
            Ok(None) => continue,
            // One unreadable image (a blob gone, a manifest kz cannot parse) is reported with
            // the others, not fatal: the catalogue and tag lists above are what must answer.
            Err(e) => RemoteApp::unreadable(registry.host(), repo, tag, &e),
        };
        if app.is_valid() {
            index.apps.push(app);
        } else {
            index.rejected.push(app);
        }
    }
    Ok(index)
}
