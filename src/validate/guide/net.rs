//! The guide's networking rules: `localhost` URLs to another service (`compose/localhost-url`),
//! ports published beside an nginx-style proxy (`compose/proxy-ports`) and a backend publishing
//! its port directly (`compose/backend-port`).

use super::build::Builds;
use super::{code, line, File, Sink, Svc};
use crate::yaml::{Node, Value};
use regex::Regex;
use std::sync::LazyLock;

/// `scheme://[user@]localhost[:port]` (or 127.0.0.1).
static LOCAL_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*)://(?:[^@/\s]*@)?(localhost|127\.0\.0\.1)(?::([0-9]+|\$\{[^}]*\}|\{[^}]*\}))?")
        .expect("static regex")
});

const PROXY_IMAGES: [&str; 5] = ["nginx", "traefik", "caddy", "haproxy", "envoy"];

struct Listener<'n> {
    svc: Svc<'n>,
    ports: Vec<u16>,
    publishes: bool,
}

pub(super) fn check(sink: &mut Sink<'_>, file: &File, builds: &Builds) {
    let services: Vec<Listener<'_>> = file
        .services()
        .into_iter()
        .map(|svc| {
            let mut ports = container_ports(svc.node.get("ports"));
            let publishes = !ports.is_empty()
                || svc
                    .node
                    .get("ports")
                    .and_then(Node::as_seq)
                    .is_some_and(|s| !s.is_empty());
            ports.extend(container_ports(svc.node.get("expose")));
            if let Some(b) = builds.get(&svc.name) {
                ports.extend(&b.exposes);
            }
            Listener {
                svc,
                ports,
                publishes,
            }
        })
        .collect();
    for s in &services {
        localhost_urls(sink, file, s, &services);
    }
    published(sink, file, &services);
}

/// Container ports of `ports` / `expose` items (`"8000"`, `"3000:3000"`, `8000`,
/// `127.0.0.1:80:80/tcp`, `{target: 80}`); ranges and variables are skipped.
fn container_ports(node: Option<&Node>) -> Vec<u16> {
    let Some(items) = node.and_then(Node::as_seq) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match &item.value {
            Value::Int(i) => u16::try_from(*i).ok(),
            Value::Str(s) => s.rsplit(':').next()?.split('/').next()?.trim().parse().ok(),
            Value::Map(_) => item.get("target")?.py_str()?.parse().ok(),
            _ => None,
        })
        .collect()
}

/// The port a URL reaches: explicit digits, a compose default (`${PORT:-8000}`), or the
/// scheme's; `None` for `{app_port}` and other unknowns.
fn url_port(scheme: &str, port: Option<&str>) -> Option<u16> {
    match port {
        Some(p) => p.parse().ok().or_else(|| {
            let inner = p.strip_prefix("${")?.strip_suffix('}')?;
            inner.split_once(":-")?.1.parse().ok()
        }),
        None => match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        },
    }
}

fn localhost_urls(sink: &mut Sink<'_>, file: &File, s: &Listener<'_>, all: &[Listener<'_>]) {
    let mode = s
        .svc
        .node
        .get("network_mode")
        .and_then(Node::as_str)
        .unwrap_or_default();
    if mode == "host" || mode.starts_with("service:") || mode.starts_with("container:") {
        return;
    }
    for var in s.svc.environment() {
        let Some(value) = &var.value else { continue };
        for cap in LOCAL_URL.captures_iter(value) {
            let Some(port) = url_port(&cap[1], cap.get(3).map(|m| m.as_str())) else {
                continue;
            };
            if s.ports.contains(&port) {
                continue;
            }
            let Some(other) = all
                .iter()
                .find(|o| o.svc.name != s.svc.name && o.ports.contains(&port))
            else {
                continue;
            };
            let url = &cap[0];
            let fixed = format!("{}://{}:{port}", &cap[1], other.svc.name);
            let message = format!(
                "{} of service {} points at {} (port {port} of service {}): inside a container localhost is the container itself; \
                 the guide: \"Use service names for internal communication - Don't use localhost\": use {} (a browser-facing URL builds on {{app_port}})",
                code(&var.name),
                s.svc.shown(),
                code(url),
                other.svc.shown(),
                code(&fixed)
            );
            sink.push("compose/localhost-url", file.name, line(var.line), message);
        }
    }
}

fn is_proxy(svc: &Svc<'_>) -> bool {
    let name = svc.name.to_ascii_lowercase();
    let image = svc
        .node
        .get("image")
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let image_name = image
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split([':', '@'])
        .next()
        .unwrap_or_default();
    let command = match svc.node.get("command").map(|c| &c.value) {
        Some(Value::Str(s)) => s.clone(),
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(Node::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    name.contains("proxy")
        || name == "nginx"
        || name == "gateway"
        || PROXY_IMAGES.iter().any(|p| image_name.starts_with(p))
        || command.contains("nginx")
}

fn is_backend(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "backend" | "api" | "server" | "api-server")
        || n.starts_with("backend")
        || n.starts_with("api-")
        || n.starts_with("api_")
        || n.ends_with("-backend")
        || n.ends_with("_backend")
        || n.ends_with("-api")
        || n.ends_with("_api")
}

/// Line of the `ports` key of a service.
fn ports_line(svc: &Svc<'_>) -> Option<u32> {
    svc.node
        .as_map()?
        .iter()
        .rev()
        .find(|(k, _)| k.as_str() == Some("ports"))
        .and_then(|(k, _)| line(k.mark.line))
}

fn published(sink: &mut Sink<'_>, file: &File, services: &[Listener<'_>]) {
    let publishers: Vec<&Listener<'_>> = services.iter().filter(|s| s.publishes).collect();
    if publishers.len() < 2 {
        return;
    }
    if let Some(proxy) = publishers.iter().find(|s| is_proxy(&s.svc)) {
        for s in publishers.iter().filter(|s| !is_proxy(&s.svc)) {
            let message = format!(
                "service {} publishes ports beside the proxy {}; the guide: \"Don't expose unnecessary ports - Use nginx proxy as single entry point\": \
                 remove its `ports` (the proxy reaches it by service name)",
                s.svc.shown(),
                proxy.svc.shown()
            );
            sink.push(
                "compose/proxy-ports",
                file.name,
                ports_line(&s.svc),
                message,
            );
        }
        return;
    }
    for s in publishers.iter().filter(|s| is_backend(&s.svc.name)) {
        let message = format!(
            "backend service {} publishes its port directly beside {}; the guide (\"Common Networking Mistakes\"): \
             \"Don't do this - exposes backend directly\": route it through the primary service (an nginx-style proxy under /api) and remove its `ports`",
            s.svc.shown(),
            publishers
                .iter()
                .filter(|o| o.svc.name != s.svc.name)
                .map(|o| o.svc.shown())
                .collect::<Vec<_>>()
                .join(", ")
        );
        sink.push(
            "compose/backend-port",
            file.name,
            ports_line(&s.svc),
            message,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_urls() {
        assert_eq!(url_port("http", Some("8000")), Some(8000));
        assert_eq!(url_port("http", None), Some(80));
        assert_eq!(url_port("wss", None), Some(443));
        assert_eq!(url_port("http", Some("${PORT:-8001}")), Some(8001));
        assert_eq!(url_port("http", Some("{app_port}")), None);
        assert_eq!(url_port("redis", None), None);
        assert!(is_backend("backend") && is_backend("notes-api") && !is_backend("frontend"));
    }
}
