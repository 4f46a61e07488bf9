//! The command line: clap definitions, the per-run `Context`, and dispatch. Each subcommand lives
//! in its own file with its `Args` and a `run` function returning an `ExitStatus`.

mod build;
mod build_registry;
mod bump;
mod ci_pipeline;
mod clean;
mod completions;
mod doctor;
mod kamiwaza;
mod list;
mod new;
mod output;
mod package;
mod package_libs;
mod plan;
mod promote;
mod publish;
mod publish_catalog;
mod published;
mod run;
mod scope;
mod serve_registry;
mod synapse_apps;
mod synapse_publish;
mod synapse_remote;
mod synapse_retarget;
mod sync_compose;
mod test;
mod test_health;
mod validate;
mod verify_images;

pub use output::Output;

use crate::error::Error;
use crate::exit::ExitStatus;
use crate::settings::Settings;
use crate::workspace::Workspace;
use clap::{FromArgMatches, Subcommand, ValueEnum};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, clap::Parser)]
#[command(
    name = "kz",
    version,
    about = "Build, validate, catalogue and publish Kamiwaza extensions",
    long_about = None,
    max_term_width = 100
)]
struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    directory: Option<PathBuf>,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "KZ_COLOR")]
    color: ColorChoice,
    /// Print only errors and data.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check kamiwaza.json, compose files and Synapse apps against every rule.
    Validate(validate::Args),
    /// Generate docker-compose.appgarden.yml from docker-compose.yml.
    SyncCompose(sync_compose::Args),
    /// Print the Synapse manifest label of an image (local, or --remote from its registry).
    Inspect(synapse_remote::InspectArgs),
    /// Index the Synapse apps of a registry as the App Store sees them (JSON).
    Index(synapse_remote::IndexArgs),
    /// Start a Synapse app as the workspace's runner does and wait until it is healthy.
    Run(run::RunArgs),
    /// Stop and remove a Synapse app started by `kz run`.
    Stop(run::StopArgs),
    /// Move a Synapse app to another registry or namespace: rewrite its runtime.image in place.
    Retarget(synapse_retarget::Args),
    /// Create a new app, service, tool or Synapse app from the built-in templates.
    New(new::Args),
    /// List the extensions and Synapse apps of the workspace.
    List(list::Args),
    /// Bump an extension's version everywhere it carries it (major, minor, patch or VERSION).
    Bump(bump::Args),
    /// Pack build/kamiwaza-extension-registry/ into a deterministic dist/*.tar.gz.
    Package(package::Args),
    /// Push the stage's images (multi-arch, skipping what the registry has), then its catalogue.
    Publish(publish::Args),
    /// Remove build artifacts (--deps: dependencies, --all: both, --dist: also dist/).
    Clean(clean::Args),
    /// Serve build/kamiwaza-extension-registry/ over HTTPS (self-signed) for a Kamiwaza instance.
    ServeRegistry(serve_registry::Args),
    /// Build the images of extensions on the Docker engine (skipped when up to date).
    Build(build::Args),
    /// Write the extension catalogue (apps.json, tools.json, previews) to build/.
    BuildRegistry(build_registry::Args),
    /// Push templates to a running Kamiwaza, or list the ones it has.
    Kamiwaza(kamiwaza::Args),
    /// Build the shared libraries: shared/python → wheel, shared/typescript/* → npm pack.
    PackageLibs(package_libs::Args),
    /// Run the extensions' tests (pytest, npm test, go test) in containers of their images.
    Test(test::Args),
    /// The CI pipeline: build, test, sync-compose, validate, build-registry, package.
    CiPipeline(ci_pipeline::Args),
    /// Show what `kz publish` would change for a stage, writing nothing.
    Plan(plan::Args),
    /// Print the completion script for a shell (see README: Shell completions).
    Completions(completions::CompletionsArgs),
    /// Print kz's man page (roff), or write one page per command with --dir.
    Man(completions::ManArgs),
    /// Check the engine, BuildKit, disk, tools and Kamiwaza kz depends on (exit 1 on a fail).
    Doctor(doctor::Args),
    /// Check that every image a stage's catalogue names is in its registry, for every platform.
    VerifyImages(verify_images::Args),
    /// Put a stage's images under another stage's tags (manifest copy) and publish its entries.
    Promote(promote::Args),
    /// List what a stage's published catalogue holds (name, version, images, pinned or not).
    Published(published::PublishedArgs),
    /// Download a stage's published catalogue and previews into a registry folder.
    DownloadRegistry(published::DownloadArgs),
}

/// What every command gets: where it runs, the environment and the output streams.
pub struct Context {
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub out: Output,
}

impl Context {
    /// Discover the workspace from the working directory and load its settings.
    pub fn workspace(&self) -> Result<(Workspace, Settings), Error> {
        let ws = Workspace::discover(&self.cwd)?;
        let settings = Settings::load(&ws.root, &self.env)?;
        crate::util::redact::register_from_vars(&settings.vars);
        for skipped in &ws.skipped {
            self.out
                .warn(&format!("skipped {}: {}", skipped.rel, skipped.reason));
        }
        Ok((ws, settings))
    }
}

/// The tokio runtime a command that talks to the engine, a registry or a server runs on.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed now, not on first poll, so
/// a command registers them before it creates anything it must tear down.
#[cfg(unix)]
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let installed = |kind| signal(kind).map_err(|source| Error::Runtime { source });
    let mut interrupt = installed(SignalKind::interrupt())?;
    let mut terminate = installed(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    let mut ctrl_c =
        tokio::signal::windows::ctrl_c().map_err(|source| Error::Runtime { source })?;
    Ok(async move {
        ctrl_c.recv().await;
    })
}

/// Parse the arguments, run the command, render any error, and return the exit code.
pub fn main() -> u8 {
    if completions::try_complete() {
        return ExitStatus::Success.code();
    }
    let parsed = completions::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Usage.code()
            } else {
                ExitStatus::Success.code()
            };
        }
    };
    let choice = match cli.color {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    let out = Output::new(cli.quiet);
    let cwd = match cli.directory.map_or_else(std::env::current_dir, Ok) {
        Ok(dir) => dir,
        Err(e) => {
            out.error(
                &anyhow::Error::new(e).context("cannot determine the working directory"),
                None,
            );
            return ExitStatus::Environment.code();
        }
    };
    let ctx = Context {
        cwd,
        env: std::env::vars().collect(),
        out,
    };
    // Fed once, before anything can print: every credential the environment names.
    crate::util::redact::register_from_vars(&ctx.env);
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args, &ctx),
        Command::SyncCompose(args) => sync_compose::run(&args, &ctx),
        Command::New(args) => new::run(&args, &ctx),
        Command::Run(args) => run::run(&args, &ctx),
        Command::Inspect(args) => synapse_remote::inspect(&args, &ctx),
        Command::Index(args) => synapse_remote::index(&args, &ctx),
        Command::Stop(args) => run::stop(&args, &ctx),
        Command::Retarget(args) => synapse_retarget::run(&args, &ctx),
        Command::List(args) => list::run(&args, &ctx),
        Command::Bump(args) => bump::run(&args, &ctx),
        Command::Clean(args) => clean::run(&args, &ctx),
        Command::Build(args) => build::run(&args, &ctx),
        Command::BuildRegistry(args) => build_registry::run(&args, &ctx),
        Command::Package(args) => package::run(&args, &ctx),
        Command::Publish(args) => publish::run(&args, &ctx),
        Command::ServeRegistry(args) => serve_registry::run(&args, &ctx),
        Command::Kamiwaza(args) => kamiwaza::run(&args, &ctx),
        Command::PackageLibs(args) => package_libs::run(&args, &ctx),
        Command::Test(args) => test::run(&args, &ctx),
        Command::CiPipeline(args) => ci_pipeline::run(&args, &ctx),
        Command::Plan(args) => plan::run(&args, &ctx),
        Command::Completions(args) => completions::completions(&args, &ctx),
        Command::Man(args) => completions::man(&args, &ctx),
        Command::Doctor(args) => doctor::run(&args, &ctx),
        Command::VerifyImages(args) => verify_images::run(&args, &ctx),
        Command::Promote(args) => promote::run(&args, &ctx),
        Command::Published(args) => published::published(&args, &ctx),
        Command::DownloadRegistry(args) => published::download(&args, &ctx),
    };
    match result {
        Ok(status) => status.code(),
        Err(err) => {
            let status = err.exit_status();
            let hint = err.hint();
            ctx.out.error(&anyhow::Error::new(err), hint.as_deref());
            status.code()
        }
    }
}
