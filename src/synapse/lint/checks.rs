//! Cross-field and policy rules the schema cannot state: the image reference against the slug,
//! version, namespace and registry; volumes (broad host paths, the Docker socket, shadowed
//! folders); the public_url convention; health-path traps and timing; sandbox escapes; locked and
//! reserved scopes; description and label hygiene.

use super::schema::IMAGE;
use super::Sink;
use crate::synapse::Target;
use crate::validate::code;
use crate::yaml::{Node, Value};

pub(super) fn check(sink: &mut Sink, root: &Node, target: &Target) {
    metadata(sink, root);
    image(sink, root, target);
    volumes(sink, root);
    network(sink, root);
    iframe(sink, root);
    capabilities(sink, root);
}

fn get<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(root, |n, k| n.get(k))
}

fn str_of<'a>(root: &'a Node, path: &str) -> Option<&'a str> {
    get(root, path)?.as_str()
}

fn int_of(root: &Node, path: &str) -> Option<i128> {
    match get(root, path)?.value {
        Value::Int(i) => Some(i),
        _ => None,
    }
}

fn metadata(sink: &mut Sink, root: &Node) {
    let Some(meta) = root.get("metadata").filter(|m| m.as_map().is_some()) else {
        return;
    };
    match meta.get("description") {
        None => sink.at(
            "synapse/description",
            meta,
            "metadata.description is missing; the App Store card shows one or two sentences"
                .to_owned(),
        ),
        Some(d) if d.is_null() || d.as_str().is_some_and(|s| s.trim().is_empty()) => sink.at(
            "synapse/description",
            d,
            "metadata.description is empty; the App Store card shows one or two sentences"
                .to_owned(),
        ),
        Some(_) => {}
    }
    if let Some(label) = meta.get("label") {
        if let Some(s) = label.as_str() {
            let n = s.chars().count();
            if n > 60 {
                sink.at(
                    "synapse/label-length",
                    label,
                    format!(
                        "metadata.label has {n} characters; the host shows it as the page title"
                    ),
                );
            }
        }
    }
}

/// `registry/namespace.../name:tag[@digest]` split into its parts.
pub(crate) struct ImageParts<'a> {
    pub(crate) registry: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) name: &'a str,
    pub(crate) tag: &'a str,
}

pub(crate) fn split_image(image: &str) -> Option<ImageParts<'_>> {
    if !IMAGE.is_match(image) {
        return None;
    }
    let no_digest = image.split_once('@').map_or(image, |(a, _)| a);
    let (registry, rest) = no_digest.split_once('/')?;
    let (repo, tag) = rest.rsplit_once(':')?;
    let (namespace, name) = repo.rsplit_once('/').unwrap_or(("", repo));
    Some(ImageParts {
        registry,
        namespace,
        name,
        tag,
    })
}

fn image(sink: &mut Sink, root: &Node, target: &Target) {
    let Some(node) = get(root, "runtime.image") else {
        return;
    };
    let Some(parts) = node.as_str().and_then(split_image) else {
        return;
    };
    let version = str_of(root, "metadata.version");
    let name = str_of(root, "metadata.name");
    if let Some(version) = version {
        if parts.tag != version {
            sink.at(
                "synapse/image-tag",
                node,
                format!(
                    "the runtime.image tag {} is not metadata.version {}; kz tags the image \
                     with the version",
                    code(parts.tag),
                    code(version)
                ),
            );
        }
    }
    if let Some(name) = name {
        if parts.name != name {
            sink.at(
                "synapse/image-name",
                node,
                format!(
                    "the runtime.image repository ends in {}, not metadata.name {}",
                    code(parts.name),
                    code(name)
                ),
            );
        }
    }
    // REGISTRY / NS filled runtime.image in at `kz new`; set later and disagreeing, they are
    // only a warning naming both: runtime.image is what kz builds, runs and pushes.
    let image = node.as_str().unwrap_or_default();
    if let Some(ns) = target
        .namespace
        .as_deref()
        .filter(|ns| *ns != parts.namespace)
    {
        sink.at(
            "synapse/image-namespace",
            node,
            format!(
                "NS is {} but runtime.image is {} (namespace {}); kz uses runtime.image \
                 (`kz retarget --ns {ns}` moves the app)",
                code(ns),
                code(image),
                code(parts.namespace)
            ),
        );
    }
    if let Some(registry) = target.registry.as_deref().filter(|r| *r != parts.registry) {
        sink.at(
            "synapse/image-registry",
            node,
            format!(
                "REGISTRY is {} but runtime.image is {} (registry {}); kz uses runtime.image \
                 (`kz retarget --registry {registry}` moves the app)",
                code(registry),
                code(image),
                code(parts.registry)
            ),
        );
    }
}

/// Host paths broader than an app needs.
const BROAD: &[&str] = &[
    "/",
    "/home",
    "/root",
    "/etc",
    "/var",
    "/var/run",
    "/usr",
    "/opt",
    "/srv",
    "/mnt",
    "/media",
    "/tmp",
    "/boot",
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/Users",
];

fn normalized(path: &str) -> &str {
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        "/"
    } else {
        p
    }
}

fn is_broad(host: &str) -> bool {
    let p = normalized(host);
    if BROAD.contains(&p) {
        return true;
    }
    // A whole home folder: /home/<user>, /Users/<user>.
    let parts: Vec<&str> = p.trim_start_matches('/').split('/').collect();
    parts.len() == 2 && (parts[0] == "home" || parts[0] == "Users")
}

fn is_socket(path: &str) -> bool {
    let p = normalized(path);
    let file = p.rsplit('/').next().unwrap_or_default();
    matches!(
        file,
        "docker.sock" | "containerd.sock" | "podman.sock" | "dockershim.sock"
    ) || p.ends_with("/containerd/containerd.sock")
}

/// Container folders a mount would hide.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/var", "/opt", "/app",
];

fn volumes(sink: &mut Sink, root: &Node) {
    let Some(list) = get(root, "runtime.volumes").and_then(Node::as_seq) else {
        return;
    };
    let mut containers: Vec<&str> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let at = format!("runtime.volumes[{i}]");
        let host = v.get("host").and_then(|h| h.as_str().map(|s| (h, s)));
        let container = v.get("container").and_then(|c| c.as_str().map(|s| (c, s)));
        let writable = matches!(
            v.get("readonly").map(|r| &r.value),
            Some(Value::Bool(false))
        );
        for (node, path, which) in [
            host.map(|(n, s)| (n, s, "host")),
            container.map(|(n, s)| (n, s, "container")),
        ]
        .into_iter()
        .flatten()
        {
            if !path.starts_with('/') || path.contains([':', ',', '\n', '\r']) {
                sink.at(
                    "synapse/volume-path",
                    node,
                    format!(
                        "{at}.{which} {} must be an absolute path without `:` or `,` (the runner \
                         passes -v host:container[:ro])",
                        code(path)
                    ),
                );
            }
        }
        if let Some((node, h)) = host {
            if is_socket(h) {
                sink.at(
                    "synapse/docker-socket",
                    node,
                    format!(
                        "{at}.host {} is a container engine socket: whoever holds it is root on \
                         the host, and any App Store user could install this app",
                        code(h)
                    ),
                );
            } else if is_broad(h) {
                sink.at(
                    "synapse/volume-broad",
                    node,
                    format!(
                        "{at}.host {} is broader than an app needs; bind the one folder it uses \
                         (e.g. /srv/synapse/<slug>)",
                        code(h)
                    ),
                );
            }
            let sample = h.starts_with("/home/juho");
            let messy = h.split('/').any(|c| c == "..")
                || h.starts_with('~')
                || h.contains('$')
                || (h.len() > 1 && h.ends_with('/'));
            if sample || messy {
                let why = if sample {
                    "is the template's sample path (another person's machine)".to_owned()
                } else {
                    "holds `..`, `~`, `$` or a trailing /; the runner passes it literally, \
                     nothing is expanded"
                        .to_owned()
                };
                sink.at(
                    "synapse/volume-host-path",
                    node,
                    format!("{at}.host {} {why}", code(h)),
                );
            }
            if writable && is_broad(h) {
                sink.at(
                    "synapse/volume-writable",
                    node,
                    format!("{at} mounts the broad host path {} writable", code(h)),
                );
            }
        }
        if let Some((node, c)) = container {
            let c_norm = normalized(c);
            if c_norm == "/" {
                sink.at(
                    "synapse/volume-container",
                    node,
                    format!("{at}.container is `/`; Docker refuses a mount over the root"),
                );
            } else if containers.contains(&c_norm) {
                sink.at(
                    "synapse/volume-container",
                    node,
                    format!(
                        "{at}.container {} is mounted twice; Docker refuses duplicate mount points",
                        code(c)
                    ),
                );
            }
            containers.push(c_norm);
            if SYSTEM_DIRS.contains(&c_norm) {
                sink.at(
                    "synapse/volume-shadow",
                    node,
                    format!(
                        "{at}.container {} hides what the image has there; mount a subfolder",
                        code(c)
                    ),
                );
            }
            if writable && (c_norm == "/etc" || c_norm.starts_with("/etc/")) {
                sink.at(
                    "synapse/volume-writable",
                    node,
                    format!(
                        "{at} mounts config or secrets at {} writable; add `readonly: true` \
                         (the default)",
                        code(c)
                    ),
                );
            }
        }
    }
}

fn network(sink: &mut Sink, root: &Node) {
    let port = int_of(root, "network.ports.public").filter(|p| (1..=65535).contains(p));
    if let (Some(p), Some(node)) = (port, get(root, "network.ports.public")) {
        if p < 1024 {
            sink.at(
                "synapse/port-privileged",
                node,
                format!(
                    "network.ports.public is {p}: below 1024, a non-root server cannot bind it"
                ),
            );
        }
    }
    if let (Some(p), Some(node)) = (port, get(root, "network.public_url")) {
        if let Some(url) = node.as_str() {
            let want = format!("http://localhost:{p}/");
            if url != want && url.ends_with('/') && url.starts_with("http") {
                sink.at(
                    "synapse/public-url-convention",
                    node,
                    format!(
                        "network.public_url is {}; the convention is `{want}` (the platform \
                         replaces it with the proxy URL anyway)",
                        code(url)
                    ),
                );
            }
        }
    }
    if let Some(node) = get(root, "network.health.path") {
        if let Some(path) = node.as_str() {
            let why = if path.contains(['?', '#']) {
                Some("holds `?` or `#`")
            } else if path.contains("/api/plugins/apps/") {
                Some("holds the proxy prefix, which the probe never sends")
            } else {
                None
            };
            if let Some(why) = why {
                sink.at(
                    "synapse/health-path-trap",
                    node,
                    format!(
                        "network.health.path {} {why}; the probe calls the container directly",
                        code(path)
                    ),
                );
            }
        }
    }
    let timeout = int_of(root, "network.health.timeout_ms");
    let interval = int_of(root, "network.health.interval_ms");
    let start = int_of(root, "lifecycle.start_timeout_ms");
    let (t, i, s) = (
        timeout.unwrap_or(2500),
        interval.unwrap_or(10_000),
        start.unwrap_or(60_000),
    );
    if (timeout.is_some() || interval.is_some()) && t >= i && t > 0 && i > 0 {
        let node = get(root, "network.health.timeout_ms")
            .or_else(|| get(root, "network.health.interval_ms"));
        if let Some(node) = node {
            sink.at(
                "synapse/health-timing",
                node,
                format!("health timeout_ms ({t}) is not below interval_ms ({i})"),
            );
        }
    }
    if (start.is_some() || interval.is_some()) && s < i && s > 0 && i > 0 {
        let node = get(root, "lifecycle.start_timeout_ms")
            .or_else(|| get(root, "network.health.interval_ms"));
        if let Some(node) = node {
            sink.at(
                "synapse/health-timing",
                node,
                format!(
                    "lifecycle.start_timeout_ms ({s}) is shorter than one health interval ({i})"
                ),
            );
        }
    }
}

fn iframe(sink: &mut Sink, root: &Node) {
    let sandbox = get(root, "iframe.sandbox");
    match sandbox {
        None => {
            let node = root.get("iframe").unwrap_or(root);
            let what = if root.get("iframe").is_some() {
                "iframe.sandbox is not set"
            } else {
                "there is no iframe section"
            };
            sink.at(
                "synapse/sandbox-missing",
                node,
                format!(
                    "{what}: the host's defaults apply; declare at least [allow-scripts, \
                     allow-same-origin]"
                ),
            );
        }
        Some(list) => {
            for item in list.as_seq().map(Vec::as_slice).unwrap_or_default() {
                match item.as_str() {
                    Some(t @ ("allow-top-navigation" | "allow-popups-to-escape-sandbox")) => {
                        sink.at(
                            "synapse/sandbox-escape",
                            item,
                            format!("{} lets the app leave or escape the host shell", code(t)),
                        );
                    }
                    Some("allow-modals") => sink.at(
                        "synapse/sandbox-advisory",
                        item,
                        "allow-modals is advisory: the host's sandbox has none, so prompt() and \
                         confirm() return at once; use <dialog>"
                            .to_owned(),
                    ),
                    _ => {}
                }
            }
        }
    }
}

fn capabilities(sink: &mut Sink, root: &Node) {
    if let Some(node) = get(root, "capabilities.auth") {
        if node.as_str() == Some("required") {
            sink.at(
                "synapse/auth-required",
                node,
                "capabilities.auth `required` is not fully wired on the host yet".to_owned(),
            );
        }
    }
    let name = str_of(root, "metadata.name");
    let scopes = get(root, "capabilities.scopes").and_then(Node::as_seq);
    for item in scopes.map(Vec::as_slice).unwrap_or_default() {
        match item.as_str() {
            Some("data:query:write") => sink.at(
                "synapse/scope-locked",
                item,
                "data:query:write is recognised but locked (phase 4+); it will not be granted"
                    .to_owned(),
            ),
            Some("data:admin:registry") if name != Some("data-catalog") => sink.at(
                "synapse/scope-reserved",
                item,
                "data:admin:registry is meant only for the data-catalog app".to_owned(),
            ),
            _ => {}
        }
    }
    let events = [
        "capabilities.events.publish",
        "capabilities.events.subscribe",
    ]
    .iter()
    .filter_map(|p| get(root, p))
    .find(|n| n.as_seq().is_some_and(|s| !s.is_empty()));
    let declared = scopes.filter(|s| !s.is_empty()).and_then(|s| s.first());
    if let Some(node) = declared.or(events) {
        sink.at(
            "synapse/scopes-provisional",
            node,
            "scopes or events are declared: the capability gateway is early and the events \
             grammar undocumented; re-check the host's docs before publishing"
                .to_owned(),
        );
    }
}
