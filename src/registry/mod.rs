//! `kz build-registry`: the extension catalogue a Kamiwaza host reads (spec §5), written to
//! `build/kamiwaza-extension-registry/`:
//!
//! ```text
//! README.md  kamiwaza-registry.env.template  package-setup.sh
//! garden/<v3|v2|default>/apps.json        apps, then services, each sorted by folder
//! garden/<v3|v2|default>/tools.json       tools, sorted by folder
//! garden/<v3|v2|default>/<images|app-garden-images>/   preview images
//! ```
//!
//! The catalogue files hold what the reference's build-registry.py writes, byte for byte
//! (`json.dump(indent=2)` text), except where docs/compat.md says otherwise. The workspace must
//! pass `kz validate` first (errors only); nothing is written otherwise.
//!
//! Files: `entry.rs` builds one entry, `stage.rs` stages compose texts, `preview.rs` finds
//! previews, `json.rs` writes Python's JSON text, `write.rs` puts the folder in place atomically.

mod entry;
mod json;
mod preview;
mod stage;
mod write;

pub use json::to_python_json;

use crate::compose::NoteLevel;
use crate::error::{Error, Result};
use crate::settings::{Settings, Stage};
use crate::validate;
use crate::workspace::{Extension, Kind, Workspace};
use serde_json::Value;
use std::path::PathBuf;

/// The registry folder's name inside `build/`.
pub const OUTPUT_NAME: &str = "kamiwaza-extension-registry";
/// The registry folder, relative to the workspace root.
pub const OUTPUT_DIR: &str = "build/kamiwaza-extension-registry";

/// The catalogue layout a Kamiwaza host expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepoVersion {
    /// `garden/default/`, previews in `app-garden-images/`, no `kamiwaza_version` in entries.
    V1,
    /// `garden/v2/`, previews in `images/`.
    V2,
    /// `garden/v3/`, previews in `images/`; entries as kamiwaza-sdk's kz-ext 1.3.0 builds them
    /// (docs/compat.md, "Catalogue v3").
    V3,
}

impl RepoVersion {
    /// `garden/<dir>`: `v3`, `v2` or `default` (v1).
    pub fn garden_dir(self) -> &'static str {
        match self {
            RepoVersion::V1 => "default",
            RepoVersion::V2 => "v2",
            RepoVersion::V3 => "v3",
        }
    }

    /// Where previews are stored inside the garden folder.
    pub fn images_dir(self) -> &'static str {
        match self {
            RepoVersion::V1 => "app-garden-images",
            RepoVersion::V2 | RepoVersion::V3 => "images",
        }
    }
}

impl std::fmt::Display for RepoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RepoVersion::V1 => "v1",
            RepoVersion::V2 => "v2",
            RepoVersion::V3 => "v3",
        })
    }
}

impl std::str::FromStr for RepoVersion {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "v1" => Ok(RepoVersion::V1),
            "v2" => Ok(RepoVersion::V2),
            "v3" => Ok(RepoVersion::V3),
            other => Err(format!(
                "`{other}` is not a catalogue version (v1, v2 or v3)"
            )),
        }
    }
}

/// Image references and the digests to pin them to (`repo:tag` → `sha256:...`).
pub type Pins = std::collections::BTreeMap<String, String>;

/// What to build.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// The stage whose image tags the catalogue carries.
    pub stage: &'a Stage,
    pub repo_version: RepoVersion,
    /// Images to publish as `repo:tag@digest` (in `compose_yml`, `docker_images` and
    /// `extra_docker_images`); the rest stay as written.
    pub pins: Option<&'a Pins>,
}

/// Something worth telling the user about one extension's entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub level: NoteLevel,
    /// `apps/<dir>`.
    pub extension: String,
    pub message: String,
}

/// How many entries of each kind, and how many preview images were stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub apps: usize,
    pub services: usize,
    pub tools: usize,
    pub previews: usize,
}

/// The catalogue in memory, ready to be written.
#[derive(Debug)]
pub struct Catalogue {
    pub repo_version: RepoVersion,
    /// `apps.json` (apps, then services).
    pub apps_json: String,
    pub tools_json: String,
    /// Preview files to copy and the names to store them under, in entry order.
    pub previews: Vec<(PathBuf, String)>,
    pub counts: Counts,
    pub notes: Vec<Note>,
    /// Warnings `kz validate` found (errors stop the build).
    pub validation_warnings: usize,
}

/// Validate the workspace and build its catalogue in memory. Fails with
/// `Error::ValidationFailed` (carrying the report) when validation finds errors.
pub fn plan(ws: &Workspace, settings: &Settings, opts: &Options<'_>) -> Result<Catalogue> {
    let all: Vec<&Extension> = ws.extensions.iter().collect();
    plan_only(ws, settings, opts, &all)
}

/// [`plan`] for the entries of `only` (the whole workspace is still validated): what
/// `kz promote` publishes for the extensions it promotes.
pub fn plan_only(
    ws: &Workspace,
    settings: &Settings,
    opts: &Options<'_>,
    only: &[&Extension],
) -> Result<Catalogue> {
    let all: Vec<&Extension> = ws.extensions.iter().collect();
    let report = validate::validate(ws, &all, settings);
    if report.errors() > 0 {
        return Err(Error::ValidationFailed {
            report: Box::new(report),
        });
    }
    let mut apps = Vec::new();
    let mut services = Vec::new();
    let mut tools = Vec::new();
    let mut previews = Vec::new();
    let mut notes = Vec::new();
    // A batch at a time, so the parallel work never holds more than a batch of compose trees.
    for batch in only.chunks(256) {
        for built in crate::par::map(batch, |ext| entry::build(ext, settings, opts)) {
            let entry = built?;
            notes.extend(entry.notes);
            previews.extend(entry.preview);
            let value = Value::Object(entry.value);
            match entry.kind {
                Kind::App => apps.push(value),
                Kind::Service => services.push(value),
                Kind::Tool => tools.push(value),
            }
        }
    }
    let counts = Counts {
        apps: apps.len(),
        services: services.len(),
        tools: tools.len(),
        previews: previews.len(),
    };
    apps.append(&mut services);
    Ok(Catalogue {
        repo_version: opts.repo_version,
        apps_json: to_python_json(&Value::Array(apps)),
        tools_json: to_python_json(&Value::Array(tools)),
        previews,
        counts,
        notes,
        validation_warnings: report.warnings(),
    })
}

impl Catalogue {
    /// Write the registry folder under `root` (atomically; see `write.rs`); returns its path.
    pub fn write(&self, root: &std::path::Path) -> Result<PathBuf> {
        write::write(root, self)
    }
}

/// Validate, build and write: the whole of `kz build-registry`.
pub fn build(ws: &Workspace, settings: &Settings, opts: &Options<'_>) -> Result<Catalogue> {
    let catalogue = plan(ws, settings, opts)?;
    catalogue.write(&ws.root)?;
    Ok(catalogue)
}
