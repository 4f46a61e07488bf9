//! `compose/*`: the reference's validate-compose checks over `docker-compose.appgarden.yml`
//! (spec §3), on the YAML tree with line marks, with its bugs fixed (§16.2, §16.5):
//!
//! * wrong shapes are findings, never crashes (`services: null`, `deploy: null`, a string where
//!   a list belongs);
//! * `extra_hosts` may be a mapping (`host.docker.internal: host-gateway`);
//! * bind mounts are what Docker mounts from the host: `.:/app`, `${PWD}:/app`, `~/x:/x` and
//!   `C:\x:/x` are; an anonymous volume (`/data`) is not;
//! * ports are read with `${VAR:-default}` intact (`${PORT:-8000}` binds no host port), and an
//!   unquoted `8000:8000`, which YAML 1.1 reads as a base-60 integer, still counts as a mapping;
//! * images use Docker's grammar (registry ports and digests are fine, upper case is not); an
//!   image built from variables is a warning, since compose fills it in at deploy time.
//!
//! File selection follows §3: only the App Garden file is checked. A missing file is reported
//! here only for tools; for apps and services `metadata/appgarden-missing` already says so.

use super::{code, imagefmt, read_problem, Sink};
use crate::compose::{APPGARDEN_FILE, DEV_FILE};
use crate::fsx;
use crate::manifest::Manifest;
use crate::workspace::Kind;
use crate::yaml::{self, LoadLimits, Mark, Node, Value, YamlError};

const HOST: &str = "host.docker.internal";

/// Check the extension's App Garden compose file.
/// Run the compose rules. `manifest` is the extension's kamiwaza.json, when it parsed.
pub(crate) fn check(sink: &mut Sink<'_>, manifest: Option<&Manifest>) {
    let ext = sink.extension;
    deploy::dev_file_socket(sink);
    let path = ext.file(APPGARDEN_FILE);
    if !path.is_file() {
        missing_file(sink, manifest);
        return;
    }
    let text = match fsx::read_text(&path, fsx::MAX_GENERATED_FILE) {
        Ok(text) => text,
        Err(e) => {
            let (line, message) = read_problem(APPGARDEN_FILE, &e);
            sink.push("compose/unreadable", APPGARDEN_FILE, line, message);
            return;
        }
    };
    let doc = match yaml::load_compose(&text, &LoadLimits::default()) {
        Ok(doc) => doc,
        Err(e) => {
            let (line, message) = yaml_problem(&e);
            sink.push("compose/invalid-yaml", APPGARDEN_FILE, line, message);
            return;
        }
    };
    match doc {
        Some(doc) if !is_empty(&doc) => Doc { sink, text: &text }.check(&doc),
        // A blank file of an app or service is `metadata/appgarden-empty`.
        _ if text.trim().is_empty() && ext.kind != Kind::Tool => {}
        _ => {
            let message =
                "docker-compose.appgarden.yml holds no YAML document, or an empty one".to_owned();
            sink.push("compose/empty", APPGARDEN_FILE, None, message);
        }
    }
}

/// No App Garden file. Apps and services: `metadata/appgarden-missing` covers it. Tools: the
/// catalogue build embeds the App Garden form of the dev file, or deploys the `image` alone.
fn missing_file(sink: &mut Sink<'_>, manifest: Option<&Manifest>) {
    let ext = sink.extension;
    if ext.kind != Kind::Tool {
        return;
    }
    if ext.file(DEV_FILE).is_file() {
        let message = "no docker-compose.appgarden.yml: the catalogue build embeds what `kz sync-compose` would \
                       generate from docker-compose.yml, unchecked; run `kz sync-compose` to write it, so it is checked"
            .to_owned();
        sink.push("compose/appgarden-missing", APPGARDEN_FILE, None, message);
    } else if manifest.is_some_and(|m| m.get("image").is_some()) {
        let message =
            "no compose file: this tool is deployed from the `image` in kamiwaza.json alone, \
                       so the compose checks do not apply"
                .to_owned();
        sink.push("compose/missing", APPGARDEN_FILE, None, message);
    }
    // Neither a compose file nor an image: `metadata/tool-image-or-compose`.
}

fn yaml_problem(e: &YamlError) -> (Option<u32>, String) {
    match e {
        YamlError::Syntax { message, line, col } => (
            Some(*line),
            format!("invalid YAML: {message} (column {col})"),
        ),
        YamlError::TooManyNodes { line, .. }
        | YamlError::TooDeep { line, .. }
        | YamlError::UnknownAlias { line, .. }
        | YamlError::BadMerge { line } => (Some(*line), format!("invalid YAML: {e}")),
        YamlError::MultipleDocuments { .. } => (None, format!("invalid YAML: {e}")),
    }
}

fn is_empty(doc: &Node) -> bool {
    doc.is_null() || doc.as_map().is_some_and(Vec::is_empty)
}

/// The key and the value of `key` in a mapping node (the last one wins, as in PyYAML).
fn entry<'n>(node: &'n Node, key: &str) -> Option<(&'n Node, &'n Node)> {
    node.as_map()?
        .iter()
        .rev()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(k, v)| (k, v))
}

/// One service: its name and the line of its key.
struct Service<'n> {
    name: String,
    line: u32,
    node: &'n Node,
}

impl Service<'_> {
    fn shown(&self) -> String {
        code(&self.name)
    }
}

struct Doc<'s, 'a> {
    sink: &'s mut Sink<'a>,
    text: &'s str,
}

impl Doc<'_, '_> {
    fn push(&mut self, rule: &'static str, line: u32, message: String) {
        self.sink
            .push(rule, APPGARDEN_FILE, Some(line).filter(|l| *l > 0), message);
    }

    fn check(&mut self, doc: &Node) {
        if doc.as_map().is_none() {
            let message = format!(
                "the compose file must be a mapping with a `services` section, got {}",
                doc.kind()
            );
            self.push("compose/no-services", doc.mark.line, message);
            return;
        }
        match entry(doc, "services") {
            Some((key, services)) => self.services(key, services),
            None => {
                let message = "no `services` section".to_owned();
                self.sink
                    .push("compose/no-services", APPGARDEN_FILE, None, message);
            }
        }
        if let Some((key, volumes)) = entry(doc, "volumes") {
            self.top_volumes(key, volumes);
        }
        self.file_sources(doc);
    }

    fn services(&mut self, key: &Node, services: &Node) {
        match &services.value {
            Value::Map(list) if !list.is_empty() => {
                for (name, node) in list {
                    let name_text = name.py_str().unwrap_or_else(|| "?".to_owned());
                    self.service(&Service {
                        name: name_text,
                        line: name.mark.line,
                        node,
                    });
                }
            }
            Value::Map(_) | Value::Null => {
                let message = "`services` is empty; App Garden has nothing to run".to_owned();
                self.push("compose/no-services", key.mark.line, message);
            }
            _ => {
                let message = format!(
                    "`services` must be a mapping of service names to definitions, got {}",
                    services.kind()
                );
                self.push("compose/no-services", key.mark.line, message);
            }
        }
    }

    fn service(&mut self, s: &Service<'_>) {
        if s.node.as_map().is_none() {
            let message = format!(
                "service {} must be a mapping, got {}",
                s.shown(),
                s.node.kind()
            );
            self.push("compose/service-type", s.line, message);
            return;
        }
        self.ports(s);
        self.volumes(s);
        self.build(s);
        self.extra_hosts(s);
        self.limits(s);
        self.image(s);
        self.host_only(s);
    }

    /// The items of the list field `key` of a service; another shape is `compose/field-type`.
    fn list_items<'n>(&mut self, s: &Service<'n>, key: &str) -> &'n [Node] {
        match entry(s.node, key) {
            None => &[],
            Some((
                _,
                Node {
                    value: Value::Seq(items),
                    ..
                },
            )) => items,
            Some((
                _,
                Node {
                    value: Value::Null, ..
                },
            )) => &[],
            Some((k, v)) => {
                let message = format!(
                    "`{key}` of service {} must be a list, got {}",
                    s.shown(),
                    v.kind()
                );
                self.push("compose/field-type", k.mark.line, message);
                &[]
            }
        }
    }

    fn ports(&mut self, s: &Service<'_>) {
        for item in self.list_items(s, "ports") {
            match &item.value {
                Value::Str(port) => self.short_port(s, item.mark.line, port),
                // `8000:8000` unquoted is a YAML 1.1 base-60 integer; Docker reads the text.
                Value::Int(_) => {
                    if let Some(raw) =
                        raw_scalar(self.text, item.mark).filter(|raw| raw.contains(':'))
                    {
                        self.short_port(s, item.mark.line, raw);
                    }
                }
                Value::Map(_) => {
                    let Some((key, published)) = entry(item, "published") else {
                        continue;
                    };
                    if published.is_null() {
                        continue;
                    }
                    let shown = published
                        .py_str()
                        .map_or_else(|| published.kind().to_owned(), |p| code(&p));
                    let message = format!(
                        "a port of service {} publishes host port {shown}; remove `published`, App Garden assigns host ports",
                        s.shown()
                    );
                    self.push("compose/host-port", key.mark.line, message);
                }
                _ => {}
            }
        }
    }

    fn short_port(&mut self, s: &Service<'_>, line: u32, port: &str) {
        let parts = split_unbraced(port, ':');
        let Some(container) = parts
            .last()
            .filter(|_| parts.len() > 1 && !port.starts_with(':'))
        else {
            return;
        };
        let message = format!(
            "port {} of service {} binds a host port; list only the container port, {}",
            code(port),
            s.shown(),
            code(container)
        );
        self.push("compose/host-port", line, message);
    }

    fn volumes(&mut self, s: &Service<'_>) {
        for item in self.list_items(s, "volumes") {
            let source = match &item.value {
                Value::Str(volume) => bind_source(volume).map(|src| (code(volume), src)),
                Value::Map(_) => {
                    let is_bind = entry(item, "type").and_then(|(_, t)| t.as_str()) == Some("bind");
                    let src = entry(item, "source")
                        .and_then(|(_, v)| v.py_str())
                        .unwrap_or_default();
                    is_bind.then(|| ("`type: bind`".to_owned(), src))
                }
                _ => None,
            };
            if let Some((shown, src)) = source {
                let message = format!(
                    "volume {shown} of service {} bind-mounts host path {}; App Garden allows only named volumes (`kz sync-compose` converts bind mounts)",
                    s.shown(),
                    code(&src)
                );
                self.push("compose/bind-mount", item.mark.line, message);
            }
        }
    }

    fn build(&mut self, s: &Service<'_>) {
        let Some((key, _)) = entry(s.node, "build") else {
            return;
        };
        let message = format!(
            "service {} has a `build` section; App Garden runs pre-built images only: set `image` and remove `build` (`kz sync-compose` does this)",
            s.shown()
        );
        self.push("compose/build-section", key.mark.line, message);
    }

    fn extra_hosts(&mut self, s: &Service<'_>) {
        if !self.uses_host(s) {
            return;
        }
        let fix = "add `host.docker.internal:host-gateway`";
        match entry(s.node, "extra_hosts") {
            None => {
                let message = format!(
                    "service {} uses {HOST} but has no `extra_hosts`; {fix}",
                    s.shown()
                );
                self.push("compose/extra-hosts", s.line, message);
            }
            Some((key, hosts)) => match maps_gateway(hosts) {
                Some(true) => {}
                Some(false) => {
                    let message = format!(
                        "`extra_hosts` of service {} does not map {HOST} to host-gateway; {fix}",
                        s.shown()
                    );
                    self.push("compose/extra-hosts", key.mark.line, message);
                }
                None => {
                    let message = format!(
                        "`extra_hosts` of service {} must be a list or a mapping, got {}",
                        s.shown(),
                        hosts.kind()
                    );
                    self.push("compose/field-type", key.mark.line, message);
                }
            },
        }
    }

    /// Whether the service's environment mentions host.docker.internal (values only, as the
    /// reference looks).
    fn uses_host(&mut self, s: &Service<'_>) -> bool {
        let Some((key, env)) = entry(s.node, "environment") else {
            return false;
        };
        match &env.value {
            Value::Seq(items) => items
                .iter()
                .any(|i| i.as_str().is_some_and(|t| t.contains(HOST))),
            Value::Map(pairs) => pairs
                .iter()
                .any(|(_, v)| v.py_str().is_some_and(|t| t.contains(HOST))),
            Value::Null => false,
            _ => {
                let message = format!(
                    "`environment` of service {} must be a list or a mapping, got {}",
                    s.shown(),
                    env.kind()
                );
                self.push("compose/field-type", key.mark.line, message);
                false
            }
        }
    }

    fn limits(&mut self, s: &Service<'_>) {
        let deploy = entry(s.node, "deploy");
        let has_limits = deploy
            .and_then(|(_, d)| d.get("resources"))
            .is_some_and(|resources| resources.get("limits").is_some());
        if has_limits {
            return;
        }
        // The value's line: with merge keys, the key node may be the merged one.
        let line = deploy.map_or(s.line, |(key, value)| {
            if value.mark.line > 0 {
                value.mark.line
            } else {
                key.mark.line
            }
        });
        let message = format!(
            "service {} has no resource limits; add `deploy.resources.limits` (e.g. `cpus: \"1.0\"`, `memory: 1G`)",
            s.shown()
        );
        self.push("compose/resource-limits", line, message);
    }

    fn image(&mut self, s: &Service<'_>) {
        let Some((key, image)) = entry(s.node, "image") else {
            if entry(s.node, "build").is_none() && entry(s.node, "extends").is_none() {
                let message = format!(
                    "service {} has no `image`; App Garden needs a pre-built image",
                    s.shown()
                );
                self.push("compose/image-format", s.line, message);
            }
            return;
        };
        let line = key.mark.line;
        match image.as_str() {
            None => {
                let message = format!(
                    "`image` of service {} must be a string, got {}",
                    s.shown(),
                    image.kind()
                );
                self.push("compose/image-format", line, message);
            }
            Some(text) if text.contains('$') => {
                let message = format!(
                    "image {} of service {} uses a variable; compose fills it in at deploy time, so kz cannot check it",
                    code(text),
                    s.shown()
                );
                self.push("compose/image-variable", line, message);
            }
            Some(text) => {
                if let Some(why) = imagefmt::problem(text) {
                    let message = format!(
                        "image {} of service {} is not a valid image reference: {why}",
                        code(text),
                        s.shown()
                    );
                    self.push("compose/image-format", line, message);
                }
            }
        }
    }

    fn top_volumes(&mut self, key: &Node, volumes: &Node) {
        match &volumes.value {
            Value::Map(defs) => {
                for (name, def) in defs {
                    self.volume_definition(name, def);
                }
            }
            Value::Null => {}
            _ => {
                let message = format!(
                    "top-level `volumes` must be a mapping of volume names, got {}",
                    volumes.kind()
                );
                self.push("compose/field-type", key.mark.line, message);
            }
        }
    }

    /// A named volume whose `driver_opts` bind a host folder (`device: /host/path`, `o: bind`).
    fn volume_definition(&mut self, name: &Node, def: &Node) {
        let Some((key, opts)) = entry(def, "driver_opts") else {
            return;
        };
        let Some(pairs) = opts.as_map() else { return };
        let device = pairs
            .iter()
            .filter(|(k, _)| k.as_str().is_some_and(|k| k.contains("device")))
            .filter_map(|(_, v)| v.py_str())
            .find(|d| is_host_path(d));
        let bind_option = entry(opts, "o")
            .and_then(|(_, o)| o.py_str())
            .is_some_and(|o| {
                o.split(',')
                    .any(|opt| matches!(opt.trim(), "bind" | "rbind"))
            });
        if device.is_none() && !bind_option {
            return;
        }
        let what = device.map_or_else(
            || "a host folder (`o: bind`)".to_owned(),
            |d| format!("host path {}", code(&d)),
        );
        let message = format!(
            "volume {} mounts {what} through `driver_opts`; App Garden volumes cannot use host paths, remove `driver_opts`",
            code(&name.py_str().unwrap_or_else(|| "?".to_owned()))
        );
        self.push("compose/volume-host-path", key.mark.line, message);
    }
}

/// Does an `extra_hosts` value map host.docker.internal to host-gateway? `None`: wrong shape.
fn maps_gateway(hosts: &Node) -> Option<bool> {
    let is_gateway = |n: &Node| n.as_str().is_some_and(|a| a.trim() == "host-gateway");
    match &hosts.value {
        Value::Seq(items) => Some(items.iter().any(|item| {
            item.as_str()
                .and_then(|e| e.split_once([':', '=']))
                .is_some_and(|(host, addr)| host.trim() == HOST && addr.trim() == "host-gateway")
        })),
        Value::Map(pairs) => Some(pairs.iter().any(|(k, v)| {
            k.as_str().is_some_and(|k| k.trim() == HOST)
                && (is_gateway(v) || v.as_seq().is_some_and(|addrs| addrs.iter().any(is_gateway)))
        })),
        Value::Null => Some(false),
        _ => None,
    }
}

/// The host side of a short-form volume when it is a bind mount; `None` for named volumes
/// (`data:/data`) and anonymous ones (`/data`).
fn bind_source(volume: &str) -> Option<String> {
    let parts = split_unbraced(volume, ':');
    let (first, rest) = parts.split_first()?;
    let next = rest.first()?;
    if rest.len() > 1 && is_drive_letter(first) && next.starts_with(['\\', '/']) {
        return Some(format!("{first}:{next}"));
    }
    let is_path = first.starts_with(['.', '/', '~', '$']) || first.contains(['/', '\\']);
    is_path.then(|| (*first).to_owned())
}

fn is_drive_letter(s: &str) -> bool {
    s.len() == 1 && s.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_host_path(device: &str) -> bool {
    let drive = device
        .split_once(':')
        .is_some_and(|(d, rest)| is_drive_letter(d) && rest.starts_with(['\\', '/']));
    drive || device.starts_with(['/', '.', '~', '$']) || device.contains('\\')
}

/// Split at `sep`, but not inside `${…}` (`${HOST_PORT:-3001}:3001` has two parts).
fn split_unbraced(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut prev = None;
    for (i, c) in s.char_indices() {
        match c {
            '{' if prev == Some('$') => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
        prev = Some(c);
    }
    parts.push(&s[start..]);
    parts
}

/// The source text of the plain scalar at `mark` (up to whitespace or a flow indicator).
fn raw_scalar(text: &str, mark: Mark) -> Option<&str> {
    let line = text
        .lines()
        .nth(usize::try_from(mark.line.checked_sub(1)?).ok()?)?;
    let col = usize::try_from(mark.col.checked_sub(1)?).ok()?;
    let start = line.char_indices().nth(col)?.0;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|s| !s.is_empty())
}

mod deploy;
#[cfg(test)]
mod tests;
