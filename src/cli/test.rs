//! `kz test [NAME...] [--all] [--json]`: run every test suite of the chosen extensions in
//! containers (see `exttest`). The containers' output streams to stderr as it comes (each line
//! prefixed with the suite when the run has more than one); a summary table (or `--json`) goes to
//! stdout when more than one extension ran. Exit 0 when every suite passed, 1 when any failed,
//! 130 after Ctrl-C (teardown done first). Whatever happens, every container, network and volume
//! of the run's session is removed before kz exits.

use super::output::count;
use super::Context;
use crate::build::{self, BuildEvent, BuildOptions, BuildOutcome, BuildTarget};
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::exttest::{self, Event, ExtensionPlan, ExtensionReport, Runner, Session};
use crate::workspace::Extension;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions to test, by folder (`team-notes`) or type and folder (`apps/team-notes`).
    /// Default: the extension you are in, else all of them.
    #[arg(value_name = "NAME")]
    names: Vec<String>,
    /// Test every extension (apps, services, tools), wherever you are.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each dependency to run (and be healthy, if it has a healthcheck).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    wait_timeout: u64,
    /// Test the local images as they are, without building them first.
    #[arg(long)]
    no_build: bool,
    #[command(flatten)]
    scope: super::scope::Scope,
}

/// The stage whose image tags `kz test` builds and runs (the default of `kz build`, so a
/// `kz build` before `kz test` leaves nothing to rebuild).
const STAGE: &str = "dev";

/// One chosen extension: its suites and the build targets they need.
struct Planned {
    rel: String,
    plan: Result<(ExtensionPlan, Vec<BuildTarget>), Error>,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let chosen: Vec<&Extension> = if args.all {
        ws.extensions.iter().collect()
    } else {
        ws.select(&args.names)?
    };
    let chosen = args.scope.apply(ctx, &ws, &settings, chosen)?;
    let many = args.all || chosen.len() > 1;
    let stage = settings.stage(STAGE);
    let mut plans: Vec<Planned> = Vec::new();
    for ext in &chosen {
        let plan = build::targets(&ws.root, ext, &settings, stage).and_then(|targets| {
            let built = targets
                .iter()
                .map(|t| exttest::Built {
                    service: t.service.clone(),
                    context: t.context.clone(),
                    image: t.image().to_owned(),
                })
                .collect();
            Ok((exttest::plan(ext, built)?, targets))
        });
        match plan {
            Err(e) if !many => return Err(e),
            plan => plans.push(Planned {
                rel: ext.rel(),
                plan,
            }),
        }
    }
    let suites: usize = plans
        .iter()
        .map(|p| p.plan.as_ref().map_or(0, |(p, _)| p.suites.len()))
        .sum();
    if suites == 0 && plans.iter().all(|p| p.plan.is_ok()) {
        ctx.out
            .warn("no tests found (pytest, npm test or go test) in the chosen extensions");
        if args.json {
            ctx.out.data("[]");
        }
        return Ok(ExitStatus::Success);
    }
    let runtime = super::runtime()?;
    let options = exttest::RunOptions {
        dependency_timeout: Duration::from_secs(args.wait_timeout),
    };
    let result = runtime.block_on(async {
        let stop = super::stop_signal()?;
        let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
        let session = Session::new();
        ctx.out.status(&format!(
            "Session {} (network {})",
            session.id(),
            session.network()
        ));
        let mut runner = Runner::new(&engine, session.clone(), options);
        let mut printer = Printer::new(ctx, suites > 1);
        let work = async {
            let mut reports = Vec::new();
            for Planned { rel, plan } in &plans {
                let report = match plan {
                    Ok((plan, targets)) => {
                        let built = if args.no_build {
                            Ok(())
                        } else {
                            build_needed(ctx, &engine, plan, targets).await
                        };
                        match built {
                            Ok(()) => {
                                runner
                                    .run_extension(rel, plan, &mut |e| printer.event(e))
                                    .await
                            }
                            Err(e) => extension_failed(ctx, rel, &e),
                        }
                    }
                    Err(e) => extension_failed(ctx, rel, e),
                };
                reports.push(report);
            }
            reports
        };
        let outcome = tokio::select! {
            biased;
            () = stop => None,
            reports = work => Some(reports),
        };
        let interrupted = outcome.is_none();
        if interrupted {
            ctx.out
                .warn("interrupted; removing the test containers, network and volumes");
        }
        let settle = interrupted.then(|| Duration::from_millis(500));
        let down = exttest::teardown(&engine, &session, settle).await;
        for failure in &down.failures {
            ctx.out.warn(&format!("teardown: {failure}"));
        }
        ctx.out.status(&format!(
            "Removed {}, {} and {} of session {}",
            count(down.containers, "container"),
            count(down.networks, "network"),
            count(down.volumes, "volume"),
            session.id()
        ));
        Ok::<_, Error>(outcome)
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    let Some(reports) = result? else {
        return Ok(ExitStatus::Interrupted);
    };
    if args.json {
        let text = serde_json::to_string_pretty(&reports).unwrap_or_default();
        ctx.out.data(&text);
    } else if many {
        table(ctx, &reports);
    }
    let failed = reports.iter().filter(|r| r.failed()).count();
    if failed > 0 {
        if many {
            ctx.out.status(&format!(
                "{} of {} failed",
                count(failed, "extension"),
                reports.len()
            ));
        }
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}

/// An extension whose suites could not be listed (a bad compose file) or whose images could not
/// be built counts as failed.
fn extension_failed(ctx: &Context, rel: &str, e: &Error) -> ExtensionReport {
    ctx.out.error(
        &anyhow::anyhow!("{rel}: {}", e.one_line()),
        e.hint().as_deref(),
    );
    ExtensionReport {
        extension: rel.to_owned(),
        result: "error",
        duration: Duration::ZERO,
        suites: vec![exttest::SuiteResult {
            dir: ".".to_owned(),
            framework: String::new(),
            service: None,
            image: None,
            outcome: exttest::Outcome::Error {
                message: e.one_line(),
            },
            message: e.one_line(),
            duration: Duration::ZERO,
        }],
    }
}

/// Build (or find up to date, by content hash) the images the suites of `plan` run in and the
/// built services they depend on. The first failure stops the extension.
async fn build_needed(
    ctx: &Context,
    engine: &Engine,
    plan: &ExtensionPlan,
    targets: &[BuildTarget],
) -> Result<(), Error> {
    let mut needed: Vec<&str> = Vec::new();
    for suite in &plan.suites {
        let Some(service) = suite.service.as_deref() else {
            continue;
        };
        needed.push(service);
        let deps = plan.compose.dependencies_of(service).unwrap_or_default();
        needed.extend(deps.iter().map(|d| d.name.as_str()));
    }
    let out = ctx.out;
    for target in targets
        .iter()
        .filter(|t| needed.contains(&t.service.as_str()))
    {
        let started = std::time::Instant::now();
        let image = target.image().to_owned();
        let shown = image.clone();
        let outcome = build::build_target(engine, target, &BuildOptions::default(), move |e| {
            if e == BuildEvent::Building {
                out.done("Building", &shown);
            }
        })
        .await?;
        let secs = started.elapsed().as_secs_f64();
        match outcome {
            BuildOutcome::Built { .. } => out.done("Built", &format!("{image} ({secs:.1} s)")),
            BuildOutcome::Skipped { .. } => out.done("Fresh", &format!("{image} (up to date)")),
        }
    }
    Ok(())
}

/// Renders run events: status lines, and container output with a `[suite]` prefix on each line
/// when the run has more than one suite.
struct Printer<'c> {
    ctx: &'c Context,
    prefixed: bool,
    /// The running suite's label.
    label: String,
    /// A line not yet ended, per stream (stdout, stderr).
    partial: [Vec<u8>; 2],
}

impl<'c> Printer<'c> {
    fn new(ctx: &'c Context, prefixed: bool) -> Self {
        Printer {
            ctx,
            prefixed,
            label: String::new(),
            partial: [Vec::new(), Vec::new()],
        }
    }

    fn event(&mut self, event: Event<'_>) {
        let out = &self.ctx.out;
        match event {
            Event::SuiteStarted {
                extension,
                suite,
                image,
            } => {
                self.label = suite.label(extension);
                out.done("Testing", &format!("{} in {image}", self.label));
            }
            Event::DependencyStarted { service, image, .. } => {
                out.status(&format!("  starting dependency `{service}` ({image})"))
            }
            Event::DependencyReady { service, state, .. } => {
                out.status(&format!("  dependency `{service}` is {state}"));
            }
            Event::Uploaded {
                suite,
                target,
                files,
            } => out.note(&format!(
                "the image lacks the tests of `{}`; uploaded {} to {target}",
                suite.dir,
                count(files, "file")
            )),
            Event::Output { stderr, bytes, .. } => self.output(usize::from(stderr), bytes),
            Event::SuiteFinished {
                extension,
                suite,
                result,
            } => {
                self.flush();
                let secs = result.duration.as_secs_f64();
                let line = format!("{} ({secs:.1} s)", suite.label(extension));
                if result.outcome.is_failure() {
                    out.failed("FAILED", &format!("{line}: {}", result.message));
                } else {
                    out.done(
                        if result.outcome == exttest::Outcome::Passed {
                            "Passed"
                        } else {
                            "No tests"
                        },
                        &line,
                    );
                }
            }
        }
    }

    fn output(&mut self, stream: usize, bytes: &[u8]) {
        if !self.prefixed {
            self.ctx.out.stderr_bytes(bytes);
            return;
        }
        let buf = &mut self.partial[stream];
        buf.extend_from_slice(bytes);
        let Some(last_nl) = buf.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        let complete: Vec<u8> = buf.drain(..=last_nl).collect();
        let mut text = Vec::with_capacity(complete.len() + 64);
        for line in complete.split_inclusive(|b| *b == b'\n') {
            text.extend_from_slice(format!("[{}] ", self.label).as_bytes());
            text.extend_from_slice(line);
        }
        self.ctx.out.stderr_bytes(&text);
    }

    fn flush(&mut self) {
        for stream in 0..2 {
            if !self.partial[stream].is_empty() {
                self.output(stream, b"\n");
            }
        }
    }
}

/// The end-of-run table on stdout: extension, suites, result, time.
fn table(ctx: &Context, reports: &[ExtensionReport]) {
    let rows: Vec<[String; 4]> = reports
        .iter()
        .map(|r| {
            let suites = if r.suites.is_empty() {
                "-".to_owned()
            } else {
                r.suites
                    .iter()
                    .map(|s| match s.dir.as_str() {
                        "." => s.framework.clone(),
                        dir => format!("{dir} {}", s.framework).trim().to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            [
                r.extension.clone(),
                suites,
                r.result.to_owned(),
                format!("{:.1}s", r.duration.as_secs_f64()),
            ]
        })
        .collect();
    let header = ["EXTENSION", "SUITES", "RESULT", "TIME"].map(str::to_owned);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        ctx.out.data(line.trim_end());
    }
}
