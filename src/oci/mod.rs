//! A registry client over the OCI distribution API (the `oci-client` crate): manifests
//! (following an index to each platform's image and config), blobs, tags, `/v2/_catalog`, and
//! pushes of blobs and manifests. Every request is retried with backoff on transient failures
//! ([`retry`]); credentials come from [`auth`] and never appear in an error. Publishing an image
//! from the engine is [`push`].
//!
//! Plain HTTP is used for loopback registries (`localhost`, `127.0.0.0/8`, `::1`), as the Docker
//! engine does; every other registry is spoken to over HTTPS.

pub mod auth;
pub mod layers;
pub mod push;
pub mod retry;
pub mod token;

use crate::error::Error;
use auth::Credential;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    OciManifest, IMAGE_MANIFEST_LIST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
};
use oci_client::{Client, Reference};
use retry::RetryPolicy;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Every manifest type kz reads.
pub const MANIFEST_TYPES: &[&str] = &[
    oci_client::manifest::OCI_IMAGE_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// How to talk to a registry.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    pub retry: RetryPolicy,
    /// Plain HTTP even for a host that is not loopback.
    pub insecure: bool,
}

/// One registry host, with its credential and retry policy.
pub struct Registry {
    host: String,
    client: Client,
    auth: oci_client::secrets::RegistryAuth,
    credential: &'static str,
    policy: RetryPolicy,
    retries: AtomicU32,
    /// An identity (refresh) token, traded per repository for access tokens.
    refresh: Option<auth::Secret>,
    http: Option<reqwest::Client>,
    scheme: &'static str,
    scoped: tokio::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("host", &self.host)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

/// A manifest as the registry holds it.
#[derive(Debug)]
pub struct Fetched {
    pub digest: String,
    pub body: bytes::Bytes,
    pub manifest: OciManifest,
}

impl Fetched {
    pub fn is_index(&self) -> bool {
        matches!(self.manifest, OciManifest::ImageIndex(_))
    }
}

/// What a tag holds, platform by platform (one entry for a single-platform image).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteImage {
    /// The digest the tag resolves to (the index's, for a multi-platform image).
    pub digest: String,
    pub is_index: bool,
    pub platforms: Vec<RemotePlatform>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotePlatform {
    /// `os/architecture[/variant]`, from the image's config.
    pub platform: String,
    pub manifest_digest: String,
    pub config_digest: String,
    pub labels: BTreeMap<String, String>,
}

/// Whether `host` (`name[:port]`) is a loopback address the engine also speaks HTTP to.
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':').map_or(host, |(n, _)| n)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// `os/arch[/variant]` of an image config.
pub fn config_platform(config: &serde_json::Value) -> String {
    let s = |k: &str| config.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let mut p = format!("{}/{}", s("os"), s("architecture"));
    if !s("variant").is_empty() {
        p.push('/');
        p.push_str(s("variant"));
    }
    p
}

/// The labels of an image config (`config.Labels`).
pub fn config_labels(config: &serde_json::Value) -> BTreeMap<String, String> {
    config
        .get("config")
        .and_then(|c| c.get("Labels"))
        .and_then(|l| l.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RequestError(r) => r.status().is_some_and(|s| s.as_u16() == 404),
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        _ => false,
    }
}

fn unauthorized(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 401 || *code == 403,
        OciDistributionError::RequestError(r) => r
            .status()
            .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403),
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)),
        _ => false,
    }
}

impl Registry {
    /// A client for `host` presenting `credential`.
    pub fn new(
        host: &str,
        credential: &Credential,
        options: &RegistryOptions,
    ) -> Result<Self, Error> {
        // reqwest is built without a default TLS provider; kz's is ring. Installing it twice is
        // harmless (the second install reports the first and changes nothing).
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let plain = options.insecure || is_loopback(host);
        let protocol = if plain {
            ClientProtocol::HttpsExcept(vec![host.to_owned()])
        } else {
            ClientProtocol::Https
        };
        let refresh = match credential {
            Credential::Token(t) => Some(t.clone()),
            _ => None,
        };
        let http = match refresh {
            Some(_) => Some(
                reqwest::Client::builder()
                    .no_proxy()
                    .connect_timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| Error::Registry {
                        registry: host.to_owned(),
                        doing: "set up the HTTP client".into(),
                        source: Box::new(OciDistributionError::GenericError(Some(e.to_string()))),
                    })?,
            ),
            None => None,
        };
        let config = ClientConfig {
            protocol,
            use_monolithic_push: true,
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(120)),
            user_agent: concat!("kz/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let client = Client::try_from(config).map_err(|e| Error::Registry {
            registry: host.to_owned(),
            doing: "set up the HTTP client".into(),
            source: Box::new(e),
        })?;
        Ok(Registry {
            host: host.to_owned(),
            client,
            auth: credential.to_registry_auth(),
            credential: credential.describe(),
            policy: options.retry,
            retries: AtomicU32::new(0),
            refresh,
            http,
            scheme: if plain { "http" } else { "https" },
            scoped: tokio::sync::Mutex::new(Default::default()),
        })
    }

    /// With an identity token: trade it once per repository for an access token (pull and
    /// push) where the registry's Bearer challenge says, and hand that to the client.
    async fn scope(&self, repo: &str) -> Result<(), Error> {
        let (Some(refresh), Some(http)) = (&self.refresh, &self.http) else {
            return Ok(());
        };
        let mut done = self.scoped.lock().await;
        if done.contains(repo) {
            return Ok(());
        }
        let doing = format!("exchange the identity token for {repo}");
        let failed = |m: String| Error::Registry {
            registry: self.host.clone(),
            doing: doing.clone(),
            source: Box::new(OciDistributionError::GenericError(Some(m))),
        };
        let probe = http
            .get(format!("{}://{}/v2/", self.scheme, self.host))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        let challenge = probe
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|h| h.to_str().ok())
            .and_then(token::parse_challenge);
        if let Some(challenge) = challenge {
            let scope = format!("repository:{repo}:pull,push");
            let access = token::exchange(http, &challenge, &scope, refresh)
                .await
                .map_err(|e| match e {
                    token::ExchangeError::Refused(_) => Error::RegistryAuth {
                        registry: self.host.clone(),
                        doing: doing.clone(),
                        credential: self.credential,
                    },
                    token::ExchangeError::Failed(m) => failed(m),
                })?;
            let r = self.reference(repo, "latest");
            for op in [
                oci_client::RegistryOperation::Pull,
                oci_client::RegistryOperation::Push,
            ] {
                let t = oci_client::token_cache::RegistryTokenType::Bearer(
                    oci_client::token_cache::RegistryToken::Token {
                        token: access.clone(),
                    },
                );
                self.client.tokens.insert(&r, op, t).await;
            }
        }
        done.insert(repo.to_owned());
        Ok(())
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// How many requests were retried so far.
    pub fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }

    fn reference(&self, repo: &str, tag_or_digest: &str) -> Reference {
        if tag_or_digest.contains(':') {
            Reference::with_digest(self.host.clone(), repo.to_owned(), tag_or_digest.to_owned())
        } else {
            Reference::with_tag(self.host.clone(), repo.to_owned(), tag_or_digest.to_owned())
        }
    }

    fn error(&self, doing: String, e: OciDistributionError) -> Error {
        if unauthorized(&e) {
            Error::RegistryAuth {
                registry: self.host.clone(),
                doing,
                credential: self.credential,
            }
        } else {
            Error::Registry {
                registry: self.host.clone(),
                doing,
                source: Box::new(e),
            }
        }
    }

    async fn call<T, F, Fut>(&self, op: F) -> Result<T, OciDistributionError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        retry::retry(
            &self.policy,
            |_, _, _| {
                self.retries.fetch_add(1, Ordering::Relaxed);
            },
            op,
        )
        .await
    }

    /// The manifest `repo:reference` (a tag or a digest), or `None` when there is none.
    pub async fn manifest(&self, repo: &str, reference: &str) -> Result<Option<Fetched>, Error> {
        self.scope(repo).await?;
        let r = self.reference(repo, reference);
        let got = self
            .call(|| {
                self.client
                    .pull_manifest_raw(&r, &self.auth, MANIFEST_TYPES)
            })
            .await;
        let (body, digest) = match got {
            Ok(v) => v,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(self.error(format!("read the manifest of {r}"), e)),
        };
        let manifest: OciManifest = serde_json::from_slice(&body).map_err(|e| {
            self.error(
                format!("read the manifest of {r}"),
                OciDistributionError::ManifestParsingError(e.to_string()),
            )
        })?;
        Ok(Some(Fetched {
            digest,
            body,
            manifest,
        }))
    }

    /// The blob `digest` of `repo`, in memory (configs and manifests, not layers).
    pub async fn blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>, Error> {
        self.scope(repo).await?;
        let r = self.reference(repo, digest);
        self.call(|| async {
            let mut out = Vec::new();
            self.client.pull_blob(&r, digest, &mut out).await?;
            Ok(out)
        })
        .await
        .map_err(|e| self.error(format!("read blob {digest} of {repo}"), e))
    }

    /// What `repo:tag` holds, platform by platform, with each platform's config labels; an index
    /// is followed to every image it lists. `None` when the tag does not exist.
    pub async fn remote_image(&self, repo: &str, tag: &str) -> Result<Option<RemoteImage>, Error> {
        let Some(top) = self.manifest(repo, tag).await? else {
            return Ok(None);
        };
        let mut platforms = Vec::new();
        let manifests: Vec<(String, Option<oci_client::manifest::OciImageManifest>)> =
            match &top.manifest {
                OciManifest::Image(m) => vec![(top.digest.clone(), Some(m.clone()))],
                OciManifest::ImageIndex(i) => i
                    .manifests
                    .iter()
                    .map(|m| (m.digest.clone(), None))
                    .collect(),
            };
        for (digest, image) in manifests {
            let image = match image {
                Some(m) => m,
                None => match self.manifest(repo, &digest).await? {
                    Some(Fetched {
                        manifest: OciManifest::Image(m),
                        ..
                    }) => m,
                    // A nested index or a vanished manifest: nothing kz can compare.
                    _ => continue,
                },
            };
            let config = self.blob(repo, &image.config.digest).await?;
            let config: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
            platforms.push(RemotePlatform {
                platform: config_platform(&config),
                manifest_digest: digest,
                config_digest: image.config.digest.clone(),
                labels: config_labels(&config),
            });
        }
        platforms.sort_by(|a, b| a.platform.cmp(&b.platform));
        Ok(Some(RemoteImage {
            digest: top.digest.clone(),
            is_index: top.is_index(),
            platforms,
        }))
    }

    /// Every tag of `repo` (sorted); empty when the repository does not exist.
    pub async fn tags(&self, repo: &str) -> Result<Vec<String>, Error> {
        self.scope(repo).await?;
        let r = self.reference(repo, "latest");
        let mut all: Vec<String> = Vec::new();
        loop {
            const PAGE: usize = 1000;
            let last = all.last().cloned();
            let got = self
                .call(|| {
                    self.client
                        .list_tags(&r, &self.auth, Some(PAGE), last.as_deref())
                })
                .await;
            let page = match got {
                Ok(p) => p.tags,
                Err(e) if not_found(&e) => Vec::new(),
                Err(e) => return Err(self.error(format!("list the tags of {repo}"), e)),
            };
            let n = page.len();
            all.extend(page);
            if n < PAGE {
                break;
            }
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Every repository of the registry (`/v2/_catalog`, sorted).
    pub async fn catalog(&self) -> Result<Vec<String>, Error> {
        let r = self.reference("library/kz", "latest");
        let mut all: Vec<String> = Vec::new();
        loop {
            const PAGE: usize = 1000;
            let last = all.last().cloned();
            let page = self
                .call(|| {
                    self.client
                        .catalog(&r, &self.auth, Some(PAGE), last.as_deref())
                })
                .await
                .map_err(|e| self.error("list the repositories".into(), e))?
                .repositories;
            let n = page.len();
            all.extend(page);
            if n < PAGE {
                break;
            }
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    pub async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool, Error> {
        self.scope(repo).await?;
        let r = self.reference(repo, digest);
        self.client
            .store_auth_if_needed(r.resolve_registry(), &self.auth)
            .await;
        self.call(|| self.client.blob_exists(&r, digest))
            .await
            .map_err(|e| self.error(format!("look for blob {digest} in {repo}"), e))
    }

    /// Upload the file `path` as blob `digest` of `repo`, unless the registry has it already.
    /// Returns whether it was uploaded.
    pub async fn push_blob_file(
        &self,
        repo: &str,
        digest: &str,
        path: &Path,
        size: u64,
    ) -> Result<bool, Error> {
        if self.blob_exists(repo, digest).await? {
            return Ok(false);
        }
        let r = self.reference(repo, digest);
        self.call(|| async {
            let file = tokio::fs::File::open(path).await?;
            let stream = futures_util::TryStreamExt::map_err(
                tokio_util::io::ReaderStream::new(file),
                OciDistributionError::IoError,
            );
            self.client
                .push_blob_stream(&r, stream, digest, Some(size))
                .await
        })
        .await
        .map_err(|e| self.error(format!("upload blob {digest} to {repo}"), e))?;
        Ok(true)
    }

    /// Mount blob `digest` of `from` into `repo` (same registry) without uploading it again.
    /// False when the registry would not (it then expects an upload, which kz does instead).
    pub async fn mount_blob(&self, repo: &str, from: &str, digest: &str) -> bool {
        if self.scope(repo).await.is_err() {
            return false;
        }
        let r = self.reference(repo, digest);
        let source = self.reference(from, digest);
        self.client
            .store_auth_if_needed(r.resolve_registry(), &self.auth)
            .await;
        let mounted = self
            .call(|| self.client.mount_blob(&r, &source, digest))
            .await
            .is_ok();
        mounted && self.blob_exists(repo, digest).await.unwrap_or(false)
    }

    /// Upload `data` as a blob of `repo`, unless the registry has it already.
    pub async fn push_blob_bytes(&self, repo: &str, data: bytes::Bytes) -> Result<String, Error> {
        let digest = sha256_digest(&data);
        if self.blob_exists(repo, &digest).await? {
            return Ok(digest);
        }
        let r = self.reference(repo, &digest);
        self.call(|| self.client.push_blob(&r, data.clone(), &digest))
            .await
            .map_err(|e| self.error(format!("upload blob {digest} to {repo}"), e))?;
        Ok(digest)
    }

    /// Put a manifest (`body`, of `media_type`) at `repo:reference`; returns its digest.
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        body: Vec<u8>,
        media_type: &str,
    ) -> Result<String, Error> {
        self.scope(repo).await?;
        let r = self.reference(repo, reference);
        let digest = sha256_digest(&body);
        let content_type = http::HeaderValue::from_str(media_type).map_err(|_| {
            self.error(
                format!("push the manifest of {r}"),
                OciDistributionError::UnsupportedMediaTypeError(media_type.to_owned()),
            )
        })?;
        let body = bytes::Bytes::from(body);
        self.client
            .store_auth_if_needed(r.resolve_registry(), &self.auth)
            .await;
        self.call(|| {
            self.client
                .push_manifest_raw(&r, body.clone(), content_type.clone())
        })
        .await
        .map_err(|e| self.error(format!("push the manifest of {r}"), e))?;
        Ok(digest)
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(data);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in hash {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.8.9.1",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1:5000",
            "docker.io",
            "localhost.example:1",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn platforms_and_labels_from_config() {
        let c: serde_json::Value = serde_json::json!({
            "architecture": "arm", "os": "linux", "variant": "v7",
            "config": {"Labels": {"dev.kz.content-hash": "abc", "n": 1}}
        });
        assert_eq!(config_platform(&c), "linux/arm/v7");
        assert_eq!(
            config_labels(&c),
            BTreeMap::from([("dev.kz.content-hash".to_owned(), "abc".to_owned())])
        );
        assert_eq!(sha256_digest(b"").len(), 71);
    }
}
