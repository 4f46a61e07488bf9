//! `kz kamiwaza push NAME [--template-id ID] [--insecure]` and
//! `kz kamiwaza list [--json] [--insecure]`: the template API of a running Kamiwaza.

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::kamiwaza::{self, Action, Connection};
use crate::settings::Settings;
use crate::workspace::Workspace;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Push an extension's template from the built registry to Kamiwaza (create or update).
    Push(PushArgs),
    /// List the app templates on Kamiwaza.
    List(ListArgs),
    /// Ask Kamiwaza to import from its remote catalogue (all, or the extensions named).
    Sync(SyncArgs),
}

#[derive(Debug, clap::Args)]
struct PushArgs {
    /// The extension: its folder (`my-app`) or type and folder (`apps/my-app`).
    name: String,
    /// Replace this template (it must exist), whatever its name and version.
    #[arg(long, value_name = "ID")]
    template_id: Option<String>,
    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    insecure: bool,
}

#[derive(Debug, clap::Args)]
struct SyncArgs {
    /// Extension names (as in the catalogue) to import; default: everything.
    names: Vec<String>,
    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    insecure: bool,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Print the templates as JSON, as Kamiwaza returns them.
    #[arg(long)]
    json: bool,
    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    insecure: bool,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    match &args.command {
        Sub::Push(a) => push(a, ctx),
        Sub::List(a) => list(a, ctx),
        Sub::Sync(a) => sync(a, ctx),
    }
}

/// Settings from the workspace, or outside one from the environment alone.
fn settings_anywhere(ctx: &Context) -> Result<Settings, Error> {
    match Workspace::discover(&ctx.cwd) {
        Ok(ws) => Settings::load(&ws.root, &ctx.env),
        Err(Error::NoWorkspace { .. }) => Ok(Settings {
            vars: ctx.env.clone(),
            ..Settings::default()
        }),
        Err(e) => Err(e),
    }
}

fn sync(args: &SyncArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let settings = settings_anywhere(ctx)?;
    let conn = connection(ctx, &settings, args.insecure)?;
    let reply = kamiwaza::sync(&conn, &args.names)?;
    ctx.out
        .data(&serde_json::to_string_pretty(&reply).unwrap_or_default());
    let what = if args.names.is_empty() {
        "everything in the remote catalogue".to_owned()
    } else {
        args.names.join(", ")
    };
    ctx.out.done("Synced", &what);
    Ok(ExitStatus::Success)
}

fn connection(ctx: &Context, settings: &Settings, insecure: bool) -> Result<Connection, Error> {
    let home = ctx
        .env
        .get("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let conn = Connection::resolve(&settings.vars, home.as_deref(), insecure)?;
    if insecure {
        ctx.out
            .warn("--insecure: the server's TLS certificate is not verified");
    } else if conn.api_url.starts_with("http://") {
        ctx.out.warn(&format!(
            "{} is plain HTTP: the password travels unencrypted",
            conn.api_url
        ));
    }
    ctx.out.status(&format!(
        "Kamiwaza at {} as `{}` (from {})",
        conn.api_url, conn.username, conn.source
    ));
    Ok(conn)
}

fn push(args: &PushArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let (ws, settings) = ctx.workspace()?;
    let ext = ws.find(&args.name)?.clone();
    let registry = ws.root.join(crate::registry::OUTPUT_DIR);
    if !registry.is_dir() {
        ctx.out
            .note("no registry built yet; running `kz build-registry` (stage dev, v2) first");
        let status = super::build_registry::run_default(ctx, None)?;
        if status != ExitStatus::Success {
            return Ok(status);
        }
    }
    let prepared = kamiwaza::prepare(&registry, &ext)?;
    for w in &prepared.warnings {
        ctx.out.warn(w);
    }
    let conn = connection(ctx, &settings, args.insecure)?;
    let pushed = kamiwaza::push(&conn, &prepared, args.template_id.as_deref())?;
    for w in &pushed.warnings {
        ctx.out.warn(w);
    }
    let id = pushed.id.as_deref().unwrap_or("?");
    let what = format!(
        "{} template `{}` {} (id {id}) from {}",
        prepared.kind.singular(),
        prepared.name,
        prepared.version,
        prepared
            .entry_file
            .strip_prefix(&ws.root)
            .unwrap_or(&prepared.entry_file)
            .display()
    );
    match pushed.action {
        Action::Created => ctx.out.done("Created", &what),
        Action::Updated => ctx.out.done("Updated", &what),
        Action::Unchanged => ctx.out.done(
            "Unchanged",
            &format!("{what}: Kamiwaza already holds it, nothing sent"),
        ),
    }
    ctx.out.data(id);
    Ok(ExitStatus::Success)
}

fn list(args: &ListArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    // Outside a workspace the environment alone says where Kamiwaza is.
    let settings = match Workspace::discover(&ctx.cwd) {
        Ok(ws) => Settings::load(&ws.root, &ctx.env)?,
        Err(Error::NoWorkspace { .. }) => Settings {
            vars: ctx.env.clone(),
            ..Settings::default()
        },
        Err(e) => return Err(e),
    };
    let conn = connection(ctx, &settings, args.insecure)?;
    let templates = kamiwaza::list(&conn)?;
    if args.json {
        let text = serde_json::to_string_pretty(&templates).unwrap_or_else(|_| "[]".to_owned());
        ctx.out.data(&text);
        return Ok(ExitStatus::Success);
    }
    let field = |t: &serde_json::Value, k: &str| match t.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let mut rows: Vec<[String; 4]> = templates
        .iter()
        .map(|t| {
            [
                field(t, "name"),
                kamiwaza::template_type(t),
                field(t, "version"),
                field(t, "id"),
            ]
        })
        .collect();
    rows.sort();
    ctx.out
        .data(format!("{:<40} {:<10} {:<12} ID", "NAME", "TYPE", "VERSION").trim_end());
    for [name, kind, version, id] in &rows {
        ctx.out
            .data(format!("{name:<40} {kind:<10} {version:<12} {id}").trim_end());
    }
    ctx.out
        .status(&super::output::count(rows.len(), "template"));
    Ok(ExitStatus::Success)
}
