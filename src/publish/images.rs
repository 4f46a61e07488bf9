//! The image half of `kz publish`: which images a stage publishes, which of them the registry
//! already holds ([`plan`]), and pushing the rest ([`push`]).
//!
//! Every extension image is named by `imageref` (through `build::targets`) with the stage's tag;
//! `:latest` is never pushed. An image is skipped when the registry has that tag and every
//! requested platform there carries the content hash (`dev.kz.content-hash`) a build would give
//! it now. Otherwise each platform is built through the engine under a temporary local tag,
//! pushed by digest (or straight under the tag when there is one platform), and an OCI image
//! index over all platforms is put at the tag. Builds are per platform, without buildx: a
//! Dockerfile whose `RUN` steps need another architecture needs qemu (binfmt) on the engine host.

use crate::build::{self, BuildEvent, BuildOptions, BuildTarget};
use crate::docker::{Engine, LABEL_CONTENT_HASH};
use crate::error::Error;
use crate::imageref::ImageRef;
use crate::oci::auth::CredentialStore;
use crate::oci::layers::LayerCache;
use crate::oci::push::{push_engine_image, push_index, PushedImage};
use crate::oci::{Registry, RegistryOptions, RemoteImage};
use crate::settings::{Settings, Stage};
use crate::workspace::Extension;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The registry Docker Hub references resolve to.
pub const DOCKER_HUB: &str = "docker.io";

/// One image of the stage and what publishing would do with it.
#[derive(Clone, Debug, Serialize)]
pub struct ImagePlan {
    /// `apps/<folder>`.
    pub extension: String,
    pub service: String,
    /// The full reference pushed, e.g. `registry.example/team/x-backend:1.0.0-dev`.
    pub reference: String,
    pub registry: String,
    pub repository: String,
    pub tag: String,
    /// The content hash a build gives each platform now, by platform.
    pub hashes: BTreeMap<String, String>,
    pub action: Action,
    /// Why, in a few words.
    pub reason: String,
    /// What the tag resolves to in the registry now.
    pub remote_digest: Option<String>,
    #[serde(skip)]
    pub target: BuildTarget,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Push,
    Skip,
}

/// What is published and how.
#[derive(Clone, Debug)]
pub struct Options {
    pub stage: Stage,
    /// e.g. `linux/amd64`, `linux/arm64`, in the order given.
    pub platforms: Vec<String>,
    /// Push even what the registry holds already.
    pub force: bool,
    pub registry: RegistryOptions,
}

/// Registry clients by host, each with the credential the docker CLI would use there.
/// They share a [`LayerCache`], so a base layer is compressed once per run (and, with a cache
/// file, once per machine).
pub struct Registries {
    store: CredentialStore,
    options: RegistryOptions,
    clients: BTreeMap<String, Registry>,
    pub layers: LayerCache,
}

impl Registries {
    pub fn new(store: CredentialStore, options: RegistryOptions, layers: LayerCache) -> Self {
        Registries {
            store,
            options,
            clients: BTreeMap::new(),
            layers,
        }
    }

    /// The client for `host`, made (and its credential looked up) on first use.
    pub fn get(&mut self, host: &str) -> Result<&Registry, Error> {
        if !self.clients.contains_key(host) {
            let credential = self.store.lookup(host)?;
            let client = Registry::new(host, &credential, &self.options)?;
            self.clients.insert(host.to_owned(), client);
        }
        self.clients
            .get(host)
            .ok_or_else(|| Error::invalid(host, "registry client missing"))
    }

    /// Retried requests over every registry used.
    pub fn retries(&self) -> u32 {
        self.clients.values().map(Registry::retries).sum()
    }
}

/// Where a reference lives: registry host, repository, tag.
pub fn locate(reference: &str) -> (String, String, String) {
    let r = ImageRef::parse(reference);
    let registry = r.registry.clone().unwrap_or_else(|| DOCKER_HUB.to_owned());
    let repository = if registry == DOCKER_HUB && !r.repository.contains('/') {
        format!("library/{}", r.repository)
    } else {
        r.repository.clone()
    };
    (
        registry,
        repository,
        r.tag.unwrap_or_else(|| "latest".into()),
    )
}

/// The images `extensions` publish for the stage, each compared with the registry. Reads the
/// registry; writes nothing anywhere.
pub async fn plan(
    root: &Path,
    extensions: &[&Extension],
    settings: &Settings,
    opts: &Options,
    registries: &mut Registries,
) -> Result<Vec<ImagePlan>, Error> {
    let mut out = Vec::new();
    for ext in extensions {
        for target in build::targets(root, ext, settings, Some(&opts.stage))? {
            let reference = target.image().to_owned();
            let (registry, repository, tag) = locate(&reference);
            if tag == "latest" || reference.contains('@') {
                return Err(Error::invalid(
                    &target.origin.file,
                    format!(
                        "service `{}`: `{reference}` has no version tag; kz never publishes \
                         `:latest` or a digest",
                        target.service
                    ),
                ));
            }
            let mut hashes = BTreeMap::new();
            for p in &opts.platforms {
                let hash = build::planned_hash(&target, &build_options(p, None)).await?;
                hashes.insert(p.clone(), hash);
            }
            let remote = registries
                .get(&registry)?
                .remote_image(&repository, &tag)
                .await?;
            let (action, reason) = decide(remote.as_ref(), &hashes, opts.force);
            out.push(ImagePlan {
                extension: ext.rel(),
                service: target.service.clone(),
                reference,
                registry,
                repository,
                tag,
                hashes,
                action,
                reason,
                remote_digest: remote.map(|r| r.digest),
                target,
            });
        }
    }
    Ok(out)
}

/// Push or skip, given what the tag holds now and the hashes wanted per platform.
pub fn decide(
    remote: Option<&RemoteImage>,
    hashes: &BTreeMap<String, String>,
    force: bool,
) -> (Action, String) {
    let Some(remote) = remote else {
        return (Action::Push, "not in the registry".into());
    };
    let same = hashes.iter().all(|(platform, hash)| {
        remote
            .platforms
            .iter()
            .any(|r| &r.platform == platform && r.labels.get(LABEL_CONTENT_HASH) == Some(hash))
    });
    let extra = remote
        .platforms
        .iter()
        .any(|r| !hashes.contains_key(&r.platform));
    match (same && !extra, force) {
        (true, false) => (Action::Skip, "same content hash already pushed".into()),
        (true, true) => (Action::Push, "up to date, pushed again (--force)".into()),
        (false, _) if same => (
            Action::Push,
            "the tag holds other platforms too; replaced".into(),
        ),
        (false, _) => (Action::Push, "content changed".into()),
    }
}

/// Progress of [`push`], in order.
#[derive(Clone, Debug)]
pub enum PushEvent {
    /// A platform's build starts (it may be skipped by the build cache).
    Building {
        reference: String,
        platform: String,
    },
    Build(BuildEvent),
    /// A platform's manifest is in the registry.
    Pushed {
        reference: String,
        image: PushedImage,
    },
    /// The index over all platforms is at the tag.
    Indexed {
        reference: String,
        digest: String,
    },
}

/// What a pushed image ended as.
#[derive(Clone, Debug, Serialize)]
pub struct Pushed {
    pub reference: String,
    /// What the tag resolves to now (the index's digest for several platforms).
    pub digest: String,
    pub uploaded_blobs: usize,
    pub uploaded_bytes: u64,
}

fn build_options(platform: &str, tag: Option<&str>) -> BuildOptions {
    BuildOptions {
        platform: Some(platform.to_owned()),
        tags: tag.map(|t| vec![t.to_owned()]),
        ..BuildOptions::default()
    }
}

/// The local tag a platform is built under while it is pushed (removed afterwards).
fn temporary_tag(plan: &ImagePlan, platform: &str) -> String {
    let name: String = plan
        .repository
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let arch = platform.replace('/', "-");
    format!(
        "kz-publish/{name}:{}-{arch}-{}",
        plan.tag,
        std::process::id()
    )
}

/// Build and push one planned image (its action should be [`Action::Push`]).
pub async fn push(
    engine: &Engine,
    plan: &ImagePlan,
    platforms: &[String],
    registries: &mut Registries,
    on_event: &(impl Fn(PushEvent) + Send + Sync),
) -> Result<Pushed, Error> {
    registries.get(&plan.registry)?;
    let registry = registries
        .clients
        .get(&plan.registry)
        .ok_or_else(|| Error::invalid(&plan.registry, "registry client missing"))?;
    let cache = &registries.layers;
    let single = platforms.len() == 1;
    let mut images = Vec::new();
    for platform in platforms {
        on_event(PushEvent::Building {
            reference: plan.reference.clone(),
            platform: platform.clone(),
        });
        let local = temporary_tag(plan, platform);
        let built = build_for(engine, plan, platform, &local, on_event).await;
        let pushed = match built {
            Ok(()) => {
                push_engine_image(
                    engine,
                    &local,
                    registry,
                    &plan.repository,
                    single.then_some(plan.tag.as_str()),
                    cache,
                )
                .await
            }
            Err(e) => Err(e),
        };
        untag(engine, &local).await;
        let pushed = pushed?;
        on_event(PushEvent::Pushed {
            reference: plan.reference.clone(),
            image: pushed.clone(),
        });
        images.push(pushed);
    }
    let digest = if single {
        images.first().map(|i| i.digest.clone()).unwrap_or_default()
    } else {
        let digest = push_index(registry, &plan.repository, &plan.tag, &images).await?;
        on_event(PushEvent::Indexed {
            reference: plan.reference.clone(),
            digest: digest.clone(),
        });
        digest
    };
    Ok(Pushed {
        reference: plan.reference.clone(),
        digest,
        uploaded_blobs: images.iter().map(|i| i.uploaded_blobs).sum(),
        uploaded_bytes: images.iter().map(|i| i.uploaded_bytes).sum(),
    })
}

/// Build `plan` for `platform` under `local`. The classic builder's cache ignores the platform
/// when a step has no parent (`FROM scratch`), so a second platform can be answered with the
/// first one's image: the result's platform is checked, and a wrong one is built again without
/// the cache.
async fn build_for(
    engine: &Engine,
    plan: &ImagePlan,
    platform: &str,
    local: &str,
    on_event: &(impl Fn(PushEvent) + Send + Sync),
) -> Result<(), Error> {
    let mut opts = build_options(platform, Some(local));
    for _ in 0..2 {
        build::build_target(engine, &plan.target, &opts, |e| {
            on_event(PushEvent::Build(e))
        })
        .await?;
        let image = engine
            .docker()
            .inspect_image(local)
            .await
            .map_err(|e| crate::docker::engine_error(format!("inspect image {local}"), e))?;
        let mut got = format!(
            "{}/{}",
            image.os.as_deref().unwrap_or(""),
            image.architecture.as_deref().unwrap_or("")
        );
        if let Some(v) = image.variant.as_deref().filter(|v| !v.is_empty()) {
            got = format!("{got}/{v}");
        }
        if got == platform
            || (platform.matches('/').count() == 1 && got.starts_with(&format!("{platform}/")))
        {
            return Ok(());
        }
        opts.no_cache = true;
    }
    Err(Error::PlatformUnsupported {
        image: plan.reference.clone(),
        platform: platform.to_owned(),
    })
}

/// Remove the temporary tag, and with it the image and the build's intermediate images when
/// nothing else uses them (the engine keeps whatever another tag or image still needs): a
/// publish leaves the engine as it found it. The next publish rebuilds only what changed.
async fn untag(engine: &Engine, tag: &str) {
    // A tag that is already gone is fine.
    let _ = engine
        .docker()
        .remove_image(
            tag,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::RemotePlatform;

    fn remote(platforms: &[(&str, &str)]) -> RemoteImage {
        RemoteImage {
            digest: "sha256:r".into(),
            is_index: platforms.len() > 1,
            platforms: platforms
                .iter()
                .map(|(p, h)| RemotePlatform {
                    platform: (*p).into(),
                    manifest_digest: String::new(),
                    config_digest: String::new(),
                    labels: BTreeMap::from([(LABEL_CONTENT_HASH.to_owned(), (*h).to_owned())]),
                })
                .collect(),
        }
    }

    #[test]
    fn skip_only_when_every_platform_matches() {
        let want = BTreeMap::from([
            ("linux/amd64".to_owned(), "h1".to_owned()),
            ("linux/arm64".to_owned(), "h2".to_owned()),
        ]);
        let both = remote(&[("linux/amd64", "h1"), ("linux/arm64", "h2")]);
        assert_eq!(decide(Some(&both), &want, false).0, Action::Skip);
        assert_eq!(decide(Some(&both), &want, true).0, Action::Push);
        assert_eq!(decide(None, &want, false).0, Action::Push);
        let changed = remote(&[("linux/amd64", "h1"), ("linux/arm64", "old")]);
        assert_eq!(decide(Some(&changed), &want, false).0, Action::Push);
        let one = remote(&[("linux/amd64", "h1")]);
        assert_eq!(decide(Some(&one), &want, false).0, Action::Push);
        let amd = BTreeMap::from([("linux/amd64".to_owned(), "h1".to_owned())]);
        assert_eq!(decide(Some(&one), &amd, false).0, Action::Skip);
        assert_eq!(decide(Some(&both), &amd, false).0, Action::Push);
    }

    #[test]
    fn references_locate_their_registry() {
        assert_eq!(
            locate("127.0.0.1:5000/team/x:1.0.0-dev"),
            ("127.0.0.1:5000".into(), "team/x".into(), "1.0.0-dev".into())
        );
        assert_eq!(
            locate("kamiwazaai/x:1"),
            ("docker.io".into(), "kamiwazaai/x".into(), "1".into())
        );
        assert_eq!(
            locate("nginx"),
            ("docker.io".into(), "library/nginx".into(), "latest".into())
        );
    }
}
