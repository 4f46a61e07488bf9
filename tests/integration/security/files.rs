//! Defects 2, 5 and 6: symlinks out of the workspace are refused (never printed, never written
//! through, never cleaned through) and anything that is not a regular file is refused before it
//! is opened.

use crate::harness::{Run, Ws, KZ};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MANIFEST: &str = r#"{"name": "demo", "version": "1.2.3", "source_type": "kamiwaza",
 "visibility": "public", "description": "d", "risk_tier": 1, "verified": false}"#;
const COMPOSE: &str = "services:\n  app:\n    image: busybox\n";
const LEAK: &str = "aws_secret_access_key = LEAKME-not-for-ci-logs-77";

fn demo() -> Ws {
    let ws = Ws::new();
    ws.write("apps/demo/kamiwaza.json", MANIFEST)
        .write("apps/demo/docker-compose.yml", COMPOSE);
    ws
}

#[cfg(unix)]
#[test]
fn a_committed_symlink_out_of_the_workspace_is_refused_and_never_printed() {
    let outside = tempfile::tempdir().expect("outside");
    let creds = outside.path().join("credentials");
    std::fs::write(&creds, format!("[default]\n{LEAK}\n")).expect("creds");
    for linked in [
        "docker-compose.appgarden.yml",
        "docker-compose.yml",
        "kamiwaza.json",
    ] {
        let ws = demo();
        let path = ws.path(&format!("apps/demo/{linked}"));
        std::fs::remove_file(&path).ok();
        std::os::unix::fs::symlink(&creds, &path).expect("symlink");
        for args in [&["sync-compose", "--check"][..], &["validate"][..]] {
            let run = ws.kz(args);
            assert_ne!(run.code, 0, "{linked} {args:?}: {run:?}");
            let all = format!("{}{}", run.stdout, run.stderr);
            // validate reports what it could not check; sync-compose names the link.
            if args[0] == "sync-compose" {
                assert!(
                    all.contains("outside the workspace"),
                    "{linked} {args:?}: {all}"
                );
            }
            assert!(!all.contains("LEAKME"), "{linked} {args:?}: {all}");
        }
        assert_eq!(
            std::fs::read_to_string(&creds).expect("creds"),
            format!("[default]\n{LEAK}\n")
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_kind_folder_is_not_followed_by_sync_or_clean() {
    let outside = tempfile::tempdir().expect("outside");
    let app = outside.path().join("demo");
    std::fs::create_dir_all(app.join("node_modules/left-pad")).expect("mkdir");
    std::fs::write(app.join("kamiwaza.json"), MANIFEST).expect("manifest");
    std::fs::write(app.join("docker-compose.yml"), COMPOSE).expect("compose");
    let ws = Ws::new();
    ws.write(
        "tools/tool-x/kamiwaza.json",
        MANIFEST.replace("demo", "tool-x"),
    );
    std::os::unix::fs::symlink(outside.path(), ws.path("apps")).expect("symlink apps");
    let run = ws.kz(&["sync-compose"]);
    run.stderr_has("skipped apps: a symbolic link out of the workspace");
    assert!(
        !app.join("docker-compose.appgarden.yml").exists(),
        "{run:?}"
    );
    let run = ws.kz(&["clean", "--all"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(app.join("node_modules/left-pad").is_dir(), "{run:?}");
}

/// Run kz with a deadline: a hang is a failure, not a stuck suite.
fn kz_within(ws: &Ws, args: &[&str], limit: Duration) -> Run {
    let mut child = Command::new(KZ)
        .args(args)
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kz");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kz {args:?} hung for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[cfg(unix)]
#[test]
fn a_named_pipe_in_place_of_kamiwaza_json_is_refused_without_hanging() {
    let ws = demo();
    let manifest = ws.path("apps/demo/kamiwaza.json");
    std::fs::remove_file(&manifest).expect("rm");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &manifest,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .expect("mkfifo");
    for args in [&["list"][..], &["bump", "demo", "patch"][..]] {
        let run = kz_within(&ws, args, Duration::from_secs(20));
        // `list` lists what it can (with a warning); the others fail.
        if args[0] != "list" {
            assert_ne!(run.code, 0, "{args:?}: {run:?}");
        }
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            all.contains("a named pipe; kz reads only regular files"),
            "{args:?}: {all}"
        );
    }
}
