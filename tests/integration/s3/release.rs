//! Catalogue v3 and digest pins end to end: `kz publish --repo-version v3` against a real
//! docker-registry, the engine and moto's S3 server, compared with what Kamiwaza's own kz-ext
//! (PyPI `kamiwaza-sdk` 1.3.0, installed by scripts/engine-setup.sh under
//! [`crate::harness::ci_dir`]`/kzext`; `KZ_TEST_KZEXT_PYTHON` overrides) builds for the same
//! metadata, transformed compose and digest map. Also the image check, and AWS credentials from
//! the default chain (environment keys, web identity at moto's STS). Needs the engine lane's
//! servers too (`--features engine-tests`, as scripts/test.sh runs every lane).

use super::catalog::{Moto, BUCKET};
use crate::engine::regserver::RegistryServer;
use crate::harness::{Run, Ws, KZ};
use std::path::Path;
use std::process::Command;

const PROFILE: &str = "kz-release";
const MANIFEST: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
/// The kz-ext version the comparison follows.
const KZEXT_VERSION: &str = "1.3.0";

/// kz-ext's `RegistryBuilder.build_entry` on argv: kamiwaza.json, transformed compose (YAML),
/// registry prefix, stage, digest map (JSON); prints the catalogue body as its publisher uploads
/// it (`json.dumps(entries, indent=2, ensure_ascii=False)`).
const KZEXT_SCRIPT: &str = r#"
import importlib.metadata, json, sys, yaml
from kamiwaza_extensions.registry_builder import RegistryBuilder
assert importlib.metadata.version("kamiwaza-sdk") == sys.argv[6], importlib.metadata.version("kamiwaza-sdk")
meta = json.load(open(sys.argv[1]))
compose = yaml.safe_load(open(sys.argv[2]))
entry = RegistryBuilder().build_entry(meta, compose, sys.argv[3], meta["version"],
                                      stage=sys.argv[4], digest_map=json.loads(sys.argv[5]))
sys.stdout.write(json.dumps([entry], indent=2, ensure_ascii=False))
"#;

struct Release {
    ws: Ws,
    home: tempfile::TempDir,
    docker_config: tempfile::TempDir,
    ns: String,
}

impl Release {
    /// An app with a service kz builds (FROM scratch) and, `with_db`, a third-party one
    /// (postgres, on Docker Hub: never contacted).
    fn new(reg: &RegistryServer, moto: &Moto, with_db: bool) -> Release {
        let db = if with_db {
            "  db:\n    image: postgres:16\n"
        } else {
            ""
        };
        let ns = format!("{}/kz-release-{}", reg.host(), std::process::id());
        let ws = Ws::new();
        ws.write("kz.yaml", format!("images:\n  namespace: {ns}\n"))
            .write(
                "apps/app-hello/kamiwaza.json",
                "{\n  \"name\": \"app-hello\",\n  \"version\": \"1.0.0\",\n  \
                 \"description\": \"hello\",\n  \"kamiwaza_version\": \">=0.5.0\",\n  \
                 \"source_type\": \"kamiwaza\",\n  \"visibility\": \"public\",\n  \
                 \"risk_tier\": 0,\n  \"verified\": false\n}\n",
            )
            .write(
                "apps/app-hello/Dockerfile",
                "FROM scratch\nCOPY hello.txt /hello.txt\n",
            )
            .write("apps/app-hello/hello.txt", "hello\n")
            .write(
                "apps/app-hello/docker-compose.yml",
                format!(
                    "services:\n  web:\n    build: .\n    image: {ns}/app-hello-web:1.0.0\n    \
                     ports:\n      - \"8000\"\n{db}"
                ),
            )
            .write(
                ".env",
                format!(
                    "AWS_PROFILE_DEV={PROFILE}\nKAMIWAZA_REGISTRY_BUCKET_DEV={BUCKET}\n\
                     KAMIWAZA_REGISTRY_ENDPOINT={}\n",
                    moto.url()
                ),
            );
        ws.kz(&["sync-compose"]).code(0);
        let home = tempfile::tempdir().expect("home");
        let aws = home.path().join(".aws");
        std::fs::create_dir_all(&aws).expect("mkdir .aws");
        std::fs::write(
            aws.join("credentials"),
            format!("[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"),
        )
        .expect("credentials");
        std::fs::write(
            aws.join("config"),
            format!("[profile {PROFILE}]\nregion = us-east-1\n"),
        )
        .expect("config");
        Release {
            ws,
            home,
            docker_config: tempfile::tempdir().expect("docker config"),
            ns,
        }
    }

    fn kz(&self, args: &[&str]) -> Run {
        self.kz_env(args, &[])
    }

    /// kz with no AWS variables but `env` (and the instance metadata service turned off, so the
    /// default chain never waits for 169.254.169.254).
    fn kz_env(&self, args: &[&str], env: &[(&str, String)]) -> Run {
        let mut cmd = Command::new(KZ);
        cmd.args(args)
            .current_dir(self.ws.path("."))
            .env("KZ_COLOR", "never")
            .env("HOME", self.home.path())
            .env("DOCKER_CONFIG", self.docker_config.path());
        for var in [
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_SESSION_NAME",
            "AWS_ENDPOINT_URL_STS",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
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
}

/// The digest of the manifest `repo:tag` holds, computed from its bytes.
fn registry_digest(reg: &RegistryServer, repo: &str, tag: &str) -> String {
    let r = reg.get(&format!("/v2/{repo}/manifests/{tag}"), MANIFEST);
    assert_eq!(r.status, 200, "GET manifest {repo}:{tag}: {}", r.text());
    kz::oci::sha256_digest(&r.body)
}

/// kz-ext's catalogue body for the same inputs.
fn kzext_body(meta: &Path, compose: &Path, registry: &str, digests: &str) -> String {
    let python = std::env::var_os("KZ_TEST_KZEXT_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::harness::ci_dir().join("kzext/bin/python"));
    assert!(
        python.is_file(),
        "kz-ext's python is missing at {}: run scripts/engine-setup.sh (it installs kamiwaza-sdk \
         {KZEXT_VERSION}) or set KZ_TEST_KZEXT_PYTHON",
        python.display()
    );
    let out = Command::new(&python)
        .arg("-c")
        .arg(KZEXT_SCRIPT)
        .arg(meta)
        .arg(compose)
        .arg(registry)
        .arg("dev")
        .arg(digests)
        .arg(KZEXT_VERSION)
        .output()
        .expect("run kz-ext");
    assert!(
        out.status.success(),
        "kz-ext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn a_v3_publish_pins_the_pushed_digest_and_matches_kz_ext() {
    let reg = RegistryServer::start(None);
    let moto = Moto::start();
    let r = Release::new(&reg, &moto, true);
    let image = format!("{}/app-hello-web:1.0.0-dev", r.ns);
    let repo = image
        .split_once('/')
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(repo, _)| repo.to_owned())
        .expect("repo");

    let published = r.kz(&[
        "publish",
        "--stage",
        "dev",
        "--repo-version",
        "v3",
        "--platforms",
        "linux/amd64",
    ]);
    published.code(0);
    let digest = registry_digest(&reg, &repo, "1.0.0-dev");
    published.stdout_has(&format!("{image}@{digest}"));

    // The objects: garden/v3/, nothing under v2.
    let apps =
        String::from_utf8(moto.get("garden/v3/apps.json").expect("v3 apps.json")).expect("utf-8");
    assert_eq!(
        moto.get("garden/v3/tools.json").as_deref(),
        Some(&b"[]"[..])
    );
    assert!(moto.get("garden/v2/apps.json").is_none());
    let entries: serde_json::Value = serde_json::from_str(&apps).expect("json");
    let entry = &entries[0];
    assert_eq!(
        entry["docker_images"],
        serde_json::json!([format!("{image}@{digest}"), "postgres:16"]),
        "the kz-built image is pinned to the registry's digest, postgres is left as written"
    );

    // kz-ext on the same metadata, transformed compose (the App Garden file at the stage's tag)
    // and digest map gives the same bytes.
    let staged =
        r.ws.read("apps/app-hello/docker-compose.appgarden.yml")
            .replace(
                &format!("{}/app-hello-web:1.0.0\n", r.ns),
                &format!("{image}\n"),
            );
    assert!(staged.contains(&image), "{staged}");
    r.ws.write("staged-compose.yml", staged);
    let digests = serde_json::json!({ image.clone(): digest.clone() }).to_string();
    let theirs = kzext_body(
        &r.ws.path("apps/app-hello/kamiwaza.json"),
        &r.ws.path("staged-compose.yml"),
        &r.ns,
        &digests,
    );
    pretty_assertions::assert_eq!(apps, theirs);

    // A catalogue-only publish reads the digest from the registry: nothing changes.
    // (postgres:16 is on Docker Hub, out of reach: the image check is tested below.)
    r.kz(&[
        "publish",
        "--stage",
        "dev",
        "--repo-version",
        "v3",
        "--catalog-only",
        "--no-verify-images",
    ])
    .code(0)
    .stderr_has("already published");
    // kz published lists the entry with its pin; download-registry makes a folder package reads.
    let listed = r.kz(&[
        "published",
        "--stage",
        "dev",
        "--repo-version",
        "v3",
        "--json",
    ]);
    listed.code(0);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).expect("json");
    assert_eq!(
        listed,
        serde_json::json!([{
            "file": "apps.json", "name": "app-hello", "version": "1.0.0",
            "kamiwaza_version": ">=0.5.0",
            "images": [format!("{image}@{digest}"), "postgres:16"], "pinned": 1
        }])
    );
    r.kz(&[
        "download-registry",
        "--stage",
        "dev",
        "--repo-version",
        "v3",
        "--out",
        "build/kamiwaza-extension-registry",
    ])
    .code(0);
    assert_eq!(
        r.ws.read("build/kamiwaza-extension-registry/garden/v3/apps.json"),
        apps
    );
    r.kz(&["package", "--repo-version", "v3", "--out", "dist"])
        .code(0);
    r.kz(&[
        "download-registry",
        "--stage",
        "dev",
        "--repo-version",
        "v3",
        "--out",
        "dist",
    ])
    .code(2)
    .stderr_has("exists");
    // build-registry --pin writes the same entry locally; --no-pin publishes tags.
    r.kz(&["build-registry", "--repo-version", "v3", "--pin"])
        .code(0);
    let local =
        r.ws.read("build/kamiwaza-extension-registry/garden/v3/apps.json");
    let local: serde_json::Value = serde_json::from_str(&local).expect("json");
    assert_eq!(local, entries);
    r.kz(&["build-registry", "--repo-version", "v3"]).code(0);
    assert!(!r
        .ws
        .read("build/kamiwaza-extension-registry/garden/v3/apps.json")
        .contains("@sha256:"));
}

#[test]
fn pinning_an_image_the_registry_lacks_is_an_error() {
    let reg = RegistryServer::start(None);
    let moto = Moto::start();
    let r = Release::new(&reg, &moto, true);
    r.kz(&["build-registry", "--repo-version", "v3", "--pin"])
        .code(1)
        .stderr_has("the registry does not hold")
        .stderr_has("app-hello-web:1.0.0-dev");
    r.kz(&[
        "publish",
        "--stage",
        "dev",
        "--repo-version",
        "v3",
        "--catalog-only",
    ])
    .code(1)
    .stderr_has("app-hello-web:1.0.0-dev");
    assert!(
        moto.get("garden/v3/apps.json").is_none(),
        "nothing published"
    );
}

#[test]
fn verify_images_and_catalog_only_refuse_a_missing_image_or_platform() {
    let reg = RegistryServer::start(None);
    let moto = Moto::start();
    let r = Release::new(&reg, &moto, false);
    let image = format!("{}/app-hello-web:1.0.0-dev", r.ns);
    let amd = ["--platforms", "linux/amd64"];
    r.kz(&[&["verify-images", "--stage", "dev"][..], &amd].concat())
        .code(1)
        .stdout_has(&format!("missing  {image}: not in the registry"));
    r.kz(&[&["publish", "--stage", "dev", "--catalog-only"][..], &amd].concat())
        .code(1)
        .stderr_has("the registry does not hold");
    assert!(
        moto.get("garden/v2/apps.json").is_none(),
        "nothing published"
    );
    r.kz(&[&["publish", "--stage", "dev", "--images-only"][..], &amd].concat())
        .code(0);
    r.kz(&[&["verify-images", "--stage", "dev"][..], &amd].concat())
        .code(0)
        .stderr_has("all present");
    r.kz(&["verify-images", "--stage", "dev"])
        .code(1)
        .stdout_has("no image for linux/arm64");
    r.kz(&[&["publish", "--stage", "dev", "--catalog-only"][..], &amd].concat())
        .code(0);
    let apps = moto.get("garden/v2/apps.json").expect("published");
    assert!(String::from_utf8_lossy(&apps).contains(&format!("\"{image}\"")));
}

#[test]
fn without_a_stage_profile_the_aws_default_chain_finds_credentials() {
    let reg = RegistryServer::start(None);
    let moto = Moto::start();
    let r = Release::new(&reg, &moto, false);
    r.ws.write(
        ".env",
        format!(
            "KAMIWAZA_REGISTRY_BUCKET_DEV={BUCKET}\nKAMIWAZA_REGISTRY_ENDPOINT={}\n",
            moto.url()
        ),
    );
    let args = [
        "publish",
        "--stage",
        "dev",
        "--catalog-only",
        "--no-verify-images",
    ];
    // Nothing anywhere: an error naming the chain (exit 3), nothing written.
    let none = r.kz(&args);
    none.code(3).stderr_has("the AWS default chain");
    assert!(moto.get("garden/v2/apps.json").is_none());
    // Environment keys only.
    let keys = [
        ("AWS_ACCESS_KEY_ID", "AKIAKZTESTKEYS00000".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "kz-test-secret-not-printed".to_owned(),
        ),
    ];
    let run = r.kz_env(&args, &keys);
    run.code(0);
    assert!(!run.stderr.contains("kz-test-secret-not-printed"));
    assert!(moto.get("garden/v2/apps.json").is_some());
    // A web identity token traded at moto's STS (aws-config honours AWS_ENDPOINT_URL_STS).
    let token = r.home.path().join("web-identity-token");
    std::fs::write(&token, "kz-test-oidc-token").expect("token");
    let web = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/kz-publisher".to_owned(),
        ),
        ("AWS_ROLE_SESSION_NAME", "kz-test".to_owned()),
        ("AWS_ENDPOINT_URL_STS", moto.url()),
    ];
    r.kz_env(&args, &web)
        .code(0)
        .stderr_has("already published");
    // A web identity whose STS cannot be reached fails naming the chain, not the token.
    let mut dead = web.clone();
    dead[3].1 = format!("http://127.0.0.1:{}", crate::engine::regserver::free_port());
    let run = r.kz_env(&args, &dead);
    run.code(3).stderr_has("the AWS default chain");
    assert!(!run.stderr.contains("kz-test-oidc-token"));
    // A stage profile still wins over environment keys.
    r.ws.write(
        ".env",
        format!(
            "AWS_PROFILE_DEV=nobody\nKAMIWAZA_REGISTRY_BUCKET_DEV={BUCKET}\n\
             KAMIWAZA_REGISTRY_ENDPOINT={}\n",
            moto.url()
        ),
    );
    r.kz_env(&args, &keys)
        .code(3)
        .stderr_has("AWS profile `nobody` (AWS_PROFILE_DEV)");
}

/// Every file under the registry's blob store (layers, configs, manifests by digest).
fn blob_files(reg: &RegistryServer) -> Vec<(String, u64)> {
    reg.storage_snapshot()
        .into_iter()
        .filter(|(path, _)| path.contains("/blobs/"))
        .collect()
}

#[test]
fn promote_copies_the_manifest_without_moving_layers_and_publishes_pinned_entries() {
    let reg = RegistryServer::start(None);
    let moto = Moto::start();
    moto.create_bucket("kz-prod");
    let r = Release::new(&reg, &moto, false);
    r.ws.write(
        ".env",
        format!(
            "AWS_PROFILE_DEV={PROFILE}\nAWS_PROFILE_PROD={PROFILE}\n\
             KAMIWAZA_REGISTRY_BUCKET_DEV={BUCKET}\nKAMIWAZA_REGISTRY_BUCKET_PROD=kz-prod\n\
             KAMIWAZA_REGISTRY_ENDPOINT={}\n",
            moto.url()
        ),
    );
    let v3 = ["--repo-version", "v3"];
    r.kz(&[
        &[
            "publish",
            "--stage",
            "dev",
            "--platforms",
            "linux/amd64,linux/arm64",
        ][..],
        &v3,
    ]
    .concat())
        .code(0);
    let dev = format!("{}/app-hello-web:1.0.0-dev", r.ns);
    let prod = format!("{}/app-hello-web:1.0.0", r.ns);
    let repo = dev
        .split_once('/')
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(repo, _)| repo.to_owned())
        .expect("repo");
    let digest = registry_digest(&reg, &repo, "1.0.0-dev");
    let blobs = blob_files(&reg);

    let promote = ["promote", "app-hello", "--from", "dev", "--to", "prod"];
    r.kz(&[&promote[..], &v3, &["--dry-run"]].concat())
        .code(0)
        .stdout_has(&format!("copy  {dev}@{digest} -> {prod}"));
    assert_eq!(
        reg.get(&format!("/v2/{repo}/manifests/1.0.0"), MANIFEST)
            .status,
        404
    );
    assert!(moto.get_in("kz-prod", "garden/v3/apps.json").is_none());

    r.kz(&[&promote[..], &v3].concat())
        .code(0)
        .stdout_has(&format!("copied  {dev}@{digest} -> {prod}"));
    assert_eq!(registry_digest(&reg, &repo, "1.0.0"), digest, "same digest");
    assert_eq!(
        blob_files(&reg),
        blobs,
        "no blob (layer, config, manifest) was added"
    );
    let apps = moto
        .get_in("kz-prod", "garden/v3/apps.json")
        .expect("prod catalogue");
    let apps: serde_json::Value = serde_json::from_slice(&apps).expect("json");
    assert_eq!(
        apps[0]["docker_images"],
        serde_json::json!([format!("{prod}@{digest}")])
    );
    // Promoting again changes nothing.
    r.kz(&[&promote[..], &v3].concat())
        .code(0)
        .stderr_has("already published");
}
