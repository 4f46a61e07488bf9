//! Synapse apps against a real registry (Debian's docker-registry on a free loopback port, with
//! its access log kept): build → publish → `kz inspect --remote` gives back the manifest's
//! exact bytes → `kz index` lists the app; an image without the label, one whose label is no
//! manifest and one whose manifest is invalid are reported, not fatal; a second `kz index`
//! fetches no config blob again (counted in the registry's access log).

use crate::engine::build::Engine;
use crate::engine::regserver::{free_port, REGISTRY_BIN};
use crate::harness::{Run, Ws, KZ};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// docker-registry with its access log written to `log`.
pub(crate) struct LoggedRegistry {
    port: u16,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoggedRegistry {
    pub(crate) fn start() -> LoggedRegistry {
        assert!(
            Path::new(REGISTRY_BIN).is_file(),
            "{REGISTRY_BIN} is missing"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("access.log");
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n\
                     http:\n  addr: 127.0.0.1:{port}\n",
                    dir.path().join("storage").display()
                ),
            )
            .expect("config");
            let out = std::fs::File::create(&log).expect("log");
            let mut child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::from(out.try_clone().expect("log")))
                .stderr(Stdio::from(out))
                .spawn()
                .expect("start docker-registry");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return LoggedRegistry {
                        port,
                        child,
                        log,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start");
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the registry keeps blob `digest` (`sha256:…`) on disk.
    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self._dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The access log's requests that write (PUT, POST, PATCH, DELETE) so far.
    pub(crate) fn writes(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| {
                ["\"PUT /", "\"POST /", "\"PATCH /", "\"DELETE /"]
                    .iter()
                    .any(|m| l.contains(m))
            })
            .map(str::to_owned)
            .collect()
    }

    /// Every request line of the access log so far.
    pub(crate) fn requests(&self) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines().filter(|l| l.contains(" /v2/")).count()
    }

    /// GET requests for the blob `digest` so far.
    fn blob_gets(&self, digest: &str) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let needle = format!("/blobs/{digest} ");
        log.lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains(&needle))
            .count()
    }
}

impl Drop for LoggedRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kz(ws: &Ws, dir: &str, registry: &str, args: &[&str]) -> Run {
    let out = Command::new(KZ)
        .args(args)
        .current_dir(ws.path(dir))
        .env("KZ_COLOR", "never")
        .env("REGISTRY", registry)
        .env("DOCKER_CONFIG", ws.path("docker-config"))
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

/// Build `FROM scratch` with `label` (if any) on the engine and push it to `repo:tag`.
fn push_other(host: &str, repo: &str, tag: &str, label: Option<&str>) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use futures_util::StreamExt as _;
        let engine = kz::docker::Engine::connect(&kz::docker::EngineConfig {
            host: kz::docker::DEFAULT_HOST.to_owned(),
        })
        .await
        .expect("engine");
        let local = format!("{host}/{repo}:{tag}");
        let mut dockerfile = "FROM scratch\nCOPY a.txt /a.txt\n".to_owned();
        if let Some(value) = label {
            dockerfile.push_str(&format!("LABEL io.synapse.app.manifest=\"{value}\"\n"));
        }
        let mut tar = tar::Builder::new(Vec::new());
        for (name, body) in [("Dockerfile", dockerfile.as_str()), ("a.txt", repo)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, body.as_bytes()).expect("tar");
        }
        let options = bollard::query_parameters::BuildImageOptions {
            t: Some(local.clone()),
            rm: true,
            ..Default::default()
        };
        let body = bytes::Bytes::from(tar.into_inner().expect("tar"));
        let mut stream = engine
            .docker()
            .build_image(options, None, Some(bollard::body_full(body)));
        while let Some(item) = stream.next().await {
            assert!(item.expect("build").error_detail.is_none());
        }
        let registry = kz::oci::Registry::new(
            host,
            &kz::oci::auth::Credential::Anonymous,
            &kz::oci::RegistryOptions::default(),
        )
        .expect("registry");
        kz::oci::push::push_engine_image(
            &engine,
            &local,
            &registry,
            repo,
            Some(tag),
            &kz::oci::layers::LayerCache::default(),
        )
        .await
        .expect("push");
        local
    })
}

#[test]
fn build_publish_inspect_index_round_trip() {
    let engine = Engine::connect();
    let reg = LoggedRegistry::start();
    let host = reg.host();
    let slug = format!("kzt-rt-{}", std::process::id());
    let ws = Ws::new();
    struct Clean<'a>(&'a Engine, String);
    impl Drop for Clean<'_> {
        fn drop(&mut self) {
            self.0.remove_namespace(&format!("{}/synapse_apps", self.1));
            self.0.remove_namespace(&format!("{}/elsewhere", self.1));
        }
    }
    let _clean = Clean(&engine, host.clone());

    kz(
        &ws,
        ".",
        &host,
        &["new", "synapse", &slug, "--framework", "static"],
    )
    .code(0);
    // Built exactly as `kz new` wrote it (busybox:1.37 is a stand-in of the test setup).
    let manifest = std::fs::read(ws.path(&format!("{slug}/synapse-app.yaml"))).expect("read");
    assert!(String::from_utf8_lossy(&manifest)
        .contains(&format!("image: {host}/synapse_apps/{slug}:0.1.0")));
    kz(&ws, &slug, &host, &["build"]).code(0);
    let published = kz(&ws, &slug, &host, &["publish"]);
    published.code(0).stdout_has(&format!(
        "published {host}/synapse_apps/{slug}:{{0.1.0,latest}}"
    ));

    // The label, read straight from the registry, is the file, byte for byte (both tags).
    for tag in ["0.1.0", "latest"] {
        let remote = kz(
            &ws,
            ".",
            &host,
            &[
                "inspect",
                "--remote",
                &format!("{host}/synapse_apps/{slug}:{tag}"),
            ],
        );
        remote.code(0);
        assert_eq!(remote.stdout.as_bytes(), manifest.as_slice(), "{tag}");
    }
    let local = kz(
        &ws,
        ".",
        &host,
        &["inspect", &format!("{host}/synapse_apps/{slug}:0.1.0")],
    );
    local.code(0);
    assert_eq!(local.stdout.as_bytes(), manifest.as_slice());
    let json = kz(
        &ws,
        ".",
        &host,
        &[
            "inspect",
            "--remote",
            "--json",
            &format!("{host}/synapse_apps/{slug}:0.1.0"),
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&json.code(0).stdout).expect("json");
    assert_eq!(doc["slug"], slug.as_str());
    // The manifest is decoded already: no bare "encoding" beside it, only how the label held it.
    assert!(doc.get("encoding").is_none(), "{doc}");
    assert_eq!(doc["label_encoding"], "base64");
    assert_eq!(doc["platform"], "linux/amd64");

    // Three images that are not apps, in the namespace the App Store scans.
    push_other(&host, "synapse_apps/no-label", "1.0.0", None);
    push_other(
        &host,
        "synapse_apps/broken-label",
        "1.0.0",
        Some("bm90IGEgbWFuaWZlc3Q="),
    );
    push_other(
        &host,
        "synapse_apps/bad-manifest",
        "1.0.0",
        Some("{apiVersion: v0}"),
    );
    push_other(&host, "elsewhere/ignored", "1.0.0", None);
    kz(
        &ws,
        ".",
        &host,
        &[
            "inspect",
            "--remote",
            &format!("{host}/synapse_apps/no-label:1.0.0"),
        ],
    )
    .code(2)
    .stderr_has("no io.synapse.app.manifest label");

    let cache = ws.path("cache");
    let out = ws.path("index.json");
    let args = [
        "index",
        &host,
        "--out",
        out.to_str().expect("utf-8"),
        "--cache",
        cache.to_str().expect("utf-8"),
    ];
    let first = kz(&ws, ".", &host, &args);
    first
        .code(0)
        .stderr_has("synapse_apps/no-label:1.0.0: no io.synapse.app.manifest label")
        .stderr_has(
            "synapse_apps/broken-label:1.0.0: the io.synapse.app.manifest label holds no manifest",
        )
        .stderr_has("synapse_apps/bad-manifest:1.0.0: the manifest has errors")
        .stderr_has("1 app (2 tags), 3 images left out, in 5 images of 4 repositories");
    let index: serde_json::Value = serde_json::from_str(&ws.read("index.json")).expect("json");
    let apps = index["apps"].as_array().expect("apps");
    let tags: Vec<&str> = apps
        .iter()
        .map(|a| a["tag"].as_str().expect("tag"))
        .collect();
    assert_eq!(tags, ["0.1.0", "latest"]);
    for app in apps {
        assert_eq!(app["slug"], slug.as_str());
        assert_eq!(app["version"], "0.1.0");
        assert_eq!(
            app["manifest"].as_str().map(str::as_bytes),
            Some(manifest.as_slice())
        );
        assert!(app["digest"]
            .as_str()
            .expect("digest")
            .starts_with("sha256:"));
        assert!(app["findings"].as_array().expect("findings").is_empty());
        assert!(app.get("encoding").is_none(), "{app}");
        assert_eq!(app["label_encoding"], "base64");
    }
    assert_eq!(apps[0]["digest"], apps[1]["digest"], "one image, two tags");
    let rejected: Vec<&str> = index["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| r["repository"].as_str().expect("repo"))
        .collect();
    assert_eq!(
        rejected,
        [
            "synapse_apps/bad-manifest",
            "synapse_apps/broken-label",
            "synapse_apps/no-label"
        ]
    );

    // Cached by digest: the second run reads every config blob from the cache.
    let configs: Vec<String> = apps
        .iter()
        .chain(index["rejected"].as_array().expect("rejected"))
        .map(|a| a["config_digest"].as_str().expect("config").to_owned())
        .collect();
    let before: Vec<usize> = configs.iter().map(|d| reg.blob_gets(d)).collect();
    assert!(
        before.iter().all(|n| *n >= 1),
        "the access log shows the first fetches: {before:?}"
    );
    let first_index = ws.read("index.json");
    let second = kz(&ws, ".", &host, &args);
    second
        .code(0)
        .stderr_has("(0 config blobs fetched, 5 from the cache)");
    let after: Vec<usize> = configs.iter().map(|d| reg.blob_gets(d)).collect();
    assert_eq!(before, after, "no config blob was fetched twice");
    assert_eq!(
        ws.read("index.json"),
        first_index,
        "a warm run writes the same index"
    );

    // Named repositories instead of the catalogue.
    let named = kz(
        &ws,
        ".",
        &host,
        &[
            "index",
            &host,
            "--no-cache",
            "--repo",
            &format!("synapse_apps/{slug}"),
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&named.code(0).stdout).expect("json");
    assert_eq!(doc["apps"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["rejected"].as_array().map(Vec::len), Some(0));

    // A config blob gone from the registry: that image is reported as unreadable, the rest of
    // the index is still written.
    let no_label = index["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .find(|r| r["repository"] == "synapse_apps/no-label")
        .and_then(|r| r["config_digest"].as_str())
        .expect("no-label config")
        .to_owned();
    std::fs::remove_file(reg.blob_path(&no_label)).expect("remove the blob");
    let gone = kz(&ws, ".", &host, &["index", &host, "--no-cache"]);
    let doc: serde_json::Value = serde_json::from_str(&gone.code(0).stdout).expect("json");
    assert_eq!(doc["apps"].as_array().map(Vec::len), Some(2), "{doc}");
    let problem = doc["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .find(|r| r["repository"] == "synapse_apps/no-label")
        .and_then(|r| r["problem"].as_str())
        .expect("no-label still reported")
        .to_owned();
    assert!(problem.starts_with("unreadable: "), "{problem}");
}
