//! Registry credentials, found the way the docker CLI finds them: the config file
//! (`$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`), then per registry host
//! `credHelpers[host]`, else `credsStore`, else the file's own `auths` entry (`auth` =
//! base64 `user:password`, or `username`/`password`, or `identitytoken`). A helper is the
//! program `docker-credential-<name>` on the `PATH` handed in, run as `get` with the server on
//! stdin. Secrets live in [`Secret`], which never shows its value: nothing kz prints or
//! returns in an error can carry one.

use crate::error::Error;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The key the docker CLI files Docker Hub credentials under.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

pub use crate::secret::Secret;

/// What kz presents to a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    Anonymous,
    Basic {
        username: String,
        password: Secret,
    },
    /// An identity (refresh) token, sent as a bearer token.
    Token(Secret),
}

impl Credential {
    /// Where it came from, for messages: never the secret.
    pub fn describe(&self) -> &'static str {
        match self {
            Credential::Anonymous => "anonymous",
            Credential::Basic { .. } => "username and password",
            Credential::Token(_) => "identity token",
        }
    }

    pub(crate) fn to_registry_auth(&self) -> oci_client::secrets::RegistryAuth {
        use oci_client::secrets::RegistryAuth;
        match self {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.expose().to_owned())
            }
            Credential::Token(t) => RegistryAuth::Bearer(t.expose().to_owned()),
        }
    }
}

/// Where credentials are looked up: the docker config file and the environment helpers run in.
#[derive(Clone)]
pub struct CredentialStore {
    /// The config.json (it may not exist: then every registry is anonymous).
    pub config: PathBuf,
    /// The environment handed to credential helpers; its `PATH` finds them.
    pub env: BTreeMap<String, String>,
}

impl std::fmt::Debug for CredentialStore {
    // The environment may hold other secrets: only its size is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialStore")
            .field("config", &self.config)
            .field("env", &format_args!("<{} variables>", self.env.len()))
            .finish()
    }
}

#[derive(Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl CredentialStore {
    /// The docker CLI's file: `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn from_env(env: &BTreeMap<String, String>) -> Self {
        let dir = match env.get("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env.get("HOME").map_or("", String::as_str)).join(".docker"),
        };
        CredentialStore {
            config: dir.join("config.json"),
            env: env.clone(),
        }
    }

    /// The credential for registry `host` (`host[:port]`, `docker.io` for Docker Hub).
    pub fn lookup(&self, host: &str) -> Result<Credential, Error> {
        let file = self.read_config()?;
        let key = server_key(host);
        if let Some(helper) = file.cred_helpers.get(host).or(file.cred_helpers.get(&key)) {
            return self.ask_helper(helper, &key, host);
        }
        if let Some(store) = file.creds_store.as_deref().filter(|s| !s.is_empty()) {
            return self.ask_helper(store, &key, host);
        }
        let entry = file.auths.get(&key).or_else(|| {
            file.auths
                .iter()
                .find(|(k, _)| hostname_of(k) == hostname_of(&key))
                .map(|(_, v)| v)
        });
        match entry {
            Some(e) => self.read_entry(e, host),
            None => Ok(Credential::Anonymous),
        }
    }

    fn read_config(&self) -> Result<ConfigFile, Error> {
        if !self.config.is_file() {
            return Ok(ConfigFile::default());
        }
        let text = crate::fsx::read_text(&self.config, crate::fsx::MAX_TEXT_FILE)?;
        serde_json::from_str(&text).map_err(|e| Error::Json {
            path: self.config.clone(),
            line: e.line(),
            col: e.column(),
            // serde's message names the type expected, never the value read.
            message: e.to_string(),
        })
    }

    fn read_entry(&self, e: &AuthEntry, host: &str) -> Result<Credential, Error> {
        if let Some(token) = e.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Credential::Token(Secret::new(token)));
        }
        if let Some(auth) = e.auth.as_deref().filter(|a| !a.is_empty()) {
            let bad = || Error::Credentials {
                registry: host.to_owned(),
                message: format!(
                    "the `auth` entry in `{}` is not base64 of `user:password`",
                    self.config.display()
                ),
            };
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            let (user, pass) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Credential::Basic {
                username: user.to_owned(),
                password: Secret::new(pass.trim_end_matches('\n')),
            });
        }
        match (&e.username, &e.password) {
            (Some(u), Some(p)) if !u.is_empty() => Ok(Credential::Basic {
                username: u.clone(),
                password: Secret::new(p.as_str()),
            }),
            _ => Ok(Credential::Anonymous),
        }
    }

    fn ask_helper(&self, name: &str, server: &str, host: &str) -> Result<Credential, Error> {
        let fail = |message: String| Error::Credentials {
            registry: host.to_owned(),
            message,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(fail(format!("`{name}` is not a credential helper name")));
        }
        let program = format!("docker-credential-{name}");
        let Some(path) = find_on_path(&program, self.env.get("PATH").map(String::as_str)) else {
            return Err(fail(format!(
                "`{}` names the credential helper `{program}`, which is not on PATH",
                self.config.display()
            )));
        };
        let mut child = Command::new(&path)
            .arg("get")
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run `{}`: {e}", path.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading its input is judged by its exit status.
            let _ = stdin.write_all(server.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("cannot run `{}`: {e}", path.display())))?;
        if !out.status.success() {
            // The protocol's "not found" answer is on stdout; nothing from stdout is echoed.
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("credentials not found") {
                return Ok(Credential::Anonymous);
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().next().unwrap_or("").trim();
            return Err(fail(format!(
                "`{program} get` failed ({}){}",
                out.status,
                if first.is_empty() {
                    String::new()
                } else {
                    format!(": {}", truncate(first, 200))
                }
            )));
        }
        let reply: HelperReply = serde_json::from_slice(&out.stdout).map_err(|_| {
            fail(format!(
                "`{program} get` did not answer with credential JSON"
            ))
        })?;
        if reply.secret.is_empty() {
            return Ok(Credential::Anonymous);
        }
        if reply.username == "<token>" {
            return Ok(Credential::Token(Secret::new(reply.secret)));
        }
        Ok(Credential::Basic {
            username: reply.username,
            password: Secret::new(reply.secret),
        })
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The key a registry's credentials are filed under: Docker Hub's URL, else the host.
pub fn server_key(host: &str) -> String {
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.to_owned(),
        h => h.to_owned(),
    }
}

/// `https://host:port/v1/` → `host:port`, as the docker CLI's `ConvertToHostname`.
fn hostname_of(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

/// `program` on the `PATH` handed in (not the process's), as `which` finds it.
fn find_on_path(program: &str, path: Option<&str>) -> Option<PathBuf> {
    which::which_in(program, Some(path?), ".").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn store(dir: &Path, config: &str, path: Option<&Path>) -> CredentialStore {
        std::fs::write(dir.join("config.json"), config).expect("write");
        let mut env = BTreeMap::from([("DOCKER_CONFIG".to_owned(), dir.display().to_string())]);
        if let Some(p) = path {
            env.insert("PATH".to_owned(), p.display().to_string());
        }
        CredentialStore::from_env(&env)
    }

    #[test]
    fn auths_in_every_form() {
        let t = tempfile::tempdir().expect("tmp");
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:x");
        let s = store(
            t.path(),
            &format!(
                r#"{{"auths": {{
                  "reg.example:5000": {{"auth": "{b64}"}},
                  "https://other.example/v1/": {{"username": "bob", "password": "pw"}},
                  "tok.example": {{"identitytoken": "tk"}},
                  "https://index.docker.io/v1/": {{"auth": "{b64}"}}
                }}}}"#
            ),
            None,
        );
        let a = s.lookup("reg.example:5000").expect("lookup");
        assert_eq!(
            a,
            Credential::Basic {
                username: "alice".into(),
                password: Secret::new("s3cret:x")
            }
        );
        assert!(!format!("{a:?}").contains("s3cret"), "{a:?}");
        assert!(
            matches!(s.lookup("other.example").expect("o"), Credential::Basic { username, .. } if username == "bob")
        );
        assert_eq!(
            s.lookup("tok.example").expect("t"),
            Credential::Token(Secret::new("tk"))
        );
        assert!(matches!(
            s.lookup("docker.io").expect("hub"),
            Credential::Basic { .. }
        ));
        assert_eq!(
            s.lookup("nowhere.example").expect("n"),
            Credential::Anonymous
        );
    }

    #[test]
    fn no_file_is_anonymous_and_bad_json_names_the_file() {
        let t = tempfile::tempdir().expect("tmp");
        let env = BTreeMap::from([("HOME".to_owned(), t.path().display().to_string())]);
        let s = CredentialStore::from_env(&env);
        assert_eq!(s.config, t.path().join(".docker/config.json"));
        assert_eq!(s.lookup("x.example").expect("l"), Credential::Anonymous);
        let bad = store(t.path(), "{\"auths\": {\"x\": {\"auth\": 5}}}", None);
        let e = bad.lookup("x").expect_err("bad").to_string();
        assert!(e.contains("config.json"), "{e}");
    }

    #[test]
    fn bad_base64_does_not_echo_the_value() {
        let t = tempfile::tempdir().expect("tmp");
        let s = store(
            t.path(),
            r#"{"auths": {"x": {"auth": "%%hunter2%%"}}}"#,
            None,
        );
        let e = s.lookup("x").expect_err("bad");
        assert!(!format!("{e} {e:?}").contains("hunter2"));
    }

    #[cfg(unix)]
    #[test]
    fn helpers_per_host_and_store() {
        use std::os::unix::fs::PermissionsExt as _;
        let t = tempfile::tempdir().expect("tmp");
        let bin = t.path().join("bin");
        std::fs::create_dir(&bin).expect("mkdir");
        let helper = |name: &str, body: &str| {
            let p = bin.join(format!("docker-credential-{name}"));
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("helper");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        helper(
            "one",
            r#"read host; echo "{\"ServerURL\":\"$host\",\"Username\":\"u-$host\",\"Secret\":\"p\"}""#,
        );
        helper("store", r#"echo '{"Username":"<token>","Secret":"idt"}'"#);
        helper(
            "none",
            "echo 'credentials not found in native keychain'; exit 1",
        );
        let s = store(
            t.path(),
            r#"{"credHelpers": {"a.example": "one", "n.example": "none", "m.example": "missing"},
                "credsStore": "store", "auths": {"a.example": {"auth": "eDp5"}}}"#,
            Some(&bin),
        );
        assert!(matches!(s.lookup("a.example").expect("a"),
            Credential::Basic { username, .. } if username == "u-a.example"));
        assert_eq!(
            s.lookup("b.example").expect("b"),
            Credential::Token(Secret::new("idt"))
        );
        assert_eq!(s.lookup("n.example").expect("n"), Credential::Anonymous);
        let e = s.lookup("m.example").expect_err("missing").to_string();
        assert!(e.contains("docker-credential-missing"), "{e}");
    }
}
