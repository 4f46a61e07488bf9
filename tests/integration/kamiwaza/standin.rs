//! A STAND-IN for the Kamiwaza platform API: no Kamiwaza instance exists here, so the tests
//! serve the endpoints of reference §10 themselves, over HTTPS with a self-signed certificate
//! (rcgen), exactly as §10 describes them: `POST /api/auth/token` (form-encoded password grant
//! → `access_token`), then with `Authorization: Bearer <token>`: `GET /api/apps/app_templates`,
//! `GET /api/tool/templates`, `POST /api/apps/app_templates`, `PUT /api/apps/app_templates/{id}`,
//! `PUT /api/tool/tool_templates/{id}` (404 for an unknown id). Every request is recorded so the
//! tests can assert what kz sent.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub(super) const USER: &str = "admin";
pub(super) const PASSWORD: &str = "pw-Xq7-never-printed";
pub(super) const TOKEN: &str = "tok-9f3e-never-printed";

/// One request as the stand-in saw it.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) authorization: Option<String>,
    pub(super) cookie: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) body: String,
}

impl Seen {
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct State {
    apps: Vec<Value>,
    tools: Vec<Value>,
    seen: Vec<Seen>,
    next_id: u32,
}

/// The stand-in server; stopped when dropped.
pub(super) struct StandIn {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// The server certificate (PEM), for KAMIWAZA_CA_CERT.
    pub(super) cert_file: tempfile::NamedTempFile,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl StandIn {
    pub(super) fn start(apps: Vec<Value>, tools: Vec<Value>) -> StandIn {
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let mut cert_file = tempfile::NamedTempFile::new().expect("tmp");
        std::io::Write::write_all(&mut cert_file, cert.pem().as_bytes()).expect("pem");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("tls");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let state = Arc::new(Mutex::new(State {
            apps,
            tools,
            next_id: 1,
            ..State::default()
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::clone(&state);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    // a client that rejects the certificate ends the handshake: fine
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, hyper::Error>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        StandIn {
            addr,
            state,
            cert_file,
            runtime: Some(runtime),
        }
    }

    pub(super) fn url(&self) -> String {
        format!("https://127.0.0.1:{}/api", self.addr.port())
    }

    pub(super) fn seen(&self) -> Vec<Seen> {
        self.state.lock().expect("lock").seen.clone()
    }

    pub(super) fn clear(&self) {
        self.state.lock().expect("lock").seen.clear();
    }

    pub(super) fn apps(&self) -> Vec<Value> {
        self.state.lock().expect("lock").apps.clone()
    }

    pub(super) fn tools(&self) -> Vec<Value> {
        self.state.lock().expect("lock").tools.clone()
    }

    /// `METHOD /path` of every request, in order.
    pub(super) fn lines(&self) -> Vec<String> {
        self.seen()
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }
}

fn reply(status: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

async fn handle(
    state: &Mutex<State>,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let seen = Seen {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        authorization: header("authorization"),
        cookie: header("cookie"),
        content_type: header("content-type"),
        body: String::new(),
    };
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let seen = Seen {
        body: String::from_utf8_lossy(&body).into_owned(),
        ..seen
    };
    let mut st = state.lock().expect("lock");
    st.seen.push(seen.clone());
    if seen.method == "POST" && seen.path == "/api/auth/token" {
        let form = parse_form(&seen.body);
        let ok = form.get("grant_type").map(String::as_str) == Some("password")
            && form.get("username").map(String::as_str) == Some(USER)
            && form.get("password").map(String::as_str) == Some(PASSWORD);
        return if ok {
            reply(
                200,
                &json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 3600}),
            )
        } else {
            reply(401, &json!({"detail": "Incorrect username or password"}))
        };
    }
    if seen.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return reply(401, &json!({"detail": "Not authenticated"}));
    }
    let segments: Vec<&str> = seen.path.trim_start_matches("/api/").split('/').collect();
    match (seen.method.as_str(), segments.as_slice()) {
        ("GET", ["apps", "app_templates"]) => reply(200, &Value::Array(st.apps.clone())),
        ("GET", ["tool", "templates"]) => reply(200, &Value::Array(st.tools.clone())),
        ("POST", ["apps", "app_templates"]) => {
            let Ok(Value::Object(mut t)) = serde_json::from_str::<Value>(&seen.body) else {
                return reply(422, &json!({"detail": "body must be an object"}));
            };
            let id = format!("tpl-{}", st.next_id);
            st.next_id += 1;
            t.insert("id".into(), json!(id));
            t.insert("created_at".into(), json!("2026-01-01T00:00:00"));
            st.apps.push(Value::Object(t.clone()));
            reply(200, &Value::Object(t))
        }
        ("PUT", ["apps", "app_templates", id]) | ("PUT", ["tool", "tool_templates", id]) => {
            let Ok(Value::Object(update)) = serde_json::from_str::<Value>(&seen.body) else {
                return reply(422, &json!({"detail": "body must be an object"}));
            };
            let list = if segments[0] == "apps" {
                &mut st.apps
            } else {
                &mut st.tools
            };
            let Some(t) = list.iter_mut().find(|t| t["id"] == json!(id)) else {
                return reply(404, &json!({"detail": "Template not found"}));
            };
            let Value::Object(t) = t else {
                return reply(500, &json!({}));
            };
            t.extend(update);
            reply(200, &Value::Object(t.clone()))
        }
        ("POST", ["v1", "apps", "remote", "sync"]) => {
            let names = serde_json::from_str::<Value>(&seen.body)
                .ok()
                .and_then(|v| v.get("names").cloned());
            reply(200, &json!({"synced": names.unwrap_or(json!("all"))}))
        }
        _ => reply(404, &json!({"detail": "Not Found"})),
    }
}

pub(super) fn parse_form(body: &str) -> std::collections::BTreeMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}
