//! What App Garden would start for an extension, worked out from its files alone: the services
//! of docker-compose.appgarden.yml (else docker-compose.yml) in start order, each with the image
//! kz builds for it (or the one the file names), the environment App Garden gives it, and the
//! primary service (the first that publishes a port) with the port the platform routes to.
//!
//! The environment of every container: env_defaults (placeholders substituted), then the
//! variables the platform injects (they win: the guide reserves them), then the service's own
//! `environment:` interpolated against those (a bare `- NAME` takes the deployment's value).

use crate::compose::{APPGARDEN_FILE, DEV_FILE};
use crate::error::{Error, Result};
use crate::exttest::compose::{self, interpolate_with, Healthcheck, NamedVolume};
use crate::exttest::Built;
use crate::manifest::Manifest;
use crate::workspace::Extension;
use crate::yaml::{self, Node, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the platform hands a deployment, and what kz substitutes for the guide's placeholders.
#[derive(Clone, Debug)]
pub struct Platform {
    /// `{app_port}`, `KAMIWAZA_APP_PORT`: the port the browser uses (the published host port).
    pub app_port: u16,
    /// `{deployment_id}`, `KAMIWAZA_DEPLOYMENT_ID`.
    pub deployment_id: String,
    /// `{app_name}`: the deployment's name.
    pub app_name: String,
    /// `KAMIWAZA_API_URL`.
    pub api_url: String,
    /// `{model_port}`, `KAMIWAZA_MODEL_PORT`, `OPENAI_BASE_URL`: only when a model is deployed.
    pub model_port: Option<u16>,
}

impl Platform {
    /// The variables the platform injects (the guide's reserved ones that apply).
    pub fn injected(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("KAMIWAZA_API_URL".to_owned(), self.api_url.clone()),
            ("KAMIWAZA_APP_PORT".to_owned(), self.app_port.to_string()),
            (
                "KAMIWAZA_DEPLOYMENT_ID".to_owned(),
                self.deployment_id.clone(),
            ),
        ];
        if let Some(port) = self.model_port {
            vars.push(("KAMIWAZA_MODEL_PORT".to_owned(), port.to_string()));
            vars.push((
                "OPENAI_BASE_URL".to_owned(),
                format!("http://host.docker.internal:{port}/v1"),
            ));
        }
        vars
    }

    /// `value` with the guide's placeholders replaced (`{model_port}` only with a model).
    pub fn substitute(&self, value: &str) -> String {
        let mut out = value
            .replace("{app_port}", &self.app_port.to_string())
            .replace("{deployment_id}", &self.deployment_id)
            .replace("{app_name}", &self.app_name);
        if let Some(port) = self.model_port {
            out = out.replace("{model_port}", &port.to_string());
        }
        out
    }
}

/// One container to start.
#[derive(Clone, Debug)]
pub struct Container {
    pub service: String,
    pub image: String,
    pub env: Vec<(String, String)>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub healthcheck: Option<Healthcheck>,
    pub volumes: Vec<NamedVolume>,
    pub extra_hosts: Vec<String>,
    /// Whether another service depends on it (then it is waited for before the next starts).
    pub needed: bool,
}

/// An extension as App Garden would run it.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// The compose file read.
    pub file: PathBuf,
    /// Dependencies first, otherwise file order.
    pub containers: Vec<Container>,
    /// The primary service and its container port: the first service publishing a port.
    pub primary: Option<(String, u16)>,
}

/// Work out the deployment of `ext`: `built` are the images kz builds for its services (by
/// service name); `manifest` gives env_defaults.
pub fn plan(
    ext: &Extension,
    manifest: Option<&Manifest>,
    built: &[Built],
    platform: &Platform,
) -> Result<Deployment> {
    let path = [APPGARDEN_FILE, DEV_FILE]
        .iter()
        .map(|f| ext.file(f))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::invalid(
                ext.file(APPGARDEN_FILE),
                "no docker-compose.appgarden.yml or docker-compose.yml to run",
            )
        })?;
    let text = crate::fsx::read_text(&path, crate::fsx::MAX_TEXT_FILE)?;
    let parsed = compose::parse(&path, &text, &ext.path)?;
    let doc = yaml::load(&text, &yaml::LoadLimits::default())
        .map_err(|source| Error::Yaml {
            path: path.clone(),
            source,
        })?
        .unwrap_or_else(|| Node::new(Value::Null));
    let mut base: BTreeMap<String, String> = BTreeMap::new();
    if let Some(defaults) = manifest
        .and_then(|m| m.get("env_defaults"))
        .and_then(|v| v.as_object())
    {
        for (k, v) in defaults {
            if let Some(v) = v.as_str() {
                base.insert(k.clone(), platform.substitute(v));
            }
        }
    }
    base.extend(platform.injected());
    let lookup = |name: &str| base.get(name).cloned();
    let mut order: Vec<&str> = Vec::new();
    for svc in &parsed.services {
        for dep in parsed.dependencies_of(&svc.name)? {
            if !order.contains(&dep.name.as_str()) {
                order.push(&dep.name);
            }
        }
        if !order.contains(&svc.name.as_str()) {
            order.push(&svc.name);
        }
    }
    let mut containers = Vec::new();
    for name in order {
        let Some(svc) = parsed.service(name) else {
            continue;
        };
        let node = doc.get("services").and_then(|s| s.get(name));
        let image = built
            .iter()
            .find(|b| b.service == name)
            .map(|b| b.image.clone())
            .or_else(|| svc.image.clone())
            .ok_or_else(|| {
                Error::invalid(
                    &path,
                    format!("service `{name}` has neither an image nor a build"),
                )
            })?;
        let mut env = base.clone();
        for (k, v) in raw_environment(node) {
            let value = match v {
                Some(v) => platform.substitute(&interpolate_with(&v, &lookup)),
                None => match base.get(&k) {
                    Some(v) => v.clone(),
                    None => continue,
                },
            };
            env.insert(k, value);
        }
        containers.push(Container {
            service: name.to_owned(),
            image,
            env: env.into_iter().collect(),
            command: svc.command.clone(),
            entrypoint: svc.entrypoint.clone(),
            healthcheck: svc.healthcheck.clone(),
            volumes: svc.volumes.clone(),
            extra_hosts: node.map(extra_hosts).unwrap_or_default(),
            needed: parsed
                .services
                .iter()
                .any(|s| s.depends_on.iter().any(|d| d == name)),
        });
    }
    // The primary service is the first publishing one in file order, not start order.
    let primary = parsed.services.iter().find_map(|s| {
        let node = doc.get("services").and_then(|n| n.get(&s.name))?;
        Some((s.name.clone(), first_port(node.get("ports"))?))
    });
    Ok(Deployment {
        file: path,
        containers,
        primary,
    })
}

/// `environment:` as written: (name, value), `None` for a bare name.
fn raw_environment(node: Option<&Node>) -> Vec<(String, Option<String>)> {
    match node.and_then(|n| n.get("environment")).map(|n| &n.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(Node::py_str)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.trim().to_owned(), Some(v.to_owned())),
                None => (s.trim().to_owned(), None),
            })
            .collect(),
        Some(Value::Map(pairs)) => pairs
            .iter()
            .filter_map(|(k, v)| {
                let value = match &v.value {
                    Value::Null => None,
                    Value::Bool(b) => Some(b.to_string()),
                    _ => v.py_str(),
                };
                Some((k.py_str()?, value))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The container port of the first `ports` item (`"3000"`, `"8080:3000"`, `3000`, `{target}`).
fn first_port(node: Option<&Node>) -> Option<u16> {
    let item = node?.as_seq()?.first()?;
    match &item.value {
        Value::Int(i) => u16::try_from(*i).ok(),
        Value::Str(s) => s.rsplit(':').next()?.split('/').next()?.trim().parse().ok(),
        Value::Map(_) => item.get("target")?.py_str()?.parse().ok(),
        _ => None,
    }
}

fn extra_hosts(node: &Node) -> Vec<String> {
    match node.get("extra_hosts").map(|n| &n.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(Node::py_str)
            .map(|s| s.replacen('=', ":", 1))
            .collect(),
        Some(Value::Map(pairs)) => pairs
            .iter()
            .filter_map(|(k, v)| Some(format!("{}:{}", k.py_str()?, v.py_str()?)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Kind;

    const COMPOSE: &str = "services:
  web:
    image: kamiwazaai/x-web:1.0.0
    ports: ['3000']
    environment:
      - API=${API_URL:-http://api:8000}
      - PUBLIC=http://localhost:{app_port}/p
      - KAMIWAZA_API_URL
      - OWN=${KAMIWAZA_APP_PORT}
    depends_on: [api]
    extra_hosts: ['host.docker.internal:host-gateway']
  api:
    image: redis:7
    expose: ['8000']
    environment:
      MODE: ${MODE:-dev}
";

    fn deployment(compose: &str, defaults: &str, built: &[Built]) -> Deployment {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("apps/x");
        std::fs::create_dir_all(&path).expect("mkdir");
        std::fs::write(path.join(APPGARDEN_FILE), compose).expect("write");
        let json = format!("{{\"name\": \"x\", \"env_defaults\": {defaults}}}");
        let manifest = Manifest::parse(&path.join("kamiwaza.json"), json).expect("manifest");
        let ext = Extension {
            kind: Kind::App,
            dir_name: "x".to_owned(),
            path,
        };
        let platform = Platform {
            app_port: 40123,
            deployment_id: "kz-abc".to_owned(),
            app_name: "x".to_owned(),
            api_url: "https://host.docker.internal/api".to_owned(),
            model_port: None,
        };
        plan(&ext, Some(&manifest), built, &platform).expect("plan")
    }

    fn env<'d>(d: &'d Deployment, service: &str, name: &str) -> Option<&'d str> {
        d.containers
            .iter()
            .find(|c| c.service == service)?
            .env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn environment_order_images_and_the_primary_service() {
        let defaults = r#"{"API_URL": "http://api:9000", "ID": "{deployment_id}/{app_name}", "KAMIWAZA_APP_PORT": "1", "MODE": "prod"}"#;
        let built = [Built {
            service: "web".to_owned(),
            context: PathBuf::from("/x"),
            image: "kamiwazaai/x-web:1.0.0-dev".to_owned(),
        }];
        let d = deployment(COMPOSE, defaults, &built);
        let order: Vec<&str> = d.containers.iter().map(|c| c.service.as_str()).collect();
        assert_eq!(order, ["api", "web"]);
        assert_eq!(d.primary, Some(("web".to_owned(), 3000)));
        assert_eq!(d.containers[1].image, "kamiwazaai/x-web:1.0.0-dev");
        assert_eq!(d.containers[0].image, "redis:7");
        assert!(d.containers[0].needed && !d.containers[1].needed);
        // env_defaults feed interpolation; placeholders are substituted.
        assert_eq!(env(&d, "web", "API"), Some("http://api:9000"));
        assert_eq!(env(&d, "web", "PUBLIC"), Some("http://localhost:40123/p"));
        assert_eq!(env(&d, "web", "ID"), Some("kz-abc/x"));
        // The injected variables win over env_defaults; a bare name takes the deployment's.
        assert_eq!(env(&d, "web", "KAMIWAZA_APP_PORT"), Some("40123"));
        assert_eq!(env(&d, "web", "OWN"), Some("40123"));
        assert_eq!(
            env(&d, "web", "KAMIWAZA_API_URL"),
            Some("https://host.docker.internal/api")
        );
        assert_eq!(env(&d, "api", "MODE"), Some("prod"));
        assert_eq!(env(&d, "web", "OPENAI_BASE_URL"), None);
        assert_eq!(
            d.containers[1].extra_hosts,
            ["host.docker.internal:host-gateway"]
        );
    }

    #[test]
    fn no_published_port_means_no_primary() {
        let d = deployment("services:\n  s:\n    image: busybox\n", "{}", &[]);
        assert_eq!(d.primary, None);
    }
}
