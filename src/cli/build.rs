//! `kz build [NAME...] [--all] [--stage S] [--no-cache] [--force] [--jobs N] [--platform P]
//! [--json]`: build the images of extensions on the Docker engine, in parallel, skipping those
//! whose content hash matches the local image. One line per image while it runs (indicatif on a
//! terminal, plain status lines otherwise), the failing step's log for each failure, then one
//! ordered summary on stdout; exit 1 if any image failed.

use super::output::count;
use super::Context;
use crate::build::{self, BuildEvent, BuildOptions, BuildOutcome, BuildTarget};
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions to build (folder name, type/name or path), or one Synapse app (its folder,
    /// `synapse/<slug>`, or CONTEXT=<folder> in the environment, as publish.sh reads it);
    /// default: the current extension or app, else all of them.
    names: Vec<String>,
    /// Build every extension and every Synapse app (`synapse/<slug>/`) of the workspace.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// The stage whose tags the images get: dev, stage, prod (or one of kz.yaml).
    #[arg(long, default_value = "dev", value_name = "STAGE")]
    stage: String,
    /// Build without the engine's layer cache (implies --force).
    #[arg(long)]
    no_cache: bool,
    /// Build even when the local image has the same content hash.
    #[arg(long)]
    force: bool,
    /// Builds at a time (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Target platform, e.g. linux/amd64.
    #[arg(long, value_name = "PLATFORM")]
    platform: Option<String>,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    scope: super::scope::Scope,
}

/// How one target ended.
struct Row {
    target: BuildTarget,
    result: Result<BuildOutcome, Error>,
    elapsed: Duration,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    if !args.all {
        if let Some((dir, display)) = super::synapse_apps::app_dir(&args.names, ctx)? {
            return build_synapse(args, ctx, &dir, &display);
        }
    }
    let (ws, settings) = ctx.workspace()?;
    let stage = settings.require_stage(&args.stage)?;
    let chosen: Vec<_> = if args.all {
        ws.extensions.iter().collect()
    } else {
        ws.select(&args.names)?
    };
    let chosen = args.scope.apply(ctx, &ws, &settings, chosen)?;
    let opts = options(args);
    let mut targets = Vec::new();
    let mut planning_failed = Vec::new();
    for ext in &chosen {
        match build::targets(&ws.root, ext, &settings, Some(stage)) {
            Ok(found) => targets.extend(found.into_iter().map(|t| (t, opts.clone()))),
            Err(e) => planning_failed.push(e),
        }
    }
    // The workspace's Synapse apps belong to "everything": --all, or no name given outside
    // any extension (not narrowed by --changed-since / --shard, which select extensions).
    let whole = args.scope.changed_since.is_none() && args.scope.shard.is_none();
    if whole && (args.all || (args.names.is_empty() && ws.current.is_none())) {
        for dir in crate::synapse::workspace_apps(&ws.root) {
            let display = dir
                .strip_prefix(&ws.root)
                .map_or_else(|_| dir.display().to_string(), |p| p.display().to_string());
            match super::synapse_apps::plan(&dir, &display, ctx) {
                Ok(app) => {
                    let opts = synapse_options(args, &app);
                    targets.push((app.target, opts));
                }
                Err(e) => planning_failed.push(e),
            }
        }
    }
    // One extension asked for and it cannot be planned: that error is the answer.
    if targets.is_empty() && planning_failed.len() == 1 {
        if let Some(e) = planning_failed.pop() {
            return Err(e);
        }
    }
    for e in &planning_failed {
        let hint = e.hint();
        ctx.out.error_of(e, hint.as_deref());
    }
    if targets.is_empty() {
        if planning_failed.is_empty() {
            ctx.out
                .note("nothing to build: no compose service has a `build:` and no Dockerfile");
            return Ok(ExitStatus::Success);
        }
        return Ok(ExitStatus::Failure);
    }
    execute(args, ctx, targets, planning_failed.len())
}

/// A Synapse app: one build with the manifest label, tagged with `runtime.image` and its
/// `:latest`; refused while the manifest has errors.
fn build_synapse(
    args: &Args,
    ctx: &Context,
    dir: &std::path::Path,
    display: &str,
) -> Result<ExitStatus, Error> {
    let app = super::synapse_apps::plan(dir, display, ctx)?;
    let opts = synapse_options(args, &app);
    execute(args, ctx, vec![(app.target, opts)], 0)
}

/// The build options of a Synapse app: the manifest label on top of the flags.
fn synapse_options(args: &Args, app: &crate::synapse::build::AppBuild) -> BuildOptions {
    BuildOptions {
        labels: app.labels(),
        ..options(args)
    }
}

/// The build options the flags ask for.
fn options(args: &Args) -> BuildOptions {
    BuildOptions {
        force: args.force || args.no_cache,
        no_cache: args.no_cache,
        platform: args.platform.clone(),
        ..BuildOptions::default()
    }
}

fn execute(
    args: &Args,
    ctx: &Context,
    targets: Vec<(BuildTarget, BuildOptions)>,
    planning_failed: usize,
) -> Result<ExitStatus, Error> {
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let runtime = super::runtime()?;
    let bars = !ctx.out.is_quiet() && !args.json && std::io::stderr().is_terminal();
    let rows = runtime.block_on(async {
        let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
        Ok::<_, Error>(build_all(&engine, targets, jobs, bars, ctx).await)
    })?;
    report(&rows, planning_failed, args.json, ctx)
}

async fn build_all(
    engine: &Engine,
    targets: Vec<(BuildTarget, BuildOptions)>,
    jobs: usize,
    bars: bool,
    ctx: &Context,
) -> Vec<Row> {
    let multi = MultiProgress::new();
    let width = targets
        .iter()
        .map(|(t, _)| t.image().len())
        .max()
        .unwrap_or(0);
    let style = ProgressStyle::with_template("{spinner:.cyan} {prefix} {wide_msg:.dim}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let work = targets.into_iter().map(|(target, opts)| {
        let bar = if bars {
            let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
            bar.set_prefix(format!("{:width$}", target.image()));
            bar.set_message("waiting");
            bar.enable_steady_tick(Duration::from_millis(120));
            Some(bar)
        } else {
            None
        };
        async move {
            let start = Instant::now();
            let image = target.image().to_owned();
            let on_event = |event: BuildEvent| match (&bar, event) {
                (Some(bar), BuildEvent::Hashed { .. }) => bar.set_message("checking"),
                (Some(bar), BuildEvent::Building) => bar.set_message("sending context"),
                (None, BuildEvent::Building) => ctx.out.status(&format!(" Building {image}")),
                (
                    Some(bar),
                    BuildEvent::Step {
                        number,
                        total,
                        text,
                    },
                ) => {
                    bar.set_message(format!("{number}/{total} {text}"));
                }
                (
                    None,
                    BuildEvent::Step {
                        number,
                        total,
                        text,
                    },
                ) => ctx
                    .out
                    .status(&ctx.out.dim(&format!("{image}: {number}/{total} {text}"))),
                _ => {}
            };
            let result = build::build_target(engine, &target, &opts, on_event).await;
            let elapsed = start.elapsed();
            let verdict = match &result {
                Ok(BuildOutcome::Built { .. }) => format!("built in {}", secs(elapsed)),
                Ok(BuildOutcome::Skipped { .. }) => "up to date".to_owned(),
                Err(_) => "FAILED".to_owned(),
            };
            match &bar {
                Some(bar) => bar.finish_with_message(verdict),
                None => ctx.out.status(&format!("     {image}: {verdict}")),
            }
            Row {
                target,
                result,
                elapsed,
            }
        }
    });
    futures_util::stream::iter(work)
        .buffered(jobs)
        .collect()
        .await
}

fn report(
    rows: &[Row],
    planning_failed: usize,
    json: bool,
    ctx: &Context,
) -> Result<ExitStatus, Error> {
    let mut statuses = Vec::new();
    for row in rows {
        if let Err(e) = &row.result {
            let hint = e.hint();
            ctx.out.error_of(e, hint.as_deref());
            statuses.push(e.exit_status());
        }
    }
    let (mut built, mut skipped) = (0, 0);
    for row in rows {
        match row.result {
            Ok(BuildOutcome::Built { .. }) => built += 1,
            Ok(BuildOutcome::Skipped { .. }) => skipped += 1,
            Err(_) => {}
        }
    }
    if json {
        let items: Vec<serde_json::Value> = rows.iter().map(json_row).collect();
        let text = serde_json::to_string_pretty(&items).unwrap_or_default();
        ctx.out.data(&text);
    } else {
        let width = rows
            .iter()
            .map(|r| r.target.image().len())
            .max()
            .unwrap_or(0);
        for row in rows {
            let (state, time) = match &row.result {
                Ok(BuildOutcome::Built { .. }) => ("built", secs(row.elapsed)),
                Ok(BuildOutcome::Skipped { .. }) => ("skipped", secs(row.elapsed)),
                Err(_) => ("failed", secs(row.elapsed)),
            };
            ctx.out.data(&format!(
                "{:width$}  {state:7}  {time:>7}",
                row.target.image()
            ));
        }
    }
    let failed = statuses.len() + planning_failed;
    let summary = format!(
        "{}: {built} built, {skipped} up to date, {failed} failed",
        count(rows.len(), "image")
    );
    if failed == 0 {
        ctx.out.done("Finished", &summary);
        return Ok(ExitStatus::Success);
    }
    ctx.out.status(&summary);
    // One kind of failure everywhere (say, every context refused) keeps its own exit code.
    let first = statuses.first().copied().unwrap_or(ExitStatus::Failure);
    if planning_failed == 0 && statuses.iter().all(|s| *s == first) {
        return Ok(first);
    }
    Ok(ExitStatus::Failure)
}

fn json_row(row: &Row) -> serde_json::Value {
    let t = &row.target;
    let (status, id, error) = match &row.result {
        Ok(BuildOutcome::Built { image_id }) => ("built", Some(image_id.clone()), None),
        Ok(BuildOutcome::Skipped { image_id }) => ("skipped", Some(image_id.clone()), None),
        Err(e) => ("failed", None, Some(e.to_string())),
    };
    serde_json::json!({
        "extension": t.extension,
        "service": t.service,
        "image": t.image(),
        "tags": t.tags,
        "status": status,
        "image_id": id,
        "seconds": (row.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "error": error,
    })
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
