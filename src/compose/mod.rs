//! The App Garden compose transform behind `kz sync-compose`: docker-compose.yml in,
//! docker-compose.appgarden.yml out. It follows the reference's steps and key order exactly
//! (see docs/compat.md for the places where kz is deliberately different) and reports what it
//! changed as notes; it never touches the file system.

mod map;
mod mounts;
mod names;
mod service;

use crate::settings::Settings;
use crate::yaml::{self, DumpOptions, Node, Value};
use std::path::Path;

pub(crate) use mounts::is_docker_socket;

pub const DEV_FILE: &str = "docker-compose.yml";
pub const APPGARDEN_FILE: &str = "docker-compose.appgarden.yml";

/// What the transform needs to know about the extension.
#[derive(Clone, Copy, Debug)]
pub struct SyncContext<'a> {
    pub settings: &'a Settings,
    /// The extension's folder name (image names use it, not the registry name).
    pub extension_dir: &'a str,
    /// The extension's folder, to resolve relative bind mounts and build contexts.
    pub extension_path: &'a Path,
    /// `version` from kamiwaza.json, when there is one.
    pub version: Option<&'a str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoteLevel {
    Info,
    Warning,
}

/// Something the transform did or could not do, for the user to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub level: NoteLevel,
    pub service: Option<String>,
    pub line: Option<u32>,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Synced {
    pub doc: Node,
    pub notes: Vec<Note>,
}

/// Why a compose document cannot be transformed at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TransformError {
    pub line: u32,
    pub message: String,
}

/// Transform a parsed docker-compose.yml into the App Garden form.
pub fn transform(dev: &Node, ctx: &SyncContext<'_>) -> Result<Synced, TransformError> {
    let mut doc = dev.clone();
    let mut notes = Vec::new();
    let line = dev.mark.line;
    let Value::Map(top) = &mut doc.value else {
        return Err(TransformError {
            line,
            message: "a compose file must be a mapping".into(),
        });
    };
    let contexts = service::build_contexts(top, ctx.extension_path);
    let mut plan = names::plan(top, ctx, &contexts);
    let file_sourced = service::drop_file_sourced(top, &mut notes);
    let mut new_volumes: Vec<String> = Vec::new();
    if let Some(services) = map::get_mut(top, "services") {
        let services_line = services.mark.line;
        match &mut services.value {
            Value::Map(entries) => {
                for (index, (key, svc)) in entries.iter_mut().enumerate() {
                    let name = key.py_str().unwrap_or_default();
                    let mut step = service::Step {
                        ctx,
                        name: &name,
                        index,
                        plan: &mut plan,
                        file_sourced: &file_sourced,
                        notes: &mut notes,
                    };
                    new_volumes.extend(step.run(svc));
                }
            }
            Value::Null => {}
            _ => {
                return Err(TransformError {
                    line: services_line,
                    message: "`services` must be a mapping of service names to definitions".into(),
                })
            }
        }
    } else {
        return Err(TransformError {
            line,
            message: "no `services` section".into(),
        });
    }
    rebuild_top_volumes(top, &new_volumes);
    Ok(Synced { doc, notes })
}

/// The top-level `volumes`: `driver_opts` dropped (it can point at host paths), an emptied
/// definition becomes `null`, non-mapping definitions are dropped (as the reference does), and
/// volumes created for converted bind mounts are declared at the end.
fn rebuild_top_volumes(top: &mut Vec<(Node, Node)>, added: &[String]) {
    if let Some(vols) = map::get_mut(top, "volumes") {
        if let Value::Map(entries) = &mut vols.value {
            entries.retain_mut(|(_, def)| match &mut def.value {
                Value::Null => true,
                Value::Map(inner) => {
                    map::remove(inner, "driver_opts");
                    if inner.is_empty() {
                        def.value = Value::Null;
                    }
                    true
                }
                _ => false,
            });
        }
    }
    if added.is_empty() {
        return;
    }
    if map::get(top, "volumes").is_none_or(|v| !matches!(v.value, Value::Map(_))) {
        map::set(top, "volumes", Node::new(Value::Map(Vec::new())));
    }
    if let Some(Value::Map(entries)) = map::get_mut(top, "volumes").map(|v| &mut v.value) {
        let mut present: std::collections::HashSet<String> =
            entries.iter().filter_map(|(k, _)| k.py_str()).collect();
        for name in added {
            if present.insert(name.clone()) {
                entries.push((Node::str(name.clone()), Node::new(Value::Null)));
            }
        }
    }
}

/// The App Garden file's bytes, as PyYAML writes them for the reference.
pub fn render(doc: &Node) -> String {
    yaml::dump(
        doc,
        &DumpOptions {
            literal_multiline: true,
            ..DumpOptions::default()
        },
    )
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_mounts;
#[cfg(test)]
mod tests_props;
