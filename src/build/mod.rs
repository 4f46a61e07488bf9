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

mod buildkit;
mod context;
mod export;
mod frontend;
mod run;
mod spec;
mod targets;

pub use buildkit::session::SecretBytes;

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
    /// The rest of compose's `build:` (labels, secrets, ssh, network, …).
    pub extra: BuildExtra,
}

/// compose `build:` fields beyond context, Dockerfile, args and target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildExtra {
    /// `build.labels` (part of the content hash).
    pub labels: BTreeMap<String, String>,
    /// `build.secrets`: served to BuildKit, never in the image or the content hash.
    pub secrets: Vec<BuildSecret>,
    /// `build.ssh`: agent sockets forwarded to BuildKit.
    pub ssh: Vec<BuildSsh>,
    /// `build.cache_from`.
    pub cache_from: Vec<String>,
    /// `build.network`: `default`, `none` or `host`.
    pub network: Option<String>,
    /// `build.extra_hosts`, as `host:ip`.
    pub extra_hosts: Vec<String>,
    /// `build.shm_size` in bytes.
    pub shm_size: Option<u64>,
    /// `build.tags`: more tags for the image.
    pub tags: Vec<String>,
    /// `build.platforms` (one at most: a local image has one platform).
    pub platforms: Vec<String>,
}

/// One build secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSecret {
    pub id: String,
    pub from: SecretFrom,
}

/// Where a build secret's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretFrom {
    /// Read when the build starts.
    File(PathBuf),
    /// Taken from the environment when the target was planned.
    Value(SecretBytes),
}

/// One forwarded SSH agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildSsh {
    pub id: String,
    pub socket: PathBuf,
}

/// Which of the engine's builders builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Builder {
    /// The engine's built-in BuildKit (through `/session` + `/build?version=2`).
    #[default]
    BuildKit,
    /// The classic (v1) builder: one container commit per instruction.
    Classic,
}

impl std::str::FromStr for Builder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "buildkit" => Ok(Builder::BuildKit),
            "classic" => Ok(Builder::Classic),
            other => Err(format!(
                "unknown builder `{other}` (expected buildkit or classic)"
            )),
        }
    }
}

/// Registry credentials handed to BuildKit for private `FROM` images.
#[derive(Clone)]
pub struct RegistryCredentials(pub crate::oci::auth::CredentialStore);

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RegistryCredentials({})", self.0.config.display())
    }
}

/// A BuildKit step that finished (or failed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// As BuildKit names it: `[stage-1 2/3] RUN make`, `[internal] load build context`.
    pub name: String,
    pub cached: bool,
    /// Unix milliseconds, from the engine's clock.
    pub started_ms: Option<i64>,
    pub completed_ms: Option<i64>,
    pub error: Option<String>,
}

impl BuildTarget {
    /// The image reference the stage uses (the first tag).
    pub fn image(&self) -> &str {
        self.tags.first().map_or("", String::as_str)
    }

    /// The platform to build for: the option's, else compose's `build.platforms`.
    pub fn platform<'a>(&'a self, opts: &'a BuildOptions) -> Option<&'a str> {
        opts.platform
            .as_deref()
            .or(self.extra.platforms.first().map(String::as_str))
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
    /// BuildKit unless asked otherwise (falls back to classic when the engine lacks it).
    pub builder: Builder,
    /// `default`, `none` or `host` (host: BuildKit's `network.host` entitlement); wins over
    /// compose's `build.network`.
    pub network: Option<String>,
    /// Credentials for private base images (BuildKit asks the session for them).
    pub credentials: Option<RegistryCredentials>,
}

/// The network a build's `RUN` steps get: kz.yaml `build.network`, `KZ_BUILD_NETWORK` or
/// `kz build --network`. Sent to the engine as the build's network mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BuildNetwork {
    // (Plain comments: doc comments here would switch `kz build --help` to its long form.)
    // The engine's default (the bridge network).
    #[default]
    Default,
    // No network at all.
    None,
    // The host's network (reaches what the host reaches, e.g. PyPI and npm).
    Host,
}

impl BuildNetwork {
    pub const NAMES: [&'static str; 3] = ["default", "none", "host"];

    pub fn as_str(self) -> &'static str {
        match self {
            BuildNetwork::Default => "default",
            BuildNetwork::None => "none",
            BuildNetwork::Host => "host",
        }
    }

    pub fn parse(text: &str) -> Option<BuildNetwork> {
        match text {
            "default" => Some(BuildNetwork::Default),
            "none" => Some(BuildNetwork::None),
            "host" => Some(BuildNetwork::Host),
            _ => None,
        }
    }
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
    /// The engine does not offer BuildKit; the classic builder builds (the reason).
    BuilderFallback(String),
    /// A BuildKit step started.
    StepStarted { name: String },
    /// A BuildKit step finished, with its times and whether it was cached.
    StepDone(Step),
}

/// Build `target` (or skip it when up to date). `on_event` sees progress as it happens.
pub async fn build_target(
    engine: &Engine,
    target: &BuildTarget,
    opts: &BuildOptions,
    on_event: impl Fn(BuildEvent) + Send + Sync,
) -> Result<BuildOutcome, Error> {
    let mut tags = opts.tags.clone().unwrap_or_else(|| target.tags.clone());
    let more = if opts.tags.is_some() {
        &[][..]
    } else {
        &target.extra.tags[..]
    };
    for extra in opts.extra_tags.iter().chain(more) {
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
    frontend::check(target)?;
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
    let builder = match opts.builder {
        Builder::Classic => Builder::Classic,
        Builder::BuildKit => match engine.buildkit().await {
            Ok(()) => Builder::BuildKit,
            Err(why) => {
                on_event(BuildEvent::BuilderFallback(why.clone()));
                Builder::Classic
            }
        },
    };
    let mut foreign = None;
    if builder == Builder::Classic {
        refuse_on_classic(target)?;
    } else if let Some(platform) = target.platform(opts) {
        foreign = emulator_check(engine, target, &tags[0], platform).await?;
    }
    on_event(BuildEvent::Building);
    let mut labels = target.extra.labels.clone();
    labels.extend(opts.labels.clone());
    labels.insert(crate::docker::LABEL_MANAGED.to_owned(), "true".to_owned());
    labels.insert(LABEL_CONTENT_HASH.to_owned(), hash);
    let id = match builder {
        Builder::BuildKit => {
            let built = buildkit::build(engine, target, opts, ctx, &tags[0], labels, &on_event);
            match (built.await, foreign) {
                // The base image does not exist for the foreign platform (nothing can be pulled).
                (
                    Err(Error::BuildFailed {
                        step: Some(step),
                        message,
                        ..
                    }),
                    Some(native),
                ) if step.contains("load metadata for") => {
                    return Err(Error::NoEmulator {
                        image: tags[0].clone(),
                        platform: target.platform(opts).unwrap_or_default().to_owned(),
                        native,
                        missing: format!("the base image for that platform: {message}"),
                    });
                }
                (result, _) => result?,
            }
        }
        Builder::Classic => {
            run::build(engine, target, opts, ctx, &tags[0], labels, &on_event).await?
        }
    };
    run::ensure_tags(engine, &id, &tags[1..], &on_event).await?;
    Ok(BuildOutcome::Built { image_id: id })
}

/// Whether the engine offers BuildKit (see [`Engine::buildkit`]).
pub(crate) async fn probe_buildkit(engine: &Engine) -> Result<(), String> {
    buildkit::probe(engine).await
}

/// A platform other than the engine's own: `Ok(Some(native))`. Its `RUN` steps need an
/// emulator (binfmt_misc `qemu-<arch>`) on a local engine's host; refused naming what is missing
/// (a Dockerfile without `RUN` needs none). Remote engines are left to BuildKit.
async fn emulator_check(
    engine: &Engine,
    target: &BuildTarget,
    image: &str,
    platform: &str,
) -> Result<Option<String>, Error> {
    let version = engine
        .docker()
        .version()
        .await
        .map_err(|e| crate::docker::engine_error("ask the engine for its platform", e))?;
    let os = version.os.unwrap_or_default();
    let arch = version.arch.unwrap_or_default();
    let mut parts = platform.split('/');
    let (want_os, want_arch) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if want_os == os && (want_arch == arch || want_arch.is_empty()) {
        return Ok(None);
    }
    let native = format!("{os}/{arch}");
    if !engine.host().starts_with("unix://") || !frontend::has_run(target)? {
        return Ok(Some(native));
    }
    let qemu = match want_arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i386",
        "mips64le" => "mips64el",
        other => other,
    };
    let handler = std::path::Path::new("/proc/sys/fs/binfmt_misc").join(format!("qemu-{qemu}"));
    if want_os == os && handler.exists() {
        return Ok(Some(native));
    }
    Err(Error::NoEmulator {
        image: image.to_owned(),
        platform: platform.to_owned(),
        native,
        missing: if want_os == os {
            format!("no binfmt_misc handler {}", handler.display())
        } else {
            format!("an engine for {want_os}")
        },
    })
}

/// What only BuildKit can do, refused before a classic build starts.
fn refuse_on_classic(target: &BuildTarget) -> Result<(), Error> {
    let x = &target.extra;
    let field = if !x.secrets.is_empty() {
        "secrets"
    } else if !x.ssh.is_empty() {
        "ssh"
    } else {
        return Ok(());
    };
    Err(Error::invalid(
        &target.origin.file,
        format!(
            "line {}: service `{}`: `build.{field}` needs BuildKit, and this build uses the \
             classic builder",
            target.origin.line, target.service
        ),
    ))
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
    field("platform", target.platform(opts).unwrap_or(""));
    for (k, v) in &target.args {
        field("arg", k);
        field("=", v);
    }
    for (k, v) in target.extra.labels.iter().chain(&opts.labels) {
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
            extra: BuildExtra::default(),
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
