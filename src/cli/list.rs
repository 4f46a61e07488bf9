//! `kz list [--json]`: the extensions of the workspace with their versions and files.

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::manifest::Manifest;
use crate::workspace::Extension;
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Row {
    #[serde(rename = "type")]
    kind: &'static str,
    dir: String,
    path: String,
    name: Option<String>,
    version: Option<String>,
    files: Files,
}

#[derive(Serialize)]
struct Files {
    manifest: bool,
    compose: bool,
    appgarden: bool,
    dockerfile: bool,
    readme: bool,
}

fn row(ext: &Extension, ctx: &Context) -> Row {
    let path = ext.file(crate::manifest::FILE_NAME);
    // A manifest that is there but cannot be read (a named pipe, a link out of the workspace,
    // bad JSON) is listed without its values, with the reason on stderr.
    let manifest = match Manifest::load(&path) {
        Ok(m) => Some(m),
        Err(e) => {
            if std::fs::symlink_metadata(&path).is_ok() {
                ctx.out.warn(&e.one_line());
            }
            None
        }
    };
    let has = |f: &str| ext.file(f).is_file();
    let dockerfile = has("Dockerfile")
        || std::fs::read_dir(&ext.path)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .any(|e| e.path().join("Dockerfile").is_file())
            })
            .unwrap_or(false);
    Row {
        kind: ext.kind.singular(),
        dir: ext.dir_name.clone(),
        path: ext.rel(),
        name: manifest.as_ref().and_then(|m| m.name().map(str::to_owned)),
        version: manifest
            .as_ref()
            .and_then(|m| m.version().map(str::to_owned)),
        files: Files {
            manifest: manifest.is_some(),
            compose: has(crate::compose::DEV_FILE),
            appgarden: has(crate::compose::APPGARDEN_FILE),
            dockerfile,
            readme: has("README.md"),
        },
    }
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, _) = ctx.workspace()?;
    let rows: Vec<Row> = ws.extensions.iter().map(|e| row(e, ctx)).collect();
    if args.json {
        ctx.out
            .data(&serde_json::to_string_pretty(&rows).unwrap_or_default());
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        ctx.out
            .status("no extensions yet; create one with `kz new app|service|tool NAME`");
        return Ok(ExitStatus::Success);
    }
    let width = rows.iter().map(|r| r.path.len()).max().unwrap_or(0).max(9);
    ctx.out.data(&format!(
        "{:<width$}  {:<10}  {:<28}  FILES",
        "EXTENSION", "VERSION", "REGISTRY NAME"
    ));
    for r in &rows {
        let flags = [
            (r.files.manifest, "kamiwaza.json"),
            (r.files.compose, "compose"),
            (r.files.appgarden, "appgarden"),
            (r.files.dockerfile, "Dockerfile"),
            (r.files.readme, "README"),
        ];
        let files: Vec<&str> = flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        ctx.out.data(&format!(
            "{:<width$}  {:<10}  {:<28}  {}",
            super::output::field(&r.path),
            super::output::field(r.version.as_deref().unwrap_or("-")),
            super::output::field(r.name.as_deref().unwrap_or("-")),
            files.join(" ")
        ));
    }
    Ok(ExitStatus::Success)
}
