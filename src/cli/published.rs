//! `kz published --stage S [--json]` (what a stage's bucket holds: name, version,
//! kamiwaza_version, images, pinned or not) and `kz download-registry --stage S --out DIR` (its
//! catalogue files and previews as a registry folder `serve-registry` and `package` read, when
//! DIR is build/kamiwaza-extension-registry). Both read the bucket only (no lock).

use super::build_registry::Layout;
use super::output::count;
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::publish::catalog::remote::{self, Summary};
use crate::publish::catalog::{Store, Target};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct PublishedArgs {
    /// The stage: dev, stage, prod (kz.yaml `stages` defines more).
    #[arg(long, default_value = "dev")]
    stage: String,
    /// The catalogue layout; default: kz.yaml `catalogue.repo_version`, else v2.
    #[arg(long, value_enum)]
    repo_version: Option<Layout>,
    /// Print the entries as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DownloadArgs {
    /// The stage: dev, stage, prod (kz.yaml `stages` defines more).
    #[arg(long, default_value = "dev")]
    stage: String,
    /// The catalogue layout; default: kz.yaml `catalogue.repo_version`, else v2.
    #[arg(long, value_enum)]
    repo_version: Option<Layout>,
    /// The folder to create (it must not exist); build/kamiwaza-extension-registry is the one
    /// `kz serve-registry` and `kz package` read.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

async fn connect(ctx: &Context, stage: &str, layout: Option<Layout>) -> Result<Target, Error> {
    let (_, settings) = ctx.workspace()?;
    let stage = settings.require_stage(stage)?;
    Target::resolve(
        &settings,
        &stage.name,
        super::build_registry::layout(layout, &settings),
    )
}

pub(crate) fn published(args: &PublishedArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    super::runtime()?.block_on(async {
        let target = connect(ctx, &args.stage, args.repo_version).await?;
        let store = Store::connect(&target).await?;
        let fetched = remote::fetch(&store, &target, false).await?;
        let entries = remote::summarize(&fetched, &target.url())?;
        if args.json {
            ctx.out
                .data(&serde_json::to_string_pretty(&entries).unwrap_or_default());
        } else {
            for e in &entries {
                ctx.out.data(&line(e));
            }
        }
        ctx.out.status(&format!(
            "{} (stage {}): {}",
            target.url(),
            target.stage,
            count(entries.len(), "entry")
        ));
        Ok(ExitStatus::Success)
    })
}

fn line(e: &Summary) -> String {
    format!(
        "{}  {} {}  kamiwaza {}  {} of {} pinned  {}",
        e.file,
        e.name,
        e.version,
        e.kamiwaza_version.as_deref().unwrap_or("-"),
        e.pinned,
        e.images.len(),
        e.images.join(" ")
    )
}

pub(crate) fn download(args: &DownloadArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let out = ctx.cwd.join(&args.out);
    super::runtime()?.block_on(async {
        let target = connect(ctx, &args.stage, args.repo_version).await?;
        let store = Store::connect(&target).await?;
        let fetched = remote::fetch(&store, &target, true).await?;
        if fetched.files.is_empty() {
            return Err(Error::Published {
                url: target.url(),
                message: "no catalogue is published there".to_owned(),
            });
        }
        // Checked before anything is written: the files must be catalogues.
        remote::summarize(&fetched, &target.url())?;
        let garden = format!("garden/{}", target.layout.garden_dir());
        let images = target.layout.images_dir();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for (name, bytes) in &fetched.files {
            files.push((format!("{garden}/{name}"), bytes.clone()));
        }
        for (name, bytes) in &fetched.previews {
            files.push((format!("{garden}/{images}/{name}"), bytes.clone()));
        }
        crate::fsx::create_dir_whole(&out, files)?;
        ctx.out.done(
            "Downloaded",
            &format!(
                "{} into {} ({}, {})",
                target.url(),
                out.display(),
                count(fetched.files.len(), "catalogue file"),
                count(fetched.previews.len(), "preview")
            ),
        );
        Ok(ExitStatus::Success)
    })
}
