//! What changed in a git repository since a reference, as chart-testing's `list-changed` sees it:
//! every file that differs between the merge-base of REF and HEAD and the working tree
//! (committed, staged, unstaged), plus untracked files git does not ignore. Runs the git CLI
//! (`git` on the PATH handed in); never writes to the repository.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The changed files of the repository holding `dir`, relative to its top level.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The repository's top level (absolute, canonical).
    pub toplevel: PathBuf,
    /// The merge-base commit the working tree was compared with.
    pub base: String,
    /// Changed paths, `/`-separated, relative to `toplevel`; a rename lists both names.
    pub files: BTreeSet<String>,
}

/// The git program and the PATH it is looked up on (the CLI hands the environment in).
#[derive(Debug, Clone)]
pub struct Git {
    program: PathBuf,
}

impl Git {
    /// Find `git` on `path` (the environment's PATH).
    pub fn find(path: Option<&str>) -> Result<Git> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        which::which_in("git", path, cwd)
            .map(|program| Git { program })
            .map_err(|_| Error::BadArgument {
                message: "--changed-since needs git, which is not on the PATH".to_owned(),
                hint: "install git (Debian: apt-get install git)".to_owned(),
            })
    }

    fn run(&self, dir: &Path, args: &[&str]) -> std::result::Result<Vec<u8>, String> {
        let out = Command::new(&self.program)
            .arg("-C")
            .arg(dir)
            .args(args)
            // Never ask a question, never page, never localise the messages kz relays.
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(err.lines().next().unwrap_or("git failed").trim().to_owned())
        }
    }

    /// Every file changed since the merge-base of `reference` and HEAD, in the repository that
    /// holds `dir`.
    pub fn changed_since(&self, dir: &Path, reference: &str) -> Result<Changed> {
        let not_repo = |message: String| Error::BadArgument {
            message: format!(
                "--changed-since {reference}: `{}` is not inside a git repository ({message})",
                dir.display()
            ),
            hint: "run kz in a git checkout, or leave out --changed-since".to_owned(),
        };
        let top = self
            .run(dir, &["rev-parse", "--show-toplevel"])
            .map_err(not_repo)?;
        let toplevel = PathBuf::from(String::from_utf8_lossy(&top).trim().to_owned());
        let toplevel = toplevel.canonicalize().unwrap_or(toplevel);
        if reference.starts_with('-') {
            return Err(unknown_ref(reference, "a reference cannot start with `-`"));
        }
        let spec = format!("{reference}^{{commit}}");
        self.run(&toplevel, &["rev-parse", "--verify", "--quiet", &spec])
            .map_err(|_| unknown_ref(reference, "no such commit, branch or tag"))?;
        let base = self
            .run(&toplevel, &["merge-base", reference, "HEAD"])
            .map_err(|e| unknown_ref(reference, &format!("no merge-base with HEAD: {e}")))?;
        let base = String::from_utf8_lossy(&base).trim().to_owned();
        let mut files = BTreeSet::new();
        // Committed since the base, staged and unstaged: the base against the working tree.
        let diff = self
            .run(
                &toplevel,
                &["diff", "--name-status", "-z", "--no-renames", &base, "--"],
            )
            .map_err(|e| unknown_ref(reference, &e))?;
        let mut fields = diff.split(|b| *b == 0).filter(|f| !f.is_empty());
        while let Some(_status) = fields.next() {
            if let Some(path) = fields.next() {
                files.insert(String::from_utf8_lossy(path).into_owned());
            }
        }
        let untracked = self
            .run(
                &toplevel,
                &["ls-files", "--others", "--exclude-standard", "-z"],
            )
            .map_err(|e| unknown_ref(reference, &e))?;
        for path in untracked.split(|b| *b == 0).filter(|f| !f.is_empty()) {
            files.insert(String::from_utf8_lossy(path).into_owned());
        }
        Ok(Changed {
            toplevel,
            base,
            files,
        })
    }

    /// The bytes of `path` (relative to the top level) at commit `base`, if it existed there.
    pub fn show(&self, toplevel: &Path, base: &str, path: &str) -> Option<Vec<u8>> {
        self.run(toplevel, &["show", &format!("{base}:{path}")])
            .ok()
    }
}

fn unknown_ref(reference: &str, why: &str) -> Error {
    Error::BadArgument {
        message: format!("--changed-since {reference}: {why}"),
        hint: "name a commit, branch or tag git knows (in CI, fetch the base branch first, e.g. \
               `git fetch origin main` and `--changed-since origin/main`)"
            .to_owned(),
    }
}
