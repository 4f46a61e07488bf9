//! `kz package-libs`: real python3 + pip and real node + npm on fixture libraries. pip builds
//! offline: its isolated build environment installs setuptools from the wheelhouse that
//! scripts/engine-setup.sh downloads into `<ci dir>/wheelhouse` (harness::ci_dir) (PIP_NO_INDEX + PIP_FIND_LINKS).

use crate::harness::{Run, Ws, KZ};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const WHEEL: &str = "shared/python/dist/kamiwaza_auth-0.1.0-py3-none-any.whl";
const AUTH_TGZ: &str = "shared/typescript/kamiwaza-auth/kamiwaza-auth-0.1.0.tgz";
const CLIENT_TGZ: &str = "shared/typescript/kamiwaza-client/kamiwaza-client-0.3.0.tgz";

fn wheelhouse() -> PathBuf {
    let dir = crate::harness::ci_dir().join("wheelhouse");
    let has = |prefix: &str| {
        std::fs::read_dir(&dir).is_ok_and(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
        })
    };
    assert!(
        has("setuptools-") && has("wheel-"),
        "no setuptools/wheel in {}: run scripts/engine-setup.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

fn pyproject(version: &str) -> String {
    format!(
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"kamiwaza_auth\"\nversion = \"{version}\"\n\n\
         [tool.setuptools]\npackages = [\"kamiwaza_auth\"]\n"
    )
}

fn auth_package(version: &str) -> String {
    format!(
        r#"{{"name": "@kamiwaza/auth", "version": "{version}", "main": "dist/index.js", "files": ["dist"], "scripts": {{"build": "node build.js"}}}}"#
    )
}

/// A workspace with shared/python and two TypeScript libraries (one with a build step).
fn workspace() -> Ws {
    let ws = Ws::new();
    ws.write("apps/.keep", "")
        .write("shared/python/pyproject.toml", pyproject("0.1.0"))
        .write(
            "shared/python/kamiwaza_auth/__init__.py",
            "def get_identity():\n    return None\n",
        )
        .write(
            "shared/typescript/kamiwaza-auth/package.json",
            auth_package("0.1.0"),
        )
        .write(
            "shared/typescript/kamiwaza-auth/build.js",
            "const fs = require('fs');\nfs.mkdirSync('dist', {recursive: true});\n\
             fs.writeFileSync('dist/index.js', 'module.exports = {built: true};\\n');\n",
        )
        .write(
            "shared/typescript/kamiwaza-client/package.json",
            r#"{"name": "@kamiwaza/client", "version": "0.3.0", "main": "index.js"}"#,
        )
        .write(
            "shared/typescript/kamiwaza-client/index.js",
            "module.exports = {};\n",
        )
        .write("shared/typescript/notes/README.md", "not a package\n");
    ws
}

/// kz with the test's environment (PATH has python3, node, npm) plus offline pip settings.
fn kz(ws: &Ws, args: &[&str], path: Option<&Path>) -> Run {
    let mut cmd = Command::new(KZ);
    cmd.args(args)
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", wheelhouse());
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().expect("run kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The paths inside a .tgz.
fn tgz_paths(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in tar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let mut body = String::new();
        let _ = entry.read_to_string(&mut body);
        out.push(entry.path().expect("path").display().to_string());
    }
    out.sort();
    out
}

#[test]
fn builds_a_wheel_and_npm_packages_and_replaces_older_versions() {
    let ws = workspace();
    let run = kz(&ws, &["package-libs"], None);
    run.code(0);
    assert_eq!(run.stdout, format!("{WHEEL}\n{AUTH_TGZ}\n{CLIENT_TGZ}\n"));
    // the wheel is a zip holding the module (names are stored as they are in zip headers)
    let wheel = std::fs::read(ws.path(WHEEL)).expect("wheel");
    assert!(wheel.starts_with(b"PK"), "not a zip");
    let has = |needle: &[u8]| wheel.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"kamiwaza_auth/__init__.py"));
    assert!(has(b"kamiwaza_auth-0.1.0.dist-info/METADATA"));
    // npm ran the build script before packing
    assert_eq!(
        tgz_paths(&ws.path(AUTH_TGZ)),
        ["package/dist/index.js", "package/package.json"]
    );
    assert!(tgz_paths(&ws.path(CLIENT_TGZ)).contains(&"package/index.js".to_owned()));
    // no staging folders left behind
    for dir in ["shared", "shared/typescript"] {
        let left: Vec<_> = std::fs::read_dir(ws.path(dir))
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".kz-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    // a new Python version replaces the old wheel; --python-only leaves the packages alone
    ws.write("shared/python/pyproject.toml", pyproject("0.2.0"));
    let before = std::fs::metadata(ws.path(AUTH_TGZ))
        .and_then(|m| m.modified())
        .expect("mtime");
    let run = kz(&ws, &["package-libs", "--python-only"], None);
    run.code(0)
        .stderr_has("removed the older shared/python/dist/kamiwaza_auth-0.1.0-py3-none-any.whl");
    assert_eq!(
        run.stdout,
        "shared/python/dist/kamiwaza_auth-0.2.0-py3-none-any.whl\n"
    );
    assert!(!ws.exists(WHEEL));
    let after = std::fs::metadata(ws.path(AUTH_TGZ))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after);

    // --ts-only, with a bumped package: the old .tgz goes, the wheel stays
    ws.write(
        "shared/typescript/kamiwaza-auth/package.json",
        auth_package("0.1.1"),
    );
    let run = kz(&ws, &["package-libs", "--ts-only"], None);
    run.code(0);
    assert!(!ws.exists(AUTH_TGZ));
    assert!(ws.exists("shared/typescript/kamiwaza-auth/kamiwaza-auth-0.1.1.tgz"));
    assert!(ws.exists("shared/python/dist/kamiwaza_auth-0.2.0-py3-none-any.whl"));

    // --clean removes setuptools' leftovers before building
    assert!(ws.exists("shared/python/kamiwaza_auth.egg-info"));
    ws.write("shared/python/dist/stray.txt", "old\n");
    kz(&ws, &["package-libs", "--python-only", "--clean"], None).code(0);
    assert!(!ws.exists("shared/python/dist/stray.txt"));
    assert!(ws.exists("shared/python/dist/kamiwaza_auth-0.2.0-py3-none-any.whl"));
}

#[test]
fn a_failing_build_keeps_the_last_good_archives_and_shows_the_output() {
    let ws = workspace();
    kz(&ws, &["package-libs", "--ts-only"], None).code(0);
    let good = std::fs::read(ws.path(AUTH_TGZ)).expect("tgz");
    ws.write(
        "shared/typescript/kamiwaza-auth/build.js",
        "console.error('boom: the build broke');\nprocess.exit(3);\n",
    );
    let run = kz(&ws, &["package-libs", "--ts-only"], None);
    run.code(1)
        .stderr_has("`npm run build` failed in")
        .stderr_has("kamiwaza-auth` (exit")
        .stderr_has("boom: the build broke");
    assert_eq!(std::fs::read(ws.path(AUTH_TGZ)).expect("tgz"), good);

    // a broken Python project: pip's output is shown, exit 1
    ws.write(
        "shared/python/pyproject.toml",
        "[project]\nname = \"kamiwaza_auth\"\nversion = 1\n",
    );
    let run = kz(&ws, &["package-libs", "--python-only"], None);
    run.code(1).stderr_has("-m pip wheel . --no-deps");
    assert!(!ws.exists("shared/python/dist"));
}

#[test]
fn missing_tools_are_named_with_exit_3() {
    let ws = workspace();
    let empty = tempfile::tempdir().expect("empty PATH");
    let run = kz(&ws, &["package-libs", "--python-only"], Some(empty.path()));
    run.code(3)
        .stderr_has("`python3` is not installed (not found on PATH); it is needed to build the Python library `shared/python`")
        .stderr_has("hint: install Python 3");
    let run = kz(&ws, &["package-libs", "--ts-only"], Some(empty.path()));
    run.code(3)
        .stderr_has("`npm` is not installed")
        .stderr_has("`shared/typescript/kamiwaza-auth`")
        .stderr_has("hint: install Node.js");
    assert!(!ws.exists(AUTH_TGZ));
}

#[test]
fn no_shared_libraries_is_said_plainly() {
    let ws = Ws::new();
    ws.write("apps/.keep", "");
    let run = kz(&ws, &["package-libs"], None);
    run.code(0)
        .stderr_has("no shared libraries in this workspace");
    assert_eq!(run.stdout, "");
    kz(&ws, &["package-libs", "--python-only"], None)
        .code(2)
        .stderr_has("no Python shared library in this workspace");
    kz(&ws, &["package-libs", "--python-only", "--ts-only"], None).code(2);
}
