//! `kz build` on the real engine: every image of examples/ built with its tags and content-hash
//! label, a second run skipping them all, one changed file rebuilding one image, ignored files
//! not counting, and the faults (a failing RUN, symlinks out of the context, a context out of the
//! repository, no engine). Every test uses its own image namespace and removes its images.

use crate::harness::{Run, Ws, KZ};
use bollard::query_parameters::{ListImagesOptions, RemoveImageOptions};
use bollard::Docker;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// A runtime and a client for the test's own checks. Panics (loudly) when no engine answers:
/// these tests need one, and scripts/engine-setup.sh provides it.
pub(crate) struct Engine {
    rt: tokio::runtime::Runtime,
    docker: Docker,
}

impl Engine {
    pub(crate) fn connect() -> Engine {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let docker = Docker::connect_with_local_defaults().expect("docker client");
        rt.block_on(docker.ping()).unwrap_or_else(|e| {
            panic!("no Docker engine answers ({e}); run scripts/engine-setup.sh (test.sh does)")
        });
        Engine { rt, docker }
    }

    /// The labels of a local image, or None when there is no such image.
    pub(crate) fn labels(&self, image: &str) -> Option<HashMap<String, String>> {
        let inspect = self.rt.block_on(self.docker.inspect_image(image)).ok()?;
        Some(inspect.config.and_then(|c| c.labels).unwrap_or_default())
    }

    /// A container's inspect result, or None when there is no such container.
    pub(crate) fn container(
        &self,
        name: &str,
    ) -> Option<bollard::models::ContainerInspectResponse> {
        self.rt
            .block_on(self.docker.inspect_container(
                name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            ))
            .ok()
    }

    /// Remove a network the test made (missing is fine).
    pub(crate) fn remove_network(&self, name: &str) {
        let _ = self.rt.block_on(self.docker.remove_network(name));
    }

    pub(crate) fn id(&self, image: &str) -> Option<String> {
        self.rt.block_on(self.docker.inspect_image(image)).ok()?.id
    }

    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Remove every image whose repository starts with `prefix/`.
    pub(crate) fn remove_namespace(&self, prefix: &str) {
        let filters = HashMap::from([("reference".to_owned(), vec![format!("{prefix}/*")])]);
        let opts = ListImagesOptions {
            filters: Some(filters),
            ..ListImagesOptions::default()
        };
        let Ok(images) = self.rt.block_on(self.docker.list_images(Some(opts))) else {
            return;
        };
        for image in images {
            for tag in &image.repo_tags {
                let _ = self.rt.block_on(self.docker.remove_image(
                    tag,
                    Some(RemoveImageOptions {
                        force: true,
                        ..RemoveImageOptions::default()
                    }),
                    None,
                ));
            }
        }
    }
}

/// A workspace whose images live in a namespace of their own, removed when it is dropped.
pub(crate) struct BuildWs {
    pub(crate) ws: Ws,
    pub(crate) ns: String,
    pub(crate) engine: Engine,
}

impl BuildWs {
    /// A copy of examples/ with images in `kztest-<pid>-<test>`.
    pub(crate) fn examples(test: &str) -> BuildWs {
        let ws = Ws::new();
        ws.copy_extensions(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"));
        let b = BuildWs::empty_in(ws, test);
        // The tool names its image in its compose file: move it to the test namespace too.
        let compose = "tools/tool-echo/docker-compose.yml";
        let text =
            b.ws.read(compose)
                .replace("kamiwazaai/", &format!("{}/", b.ns));
        b.ws.write(compose, text);
        b
    }

    pub(crate) fn empty(test: &str) -> BuildWs {
        BuildWs::empty_in(Ws::new(), test)
    }

    fn empty_in(ws: Ws, test: &str) -> BuildWs {
        let ns = format!("kztest-{}-{test}", std::process::id());
        ws.write("kz.yaml", format!("images:\n  namespace: {ns}\n"));
        BuildWs {
            ws,
            ns,
            engine: Engine::connect(),
        }
    }

    pub(crate) fn kz(&self, args: &[&str]) -> Run {
        self.ws.kz(args)
    }

    pub(crate) fn image(&self, name: &str, tag: &str) -> String {
        format!("{}/{name}:{tag}", self.ns)
    }

    /// A tool with one compose service built from `Dockerfile` (plus the files given).
    pub(crate) fn tool(&self, name: &str, dockerfile: &str) {
        self.ws
            .write(
                &format!("tools/{name}/kamiwaza.json"),
                format!("{{\"name\": \"{name}\", \"version\": \"1.0.0\"}}\n"),
            )
            .write(
                &format!("tools/{name}/docker-compose.yml"),
                "services:\n  app:\n    build: .\n",
            )
            .write(&format!("tools/{name}/Dockerfile"), dockerfile);
    }
}

impl Drop for BuildWs {
    fn drop(&mut self) {
        self.engine.remove_namespace(&self.ns);
    }
}

/// One row of `kz build --json`; unknown fields are refused, so a change of shape is a decision.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // every field is read by serde's shape check
struct BuildRow {
    extension: String,
    service: Option<String>,
    image: String,
    tags: Vec<String>,
    status: String,
    image_id: Option<String>,
    seconds: f64,
    error: Option<String>,
}

fn statuses(run: &Run) -> Vec<(String, String)> {
    let rows: Vec<BuildRow> =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    rows.into_iter().map(|r| (r.image, r.status)).collect()
}

#[test]
fn build_all_skips_when_unchanged_and_rebuilds_only_what_changed() {
    let b = BuildWs::examples("all");
    // An ignored file in a context: changing it must not rebuild.
    b.ws.write("apps/team-notes/backend/.dockerignore", "notes/\n*.tmp\n")
        .write("apps/team-notes/backend/notes/todo.md", "one\n")
        .write("apps/team-notes/backend/scratch.tmp", "one\n");
    let images = [
        "team-notes-frontend",
        "team-notes-backend",
        "service-kv-backend",
        "tool-echo",
    ];
    let first = b.kz(&["build", "--all", "--json"]);
    first.code(0);
    let want: Vec<(String, String)> = images
        .iter()
        .map(|i| (b.image(i, "0.1.0-dev"), "built".to_owned()))
        .collect();
    assert_eq!(statuses(&first), want);
    for name in images {
        let labels = b
            .engine
            .labels(&b.image(name, "0.1.0-dev"))
            .unwrap_or_else(|| panic!("{name} was not built"));
        assert!(
            labels
                .get("dev.kz.content-hash")
                .is_some_and(|h| h.starts_with("sha256:")),
            "{labels:?}"
        );
        assert_eq!(
            labels.get("dev.kz.managed").map(String::as_str),
            Some("true")
        );
        assert_eq!(
            b.engine.id(&b.image(name, "latest")),
            b.engine.id(&b.image(name, "0.1.0-dev")),
            "{name}: latest points at the same image"
        );
    }

    let second = b.kz(&["build", "--all", "--json"]);
    second.code(0);
    assert!(
        statuses(&second).iter().all(|(_, s)| s == "skipped"),
        "{}",
        second.stdout
    );

    b.ws.write("apps/team-notes/backend/notes/todo.md", "two\n")
        .write("apps/team-notes/backend/scratch.tmp", "two\n");
    let ignored = b.kz(&["build", "--all", "--json"]);
    assert!(
        statuses(&ignored).iter().all(|(_, s)| s == "skipped"),
        "ignored files rebuilt something: {}",
        ignored.stdout
    );

    let before = b.engine.id(&b.image("team-notes-backend", "0.1.0-dev"));
    let main = "apps/team-notes/backend/app/main.py";
    b.ws.write(main, format!("{}\n# changed\n", b.ws.read(main)));
    let third = b.kz(&["build", "--all", "--json"]);
    third.code(0);
    let rebuilt: Vec<String> = statuses(&third)
        .into_iter()
        .filter(|(_, s)| s == "built")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(rebuilt, [b.image("team-notes-backend", "0.1.0-dev")]);
    assert_ne!(
        before,
        b.engine.id(&b.image("team-notes-backend", "0.1.0-dev"))
    );
}

#[test]
fn names_and_the_current_extension_choose_what_is_built() {
    let b = BuildWs::empty("select");
    b.tool("tool-a", "FROM busybox\nCOPY Dockerfile /a\n");
    b.tool("tool-b", "FROM busybox\nCOPY Dockerfile /b\n");
    b.kz(&["build", "tool-a"])
        .code(0)
        .stdout_has("tool-a-app:1.0.0-dev");
    assert!(b
        .engine
        .labels(&b.image("tool-b-app", "1.0.0-dev"))
        .is_none());
    let inside = b.ws.kz_in("tools/tool-b", &["build", "-q"]);
    inside.code(0).stdout_has("tool-b-app:1.0.0-dev");
    assert!(!inside.stdout.contains("tool-a"), "{}", inside.stdout);
    b.kz(&["build", "tool-b", "--stage", "prod"])
        .code(0)
        .stdout_has("tool-b-app:1.0.0 ");
    b.kz(&["build", "nope"])
        .code(2)
        .stderr_has("no extension named `nope`");
}

#[test]
fn a_failing_step_exits_1_with_its_log() {
    let b = BuildWs::empty("fail");
    b.tool(
        "tool-bad",
        "FROM busybox\nRUN echo first-step-ok\nRUN echo about-to-fail && false\n",
    );
    b.tool("tool-good", "FROM busybox\nCOPY Dockerfile /x\n");
    let run = b.kz(&["build", "--all", "-j", "2"]);
    run.code(1)
        .stderr_has("building `")
        .stderr_has("RUN echo about-to-fail && false")
        .stderr_has("| about-to-fail")
        .stderr_has("returned a non-zero code")
        .stdout_has("failed")
        .stdout_has("built");
    assert!(
        !run.stderr.contains("| first-step-ok"),
        "only the failing step's log: {}",
        run.stderr
    );
    assert!(b
        .engine
        .labels(&b.image("tool-good-app", "1.0.0-dev"))
        .is_some());
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_context_are_refused() {
    let b = BuildWs::empty("links");
    b.tool("tool-etc", "FROM busybox\nCOPY . /x\n");
    std::os::unix::fs::symlink("/etc", b.ws.path("tools/tool-etc/etc-link")).expect("link");
    b.tool("tool-up", "FROM busybox\nCOPY . /x\n");
    std::os::unix::fs::symlink("../..", b.ws.path("tools/tool-up/up-link")).expect("link");
    for (name, link, target) in [
        ("tool-etc", "etc-link", "/etc"),
        ("tool-up", "up-link", "../.."),
    ] {
        b.kz(&["build", name])
            .code(2)
            .stderr_has(&format!("{link}`"))
            .stderr_has(&format!("a symbolic link to `{target}`"))
            .stderr_has("outside the build context");
        assert!(b
            .engine
            .labels(&b.image(&format!("{name}-app"), "1.0.0-dev"))
            .is_none());
    }
}

#[test]
fn a_context_outside_the_repository_is_refused_with_its_line() {
    let b = BuildWs::empty("outside");
    b.tool("tool-out", "FROM busybox\n");
    b.ws.write(
        "tools/tool-out/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: ../../..\n",
    );
    b.kz(&["build", "tool-out"])
        .code(2)
        .stderr_has("docker-compose.yml`: line 4: service `app`: build context `../../..` leaves the repository");
}

#[test]
fn no_engine_is_one_clear_error() {
    let ws = Ws::new();
    ws.write("kz.yaml", "images:\n  namespace: kztest-noengine\n")
        .write(
            "tools/t/kamiwaza.json",
            "{\"name\": \"t\", \"version\": \"1.0.0\"}\n",
        )
        .write(
            "tools/t/docker-compose.yml",
            "services:\n  app:\n    build: .\n",
        )
        .write("tools/t/Dockerfile", "FROM busybox\n");
    let out = Command::new(KZ)
        .args(["build", "--all"])
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .output()
        .expect("run kz");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot reach the Docker engine at unix:///nonexistent.sock\n"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: start the engine"), "{stderr}");
}
