//! `kz new app|service|tool NAME` and `kz new synapse SLUG [--framework X]`.

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::scaffold;
use crate::settings::Settings;
use crate::synapse::{self, scaffold::Framework, Target};
use crate::sync::{self, Plan};
use crate::workspace::{self, Kind, Workspace};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// What to create.
    #[arg(value_enum)]
    kind: KindArg,
    /// Folder name: lowercase and hyphens; services start with `service-`, tools with `tool-` or
    /// `mcp-`; a Synapse app's slug is 2 to 63 characters starting with a letter.
    name: String,
    /// The Synapse app's framework (synapse only).
    #[arg(long, value_enum)]
    framework: Option<Framework>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum KindArg {
    App,
    Service,
    Tool,
    /// A Synapse app: one image whose label carries synapse-app.yaml.
    Synapse,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let kind = match args.kind {
        KindArg::App => Kind::App,
        KindArg::Service => Kind::Service,
        KindArg::Tool => Kind::Tool,
        KindArg::Synapse => return new_synapse(args, ctx),
    };
    if args.framework.is_some() {
        return Err(Error::Usage {
            message: "--framework is for `kz new synapse`".to_owned(),
        });
    }
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
    list_files(ctx, &dir, &root);
    ctx.out.status(&format!(
        "next: edit {rel}/kamiwaza.json, then `kz validate {name}` and `kz sync-compose {name}`",
        name = args.name
    ));
    Ok(ExitStatus::Success)
}

/// A Synapse app goes in `<root>/synapse/<slug>/` inside an extensions workspace, else in
/// `./<slug>/`: an app can live anywhere.
fn new_synapse(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let framework = args.framework.unwrap_or(Framework::React);
    synapse::scaffold::check_slug(&args.name)?;
    let cwd = std::path::absolute(&ctx.cwd).map_err(|e| Error::read(&ctx.cwd, e))?;
    let (parent, base) = match workspace::find_root(&cwd) {
        Some(root) => (root.join(synapse::WORKSPACE_DIR), root),
        None => (cwd.clone(), cwd),
    };
    let target = Target::from_env(&ctx.env);
    let dir = synapse::scaffold::create(&parent, &args.name, framework, &target)?;
    let rel = dir
        .strip_prefix(&base)
        .map_or_else(|_| dir.display().to_string(), |p| p.display().to_string());
    ctx.out
        .done("Created", &format!("Synapse app {rel} ({framework})"));
    list_files(ctx, &dir, &base);
    ctx.out.status(&format!(
        "next: cd {rel} && kz validate && kz build && kz run"
    ));
    Ok(ExitStatus::Success)
}

fn list_files(ctx: &Context, dir: &std::path::Path, base: &std::path::Path) {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            e.path()
                .strip_prefix(base)
                .ok()
                .map(|p| p.display().to_string())
        })
        .collect();
    files.sort();
    for f in files {
        ctx.out.data(&f);
    }
}
