//! `compose/*` rules for what App Garden will not have (issue 15): a fixed `container_name`,
//! `env_file`, runtime secrets and configs with host `file:` sources, and the Docker socket.
//! `kz sync-compose` drops each of them with a warning (README, "The bind-mount rule"); these
//! rules catch a hand-written or stale App Garden file, and the Docker socket in
//! docker-compose.yml, which sync drops but the service would miss.

use super::{bind_source, entry, Doc, Service};
use crate::compose::DEV_FILE;
use crate::validate::{code, Sink};
use crate::yaml::{self, LoadLimits, Node, Value};

impl Doc<'_, '_> {
    /// The service-level checks of this module.
    pub(super) fn host_only(&mut self, s: &Service<'_>) {
        if let Some((key, name)) = entry(s.node, "container_name") {
            let message = format!(
                "service {} sets `container_name: {}`; a fixed name blocks a second deployment on the same host: remove it (`kz sync-compose` does)",
                s.shown(),
                name.py_str().unwrap_or_default()
            );
            self.push("compose/container-name", key.mark.line, message);
        }
        if let Some((key, _)) = entry(s.node, "env_file") {
            let message = format!(
                "service {} reads `env_file`, which does not ship with the extension; set the variables under `environment` (values are not shown)",
                s.shown()
            );
            self.push("compose/env-file", key.mark.line, message);
        }
        let items = match entry(s.node, "volumes") {
            Some((
                _,
                Node {
                    value: Value::Seq(items),
                    ..
                },
            )) => items.as_slice(),
            _ => &[],
        };
        for item in items {
            let source = match &item.value {
                Value::Str(v) => bind_source(v),
                Value::Map(_) => entry(item, "source").and_then(|(_, v)| v.py_str()),
                _ => None,
            };
            if source.is_some_and(|src| crate::compose::is_docker_socket(&src)) {
                let message = format!(
                    "service {} mounts the Docker socket; App Garden never gives a service the host's Docker engine",
                    s.shown()
                );
                self.push("compose/docker-socket", item.mark.line, message);
            }
        }
    }

    /// Top-level `secrets:` and `configs:` with `file:` sources.
    pub(super) fn file_sources(&mut self, doc: &Node) {
        for key in ["secrets", "configs"] {
            let Some((
                _,
                Node {
                    value: Value::Map(defs),
                    ..
                },
            )) = entry(doc, key)
            else {
                continue;
            };
            for (name, def) in defs {
                if let Some((file_key, _)) = entry(def, "file") {
                    let message = format!(
                        "top-level {key} entry {} reads a host `file:`, which does not ship with the extension; use `environment:` or bake it into the image",
                        code(&name.py_str().unwrap_or_default())
                    );
                    self.push("compose/file-source", file_key.mark.line, message);
                }
            }
        }
    }
}

/// The Docker socket in docker-compose.yml: `kz sync-compose` drops the mount, so the service
/// would start without the engine it expects.
pub(super) fn dev_file_socket(sink: &mut Sink<'_>) {
    let path = sink.extension.file(DEV_FILE);
    let Ok(text) = crate::fsx::read_text(&path, crate::fsx::MAX_TEXT_FILE) else {
        return;
    };
    let Ok(Some(doc)) = yaml::load_compose(&text, &LoadLimits::default()) else {
        return;
    };
    let Some(Value::Map(services)) = doc.get("services").map(|s| &s.value) else {
        return;
    };
    for (name, svc) in services {
        let Some(Value::Seq(items)) = svc.get("volumes").map(|v| &v.value) else {
            continue;
        };
        for item in items {
            let source = match &item.value {
                Value::Str(v) => bind_source(v),
                Value::Map(_) => item.get("source").and_then(Node::py_str),
                _ => None,
            };
            if source.is_some_and(|src| crate::compose::is_docker_socket(&src)) {
                let message = format!(
                    "service {} mounts the Docker socket; App Garden never gives a service the host's Docker engine, and `kz sync-compose` drops the mount",
                    code(&name.py_str().unwrap_or_default())
                );
                sink.push(
                    "compose/docker-socket",
                    DEV_FILE,
                    Some(item.mark.line).filter(|l| *l > 0),
                    message,
                );
            }
        }
    }
}
