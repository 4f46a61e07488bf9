//! `kz retarget [APP] [--registry HOST] [--ns NS]`: point a Synapse app at another registry
//! and/or namespace by rewriting `runtime.image` in its synapse-app.yaml (bytes otherwise
//! unchanged; `synapse::retarget`). The next `kz build` carries the new name and label.

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::synapse::{self, AppManifest};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true).multiple(true).args(["registry", "ns"])))]
pub(crate) struct Args {
    /// The app folder or `synapse/<slug>` (default: the app folder kz runs in, or CONTEXT).
    app: Option<String>,
    /// The new registry host, e.g. 127.0.0.1:5000.
    #[arg(long, value_name = "HOST[:PORT]")]
    registry: Option<String>,
    /// The new namespace, e.g. synapse_apps.
    #[arg(long, value_name = "NS")]
    ns: Option<String>,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let names: Vec<String> = args.app.iter().cloned().collect();
    let Some((dir, display)) = super::synapse_apps::app_dir(&names, ctx)? else {
        return Err(Error::Usage {
            message: match &args.app {
                Some(app) => format!("`{app}` is not a Synapse app folder (no synapse-app.yaml)"),
                None => "no synapse-app.yaml here; name the app folder".to_owned(),
            },
        });
    };
    let path = dir.join(synapse::FILE_NAME);
    let manifest = AppManifest::load(&path)?;
    let moved =
        synapse::retarget::retarget(&manifest, args.registry.as_deref(), args.ns.as_deref())?;
    if moved.old == moved.new {
        ctx.out.status(&format!(
            "{display}: runtime.image is {} already; nothing changed",
            moved.old
        ));
        return Ok(ExitStatus::Success);
    }
    crate::fsx::write_atomic(&path, &moved.bytes)?;
    ctx.out.done(
        "Retargeted",
        &format!("{display}: {} -> {}", moved.old, moved.new),
    );
    ctx.out
        .status("run `kz build` to build the image under its new name");
    Ok(ExitStatus::Success)
}
