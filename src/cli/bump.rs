//! `kz bump NAME major|minor|patch|VERSION [--dry-run]`: the version in kamiwaza.json and
//! everywhere else the extension carries it (`crate::bump::files`).

use super::Context;
use crate::bump::{self, Level, Target};
use crate::error::Error;
use crate::exit::ExitStatus;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The extension (folder name or type/name).
    name: String,
    /// major, minor or patch (which part of MAJOR.MINOR.PATCH to raise), or an exact newer
    /// version such as 2.0.0-rc.1.
    #[arg(value_parser = parse_target, value_name = "major|minor|patch|VERSION")]
    level: Target,
    /// Print the changes as a unified diff and write nothing.
    #[arg(long)]
    dry_run: bool,
}

fn parse_target(s: &str) -> Result<Target, String> {
    match s.to_ascii_lowercase().as_str() {
        "major" => Ok(Target::Level(Level::Major)),
        "minor" => Ok(Target::Level(Level::Minor)),
        "patch" => Ok(Target::Level(Level::Patch)),
        _ => semver::Version::parse(s.strip_prefix('v').unwrap_or(s))
            .map(Target::Exact)
            .map_err(|_| {
                format!(
                    "`{s}` is neither major, minor, patch nor a version MAJOR.MINOR.PATCH[-PRE]"
                )
            }),
    }
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let ext = ws.find(&args.name)?;
    let plan = bump::plan(&ext.path, &ext.dir_name, &args.level, &settings)?;
    let rel = |p: &std::path::Path| {
        p.strip_prefix(&ws.root)
            .map_or_else(|_| p.display().to_string(), |p| p.display().to_string())
    };
    if args.dry_run {
        for e in &plan.edits {
            let name = rel(&e.path);
            let diff = similar::TextDiff::from_lines(&e.old_text, &e.new_text);
            let text = diff
                .unified_diff()
                .context_radius(1)
                .header(&format!("a/{name}"), &format!("b/{name}"))
                .to_string();
            if !text.is_empty() {
                ctx.out.data(text.trim_end_matches('\n'));
            }
        }
        ctx.out.status(&format!(
            "would bump {} {} -> {} ({} files); nothing written",
            ext.rel(),
            plan.old,
            plan.new,
            plan.edits.len()
        ));
        return Ok(ExitStatus::Success);
    }
    bump::files::apply(&plan.edits)?;
    ctx.out.data(&format!(
        "{} -> {}",
        super::output::field(&plan.old),
        super::output::field(&plan.new)
    ));
    for e in &plan.edits {
        for c in &e.changes {
            ctx.out.data(&format!(
                "  {}:{}: {} -> {}",
                rel(&e.path),
                c.line,
                c.before,
                c.after
            ));
        }
    }
    ctx.out.note(&format!(
        "run `kz sync-compose {}` to carry the new tag into the App Garden file",
        ext.dir_name
    ));
    Ok(ExitStatus::Success)
}
