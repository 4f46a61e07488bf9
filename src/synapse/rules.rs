//! The Synapse rule table: every `synapse/*` id kz can report on a synapse-app.yaml and the app
//! folder around it, with its severity and a one-line summary (`kz validate --list-rules`).
//! docs/synapse.md maps each id to the research notes' SYN-xxxx number and explains the
//! severities that differ from them.

use crate::validate::{Rule, Severity};

const fn rule(id: &'static str, severity: Severity, summary: &'static str) -> Rule {
    Rule {
        id,
        severity,
        summary,
    }
}

use Severity::{Error as E, Info as I, Warning as W};

/// Every Synapse rule. Ids are stable: never renumber or reuse one.
pub static RULES: &[Rule] = &[
    // the file
    rule(
        "synapse/unreadable",
        E,
        "synapse-app.yaml cannot be read (too large, not UTF-8, I/O error)",
    ),
    rule(
        "synapse/invalid-yaml",
        E,
        "synapse-app.yaml is not valid YAML",
    ),
    rule(
        "synapse/not-mapping",
        E,
        "synapse-app.yaml is not one YAML document holding a mapping",
    ),
    rule(
        "synapse/duplicate-key",
        E,
        "a mapping repeats a key (parsers disagree on which one wins)",
    ),
    rule(
        "synapse/placeholder",
        E,
        "a template placeholder (`<slug>`, `<PORT>`, `APP_NAME`…) is left in",
    ),
    rule(
        "synapse/secret",
        E,
        "a value looks like a credential; the label is readable by anyone who can pull",
    ),
    rule(
        "synapse/yaml11-scalar",
        W,
        "a bare yes/no/on/off reads as a boolean in YAML 1.1 and as text in 1.2",
    ),
    // structure (what the JSON Schema says)
    rule("synapse/required", E, "a required key is missing"),
    rule(
        "synapse/unknown-key",
        E,
        "a key the manifest schema does not define (the schema is closed)",
    ),
    rule(
        "synapse/field-type",
        E,
        "a value has the wrong type (a list for a string, a number for a version…)",
    ),
    rule(
        "synapse/duplicate-item",
        E,
        "a list that must hold distinct items repeats one",
    ),
    rule(
        "synapse/value-range",
        E,
        "a number is out of range (timeouts, status, grace period)",
    ),
    rule(
        "synapse/api-version",
        E,
        "apiVersion is not synapse.datamaker.io/v1",
    ),
    rule("synapse/kind", E, "kind is not SynapseApp"),
    // metadata
    rule(
        "synapse/slug",
        E,
        "metadata.name is not a slug: ^[a-z][a-z0-9-]{1,62}$",
    ),
    rule(
        "synapse/version",
        E,
        "metadata.version is not SemVer 2.0 (no leading v)",
    ),
    rule(
        "synapse/version-tag",
        E,
        "metadata.version cannot be an image tag (+build metadata, over 128 characters)",
    ),
    rule(
        "synapse/description",
        W,
        "metadata.description is missing or empty (the App Store card shows it)",
    ),
    rule(
        "synapse/label-length",
        I,
        "metadata.label is longer than 60 characters (it is the page title)",
    ),
    // runtime
    rule(
        "synapse/runtime-kind",
        E,
        "runtime.kind is not image (docker-compose was removed)",
    ),
    rule(
        "synapse/runtime-env",
        E,
        "runtime.env or runtime.compose is set; the runner forwards neither",
    ),
    rule(
        "synapse/image-format",
        E,
        "runtime.image is not <registry>/<namespace>/<slug>:<tag>",
    ),
    rule(
        "synapse/image-tag",
        E,
        "the runtime.image tag is not metadata.version",
    ),
    rule(
        "synapse/image-name",
        E,
        "the runtime.image repository does not end in /<metadata.name>",
    ),
    rule(
        "synapse/image-namespace",
        W,
        "NS is set and is not the runtime.image namespace (runtime.image is used)",
    ),
    rule(
        "synapse/image-registry",
        W,
        "REGISTRY is set and is not the runtime.image registry (runtime.image is used)",
    ),
    // volumes
    rule(
        "synapse/volume-path",
        E,
        "a volume path is not absolute or holds `:` or `,`",
    ),
    rule(
        "synapse/volume-container",
        E,
        "a volume mounts over / or two volumes share a container path",
    ),
    rule(
        "synapse/volume-broad",
        W,
        "a volume binds a host path broader than an app needs (/, /home, /etc…)",
    ),
    rule(
        "synapse/docker-socket",
        E,
        "a volume mounts the Docker (or containerd, podman) socket: root on the host",
    ),
    rule(
        "synapse/volume-writable",
        W,
        "a writable volume on a config path or a broad host path",
    ),
    rule(
        "synapse/volume-host-path",
        W,
        "a host path holds `..`, `~`, `$` or a trailing /, or is the template's sample",
    ),
    rule(
        "synapse/volume-shadow",
        W,
        "a volume hides the app (/app) or a system folder of the image",
    ),
    // network
    rule(
        "synapse/port",
        E,
        "network.ports.public is not an integer from 1 to 65535",
    ),
    rule(
        "synapse/port-privileged",
        W,
        "network.ports.public is below 1024 (a non-root server cannot bind it)",
    ),
    rule(
        "synapse/public-url",
        E,
        "network.public_url does not match ^https?://.+/$ (trailing slash)",
    ),
    rule(
        "synapse/public-url-convention",
        W,
        "network.public_url is not http://localhost:<ports.public>/",
    ),
    rule(
        "synapse/health-path",
        E,
        "network.health.path does not start with / (or holds spaces)",
    ),
    rule(
        "synapse/health-path-trap",
        W,
        "health.path holds ?, # or the proxy prefix, or is not the framework's path",
    ),
    rule(
        "synapse/health-method",
        E,
        "network.health.method is not GET",
    ),
    rule(
        "synapse/health-timing",
        W,
        "health timeout >= interval, or start timeout < interval",
    ),
    // iframe
    rule(
        "synapse/sandbox",
        E,
        "iframe.sandbox lacks allow-scripts or allow-same-origin, or has an unknown token",
    ),
    rule(
        "synapse/sandbox-missing",
        W,
        "no iframe.sandbox: the host's defaults apply",
    ),
    rule(
        "synapse/sandbox-escape",
        W,
        "the sandbox allows top navigation or escaping the sandbox",
    ),
    rule(
        "synapse/sandbox-advisory",
        I,
        "allow-modals or iframe.allow is advisory: the host uses its own lists",
    ),
    rule(
        "synapse/iframe-value",
        E,
        "an iframe.allow feature or referrer_policy is not valid",
    ),
    // capabilities
    rule(
        "synapse/capability",
        E,
        "capabilities.auth/theme/locale has a value outside its set",
    ),
    rule(
        "synapse/auth-required",
        W,
        "capabilities.auth is required, which the host has not wired yet",
    ),
    rule(
        "synapse/scope",
        E,
        "a scope matches neither <ns>:<read|write|self> nor a data:* scope",
    ),
    rule(
        "synapse/scope-locked",
        E,
        "data:query:write is recognised but locked (it will not be granted)",
    ),
    rule(
        "synapse/scope-reserved",
        W,
        "data:admin:registry is reserved for the data-catalog app",
    ),
    rule(
        "synapse/scopes-provisional",
        I,
        "scopes or events are declared; the gateway is early, re-check the host docs",
    ),
    // the app folder
    rule(
        "synapse/dockerfile-missing",
        E,
        "the app folder has no Dockerfile next to synapse-app.yaml",
    ),
    rule(
        "synapse/bind-localhost",
        E,
        "the Dockerfile's CMD/ENTRYPOINT binds 127.0.0.1 or localhost",
    ),
    rule(
        "synapse/port-mismatch",
        W,
        "the Dockerfile EXPOSEs or passes --port other than ports.public",
    ),
    rule(
        "synapse/exec-form-variable",
        W,
        "an exec-form CMD/ENTRYPOINT uses $VAR, which is not expanded",
    ),
    rule(
        "synapse/dev-server",
        W,
        "the image runs a reloading dev server (--reload, next dev, nuxi dev…)",
    ),
    rule(
        "synapse/dockerfile-secret",
        W,
        "a Dockerfile ENV or ARG has a secret-like name or value",
    ),
    rule(
        "synapse/bridge-missing",
        W,
        "no bridge in the sources (nothing sends synapse:ready)",
    ),
    rule(
        "synapse/host-chrome",
        W,
        "header, footer or logo components found: the host draws that chrome",
    ),
];

/// Severity of a Synapse rule id; an unknown id is a programming error, reported as an error.
pub(crate) fn severity_of(id: &str) -> Severity {
    debug_assert!(
        RULES.iter().any(|r| r.id == id),
        "rule id {id} is not in synapse RULES"
    );
    RULES
        .iter()
        .find(|r| r.id == id)
        .map_or(Severity::Error, |r| r.severity)
}
