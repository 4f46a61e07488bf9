//! `kz list [--json] [--changed-since REF] [--shard I/N]`: the extensions of the workspace with
//! their versions, services, images and files; the JSON is what a CI matrix needs. Then its
//! Synapse apps (`synapse/<slug>/`, `type: synapse`, `images` = their `runtime.image`), unless
//! --changed-since or --shard narrows the list (they select extensions only).

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::manifest::Manifest;
use crate::settings::Settings;
use crate::workspace::{Extension, Workspace};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    scope: super::scope::Scope,
}

#[derive(Serialize)]
struct Row {
    #[serde(rename = "type")]
    kind: &'static str,
    dir: String,
    path: String,
    name: Option<String>,
    version: Option<String>,
    /// The compose services (dev file, else the App Garden file), in file order.
    services: Vec<String>,
    /// The images kz builds for it, at its version (what `kz build` tags, without a stage); a
    /// Synapse app's `runtime.image`.
    images: Vec<String>,
    files: Files,
}

#[derive(Serialize)]
struct Files {
    manifest: bool,
    compose: bool,
    appgarden: bool,
    dockerfile: bool,
    readme: bool,
    /// synapse-app.yaml (absent for extensions).
    #[serde(skip_serializing_if = "Option::is_none")]
    synapse_app: Option<bool>,
}

fn row(ws: &Workspace, settings: &Settings, ext: &Extension) -> Row {
    let manifest = Manifest::load(&ext.file(crate::manifest::FILE_NAME)).ok();
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
        services: services(ext),
        images: crate::build::targets(&ws.root, ext, settings, None)
            .map(|targets| targets.iter().map(|t| t.image().to_owned()).collect())
            .unwrap_or_default(),
        files: Files {
            manifest: manifest.is_some(),
            compose: has(crate::compose::DEV_FILE),
            appgarden: has(crate::compose::APPGARDEN_FILE),
            dockerfile,
            readme: has("README.md"),
            synapse_app: None,
        },
    }
}

/// A Synapse app of the workspace (`dir` is its folder under `synapse/`).
fn synapse_row(dir: &std::path::Path) -> Row {
    let manifest = crate::synapse::AppManifest::load(&dir.join(crate::synapse::FILE_NAME)).ok();
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let has = |f: &str| dir.join(f).is_file();
    let field = |f: fn(&crate::synapse::AppManifest) -> Option<&str>| {
        manifest.as_ref().and_then(|m| f(m).map(str::to_owned))
    };
    Row {
        kind: "synapse",
        path: format!("{}/{folder}", crate::synapse::WORKSPACE_DIR),
        dir: folder,
        name: field(crate::synapse::AppManifest::name),
        version: field(crate::synapse::AppManifest::version),
        services: Vec::new(),
        images: field(crate::synapse::AppManifest::image)
            .into_iter()
            .collect(),
        files: Files {
            manifest: false,
            compose: false,
            appgarden: false,
            dockerfile: has("Dockerfile"),
            readme: has("README.md"),
            synapse_app: Some(true),
        },
    }
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let chosen = args
        .scope
        .apply(ctx, &ws, &settings, ws.extensions.iter().collect())?;
    let mut rows: Vec<Row> = chosen.into_iter().map(|e| row(&ws, &settings, e)).collect();
    if args.scope.changed_since.is_none() && args.scope.shard.is_none() {
        rows.extend(
            crate::synapse::workspace_apps(&ws.root)
                .iter()
                .map(|d| synapse_row(d)),
        );
    }
    if args.json {
        ctx.out
            .data(&serde_json::to_string_pretty(&rows).unwrap_or_default());
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        ctx.out
            .status("no extensions yet; create one with `kz new app|service|tool|synapse NAME`");
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
            (r.files.synapse_app == Some(true), "synapse-app.yaml"),
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
            r.path,
            r.version.as_deref().unwrap_or("-"),
            r.name.as_deref().unwrap_or("-"),
            files.join(" ")
        ));
    }
    Ok(ExitStatus::Success)
}

/// Service names of the extension's compose file (the dev file, else the App Garden one).
fn services(ext: &Extension) -> Vec<String> {
    for file in [crate::compose::DEV_FILE, crate::compose::APPGARDEN_FILE] {
        let Ok(text) = crate::fsx::read_text(&ext.file(file), 4 << 20) else {
            continue;
        };
        let Ok(Some(doc)) = crate::yaml::load(&text, &crate::yaml::LoadLimits::default()) else {
            return Vec::new();
        };
        return doc
            .get("services")
            .and_then(|s| s.as_map())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    Vec::new()
}
