//! Real servers for the publish tests: Debian's docker-registry (distribution 2.8) on a free
//! loopback port with a temporary storage root (optionally behind htpasswd auth), a flaky TCP
//! proxy that answers the first N connections with 503 and then forwards, tiny images built on
//! the engine through bollard, and a raw HTTP/1.0 client to check the registry API.

use base64::Engine as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

pub(crate) struct RegistryServer {
    pub(crate) port: u16,
    pub(crate) root: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
    pub(crate) auth: Option<(String, String)>,
}

impl RegistryServer {
    /// Start a registry; with `auth`, it requires that user and password (htpasswd, bcrypt).
    pub(crate) fn start(auth: Option<(&str, &str)>) -> RegistryServer {
        Self::start_with(auth, None)
    }

    /// Start a registry that takes bearer tokens from `tokens` (the distribution token protocol).
    pub(crate) fn start_with_tokens(tokens: &TokenServer) -> RegistryServer {
        Self::start_with(None, Some(tokens))
    }

    fn start_with(auth: Option<(&str, &str)>, tokens: Option<&TokenServer>) -> RegistryServer {
        assert!(
            Path::new(REGISTRY_BIN).is_file(),
            "{REGISTRY_BIN} is missing: scripts/engine-setup.sh installs docker-registry"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("storage");
        std::fs::create_dir(&root).expect("storage");
        let mut auth_yaml = String::new();
        if let Some((user, pass)) = auth {
            let hash = bcrypt::hash(pass, 4).expect("bcrypt");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, format!("{user}:{hash}\n")).expect("htpasswd");
            auth_yaml = format!(
                "auth:\n  htpasswd:\n    realm: kz-test\n    path: {}\n",
                file.display()
            );
        }
        if let Some(t) = tokens {
            auth_yaml = format!(
                "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {SERVICE}\n    \
                 issuer: {ISSUER}\n    rootcertbundle: {}\n",
                t.port,
                t.cert.display()
            );
        }
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
                    root.display()
                ),
            )
            .expect("config");
            let mut child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start docker-registry");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return RegistryServer {
                        port,
                        root,
                        child,
                        _dir: dir,
                        auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
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

    /// GET `path` from the registry API (with the test's credentials, if any).
    pub(crate) fn get(&self, path: &str, accept: &str) -> Response {
        http_get(self.port, path, accept, self.auth.as_ref())
    }

    /// The JSON at `path`, asserting a 200.
    #[track_caller]
    pub(crate) fn json(&self, path: &str, accept: &str) -> serde_json::Value {
        let r = self.get(path, accept);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        serde_json::from_slice(&r.body).expect("json body")
    }

    /// Every file under the storage root with its size (to show nothing changed).
    pub(crate) fn storage_snapshot(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(&self.root).sort_by_file_name() {
            let e = e.expect("walk");
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(&self.root).expect("rel");
                let len = e.metadata().expect("meta").len();
                out.push((rel.display().to_string(), len));
            }
        }
        out
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: String,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) fn http_get(
    port: u16,
    path: &str,
    accept: &str,
    auth: Option<&(String, String)>,
) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\n");
    if let Some((u, p)) = auth {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req.push_str(&format!("Authorization: Basic {b}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let headers = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// A TCP proxy to `target` that answers its first `fail_first` connections with a 503 (after
/// reading the request head) and forwards every later one.
pub(crate) struct FlakyProxy {
    pub(crate) port: u16,
    pub(crate) failed: Arc<AtomicUsize>,
}

impl FlakyProxy {
    pub(crate) fn start(target: u16, fail_first: usize) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let failed = Arc::new(AtomicUsize::new(0));
        let count = failed.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                if count.load(Ordering::SeqCst) < fail_first {
                    count.fetch_add(1, Ordering::SeqCst);
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match client.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => break,
                        }
                    }
                    let _ = client.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                std::thread::spawn(move || {
                    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", target)) else {
                        return;
                    };
                    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone())
                    else {
                        return;
                    };
                    let up = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c2, &mut u2);
                        let _ = u2.shutdown(std::net::Shutdown::Write);
                    });
                    let _ = std::io::copy(&mut upstream, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                    let _ = up.join();
                });
            }
        });
        FlakyProxy { port, failed }
    }
}

/// Engine images a test made, removed when dropped.
pub(crate) struct Images {
    pub(crate) engine: bollard::Docker,
    pub(crate) names: Vec<String>,
}

impl Images {
    pub(crate) fn new() -> Images {
        Images {
            engine: bollard::Docker::connect_with_local_defaults().expect("engine"),
            names: Vec::new(),
        }
    }

    /// Build `FROM scratch` + one file + a label, for `platform`, tagged `tag`.
    pub(crate) async fn scratch(&mut self, tag: &str, platform: &str, content: &str) {
        use futures_util::StreamExt as _;
        let mut tar = tar::Builder::new(Vec::new());
        let dockerfile = format!(
            "FROM scratch\nCOPY hello.txt /hello.txt\nLABEL kz.test.platform=\"{platform}\"\n"
        );
        for (name, body) in [("Dockerfile", dockerfile.as_str()), ("hello.txt", content)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, body.as_bytes()).expect("tar");
        }
        let body = tar.into_inner().expect("tar");
        let options = bollard::query_parameters::BuildImageOptions {
            t: Some(tag.to_owned()),
            platform: platform.to_owned(),
            rm: true,
            ..Default::default()
        };
        let mut stream = self.engine.build_image(
            options,
            None,
            Some(bollard::body_full(bytes::Bytes::from(body))),
        );
        while let Some(item) = stream.next().await {
            let info = item.expect("build");
            assert!(
                info.error_detail.is_none(),
                "build {tag}: {:?}",
                info.error_detail
            );
        }
        self.names.push(tag.to_owned());
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let names = std::mem::take(&mut self.names);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                for n in names {
                    let _ = engine
                        .remove_image(
                            &n,
                            None::<bollard::query_parameters::RemoveImageOptions>,
                            None,
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

const SERVICE: &str = "kz-test-registry";
const ISSUER: &str = "kz-test-issuer";

/// A token server for the registry's token auth: it trades the one refresh token it knows
/// (`grant_type=refresh_token`, as the docker CLI sends identity tokens) for an ES256 JWT with
/// the scope asked for, signed by a key whose self-signed certificate the registry trusts.
pub(crate) struct TokenServer {
    pub(crate) port: u16,
    pub(crate) cert: PathBuf,
    /// Refresh-token requests seen, accepted or not.
    pub(crate) exchanges: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

impl TokenServer {
    pub(crate) fn start(refresh_token: &str) -> TokenServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["kz-test-tokens".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let cert_path = dir.path().join("tokens.pem");
        std::fs::write(&cert_path, cert.pem()).expect("pem");
        let x5c = base64::engine::general_purpose::STANDARD.encode(cert.der());
        let rng = ring::rand::SystemRandom::new();
        let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &rng,
        )
        .expect("signer");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let exchanges = Arc::new(AtomicUsize::new(0));
        let seen = exchanges.clone();
        let expected = refresh_token.to_owned();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                let Some((head, body)) = read_request(&mut c) else {
                    continue;
                };
                let form: std::collections::BTreeMap<String, String> =
                    form_urlencoded::parse(&body).into_owned().collect();
                let (status, reply) = if head.starts_with("POST /token")
                    && form.get("grant_type").map(String::as_str) == Some("refresh_token")
                {
                    seen.fetch_add(1, Ordering::SeqCst);
                    if form.get("refresh_token") == Some(&expected) {
                        let scope = form.get("scope").cloned().unwrap_or_default();
                        let jwt = sign_jwt(&signer, &rng, &x5c, &scope);
                        (
                            "200 OK",
                            format!("{{\"access_token\":\"{jwt}\",\"expires_in\":300}}"),
                        )
                    } else {
                        (
                            "401 Unauthorized",
                            "{\"error\":\"invalid_grant\"}".to_owned(),
                        )
                    }
                } else {
                    ("401 Unauthorized", "{}".to_owned())
                };
                let _ = c.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                        reply.len()
                    )
                    .as_bytes(),
                );
            }
        });
        TokenServer {
            port,
            cert: cert_path,
            exchanges,
            _dir: dir,
        }
    }
}

fn read_request(c: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let split = loop {
        let n = c.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    while body.len() < len {
        let n = c.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((head, body))
}

fn sign_jwt(
    signer: &ring::signature::EcdsaKeyPair,
    rng: &ring::rand::SystemRandom,
    x5c: &str,
    scope: &str,
) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    // `repository:<name>:<actions>`
    let mut access = Vec::new();
    let parts: Vec<&str> = scope.splitn(3, ':').collect();
    if let [kind, name, actions] = parts.as_slice() {
        access.push(serde_json::json!({
            "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()
        }));
    }
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "kz-test", "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": format!("kz-{now}-{}", access.len()), "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let sig = signer.sign(rng, signing_input.as_bytes()).expect("sign");
    format!("{signing_input}.{}", B64.encode(sig.as_ref()))
}
