//! `kz test` on the real engine: real pytest in containers, dependencies reachable on the run's
//! network, a failing extension that does not stop `--all`, a runner the image lacks, Ctrl-C
//! during a run, and, after every run, nothing left that carries the session's label.
//! Every image these tests make has a name unique to the test and process, and is removed at the
//! end.

use crate::harness::{Run, Ws, KZ};
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveImageOptions,
};
use bollard::Docker;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn docker() -> Docker {
    let docker = Docker::connect_with_local_defaults().expect("docker client");
    block(docker.ping()).expect("these tests need the Docker engine (scripts/engine-setup.sh)");
    docker
}

/// A name unique to this test and process, usable as an image repository.
fn unique(test: &str) -> String {
    format!("kzt-{test}-{}", std::process::id())
}

/// Images `kz test` builds for a test (each under a name unique to the test), removed when the
/// test ends, even when it fails: the reference and the `latest` tag kz adds.
struct Images {
    docker: Docker,
    tags: Vec<String>,
}

impl Images {
    fn new() -> Images {
        Images {
            docker: docker(),
            tags: Vec::new(),
        }
    }

    fn track(&mut self, image: &str) {
        let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
        self.tags.push(image.to_owned());
        self.tags.push(format!("{repo}:latest"));
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        for tag in &self.tags {
            let opts = RemoveImageOptions {
                force: true,
                ..Default::default()
            };
            let _ = block(self.docker.remove_image(tag, Some(opts), None));
        }
    }
}

/// The session id kz announces on stderr (`Session <id> (network kz-test-<id>)`).
fn session_of(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("Session "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no session line in:\n{stderr}"))
        .to_owned()
}

/// Containers, networks and volumes that carry `dev.kz.session=<session>` (and the managed label).
fn leftovers(session: &str) -> Vec<String> {
    let docker = docker();
    let filter = HashMap::from([(
        "label".to_owned(),
        vec![
            "dev.kz.managed=true".to_owned(),
            format!("dev.kz.session={session}"),
        ],
    )]);
    block(async {
        let mut left = Vec::new();
        let containers = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await
            .expect("list containers");
        left.extend(
            containers
                .into_iter()
                .map(|c| format!("container {:?}", c.names)),
        );
        let networks = docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filter.clone()),
            }))
            .await
            .expect("list networks");
        left.extend(
            networks
                .into_iter()
                .map(|n| format!("network {:?}", n.name)),
        );
        let volumes = docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filter.clone()),
            }))
            .await
            .expect("list volumes");
        left.extend(
            volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| format!("volume {}", v.name)),
        );
        left
    })
}

/// Removes whatever carries a session's label when dropped: the SIGINT test's guard for its own
/// failure paths (a kz killed with SIGKILL cannot tear down).
struct SessionGuard(Option<String>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let Some(session) = &self.0 else { return };
        let docker = docker();
        let filter = HashMap::from([(
            "label".to_owned(),
            vec![format!("dev.kz.session={session}")],
        )]);
        block(async {
            let containers = docker
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(filter.clone()),
                    ..Default::default()
                }))
                .await
                .unwrap_or_default();
            for c in containers {
                let opts = bollard::query_parameters::RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                };
                let _ = docker
                    .remove_container(&c.id.unwrap_or_default(), Some(opts))
                    .await;
            }
            let networks = docker
                .list_networks(Some(ListNetworksOptions {
                    filters: Some(filter.clone()),
                }))
                .await
                .unwrap_or_default();
            for n in networks {
                let _ = docker.remove_network(&n.id.unwrap_or_default()).await;
            }
            let volumes = docker
                .list_volumes(Some(ListVolumesOptions {
                    filters: Some(filter.clone()),
                }))
                .await
                .map(|v| v.volumes.unwrap_or_default())
                .unwrap_or_default();
            for v in volumes {
                let _ = docker
                    .remove_volume(
                        &v.name,
                        None::<bollard::query_parameters::RemoveVolumeOptions>,
                    )
                    .await;
            }
        });
    }
}

#[track_caller]
fn assert_clean(run: &Run) -> String {
    let session = session_of(&run.stderr);
    let left = leftovers(&session);
    assert!(left.is_empty(), "left behind: {left:?}\n{}", run.stderr);
    session
}

/// The examples' tool-echo, renamed so its image is this test's own.
fn tool_echo(ws: &Ws, image: &str) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    ws.copy_extensions(&examples);
    let compose = ws
        .read("tools/tool-echo/docker-compose.yml")
        .replace("kamiwazaai/tool-echo:0.1.0", image);
    ws.write("tools/tool-echo/docker-compose.yml", compose);
}

#[test]
fn tool_echo_runs_its_pytest_suite_in_a_container() {
    let ws = Ws::new();
    let image = format!("{}:0.1.0", unique("echo"));
    tool_echo(&ws, &image);
    let mut images = Images::new();
    images.track(&image);
    let run = ws.kz(&["test", "tool-echo"]);
    run.code(0)
        .stderr_has(&format!("Built {image}"))
        .stderr_has(&format!("Testing tools/tool-echo pytest in {image}"))
        .stderr_has("2 passed")
        .stderr_has("Passed tools/tool-echo pytest");
    assert_clean(&run);
    // The image is up to date now: the second run tests it without building.
    let run = ws.kz(&["test", "tool-echo"]);
    run.code(0)
        .stderr_has(&format!("Fresh {image} (up to date)"))
        .stderr_has("2 passed");
    assert!(!run.stderr.contains("Building"), "{}", run.stderr);
    assert_clean(&run);
}

/// A tool whose only test fails, in the python image.
fn failing_tool(ws: &Ws, image: &str) {
    ws.write(
        "tools/tool-aaa-fails/docker-compose.yml",
        format!("services:\n  tool:\n    build: .\n    image: {image}\n"),
    )
    .write(
        "tools/tool-aaa-fails/Dockerfile",
        "FROM python:3.11-slim\nWORKDIR /srv\nCOPY tests ./tests\n",
    )
    .write(
        "tools/tool-aaa-fails/tests/test_math.py",
        "def test_arithmetic():\n    assert 1 + 1 == 3, 'KZ-EXPECTED-FAILURE'\n",
    );
}

#[test]
fn a_failing_extension_fails_all_but_every_other_extension_still_runs() {
    let ws = Ws::new();
    let echo = format!("{}:0.1.0", unique("all-echo"));
    let bad = format!("{}:1", unique("all-bad"));
    tool_echo(&ws, &echo);
    failing_tool(&ws, &bad);
    let mut images = Images::new();
    images.track(&echo);
    images.track(&bad);
    // The examples' app and service have images of their own; leave them out of this run.
    std::fs::remove_dir_all(ws.path("apps")).expect("rm apps");
    std::fs::remove_dir_all(ws.path("services")).expect("rm services");

    let run = ws.kz(&["test", "--all", "--json"]);
    run.code(1).stderr_has("KZ-EXPECTED-FAILURE");
    assert_clean(&run);
    let shaped: Vec<TestReport> = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("kz test --json: {e}\n{}", run.stdout));
    assert!(shaped
        .iter()
        .all(|r| !r.suites.is_empty() && r.duration_ms > 0));
    let reports: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let summary: Vec<(String, String)> = reports
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            (
                r["extension"].as_str().unwrap_or_default().to_owned(),
                r["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("tools/tool-aaa-fails".to_owned(), "failed".to_owned()),
            ("tools/tool-echo".to_owned(), "passed".to_owned()),
        ]
    );
    let failed = &reports[0]["suites"][0];
    assert_eq!(failed["result"], "failed");
    assert_eq!(failed["exit_code"], 1);
    assert_eq!(failed["framework"], "pytest");
    assert_eq!(reports[1]["suites"][0]["result"], "passed");

    // The table form says the same.
    let run = ws.kz(&["test", "--all"]);
    run.code(1);
    assert_clean(&run);
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["EXTENSION", "SUITES", "RESULT", "TIME"]);
    assert_eq!(rows[1][..3], ["tools/tool-aaa-fails", "pytest", "failed"]);
    assert_eq!(rows[2][..3], ["tools/tool-echo", "pytest", "passed"]);
    assert_eq!(rows.len(), 3, "{}", run.stdout);
}

/// An app whose backend tests call their `kv` dependency over the run's network. The backend
/// image leaves its tests out (kz uploads them); `kv` is busybox httpd with a healthcheck and a
/// named volume.
fn app_with_dependency(ws: &Ws, backend_image: &str, test_body: &str) {
    ws.write(
        "apps/notes/docker-compose.yml",
        format!(
            "services:\n  backend:\n    build: ./backend\n    image: {backend_image}\n    \
             environment:\n      - KV_URL=http://kv:8080\n      - LEVEL=${{LEVEL:-info}}\n    \
             depends_on:\n      kv:\n        condition: service_healthy\n  kv:\n    \
             image: busybox:latest\n    command: [\"sh\", \"-c\", \"mkdir -p /www && echo ok > \
             /www/health && exec httpd -f -p 8080 -h /www\"]\n    environment:\n      \
             KV_MODE: memory\n    volumes:\n      - kvdata:/data\n    healthcheck:\n      \
             test: [\"CMD\", \"wget\", \"-q\", \"-O-\", \"http://127.0.0.1:8080/health\"]\n      \
             interval: 1s\n      retries: 30\nvolumes:\n  kvdata:\n"
        ),
    )
    .write(
        "apps/notes/backend/Dockerfile",
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY app ./app\nUSER nobody\n",
    )
    .write("apps/notes/backend/.dockerignore", "tests\n")
    .write("apps/notes/backend/app/__init__.py", "")
    .write("apps/notes/backend/requirements-dev.txt", "pytest\n")
    .write("apps/notes/backend/tests/test_kv.py", test_body);
}

#[test]
fn dependencies_run_on_the_test_network_under_their_service_names() {
    let ws = Ws::new();
    let image = format!("{}:1", unique("dep-backend"));
    app_with_dependency(
        &ws,
        &image,
        "import os, urllib.request\n\n\
         def test_kv_is_reachable_by_name():\n    \
         url = os.environ['KV_URL'] + '/health'\n    \
         assert urllib.request.urlopen(url, timeout=5).read() == b'ok\\n'\n\n\
         def test_the_environment_is_clean():\n    \
         assert os.environ['LEVEL'] == 'info'\n    \
         assert 'KZ_HOST_ONLY' not in os.environ\n    \
         assert 'KV_MODE' not in os.environ\n",
    );
    let mut images = Images::new();
    images.track(&image);
    let out = Command::new(KZ)
        .args(["test", "notes"])
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .env("KZ_HOST_ONLY", "leaked")
        .env("LEVEL", "from-host")
        .output()
        .expect("run kz");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    run.code(0)
        .stderr_has("starting dependency `kv` (busybox:latest)")
        .stderr_has("dependency `kv` is healthy")
        .stderr_has("uploaded")
        .stderr_has("2 passed")
        .stderr_has("uploaded 5 files to /app");
    assert_clean(&run);
}

#[test]
fn python_does_not_hide_node_tests_and_a_missing_runner_is_a_clear_failure() {
    let ws = Ws::new();
    let image = format!("{}:1", unique("mixed"));
    ws.write(
        "apps/mixed/docker-compose.yml",
        format!("services:\n  web:\n    build: ./web\n    image: {image}\n"),
    )
    .write(
        "apps/mixed/web/Dockerfile",
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n",
    )
    .write("apps/mixed/web/requirements.txt", "fastapi\n")
    .write(
        "apps/mixed/web/tests/test_ok.py",
        "def test_ok():\n    pass\n",
    )
    .write(
        "apps/mixed/web/package.json",
        r#"{"scripts": {"test": "vitest run"}}"#,
    );
    let mut images = Images::new();
    images.track(&image);
    let run = ws.kz(&["test", "mixed", "--json"]);
    run.code(1)
        .stderr_has("Passed apps/mixed/web pytest")
        .stderr_has(&format!("image {image} has no `npm`"));
    assert_clean(&run);
    let reports: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let suites = reports[0]["suites"].as_array().expect("suites");
    let results: Vec<(&str, &str)> = suites
        .iter()
        .map(|s| {
            (
                s["framework"].as_str().unwrap_or_default(),
                s["result"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [("pytest", "passed"), ("npm test", "missing-runner")]
    );
    assert_eq!(suites[1]["tool"], "npm");
}

#[test]
fn sigint_during_a_run_tears_everything_down_and_exits_130() {
    let ws = Ws::new();
    let image = format!("{}:1", unique("sigint"));
    app_with_dependency(
        &ws,
        &image,
        "import time\n\ndef test_sleeps():\n    time.sleep(120)\n",
    );
    let mut images = Images::new();
    images.track(&image);
    let mut child = Command::new(KZ)
        .args(["test", "notes"])
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kz");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    // Wait until the test itself runs (its container, the dependency, network and volume exist).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut guard = SessionGuard(None);
    let mut session = None;
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("kz never started the sleeping test")
            });
        if let Some(rest) = line.strip_prefix("Session ") {
            session = rest.split_whitespace().next().map(str::to_owned);
            guard.0.clone_from(&session);
        }
        // pytest prints this line just before it runs the (sleeping) test.
        if line.contains("collected 1 item") {
            break;
        }
    }
    let session = session.expect("session line");
    let before = leftovers(&session);
    assert!(
        before.iter().filter(|l| l.starts_with("container")).count() == 2
            && before.iter().any(|l| l.starts_with("network"))
            && before.iter().any(|l| l.starts_with("volume")),
        "expected the run's containers, network and volume: {before:?}"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("kz did not stop after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = reader.join().expect("reader");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left = leftovers(&session);
    assert!(
        left.is_empty(),
        "left behind after SIGINT: {left:?}\n{stderr}"
    );
}

#[test]
fn a_dependency_that_exits_fails_the_suite_with_its_output() {
    let ws = Ws::new();
    let image = format!("{}:1", unique("dep-exits"));
    app_with_dependency(&ws, &image, "def test_never_runs():\n    assert False\n");
    let compose = ws.read("apps/notes/docker-compose.yml").replace(
        "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www",
        "echo KV-BROKEN >&2; exit 3",
    );
    ws.write("apps/notes/docker-compose.yml", compose);
    let mut images = Images::new();
    images.track(&image);
    let run = ws.kz(&["test", "notes"]);
    run.code(1)
        .stderr_has("FAILED apps/notes/backend pytest")
        .stderr_has("dependency `kv` exited with code 3")
        .stderr_has("KV-BROKEN");
    assert_clean(&run);
}

#[test]
fn an_unreachable_engine_is_exit_3_with_a_hint() {
    let ws = Ws::new();
    tool_echo(&ws, "kzt-unreachable:1");
    let out = Command::new(KZ)
        .args(["test", "tool-echo"])
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .env("DOCKER_HOST", "unix:///nonexistent/kz-test/docker.sock")
        .output()
        .expect("run kz");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Docker engine"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn a_tool_without_compose_is_tested_in_its_root_image() {
    let ws = Ws::new();
    let namespace = unique("plain");
    let mut images = Images::new();
    for tag in ["1.0.0", "1.0.0-dev"] {
        images.track(&format!("{namespace}/tool-plain:{tag}"));
    }
    ws.write("kz.yaml", format!("images:\n  namespace: {namespace}\n"))
        .write(
            "tools/tool-plain/kamiwaza.json",
            r#"{"name": "tool-plain", "version": "1.0.0"}"#,
        )
        .write(
            "tools/tool-plain/Dockerfile",
            "FROM python:3.11-slim\nWORKDIR /srv\nCOPY . .\n",
        )
        .write(
            "tools/tool-plain/tests/test_plain.py",
            "def test_plain():\n    assert True\n",
        );
    let run = ws.kz(&["test", "tool-plain", "--json"]);
    run.code(0);
    assert_clean(&run);
    let reports: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let suite = &reports[0]["suites"][0];
    assert_eq!(suite["result"], "passed", "{}", run.stderr);
    assert_eq!(suite["service"], "tool-plain");
    assert!(
        suite["image"]
            .as_str()
            .is_some_and(|i| i.starts_with(&format!("{namespace}/tool-plain:1.0.0"))),
        "{suite}"
    );
}

/// `kz test --json`, field for field; unknown fields are refused, so a change of shape is a
/// decision.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // every field is read by serde's shape check
struct TestReport {
    extension: String,
    result: String,
    duration_ms: u64,
    suites: Vec<SuiteReport>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SuiteReport {
    dir: String,
    framework: String,
    service: Option<String>,
    image: String,
    result: String,
    message: String,
    exit_code: Option<i64>,
    duration_ms: u64,
}
