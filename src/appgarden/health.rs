//! The guide's health check, from kz itself: `GET /health` on the primary service's published
//! port must answer 200 with a JSON body holding a `status` field, within 1 s. The app gets a
//! start-up bound to begin answering; until then refused connections, slow answers and failing
//! answers are retried, and the last one is what a failure reports (with the response, or the
//! container's last log lines when nothing usable came back).

use crate::docker::Engine;
use crate::exttest::containers;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The guide's "Response Time: < 1 second".
pub const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// The guide's path.
pub const HEALTH_PATH: &str = "/health";
/// Most of a body kept for a message.
const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// How long the app may take to start answering.
    pub startup: Duration,
    /// How long one answer may take.
    pub answer_within: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            startup: Duration::from_secs(60),
            answer_within: ANSWER_WITHIN,
        }
    }
}

/// The verdict, with a one-line reason and what backs it up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthReport {
    pub passed: bool,
    /// `GET /health answered 200 {"status": "healthy"} in 12 ms`, or why it failed.
    pub line: String,
    /// The response (status and body) or the container's last log lines.
    pub detail: Option<String>,
    /// Probes sent.
    pub attempts: u32,
}

#[derive(Debug)]
enum Attempt {
    NoAnswer(String),
    Slow,
    Answer {
        status: u16,
        body: String,
        took: Duration,
    },
}

/// Probe `address` until the app passes or `opts.startup` runs out (or `container` stops).
pub async fn probe(
    engine: &Engine,
    container: Option<&str>,
    address: SocketAddr,
    opts: &ProbeOptions,
) -> HealthReport {
    let started = Instant::now();
    let mut attempts = 0;
    let mut last;
    let mut stopped = None;
    loop {
        attempts += 1;
        last = once(address, opts.answer_within).await;
        if let Attempt::Answer { status, body, took } = &last {
            if judge(*status, body).is_ok() {
                return HealthReport {
                    passed: true,
                    line: format!(
                        "GET {HEALTH_PATH} answered {status} {} in {} ms",
                        short(body),
                        took.as_millis()
                    ),
                    detail: None,
                    attempts,
                };
            }
        }
        if let Some(id) = container {
            if let Some(code) = exit_code(engine, id).await {
                stopped = Some(code);
                break;
            }
        }
        if started.elapsed() >= opts.startup {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let bound = opts.startup.as_secs_f64();
    let (line, response) = match &last {
        Attempt::Answer { status, body, .. } => (
            judge(*status, body).err().unwrap_or_default(),
            Some(format!("HTTP {status}\n{}", truncate(body))),
        ),
        Attempt::Slow => (
            format!(
                "GET {HEALTH_PATH} did not answer within {} s (the guide: \"Response Time: < 1 second\")",
                opts.answer_within.as_secs_f64()
            ),
            None,
        ),
        Attempt::NoAnswer(why) => (
            format!("nothing answered GET {HEALTH_PATH} on {address} within {bound:.0} s ({why})"),
            None,
        ),
    };
    let line = match stopped {
        Some(code) => format!("the container stopped (exit code {code}); {line}"),
        None => line,
    };
    let detail = match (response, container) {
        (Some(r), _) => Some(r),
        (None, Some(id)) => Some(containers::tail_logs(engine, id).await).filter(|l| !l.is_empty()),
        (None, None) => None,
    };
    HealthReport {
        passed: false,
        line,
        detail,
        attempts,
    }
}

/// Whether a response is the guide's healthy answer; `Err` says why not.
pub fn judge(status: u16, body: &str) -> Result<(), String> {
    if status != 200 {
        return Err(format!(
            "GET {HEALTH_PATH} answered HTTP {status}, not 200 (the guide: \"Deployment will fail if the health check doesn't return 200\")"
        ));
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) if map.contains_key("status") => Ok(()),
        Ok(_) => Err(format!(
            "GET {HEALTH_PATH} answered 200 with JSON that has no `status` field (the guide: \"Response: JSON with status field\")"
        )),
        Err(_) => Err(format!(
            "GET {HEALTH_PATH} answered 200 but the body is not JSON: {} (the guide: \"Response: JSON with status field\")",
            short(body)
        )),
    }
}

async fn exit_code(engine: &Engine, id: &str) -> Option<i64> {
    let info = engine.docker().inspect_container(id, None).await.ok()?;
    let state = info.state?;
    (state.running != Some(true)).then(|| state.exit_code.unwrap_or(-1))
}

/// One `GET /health`.
async fn once(address: SocketAddr, within: Duration) -> Attempt {
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper_util::rt::TokioIo;
    let started = Instant::now();
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let request = hyper::Request::get(HEALTH_PATH)
            .header(hyper::header::HOST, address.to_string())
            .header(hyper::header::USER_AGENT, "kz-health-probe")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((status, String::from_utf8_lossy(&body).into_owned()))
    };
    match tokio::time::timeout(within, attempt).await {
        Err(_) => Attempt::Slow,
        Ok(Err(why)) => Attempt::NoAnswer(why),
        Ok(Ok((status, body))) => Attempt::Answer {
            status,
            body,
            took: started.elapsed(),
        },
    }
}

/// A body on one line, shortened.
fn short(body: &str) -> String {
    let one: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 120 {
        format!("{}…", one.chars().take(120).collect::<String>())
    } else {
        one
    }
}

fn truncate(body: &str) -> String {
    if body.len() > 2000 {
        let cut = (0..=2000)
            .rev()
            .find(|i| body.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}… ({} bytes)", &body[..cut], body.len())
    } else {
        body.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_answers() {
        assert!(judge(200, r#"{"status": "healthy"}"#).is_ok());
        assert!(judge(200, r#"{"status": "degraded", "checks": {}}"#).is_ok());
        assert!(judge(500, r#"{"status": "healthy"}"#)
            .unwrap_err()
            .contains("HTTP 500"));
        assert!(judge(200, "OK").unwrap_err().contains("not JSON"));
        assert!(judge(200, r#"{"ok": true}"#)
            .unwrap_err()
            .contains("no `status` field"));
        assert!(judge(200, r#"["status"]"#)
            .unwrap_err()
            .contains("no `status` field"));
    }
}
