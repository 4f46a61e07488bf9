//! The rule table: every rule id kz can report, its severity and a one-line summary.
//! `kz validate --list-rules` prints it; docs/rules.md mirrors it.
//!
//! # How severities were chosen
//!
//! The reference scripts (validate-metadata.py, validate-compose.py and the build-registry gate)
//! have no warning channel: every finding fails the run, and some carry a `Warning:` prefix.
//! kz keeps that split and makes it real:
//!
//! * What the reference prefixes `Warning:` is a warning: the three image-tag hygiene rules
//!   (`metadata/image-stage-suffix`, `metadata/image-v-prefix`, `metadata/image-tag-mismatch`).
//!   kz re-tags images itself when it builds and publishes, so a stale tag in kamiwaza.json is
//!   untidy but never breaks a deployment.
//! * Everything else the reference reports is an error, because the catalogue build or App Garden
//!   rejects or mis-deploys such an extension — with these exceptions, where an error would be
//!   wrong for kz's users:
//!   * `compose/missing` (a tool with no compose file at all) is a warning. kz reports it only
//!     for tools that have an `image` in kamiwaza.json: such a tool is deployed from that image
//!     alone by design, so the finding only says that the compose checks were skipped. A tool
//!     with neither is `metadata/tool-image-or-compose` (an error); an app or service without
//!     the App Garden file is `metadata/appgarden-missing` (an error). The reference's compose
//!     script reports both of those again; kz does not say the same thing twice.
//!   * `compose/appgarden-missing` (a tool with only `docker-compose.yml`) is a warning: the
//!     catalogue build embeds the App Garden form of the dev file for tools (the reference embeds
//!     the dev file itself), so publishing works, but what is deployed was never checked.
//!     `kz sync-compose` writes the App Garden file.
//!   * `compose/image-variable` (`image: ${IMAGE}`) is a warning: compose fills variables in at
//!     deploy time, so kz cannot tell whether the result is valid. The reference rejects such
//!     images outright.
//! * Rules kz adds beyond the reference:
//!   * `metadata/kamiwaza-version-missing` is a warning: the field is optional for the v1
//!     catalogue, but publishing to a v2 catalogue refuses entries without it.
//!   * `metadata/not-object`, `metadata/unreadable`, `compose/unreadable`, `compose/field-type`
//!     are errors: the reference crashes or fails on such files.
//!   * `metadata/extra-docker-images` is an error: the catalogue build re-tags every entry and
//!     crashes on a non-string; the registry would list an image that cannot be pulled.
//!   * `registry/duplicate-name` is an error: two extensions publishing one name into the same
//!     catalogue file make the registry merge replace one with the other.
//!
//! * The developer guide's pitfalls (`validate/guide`, none in the reference): errors only
//!   where the guide says deployment breaks: `metadata/reserved-env` (the guide: "don't
//!   override in env_defaults") and the two `*/unknown-placeholder` rules (a placeholder outside
//!   the guide's four stays literal). The rest are heuristics and warnings: a reserved variable
//!   replaced in compose (the guide's own compose examples pass it through with a default),
//!   `localhost` URLs, `NEXT_PUBLIC_*` at run time, unescaped `$name` in a `command:`, ports
//!   published beside a proxy or by a backend.
//!
//! The build-registry gate's own checks (required keys, tool image-or-compose, `risk_tier`, the
//! service `template_type`) are all covered, with the same or a stricter predicate, by metadata
//! rules; see `gate.rs`. Only the cross-extension checks have `registry/*` ids.

use super::Severity;

#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

const fn rule(id: &'static str, severity: Severity, summary: &'static str) -> Rule {
    Rule {
        id,
        severity,
        summary,
    }
}

use Severity::{Error as E, Warning as W};

/// Every rule. Ids are stable: never renumber or reuse one.
pub static RULES: &[Rule] = &[
    // kamiwaza.json
    rule("metadata/missing", E, "the extension folder has no kamiwaza.json"),
    rule("metadata/unreadable", E, "kamiwaza.json cannot be read (too large, not UTF-8, I/O error)"),
    rule("metadata/invalid-json", E, "kamiwaza.json is not valid JSON"),
    rule("metadata/not-object", E, "kamiwaza.json is not a JSON object"),
    rule(
        "metadata/required-field",
        E,
        "a required field (name, version, source_type, visibility, description, risk_tier, verified) is missing",
    ),
    rule("metadata/field-type", E, "a field has the wrong JSON type (a boolean is not an integer)"),
    rule("metadata/version-format", E, "version is not SemVer 2.0: MAJOR.MINOR.PATCH[-PRE][+BUILD]"),
    rule("metadata/source-type", E, "source_type is not kamiwaza, public or user_repo"),
    rule("metadata/visibility", E, "visibility is not public, private or team"),
    rule("metadata/risk-tier", E, "risk_tier is not 0, 1 or 2"),
    rule("metadata/appgarden-missing", E, "an app or service has no docker-compose.appgarden.yml"),
    rule("metadata/appgarden-empty", E, "docker-compose.appgarden.yml holds only whitespace"),
    rule("metadata/tags-type", E, "tags is not a list of strings"),
    rule("metadata/env-defaults-type", E, "env_defaults is not an object of string values"),
    rule("metadata/required-env-vars", E, "required_env_vars is not a list of strings"),
    rule("metadata/capabilities", E, "a tool's capabilities is not a list of strings"),
    rule("metadata/extra-docker-images", E, "extra_docker_images is not a list of image references"),
    rule(
        "metadata/preview-image",
        E,
        "preview_image is not an image file in the extension or an image URL under a Kamiwaza prefix",
    ),
    rule("metadata/image-format", E, "image is not a string holding a valid image reference"),
    rule("metadata/image-stage-suffix", W, "the image tag carries a stage suffix (-dev, -stage)"),
    rule("metadata/image-v-prefix", W, "the image tag has a `v` prefix"),
    rule("metadata/image-tag-mismatch", W, "the image tag is not the extension's version"),
    rule("metadata/kamiwaza-version", E, "kamiwaza_version is not a list of constraints like >=0.8.0,<1.0.0"),
    rule("metadata/kamiwaza-version-missing", W, "no kamiwaza_version (a v2 catalogue requires one)"),
    rule("metadata/template-type", E, "template_type does not match the extension's folder"),
    rule("metadata/service-prefix", E, "a service's name does not start with service-"),
    rule("metadata/tool-prefix", E, "a tool's name does not start with tool- or mcp-"),
    rule("metadata/tool-image-or-compose", E, "a tool has neither an image nor a compose file"),
    // docker-compose.appgarden.yml
    rule("compose/missing", W, "an image-only tool has no compose file, so compose checks are skipped"),
    rule("compose/appgarden-missing", W, "a tool has only docker-compose.yml; the catalogue embeds its App Garden form unchecked"),
    rule("compose/unreadable", E, "the compose file cannot be read (too large, not UTF-8, I/O error)"),
    rule("compose/invalid-yaml", E, "the compose file is not valid YAML"),
    rule("compose/empty", E, "the compose file holds no document"),
    rule("compose/no-services", E, "the compose file has no services"),
    rule("compose/service-type", E, "a service definition is not a mapping"),
    rule(
        "compose/field-type",
        E,
        "ports, volumes, environment, extra_hosts or top-level volumes has the wrong shape",
    ),
    rule("compose/host-port", E, "a port binds a host port"),
    rule("compose/bind-mount", E, "a volume bind-mounts a host path"),
    rule("compose/build-section", E, "a service has a build section"),
    rule("compose/extra-hosts", E, "a service uses host.docker.internal without mapping it to host-gateway"),
    rule("compose/resource-limits", E, "a service has no deploy.resources.limits"),
    rule("compose/image-format", E, "a service's image is missing, not a string or not a valid reference"),
    rule("compose/image-variable", W, "a service's image uses a variable, so it cannot be checked"),
    rule("compose/volume-host-path", E, "a top-level volume's driver_opts point at a host path"),
    rule("compose/container-name", E, "a service sets container_name, which blocks a second deployment on one host"),
    rule("compose/env-file", E, "a service reads an env_file, which does not ship with the extension"),
    rule("compose/file-source", E, "a top-level secret or config reads a host file, which does not ship"),
    rule("compose/docker-socket", E, "a service mounts the Docker socket (App Garden or docker-compose.yml)"),
    // the catalogue, across extensions
    rule("registry/duplicate-preview", E, "two extensions use the same preview image (or file name)"),
    rule("registry/duplicate-name", E, "two extensions publish the same name into one catalogue file"),
    // the workspace
    rule("workspace/symlink", E, "an extension folder is a symbolic link"),
    // the developer guide's deployment pitfalls (validate/guide)
    rule("metadata/reserved-env", E, "env_defaults sets a variable the platform injects (KAMIWAZA_API_URL, OPENAI_BASE_URL, ...)"),
    rule("metadata/unknown-placeholder", E, "an env_defaults value uses a {placeholder} the platform does not substitute"),
    rule("compose/reserved-env", W, "a service's environment replaces a variable the platform injects"),
    rule("compose/unknown-placeholder", E, "an environment value uses a {placeholder} the platform does not substitute"),
    rule("compose/localhost-url", W, "an environment value reaches another service through localhost"),
    rule("compose/next-public-runtime", W, "a NEXT_PUBLIC_* variable is set only at run time for an image that runs next build"),
    rule("compose/unescaped-dollar", W, "a command uses $name unescaped, which Compose replaces before the program runs"),
    rule("compose/proxy-ports", W, "another service publishes ports beside an nginx-style proxy"),
    rule("compose/backend-port", W, "a backend service publishes its port directly beside the primary service"),
];

/// Severity of a rule id; an unknown id is a programming error, reported as an error.
pub(crate) fn severity_of(id: &str) -> Severity {
    debug_assert!(
        RULES.iter().any(|r| r.id == id),
        "rule id {id} is not in RULES"
    );
    RULES
        .iter()
        .find(|r| r.id == id)
        .map_or(Severity::Error, |r| r.severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            let (group, name) = r.id.split_once('/').expect("group/name");
            assert!(
                ["metadata", "compose", "registry", "workspace"].contains(&group),
                "{}",
                r.id
            );
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                r.id
            );
            assert!(!r.summary.ends_with('.'), "{}", r.id);
        }
    }

    /// Every rule in the table can fire: one workspace that breaks each of them.
    #[test]
    fn every_rule_can_fire() {
        use crate::validate::testutil::{manifest, Fixture, GOOD_COMPOSE};
        let f = Fixture::new();
        f.mkdir("apps/no-metadata");
        f.write("apps/bad-json/kamiwaza.json", "{");
        f.app("apps/list", "[]");
        f.app("apps/unreadable", "");
        std::fs::write(f.root().join("apps/unreadable/kamiwaza.json"), b"\xff").expect("write");
        std::fs::write(
            f.root()
                .join("apps/unreadable/docker-compose.appgarden.yml"),
            b"\xff",
        )
        .expect("write");
        let many = [
            ("description", None),
            ("verified", Some("\"no\"")),
            ("version", Some("\"1.0\"")),
            ("source_type", Some("\"other\"")),
            ("visibility", Some("\"secret\"")),
            ("risk_tier", Some("5")),
            ("tags", Some("\"a\"")),
            ("env_defaults", Some("[]")),
            ("required_env_vars", Some("[1]")),
            ("extra_docker_images", Some("[1]")),
            ("preview_image", Some("\"/x.png\"")),
            ("image", Some("\"kamiwazaai/x:v1.0.0-dev\"")),
            ("kamiwaza_version", Some("\">=0.8\"")),
            ("template_type", Some("\"tool\"")),
        ];
        f.write("apps/many/kamiwaza.json", &manifest("many", &many));
        f.write("apps/many/docker-compose.appgarden.yml", " \n");
        let image = [("image", Some("\"Bad/X\"")), ("kamiwaza_version", None)];
        f.app("apps/image", &manifest("image", &image));
        f.service("services/edge", &manifest("edge", &[]));
        f.write(
            "tools/mytool/kamiwaza.json",
            &manifest("mytool", &[("capabilities", Some("[1]"))]),
        );
        let image_only = [("image", Some("\"kamiwazaai/tool-img:1.0.0\""))];
        f.write(
            "tools/tool-img/kamiwaza.json",
            &manifest("tool-img", &image_only),
        );
        f.write("tools/tool-dev/kamiwaza.json", &manifest("tool-dev", &[]));
        f.write("tools/tool-dev/docker-compose.yml", GOOD_COMPOSE);
        f.tool("tools/tool-empty", &manifest("tool-empty", &[]));
        f.write(
            "tools/tool-empty/docker-compose.appgarden.yml",
            "# nothing\n",
        );
        f.app("apps/yaml", &manifest("yaml", &[]));
        f.write("apps/yaml/docker-compose.appgarden.yml", "a: [\n");
        f.app("apps/no-services", &manifest("no-services", &[]));
        f.write(
            "apps/no-services/docker-compose.appgarden.yml",
            "version: '3'\n",
        );
        let compose = "services:
  broken:
  s:
    image: ${IMAGE}
    build: .
    ports: ['80:80']
    volumes: ['./x:/x', '/var/run/docker.sock:/var/run/docker.sock']
    environment: ['URL=https://host.docker.internal']
    container_name: s
    env_file: .env
  t:
    image: Bad/X
    ports: '80'
volumes:
  v:
    driver_opts: {device: /host/path}
secrets:
  pw:
    file: ./pw.txt
";
        f.app("apps/compose", &manifest("compose", &[]));
        f.write("apps/compose/docker-compose.appgarden.yml", compose);
        let env = [(
            "env_defaults",
            Some("{\"OPENAI_BASE_URL\": \"http://x\", \"U\": \"{lb_port}\"}"),
        )];
        f.app("apps/guide", &manifest("guide", &env));
        let guide = "services:
  proxy:
    image: nginx:1.25
    ports: ['80']
    command: nginx -g 'daemon off;' -c $host
    deploy: {resources: {limits: {cpus: '1'}}}
  web:
    image: kamiwazaai/web:1.0.0
    ports: ['3000']
    environment:
      - KAMIWAZA_API_URL=http://x
      - NEXT_PUBLIC_A=http://localhost:8000/{lb_port}
    deploy: {resources: {limits: {cpus: '1'}}}
  backend:
    image: kamiwazaai/b:1.0.0
    expose: ['8000']
    deploy: {resources: {limits: {cpus: '1'}}}
";
        f.write("apps/guide/docker-compose.appgarden.yml", guide);
        f.write(
            "apps/guide/docker-compose.yml",
            "services:\n  web:\n    build: ./web\n",
        );
        f.write("apps/guide/web/Dockerfile", "FROM node\nRUN next build\n");
        let direct = "services:
  frontend:
    image: kamiwazaai/f:1.0.0
    ports: ['3000']
    deploy: {resources: {limits: {cpus: '1'}}}
  backend:
    image: kamiwazaai/b:1.0.0
    ports: ['8000']
    deploy: {resources: {limits: {cpus: '1'}}}
";
        f.app("apps/direct", &manifest("direct", &[]));
        f.write("apps/direct/docker-compose.appgarden.yml", direct);
        let preview = [("preview_image", Some("\"https://info.kamiwaza.ai/p.png\""))];
        f.app("apps/dup-a", &manifest("dup", &preview));
        f.app("apps/dup-b", &manifest("dup", &preview));
        #[cfg(unix)]
        std::os::unix::fs::symlink(f.root().join("apps/dup-a"), f.root().join("apps/linked"))
            .expect("symlink");
        let report = f.report();
        let fired: std::collections::HashSet<&str> =
            report.findings.iter().map(|f| f.rule).collect();
        for r in RULES {
            if cfg!(not(unix)) && r.id == "workspace/symlink" {
                continue;
            }
            assert!(fired.contains(r.id), "rule {} never fired", r.id);
            let severity = report
                .findings
                .iter()
                .find(|f| f.rule == r.id)
                .map(|f| f.severity);
            assert_eq!(severity, Some(r.severity), "{}", r.id);
        }
    }

    /// Every id used in the rule sources is in the table (and so has a severity).
    #[test]
    fn every_used_id_is_listed() {
        let sources = [
            include_str!("metadata.rs"),
            include_str!("compose.rs"),
            include_str!("gate.rs"),
            include_str!("mod.rs"),
            include_str!("guide/mod.rs"),
            include_str!("guide/net.rs"),
        ];
        let id = regex::Regex::new(r#""((?:metadata|compose|registry|workspace)/[a-z-]+)""#)
            .expect("regex");
        for src in sources {
            for cap in id.captures_iter(src) {
                let used = &cap[1];
                assert!(
                    RULES.iter().any(|r| r.id == used),
                    "rule {used} is used but not in RULES"
                );
            }
        }
    }
}
