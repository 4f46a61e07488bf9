//! `--changed-since REF` and `--shard I/N`, shared by validate, sync-compose, build, test,
//! publish, plan, list and ci-pipeline: the extensions a command would take, narrowed to those
//! the changes touch (`changes::select`), then to this runner's shard. What was selected and why
//! goes to stderr; extensions that are gone are warned about, never an error.

use super::Context;
use crate::changes::{self, git::Git, Dependencies, Shard, WorkspaceChanges};
use crate::error::Error;
use crate::settings::Settings;
use crate::workspace::{Extension, Workspace};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Scope {
    /// Only extensions changed since the merge-base of REF and HEAD (committed, staged,
    /// unstaged or untracked files under them or under what they depend on: kz.yaml, .env keys
    /// they use, build contexts, shared libraries).
    #[arg(long, value_name = "REF")]
    pub(crate) changed_since: Option<String>,
    /// Take only part I of N of the extensions (after --changed-since, sorted by path, parts
    /// balanced by count), e.g. `--shard 2/4`.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<Shard>,
}

impl Scope {
    /// The argv that gives this scope to another command (ci-pipeline's steps).
    pub(crate) fn argv(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = &self.changed_since {
            out.extend(["--changed-since".to_owned(), r.clone()]);
        }
        if let Some(s) = &self.shard {
            out.extend(["--shard".to_owned(), s.to_string()]);
        }
        out
    }

    /// Narrow `chosen` (the extensions the command would take) to the changed ones, then to this
    /// shard. Without either flag, `chosen` comes back as it is.
    pub(crate) fn apply<'a>(
        &self,
        ctx: &Context,
        ws: &'a Workspace,
        settings: &Settings,
        chosen: Vec<&'a Extension>,
    ) -> Result<Vec<&'a Extension>, Error> {
        let mut chosen = chosen;
        if let Some(reference) = &self.changed_since {
            let total = chosen.len();
            let selection = changed(ctx, ws, settings, reference)?;
            for gone in &selection.gone {
                ctx.out.warn(&format!(
                    "{gone}: changed since {reference} but no longer in the workspace (deleted or renamed)"
                ));
            }
            chosen.retain(|e| selection.selected.contains_key(&e.rel()));
            ctx.out.status(&format!(
                "changed since {reference}: {} of {total} extension{}",
                chosen.len(),
                if total == 1 { "" } else { "s" }
            ));
            for e in &chosen {
                if let Some(reason) = selection.selected.get(&e.rel()) {
                    ctx.out
                        .status(&ctx.out.dim(&format!("  {}: {reason}", e.rel())));
                }
            }
        }
        if let Some(shard) = self.shard {
            chosen.sort_by_key(|e| e.rel());
            let total = chosen.len();
            chosen = shard.take(chosen);
            ctx.out.status(&format!(
                "shard {shard}: {} of {total} extension{}",
                chosen.len(),
                if total == 1 { "" } else { "s" }
            ));
        }
        Ok(chosen)
    }
}

/// The selection last worked out in this process, by (workspace root, reference): ci-pipeline's
/// steps each apply the same scope, and git and the dependency scan run once for all of them.
static LAST: std::sync::Mutex<Option<((std::path::PathBuf, String), changes::Selection)>> =
    std::sync::Mutex::new(None);

/// Changed-only selection over the whole workspace (worked out once per process and reference).
fn changed(
    ctx: &Context,
    ws: &Workspace,
    settings: &Settings,
    reference: &str,
) -> Result<changes::Selection, Error> {
    let key = (ws.root.clone(), reference.to_owned());
    if let Ok(last) = LAST.lock() {
        if let Some((k, selection)) = last.as_ref() {
            if *k == key {
                return Ok(selection.clone());
            }
        }
    }
    let selection = changed_uncached(ctx, ws, settings, reference)?;
    if let Ok(mut last) = LAST.lock() {
        *last = Some((key, selection.clone()));
    }
    Ok(selection)
}

fn changed_uncached(
    ctx: &Context,
    ws: &Workspace,
    settings: &Settings,
    reference: &str,
) -> Result<changes::Selection, Error> {
    let git = Git::find(ctx.env.get("PATH").map(String::as_str))?;
    let root = ws
        .root
        .canonicalize()
        .map_err(|e| Error::read(&ws.root, e))?;
    let found = git.changed_since(&root, reference)?;
    // The workspace may be a folder of the repository: keep its files, relative to it.
    let prefix = root
        .strip_prefix(&found.toplevel)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let files: BTreeSet<String> = found
        .files
        .iter()
        .filter_map(|f| {
            if prefix.is_empty() {
                Some(f.clone())
            } else {
                f.strip_prefix(&format!("{prefix}/")).map(str::to_owned)
            }
        })
        .collect();
    let mut env_keys = BTreeSet::new();
    if files.contains(".env") {
        let at = |p: &str| {
            if prefix.is_empty() {
                p.to_owned()
            } else {
                format!("{prefix}/{p}")
            }
        };
        let before = git
            .show(&found.toplevel, &found.base, &at(".env"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let after = crate::fsx::read_text(&root.join(".env"), 1 << 20).unwrap_or_default();
        env_keys = changes::changed_env_keys(&before, &after);
    }
    let changes = WorkspaceChanges { files, env_keys };
    let deps = dependencies(ws, &root, settings, &changes);
    let env_users = if changes.env_keys.is_empty() {
        BTreeMap::new()
    } else {
        env_users(ws, &changes.env_keys)
    };
    Ok(changes::select(ws, &changes, &deps, &env_users))
}

/// The folders outside each extension that it depends on: compose build contexts and library
/// references. Only worked out when a changed file lies outside every extension folder.
fn dependencies(
    ws: &Workspace,
    root: &Path,
    settings: &Settings,
    changes: &WorkspaceChanges,
) -> Dependencies {
    let mut deps = Dependencies::new();
    let owned: Vec<String> = ws
        .extensions
        .iter()
        .map(|e| format!("{}/", e.rel()))
        .collect();
    let outside = changes
        .files
        .iter()
        .any(|f| !owned.iter().any(|o| f.starts_with(o.as_str())));
    if !outside {
        return deps;
    }
    for ext in &ws.extensions {
        let ext_dir = root.join(ext.rel());
        let mut dirs = BTreeSet::new();
        if let Ok(targets) = crate::build::targets(&ws.root, ext, settings, None) {
            for t in targets {
                let context = t.context.canonicalize().unwrap_or(t.context);
                dirs.insert(context);
            }
        }
        dirs.extend(changes::library_refs(&ext_dir));
        let rel: BTreeSet<String> = dirs
            .into_iter()
            .filter(|d| !d.starts_with(&ext_dir))
            .filter_map(|d| {
                d.strip_prefix(root)
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            })
            .collect();
        if !rel.is_empty() {
            deps.insert(ext.rel(), rel);
        }
    }
    deps
}

/// For each extension, the changed `.env` keys its compose files and kamiwaza.json use.
fn env_users(ws: &Workspace, keys: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for ext in &ws.extensions {
        let mut used = BTreeSet::new();
        for file in [
            crate::compose::DEV_FILE,
            crate::compose::APPGARDEN_FILE,
            crate::manifest::FILE_NAME,
        ] {
            if let Ok(text) = crate::fsx::read_text(&ext.file(file), 4 << 20) {
                used.extend(changes::referenced_keys(&text, keys));
            }
        }
        if !used.is_empty() {
            out.insert(ext.rel(), used);
        }
    }
    out
}
