//! Tests of the bind-mount rule and the other App Garden keep/drop rules (issue 15). Each
//! defect class has its own test; the extension folder is a real temporary folder (not a git
//! repository), so file-or-folder is decided from the working tree.

use super::{render, transform, NoteLevel, SyncContext};
use crate::settings::Settings;
use crate::yaml::{load_compose, LoadLimits, Node};
use std::path::Path;

struct Out {
    text: String,
    warnings: Vec<String>,
}

fn run_in(ext: &Path, compose: &str) -> Out {
    let settings = Settings::default();
    let doc: Node = load_compose(compose, &LoadLimits::default())
        .expect("yaml")
        .expect("doc");
    let ctx = SyncContext {
        settings: &settings,
        extension_dir: "ext",
        extension_path: ext,
        version: Some("1.0.0"),
    };
    let synced = transform(&doc, &ctx).expect("transform");
    Out {
        text: render(&synced.doc),
        warnings: synced
            .notes
            .iter()
            .filter(|n| n.level == NoteLevel::Warning)
            .map(|n| n.message.clone())
            .collect(),
    }
}

fn run(compose: &str) -> Out {
    run_in(Path::new("/nonexistent/ext"), compose)
}

/// The named volume each service's mounts point at, in order.
fn mounts(out: &str, service: &str) -> Vec<String> {
    let doc = crate::yaml::load(out, &LoadLimits::default())
        .expect("output parses")
        .expect("doc");
    let svc = doc
        .get("services")
        .and_then(|s| s.get(service))
        .expect("svc");
    svc.get("volumes")
        .and_then(Node::as_seq)
        .map(|items| {
            items
                .iter()
                .map(|i| match i.as_str() {
                    Some(s) => s.to_owned(),
                    None => format!(
                        "{}:{}",
                        i.get("source").and_then(Node::as_str).unwrap_or(""),
                        i.get("target").and_then(Node::as_str).unwrap_or("")
                    ),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn top_volumes(out: &str) -> Vec<String> {
    let doc = crate::yaml::load(out, &LoadLimits::default())
        .expect("output parses")
        .expect("doc");
    doc.get("volumes")
        .and_then(Node::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn variable_sources_are_not_split_at_their_inner_colon() {
    let out = run("services:\n  app:\n    image: x\n    volumes:\n    - \"${DATA_DIR:-/srv/data}:/data\"\n    - ${CACHE:-./c}:/cache:ro\n");
    assert_eq!(
        mounts(&out.text, "app"),
        ["app_data:/data", "app_cache:/cache:ro"]
    );
    assert_eq!(top_volumes(&out.text), ["app_data", "app_cache"]);
    assert!(!out.text.contains(":-"), "{}", out.text);
}

#[test]
fn converted_names_never_collide() {
    let out = run("services:\n  backend:\n    image: x\n    volumes:\n    - ./data:/app/data\n    - backend_data:/app/persist\n  app:\n    image: y\n    volumes:\n    - ./a/config:/etc/app/config\n    - ./b/config:/opt/config\n    - ./logs:/logs\nvolumes:\n  backend_data:\n");
    let backend = mounts(&out.text, "backend");
    assert_eq!(backend[1], "backend_data:/app/persist");
    assert_ne!(backend[0], "backend_data:/app/data", "{}", out.text);
    let app = mounts(&out.text, "app");
    let names: Vec<&str> = app
        .iter()
        .map(|m| m.split(':').next().unwrap_or(""))
        .collect();
    assert_ne!(names[0], names[1], "{}", out.text);
    // A mount that collides with nothing keeps today's name.
    assert_eq!(names[2], "app_logs");
    let top = top_volumes(&out.text);
    for n in &names {
        assert!(top.iter().any(|t| t == n), "{n} not declared: {}", out.text);
    }
}

#[test]
fn a_folder_shared_by_services_is_one_volume() {
    let out = run("x-common: &c\n  image: airflow\n  volumes:\n  - ${AIRFLOW_PROJ_DIR:-.}/dags:/opt/airflow/dags\n  - ./logs:/opt/airflow/logs\nservices:\n  scheduler:\n    <<: *c\n  worker:\n    <<: *c\n  web:\n    image: w\n    volumes:\n    - ./logs/:/var/log/app\n");
    let s = mounts(&out.text, "scheduler");
    let w = mounts(&out.text, "worker");
    assert_eq!(s, w, "{}", out.text);
    let web = mounts(&out.text, "web");
    assert_eq!(
        web[0].split(':').next(),
        s[1].split(':').next(),
        "{}",
        out.text
    );
    assert_eq!(top_volumes(&out.text).len(), 2, "{}", out.text);
}

#[test]
fn file_mounts_are_dropped_with_a_warning() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ext = tmp.path();
    std::fs::create_dir_all(ext.join("proxy")).expect("mkdir");
    std::fs::write(ext.join("proxy/nginx.conf"), "x").expect("write");
    let out = run_in(ext, "services:\n  proxy:\n    image: nginx\n    volumes:\n    - ./proxy/nginx.conf:/etc/nginx/conf.d/default.conf:ro\n    - ./missing.conf:/etc/missing\n");
    assert_eq!(mounts(&out.text, "proxy"), ["proxy_missing:/etc/missing"]);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("nginx.conf") && w.contains("image must")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn read_only_mounts() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ext = tmp.path();
    std::fs::create_dir_all(ext.join("app/static")).expect("mkdir");
    std::fs::write(ext.join("app/.dockerignore"), "static\n").expect("write");
    let out = run_in(ext, "services:\n  api:\n    build: ./app\n    volumes:\n    - ./app/static:/srv/static:ro\n    - ./models:/models:ro\n");
    assert_eq!(mounts(&out.text, "api"), ["api_models:/models:ro"]);
    assert!(
        out.warnings.iter().any(|w| w.contains("starts empty")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn host_system_paths_are_dropped() {
    let out = run("services:\n  agent:\n    image: x\n    volumes:\n    - /lib/modules:/lib/modules:ro\n    - /usr/src:/usr/src:ro\n    - /var/lib/docker/:/var/lib/docker:ro\n    - /boot:/boot\n    - /:/rootfs:ro\n    - /var/log:/host/log\n    - /srv/data:/data\n");
    assert_eq!(mounts(&out.text, "agent"), ["agent_data:/data"]);
}

#[test]
fn compose_scalars_are_read_as_compose_reads_them() {
    let out = run("services:\n  dns:\n    image: x\n    ports: [53:53, 22:22]\n    environment:\n      DEBUG: yes\n      OFF_SWITCH: off\n      MODE: 0755\n");
    assert!(out.text.contains("- '53'\n    - '22'\n"), "{}", out.text);
    assert!(out.text.contains("DEBUG: 'yes'\n"), "{}", out.text);
    assert!(out.text.contains("OFF_SWITCH: 'off'\n"), "{}", out.text);
    // Where Compose agrees with YAML 1.1 (go-yaml v3 still reads 0755 as octal), kz keeps it.
    assert!(out.text.contains("MODE: 493\n"), "{}", out.text);
}

#[test]
fn things_app_garden_does_not_have_are_dropped() {
    let out = run("services:\n  app:\n    image: x\n    container_name: my-app\n    env_file: .env\n    secrets:\n    - db_pw\n    - api_key\nsecrets:\n  db_pw:\n    file: ./db_pw.txt\n  api_key:\n    environment: API_KEY\nconfigs:\n  cfg:\n    file: ./cfg.yml\n");
    assert!(!out.text.contains("container_name"), "{}", out.text);
    assert!(!out.text.contains("env_file"), "{}", out.text);
    assert!(!out.text.contains("db_pw"), "{}", out.text);
    assert!(out.text.contains("api_key"), "{}", out.text);
    assert!(!out.text.contains("cfg.yml"), "{}", out.text);
    for what in ["container_name", "env_file", "db_pw", "cfg"] {
        assert!(
            out.warnings.iter().any(|w| w.contains(what)),
            "{what}: {:?}",
            out.warnings
        );
    }
}

#[test]
fn non_colliding_names_are_unchanged() {
    let out = run("services:\n  backend:\n    image: x\n    volumes:\n    - ./data:/app/data\n    - ~/.cache:/root/.cache\n    - /srv/models:/models\n");
    assert_eq!(
        mounts(&out.text, "backend"),
        [
            "backend_data:/app/data",
            "backend_cache:/root/.cache",
            "backend_models:/models"
        ]
    );
}
