//! `kz publish [--dry-run]` for a Synapse app folder: the image `kz build` made is pushed as
//! `runtime.image` (`<registry>/<ns>/<slug>:<version>`) and `:latest`, and kz prints what
//! publish.sh prints. It refuses while the manifest has errors, and when the local image's
//! label is not the manifest as it is now (build first). `--dry-run` checks the same and says
//! what would be pushed; it writes nothing anywhere (no registry is contacted).

use super::Context;
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::oci::auth::CredentialStore;
use crate::oci::{Registry, RegistryOptions};
use crate::synapse;
use std::path::Path;

pub(crate) fn publish(
    dir: &Path,
    display: &str,
    dry_run: bool,
    ctx: &Context,
) -> Result<ExitStatus, Error> {
    let app = super::synapse_apps::plan(dir, display, ctx)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
        synapse::run::check_current(&engine, &app.reference, &app.manifest, display).await?;
        let repository = app.reference.rsplit_once(':').map_or("", |(r, _)| r);
        let version = app.manifest.version().unwrap_or_default();
        if dry_run {
            ctx.out.data(&format!(
                "would publish {repository}:{{{version},latest}} to {}",
                app.registry
            ));
            ctx.out.status("dry run: nothing was pushed");
            return Ok(ExitStatus::Success);
        }
        let credential = CredentialStore::from_env(&ctx.env).lookup(&app.registry)?;
        let registry = Registry::new(&app.registry, &credential, &RegistryOptions::default())?;
        ctx.out
            .status(&format!("Pushing {} and :latest", app.reference));
        let pushed = synapse::publish::push(&engine, &registry, &app).await?;
        ctx.out
            .data(&format!("published {repository}:{{{version},latest}}"));
        if let Some(first) = pushed.first() {
            ctx.out.status(&format!("digest {}", first.digest));
        }
        Ok(ExitStatus::Success)
    })
}
