//! `kz clean [--deps | --all | --dist] [--dry-run]`.

use super::output::count;
use super::Context;
use crate::clean::{self, Scope};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::workspace::Workspace;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").multiple(false)))]
pub(crate) struct Args {
    /// Only dependencies: node_modules/ folders and the root .venv/.
    #[arg(long, group = "scope")]
    deps: bool,
    /// Build artifacts and dependencies (everything but dist/).
    #[arg(long, group = "scope")]
    all: bool,
    /// Everything, including the packages in dist/.
    #[arg(long, group = "scope")]
    dist: bool,
    /// List what would be removed; remove nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let ws = Workspace::discover(&ctx.cwd)?;
    let scope = match (args.deps, args.all, args.dist) {
        (true, _, _) => Scope::Deps,
        (_, true, _) => Scope::All,
        (_, _, true) => Scope::Dist,
        _ => Scope::Build,
    };
    let targets = clean::plan(&ws.root, scope);
    for t in &targets {
        let rel = t
            .path
            .strip_prefix(&ws.root)
            .unwrap_or(&t.path)
            .display()
            .to_string();
        ctx.out
            .data(&if t.is_dir { format!("{rel}/") } else { rel });
    }
    let total: u64 = targets.iter().map(|t| t.bytes).sum();
    let size = human(total);
    if args.dry_run {
        ctx.out.status(&format!(
            "would remove {}, {size}",
            count(targets.len(), "item")
        ));
    } else {
        clean::remove(&targets)?;
        ctx.out.done(
            "Removed",
            &format!("{}, {size}", count(targets.len(), "item")),
        );
    }
    Ok(ExitStatus::Success)
}

#[allow(clippy::cast_precision_loss)]
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
