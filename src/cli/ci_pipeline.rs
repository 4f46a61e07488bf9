//! `kz ci-pipeline`: the guide's CI pipeline in one command, run in-process on the whole
//! workspace: build all → test all → sync-compose → validate → build-registry → package. Each
//! step is the command's own function; the pipeline stops at the first step that fails, prints
//! one summary table (each step's result and time) on stdout, then the archive
//! (`dist/kamiwaza-registry-YYYYMMDD-HHMMSS.tar.gz`) or the failing step and its reason.

use super::output::count;
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::pipeline::{self, format_duration, Outcome, Status, Step};
use crate::workspace::Workspace;
use std::cell::RefCell;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The build, test, sync-compose and validate steps take only these extensions; the
    /// catalogue steps (build-registry, package) always take every one.
    #[command(flatten)]
    scope: super::scope::Scope,
}

/// A command's `Args` as its command line `argv` (after the command name) would give them, so
/// each step runs the command exactly as a user typing it would.
fn args_of<A: clap::Args + clap::FromArgMatches>(argv: &[String]) -> Result<A, Error> {
    let command = A::augment_args(clap::Command::new("kz"));
    let matches = command
        .try_get_matches_from(std::iter::once("kz").chain(argv.iter().map(String::as_str)))
        .and_then(|m| A::from_arg_matches(&m))
        .map_err(|e| Error::invalid("<ci-pipeline>", e.to_string()))?;
    Ok(matches)
}

/// A step that runs a command's `run` and turns its exit status into an outcome; `failure` says
/// what a non-zero status means for the summary (the command printed the details).
fn command_step<'a>(
    name: &'static str,
    failure: &'static str,
    run: impl FnOnce() -> Result<ExitStatus, Error> + 'a,
) -> Step<'a> {
    Step::new(name, move || {
        Ok(match run()? {
            ExitStatus::Success => Outcome::Passed {
                detail: String::new(),
            },
            ExitStatus::Interrupted => Outcome::Failed {
                reason: "interrupted".to_owned(),
                code: ExitStatus::Interrupted.code(),
            },
            other => Outcome::Failed {
                reason: failure.to_owned(),
                code: other.code(),
            },
        })
    })
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let ws = Workspace::discover(&ctx.cwd)?;
    // Every step works on the whole workspace, wherever kz was started.
    let at_root = Context {
        cwd: ws.root.clone(),
        env: ctx.env.clone(),
        out: ctx.out,
    };
    let c = &at_root;
    // The scope's flags, given to each step that takes it as a user would type them.
    let scope = args.scope.argv();
    let with_scope = |argv: &[&str]| -> Vec<String> {
        argv.iter()
            .map(|a| (*a).to_owned())
            .chain(scope.iter().cloned())
            .collect()
    };
    let archive: RefCell<Option<PathBuf>> = RefCell::new(None);
    let steps = vec![
        command_step("build", "an image failed to build", || {
            super::build::run(&args_of(&with_scope(&["--all"]))?, c)
        }),
        command_step("test", "a test suite failed", || {
            super::test::run(&args_of(&with_scope(&["--all", "--no-build"]))?, c)
        }),
        command_step("sync-compose", "a compose file could not be synced", || {
            super::sync_compose::run(&args_of(&with_scope(&[]))?, c)
        }),
        command_step("validate", "validation found errors", || {
            super::validate::run(&args_of(&with_scope(&[]))?, c)
        }),
        command_step("build-registry", "the registry was not built", || {
            super::build_registry::run_default(c, None)
        }),
        Step::new("package", || {
            let path = super::package::pack_into(c, &ws, &ws.root.join("dist"), false)?;
            let detail = path
                .strip_prefix(&ws.root)
                .unwrap_or(&path)
                .display()
                .to_string();
            *archive.borrow_mut() = Some(path);
            Ok(Outcome::Passed { detail })
        }),
    ];
    let report = pipeline::run(steps, |name, i, n| {
        ctx.out.status(&format!("==> [{i}/{n}] {name}"));
    });

    let rows: Vec<[String; 4]> = report
        .steps
        .iter()
        .map(|s| {
            let (result, detail) = match &s.status {
                Status::Passed { detail } => ("ok", detail.clone()),
                Status::Failed { reason, .. } => ("FAILED", reason.clone()),
                Status::Error(e) => ("FAILED", e.to_string()),
                Status::NotRun => ("not run", String::new()),
            };
            let time = match s.status {
                Status::NotRun => "-".to_owned(),
                _ => format_duration(s.elapsed),
            };
            [s.name.to_owned(), result.to_owned(), time, detail]
        })
        .collect();
    ctx.out.data("");
    ctx.out
        .data(format!("{:<16} {:<8} {:>8}  DETAIL", "STEP", "RESULT", "TIME").trim_end());
    for [name, result, time, detail] in &rows {
        // a multi-line reason shows its first line here; the whole error follows below
        let detail = detail.lines().next().unwrap_or("");
        ctx.out
            .data(format!("{name:<16} {result:<8} {time:>8}  {detail}").trim_end());
    }
    ctx.out.data(
        format!(
            "{:<16} {:<8} {:>8}",
            "total",
            "",
            format_duration(report.elapsed)
        )
        .trim_end(),
    );

    let not_run: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| matches!(s.status, Status::NotRun))
        .map(|s| s.name)
        .collect();
    let later = if not_run.is_empty() {
        String::new()
    } else {
        format!("; not run: {}", not_run.join(", "))
    };
    let elapsed = report.elapsed;
    let total = report.steps.len();
    let failed = report
        .steps
        .into_iter()
        .find(|s| matches!(s.status, Status::Failed { .. } | Status::Error(_)));
    match failed.map(|f| (f.name, f.status)) {
        None => {
            ctx.out.done(
                "Finished",
                &format!(
                    "{} in {}{}",
                    count(total, "step"),
                    format_duration(elapsed),
                    archive
                        .borrow()
                        .as_ref()
                        .map(|a| format!(": {}", a.display()))
                        .unwrap_or_default()
                ),
            );
            Ok(ExitStatus::Success)
        }
        Some((name, Status::Error(e))) => {
            ctx.out
                .status(&format!("ci-pipeline stopped at step `{name}`{later}"));
            let hint = e.hint();
            let status = e.exit_status();
            ctx.out.error(&anyhow::Error::new(e), hint.as_deref());
            Ok(status)
        }
        Some((name, Status::Failed { reason, code })) => {
            ctx.out.error(
                &anyhow::anyhow!("ci-pipeline stopped at step `{name}`: {reason}{later}"),
                None,
            );
            Ok(status_of(code))
        }
        Some(_) => Ok(ExitStatus::Failure),
    }
}

fn status_of(code: u8) -> ExitStatus {
    match code {
        0 => ExitStatus::Success,
        2 => ExitStatus::Usage,
        3 => ExitStatus::Environment,
        130 => ExitStatus::Interrupted,
        _ => ExitStatus::Failure,
    }
}
