//! `kz doctor [--json]`: one line per check (`ok`, `warn` or `fail`, with a hint); exit 1 when a
//! check fails. The checks are in `crate::doctor`.

use super::Context;
use crate::doctor::{self, Check, Status};
use crate::error::Error;
use crate::exit::ExitStatus;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print the checks as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    let mut checks: Vec<Check> = super::runtime()?.block_on(doctor::engine_checks(&ctx.env));
    checks.extend(doctor::tool_checks(&ctx.env, &ctx.cwd));
    // Kamiwaza settings come from the environment over the workspace's .env, when there is one.
    let settings = match ctx.workspace() {
        Ok((_, settings)) => settings,
        Err(_) => crate::settings::Settings {
            vars: ctx.env.clone(),
            ..crate::settings::Settings::default()
        },
    };
    checks.push(doctor::registry_check(&settings.namespace, &ctx.env));
    let vars = settings.vars;
    let home = ctx
        .env
        .get("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    checks.push(doctor::kamiwaza_check(&vars, home.as_deref()));
    if args.json {
        let json = serde_json::json!({ "checks": checks });
        ctx.out
            .data(&serde_json::to_string_pretty(&json).unwrap_or_default());
    } else {
        for c in &checks {
            let mut line = format!("{:<4} {:<13} {}", c.status, c.name, c.detail);
            if let Some(hint) = c
                .hint
                .as_ref()
                .filter(|h| !h.is_empty() && c.status != Status::Ok)
            {
                line.push_str(&format!(" (hint: {hint})"));
            }
            ctx.out.data(&line);
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    Ok(if failed > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
