//! The sync-compose operation for one extension: read docker-compose.yml and the version,
//! transform, render, and compare with the App Garden file on disk. Writing is a separate step
//! so `--check` and `kz new` share the same plan.

use crate::compose::{self, Note, SyncContext, APPGARDEN_FILE, DEV_FILE};
use crate::error::{Error, Result};
use crate::fsx;
use crate::manifest::{self, Manifest};
use crate::settings::Settings;
use crate::workspace::Extension;
use crate::yaml;
use std::path::PathBuf;

/// An App Garden file more than this many times its input gets a warning.
const GROWTH_WARNING: usize = 10;

/// The state of one extension's App Garden file.
#[derive(Debug)]
pub enum Plan {
    /// No docker-compose.yml: nothing to generate.
    NoDevFile,
    Ready(Box<Planned>),
}

#[derive(Debug)]
pub struct Planned {
    pub target: PathBuf,
    pub rendered: String,
    /// The current file's text, if there is one.
    pub existing: Option<String>,
    pub notes: Vec<Note>,
    /// kamiwaza.json is missing, so images were not named or re-tagged.
    pub no_version: bool,
}

impl Planned {
    pub fn is_current(&self) -> bool {
        self.existing.as_deref() == Some(self.rendered.as_str())
    }

    /// The files differ in bytes but hold the same data (formatting only).
    pub fn same_data_as_existing(&self) -> bool {
        let Some(existing) = &self.existing else {
            return false;
        };
        let limits = yaml::LoadLimits::default();
        match (
            yaml::load(existing, &limits),
            yaml::load(&self.rendered, &limits),
        ) {
            (Ok(Some(a)), Ok(Some(b))) => yaml::same_data(&a, &b),
            _ => false,
        }
    }

    /// Write the file if it changed; returns whether it did.
    pub fn write(&self) -> Result<bool> {
        fsx::write_if_changed(&self.target, self.rendered.as_bytes())
    }
}

/// Work out what docker-compose.appgarden.yml should hold for `ext`.
pub fn plan(ext: &Extension, settings: &Settings) -> Result<Plan> {
    let dev_path = ext.file(DEV_FILE);
    if !dev_path.is_file() {
        return Ok(Plan::NoDevFile);
    }
    let manifest_path = ext.file(manifest::FILE_NAME);
    let manifest = if manifest_path.is_file() {
        Some(Manifest::load(&manifest_path)?)
    } else {
        None
    };
    let version = match &manifest {
        Some(m) => match m.get("version") {
            None => None,
            Some(v) => Some(v.as_str().ok_or_else(|| {
                let line = m.line_of("version").unwrap_or(0);
                Error::invalid(
                    &manifest_path,
                    format!("line {line}: `version` must be a string"),
                )
            })?),
        },
        None => None,
    };
    let text = fsx::read_text(&dev_path, fsx::MAX_TEXT_FILE)?;
    let doc = yaml::load_compose(&text, &yaml::LoadLimits::default())
        .map_err(|source| Error::Yaml {
            path: dev_path.clone(),
            source,
        })?
        .ok_or_else(|| Error::invalid(&dev_path, "the file is empty"))?;
    let ctx = SyncContext {
        settings,
        extension_dir: &ext.dir_name,
        extension_path: &ext.path,
        version,
    };
    let mut synced =
        compose::transform(&doc, &ctx).map_err(|e| Error::invalid(&dev_path, e.to_string()))?;
    let rendered = compose::render(&synced.doc);
    if rendered.len() > GROWTH_WARNING * text.len().max(1) {
        synced.notes.push(Note {
            level: compose::NoteLevel::Warning,
            service: None,
            line: None,
            message: format!(
                "the App Garden file is {} bytes, more than {GROWTH_WARNING}x docker-compose.yml ({} bytes): YAML aliases are expanded; consider fewer or smaller shared blocks",
                rendered.len(),
                text.len()
            ),
        });
    }
    let target = ext.file(APPGARDEN_FILE);
    let existing = if target.is_file() {
        Some(fsx::read_text(&target, fsx::MAX_GENERATED_FILE)?)
    } else {
        None
    };
    Ok(Plan::Ready(Box::new(Planned {
        target,
        rendered,
        existing,
        notes: synced.notes,
        no_version: manifest.is_none(),
    })))
}
