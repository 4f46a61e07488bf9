//! `kz bump NAME major|minor|patch`.

use super::Context;
use crate::bump::{self, Level};
use crate::error::Error;
use crate::exit::ExitStatus;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The extension (folder name or type/name).
    name: String,
    /// Which part of MAJOR.MINOR.PATCH to raise.
    #[arg(value_enum, ignore_case = true)]
    level: LevelArg,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LevelArg {
    Major,
    Minor,
    Patch,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, _) = ctx.workspace()?;
    let ext = ws.find(&args.name)?;
    let level = match args.level {
        LevelArg::Major => Level::Major,
        LevelArg::Minor => Level::Minor,
        LevelArg::Patch => Level::Patch,
    };
    let (old, new) = bump::bump_file(&ext.file(crate::manifest::FILE_NAME), level)?;
    let (old, new) = (super::output::field(&old), super::output::field(&new));
    ctx.out.data(&format!("{old} -> {new}"));
    ctx.out.note(&format!(
        "run `kz sync-compose {}` to carry the new tag into the App Garden file",
        ext.dir_name
    ));
    Ok(ExitStatus::Success)
}
