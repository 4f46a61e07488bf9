//! Where the Kamiwaza API is and who logs in. Each value comes from the variables the CLI hands
//! in (the environment over the root `.env`), else from `~/.kamiwaza/config.yaml`:
//!
//! ```yaml
//! # ~/.kamiwaza/config.yaml (every key optional; other keys are ignored)
//! api_url: https://kamiwaza.example.com/api
//! username: admin
//! password: ...
//! ```
//!
//! There is no default user or password: a missing one is an error that says where to set it.

use super::KamiwazaError;
use crate::error::{Error, Result};
use crate::fsx;
use crate::yaml::{self, Node, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The API address when nothing says otherwise (the reference's default).
pub const DEFAULT_API_URL: &str = "https://localhost/api";

pub use crate::secret::Secret;

/// Everything needed to talk to one Kamiwaza.
#[derive(Clone, Debug)]
pub struct Connection {
    /// `https://host/api`, without a trailing slash.
    pub api_url: String,
    pub username: String,
    pub password: Secret,
    /// Skip TLS certificate verification (`--insecure`).
    pub insecure: bool,
    /// A PEM file of extra trusted CA certificates (KAMIWAZA_CA_CERT).
    pub ca_cert: Option<PathBuf>,
    /// An HTTPS proxy from HTTPS_PROXY / https_proxy, with NO_PROXY.
    pub proxy: Option<(String, Option<String>)>,
    /// Where the credentials came from, for messages ("the environment", a file path).
    pub source: String,
}

/// What `~/.kamiwaza/config.yaml` holds.
#[derive(Debug, Default)]
struct FileConfig {
    api_url: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl Connection {
    /// Resolve the connection from `vars` (environment over `.env`) and the config file under
    /// `home` (the HOME the CLI passed, if any).
    pub fn resolve(
        vars: &BTreeMap<String, String>,
        home: Option<&Path>,
        insecure: bool,
    ) -> Result<Connection> {
        let file_path = home.map(|h| h.join(".kamiwaza").join("config.yaml"));
        let file = match &file_path {
            Some(p) if p.is_file() => read_config(p)?,
            _ => FileConfig::default(),
        };
        let var = |name: &str| vars.get(name).filter(|v| !v.is_empty()).cloned();
        let file_name = || {
            file_path
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        };
        let api_url = var("KAMIWAZA_API_URL")
            .or(file.api_url)
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let api_url = check_url(&api_url)?;
        let (username, user_from_file) = match var("KAMIWAZA_USERNAME") {
            Some(u) => (u, false),
            None => match file.username {
                Some(u) => (u, true),
                None => return Err(KamiwazaError::Missing { what: "username" }.into()),
            },
        };
        let (password, pass_from_file) = match var("KAMIWAZA_PASSWORD") {
            Some(p) => (p, false),
            None => match file.password {
                Some(p) => (p, true),
                None => return Err(KamiwazaError::Missing { what: "password" }.into()),
            },
        };
        let source = match (user_from_file, pass_from_file) {
            (false, false) => "KAMIWAZA_USERNAME/KAMIWAZA_PASSWORD".to_owned(),
            (true, true) => file_name(),
            _ => format!("KAMIWAZA_* variables and {}", file_name()),
        };
        let proxy = var("HTTPS_PROXY")
            .or_else(|| var("https_proxy"))
            .map(|p| (p, var("NO_PROXY").or_else(|| var("no_proxy"))));
        Ok(Connection {
            api_url,
            username,
            password: Secret::new(password),
            insecure,
            ca_cert: var("KAMIWAZA_CA_CERT").map(PathBuf::from),
            proxy,
            source,
        })
    }
}

/// `http(s)://host[:port]/path`, trailing slashes dropped.
fn check_url(url: &str) -> Result<String> {
    let bad = |message: &str| {
        Error::from(KamiwazaError::BadUrl {
            url: url.to_owned(),
            message: message.to_owned(),
        })
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("it must start with https:// (or http://)"));
    }
    if parsed.host_str().is_none() {
        return Err(bad("it names no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "credentials do not belong in the URL; use KAMIWAZA_USERNAME/KAMIWAZA_PASSWORD",
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn read_config(path: &Path) -> Result<FileConfig> {
    let text = fsx::read_text(path, fsx::MAX_TEXT_FILE)?;
    let doc = yaml::load(&text, &yaml::LoadLimits::default()).map_err(|source| Error::Yaml {
        path: path.to_owned(),
        source,
    })?;
    let mut config = FileConfig::default();
    let Some(doc) = doc else { return Ok(config) };
    let Some(map) = doc.as_map() else {
        return Err(KamiwazaError::Config {
            path: path.to_owned(),
            message: "the file must be a mapping (`username: …`, `password: …`)".to_owned(),
        }
        .into());
    };
    for (key, value) in map {
        let slot = match key.as_str() {
            Some("api_url") => &mut config.api_url,
            Some("username") => &mut config.username,
            Some("password") => &mut config.password,
            _ => continue,
        };
        *slot = Some(scalar(value).ok_or_else(|| KamiwazaError::Config {
            path: path.to_owned(),
            // the value is never echoed: it may be the password
            message: format!(
                "line {}: `{}` must be a string",
                value.mark.line,
                key.as_str().unwrap_or("?")
            ),
        })?);
    }
    Ok(config)
}

/// A scalar as text (a password of digits is still a password).
fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => node.py_str(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn variables_win_over_the_config_file() {
        let home = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(home.path().join(".kamiwaza")).expect("mkdir");
        std::fs::write(
            home.path().join(".kamiwaza/config.yaml"),
            "api_url: https://k.example/api/\nusername: fileuser\npassword: 12345\nother: x\n",
        )
        .expect("write");
        let c = Connection::resolve(&vars(&[]), Some(home.path()), false).expect("file");
        assert_eq!(c.api_url, "https://k.example/api");
        assert_eq!(c.username, "fileuser");
        assert_eq!(c.password.expose(), "12345");
        assert!(c.source.ends_with("config.yaml"), "{}", c.source);
        let c = Connection::resolve(
            &vars(&[
                ("KAMIWAZA_USERNAME", "envuser"),
                ("KAMIWAZA_PASSWORD", "pw"),
            ]),
            Some(home.path()),
            true,
        )
        .expect("env");
        assert_eq!(
            (c.username.as_str(), c.password.expose()),
            ("envuser", "pw")
        );
        assert!(c.insecure);
        assert!(!format!("{c:?}").contains("pw\""), "{c:?}");
    }

    #[test]
    fn missing_password_and_bad_url_are_errors() {
        let e = Connection::resolve(&vars(&[("KAMIWAZA_USERNAME", "u")]), None, false)
            .expect_err("no password");
        assert!(e.to_string().contains("password"), "{e}");
        let e = Connection::resolve(
            &vars(&[
                ("KAMIWAZA_USERNAME", "u"),
                ("KAMIWAZA_PASSWORD", "p"),
                ("KAMIWAZA_API_URL", "ftp://x/api"),
            ]),
            None,
            false,
        )
        .expect_err("scheme");
        assert!(e.to_string().contains("ftp://x/api"), "{e}");
        let c = Connection::resolve(
            &vars(&[("KAMIWAZA_USERNAME", "u"), ("KAMIWAZA_PASSWORD", "p")]),
            None,
            false,
        )
        .expect("default url");
        assert_eq!(c.api_url, DEFAULT_API_URL);
    }

    #[test]
    fn a_bad_config_value_is_reported_without_echoing_it() {
        let home = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(home.path().join(".kamiwaza")).expect("mkdir");
        std::fs::write(
            home.path().join(".kamiwaza/config.yaml"),
            "username: u\npassword: [hunter2]\n",
        )
        .expect("write");
        let e = Connection::resolve(&vars(&[]), Some(home.path()), false).expect_err("list");
        let text = e.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
