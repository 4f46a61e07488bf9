//! `kz publish` for a Synapse app folder: the image `kz build` made is pushed under
//! `<REGISTRY>/<NS>/<slug>:<version>` and `:latest`, and kz prints what publish.sh prints. It
//! refuses while the manifest has errors, and when the local image's label is not the manifest
//! as it is now (build first).

use super::Context;
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::oci::auth::CredentialStore;
use crate::oci::{Registry, RegistryOptions};
use crate::synapse::{self, Target};
use std::path::Path;

pub(crate) fn publish(dir: &Path, display: &str, ctx: &Context) -> Result<ExitStatus, Error> {
    let target = Target::from_env(&ctx.env);
    let app = match synapse::build::plan(dir, display, &target) {
        Ok(app) => app,
        Err(err) => {
            if let Error::ValidationFailed { report } = &err {
                super::validate::print_text(ctx, report);
            }
            return Err(err);
        }
    };
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
        let built = synapse::run::image_manifest(&engine, &app.reference).await?;
        if built.bytes() != app.manifest.bytes() {
            return Err(Error::Usage {
                message: format!(
                    "the image {} carries another synapse-app.yaml than {display}; run `kz build` first",
                    app.reference
                ),
            });
        }
        let credential = CredentialStore::from_env(&ctx.env).lookup(&target.registry)?;
        let registry = Registry::new(&target.registry, &credential, &RegistryOptions::default())?;
        ctx.out.status(&format!("Pushing {} and :latest", app.reference));
        let pushed = synapse::publish::push(&engine, &registry, &app).await?;
        let repository = app.reference.rsplit_once(':').map_or("", |(r, _)| r);
        let version = app.manifest.version().unwrap_or_default();
        ctx.out.data(&format!("published {repository}:{{{version},latest}}"));
        if let Some(first) = pushed.first() {
            ctx.out.status(&format!("digest {}", first.digest));
        }
        Ok(ExitStatus::Success)
    })
}
