//! `kz package`: identical bytes for identical inputs, secrets never packed, streamed output
//! readable by a real tar reader.

use crate::harness::Ws;
use std::io::Read;

fn registry(ws: &Ws) {
    let r = "build/kamiwaza-extension-registry";
    ws.write(&format!("{r}/garden/v2/apps.json"), "[]")
        .write(&format!("{r}/garden/v2/tools.json"), "[]")
        .write(
            &format!("{r}/garden/v2/images/logo.png"),
            [0x89, b'P', b'N', b'G'],
        )
        .write(&format!("{r}/README.md"), "# registry\n")
        .write(&format!("{r}/package-setup.sh"), "#!/bin/sh\n")
        .write(&format!("{r}/.env"), "AWS_SECRET_ACCESS_KEY=x\n")
        .write(&format!("{r}/.certs/server.pem"), "cert\n")
        .write(&format!("{r}/garden/v2/server.key"), "key\n")
        .write(
            &format!("{r}/garden/v2/images/disguised.png"),
            "-----BEGIN PRIVATE KEY-----\nx\n",
        )
        .write(
            &format!("{r}/kamiwaza-registry.env.template"),
            "KAMIWAZA_EXTENSION_STAGE=LOCAL\n",
        );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = ws.path(&format!("{r}/package-setup.sh"));
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    ws.write("apps/.keep", "");
}

fn entries(archive: &str) -> Vec<(String, u32)> {
    let file = std::fs::File::open(archive.trim()).expect("archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for e in tar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let mut body = Vec::new();
        e.read_to_end(&mut body).expect("read");
        out.push((
            e.path().expect("path").display().to_string(),
            e.header().mode().expect("mode"),
        ));
    }
    out
}

#[test]
fn same_inputs_same_bytes_and_no_secrets() {
    let ws = Ws::new();
    registry(&ws);
    let first = ws.kz(&["package", "--out", "out1"]);
    first
        .code(0)
        .stderr_has("left out kamiwaza-extension-registry/.env: an .env file");
    first
        .stderr_has("disguised.png: holds a private key")
        .stderr_has(".certs/: certificates and their keys");
    // touch everything: new mtimes must not change the bytes
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ws.write(
        "build/kamiwaza-extension-registry/README.md",
        "# registry\n",
    );
    let second = ws.kz(&["package", "--out", "out2"]);
    second.code(0);
    let (a, b) = (first.stdout.trim(), second.stdout.trim());
    assert_ne!(a, b, "archives should have different names");
    assert_eq!(
        std::fs::read(a).expect("a"),
        std::fs::read(b).expect("b"),
        "archive bytes differ"
    );
    let names = entries(a);
    let paths: Vec<&str> = names.iter().map(|(p, _)| p.as_str()).collect();
    assert!(
        paths.contains(&"kamiwaza-extension-registry/garden/v2/apps.json"),
        "{paths:?}"
    );
    assert!(paths.contains(&"kamiwaza-extension-registry/kamiwaza-registry.env.template"));
    for bad in ["/.env", "/server.key", "/.certs/", "/disguised.png"] {
        assert!(
            !paths.iter().any(|p| p.ends_with(bad)),
            "{bad} was packed: {paths:?}"
        );
    }
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted, "entries are not sorted");
    #[cfg(unix)]
    assert!(names
        .iter()
        .any(|(p, m)| p.ends_with("package-setup.sh") && *m == 0o755));
    let leftovers = std::fs::read_dir(ws.path("out1")).expect("ls").count();
    assert_eq!(leftovers, 1, "a temp file was left behind");
}

#[test]
fn without_a_registry_it_builds_one_first() {
    let ws = Ws::new();
    ws.kz(&["new", "tool", "tool-pack"]).code(0);
    // Secrets inside an extension must never travel, whatever the catalogue build copies.
    ws.write("tools/tool-pack/.env", "TOKEN=secret\n")
        .write(
            "tools/tool-pack/server.key",
            "-----BEGIN PRIVATE KEY-----\n",
        )
        .write("tools/tool-pack/images/.env", "TOKEN=secret\n");
    let run = ws.kz(&["package"]);
    run.code(0).stderr_has("running `kz build-registry`");
    let names = entries(&run.stdout);
    assert!(
        names
            .iter()
            .any(|(p, _)| p == "kamiwaza-extension-registry/garden/v2/tools.json"),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|(p, _)| p.ends_with("/.env") || p.ends_with(".key")),
        "{names:?}"
    );
    let bytes = std::fs::read(run.stdout.trim()).expect("archive");
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .ok();
    assert!(!text.contains("TOKEN=secret") && !text.contains("PRIVATE KEY"));
}

#[cfg(unix)]
#[test]
fn kill_9_while_packing_leaves_earlier_archives_whole() {
    let ws = Ws::new();
    registry(&ws);
    let first = ws.kz(&["package", "--out", "out"]);
    first.code(0);
    let earlier = first.stdout.trim().to_owned();
    let before = std::fs::read(&earlier).expect("archive");
    // A large, poorly compressible file keeps kz busy long enough to be killed mid-stream.
    let mut noise = Vec::with_capacity(64 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 64 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    ws.write(
        "build/kamiwaza-extension-registry/garden/v2/docker-images/big.tar",
        noise,
    );
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new archive name
    let mut child = std::process::Command::new(crate::harness::KZ)
        .args(["package", "--out", "out"])
        .current_dir(ws.path("."))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    assert_eq!(
        std::fs::read(&earlier).expect("earlier archive"),
        before,
        "earlier archive changed"
    );
    let finished: Vec<String> = std::fs::read_dir(ws.path("out"))
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.gz"))
        .collect();
    assert_eq!(
        finished.len(),
        1,
        "a half-written archive got a final name: {finished:?}"
    );
}

#[test]
fn an_invalid_workspace_packs_nothing() {
    let ws = Ws::new();
    ws.write("tools/tool-bad/kamiwaza.json", "{\"name\": \"tool-bad\"}");
    ws.kz(&["package"])
        .code(1)
        .stdout_has("metadata/required-field");
    assert!(!ws.exists("dist"));
}
