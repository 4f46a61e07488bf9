//! `kz plan --stage S [--json]`: what `kz publish --stage S` would change against what is
//! published for that stage (catalogue entries added, updated, unchanged, published but not
//! local, conflicts; previews to upload), reading the bucket only. Exit 1 when the publish
//! would be refused (conflicts).

use super::publish_catalog::{self, CatalogArgs};
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::publish::catalog;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The stage: dev, stage, prod (kz.yaml `stages` defines more).
    #[arg(long, default_value = "dev")]
    stage: String,
    /// Print the plan as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Plan as `kz publish --force` would (conflicting entries replaced).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    catalog: CatalogArgs,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })?;
    runtime.block_on(async {
        let p = publish_catalog::prepare(ctx, &ws, &settings, &args.stage, &args.catalog).await?;
        let plan = catalog::plan(&p.store, &p.target, &p.local, args.force).await?;
        if args.json {
            let value = serde_json::json!({ "catalogue": plan });
            ctx.out
                .data(&serde_json::to_string_pretty(&value).unwrap_or_default());
        } else {
            publish_catalog::print_plan(ctx, &plan);
        }
        Ok(if plan.conflicts() > 0 {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        })
    })
}
