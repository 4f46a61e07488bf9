//! The scaffold lane: every template `kz new` can generate, exactly as generated (no file is
//! touched between `kz new` and `kz build`), built on the real engine from the stand-in base
//! images scripts/engine-setup.sh makes. The extension kinds (app, service, tool) are then
//! tested with `kz test`; the nine Synapse frameworks are run to healthy with `kz run` and
//! stopped (tests/integration/synapse_engine.rs::build_run_stop). Builds get the host network
//! (`KZ_BUILD_NETWORK=host`) so their `pip install` / `pnpm install` reach PyPI and npm.
//!
//! Each test prints `scaffold <kind>/<name>: build N s ...`; `cargo test --features engine-tests
//! --test integration engine::scaffolds -- --nocapture` shows the per-template times (README,
//! "The scaffold lane").

use crate::engine::build::Engine;
use crate::engine::synapse_engine::build_run_stop;
use crate::harness::{Run, Ws, KZ};
use std::process::Command;
use std::time::{Duration, Instant};

/// kz in `ws` with the test setup's build network.
fn kz(ws: &Ws, args: &[&str]) -> Run {
    let out = Command::new(KZ)
        .args(args)
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .env("KZ_BUILD_NETWORK", "host")
        .env_remove("REGISTRY")
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

/// Removes the test's image namespace, whatever happened.
struct Namespace<'a>(&'a Engine, String);

impl Drop for Namespace<'_> {
    fn drop(&mut self) {
        self.0.remove_namespace(&self.1);
    }
}

/// `kz new <kind> <name>` → `kz build <name>` → `kz test <name>`, in a workspace whose kz.yaml
/// gives the images a namespace of the test's own.
fn extension(kind: &str, name: &str, suites: &[&str]) {
    let engine = Engine::connect();
    let ns = format!("kzt-scaffold-{name}-{}", std::process::id());
    let _cleanup = Namespace(&engine, ns.clone());
    let ws = Ws::new();
    ws.write("kz.yaml", format!("images:\n  namespace: {ns}\n"));
    kz(&ws, &["new", kind, name]).code(0);
    kz(&ws, &["validate", name]).code(0);
    let started = Instant::now();
    let build = kz(&ws, &["build", name]);
    let built = started.elapsed();
    build.code(0).stderr_has("0 failed");
    let started = Instant::now();
    let test = kz(&ws, &["test", name]);
    let tested = started.elapsed();
    test.code(0);
    for suite in suites {
        test.stderr_has(&format!("Passed {suite} pytest"));
    }
    eprintln!(
        "scaffold {kind}/{name}: build {:.1} s, test {:.1} s",
        built.as_secs_f64(),
        tested.as_secs_f64()
    );
}

#[test]
fn scaffold_app_builds_and_its_tests_pass() {
    extension("app", "kzt-notes", &["apps/kzt-notes/backend"]);
}

#[test]
fn scaffold_service_builds_and_its_tests_pass() {
    extension("service", "service-kzt", &["services/service-kzt/backend"]);
}

#[test]
fn scaffold_tool_builds_and_its_tests_pass() {
    extension("tool", "tool-kzt", &["tools/tool-kzt"]);
}

#[test]
fn scaffold_synapse_static_runs_healthy_and_stops_at_once() {
    let stopped = build_run_stop("static");
    // busybox httpd as PID 1 ignored SIGTERM: kz stop waited the whole 10 s grace period.
    assert!(
        stopped <= Duration::from_secs(1),
        "kz stop of the static app took {stopped:?}"
    );
}

#[test]
fn scaffold_synapse_fastapi_runs_healthy() {
    build_run_stop("fastapi");
}

#[test]
fn scaffold_synapse_django_runs_healthy() {
    build_run_stop("django");
}

#[test]
fn scaffold_synapse_gradio_runs_healthy() {
    build_run_stop("gradio");
}

#[test]
fn scaffold_synapse_streamlit_runs_healthy() {
    build_run_stop("streamlit");
}

#[test]
fn scaffold_synapse_react_runs_healthy() {
    build_run_stop("react");
}

#[test]
fn scaffold_synapse_vue_runs_healthy() {
    build_run_stop("vue");
}

#[test]
fn scaffold_synapse_next_runs_healthy() {
    build_run_stop("next");
}

#[test]
fn scaffold_synapse_nuxt_runs_healthy() {
    build_run_stop("nuxt");
}
