//! A small harness: a temporary workspace, files in it, and `kz` runs with captured output.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const KZ: &str = env!("CARGO_BIN_EXE_kz");

/// The corpus of the compatibility lane: the folder `KZ_COMPAT_CORPUS` names (CI sets it to
/// `../shared/corpus`), holding `kamiwaza/` (real extensions) and `reference-outputs/` (what the
/// reference scripts wrote). Unset, missing or incomplete: the test fails, never passes vacuously.
#[allow(dead_code)] // used by the compat lane only
pub(crate) fn corpus() -> PathBuf {
    let dir = std::env::var_os("KZ_COMPAT_CORPUS").unwrap_or_else(|| {
        panic!("KZ_COMPAT_CORPUS is not set: point it at the corpus (../shared/corpus in CI)")
    });
    let dir = PathBuf::from(dir);
    let dir = if dir.is_relative() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    } else {
        dir
    };
    for part in [
        "kamiwaza/SOURCES.md",
        "reference-outputs/README.md",
        "reference-outputs/synthetic/input",
    ] {
        assert!(
            dir.join(part).exists(),
            "KZ_COMPAT_CORPUS={}: the corpus is incomplete ({part} is missing)",
            dir.display()
        );
    }
    dir
}

/// Where scripts/engine-setup.sh leaves what the lanes need (moto's venv, the wheelhouse, the
/// base images' root file systems): `KZ_CI_DIR`, else `$CARGO_TARGET_DIR/kz-ci`, else
/// `<repo>/target/kz-ci` (the same rule the script follows).
#[allow(dead_code)] // used by the engine and S3 lanes only
pub(crate) fn ci_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KZ_CI_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| {
            if t.is_relative() {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(t)
            } else {
                t
            }
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("kz-ci")
}

/// Fixtures committed with the tests (tests/fixtures; sources in tests/fixtures/SOURCES.md).
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub(crate) fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Set `KZ_BLESS=1` to rewrite golden files from the current output.
pub(crate) fn bless() -> bool {
    std::env::var_os("KZ_BLESS").is_some()
}

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    #[track_caller]
    pub(crate) fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }
}

pub(crate) struct Ws {
    dir: tempfile::TempDir,
}

impl Ws {
    pub(crate) fn new() -> Ws {
        Ws {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, contents).expect("write");
        self
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub(crate) fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Copy the apps/, services/ and tools/ folders of `from` into the workspace.
    pub(crate) fn copy_extensions(&self, from: &Path) -> &Self {
        for kind in ["apps", "services", "tools"] {
            let src = from.join(kind);
            if src.is_dir() {
                copy_tree(&src, &self.path(kind));
            }
        }
        self
    }

    pub(crate) fn kz(&self, args: &[&str]) -> Run {
        self.kz_in(".", args)
    }

    /// Run kz with the working directory `rel` inside the workspace.
    pub(crate) fn kz_in(&self, rel: &str, args: &[&str]) -> Run {
        let out = Command::new(KZ)
            .args(args)
            .current_dir(self.path(rel))
            .env("KZ_COLOR", "never")
            .env_remove("CLICOLOR_FORCE")
            // The Synapse settings publish.sh reads; a CI that sets them must not steer tests.
            .env_remove("REGISTRY")
            .env_remove("NS")
            .env_remove("CONTEXT")
            .output()
            .expect("run kz");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("prefix");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// Compare `actual` with the golden file at `rel` (under tests/golden), or rewrite it under
/// `KZ_BLESS=1`.
#[track_caller]
pub(crate) fn assert_golden(rel: &str, actual: &str) {
    let path = golden_dir().join(rel);
    if bless() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("bless");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "golden file {} missing; run with KZ_BLESS=1 and review",
            path.display()
        )
    });
    pretty_assertions::assert_str_eq!(expected, actual, "golden file {rel}");
}

/// A unified diff (or "" when equal), for pinning documented differences.
#[allow(dead_code)] // used by the compat lane only
pub(crate) fn diff(a_name: &str, a: &str, b_name: &str, b: &str) -> String {
    similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(2)
        .header(a_name, b_name)
        .to_string()
}
