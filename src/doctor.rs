//! `kz doctor`: one check per piece kz depends on, each ok, warn or fail with a hint. The checks
//! never print and never fail themselves: a piece that cannot be reached is a `fail` line. No
//! credential is ever part of a check's text (only where it was found).
//!
//! Checks: the engine answers; its API version; BuildKit; free disk under the engine's data root
//! (measured when the engine is on this machine); the tools package-libs needs (python3, npm);
//! credentials for the registry the workspace pushes to; the Kamiwaza URL answers and accepts
//! the configured credentials.

use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        })
    }
}

/// One check's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        hint: None,
    }
}

impl Check {
    fn hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }
}

/// The lowest engine API kz is tested against (Docker 20.10).
const MIN_API: (u32, u32) = (1, 41);
/// BuildKit sessions arrived with API 1.39 (Docker 18.09).
const BUILDKIT_API: (u32, u32) = (1, 39);
/// Below this much free space under the engine's data root a build is likely to fail.
const LOW_DISK: u64 = 5 * 1024 * 1024 * 1024;
const NO_DISK: u64 = 1024 * 1024 * 1024;

fn api(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The engine checks: reachable, API version, BuildKit, free disk.
pub async fn engine_checks(env: &BTreeMap<String, String>) -> Vec<Check> {
    let config = EngineConfig::from_env(env);
    let engine = match Engine::connect(&config).await {
        Ok(engine) => engine,
        Err(e) => {
            let cause =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string);
            let hint = e.hint().unwrap_or_default();
            let not_checked = |name| {
                check(
                    name,
                    Status::Warn,
                    "not checked: the engine does not answer",
                )
            };
            return vec![
                check(
                    "engine",
                    Status::Fail,
                    format!("{} does not answer: {cause}", config.host),
                )
                .hint(hint),
                not_checked("api-version"),
                not_checked("buildkit"),
                not_checked("disk"),
            ];
        }
    };
    let docker = engine.docker();
    let mut out = Vec::new();
    let version = docker.version().await;
    let (server, api_version) = match &version {
        Ok(v) => (
            v.version.clone().unwrap_or_else(|| "?".into()),
            v.api_version.clone().unwrap_or_default(),
        ),
        Err(_) => ("?".into(), String::new()),
    };
    out.push(check(
        "engine",
        Status::Ok,
        format!("{} answers (Docker {server})", config.host),
    ));
    let parsed = api(&api_version);
    out.push(match parsed {
        Some(v) if v >= MIN_API => check("api-version", Status::Ok, format!("API {api_version}")),
        Some(_) => check(
            "api-version",
            Status::Warn,
            format!(
                "API {api_version} is older than {}.{}, the oldest kz is tested with",
                MIN_API.0, MIN_API.1
            ),
        )
        .hint("upgrade the engine to Docker 20.10 or later"),
        None => check(
            "api-version",
            Status::Fail,
            "the engine does not report its API version",
        )
        .hint("check DOCKER_HOST points at a Docker engine"),
    });
    out.push(match parsed {
        Some(v) if v >= BUILDKIT_API => check(
            "buildkit",
            Status::Ok,
            format!("built into the engine (API {api_version})"),
        ),
        _ => check(
            "buildkit",
            Status::Fail,
            "the engine has no BuildKit (API 1.39 or later needed)",
        )
        .hint("upgrade the engine to Docker 18.09 or later"),
    });
    let root = docker
        .info()
        .await
        .ok()
        .and_then(|i| i.docker_root_dir)
        .unwrap_or_default();
    out.push(disk(&config.host, &root));
    out
}

/// Free space under the engine's data root, when the engine runs on this machine.
fn disk(host: &str, root: &str) -> Check {
    let local = host.starts_with("unix://");
    let path = Path::new(root);
    if !local || root.is_empty() || !path.is_dir() {
        return check(
            "disk",
            Status::Warn,
            format!("cannot measure free space of {host}'s data root from here"),
        );
    }
    match free_bytes(path) {
        Some(free) => {
            let gib = free as f64 / (1024.0 * 1024.0 * 1024.0);
            let detail = format!("{gib:.1} GiB free under {root}");
            if free < NO_DISK {
                check("disk", Status::Fail, detail)
                    .hint("free space: remove unused images (docker image prune)")
            } else if free < LOW_DISK {
                check("disk", Status::Warn, detail)
                    .hint("builds need a few GiB: remove unused images")
            } else {
                check("disk", Status::Ok, detail)
            }
        }
        None => check(
            "disk",
            Status::Warn,
            format!("cannot measure free space under {root}"),
        ),
    }
}

#[cfg(unix)]
fn free_bytes(path: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_: &Path) -> Option<u64> {
    None
}

/// The tools package-libs runs, found on the PATH of `env`.
pub fn tool_checks(env: &BTreeMap<String, String>, cwd: &Path) -> Vec<Check> {
    let path = env.get("PATH").cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (tool, what) in [
        ("python3", "the Python wheel"),
        ("npm", "the TypeScript packages"),
    ] {
        out.push(match which::which_in(tool, Some(&path), cwd) {
            Ok(p) => check(tool_name(tool), Status::Ok, format!("{}", p.display())),
            Err(_) => check(
                tool_name(tool),
                Status::Warn,
                format!("{tool} is not on PATH; kz package-libs needs it for {what}"),
            )
            .hint(format!("install {tool} (only package-libs uses it)")),
        });
    }
    out
}

fn tool_name(tool: &str) -> &'static str {
    if tool == "npm" {
        "tool-npm"
    } else {
        "tool-python3"
    }
}

/// Kamiwaza: the configured URL answers and accepts the credentials. `home` is where
/// `~/.kamiwaza/config.yaml` is looked for.
pub fn kamiwaza_check(vars: &BTreeMap<String, String>, home: Option<&Path>) -> Check {
    use crate::kamiwaza::{Client, Connection};
    let conn = match Connection::resolve(vars, home, false) {
        Ok(c) => c,
        Err(e) => {
            return check("kamiwaza", Status::Warn, format!("not configured: {e}"))
                .hint("set KAMIWAZA_API_URL, KAMIWAZA_USERNAME and KAMIWAZA_PASSWORD (only kz kamiwaza needs them)")
        }
    };
    let fail = |e: Error| {
        let hint = e.hint().unwrap_or_default();
        check("kamiwaza", Status::Fail, e.to_string()).hint(hint)
    };
    let mut client = match Client::new(&conn) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match client.login(&conn.username, &conn.password) {
        Ok(()) => check(
            "kamiwaza",
            Status::Ok,
            format!(
                "{} accepted the credentials from {}",
                conn.api_url, conn.source
            ),
        ),
        Err(e) => fail(e),
    }
}

/// Credentials for the registry the workspace pushes to (the registry part of the image
/// namespace, Docker Hub when it has none), from the docker CLI's config. Only the kind of
/// credential is named, never its value.
pub fn registry_check(namespace: &str, env: &BTreeMap<String, String>) -> Check {
    use crate::oci::auth::{Credential, CredentialStore};
    let probe = crate::imageref::ImageRef::parse(&format!("{namespace}/x"));
    let host = probe
        .registry
        .unwrap_or_else(|| crate::publish::images::DOCKER_HUB.to_owned());
    match CredentialStore::from_env(env).lookup(&host) {
        Ok(Credential::Anonymous) => check(
            "registry",
            Status::Warn,
            format!("no credentials for {host} (namespace {namespace}); pushes will be anonymous"),
        )
        .hint(format!("docker login {host}")),
        Ok(found) => check(
            "registry",
            Status::Ok,
            format!("credentials for {host} found ({})", found.describe()),
        ),
        Err(e) => {
            let hint = e.hint().unwrap_or_default();
            check("registry", Status::Fail, e.to_string()).hint(hint)
        }
    }
}
