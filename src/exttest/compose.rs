//! What `kz test` needs from docker-compose.yml: per service its build context, image,
//! `environment:`, `depends_on:`, `healthcheck:`, `command:`/`entrypoint:` and named volumes.
//! Bind mounts are ignored on purpose (tests run without host mounts). Values are interpolated
//! with compose's `${VAR:-default}` defaults only: the host environment never leaks in.

use crate::error::{Error, Result};
use crate::fsx;
use crate::yaml::{self, Node, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One compose service, as far as a test run cares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Service {
    pub name: String,
    /// Absolute, normalised build context (`build:` string or `build.context`, `.` when absent).
    pub context: Option<PathBuf>,
    /// `image:` as written.
    pub image: Option<String>,
    /// `environment:` in file order, interpolated; entries without a value are left out.
    pub environment: Vec<(String, String)>,
    /// `depends_on:` in file order (list or mapping form).
    pub depends_on: Vec<String>,
    pub healthcheck: Option<Healthcheck>,
    /// `command:`: a list is exec form; a string is split like compose (shell words).
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// Named volumes the service mounts (`name:/path[:ro]`, long form `type: volume`).
    pub volumes: Vec<NamedVolume>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedVolume {
    pub name: String,
    pub target: String,
    pub read_only: bool,
}

/// `healthcheck:` of a service. `test` is the engine's form (`["CMD", ...]`, `["CMD-SHELL", s]`,
/// `["NONE"]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Healthcheck {
    pub test: Option<Vec<String>>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub retries: Option<u32>,
    pub disable: bool,
}

/// The services of a compose file, in file order.
#[derive(Clone, Debug, Default)]
pub struct ComposeFile {
    pub path: PathBuf,
    pub services: Vec<Service>,
}

impl ComposeFile {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// `name`'s dependencies, transitively, in start order (dependencies first), without `name`.
    /// Unknown names are errors; cycles are cut (compose refuses them; kz just stops there).
    /// A `name` that is not a service of the file (a tool built from its root Dockerfile without
    /// compose) has none.
    pub fn dependencies_of(&self, name: &str) -> Result<Vec<&Service>> {
        if self.service(name).is_none() {
            return Ok(Vec::new());
        }
        let mut order: Vec<&Service> = Vec::new();
        let mut visiting: Vec<&str> = Vec::new();
        self.visit(name, &mut visiting, &mut order)?;
        order.retain(|s| s.name != name);
        Ok(order)
    }

    fn visit<'a>(
        &'a self,
        name: &str,
        visiting: &mut Vec<&'a str>,
        order: &mut Vec<&'a Service>,
    ) -> Result<()> {
        if order.iter().any(|s| s.name == name) || visiting.contains(&name) {
            return Ok(());
        }
        let svc = self.service(name).ok_or_else(|| {
            Error::invalid(
                &self.path,
                format!("`depends_on` names `{name}`, which is not a service of this file"),
            )
        })?;
        visiting.push(&svc.name);
        for dep in &svc.depends_on {
            self.visit(dep, visiting, order)?;
        }
        visiting.pop();
        order.push(svc);
        Ok(())
    }
}

/// Read and parse `path` (docker-compose.yml); `ext` resolves relative build contexts.
pub fn load(path: &Path, ext: &Path) -> Result<ComposeFile> {
    let text = fsx::read_text(path, fsx::MAX_TEXT_FILE)?;
    parse(path, &text, ext)
}

pub fn parse(path: &Path, text: &str, ext: &Path) -> Result<ComposeFile> {
    let doc = yaml::load(text, &yaml::LoadLimits::default()).map_err(|source| Error::Yaml {
        path: path.to_owned(),
        source,
    })?;
    let mut file = ComposeFile {
        path: path.to_owned(),
        services: Vec::new(),
    };
    let Some(services) = doc.as_ref().and_then(|d| d.get("services")) else {
        return Ok(file);
    };
    let bad =
        |node: &Node, what: &str| Error::invalid(path, format!("line {}: {what}", node.mark.line));
    let entries = match &services.value {
        Value::Map(m) => m,
        Value::Null => return Ok(file),
        _ => return Err(bad(services, "`services` must be a mapping")),
    };
    for (key, svc) in entries {
        let name = key.py_str().unwrap_or_default();
        if !matches!(svc.value, Value::Map(_) | Value::Null) {
            return Err(bad(svc, &format!("service `{name}` must be a mapping")));
        }
        file.services.push(Service {
            context: context(svc, ext),
            image: svc
                .get("image")
                .and_then(Node::py_str)
                .map(|s| interpolate(&s)),
            environment: environment(svc.get("environment")),
            depends_on: depends_on(svc.get("depends_on")),
            healthcheck: svc.get("healthcheck").map(healthcheck),
            command: svc.get("command").and_then(words),
            entrypoint: svc.get("entrypoint").and_then(words),
            volumes: named_volumes(svc.get("volumes")),
            name,
        });
    }
    Ok(file)
}

fn context(svc: &Node, ext: &Path) -> Option<PathBuf> {
    let build = svc.get("build")?;
    let ctx = match &build.value {
        Value::Str(s) => interpolate(s),
        Value::Map(_) => build
            .get("context")
            .and_then(Node::py_str)
            .map_or_else(|| ".".to_owned(), |s| interpolate(&s)),
        _ => ".".to_owned(),
    };
    if ctx.contains("://") || ctx.starts_with("git@") {
        return None;
    }
    Some(normalise(&ext.join(ctx)))
}

pub(crate) use crate::fsx::normalise;

fn environment(node: Option<&Node>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => {
            for item in items {
                if let Some((k, v)) = item.py_str().as_deref().and_then(|s| s.split_once('=')) {
                    out.push((k.trim().to_owned(), interpolate(v)));
                }
                // `KEY` alone takes the host's value in compose: never passed to a test.
            }
        }
        Some(Value::Map(entries)) => {
            for (k, v) in entries {
                let (Some(key), false) = (k.py_str(), v.is_null()) else {
                    continue;
                };
                let value = match &v.value {
                    Value::Bool(b) => b.to_string(),
                    _ => v.py_str().unwrap_or_default(),
                };
                out.push((key, interpolate(&value)));
            }
        }
        _ => {}
    }
    out
}

fn depends_on(node: Option<&Node>) -> Vec<String> {
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => items.iter().filter_map(Node::py_str).collect(),
        Some(Value::Map(entries)) => entries.iter().filter_map(|(k, _)| k.py_str()).collect(),
        _ => Vec::new(),
    }
}

fn healthcheck(node: &Node) -> Healthcheck {
    let duration = |key: &str| {
        node.get(key)
            .and_then(Node::py_str)
            .and_then(|s| parse_duration(&s))
    };
    let test = node.get("test").and_then(|t| match &t.value {
        Value::Str(s) => Some(vec!["CMD-SHELL".to_owned(), s.clone()]),
        Value::Seq(items) => Some(items.iter().filter_map(Node::py_str).collect()),
        _ => None,
    });
    Healthcheck {
        test,
        interval: duration("interval"),
        timeout: duration("timeout"),
        start_period: duration("start_period"),
        retries: node.get("retries").and_then(|r| match r.value {
            Value::Int(n) => u32::try_from(n).ok(),
            _ => None,
        }),
        disable: matches!(
            node.get("disable").map(|d| &d.value),
            Some(Value::Bool(true))
        ),
    }
}

/// Compose durations: `1m30s`, `10s`, `500ms`, `2h`, `1.5s`.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * factor;
    }
    Some(Duration::from_secs_f64(total))
}

/// `command:` / `entrypoint:`: a list as is; a string split into shell words (quotes honoured).
fn words(node: &Node) -> Option<Vec<String>> {
    match &node.value {
        Value::Seq(items) => Some(items.iter().filter_map(Node::py_str).collect()),
        Value::Str(s) => Some(split_words(s)),
        _ => None,
    }
}

pub(crate) fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

fn named_volumes(node: Option<&Node>) -> Vec<NamedVolume> {
    let Some(Value::Seq(items)) = node.map(|n| &n.value) else {
        return Vec::new();
    };
    let is_named = |src: &str| {
        !src.is_empty()
            && !src.starts_with(['.', '/', '~', '$'])
            && src
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Str(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                if parts.len() >= 2 && is_named(parts[0]) {
                    out.push(NamedVolume {
                        name: parts[0].to_owned(),
                        target: parts[1].to_owned(),
                        read_only: parts
                            .get(2)
                            .is_some_and(|m| m.split(',').any(|o| o == "ro")),
                    });
                }
            }
            Value::Map(_) => {
                let get = |k: &str| item.get(k).and_then(Node::py_str);
                if get("type").as_deref() != Some("volume") {
                    continue;
                }
                if let (Some(src), Some(target)) = (get("source"), get("target")) {
                    if is_named(&src) {
                        out.push(NamedVolume {
                            name: src,
                            target,
                            read_only: matches!(
                                item.get("read_only").map(|r| &r.value),
                                Some(Value::Bool(true))
                            ),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Compose interpolation without a host environment: `${VAR:-default}` and `${VAR-default}`
/// give the default, `${VAR}` and `$VAR` give "", `$$` gives `$`.
pub(crate) fn interpolate(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = rest.strip_prefix('{') {
            match r.find('}') {
                Some(end) => {
                    let inner = &r[..end];
                    if let Some((_, default)) =
                        inner.split_once(":-").or_else(|| inner.split_once('-'))
                    {
                        out.push_str(default);
                    }
                    rest = &r[end + 1..];
                }
                None => {
                    out.push_str("${");
                    rest = r;
                }
            }
        } else {
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if name_len == 0 {
                out.push('$');
            }
            rest = &rest[name_len..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> ComposeFile {
        parse(Path::new("/x/docker-compose.yml"), text, Path::new("/x")).expect("parse")
    }

    #[test]
    fn services_with_contexts_env_and_dependencies() {
        let f = parse_str(
            "services:\n  frontend:\n    build: ./frontend\n    depends_on: [backend]\n    \
             environment:\n      - BACKEND_URL=http://backend:8000\n      - FROM_HOST\n  \
             backend:\n    build:\n      context: backend\n      dockerfile: Dockerfile.dev\n    \
             depends_on:\n      db: {condition: service_healthy}\n    environment:\n      \
             DEBUG: true\n      PORT: 8000\n      EMPTY:\n      LEVEL: ${LEVEL:-info}\n  \
             db:\n    image: busybox:latest\n    volumes: [\"dbdata:/var/lib/db\", \
             \"./init:/init\", \"/anon\", \"cache:/c:ro\"]\n",
        );
        let names: Vec<&str> = f.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["frontend", "backend", "db"]);
        let fe = f.service("frontend").expect("frontend");
        assert_eq!(fe.context.as_deref(), Some(Path::new("/x/frontend")));
        assert_eq!(
            fe.environment,
            [("BACKEND_URL".to_owned(), "http://backend:8000".to_owned())]
        );
        let be = f.service("backend").expect("backend");
        assert_eq!(be.context.as_deref(), Some(Path::new("/x/backend")));
        assert_eq!(be.depends_on, ["db"]);
        assert_eq!(
            be.environment,
            [
                ("DEBUG".to_owned(), "true".to_owned()),
                ("PORT".to_owned(), "8000".to_owned()),
                ("LEVEL".to_owned(), "info".to_owned())
            ]
        );
        let db = f.service("db").expect("db");
        assert_eq!(db.context, None);
        assert_eq!(
            db.volumes,
            [
                NamedVolume {
                    name: "dbdata".into(),
                    target: "/var/lib/db".into(),
                    read_only: false
                },
                NamedVolume {
                    name: "cache".into(),
                    target: "/c".into(),
                    read_only: true
                }
            ]
        );
        let deps: Vec<&str> = f
            .dependencies_of("frontend")
            .expect("deps")
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(deps, ["db", "backend"]);
    }

    #[test]
    fn unknown_dependencies_are_errors_and_cycles_end() {
        let f = parse_str("services:\n  a:\n    depends_on: [nope]\n");
        let err = f.dependencies_of("a").expect_err("unknown");
        assert!(err.to_string().contains("docker-compose.yml"), "{err}");
        assert!(f.dependencies_of("not-a-service").expect("none").is_empty());
        let f = parse_str("services:\n  a:\n    depends_on: [b]\n  b:\n    depends_on: [a]\n");
        let deps = f.dependencies_of("a").expect("cycle cut");
        assert_eq!(deps.len(), 1);
    }

    #[test]
    fn healthchecks_commands_and_durations() {
        let f = parse_str(
            "services:\n  db:\n    image: x\n    command: sh -c 'echo \"a b\"; sleep 1'\n    \
             entrypoint: [\"/bin/sh\", \"-c\"]\n    healthcheck:\n      test: wget -q -O- \
             http://localhost/\n      interval: 1m30s\n      timeout: 500ms\n      retries: 3\n",
        );
        let db = f.service("db").expect("db");
        assert_eq!(
            db.command.as_deref(),
            Some(
                &[
                    "sh".to_owned(),
                    "-c".to_owned(),
                    "echo \"a b\"; sleep 1".to_owned()
                ][..]
            )
        );
        assert_eq!(db.entrypoint.as_deref().map(<[String]>::len), Some(2));
        let hc = db.healthcheck.as_ref().expect("healthcheck");
        assert_eq!(
            hc.test.as_deref(),
            Some(
                &[
                    "CMD-SHELL".to_owned(),
                    "wget -q -O- http://localhost/".to_owned()
                ][..]
            )
        );
        assert_eq!(hc.interval, Some(Duration::from_secs(90)));
        assert_eq!(hc.timeout, Some(Duration::from_millis(500)));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn interpolation_never_reads_the_host() {
        assert_eq!(interpolate("${HOME}/x"), "/x");
        assert_eq!(interpolate("${A:-a}${B-b}$C.$$D"), "ab.$D");
        assert_eq!(interpolate("cost $ 5"), "cost $ 5");
        assert_eq!(interpolate("${open"), "${open");
    }

    #[test]
    fn bad_shapes_are_errors_naming_the_file() {
        let err =
            parse(Path::new("/x/dc.yml"), "services: [a]\n", Path::new("/x")).expect_err("list");
        assert!(err.to_string().contains("dc.yml"), "{err}");
        let f = parse_str("version: '3'\n");
        assert!(f.services.is_empty());
    }
}
