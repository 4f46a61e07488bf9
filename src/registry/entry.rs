//! One catalogue entry (spec §5.2 step 3, §5.5): the extension's kamiwaza.json in its own key
//! order, plus `compose_yml` (the App Garden compose, staged), `docker_images`, and
//! `template_type: "service"` for services; stage-tagged `extra_docker_images` (and `image`
//! for image-only tools); the preview path rewritten; `compose_yml_file` (and, for v1,
//! `kamiwaza_version`) removed.

use super::preview::{self, Preview};
use super::stage::{pin, stage_compose, StagedCompose};
use super::{Note, Options, RepoVersion};
use crate::compose::{NoteLevel, APPGARDEN_FILE, DEV_FILE};
use crate::error::{Error, Result};
use crate::fsx;
use crate::imageref::stage_image;
use crate::manifest::{Manifest, FILE_NAME};
use crate::settings::Settings;
use crate::sync::{self, Plan};
use crate::workspace::{Extension, Kind};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// An entry with what the writer needs besides its JSON.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    pub(crate) value: Map<String, Value>,
    /// A preview file to copy, and the name to store it under.
    pub(crate) preview: Option<(PathBuf, String)>,
    pub(crate) notes: Vec<Note>,
}

/// Build the entry of `ext`.
pub(crate) fn build(ext: &Extension, settings: &Settings, opts: &Options<'_>) -> Result<Entry> {
    let manifest_path = ext.file(FILE_NAME);
    let manifest = Manifest::load(&manifest_path)?;
    let Value::Object(mut value) = manifest.doc else {
        return Err(Error::invalid(
            &manifest_path,
            "kamiwaza.json is not a JSON object",
        ));
    };
    if opts.repo_version == RepoVersion::V3 {
        v3_defaults(&mut value);
    }
    let mut entry = Entry {
        kind: ext.kind,
        value: Map::new(),
        preview: None,
        notes: Vec::new(),
    };
    let note = |level, message: String| Note {
        level,
        extension: ext.rel(),
        message,
    };
    match compose_text(ext, settings, &mut entry.notes)? {
        Some((text, path)) => {
            let v3 = opts.repo_version == RepoVersion::V3;
            let StagedCompose { text, mut images } =
                stage_compose(&text, &path, settings, opts.stage, opts.pins, v3)?;
            if v3 {
                let mut seen = std::collections::BTreeSet::new();
                images.retain(|i| seen.insert(i.clone()));
            }
            value.insert("compose_yml".into(), Value::String(text));
            value.insert("docker_images".into(), strings(images));
        }
        None => {
            let images = match value.get("image").and_then(Value::as_str) {
                Some(image) => {
                    let staged = pin(stage_image(settings, image, opts.stage), opts.pins);
                    if staged != image {
                        let message = format!("image `{image}` published as `{staged}`");
                        entry.notes.push(note(NoteLevel::Info, message));
                    }
                    value.insert("image".into(), Value::String(staged.clone()));
                    vec![staged]
                }
                None => {
                    let message = "neither a compose file nor an `image`: no images to deploy";
                    entry
                        .notes
                        .push(note(NoteLevel::Warning, message.to_owned()));
                    Vec::new()
                }
            };
            value.insert("docker_images".into(), strings(images));
        }
    }
    if let Some(Value::Array(extra)) = value.get_mut("extra_docker_images") {
        for item in extra.iter_mut() {
            if let Value::String(image) = item {
                *image = pin(stage_image(settings, image, opts.stage), opts.pins);
            }
        }
    }
    value.shift_remove("compose_yml_file");
    if ext.kind == Kind::Service && !value.contains_key("template_type") {
        value.insert("template_type".into(), Value::String("service".into()));
    }
    if let Some(Value::String(raw)) = value.get_mut("preview_image") {
        if preview::is_preview(raw) {
            let planned = preview::plan(raw, &ext.path, opts.repo_version);
            entry.notes.extend(preview_notes(raw, &planned, ext));
            *raw = planned.public;
            entry.preview = planned.copy;
        }
    }
    if opts.repo_version == RepoVersion::V1 {
        value.shift_remove("kamiwaza_version");
    }
    let empty_extras =
        matches!(value.get("extra_docker_images"), Some(Value::Array(a)) if a.is_empty());
    if opts.repo_version == RepoVersion::V3 && empty_extras {
        value.shift_remove("extra_docker_images");
    }
    entry.value = value;
    Ok(entry)
}

/// The compose text to embed and the file it came from. Apps and services embed their App
/// Garden file (validation guarantees it). A tool embeds its App Garden file, else what
/// `kz sync-compose` would write for its docker-compose.yml (the reference embeds the dev
/// file itself, `build:` sections and bind mounts included), else nothing.
fn compose_text(
    ext: &Extension,
    settings: &Settings,
    notes: &mut Vec<Note>,
) -> Result<Option<(String, PathBuf)>> {
    let appgarden = ext.file(APPGARDEN_FILE);
    if appgarden.is_file() {
        let text = fsx::read_text(&appgarden, fsx::MAX_GENERATED_FILE)?;
        return Ok(Some((text, appgarden)));
    }
    if ext.kind != Kind::Tool {
        return Err(Error::invalid(
            &appgarden,
            "missing; App Garden and the catalogue need it (`kz sync-compose` writes it)",
        ));
    }
    match sync::plan(ext, settings)? {
        Plan::NoDevFile => Ok(None),
        Plan::Ready(planned) => {
            notes.push(Note {
                level: NoteLevel::Warning,
                extension: ext.rel(),
                message: format!(
                    "no {APPGARDEN_FILE}: embedded what `kz sync-compose` would write for {DEV_FILE}"
                ),
            });
            Ok(Some((planned.rendered, ext.file(DEV_FILE))))
        }
    }
}

/// What kz-ext 1.3.0's `RegistryBuilder.build_entry` does first besides kz's v2 entry: defaults
/// for `description` (""), `source_type` ("kamiwaza") and `visibility` ("public") appended when
/// absent (before `compose_yml`, as its `setdefault`s run first); no `revision` (kz publishes
/// none). At the end, an empty `extra_docker_images` is dropped.
fn v3_defaults(value: &mut Map<String, Value>) {
    for (key, default) in [
        ("description", ""),
        ("source_type", "kamiwaza"),
        ("visibility", "public"),
    ] {
        if !value.contains_key(key) {
            value.insert(key.into(), Value::String(default.into()));
        }
    }
    value.shift_remove("revision");
}

fn strings(items: Vec<String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

fn preview_notes(raw: &str, planned: &Preview, ext: &Extension) -> Vec<Note> {
    let note = |level, message: String| Note {
        level,
        extension: ext.rel(),
        message,
    };
    let mut notes = Vec::new();
    if let Some(stand_in) = planned.stand_in {
        notes.push(note(
            NoteLevel::Warning,
            format!("preview `{raw}` not found; using {stand_in} in its place"),
        ));
    }
    if planned.missing {
        notes.push(note(
            NoteLevel::Warning,
            format!(
                "preview `{raw}` not found (looked in the extension folder and its images/ folder); the entry points at a missing file"
            ),
        ));
    }
    notes
}
