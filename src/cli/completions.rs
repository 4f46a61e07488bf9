//! `kz completions SHELL` and `kz man [--dir DIR]`, and the completion hook `main` runs first.
//!
//! Completion is clap_complete's dynamic engine (pinned, it is unstable): the script a shell
//! loads calls `kz` back with `KZ_COMPLETE=<shell>` set, and kz answers from its own command
//! definition, so subcommands, flags and values are never out of date, and the extension names
//! of the workspace the shell is in are offered wherever a command takes one.

use super::Context;
use crate::error::Error;
use crate::exit::ExitStatus;
use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{EnvCompleter, Shells};
use std::path::PathBuf;

/// The variable the completion scripts set when they call kz back.
const VAR: &str = "KZ_COMPLETE";

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Write kz.1 and one kz-<command>.1 page per subcommand into DIR instead of printing kz.1.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    dir: Option<PathBuf>,
}

/// Subcommands whose positional `name`/`names` argument is a new name, not an extension.
const NEW_NAMES: &[&str] = &["new"];

/// The command line as clap sees it, with extension names offered for every positional
/// `name`/`names` argument of the commands that take an extension.
pub(crate) fn command() -> clap::Command {
    with_candidates(super::Cli::command())
}

fn with_candidates(cmd: clap::Command) -> clap::Command {
    if NEW_NAMES.contains(&cmd.get_name()) {
        return cmd;
    }
    // clap moves an argument it mutates to the end of the positionals, so every positional
    // gets its position pinned first
    let positionals: Vec<(String, bool)> = cmd
        .get_positionals()
        .map(|a| {
            let id = a.get_id().to_string();
            let takes_extension = matches!(id.as_str(), "name" | "names");
            (id, takes_extension)
        })
        .collect();
    let mut cmd = cmd;
    if positionals.iter().any(|(_, ext)| *ext) {
        for (i, (id, takes_extension)) in positionals.into_iter().enumerate() {
            cmd = cmd.mut_arg(id, |a| {
                let a = a.index(i + 1);
                if takes_extension {
                    a.add(ArgValueCandidates::new(extension_names))
                } else {
                    a
                }
            });
        }
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for sub in subs {
        cmd = cmd.mut_subcommand(sub, with_candidates);
    }
    cmd
}

/// The extensions of the workspace around the current folder: folder names and type/name.
fn extension_names() -> Vec<CompletionCandidate> {
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let Ok(ws) = crate::workspace::Workspace::discover(&cwd) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ext in &ws.extensions {
        out.push(CompletionCandidate::new(ext.dir_name.clone()));
        out.push(CompletionCandidate::new(ext.rel()));
    }
    out
}

/// Answer a completion request when kz was called back by a completion script; `true` when
/// it did (the caller exits 0).
pub(crate) fn try_complete() -> bool {
    clap_complete::CompleteEnv::with_factory(command)
        .var(VAR)
        .complete_or_false()
}

trait CompleteOrFalse {
    fn complete_or_false(self) -> bool;
}

impl<F: Fn() -> clap::Command> CompleteOrFalse for clap_complete::CompleteEnv<'_, F> {
    fn complete_or_false(self) -> bool {
        let cwd = std::env::current_dir().ok();
        match self.try_complete(std::env::args_os(), cwd.as_deref()) {
            Ok(done) => done,
            Err(e) => e.exit(),
        }
    }
}

pub(crate) fn completions(args: &CompletionsArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let name = match args.shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        Shell::Powershell => "powershell",
        Shell::Elvish => "elvish",
    };
    let shells = Shells::builtins();
    let shell: &dyn EnvCompleter = shells.completer(name).ok_or_else(|| Error::BadArgument {
        message: format!("no completion support for {name}"),
        hint: "bash, zsh, fish, powershell or elvish".into(),
    })?;
    let mut buf = Vec::new();
    shell
        .write_registration(VAR, "kz", "kz", "kz", &mut buf)
        .map_err(|source| Error::Runtime { source })?;
    ctx.out
        .data(String::from_utf8_lossy(&buf).trim_end_matches('\n'));
    Ok(ExitStatus::Success)
}

pub(crate) fn man(args: &ManArgs, ctx: &Context) -> Result<ExitStatus, Error> {
    let cmd = command();
    match &args.dir {
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(|source| Error::Runtime { source })?;
            ctx.out
                .data(String::from_utf8_lossy(&buf).trim_end_matches('\n'));
        }
        Some(dir) => {
            let dir = ctx.cwd.join(dir);
            std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
            let mut pages = Vec::new();
            write_pages(cmd, &dir, "kz", &mut pages)?;
            for page in pages {
                ctx.out.data(&page.display().to_string());
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// `cmd`'s page and, recursively, one per visible subcommand (`kz-build.1`,
/// `kz-kamiwaza-push.1`); `bin` is how the command is typed (`kz kamiwaza push`).
fn write_pages(
    cmd: clap::Command,
    dir: &std::path::Path,
    bin: &str,
    pages: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let stem = bin.replace(' ', "-");
    let mut cmd = cmd.name(stem).bin_name(bin.to_owned());
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    let mut buf = Vec::new();
    man.render(&mut buf)
        .map_err(|source| Error::Runtime { source })?;
    crate::fsx::write_atomic(&path, &buf)?;
    pages.push(path);
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let sub_bin = format!("{bin} {}", sub.get_name());
        write_pages(sub.clone(), dir, &sub_bin, pages)?;
    }
    Ok(())
}
