//! Running suites: for each one, its dependencies (compose `depends_on`, transitively) are started
//! on the session network under their service names, from their images, with only their compose
//! `environment:`, and waited for; then a fresh container of the suite's image runs the
//! framework's command in the image's WORKDIR, with the tests uploaded when the image lacks them.
//! Output is handed to the caller as it comes; the container's exit code decides the outcome.
//! A suite's containers and volumes are removed when it ends; the session teardown catches
//! anything left.

use super::compose::Service;
use super::containers::{self, Readiness, Spec};
use super::plan::{ExtensionPlan, Suite};
use super::script;
use super::session::Session;
use super::upload;
use crate::docker::{engine_error, Engine};
use crate::error::Error;
use bytes::Bytes;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How long a dependency may take to run (and turn healthy).
    pub dependency_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            dependency_timeout: Duration::from_secs(120),
        }
    }
}

/// What happens during a run, in order, for the caller to show.
#[derive(Debug)]
pub enum Event<'a> {
    SuiteStarted {
        extension: &'a str,
        suite: &'a Suite,
        image: &'a str,
    },
    DependencyStarted {
        suite: &'a Suite,
        service: &'a str,
        image: &'a str,
    },
    /// `state` is `running`, `healthy`, or `completed` (it exited with code 0, like a
    /// migration job).
    DependencyReady {
        suite: &'a Suite,
        service: &'a str,
        state: &'static str,
    },
    /// The image lacked the tests; the folder was uploaded to `target`.
    Uploaded {
        suite: &'a Suite,
        target: &'a str,
        files: usize,
    },
    Output {
        suite: &'a Suite,
        stderr: bool,
        bytes: &'a [u8],
    },
    SuiteFinished {
        extension: &'a str,
        suite: &'a Suite,
        result: &'a SuiteResult,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    /// The runner found nothing to run (pytest exit 5); not a failure.
    NoTests,
    Failed {
        exit_code: i64,
    },
    /// The image has no `tool` (pytest, npm, go, or a shell).
    MissingRunner {
        tool: String,
    },
    /// No compose service builds the folder, so there is no image to run it in.
    NoImage {
        message: String,
    },
    /// Something other than the tests failed (a dependency, the engine).
    Error {
        message: String,
    },
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        !matches!(self, Outcome::Passed | Outcome::NoTests)
    }

    /// One line for people.
    pub fn describe(&self, image: Option<&str>) -> String {
        let image = image.unwrap_or("the image");
        match self {
            Outcome::Passed => "passed".to_owned(),
            Outcome::NoTests => "no tests collected".to_owned(),
            Outcome::Failed { exit_code } => format!("failed (exit code {exit_code})"),
            Outcome::MissingRunner { tool } => {
                format!("image {image} has no `{tool}`, which these tests need")
            }
            Outcome::NoImage { message } | Outcome::Error { message } => message.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SuiteResult {
    pub dir: String,
    pub framework: String,
    pub service: Option<String>,
    pub image: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub message: String,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[derive(Clone, Debug, Serialize)]
pub struct ExtensionReport {
    pub extension: String,
    pub result: &'static str,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    pub suites: Vec<SuiteResult>,
}

impl ExtensionReport {
    pub fn failed(&self) -> bool {
        self.suites.iter().any(|s| s.outcome.is_failure())
    }
}

/// Runs suites within one session. Create one per `kz test`, then [`super::teardown`] it.
pub struct Runner<'e> {
    engine: &'e Engine,
    session: Session,
    options: RunOptions,
    network: bool,
    counter: usize,
}

/// Containers and volumes one suite created, removed when it ends.
#[derive(Default)]
struct Created {
    containers: Vec<String>,
    volumes: Vec<String>,
}

impl<'e> Runner<'e> {
    pub fn new(engine: &'e Engine, session: Session, options: RunOptions) -> Self {
        Runner {
            engine,
            session,
            options,
            network: false,
            counter: 0,
        }
    }

    /// Run every suite of `plan`, never stopping at a failure.
    pub async fn run_extension(
        &mut self,
        extension: &str,
        plan: &ExtensionPlan,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> ExtensionReport {
        let start = Instant::now();
        let mut suites = Vec::new();
        for suite in &plan.suites {
            let t0 = Instant::now();
            let image = suite.image.clone();
            let outcome = match (&suite.service, &image) {
                (None, _) => Outcome::NoImage {
                    message: format!(
                        "no compose service builds `{}`; kz test runs tests in the image built \
                         from the folder that holds them",
                        suite.dir
                    ),
                },
                (Some(svc), None) => Outcome::NoImage {
                    message: format!("service `{svc}` has no image built by kz"),
                },
                (Some(_), Some(image)) => {
                    on_event(Event::SuiteStarted {
                        extension,
                        suite,
                        image,
                    });
                    let mut created = Created::default();
                    let outcome = self
                        .run_suite(plan, suite, image, &mut created, on_event)
                        .await
                        .unwrap_or_else(|e| Outcome::Error {
                            message: e.one_line(),
                        });
                    // A failure here is left to the session teardown.
                    for id in created.containers.iter().rev() {
                        let _ = containers::remove(self.engine, id).await;
                    }
                    for name in &created.volumes {
                        let _ = containers::remove_volume(self.engine, name).await;
                    }
                    outcome
                }
            };
            let message = outcome.describe(image.as_deref());
            let result = SuiteResult {
                dir: suite.dir.clone(),
                framework: suite.framework.label(),
                service: suite.service.clone(),
                image,
                outcome,
                message,
                duration: t0.elapsed(),
            };
            on_event(Event::SuiteFinished {
                extension,
                suite,
                result: &result,
            });
            suites.push(result);
        }
        let failed = suites.iter().any(|s| s.outcome.is_failure());
        ExtensionReport {
            extension: extension.to_owned(),
            result: if suites.is_empty() {
                "no tests"
            } else if failed {
                "failed"
            } else {
                "passed"
            },
            duration: start.elapsed(),
            suites,
        }
    }

    async fn run_suite(
        &mut self,
        plan: &ExtensionPlan,
        suite: &Suite,
        image: &str,
        created: &mut Created,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Outcome, Error> {
        let engine = self.engine;
        let service_name = suite.service.as_deref().unwrap_or_default();
        let inspect = match engine.docker().inspect_image(image).await {
            Ok(i) => i,
            Err(e) if crate::docker::is_not_found(&e) => {
                return Ok(Outcome::Error {
                    message: format!("image {image} is not built (run `kz build`)"),
                })
            }
            Err(e) => return Err(engine_error(format!("inspect image {image}"), e)),
        };
        let workdir = inspect
            .config
            .and_then(|c| c.working_dir)
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        let target = upload::target_dir(&workdir, &suite.in_context);
        if !self.network {
            containers::create_network(engine, &self.session).await?;
            self.network = true;
        }
        self.counter += 1;
        let prefix = format!("{}-{}", self.session.network(), self.counter);
        let own = plan.compose.service(service_name);
        // Dependencies, in start order.
        let deps = plan.compose.dependencies_of(service_name)?;
        for dep in &deps {
            let dep_image = dependency_image(plan, dep)?;
            on_event(Event::DependencyStarted {
                suite,
                service: &dep.name,
                image: &dep_image,
            });
            let id = containers::create(
                engine,
                &self.session,
                Spec {
                    name: format!("{prefix}-{}", dep.name),
                    image: &dep_image,
                    alias: &dep.name,
                    env: containers::dependency_env(dep),
                    cmd: dep.command.clone(),
                    entrypoint: dep.entrypoint.clone(),
                    working_dir: None,
                    healthcheck: dep.healthcheck.as_ref(),
                    volumes: &dep.volumes,
                    volume_prefix: &prefix,
                    ..Spec::default()
                },
                &mut created.volumes,
            )
            .await?;
            created.containers.push(id.clone());
            containers::start(engine, &id, &format!("dependency `{}`", dep.name)).await?;
        }
        for (dep, id) in deps.iter().zip(created.containers.clone()) {
            let ready =
                containers::wait_ready(engine, &id, self.options.dependency_timeout).await?;
            let problem = match ready {
                Readiness::Running | Readiness::Healthy | Readiness::Exited { code: 0, .. } => {
                    let state = match ready {
                        Readiness::Healthy => "healthy",
                        Readiness::Running => "running",
                        _ => "completed",
                    };
                    on_event(Event::DependencyReady {
                        suite,
                        service: &dep.name,
                        state,
                    });
                    continue;
                }
                Readiness::Exited { code, logs } => {
                    format!(
                        "dependency `{}` exited with code {code}{}",
                        dep.name,
                        tail(&logs)
                    )
                }
                Readiness::Unhealthy { logs } => {
                    format!("dependency `{}` is unhealthy{}", dep.name, tail(&logs))
                }
                Readiness::TimedOut { health } => format!(
                    "dependency `{}` was not {} after {} s",
                    dep.name,
                    if health { "healthy" } else { "running" },
                    self.options.dependency_timeout.as_secs()
                ),
            };
            return Ok(Outcome::Error { message: problem });
        }
        // The suite's own container.
        let mut env = own.map(|s| s.environment.clone()).unwrap_or_default();
        for (k, v) in script::base_env(&suite.framework) {
            if !env.iter().any(|(key, _)| *key == k) {
                env.push((k, v));
            }
        }
        let empty = Vec::new();
        let id = containers::create(
            engine,
            &self.session,
            Spec {
                name: format!("{prefix}-test-{}", sanitize(service_name)),
                image,
                alias: service_name,
                env,
                cmd: Some(script::command(&suite.framework)),
                entrypoint: Some(Vec::new()),
                working_dir: Some(target.clone()),
                healthcheck: None,
                volumes: own.map_or(&empty, |s| &s.volumes),
                volume_prefix: &prefix,
                ..Spec::default()
            },
            &mut created.volumes,
        )
        .await?;
        created.containers.push(id.clone());
        self.ensure_tests(&id, suite, &target, on_event).await?;
        if let Err(e) = containers::start(engine, &id, "the test container").await {
            let text = e.one_line();
            if text.contains("executable file not found") || text.contains("no such file") {
                return Ok(Outcome::MissingRunner {
                    tool: "sh".to_owned(),
                });
            }
            return Err(e);
        }
        let mut missing = false;
        let sentinel = script::MISSING_RUNNER.as_bytes();
        let code = containers::follow(engine, &id, &mut |stderr, bytes| {
            if stderr && contains(bytes, sentinel) {
                missing = true;
                return;
            }
            on_event(Event::Output {
                suite,
                stderr,
                bytes,
            });
        })
        .await?;
        Ok(match code {
            0 => Outcome::Passed,
            script::MISSING_EXIT if missing => Outcome::MissingRunner {
                tool: suite.framework.tool().to_owned(),
            },
            5 if suite.framework == super::detect::Framework::Pytest => Outcome::NoTests,
            _ => Outcome::Failed { exit_code: code },
        })
    }

    /// Upload the suite's folder when one of its markers is missing from the container.
    async fn ensure_tests(
        &self,
        id: &str,
        suite: &Suite,
        target: &str,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Error> {
        let mut all_there = true;
        for marker in &suite.markers {
            let path = format!("{}/{marker}", target.trim_end_matches('/'));
            if !containers::path_exists(self.engine, id, &path).await? {
                all_there = false;
                break;
            }
        }
        if all_there && !suite.markers.is_empty() {
            return Ok(());
        }
        // Upload into the deepest folder that exists, so existing folders keep their owner.
        let mut base = target.to_owned();
        let mut prefix = String::new();
        while base != "/" && !containers::path_exists(self.engine, id, &base).await? {
            let (parent, last) = base.rsplit_once('/').unwrap_or(("", base.as_str()));
            prefix = if prefix.is_empty() {
                last.to_owned()
            } else {
                format!("{last}/{prefix}")
            };
            base = if parent.is_empty() {
                "/".to_owned()
            } else {
                parent.to_owned()
            };
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let dir = suite.path.clone();
        let tar_prefix = prefix.clone();
        let writer = tokio::task::spawn_blocking(move || upload::stream_dir(&dir, &tar_prefix, tx));
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let opts = bollard::query_parameters::UploadToContainerOptions {
            path: base.clone(),
            ..Default::default()
        };
        let sent = self
            .engine
            .docker()
            .upload_to_container(id, Some(opts), bollard::body_stream(stream))
            .await;
        let files = match writer.await {
            Ok(r) => r?,
            Err(e) => {
                return Err(Error::Runtime {
                    source: std::io::Error::other(e.to_string()),
                })
            }
        };
        sent.map_err(|e| {
            engine_error(format!("upload `{}` into the test container", suite.dir), e)
        })?;
        on_event(Event::Uploaded {
            suite,
            target,
            files,
        });
        Ok(())
    }
}

/// A dependency runs from the image kz built for it, else its compose `image:`.
fn dependency_image(plan: &ExtensionPlan, dep: &Service) -> Result<String, Error> {
    if let Some(image) = plan.image_of(&dep.name) {
        return Ok(image.to_owned());
    }
    dep.image.clone().ok_or_else(|| {
        Error::invalid(
            &plan.compose.path,
            format!(
                "dependency `{}` has neither `image:` nor a `build:` kz built",
                dep.name
            ),
        )
    })
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn tail(logs: &str) -> String {
    let t = logs.trim_end();
    if t.is_empty() {
        String::new()
    } else {
        format!("; its last output:\n{t}")
    }
}
