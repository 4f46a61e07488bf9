//! `kz plan [NAME...] --stage S [--platforms P,...] [--images-only|--catalog-only] [--json]`:
//! what `kz publish --stage S` would change against what is published for that stage — images
//! to push or skip (the registry's content-hash labels against a build's now), then catalogue
//! entries added, updated, unchanged, published but not local, conflicts and previews to upload.
//! It reads the registries and the bucket only. Exit 1 when the publish would be refused
//! (catalogue conflicts).

use super::publish::{image_options, plan_images, print_image_plan};
use super::publish_catalog::{self, CatalogArgs};
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::publish::catalog;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions whose images to plan (folder name or type/name); default: the current
    /// extension, else all. The catalogue plan always covers the whole workspace.
    names: Vec<String>,
    /// The stage: dev, stage, prod (kz.yaml `stages` defines more).
    #[arg(long, default_value = "dev")]
    stage: String,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Plan as `kz publish --force` would (conflicting entries replaced).
    #[arg(long)]
    force: bool,
    /// Platforms the images would be built and pushed for, comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "linux/amd64,linux/arm64",
        value_name = "OS/ARCH,..."
    )]
    platforms: Vec<String>,
    /// Plan the images only, not the catalogue.
    #[arg(long, conflicts_with = "catalog_only")]
    images_only: bool,
    /// Plan the catalogue only, not the images.
    #[arg(long)]
    catalog_only: bool,
    #[command(flatten)]
    catalog: CatalogArgs,
    #[command(flatten)]
    scope: super::scope::Scope,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let mut value = serde_json::Map::new();
        if !args.catalog_only {
            let stage = settings.require_stage(&args.stage)?.clone();
            let opts = image_options(stage, &args.platforms, args.force)?;
            let (plans, _) =
                plan_images(ctx, &ws, &settings, &args.names, &args.scope, &opts).await?;
            if args.json {
                value.insert("images".to_owned(), serde_json::json!(plans));
            } else {
                print_image_plan(ctx, &plans, &opts);
            }
        }
        let mut status = ExitStatus::Success;
        if !args.images_only {
            let mut p =
                publish_catalog::prepare(ctx, &ws, &settings, &args.stage, &args.catalog).await?;
            publish_catalog::repin_for_plan(ctx, &mut p, &ws, &settings).await?;
            let plan = catalog::plan(&p.store, &p.target, &p.local, args.force).await?;
            if plan.conflicts() > 0 {
                status = ExitStatus::Failure;
            }
            if args.json {
                value.insert("catalogue".to_owned(), serde_json::json!(plan));
            } else {
                publish_catalog::print_plan(ctx, &plan);
            }
        }
        if args.json {
            ctx.out.data(
                &serde_json::to_string_pretty(&serde_json::Value::Object(value))
                    .unwrap_or_default(),
            );
        }
        Ok(status)
    })
}
