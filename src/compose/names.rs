//! The bind-mount decisions of a whole compose file, made before any service is rewritten, so
//! volume names can look across services: a data folder mounted by several services is one
//! volume for all of them, and two different host folders never share a volume, nor take a
//! volume the file already declares. A mount that collides with nothing keeps exactly its usual
//! `<service>_<last part>` name (users' data lives in it); only shared or colliding folders get
//! a name derived from the host path (`./a/config` → `a_config`, `_2`, `_3`… on a clash), so
//! adding a service never renames a folder that was already shared. Linear in the mounts.

use super::mounts::{self, BuildContexts, FileKinds, MountClass};
use super::SyncContext;
use crate::yaml::{Node, Value};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MountDecision {
    Keep,
    Drop {
        mount: String,
        reason: String,
    },
    Convert {
        mount: String,
        volume: String,
        reason: String,
    },
}

/// Decisions keyed by (service position, entry position).
#[derive(Debug, Default)]
pub(crate) struct MountPlan {
    decisions: HashMap<(usize, usize), MountDecision>,
}

impl MountPlan {
    pub(crate) fn take(&mut self, service: usize, entry: usize) -> MountDecision {
        self.decisions
            .remove(&(service, entry))
            .unwrap_or(MountDecision::Keep)
    }
}

struct Data {
    at: (usize, usize),
    group: usize,
    shown: String,
    reason: String,
}

struct Group {
    services: HashSet<usize>,
    candidate: String,
    source: String,
}

/// Plan every bind mount of `top`'s services.
pub(crate) fn plan(
    top: &[(Node, Node)],
    ctx: &SyncContext<'_>,
    contexts: &BuildContexts,
) -> MountPlan {
    let mut out = MountPlan::default();
    let Some(Value::Map(services)) = super::map::get(top, "services").map(|s| &s.value) else {
        return out;
    };
    let mut files: Option<FileKinds> = None;
    let mut taken: HashSet<String> = declared(top);
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut data: Vec<Data> = Vec::new();
    for (si, (key, svc)) in services.iter().enumerate() {
        let name = key.py_str().unwrap_or_default();
        let Some(Value::Seq(items)) = svc.get("volumes").map(|v| &v.value) else {
            continue;
        };
        for (ii, item) in items.iter().enumerate() {
            let Some(mount) = mounts::parse(item) else {
                if let Some(named) = item.as_str().and_then(|s| s.split(':').next()) {
                    if item.as_str().is_some_and(|s| s.contains(':')) {
                        taken.insert(named.to_owned());
                    }
                }
                continue;
            };
            let files = files.get_or_insert_with(|| FileKinds::for_extension(ctx.extension_path));
            let (class, reason) = mounts::classify(&mount, ctx.extension_path, contexts, files);
            if class != MountClass::Data {
                out.decisions.insert(
                    (si, ii),
                    MountDecision::Drop {
                        mount: mount.shown,
                        reason,
                    },
                );
                continue;
            }
            let key = mounts::host_key(&mount.source, ctx.extension_path);
            let group = *by_key.entry(key).or_insert_with(|| {
                groups.push(Group {
                    services: HashSet::new(),
                    candidate: mounts::volume_name(&name, &mount.target, &mount.source),
                    source: mount.source.clone(),
                });
                groups.len() - 1
            });
            groups[group].services.insert(si);
            let reason = if mount.read_only {
                format!("{reason}; mounted read-only, it starts empty in App Garden: fill it or let the image carry the files")
            } else {
                reason
            };
            data.push(Data {
                at: (si, ii),
                group,
                shown: mount.shown,
                reason,
            });
        }
    }
    let names = name_groups(&groups, &mut taken);
    for d in data {
        out.decisions.insert(
            d.at,
            MountDecision::Convert {
                mount: d.shown,
                volume: names[d.group].clone(),
                reason: d.reason,
            },
        );
    }
    out
}

/// Names of the top-level volumes the file declares.
fn declared(top: &[(Node, Node)]) -> HashSet<String> {
    super::map::get(top, "volumes")
        .and_then(Node::as_map)
        .map(|m| m.iter().filter_map(|(k, _)| k.py_str()).collect())
        .unwrap_or_default()
}

fn name_groups(groups: &[Group], taken: &mut HashSet<String>) -> Vec<String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for g in groups.iter().filter(|g| g.services.len() == 1) {
        *count.entry(g.candidate.as_str()).or_default() += 1;
    }
    let keeps = |g: &Group| {
        g.services.len() == 1 && count[g.candidate.as_str()] == 1 && !taken.contains(&g.candidate)
    };
    let keep: Vec<bool> = groups.iter().map(keeps).collect();
    for (g, _) in groups.iter().zip(&keep).filter(|(_, k)| **k) {
        taken.insert(g.candidate.clone());
    }
    groups
        .iter()
        .zip(keep)
        .map(|(g, keep)| {
            if keep {
                return g.candidate.clone();
            }
            let base = mounts::host_name(&g.source);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(name.clone());
            name
        })
        .collect()
}
