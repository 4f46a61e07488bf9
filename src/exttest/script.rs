//! The shell command a suite's container runs, per framework. Each script first checks that the
//! image has the runner; when it does not, it prints [`MISSING_RUNNER`] and the tool's name on
//! stderr and exits 127, which the runner turns into a clear failure naming image and tool.
//!
//! * pytest: `python3 -m pytest` (the working folder goes on `sys.path`, as the guide's layouts
//!   need), else `python -m pytest`, else `pytest`. When the image has no pytest but the folder
//!   has `requirements-dev.txt` / `dev-requirements.txt`, those are installed first into a
//!   folder under /tmp (any user may write there) — this needs the network. With pytest-cov in
//!   the image, coverage is reported as the reference does (`--cov --cov-report=term-missing`).
//! * npm: dependencies are installed when `node_modules` is missing (`npm ci` with a lock file,
//!   else `npm install`), then `npm test` / `npm run test:coverage`.
//! * go: `go test ./...`.

use super::detect::Framework;

/// What a script prints, before the tool name, when the image lacks the runner.
pub(crate) const MISSING_RUNNER: &str = "kz-test: missing runner: ";
/// The exit code that goes with it.
pub(crate) const MISSING_EXIT: i64 = 127;

/// Environment every suite gets besides the compose `environment:` (no host variables).
pub(crate) fn base_env(framework: &Framework) -> Vec<(String, String)> {
    let mut env = vec![("CI".to_owned(), "true".to_owned())];
    match framework {
        Framework::Pytest => {
            env.push(("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned()));
            env.push(("PYTHONUNBUFFERED".to_owned(), "1".to_owned()));
        }
        Framework::Npm { .. } => {
            env.push((
                "npm_config_cache".to_owned(),
                "/tmp/kz-npm-cache".to_owned(),
            ));
            env.push(("npm_config_update_notifier".to_owned(), "false".to_owned()));
        }
        Framework::Go => {
            env.push(("GOCACHE".to_owned(), "/tmp/kz-go-cache".to_owned()));
            env.push(("GOPATH".to_owned(), "/tmp/kz-go".to_owned()));
        }
    }
    env
}

/// `["sh", "-c", script]` for the framework.
pub(crate) fn command(framework: &Framework) -> Vec<String> {
    let script = match framework {
        Framework::Pytest => PYTEST.to_owned(),
        Framework::Npm { script } => NPM.replace("{script}", &shell_quote(script)),
        Framework::Go => GO.to_owned(),
    }
    .replace("MISSING", &missing(framework.tool()));
    vec!["sh".to_owned(), "-c".to_owned(), script]
}

fn missing(tool: &str) -> String {
    format!("echo '{MISSING_RUNNER}{tool}' >&2; exit {MISSING_EXIT}")
}

/// Quote for a POSIX shell (single quotes; `'` becomes `'\''`).
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

const PYTEST: &str = r#"has_pytest() { command -v "$1" >/dev/null 2>&1 && "$1" -c 'import pytest' >/dev/null 2>&1; }
runner=""
for py in python3 python; do if has_pytest "$py"; then runner="$py -m pytest"; break; fi; done
if [ -z "$runner" ] && command -v pytest >/dev/null 2>&1; then runner="pytest"; fi
if [ -z "$runner" ]; then
  req=""
  for f in requirements-dev.txt dev-requirements.txt; do [ -f "$f" ] && req="$f" && break; done
  py=""
  for p in python3 python; do command -v "$p" >/dev/null 2>&1 && py="$p" && break; done
  if [ -n "$req" ] && [ -n "$py" ]; then
    echo "kz-test: installing $req (the image has no pytest)" >&2
    "$py" -m pip install --quiet --disable-pip-version-check --target /tmp/kz-test-deps -r "$req" || exit $?
    export PYTHONPATH="/tmp/kz-test-deps${PYTHONPATH:+:$PYTHONPATH}"
    has_pytest "$py" && runner="$py -m pytest"
  fi
fi
if [ -z "$runner" ]; then MISSING; fi
set -- -p no:cacheprovider
case "$runner" in *" -m pytest") py="${runner%% *}"; "$py" -c 'import pytest_cov' >/dev/null 2>&1 && set -- "$@" --cov --cov-report=term-missing;; esac
exec $runner "$@""#;

const NPM: &str = r#"command -v npm >/dev/null 2>&1 || { MISSING; }
if [ ! -d node_modules ]; then
  if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then npm ci || exit $?; else npm install || exit $?; fi
fi
exec npm run {script}"#;

const GO: &str = r#"command -v go >/dev/null 2>&1 || { MISSING; }
exec go test ./..."#;

#[cfg(test)]
mod tests {
    use super::*;

    fn render(fw: &Framework) -> String {
        command(fw).last().cloned().unwrap_or_default()
    }

    #[test]
    fn scripts_check_the_runner_first() {
        for fw in [
            Framework::Pytest,
            Framework::Npm {
                script: "test".into(),
            },
            Framework::Go,
        ] {
            let s = render(&fw);
            assert!(!s.contains("MISSING"), "{s}");
            assert!(s.contains(&format!("{MISSING_RUNNER}{}", fw.tool())), "{s}");
        }
        assert!(render(&Framework::Npm {
            script: "test:coverage".into()
        })
        .ends_with("exec npm run 'test:coverage'"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
