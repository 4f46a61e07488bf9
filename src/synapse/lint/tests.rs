//! Every Synapse rule fires on some input, with its table severity; clean manifests stay clean.

use super::*;
use crate::synapse::rules::RULES;
use std::collections::HashSet;

const GOOD: &str = "apiVersion: synapse.datamaker.io/v1
kind: SynapseApp
metadata:
  name: good-app
  label: Good App
  description: A good app.
  version: \"1.2.3\"
runtime:
  kind: image
  image: registry.local.datamaker.io/synapse_apps/good-app:1.2.3
network:
  ports: {public: 8080}
  public_url: http://localhost:8080/
  health: {path: /health}
iframe:
  sandbox: [allow-scripts, allow-same-origin]
";

fn lint(text: &str) -> Vec<Finding> {
    check_bytes(
        text.as_bytes(),
        "app",
        "synapse-app.yaml",
        &Target::default(),
    )
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

#[test]
fn a_good_manifest_is_clean() {
    assert_eq!(rules(&lint(GOOD)), Vec::<&str>::new());
}

#[test]
fn registry_and_namespace_only_warn_when_set_and_name_both() {
    let moved = GOOD.replace(
        "registry.local.datamaker.io/synapse_apps/",
        "127.0.0.1:5000/apps/",
    );
    assert_eq!(
        rules(&lint(&moved)),
        Vec::<&str>::new(),
        "unset: runtime.image rules"
    );
    let env = Target {
        registry: Some("registry.local.datamaker.io".to_owned()),
        namespace: Some("synapse_apps".to_owned()),
    };
    let f = check_bytes(moved.as_bytes(), "app", "x", &env);
    assert_eq!(
        rules(&f),
        ["synapse/image-namespace", "synapse/image-registry"]
    );
    assert!(f
        .iter()
        .all(|f| f.severity == crate::validate::Severity::Warning));
    assert!(
        f[1].message.contains("registry.local.datamaker.io"),
        "{}",
        f[1].message
    );
    assert!(
        f[1].message.contains("127.0.0.1:5000/apps/good-app:1.2.3"),
        "{}",
        f[1].message
    );
}

#[test]
fn lines_point_at_the_value() {
    let text = GOOD.replace("1.2.3\"", "1.2.4\"");
    let f = lint(&text);
    assert_eq!(rules(&f), ["synapse/image-tag"]);
    assert_eq!(f[0].line, Some(10));
}

#[test]
fn every_rule_can_fire() {
    let bad_manifests = [
        // the file
        "a: [\n".to_owned(),
        "- a\n".to_owned(),
        "a: 1\n---\nb: 2\n".to_owned(),
        String::new(),
        GOOD.replace("kind: SynapseApp", "kind: SynapseApp\nkind: SynapseApp"),
        GOOD.replace("label: Good App", "label: <Human Label>"),
        GOOD.replace("description: A good app.", "description: A good app.\n  owner: ghp_abcdefghijklmnopqrstuvwxyz0123"),
        GOOD.replace("  sandbox: [allow-scripts, allow-same-origin]", "  sandbox: [allow-scripts, allow-same-origin]\ncapabilities:\n  events:\n    publish: [on]\n    subscribe: [x]"),
        // structure
        GOOD.replace("  label: Good App\n", "  icon: x.png\n"),
        GOOD.replace("version: \"1.2.3\"", "version: 1.10"),
        GOOD.replace("sandbox: [allow-scripts, allow-same-origin]", "sandbox: [allow-scripts, allow-same-origin, allow-scripts]"),
        GOOD.replace("health: {path: /health}", "health: {path: /health, expect_status: 99, timeout_ms: 20000, interval_ms: 10000, method: POST}"),
        GOOD.replace("apiVersion: synapse.datamaker.io/v1", "apiVersion: v1").replace("kind: SynapseApp", "kind: App"),
        // metadata
        GOOD.replace("name: good-app", "name: Good"),
        GOOD.replace("version: \"1.2.3\"", "version: v1.2").replace("  description: A good app.\n", ""),
        GOOD.replace("version: \"1.2.3\"", "version: 1.2.3+b1").replace("Good App", &"L".repeat(61)),
        // runtime
        GOOD.replace("kind: image", "kind: docker-compose\n  env: {A: b}"),
        GOOD.replace("registry.local.datamaker.io/synapse_apps/good-app:1.2.3", "good-app"),
        GOOD.replace("registry.local.datamaker.io/synapse_apps/good-app:1.2.3", "other.io/apps/bad-app:1.2.3"),
        // volumes
        GOOD.replace("  kind: image\n", "  kind: image\n  volumes:\n    - {host: data, container: /}\n    - {host: /, container: /x, readonly: false}\n    - {host: /var/run/docker.sock, container: /x}\n    - {host: ~/x/, container: /etc/y, readonly: false}\n    - {host: /srv/ok, container: /usr}\n"),
        // network
        GOOD.replace("public: 8080", "public: 80").replace("http://localhost:8080/", "http://example.com/"),
        GOOD.replace("public: 8080", "public: 70000").replace("http://localhost:8080/", "http://x").replace("path: /health", "path: health"),
        GOOD.replace("path: /health", "path: /api/plugins/apps/good-app/proxy/health").replace("iframe:", "lifecycle: {start_timeout_ms: 5000}\niframe:"),
        // iframe and capabilities
        GOOD.replace("sandbox: [allow-scripts, allow-same-origin]", "sandbox: [allow-scripts, allow-top-navigation, allow-modals, allow-nothing]\n  allow: ['Bad Feature']\n  referrer_policy: never\ncapabilities:\n  auth: required\n  theme: dark\n  scopes: [data:query:write, data:admin:registry, projects:delete]"),
        GOOD.replace("iframe:\n  sandbox: [allow-scripts, allow-same-origin]\n", ""),
    ];
    let mut fired: Vec<Finding> = bad_manifests.iter().flat_map(|m| lint(m)).collect();
    fired.extend(check_bytes(&[0xff, 0xfe], "app", "x", &Target::default()));
    // REGISTRY / NS set and disagreeing with runtime.image.
    let elsewhere = Target {
        registry: Some("127.0.0.1:5000".to_owned()),
        namespace: Some("apps".to_owned()),
    };
    fired.extend(check_bytes(GOOD.as_bytes(), "app", "x", &elsewhere));
    // the app folder
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("synapse-app.yaml"), GOOD).expect("write");
    std::fs::write(dir.path().join("index.html"), "<p>no bridge</p>").expect("write");
    fired.extend(check_app(dir.path(), "app", &Target::default()));
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM x\nENV API_TOKEN=abc\nEXPOSE 9000\nCMD [\"uvicorn\", \"app:app\", \"--host\", \"127.0.0.1\", \"--port\", \"9000\", \"--reload\", \"--root-path\", \"$SYNAPSE_APP_ROOT_PATH\"]\n",
    )
    .expect("write");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("src/Header.tsx"), "export {}").expect("write");
    std::fs::write(
        dir.path().join("src/bridge.js"),
        "send('synapse:ready', {app: 'APP_NAME'})",
    )
    .expect("write");
    fired.extend(check_app(dir.path(), "app", &Target::default()));
    let streamlit = GOOD.replace("path: /health", "path: /healthz");
    std::fs::write(dir.path().join("synapse-app.yaml"), streamlit).expect("write");
    std::fs::write(dir.path().join("requirements.txt"), "streamlit==1.*\n").expect("write");
    fired.extend(check_app(dir.path(), "app", &Target::default()));

    let seen: HashSet<&str> = fired.iter().map(|f| f.rule).collect();
    for rule in RULES {
        assert!(seen.contains(rule.id), "rule {} never fired", rule.id);
        let f = fired.iter().find(|f| f.rule == rule.id).expect("fired");
        assert_eq!(f.severity, rule.severity, "{}", rule.id);
    }
    // Credentials are never quoted back.
    assert!(fired
        .iter()
        .all(|f| !f.message.contains("ghp_abcdef") && !f.message.contains("=abc")));
}

#[test]
fn ids_unique_and_used_ids_listed() {
    let mut seen = HashSet::new();
    for r in RULES {
        assert!(seen.insert(r.id), "duplicate {}", r.id);
        assert!(r.id.starts_with("synapse/"), "{}", r.id);
        assert!(!r.summary.ends_with('.'), "{}", r.id);
    }
    let sources = [
        include_str!("mod.rs"),
        include_str!("schema.rs"),
        include_str!("checks.rs"),
        include_str!("scan.rs"),
        include_str!("project.rs"),
    ];
    let id = regex::Regex::new(r#""(synapse/[a-z0-9-]+)""#).expect("regex");
    for src in sources {
        for cap in id.captures_iter(src) {
            assert!(
                RULES.iter().any(|r| r.id == &cap[1]),
                "{} not listed",
                &cap[1]
            );
        }
    }
}
