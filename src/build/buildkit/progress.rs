//! BuildKit's progress (the `moby.buildkit.trace` records of `/build`, each a protobuf
//! `StatusResponse`) folded into steps: when each started and finished, whether it was cached,
//! its log lines, and which one failed.

use super::super::{BuildEvent, Step};
use bollard_buildkit_proto::google::protobuf::Timestamp;
use bollard_buildkit_proto::moby::buildkit::v1::StatusResponse;
use std::collections::BTreeMap;

/// One vertex (a Dockerfile step or an internal one such as loading the context).
#[derive(Default)]
struct Vertex {
    name: String,
    started: Option<i64>,
    completed: Option<i64>,
    cached: bool,
    error: String,
    started_reported: bool,
    done_reported: bool,
    partial: String,
    lines: Vec<String>,
}

/// The steps of one build so far.
#[derive(Default)]
pub(super) struct Progress {
    vertices: BTreeMap<String, Vertex>,
    /// Digests in the order BuildKit first named them.
    order: Vec<String>,
    failed: Option<String>,
}

fn millis(t: &Option<Timestamp>) -> Option<i64> {
    t.as_ref()
        .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

impl Progress {
    /// Fold one status record in; `on_event` sees steps start and finish and their output.
    pub(super) fn update(&mut self, status: StatusResponse, on_event: &impl Fn(BuildEvent)) {
        for v in status.vertexes {
            if !self.vertices.contains_key(&v.digest) {
                self.order.push(v.digest.clone());
            }
            let entry = self.vertices.entry(v.digest.clone()).or_default();
            entry.name = v.name;
            entry.cached |= v.cached;
            if entry.started.is_none() {
                entry.started = millis(&v.started);
            }
            if let Some(done) = millis(&v.completed) {
                entry.completed = Some(done);
            }
            if !v.error.is_empty() {
                entry.error = v.error;
                self.failed.get_or_insert(v.digest.clone());
            }
            if entry.started.is_some() && !entry.started_reported && entry.completed.is_none() {
                entry.started_reported = true;
                on_event(BuildEvent::StepStarted {
                    name: entry.name.clone(),
                });
            }
        }
        for log in status.logs {
            let Some(entry) = self.vertices.get_mut(&log.vertex) else {
                continue;
            };
            entry.partial.push_str(&String::from_utf8_lossy(&log.msg));
            while let Some(i) = entry.partial.find('\n') {
                let line: String = entry.partial.drain(..=i).collect();
                let line = line.trim_end_matches(['\n', '\r']).to_owned();
                on_event(BuildEvent::Output(line.clone()));
                entry.lines.push(line);
            }
        }
        // Report finished steps in the order they were named.
        for digest in &self.order {
            let Some(entry) = self.vertices.get_mut(digest) else {
                continue;
            };
            if entry.done_reported || (entry.completed.is_none() && !entry.cached) {
                continue;
            }
            entry.done_reported = true;
            if !entry.partial.is_empty() {
                let rest = std::mem::take(&mut entry.partial);
                on_event(BuildEvent::Output(rest.clone()));
                entry.lines.push(rest);
            }
            on_event(BuildEvent::StepDone(Step {
                name: entry.name.clone(),
                cached: entry.cached,
                started_ms: entry.started,
                completed_ms: entry.completed,
                error: (!entry.error.is_empty()).then(|| entry.error.clone()),
            }));
        }
    }

    /// The failing step's name and log, if BuildKit named one.
    pub(super) fn failure(&self) -> (Option<String>, Vec<String>) {
        match self.failed.as_ref().and_then(|d| self.vertices.get(d)) {
            Some(v) => {
                let mut lines = v.lines.clone();
                if !v.partial.is_empty() {
                    lines.push(v.partial.clone());
                }
                (Some(v.name.clone()), lines)
            }
            None => (None, Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_buildkit_proto::moby::buildkit::v1::{Vertex as PbVertex, VertexLog};

    fn ts(ms: i64) -> Option<Timestamp> {
        Some(Timestamp {
            seconds: ms / 1000,
            nanos: ((ms % 1000) * 1_000_000) as i32,
        })
    }

    #[test]
    fn steps_logs_and_the_failure() {
        let events = std::sync::Mutex::new(Vec::new());
        let on = |e: BuildEvent| events.lock().expect("lock").push(e);
        let mut p = Progress::default();
        let vertex = |d: &str, name: &str, s: Option<i64>, c: Option<i64>, err: &str| PbVertex {
            digest: d.into(),
            name: name.into(),
            started: s.and_then(ts),
            completed: c.and_then(ts),
            error: err.into(),
            ..PbVertex::default()
        };
        p.update(
            StatusResponse {
                vertexes: vec![
                    vertex("a", "[1/2] FROM busybox", Some(1000), Some(1100), ""),
                    vertex("b", "[2/2] RUN false", Some(1200), None, ""),
                ],
                logs: vec![VertexLog {
                    vertex: "b".into(),
                    msg: b"boom\npart".to_vec(),
                    ..VertexLog::default()
                }],
                ..StatusResponse::default()
            },
            &on,
        );
        p.update(
            StatusResponse {
                vertexes: vec![vertex(
                    "b",
                    "[2/2] RUN false",
                    Some(1200),
                    Some(1500),
                    "exit code: 1",
                )],
                ..StatusResponse::default()
            },
            &on,
        );
        let (step, log) = p.failure();
        assert_eq!(step.as_deref(), Some("[2/2] RUN false"));
        assert_eq!(log, ["boom", "part"]);
        let ev = events.lock().expect("lock");
        let done: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                BuildEvent::StepDone(s) => {
                    Some((s.name.as_str(), s.completed_ms, s.error.is_some()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            done,
            [
                ("[1/2] FROM busybox", Some(1100), false),
                ("[2/2] RUN false", Some(1500), true)
            ]
        );
    }
}
