//! `kz sync-compose [NAME...] [--check]`.

use super::Context;
use crate::compose::{NoteLevel, APPGARDEN_FILE};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::sync::{self, Plan};
use similar::TextDiff;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions to sync (folder name or type/name); default: the current one, else all.
    names: Vec<String>,
    /// Write nothing; print a unified diff of every stale file and exit 1 if any.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    scope: super::scope::Scope,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let chosen = ws.select(&args.names)?;
    let chosen = args.scope.apply(ctx, &ws, &settings, chosen)?;
    let (mut written, mut current, mut stale, mut skipped, mut failed) = (0, 0, 0, 0, 0);
    // Plans are made in parallel, a batch at a time, so memory stays flat on huge workspaces.
    let plans = chosen.chunks(256).flat_map(|batch| {
        let plans = crate::par::map(batch, |ext| sync::plan(ext, &settings));
        batch.iter().zip(plans)
    });
    for (ext, plan) in plans {
        let rel = ext.rel();
        let planned = match plan {
            Ok(Plan::Ready(p)) => p,
            Ok(Plan::NoDevFile) => {
                skipped += 1;
                ctx.out.status(
                    &ctx.out
                        .dim(&format!("  Skipped {rel}: no docker-compose.yml")),
                );
                continue;
            }
            Err(e) => {
                failed += 1;
                let hint = e.hint();
                ctx.out.error(&anyhow::Error::new(e), hint.as_deref());
                continue;
            }
        };
        // What the transform decided matters when the file changes; a current file stays quiet.
        if !planned.is_current() {
            for note in &planned.notes {
                let svc = note
                    .service
                    .as_deref()
                    .map_or(String::new(), |s| format!("{s}: "));
                let msg = format!("{rel}: {svc}{}", note.message);
                match note.level {
                    NoteLevel::Warning => ctx.out.warn(&msg),
                    NoteLevel::Info => ctx.out.note(&msg),
                }
            }
            if planned.no_version {
                ctx.out.warn(&format!(
                    "{rel}: no kamiwaza.json, so images were neither named nor tagged"
                ));
            }
        }
        if planned.is_current() {
            current += 1;
            ctx.out
                .status(&ctx.out.dim(&format!("  Current {rel}/{APPGARDEN_FILE}")));
        } else if args.check {
            stale += 1;
            let old = planned.existing.as_deref().unwrap_or("");
            let name = format!("{rel}/{APPGARDEN_FILE}");
            let diff = TextDiff::from_lines(old, planned.rendered.as_str());
            let udiff = diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{name}"), &format!("b/{name}"))
                .to_string();
            ctx.out.raw(&udiff);
            let why = if planned.existing.is_none() {
                "missing"
            } else if planned.same_data_as_existing() {
                "stale (formatting only: same data, different bytes)"
            } else {
                "stale"
            };
            ctx.out.warn(&format!("{name} is {why}"));
        } else {
            planned.write()?;
            written += 1;
            ctx.out.done("Wrote", &format!("{rel}/{APPGARDEN_FILE}"));
        }
    }
    let total = chosen.len();
    let summary = if args.check {
        format!("{total} checked: {current} current, {stale} stale, {skipped} without docker-compose.yml")
    } else {
        format!("{total} processed: {written} written, {current} unchanged, {skipped} without docker-compose.yml")
    };
    ctx.out.status(&summary);
    if failed > 0 {
        ctx.out.status(&format!("{failed} could not be synced"));
        return Ok(ExitStatus::Usage);
    }
    Ok(if stale > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
