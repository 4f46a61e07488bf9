//! `kz test`'s health check of an app (issue 22): after its suites, the app is started as App
//! Garden would start it (`appgarden`), its primary service's port published on
//! `127.0.0.1:<free port>`, and `GET /health` is probed from kz. The result is one more line of
//! the extension's report (framework `health`); the deployment is torn down right after.

use super::Context;
use crate::appgarden::{self, Platform, ProbeOptions, StartEvent};
use crate::build::{self, BuildEvent, BuildOptions, BuildOutcome, BuildTarget};
use crate::docker::Engine;
use crate::error::Error;
use crate::exttest::{self, ExtensionPlan, Outcome, Session, SuiteResult};
use crate::manifest::{Manifest, FILE_NAME};
use crate::workspace::Extension;
use std::time::{Duration, Instant};

pub(crate) struct HealthOptions {
    pub(crate) probe: ProbeOptions,
    /// How long each service others depend on may take to be ready.
    pub(crate) wait: Duration,
    pub(crate) build: bool,
}

/// Start `ext` in `session`, probe it, tear it down; the outcome as a suite result.
pub(crate) async fn check(
    ctx: &Context,
    engine: &Engine,
    session: &Session,
    ext: &Extension,
    plan: &ExtensionPlan,
    targets: &[BuildTarget],
    opts: &HealthOptions,
) -> SuiteResult {
    let started = Instant::now();
    let rel = ext.rel();
    let result = deploy_and_probe(ctx, engine, session, ext, plan, targets, opts).await;
    let down = exttest::teardown(engine, session, None).await;
    for failure in &down.failures {
        ctx.out.warn(&format!("teardown: {failure}"));
    }
    let (outcome, message, service) = match result {
        Ok((report, service)) if report.passed => {
            ctx.out.done(
                "Healthy",
                &format!("{rel}: {} (service `{service}`)", report.line),
            );
            (Outcome::Passed, report.line, Some(service))
        }
        Ok((report, service)) => {
            ctx.out
                .failed("FAILED", &format!("{rel} health: {}", report.line));
            if let Some(detail) = &report.detail {
                let what = if detail.starts_with("HTTP ") {
                    "the response"
                } else {
                    "the container's last log lines"
                };
                ctx.out.status(&format!("  {what}:"));
                for line in detail.lines() {
                    ctx.out.status(&format!("    {line}"));
                }
            }
            let message = report.line.clone();
            (
                Outcome::Error {
                    message: message.clone(),
                },
                message,
                Some(service),
            )
        }
        Err(e) => {
            let mut message = e.one_line();
            ctx.out
                .failed("FAILED", &format!("{rel} health: {message}"));
            if let Error::AppUnhealthy { logs, .. } = &e {
                for line in logs.lines() {
                    ctx.out.status(&format!("    {line}"));
                }
            }
            if let Some(hint) = e.hint() {
                message = format!("{message} ({hint})");
            }
            (
                Outcome::Error {
                    message: message.clone(),
                },
                message,
                None,
            )
        }
    };
    SuiteResult {
        dir: ".".to_owned(),
        framework: "health".to_owned(),
        service,
        image: None,
        outcome,
        message,
        duration: started.elapsed(),
    }
}

async fn deploy_and_probe(
    ctx: &Context,
    engine: &Engine,
    session: &Session,
    ext: &Extension,
    plan: &ExtensionPlan,
    targets: &[BuildTarget],
    opts: &HealthOptions,
) -> Result<(appgarden::HealthReport, String), Error> {
    if opts.build {
        build_all(ctx, engine, targets).await?;
    }
    let manifest = Manifest::load(&ext.file(FILE_NAME)).ok();
    let host_port = appgarden::free_port().map_err(|source| Error::Runtime { source })?;
    let platform = Platform {
        app_port: host_port,
        deployment_id: format!("kz-{}", session.id()),
        app_name: ext.dir_name.clone(),
        api_url: "https://host.docker.internal/api".to_owned(),
        model_port: None,
    };
    let deployment = appgarden::plan(ext, manifest.as_ref(), &plan.built, &platform)?;
    let Some((primary, port)) = deployment.primary.clone() else {
        return Err(Error::invalid(
            &deployment.file,
            "no service publishes a port, so App Garden has nothing to route to and nothing to probe",
        ));
    };
    ctx.out.status(&format!(
        "  starting {} as App Garden would (App Garden session {}); `{primary}` port {port} on 127.0.0.1:{host_port}",
        ext.rel(),
        session.id()
    ));
    let out = ctx.out;
    let mut on_event = |e: StartEvent<'_>| match e {
        StartEvent::Starting { service, image } => {
            out.status(&format!("  starting `{service}` ({image})"));
        }
        StartEvent::Ready { service, state } => out.status(&format!("  `{service}` is {state}")),
    };
    let running = appgarden::start(
        engine,
        session,
        &deployment,
        host_port,
        opts.wait,
        &mut on_event,
    )
    .await?;
    let address = running
        .address
        .ok_or_else(|| Error::invalid(&deployment.file, "the primary service was not started"))?;
    let report = appgarden::probe(engine, running.container(&primary), address, &opts.probe).await;
    Ok((report, primary))
}

/// Every image of the app (the health check runs them all).
async fn build_all(ctx: &Context, engine: &Engine, targets: &[BuildTarget]) -> Result<(), Error> {
    let out = ctx.out;
    for target in targets {
        let image = target.image().to_owned();
        let shown = image.clone();
        let outcome = build::build_target(engine, target, &BuildOptions::default(), move |e| {
            if e == BuildEvent::Building {
                out.done("Building", &shown);
            }
        })
        .await?;
        if let BuildOutcome::Built { .. } = outcome {
            out.done("Built", &image);
        }
    }
    Ok(())
}
