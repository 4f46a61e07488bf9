//! Tests of the `compose/*` rules: the reference's compose unit cases by rule id (with kz's
//! verdict where it fixes the reference), wrong shapes, long forms, anchors and merge keys.

use super::{bind_source, split_unbraced};
use crate::validate::testutil::{dump, manifest, rules_of, Fixture};
use crate::validate::{Report, Severity};

const BASE: &str = "services:
  s:
    image: nginx:1.25
    deploy:
      resources:
        limits:
          cpus: \"1\"
";

fn report_for(dir: &str, compose: &str) -> Report {
    let f = Fixture::new();
    let name = dir.rsplit('/').next().unwrap_or_default();
    f.write(&format!("{dir}/kamiwaza.json"), &manifest(name, &[]));
    f.write(&format!("{dir}/docker-compose.appgarden.yml"), compose);
    f.report()
}

/// The compose rules for an app whose App Garden file is `compose`.
fn rules_for(compose: &str) -> Vec<&'static str> {
    rules_of(&report_for("apps/app-x", compose), "apps/app-x", "compose/")
}

/// The compose rules for service `s` of BASE with `extra` (lines indented by four) added.
fn service_rules(extra: &str) -> Vec<&'static str> {
    rules_for(&format!("{BASE}{extra}"))
}

fn one_item(key: &str, item: &str) -> String {
    format!("    {key}:\n      - {item}\n")
}

const BIND: &[&str] = &["compose/bind-mount"];
const HOST_PORT: &[&str] = &["compose/host-port"];
const IMAGE: &[&str] = &["compose/image-format"];
const NONE: &[&str] = &[];

#[test]
fn volumes() {
    let cases: &[(&str, &[&str])] = &[
        ("'data:/data'", NONE),
        ("'data:/data:ro'", NONE),
        ("'./d:/d'", BIND),
        ("'../d:/d'", BIND),
        ("'.:/app'", BIND), // reference: not flagged
        ("'~/d:/d'", BIND),
        ("'/anon'", NONE), // reference: flagged (an anonymous volume is no bind mount)
        ("'C:\\x:/x'", BIND), // reference: not flagged
        ("'${PWD}:/app'", BIND), // reference: not flagged
        ("'${DATA:-./d}:/d'", BIND),
        ("'data'", NONE),
        ("'relative/dir:/x'", BIND),
        ("{type: volume, source: v, target: /v}", NONE),
        ("{type: bind, source: ./x, target: /x}", BIND),
        ("{type: tmpfs, target: /t}", NONE),
    ];
    for (item, expected) in cases {
        assert_eq!(
            service_rules(&one_item("volumes", item)),
            *expected,
            "volume {item}"
        );
    }
}

#[test]
fn ports() {
    let cases: &[(&str, &[&str])] = &[
        ("'8000'", NONE),
        ("'8000:8000'", HOST_PORT),
        ("':8000'", NONE),
        ("'127.0.0.1:80:80'", HOST_PORT),
        ("8000", NONE),
        ("'8000/udp'", NONE),
        ("{target: 80}", NONE),
        ("{target: 80, published: 8080}", HOST_PORT),
        ("{target: 80, published: null}", NONE),
        ("'${PORT:-8000}'", NONE), // reference: flagged (the `:` is inside the variable)
        ("'${HOST_PORT:-3001}:${CONTAINER_PORT:-3001}'", HOST_PORT),
        ("8000:8000", HOST_PORT), // reference: passes (YAML 1.1 reads a base-60 integer)
    ];
    for (item, expected) in cases {
        assert_eq!(
            service_rules(&one_item("ports", item)),
            *expected,
            "port {item}"
        );
    }
}

#[test]
fn images() {
    let hex = "a".repeat(64);
    let cases: Vec<(String, &[&str])> = vec![
        ("nginx".into(), NONE),
        ("nginx:1.25".into(), NONE),
        ("kamiwazaai/x:1.0.0".into(), NONE),
        ("ghcr.io/org/x:1.0".into(), NONE),
        ("localhost:5000/x:1".into(), NONE), // reference: rejected
        (format!("x:latest@sha256:{hex}"), NONE),
        (format!("x@sha256:{hex}"), NONE),
        ("Kamiwazaai/X:1.0".into(), IMAGE), // reference: accepted; Docker refuses upper case
        ("'${IMAGE:-x}:1'".into(), &["compose/image-variable"]), // reference: an error
        ("x:-bad".into(), IMAGE),
        ("5".into(), IMAGE),
        ("kamiwazaai/edge-app-digest@sha256:1.2.3".into(), IMAGE),
    ];
    for (image, expected) in cases {
        let compose = BASE.replace("nginx:1.25", &image);
        assert_eq!(rules_for(&compose), expected, "image {image}");
    }
    let report = report_for("apps/app-x", &BASE.replace("nginx:1.25", "${IMAGE}"));
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "compose/image-variable")
        .expect("finding");
    assert_eq!(finding.severity, Severity::Warning);
}

#[test]
fn a_service_needs_an_image_unless_it_builds_or_extends() {
    let no_image = BASE.replace("    image: nginx:1.25\n", "");
    assert_eq!(rules_for(&no_image), IMAGE);
    assert_eq!(
        rules_for(&format!("{no_image}    build: .\n")),
        ["compose/build-section"]
    );
    assert_eq!(
        rules_for(&format!("{no_image}    extends: {{service: base}}\n")),
        NONE
    );
}

#[test]
fn extra_hosts() {
    let env_list = "    environment:\n      - URL=http://host.docker.internal:8080\n";
    let env_map = "    environment:\n      URL: https://host.docker.internal\n      EMPTY:\n";
    let cases: &[(&str, &[&str])] = &[
        ("", &["compose/extra-hosts"]),
        (
            "    extra_hosts:\n      - host.docker.internal:host-gateway\n",
            NONE,
        ),
        (
            "    extra_hosts:\n      - \"host.docker.internal=host-gateway\"\n",
            NONE,
        ),
        // reference: rejected (it iterates the mapping's keys)
        (
            "    extra_hosts:\n      host.docker.internal: host-gateway\n",
            NONE,
        ),
        (
            "    extra_hosts:\n      host.docker.internal: 10.0.0.1\n",
            &["compose/extra-hosts"],
        ),
        (
            "    extra_hosts:\n      - other:1.1.1.1\n",
            &["compose/extra-hosts"],
        ),
        (
            "    extra_hosts: host.docker.internal:host-gateway\n",
            &["compose/field-type"],
        ),
        ("    extra_hosts:\n", &["compose/extra-hosts"]),
    ];
    for env in [env_list, env_map] {
        for (hosts, expected) in cases {
            assert_eq!(
                service_rules(&format!("{env}{hosts}")),
                *expected,
                "{env}{hosts}"
            );
        }
    }
    // no reference to the host: nothing required
    assert_eq!(service_rules("    environment:\n      - A=1\n"), NONE);
    assert_eq!(
        service_rules("    environment: A=1\n"),
        ["compose/field-type"]
    );
}

#[test]
fn resource_limits() {
    let svc = "services:\n  s:\n    image: nginx:1.25\n";
    let cases: &[(&str, &[&str])] = &[
        ("", &["compose/resource-limits"]),
        ("    deploy:\n", &["compose/resource-limits"]), // reference: crash
        ("    deploy: null\n", &["compose/resource-limits"]),
        ("    deploy: []\n", &["compose/resource-limits"]),
        (
            "    deploy:\n      resources:\n",
            &["compose/resource-limits"],
        ),
        (
            "    deploy:\n      resources:\n        reservations: {cpus: '1'}\n",
            &["compose/resource-limits"],
        ),
        ("    deploy:\n      resources:\n        limits: {}\n", NONE),
    ];
    for (deploy, expected) in cases {
        assert_eq!(
            rules_for(&format!("{svc}{deploy}")),
            *expected,
            "{deploy:?}"
        );
    }
}

#[test]
fn document_shapes() {
    let cases: &[(&str, &[&str])] = &[
        ("# only a comment\n", &["compose/empty"]),
        ("{}\n", &["compose/empty"]),
        ("~\n", &["compose/empty"]),
        ("services:\n", &["compose/no-services"]), // reference: crash
        ("services: null\n", &["compose/no-services"]),
        ("services: {}\n", &["compose/no-services"]),
        ("services: [a, b]\n", &["compose/no-services"]),
        ("version: '3'\n", &["compose/no-services"]),
        ("- a\n- b\n", &["compose/no-services"]),
        ("services:\n  s:\n", &["compose/service-type"]),
        ("services:\n  s: nginx\n", &["compose/service-type"]),
        ("services: {s: [1\n", &["compose/invalid-yaml"]),
        ("a: &x 1\nb: *y\n", &["compose/invalid-yaml"]),
    ];
    for (compose, expected) in cases {
        assert_eq!(rules_for(compose), *expected, "{compose:?}");
    }
    // a blank file of an app is metadata/appgarden-empty; of a tool, compose/empty
    let app = report_for("apps/app-x", "\n  \n");
    assert_eq!(
        rules_of(&app, "apps/app-x", ""),
        ["metadata/appgarden-empty"]
    );
    let tool = report_for("tools/tool-x", "\n");
    assert_eq!(rules_of(&tool, "tools/tool-x", ""), ["compose/empty"]);
}

#[test]
fn wrong_shapes_of_service_fields() {
    assert_eq!(service_rules("    ports: '8000'\n"), ["compose/field-type"]);
    assert_eq!(
        service_rules("    volumes: {a: b}\n"),
        ["compose/field-type"]
    );
    assert_eq!(service_rules("    ports:\n    volumes:\n"), NONE);
    assert_eq!(service_rules("    ports: [[1], 2.5, true]\n"), NONE);
    assert_eq!(
        rules_for(&format!("{BASE}volumes: [a]\n")),
        ["compose/field-type"]
    );
    assert_eq!(rules_for(&format!("{BASE}volumes:\n")), NONE);
}

#[test]
fn top_level_volume_driver_opts() {
    let cases: &[(&str, &[&str])] = &[
        (
            "  v:\n    driver_opts: {type: none, device: /host/path, o: bind}\n",
            &["compose/volume-host-path"],
        ),
        (
            "  v:\n    driver_opts: {type: none, o: bind, device: data}\n",
            &["compose/volume-host-path"],
        ),
        (
            "  v:\n    driver_opts: {type: nfs, o: 'addr=10.0.0.1,rw', device: ':/exports/x'}\n",
            NONE,
        ),
        (
            "  v:\n    driver_opts: {type: tmpfs, device: tmpfs}\n",
            NONE,
        ),
        ("  v:\n    driver: local\n", NONE),
        ("  v:\n", NONE),
    ];
    for (volumes, expected) in cases {
        assert_eq!(
            rules_for(&format!("{BASE}volumes:\n{volumes}")),
            *expected,
            "{volumes}"
        );
    }
}

#[test]
fn anchors_and_merge_keys() {
    let compose = "x-base: &base
  image: nginx:1.25
  deploy:
    resources:
      limits:
        cpus: \"1\"
services:
  a:
    <<: *base
    ports:
      - \"80:80\"
  b: *base
  c:
    <<: *base
    deploy: null
";
    let report = report_for("apps/app-x", compose);
    let got: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("compose/"))
        .map(|f| (f.rule, f.line))
        .collect();
    assert_eq!(
        got,
        [
            ("compose/host-port", Some(11)),
            ("compose/resource-limits", Some(15))
        ],
        "{}",
        dump(&report, "apps/app-x")
    );
}

/// synthetic/input/services/edge-svc, with the line of each finding.
#[test]
fn lines_of_findings() {
    let compose = "services:
  svc:
    image: kamiwazaai/service-edge:1.0.0
    container_name: fixed
    ports:
      - \"8000:8000\"
      - published: 9000
        target: 9000
    volumes:
      - ./x:/x
      - type: bind
        source: /y
        target: /y
    environment:
      - URL=http://host.docker.internal:8080
    extra_hosts:
      - \"other:1.1.1.1\"
    build: .
  bad-image:
    image: \"Registry.Example.com:5000/Foo/Bar:1.0\"
    deploy:
      resources:
        limits:
          cpus: \"1\"
";
    let report = report_for("services/service-edge", compose);
    let got: Vec<_> = report.findings.iter().map(|f| (f.rule, f.line)).collect();
    assert_eq!(
        got,
        [
            ("compose/resource-limits", Some(2)),
            ("compose/container-name", Some(4)),
            ("compose/host-port", Some(6)),
            ("compose/host-port", Some(7)),
            ("compose/bind-mount", Some(10)),
            ("compose/bind-mount", Some(11)),
            ("compose/extra-hosts", Some(16)),
            ("compose/build-section", Some(18)),
            ("compose/image-format", Some(20)),
        ],
        "{}",
        dump(&report, "services/service-edge")
    );
    let first = &report.findings[2];
    assert_eq!(
        first.file,
        "services/service-edge/docker-compose.appgarden.yml"
    );
    assert_eq!(
        first.message,
        "port `8000:8000` of service `svc` binds a host port; list only the container port, `8000`"
    );
}

#[test]
fn missing_files_per_kind() {
    let f = Fixture::new();
    f.write("apps/a/kamiwaza.json", &manifest("a", &[]));
    f.write("apps/a/docker-compose.yml", BASE);
    f.write("tools/tool-dev/kamiwaza.json", &manifest("tool-dev", &[]));
    f.write("tools/tool-dev/docker-compose.yml", BASE);
    f.write(
        "tools/tool-img/kamiwaza.json",
        &manifest(
            "tool-img",
            &[("image", Some("\"kamiwazaai/tool-img:1.0.0\""))],
        ),
    );
    f.write("tools/tool-none/kamiwaza.json", &manifest("tool-none", &[]));
    let report = f.report();
    assert_eq!(
        rules_of(&report, "apps/a", ""),
        ["metadata/appgarden-missing"]
    );
    assert_eq!(
        rules_of(&report, "tools/tool-dev", ""),
        ["compose/appgarden-missing"]
    );
    assert_eq!(rules_of(&report, "tools/tool-img", ""), ["compose/missing"]);
    assert_eq!(
        rules_of(&report, "tools/tool-none", ""),
        ["metadata/tool-image-or-compose"]
    );
    let warnings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.rule)
        .collect();
    assert_eq!(warnings, ["compose/appgarden-missing", "compose/missing"]);
}

#[test]
fn helpers() {
    assert_eq!(
        split_unbraced("${A:-1}:${B:-2}/udp", ':'),
        ["${A:-1}", "${B:-2}/udp"]
    );
    assert_eq!(split_unbraced("a:b:c", ':'), ["a", "b", "c"]);
    assert_eq!(split_unbraced("{x:y}", ':'), ["{x", "y}"]);
    assert_eq!(bind_source("C:\\x:/x").as_deref(), Some("C:\\x"));
    assert_eq!(bind_source("c:/x"), None, "a named volume `c`");
    assert_eq!(bind_source("$HOME/x:/x").as_deref(), Some("$HOME/x"));
    assert_eq!(bind_source("/data"), None);
}

/// Issue 15, class 8 and the Docker socket (class 6): what App Garden will not have.
#[test]
fn things_app_garden_does_not_have() {
    assert_eq!(
        service_rules("    container_name: web\n"),
        ["compose/container-name"]
    );
    assert_eq!(service_rules("    env_file: .env\n"), ["compose/env-file"]);
    assert_eq!(
        service_rules(&one_item(
            "volumes",
            "/var/run/docker.sock:/var/run/docker.sock"
        )),
        ["compose/bind-mount", "compose/docker-socket"]
    );
    assert_eq!(
        rules_for(&format!(
            "{BASE}secrets:\n  pw:\n    file: ./pw.txt\n  env:\n    environment: PW\nconfigs:\n  c:\n    file: ./c.yml\n"
        )),
        ["compose/file-source", "compose/file-source"]
    );
    // The socket in docker-compose.yml is an error too: sync drops the mount.
    let f = Fixture::new();
    f.write("apps/app-x/kamiwaza.json", &manifest("app-x", &[]));
    f.write("apps/app-x/docker-compose.appgarden.yml", BASE);
    f.write(
        "apps/app-x/docker-compose.yml",
        "services:\n  s:\n    image: x\n    volumes:\n    - /var/run/docker.sock:/var/run/docker.sock:ro\n",
    );
    assert_eq!(
        rules_of(&f.report(), "apps/app-x", "compose/"),
        ["compose/docker-socket"]
    );
}
