//! One raw HTTP/1.1 connection to the engine (unix socket or TCP), for the two requests bollard
//! keeps to itself: the `/session` upgrade (whose gRPC services kz chooses) and a `/build` with
//! `version=2` tied to that session.

use crate::docker::Engine;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Send `req` (its URI a path) on a fresh connection; the connection lives until the response
/// and any upgrade are done.
pub(super) async fn send<B>(engine: &Engine, req: Request<B>) -> io::Result<Response<Incoming>>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let host = engine.host();
    let mut sender = if let Some(path) = host.strip_prefix("unix://") {
        handshake(tokio::net::UnixStream::connect(path).await?).await?
    } else {
        let addr = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
            .unwrap_or(host)
            .trim_end_matches('/');
        handshake(tokio::net::TcpStream::connect(addr).await?).await?
    };
    sender.send_request(req).await.map_err(io::Error::other)
}

async fn handshake<S, B>(stream: S) -> io::Result<http1::SendRequest<B>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        // Ends with the request (or the upgraded stream); its error shows in the response.
        let _ = conn.with_upgrades().await;
    });
    Ok(sender)
}

/// A request to the engine's API under the negotiated version.
pub(super) fn request(
    engine: &Engine,
    method: http::Method,
    path_and_query: &str,
) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(format!("{}{path_and_query}", engine.api_prefix()))
        .header(http::header::HOST, "docker")
}

/// The engine's JSON error body (`{"message": "..."}`), else the text.
pub(super) fn error_message(status: http::StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| format!("{status}: {}", text.trim()))
}
