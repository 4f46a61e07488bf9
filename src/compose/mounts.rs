//! Bind mounts in App Garden files. A deployed extension has no source tree next to it, so a
//! bind mount cannot stay. What replaces it depends on what it mounts:
//!
//! * **source** — the host path lies inside a build context of this compose file and that
//!   context's `.dockerignore` does not leave it out. Its content is baked into the image; a
//!   volume there would shadow the image's code with an empty or stale copy. Dropped.
//! * **host** — sockets and system paths (`/var/run/docker.sock`, `/etc/…`, `/dev/…`): host
//!   integration no volume can stand in for. Dropped.
//! * **data** — everything else (`./data` listed in `.dockerignore`, `../models`, `~/cache`,
//!   `/srv/x`): state the service reads and writes. Converted to a named volume
//!   `<service>_<last part of the container path>` (`./data:/app/data` → `backend_data`, as the
//!   guide shows), declared at top level, so the data survives restarts.
//!
//! The rule reads only committed files (compose, `.dockerignore`), never what happens to exist on
//! a laptop, so every machine generates the same bytes.
//!
//! Anonymous volumes (`/data`), named volumes (`cache:/cache`) and long-form `type: volume`
//! entries are kept as they are.

use super::SyncContext;
use crate::dockerignore::DockerIgnore;
use crate::yaml::{Node, Value};
use std::path::{Component, Path, PathBuf};

/// Build contexts, as normalised absolute paths.
#[derive(Clone, Debug, Default)]
pub(crate) struct BuildContexts {
    paths: Vec<PathBuf>,
}

impl BuildContexts {
    pub(crate) fn add(&mut self, ext: &Path, context: &str) {
        if context.contains("://") || context.starts_with("git@") {
            return;
        }
        self.paths.push(normalise(&ext.join(context)));
    }

    fn containing(&self, path: &Path) -> Option<&PathBuf> {
        self.paths.iter().find(|c| path.starts_with(c))
    }
}

/// What kind of bind mount this is (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MountClass {
    Source,
    Host,
    Data,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MountDecision {
    Keep,
    Drop {
        mount: String,
        reason: String,
    },
    Convert {
        mount: String,
        volume: String,
        reason: String,
    },
}

/// Decide what happens to one `volumes:` entry of service `service`.
pub(crate) fn decide(
    item: &Node,
    service: &str,
    ctx: &SyncContext<'_>,
    contexts: &BuildContexts,
) -> MountDecision {
    let (source, shown) = match &item.value {
        Value::Str(s) => match short_form_source(s) {
            Some(src) => (src.to_owned(), s.clone()),
            None => return MountDecision::Keep,
        },
        Value::Map(_) => {
            if item.get("type").and_then(Node::as_str) != Some("bind") {
                return MountDecision::Keep;
            }
            let src = item
                .get("source")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_owned();
            let target = item.get("target").and_then(Node::as_str).unwrap_or("");
            let shown = format!("{src}:{target}");
            (src, shown)
        }
        _ => return MountDecision::Keep,
    };
    let (class, why) = classify(&source, ctx.extension_path, contexts);
    match class {
        MountClass::Source | MountClass::Host => MountDecision::Drop {
            mount: shown,
            reason: why,
        },
        MountClass::Data => MountDecision::Convert {
            mount: shown,
            volume: volume_name(service, &target_of(item), &source),
            reason: why,
        },
    }
}

/// The host side of a short-form bind mount, or `None` for named and anonymous volumes.
fn short_form_source(s: &str) -> Option<&str> {
    let (source, _) = s.split_once(':')?;
    let is_path = source.starts_with(['.', '/', '~', '$']) || source.contains(['/', '\\']);
    is_path.then_some(source)
}

/// Classify a bind mount's host path.
pub(crate) fn classify(source: &str, ext: &Path, contexts: &BuildContexts) -> (MountClass, String) {
    let data = |what: &str| {
        (
            MountClass::Data,
            format!("{what}; its data needs a volume in App Garden"),
        )
    };
    let source = source
        .strip_prefix("${PWD}")
        .or_else(|| source.strip_prefix("$PWD"))
        .map_or_else(|| source.to_owned(), |rest| format!(".{rest}"));
    if source.starts_with('$') {
        return data("host path comes from a variable");
    }
    if source.starts_with('~') {
        return data("a folder in the host user's home");
    }
    if source.starts_with('/') {
        if is_host_integration(&source) {
            return (
                MountClass::Host,
                "host sockets and system paths do not exist in App Garden".into(),
            );
        }
        return data("an absolute host folder");
    }
    let resolved = normalise(&ext.join(&source));
    if let Some(ctx) = contexts.containing(&resolved) {
        let inside = resolved
            .strip_prefix(ctx)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !inside.is_empty() && DockerIgnore::for_context(ctx).excludes(&inside) {
            return data("its build context's .dockerignore leaves it out of the image");
        }
        let shown = ctx.strip_prefix(ext).map_or_else(
            |_| ctx.display().to_string(),
            |p| {
                if p.as_os_str().is_empty() {
                    ".".into()
                } else {
                    format!("./{}", p.display())
                }
            },
        );
        return (
            MountClass::Source,
            format!("it is inside build context `{shown}`, so the image already has it"),
        );
    }
    data("not part of any image build context")
}

fn is_host_integration(path: &str) -> bool {
    const SYSTEM: [&str; 6] = ["/var/run/", "/run/", "/dev/", "/proc/", "/sys/", "/etc/"];
    path.ends_with(".sock")
        || SYSTEM
            .iter()
            .any(|p| path.starts_with(p) || path == &p[..p.len() - 1])
}

/// The container path of a mount entry.
fn target_of(item: &Node) -> String {
    match &item.value {
        Value::Str(s) => s.split(':').nth(1).unwrap_or("").to_owned(),
        _ => item
            .get("target")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned(),
    }
}

/// `<service>_<last part of the container path>` (else of the host path), in the characters
/// volume names allow.
fn volume_name(service: &str, target: &str, source: &str) -> String {
    let last_part = |p: &str| {
        p.rsplit(['/', '\\'])
            .find(|c| !c.is_empty() && *c != "." && *c != ".." && *c != "~" && !c.starts_with('$'))
            .map(str::to_owned)
    };
    let base = last_part(target)
        .or_else(|| last_part(source))
        .unwrap_or_else(|| "data".to_owned());
    let clean = |s: &str| -> String {
        s.trim_start_matches('.')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}_{}", clean(service), clean(&base))
}

/// Point a converted mount at its named volume: `name:/target[:mode]`, or `type: volume` in
/// long form.
pub(crate) fn rewrite_source(item: &mut Node, volume: &str) {
    match &mut item.value {
        Value::Str(s) => {
            if let Some((_, rest)) = s.split_once(':') {
                *s = format!("{volume}:{rest}");
            }
        }
        Value::Map(m) => {
            super::map::set(m, "type", Node::str("volume"));
            super::map::set(m, "source", Node::str(volume));
            super::map::remove(m, "bind");
        }
        _ => {}
    }
}

/// Lexical normalisation (`a/./b/../c` → `a/c`) without touching the file system.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let tmp = tempfile::tempdir().expect("tmp");
        let ext = &tmp.path().join("apps/chat");
        std::fs::create_dir_all(ext).expect("mkdir");
        let mut ctx = BuildContexts::default();
        ctx.add(ext, "./frontend");
        assert_eq!(classify("./frontend/src", ext, &ctx).0, MountClass::Source);
        assert_eq!(classify("./data", ext, &ctx).0, MountClass::Data);
        assert_eq!(
            classify("/var/run/docker.sock", ext, &ctx).0,
            MountClass::Host
        );
        assert_eq!(classify("/etc", ext, &ctx).0, MountClass::Host);
        assert_eq!(classify("/srv/models", ext, &ctx).0, MountClass::Data);
        assert_eq!(classify("~/cfg", ext, &ctx).0, MountClass::Data);
        ctx.add(ext, ".");
        assert_eq!(classify("${PWD}", ext, &ctx).0, MountClass::Source);
        assert_eq!(classify("./data", ext, &ctx).0, MountClass::Source);
        assert_eq!(classify("../shared", ext, &ctx).0, MountClass::Data);
        std::fs::write(ext.join(".dockerignore"), "data\n").expect("write");
        assert_eq!(classify("./data/db", ext, &ctx).0, MountClass::Data);
        assert_eq!(classify("./src", ext, &ctx).0, MountClass::Source);
    }

    #[test]
    fn names() {
        assert_eq!(
            volume_name("backend", "/app/data", "./data"),
            "backend_data"
        );
        assert_eq!(volume_name("Api", "/root/.cache", "~/.cache"), "api_cache");
        assert_eq!(volume_name("api", "/workspace/k8s", "./../"), "api_k8s");
        assert_eq!(volume_name("api", "", "~"), "api_data");
        assert_eq!(short_form_source("data:/data"), None);
        assert_eq!(short_form_source("/anon"), None);
        assert_eq!(short_form_source("./x:/x:ro"), Some("./x"));
    }
}
