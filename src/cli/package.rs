//! `kz package [--out DIR]`: build/kamiwaza-extension-registry/ as
//! `<out>/kamiwaza-registry-YYYYMMDD-HHMMSS.tar.gz` (local time in the name only).

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::package;
use crate::workspace::Workspace;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to write the archive (default: dist/ at the workspace root).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let ws = Workspace::discover(&ctx.cwd)?;
    let registry = ws.root.join(crate::registry::OUTPUT_DIR);
    if !registry.is_dir() {
        ctx.out
            .note("no registry built yet; running `kz build-registry` (stage dev, v2) first");
        let status = super::build_registry::run_default(ctx)?;
        if status != ExitStatus::Success {
            return Ok(status);
        }
    }
    let out = args
        .out
        .as_ref()
        .map_or_else(|| ws.root.join("dist"), |o| ctx.cwd.join(o));
    let stamp = jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string();
    let archive = out.join(format!("kamiwaza-registry-{stamp}.tar.gz"));
    let packed = package::pack(&registry, crate::registry::OUTPUT_NAME, &archive)?;
    for s in &packed.skipped {
        ctx.out.warn(&format!("left out {}: {}", s.path, s.reason));
    }
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    ctx.out.done(
        "Packed",
        &format!(
            "{} files ({} bytes) into {} bytes",
            packed.files, packed.bytes, size
        ),
    );
    ctx.out.data(&archive.display().to_string());
    ctx.out.status(&format!(
        "extract with: tar -xzf {} -C <dir>",
        archive.display()
    ));
    Ok(ExitStatus::Success)
}
