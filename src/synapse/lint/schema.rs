//! What schemas/synapse-app.schema.json says, as rules with their own ids: the closed set of
//! keys at every level, required keys, types, and the value rules of single fields (slug, SemVer,
//! image form, port, public_url, health path, sandbox, enums, scope grammar). Cross-field rules
//! live in `checks`.

use super::{join_path, Sink};
use crate::validate::code;
use crate::yaml::{Node, Value};
use regex::Regex;
use std::sync::LazyLock;

/// The type a key must hold.
enum Ty {
    Str,
    Int,
    Bool,
    Map(&'static [Field]),
    /// A list of strings.
    StrList,
    /// A list of mappings.
    MapList(&'static [Field]),
}

struct Field {
    key: &'static str,
    required: bool,
    ty: Ty,
}

const fn req(key: &'static str, ty: Ty) -> Field {
    Field {
        key,
        required: true,
        ty,
    }
}

const fn opt(key: &'static str, ty: Ty) -> Field {
    Field {
        key,
        required: false,
        ty,
    }
}

static VOLUME: &[Field] = &[
    req("host", Ty::Str),
    req("container", Ty::Str),
    opt("readonly", Ty::Bool),
];
static HEALTH: &[Field] = &[
    req("path", Ty::Str),
    opt("method", Ty::Str),
    opt("expect_status", Ty::Int),
    opt("timeout_ms", Ty::Int),
    opt("interval_ms", Ty::Int),
];
static EVENTS: &[Field] = &[opt("publish", Ty::StrList), opt("subscribe", Ty::StrList)];
static TOP: &[Field] = &[
    req("apiVersion", Ty::Str),
    req("kind", Ty::Str),
    req(
        "metadata",
        Ty::Map(&[
            req("name", Ty::Str),
            req("label", Ty::Str),
            opt("description", Ty::Str),
            opt("owner", Ty::Str),
            req("version", Ty::Str),
            opt("tags", Ty::StrList),
        ]),
    ),
    req(
        "runtime",
        Ty::Map(&[
            req("kind", Ty::Str),
            req("image", Ty::Str),
            opt("volumes", Ty::MapList(VOLUME)),
        ]),
    ),
    req(
        "network",
        Ty::Map(&[
            req("ports", Ty::Map(&[req("public", Ty::Int)])),
            req("public_url", Ty::Str),
            req("health", Ty::Map(HEALTH)),
        ]),
    ),
    opt(
        "iframe",
        Ty::Map(&[
            opt("sandbox", Ty::StrList),
            opt("allow", Ty::StrList),
            opt("referrer_policy", Ty::Str),
        ]),
    ),
    opt(
        "capabilities",
        Ty::Map(&[
            opt("auth", Ty::Str),
            opt("theme", Ty::Str),
            opt("locale", Ty::Str),
            opt("events", Ty::Map(EVENTS)),
            opt("scopes", Ty::StrList),
        ]),
    ),
    opt(
        "lifecycle",
        Ty::Map(&[
            opt("start_timeout_ms", Ty::Int),
            opt("stop_grace_ms", Ty::Int),
        ]),
    ),
];

pub(crate) const SANDBOX_TOKENS: &[&str] = &[
    "allow-downloads",
    "allow-forms",
    "allow-modals",
    "allow-orientation-lock",
    "allow-pointer-lock",
    "allow-popups",
    "allow-popups-to-escape-sandbox",
    "allow-presentation",
    "allow-same-origin",
    "allow-scripts",
    "allow-storage-access-by-user-activation",
    "allow-top-navigation",
    "allow-top-navigation-by-user-activation",
    "allow-top-navigation-to-custom-protocols",
];

const REFERRER_POLICIES: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex")
}

pub(crate) static SLUG: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9-]{1,62}$"));
/// The draft schema's image pattern: registry[:port], at least one path segment, a tag, an
/// optional digest.
pub(crate) static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:@sha256:[a-f0-9]{64})?$",
    )
});
static PUBLIC_URL: LazyLock<Regex> = LazyLock::new(|| re(r"^https?://.+/$"));
static HEALTH_PATH: LazyLock<Regex> = LazyLock::new(|| re(r"^/\S*$"));
static ALLOW_FEATURE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9-]*(?: .+)?$"));
static DOMAIN_SCOPE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(projects|datasets|jobs|models|files|users):(read|write|self)$"));
static DATA_SCOPE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^data:(connections:read|datasets:read|preview|query|query:write|admin:registry)$")
});

pub(super) fn check(sink: &mut Sink, root: &Node) {
    structure(sink, root, TOP, "");
    values(sink, root);
}

/// Required keys, unknown keys and types, recursively.
fn structure(sink: &mut Sink, node: &Node, fields: &[Field], path: &str) {
    let Some(map) = node.as_map() else { return };
    for (key, value) in map {
        let name = key.py_str().unwrap_or_default();
        let full = join_path(path, &name);
        let Some(field) = fields.iter().find(|f| f.key == name) else {
            if path == "runtime" && (name == "env" || name == "compose") {
                let why = if name == "env" {
                    "the runner never forwards manifest env; put secrets in *.env files on a \
                     read-only volume and non-secret config in the Dockerfile's ENV"
                } else {
                    "it belonged to the removed docker-compose runtime"
                };
                sink.at(
                    "synapse/runtime-env",
                    key,
                    format!("`runtime.{name}` is not allowed: {why}"),
                );
            } else {
                let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
                let place = if path.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("`{path}`")
                };
                sink.at(
                    "synapse/unknown-key",
                    key,
                    format!(
                        "{} is not a key of {place} (known: {})",
                        code(&full),
                        known.join(", ")
                    ),
                );
            }
            continue;
        };
        typed(sink, value, &field.ty, &full);
    }
    for field in fields.iter().filter(|f| f.required) {
        if node.get(field.key).is_none() {
            sink.at(
                "synapse/required",
                node,
                format!("`{}` is required", join_path(path, field.key)),
            );
        }
    }
}

fn typed(sink: &mut Sink, value: &Node, ty: &Ty, path: &str) {
    let wrong = |sink: &mut Sink, want: &str| {
        if path == "metadata.description" && value.is_null() {
            return; // `synapse/description` says it
        }
        let mut message = format!("`{path}` must be {want}, not {}", value.kind());
        if want == "a string" && matches!(value.value, Value::Float(_) | Value::Int(_)) {
            message.push_str(&format!(
                "; quote it (`\"{}\"`): unquoted, YAML reads it as a number",
                value.py_str().unwrap_or_default()
            ));
        }
        sink.at("synapse/field-type", value, message);
    };
    match ty {
        Ty::Str => match &value.value {
            Value::Str(s) if s.trim().is_empty() && path != "metadata.description" => {
                sink.at("synapse/required", value, format!("`{path}` is empty"));
            }
            Value::Str(_) => {}
            _ => wrong(sink, "a string"),
        },
        Ty::Int => {
            if !matches!(value.value, Value::Int(_)) {
                wrong(sink, "an integer");
            }
        }
        Ty::Bool => {
            if !matches!(value.value, Value::Bool(_)) {
                wrong(sink, "true or false");
            }
        }
        Ty::Map(fields) => {
            if value.as_map().is_some() {
                structure(sink, value, fields, path);
            } else {
                wrong(sink, "a mapping");
            }
        }
        Ty::StrList => match value.as_seq() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) if !s.trim().is_empty() => {}
                        Some(_) => sink.at(
                            "synapse/field-type",
                            item,
                            format!("`{path}[{i}]` is an empty string"),
                        ),
                        None => sink.at(
                            "synapse/field-type",
                            item,
                            format!("`{path}[{i}]` must be a string, not {}", item.kind()),
                        ),
                    }
                }
                duplicates(sink, items, path);
            }
            None => wrong(sink, "a list of strings"),
        },
        Ty::MapList(fields) => match value.as_seq() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{path}[{i}]");
                    if item.as_map().is_some() {
                        structure(sink, item, fields, &at);
                    } else {
                        sink.at(
                            "synapse/field-type",
                            item,
                            format!("`{at}` must be a mapping, not {}", item.kind()),
                        );
                    }
                }
            }
            None => wrong(sink, "a list of mappings"),
        },
    }
}

fn duplicates(sink: &mut Sink, items: &[Node], path: &str) {
    let mut seen = std::collections::HashSet::new();
    for item in items {
        if let Some(s) = item.as_str() {
            if !seen.insert(s) {
                sink.at(
                    "synapse/duplicate-item",
                    item,
                    format!("`{path}` lists {} twice", code(s)),
                );
            }
        }
    }
}

fn str_at<'a>(root: &'a Node, path: &str) -> Option<(&'a Node, &'a str)> {
    let node = path.split('.').try_fold(root, |n, k| n.get(k))?;
    Some((node, node.as_str()?))
}

fn int_at<'a>(root: &'a Node, path: &str) -> Option<(&'a Node, i128)> {
    let node = path.split('.').try_fold(root, |n, k| n.get(k))?;
    match node.value {
        Value::Int(i) => Some((node, i)),
        _ => None,
    }
}

fn strs_at<'a>(root: &'a Node, path: &str) -> Vec<(&'a Node, &'a str)> {
    path.split('.')
        .try_fold(root, |n, k| n.get(k))
        .and_then(Node::as_seq)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| Some((i, i.as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Single-field value rules.
fn values(sink: &mut Sink, root: &Node) {
    if let Some((n, v)) = str_at(root, "apiVersion") {
        if v != "synapse.datamaker.io/v1" {
            sink.at(
                "synapse/api-version",
                n,
                format!(
                    "apiVersion is {}; it must be `synapse.datamaker.io/v1`",
                    code(v)
                ),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "kind") {
        if v != "SynapseApp" {
            sink.at(
                "synapse/kind",
                n,
                format!("kind is {}; it must be `SynapseApp`", code(v)),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "metadata.name") {
        if !SLUG.is_match(v) {
            sink.at(
                "synapse/slug",
                n,
                format!(
                    "metadata.name {} is not a slug: 2 to 63 lowercase letters, digits or \
                     hyphens, starting with a letter",
                    code(v)
                ),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "metadata.version") {
        match semver::Version::parse(v) {
            Err(_) => {
                let hint = if v.starts_with(['v', 'V']) {
                    format!("; drop the `v`: `{}`", &v[1..])
                } else {
                    String::new()
                };
                sink.at(
                    "synapse/version",
                    n,
                    format!(
                        "metadata.version {} is not SemVer MAJOR.MINOR.PATCH[-PRE]{hint}",
                        code(v)
                    ),
                );
            }
            Ok(parsed) => {
                if !parsed.build.is_empty() || v.len() > 128 {
                    sink.at(
                        "synapse/version-tag",
                        n,
                        format!(
                            "metadata.version {} cannot be an image tag (no `+build`, at most \
                             128 characters)",
                            code(v)
                        ),
                    );
                }
            }
        }
    }
    if let Some((n, v)) = str_at(root, "runtime.kind") {
        if v != "image" {
            let why = if v == "docker-compose" {
                "; the docker-compose runtime was removed: publish one image"
            } else {
                ""
            };
            sink.at(
                "synapse/runtime-kind",
                n,
                format!(
                    "runtime.kind is {}; only `image` is supported{why}",
                    code(v)
                ),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "runtime.image") {
        if !IMAGE.is_match(v) {
            sink.at(
                "synapse/image-format",
                n,
                format!(
                    "runtime.image {} is not <registry>/<namespace>/<slug>:<tag> (a registry \
                     and a tag are required)",
                    code(v)
                ),
            );
        }
    }
    if let Some((n, p)) = int_at(root, "network.ports.public") {
        if !(1..=65535).contains(&p) {
            sink.at(
                "synapse/port",
                n,
                format!("network.ports.public is {p}; a port is 1 to 65535"),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "network.public_url") {
        if !PUBLIC_URL.is_match(v) {
            let hint = if PUBLIC_URL.is_match(&format!("{v}/")) {
                format!("; add the trailing slash: `{v}/`")
            } else {
                String::new()
            };
            sink.at(
                "synapse/public-url",
                n,
                format!(
                    "network.public_url {} must match ^https?://.+/${hint}",
                    code(v)
                ),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "network.health.path") {
        if !HEALTH_PATH.is_match(v) {
            sink.at(
                "synapse/health-path",
                n,
                format!(
                    "network.health.path {} must start with / and hold no spaces",
                    code(v)
                ),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "network.health.method") {
        if v != "GET" {
            sink.at(
                "synapse/health-method",
                n,
                format!("network.health.method is {}; the probe is a GET", code(v)),
            );
        }
    }
    for (path, min, max) in [
        ("network.health.expect_status", 100, 599),
        ("network.health.timeout_ms", 1, i128::MAX),
        ("network.health.interval_ms", 1, i128::MAX),
        ("lifecycle.start_timeout_ms", 1, i128::MAX),
        ("lifecycle.stop_grace_ms", 0, i128::MAX),
    ] {
        if let Some((n, v)) = int_at(root, path) {
            if v < min || v > max {
                let range = if max == i128::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                };
                sink.at(
                    "synapse/value-range",
                    n,
                    format!("`{path}` is {v}; it must be {range}"),
                );
            }
        }
    }
    sandbox(sink, root);
    for (n, v) in strs_at(root, "iframe.allow") {
        if !ALLOW_FEATURE.is_match(v) {
            sink.at(
                "synapse/iframe-value",
                n,
                format!(
                    "iframe.allow {} is not a Permissions-Policy feature (e.g. clipboard-read)",
                    code(v)
                ),
            );
        }
    }
    if let Some((n, v)) = str_at(root, "iframe.referrer_policy") {
        if !REFERRER_POLICIES.contains(&v) {
            sink.at(
                "synapse/iframe-value",
                n,
                format!(
                    "iframe.referrer_policy {} is not one of {}",
                    code(v),
                    REFERRER_POLICIES.join(", ")
                ),
            );
        }
    }
    for (key, allowed) in [
        ("auth", &["none", "optional", "required"][..]),
        ("theme", &["none", "subscribe"][..]),
        ("locale", &["none", "subscribe"][..]),
    ] {
        if let Some((n, v)) = str_at(root, &format!("capabilities.{key}")) {
            if !allowed.contains(&v) {
                sink.at(
                    "synapse/capability",
                    n,
                    format!(
                        "capabilities.{key} is {}; it must be one of {}",
                        code(v),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }
    for (n, v) in strs_at(root, "capabilities.scopes") {
        if !DOMAIN_SCOPE.is_match(v) && !DATA_SCOPE.is_match(v) {
            sink.at(
                "synapse/scope",
                n,
                format!(
                    "scope {} is neither <projects|datasets|jobs|models|files|users>:<read|write|self> \
                     nor data:<connections:read|datasets:read|preview|query|admin:registry>",
                    code(v)
                ),
            );
        }
    }
}

fn sandbox(sink: &mut Sink, root: &Node) {
    let Some(node) = root.get("iframe").and_then(|i| i.get("sandbox")) else {
        return;
    };
    let Some(items) = node.as_seq() else { return };
    let tokens: Vec<&str> = items.iter().filter_map(Node::as_str).collect();
    for item in items {
        if let Some(t) = item.as_str() {
            if !SANDBOX_TOKENS.contains(&t) {
                sink.at(
                    "synapse/sandbox",
                    item,
                    format!("{} is not an iframe sandbox token", code(t)),
                );
            }
        }
    }
    let missing: Vec<&str> = ["allow-scripts", "allow-same-origin"]
        .into_iter()
        .filter(|t| !tokens.contains(t))
        .collect();
    if !missing.is_empty() {
        sink.at(
            "synapse/sandbox",
            node,
            format!(
                "iframe.sandbox lacks {}: without allow-scripts and allow-same-origin, \
                 localStorage and same-origin fetch break",
                missing.join(" and ")
            ),
        );
    }
}
