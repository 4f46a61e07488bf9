//! `kz run [PATH|IMAGE] [--network N] [--publish PORT] [--timeout SECS]` and `kz stop [SLUG]`:
//! start a Synapse app as the workspace's runner does, wait for its health path, print the
//! state; stop and remove it. In an app folder the image is `runtime.image`, refused when its
//! label is not the manifest as it is now (rebuild after editing synapse-app.yaml).

use super::Context;
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::synapse::{self, run, AppManifest};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// An app folder (default: the one kz runs in) or an image holding the manifest label.
    app: Option<String>,
    /// The docker network (created when missing).
    #[arg(long, default_value = run::DEFAULT_NETWORK, value_name = "NAME")]
    network: String,
    /// Publish the app's port on 127.0.0.1:PORT (the runner publishes none).
    #[arg(long, value_name = "PORT")]
    publish: Option<u16>,
    /// Seconds to wait for health (default: lifecycle.start_timeout_ms).
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StopArgs {
    /// The app's slug (default: the app folder kz runs in).
    slug: Option<String>,
}

pub(crate) fn run(args: &RunArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let names: Vec<String> = args.app.iter().cloned().collect();
    // An app folder: its runtime.image, which must carry the manifest as it is now. An image
    // reference: whatever manifest its label holds.
    let (image, app) = match super::synapse_apps::app_dir(&names, ctx)? {
        Some((dir, display)) => {
            let app = super::synapse_apps::plan(&dir, &display, ctx)?;
            (app.reference.clone(), Some((app, display)))
        }
        None => match &args.app {
            Some(image) => (image.clone(), None),
            None => {
                return Err(Error::Usage {
                    message: "no synapse-app.yaml here; name an app folder or an image".to_owned(),
                })
            }
        },
    };
    let spec = run::RunSpec {
        image: image.clone(),
        network: args.network.clone(),
        publish: args.publish,
        timeout: args.timeout.map(Duration::from_secs),
    };
    let result = super::runtime()?.block_on(async {
        let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
        let manifest = match &app {
            Some((app, display)) => {
                run::check_current(&engine, &image, &app.manifest, display).await?
            }
            None => run::image_manifest(&engine, &image).await?,
        };
        let slug = manifest.name().unwrap_or_default().to_owned();
        ctx.out.status(&format!(
            "Starting {} from {image} on {}",
            run::container_name(&slug),
            args.network
        ));
        let last = std::sync::Mutex::new(String::new());
        let running = run::run(&engine, &manifest, &spec, |seen| {
            let mut last = last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *last != seen {
                ctx.out.status(&ctx.out.dim(&format!("  waiting: {seen}")));
                seen.clone_into(&mut last);
            }
        })
        .await;
        Ok::<_, Error>(running)
    })?;
    match result {
        Ok(running) => {
            if running.created_network {
                ctx.out
                    .note(&format!("created network {}", running.network));
            }
            ctx.out.data(&format!(
                "{}  healthy  {} -> {} in {:.1} s",
                running.container,
                running.probe_url,
                running.status,
                running.elapsed.as_secs_f64()
            ));
            ctx.out.status(&format!(
                "workspace URL: {}/ (stop with `kz stop {}`)",
                run::root_path(&running.slug),
                running.slug
            ));
            Ok(ExitStatus::Success)
        }
        Err(err) => {
            if let Error::AppUnhealthy { logs, .. } = &err {
                if !logs.trim().is_empty() {
                    ctx.out.status("last log lines:");
                    ctx.out.status(logs.trim_end());
                }
            }
            Err(err)
        }
    }
}

pub(crate) fn stop(args: &StopArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let (slug, grace) = match &args.slug {
        Some(slug) => (slug.clone(), None),
        None => {
            let Some((dir, _)) = super::synapse_apps::app_dir(&[], ctx)? else {
                return Err(Error::Usage {
                    message: "no synapse-app.yaml here; name the app's slug".to_owned(),
                });
            };
            let manifest = AppManifest::load(&dir.join(synapse::FILE_NAME))?;
            let slug = manifest
                .name()
                .ok_or_else(|| Error::invalid(&manifest.path, "metadata.name is missing"))?
                .to_owned();
            (slug, Some(Duration::from_millis(manifest.stop_grace_ms())))
        }
    };
    let name = run::container_name(&slug);
    let stopped = super::runtime()?.block_on(async {
        let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
        run::stop(&engine, &slug, grace.unwrap_or(Duration::from_secs(10))).await
    })?;
    if stopped {
        ctx.out.done("Stopped", &format!("{name} (removed)"));
    } else {
        ctx.out.status(&format!("{name} is not running"));
    }
    Ok(ExitStatus::Success)
}
