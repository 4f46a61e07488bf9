//! `kz validate [NAME|PATH...] [--strict] [--format text|json|github] [--list-rules]`.
//!
//! Extensions of the workspace and Synapse apps: a name that is a folder holding
//! synapse-app.yaml, or a file, is checked with the `synapse/*` rules (inside a workspace or
//! not); `<root>/synapse/<slug>/` apps are part of "everything".

use super::output::count;
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::synapse::{self, Target};
use crate::validate::{self, Finding, Report, Severity, RULES};
use crate::workspace::Workspace;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions (folder name or type/name), Synapse app folders or manifest files; default:
    /// the current extension or app, else everything in the workspace.
    names: Vec<String>,
    /// Fail on warnings too (what the reference scripts do).
    #[arg(long)]
    strict: bool,
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print every rule id with its severity and exit.
    #[arg(long)]
    list_rules: bool,
    #[command(flatten)]
    scope: super::scope::Scope,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

pub(crate) fn run(args: &Args, ctx: &Context) -> Result<ExitStatus, Error> {
    if args.list_rules {
        for rule in RULES.iter().chain(synapse::rules::RULES) {
            ctx.out.data(&format!(
                "{:<36} {:<8} {}",
                rule.id, rule.severity, rule.summary
            ));
        }
        return Ok(ExitStatus::Success);
    }
    let report = collect(args, ctx)?;
    match args.format {
        Format::Text => print_text(ctx, &report),
        Format::Json => {
            let mut json = serde_json::json!({
                "extensions": report.extensions,
                "errors": report.errors(),
                "warnings": report.warnings(),
                "findings": report.findings,
            });
            if report.synapse_apps > 0 {
                json["synapse_apps"] = report.synapse_apps.into();
                json["infos"] = report.infos().into();
            }
            ctx.out
                .data(&serde_json::to_string_pretty(&json).unwrap_or_default());
        }
        Format::Github => {
            for f in &report.findings {
                ctx.out.data(&github_line(f));
            }
        }
    }
    let failed = report.errors() > 0 || (args.strict && report.warnings() > 0);
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// A Synapse app to check: a folder (manifest and sources) or a lone manifest file, and how it
/// is named in findings.
enum App {
    Dir(PathBuf, String),
    File(PathBuf, String),
}

/// Decide what to check, check it, and merge the findings into one report.
fn collect(args: &Args, ctx: &Context) -> Result<Report, Error> {
    let cwd = std::path::absolute(&ctx.cwd).map_err(|e| Error::read(&ctx.cwd, e))?;
    let mut apps = Vec::new();
    let mut names = Vec::new();
    for name in &args.names {
        let path = cwd.join(name);
        let display = name.trim_end_matches('/').to_owned();
        if path.is_file() {
            apps.push(App::File(path, display));
        } else if synapse::is_app_dir(&path) {
            apps.push(App::Dir(path, display));
        } else {
            names.push(name.clone());
        }
    }
    let mut report = Report::default();
    if args.names.is_empty() {
        if let Some(dir) = synapse::find_app_dir(&cwd) {
            apps.push(App::Dir(dir.clone(), relative(&dir, &cwd)));
        } else {
            let (ws, settings) = ctx.workspace()?;
            let chosen = ws.select(&[])?;
            let chosen = args.scope.apply(ctx, &ws, &settings, chosen)?;
            report = validate::validate(&ws, &chosen, &settings);
            if ws.current.is_none() {
                for dir in synapse::workspace_apps(&ws.root) {
                    let display = relative(&dir, &ws.root);
                    apps.push(App::Dir(dir, display));
                }
            }
        }
    } else if !names.is_empty() {
        let (ws, settings) = ctx.workspace()?;
        let mut extensions = Vec::new();
        for name in names {
            match workspace_app(&ws, &name) {
                Some(dir) if ws.find(&name).is_err() => {
                    let display = relative(&dir, &ws.root);
                    apps.push(App::Dir(dir, display));
                }
                _ => extensions.push(name),
            }
        }
        if !extensions.is_empty() {
            let chosen = ws.select(&extensions)?;
            let chosen = args.scope.apply(ctx, &ws, &settings, chosen)?;
            report = validate::validate(&ws, &chosen, &settings);
        }
    }
    let target = Target::from_env(&ctx.env);
    report.synapse_apps = apps.len();
    for app in &apps {
        report.findings.extend(match app {
            App::Dir(dir, display) => synapse::lint::check_app(dir, display, &target),
            App::File(path, display) => synapse::lint::check_file(path, display, &target),
        });
    }
    Ok(report)
}

/// `synapse/<slug>` or `<slug>` naming an app folder of the workspace.
fn workspace_app(ws: &Workspace, name: &str) -> Option<PathBuf> {
    let slug = name
        .trim_end_matches('/')
        .strip_prefix(&format!("{}/", synapse::WORKSPACE_DIR))
        .unwrap_or(name.trim_end_matches('/'));
    let dir = ws.root.join(synapse::WORKSPACE_DIR).join(slug);
    (!slug.contains('/') && synapse::is_app_dir(&dir)).then_some(dir)
}

/// `path` relative to `base` for display (`.` for the same folder).
fn relative(path: &Path, base: &Path) -> String {
    match path.strip_prefix(base) {
        Ok(p) if p.as_os_str().is_empty() => ".".to_owned(),
        Ok(p) => p.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

fn location(f: &Finding) -> String {
    match f.line {
        Some(line) => format!("{}:{line}", f.file),
        None => f.file.clone(),
    }
}

/// Findings one per line on stdout (`file:line: severity[rule]: message`), then a summary on
/// stderr. build-registry prints the findings that stop it the same way.
pub(crate) fn print_text(ctx: &Context, report: &Report) {
    for f in &report.findings {
        ctx.out.data(&format!(
            "{}: {}[{}]: {}",
            location(f),
            ctx.out.styled(f.severity),
            f.rule,
            f.message
        ));
    }
    let (e, w, n) = (report.errors(), report.warnings(), report.extensions);
    let mut checked = Vec::new();
    if n > 0 || report.synapse_apps == 0 {
        checked.push(count(n, "extension"));
    }
    if report.synapse_apps > 0 {
        checked.push(count(report.synapse_apps, "Synapse app"));
    }
    let checked = checked.join(" and ");
    let summary = if e == 0 && w == 0 {
        format!("{checked} valid")
    } else {
        format!(
            "{}, {} in {checked}",
            count(e, "error"),
            count(w, "warning")
        )
    };
    ctx.out.status(&summary);
}

/// `::error file=…,line=…,title=…::message`, with GitHub's escaping.
fn github_line(f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let prop = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
            .replace(':', "%3A")
            .replace(',', "%2C")
    };
    let data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let mut props = format!("file={}", prop(&f.file));
    if let Some(line) = f.line {
        props.push_str(&format!(",line={line}"));
    }
    props.push_str(&format!(",title={}", prop(f.rule)));
    format!("::{level} {props}::{}", data(&f.message))
}
