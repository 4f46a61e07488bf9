//! `kz promote NAME... --from S --to T [--dry-run] [--force] [--repo-version V]`: the named
//! extensions' images put under T's tags by manifest copy (same digests, no layer data moved;
//! `publish::promote`), then T's catalogue entries for them published pinned to those digests
//! (merged under the lock like `kz publish`). `--dry-run` reads both and writes nothing.

use super::publish_catalog::{self, CatalogArgs};
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::oci::auth::CredentialStore;
use crate::oci::layers::LayerCache;
use crate::oci::RegistryOptions;
use crate::publish::images::Registries;
use crate::publish::{pins, promote};
use crate::registry::{self, Options, Pins};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions to promote (folder name or type/name).
    #[arg(required = true)]
    names: Vec<String>,
    /// The stage whose images are promoted.
    #[arg(long, value_name = "STAGE")]
    from: String,
    /// The stage they are promoted to.
    #[arg(long, value_name = "STAGE")]
    to: String,
    /// Print the copies and the catalogue plan; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Replace conflicting published entries of the target stage.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    catalog: CatalogArgs,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let from = settings.require_stage(&args.from)?.clone();
    let to = settings.require_stage(&args.to)?.clone();
    let chosen = ws.select(&args.names)?;
    let pairs = promote::pairs(&ws.root, &chosen, &settings, &from, &to)?;
    super::runtime()?.block_on(async {
        let mut prepared =
            publish_catalog::prepare(ctx, &ws, &settings, &to.name, &args.catalog).await?;
        let mut registries = Registries::new(
            CredentialStore::from_env(&ctx.env),
            RegistryOptions::default(),
            LayerCache::default(),
        );
        let copies = promote::copy(&pairs, &mut registries, args.dry_run).await?;
        let verb = if args.dry_run { "copy" } else { "copied" };
        let mut known = Pins::new();
        for c in &copies {
            ctx.out
                .data(&format!("{verb}  {}@{} -> {}", c.from, c.digest, c.to));
            known.insert(c.to.clone(), c.digest.clone());
        }
        let mut opts = Options {
            stage: &to,
            repo_version: prepared.target.layout,
            pins: None,
        };
        let unpinned = registry::plan_only(&ws, &settings, &opts, &chosen)?;
        let pinned = if args.dry_run {
            // The target tags do not hold the digests yet: the source digests stand in.
            known.clone()
        } else {
            pins::for_catalogue(
                &ws,
                &settings,
                &to,
                &unpinned,
                &known,
                args.catalog.pin_external,
                &mut registries,
            )
            .await?
        };
        opts.pins = Some(&pinned);
        prepared.local = registry::plan_only(&ws, &settings, &opts, &chosen)?;
        publish_catalog::run_publish(ctx, prepared, &args.catalog, args.dry_run, args.force).await
    })
}
