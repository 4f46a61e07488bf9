//! `kz verify-images [--stage S] [--platforms P,...] [--repo-version V]`: every image the stage's
//! catalogue names (`docker_images`, `extra_docker_images`, `image`; pinned digests as written)
//! is in its registry with an image for every platform. `kz publish --catalog-only` runs the same
//! check first. Reads registries only. Exit 1 when an image is missing or incomplete.

use super::build_registry::Layout;
use super::output::count;
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::oci::auth::CredentialStore;
use crate::oci::layers::LayerCache;
use crate::oci::RegistryOptions;
use crate::publish::images::Registries;
use crate::publish::pins;
use crate::registry::Catalogue;
use std::collections::BTreeSet;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The stage whose catalogue to check: dev, stage, prod (or one of kz.yaml).
    #[arg(long, default_value = "dev")]
    stage: String,
    /// The platforms every image must have, comma separated (as `kz publish` pushes them).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "linux/amd64,linux/arm64",
        value_name = "OS/ARCH,..."
    )]
    platforms: Vec<String>,
    /// The catalogue layout; default: kz.yaml `catalogue.repo_version`, else v2.
    #[arg(long, value_enum)]
    repo_version: Option<Layout>,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let stage = settings.require_stage(&args.stage)?;
    let opts = crate::registry::Options {
        stage,
        repo_version: super::build_registry::layout(args.repo_version, &settings),
        pins: None,
    };
    let catalogue = crate::registry::plan(&ws, &settings, &opts)?;
    let platforms = super::publish::image_options(stage.clone(), &args.platforms, false)?.platforms;
    let runtime = super::runtime()?;
    runtime.block_on(check(ctx, &catalogue, &platforms))?;
    ctx.out.done(
        "Verified",
        &format!(
            "stage {}: every image of the catalogue is in its registry for {}",
            stage.name,
            platforms.join(", ")
        ),
    );
    Ok(ExitStatus::Success)
}

/// Check every image `catalogue` names for `platforms`; each problem is printed, and any makes
/// the result [`Error::NotInRegistry`].
pub(crate) async fn check(
    ctx: &Context,
    catalogue: &Catalogue,
    platforms: &[String],
) -> Result<(), Error> {
    let mut refs: BTreeSet<String> = pins::named_images(&catalogue.apps_json);
    refs.extend(pins::named_images(&catalogue.tools_json));
    let mut registries = Registries::new(
        CredentialStore::from_env(&ctx.env),
        RegistryOptions::default(),
        LayerCache::default(),
    );
    let problems = pins::verify(&refs, platforms, &mut registries).await?;
    for p in &problems {
        ctx.out.data(&format!("missing  {p}"));
    }
    ctx.out.status(&format!(
        "checked {}: {}",
        count(refs.len(), "image"),
        if problems.is_empty() {
            "all present".to_owned()
        } else {
            count(problems.len(), "problem")
        }
    ));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::NotInRegistry { missing: problems })
    }
}
