//! `kz serve-registry`'s server: the registry folder over HTTPS (or plain HTTP), read-only.
//!
//! [`Server::bind`] listens (port 0 picks a free port; [`Server::local_addr`] tells which) and
//! [`Server::run`] serves until the shutdown future resolves, then lets requests in flight finish
//! for a short grace period. Nothing here prints: each answered request can be reported through
//! [`Server::with_access_log`]. Only files inside the folder are served (see `paths`), never a
//! secret, never a directory listing; the TLS key lives outside the folder (see `cert`).

mod body;
mod cert;
pub(crate) mod content_type;
mod handler;
mod paths;

pub use cert::{certificate_names, load_or_create, CertAction, CertInfo, Tls, CERT_FILE, KEY_FILE};

use crate::error::{Error, Result};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;
/// A client gets this long to finish the TLS handshake, and to send a request's headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// After the shutdown signal, requests in flight get this long to finish.
const GRACE: Duration = Duration::from_secs(3);

/// One answered request, for an access log.
#[derive(Debug)]
pub struct Access<'a> {
    pub peer: SocketAddr,
    pub method: &'a str,
    /// The request target as sent (path and query).
    pub target: &'a str,
    pub status: u16,
}

type AccessLog = Arc<dyn Fn(&Access<'_>) + Send + Sync>;

/// A bound, not yet running, registry server.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    root: Arc<Path>,
    log: Option<AccessLog>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("https", &self.tls.is_some())
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Listen on `host:port` to serve the folder `root`; HTTPS when `tls` is given.
    pub async fn bind(root: &Path, host: &str, port: u16, tls: Option<Tls>) -> Result<Server> {
        let root: Arc<Path> = root
            .canonicalize()
            .map_err(|e| Error::read(root, e))?
            .into();
        let listener = listen(host, port).await?;
        let local_addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: format!("{host}:{port}"),
            source,
        })?;
        Ok(Server {
            listener,
            local_addr,
            tls: tls.map(|t| TlsAcceptor::from(t.config)),
            root,
            log: None,
        })
    }

    /// The address actually bound (with the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn is_https(&self) -> bool {
        self.tls.is_some()
    }

    /// The served folder, canonical.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Call `log` after each answered request.
    #[must_use]
    pub fn with_access_log(mut self, log: impl Fn(&Access<'_>) + Send + Sync + 'static) -> Self {
        self.log = Some(Arc::new(log));
        self
    }

    /// Serve until `shutdown` resolves; then stop accepting and give requests in flight
    /// [`GRACE`] to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Server {
            listener,
            tls,
            root,
            log,
            ..
        } = self;
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(&slots).acquire_owned() => permit,
            };
            let Ok(permit) = permit else { break };
            let (tcp, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(_) => {
                        // out of file descriptors, or a connection reset before it was accepted:
                        // pause briefly rather than spin
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let conn = Connection {
                root: Arc::clone(&root),
                log: log.clone(),
                peer,
                watcher: graceful.watcher(),
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                conn.serve(tcp, tls).await;
                drop(permit);
            });
        }
        drop(listener);
        let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
    }
}

/// Bind `host` (a name, an IP address, `[v6]`) and `port`: the first address that works.
async fn listen(host: &str, port: u16) -> Result<TcpListener> {
    let addr_text = format!("{host}:{port}");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let candidates: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|source| Error::Listen {
                addr: addr_text.clone(),
                source,
            })?
            .collect(),
    };
    let mut last = std::io::Error::new(
        std::io::ErrorKind::AddrNotAvailable,
        "the host name resolves to no address",
    );
    for addr in candidates {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last = e,
        }
    }
    Err(Error::Listen {
        addr: addr_text,
        source: last,
    })
}

/// One accepted connection and what serving it needs.
struct Connection {
    root: Arc<Path>,
    log: Option<AccessLog>,
    peer: SocketAddr,
    watcher: Watcher,
}

impl Connection {
    async fn serve(self, tcp: TcpStream, tls: Option<TlsAcceptor>) {
        match tls {
            None => self.http(tcp).await,
            Some(acceptor) => {
                if let Ok(Ok(stream)) =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                {
                    self.http(stream).await;
                }
            }
        }
    }

    async fn http<S>(self, io: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            root,
            log,
            peer,
            watcher,
        } = self;
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let root = Arc::clone(&root);
            let log = log.clone();
            async move {
                let response = handler::respond(&root, req.method(), req.uri().path()).await;
                if let Some(log) = &log {
                    let target = req
                        .uri()
                        .path_and_query()
                        .map_or_else(|| req.uri().path(), |pq| pq.as_str());
                    log(&Access {
                        peer,
                        method: req.method().as_str(),
                        target,
                        status: response.status().as_u16(),
                    });
                }
                Ok::<_, Infallible>(response)
            }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(io), service);
        // a client going away mid-response is its business, not the server's
        let _ = watcher.watch(conn).await;
    }
}

/// Where the certificate of a workspace lives: beside the registry folder, never inside it.
pub fn cert_dir(root: &Path) -> PathBuf {
    root.join("build").join("kz-serve")
}
