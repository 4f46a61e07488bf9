//! `kz publish [NAME...] --stage S [--platforms P,...] [--images-only|--catalog-only] [--dry-run]
//! [--force] [--lock-timeout SECS] [--repo-version v1|v2|v3] [--pin|--no-pin] [--pin-external]`:
//! push the stage's images (skipping those the registry holds already), then the catalogue,
//! its kz-built images pinned to the pushed digests for v3 (or with `--pin`) (`publish_catalog.rs`: merged with the
//! published one under a lock). `--dry-run` prints what would be pushed, skipped and changed, and
//! writes nothing anywhere. The catalogue goes last, so it never names a missing image.
//! In a Synapse app folder (or naming one), it pushes the app's `<version>` and `latest` tags
//! instead (`synapse_publish`).

use super::output::count;
use super::publish_catalog::{self, CatalogArgs};
use super::Context;
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::oci::auth::CredentialStore;
use crate::oci::layers::LayerCache;
use crate::oci::RegistryOptions;
use crate::publish::images::{self, Action, ImagePlan, Options, PushEvent, Registries};
use crate::registry::Pins;
use crate::settings::Settings;
use crate::workspace::Workspace;

/// Which compressed blob each pushed layer became (a cache; `kz clean` removes it with build/).
const LAYER_CACHE: &str = "build/kz-publish/layers.json";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions to publish (folder name or type/name), or one Synapse app folder; default: the
    /// current extension or app, else all.
    names: Vec<String>,
    /// The stage: dev, stage, prod (kz.yaml `stages` defines more) [default: dev]. Not for a
    /// Synapse app.
    #[arg(long, value_name = "STAGE")]
    stage: Option<String>,
    /// Platforms to build and push, comma separated [default: linux/amd64,linux/arm64]. Not
    /// for a Synapse app.
    #[arg(long, value_delimiter = ',', value_name = "OS/ARCH,...")]
    platforms: Option<Vec<String>>,
    /// Push the images only, not the catalogue.
    #[arg(long, conflicts_with = "catalog_only")]
    images_only: bool,
    /// Upload the catalogue only, not the images (after checking, as `kz verify-images` does,
    /// that every image it names is in its registry for every platform).
    #[arg(long)]
    catalog_only: bool,
    /// With --catalog-only: skip that image check.
    #[arg(long, requires = "catalog_only")]
    no_verify_images: bool,
    /// Print what would be pushed or skipped; push and upload nothing.
    #[arg(long)]
    dry_run: bool,
    /// Push images even when the registry has the same content under the tag, and replace
    /// conflicting published catalogue entries (downgrades, a published version with other
    /// content, narrowed or partly overlapping kamiwaza_version ranges).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    catalog: CatalogArgs,
    #[command(flatten)]
    scope: super::scope::Scope,
}

/// The stage when `--stage` is not given.
const DEFAULT_STAGE: &str = "dev";
/// The platforms when `--platforms` is not given.
const DEFAULT_PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    // In (or naming) a Synapse app folder: push the app's two tags (or, with --dry-run, say
    // which). The extension flags do not apply there: given, they are an error.
    if let Some((dir, display)) = super::synapse_apps::app_dir(&args.names, ctx)? {
        let given: Vec<&str> = [
            ("--stage", args.stage.is_some()),
            ("--platforms", args.platforms.is_some()),
            ("--force", args.force),
            ("--images-only", args.images_only),
            ("--catalog-only", args.catalog_only),
            ("--repo-version", args.catalog.repo_version.is_some()),
            ("--lock-timeout", args.catalog.lock_timeout.is_some()),
            ("--pin", args.catalog.pin),
            ("--no-pin", args.catalog.no_pin),
            ("--pin-external", args.catalog.pin_external),
            ("--no-verify-images", args.no_verify_images),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        if !given.is_empty() {
            return Err(Error::Usage {
                message: format!(
                    "{} {} not apply to a Synapse app ({display}): it is published as its \
                     runtime.image and :latest; only --dry-run does",
                    given.join(", "),
                    if given.len() == 1 { "does" } else { "do" }
                ),
            });
        }
        return super::synapse_publish::publish(&dir, &display, args.dry_run, ctx);
    }
    let (ws, settings) = ctx.workspace()?;
    let stage_name = args.stage.as_deref().unwrap_or(DEFAULT_STAGE);
    let stage = settings.require_stage(stage_name)?.clone();
    let platforms = args
        .platforms
        .clone()
        .unwrap_or_else(|| DEFAULT_PLATFORMS.iter().map(|p| (*p).to_owned()).collect());
    let opts = image_options(stage, &platforms, args.force)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        // The catalogue is built and its bucket settings checked before any image is pushed,
        // so a validation error or a missing AWS profile stops the publish before it starts.
        let catalogue = if args.images_only {
            None
        } else {
            Some(publish_catalog::prepare(ctx, &ws, &settings, stage_name, &args.catalog).await?)
        };
        let mut known = Pins::new();
        if !args.catalog_only {
            known = publish_images(args, ctx, &ws, &settings, &opts).await?;
        }
        match catalogue {
            Some(mut prepared) => {
                if args.dry_run {
                    publish_catalog::repin_for_plan(ctx, &mut prepared, &ws, &settings).await?;
                } else {
                    publish_catalog::repin(ctx, &mut prepared, &ws, &settings, &known).await?;
                    if args.catalog_only && !args.no_verify_images {
                        super::verify_images::check(ctx, &prepared.local, &opts.platforms).await?;
                    }
                }
                publish_catalog::run_publish(ctx, prepared, &args.catalog, args.dry_run, args.force)
                    .await
            }
            None => Ok(ExitStatus::Success),
        }
    })
}

/// Push (or skip) the images; the digest each tag resolves to now, for those it knows.
async fn publish_images(
    args: &Args,
    ctx: &Context,
    ws: &Workspace,
    settings: &Settings,
    opts: &Options,
) -> Result<Pins, Error> {
    let (plans, mut registries) =
        plan_images(ctx, ws, settings, &args.names, &args.scope, opts).await?;
    let mut known = Pins::new();
    if args.dry_run {
        print_image_plan(ctx, &plans, opts);
        return Ok(known);
    }
    let to_push = plans.iter().filter(|p| p.action == Action::Push).count();
    let skipped = plans.len() - to_push;
    let engine = if to_push > 0 {
        Some(Engine::connect(&EngineConfig::from_env(&ctx.env)).await?)
    } else {
        None
    };
    let out = ctx.out;
    let on_event = move |e: PushEvent| match e {
        PushEvent::Building {
            reference,
            platform,
        } => out.status(&format!("  Building {reference} for {platform}")),
        PushEvent::Build(crate::build::BuildEvent::Step {
            number,
            total,
            text,
        }) => out.status(&out.dim(&format!("    step {number}/{total}: {text}"))),
        PushEvent::Build(_) => {}
        PushEvent::Pushed { reference, image } => out.done(
            "Pushed",
            &format!(
                "{reference} {} {} ({}, {} bytes uploaded)",
                image.platform,
                image.digest,
                count(image.uploaded_blobs, "new blob"),
                image.uploaded_bytes
            ),
        ),
        PushEvent::Indexed { reference, digest } => {
            out.done("Indexed", &format!("{reference} {digest}"))
        }
    };
    for p in &plans {
        match (p.action, &engine) {
            (Action::Skip, _) | (_, None) => {
                ctx.out
                    .done("Skipped", &format!("{}: {}", p.reference, p.reason));
                if let Some(d) = &p.remote_digest {
                    ctx.out.data(&format!("{}@{d}", p.reference));
                    known.insert(p.reference.clone(), d.clone());
                }
            }
            (Action::Push, Some(engine)) => {
                let pushed =
                    images::push(engine, p, &opts.platforms, &mut registries, &on_event).await?;
                ctx.out
                    .data(&format!("{}@{}", pushed.reference, pushed.digest));
                known.insert(pushed.reference, pushed.digest);
            }
        }
    }
    if let Err(e) = registries.layers.save() {
        ctx.out.warn(&format!("the layer cache was not saved: {e}"));
    }
    let retries = registries.retries();
    ctx.out.status(&format!(
        "stage {}: pushed {}, skipped {}{}",
        opts.stage.name,
        count(to_push, "image"),
        skipped,
        if retries > 0 {
            format!(" ({} retried)", count(retries as usize, "request"))
        } else {
            String::new()
        }
    ));
    Ok(known)
}

/// The images step's options: the stage, the platforms (checked), `--force`.
pub(crate) fn image_options(
    stage: crate::settings::Stage,
    platforms: &[String],
    force: bool,
) -> Result<Options, Error> {
    Ok(Options {
        stage,
        platforms: check_platforms(platforms)?,
        force,
        registry: RegistryOptions::default(),
    })
}

/// What the images step would do for the extensions `names` select (reads the registries,
/// writes nothing); the clients come back for the push. `kz plan` shows the same list.
pub(crate) async fn plan_images(
    ctx: &Context,
    ws: &Workspace,
    settings: &Settings,
    names: &[String],
    scope: &super::scope::Scope,
    opts: &Options,
) -> Result<(Vec<ImagePlan>, Registries), Error> {
    let chosen = scope.apply(ctx, ws, settings, ws.select(names)?)?;
    let mut registries = Registries::new(
        CredentialStore::from_env(&ctx.env),
        opts.registry.clone(),
        LayerCache::at(&ws.root.join(LAYER_CACHE)),
    );
    let plans = images::plan(&ws.root, &chosen, settings, opts, &mut registries).await?;
    Ok((plans, registries))
}

/// `push  <image>  <why>` / `skip  <image>  <why>` on stdout, a count on stderr.
pub(crate) fn print_image_plan(ctx: &Context, plans: &[ImagePlan], opts: &Options) {
    for p in plans {
        ctx.out.data(&plan_line(p));
    }
    let to_push = plans.iter().filter(|p| p.action == Action::Push).count();
    ctx.out.status(&format!(
        "images, stage {}: {} to push ({}), {} to skip; nothing was pushed",
        opts.stage.name,
        count(to_push, "image"),
        opts.platforms.join(", "),
        plans.len() - to_push
    ));
}

fn plan_line(p: &ImagePlan) -> String {
    let action = match p.action {
        Action::Push => "push",
        Action::Skip => "skip",
    };
    format!("{action}  {}  {}", p.reference, p.reason)
}

/// `os/arch[/variant]`, lower case, each once, in the order given.
fn check_platforms(given: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for p in given {
        let p = p.trim();
        let parts: Vec<&str> = p.split('/').collect();
        let ok = (2..=3).contains(&parts.len())
            && parts.iter().all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if !ok {
            return Err(Error::BadArgument {
                message: format!("`{p}` is not a platform"),
                hint: "write platforms as os/arch[/variant], e.g. linux/amd64,linux/arm64".into(),
            });
        }
        if !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    }
    if out.is_empty() {
        return Err(Error::BadArgument {
            message: "no platform given".into(),
            hint: "e.g. --platforms linux/amd64,linux/arm64".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_checked_and_deduplicated() {
        let given = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_platforms(&given(&["linux/amd64", "linux/arm64", "linux/amd64"])).expect("ok"),
            ["linux/amd64", "linux/arm64"]
        );
        assert_eq!(
            check_platforms(&given(&["linux/arm/v7"])).expect("ok"),
            ["linux/arm/v7"]
        );
        for bad in ["amd64", "linux/", "Linux/amd64", "linux/amd64/v1/x"] {
            assert!(check_platforms(&given(&[bad])).is_err(), "{bad}");
        }
    }
}
