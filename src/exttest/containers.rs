//! Engine steps of a test run: the session network, labelled volumes, containers created on the
//! network under their compose service name, dependencies waited for (running, and healthy when
//! they have a healthcheck), and a container's output streamed until it exits.

use super::compose::{Healthcheck, NamedVolume, Service};
use super::session::Session;
use crate::docker::{engine_error, Engine};
use crate::error::Error;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig, Mount,
    MountType, NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Create the session's network (a bridge, labelled).
pub(crate) async fn create_network(engine: &Engine, session: &Session) -> Result<(), Error> {
    let name = session.network();
    engine
        .docker()
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".to_owned()),
            labels: Some(session.labels()),
            ..Default::default()
        })
        .await
        .map_err(|e| engine_error(format!("create network {name}"), e))?;
    Ok(())
}

/// What one container of a run looks like.
#[derive(Default)]
pub(crate) struct Spec<'a> {
    pub(crate) name: String,
    pub(crate) image: &'a str,
    /// The compose service name: network alias and host name.
    pub(crate) alias: &'a str,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cmd: Option<Vec<String>>,
    pub(crate) entrypoint: Option<Vec<String>>,
    pub(crate) working_dir: Option<String>,
    pub(crate) healthcheck: Option<&'a Healthcheck>,
    /// Named volumes, mounted from session volumes named `<prefix>-<name>`.
    pub(crate) volumes: &'a [NamedVolume],
    pub(crate) volume_prefix: &'a str,
    /// A container port published on `127.0.0.1:<host port>` (the App Garden runner's primary
    /// service; test containers publish nothing).
    pub(crate) publish: Option<(u16, u16)>,
    /// `host:address` entries (`host.docker.internal:host-gateway`).
    pub(crate) extra_hosts: Vec<String>,
}

/// Create (not start) a container; its volumes are created first (labelled, recorded in
/// `volumes`; one already there is shared, as compose shares a named volume between services).
pub(crate) async fn create(
    engine: &Engine,
    session: &Session,
    spec: Spec<'_>,
    volumes: &mut Vec<String>,
) -> Result<String, Error> {
    let docker = engine.docker();
    let mut mounts = Vec::new();
    for v in spec.volumes {
        let name = format!("{}-{}", spec.volume_prefix, v.name);
        if !volumes.contains(&name) {
            docker
                .create_volume(VolumeCreateRequest {
                    name: Some(name.clone()),
                    labels: Some(session.labels()),
                    ..Default::default()
                })
                .await
                .map_err(|e| engine_error(format!("create volume {name}"), e))?;
            volumes.push(name.clone());
        }
        mounts.push(Mount {
            target: Some(v.target.clone()),
            source: Some(name),
            typ: Some(MountType::VOLUME),
            read_only: Some(v.read_only),
            ..Default::default()
        });
    }
    let network = session.network();
    let endpoint = EndpointSettings {
        aliases: Some(vec![spec.alias.to_owned()]),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(spec.image.to_owned()),
        hostname: Some(hostname(spec.alias)),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: spec.cmd,
        entrypoint: spec.entrypoint,
        working_dir: spec.working_dir,
        labels: Some(session.labels()),
        healthcheck: spec.healthcheck.map(health_config),
        exposed_ports: spec.publish.map(|(port, _)| vec![format!("{port}/tcp")]),
        host_config: Some(HostConfig {
            network_mode: Some(network.clone()),
            mounts: (!mounts.is_empty()).then_some(mounts),
            port_bindings: spec.publish.map(|(port, host)| {
                HashMap::from([(
                    format!("{port}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".to_owned()),
                        host_port: Some(host.to_string()),
                    }]),
                )])
            }),
            extra_hosts: (!spec.extra_hosts.is_empty()).then_some(spec.extra_hosts),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(network, endpoint)])),
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(spec.name.clone()),
                ..Default::default()
            }),
            body,
        )
        .await
        .map_err(|e| {
            engine_error(
                format!("create container {} from {}", spec.name, spec.image),
                e,
            )
        })?;
    Ok(created.id)
}

/// A host name from a service name (letters, digits and `-`, at most 63).
fn hostname(alias: &str) -> String {
    let h: String = alias
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    if h.is_empty() {
        "test".to_owned()
    } else {
        h
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn health_config(h: &Healthcheck) -> HealthConfig {
    if h.disable {
        return HealthConfig {
            test: Some(vec!["NONE".to_owned()]),
            ..Default::default()
        };
    }
    HealthConfig {
        test: h.test.clone(),
        interval: h.interval.map(nanos),
        timeout: h.timeout.map(nanos),
        start_period: h.start_period.map(nanos),
        retries: h.retries.map(i64::from),
        ..Default::default()
    }
}

pub(crate) async fn start(engine: &Engine, id: &str, what: &str) -> Result<(), Error> {
    engine
        .docker()
        .start_container(id, None)
        .await
        .map_err(|e| engine_error(format!("start {what}"), e))
}

/// How a dependency ended up.
#[derive(Debug)]
pub(crate) enum Readiness {
    Running,
    Healthy,
    /// It stopped before the test could use it.
    Exited {
        code: i64,
        logs: String,
    },
    Unhealthy {
        logs: String,
    },
    TimedOut {
        health: bool,
    },
}

/// Poll `id` until it runs (and is healthy when it has a healthcheck, its own or the image's),
/// it stops, or `timeout` passes.
pub(crate) async fn wait_ready(
    engine: &Engine,
    id: &str,
    timeout: Duration,
) -> Result<Readiness, Error> {
    let docker = engine.docker();
    let start = Instant::now();
    loop {
        let info = docker
            .inspect_container(id, None)
            .await
            .map_err(|e| engine_error("inspect a dependency", e))?;
        let state = info.state.unwrap_or_default();
        let health = state.health.and_then(|h| h.status);
        let has_health = matches!(
            health,
            Some(
                HealthStatusEnum::STARTING
                    | HealthStatusEnum::HEALTHY
                    | HealthStatusEnum::UNHEALTHY
            )
        );
        if state.running != Some(true) {
            if matches!(
                state.status,
                Some(bollard::models::ContainerStateStatusEnum::CREATED)
            ) {
                // not started yet; keep polling
            } else {
                return Ok(Readiness::Exited {
                    code: state.exit_code.unwrap_or(-1),
                    logs: tail_logs(engine, id).await,
                });
            }
        } else {
            match health {
                Some(HealthStatusEnum::HEALTHY) => return Ok(Readiness::Healthy),
                Some(HealthStatusEnum::UNHEALTHY) => {
                    return Ok(Readiness::Unhealthy {
                        logs: tail_logs(engine, id).await,
                    })
                }
                Some(HealthStatusEnum::STARTING) => {}
                _ => return Ok(Readiness::Running),
            }
        }
        if start.elapsed() >= timeout {
            return Ok(Readiness::TimedOut { health: has_health });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The last lines a container wrote, for messages about a dependency that failed.
pub(crate) async fn tail_logs(engine: &Engine, id: &str) -> String {
    let mut stream = engine.docker().logs(
        id,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            tail: "20".to_owned(),
            ..Default::default()
        }),
    );
    let mut out = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str(&String::from_utf8_lossy(chunk.as_ref()));
    }
    out
}

/// Follow `id`'s output until it exits, handing each chunk to `sink` (true: stderr), and return
/// its exit code.
pub(crate) async fn follow(
    engine: &Engine,
    id: &str,
    sink: &mut dyn FnMut(bool, &[u8]),
) -> Result<i64, Error> {
    let docker = engine.docker();
    let mut logs = docker.logs(
        id,
        Some(LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            ..Default::default()
        }),
    );
    while let Some(item) = logs.next().await {
        match item {
            Ok(bollard::container::LogOutput::StdErr { message }) => sink(true, &message),
            Ok(out) => sink(false, out.as_ref()),
            Err(e) => return Err(engine_error("stream the test output", e)),
        }
    }
    let mut wait = docker.wait_container(
        id,
        Some(WaitContainerOptions {
            condition: "not-running".to_owned(),
        }),
    );
    match wait.next().await {
        Some(Ok(r)) => Ok(r.status_code),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(engine_error("wait for the tests", e)),
        None => Err(Error::Engine {
            doing: "wait for the tests".to_owned(),
            source: Box::new(bollard::errors::Error::RequestTimeoutError),
        }),
    }
}

/// Remove a container now (forced, with its anonymous volumes); already gone is fine.
pub(crate) async fn remove(engine: &Engine, id: &str) -> Result<(), Error> {
    let opts = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match engine.docker().remove_container(id, Some(opts)).await {
        Err(e) if !crate::docker::is_not_found(&e) => {
            Err(engine_error("remove a test container", e))
        }
        _ => Ok(()),
    }
}

/// Remove a volume now; already gone is fine.
pub(crate) async fn remove_volume(engine: &Engine, name: &str) -> Result<(), Error> {
    let opts = bollard::query_parameters::RemoveVolumeOptions { force: true };
    match engine.docker().remove_volume(name, Some(opts)).await {
        Err(e) if !crate::docker::is_not_found(&e) => {
            Err(engine_error(format!("remove volume {name}"), e))
        }
        _ => Ok(()),
    }
}

/// Whether `path` exists inside container `id` (created or running).
pub(crate) async fn path_exists(engine: &Engine, id: &str, path: &str) -> Result<bool, Error> {
    let opts = bollard::query_parameters::ContainerArchiveInfoOptions {
        path: path.to_owned(),
    };
    match engine
        .docker()
        .get_container_archive_info(id, Some(opts))
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if crate::docker::is_not_found(&e) => Ok(false),
        Err(e) => Err(engine_error(
            format!("look for {path} in the test container"),
            e,
        )),
    }
}

/// The environment of a dependency: its compose `environment:` only.
pub(crate) fn dependency_env(svc: &Service) -> Vec<(String, String)> {
    svc.environment.clone()
}
