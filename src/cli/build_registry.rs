//! `kz build-registry [--stage NAME] [--repo-version v1|v2|v3] [--pin [--pin-external]]`.
//! `--pin` pins the images kz builds (with `--pin-external`, every image) to the digests their
//! registry holds for the stage's tags; an image the registry lacks is an error.

use super::output::count;
use super::Context;
use crate::compose::NoteLevel;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::oci::auth::CredentialStore;
use crate::oci::layers::LayerCache;
use crate::oci::RegistryOptions;
use crate::publish::images::Registries;
use crate::publish::pins;
use crate::registry::{self, Options, Pins, RepoVersion, OUTPUT_DIR};

/// Print a validation report carried by `err`, and hand the error back.
fn validation_report(ctx: &Context, err: Error) -> Error {
    if let Error::ValidationFailed { report } = &err {
        super::validate::print_text(ctx, report);
    }
    err
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The stage whose image tags the catalogue carries: dev, stage, prod (or one of kz.yaml).
    #[arg(long, default_value = "dev", value_name = "STAGE")]
    stage: String,
    /// The catalogue layout: v2 (garden/v2), v3 (garden/v3, kz-ext's entries) or v1
    /// (garden/default); default: kz.yaml `catalogue.repo_version`, else v2.
    #[arg(long, value_enum)]
    repo_version: Option<Layout>,
    /// Pin the images kz builds to the digests the registry holds (`repo:tag@sha256:...`).
    #[arg(long)]
    pin: bool,
    /// With --pin: pin third-party images too.
    #[arg(long, requires = "pin")]
    pin_external: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Layout {
    V1,
    V2,
    V3,
}

impl Layout {
    pub(crate) fn repo_version(self) -> RepoVersion {
        match self {
            Layout::V1 => RepoVersion::V1,
            Layout::V2 => RepoVersion::V2,
            Layout::V3 => RepoVersion::V3,
        }
    }
}

/// `--repo-version` if given, else kz.yaml `catalogue.repo_version`, else v2.
pub(crate) fn layout(given: Option<Layout>, settings: &crate::settings::Settings) -> RepoVersion {
    given
        .map(Layout::repo_version)
        .or(settings.repo_version)
        .unwrap_or(RepoVersion::V2)
}

/// Build with the defaults (stage dev, the given layout or kz.yaml's), as `kz package` does when
/// nothing is built yet.
pub(crate) fn run_default(
    ctx: &Context,
    repo_version: Option<Layout>,
) -> Result<ExitStatus, Error> {
    run(
        &Args {
            stage: "dev".to_owned(),
            repo_version,
            pin: false,
            pin_external: false,
        },
        ctx,
    )
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let stage = settings.require_stage(&args.stage)?;
    let repo_version = layout(args.repo_version, &settings);
    let mut opts = Options {
        stage,
        repo_version,
        pins: None,
    };
    let pins = if args.pin {
        let unpinned = match registry::plan(&ws, &settings, &opts) {
            Ok(c) => c,
            Err(err) => return Err(validation_report(ctx, err)),
        };
        let runtime = super::runtime()?;
        let mut registries = Registries::new(
            CredentialStore::from_env(&ctx.env),
            RegistryOptions::default(),
            LayerCache::default(),
        );
        Some(runtime.block_on(pins::for_catalogue(
            &ws,
            &settings,
            stage,
            &unpinned,
            &Pins::new(),
            args.pin_external,
            &mut registries,
        ))?)
    } else {
        None
    };
    opts.pins = pins.as_ref();
    let catalogue = match registry::build(&ws, &settings, &opts) {
        Ok(catalogue) => catalogue,
        Err(err) => return Err(validation_report(ctx, err)),
    };
    if let Some(pins) = &pins {
        ctx.out
            .note(&format!("pinned {}", count(pins.len(), "image")));
    }
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
