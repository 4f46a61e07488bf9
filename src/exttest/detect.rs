//! Which test frameworks a folder uses. Every framework present is reported (the reference stops
//! at the first match, so Python files hid Node tests, §16.13); the checks are the guide's:
//!
//! * **pytest**: `pytest.ini`, `requirements-dev.txt` / `dev-requirements.txt`, `conftest.py`,
//!   `pyproject.toml` with `[tool.pytest…]`, `setup.cfg` with `[tool:pytest]`, `tox.ini` with
//!   `[pytest]`, `test_*.py` / `*_test.py` at the top or under `tests/` / `test/`;
//! * **npm**: `package.json` with a `test` script (npm's placeholder `no test specified` does
//!   not count); `test:coverage` is run instead when present, as the reference does;
//! * **go**: `go.mod` with a `*_test.go` anywhere below (vendor and node_modules skipped), or a
//!   `*_test.go` at the top.
//!
//! Each framework also lists the paths that must be inside the container for its tests to run
//! (`markers`), so the runner can tell whether the image holds the tests.

use crate::fsx;
use std::path::Path;
use walkdir::WalkDir;

/// How deep detection looks under a folder for test files.
const MAX_DEPTH: usize = 6;
/// Files looked at per walk, so a huge tree cannot stall detection.
const MAX_ENTRIES: usize = 20_000;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "framework", rename_all = "lowercase")]
pub enum Framework {
    Pytest,
    /// `npm run <script>`.
    Npm {
        script: String,
    },
    Go,
}

impl Framework {
    /// `pytest`, `npm test`, `npm run test:coverage`, `go test`.
    pub fn label(&self) -> String {
        match self {
            Framework::Pytest => "pytest".to_owned(),
            Framework::Npm { script } if script == "test" => "npm test".to_owned(),
            Framework::Npm { script } => format!("npm run {script}"),
            Framework::Go => "go test".to_owned(),
        }
    }

    /// The program the image must have.
    pub fn tool(&self) -> &'static str {
        match self {
            Framework::Pytest => "pytest",
            Framework::Npm { .. } => "npm",
            Framework::Go => "go",
        }
    }
}

/// A framework found in a folder, and the paths (relative, `/`-separated) its tests need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    pub framework: Framework,
    pub markers: Vec<String>,
}

/// Every framework whose signs `dir` carries, in the order pytest, npm, go.
pub fn detect(dir: &Path) -> Vec<Detected> {
    let mut out = Vec::new();
    if let Some(markers) = pytest(dir) {
        out.push(Detected {
            framework: Framework::Pytest,
            markers,
        });
    }
    if let Some(script) = npm_script(dir) {
        out.push(Detected {
            framework: Framework::Npm { script },
            markers: vec!["package.json".to_owned()],
        });
    }
    if let Some(markers) = go(dir) {
        out.push(Detected {
            framework: Framework::Go,
            markers,
        });
    }
    out
}

fn is_python_test(name: &str) -> bool {
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

fn top_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Whether some file under `dir` (not following symlinks) satisfies `pred`.
fn any_file_below(dir: &Path, pred: impl Fn(&str) -> bool) -> bool {
    WalkDir::new(dir)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !matches!(name.as_ref(), "node_modules" | "vendor" | ".git")
        })
        .take(MAX_ENTRIES)
        .filter_map(Result::ok)
        .any(|e| e.file_type().is_file() && pred(&e.file_name().to_string_lossy()))
}

fn file_mentions(path: &Path, needle: &str) -> bool {
    fsx::read_text(path, fsx::MAX_TEXT_FILE).is_ok_and(|t| t.contains(needle))
}

fn pytest(dir: &Path) -> Option<Vec<String>> {
    let files = top_files(dir);
    let has = |name: &str| files.iter().any(|f| f == name);
    let mut markers: Vec<String> = Vec::new();
    let mut found = false;
    for test_dir in ["tests", "test"] {
        let p = dir.join(test_dir);
        if p.is_dir() && !p.is_symlink() && any_file_below(&p, is_python_test) {
            markers.push(test_dir.to_owned());
            found = true;
        }
    }
    let root_tests: Vec<String> = files
        .iter()
        .filter(|f| is_python_test(f))
        .cloned()
        .collect();
    if !root_tests.is_empty() {
        found = true;
        markers.extend(root_tests);
    }
    for config in ["pytest.ini", "conftest.py"] {
        if has(config) {
            found = true;
            markers.push(config.to_owned());
        }
    }
    for req in ["requirements-dev.txt", "dev-requirements.txt"] {
        if has(req) {
            found = true;
        }
    }
    let sections = [
        ("pyproject.toml", "[tool.pytest"),
        ("setup.cfg", "[tool:pytest]"),
        ("tox.ini", "[pytest]"),
    ];
    for (file, section) in sections {
        if has(file) && file_mentions(&dir.join(file), section) {
            found = true;
            markers.push(file.to_owned());
        }
    }
    found.then_some(markers)
}

/// The npm script to run: `test:coverage` when it exists, else `test`; None without a real one.
fn npm_script(dir: &Path) -> Option<String> {
    let path = dir.join("package.json");
    if !path.is_file() {
        return None;
    }
    let text = fsx::read_text(&path, fsx::MAX_TEXT_FILE).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let scripts = json.get("scripts")?.as_object()?;
    let real = |name: &str| {
        scripts
            .get(name)
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| !s.trim().is_empty() && !s.contains("no test specified"))
    };
    if !real("test") && !real("test:coverage") {
        return None;
    }
    Some(
        if real("test:coverage") {
            "test:coverage"
        } else {
            "test"
        }
        .to_owned(),
    )
}

fn go(dir: &Path) -> Option<Vec<String>> {
    let files = top_files(dir);
    let top_tests: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with("_test.go"))
        .cloned()
        .collect();
    let has_mod = files.iter().any(|f| f == "go.mod");
    if has_mod && (!top_tests.is_empty() || any_file_below(dir, |n| n.ends_with("_test.go"))) {
        let mut markers = vec!["go.mod".to_owned()];
        markers.extend(top_tests);
        return Some(markers);
    }
    (!top_tests.is_empty()).then_some(top_tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        dir
    }

    fn frameworks(files: &[(&str, &str)]) -> Vec<String> {
        let dir = tree(files);
        detect(dir.path())
            .iter()
            .map(|d| d.framework.label())
            .collect()
    }

    #[test]
    fn pytest_signs_each_count() {
        for sign in [
            ("pytest.ini", ""),
            ("requirements-dev.txt", "pytest\n"),
            ("dev-requirements.txt", "pytest\n"),
            ("conftest.py", ""),
            ("tests/test_api.py", ""),
            ("test/test_api.py", ""),
            ("tests/unit/deep/api_test.py", ""),
            ("test_root.py", ""),
            (
                "pyproject.toml",
                "[tool.pytest.ini_options]\naddopts = \"-q\"\n",
            ),
            ("setup.cfg", "[tool:pytest]\n"),
            ("tox.ini", "[pytest]\n"),
        ] {
            assert_eq!(frameworks(&[sign]), ["pytest"], "{sign:?}");
        }
    }

    #[test]
    fn things_that_are_not_pytest() {
        for files in [
            &[("pyproject.toml", "[project]\nname = \"x\"\n")][..],
            &[("requirements.txt", "fastapi\n")],
            &[("tests/helpers.py", "")],
            &[("tests/app.test.ts", "")],
            &[("setup.cfg", "[metadata]\n")],
            &[("README.md", "")],
        ] {
            assert!(frameworks(files).is_empty(), "{files:?}");
        }
    }

    #[test]
    fn markers_name_what_the_container_needs() {
        let dir = tree(&[
            ("tests/test_a.py", ""),
            ("pytest.ini", ""),
            ("test_b.py", ""),
            ("requirements-dev.txt", ""),
        ]);
        let found = detect(dir.path());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].markers, ["tests", "test_b.py", "pytest.ini"]);
    }

    #[test]
    fn npm_test_and_coverage_scripts() {
        let pkg = |scripts: &str| format!("{{\"name\": \"x\", \"scripts\": {scripts}}}");
        assert_eq!(
            frameworks(&[("package.json", &pkg(r#"{"test": "vitest run"}"#))]),
            ["npm test"]
        );
        assert_eq!(
            frameworks(&[(
                "package.json",
                &pkg(r#"{"test": "vitest run", "test:coverage": "vitest run --coverage"}"#)
            )]),
            ["npm run test:coverage"]
        );
        for none in [
            pkg(r#"{"build": "next build"}"#),
            pkg(r#"{"test": "echo \"Error: no test specified\" && exit 1"}"#),
            pkg(r#"{"test": ""}"#),
            "{\"name\": \"x\"}".to_owned(),
            "not json".to_owned(),
        ] {
            assert!(frameworks(&[("package.json", &none)]).is_empty(), "{none}");
        }
    }

    #[test]
    fn go_needs_test_files() {
        assert_eq!(
            frameworks(&[("go.mod", "module x\n"), ("pkg/a/a_test.go", "")]),
            ["go test"]
        );
        assert_eq!(frameworks(&[("main_test.go", "")]), ["go test"]);
        assert!(frameworks(&[("go.mod", "module x\n"), ("main.go", "")]).is_empty());
        assert!(frameworks(&[("go.mod", ""), ("vendor/x/x_test.go", "")]).is_empty());
    }

    #[test]
    fn python_never_hides_node_or_go() {
        // The reference returns at requirements.txt and never reaches package.json (§16.13).
        assert_eq!(
            frameworks(&[
                ("requirements.txt", "fastapi\n"),
                ("requirements-dev.txt", "pytest\n"),
                ("tests/test_api.py", ""),
                ("package.json", r#"{"scripts": {"test": "vitest run"}}"#),
                ("go.mod", "module x\n"),
                ("x_test.go", ""),
            ]),
            ["pytest", "npm test", "go test"]
        );
    }

    #[test]
    fn node_modules_and_symlinks_are_not_walked() {
        let dir = tree(&[("node_modules/pkg/test_x.py", ""), ("src/index.js", "")]);
        assert!(detect(dir.path()).is_empty());
        #[cfg(unix)]
        {
            let outside = tree(&[("test_x.py", "")]);
            let d = tree(&[]);
            std::os::unix::fs::symlink(outside.path(), d.path().join("tests")).expect("symlink");
            assert!(detect(d.path()).is_empty());
        }
    }
}
