//! Bind mounts in App Garden files. A deployed extension has no source tree next to it, so a
//! bind mount cannot stay. What replaces it depends on what it mounts (the rule in README.md):
//!
//! * **file** — the host path is a file (from the git index inside a repository, else the
//!   working tree; a path that does not exist counts as a folder): configuration the image must
//!   carry. Dropped with a warning.
//! * **source** — the host path lies inside a build context of this compose file and that
//!   context's `.dockerignore` does not leave it out, or it is mounted `:ro` inside a build
//!   context. Its content is baked into the image; a volume there would shadow the image's code
//!   with an empty or stale copy. Dropped.
//! * **host** — sockets and host system paths (`/var/run/docker.sock`, `/etc`, `/dev`,
//!   `/lib/modules`, `/usr/src`, `/var/lib/docker`, `/boot`, `/`…): host integration no volume
//!   can stand in for. Dropped.
//! * **data** — everything else (`./data` listed in `.dockerignore`, `../models`, `~/cache`,
//!   `/srv/x`, `${DATA_DIR:-./data}`): state the service reads and writes. Converted to a named
//!   volume `<service>_<last part of the container path>` (`./data:/app/data` → `backend_data`,
//!   as the guide shows), declared at top level. A `:ro` data folder stays `:ro`, with a warning
//!   that it starts empty. Naming across the file (collisions, shared folders) is `names.rs`.
//!
//! Anonymous volumes (`/data`), named volumes (`cache:/cache`) and long-form `type: volume`
//! entries are kept as they are. Short forms are split at `:` outside `${…}`.

use crate::dockerignore::DockerIgnore;
use crate::yaml::{Node, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, LazyLock, Mutex};

/// Build contexts, as normalised absolute paths, each with its `.dockerignore` read once.
#[derive(Debug, Default)]
pub(crate) struct BuildContexts {
    paths: Vec<(PathBuf, DockerIgnore)>,
}

impl BuildContexts {
    pub(crate) fn add(&mut self, ext: &Path, context: &str) {
        if context.contains("://") || context.starts_with("git@") {
            return;
        }
        let path = normalise(&ext.join(context));
        if self.paths.iter().any(|(p, _)| *p == path) {
            return;
        }
        let ignore = DockerIgnore::for_context(&path);
        self.paths.push((path, ignore));
    }

    fn containing(&self, path: &Path) -> Option<&(PathBuf, DockerIgnore)> {
        self.paths.iter().find(|(c, _)| path.starts_with(c))
    }
}

/// What kind of bind mount this is (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MountClass {
    File,
    Source,
    Host,
    Data,
}

/// One `volumes:` entry, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) source: String,
    pub(crate) target: String,
    pub(crate) read_only: bool,
    /// The entry as the user wrote it, for messages.
    pub(crate) shown: String,
}

/// The bind mount in a `volumes:` entry, or `None` for named and anonymous volumes and
/// long-form entries that are not `type: bind`.
pub(crate) fn parse(item: &Node) -> Option<Mount> {
    match &item.value {
        Value::Str(s) => {
            let parts = split_unbraced(s);
            if parts.len() < 2 {
                return None;
            }
            let source = parts[0];
            let is_path = source.starts_with(['.', '/', '~', '$']) || source.contains(['/', '\\']);
            if !is_path {
                return None;
            }
            let read_only = parts
                .get(2)
                .is_some_and(|mode| mode.split(',').any(|m| m == "ro"));
            Some(Mount {
                source: source.to_owned(),
                target: parts[1].to_owned(),
                read_only,
                shown: s.clone(),
            })
        }
        Value::Map(_) => {
            if item.get("type").and_then(Node::as_str) != Some("bind") {
                return None;
            }
            let text = |k: &str| item.get(k).and_then(Node::py_str).unwrap_or_default();
            let (source, target) = (text("source"), text("target"));
            let read_only = matches!(
                item.get("read_only").map(|n| &n.value),
                Some(Value::Bool(true))
            );
            Some(Mount {
                shown: format!("{source}:{target}"),
                source,
                target,
                read_only,
            })
        }
        _ => None,
    }
}

/// `s` split at `:` outside `${…}` (so `${DIR:-/srv}:/data:ro` has three parts).
pub(crate) fn split_unbraced(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

/// Classify a bind mount's host path; the reason is for the user. `files` answers whether a
/// path inside the extension is a file.
pub(crate) fn classify(
    mount: &Mount,
    ext: &Path,
    contexts: &BuildContexts,
    files: &FileKinds,
) -> (MountClass, String) {
    let data = |what: &str| {
        (
            MountClass::Data,
            format!("{what}; its data needs a volume in App Garden"),
        )
    };
    let source = &mount.source;
    let source = source
        .strip_prefix("${PWD}")
        .or_else(|| source.strip_prefix("$PWD"))
        .map_or_else(|| source.clone(), |rest| format!(".{rest}"));
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
    if files.is_file(&resolved) {
        return (
            MountClass::File,
            "it is a file (configuration): the image must carry it, App Garden has no host files"
                .into(),
        );
    }
    if let Some((ctx, ignore)) = contexts.containing(&resolved) {
        let inside = resolved
            .strip_prefix(ctx)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
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
        if mount.read_only {
            return (
                MountClass::Source,
                format!("it is mounted read-only inside build context `{shown}`: the image must carry it"),
            );
        }
        if !inside.is_empty() && ignore.excludes(&inside) {
            return data("its build context's .dockerignore leaves it out of the image");
        }
        return (
            MountClass::Source,
            format!("it is inside build context `{shown}`, so the image already has it"),
        );
    }
    data("not part of any image build context")
}

/// Host paths that are host integration, not data.
fn is_host_integration(path: &str) -> bool {
    const SYSTEM: [&str; 16] = [
        "/var/run",
        "/run",
        "/dev",
        "/proc",
        "/sys",
        "/etc",
        "/lib",
        "/lib64",
        "/usr",
        "/bin",
        "/sbin",
        "/boot",
        "/var/lib/docker",
        "/var/lib/containerd",
        "/var/log",
        "/tmp/.X11-unix",
    ];
    let trimmed = path.trim_end_matches('/');
    trimmed.is_empty()
        || path.ends_with(".sock")
        || SYSTEM
            .iter()
            .any(|p| trimmed == *p || trimmed.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// Whether a bind source is the Docker socket (validate makes it an error).
pub(crate) fn is_docker_socket(source: &str) -> bool {
    source.trim_end_matches('/').ends_with("/docker.sock")
}

/// File-or-folder answers for paths inside the extension, decided from committed state: the
/// git index when the extension is inside a repository, else the working tree. A path that
/// does not exist counts as a folder.
pub(crate) struct FileKinds {
    index: Option<Arc<HashSet<PathBuf>>>,
}

/// Tracked files of each repository, listed once per process.
type Tracked = Option<Arc<HashSet<PathBuf>>>;
static INDEXES: LazyLock<Mutex<HashMap<PathBuf, Tracked>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

impl FileKinds {
    /// For the extension at `ext` (an absolute path).
    pub(crate) fn for_extension(ext: &Path) -> FileKinds {
        let root = ext.ancestors().find(|a| a.join(".git").exists());
        let index = root.and_then(|root| {
            let mut cache = INDEXES
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .entry(root.to_path_buf())
                .or_insert_with(|| tracked_files(root).map(Arc::new))
                .clone()
        });
        FileKinds { index }
    }

    /// The working tree only (tests, and folders outside any repository).
    #[cfg(test)]
    pub(crate) fn working_tree() -> FileKinds {
        FileKinds { index: None }
    }

    fn is_file(&self, path: &Path) -> bool {
        match &self.index {
            Some(index) => index.contains(path),
            None => path.is_file(),
        }
    }
}

/// `git ls-files` of the repository at `root`, as absolute paths; `None` when git is missing
/// or fails (then the working tree decides).
fn tracked_files(root: &Path) -> Option<HashSet<PathBuf>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--full-name"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8(output.stdout).ok()?;
    Some(
        text.split('\0')
            .filter(|p| !p.is_empty())
            .map(|p| normalise(&root.join(p)))
            .collect(),
    )
}

/// `<service>_<last part of the container path>` (else of the host path), in the characters
/// volume names allow: the name a mount that collides with nothing keeps.
pub(crate) fn volume_name(service: &str, target: &str, source: &str) -> String {
    let base = last_part(target)
        .or_else(|| last_part(source))
        .unwrap_or_else(|| "data".to_owned());
    format!("{}_{}", clean_name(service), clean_name(&base))
}

fn last_part(p: &str) -> Option<String> {
    p.rsplit(['/', '\\'])
        .find(|c| !c.is_empty() && *c != "." && *c != ".." && *c != "~" && !c.starts_with('$'))
        .map(str::to_owned)
}

pub(crate) fn clean_name(s: &str) -> String {
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
}

/// The identity of a data mount's host folder: the same text for every service that mounts
/// the same folder (`./logs`, `./logs/` and `${PWD}/logs` are one folder).
pub(crate) fn host_key(source: &str, ext: &Path) -> String {
    let source = source
        .strip_prefix("${PWD}")
        .or_else(|| source.strip_prefix("$PWD"))
        .map_or_else(|| source.to_owned(), |rest| format!(".{rest}"));
    if source.starts_with(['$', '~', '/']) {
        let trimmed = source.trim_end_matches('/');
        return if trimmed.is_empty() {
            "/".into()
        } else {
            trimmed.to_owned()
        };
    }
    normalise(&ext.join(&source)).to_string_lossy().into_owned()
}

/// A volume name derived from the host path (`./a/config` → `a_config`,
/// `${AIRFLOW_PROJ_DIR:-.}/dags` → `airflow_proj_dir_dags`, `~/.cache` → `home_cache`), for
/// folders that are shared or whose usual name collides.
pub(crate) fn host_name(source: &str) -> String {
    let mut parts = Vec::new();
    for part in split_path(source) {
        let part = if let Some(var) = part.strip_prefix("${") {
            var.split([':', '-', '?', '}'])
                .next()
                .unwrap_or("")
                .to_owned()
        } else if let Some(var) = part.strip_prefix('$') {
            var.to_owned()
        } else if part == "~" {
            "home".to_owned()
        } else {
            part.to_owned()
        };
        let cleaned = clean_name(&part);
        let cleaned = cleaned.trim_matches('_');
        if !cleaned.is_empty() {
            parts.push(cleaned.to_owned());
        }
    }
    if parts.is_empty() {
        "data".to_owned()
    } else {
        parts.join("_")
    }
}

/// Path parts of a host source, with `${…}` kept whole; `.` and `..` dropped.
fn split_path(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, b) in source.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b'/' | b'\\' if depth == 0 => {
                out.push(&source[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&source[start..]);
    out.retain(|p| !p.is_empty() && *p != "." && *p != "..");
    out
}

/// Point a converted mount at its named volume: `name:/target[:mode]`, or `type: volume` in
/// long form.
pub(crate) fn rewrite_source(item: &mut Node, volume: &str) {
    match &mut item.value {
        Value::Str(s) => {
            let parts = split_unbraced(s);
            if parts.len() > 1 {
                *s = format!("{volume}:{}", parts[1..].join(":"));
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

    fn class(source: &str, ext: &Path, ctx: &BuildContexts) -> MountClass {
        let item = Node::str(format!("{source}:/x"));
        let mount = parse(&item).expect("a bind mount");
        classify(&mount, ext, ctx, &FileKinds::working_tree()).0
    }

    #[test]
    fn classification() {
        let tmp = tempfile::tempdir().expect("tmp");
        let ext = &tmp.path().join("apps/chat");
        std::fs::create_dir_all(ext).expect("mkdir");
        let mut ctx = BuildContexts::default();
        ctx.add(ext, "./frontend");
        assert_eq!(class("./frontend/src", ext, &ctx), MountClass::Source);
        assert_eq!(class("./data", ext, &ctx), MountClass::Data);
        assert_eq!(class("/var/run/docker.sock", ext, &ctx), MountClass::Host);
        assert_eq!(class("/etc", ext, &ctx), MountClass::Host);
        assert_eq!(class("/srv/models", ext, &ctx), MountClass::Data);
        assert_eq!(class("/usrdata", ext, &ctx), MountClass::Data);
        assert_eq!(class("/lib/modules", ext, &ctx), MountClass::Host);
        assert_eq!(class("~/cfg", ext, &ctx), MountClass::Data);
        std::fs::write(ext.join(".dockerignore"), "data\n").expect("write");
        ctx.add(ext, ".");
        assert_eq!(class("${PWD}", ext, &ctx), MountClass::Source);
        assert_eq!(class("../shared", ext, &ctx), MountClass::Data);
        assert_eq!(class("./data/db", ext, &ctx), MountClass::Data);
        assert_eq!(class("./src", ext, &ctx), MountClass::Source);
        std::fs::write(ext.join("app.conf"), "x").expect("write");
        assert_eq!(class("./app.conf", ext, &ctx), MountClass::File);
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
        assert_eq!(host_name("./a/config"), "a_config");
        assert_eq!(
            host_name("${AIRFLOW_PROJ_DIR:-.}/dags"),
            "airflow_proj_dir_dags"
        );
        assert_eq!(host_name("~/.cache"), "home_cache");
        assert_eq!(host_name("/"), "data");
        assert_eq!(parse(&Node::str("data:/data")), None);
        assert_eq!(parse(&Node::str("/anon")), None);
        let m = parse(&Node::str("${D:-/srv}:/x:ro,z")).expect("bind");
        assert_eq!(
            (m.source.as_str(), m.target.as_str(), m.read_only),
            ("${D:-/srv}", "/x", true)
        );
        assert_eq!(split_unbraced("a:${B:-c:d}:e"), ["a", "${B:-c:d}", "e"]);
        let ext = Path::new("/w/ext");
        assert_eq!(host_key("./logs/", ext), host_key("${PWD}/logs", ext));
    }
}
