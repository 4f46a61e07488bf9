//! The catalogue half of `kz publish` and `kz plan`: the shared flags, building the stage's
//! catalogue in memory, and printing a plan or a publish. The work is
//! `publish::catalog::{plan, publish}`.

use super::build_registry::Layout;
use super::output::count;
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::publish::catalog::{self, Event, Holder, LockEvent, Plan, Store, Target};
use crate::registry::{self, Catalogue, Options};
use crate::settings::Settings;
use crate::workspace::Workspace;
use std::time::Duration;

/// How long a publish lock holds without renewal.
const LOCK_TTL: Duration = Duration::from_secs(600);

/// The catalogue's flags, shared by `kz publish` and `kz plan`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CatalogArgs {
    /// The catalogue layout: v2 (garden/v2), v3 (garden/v3, kz-ext's entries, pinned) or v1
    /// (garden/default); default: kz.yaml `catalogue.repo_version`, else v2.
    #[arg(long, value_enum)]
    pub(crate) repo_version: Option<Layout>,
    /// Pin the images kz builds to their digests (`repo:tag@sha256:...`); the default for v3.
    #[arg(long, conflicts_with = "no_pin")]
    pub(crate) pin: bool,
    /// Publish tag references, not digests (v3 pins by default).
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// Pin third-party images too (resolved in their registries).
    #[arg(long, conflicts_with = "no_pin")]
    pub(crate) pin_external: bool,
    /// Seconds to wait for another publisher's lock before giving up [default: 30].
    #[arg(long, value_name = "SECS")]
    pub(crate) lock_timeout: Option<u64>,
}

impl CatalogArgs {
    /// `--lock-timeout`, 30 s when not given.
    fn lock_timeout(&self) -> Duration {
        Duration::from_secs(self.lock_timeout.unwrap_or(30))
    }
}

/// The stage's catalogue, its target and a client for its bucket.
pub(crate) struct Prepared {
    pub(crate) target: Target,
    pub(crate) local: Catalogue,
    pub(crate) store: Store,
    /// Whether the entries are to be pinned to digests (`repin`).
    pub(crate) pin: bool,
    pub(crate) pin_external: bool,
}

impl CatalogArgs {
    /// Whether to pin: `--pin`/`--pin-external`, else not with `--no-pin`, else for v3 only.
    pub(crate) fn pins(&self, layout: crate::registry::RepoVersion) -> bool {
        self.pin
            || self.pin_external
            || (!self.no_pin && layout == crate::registry::RepoVersion::V3)
    }
}

/// [`repin`] for a plan (`kz plan`, `--dry-run`): when an image to pin is not pushed yet, the
/// plan compares tag references and says so.
pub(crate) async fn repin_for_plan(
    ctx: &Context,
    prepared: &mut Prepared,
    ws: &Workspace,
    settings: &Settings,
) -> Result<(), Error> {
    match repin(ctx, prepared, ws, settings, &crate::registry::Pins::new()).await {
        Err(Error::NotInRegistry { missing }) => {
            ctx.out.note(&format!(
                "not pinned in this plan: {} not in the registry yet ({})",
                count(missing.len(), "image"),
                missing.join(", ")
            ));
            Ok(())
        }
        other => other,
    }
}

/// Rebuild `prepared`'s catalogue with its kz-built images (and, with `--pin-external`, the
/// others) pinned: digests from `known` (what was just pushed, checked in the registry), the
/// rest read from the registry. Without pinning, nothing changes.
pub(crate) async fn repin(
    ctx: &Context,
    prepared: &mut Prepared,
    ws: &Workspace,
    settings: &Settings,
    known: &crate::registry::Pins,
) -> Result<(), Error> {
    if !prepared.pin {
        return Ok(());
    }
    let stage = settings.require_stage(&prepared.target.stage)?;
    let mut registries = crate::publish::images::Registries::new(
        crate::oci::auth::CredentialStore::from_env(&ctx.env),
        crate::oci::RegistryOptions::default(),
        crate::oci::layers::LayerCache::default(),
    );
    let pins = crate::publish::pins::for_catalogue(
        ws,
        settings,
        stage,
        &prepared.local,
        known,
        prepared.pin_external,
        &mut registries,
    )
    .await?;
    let opts = Options {
        stage,
        repo_version: prepared.target.layout,
        pins: Some(&pins),
    };
    prepared.local = registry::plan(ws, settings, &opts)?;
    ctx.out.status(&format!(
        "catalogue entries pinned to the registry's digests ({})",
        count(pins.len(), "image")
    ));
    Ok(())
}

/// Build the stage's catalogue in memory (validation gate included) and resolve its bucket.
pub(crate) async fn prepare(
    ctx: &Context,
    ws: &Workspace,
    settings: &Settings,
    stage: &str,
    args: &CatalogArgs,
) -> Result<Prepared, Error> {
    let stage = settings.require_stage(stage)?;
    let layout = super::build_registry::layout(args.repo_version, settings);
    let target = Target::resolve(settings, &stage.name, layout)?;
    let opts = Options {
        stage,
        repo_version: layout,
        pins: None,
    };
    let local = match registry::plan(ws, settings, &opts) {
        Ok(local) => local,
        Err(err) => {
            if let Error::ValidationFailed { report } = &err {
                super::validate::print_text(ctx, report);
            }
            return Err(err);
        }
    };
    let store = Store::connect(&target).await?;
    Ok(Prepared {
        target,
        local,
        store,
        pin: args.pins(layout),
        pin_external: args.pin_external,
    })
}

/// Print a plan: entries per file on stdout, a summary on stderr.
pub(crate) fn print_plan(ctx: &Context, plan: &Plan) {
    ctx.out.data(&format!(
        "catalogue {} (stage {}, {})",
        plan.url, plan.stage, plan.layout
    ));
    for file in &plan.files {
        let first = if file.first {
            " (not published yet)"
        } else {
            ""
        };
        ctx.out.data(&format!("  {}{first}", file.file));
        for e in &file.added {
            ctx.out.data(&format!("    + {e}  added"));
        }
        for u in &file.updated {
            let from: Vec<String> = u.from.iter().map(|f| f.version.clone()).collect();
            let forced = if u.forced { " (forced)" } else { "" };
            ctx.out.data(&format!(
                "    ~ {} {} -> {}  updated{forced}",
                u.to.name,
                from.join(", "),
                u.to.version
            ));
        }
        for e in &file.unchanged {
            ctx.out.data(&format!("    = {e}  unchanged"));
        }
        for e in &file.removed {
            ctx.out.data(&format!(
                "    - {e}  published, not in this workspace (kept)"
            ));
        }
        for c in &file.conflicts {
            ctx.out.data(&format!("    ! {}: {}", c.entry, c.reason));
        }
    }
    let p = &plan.previews;
    ctx.out.data(&format!(
        "  previews: {} to upload, {} unchanged",
        p.upload.len(),
        p.unchanged.len()
    ));
    let sum = |f: fn(&catalog::FileMerge) -> usize| plan.files.iter().map(f).sum::<usize>();
    ctx.out.status(&format!(
        "stage {}: {} added, {} updated, {} unchanged, {} kept (not in this workspace), {}",
        plan.stage,
        sum(|f| f.added.len()),
        sum(|f| f.updated.len()),
        sum(|f| f.unchanged.len()),
        sum(|f| f.removed.len()),
        count(plan.conflicts(), "conflict"),
    ));
}

/// `kz publish`'s catalogue step, on the catalogue `prepare` made: publish (or, with `dry_run`,
/// plan) and report.
pub(crate) async fn run_publish(
    ctx: &Context,
    prepared: Prepared,
    args: &CatalogArgs,
    dry_run: bool,
    force: bool,
) -> Result<ExitStatus, Error> {
    if dry_run {
        let plan = catalog::plan(&prepared.store, &prepared.target, &prepared.local, force).await?;
        print_plan(ctx, &plan);
        ctx.out
            .status("dry run: nothing was uploaded (the published catalogue was only read)");
        return Ok(if plan.conflicts() > 0 {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        });
    }
    let opts = catalog::Options {
        force,
        lock_timeout: args.lock_timeout(),
        lock_ttl: LOCK_TTL,
        holder: holder(ctx),
    };
    let out = ctx.out;
    let on_event = move |e: Event| match e {
        Event::Lock(LockEvent::Waiting(who)) => {
            out.status(&format!("waiting for the publish lock, held by {who}"))
        }
        Event::Lock(LockEvent::BrokeStale(who)) => {
            out.warn(&format!("took over an expired publish lock of {who}"))
        }
        Event::Locked(key) => out.status(&out.dim(&format!("locked {key}"))),
        Event::Uploaded(key) => out.done("Uploaded", &key),
        Event::BackedUp(key) => out.done("Backed up", &key),
        Event::NotReleased(why) => out.warn(&format!("the publish lock was not released: {why}")),
    };
    let cancel = super::stop_signal()?;
    let report = catalog::publish(
        &prepared.store,
        &prepared.target,
        &prepared.local,
        &opts,
        &on_event,
        cancel,
    )
    .await?;
    print_plan(ctx, &report.plan);
    if report.uploaded.is_empty() {
        ctx.out.done(
            "Unchanged",
            &format!("{}: already published", report.plan.url),
        );
    } else {
        ctx.out.done(
            "Published",
            &format!(
                "{} ({} written, {} backed up)",
                report.plan.url,
                count(report.uploaded.len(), "object"),
                count(report.backups.len(), "file")
            ),
        );
    }
    Ok(ExitStatus::Success)
}

/// Who this publish is: written into the lock so a waiting publisher can name it.
fn holder(ctx: &Context) -> Holder {
    let env = |k: &str| ctx.env.get(k).filter(|v| !v.is_empty()).cloned();
    let host = env("HOSTNAME")
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .or_else(|| env("COMPUTERNAME"))
        .unwrap_or_else(|| "unknown-host".to_owned());
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Holder {
        id: format!("{host}-{pid}-{nanos:x}"),
        owner: env("CI_JOB_ID")
            .or_else(|| env("GITHUB_RUN_ID"))
            .unwrap_or_else(|| "manual".to_owned()),
        host,
        pid,
        acquired_at: String::new(),
        expires_at: String::new(),
        tool: format!("kz {}", env!("CARGO_PKG_VERSION")),
    }
}
