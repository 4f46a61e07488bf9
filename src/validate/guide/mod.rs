//! The developer guide's deployment pitfalls as rules (issue 22): reserved variables the
//! platform injects, template placeholders it does not substitute, `localhost` URLs between
//! services, `NEXT_PUBLIC_*` values set after `next build`, `$` left for Compose to eat in a
//! `command:`, and the "Common Networking Mistakes" of publishing ports beside a proxy.
//!
//! Which file: the environment and networking rules read the file App Garden deploys
//! (docker-compose.appgarden.yml, else docker-compose.yml for a tool that has only that); the
//! build side (Dockerfile `EXPOSE`, `ARG`, `next build`, build args) comes from the dev file's
//! `build:` blocks, matched by service name. The `$` rule reads both files: both are run.
//! A file that does not load is left to `compose/*` (nothing is said twice).

mod build;
pub(crate) mod env;
mod net;
#[cfg(test)]
mod tests;

use env::RESERVED;

use super::{code, Sink};
use crate::compose::{APPGARDEN_FILE, DEV_FILE};
use crate::manifest::{Manifest, FILE_NAME};
use crate::yaml::{self, LoadLimits, Node, Value};

/// The guide's words for each fix, quoted in the messages.
const RESERVED_FIX: &str =
    "the guide: \"Injected by Extensions subsystem (don't override in env_defaults)\"";
const PLACEHOLDER_FIX: &str =
    "the guide substitutes only {app_port}, {model_port}, {deployment_id} and {app_name}";

/// Run the guide rules over one extension.
pub(crate) fn check(sink: &mut Sink<'_>, manifest: Option<&Manifest>) {
    if let Some(m) = manifest {
        env_defaults(sink, m);
    }
    let appgarden = File::load(sink, APPGARDEN_FILE);
    let dev = File::load(sink, DEV_FILE);
    for file in [&appgarden, &dev].into_iter().flatten() {
        unescaped_dollars(sink, file);
    }
    let Some(deployed) = appgarden.as_ref().or(dev.as_ref()) else {
        return;
    };
    let builds = build::Builds::read(sink, dev.as_ref());
    environment(sink, deployed);
    net::check(sink, deployed, &builds);
    next_public(sink, deployed, &builds);
}

/// A compose file that loaded: its name in the extension folder, text and tree.
pub(crate) struct File {
    name: &'static str,
    text: String,
    doc: Node,
}

impl File {
    fn load(sink: &Sink<'_>, name: &'static str) -> Option<File> {
        let path = sink.extension.file(name);
        if !path.is_file() {
            return None;
        }
        let text = crate::fsx::read_text(&path, crate::fsx::MAX_TEXT_FILE).ok()?;
        let doc = yaml::load(&text, &LoadLimits::default()).ok()??;
        Some(File { name, text, doc })
    }

    /// The services that are mappings, in file order.
    fn services(&self) -> Vec<Svc<'_>> {
        let Some(list) = self.doc.get("services").and_then(Node::as_map) else {
            return Vec::new();
        };
        list.iter()
            .filter(|(_, node)| node.as_map().is_some())
            .filter_map(|(key, node)| {
                Some(Svc {
                    name: key.py_str()?,
                    node,
                })
            })
            .collect()
    }

    /// The first line at or after `from` whose text contains `needle` (else `from`).
    fn line_of(&self, from: u32, needle: &str) -> u32 {
        let start = usize::try_from(from.saturating_sub(1)).unwrap_or(0);
        self.text
            .lines()
            .enumerate()
            .skip(start)
            .find(|(_, l)| l.contains(needle))
            .and_then(|(i, _)| u32::try_from(i + 1).ok())
            .unwrap_or(from)
    }
}

pub(crate) struct Svc<'n> {
    name: String,
    node: &'n Node,
}

impl Svc<'_> {
    fn shown(&self) -> String {
        code(&self.name)
    }

    /// `environment` as (name, value, line); `None` for a bare name (`- KAMIWAZA_API_URL`,
    /// `KAMIWAZA_API_URL:`), which passes the variable through.
    fn environment(&self) -> Vec<EnvVar> {
        match self.node.get("environment").map(|n| &n.value) {
            Some(Value::Seq(items)) => items
                .iter()
                .filter_map(|item| {
                    let text = item.as_str()?;
                    let (name, value) = match text.split_once('=') {
                        Some((n, v)) => (n, Some(v.to_owned())),
                        None => (text, None),
                    };
                    Some(EnvVar {
                        name: name.trim().to_owned(),
                        value,
                        line: item.mark.line,
                    })
                })
                .collect(),
            Some(Value::Map(pairs)) => pairs
                .iter()
                .filter_map(|(k, v)| {
                    Some(EnvVar {
                        name: k.py_str()?,
                        value: if v.is_null() { None } else { v.py_str() },
                        line: k.mark.line,
                    })
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

pub(crate) struct EnvVar {
    name: String,
    value: Option<String>,
    line: u32,
}

fn line(l: u32) -> Option<u32> {
    Some(l).filter(|l| *l > 0)
}

/// `metadata/reserved-env` and `metadata/unknown-placeholder` over env_defaults.
fn env_defaults(sink: &mut Sink<'_>, manifest: &Manifest) {
    let Some(vars) = manifest.get("env_defaults").and_then(|v| v.as_object()) else {
        return;
    };
    for (name, value) in vars {
        let Some(value) = value.as_str() else {
            continue;
        };
        let at = manifest.line_of(&format!("env_defaults/{name}"));
        if RESERVED.contains(&name.as_str()) && !env::passes_through(name, value) {
            let message = format!(
                "env_defaults sets {}, a variable the platform injects, to {}; {RESERVED_FIX}: remove it (or pass it through as {})",
                code(name),
                code(value),
                code(&format!("${{{name}:-}}"))
            );
            sink.push("metadata/reserved-env", FILE_NAME, at, message);
        }
        for unknown in env::unknown_placeholders(value) {
            let message = placeholder_message(&format!("env_defaults.{name}"), &unknown);
            sink.push("metadata/unknown-placeholder", FILE_NAME, at, message);
        }
    }
}

fn placeholder_message(what: &str, unknown: &str) -> String {
    let typo = env::suggestion(unknown)
        .map(|p| format!(" (did you mean {}?)", code(&format!("{{{p}}}"))))
        .unwrap_or_default();
    format!(
        "{} uses placeholder {}, which stays literal at run time{typo}; {PLACEHOLDER_FIX}",
        code(what),
        code(&format!("{{{unknown}}}")),
    )
}

/// `compose/reserved-env` and `compose/unknown-placeholder` over each service's environment.
fn environment(sink: &mut Sink<'_>, file: &File) {
    for svc in file.services() {
        for var in svc.environment() {
            let Some(value) = &var.value else { continue };
            if RESERVED.contains(&var.name.as_str()) && !env::passes_through(&var.name, value) {
                let message = format!(
                    "service {} sets {}, a variable the platform injects, to {}, hiding the injected value; {RESERVED_FIX}: pass it through as {}",
                    svc.shown(),
                    code(&var.name),
                    code(value),
                    code(&format!("{0}=${{{0}:-}}", var.name))
                );
                sink.push("compose/reserved-env", file.name, line(var.line), message);
            }
            for unknown in env::unknown_placeholders(value) {
                let what = format!("{} of service {}", var.name, svc.name);
                let message = placeholder_message(&what, &unknown);
                sink.push(
                    "compose/unknown-placeholder",
                    file.name,
                    line(var.line),
                    message,
                );
            }
        }
    }
}

/// `compose/next-public-runtime`: a `NEXT_PUBLIC_*` value given only at run time to a service
/// whose image runs `next build`.
fn next_public(sink: &mut Sink<'_>, file: &File, builds: &build::Builds) {
    for svc in file.services() {
        let Some(b) = builds.get(&svc.name) else {
            continue;
        };
        let Some(next) = &b.next_build else { continue };
        for var in svc.environment() {
            if !var.name.starts_with("NEXT_PUBLIC_") || b.build_time(&var.name) {
                continue;
            }
            let message = format!(
                "{} of service {} is set only at run time, but its image runs `next build` ({next}), which bakes NEXT_PUBLIC_* in; \
                 the guide: \"NEXT_PUBLIC_* variables are evaluated at build time. Changing them in Compose/runtime won't affect an already-built image\": \
                 pass it as a build arg (`build.args` and `ARG {}` before the build)",
                code(&var.name),
                svc.shown(),
                var.name
            );
            sink.push(
                "compose/next-public-runtime",
                file.name,
                line(var.line),
                message,
            );
        }
    }
}

/// `compose/unescaped-dollar`: `$host`-style variables in a `command:` that Compose interpolates
/// (to nothing) before nginx or the shell sees them. Lower-case names only: upper-case ones are
/// usually meant for Compose.
fn unescaped_dollars(sink: &mut Sink<'_>, file: &File) {
    for svc in file.services() {
        let Some(command) = svc.node.get("command") else {
            continue;
        };
        let parts: Vec<&str> = match &command.value {
            Value::Str(s) => vec![s.as_str()],
            Value::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
            _ => continue,
        };
        let mut names: Vec<String> = Vec::new();
        for part in parts {
            for name in unescaped(part) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let Some(first) = names.first() else { continue };
        let at = file.line_of(command.mark.line, &format!("${first}"));
        let shown: Vec<String> = names.iter().map(|n| code(&format!("${n}"))).collect();
        let message = format!(
            "the `command` of service {} uses {} unescaped: Compose replaces them with (empty) variables before the program sees them; \
             write {} as the guide's proxy example does (`proxy_set_header Host \\$$host;`)",
            svc.shown(),
            shown.join(", "),
            code(&format!("$${first}"))
        );
        sink.push("compose/unescaped-dollar", file.name, line(at), message);
    }
}

/// Lower-case `$name`s of `text` that Compose would interpolate (`$$` escapes, `${…}` is meant).
fn unescaped(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        let start = i + 1;
        let end = b[start..]
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .map_or(b.len(), |p| start + p);
        if b.get(start)
            .is_some_and(|c| c.is_ascii_lowercase() || *c == b'_')
        {
            out.push(text[start..end].to_owned());
        }
        i = end.max(start);
    }
    out
}
