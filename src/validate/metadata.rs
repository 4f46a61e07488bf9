//! `metadata/*`: the reference's validate-metadata checks over kamiwaza.json (spec §2.2–2.5) for
//! apps, services and tools, with its bugs fixed (§16.1–16.3):
//!
//! * a value of the wrong JSON type is a finding (`metadata/field-type` for required fields, the
//!   field's own rule otherwise), never a crash, and gets no value check on top: one finding per
//!   problem (the reference reports a float `risk_tier` twice);
//! * a boolean is not an integer, so `risk_tier: true` is refused;
//! * tools get the source_type, visibility and risk_tier checks of apps, and all kinds get the
//!   tags and env_defaults type checks;
//! * patterns match the whole value (`1.0.0\n` is not a version);
//! * messages list allowed values in a fixed order;
//! * `image` is checked with Docker's reference grammar for every kind (registry ports and
//!   digests are fine), and the tag checks read the tag as Docker does (after the last `/`).
//!
//! kz also agrees with its own schema (schemas/kamiwaza.schema.json) and with the rest of kz:
//! versions must be SemVer 2.0 (no leading zeros: `kz bump` and the registry parse them so), a
//! `name` must not be empty, env_defaults values are strings, extra_docker_images are image
//! references, the optional fields the schema types get `metadata/field-type`, and
//! `preview_image: null` means "no preview", as the catalogue build reads it (the reference
//! validator refuses it).
//!
//! The App Garden file's presence and emptiness (apps and services) are checked here, as the
//! reference does; everything inside it is `compose.rs`.

use super::{code, imagefmt, read_problem, Sink};
use crate::compose::{APPGARDEN_FILE, DEV_FILE};
use crate::error::Error;
use crate::fsx;
use crate::imageref::{version_tag, ImageRef};
use crate::manifest::{Manifest, FILE_NAME};
use crate::settings::Settings;
use crate::workspace::{Extension, Kind};
use regex::Regex;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::LazyLock;

const SOURCE_TYPES: [&str; 3] = ["kamiwaza", "public", "user_repo"];
const VISIBILITIES: [&str; 3] = ["private", "public", "team"];
/// Sorted, so messages never depend on set order (the reference prints a Python set).
const IMAGE_SUFFIXES: [&str; 6] = [".gif", ".jpeg", ".jpg", ".png", ".svg", ".webp"];
const URL_PREFIXES: [&str; 4] = [
    "https://info.kamiwaza.ai/",
    "/garden/",
    "/app-garden-images/",
    "/api/app-garden-images/",
];

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid constant regex")
}

/// §2.2, with ASCII digits and the end anchored at the very end of the text.
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$",
    )
});
/// §2.3: one comma-separated part of `kamiwaza_version`.
static CONSTRAINT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:>=|<=|>|<|==|~=|!=)[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z-]+)?$"));

/// The JSON type a field must have.
#[derive(Clone, Copy)]
enum Type {
    Str,
    Int,
    Bool,
    StrOrNull,
    /// One of these strings (or null, when `None` is listed).
    OneOf(&'static [Option<&'static str>]),
}

impl Type {
    fn accepts(self, v: &Value) -> bool {
        match self {
            Type::Str => v.is_string(),
            Type::Int => v.is_i64() || v.is_u64(),
            Type::Bool => v.is_boolean(),
            Type::StrOrNull => v.is_string() || v.is_null(),
            Type::OneOf(allowed) => (v.is_string() || v.is_null()) && allowed.contains(&v.as_str()),
        }
    }

    fn name(self) -> String {
        match self {
            Type::Str => "a string".to_owned(),
            Type::Int => "an integer".to_owned(),
            Type::Bool => "a boolean".to_owned(),
            Type::StrOrNull => "a string or null".to_owned(),
            Type::OneOf(allowed) => {
                let names: Vec<String> = allowed
                    .iter()
                    .map(|a| a.map_or_else(|| "null".to_owned(), code))
                    .collect();
                format!("one of {}", names.join(", "))
            }
        }
    }
}

const REQUIRED: [(&str, Type); 7] = [
    ("name", Type::Str),
    ("version", Type::Str),
    ("source_type", Type::Str),
    ("visibility", Type::Str),
    ("description", Type::Str),
    ("risk_tier", Type::Int),
    ("verified", Type::Bool),
];

/// Optional fields with a type in schemas/kamiwaza.schema.json that no other rule checks.
const TYPED: [(&str, Type); 12] = [
    ("category", Type::Str),
    ("author", Type::Str),
    ("license", Type::Str),
    ("display_name", Type::Str),
    ("kz_ext_version", Type::Str),
    ("template_version", Type::Str),
    ("fail_if_model_type_unavailable", Type::Bool),
    ("fail_if_model_name_unavailable", Type::Bool),
    ("strip_path_prefix", Type::Bool),
    ("preferred_model_name", Type::StrOrNull),
    (
        "preferred_model_type",
        Type::OneOf(&[
            Some("fast"),
            Some("large"),
            Some("reasoning"),
            Some("vl"),
            Some("any"),
            None,
        ]),
    ),
    (
        "type",
        Type::OneOf(&[Some("app"), Some("service"), Some("tool")]),
    ),
];

/// Check the extension's kamiwaza.json (and, for apps and services, that the App Garden file
/// exists and is not blank).
/// Run the metadata rules; returns the kamiwaza.json it read (when it parsed), so the compose
/// rules and the catalogue gate need not read it again.
pub(crate) fn check(sink: &mut Sink<'_>, settings: &Settings) -> Option<Manifest> {
    let ext = sink.extension;
    if ext.kind != Kind::Tool {
        appgarden_file(sink);
    }
    let manifest = load(sink)?;
    let Some(obj) = manifest.object() else {
        let message = format!(
            "kamiwaza.json must be a JSON object, got {}",
            describe(&manifest.doc)
        );
        sink.push("metadata/not-object", FILE_NAME, Some(1), message);
        return Some(manifest);
    };
    let mut c = Checker {
        sink,
        manifest: &manifest,
        obj,
        settings,
        ext,
    };
    c.required_fields();
    c.typed_fields();
    c.version();
    c.enum_field("source_type", &SOURCE_TYPES, "metadata/source-type");
    c.enum_field("visibility", &VISIBILITIES, "metadata/visibility");
    c.risk_tier();
    c.string_list("tags", "metadata/tags-type");
    c.env_defaults();
    c.string_list("required_env_vars", "metadata/required-env-vars");
    c.extra_docker_images();
    if ext.kind == Kind::Tool {
        c.string_list("capabilities", "metadata/capabilities");
    }
    c.preview_image();
    c.image();
    c.kamiwaza_version();
    c.template_type();
    c.name_prefix();
    c.tool_image_or_compose();
    Some(manifest)
}

fn appgarden_file(sink: &mut Sink<'_>) {
    let ext = sink.extension;
    let path = ext.file(APPGARDEN_FILE);
    if !path.is_file() {
        let fix = if ext.file(DEV_FILE).is_file() {
            "run `kz sync-compose` to generate it from docker-compose.yml"
        } else {
            "write it, or write docker-compose.yml and run `kz sync-compose`"
        };
        let message = format!(
            "missing docker-compose.appgarden.yml, which App Garden and the catalogue build require; {fix}"
        );
        sink.push("metadata/appgarden-missing", APPGARDEN_FILE, None, message);
        return;
    }
    // A file that cannot be read is `compose/unreadable`.
    if fsx::read_text(&path, fsx::MAX_TEXT_FILE).is_ok_and(|text| text.trim().is_empty()) {
        let message =
            "docker-compose.appgarden.yml is empty; the catalogue build refuses it".to_owned();
        sink.push("metadata/appgarden-empty", APPGARDEN_FILE, None, message);
    }
}

fn load(sink: &mut Sink<'_>) -> Option<Manifest> {
    let path = sink.extension.file(FILE_NAME);
    if !path.is_file() {
        let message = "no kamiwaza.json in the extension folder".to_owned();
        sink.push("metadata/missing", FILE_NAME, None, message);
        return None;
    }
    match Manifest::load(&path) {
        Ok(m) => Some(m),
        Err(Error::Json {
            line, col, message, ..
        }) => {
            let message = format!("invalid JSON: {message} (column {col})");
            sink.push(
                "metadata/invalid-json",
                FILE_NAME,
                u32::try_from(line).ok(),
                message,
            );
            None
        }
        Err(e) => {
            let (line, message) = read_problem(FILE_NAME, &e);
            sink.push("metadata/unreadable", FILE_NAME, line, message);
            None
        }
    }
}

/// A JSON value for a message: its type, and the value itself when it is a scalar.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("a boolean {}", code(&b.to_string())),
        Value::Number(n) if n.is_f64() => format!("a number {}", code(&n.to_string())),
        Value::Number(n) => format!("an integer {}", code(&n.to_string())),
        Value::String(s) => format!("a string {}", code(s)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// `v1.2.3` → `1.2.3`; `None` unless a digit follows the `v`.
fn strip_v(s: &str) -> Option<&str> {
    s.strip_prefix('v')
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

fn listed(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| code(v))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Checker<'s, 'a> {
    sink: &'s mut Sink<'a>,
    manifest: &'s Manifest,
    obj: &'s Map<String, Value>,
    settings: &'s Settings,
    ext: &'a Extension,
}

impl<'s> Checker<'s, '_> {
    /// Report at the line of `path` (`version`, `tags/2`) in kamiwaza.json.
    fn push(&mut self, rule: &'static str, path: &str, message: String) {
        let line = self.manifest.line_of(path);
        self.sink.push(rule, FILE_NAME, line, message);
    }

    fn get(&self, key: &str) -> Option<&'s Value> {
        self.obj.get(key)
    }

    fn str(&self, key: &str) -> Option<&'s str> {
        self.get(key).and_then(Value::as_str)
    }

    fn required_fields(&mut self) {
        for (field, ty) in REQUIRED {
            match self.get(field) {
                None => {
                    let message = format!("missing required field {}", code(field));
                    self.sink
                        .push("metadata/required-field", FILE_NAME, None, message);
                }
                Some(v) if !ty.accepts(v) => {
                    let message =
                        format!("{} must be {}, got {}", code(field), ty.name(), describe(v));
                    self.push("metadata/field-type", field, message);
                }
                Some(v) if field == "name" && v.as_str().is_some_and(|n| n.trim().is_empty()) => {
                    let message = "required field `name` is empty".to_owned();
                    self.push("metadata/required-field", field, message);
                }
                Some(_) => {}
            }
        }
    }

    fn typed_fields(&mut self) {
        for (field, ty) in TYPED {
            let Some(v) = self.get(field).filter(|v| !ty.accepts(v)) else {
                continue;
            };
            let message = format!("{} must be {}, got {}", code(field), ty.name(), describe(v));
            self.push("metadata/field-type", field, message);
        }
    }

    fn version(&mut self) {
        let Some(v) = self.str("version") else { return };
        if VERSION.is_match(v) && semver::Version::parse(v).is_ok() {
            return;
        }
        let hint = if VERSION.is_match(v) {
            "; numbers may not have leading zeros (SemVer 2.0)".to_owned()
        } else if strip_v(v).is_some_and(|rest| VERSION.is_match(rest)) {
            "; drop the `v`".to_owned()
        } else if VERSION.is_match(v.trim()) {
            "; remove the surrounding whitespace".to_owned()
        } else if v.split('.').count() == 2 && v.split('.').all(|p| p.parse::<u64>().is_ok()) {
            format!("; e.g. {}", code(&format!("{v}.0")))
        } else {
            String::new()
        };
        let message = format!(
            "version {} is not MAJOR.MINOR.PATCH[-PRE][+BUILD]{hint}",
            code(v)
        );
        self.push("metadata/version-format", "version", message);
    }

    fn enum_field(&mut self, field: &str, allowed: &[&str], rule: &'static str) {
        let Some(v) = self.str(field) else { return };
        if allowed.contains(&v) {
            return;
        }
        let hint = allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(v.trim()))
            .map(|a| format!("; did you mean {}?", code(a)))
            .unwrap_or_default();
        let message = format!(
            "{field} {} is not one of {}{hint}",
            code(v),
            listed(allowed)
        );
        self.push(rule, field, message);
    }

    fn risk_tier(&mut self) {
        let Some(v) = self.get("risk_tier").filter(|v| v.is_i64() || v.is_u64()) else {
            return;
        };
        if v.as_u64().is_some_and(|n| n <= 2) {
            return;
        }
        let message = format!("risk_tier {} is not 0, 1 or 2", code(&v.to_string()));
        self.push("metadata/risk-tier", "risk_tier", message);
    }

    /// `field`, when present, must be a list of strings.
    fn string_list(&mut self, field: &str, rule: &'static str) {
        let Some(v) = self.get(field) else { return };
        let Some(items) = v.as_array() else {
            let message = format!(
                "{} must be a list of strings, got {}",
                code(field),
                describe(v)
            );
            self.push(rule, field, message);
            return;
        };
        for (i, item) in items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.is_string())
        {
            let message = format!(
                "{} must be a string, got {}",
                code(&format!("{field}[{i}]")),
                describe(item)
            );
            self.push(rule, &format!("{field}/{i}"), message);
        }
    }

    fn env_defaults(&mut self) {
        let Some(v) = self.get("env_defaults") else {
            return;
        };
        let Some(vars) = v.as_object() else {
            let message = format!(
                "`env_defaults` must be an object of variable names and default values, got {}",
                describe(v)
            );
            self.push("metadata/env-defaults-type", "env_defaults", message);
            return;
        };
        for (name, value) in vars.iter().filter(|(_, value)| !value.is_string()) {
            let message = format!(
                "{} must be a string (environment values are text), got {}",
                code(&format!("env_defaults.{name}")),
                describe(value)
            );
            self.push(
                "metadata/env-defaults-type",
                &format!("env_defaults/{name}"),
                message,
            );
        }
    }

    /// More images the extension needs: image references, re-tagged per stage by the catalogue.
    fn extra_docker_images(&mut self) {
        const FIELD: &str = "extra_docker_images";
        let Some(v) = self.get(FIELD) else { return };
        let Some(items) = v.as_array() else {
            let message = format!(
                "`{FIELD}` must be a list of image references, got {}",
                describe(v)
            );
            self.push("metadata/extra-docker-images", FIELD, message);
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let why = match item.as_str() {
                None => Some(format!("must be a string, got {}", describe(item))),
                Some(image) if image.contains('$') => {
                    Some("uses a variable, but kamiwaza.json is not interpolated".to_owned())
                }
                Some(image) => imagefmt::problem(image)
                    .map(|why| format!("is not a valid image reference: {why}")),
            };
            if let Some(why) = why {
                let message = format!("{} {why}", code(&format!("{FIELD}[{i}]")));
                self.push(
                    "metadata/extra-docker-images",
                    &format!("{FIELD}/{i}"),
                    message,
                );
            }
        }
    }

    fn preview_image(&mut self) {
        // `null` is "no preview", as the catalogue build and the schema read it.
        let Some(v) = self.get("preview_image").filter(|v| !v.is_null()) else {
            return;
        };
        if let Some(message) = preview_problem(v, &self.ext.path) {
            self.push("metadata/preview-image", "preview_image", message);
        }
    }

    fn image(&mut self) {
        let Some(v) = self.get("image") else { return };
        let Some(image) = v.as_str() else {
            let message = format!("`image` must be a string, got {}", describe(v));
            self.push("metadata/image-format", "image", message);
            return;
        };
        let why = if image.contains('$') {
            Some("kamiwaza.json is not interpolated, so variables cannot be used".to_owned())
        } else {
            imagefmt::problem(image)
        };
        match why {
            Some(why) => {
                let message = format!(
                    "image {} is not a valid image reference: {why}",
                    code(image)
                );
                self.push("metadata/image-format", "image", message);
            }
            None => self.image_tag(image),
        }
    }

    /// §2.5, with the stage suffixes and tag template of the workspace settings.
    fn image_tag(&mut self, image: &str) {
        let r = ImageRef::parse(image);
        let Some(tag) = r.tag.as_deref() else { return };
        let mut bare = tag;
        let suffix = self
            .settings
            .stages
            .iter()
            .map(|s| s.tag_suffix.as_str())
            .find(|s| !s.is_empty() && tag.len() > s.len() && tag.ends_with(s));
        if let Some(suffix) = suffix {
            let message = format!(
                "image tag {} ends with the stage suffix {}; remove it, kz adds stage suffixes when it builds and publishes",
                code(tag),
                code(suffix)
            );
            self.push("metadata/image-stage-suffix", "image", message);
            bare = &tag[..tag.len() - suffix.len()];
        }
        if let Some(rest) = strip_v(bare) {
            if !version_tag(self.settings, "0", None).starts_with('v') {
                let message = format!(
                    "image tag {} has a `v` prefix; use the bare version, e.g. {}",
                    code(tag),
                    code(rest)
                );
                self.push("metadata/image-v-prefix", "image", message);
            }
            bare = rest;
        }
        let Some(version) = self.str("version").filter(|v| !v.is_empty()) else {
            return;
        };
        if bare != strip_v(version).unwrap_or(version) {
            let mut message = format!(
                "image tag {} does not match version {}",
                code(tag),
                code(version)
            );
            if semver::Version::parse(version).is_ok() {
                let fixed = r.with_tag(&version_tag(self.settings, version, None));
                message.push_str(&format!("; use {}", code(&fixed.to_string())));
            }
            self.push("metadata/image-tag-mismatch", "image", message);
        }
    }

    fn kamiwaza_version(&mut self) {
        let Some(v) = self.get("kamiwaza_version") else {
            let message =
                "no `kamiwaza_version`; a v2 catalogue refuses entries without one, e.g. `>=0.9.0`"
                    .to_owned();
            self.sink.push(
                "metadata/kamiwaza-version-missing",
                FILE_NAME,
                None,
                message,
            );
            return;
        };
        let Some(s) = v.as_str() else {
            let message = format!(
                "`kamiwaza_version` must be a string such as `>=0.9.0,<1.0.0`, got {}",
                describe(v)
            );
            self.push("metadata/kamiwaza-version", "kamiwaza_version", message);
            return;
        };
        if let Some(bad) = s
            .split(',')
            .map(str::trim)
            .find(|part| !CONSTRAINT.is_match(part))
        {
            let message = format!(
                "kamiwaza_version {} is not a list of constraints like `>=0.8.0` or `>=0.8.0,<1.0.0` ({} is not an operator and MAJOR.MINOR.PATCH)",
                code(s),
                code(bad)
            );
            self.push("metadata/kamiwaza-version", "kamiwaza_version", message);
        }
    }

    fn template_type(&mut self) {
        let Some(v) = self.get("template_type") else {
            return;
        };
        let kind = self.ext.kind;
        if v.as_str().and_then(Kind::parse) == Some(kind) {
            return;
        }
        let shown = v.as_str().map_or_else(|| describe(v), code);
        let message = format!(
            "template_type {shown} does not match the folder: extensions in {}/ are {}s; use {} or remove the key",
            kind.dir(),
            kind.singular(),
            code(kind.singular())
        );
        self.push("metadata/template-type", "template_type", message);
    }

    fn name_prefix(&mut self) {
        let Some(name) = self.str("name") else { return };
        let (rule, prefixes): (&'static str, &[&str]) = match self.ext.kind {
            Kind::Service => ("metadata/service-prefix", &["service-"]),
            Kind::Tool => ("metadata/tool-prefix", &["tool-", "mcp-"]),
            Kind::App => return,
        };
        if prefixes.iter().any(|p| name.starts_with(p)) {
            return;
        }
        let wanted = prefixes
            .iter()
            .map(|p| code(p))
            .collect::<Vec<_>>()
            .join(" or ");
        let message = format!(
            "{} name {} must start with {wanted}, e.g. {}",
            self.ext.kind,
            code(name),
            code(&format!("{}{name}", prefixes[0]))
        );
        self.push(rule, "name", message);
    }

    fn tool_image_or_compose(&mut self) {
        let ext = self.ext;
        let has_compose = ext.file(APPGARDEN_FILE).is_file() || ext.file(DEV_FILE).is_file();
        if ext.kind != Kind::Tool || self.obj.contains_key("image") || has_compose {
            return;
        }
        let message = "tool has neither an `image` nor a compose file; add `image` to kamiwaza.json or write docker-compose.yml".to_owned();
        self.sink
            .push("metadata/tool-image-or-compose", FILE_NAME, None, message);
    }
}

/// §2.4: what is wrong with a `preview_image` value, if anything. A local path must name an
/// image file inside the extension folder (no `..` escapes, no symlinks leading out).
fn preview_problem(value: &Value, ext: &Path) -> Option<String> {
    let Some(p) = value.as_str() else {
        return Some(format!(
            "`preview_image` must be a string (an image file in the extension or a Kamiwaza image URL), got {}",
            describe(value)
        ));
    };
    if p.is_empty() {
        return Some("`preview_image` is empty; name an image file or remove the key".to_owned());
    }
    if URL_PREFIXES.iter().any(|prefix| p.starts_with(prefix)) {
        return (!has_image_suffix(p)).then(|| not_an_image(p));
    }
    if p.starts_with('/') || p.contains("://") || p.starts_with("http:") || p.starts_with("https:")
    {
        return Some(format!(
            "preview_image {} is not under a Kamiwaza-accepted prefix ({}); or name an image file in the extension folder",
            code(p),
            listed(&["/garden/", "/app-garden-images/", "/api/app-garden-images/", "https://info.kamiwaza.ai/"])
        ));
    }
    let outside = || {
        Some(format!(
            "preview_image {} points outside the extension folder",
            code(p)
        ))
    };
    if escapes(Path::new(p)) {
        return outside();
    }
    let full = ext.join(p);
    if !full.is_file() {
        return Some(format!(
            "preview_image {} does not exist in the extension folder",
            code(p)
        ));
    }
    if let (Ok(file), Ok(root)) = (full.canonicalize(), ext.canonicalize()) {
        if !file.starts_with(root) {
            return outside();
        }
    }
    (!has_image_suffix(p)).then(|| not_an_image(p))
}

fn has_image_suffix(p: &str) -> bool {
    let lower = p.to_ascii_lowercase();
    IMAGE_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

fn not_an_image(p: &str) -> String {
    format!(
        "preview_image {} is not an image file ({})",
        code(p),
        IMAGE_SUFFIXES.join(", ")
    )
}

/// Whether a relative path climbs out of its base (`../x`, `a/../../x`) or is not relative.
fn escapes(rel: &Path) -> bool {
    crate::fsx::escapes_root(0, rel)
}

#[cfg(test)]
mod tests;
