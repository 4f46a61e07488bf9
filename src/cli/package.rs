//! `kz package [--out DIR] [--with-images]`: build/kamiwaza-extension-registry/ as
//! `<out>/kamiwaza-registry-YYYYMMDD-HHMMSS.tar.gz` (local time in the name only); with
//! `--with-images`, every image the catalogue references is saved from the engine, in one
//! multi-image save (each layer once), as `garden/<dir>/docker-images/images.tar` of the
//! archive, with manifest.json and import-images.sh; a progress bar in bytes while it saves.

use super::output::count;
use super::Context;
use crate::build;
use crate::docker::{Engine, EngineConfig};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::package;
use crate::workspace::Workspace;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to write the archive (default: dist/ at the workspace root).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also pack every image the catalogue references (docker_images and extra_docker_images),
    /// saved from the Docker engine, with manifest.json and import-images.sh.
    #[arg(long)]
    with_images: bool,
    /// Also pack this file, which the secret-file policy leaves out (a path inside
    /// build/kamiwaza-extension-registry/; repeatable). `.env` files and private keys never are.
    #[arg(long = "allow", value_name = "PATH")]
    allow: Vec<String>,
    /// The catalogue layout to pack (built first, stage dev, when nothing is built yet); the
    /// built folder must hold it. Default: kz.yaml `catalogue.repo_version`, else what is built.
    #[arg(long, value_enum)]
    repo_version: Option<super::build_registry::Layout>,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    crate::util::secret_files::set_allowed(&args.allow);
    // An interrupted package removes its partial archive.
    crate::util::tempfiles::remove_on_signals();
    let ws = Workspace::discover(&ctx.cwd)?;
    let registry = ws.root.join(crate::registry::OUTPUT_DIR);
    if !registry.is_dir() {
        ctx.out
            .note("no registry built yet; running `kz build-registry` (stage dev, v2) first");
        let status = super::build_registry::run_default(ctx, args.repo_version)?;
        if status != ExitStatus::Success {
            return Ok(status);
        }
    }
    let out = args
        .out
        .as_ref()
        .map_or_else(|| ws.root.join("dist"), |o| ctx.cwd.join(o));
    pack_into(ctx, &ws, &out, args.with_images)?;
    Ok(ExitStatus::Success)
}

/// Pack the built registry of `ws` (with the catalogue's images when `with_images`) into
/// `<out>/kamiwaza-registry-<stamp>.tar.gz`, report it (the archive path on stdout), and return
/// the archive's path.
pub(crate) fn pack_into(
    ctx: &Context,
    ws: &Workspace,
    out: &Path,
    with_images: bool,
) -> Result<PathBuf, Error> {
    let registry = ws.root.join(crate::registry::OUTPUT_DIR);
    let stamp = jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string();
    let archive = out.join(format!("kamiwaza-registry-{stamp}.tar.gz"));
    // The image archives live in a temporary folder under build/ until they are packed.
    let exported = if with_images {
        export(&ws.root, &registry, ctx)?
    } else {
        None
    };
    let overlay = exported.as_ref().map(|(overlay, _)| overlay);
    let packed = package::pack_with(&registry, crate::registry::OUTPUT_NAME, &archive, overlay)?;
    for s in &packed.skipped {
        ctx.out.warn(&format!("left out {}: {}", s.path, s.reason));
    }
    let size = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    ctx.out.done(
        "Packed",
        &format!(
            "{} files ({} bytes) into {} bytes",
            packed.files, packed.bytes, size
        ),
    );
    ctx.out.data(&archive.display().to_string());
    ctx.out.status(&format!(
        "extract with: tar -xzf {} -C <dir>",
        archive.display()
    ));
    Ok(archive)
}

/// Save the catalogue's images into a temporary folder; `None` when it references none.
fn export(
    root: &std::path::Path,
    registry: &std::path::Path,
    ctx: &Context,
) -> Result<Option<(package::Overlay, tempfile::TempDir)>, Error> {
    let (garden, images) = build::registry_images(registry)?;
    if images.is_empty() {
        ctx.out
            .note("no images to export: the catalogue references none");
        return Ok(None);
    }
    let build_dir = root.join("build");
    std::fs::create_dir_all(&build_dir).map_err(|e| Error::write(&build_dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".kz-images-")
        .tempdir_in(&build_dir)
        .map_err(|e| Error::write(&build_dir, e))?;
    let runtime = super::runtime()?;
    // A byte bar on a terminal (indicatif), one line at the start and end otherwise.
    let bar = (!ctx.out.is_quiet() && std::io::stderr().is_terminal()).then(|| {
        let style = ProgressStyle::with_template(
            "   Saving {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        ProgressBar::new(0).with_style(style)
    });
    let saved = runtime.block_on(async {
        let engine = Engine::connect(&EngineConfig::from_env(&ctx.env)).await?;
        build::save_images(&engine, &images, tmp.path(), |p| match (p, &bar) {
            (build::SaveProgress::Start { images, estimate }, Some(bar)) => {
                bar.set_length(estimate);
                bar.set_message(count(images, "image"));
            }
            (build::SaveProgress::Start { images, estimate }, None) => {
                ctx.out.status(&format!(
                    "   Saving {} in one archive (about {estimate} bytes of distinct layers)",
                    count(images, "image")
                ));
            }
            (build::SaveProgress::Written { written }, Some(bar)) => {
                // The estimate leaves out tar headers and configs: grow rather than overflow.
                if written > bar.length().unwrap_or(0) {
                    bar.set_length(written);
                }
                bar.set_position(written);
            }
            (build::SaveProgress::Written { .. }, None) => {}
        })
        .await
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let saved = saved?;
    build::write_import_files(tmp.path(), &saved)?;
    let mut files: Vec<(String, PathBuf)> = vec![(saved.file.clone(), saved.path.clone())];
    for extra in ["import-images.sh", "manifest.json"] {
        files.push((extra.to_owned(), tmp.path().join(extra)));
    }
    files.sort();
    ctx.out.done(
        "Saved",
        &format!(
            "{} into {} ({} bytes, each layer once)",
            count(saved.images.len(), "image"),
            saved.file,
            saved.size
        ),
    );
    let overlay = package::Overlay {
        dir: format!("{garden}/{}", build::IMAGES_DIR),
        files,
    };
    Ok(Some((overlay, tmp)))
}
