//! Defect 3: credential files the old filter did not know are neither packed nor served; an
//! allowlist by kind decides, and `--allow PATH` lets one file through by name.

use crate::harness::{Ws, KZ};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REG: &str = "build/kamiwaza-extension-registry";

const CREDENTIAL_FILES: &[(&str, &str)] = &[
    (
        ".aws/credentials",
        "[default]\naws_secret_access_key = AKIA-leak-1\n",
    ),
    (".npmrc", "//registry.npmjs.org/:_authToken=npm_leak2\n"),
    (".git-credentials", "https://u:ghp_leak3@github.com\n"),
    ("kubeconfig", "users:\n- user:\n    token: leak4\n"),
    (
        ".docker/config.json",
        "{\"auths\":{\"x\":{\"auth\":\"bGVhazU=\"}}}\n",
    ),
    ("id_ecdsa", "leak6\n"),
    ("garden/v2/cert.p12", "leak7\n"),
    ("cert.pfx", "leak8\n"),
    (".netrc", "machine x login u password leak9\n"),
    ("notes.yaml", "leak10: maybe\n"),
];

fn registry() -> Ws {
    let ws = Ws::new();
    ws.write("apps/.keep", "")
        .write(&format!("{REG}/garden/v2/apps.json"), "[]")
        .write(&format!("{REG}/garden/v2/images/logo.png"), "png")
        .write(
            &format!("{REG}/garden/v2/docker-images/manifest.json"),
            "[]",
        )
        .write(&format!("{REG}/garden/v2/docker-images/app.tar"), "tar")
        .write(&format!("{REG}/package-setup.sh"), "#!/bin/sh\n")
        .write(&format!("{REG}/kamiwaza-registry.env.template"), "X=\n")
        .write(&format!("{REG}/README.md"), "# r\n");
    for (rel, body) in CREDENTIAL_FILES {
        ws.write(&format!("{REG}/{rel}"), body);
    }
    ws
}

fn packed_names(archive: &std::path::Path) -> Vec<String> {
    let file = std::fs::File::open(archive).expect("archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let mut body = String::new();
        let _ = e.read_to_string(&mut body);
        assert!(!body.contains("leak"), "packed a credential: {body}");
        names.push(e.path().expect("path").display().to_string());
    }
    names
}

fn only_archive(dir: &std::path::Path) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .expect("out")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

#[test]
fn credential_files_are_reported_and_left_out_of_the_package_unless_allowed_by_name() {
    let ws = registry();
    let run = ws.kz(&["package", "--out", "out"]);
    run.code(0);
    for (rel, _) in CREDENTIAL_FILES {
        run.stderr_has(&format!("left out kamiwaza-extension-registry/{rel}"));
    }
    let names = packed_names(&only_archive(&ws.path("out")));
    for kept in [
        "garden/v2/apps.json",
        "garden/v2/images/logo.png",
        "garden/v2/docker-images/manifest.json",
        "garden/v2/docker-images/app.tar",
        "package-setup.sh",
        "kamiwaza-registry.env.template",
    ] {
        let want = format!("kamiwaza-extension-registry/{kept}");
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // Allowed by name: packed. A private key stays out even when named.
    let run = ws.kz(&[
        "package",
        "--out",
        "out2",
        "--allow",
        "notes.yaml",
        "--allow",
        "id_ecdsa",
    ]);
    run.code(0)
        .stderr_has("left out kamiwaza-extension-registry/id_ecdsa");
    let file = std::fs::File::open(only_archive(&ws.path("out2"))).expect("archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let names: Vec<String> = tar
        .entries()
        .expect("entries")
        .map(|e| e.expect("e").path().expect("p").display().to_string())
        .collect();
    assert!(names.contains(&"kamiwaza-extension-registry/notes.yaml".to_owned()));
    assert!(!names.iter().any(|n| n.ends_with("id_ecdsa")));
}

#[test]
fn serve_registry_serves_by_the_same_policy() {
    let ws = registry();
    let mut child = Command::new(KZ)
        .args([
            "serve-registry",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ])
        .current_dir(ws.path("."))
        .env("KZ_COLOR", "never")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = child.stderr.take().expect("stderr");
    let start = Instant::now();
    let mut seen = String::new();
    let addr = loop {
        let mut buf = [0u8; 512];
        let n = stderr.read(&mut buf).expect("read");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(i) = seen.find("http://127.0.0.1:") {
            let rest = &seen[i + 7..];
            if let Some(end) = rest.find(|c: char| c == '/' || c.is_whitespace()) {
                break rest[..end].to_owned();
            }
        }
        assert!(n > 0 && start.elapsed() < Duration::from_secs(20), "{seen}");
    };
    let get = |path: &str| -> u16 {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("w");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(get("garden/v2/apps.json"), 200);
    assert_eq!(get("garden/v2/images/logo.png"), 200);
    for (rel, _) in CREDENTIAL_FILES {
        assert_eq!(get(rel), 404, "{rel} served");
    }
    let _ = child.kill();
    let _ = child.wait();
}
