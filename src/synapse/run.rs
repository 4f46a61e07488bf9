//! `kz run` / `kz stop`: a Synapse app started the way the workspace's runner starts it, on a
//! laptop. Container `synapse-app-<slug>` on the shared network (created when missing), the six
//! root-path variables and nothing else, `host.docker.internal:host-gateway`, the manifest's
//! volumes (read-only unless `readonly: false`), no host port unless asked; then the health path
//! is polled until it answers `expect_status` or `lifecycle.start_timeout_ms` runs out.
//!
//! The probe goes to the container's address on that network (`http://<ip>:<port><path>`, with
//! `Host: synapse-app-<slug>:<port>` as the platform's probe sends): on Linux the host is the
//! bridge network's gateway and reaches container addresses directly, so neither a helper
//! container nor tools inside the app image are needed. With `--publish`, the published port
//! on 127.0.0.1 is probed instead (for engines whose container addresses the host cannot reach,
//! such as Docker Desktop).

use super::{label, AppManifest, LABEL};
use crate::docker::{engine_error, Engine, LABEL_MANAGED};
use crate::error::Error;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The network the workspace's compose project gives its apps.
pub const DEFAULT_NETWORK: &str = "synapse-experimental_default";
/// Label naming the app on kz's containers.
pub const LABEL_APP: &str = "dev.kz.synapse-app";

/// `synapse-app-<slug>`: the container name, which is also its DNS name on the network.
pub fn container_name(slug: &str) -> String {
    format!("synapse-app-{slug}")
}

/// `/api/plugins/apps/<slug>/proxy`: where the workspace's proxy serves the app.
pub fn root_path(slug: &str) -> String {
    format!("/api/plugins/apps/{slug}/proxy")
}

/// The six variables the runner sets, and nothing else.
pub fn env(slug: &str, port: u16) -> Vec<String> {
    let root = root_path(slug);
    vec![
        format!("SYNAPSE_APP_ROOT_PATH={root}"),
        format!("SYNAPSE_APP_PORT={port}"),
        format!("GRADIO_ROOT_PATH={root}"),
        format!("BASE_PATH={root}"),
        format!("BASE_URL={root}/"),
        format!("PUBLIC_URL={root}"),
    ]
}

/// `host:container[:ro]` for each manifest volume.
pub fn binds(manifest: &AppManifest) -> Vec<String> {
    manifest
        .volumes()
        .into_iter()
        .map(|v| {
            let ro = if v.readonly { ":ro" } else { "" };
            format!("{}:{}{ro}", v.host, v.container)
        })
        .collect()
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The image reference (local to the engine).
    pub image: String,
    pub network: String,
    /// Publish the app's port on this host port (127.0.0.1 only).
    pub publish: Option<u16>,
    /// Override `lifecycle.start_timeout_ms`.
    pub timeout: Option<Duration>,
}

/// A started app.
#[derive(Clone, Debug)]
pub struct Running {
    pub slug: String,
    pub container: String,
    pub image: String,
    pub network: String,
    /// `http://<address>:<port><path>`, as probed.
    pub probe_url: String,
    /// The status the last probe saw (the expected one once healthy).
    pub status: u16,
    pub elapsed: Duration,
    /// The network was created by this run.
    pub created_network: bool,
}

/// The manifest an engine image carries in its label.
pub async fn image_manifest(engine: &Engine, image: &str) -> Result<AppManifest, Error> {
    let inspect = engine
        .docker()
        .inspect_image(image)
        .await
        .map_err(|e| match e {
            e if crate::docker::is_not_found(&e) => Error::Usage {
                message: format!("no image `{image}` in the engine; build it first (`kz build`)"),
            },
            other => engine_error(format!("inspect image {image}"), other),
        })?;
    let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
    let value = labels.get(LABEL).ok_or_else(|| Error::Usage {
        message: format!("image `{image}` has no {LABEL} label: it is not a Synapse app"),
    })?;
    let (bytes, _) = label::decode(value);
    AppManifest::from_bytes(Path::new(image), bytes)
}

/// The manifest in `image`'s label, which must be `current`'s exact bytes: an image built from
/// an older synapse-app.yaml is refused (`display` names the app folder in the message).
pub async fn check_current(
    engine: &Engine,
    image: &str,
    current: &AppManifest,
    display: &str,
) -> Result<AppManifest, Error> {
    let built = image_manifest(engine, image).await?;
    if built.bytes() != current.bytes() {
        return Err(Error::Usage {
            message: format!(
                "the image {image} was built from another synapse-app.yaml than {display}'s; \
                 run `kz build` first"
            ),
        });
    }
    Ok(built)
}

/// Start the app (replacing a container of the same name that kz started before) and wait
/// until it is healthy. `on_wait` is called after each failed probe with what it saw.
pub async fn run(
    engine: &Engine,
    manifest: &AppManifest,
    spec: &RunSpec,
    on_wait: impl Fn(&str),
) -> Result<Running, Error> {
    let slug = manifest
        .name()
        .ok_or_else(|| Error::invalid(&manifest.path, "metadata.name is missing"))?;
    let port = manifest
        .port()
        .ok_or_else(|| Error::invalid(&manifest.path, "network.ports.public is missing"))?;
    let health = manifest.health_path().unwrap_or("/health").to_owned();
    let name = container_name(slug);
    let docker = engine.docker();
    let created_network = ensure_network(engine, &spec.network).await?;
    remove_previous(engine, &name).await?;

    let mut labels = HashMap::new();
    labels.insert(LABEL_MANAGED.to_owned(), "true".to_owned());
    labels.insert(LABEL_APP.to_owned(), slug.to_owned());
    let port_key = format!("{port}/tcp");
    let port_bindings = spec.publish.map(|host_port| {
        HashMap::from([(
            port_key.clone(),
            Some(vec![bollard::models::PortBinding {
                host_ip: Some("127.0.0.1".to_owned()),
                host_port: Some(host_port.to_string()),
            }]),
        )])
    });
    let binds = binds(manifest);
    let body = bollard::models::ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(env(slug, port)),
        labels: Some(labels),
        exposed_ports: spec.publish.map(|_| vec![port_key.clone()]),
        host_config: Some(bollard::models::HostConfig {
            network_mode: Some(spec.network.clone()),
            extra_hosts: Some(vec!["host.docker.internal:host-gateway".to_owned()]),
            binds: (!binds.is_empty()).then_some(binds),
            port_bindings,
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = bollard::query_parameters::CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    docker
        .create_container(Some(options), body)
        .await
        .map_err(|e| engine_error(format!("create container {name}"), e))?;
    docker
        .start_container(
            &name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(|e| engine_error(format!("start container {name}"), e))?;

    let timeout = spec
        .timeout
        .unwrap_or_else(|| Duration::from_millis(manifest.start_timeout_ms()));
    let probe_timeout = Duration::from_millis(manifest.health_timeout_ms());
    let expect = manifest.expect_status();
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    loop {
        let inspect = docker
            .inspect_container(
                &name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| engine_error(format!("inspect container {name}"), e))?;
        let state = inspect.state.clone().unwrap_or_default();
        if state.running != Some(true) {
            let logs = tail_logs(engine, &name).await;
            return Err(Error::AppUnhealthy {
                container: name,
                reason: format!(
                    "the container stopped (exit code {})",
                    state.exit_code.unwrap_or_default()
                ),
                logs,
            });
        }
        let address = match spec.publish {
            Some(p) => Some(format!("127.0.0.1:{p}")),
            None => inspect
                .network_settings
                .and_then(|n| n.networks)
                .and_then(|n| n.get(&spec.network).cloned())
                .and_then(|e| e.ip_address)
                .filter(|ip| !ip.is_empty())
                .map(|ip| format!("{ip}:{port}")),
        };
        if let Some(address) = &address {
            let url = format!("http://{address}{health}");
            match probe(address, &health, &format!("{name}:{port}"), probe_timeout).await {
                Ok(status) if status == expect => {
                    return Ok(Running {
                        slug: slug.to_owned(),
                        container: name,
                        image: spec.image.clone(),
                        network: spec.network.clone(),
                        probe_url: url,
                        status,
                        elapsed: started.elapsed(),
                        created_network,
                    });
                }
                Ok(status) => last = format!("{url} answered {status}, not {expect}"),
                Err(e) => last = format!("{url}: {e}"),
            }
            on_wait(&last);
        }
        if started.elapsed() >= timeout {
            let logs = tail_logs(engine, &name).await;
            return Err(Error::AppUnhealthy {
                container: name,
                reason: format!("not healthy within {:.0} s ({last})", timeout.as_secs_f64()),
                logs,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One GET of `path` at `address`; the status code, or why there was none.
async fn probe(address: &str, path: &str, host: &str, timeout: Duration) -> Result<u16, String> {
    use http_body_util::Empty;
    use hyper_util::rt::TokioIo;
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::USER_AGENT, "kz-synapse-probe")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())))
}

/// Create the network when missing. Returns whether it was created.
async fn ensure_network(engine: &Engine, network: &str) -> Result<bool, Error> {
    let docker = engine.docker();
    match docker
        .inspect_network(
            network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        Ok(_) => Ok(false),
        Err(e) if crate::docker::is_not_found(&e) => {
            let request = bollard::models::NetworkCreateRequest {
                name: network.to_owned(),
                driver: Some("bridge".to_owned()),
                labels: Some(HashMap::from([(
                    LABEL_MANAGED.to_owned(),
                    "true".to_owned(),
                )])),
                ..Default::default()
            };
            docker
                .create_network(request)
                .await
                .map_err(|e| engine_error(format!("create network {network}"), e))?;
            Ok(true)
        }
        Err(e) => Err(engine_error(format!("inspect network {network}"), e)),
    }
}

/// Remove a container of that name that kz started; refuse to touch anyone else's.
async fn remove_previous(engine: &Engine, name: &str) -> Result<(), Error> {
    let docker = engine.docker();
    let inspect = match docker
        .inspect_container(
            name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(i) => i,
        Err(e) if crate::docker::is_not_found(&e) => return Ok(()),
        Err(e) => return Err(engine_error(format!("inspect container {name}"), e)),
    };
    let ours = inspect
        .config
        .and_then(|c| c.labels)
        .is_some_and(|l| l.contains_key(LABEL_MANAGED));
    if !ours {
        return Err(Error::Usage {
            message: format!(
                "a container named `{name}` exists and kz did not start it; remove it first"
            ),
        });
    }
    docker
        .remove_container(
            name,
            Some(bollard::query_parameters::RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
        .map_err(|e| engine_error(format!("remove container {name}"), e))
}

/// Stop and remove `synapse-app-<slug>` (if kz started it), giving it `grace` to stop.
/// Returns false when there was no such container.
pub async fn stop(engine: &Engine, slug: &str, grace: Duration) -> Result<bool, Error> {
    let name = container_name(slug);
    let docker = engine.docker();
    match docker
        .inspect_container(
            &name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(_) => {}
        Err(e) if crate::docker::is_not_found(&e) => return Ok(false),
        Err(e) => return Err(engine_error(format!("inspect container {name}"), e)),
    }
    remove_guard(engine, &name).await?;
    let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
    // A container that already stopped answers 304, which bollard reports as an error.
    let _ = docker
        .stop_container(
            &name,
            Some(bollard::query_parameters::StopContainerOptions {
                t: Some(secs),
                ..Default::default()
            }),
        )
        .await;
    docker
        .remove_container(
            &name,
            Some(bollard::query_parameters::RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
        .map_err(|e| engine_error(format!("remove container {name}"), e))?;
    Ok(true)
}

async fn remove_guard(engine: &Engine, name: &str) -> Result<(), Error> {
    let inspect = engine
        .docker()
        .inspect_container(
            name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(|e| engine_error(format!("inspect container {name}"), e))?;
    let ours = inspect
        .config
        .and_then(|c| c.labels)
        .is_some_and(|l| l.contains_key(LABEL_MANAGED));
    if ours {
        Ok(())
    } else {
        Err(Error::Usage {
            message: format!("`{name}` was not started by kz; leaving it alone"),
        })
    }
}

/// The last lines the container wrote, for an error message.
async fn tail_logs(engine: &Engine, name: &str) -> String {
    use futures_util::StreamExt;
    let options = bollard::query_parameters::LogsOptions {
        stdout: true,
        stderr: true,
        tail: "20".to_owned(),
        ..Default::default()
    };
    let mut stream = engine.docker().logs(name, Some(options));
    let mut out = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.push_str(&chunk.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_contract() {
        let m = AppManifest::from_bytes(
            Path::new("x"),
            b"metadata: {name: rag}\nruntime:\n  volumes:\n    - {host: /s, container: /etc/rag}\n    - {host: /d, container: /data, readonly: false}\n".to_vec(),
        )
        .expect("manifest");
        assert_eq!(binds(&m), ["/s:/etc/rag:ro", "/d:/data"]);
        assert_eq!(container_name("rag"), "synapse-app-rag");
        assert_eq!(
            env("rag", 8080),
            [
                "SYNAPSE_APP_ROOT_PATH=/api/plugins/apps/rag/proxy",
                "SYNAPSE_APP_PORT=8080",
                "GRADIO_ROOT_PATH=/api/plugins/apps/rag/proxy",
                "BASE_PATH=/api/plugins/apps/rag/proxy",
                "BASE_URL=/api/plugins/apps/rag/proxy/",
                "PUBLIC_URL=/api/plugins/apps/rag/proxy",
            ]
        );
    }
}
