//! `kz publish --images-only` end to end: the real binary, the real engine and a real
//! docker-registry on loopback (plain HTTP, as the engine treats 127.0.0.0/8). The registry is
//! named by the workspace's `images.namespace` (`127.0.0.1:<port>/<ns>`).

use crate::engine::regserver::{FlakyProxy, RegistryServer, TokenServer};
use crate::harness::{Run, Ws, KZ};
use std::path::Path;
use std::process::Command;

const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Run kz in `ws` with extra environment (DOCKER_CONFIG always points at `docker_config`, so the
/// machine's own credentials are never read).
fn kz(ws: &Ws, docker_config: &Path, env: &[(&str, String)], args: &[&str]) -> Run {
    let mut cmd = Command::new(KZ);
    cmd.args(args)
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .env_remove("CLICOLOR_FORCE")
        .env("DOCKER_CONFIG", docker_config);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A namespace unique to this test run.
fn namespace(host: &str, test: &str) -> String {
    format!("{host}/kz-{test}-{}", std::process::id())
}

/// A workspace with one tool: FROM scratch + a file (no RUN, so any platform builds here).
fn scratch_tool(ns: &str, version: &str, content: &str) -> Ws {
    let ws = Ws::new();
    ws.write("kz.yaml", format!("images:\n  namespace: {ns}\n"))
        .write(
            "tools/tool-hello/kamiwaza.json",
            format!(
                "{{\n  \"name\": \"tool-hello\",\n  \"version\": \"{version}\",\n  \
                 \"description\": \"hello\"\n}}\n"
            ),
        )
        .write(
            "tools/tool-hello/Dockerfile",
            "FROM scratch\nCOPY hello.txt /hello.txt\n",
        )
        .write("tools/tool-hello/hello.txt", content);
    ws
}

fn platforms_of(reg: &RegistryServer, repo: &str, tag: &str) -> Vec<String> {
    let index = reg.json(&format!("/v2/{repo}/manifests/{tag}"), ACCEPT_ALL);
    assert_eq!(index["mediaType"], INDEX, "{index}");
    let mut out: Vec<String> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            // The config of each platform's image says the same architecture as the index.
            let d = m["digest"].as_str().expect("digest");
            let image = reg.json(&format!("/v2/{repo}/manifests/{d}"), ACCEPT_ALL);
            let c = image["config"]["digest"].as_str().expect("config");
            let config = reg.json(&format!("/v2/{repo}/blobs/{c}"), "*/*");
            assert_eq!(config["architecture"], m["platform"]["architecture"]);
            assert!(
                config["config"]["Labels"]["dev.kz.content-hash"].is_string(),
                "{config}"
            );
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().expect("os"),
                m["platform"]["architecture"].as_str().expect("arch")
            )
        })
        .collect();
    out.sort();
    out
}

fn tags(reg: &RegistryServer, repo: &str) -> Vec<String> {
    let v = reg.json(&format!("/v2/{repo}/tags/list"), "application/json");
    let mut t: Vec<String> = v["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    t.sort();
    t
}

#[test]
fn two_platforms_make_an_index_and_a_second_publish_pushes_nothing() {
    let reg = RegistryServer::start(None);
    let ns = namespace(&reg.host(), "multi");
    let ws = scratch_tool(&ns, "1.2.3", "hello\n");
    let cfg = tempfile::tempdir().expect("docker config");
    let repo = format!("{}/tool-hello", ns.split_once('/').expect("ns").1);
    let args = [
        "publish",
        "--images-only",
        "--stage",
        "stage",
        "--platforms",
        "linux/amd64,linux/arm64",
    ];

    // Dry run first: it says what it would do and the registry stays empty.
    let dry = kz(&ws, cfg.path(), &[], &[&args[..], &["--dry-run"]].concat());
    dry.code(0)
        .stdout_has(&format!("push  {ns}/tool-hello:1.2.3-stage"));
    assert!(
        reg.storage_snapshot().is_empty(),
        "a dry run pushes nothing"
    );
    // `kz plan --images-only` says the same, as JSON too.
    let plan_args = [
        "plan",
        "--images-only",
        "--stage",
        "stage",
        "--platforms",
        "linux/amd64,linux/arm64",
        "--json",
    ];
    let plan = kz(&ws, cfg.path(), &[], &plan_args);
    plan.code(0);
    let value: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    assert_eq!(value["images"][0]["action"], "push", "{value}");
    assert_eq!(
        value["images"][0]["reference"],
        format!("{ns}/tool-hello:1.2.3-stage")
    );
    assert!(value.get("catalogue").is_none(), "--images-only: {value}");

    let first = kz(&ws, cfg.path(), &[], &args);
    first.code(0).stderr_has("Indexed");
    assert_eq!(
        platforms_of(&reg, &repo, "1.2.3-stage"),
        ["linux/amd64", "linux/arm64"]
    );
    assert_eq!(
        tags(&reg, &repo),
        ["1.2.3-stage"],
        "no :latest, no temporary tags"
    );
    // Nor in the engine: the per-platform images were removed after the push.
    let temporary = format!("kz-publish/{}:*", repo.replace(['/', '.', '_'], "-"));
    let left = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let docker = bollard::Docker::connect_with_local_defaults().expect("engine");
            let filters = std::collections::HashMap::from([(
                "reference".to_owned(),
                vec![temporary.clone()],
            )]);
            docker
                .list_images(Some(bollard::query_parameters::ListImagesOptions {
                    filters: Some(filters),
                    ..Default::default()
                }))
                .await
                .expect("list images")
        });
    assert!(left.is_empty(), "{temporary}: {left:?}");
    let digest = first
        .stdout
        .lines()
        .find_map(|l| l.split_once('@').map(|(_, d)| d.to_owned()))
        .expect("reference@digest on stdout");

    // Again: everything is skipped and the registry's storage is byte for byte the same.
    let before = reg.storage_snapshot();
    let second = kz(&ws, cfg.path(), &[], &args);
    second
        .code(0)
        .stderr_has("Skipped")
        .stderr_has("pushed 0 images, skipped 1")
        .stdout_has(&digest);
    assert_eq!(reg.storage_snapshot(), before);
    kz(&ws, cfg.path(), &[], &[&args[..], &["--dry-run"]].concat())
        .code(0)
        .stdout_has(&format!("skip  {ns}/tool-hello:1.2.3-stage"));
    let plan = kz(&ws, cfg.path(), &[], &plan_args);
    let value: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    assert_eq!(value["images"][0]["action"], "skip", "{value}");
    assert_eq!(reg.storage_snapshot(), before, "plan writes nothing");

    // A change in the content is pushed again, under the same tag.
    ws.write("tools/tool-hello/hello.txt", "hello again\n");
    kz(&ws, cfg.path(), &[], &args)
        .code(0)
        .stderr_has("pushed 1 image, skipped 0");
    let index = reg.json(&format!("/v2/{repo}/manifests/1.2.3-stage"), ACCEPT_ALL);
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(2));
    let moved = reg.get(&format!("/v2/{repo}/manifests/1.2.3-stage"), ACCEPT_ALL);
    assert!(!moved.headers.contains(&digest), "the tag moved");
}

#[test]
fn the_examples_land_under_their_stage_tags() {
    let reg = RegistryServer::start(None);
    let ns = namespace(&reg.host(), "examples");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let ws = Ws::new();
    ws.copy_extensions(&examples)
        .write("kz.yaml", format!("images:\n  namespace: {ns}\n"));
    // tool-echo names its image explicitly (`kamiwazaai/tool-echo`), which is pushed where it
    // says; point it at the test's namespace instead.
    let compose = ws.read("tools/tool-echo/docker-compose.yml");
    ws.write(
        "tools/tool-echo/docker-compose.yml",
        compose.replace("kamiwazaai/tool-echo", &format!("{ns}/tool-echo")),
    );
    let cfg = tempfile::tempdir().expect("docker config");
    let run = kz(
        &ws,
        cfg.path(),
        &[],
        &[
            "publish",
            "--images-only",
            "--stage",
            "prod",
            "--platforms",
            "linux/amd64",
        ],
    );
    run.code(0);
    let path = ns.split_once('/').expect("ns").1;
    let catalog = reg.json("/v2/_catalog", "application/json");
    let mut repos: Vec<&str> = catalog["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    repos.sort();
    let want: Vec<String> = [
        "service-kv-backend",
        "team-notes-backend",
        "team-notes-frontend",
        "tool-echo",
    ]
    .iter()
    .map(|r| format!("{path}/{r}"))
    .collect();
    let found: Vec<&str> = repos
        .iter()
        .copied()
        .filter(|r| r.starts_with(path))
        .collect();
    assert_eq!(
        found.len(),
        want.len(),
        "{found:?} vs {want:?}\n{}",
        run.stderr
    );
    for repo in &found {
        let t = tags(&reg, repo);
        assert_eq!(t.len(), 1, "{repo}: {t:?}");
        assert!(
            t[0].chars().all(|c| c.is_ascii_digit() || c == '.'),
            "prod tags are plain versions: {repo}:{}",
            t[0]
        );
        let m = reg.json(&format!("/v2/{repo}/manifests/{}", t[0]), ACCEPT_ALL);
        assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    }
}

#[test]
fn htpasswd_credentials_from_docker_config_and_wrong_ones_fail_cleanly() {
    let password = "Pa55-kz-secret-7731";
    let reg = RegistryServer::start(Some(("kzuser", password)));
    let ns = namespace(&reg.host(), "auth");
    let ws = scratch_tool(&ns, "0.1.0", "auth\n");
    let args = ["publish", "--images-only", "--platforms", "linux/amd64"];
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };

    let good = tempfile::tempdir().expect("config");
    std::fs::write(
        good.path().join("config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{}\"}}}}}}",
            reg.host(),
            b64(&format!("kzuser:{password}"))
        ),
    )
    .expect("config.json");
    let ok = kz(&ws, good.path(), &[], &args);
    ok.code(0);
    let repo = format!("{}/tool-hello", ns.split_once('/').expect("ns").1);
    assert_eq!(tags(&reg, &repo), ["0.1.0-dev"]);
    assert!(!format!("{}{}", ok.stdout, ok.stderr).contains(password));

    let wrong_pass = "Wr0ng-kz-secret-4419";
    let bad = tempfile::tempdir().expect("config");
    std::fs::write(
        bad.path().join("config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"username\": \"kzuser\", \"password\": \"{wrong_pass}\"}}}}}}",
            reg.host()
        ),
    )
    .expect("config.json");
    ws.write("tools/tool-hello/hello.txt", "changed\n");
    for extra in [&[][..], &["--dry-run"][..]] {
        let run = kz(&ws, bad.path(), &[], &[&args[..], extra].concat());
        run.code(2)
            .stderr_has("refused the credentials (username and password)")
            .stderr_has("docker login");
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(wrong_pass), "{all}");
        assert!(
            !all.contains(&b64(&format!("kzuser:{wrong_pass}"))),
            "{all}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_credential_helper_on_path_is_used() {
    use std::os::unix::fs::PermissionsExt as _;
    let password = "helper-secret-5521";
    let reg = RegistryServer::start(Some(("helperuser", password)));
    let ns = namespace(&reg.host(), "helper");
    let ws = scratch_tool(&ns, "0.2.0", "helper\n");
    let bin = tempfile::tempdir().expect("bin");
    let asked = bin.path().join("asked");
    let helper = bin.path().join("docker-credential-kztest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" >> '{}'\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"helperuser\",\"Secret\":\"{password}\"}}' \"$server\"\n",
            asked.display()
        ),
    )
    .expect("helper");
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let cfg = tempfile::tempdir().expect("config");
    std::fs::write(
        cfg.path().join("config.json"),
        format!("{{\"credHelpers\": {{\"{}\": \"kztest\"}}}}", reg.host()),
    )
    .expect("config.json");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = kz(
        &ws,
        cfg.path(),
        &[("PATH", path)],
        &["publish", "--images-only", "--platforms", "linux/amd64"],
    );
    run.code(0);
    assert_eq!(
        std::fs::read_to_string(&asked)
            .expect("the helper ran")
            .trim(),
        reg.host()
    );
    let repo = format!("{}/tool-hello", ns.split_once('/').expect("ns").1);
    assert_eq!(tags(&reg, &repo), ["0.2.0-dev"]);
    assert!(!format!("{}{}", run.stdout, run.stderr).contains(password));
}

#[test]
fn a_registry_failing_with_503_first_is_retried() {
    let reg = RegistryServer::start(None);
    let proxy = FlakyProxy::start(reg.port, 4);
    let host = format!("127.0.0.1:{}", proxy.port);
    let ns = namespace(&host, "retry");
    let ws = scratch_tool(&ns, "3.0.0", "retry\n");
    let cfg = tempfile::tempdir().expect("config");
    let run = kz(
        &ws,
        cfg.path(),
        &[],
        &["publish", "--images-only", "--platforms", "linux/amd64"],
    );
    run.code(0).stderr_has("retried");
    assert_eq!(proxy.failed.load(std::sync::atomic::Ordering::SeqCst), 4);
    let repo = format!("{}/tool-hello", ns.split_once('/').expect("ns").1);
    assert_eq!(tags(&reg, &repo), ["3.0.0-dev"]);
}

#[test]
fn bad_platforms_and_unknown_stages_are_usage_errors() {
    let ws = scratch_tool("127.0.0.1:9/kz", "1.0.0", "x\n");
    let cfg = tempfile::tempdir().expect("config");
    kz(
        &ws,
        cfg.path(),
        &[],
        &["publish", "--images-only", "--platforms", "amd64"],
    )
    .code(2)
    .stderr_has("`amd64` is not a platform");
    kz(
        &ws,
        cfg.path(),
        &[],
        &["publish", "--images-only", "--stage", "qa"],
    )
    .code(2)
    .stderr_has("no stage named `qa`");
}

#[test]
fn a_platform_the_engine_cannot_build_fails_without_moving_the_tag() {
    let reg = RegistryServer::start(None);
    let ns = namespace(&reg.host(), "foreign");
    let ws = scratch_tool(&ns, "1.0.0", "x\n");
    // busybox:latest exists here for amd64 only, and nothing can be pulled.
    ws.write(
        "tools/tool-hello/Dockerfile",
        "FROM busybox:latest\nCOPY hello.txt /hello.txt\n",
    );
    let cfg = tempfile::tempdir().expect("config");
    let repo = format!("{}/tool-hello", ns.split_once('/').expect("ns").1);
    let manifest = format!("/v2/{repo}/manifests/1.0.0-dev");
    // The tag exists (amd64 only); then new content for two platforms, one unbuildable here.
    kz(
        &ws,
        cfg.path(),
        &[],
        &["publish", "--images-only", "--platforms", "linux/amd64"],
    )
    .code(0);
    let before = reg.get(&manifest, ACCEPT_ALL).text();
    ws.write("tools/tool-hello/hello.txt", "x2\n");
    let run = kz(
        &ws,
        cfg.path(),
        &[],
        &[
            "publish",
            "--images-only",
            "--platforms",
            "linux/amd64,linux/arm64",
        ],
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
    run.code(3).stderr_has("linux/arm64");
    assert_eq!(
        reg.get(&manifest, ACCEPT_ALL).text(),
        before,
        "the tag still names the last complete image"
    );
}

#[test]
fn an_identity_token_is_traded_for_a_scoped_access_token() {
    let refresh = "kz-refresh-token-90210";
    let tokens = TokenServer::start(refresh);
    let reg = RegistryServer::start_with_tokens(&tokens);
    let ns = namespace(&reg.host(), "token");
    let ws = scratch_tool(&ns, "4.0.0", "token\n");
    let args = ["publish", "--images-only", "--platforms", "linux/amd64"];
    let config = |dir: &Path, token: &str| {
        std::fs::write(
            dir.join("config.json"),
            format!(
                "{{\"auths\": {{\"{}\": {{\"identitytoken\": \"{token}\"}}}}}}",
                reg.host()
            ),
        )
        .expect("config.json");
    };
    let good = tempfile::tempdir().expect("config");
    config(good.path(), refresh);
    let run = kz(&ws, good.path(), &[], &args);
    run.code(0)
        .stderr_has("pushed 1 image")
        .stdout_has("/tool-hello:4.0.0-dev@sha256:");
    assert!(tokens.exchanges.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert!(!format!("{}{}", run.stdout, run.stderr).contains(refresh));
    // The registry itself says the tag is there (asked with a token of our own).
    let repo = format!("{}/tool-hello", ns.split_once('/').expect("ns").1);
    let unauth = reg.get(&format!("/v2/{repo}/tags/list"), "application/json");
    assert_eq!(unauth.status, 401, "the registry requires tokens");

    let bad = tempfile::tempdir().expect("config");
    config(bad.path(), "kz-wrong-token-31337");
    ws.write("tools/tool-hello/hello.txt", "changed\n");
    let run = kz(&ws, bad.path(), &[], &args);
    run.code(2)
        .stderr_has("refused the credentials (identity token)");
    assert!(!format!("{}{}", run.stdout, run.stderr).contains("kz-wrong-token-31337"));
}

#[test]
fn a_full_publish_checks_the_catalogue_settings_before_pushing_anything() {
    let reg = RegistryServer::start(None);
    let ns = namespace(&reg.host(), "order");
    let ws = scratch_tool(&ns, "1.0.0", "hello\n");
    let cfg = tempfile::tempdir().expect("docker config");
    // No bucket for the stage (and no AWS profile: the default chain would be tried): the
    // catalogue step cannot run, so no image may go.
    kz(
        &ws,
        cfg.path(),
        &[],
        &["publish", "--stage", "stage", "--platforms", "linux/amd64"],
    )
    .code(2)
    .stderr_has("no bucket configured for stage `stage`");
    assert!(
        reg.storage_snapshot().is_empty(),
        "nothing is pushed before the catalogue is ready"
    );
}
