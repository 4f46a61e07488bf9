//! Synapse apps on the real engine: the static and the FastAPI scaffolds are built with
//! `kz build` (the label holds the manifest's exact bytes, both tags are set), started with
//! `kz run` on a network of their own, reach healthy, and `kz stop` removes them. Every test
//! uses its own registry name, slug and network, and removes what it made.
//!
//! The other seven recipes need the network at build time (pnpm/pip install from the internet),
//! which these machines do not have: their files are checked in tests/integration/synapse.rs.

use crate::engine::build::Engine;
use crate::harness::{Run, Ws, KZ};
use std::process::Command;

/// `kz` with the app's REGISTRY in the environment.
fn kz(ws: &Ws, dir: &str, registry: &str, args: &[&str]) -> Run {
    let out = Command::new(KZ)
        .args(args)
        .current_dir(ws.path(dir))
        .env("KZ_COLOR", "never")
        .env("REGISTRY", registry)
        .env_remove("NS")
        .env_remove("CONTEXT")
        .output()
        .expect("run kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What a test made on the engine, removed at the end whatever happened.
struct Cleanup<'a> {
    engine: &'a Engine,
    registry: String,
    slug: String,
    network: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = Command::new(KZ).args(["stop", &self.slug]).output();
        self.engine
            .remove_namespace(&format!("{}/synapse_apps", self.registry));
        self.engine.remove_network(&self.network);
    }
}

fn build_run_stop(framework: &str, adapt: impl Fn(&str) -> String) {
    let engine = Engine::connect();
    let id = std::process::id();
    let slug = format!("kzt-{framework}-{id}");
    let registry = format!("kzt-syn-{framework}-{id}.local");
    let network = format!("kzt-syn-net-{framework}-{id}");
    let _cleanup = Cleanup {
        engine: &engine,
        registry: registry.clone(),
        slug: slug.clone(),
        network: network.clone(),
    };
    let ws = Ws::new();
    kz(
        &ws,
        ".",
        &registry,
        &["new", "synapse", &slug, "--framework", framework],
    )
    .code(0);
    let dockerfile = ws.read(&format!("{slug}/Dockerfile"));
    let adapted = adapt(&dockerfile);
    assert_ne!(
        adapted, dockerfile,
        "the adaptation must change the Dockerfile"
    );
    ws.write(&format!("{slug}/Dockerfile"), &adapted);
    kz(&ws, &slug, &registry, &["validate", "--strict"]).code(0);

    kz(&ws, &slug, &registry, &["build"]).code(0);
    let reference = format!("{registry}/synapse_apps/{slug}:0.1.0");
    let labels = engine
        .labels(&reference)
        .expect("the image is tagged with the version");
    let latest = engine.labels(&format!("{registry}/synapse_apps/{slug}:latest"));
    assert_eq!(latest.as_ref(), Some(&labels), ":latest is the same image");
    let manifest = std::fs::read(ws.path(&format!("{slug}/synapse-app.yaml"))).expect("read");
    let label = labels
        .get("io.synapse.app.manifest")
        .expect("the manifest label");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(label)
        .expect("base64");
    assert_eq!(decoded, manifest, "the label holds the file's exact bytes");

    let run = kz(
        &ws,
        &slug,
        &registry,
        &["run", "--network", &network, "--timeout", "60"],
    );
    run.code(0)
        .stdout_has(&format!("synapse-app-{slug}  healthy"))
        .stderr_has(&format!("created network {network}"));
    let inspect = engine
        .container(&format!("synapse-app-{slug}"))
        .expect("running");
    let config = inspect.config.expect("config");
    let env = config.env.unwrap_or_default();
    let root = format!("/api/plugins/apps/{slug}/proxy");
    for var in [
        format!("SYNAPSE_APP_ROOT_PATH={root}"),
        format!("BASE_URL={root}/"),
        format!("GRADIO_ROOT_PATH={root}"),
    ] {
        assert!(env.contains(&var), "{var} not in {env:?}");
    }
    assert_eq!(
        config
            .labels
            .unwrap_or_default()
            .get("dev.kz.managed")
            .map(String::as_str),
        Some("true")
    );
    let host = inspect.host_config.expect("host config");
    assert_eq!(
        host.extra_hosts.unwrap_or_default(),
        ["host.docker.internal:host-gateway"]
    );
    assert!(
        host.port_bindings.unwrap_or_default().is_empty(),
        "no host port unless asked"
    );

    // Running again replaces the container kz started.
    kz(&ws, &slug, &registry, &["run", "--network", &network]).code(0);
    kz(&ws, &slug, &registry, &["stop"])
        .code(0)
        .stderr_has("Stopped");
    assert!(
        engine.container(&format!("synapse-app-{slug}")).is_none(),
        "removed"
    );
    kz(&ws, ".", &registry, &["stop", &slug])
        .code(0)
        .stderr_has("is not running");
}

#[test]
fn static_app_builds_runs_healthy_and_stops() {
    // The recipe pins busybox:1.37; nothing can be pulled here, and busybox:latest is the
    // local build of the same busybox httpd.
    build_run_stop("static", |d| {
        d.replace("FROM busybox:1.37", "FROM busybox:latest")
    });
}

#[test]
fn fastapi_app_builds_runs_healthy_and_stops() {
    // The recipe uses python:3.12-slim and pip-installs its requirements; here the local
    // python:3.11-slim already has fastapi and uvicorn, and pip has no network.
    build_run_stop("fastapi", |d| {
        d.replace("FROM python:3.12-slim", "FROM python:3.11-slim")
            .replace("RUN pip install --no-cache-dir -r requirements.txt\n", "")
    });
}

#[test]
fn build_refuses_an_invalid_manifest_and_run_reports_an_unhealthy_app() {
    let engine = Engine::connect();
    let id = std::process::id();
    let slug = format!("kzt-sick-{id}");
    let registry = format!("kzt-sick-{id}.local");
    let network = format!("kzt-syn-net-sick-{id}");
    let _cleanup = Cleanup {
        engine: &engine,
        registry: registry.clone(),
        slug: slug.clone(),
        network: network.clone(),
    };
    let ws = Ws::new();
    kz(
        &ws,
        ".",
        &registry,
        &["new", "synapse", &slug, "--framework", "static"],
    )
    .code(0);
    let path = format!("{slug}/synapse-app.yaml");
    let good = ws.read(&path);
    ws.write(
        &path,
        good.replace("version: \"0.1.0\"", "version: \"0.2.0\""),
    );
    kz(&ws, &slug, &registry, &["build"])
        .code(1)
        .stdout_has("error[synapse/image-tag]")
        .stderr_has("validation found 1 error");
    assert!(engine
        .labels(&format!("{registry}/synapse_apps/{slug}:0.2.0"))
        .is_none());
    // Healthy never comes: the health file is gone, httpd answers 404.
    ws.write(&path, good.replace("path: /health", "path: /nope"));
    let dockerfile = ws.read(&format!("{slug}/Dockerfile"));
    ws.write(
        &format!("{slug}/Dockerfile"),
        dockerfile.replace("FROM busybox:1.37", "FROM busybox:latest"),
    );
    kz(&ws, &slug, &registry, &["build"]).code(0);
    kz(
        &ws,
        &slug,
        &registry,
        &["run", "--network", &network, "--timeout", "2"],
    )
    .code(1)
    .stderr_has("is not healthy")
    .stderr_has("answered 404, not 200");
}
