//! `kz test`'s health check on the real engine (issue 22): the app is started as App Garden would
//! start it and `GET /health` is probed from kz. A healthy app passes; one answering 500, one
//! answering text, one answering after 2 s and one that never listens each fail with a clear
//! line. After each run nothing of either session is left. The examples' app passes too.

use super::exttest::{assert_clean, leftovers, unique, Images};
use crate::harness::{Run, Ws};
use std::path::Path;

/// A one-service app whose server answers `/health` as `MODE` says (healthy, error, text, slow)
/// or never listens (`never`). Its /health body echoes what the platform handed it.
const SERVER: &str = r#"import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ["MODE"]
print("server mode", MODE, "KZ-APP-LOG", flush=True)
if MODE == "never":
    time.sleep(3600)

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if MODE == "slow":
            time.sleep(2)
        if MODE == "text":
            body, code, kind = b"OK", 200, "text/plain"
        else:
            doc = {"status": "healthy" if MODE != "error" else "broken",
                   "public": os.environ.get("PUBLIC_URL"),
                   "port": os.environ.get("KAMIWAZA_APP_PORT"),
                   "deployment": os.environ.get("KAMIWAZA_DEPLOYMENT_ID", "")[:3]}
            body, code, kind = json.dumps(doc).encode(), 500 if MODE == "error" else 200, "application/json"
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"#;

fn app(ws: &Ws, image: &str, mode: &str) {
    ws.write(
        "apps/probe/kamiwaza.json",
        r#"{"name": "probe", "version": "1.0.0", "env_defaults": {"PUBLIC_URL": "http://localhost:{app_port}/x"}}"#,
    )
    .write(
        "apps/probe/docker-compose.yml",
        format!(
            "services:\n  web:\n    build: ./web\n    image: {image}\n    ports:\n      - \"8080\"\n    \
             environment:\n      - MODE={mode}\n"
        ),
    )
    .write(
        "apps/probe/web/Dockerfile",
        "FROM python:3.11-slim\nCOPY server.py /server.py\nUSER nobody\nCMD [\"python3\", \"-u\", \"/server.py\"]\n",
    )
    .write("apps/probe/web/server.py", SERVER);
}

/// Every session the run announced (the suites' and the App Garden one), checked empty.
fn assert_all_clean(run: &Run) {
    assert_clean(run);
    for line in run.stderr.lines() {
        if let Some(rest) = line.split("App Garden session ").nth(1) {
            let id = rest
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default();
            let left = leftovers(id);
            assert!(left.is_empty(), "left behind: {left:?}\n{}", run.stderr);
        }
    }
}

fn probe(mode: &str, extra: &[&str]) -> Run {
    let ws = Ws::new();
    let image = format!("{}:1", unique(&format!("health-{mode}")));
    app(&ws, &image, mode);
    let mut images = Images::new();
    images.track(&image);
    let mut args = vec!["test", "probe"];
    args.extend_from_slice(extra);
    let run = ws.kz(&args);
    assert!(
        run.stderr.contains("App Garden session "),
        "no App Garden session line:\n{}",
        run.stderr
    );
    assert_all_clean(&run);
    run
}

#[test]
fn a_healthy_app_passes_with_the_platform_environment() {
    let run = probe("healthy", &["--json"]);
    run.code(0)
        .stderr_has("Healthy apps/probe: GET /health answered 200");
    // {app_port} in env_defaults became the published port, and KAMIWAZA_APP_PORT is it too.
    let port = run
        .stderr
        .split("on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("no published port:\n{}", run.stderr))
        .to_owned();
    run.stderr_has(&format!("\"public\": \"http://localhost:{port}/x\""))
        .stderr_has(&format!("\"port\": \"{port}\""))
        .stderr_has("\"deployment\": \"kz-\"");
    let reports: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let suites = reports[0]["suites"].as_array().expect("suites");
    assert_eq!(suites.len(), 1, "{}", run.stdout);
    assert_eq!(suites[0]["framework"], "health");
    assert_eq!(suites[0]["result"], "passed");
    assert_eq!(reports[0]["result"], "passed");
}

#[test]
fn an_app_answering_500_fails_with_the_response() {
    probe("error", &["--health-timeout", "3"])
        .code(1)
        .stderr_has("FAILED apps/probe health: GET /health answered HTTP 500, not 200")
        .stderr_has("the response:")
        .stderr_has("\"status\": \"broken\"");
}

#[test]
fn an_app_answering_text_fails() {
    probe("text", &["--health-timeout", "3"])
        .code(1)
        .stderr_has("GET /health answered 200 but the body is not JSON: OK");
}

#[test]
fn an_app_answering_after_two_seconds_fails() {
    probe("slow", &["--health-timeout", "3"])
        .code(1)
        .stderr_has("FAILED apps/probe health: GET /health did not answer within 1 s");
}

#[test]
fn an_app_that_never_listens_fails_with_its_log() {
    probe("never", &["--health-timeout", "2"])
        .code(1)
        .stderr_has("FAILED apps/probe health: nothing answered GET /health on 127.0.0.1:")
        .stderr_has("within 2 s")
        .stderr_has("the container's last log lines:")
        .stderr_has("KZ-APP-LOG");
}

#[test]
fn no_health_skips_the_probe_and_says_so() {
    let ws = Ws::new();
    let image = format!("{}:1", unique("health-skip"));
    app(&ws, &image, "never");
    let images = Images::new();
    let run = ws.kz(&["test", "probe", "--no-health"]);
    drop(images);
    run.code(0)
        .stderr_has("Health check skipped (--no-health): 1 app not probed");
    assert!(!run.stderr.contains("App Garden session"), "{}", run.stderr);
}

/// The examples' app (what `kz new app` writes): the frontend answers /health through to the
/// backend, as App Garden would run it.
#[test]
fn the_example_app_is_healthy() {
    let ws = Ws::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    ws.copy_extensions(&examples);
    let ns = unique("health-example");
    ws.write("kz.yaml", format!("images:\n  namespace: {ns}\n"));
    let mut images = Images::new();
    for service in ["frontend", "backend"] {
        images.track(&format!("{ns}/team-notes-{service}:0.1.0-dev"));
    }
    let run = ws.kz(&["test", "team-notes"]);
    run.code(0)
        .stderr_has("Passed apps/team-notes/backend pytest")
        .stderr_has("Healthy apps/team-notes: GET /health answered 200")
        .stderr_has("\"backend\": \"ok\"")
        .stderr_has("(service `frontend`)");
    assert_all_clean(&run);
}
