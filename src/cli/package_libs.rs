//! `kz package-libs [--python-only|--ts-only] [--clean]`: build the workspace's shared
//! libraries (shared/python → wheel in dist/, shared/typescript/<pkg> → <pkg>/*.tgz).

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::libs::{self, LibsError, Tools};
use crate::workspace::Workspace;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Build only the Python library (shared/python).
    #[arg(long, conflicts_with = "ts_only")]
    python_only: bool,
    /// Build only the TypeScript libraries (shared/typescript/*).
    #[arg(long)]
    ts_only: bool,
    /// Remove what earlier builds left (Python dist/, build/, *.egg-info; *.tgz) first.
    #[arg(long)]
    clean: bool,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let ws = Workspace::discover(&ctx.cwd)?;
    let root = &ws.root;
    let found = libs::discover(root)?;
    let python = if args.ts_only {
        None
    } else {
        found.python.clone()
    };
    let typescript = if args.python_only {
        Vec::new()
    } else {
        found.typescript.clone()
    };
    if args.python_only && python.is_none() {
        return Err(LibsError::NoLibrary {
            what: "Python shared library",
            path: root.join(libs::PYTHON_DIR),
        }
        .into());
    }
    if args.ts_only && typescript.is_empty() {
        return Err(LibsError::NoLibrary {
            what: "TypeScript shared library",
            path: root.join(libs::TS_DIR),
        }
        .into());
    }
    if python.is_none() && typescript.is_empty() {
        ctx.out.note(&format!(
            "no shared libraries in this workspace ({} with a pyproject.toml or setup.py, \
             {}/<name> with a package.json): nothing to build",
            libs::PYTHON_DIR,
            libs::TS_DIR
        ));
        return Ok(ExitStatus::Success);
    }
    let tools = Tools::new(&ctx.env, &ctx.cwd);
    let mut built = Vec::new();
    if let Some(dir) = &python {
        ctx.out
            .status(&format!("Building {} (pip wheel)", libs::rel(root, dir)));
        built.push(libs::build_python(root, dir, args.clean, &tools)?);
    }
    for dir in &typescript {
        ctx.out
            .status(&format!("Building {} (npm pack)", libs::rel(root, dir)));
        built.push(libs::build_typescript(root, dir, args.clean, &tools)?);
    }
    for b in &built {
        for old in &b.removed {
            ctx.out
                .note(&format!("removed the older {}", libs::rel(root, old)));
        }
        for artifact in &b.artifacts {
            ctx.out.done("Built", &libs::rel(root, artifact));
            ctx.out.data(&libs::rel(root, artifact));
        }
    }
    if python.is_some() {
        ctx.out.status(
            "to use the wheel: copy it into an app's backend/ and list `./<file>.whl` first in \
             its requirements.txt",
        );
    }
    if !typescript.is_empty() {
        ctx.out.status(
            "to use a package: copy the .tgz into an app's frontend/ and depend on it as \
             \"file:./<file>.tgz\" in its package.json",
        );
    }
    Ok(ExitStatus::Success)
}
