//! Templates (reference §10, steps 1–3, 5, 6 and `garden-list`): the extension's entry in the
//! built registry, cleaned into the payload Kamiwaza takes, and the decision what to do with it.
//!
//! Endpoints (under the API URL):
//!
//! | what | apps and services | tools |
//! |---|---|---|
//! | list | `GET /apps/app_templates` | `GET /tool/templates` |
//! | update | `PUT /apps/app_templates/{id}` | `PUT /tool/tool_templates/{id}` |
//! | create | `POST /apps/app_templates` | `POST /apps/app_templates` (as the reference) |
//!
//! Where kz is stricter than the reference: a `--template-id` that Kamiwaza does not list is an
//! error (the reference PUTs blindly); a template found by name whose version is newer than the
//! registry's is not downgraded, and one at the same version is left alone when it already holds
//! the payload and refused when it differs (`--template-id` replaces it anyway).

use super::{Client, Connection, KamiwazaError};
use crate::error::Result;
use crate::fsx;
use crate::manifest::{self, Manifest};
use crate::workspace::{Extension, Kind};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Largest catalogue file read (entries embed whole compose files).
const MAX_REGISTRY_FILE: u64 = 512 * 1024 * 1024;

/// Keys the server owns; never sent (tools also drop `template_id`).
const SERVER_KEYS: [&str; 4] = ["id", "owner_id", "created_at", "updated_at"];

/// The extension's entry in the built registry.
#[derive(Debug)]
pub struct RegistryEntry {
    /// The catalogue file it came from.
    pub file: PathBuf,
    pub entry: Map<String, Value>,
    /// Other entries with the same name (the first one wins), as `file` paths.
    pub also_in: Vec<PathBuf>,
}

/// Find the entry named `names[0]` (the template name) or `names[1]` (the folder) in the
/// registry at `registry_dir`: `garden/v2/<apps|tools>.json`, then the legacy `garden/default/`.
pub fn find_entry(registry_dir: &Path, kind: Kind, names: &[&str]) -> Result<RegistryEntry> {
    let file_name = match kind {
        Kind::App | Kind::Service => "apps.json",
        Kind::Tool => "tools.json",
    };
    let looked: Vec<PathBuf> = ["v2", "default"]
        .iter()
        .map(|dir| registry_dir.join("garden").join(dir).join(file_name))
        .collect();
    let existing: Vec<&PathBuf> = looked.iter().filter(|p| p.is_file()).collect();
    if existing.is_empty() {
        return Err(KamiwazaError::NoRegistryFile { looked }.into());
    }
    let mut found: Option<RegistryEntry> = None;
    for path in existing {
        let text = fsx::read_text(path, MAX_REGISTRY_FILE)?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| crate::error::Error::Json {
            path: path.clone(),
            line: e.line(),
            col: e.column(),
            message: e.to_string(),
        })?;
        let Value::Array(entries) = doc else {
            return Err(crate::error::Error::invalid(
                path,
                "a catalogue file must hold a JSON array",
            ));
        };
        for entry in entries {
            let Value::Object(entry) = entry else {
                continue;
            };
            let name = entry.get("name").and_then(Value::as_str);
            if !name.is_some_and(|n| names.contains(&n)) {
                continue;
            }
            match &mut found {
                None => {
                    found = Some(RegistryEntry {
                        file: path.clone(),
                        entry,
                        also_in: Vec::new(),
                    })
                }
                Some(first) => first.also_in.push(path.clone()),
            }
        }
    }
    found.ok_or_else(|| {
        KamiwazaError::NotInRegistry {
            name: names.first().copied().unwrap_or_default().to_owned(),
            looked: looked.into_iter().filter(|p| p.is_file()).collect(),
        }
        .into()
    })
}

/// The payload of §10 step 3: the entry without server-owned keys and `null` values; apps and
/// services must carry a non-blank `compose_yml`; services get `template_type: "service"`;
/// tools get the defaults Kamiwaza's tool model needs for missing keys.
pub fn clean_payload(
    entry: &Map<String, Value>,
    kind: Kind,
) -> std::result::Result<Map<String, Value>, String> {
    let mut payload: Map<String, Value> = entry
        .iter()
        .filter(|(k, v)| {
            let server_owned = SERVER_KEYS.contains(&k.as_str())
                || (kind == Kind::Tool && k.as_str() == "template_id");
            !(v.is_null() || server_owned)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match kind {
        Kind::App | Kind::Service => {
            let compose = payload.get("compose_yml").and_then(Value::as_str);
            if compose.is_none_or(|c| c.trim().is_empty()) {
                return Err("no `compose_yml` (apps and services need one)".to_owned());
            }
            if kind == Kind::Service && !payload.contains_key("template_type") {
                payload.insert("template_type".into(), Value::from("service"));
            }
        }
        Kind::Tool => {
            let defaults: [(&str, Value); 6] = [
                ("capabilities", Value::Array(Vec::new())),
                ("required_env_vars", Value::Array(Vec::new())),
                ("env_defaults", Value::Object(Map::new())),
                ("tags", Value::Array(Vec::new())),
                ("verified", Value::Bool(false)),
                ("risk_tier", Value::from(1)),
            ];
            for (key, value) in defaults {
                if !payload.contains_key(key) {
                    payload.insert(key.to_owned(), value);
                }
            }
        }
    }
    Ok(payload)
}

/// What `push` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    /// The template already held exactly this payload: nothing was sent.
    Unchanged,
}

/// An extension's template, read from the registry and cleaned, ready to push.
#[derive(Debug)]
pub struct Prepared {
    /// The template name (`name` in kamiwaza.json, else the folder).
    pub name: String,
    pub version: String,
    pub kind: Kind,
    /// The catalogue file the entry came from.
    pub entry_file: PathBuf,
    pub payload: Map<String, Value>,
    /// Things worth a warning before anything is sent (duplicates, a stale registry).
    pub warnings: Vec<String>,
}

/// The outcome of one push.
#[derive(Debug)]
pub struct Pushed {
    pub action: Action,
    /// The template's id on Kamiwaza (when the server said).
    pub id: Option<String>,
    /// Things worth a warning (a downgrade forced by id).
    pub warnings: Vec<String>,
}

/// Read `ext`'s entry from the registry at `registry_dir` and clean it (§10 steps 1–3).
pub fn prepare(registry_dir: &Path, ext: &Extension) -> Result<Prepared> {
    let manifest = Manifest::load(&ext.file(manifest::FILE_NAME))?;
    let name = manifest.name().unwrap_or(&ext.dir_name).to_owned();
    let found = find_entry(registry_dir, ext.kind, &[&name, &ext.dir_name])?;
    let mut warnings = Vec::new();
    for other in &found.also_in {
        warnings.push(format!(
            "`{name}` is in the registry more than once (also in `{}`); pushing the first, from `{}`",
            other.display(),
            found.file.display()
        ));
    }
    let payload =
        clean_payload(&found.entry, ext.kind).map_err(|problem| KamiwazaError::BadEntry {
            path: found.file.clone(),
            name: name.clone(),
            problem,
        })?;
    let version = str_of(payload.get("version")).unwrap_or_default();
    if let Some(local) = manifest.version() {
        if local != version {
            warnings.push(format!(
                "the registry has `{name}` {version} but {} says {local}; run `kz build-registry` \
                 to push the current one",
                manifest.path.display()
            ));
        }
    }
    Ok(Prepared {
        name,
        version,
        kind: ext.kind,
        entry_file: found.file,
        payload,
        warnings,
    })
}

/// Push a prepared template: log in, look it up (by `template_id`, else by name), then create
/// or update it (§10 steps 4–6, with kz's checks).
pub fn push(conn: &Connection, prepared: &Prepared, template_id: Option<&str>) -> Result<Pushed> {
    let Prepared {
        name,
        version,
        kind,
        payload,
        ..
    } = prepared;
    let mut client = Client::new(conn)?;
    client.login(&conn.username, &conn.password)?;
    let (list_path, update_path) = match kind {
        Kind::App | Kind::Service => ("/apps/app_templates", "/apps/app_templates"),
        Kind::Tool => ("/tool/templates", "/tool/tool_templates"),
    };
    let kind_word = kind.singular();
    let listed = as_list(
        client.get(list_path, &format!("list {kind_word} templates"))?,
        "the template list",
    )?;
    let existing = match template_id {
        Some(id) => Some(
            listed
                .iter()
                .find(|t| id_of(t).as_deref() == Some(id))
                .ok_or_else(|| KamiwazaError::UnknownTemplateId {
                    id: id.to_owned(),
                    kind: kind_word,
                    listed: listed.len(),
                })?,
        ),
        None => listed
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(name.as_str())),
    };
    let body = Value::Object(payload.clone());
    let mut pushed = Pushed {
        action: Action::Created,
        id: None,
        warnings: Vec::new(),
    };
    let Some(existing) = existing else {
        let reply = client.post(
            "/apps/app_templates",
            &body,
            &format!("create the {kind_word} template `{name}`"),
        )?;
        pushed.id = id_of(&reply);
        return Ok(pushed);
    };
    let id = id_of(existing).ok_or_else(|| KamiwazaError::BadResponse {
        doing: "the template list".to_owned(),
        message: format!("the template `{name}` has no `id`"),
    })?;
    pushed.id = Some(id.clone());
    let remote_version = str_of(existing.get("version")).unwrap_or_default();
    let order = compare_versions(&remote_version, version);
    if template_id.is_none() {
        let differs = differing(existing, payload);
        let refuse = |relation: String| KamiwazaError::NotNewer {
            name: name.clone(),
            id: id.clone(),
            remote: remote_version.clone(),
            local: version.clone(),
            relation,
        };
        match order {
            Some(std::cmp::Ordering::Greater) => return Err(refuse("older".to_owned()).into()),
            Some(std::cmp::Ordering::Equal) if differs.is_empty() => {
                pushed.action = Action::Unchanged;
                return Ok(pushed);
            }
            Some(std::cmp::Ordering::Equal) => {
                return Err(refuse(format!(
                    "the same version with other contents ({})",
                    differs.join(", ")
                ))
                .into())
            }
            _ => {}
        }
    } else if order == Some(std::cmp::Ordering::Greater) {
        pushed.warnings.push(format!(
            "template {id} was at {remote_version}; replaced with the older {version} as asked"
        ));
    }
    client.put(
        &format!("{update_path}/{}", encode_segment(&id)),
        &body,
        &format!("update the {kind_word} template `{name}` ({id})"),
    )?;
    pushed.action = Action::Updated;
    Ok(pushed)
}

/// `POST /v1/apps/remote/sync` (the guide's Step 10): Kamiwaza imports from its remote
/// catalogue, everything (no body) or the extensions `names` (`{"names": [...]}`). Kamiwaza's
/// reply, as it gives it.
pub fn sync(conn: &Connection, names: &[String]) -> Result<Value> {
    let mut client = Client::new(conn)?;
    client.login(&conn.username, &conn.password)?;
    let doing = "sync the remote catalogue";
    if names.is_empty() {
        client.post_empty(SYNC_PATH, doing)
    } else {
        client.post(SYNC_PATH, &serde_json::json!({ "names": names }), doing)
    }
}

const SYNC_PATH: &str = "/v1/apps/remote/sync";

/// `GET /apps/app_templates`: the templates as Kamiwaza returns them.
pub fn list(conn: &Connection) -> Result<Vec<Value>> {
    let mut client = Client::new(conn)?;
    client.login(&conn.username, &conn.password)?;
    as_list(
        client.get("/apps/app_templates", "list app templates")?,
        "the template list",
    )
}

/// A template's type as `kamiwaza-list` shows it: `template_type`, else guessed from the name
/// (`tool-`/`mcp-` → tool, `service-` → service, else app).
pub fn template_type(template: &Value) -> String {
    if let Some(t) = template.get("template_type").and_then(Value::as_str) {
        if !t.is_empty() {
            return t.to_owned();
        }
    }
    let name = template.get("name").and_then(Value::as_str).unwrap_or("");
    if name.starts_with("tool-") || name.starts_with("mcp-") {
        "tool".to_owned()
    } else if name.starts_with("service-") {
        "service".to_owned()
    } else {
        "app".to_owned()
    }
}

fn as_list(value: Value, what: &str) -> Result<Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(KamiwazaError::BadResponse {
            doing: what.to_owned(),
            message: format!("expected a JSON array, got {}", kind_of(&other)),
        }
        .into()),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A template's `id` as text (ids are UUID strings, or numbers on older servers).
fn id_of(template: &Value) -> Option<String> {
    str_of(template.get("id"))
}

fn str_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// SemVer order of `a` and `b` (a leading `v` allowed); `None` when either is not SemVer.
fn compare_versions(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let parse = |s: &str| semver::Version::parse(s.strip_prefix('v').unwrap_or(s)).ok();
    Some(parse(a)?.cmp_precedence(&parse(b)?))
}

/// The payload keys whose values the template does not hold (empty: it holds them all).
fn differing(template: &Value, payload: &Map<String, Value>) -> Vec<String> {
    payload
        .iter()
        .filter(|(k, v)| template.get(k.as_str()) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// What must be escaped in one URL path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// An id as one URL path segment.
fn encode_segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test data is an object"),
        }
    }

    #[test]
    fn app_payload_drops_server_keys_and_nulls_keeping_order() {
        let entry = obj(json!({
            "id": "x", "name": "a", "owner_id": 1, "version": "1.0.0", "created_at": "t",
            "preview_image": null, "compose_yml": "services: {}\n", "updated_at": "t",
            "template_id": "kept-for-apps"
        }));
        let p = clean_payload(&entry, Kind::App).expect("ok");
        let keys: Vec<&str> = p.keys().map(String::as_str).collect();
        assert_eq!(keys, ["name", "version", "compose_yml", "template_id"]);
    }

    #[test]
    fn services_get_template_type_and_need_compose() {
        let p = clean_payload(
            &obj(json!({"name": "s", "compose_yml": "x"})),
            Kind::Service,
        )
        .expect("ok");
        assert_eq!(p["template_type"], "service");
        let p = clean_payload(
            &obj(json!({"name": "s", "template_type": "app", "compose_yml": "x"})),
            Kind::Service,
        )
        .expect("ok");
        assert_eq!(p["template_type"], "app");
        for bad in [
            json!({"name": "s"}),
            json!({"name": "s", "compose_yml": "  \n"}),
        ] {
            let e = clean_payload(&obj(bad), Kind::App).expect_err("no compose");
            assert!(e.contains("compose_yml"), "{e}");
        }
    }

    #[test]
    fn tools_get_defaults_for_missing_keys_only() {
        let p = clean_payload(
            &obj(json!({"name": "t", "template_id": "z", "tags": ["x"], "risk_tier": 2})),
            Kind::Tool,
        )
        .expect("ok");
        assert_eq!(
            Value::Object(p),
            json!({"name": "t", "tags": ["x"], "risk_tier": 2, "capabilities": [],
                   "required_env_vars": [], "env_defaults": {}, "verified": false})
        );
    }

    #[test]
    fn types_versions_and_ids() {
        assert_eq!(template_type(&json!({"name": "mcp-x"})), "tool");
        assert_eq!(template_type(&json!({"name": "service-x"})), "service");
        assert_eq!(template_type(&json!({"name": "x"})), "app");
        assert_eq!(
            template_type(&json!({"name": "tool-x", "template_type": "service"})),
            "service"
        );
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Some(Greater));
        assert_eq!(compare_versions("v1.0.0", "1.0.0"), Some(Equal));
        assert_eq!(compare_versions("1.0.0-dev", "1.0.0"), Some(Less));
        assert_eq!(compare_versions("latest", "1.0.0"), None);
        assert_eq!(id_of(&json!({"id": 7})), Some("7".to_owned()));
        assert_eq!(encode_segment("a-1 b/c"), "a-1%20b%2Fc");
    }

    #[test]
    fn entry_lookup_prefers_v2_and_reports_duplicates() {
        let t = tempfile::tempdir().expect("tmp");
        let reg = t.path();
        std::fs::create_dir_all(reg.join("garden/v2")).expect("mkdir");
        std::fs::create_dir_all(reg.join("garden/default")).expect("mkdir");
        std::fs::write(
            reg.join("garden/v2/apps.json"),
            r#"[{"name": "other"}, {"name": "chat", "v": 2}]"#,
        )
        .expect("w");
        std::fs::write(
            reg.join("garden/default/apps.json"),
            r#"[{"name": "chat-dir", "v": 1}]"#,
        )
        .expect("w");
        let found = find_entry(reg, Kind::App, &["chat", "chat-dir"]).expect("found");
        assert_eq!(found.entry["v"], 2);
        assert_eq!(found.also_in.len(), 1);
        let e = find_entry(reg, Kind::App, &["nope"]).expect_err("missing");
        assert!(e.to_string().contains("`nope` not found"), "{e}");
        let e = find_entry(reg, Kind::Tool, &["chat"]).expect_err("no tools.json");
        assert!(e.to_string().contains("tools.json"), "{e}");
    }
}
