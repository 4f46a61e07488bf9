//! Building with the engine's built-in BuildKit through the Engine API: a session kz serves
//! ([`session`]: auth, secrets, SSH), then `POST /build?version=2&session=…` with kz's
//! deterministic context tar as the body, BuildKit's progress decoded into steps
//! ([`progress`]). Why this path and not the gRPC solve path: docs/architecture.md.

mod progress;
pub(crate) mod session;
mod wire;

use super::context::Context;
use super::{BuildEvent, BuildOptions, BuildTarget, SecretFrom};
use crate::docker::Engine;
use crate::error::Error;
use base64::Engine as _;
use bollard_buildkit_proto::moby::buildkit::v1::StatusResponse;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::io;

/// `Ok(())` when the engine serves `/session` and `/grpc` (BuildKit through the API), else
/// the reason, e.g. `/session answered 404`.
pub(crate) async fn probe(engine: &Engine) -> Result<(), String> {
    for endpoint in ["/session", "/grpc"] {
        let req = wire::request(engine, http::Method::POST, endpoint)
            .body(http_body_util::Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        match wire::send(engine, req).await {
            Ok(resp) if resp.status() == http::StatusCode::NOT_FOUND => {
                return Err(format!("its {endpoint} endpoint answered 404"));
            }
            // Anything else (400: "no upgrade proto") means the endpoint is there; a transport
            // error shows up again, with its cause, in the build itself.
            _ => {}
        }
    }
    Ok(())
}

/// What the build needs besides the context: resolved secrets and SSH sockets, the network.
fn services(target: &BuildTarget, opts: &BuildOptions) -> Result<session::Services, Error> {
    let mut secrets = BTreeMap::new();
    for s in &target.extra.secrets {
        let value = match &s.from {
            SecretFrom::Value(v) => v.clone(),
            SecretFrom::File(path) => {
                session::SecretBytes(std::fs::read(path).map_err(|e| Error::read(path.clone(), e))?)
            }
        };
        secrets.insert(s.id.clone(), value);
    }
    let ssh = target
        .extra
        .ssh
        .iter()
        .map(|s| (s.id.clone(), s.socket.clone()))
        .collect();
    Ok(session::Services {
        credentials: opts.credentials.clone().map(|c| c.0),
        secrets,
        ssh,
    })
}

/// The `/build` query for BuildKit.
fn query(
    target: &BuildTarget,
    opts: &BuildOptions,
    dockerfile: &str,
    tag: &str,
    labels: &BTreeMap<String, String>,
    session: &str,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("version", "2");
    q.append_pair("session", session);
    q.append_pair("buildid", session);
    q.append_pair("t", tag);
    q.append_pair("dockerfile", dockerfile);
    let json = |m: &BTreeMap<String, String>| serde_json::to_string(m).unwrap_or_default();
    q.append_pair("buildargs", &json(&target.args));
    q.append_pair("labels", &json(labels));
    if let Some(t) = &target.target {
        q.append_pair("target", t);
    }
    if let Some(p) = target.platform(opts) {
        q.append_pair("platform", p);
    }
    if opts.no_cache {
        q.append_pair("nocache", "1");
    }
    if let Some(n) = opts.network.as_ref().or(target.extra.network.as_ref()) {
        q.append_pair("networkmode", n);
    }
    for h in &target.extra.extra_hosts {
        q.append_pair("extrahosts", h);
    }
    if let Some(s) = target.extra.shm_size {
        q.append_pair("shmsize", &s.to_string());
    }
    if !target.extra.cache_from.is_empty() {
        q.append_pair(
            "cachefrom",
            &serde_json::to_string(&target.extra.cache_from).unwrap_or_default(),
        );
    }
    q.finish()
}

/// Run the build; returns the new image's id.
pub(super) async fn build(
    engine: &Engine,
    target: &BuildTarget,
    opts: &BuildOptions,
    ctx: Context,
    tag: &str,
    labels: BTreeMap<String, String>,
    on_event: &(impl Fn(BuildEvent) + Send + Sync),
) -> Result<String, Error> {
    let doing = |what: &str| format!("{what} {tag} with BuildKit");
    let engine_err = |what: &str, e: io::Error| crate::docker::engine_error(doing(what), e.into());
    let services = services(target, opts)?;
    let session = session::open(engine, services).await.map_err(|e| match e {
        session::OpenError::NotOffered => engine_err(
            "build",
            io::Error::other("the engine does not offer BuildKit sessions"),
        ),
        session::OpenError::Failed(m) => engine_err("build", io::Error::other(m)),
    })?;
    let q = query(target, opts, &ctx.dockerfile, tag, &labels, &session.id);
    let (body, writer) = super::run::tar_stream(ctx);
    let body = http_body_util::StreamBody::new(body.map(|r| r.map(hyper::body::Frame::data)));
    let req = wire::request(engine, http::Method::POST, &format!("/build?{q}"))
        .header(http::header::CONTENT_TYPE, "application/x-tar")
        .body(body)
        .map_err(|e| engine_err("build", io::Error::other(e)))?;
    let resp = match wire::send(engine, req).await {
        Ok(r) => r,
        Err(e) => {
            if let Ok(Err(tar_err)) = writer.await {
                return Err(tar_err);
            }
            return Err(engine_err("build", e));
        }
    };
    let status = resp.status();
    let mut body = resp.into_body();
    if !status.is_success() {
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let message = wire::error_message(status, &bytes);
        return Err(crate::docker::engine_error(
            doing("build"),
            bollard::errors::Error::DockerResponseServerError {
                status_code: status.as_u16(),
                message,
            },
        ));
    }
    let mut progress = progress::Progress::default();
    let mut pending = Vec::<u8>::new();
    let mut image_id = None;
    let mut failure = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| engine_err("read the build of", io::Error::other(e)))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        while let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            match handle_line(&line, &mut progress, on_event) {
                Line::Image(id) => image_id = Some(id),
                Line::Error(m) => failure = Some(m),
                Line::Other => {}
            }
        }
    }
    if !pending.is_empty() {
        match handle_line(&pending, &mut progress, on_event) {
            Line::Image(id) => image_id = Some(id),
            Line::Error(m) => failure = Some(m),
            Line::Other => {}
        }
    }
    drop(session);
    let tar_result = writer.await;
    if let Some(message) = failure {
        let (step, log) = progress.failure();
        return Err(Error::BuildFailed {
            image: tag.to_owned(),
            step,
            log,
            message: message.trim_end().to_owned(),
        });
    }
    match tar_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(e) => {
            return Err(Error::invalid(
                &target.context,
                format!("sending stopped: {e}"),
            ))
        }
    }
    match image_id {
        Some(id) => Ok(id),
        None => Err(Error::invalid(
            &target.context,
            format!("the engine gave {tag} no image id"),
        )),
    }
}

enum Line {
    Image(String),
    Error(String),
    Other,
}

/// One JSON record of the `/build` stream.
fn handle_line(
    line: &[u8],
    progress: &mut progress::Progress,
    on_event: &impl Fn(BuildEvent),
) -> Line {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
        return Line::Other;
    };
    if let Some(detail) = v.get("errorDetail").or_else(|| v.get("error")) {
        let message = detail
            .get("message")
            .and_then(|m| m.as_str())
            .or_else(|| detail.as_str())
            .unwrap_or("the build failed");
        return Line::Error(message.to_owned());
    }
    match v.get("id").and_then(|i| i.as_str()) {
        Some("moby.buildkit.trace") => {
            let decoded = v
                .get("aux")
                .and_then(|a| a.as_str())
                .and_then(|a| base64::engine::general_purpose::STANDARD.decode(a).ok())
                .and_then(|b| <StatusResponse as prost::Message>::decode(b.as_slice()).ok());
            if let Some(status) = decoded {
                progress.update(status, on_event);
            }
            Line::Other
        }
        Some("moby.image.id") => v
            .get("aux")
            .and_then(|a| a.get("ID"))
            .and_then(|i| i.as_str())
            .map_or(Line::Other, |id| Line::Image(id.to_owned())),
        _ => Line::Other,
    }
}
