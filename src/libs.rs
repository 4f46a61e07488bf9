//! `kz package-libs`: the workspace's shared libraries (guide, "Shared Libraries"), built with
//! the tools their ecosystems use:
//!
//! - `shared/python` (a `pyproject.toml` or `setup.py`): `python -m pip wheel . --no-deps` →
//!   `shared/python/dist/<name>-<version>-py3-none-any.whl` (the interpreter is the root's
//!   `.venv/bin/python` when there is one, else `python3`, as the reference Makefile picks it);
//! - `shared/typescript/<pkg>` (each folder with a `package.json`, sorted): `npm install` when it
//!   has dependencies and no `node_modules`, `npm run build` when it has a build script, then
//!   `npm pack` → `shared/typescript/<pkg>/<name>-<version>.tgz`.
//!
//! Each build writes into a temporary folder beside the output; only when it succeeded are the
//! new archives moved into place and the previous ones (older versions) removed, so a failed
//! build leaves the last good archives as they were and a glob like `dist/*.whl` finds one file.
//! The tools run with the environment the CLI hands in, and their output is captured (shown when
//! they fail).

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python library's folder, relative to the workspace root.
pub const PYTHON_DIR: &str = "shared/python";
/// The folder holding one folder per TypeScript library.
pub const TS_DIR: &str = "shared/typescript";
/// How many trailing lines of a failed tool's output an error carries.
const OUTPUT_TAIL: usize = 30;

/// Why a shared library could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LibsError {
    #[error("`{tool}` is not installed (not found on PATH); it is needed to build {needed_for}")]
    ToolMissing {
        tool: &'static str,
        needed_for: String,
    },
    #[error("`{command}` failed in `{dir}` ({status}){}", indent(.output))]
    Failed {
        command: String,
        dir: PathBuf,
        status: String,
        output: String,
    },
    #[error("`{command}` in `{dir}` succeeded but left no {what}")]
    NoOutput {
        command: String,
        dir: PathBuf,
        what: &'static str,
    },
    #[error("no {what} in this workspace (looked for `{path}`)")]
    NoLibrary { what: &'static str, path: PathBuf },
}

fn indent(output: &str) -> String {
    output
        .lines()
        .map(|l| format!("\n  | {l}"))
        .collect::<String>()
}

impl LibsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LibsError::ToolMissing { tool, .. } => Some(
                match *tool {
                    "python3" => "install Python 3 with pip (Debian: apt-get install python3 python3-pip), or make a .venv at the workspace root",
                    "pip" => "install pip for that Python (`python3 -m ensurepip`, or Debian: apt-get install python3-pip)",
                    _ => "install Node.js with npm (https://nodejs.org, or Debian: apt-get install npm)",
                }
                .to_owned(),
            ),
            LibsError::NoLibrary { .. } => Some(
                "a Python library is a folder shared/python with a pyproject.toml or setup.py; a \
                 TypeScript library is a folder shared/typescript/<name> with a package.json"
                    .to_owned(),
            ),
            _ => None,
        }
    }

    pub fn exit_status(&self) -> crate::exit::ExitStatus {
        use crate::exit::ExitStatus;
        match self {
            LibsError::ToolMissing { .. } => ExitStatus::Environment,
            LibsError::Failed { .. } | LibsError::NoOutput { .. } => ExitStatus::Failure,
            LibsError::NoLibrary { .. } => ExitStatus::Usage,
        }
    }
}

/// The shared libraries found in a workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Libraries {
    /// `shared/python`, when it holds a Python project.
    pub python: Option<PathBuf>,
    /// `shared/typescript/<pkg>` folders with a `package.json`, sorted by name.
    pub typescript: Vec<PathBuf>,
}

impl Libraries {
    pub fn is_empty(&self) -> bool {
        self.python.is_none() && self.typescript.is_empty()
    }
}

/// Find the shared libraries under `root`. A `shared/python` folder without a `pyproject.toml`
/// or `setup.py` is an error (it is meant to be one); folders of `shared/typescript` without a
/// `package.json` are not libraries; symlinked folders are not followed.
pub fn discover(root: &Path) -> Result<Libraries> {
    let mut libs = Libraries::default();
    let python = root.join(PYTHON_DIR);
    if is_real_dir(&python) {
        if !python.join("pyproject.toml").is_file() && !python.join("setup.py").is_file() {
            return Err(Error::invalid(
                &python,
                "a shared Python library needs a pyproject.toml or setup.py",
            ));
        }
        libs.python = Some(python);
    }
    let ts = root.join(TS_DIR);
    if is_real_dir(&ts) {
        let entries = std::fs::read_dir(&ts).map_err(|e| Error::read(&ts, e))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.path())
            .filter(|p| is_real_dir(p) && p.join("package.json").is_file())
            .collect();
        dirs.sort();
        libs.typescript = dirs;
    }
    Ok(libs)
}

fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Runs the build tools: found on the PATH of, and run with, the environment handed in.
#[derive(Clone, Debug)]
pub struct Tools {
    env: BTreeMap<String, String>,
    cwd: PathBuf,
}

impl Tools {
    pub fn new(env: &BTreeMap<String, String>, cwd: &Path) -> Tools {
        let mut env = env.clone();
        // no network chatter the build does not need
        for (k, v) in [
            ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
            ("npm_config_update_notifier", "false"),
            ("npm_config_fund", "false"),
            ("npm_config_audit", "false"),
        ] {
            env.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
        Tools {
            env,
            cwd: cwd.to_owned(),
        }
    }

    fn find(&self, tool: &'static str, needed_for: &str) -> Result<PathBuf> {
        let path = self.env.get("PATH").cloned().unwrap_or_default();
        which::which_in(tool, Some(path), &self.cwd).map_err(|_| {
            LibsError::ToolMissing {
                tool,
                needed_for: needed_for.to_owned(),
            }
            .into()
        })
    }

    /// Run `program args` in `dir`; its output is captured and returned in the error on failure.
    fn run(&self, program: &Path, args: &[&str], dir: &Path, shown: &str) -> Result<()> {
        let output = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(&self.env)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| LibsError::Failed {
                command: shown.to_owned(),
                dir: dir.to_owned(),
                status: "could not start".to_owned(),
                output: e.to_string(),
            })?;
        if output.status.success() {
            return Ok(());
        }
        let status = match output.status.code() {
            Some(code) => format!("exit {code}"),
            None => "killed by a signal".to_owned(),
        };
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(OUTPUT_TAIL)..].join("\n");
        Err(LibsError::Failed {
            command: shown.to_owned(),
            dir: dir.to_owned(),
            status,
            output: tail,
        }
        .into())
    }
}

/// What one build produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    /// The library's folder.
    pub library: PathBuf,
    /// The new archives, in their final place.
    pub artifacts: Vec<PathBuf>,
    /// Previous archives that were replaced (other versions).
    pub removed: Vec<PathBuf>,
    /// Steps run, as shown to a user (`npm run build`, …).
    pub steps: Vec<String>,
}

/// Build `shared/python` into `shared/python/dist/`. `clean` first removes `dist/`, `build/` and
/// `*.egg-info` folders.
pub fn build_python(root: &Path, dir: &Path, clean: bool, tools: &Tools) -> Result<Built> {
    let needed_for = format!("the Python library `{}`", rel(root, dir));
    let venv = root.join(".venv/bin/python");
    let python = if venv.is_file() {
        venv
    } else {
        tools.find("python3", &needed_for)?
    };
    let has_pip = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .env_clear()
        .envs(&tools.env)
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pip {
        return Err(LibsError::ToolMissing {
            tool: "pip",
            needed_for,
        }
        .into());
    }
    if clean {
        remove_dir(&dir.join("dist"))?;
        remove_dir(&dir.join("build"))?;
        for parent in [dir.to_owned(), dir.join("src")] {
            for egg in children(&parent, |name| name.ends_with(".egg-info"))? {
                remove_dir(&egg)?;
            }
        }
    }
    let staging = staging_dir(&root.join("shared"))?;
    let out = staging.path().display().to_string();
    let python_text = python.display().to_string();
    let shown = format!("{python_text} -m pip wheel . --no-deps -w <dist>");
    tools.run(
        &python,
        &["-m", "pip", "wheel", ".", "--no-deps", "-w", &out],
        dir,
        &shown,
    )?;
    let dist = dir.join("dist");
    let (artifacts, removed) = install(staging.path(), &dist, "whl").map_err(|e| match e {
        Error::Libs(LibsError::NoOutput { .. }) => LibsError::NoOutput {
            command: shown.clone(),
            dir: dir.to_owned(),
            what: "wheel",
        }
        .into(),
        other => other,
    })?;
    Ok(Built {
        library: dir.to_owned(),
        artifacts,
        removed,
        steps: vec!["pip wheel".to_owned()],
    })
}

/// Build one `shared/typescript/<pkg>` into `<pkg>/<name>-<version>.tgz`. `clean` first removes
/// the package's `*.tgz` files.
pub fn build_typescript(root: &Path, dir: &Path, clean: bool, tools: &Tools) -> Result<Built> {
    let needed_for = format!("the TypeScript library `{}`", rel(root, dir));
    let npm = tools.find("npm", &needed_for)?;
    let manifest_path = dir.join("package.json");
    let text = crate::fsx::read_text(&manifest_path, crate::fsx::MAX_TEXT_FILE)?;
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Json {
        path: manifest_path.clone(),
        line: e.line(),
        col: e.column(),
        message: e.to_string(),
    })?;
    if clean {
        for tgz in children(dir, |name| name.ends_with(".tgz"))? {
            std::fs::remove_file(&tgz).map_err(|e| Error::write(&tgz, e))?;
        }
    }
    let mut steps = Vec::new();
    let has_deps = ["dependencies", "devDependencies"].iter().any(|k| {
        manifest
            .get(k)
            .and_then(serde_json::Value::as_object)
            .is_some_and(|m| !m.is_empty())
    });
    if has_deps && !dir.join("node_modules").exists() {
        tools.run(
            &npm,
            &["install", "--no-audit", "--no-fund"],
            dir,
            "npm install",
        )?;
        steps.push("npm install".to_owned());
    }
    if manifest
        .pointer("/scripts/build")
        .and_then(serde_json::Value::as_str)
        .is_some()
    {
        tools.run(&npm, &["run", "build"], dir, "npm run build")?;
        steps.push("npm run build".to_owned());
    }
    let staging = staging_dir(dir.parent().unwrap_or(dir))?;
    let out = staging.path().display().to_string();
    tools.run(&npm, &["pack", "--pack-destination", &out], dir, "npm pack")?;
    steps.push("npm pack".to_owned());
    let (artifacts, removed) = install(staging.path(), dir, "tgz").map_err(|e| match e {
        Error::Libs(LibsError::NoOutput { .. }) => LibsError::NoOutput {
            command: "npm pack".to_owned(),
            dir: dir.to_owned(),
            what: "package archive (.tgz)",
        }
        .into(),
        other => other,
    })?;
    Ok(Built {
        library: dir.to_owned(),
        artifacts,
        removed,
        steps,
    })
}

/// A temporary folder in `parent` (same file system as the output, so a rename moves files).
fn staging_dir(parent: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".kz-package-libs-")
        .tempdir_in(parent)
        .map_err(|e| Error::write(parent, e))
}

/// Move the `*.<ext>` files of `staging` into `dest` (replacing same names), then remove the
/// other `*.<ext>` files `dest` held. Returns (new files, removed files), sorted.
fn install(staging: &Path, dest: &Path, ext: &str) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let suffix = format!(".{ext}");
    let new = children(staging, |n| n.ends_with(&suffix))?;
    if new.is_empty() {
        return Err(LibsError::NoOutput {
            command: String::new(),
            dir: staging.to_owned(),
            what: "archive",
        }
        .into());
    }
    std::fs::create_dir_all(dest).map_err(|e| Error::write(dest, e))?;
    let mut placed = Vec::new();
    for file in &new {
        let target = dest.join(file.file_name().unwrap_or_default());
        std::fs::rename(file, &target).map_err(|e| Error::write(&target, e))?;
        placed.push(target);
    }
    let mut removed = Vec::new();
    for old in children(dest, |n| n.ends_with(&suffix))? {
        if !placed.contains(&old) {
            std::fs::remove_file(&old).map_err(|e| Error::write(&old, e))?;
            removed.push(old);
        }
    }
    Ok((placed, removed))
}

/// Files and folders directly in `dir` whose names pass `keep`, sorted; none when `dir` is absent.
fn children(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read(dir, e)),
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(&keep))
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

/// Remove a folder and what it holds (symlinks inside are removed, not followed).
fn remove_dir(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::write(path, e)),
    }
}

/// `path` relative to `root`, for messages.
pub fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_finds_python_and_sorted_typescript_packages() {
        let t = tempfile::tempdir().expect("tmp");
        let root = t.path();
        assert!(discover(root).expect("empty").is_empty());
        std::fs::create_dir_all(root.join("shared/python")).expect("mkdir");
        let e = discover(root).expect_err("no project file");
        assert!(e.to_string().contains("pyproject.toml"), "{e}");
        std::fs::write(root.join("shared/python/setup.py"), "").expect("w");
        for pkg in ["zeta", "alpha", "no-manifest"] {
            std::fs::create_dir_all(root.join(TS_DIR).join(pkg)).expect("mkdir");
        }
        std::fs::write(root.join("shared/typescript/zeta/package.json"), "{}").expect("w");
        std::fs::write(root.join("shared/typescript/alpha/package.json"), "{}").expect("w");
        let libs = discover(root).expect("found");
        assert_eq!(libs.python, Some(root.join(PYTHON_DIR)));
        assert_eq!(
            libs.typescript,
            [
                root.join("shared/typescript/alpha"),
                root.join("shared/typescript/zeta")
            ]
        );
    }

    #[test]
    fn install_replaces_old_archives_only_after_new_ones_exist() {
        let t = tempfile::tempdir().expect("tmp");
        let staging = t.path().join("staging");
        let dest = t.path().join("dist");
        std::fs::create_dir_all(&staging).expect("mkdir");
        std::fs::create_dir_all(&dest).expect("mkdir");
        std::fs::write(dest.join("lib-0.1.0.whl"), "old").expect("w");
        std::fs::write(dest.join("notes.txt"), "kept").expect("w");
        let e = install(&staging, &dest, "whl").expect_err("nothing built");
        assert!(matches!(e, Error::Libs(LibsError::NoOutput { .. })), "{e}");
        assert!(dest.join("lib-0.1.0.whl").exists());
        std::fs::write(staging.join("lib-0.2.0.whl"), "new").expect("w");
        let (placed, removed) = install(&staging, &dest, "whl").expect("ok");
        assert_eq!(placed, [dest.join("lib-0.2.0.whl")]);
        assert_eq!(removed, [dest.join("lib-0.1.0.whl")]);
        assert!(dest.join("notes.txt").exists());
    }

    #[test]
    fn a_missing_tool_is_named() {
        let t = tempfile::tempdir().expect("tmp");
        let env = BTreeMap::from([("PATH".to_owned(), t.path().display().to_string())]);
        let tools = Tools::new(&env, t.path());
        let e = tools
            .find("npm", "the TypeScript library `x`")
            .expect_err("missing");
        assert!(e.to_string().contains("`npm` is not installed"), "{e}");
        assert_eq!(e.exit_status(), crate::exit::ExitStatus::Environment);
    }
}
