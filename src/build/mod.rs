//! Building extension images on the Docker engine (bollard; no docker CLI). The public API that
//! `kz build`, `kz test`, publish and synapse share:
//!
//! - [`targets`]: the images of an extension ([`BuildTarget`]: tags, context, Dockerfile, args,
//!   target), named as sync-compose names them;
//! - [`build_target`]: build one, or skip it when the local image already carries the same
//!   content hash ([`LABEL_CONTENT_HASH`]); progress comes back as [`BuildEvent`]s.
//!
//! The content hash covers the context tar after `.dockerignore` (see [`context`]), the
//! Dockerfile, args, target, platform and extra labels. A failed build is [`Error::BuildFailed`]
//! carrying the log of the failing step. Nothing here prints.

mod context;
mod export;
mod run;
mod targets;

pub use export::{
    registry_images, save_images, write_import_files, SaveProgress, SavedImages, ARCHIVE,
    IMAGES_DIR,
};
pub use targets::targets;

use crate::docker::{Engine, LABEL_CONTENT_HASH};
use crate::error::Error;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a target was declared: the compose file and the line of its `build:` (or kamiwaza.json).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: u32,
}

/// The Dockerfile of a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dockerfile {
    /// An absolute path, inside the workspace; it may lie outside the context (then it is sent
    /// under its own name, as the docker CLI does).
    Path(PathBuf),
    /// compose `dockerfile_inline`.
    Inline(String),
}

/// One image to build.
#[derive(Clone, Debug)]
pub struct BuildTarget {
    /// `apps/<folder>`.
    pub extension: String,
    /// The compose service (the folder name for a root Dockerfile without compose).
    pub service: String,
    /// The stage's reference first (THE image of the service), then `<repository>:latest`.
    pub tags: Vec<String>,
    /// The context folder (absolute, inside the workspace).
    pub context: PathBuf,
    pub dockerfile: Dockerfile,
    /// Build args, after taking `KEY`-only entries from the environment.
    pub args: BTreeMap<String, String>,
    /// The multi-stage target, if any.
    pub target: Option<String>,
    pub origin: Origin,
}

impl BuildTarget {
    /// The image reference the stage uses (the first tag).
    pub fn image(&self) -> &str {
        self.tags.first().map_or("", String::as_str)
    }
}

/// How to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Build even when an image with the same content hash exists.
    pub force: bool,
    /// Do not use the engine's layer cache.
    pub no_cache: bool,
    /// e.g. `linux/amd64`.
    pub platform: Option<String>,
    /// Tag with these instead of the target's tags (publish builds per platform under its own).
    pub tags: Option<Vec<String>>,
    /// Tags added to the target's (or the override's).
    pub extra_tags: Vec<String>,
    /// Labels added to the image (part of the content hash).
    pub labels: BTreeMap<String, String>,
}

/// What [`build_target`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildOutcome {
    Built {
        image_id: String,
    },
    /// An image with the same content hash was there; only missing tags were added.
    Skipped {
        image_id: String,
    },
}

/// Progress of one build, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildEvent {
    /// The context was scanned and hashed.
    Hashed {
        hash: String,
        files: usize,
        bytes: u64,
    },
    /// The context is being sent and the engine builds.
    Building,
    /// `Step 3/7 : RUN pip install …` (classic builder).
    Step {
        number: u32,
        total: u32,
        text: String,
    },
    /// A line of build output.
    Output(String),
    /// A tag was set on the image.
    Tagged(String),
}

/// Build `target` (or skip it when up to date). `on_event` sees progress as it happens.
pub async fn build_target(
    engine: &Engine,
    target: &BuildTarget,
    opts: &BuildOptions,
    on_event: impl Fn(BuildEvent) + Send + Sync,
) -> Result<BuildOutcome, Error> {
    let mut tags = opts.tags.clone().unwrap_or_else(|| target.tags.clone());
    for extra in &opts.extra_tags {
        if !tags.contains(extra) {
            tags.push(extra.clone());
        }
    }
    if tags.is_empty() {
        return Err(Error::invalid(
            &target.origin.file,
            format!("service `{}`: no tag to build under", target.service),
        ));
    }
    let scanned = {
        let (root, dockerfile) = (target.context.clone(), target.dockerfile.clone());
        tokio::task::spawn_blocking(move || -> Result<_, Error> {
            let ctx = context::Context::scan(&root, &dockerfile)?;
            let digest = ctx.digest()?;
            Ok((ctx, digest))
        })
        .await
        .map_err(|e| Error::invalid(&target.context, format!("the context scan stopped: {e}")))??
    };
    let (ctx, tar_digest) = scanned;
    let hash = content_hash(&tar_digest, &ctx.dockerfile, target, opts);
    on_event(BuildEvent::Hashed {
        hash: hash.clone(),
        files: ctx.files,
        bytes: ctx.bytes,
    });
    if !opts.force && !opts.no_cache {
        if let Some(id) = run::image_with_hash(engine, &tags[0], &hash).await? {
            run::ensure_tags(engine, &id, &tags[1..], &on_event).await?;
            return Ok(BuildOutcome::Skipped { image_id: id });
        }
    }
    on_event(BuildEvent::Building);
    let mut labels = opts.labels.clone();
    labels.insert(crate::docker::LABEL_MANAGED.to_owned(), "true".to_owned());
    labels.insert(LABEL_CONTENT_HASH.to_owned(), hash);
    let id = run::build(engine, target, opts, ctx, &tags[0], labels, &on_event).await?;
    run::ensure_tags(engine, &id, &tags[1..], &on_event).await?;
    Ok(BuildOutcome::Built { image_id: id })
}

/// The content hash [`build_target`] would give `target` built with `opts`, without building
/// (publish compares it with the label of the image in the registry).
pub async fn planned_hash(target: &BuildTarget, opts: &BuildOptions) -> Result<String, Error> {
    let (root, dockerfile) = (target.context.clone(), target.dockerfile.clone());
    let (dockerfile_name, tar_digest) = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let ctx = context::Context::scan(&root, &dockerfile)?;
        let digest = ctx.digest()?;
        Ok((ctx.dockerfile, digest))
    })
    .await
    .map_err(|e| Error::invalid(&target.context, format!("the context scan stopped: {e}")))??;
    Ok(content_hash(&tar_digest, &dockerfile_name, target, opts))
}

/// `sha256:<hex>` over everything that decides the image: the context tar, the Dockerfile's
/// name, args, target, platform and extra labels (each field delimited so none can bleed into
/// another).
fn content_hash(
    tar_digest: &str,
    dockerfile: &str,
    target: &BuildTarget,
    opts: &BuildOptions,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut field = |name: &str, value: &str| {
        h.update(name.as_bytes());
        h.update((value.len() as u64).to_le_bytes());
        h.update(value.as_bytes());
    };
    field("kz-build", "1");
    field("context", tar_digest);
    field("dockerfile", dockerfile);
    field("target", target.target.as_deref().unwrap_or(""));
    field("platform", opts.platform.as_deref().unwrap_or(""));
    for (k, v) in &target.args {
        field("arg", k);
        field("=", v);
    }
    for (k, v) in &opts.labels {
        field("label", k);
        field("=", v);
    }
    format!("sha256:{}", context::hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers spawn builds: the future must be `Send`.
    fn future_is_send(engine: &Engine, target: &BuildTarget, opts: &BuildOptions) {
        fn is_send<T: Send>(_: &T) {}
        let f = build_target(engine, target, opts, |_| {});
        is_send(&f);
    }

    #[test]
    fn the_hash_covers_args_target_platform_and_labels() {
        let _ = future_is_send;
        let t = BuildTarget {
            extension: "tools/x".into(),
            service: "app".into(),
            tags: vec!["ns/x-app:1".into()],
            context: PathBuf::from("/r/tools/x"),
            dockerfile: Dockerfile::Path(PathBuf::from("/r/tools/x/Dockerfile")),
            args: BTreeMap::new(),
            target: None,
            origin: Origin {
                file: PathBuf::from("/r/tools/x/docker-compose.yml"),
                line: 3,
            },
        };
        let o = BuildOptions::default();
        let base = content_hash("abc", "Dockerfile", &t, &o);
        assert!(base.starts_with("sha256:") && base.len() == 71);
        let mut t2 = t.clone();
        t2.args.insert("A".into(), "1".into());
        let mut t3 = t.clone();
        t3.target = Some("prod".into());
        let o2 = BuildOptions {
            platform: Some("linux/arm64".into()),
            ..o.clone()
        };
        let mut o3 = o.clone();
        o3.labels
            .insert("io.synapse.app.manifest".into(), "{}".into());
        let o4 = BuildOptions {
            tags: Some(vec!["other:1".into()]),
            ..o.clone()
        };
        for other in [
            content_hash("abd", "Dockerfile", &t, &o),
            content_hash("abc", "Dockerfile.prod", &t, &o),
            content_hash("abc", "Dockerfile", &t2, &o),
            content_hash("abc", "Dockerfile", &t3, &o),
            content_hash("abc", "Dockerfile", &t, &o2),
            content_hash("abc", "Dockerfile", &t, &o3),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(
            base,
            content_hash("abc", "Dockerfile", &t, &o4),
            "tags are not content"
        );
    }
}
