//! `kz new app|service|tool NAME`.

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::scaffold;
use crate::settings::Settings;
use crate::sync::{self, Plan};
use crate::workspace::{self, Kind, Workspace};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// What to create.
    #[arg(value_enum)]
    kind: KindArg,
    /// Folder name: lowercase and hyphens; services start with `service-`, tools with `tool-` or `mcp-`.
    name: String,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum KindArg {
    App,
    Service,
    Tool,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let kind = match args.kind {
        KindArg::App => Kind::App,
        KindArg::Service => Kind::Service,
        KindArg::Tool => Kind::Tool,
    };
    scaffold::check_name(kind, &args.name)?;
    let root =
        workspace::find_root(&std::path::absolute(&ctx.cwd).map_err(|e| Error::read(&ctx.cwd, e))?)
            .unwrap_or_else(|| {
                ctx.out.note(&format!(
                    "no workspace found; creating one in {}",
                    ctx.cwd.display()
                ));
                ctx.cwd.clone()
            });
    let settings = Settings::load(&root, &ctx.env)?;
    let dir = scaffold::create(&root, kind, &args.name, &settings)?;
    let ws = Workspace::open(&root, None)?;
    let ext = ws.find(&format!("{}/{}", kind.dir(), args.name))?;
    if let Plan::Ready(planned) = sync::plan(ext, &settings)? {
        planned.write()?;
    }
    let rel = ext.rel();
    ctx.out.done("Created", &format!("{kind} {rel}"));
    let mut files: Vec<String> = walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            e.path()
                .strip_prefix(&root)
                .ok()
                .map(|p| p.display().to_string())
        })
        .collect();
    files.sort();
    for f in files {
        ctx.out.data(&f);
    }
    ctx.out.status(&format!(
        "next: edit {rel}/kamiwaza.json, then `kz validate {name}` and `kz sync-compose {name}`",
        name = args.name
    ));
    Ok(ExitStatus::Success)
}
