//! `kz validate [NAME...] [--strict] [--format text|json|github] [--list-rules]`.

use super::output::count;
use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::validate::{self, Finding, Report, Severity, RULES};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Extensions to validate (folder name or type/name); default: the current one, else all.
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
        for rule in RULES {
            ctx.out.data(&format!(
                "{:<36} {:<8} {}",
                rule.id, rule.severity, rule.summary
            ));
        }
        return Ok(ExitStatus::Success);
    }
    let (ws, settings) = ctx.workspace()?;
    let chosen = ws.select(&args.names)?;
    let report = validate::validate(&ws, &chosen, &settings);
    match args.format {
        Format::Text => print_text(ctx, &report),
        Format::Json => {
            let json = serde_json::json!({
                "extensions": report.extensions,
                "errors": report.errors(),
                "warnings": report.warnings(),
                "findings": report.findings,
            });
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
    let summary = if e == 0 && w == 0 {
        format!("{} valid", count(n, "extension"))
    } else {
        format!(
            "{}, {} in {}",
            count(e, "error"),
            count(w, "warning"),
            count(n, "extension")
        )
    };
    ctx.out.status(&summary);
}

/// `::error file=…,line=…,title=…::message`, with GitHub's escaping.
fn github_line(f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
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
