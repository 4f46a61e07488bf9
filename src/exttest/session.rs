//! A test session: one id per `kz test` run, carried as the `dev.kz.session` label (with
//! `dev.kz.managed=true`) by every container, network and volume the run creates, and the
//! teardown that removes whatever carries it. Teardown works from the engine's labels, not from
//! a list kept in memory, so resources from a step that failed or was interrupted midway go too.

use crate::docker::{engine_error, Engine, LABEL_MANAGED, LABEL_SESSION};
use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    RemoveVolumeOptions,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    id: String,
}

impl Session {
    /// A fresh session id: 12 hex digits from the time, the process id and a counter.
    pub fn new() -> Session {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut h = Sha256::new();
        h.update(nanos.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        let digest = h.finalize();
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Session { id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// `kz-test-<session>`: the network of the run, and the prefix of everything else.
    pub fn network(&self) -> String {
        format!("kz-test-{}", self.id)
    }

    /// The labels every resource of the session carries.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_MANAGED.to_owned(), "true".to_owned()),
            (LABEL_SESSION.to_owned(), self.id.clone()),
        ])
    }

    fn filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_owned(),
            vec![format!("{LABEL_SESSION}={}", self.id)],
        )])
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// What teardown removed, and what it could not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Teardown {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    pub failures: Vec<String>,
}

/// Remove every container, network and volume labelled with `session`: containers first (forced,
/// with their anonymous volumes), then networks, then volumes. With `settle`, the engine is asked
/// again after that long and anything new is removed too: an interrupted run may have had a
/// create request in flight that the engine completed after the first listing.
pub async fn teardown(engine: &Engine, session: &Session, settle: Option<Duration>) -> Teardown {
    let mut report = Teardown::default();
    pass(engine, session, &mut report).await;
    if let Some(wait) = settle {
        tokio::time::sleep(wait).await;
        pass(engine, session, &mut report).await;
    }
    report
}

async fn pass(engine: &Engine, session: &Session, report: &mut Teardown) {
    let docker = engine.docker();
    let mut fail = |what: String, e: bollard::errors::Error| {
        report.failures.push(format!(
            "{what}: {}",
            engine_error("remove it", e).one_line()
        ));
    };
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(session.filter()),
            ..Default::default()
        }))
        .await;
    match containers {
        Ok(list) => {
            for c in list {
                let Some(id) = c.id else { continue };
                let opts = RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                };
                match docker.remove_container(&id, Some(opts)).await {
                    Ok(()) => report.containers += 1,
                    Err(e) if crate::docker::is_not_found(&e) => {}
                    Err(e) => fail(format!("container {}", short(&id)), e),
                }
            }
        }
        Err(e) => fail("listing containers".to_owned(), e),
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(session.filter()),
        }))
        .await;
    match networks {
        Ok(list) => {
            for n in list {
                let Some(id) = n.id else { continue };
                match docker.remove_network(&id).await {
                    Ok(()) => report.networks += 1,
                    Err(e) if crate::docker::is_not_found(&e) => {}
                    Err(e) => fail(format!("network {}", n.name.unwrap_or(id)), e),
                }
            }
        }
        Err(e) => fail("listing networks".to_owned(), e),
    }
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(session.filter()),
        }))
        .await;
    match volumes {
        Ok(list) => {
            for v in list.volumes.unwrap_or_default() {
                let opts = RemoveVolumeOptions { force: true };
                match docker.remove_volume(&v.name, Some(opts)).await {
                    Ok(()) => report.volumes += 1,
                    Err(e) if crate::docker::is_not_found(&e) => {}
                    Err(e) => fail(format!("volume {}", v.name), e),
                }
            }
        }
        Err(e) => fail("listing volumes".to_owned(), e),
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_unique_and_labelled() {
        let a = Session::new();
        let b = Session::new();
        assert_ne!(a, b);
        assert_eq!(a.id().len(), 12);
        assert_eq!(a.network(), format!("kz-test-{}", a.id()));
        let labels = a.labels();
        assert_eq!(labels.get(LABEL_MANAGED).map(String::as_str), Some("true"));
        assert_eq!(labels.get(LABEL_SESSION).map(String::as_str), Some(a.id()));
    }
}
