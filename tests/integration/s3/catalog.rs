//! `kz publish` (catalogue) and `kz plan` against a real S3 API: moto's server, started by each
//! test on a free loopback port (`$KZ_TEST_MOTO_SERVER`, set by scripts/test.sh), with a
//! temporary HOME holding `~/.aws/credentials` and `config` for the stage's profile. Faults are
//! injected by a small HTTP proxy in front of moto that fails or slows chosen requests.

use crate::harness::{Run, Ws, KZ};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const BUCKET: &str = "kz-catalogue";
const PROFILE: &str = "kz-test-dev";
const APPS: &str = "garden/v2/apps.json";
const TOOLS: &str = "garden/v2/tools.json";
const LOCK: &str = "garden/v2/registry.lock";
/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// moto's S3 server on a free loopback port; killed when dropped.
pub(crate) struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    pub(crate) fn start() -> Moto {
        // KZ_TEST_MOTO_SERVER overrides where the test setup put it.
        let bin = std::env::var_os("KZ_TEST_MOTO_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| crate::harness::ci_dir().join("moto/bin/moto_server"));
        assert!(
            bin.is_file(),
            "moto's server is missing at {}: run scripts/engine-setup.sh (scripts/test.sh does) \
             or set KZ_TEST_MOTO_SERVER",
            bin.display()
        );
        let bin = bin.display().to_string();
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let moto = Moto { child, addr };
        let started = Instant::now();
        while http(addr, "GET", "/", b"").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not answer on {addr}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let made = request(addr, "PUT", &format!("/{BUCKET}"), b"");
        assert_eq!(made.status, 200, "create bucket: {}", made.text());
        moto
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Make another bucket (the setup made `BUCKET`).
    pub(crate) fn create_bucket(&self, name: &str) {
        let made = request(self.addr, "PUT", &format!("/{name}"), b"");
        assert_eq!(made.status, 200, "create bucket {name}: {}", made.text());
    }

    /// An object of another bucket.
    pub(crate) fn get_in(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let r = request(self.addr, "GET", &format!("/{bucket}/{key}"), b"");
        match r.status {
            200 => Some(r.body),
            404 => None,
            other => panic!("GET {bucket}/{key}: {other} {}", r.text()),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Vec<u8>> {
        let r = request(self.addr, "GET", &format!("/{BUCKET}/{key}"), b"");
        match r.status {
            200 => Some(r.body),
            404 => None,
            other => panic!("GET {key}: {other} {}", r.text()),
        }
    }

    fn put(&self, key: &str, body: &[u8]) {
        let r = request(self.addr, "PUT", &format!("/{BUCKET}/{key}"), body);
        assert_eq!(r.status, 200, "PUT {key}: {}", r.text());
    }

    fn delete(&self, key: &str) {
        let r = request(self.addr, "DELETE", &format!("/{BUCKET}/{key}"), b"");
        assert_eq!(r.status, 204, "DELETE {key}: {}", r.text());
    }

    /// Every object: key -> (etag, last modified).
    fn list(&self) -> BTreeMap<String, (String, String)> {
        let r = request(self.addr, "GET", &format!("/{BUCKET}?list-type=2"), b"");
        assert_eq!(r.status, 200, "list: {}", r.text());
        let text = r.text();
        let re = regex::Regex::new(
            r"<Key>([^<]+)</Key><LastModified>([^<]+)</LastModified><ETag>([^<]+)</ETag>",
        )
        .expect("regex");
        re.captures_iter(&text)
            .map(|c| (c[1].to_owned(), (c[3].to_owned(), c[2].to_owned())))
            .collect()
    }

    /// The catalogue file as JSON (it must parse).
    fn json(&self, key: &str) -> serde_json::Value {
        let bytes = self.get(key).unwrap_or_else(|| panic!("{key} is missing"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{key} is not JSON: {e}"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Response {
    status: u16,
    body: Vec<u8>,
}

impl Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[track_caller]
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Response {
    http(addr, method, path, body).unwrap_or_else(|| panic!("{method} {path}: no answer"))
}

/// One plain HTTP/1.1 request, read to the end. moto checks no signature, but it picks the
/// service from the credential scope of the `Authorization` header, so one is sent.
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Option<Response> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, \
         SignedHeaders=host, Signature=0\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Some(Response { status, body })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// What the proxy does to requests.
#[derive(Clone, Default)]
struct Faults {
    /// Answer 500 to every PUT whose path ends with this.
    fail_put: Option<String>,
    /// Wait this long before forwarding each request.
    delay: Duration,
}

/// An HTTP proxy in front of moto that injects `Faults` (one request per connection).
struct Proxy {
    addr: SocketAddr,
    failed: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(upstream: SocketAddr, faults: Faults) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let failed = Arc::new(AtomicUsize::new(0));
        let counter = failed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let faults = faults.clone();
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = relay(client, upstream, &faults, &counter);
                });
            }
        });
        Proxy { addr, failed }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn failures(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }
}

fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    faults: &Faults,
    failed: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut first = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if first.is_empty() {
            first = line.clone();
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    std::thread::sleep(faults.delay);
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    if method == "PUT"
        && faults
            .fail_put
            .as_deref()
            .is_some_and(|s| path.ends_with(s))
    {
        failed.fetch_add(1, Ordering::SeqCst);
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code>\
                   <Message>injected by the test proxy</Message></Error>";
        write!(
            client,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        )?;
        return Ok(());
    }
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&head)?;
    up.write_all(b"Connection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    client.write_all(&response)?;
    Ok(())
}

/// A workspace (the examples, tool-echo with a preview) with a root .env for the dev stage, and
/// a HOME holding the stage's AWS profile.
struct Setup {
    ws: Ws,
    home: tempfile::TempDir,
}

fn setup(endpoint: &str) -> Setup {
    let ws = Ws::new();
    ws.copy_extensions(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"));
    let manifest = ws.read("tools/tool-echo/kamiwaza.json").replace(
        "\"verified\": false,",
        "\"verified\": false,\n  \"preview_image\": \"images/tool-echo.png\",",
    );
    ws.write("tools/tool-echo/kamiwaza.json", manifest);
    ws.write("tools/tool-echo/images/tool-echo.png", PNG);
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
    let s = Setup { ws, home };
    s.endpoint(endpoint);
    s
}

impl Setup {
    /// Point the root .env at `endpoint`.
    fn endpoint(&self, endpoint: &str) {
        self.ws.write(
            ".env",
            format!(
                "AWS_PROFILE_DEV={PROFILE}\nKAMIWAZA_REGISTRY_BUCKET_DEV={BUCKET}\n\
                 KAMIWAZA_REGISTRY_ENDPOINT={endpoint}\n"
            ),
        );
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(KZ);
        cmd.args(args);
        // The examples' images live on Docker Hub, which these tests cannot reach: the image
        // check of `--catalog-only` is tested in release.rs against a local registry.
        if args.first() == Some(&"publish") && args.contains(&"--catalog-only") {
            cmd.arg("--no-verify-images");
        }
        cmd.current_dir(self.ws.path("."))
            .env("KZ_COLOR", "never")
            .env("HOME", self.home.path());
        for var in [
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_PROFILE_DEV",
            "KAMIWAZA_REGISTRY_BUCKET",
            "KAMIWAZA_REGISTRY_ENDPOINT",
            "KAMIWAZA_REGISTRY_REGION",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    fn kz(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run kz");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kz")
    }

    /// Set tool-echo's version and bring its App Garden file in line.
    fn tool_version(&self, from: &str, to: &str) {
        let rel = "tools/tool-echo/kamiwaza.json";
        let text = self.ws.read(rel).replace(
            &format!("\"version\": \"{from}\""),
            &format!("\"version\": \"{to}\""),
        );
        self.ws.write(rel, text);
        self.ws.kz(&["sync-compose", "tool-echo"]).code(0);
    }
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn names(entries: &serde_json::Value) -> Vec<String> {
    entries
        .as_array()
        .expect("list")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["name"].as_str().expect("name"),
                e["version"].as_str().expect("version")
            )
        })
        .collect()
}

#[test]
fn publish_uploads_then_changes_nothing_then_updates_one_entry_and_refuses_a_downgrade() {
    let moto = Moto::start();
    let s = setup(&moto.url());

    // the plan of a first publish: everything added, nothing written
    let plan = s.kz(&["plan", "--catalog-only", "--stage", "dev", "--json"]);
    plan.code(0);
    let value: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    let files = value["catalogue"]["files"].as_array().expect("files");
    assert_eq!(files[0]["file"], "tools.json");
    assert_eq!(files[0]["added"][0]["name"], "tool-echo");
    assert_eq!(files[1]["added"].as_array().expect("added").len(), 2);
    assert_eq!(value["catalogue"]["previews"]["upload"][0], "tool-echo.png");
    assert!(moto.list().is_empty(), "plan wrote something");

    // first publish: the catalogue kz build-registry writes, byte for byte, and the preview
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(0)
        .stderr_has("Published s3://kz-catalogue/garden/v2/");
    s.ws.kz(&["build-registry", "--stage", "dev"]).code(0);
    for key in [APPS, TOOLS] {
        let built = std::fs::read(s.ws.path(&format!("build/kamiwaza-extension-registry/{key}")))
            .expect("built");
        assert_eq!(moto.get(key).expect(key), built, "{key}");
    }
    assert_eq!(
        moto.get("garden/v2/images/tool-echo.png").as_deref(),
        Some(PNG)
    );
    assert_eq!(moto.get(LOCK), None, "the lock outlived the publish");
    let first = moto.list();

    // second publish: nothing written (same etags, same times)
    std::thread::sleep(Duration::from_millis(1100));
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(0)
        .stderr_has("already published");
    assert_eq!(moto.list(), first, "an unchanged publish rewrote objects");

    // a version bump updates that entry only, after backing up the file it replaces
    s.tool_version("0.1.0", "0.1.1");
    s.kz(&["plan", "--catalog-only", "--stage", "dev"])
        .code(0)
        .stdout_has("~ tool-echo 0.1.0 -> 0.1.1  updated")
        .stdout_has("= team-notes 0.1.0");
    let old_tools = moto.get(TOOLS).expect("tools");
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(0)
        .stderr_has("Backed up kz-backups/v2/");
    let now = moto.list();
    assert_eq!(now[APPS], first[APPS], "apps.json was rewritten");
    assert_ne!(now[TOOLS].0, first[TOOLS].0);
    assert_eq!(names(&moto.json(TOOLS)), ["tool-echo 0.1.1"]);
    let backups: Vec<&String> = now
        .keys()
        .filter(|k| k.starts_with("kz-backups/v2/"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].ends_with("/tools.json"));
    assert_eq!(moto.get(backups[0]).expect("backup"), old_tools);

    // a downgrade is refused, and nothing is written; --force replaces
    s.tool_version("0.1.1", "0.1.0");
    let before = moto.list();
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(1)
        .stderr_has("cannot downgrade from 0.1.1 to 0.1.0")
        .stderr_has("--force");
    assert_eq!(moto.list(), before);
    s.kz(&["plan", "--catalog-only", "--stage", "dev"])
        .code(1)
        .stdout_has("! tool-echo 0.1.0");
    s.kz(&["publish", "--catalog-only", "--stage", "dev", "--force"])
        .code(0);
    assert_eq!(names(&moto.json(TOOLS)), ["tool-echo 0.1.0"]);

    // an extension gone from the workspace stays published, and is reported
    std::fs::remove_dir_all(s.ws.path("services/service-kv")).expect("rm");
    s.kz(&["plan", "--catalog-only", "--stage", "dev"])
        .code(0)
        .stdout_has(
            "- service-kv 0.1.0 (kamiwaza >=0.9.0)  published, not in this workspace (kept)",
        );
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(0);
    assert_eq!(
        names(&moto.json(APPS)),
        ["team-notes 0.1.0", "service-kv 0.1.0"]
    );
    assert_eq!(moto.get(LOCK), None);
}

#[test]
fn a_held_lock_is_waited_for_or_named_and_an_expired_one_is_taken_over() {
    let moto = Moto::start();
    let s = setup(&moto.url());
    let foreign = |expires: &str| {
        format!(
            "{{\"id\": \"other\", \"owner\": \"4711\", \"host\": \"ci-runner-7\", \"pid\": 99, \
             \"acquired_at\": \"2020-01-01T00:00:00Z\", \"expires_at\": \"{expires}\", \
             \"tool\": \"kz 0.0.9\"}}"
        )
    };
    let live = foreign("2999-01-01T00:00:00Z");
    moto.put(LOCK, live.as_bytes());
    s.kz(&[
        "publish",
        "--catalog-only",
        "--stage",
        "dev",
        "--lock-timeout",
        "0",
    ])
    .code(3)
    .stderr_has("is held by 4711 on ci-runner-7 (pid 99, kz 0.0.9)");
    assert_eq!(
        moto.get(LOCK).as_deref(),
        Some(live.as_bytes()),
        "someone else's lock was touched"
    );
    assert_eq!(moto.get(APPS), None);

    // waiting: the holder lets go while kz waits
    let child = s.spawn(&[
        "publish",
        "--catalog-only",
        "--stage",
        "dev",
        "--lock-timeout",
        "60",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    moto.delete(LOCK);
    let run = finish(child);
    run.code(0)
        .stderr_has("waiting for the publish lock, held by 4711 on ci-runner-7");
    assert_eq!(names(&moto.json(TOOLS)), ["tool-echo 0.1.0"]);
    assert_eq!(moto.get(LOCK), None);

    // an expired lock (a killed run) is taken over, then released
    s.tool_version("0.1.0", "0.2.0");
    moto.put(LOCK, foreign("2001-01-01T00:00:00Z").as_bytes());
    s.kz(&[
        "publish",
        "--catalog-only",
        "--stage",
        "dev",
        "--lock-timeout",
        "0",
    ])
    .code(0)
    .stderr_has("took over an expired publish lock of 4711 on ci-runner-7");
    assert_eq!(names(&moto.json(TOOLS)), ["tool-echo 0.2.0"]);
    assert_eq!(moto.get(LOCK), None);
}

#[test]
fn two_publishes_at_once_leave_one_winner_and_an_intact_catalogue() {
    let moto = Moto::start();
    // every request takes 150 ms, so each publish holds the lock for a second or more
    let slow = Proxy::start(
        moto.addr,
        Faults {
            delay: Duration::from_millis(150),
            ..Faults::default()
        },
    );
    let s = setup(&slow.url());
    let args = [
        "publish",
        "--catalog-only",
        "--stage",
        "dev",
        "--lock-timeout",
        "0",
    ];
    let (a, b) = (s.spawn(&args), s.spawn(&args));
    let mut runs = [finish(a), finish(b)];
    runs.sort_by_key(|r| r.code);
    runs[0].code(0).stderr_has("Published");
    runs[1]
        .code(3)
        .stderr_has("the publish lock `garden/v2/registry.lock` is held by manual on");
    assert_eq!(names(&moto.json(TOOLS)), ["tool-echo 0.1.0"]);
    assert_eq!(
        names(&moto.json(APPS)),
        ["team-notes 0.1.0", "service-kv 0.1.0"]
    );
    assert_eq!(moto.get(LOCK), None);

    // with a timeout the second one waits, then finds its work done
    s.tool_version("0.1.0", "0.1.1");
    let args = [
        "publish",
        "--catalog-only",
        "--stage",
        "dev",
        "--lock-timeout",
        "60",
    ];
    let (a, b) = (s.spawn(&args), s.spawn(&args));
    let runs = [finish(a), finish(b)];
    for run in &runs {
        run.code(0);
    }
    let published = runs
        .iter()
        .filter(|r| r.stderr.contains("Published"))
        .count();
    let unchanged = runs
        .iter()
        .filter(|r| r.stderr.contains("already published"))
        .count();
    assert_eq!((published, unchanged), (1, 1), "{runs:?}");
    assert!(
        runs.iter()
            .any(|r| r.stderr.contains("waiting for the publish lock")),
        "{runs:?}"
    );
    assert_eq!(names(&moto.json(TOOLS)), ["tool-echo 0.1.1"]);
    assert_eq!(moto.get(LOCK), None);
}

#[test]
fn an_s3_failure_midway_leaves_the_previous_catalogue_readable_and_whole() {
    let moto = Moto::start();
    let s = setup(&moto.url());
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(0);
    let before = moto.list();
    let old_apps = moto.get(APPS).expect("apps");

    // change both files; the write of apps.json (the last one) fails every time
    s.tool_version("0.1.0", "0.1.1");
    let app = "apps/team-notes/kamiwaza.json";
    s.ws.write(
        app,
        s.ws.read(app)
            .replace("\"version\": \"0.1.0\"", "\"version\": \"0.2.0\""),
    );
    s.ws.kz(&["sync-compose", "team-notes"]).code(0);
    let failing = Proxy::start(
        moto.addr,
        Faults {
            fail_put: Some(APPS.to_owned()),
            ..Faults::default()
        },
    );
    s.endpoint(&failing.url());
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(3)
        .stderr_has("S3: cannot write s3://kz-catalogue/garden/v2/apps.json");
    assert!(failing.failures() >= 1);
    // apps.json is the previous one, byte for byte; tools.json is whole (the new one)
    assert_eq!(moto.get(APPS).expect("apps"), old_apps);
    assert_eq!(moto.list()[APPS], before[APPS]);
    assert_eq!(names(&moto.json(TOOLS)), ["tool-echo 0.1.1"]);
    assert_eq!(moto.get(LOCK), None, "the lock outlived a failed publish");

    // a failing preview write stops the publish before any catalogue file is touched
    let png = "garden/v2/images/tool-echo.png";
    moto.delete(png);
    let failing_preview = Proxy::start(
        moto.addr,
        Faults {
            fail_put: Some(png.to_owned()),
            ..Faults::default()
        },
    );
    s.endpoint(&failing_preview.url());
    let tools = moto.get(TOOLS);
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(3);
    assert_eq!(moto.get(APPS).expect("apps"), old_apps);
    assert_eq!(moto.get(TOOLS), tools);
    assert_eq!(moto.get(LOCK), None);

    // run again once S3 works: it completes
    s.endpoint(&moto.url());
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(0);
    assert_eq!(
        names(&moto.json(APPS)),
        ["team-notes 0.2.0", "service-kv 0.1.0"]
    );
    assert_eq!(moto.get(png).as_deref(), Some(PNG));
}

#[cfg(unix)]
#[test]
fn ctrl_c_while_publishing_releases_the_lock() {
    let moto = Moto::start();
    let slow = Proxy::start(
        moto.addr,
        Faults {
            delay: Duration::from_millis(400),
            ..Faults::default()
        },
    );
    let s = setup(&slow.url());
    let mut child = s.spawn(&["publish", "--catalog-only", "--stage", "dev"]);
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("locked s3://") {
            break;
        }
    }
    assert!(seen.contains("locked"), "{seen}");
    assert!(moto.get(LOCK).is_some(), "no lock while publishing");
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{seen}{}", rest.join("\n"));
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    assert_eq!(moto.get(LOCK), None, "the lock outlived Ctrl-C");
}

#[test]
fn settings_are_checked_before_anything_is_read() {
    let moto = Moto::start();
    let s = setup(&moto.url());
    s.ws.write(".env", format!("KAMIWAZA_REGISTRY_BUCKET={BUCKET}\n"));
    // No AWS_PROFILE_DEV: the default chain is tried (no keys here, no metadata service).
    let run = s
        .command(&["plan", "--catalog-only", "--stage", "dev"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("KAMIWAZA_REGISTRY_ENDPOINT", moto.url())
        .output()
        .expect("run kz");
    assert_eq!(run.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&run.stderr).contains("the AWS default chain"));
    s.ws.write(".env", format!("AWS_PROFILE_DEV={PROFILE}\n"));
    s.kz(&["publish", "--catalog-only", "--stage", "dev"])
        .code(2)
        .stderr_has("no bucket configured for stage `dev`");
    // a profile the files do not have: an S3 error naming it, nothing written
    s.ws.write(
        ".env",
        format!(
            "AWS_PROFILE_DEV=nobody\nKAMIWAZA_REGISTRY_BUCKET={BUCKET}\nKAMIWAZA_REGISTRY_ENDPOINT={}\n",
            moto.url()
        ),
    );
    let run = s.kz(&["publish", "--catalog-only", "--stage", "dev"]);
    run.code(3);
    assert!(run.stderr.contains("nobody"), "{}", run.stderr);
    assert!(moto.list().is_empty());
}
