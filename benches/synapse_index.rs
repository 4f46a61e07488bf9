//! `kz index` benchmark (reports figures; asserts nothing about time): a docker-registry on a
//! free loopback port is filled with 200 Synapse app repositories (tiny images pushed through
//! the registry API: one empty layer, a config whose label holds a valid manifest), then
//! `kz index` runs cold (empty blob cache) and warm (every config blob cached), three times each.
//!
//! Run: `cargo bench --bench synapse_index` (uses the optimised binary).

use base64::Engine as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KZ: &str = env!("CARGO_BIN_EXE_kz");
const APPS: usize = 200;

fn manifest(slug: &str, host: &str) -> String {
    format!(
        "apiVersion: synapse.datamaker.io/v1\nkind: SynapseApp\nmetadata:\n  name: {slug}\n  label: Bench\n  description: A benchmark app.\n  version: \"1.0.0\"\nruntime:\n  kind: image\n  image: {host}/synapse_apps/{slug}:1.0.0\nnetwork:\n  ports: {{public: 8080}}\n  public_url: http://localhost:8080/\n  health: {{path: /health}}\niframe:\n  sandbox: [allow-scripts, allow-same-origin]\n"
    )
}

fn start_registry(dir: &Path) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        ),
    )
    .expect("config");
    let child = Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry");
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "docker-registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

async fn populate(host: &str) {
    use kz::oci::{auth::Credential, Registry, RegistryOptions};
    let registry =
        Registry::new(host, &Credential::Anonymous, &RegistryOptions::default()).expect("client");
    // An empty tar, gzipped: every app shares this layer.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &[0u8; 1024]).expect("gzip");
    let layer = bytes::Bytes::from(gz.finish().expect("gzip"));
    let diff_id = kz::oci::sha256_digest(&[0u8; 1024]);
    for i in 0..APPS {
        let slug = format!("bench-app-{i:03}");
        let repo = format!("synapse_apps/{slug}");
        let label = base64::engine::general_purpose::STANDARD.encode(manifest(&slug, host));
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"io.synapse.app.manifest": label}},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        });
        let config = bytes::Bytes::from(serde_json::to_vec(&config).expect("json"));
        let config_size = config.len();
        let layer_digest = registry
            .push_blob_bytes(&repo, layer.clone())
            .await
            .expect("layer");
        let config_digest = registry
            .push_blob_bytes(&repo, config)
            .await
            .expect("config");
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}],
        });
        registry
            .push_manifest(
                &repo,
                "1.0.0",
                serde_json::to_vec(&body).expect("json"),
                "application/vnd.oci.image.manifest.v1+json",
            )
            .await
            .expect("manifest");
    }
}

fn index(host: &str, cache: &Path, out: &Path) -> Duration {
    let start = Instant::now();
    let status = Command::new(KZ)
        .args(["-q", "index", host, "--cache"])
        .arg(cache)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::null())
        .status()
        .expect("kz");
    let elapsed = start.elapsed();
    assert!(status.success(), "kz index failed");
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) = start_registry(dir.path());
    let host = format!("127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = Instant::now();
    rt.block_on(populate(&host));
    println!(
        "populated {APPS} app repositories in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let out = dir.path().join("index.json");
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for round in 0..3 {
        let cache = dir.path().join(format!("cache-{round}"));
        cold.push(index(&host, &cache, &out));
        warm.push(index(&host, &cache, &out));
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("index")).expect("json");
    let apps = doc["apps"].as_array().map_or(0, Vec::len);
    println!("| registry | apps indexed | cold (no cache) | warm (configs cached) |");
    println!("|---|---|---|---|");
    println!(
        "| {APPS} repositories, 1 tag each | {apps} | {} ms | {} ms |",
        median(cold).as_millis(),
        median(warm).as_millis()
    );
    let _ = child.kill();
    let _ = child.wait();
}
