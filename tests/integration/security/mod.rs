//! Issue 12: nothing leaked, nothing left behind. Each test drives the real binary against
//! loopback servers that echo what they receive, symlinks, named pipes and signals.

mod echo;
mod files;
mod injection;
mod leaks;
mod leftovers;
mod packing;
mod small;

use super::harness::{Run, KZ};
use std::path::Path;
use std::process::Command;

/// Run kz in `dir` with a clean environment: HOME is `home`, plus `vars`.
pub(crate) fn kz_env(dir: &Path, home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let out = Command::new(KZ)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KZ_COLOR", "never")
        .envs(vars.iter().copied())
        .output()
        .expect("run kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every encoded form a server could echo `secret` in.
pub(crate) fn forms_of(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let json = serde_json::to_string(secret).expect("json");
    vec![
        secret.to_owned(),
        json[1..json.len() - 1].to_owned(),
        form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        base64::engine::general_purpose::STANDARD.encode(secret),
    ]
}

#[track_caller]
pub(crate) fn assert_no_secret(run: &Run, secret: &str) {
    let all = format!("{}\n{}", run.stdout, run.stderr);
    for form in forms_of(secret) {
        assert!(!all.contains(&form), "{form:?} printed:\n{all}");
    }
}
