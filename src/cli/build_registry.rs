//! `kz build-registry [--stage NAME] [--repo-version v1|v2]`.

use super::output::count;
use super::Context;
use crate::compose::NoteLevel;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::registry::{self, Options, RepoVersion, OUTPUT_DIR};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The stage whose image tags the catalogue carries: dev, stage, prod (or one of kz.yaml).
    #[arg(long, default_value = "dev", value_name = "STAGE")]
    stage: String,
    /// The catalogue layout: v2 (garden/v2, images/) or v1 (garden/default, app-garden-images/).
    #[arg(long, value_enum, default_value_t = Layout::V2)]
    repo_version: Layout,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Layout {
    V1,
    V2,
}

impl Layout {
    pub(crate) fn repo_version(self) -> RepoVersion {
        match self {
            Layout::V1 => RepoVersion::V1,
            Layout::V2 => RepoVersion::V2,
        }
    }
}

/// Build with the defaults (stage dev, layout v2), as `kz package` does when nothing is built yet.
pub(crate) fn run_default(ctx: &Context) -> Result<ExitStatus, Error> {
    run(
        &Args {
            stage: "dev".to_owned(),
            repo_version: Layout::V2,
        },
        ctx,
    )
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let stage = settings.require_stage(&args.stage)?;
    let repo_version = args.repo_version.repo_version();
    let opts = Options {
        stage,
        repo_version,
    };
    let catalogue = match registry::build(&ws, &settings, &opts) {
        Ok(catalogue) => catalogue,
        Err(err) => {
            if let Error::ValidationFailed { report } = &err {
                super::validate::print_text(ctx, report);
            }
            return Err(err);
        }
    };
    for note in &catalogue.notes {
        let message = format!("{}: {}", note.extension, note.message);
        match note.level {
            NoteLevel::Warning => ctx.out.warn(&message),
            NoteLevel::Info => ctx.out.note(&message),
        }
    }
    if catalogue.validation_warnings > 0 {
        ctx.out.note(&format!(
            "kz validate found {} (`kz validate` lists them)",
            count(catalogue.validation_warnings, "warning")
        ));
    }
    let c = catalogue.counts;
    ctx.out.done(
        "Built",
        &format!(
            "{OUTPUT_DIR}/garden/{} (stage {}, {repo_version}): {}, {}, {}, {}",
            repo_version.garden_dir(),
            stage.name,
            count(c.apps, "app"),
            count(c.services, "service"),
            count(c.tools, "tool"),
            count(c.previews, "preview image"),
        ),
    );
    Ok(ExitStatus::Success)
}
