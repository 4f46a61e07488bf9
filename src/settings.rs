//! Workspace settings: the optional `kz.yaml` at the root, the root `.env`, and the process
//! environment (passed in by the CLI; the core never reads it). Read once into `Settings`.
//!
//! ```yaml
//! # kz.yaml (every key optional)
//! images:
//!   namespace: kamiwazaai      # image namespace
//!   tag: "{version}"           # tag template; "v{version}" gives the guide's form
//! stages:
//!   dev:   { tag_suffix: "-dev" }
//!   stage: { tag_suffix: "-stage" }
//!   prod:  { tag_suffix: "" }
//! validate:
//!   accept:                    # findings accepted on purpose (`kz validate` reports them as such)
//!     - rule: compose/bind-mount
//!       extension: apps/my-app  # type/name or folder name
//!       path: docker-compose.appgarden.yml   # optional: a file inside the extension
//!       reason: the socket is mounted read-only for the health probe
//! build:
//!   builder: buildkit          # or classic (kz build --builder wins)
//!   network: default           # default, none or host (kz build --network wins)
//! ```

use crate::error::{Error, Result};
use crate::fsx;
use crate::yaml::{self, Node, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A release stage and the suffix its image tags carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub tag_suffix: String,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Image namespace (`kamiwazaai`).
    pub namespace: String,
    /// Tag template; `{version}` is replaced by the extension version.
    pub tag_template: String,
    pub stages: Vec<Stage>,
    /// Variables from `.env`, overridden by the environment the CLI passed in.
    pub vars: BTreeMap<String, String>,
    /// The kz.yaml these came from, if any.
    pub file: Option<PathBuf>,
    /// `validate.accept`: findings accepted on purpose.
    pub accept: Vec<Acceptance>,
    /// `build.builder`: `buildkit` (default) or `classic`.
    pub build_builder: Option<crate::build::Builder>,
    /// `build.network`: the network image builds get (`kz build --network` and
    /// `KZ_BUILD_NETWORK` win over it).
    pub build_network: Option<crate::build::BuildNetwork>,
    /// kz.yaml `catalogue.repo_version`: the layout commands use without `--repo-version`.
    pub repo_version: Option<crate::registry::RepoVersion>,
}

/// One `validate.accept` entry of kz.yaml: findings of `rule` in `extension` (in `path`, a file
/// inside the extension folder, when given) are accepted for `reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    pub rule: String,
    pub extension: String,
    pub path: Option<String>,
    pub reason: String,
    /// The line of the entry in kz.yaml.
    pub line: u32,
}

impl Default for Settings {
    fn default() -> Self {
        let stage = |name: &str, suffix: &str| Stage {
            name: name.into(),
            tag_suffix: suffix.into(),
        };
        Settings {
            namespace: "kamiwazaai".into(),
            tag_template: "{version}".into(),
            stages: vec![
                stage("dev", "-dev"),
                stage("stage", "-stage"),
                stage("prod", ""),
            ],
            vars: BTreeMap::new(),
            file: None,
            accept: Vec::new(),
            build_builder: None,
            build_network: None,
            repo_version: None,
        }
    }
}

impl Settings {
    /// Load `kz.yaml` and `.env` from `root`; `env` (the process environment) wins over `.env`.
    pub fn load(root: &Path, env: &BTreeMap<String, String>) -> Result<Settings> {
        let mut settings = Settings::default();
        let file = root.join(crate::workspace::SETTINGS_FILE);
        if file.is_file() {
            let text = fsx::read_text(&file, fsx::MAX_TEXT_FILE)?;
            let doc =
                yaml::load(&text, &yaml::LoadLimits::default()).map_err(|source| Error::Yaml {
                    path: file.clone(),
                    source,
                })?;
            if let Some(doc) = doc {
                settings.apply(&file, &doc)?;
            }
            settings.file = Some(file);
        }
        let dotenv = root.join(".env");
        if dotenv.is_file() {
            let iter = dotenvy::from_path_iter(&dotenv)
                .map_err(|e| Error::invalid(&dotenv, e.to_string()))?;
            for item in iter {
                let (k, v) = item.map_err(|e| Error::invalid(&dotenv, e.to_string()))?;
                settings.vars.insert(k, v);
            }
        }
        settings
            .vars
            .extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(settings)
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The stage called `name`, or [`Error::UnknownStage`] listing the known ones.
    pub fn require_stage(&self, name: &str) -> Result<&Stage> {
        self.stage(name).ok_or_else(|| Error::UnknownStage {
            name: name.to_owned(),
            known: self.stages.iter().map(|s| s.name.clone()).collect(),
        })
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    fn apply(&mut self, file: &Path, doc: &Node) -> Result<()> {
        let err = |node: &Node, msg: String| {
            Error::invalid(file, format!("line {}: {msg}", node.mark.line))
        };
        let Some(top) = doc.as_map() else {
            return Err(err(doc, "kz.yaml must be a mapping".into()));
        };
        for (key, value) in top {
            match key.as_str() {
                Some("images") => {
                    for (k, v) in value
                        .as_map()
                        .ok_or_else(|| err(value, "`images` must be a mapping".into()))?
                    {
                        let text = string(v).ok_or_else(|| err(v, "expected a string".into()))?;
                        match k.as_str() {
                            Some("namespace") => {
                                self.namespace = check_namespace(text).map_err(|m| err(v, m))?
                            }
                            Some("tag") => {
                                self.tag_template = check_template(text).map_err(|m| err(v, m))?
                            }
                            _ => {
                                return Err(err(k, format!("unknown key `images.{}`", key_text(k))))
                            }
                        }
                    }
                }
                Some("stages") => {
                    for (k, v) in value
                        .as_map()
                        .ok_or_else(|| err(value, "`stages` must be a mapping".into()))?
                    {
                        let name = key_text(k);
                        let suffix = v.get("tag_suffix").and_then(string).ok_or_else(|| {
                            err(v, format!("stage `{name}` needs `tag_suffix: <text>`"))
                        })?;
                        match self.stages.iter_mut().find(|s| s.name == name) {
                            Some(stage) => stage.tag_suffix = suffix.to_owned(),
                            None => self.stages.push(Stage {
                                name,
                                tag_suffix: suffix.to_owned(),
                            }),
                        }
                    }
                }
                Some("validate") => {
                    for (k, v) in value
                        .as_map()
                        .ok_or_else(|| err(value, "`validate` must be a mapping".into()))?
                    {
                        match k.as_str() {
                            Some("accept") => {
                                self.accept = acceptances(v).map_err(|(n, m)| err(n, m))?
                            }
                            _ => {
                                return Err(err(
                                    k,
                                    format!("unknown key `validate.{}`", key_text(k)),
                                ))
                            }
                        }
                    }
                }
                Some("build") => {
                    for (k, v) in value
                        .as_map()
                        .ok_or_else(|| err(value, "`build` must be a mapping".into()))?
                    {
                        match k.as_str() {
                            Some("builder") => {
                                let text =
                                    string(v).ok_or_else(|| err(v, "expected a string".into()))?;
                                self.build_builder = Some(text.parse().map_err(|m| err(v, m))?)
                            }
                            Some("network") => {
                                let names = crate::build::BuildNetwork::NAMES.join(", ");
                                self.build_network = Some(
                                    string(v)
                                        .and_then(crate::build::BuildNetwork::parse)
                                        .ok_or_else(|| {
                                            err(
                                                v,
                                                format!("`build.network` must be one of {names}"),
                                            )
                                        })?,
                                );
                            }
                            _ => {
                                return Err(err(k, format!("unknown key `build.{}`", key_text(k))))
                            }
                        }
                    }
                }
                Some("catalogue") => {
                    for (k, v) in value
                        .as_map()
                        .ok_or_else(|| err(value, "`catalogue` must be a mapping".into()))?
                    {
                        let text = string(v).ok_or_else(|| err(v, "expected a string".into()))?;
                        match k.as_str() {
                            Some("repo_version") => {
                                self.repo_version = Some(text.parse().map_err(|m| err(v, m))?)
                            }
                            _ => {
                                return Err(err(
                                    k,
                                    format!("unknown key `catalogue.{}`", key_text(k)),
                                ))
                            }
                        }
                    }
                }
                _ => return Err(err(key, format!("unknown key `{}`", key_text(key)))),
            }
        }
        Ok(())
    }
}

/// `validate.accept`: a list of `{rule, extension, path?, reason}`; the rule must be one kz knows
/// and the reason must say something.
fn acceptances(list: &Node) -> std::result::Result<Vec<Acceptance>, (&Node, String)> {
    let items = match &list.value {
        Value::Seq(items) => items,
        Value::Null => return Ok(Vec::new()),
        _ => return Err((list, "`validate.accept` must be a list".into())),
    };
    let mut out = Vec::new();
    for item in items {
        let Some(map) = item.as_map() else {
            return Err((
                item,
                "an acceptance is a mapping {rule, extension, path?, reason}".into(),
            ));
        };
        for (k, _) in map {
            if !matches!(k.as_str(), Some("rule" | "extension" | "path" | "reason")) {
                let msg = format!("unknown key `{}` in an acceptance", key_text(k));
                return Err((k, msg));
            }
        }
        let field = |name: &str| {
            item.get(name)
                .and_then(string)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let need = |name: &str| {
            field(name)
                .map(str::to_owned)
                .ok_or_else(|| (item, format!("an acceptance needs `{name}: <text>`")))
        };
        let rule = need("rule")?;
        if !crate::validate::all_rules().any(|r| r.id == rule) {
            let node = item.get("rule").unwrap_or(item);
            let msg = format!("unknown rule `{rule}` (`kz validate --list-rules` lists them)");
            return Err((node, msg));
        }
        out.push(Acceptance {
            rule,
            extension: need("extension")?.trim_end_matches('/').to_owned(),
            path: field("path").map(|p| p.trim_start_matches("./").to_owned()),
            reason: need("reason")?,
            line: item.mark.line,
        });
    }
    Ok(out)
}

fn string(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Str(s) => Some(s),
        Value::Null => Some(""),
        _ => None,
    }
}

fn key_text(node: &Node) -> String {
    node.py_str().unwrap_or_else(|| "?".into())
}

fn check_namespace(ns: &str) -> std::result::Result<String, String> {
    let ok = !ns.is_empty()
        && ns.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-:".contains(c))
        });
    if ok {
        Ok(ns.to_owned())
    } else {
        Err(format!(
            "`{ns}` is not a valid image namespace (lowercase letters, digits, . _ - and /)"
        ))
    }
}

fn check_template(t: &str) -> std::result::Result<String, String> {
    if t.contains("{version}") {
        Ok(t.to_owned())
    } else {
        Err(format!("tag template `{t}` must contain `{{version}}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_and_env() {
        let t = tempfile::tempdir().expect("tmp");
        std::fs::write(
            t.path().join("kz.yaml"),
            "images:\n  namespace: acme\n  tag: v{version}\nstages:\n  qa: {tag_suffix: -qa}\n",
        )
        .expect("write");
        std::fs::write(t.path().join(".env"), "AWS_PROFILE_DEV=dev-profile\nX=1\n").expect("env");
        let env = BTreeMap::from([("X".to_owned(), "2".to_owned())]);
        let s = Settings::load(t.path(), &env).expect("load");
        assert_eq!(s.namespace, "acme");
        assert_eq!(s.tag_template, "v{version}");
        assert_eq!(s.stage("qa").expect("qa").tag_suffix, "-qa");
        assert_eq!(s.stage("prod").expect("prod").tag_suffix, "");
        assert_eq!(s.var("AWS_PROFILE_DEV"), Some("dev-profile"));
        assert_eq!(s.var("X"), Some("2"));
        assert_eq!(s.build_network, None);
    }

    #[test]
    fn build_network_is_read_and_checked() {
        let t = tempfile::tempdir().expect("tmp");
        let file = t.path().join("kz.yaml");
        std::fs::write(&file, "build:\n  network: host\n").expect("write");
        let s = Settings::load(t.path(), &BTreeMap::new()).expect("load");
        assert_eq!(s.build_network, Some(crate::build::BuildNetwork::Host));
        for bad in ["build:\n  network: bridge\n", "build:\n  network: [host]\n"] {
            std::fs::write(&file, bad).expect("write");
            let e = Settings::load(t.path(), &BTreeMap::new())
                .expect_err(bad)
                .to_string();
            assert!(
                e.contains("kz.yaml") && e.contains("line 2") && e.contains("default, none, host"),
                "{e}"
            );
        }
        std::fs::write(&file, "build:\n  netwrk: host\n").expect("write");
        let e = Settings::load(t.path(), &BTreeMap::new())
            .expect_err("unknown")
            .to_string();
        assert!(e.contains("unknown key `build.netwrk`"), "{e}");
    }

    #[test]
    fn unknown_key_names_line() {
        let t = tempfile::tempdir().expect("tmp");
        std::fs::write(t.path().join("kz.yaml"), "images:\n  namespce: x\n").expect("write");
        let e = Settings::load(t.path(), &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("kz.yaml"), "{e}");
    }
}
