//! Synapse apps on the real engine: a scaffold, exactly as `kz new synapse` wrote it, is built
//! with `kz build` (the label holds the manifest's exact bytes, both tags are set), started with
//! `kz run` on a network of their own, reaches healthy, and `kz stop` removes it. Every test
//! uses its own registry name, slug and network, and removes what it made. Builds get the host
//! network (`KZ_BUILD_NETWORK=host`, as the test setup gives them) so that `pip install` and
//! `pnpm install` reach PyPI and npm; the nine frameworks are run by tests/integration/scaffolds.rs.

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
        .env("KZ_BUILD_NETWORK", "host")
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

/// `kz new synapse` → `kz validate --strict` → `kz build` → `kz run` (healthy) → `kz stop`,
/// on the files as generated. Prints how long the build and the stop took; returns the stop's
/// duration.
pub(crate) fn build_run_stop(framework: &str) -> std::time::Duration {
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
    kz(&ws, &slug, &registry, &["validate", "--strict"]).code(0);

    let started = std::time::Instant::now();
    kz(&ws, &slug, &registry, &["build"]).code(0);
    let built = started.elapsed();
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
        &["run", "--network", &network, "--timeout", "180"],
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
    kz(
        &ws,
        &slug,
        &registry,
        &["run", "--network", &network, "--timeout", "180"],
    )
    .code(0);
    let started = std::time::Instant::now();
    kz(&ws, &slug, &registry, &["stop"])
        .code(0)
        .stderr_has("Stopped");
    let stopped = started.elapsed();
    eprintln!(
        "scaffold synapse/{framework}: build {:.1} s, stop {:.1} s",
        built.as_secs_f64(),
        stopped.as_secs_f64()
    );
    assert!(
        engine.container(&format!("synapse-app-{slug}")).is_none(),
        "removed"
    );
    kz(&ws, ".", &registry, &["stop", &slug])
        .code(0)
        .stderr_has("is not running");
    stopped
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
