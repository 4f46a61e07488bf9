//! Unit tests of the transform; byte-level output is pinned by the integration goldens.

use super::service::{container_port, escape_dollars};
use super::{render, transform, SyncContext};
use crate::settings::Settings;
use crate::yaml::{load, LoadLimits, Node};
use std::path::Path;

fn run(compose: &str, version: Option<&str>) -> String {
    let settings = Settings::default();
    let doc: Node = load(compose, &LoadLimits::default())
        .expect("yaml")
        .expect("doc");
    let ctx = SyncContext {
        settings: &settings,
        extension_dir: "ext",
        extension_path: Path::new("/nonexistent/ext"),
        version,
    };
    render(&transform(&doc, &ctx).expect("transform").doc)
}

#[test]
fn dollars() {
    assert_eq!(
        escape_dollars("$HOME $$X ${B} $1 $_u $"),
        "$$HOME $$X ${B} $1 $$_u $"
    );
    assert_eq!(escape_dollars("a$$$b"), "a$$$$b");
}

#[test]
fn ports() {
    assert_eq!(container_port("3000:3000"), "3000");
    assert_eq!(container_port("127.0.0.1:9000:9000/udp"), "9000/udp");
    assert_eq!(container_port("${H:-1}:${C:-2}"), "${C:-2}");
    assert_eq!(container_port("[::1]:80:8080"), "8080");
    assert_eq!(container_port("8000-8010:8000-8010"), "8000-8010");
    assert_eq!(container_port("80"), "80");
}

#[test]
fn keys_are_appended_in_reference_order() {
    let out = run(
        "services:\n  web:\n    build: .\n    ports: ['80:80']\n",
        Some("2.0.0"),
    );
    assert_eq!(
        out,
        "services:\n  web:\n    ports:\n    - '80'\n    image: kamiwazaai/ext-web:2.0.0\n    extra_hosts:\n    - host.docker.internal:host-gateway\n    deploy:\n      resources:\n        limits:\n          cpus: '1.0'\n          memory: 1G\n"
    );
}

#[test]
fn without_version_no_image_is_invented() {
    let out = run("services:\n  web:\n    build: .\n", None);
    assert!(!out.contains("image:"), "{out}");
}

#[test]
fn limits_follow_the_image_name() {
    let out = run("services:\n  db:\n    image: postgres:16\n  c:\n    image: redis\n  f:\n    image: x/frontend\n", Some("1.0.0"));
    assert_eq!(out.matches("cpus: '0.5'").count(), 2, "{out}");
    assert_eq!(out.matches("cpus: '0.25'").count(), 1, "{out}");
}

#[test]
fn not_a_mapping_is_an_error() {
    let settings = Settings::default();
    let ctx = SyncContext {
        settings: &settings,
        extension_dir: "e",
        extension_path: Path::new("/x"),
        version: None,
    };
    let doc = load("- a\n", &LoadLimits::default())
        .expect("yaml")
        .expect("doc");
    assert!(transform(&doc, &ctx).is_err());
    let doc = load("version: '3'\n", &LoadLimits::default())
        .expect("yaml")
        .expect("doc");
    assert!(transform(&doc, &ctx)
        .unwrap_err()
        .message
        .contains("no `services`"));
}
