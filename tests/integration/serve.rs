//! `kz serve-registry`: the real binary on loopback, checked with a real HTTPS client (reqwest on
//! rustls, verification on, trusting the generated certificate read from disk) and with raw
//! request lines (reqwest would normalise `..` away before the server could see it).

use crate::harness::{Ws, KZ};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

const REG: &str = "build/kamiwaza-extension-registry";
/// In the workspace root's kz.yaml: a response holding it has escaped the registry.
const OUTSIDE: &str = "OUTSIDE-THE-REGISTRY";
const CORS: [(&str, &str); 3] = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET, OPTIONS"),
    ("access-control-allow-headers", "Content-Type"),
];

/// A workspace with a built registry, the files a registry holds, and secrets planted in it.
fn workspace() -> Ws {
    let ws = Ws::new();
    ws.write("kz.yaml", format!("# {OUTSIDE}\n"))
        .write("apps/.keep", "")
        .write(&format!("{REG}/garden/v2/apps.json"), "[]")
        .write(
            &format!("{REG}/garden/v2/tools.json"),
            "[{\"name\": \"t\"}]",
        )
        .write(
            &format!("{REG}/garden/v2/images/logo.png"),
            [0x89, b'P', b'N', b'G'],
        )
        .write(&format!("{REG}/garden/v2/images/shot.JPG"), "jpg")
        .write(&format!("{REG}/garden/v2/images/icon.svg"), "<svg/>")
        .write(&format!("{REG}/README.md"), "# registry\n")
        .write(&format!("{REG}/package-setup.sh"), "#!/bin/sh\n")
        .write(&format!("{REG}/docker-images/app.tar"), big_body())
        .write(&format!("{REG}/garden/v2/server.key"), "planted key\n")
        .write(&format!("{REG}/.env"), "AWS_SECRET_ACCESS_KEY=x\n")
        .write(&format!("{REG}/.certs/server.pem"), "old cert\n");
    ws
}

/// 3 MiB and a bit: more than one chunk, with every byte value.
fn big_body() -> Vec<u8> {
    (0..3 * 1024 * 1024 + 7u32)
        .map(|i| (i % 251) as u8)
        .collect()
}

/// A running `kz serve-registry`, stopped (killed) when dropped.
struct Served {
    child: Child,
    /// `https://127.0.0.1:PORT` (or `http://…`), from the env line on stdout.
    url: String,
    addr: SocketAddr,
    stdout: String,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start(ws: &Ws, extra: &[&str]) -> Served {
        let mut child = Command::new(KZ)
            .args(["serve-registry", "--host", "127.0.0.1", "--port", "0"])
            .args(extra)
            .current_dir(ws.path("."))
            .env("KZ_COLOR", "never")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kz");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut err_pipe = child.stderr.take().expect("stderr");
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().expect("lock").push_str(&text);
            }
        });
        let (tx, rx) = mpsc::channel();
        let out_pipe = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = String::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "no URL line from kz\n--- stdout\n{stdout}\n--- stderr\n{}",
                    stderr.lock().expect("lock")
                );
            };
            stdout.push_str(&line);
            stdout.push('\n');
            if let Some(url) = line.strip_prefix("export KAMIWAZA_EXTENSION_LOCAL_STAGE_URL=") {
                break url.trim_matches('"').to_owned();
            }
        };
        let hostport = url.split("://").nth(1).expect("scheme");
        let addr = hostport.parse().expect("host:port in the URL");
        Served {
            child,
            url,
            addr,
            stdout,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// stderr once it holds `needle` (it is read on another thread, so it may lag stdout).
    #[track_caller]
    fn stderr_has(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stderr = self.stderr();
            if stderr.contains(needle) {
                return stderr;
            }
            assert!(
                Instant::now() < deadline,
                "stderr lacks {needle:?}:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send SIGINT (as Ctrl-C does) and wait for the exit code.
    #[cfg(unix)]
    fn interrupt(mut self) -> (i32, String) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success(), "kill -INT failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // the pipe is closed: the reader ends once it has every line
                if let Some(reader) = self.stderr_reader.take() {
                    reader.join().expect("stderr reader");
                }
                return (status.code().unwrap_or(-1), self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "kz did not stop within 10 s of SIGINT\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A client trusting only the certificate kz wrote (verification on, no system roots).
fn tls_config(ws: &Ws) -> rustls::ClientConfig {
    let pem = std::fs::read(ws.path("build/kz-serve/server.pem")).expect("server.pem");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.expect("pem")).expect("root");
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn client(ws: &Ws) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(ws))
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Send `GET <target>` exactly as written over TLS; the status and the whole response.
async fn raw_get(ws: &Ws, served: &Served, target: &str) -> (u16, String) {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(ws)));
    let tcp = tokio::net::TcpStream::connect(served.addr)
        .await
        .expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    // a server closing without close_notify is fine here: we have the bytes
    let _ = tls.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {target:?}: {text:?}"));
    (status, text)
}

/// GET `path` (relative to the served root) with `http`.
async fn get(http: &reqwest::Client, served: &Served, path: &str) -> reqwest::Response {
    http.get(format!("{}/{path}", served.url))
        .send()
        .await
        .expect("GET")
}

#[track_caller]
fn assert_cors(headers: &reqwest::header::HeaderMap) {
    for (name, value) in CORS {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} in {headers:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn catalogue_files_are_served_with_their_content_types_and_cors_headers() {
    let ws = workspace();
    let served = Served::start(&ws, &[]);
    assert!(
        served.url.starts_with("https://127.0.0.1:"),
        "{}",
        served.url
    );
    assert!(
        served
            .stdout
            .contains("export KAMIWAZA_EXTENSION_STAGE=LOCAL\n"),
        "{}",
        served.stdout
    );
    served.stderr_has(&format!("Apps:  {}/garden/v2/apps.json", served.url));
    served.stderr_has(&format!("Tools: {}/garden/v2/tools.json", served.url));
    let http = client(&ws);
    let cases: [(&str, &str, Vec<u8>); 9] = [
        ("garden/v2/apps.json", "application/json", b"[]".to_vec()),
        (
            "garden/v2/tools.json",
            "application/json",
            b"[{\"name\": \"t\"}]".to_vec(),
        ),
        (
            "garden/v2/images/logo.png",
            "image/png",
            vec![0x89, b'P', b'N', b'G'],
        ),
        ("garden/v2/images/shot.JPG", "image/jpeg", b"jpg".to_vec()),
        (
            "garden/v2/images/icon.svg",
            "image/svg+xml",
            b"<svg/>".to_vec(),
        ),
        (
            "README.md",
            "text/markdown; charset=utf-8",
            b"# registry\n".to_vec(),
        ),
        (
            "package-setup.sh",
            "text/x-shellscript",
            b"#!/bin/sh\n".to_vec(),
        ),
        ("docker-images/app.tar", "application/x-tar", big_body()),
        // percent-encoded names are decoded (once)
        ("garden/v2/%61pps.json", "application/json", b"[]".to_vec()),
    ];
    for (path, content_type, body) in cases {
        let resp = get(&http, &served, path).await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], content_type, "{path}");
        assert_eq!(
            resp.headers()["content-length"],
            body.len().to_string().as_str()
        );
        assert_cors(resp.headers());
        assert_eq!(resp.bytes().await.expect("body").as_ref(), body, "{path}");
    }

    let head = http
        .head(format!("{}/garden/v2/apps.json", served.url))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "2");
    assert_eq!(head.headers()["content-type"], "application/json");
    assert!(head.bytes().await.expect("body").is_empty());

    let options = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/garden/v2/apps.json", served.url),
        )
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(options.status(), 200);
    assert_cors(options.headers());
    assert!(options.bytes().await.expect("body").is_empty());

    let post = http
        .post(format!("{}/garden/v2/apps.json", served.url))
        .body("[1]")
        .send()
        .await
        .expect("POST");
    assert_eq!(post.status(), 405);
    assert_cors(post.headers());

    for missing in ["", "garden/v2", "garden/v2/", "garden/v2/nope.json"] {
        let resp = get(&http, &served, missing).await;
        assert_eq!(resp.status(), 404, "/{missing}: no listings, no such file");
        assert_cors(resp.headers());
    }
    assert_eq!(
        std::fs::read(ws.path(&format!("{REG}/garden/v2/apps.json"))).expect("unchanged"),
        b"[]"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn traversal_attempts_are_refused() {
    let ws = workspace();
    #[cfg(unix)]
    {
        let link = |target: &str, name: &str| {
            std::os::unix::fs::symlink(target, ws.path(&format!("{REG}/{name}"))).expect("link");
        };
        link("../../../../kz.yaml", "garden/v2/escape.json");
        link("../..", "up");
        link("garden/v2/apps.json", "alias.json");
        for name in ["garden/v2/escape.json", "up/kz.yaml"] {
            let target = std::fs::read_to_string(ws.path(&format!("{REG}/{name}")));
            assert!(
                target.expect(name).contains(OUTSIDE),
                "{name} should lead out"
            );
        }
    }
    let served = Served::start(&ws, &[]);
    let (status, text) = raw_get(&ws, &served, "/garden/v2/apps.json").await;
    assert_eq!(status, 200, "the raw client works: {text}");
    for target in [
        "/../kz.yaml",
        "/../../kz.yaml",
        "/garden/v2/../../../kz.yaml",
        "/%2e%2e/kz.yaml",
        "/%2E%2E/%2e%2e/kz.yaml",
        "/.%2e/.%2e/kz.yaml",
        "/garden/..%2f..%2f..%2fkz.yaml",
        "/garden/%2e%2e%2f%2e%2e%2f%2e%2e%2fkz.yaml",
        "/garden/..%5c..%5c..%5ckz.yaml",
        "/%2fkz.yaml",
        "/kz.yaml%00.json",
        "//../kz.yaml",
        "http://127.0.0.1/../kz.yaml",
    ] {
        let (status, text) = raw_get(&ws, &served, target).await;
        assert!(
            status == 400 || status == 404,
            "{target}: status {status}\n{text}"
        );
        assert!(!text.contains(OUTSIDE), "{target} escaped:\n{text}");
    }
    #[cfg(unix)]
    {
        let http = client(&ws);
        for path in ["garden/v2/escape.json", "up/kz.yaml"] {
            let resp = get(&http, &served, path).await;
            assert_eq!(resp.status(), 404, "{path}");
            let body = resp.text().await.expect("body");
            assert!(!body.contains(OUTSIDE), "{path} escaped: {body}");
        }
        let alias = get(&http, &served, "alias.json").await;
        assert_eq!(alias.status(), 200, "a link inside the registry is fine");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_private_key_is_unreachable() {
    let ws = workspace();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        "../../kz-serve/server.key",
        ws.path(&format!("{REG}/garden/key.json")),
    )
    .expect("link");
    let served = Served::start(&ws, &[]);
    let key = std::fs::read_to_string(ws.path("build/kz-serve/server.key")).expect("key");
    assert!(key.contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.path("build/kz-serve/server.key"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "key mode {mode:o}");
    }
    for target in [
        "/../kz-serve/server.key",
        "/%2e%2e/kz-serve/server.key",
        "/..%2fkz-serve%2fserver.key",
        "/garden/v2/server.key",
        "/garden/key.json",
        "/.env",
        "/.certs/server.pem",
    ] {
        let (status, text) = raw_get(&ws, &served, target).await;
        assert!(
            status == 400 || status == 404,
            "{target}: status {status}\n{text}"
        );
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("planted key"),
            "{target} leaked a key:\n{text}"
        );
    }
    let http = client(&ws);
    for path in ["garden/v2/server.key", "garden/key.json", ".env"] {
        let resp = get(&http, &served, path).await;
        assert_eq!(resp.status(), 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_requests_are_all_served() {
    let ws = workspace();
    for i in 0..50 {
        ws.write(
            &format!("{REG}/garden/v2/images/preview-{i:02}.png"),
            format!("image number {i}\n").repeat(i + 1),
        );
    }
    let served = Served::start(&ws, &[]);
    let http = client(&ws);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let http = http.clone();
            let url = if i % 10 == 9 {
                format!("{}/docker-images/app.tar", served.url)
            } else {
                format!("{}/garden/v2/images/preview-{i:02}.png", served.url)
            };
            tokio::spawn(async move {
                let resp = http.get(url).send().await.expect("GET");
                let status = resp.status().as_u16();
                let body = resp.bytes().await.expect("body");
                (i, status, body)
            })
        })
        .collect();
    let big = big_body();
    for task in tasks {
        let (i, status, body) = task.await.expect("task");
        assert_eq!(status, 200, "request {i}");
        if i % 10 == 9 {
            assert!(body.as_ref() == big.as_slice(), "request {i}: tar differs");
        } else {
            assert_eq!(
                body.as_ref(),
                format!("image number {i}\n").repeat(i + 1).as_bytes(),
                "request {i}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_mode_serves_plain_http_and_makes_no_certificate() {
    let ws = workspace();
    let served = Served::start(&ws, &["--http"]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    // reqwest wants a TLS configuration even for plain HTTP: one that trusts nothing
    let trusts_nothing = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let resp = reqwest::Client::builder()
        .use_preconfigured_tls(trusts_nothing)
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{}/garden/v2/tools.json", served.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 200);
    assert_cors(resp.headers());
    assert_eq!(resp.text().await.expect("body"), "[{\"name\": \"t\"}]");
    assert!(!ws.exists("build/kz-serve"), "--http made a certificate");
}

#[cfg(unix)]
#[test]
fn sigint_stops_the_server_cleanly_and_the_certificate_is_reused() {
    let ws = workspace();
    let first = Served::start(&ws, &[]);
    first.stderr_has("Created self-signed certificate build/kz-serve/server.pem");
    let pem = std::fs::read(ws.path("build/kz-serve/server.pem")).expect("pem");
    let key = std::fs::read(ws.path("build/kz-serve/server.key")).expect("key");
    // a client holding an idle keep-alive connection must not delay the stop
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let http = runtime.block_on(async { client(&ws) });
    let status = runtime.block_on(async {
        let url = format!("{}/garden/v2/apps.json", first.url);
        http.get(url).send().await.expect("GET").status()
    });
    assert_eq!(status, 200);
    let started = Instant::now();
    let (code, stderr) = first.interrupt();
    assert_eq!(code, 0, "{stderr}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?} to stop");
    assert!(stderr.contains("Stopped."), "{stderr}");
    drop(http);

    let second = Served::start(&ws, &[]);
    second.stderr_has("Using certificate build/kz-serve/server.pem");
    assert_eq!(
        std::fs::read(ws.path("build/kz-serve/server.pem")).expect("pem"),
        pem
    );
    assert_eq!(
        std::fs::read(ws.path("build/kz-serve/server.key")).expect("key"),
        key
    );
    let (code, _) = second.interrupt();
    assert_eq!(code, 0);
}

#[test]
fn an_unusable_certificate_is_replaced() {
    let ws = workspace();
    ws.write("build/kz-serve/server.pem", "not a certificate\n")
        .write("build/kz-serve/server.key", "not a key\n");
    let served = Served::start(&ws, &[]);
    served.stderr_has("Replaced certificate");
    let pem = std::fs::read_to_string(ws.path("build/kz-serve/server.pem")).expect("pem");
    assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
}

#[test]
fn without_a_registry_it_says_to_build_one() {
    let ws = Ws::new();
    ws.write("apps/.keep", "");
    ws.kz(&["serve-registry", "--port", "0"])
        .code(2)
        .stderr_has("no registry to serve")
        .stderr_has("hint: build it first with `kz build-registry`");
    assert!(!ws.exists("build/kz-serve"));
}
