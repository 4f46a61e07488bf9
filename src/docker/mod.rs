//! The Docker engine: how kz connects to it (the docker CLI's defaults, API version negotiated),
//! the labels kz puts on everything it creates, and the errors an engine call can end in.
//! Every engine call in kz goes through [`Engine`]; nothing shells out to the docker CLI.

use crate::error::Error;
use bollard::Docker;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where the docker CLI looks when `DOCKER_HOST` is unset.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Label on every container, network, volume and image kz creates.
pub const LABEL_MANAGED: &str = "dev.kz.managed";
/// Label naming the `kz test` / `kz run` session that created a resource.
pub const LABEL_SESSION: &str = "dev.kz.session";
/// Label on built images: the content hash of everything that went into the build.
pub const LABEL_CONTENT_HASH: &str = "dev.kz.content-hash";

/// Requests such as builds and pushes stream for as long as they run; this bounds one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// How to reach the engine, resolved from the environment the way the docker CLI does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// `unix:///path`, `tcp://host:port` or `http://host:port`.
    pub host: String,
}

impl EngineConfig {
    /// `DOCKER_HOST` when set and non-empty, else the default socket.
    pub fn from_env(env: &BTreeMap<String, String>) -> Self {
        let host = env
            .get("DOCKER_HOST")
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .unwrap_or(DEFAULT_HOST)
            .to_owned();
        EngineConfig { host }
    }
}

/// A connected engine whose API version has been negotiated.
#[derive(Clone, Debug)]
pub struct Engine {
    docker: Docker,
    host: String,
    /// Whether the engine offers BuildKit (`Err(why)` when not), probed once.
    buildkit: std::sync::Arc<tokio::sync::OnceCell<Result<(), String>>>,
}

impl Engine {
    /// Connect and negotiate the API version. An engine that does not answer is
    /// [`Error::EngineUnreachable`], which carries a hint and exits with 3.
    pub async fn connect(config: &EngineConfig) -> Result<Self, Error> {
        let unreachable = |source: bollard::errors::Error| Error::EngineUnreachable {
            host: config.host.clone(),
            source: Box::new(source),
        };
        let timeout = REQUEST_TIMEOUT.as_secs();
        let docker = if let Some(path) = config.host.strip_prefix("unix://") {
            Docker::connect_with_unix(path, timeout, bollard::API_DEFAULT_VERSION)
        } else if config.host.starts_with("tcp://") || config.host.starts_with("http://") {
            Docker::connect_with_http(&config.host, timeout, bollard::API_DEFAULT_VERSION)
        } else {
            return Err(Error::EngineUnreachable {
                host: config.host.clone(),
                source: Box::new(bollard::errors::Error::UnsupportedURISchemeError {
                    uri: config.host.clone(),
                }),
            });
        }
        .map_err(unreachable)?;
        // A short ping first, so a dead socket fails in seconds rather than at the first build.
        let ping = tokio::time::timeout(Duration::from_secs(10), docker.ping()).await;
        match ping {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(unreachable(e)),
            Err(_) => {
                return Err(unreachable(bollard::errors::Error::RequestTimeoutError));
            }
        }
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        Ok(Engine {
            docker,
            host: config.host.clone(),
            buildkit: std::sync::Arc::default(),
        })
    }

    /// `unix:///path`, `tcp://host:port` or `http://host:port`: where the engine answers (the
    /// BuildKit session speaks to it directly, as bollard keeps its upgrades to itself).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `v1.41`: the negotiated API version, as a path prefix.
    pub fn api_prefix(&self) -> String {
        let v = self.docker.client_version();
        format!("/v{}.{}", v.major_version, v.minor_version)
    }

    /// `Ok(())` when the engine offers BuildKit through its API (`/session` and `/grpc` answer),
    /// else why not; probed once per connection.
    pub async fn buildkit(&self) -> &Result<(), String> {
        self.buildkit
            .get_or_init(|| crate::build::probe_buildkit(self))
            .await
    }

    /// The bollard client, for the modules that drive the engine (build, test, run, export).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}

/// Whether the engine answered 404: no such image, container, network or volume (for a removal:
/// already gone, which is not a failure).
pub fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Wrap an engine error with what kz was doing, e.g. `engine("build kamiwazaai/x:1.0.0", e)`.
pub fn engine_error(doing: impl Into<String>, source: bollard::errors::Error) -> Error {
    Error::Engine {
        doing: doing.into(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn host_follows_docker_host_like_the_cli() {
        assert_eq!(EngineConfig::from_env(&env(&[])).host, DEFAULT_HOST);
        assert_eq!(
            EngineConfig::from_env(&env(&[("DOCKER_HOST", "")])).host,
            DEFAULT_HOST
        );
        assert_eq!(
            EngineConfig::from_env(&env(&[("DOCKER_HOST", "tcp://10.0.0.1:2375")])).host,
            "tcp://10.0.0.1:2375"
        );
    }

    #[tokio::test]
    async fn a_missing_socket_is_unreachable_with_a_hint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = format!("unix://{}/nope.sock", dir.path().display());
        let err = Engine::connect(&EngineConfig { host: host.clone() })
            .await
            .expect_err("no engine there");
        assert!(matches!(err, Error::EngineUnreachable { .. }), "{err:?}");
        assert!(err.to_string().contains(&host), "{err}");
        assert!(err.hint().unwrap_or_default().contains("dockerd"));
        assert_eq!(err.exit_status(), crate::exit::ExitStatus::Environment);
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_refused() {
        let err = Engine::connect(&EngineConfig {
            host: "ssh://box".to_owned(),
        })
        .await
        .expect_err("ssh is not supported");
        assert!(matches!(err, Error::EngineUnreachable { .. }), "{err:?}");
    }
}
