//! The registry client (`kz::oci`) against a real docker-registry: engine images pushed without
//! buildx, an OCI index over two platforms, reads that follow the index, tags and the catalogue,
//! and retries through a proxy that fails the first connections.

use crate::engine::regserver::{FlakyProxy, Images, RegistryServer};
use kz::docker::{Engine, EngineConfig};
use kz::oci::auth::Credential;
use kz::oci::layers::LayerCache;
use kz::oci::push::{push_engine_image, push_index};
use kz::oci::retry::RetryPolicy;
use kz::oci::{Registry, RegistryOptions};
use std::collections::BTreeMap;
use std::time::Duration;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

fn engine_config() -> EngineConfig {
    EngineConfig::from_env(&std::env::vars().collect::<BTreeMap<_, _>>())
}

fn fast_retry() -> RegistryOptions {
    RegistryOptions {
        retry: RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        insecure: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_platforms_become_one_index_and_a_second_push_uploads_nothing() {
    let reg = RegistryServer::start(None);
    let engine = Engine::connect(&engine_config()).await.expect("engine");
    let mut images = Images::new();
    let id = std::process::id();
    let (amd, arm) = (
        format!("kz-test-oci-{id}:amd64"),
        format!("kz-test-oci-{id}:arm64"),
    );
    images.scratch(&amd, "linux/amd64", "hello amd64\n").await;
    images.scratch(&arm, "linux/arm64", "hello arm64\n").await;

    let registry =
        Registry::new(&reg.host(), &Credential::Anonymous, &fast_retry()).expect("client");
    let cache = LayerCache::default();
    let repo = "kztest/multi";
    let a = push_engine_image(&engine, &amd, &registry, repo, None, &cache)
        .await
        .expect("push amd64");
    let b = push_engine_image(&engine, &arm, &registry, repo, None, &cache)
        .await
        .expect("push arm64");
    assert_eq!(a.platform, "linux/amd64");
    assert_eq!(b.platform, "linux/arm64");
    assert!(a.uploaded_blobs >= 2, "layer and config uploaded: {a:?}");
    let digest = push_index(&registry, repo, "1.0.0-dev", &[a.clone(), b.clone()])
        .await
        .expect("index");

    // Straight from the registry API: the tag is an OCI index with both platforms.
    let index = reg.json(&format!("/v2/{repo}/manifests/1.0.0-dev"), ACCEPT_ALL);
    assert_eq!(index["mediaType"], INDEX);
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().expect("os"),
                m["platform"]["architecture"].as_str().expect("arch")
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    // Each platform's config says its own architecture.
    for m in index["manifests"].as_array().expect("manifests") {
        let d = m["digest"].as_str().expect("digest");
        let image = reg.json(&format!("/v2/{repo}/manifests/{d}"), ACCEPT_ALL);
        let c = image["config"]["digest"].as_str().expect("config");
        let config = reg.json(&format!("/v2/{repo}/blobs/{c}"), "*/*");
        assert_eq!(config["architecture"], m["platform"]["architecture"]);
    }

    // The client reads it back through the index.
    let remote = registry
        .remote_image(repo, "1.0.0-dev")
        .await
        .expect("read")
        .expect("exists");
    assert!(remote.is_index);
    assert_eq!(remote.digest, digest);
    assert_eq!(remote.platforms.len(), 2);
    assert_eq!(
        remote.platforms[1]
            .labels
            .get("kz.test.platform")
            .map(String::as_str),
        Some("linux/arm64")
    );
    assert_eq!(registry.tags(repo).await.expect("tags"), ["1.0.0-dev"]);
    assert!(registry
        .catalog()
        .await
        .expect("catalog")
        .contains(&repo.to_owned()));
    assert!(registry
        .remote_image(repo, "nope")
        .await
        .expect("read")
        .is_none());
    assert!(registry.tags("kztest/none").await.expect("tags").is_empty());

    // The same image again: the same digest, and no blob uploaded.
    let before = reg.storage_snapshot();
    let again = push_engine_image(&engine, &amd, &registry, repo, None, &cache)
        .await
        .expect("again");
    assert_eq!(again.digest, a.digest, "deterministic layers and manifest");
    assert_eq!(again.uploaded_blobs, 0);
    assert_eq!(reg.storage_snapshot(), before);

    // Into another repository: the layer is mounted from the first, not uploaded again.
    let other = push_engine_image(&engine, &amd, &registry, "kztest/other", Some("1"), &cache)
        .await
        .expect("other repository");
    assert_eq!(other.digest, a.digest);
    assert_eq!(other.uploaded_blobs, 1, "only the config: {other:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_503s_are_retried_and_a_4xx_is_not() {
    let reg = RegistryServer::start(None);
    let proxy = FlakyProxy::start(reg.port, 3);
    let engine = Engine::connect(&engine_config()).await.expect("engine");
    let mut images = Images::new();
    let tag = format!("kz-test-oci-retry-{}:1", std::process::id());
    images.scratch(&tag, "linux/amd64", "retry\n").await;
    let host = format!("127.0.0.1:{}", proxy.port);
    let registry = Registry::new(&host, &Credential::Anonymous, &fast_retry()).expect("client");
    let cache = LayerCache::default();
    let pushed = push_engine_image(
        &engine,
        &tag,
        &registry,
        "kztest/retry",
        Some("1.0.0"),
        &cache,
    )
    .await
    .expect("push through the flaky proxy");
    assert_eq!(proxy.failed.load(std::sync::atomic::Ordering::SeqCst), 3);
    // Some of the failed connections were the client's auth probe, which needs no retry.
    assert!(registry.retries() >= 1, "{}", registry.retries());
    let r = reg.get("/v2/kztest/retry/manifests/1.0.0", ACCEPT_ALL);
    assert_eq!(r.status, 200);
    assert!(r.headers.contains(&pushed.digest), "{}", r.headers);

    // Bounded: a proxy that always fails gives up after the policy's attempts.
    let dead = FlakyProxy::start(reg.port, usize::MAX);
    let host = format!("127.0.0.1:{}", dead.port);
    let registry = Registry::new(&host, &Credential::Anonymous, &fast_retry()).expect("client");
    let err = registry
        .remote_image("kztest/retry", "1.0.0")
        .await
        .expect_err("always 503");
    assert!(err.to_string().contains(&host), "{err}");
    // Six attempts, each with at most one auth probe before the request itself.
    let tried = dead.failed.load(std::sync::atomic::Ordering::SeqCst);
    assert!((6..=12).contains(&tried), "{tried} connections");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_refused_without_echoing_them() {
    let reg = RegistryServer::start(Some(("kzuser", "right-pass-123")));
    let good = Credential::Basic {
        username: "kzuser".into(),
        password: kz::oci::auth::Secret::new("right-pass-123"),
    };
    let registry = Registry::new(&reg.host(), &good, &fast_retry()).expect("client");
    assert!(registry.catalog().await.expect("catalog").is_empty());
    let bad = Credential::Basic {
        username: "kzuser".into(),
        password: kz::oci::auth::Secret::new("wrong-pass-456"),
    };
    let registry = Registry::new(&reg.host(), &bad, &fast_retry()).expect("client");
    let err = registry
        .remote_image("kztest/x", "1")
        .await
        .expect_err("refused");
    assert!(
        matches!(err, kz::error::Error::RegistryAuth { .. }),
        "{err:?}"
    );
    assert_eq!(registry.retries(), 0, "a 401 is not retried");
    let shown = format!("{err} {err:?} {:?}", err.hint());
    assert!(!shown.contains("wrong-pass-456"), "{shown}");
}
