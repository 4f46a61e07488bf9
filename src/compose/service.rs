//! The per-service steps of the transform, in the reference's order: command, ports, volumes,
//! build → image, image tag, extra_hosts, resource limits. New keys are appended at the end of
//! the service, as Python dict assignment does.

use super::map;
use super::mounts::{self, BuildContexts};
use super::names::{MountDecision, MountPlan};
use super::{Note, NoteLevel, SyncContext};
use crate::imageref::{self, ImageRef};
use crate::yaml::{Node, Value};
use std::path::Path;

const GATEWAY_HOST: &str = "host.docker.internal";
const GATEWAY: &str = "host-gateway";

pub(crate) struct Step<'a, 'n> {
    pub(crate) ctx: &'a SyncContext<'a>,
    pub(crate) name: &'a str,
    /// The service's position in `services`, the key of its mount decisions.
    pub(crate) index: usize,
    pub(crate) plan: &'n mut MountPlan,
    /// Top-level secrets and configs with `file:` sources, which App Garden will not have.
    pub(crate) file_sourced: &'a FileSourced,
    pub(crate) notes: &'n mut Vec<Note>,
}

/// Names of the top-level secrets and configs whose source is a host `file:`.
#[derive(Debug, Default)]
pub(crate) struct FileSourced {
    pub(crate) secrets: std::collections::HashSet<String>,
    pub(crate) configs: std::collections::HashSet<String>,
}

/// Drop the top-level secrets and configs with `file:` sources; returns their names and notes
/// each one.
pub(crate) fn drop_file_sourced(top: &mut Vec<(Node, Node)>, notes: &mut Vec<Note>) -> FileSourced {
    let mut out = FileSourced::default();
    for key in ["secrets", "configs"] {
        let Some(Value::Map(entries)) = map::get_mut(top, key).map(|n| &mut n.value) else {
            continue;
        };
        let names = if key == "secrets" {
            &mut out.secrets
        } else {
            &mut out.configs
        };
        entries.retain(|(name, def)| {
            if def.get("file").is_none() {
                return true;
            }
            let name = name.py_str().unwrap_or_default();
            notes.push(Note {
                level: NoteLevel::Warning,
                service: None,
                line: Some(def.mark.line).filter(|l| *l > 0),
                message: format!("dropped top-level {key} entry `{name}`: its `file:` source does not ship with the extension"),
            });
            names.insert(name);
            false
        });
        if entries.is_empty() {
            map::remove(top, key);
        }
    }
    out
}

/// Build contexts of every service, resolved against the extension folder.
pub(crate) fn build_contexts(top: &[(Node, Node)], ext: &Path) -> BuildContexts {
    let mut out = BuildContexts::default();
    if let Some(Value::Map(services)) = map::get(top, "services").map(|s| &s.value) {
        for (_, svc) in services {
            let ctx = match svc.get("build").map(|b| &b.value) {
                Some(Value::Str(s)) => Some(s.as_str()),
                Some(Value::Map(_)) => svc
                    .get("build")
                    .and_then(|b| b.get("context"))
                    .and_then(Node::as_str),
                _ => None,
            };
            if let Some(c) = ctx {
                out.add(ext, c);
            } else if svc.get("build").is_some() {
                out.add(ext, ".");
            }
        }
    }
    out
}

impl Step<'_, '_> {
    fn note(&mut self, level: NoteLevel, line: u32, message: String) {
        self.notes.push(Note {
            level,
            service: Some(self.name.to_owned()),
            line: (line > 0).then_some(line),
            message,
        });
    }

    /// Transform one service in place; returns the named volumes it needs declared.
    pub(crate) fn run(&mut self, svc: &mut Node) -> Vec<String> {
        let line = svc.mark.line;
        let Value::Map(m) = &mut svc.value else {
            self.note(
                NoteLevel::Warning,
                line,
                "not a mapping; left as it is".into(),
            );
            return Vec::new();
        };
        self.host_only(m);
        self.command(m);
        self.ports(m);
        let volumes = self.volumes(m);
        let had_build = self.build(m);
        self.image_tag(m, had_build);
        self.extra_hosts(m);
        self.limits(m, line);
        volumes
    }

    /// `container_name`, `env_file` and references to file-sourced secrets and configs: what
    /// App Garden will not have (a fixed container name blocks a second deployment on the same
    /// host; the env file and secret files do not ship). Dropped with a warning each.
    fn host_only(&mut self, m: &mut Vec<(Node, Node)>) {
        if let Some(node) = map::remove(m, "container_name") {
            let shown = node.py_str().unwrap_or_default();
            self.note(
                NoteLevel::Warning,
                node.mark.line,
                format!("dropped `container_name: {shown}`: a fixed name blocks a second deployment on the same host"),
            );
        }
        if let Some(node) = map::remove(m, "env_file") {
            self.note(
                NoteLevel::Warning,
                node.mark.line,
                "dropped `env_file`: the file does not ship with the extension; set the variables under `environment`"
                    .into(),
            );
        }
        for (key, dropped) in [
            ("secrets", &self.file_sourced.secrets),
            ("configs", &self.file_sourced.configs),
        ] {
            let Some(Value::Seq(items)) = map::get_mut(m, key).map(|n| &mut n.value) else {
                continue;
            };
            let mut removed = Vec::new();
            items.retain(|item| {
                let name = item
                    .as_str()
                    .or_else(|| item.get("source").and_then(Node::as_str));
                match name {
                    Some(n) if dropped.contains(n) => {
                        removed.push((n.to_owned(), item.mark.line));
                        false
                    }
                    _ => true,
                }
            });
            let empty = items.is_empty();
            for (name, line) in removed {
                self.note(
                    NoteLevel::Warning,
                    line,
                    format!("dropped {key} entry `{name}`: its `file:` source does not ship with the extension"),
                );
            }
            if empty {
                map::remove(m, key);
            }
        }
    }

    /// A multi-line `sh -c` / `bash -c` string becomes an exec list with `$VAR` escaped to
    /// `$$VAR` (so the container's shell, not compose, expands it).
    fn command(&mut self, m: &mut [(Node, Node)]) {
        let Some(cmd) = map::get_mut(m, "command") else {
            return;
        };
        let Some(text) = cmd.as_str().filter(|s| s.contains('\n')) else {
            return;
        };
        for shell in ["sh", "bash"] {
            if let Some(rest) = text
                .strip_prefix(shell)
                .and_then(|r| r.strip_prefix(" -c "))
            {
                let script = escape_dollars(strip_quotes(rest.trim()));
                cmd.value = Value::Seq(vec![Node::str(shell), Node::str("-c"), Node::str(script)]);
                return;
            }
        }
    }

    fn ports(&mut self, m: &mut [(Node, Node)]) {
        let Some(Value::Seq(items)) = map::get_mut(m, "ports").map(|p| &mut p.value) else {
            return;
        };
        let mut kept = Vec::with_capacity(items.len());
        for item in items.drain(..) {
            let line = item.mark.line;
            let port = match &item.value {
                Value::Str(s) => Some(container_port(s).to_owned()),
                Value::Int(i) => Some(i.to_string()),
                Value::Map(_) => {
                    let long = long_form_port(&item);
                    if let Some(p) = &long {
                        self.note(
                            NoteLevel::Info,
                            line,
                            format!("long-form port kept as `{p}`"),
                        );
                    }
                    long
                }
                _ => None,
            };
            match port {
                Some(p) => kept.push(Node {
                    value: Value::Str(p),
                    mark: item.mark,
                }),
                None => self.note(
                    NoteLevel::Warning,
                    line,
                    format!("dropped port entry {}: not a port", item.kind()),
                ),
            }
        }
        *items = kept;
    }

    fn volumes(&mut self, m: &mut Vec<(Node, Node)>) -> Vec<String> {
        let mut declared = Vec::new();
        let Some(Value::Seq(items)) = map::get_mut(m, "volumes").map(|v| &mut v.value) else {
            return declared;
        };
        let mut kept = Vec::with_capacity(items.len());
        for (i, mut item) in items.drain(..).enumerate() {
            let line = item.mark.line;
            match self.plan.take(self.index, i) {
                MountDecision::Keep => kept.push(item),
                MountDecision::Drop { mount, reason } => {
                    self.note(
                        NoteLevel::Warning,
                        line,
                        format!("dropped bind mount `{mount}`: {reason}"),
                    );
                }
                MountDecision::Convert {
                    mount,
                    volume,
                    reason,
                } => {
                    mounts::rewrite_source(&mut item, &volume);
                    self.note(
                        NoteLevel::Warning,
                        line,
                        format!("bind mount `{mount}` became named volume `{volume}`: {reason}"),
                    );
                    declared.push(volume);
                    kept.push(item);
                }
            }
        }
        let empty = kept.is_empty();
        *items = kept;
        if empty {
            map::remove(m, "volumes");
        }
        declared
    }

    /// Drop `build`; a service without `image` gets THE image reference for it.
    fn build(&mut self, m: &mut Vec<(Node, Node)>) -> bool {
        let Some(build) = map::remove(m, "build") else {
            return false;
        };
        if map::get(m, "image").is_none() {
            match self.ctx.version {
                Some(version) => {
                    let image = imageref::extension_image(
                        self.ctx.settings,
                        self.ctx.extension_dir,
                        self.name,
                        version,
                        None,
                    );
                    self.note(NoteLevel::Info, build.mark.line, format!("added image `{image}`"));
                    m.push((Node::str("image"), Node::str(image)));
                }
                None => self.note(
                    NoteLevel::Warning,
                    build.mark.line,
                    "removed `build` but kamiwaza.json has no version, so no image could be named; \
                     add `image:` by hand"
                        .into(),
                ),
            }
        }
        true
    }

    /// Images in the workspace's namespace get the extension version as tag.
    fn image_tag(&mut self, m: &mut [(Node, Node)], had_build: bool) {
        let Some(version) = self.ctx.version else {
            return;
        };
        let Some(node) = map::get_mut(m, "image") else {
            return;
        };
        let line = node.mark.line;
        let Some(image) = node.as_str() else { return };
        if image.contains('$') {
            return;
        }
        let parsed = ImageRef::parse(image);
        if !parsed.in_namespace(&self.ctx.settings.namespace) {
            return;
        }
        if parsed.digest.is_some() {
            let msg = format!("`{image}` is pinned by digest; its tag was left alone");
            self.note(NoteLevel::Warning, line, msg);
            return;
        }
        let tag = imageref::version_tag(self.ctx.settings, version, None);
        let updated = parsed.with_tag(&tag).to_string();
        if updated != image {
            node.value = Value::Str(updated);
            if !had_build {
                self.note(NoteLevel::Info, line, format!("image tag set to `{tag}`"));
            }
        }
    }

    fn extra_hosts(&mut self, m: &mut Vec<(Node, Node)>) {
        let entry = format!("{GATEWAY_HOST}:{GATEWAY}");
        match map::get_mut(m, "extra_hosts") {
            None => m.push((
                Node::str("extra_hosts"),
                Node::new(Value::Seq(vec![Node::str(entry)])),
            )),
            Some(node) => match &mut node.value {
                Value::Null => node.value = Value::Seq(vec![Node::str(entry)]),
                Value::Seq(items) => {
                    if !items.iter().any(|i| i.as_str() == Some(&entry)) {
                        items.push(Node::str(entry));
                    }
                }
                Value::Map(hosts) => {
                    if map::get(hosts, GATEWAY_HOST).is_none() {
                        hosts.push((Node::str(GATEWAY_HOST), Node::str(GATEWAY)));
                    }
                }
                _ => {
                    let line = node.mark.line;
                    self.note(
                        NoteLevel::Warning,
                        line,
                        "`extra_hosts` is neither a list nor a mapping".into(),
                    );
                }
            },
        }
    }

    /// `deploy.resources.limits`, with defaults chosen from the image name when absent.
    fn limits(&mut self, m: &mut Vec<(Node, Node)>, line: u32) {
        let image = map::get(m, "image")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_lowercase();
        let deploy = ensure_map(m, "deploy");
        let Some(deploy) = deploy else {
            self.note(
                NoteLevel::Warning,
                line,
                "`deploy` is not a mapping; no resource limits added".into(),
            );
            return;
        };
        let Some(resources) = ensure_map(deploy, "resources") else {
            self.note(
                NoteLevel::Warning,
                line,
                "`deploy.resources` is not a mapping; no limits added".into(),
            );
            return;
        };
        if map::get(resources, "limits").is_none() {
            let (cpus, memory) = default_limits(&image);
            let limits = vec![
                (Node::str("cpus"), Node::str(cpus)),
                (Node::str("memory"), Node::str(memory)),
            ];
            resources.push((Node::str("limits"), Node::new(Value::Map(limits))));
        }
    }
}

/// The mapping under `key`, created (appended) when missing or null; `None` when it is
/// something else.
fn ensure_map<'m>(m: &'m mut Vec<(Node, Node)>, key: &str) -> Option<&'m mut Vec<(Node, Node)>> {
    let i = match map::index(m, key) {
        Some(i) => i,
        None => {
            m.push((Node::str(key), Node::new(Value::Null)));
            m.len() - 1
        }
    };
    let node = &mut m[i].1;
    if node.is_null() {
        node.value = Value::Map(Vec::new());
    }
    node.as_map_mut()
}

fn default_limits(image: &str) -> (&'static str, &'static str) {
    if image.contains("postgres") || image.contains("mysql") {
        ("0.5", "512M")
    } else if image.contains("redis") {
        ("0.25", "256M")
    } else if image.contains("frontend") || image.contains("nginx") {
        ("0.5", "512M")
    } else {
        ("1.0", "1G")
    }
}

fn strip_quotes(s: &str) -> &str {
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// `$NAME` → `$$NAME`; `$$` (already escaped), `${…}` and `$1` stay as written.
pub(crate) fn escape_dollars(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        match chars.peek() {
            Some('$') => {
                out.push('$');
                chars.next();
            }
            Some(n) if n.is_ascii_alphabetic() || *n == '_' => out.push('$'),
            _ => {}
        }
    }
    out
}

/// The container side of a short-form port: the part after the last `:` that is not inside
/// `${…}` or `[…]` (so `${HOST:-3001}:${PORT:-3001}` gives `${PORT:-3001}`).
pub(crate) fn container_port(s: &str) -> &str {
    let mut depth = 0i32;
    let mut last = None;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b':' if depth == 0 => last = Some(i),
            _ => {}
        }
    }
    last.map_or(s, |i| &s[i + 1..])
}

/// `{target: 80, published: 8080, protocol: udp}` → `80/udp`.
fn long_form_port(node: &Node) -> Option<String> {
    let target = node.get("target")?.py_str()?;
    let target = target
        .parse::<u32>()
        .ok()
        .map_or(target.clone(), |n| n.to_string());
    match node.get("protocol").and_then(Node::as_str) {
        Some(p) if !p.is_empty() && p != "tcp" => Some(format!("{target}/{p}")),
        _ => Some(target),
    }
}
