//! Starting a [`Deployment`] on the engine: a network of its own (the session's), every
//! container under its service name, the services others depend on waited for (running, and
//! healthy when they have a healthcheck), the primary service's port published on
//! `127.0.0.1:<host port>`. Everything carries the session's labels; [`crate::exttest::teardown`]
//! removes it.

use super::plan::Deployment;
use crate::docker::Engine;
use crate::error::Error;
use crate::exttest::containers::{self, Readiness, Spec};
use crate::exttest::Session;
use std::net::SocketAddr;
use std::time::Duration;

/// What happens as the deployment starts.
#[derive(Debug)]
pub enum StartEvent<'a> {
    Starting { service: &'a str, image: &'a str },
    Ready { service: &'a str, state: &'a str },
}

/// The started deployment: where the primary service answers, and its container.
#[derive(Debug, Clone)]
pub struct Running {
    /// `127.0.0.1:<host port>` of the primary service, when there is one.
    pub address: Option<SocketAddr>,
    /// (service, container id) in start order.
    pub containers: Vec<(String, String)>,
}

impl Running {
    /// The container id of `service`.
    pub fn container(&self, service: &str) -> Option<&str> {
        self.containers
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, id)| id.as_str())
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released for the engine to bind).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Start `deployment` in `session`, publishing its primary port on `host_port`. A dependency
/// that stops, turns unhealthy or is not ready within `wait` is `Error::AppUnhealthy` with its
/// last log lines.
pub async fn start(
    engine: &Engine,
    session: &Session,
    deployment: &Deployment,
    host_port: u16,
    wait: Duration,
    on_event: &mut (dyn FnMut(StartEvent<'_>) + Send),
) -> Result<Running, Error> {
    containers::create_network(engine, session).await?;
    let prefix = session.network();
    let mut volumes = Vec::new();
    let mut running = Running {
        address: None,
        containers: Vec::new(),
    };
    for c in &deployment.containers {
        let publish = deployment
            .primary
            .as_ref()
            .filter(|(service, _)| *service == c.service)
            .map(|(_, port)| (*port, host_port));
        on_event(StartEvent::Starting {
            service: &c.service,
            image: &c.image,
        });
        let name = format!("{prefix}-{}", c.service);
        let id = containers::create(
            engine,
            session,
            Spec {
                name: name.clone(),
                image: &c.image,
                alias: &c.service,
                env: c.env.clone(),
                cmd: c.command.clone(),
                entrypoint: c.entrypoint.clone(),
                healthcheck: c.healthcheck.as_ref(),
                volumes: &c.volumes,
                volume_prefix: &prefix,
                publish,
                extra_hosts: c.extra_hosts.clone(),
                ..Spec::default()
            },
            &mut volumes,
        )
        .await?;
        containers::start(engine, &id, &format!("service `{}`", c.service)).await?;
        running.containers.push((c.service.clone(), id.clone()));
        if publish.is_some() {
            running.address = Some(SocketAddr::from(([127, 0, 0, 1], host_port)));
        }
        if !c.needed {
            continue;
        }
        let fail = |reason: String, logs: String| Error::AppUnhealthy {
            container: name.clone(),
            reason,
            logs,
        };
        match containers::wait_ready(engine, &id, wait).await? {
            Readiness::Running => on_event(StartEvent::Ready {
                service: &c.service,
                state: "running",
            }),
            Readiness::Healthy => on_event(StartEvent::Ready {
                service: &c.service,
                state: "healthy",
            }),
            Readiness::Exited { code, logs } => {
                return Err(fail(format!("it exited with code {code}"), logs))
            }
            Readiness::Unhealthy { logs } => {
                return Err(fail("its healthcheck failed".to_owned(), logs))
            }
            Readiness::TimedOut { .. } => {
                let logs = containers::tail_logs(engine, &id).await;
                return Err(fail(format!("not ready within {} s", wait.as_secs()), logs));
            }
        }
    }
    Ok(running)
}
