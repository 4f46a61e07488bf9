//! `kz inspect [IMAGE] [--remote] [--json]` (in an app folder, IMAGE defaults to its
//! `runtime.image`) and `kz index REGISTRY [--repo R...] [--out FILE]`:
//! the Synapse manifest label of one image (local engine or registry), and an App Store style
//! index of a whole registry.

use super::output::count;
use super::Context;
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::oci::auth::CredentialStore;
use crate::oci::{Registry, RegistryOptions};
use crate::synapse::remote::{self, BlobCache, IndexOptions, RemoteApp};
use crate::synapse::{label, lint, Target, LABEL};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The image: a local engine image, or with --remote `<registry>/<repo>:<tag>` (default:
    /// the runtime.image of the app folder kz runs in, or CONTEXT).
    image: Option<String>,
    /// Read the image from its registry (manifest, config blob) instead of the engine.
    #[arg(long)]
    remote: bool,
    /// Print everything as JSON instead of the manifest's text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct IndexArgs {
    /// The registry host, e.g. registry.local.datamaker.io or 127.0.0.1:5000.
    registry: String,
    /// Repositories to read (default: every `<NS>/…` repository of /v2/_catalog).
    #[arg(long = "repo", value_name = "REPO")]
    repos: Vec<String>,
    /// Write the index here (default: stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Where config blobs are cached by digest (default: $XDG_CACHE_HOME/kz/synapse-blobs or
    /// ~/.cache/kz/synapse-blobs).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Fetch every config blob, and keep none.
    #[arg(long)]
    no_cache: bool,
    /// Requests in flight.
    #[arg(long, default_value_t = 8, value_name = "N")]
    jobs: usize,
}

fn registry(host: &str, ctx: &Context) -> Result<Registry, Error> {
    let credential = CredentialStore::from_env(&ctx.env).lookup(host)?;
    Registry::new(host, &credential, &RegistryOptions::default())
}

pub(crate) fn inspect(args: &InspectArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let target = Target::from_env(&ctx.env);
    let image = match &args.image {
        Some(image) => image.clone(),
        None => {
            let Some((dir, _)) = super::synapse_apps::app_dir(&[], ctx)? else {
                return Err(Error::Usage {
                    message: "no synapse-app.yaml here; name the image".to_owned(),
                });
            };
            let manifest = crate::synapse::AppManifest::load(&dir.join(crate::synapse::FILE_NAME))?;
            manifest
                .image()
                .ok_or_else(|| Error::invalid(&manifest.path, "runtime.image is missing"))?
                .to_owned()
        }
    };
    let app = super::runtime()?.block_on(async {
        if args.remote {
            let parsed = crate::imageref::ImageRef::parse(&image);
            let Some(host) = parsed.registry.clone() else {
                return Err(Error::Usage {
                    message: format!(
                        "`{}` names no registry; write <registry>/<repo>:<tag>",
                        image
                    ),
                });
            };
            let reference = parsed
                .digest
                .clone()
                .or(parsed.tag.clone())
                .unwrap_or_else(|| "latest".to_owned());
            let registry = registry(&host, ctx)?;
            let cache = BlobCache::new(None);
            remote::read(&registry, &parsed.repository, &reference, &cache, &target)
                .await?
                .ok_or_else(|| Error::Usage {
                    message: format!("{} has no image `{}`", host, image),
                })
        } else {
            let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
            local(&engine, &image, &target).await
        }
    })?;
    if args.json {
        ctx.out
            .data(&serde_json::to_string_pretty(&app).unwrap_or_default());
    } else if let Some(text) = &app.manifest {
        ctx.out.raw(text);
    }
    if let Some(problem) = &app.problem {
        return Err(Error::Usage {
            message: format!("{}: {problem}", app.image),
        });
    }
    for f in &app.findings {
        let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
        ctx.out.status(&format!(
            "label{line}: {}[{}]: {}",
            ctx.out.styled(f.severity),
            f.rule,
            f.message
        ));
    }
    Ok(if app.is_valid() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The label of an engine image, as a [`RemoteApp`].
async fn local(engine: &Engine, image: &str, target: &Target) -> Result<RemoteApp, Error> {
    let inspect = engine
        .docker()
        .inspect_image(image)
        .await
        .map_err(|e| match e {
            e if crate::docker::is_not_found(&e) => Error::Usage {
                message: format!(
                    "no image `{image}` in the engine (use --remote to read a registry)"
                ),
            },
            other => crate::docker::engine_error(format!("inspect image {image}"), other),
        })?;
    let id = inspect.id.clone().unwrap_or_default();
    let mut app = RemoteApp {
        image: image.to_owned(),
        repository: String::new(),
        tag: String::new(),
        digest: id.clone(),
        manifest_digest: id.clone(),
        config_digest: id,
        platform: format!(
            "{}/{}",
            inspect.os.clone().unwrap_or_default(),
            inspect.architecture.clone().unwrap_or_default()
        ),
        manifest: None,
        encoding: None,
        slug: None,
        version: None,
        problem: None,
        findings: Vec::new(),
    };
    let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
    let Some(value) = labels.get(LABEL) else {
        app.problem = Some(format!("no {LABEL} label"));
        return Ok(app);
    };
    let (bytes, encoding) = label::decode(value);
    app.encoding = Some(encoding);
    match crate::synapse::AppManifest::from_bytes(std::path::Path::new(image), bytes.clone()) {
        Ok(m) => {
            app.slug = m.name().map(str::to_owned);
            app.version = m.version().map(str::to_owned);
            app.manifest = Some(String::from_utf8_lossy(m.bytes()).into_owned());
            app.findings = lint::check_bytes(&bytes, image, image, target);
        }
        Err(e) => app.problem = Some(format!("the {LABEL} label holds no manifest: {e}")),
    }
    Ok(app)
}

fn default_cache(ctx: &Context) -> Option<PathBuf> {
    let base = ctx
        .env
        .get("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            ctx.env
                .get("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("kz/synapse-blobs"))
}

pub(crate) fn index(args: &IndexArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let target = Target::from_env(&ctx.env);
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache.clone().or_else(|| default_cache(ctx))
    };
    let cache = BlobCache::new(cache_dir);
    let opts = IndexOptions {
        repos: args.repos.clone(),
        concurrency: args.jobs,
    };
    let host = args.registry.trim_end_matches('/').to_owned();
    let started = std::time::Instant::now();
    let index = super::runtime()?.block_on(async {
        let registry = registry(&host, ctx)?;
        remote::index(&registry, &target, &opts, &cache).await
    })?;
    for r in &index.rejected {
        let why = r.problem.clone().unwrap_or_else(|| {
            let errors: Vec<&str> = r
                .findings
                .iter()
                .filter(|f| f.severity == crate::validate::Severity::Error)
                .map(|f| f.rule)
                .collect();
            format!("the manifest has errors ({})", errors.join(", "))
        });
        ctx.out.warn(&format!("{}: {why}", r.image));
    }
    let json = serde_json::to_string_pretty(&index).unwrap_or_default() + "\n";
    match &args.out {
        Some(path) => {
            crate::fsx::write_atomic(path, json.as_bytes())?;
            ctx.out.done("Wrote", &path.display().to_string());
        }
        None => ctx.out.raw(&json),
    }
    ctx.out.status(&format!(
        "{} ({}), {} left out, in {} of {} ({} config blobs fetched, {} from the cache) in \
         {:.2} s",
        count(
            index
                .apps
                .iter()
                .map(|a| a.repository.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            "app"
        ),
        count(index.apps.len(), "tag"),
        count(index.rejected.len(), "image"),
        count(index.images, "image"),
        count(index.repositories, "repository"),
        cache.fetched.load(std::sync::atomic::Ordering::Relaxed),
        cache.hits.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    ));
    Ok(ExitStatus::Success)
}
