//! The BuildKit session kz opens for one build: `POST /session` upgraded to HTTP/2, on which kz
//! serves the gRPC services BuildKit calls back: health, registry auth (from the credentials kz
//! finds as the docker CLI does), build secrets (`RUN --mount=type=secret`) and SSH agent
//! forwarding (`RUN --mount=type=ssh`). The session ends when [`Session`] is dropped.

use super::wire;
use crate::docker::Engine;
use crate::oci::auth::{Credential, CredentialStore};
use bollard_buildkit_proto::health::health_check_response::ServingStatus;
use bollard_buildkit_proto::health::health_server::{Health, HealthServer};
use bollard_buildkit_proto::health::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse,
};
use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::{Secrets, SecretsServer};
use bollard_buildkit_proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use bollard_buildkit_proto::moby::filesync::v1::auth_server::{Auth, AuthServer};
use bollard_buildkit_proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse,
    GetTokenAuthorityRequest, GetTokenAuthorityResponse, VerifyTokenAuthorityRequest,
    VerifyTokenAuthorityResponse,
};
use bollard_buildkit_proto::moby::sshforward::v1::ssh_server::{Ssh, SshServer};
use bollard_buildkit_proto::moby::sshforward::v1::{
    BytesMessage, CheckAgentRequest, CheckAgentResponse,
};
use bytes::Bytes;
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tonic::{Request, Response, Status};

/// The bytes of one build secret: never printed (`Debug` shows `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(pub Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What the session serves.
#[derive(Clone, Default)]
pub(crate) struct Services {
    /// Registry credentials for `FROM` images; `None`: anonymous.
    pub credentials: Option<CredentialStore>,
    /// Secret id → value.
    pub secrets: BTreeMap<String, SecretBytes>,
    /// SSH id → agent socket.
    pub ssh: BTreeMap<String, PathBuf>,
}

/// An open session; dropping it closes the connection.
pub(crate) struct Session {
    pub id: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why a session could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The engine answered 404: no BuildKit through this API.
    NotOffered,
    Failed(String),
}

const METHODS: &[&str] = &[
    "/grpc.health.v1.Health/Check",
    "/moby.filesync.v1.Auth/Credentials",
    "/moby.filesync.v1.Auth/FetchToken",
    "/moby.filesync.v1.Auth/GetTokenAuthority",
    "/moby.filesync.v1.Auth/VerifyTokenAuthority",
    "/moby.buildkit.secrets.v1.Secrets/GetSecret",
    "/moby.sshforward.v1.SSH/CheckAgent",
    "/moby.sshforward.v1.SSH/ForwardAgent",
];

/// Open a session on `engine` serving `services`.
pub(crate) async fn open(engine: &Engine, services: Services) -> Result<Session, OpenError> {
    let id = new_id();
    let mut req = wire::request(engine, http::Method::POST, "/session")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "h2c")
        .header("X-Docker-Expose-Session-Uuid", &id)
        .header("X-Docker-Expose-Session-Name", "kz")
        .header("X-Docker-Expose-Session-Sharedkey", &id);
    for m in METHODS {
        req = req.header("X-Docker-Expose-Session-Grpc-Method", *m);
    }
    let req = req
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| OpenError::Failed(e.to_string()))?;
    let resp = wire::send(engine, req)
        .await
        .map_err(|e| OpenError::Failed(format!("cannot open a BuildKit session: {e}")))?;
    let status = resp.status();
    if status == http::StatusCode::NOT_FOUND {
        return Err(OpenError::NotOffered);
    }
    if status != http::StatusCode::SWITCHING_PROTOCOLS {
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(OpenError::Failed(format!(
            "the engine refused a BuildKit session: {}",
            wire::error_message(status, &body)
        )));
    }
    let upgraded = hyper::upgrade::on(resp)
        .await
        .map_err(|e| OpenError::Failed(format!("the BuildKit session did not upgrade: {e}")))?;
    let io = Conn(TokioIo::new(upgraded));
    let Services {
        credentials,
        secrets,
        ssh,
    } = services;
    let task = tokio::spawn(async move {
        let router = tonic::transport::Server::builder()
            .add_service(HealthServer::new(Healthy))
            .add_service(AuthServer::new(RegistryAuth {
                store: credentials.map(Arc::new),
            }))
            .add_service(SecretsServer::new(SecretStore { secrets }))
            .add_service(SshServer::new(Agents { sockets: ssh }));
        let incoming = futures_util::stream::iter([Ok::<_, std::io::Error>(io)]);
        // The session ends with the build (the task is aborted) or when the engine hangs up.
        let _ = router.serve_with_incoming(incoming).await;
    });
    Ok(Session { id, task })
}

/// A random enough id: time, process and a counter through SHA-256.
fn new_id() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(now.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let hex = crate::build::context::hex(&h.finalize());
    format!("kz-{}", &hex[..25])
}

/// The upgraded stream, as tonic's server takes it.
struct Conn(TokioIo<hyper::upgrade::Upgraded>);

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

struct Healthy;

type BoxStream<T> = Pin<Box<dyn futures_util::Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Health for Healthy {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }
    async fn list(
        &self,
        _: Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("list"))
    }
    type WatchStream = BoxStream<HealthCheckResponse>;
    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch"))
    }
}

struct RegistryAuth {
    store: Option<Arc<CredentialStore>>,
}

#[tonic::async_trait]
impl Auth for RegistryAuth {
    async fn credentials(
        &self,
        req: Request<CredentialsRequest>,
    ) -> Result<Response<CredentialsResponse>, Status> {
        let anonymous = CredentialsResponse {
            username: String::new(),
            secret: String::new(),
        };
        let Some(store) = self.store.clone() else {
            return Ok(Response::new(anonymous));
        };
        let host = req.into_inner().host;
        // Helpers are programs: run them off the async threads.
        let found = tokio::task::spawn_blocking(move || store.lookup(&host))
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(match found {
            Ok(Credential::Basic { username, password }) => CredentialsResponse {
                username,
                secret: password.expose().to_owned(),
            },
            Ok(Credential::Token(token)) => CredentialsResponse {
                username: String::new(),
                secret: token.expose().to_owned(),
            },
            Ok(Credential::Anonymous) => anonymous,
            Err(e) => return Err(Status::unavailable(e.to_string())),
        }))
    }
    async fn fetch_token(
        &self,
        _: Request<FetchTokenRequest>,
    ) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("fetch_token"))
    }
    async fn get_token_authority(
        &self,
        _: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("get_token_authority"))
    }
    async fn verify_token_authority(
        &self,
        _: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("verify_token_authority"))
    }
}

struct SecretStore {
    secrets: BTreeMap<String, SecretBytes>,
}

#[tonic::async_trait]
impl Secrets for SecretStore {
    async fn get_secret(
        &self,
        req: Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = req.into_inner().id;
        match self.secrets.get(&id) {
            Some(v) => Ok(Response::new(GetSecretResponse { data: v.0.clone() })),
            None => Err(Status::not_found(format!(
                "secret `{id}` was not given to the build (compose `build.secrets`)"
            ))),
        }
    }
}

struct Agents {
    sockets: BTreeMap<String, PathBuf>,
}

/// The metadata key BuildKit names the SSH id under.
const SSH_ID_KEY: &str = "buildkit.ssh.id";

#[tonic::async_trait]
impl Ssh for Agents {
    async fn check_agent(
        &self,
        req: Request<CheckAgentRequest>,
    ) -> Result<Response<CheckAgentResponse>, Status> {
        let id = req.into_inner().id;
        let id = if id.is_empty() {
            "default".to_owned()
        } else {
            id
        };
        if self.sockets.contains_key(&id) {
            Ok(Response::new(CheckAgentResponse {}))
        } else {
            Err(Status::not_found(format!(
                "ssh `{id}` was not given to the build (compose `build.ssh`)"
            )))
        }
    }

    type ForwardAgentStream = BoxStream<BytesMessage>;

    async fn forward_agent(
        &self,
        req: Request<tonic::Streaming<BytesMessage>>,
    ) -> Result<Response<Self::ForwardAgentStream>, Status> {
        let id = req
            .metadata()
            .get(SSH_ID_KEY)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .unwrap_or("default")
            .to_owned();
        let path = self
            .sockets
            .get(&id)
            .ok_or_else(|| Status::not_found(format!("ssh `{id}` was not given to the build")))?;
        let agent = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|e| Status::unavailable(format!("ssh agent `{id}`: {e}")))?;
        let (read, mut write) = agent.into_split();
        let mut inbound = req.into_inner();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = inbound.next().await {
                if write.write_all(&msg.data).await.is_err() {
                    break;
                }
            }
            let _ = write.shutdown().await;
        });
        let stream = futures_util::stream::unfold(read, |mut read| async move {
            let mut buf = vec![0u8; 32 * 1024];
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(BytesMessage { data: buf }), read))
                }
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
