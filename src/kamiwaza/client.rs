//! The HTTP side of the template API (reference §10, step 4): a password login at
//! `POST {api}/auth/token` (form-encoded, as kamiwaza-sdk 0.5's `UserPasswordAuthenticator`),
//! then every call with `Authorization: Bearer <token>` and the cookie `access_token=<token>`.
//! reqwest's blocking client on rustls (ring); certificates are verified against the Mozilla
//! roots plus KAMIWAZA_CA_CERT unless `--insecure`. The token lives only in this struct.

use super::{Connection, KamiwazaError, Secret};
use crate::error::{Error, Result};
use reqwest::blocking::RequestBuilder;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// Largest response body kz reads (a list of a few thousand templates fits easily).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A client logged in (or about to be) to one Kamiwaza.
pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
    token: Option<Secret>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `conn` (no request is made yet).
    pub fn new(conn: &Connection) -> Result<Client> {
        let client_err = |source| Error::from(KamiwazaError::Client { source });
        // The environment is not read behind kz's back: no proxy unless the CLI handed one in.
        let mut builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("kz/", env!("CARGO_PKG_VERSION")));
        if let Some((proxy, no_proxy)) = &conn.proxy {
            let proxy = reqwest::Proxy::https(proxy)
                .map_err(client_err)?
                .no_proxy(no_proxy.as_deref().and_then(reqwest::NoProxy::from_string));
            builder = builder.proxy(proxy);
        }
        if let Some(path) = &conn.ca_cert {
            let bad = |message: String| {
                Error::from(KamiwazaError::CaCert {
                    path: path.clone(),
                    message,
                })
            };
            let pem = std::fs::read(path).map_err(|e| Error::read(path, e))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("it holds no PEM certificate".to_owned()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if conn.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        Ok(Client {
            http: builder.build().map_err(client_err)?,
            base: conn.api_url.clone(),
            token: None,
        })
    }

    /// `POST {api}/auth/token` with the password grant; keeps the access token.
    pub fn login(&mut self, username: &str, password: &Secret) -> Result<()> {
        let url = format!("{}/auth/token", self.base);
        let form = [
            ("grant_type", "password"),
            ("username", username),
            ("password", password.expose()),
            ("scope", ""),
            ("client_id", "string"),
            ("client_secret", "string"),
        ];
        let request = self.http.post(&url).form(&form);
        let (status, body) = self.send(request)?;
        if matches!(status, 400 | 401 | 403) {
            return Err(KamiwazaError::LoginRefused {
                url,
                username: username.to_owned(),
                status,
            }
            .into());
        }
        let doing = "the login";
        let value = self.check(status, &body, &url, "log in")?;
        let token = value
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| KamiwazaError::BadResponse {
                doing: doing.to_owned(),
                message: "no `access_token` in the reply".to_owned(),
            })?;
        self.token = Some(Secret::new(token));
        Ok(())
    }

    /// `GET {api}{path}`, JSON back.
    pub fn get(&self, path: &str, doing: &str) -> Result<Value> {
        self.call(Method::GET, path, None, doing)
    }

    /// `POST {api}{path}` with a JSON body, JSON back.
    pub fn post(&self, path: &str, body: &Value, doing: &str) -> Result<Value> {
        self.call(Method::POST, path, Some(body), doing)
    }

    /// `POST {api}{path}` without a body, JSON back.
    pub fn post_empty(&self, path: &str, doing: &str) -> Result<Value> {
        self.call(Method::POST, path, None, doing)
    }

    /// `PUT {api}{path}` with a JSON body, JSON back.
    pub fn put(&self, path: &str, body: &Value, doing: &str) -> Result<Value> {
        self.call(Method::PUT, path, Some(body), doing)
    }

    fn call(&self, method: Method, path: &str, body: Option<&Value>, doing: &str) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose()).header(
                reqwest::header::COOKIE,
                format!("access_token={}", token.expose()),
            );
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(
                    serde_json::to_vec(body).map_err(|e| KamiwazaError::BadResponse {
                        doing: doing.to_owned(),
                        message: e.to_string(),
                    })?,
                );
        }
        let (status, bytes) = self.send(request)?;
        if matches!(status, 401 | 403) {
            return Err(KamiwazaError::Unauthorized {
                doing: doing.to_owned(),
                status,
            }
            .into());
        }
        self.check(status, &bytes, &url, doing)
    }

    fn send(&self, request: RequestBuilder) -> Result<(u16, Vec<u8>)> {
        let unreachable = |source: reqwest::Error| {
            let tls = is_tls_error(&source);
            Error::from(KamiwazaError::Unreachable {
                url: self.base.clone(),
                tls,
                source,
            })
        };
        let response = request.send().map_err(unreachable)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        use std::io::Read;
        response
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| KamiwazaError::BadResponse {
                doing: "a request".to_owned(),
                message: e.to_string(),
            })?;
        if bytes.len() > MAX_BODY {
            return Err(KamiwazaError::BadResponse {
                doing: "a request".to_owned(),
                message: format!("the reply is larger than {MAX_BODY} bytes"),
            }
            .into());
        }
        Ok((status, bytes))
    }

    /// A 2xx reply as JSON (an empty body is `null`), anything else as an error with the
    /// server's `detail` (the token blanked out should a server echo it).
    fn check(&self, status: u16, body: &[u8], url: &str, doing: &str) -> Result<Value> {
        if !(200..300).contains(&status) {
            return Err(KamiwazaError::Api {
                doing: doing.to_owned(),
                url: url.to_owned(),
                status,
                detail: self.redact(&detail(body)),
            }
            .into());
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(body).map_err(|e| {
            KamiwazaError::BadResponse {
                doing: doing.to_owned(),
                message: format!("invalid JSON from {url}: {e}"),
            }
            .into()
        })
    }

    fn redact(&self, text: &str) -> String {
        match &self.token {
            Some(token) if !token.expose().is_empty() => text.replace(token.expose(), "***"),
            _ => text.to_owned(),
        }
    }
}

/// The `detail` of a FastAPI error body, else the start of the body.
fn detail(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        if let Some(detail) = value.get("detail") {
            return match detail {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Whether a failed request failed on the server's certificate.
fn is_tls_error(err: &reqwest::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cause {
        if e.to_string().to_ascii_lowercase().contains("certificate") {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::detail;

    #[test]
    fn detail_prefers_fastapi_detail_and_cuts_long_bodies() {
        assert_eq!(
            detail(br#"{"detail": "Template not found"}"#),
            "Template not found"
        );
        assert_eq!(detail(br#"{"detail": [{"loc": 1}]}"#), r#"[{"loc":1}]"#);
        let long = "x".repeat(500);
        assert_eq!(detail(long.as_bytes()).chars().count(), 201);
        assert_eq!(detail(b"  plain  "), "plain");
    }
}
