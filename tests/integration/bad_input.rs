//! Bad input: every case gets a clear message naming the file (and line), a documented exit code,
//! and nothing written.

use crate::harness::Ws;

const OK_MANIFEST: &str = r#"{"name": "demo", "version": "1.0.0", "source_type": "kamiwaza",
 "visibility": "public", "description": "d", "risk_tier": 1, "verified": false}"#;

fn ws_with(manifest: &[u8], compose: &[u8]) -> Ws {
    let ws = Ws::new();
    ws.write("apps/demo/kamiwaza.json", manifest)
        .write("apps/demo/docker-compose.yml", compose);
    ws
}

fn nothing_written(ws: &Ws) {
    assert!(
        !ws.exists("apps/demo/docker-compose.appgarden.yml"),
        "a file was written"
    );
}

#[test]
fn malformed_json_names_file_and_line() {
    let ws = ws_with(
        b"{\n  \"name\": \"demo\",\n  \"version\": \"1.0.0\",\n}\n",
        b"services:\n  a:\n    image: x\n",
    );
    ws.kz(&["sync-compose"])
        .code(2)
        .stderr_has("apps/demo/kamiwaza.json")
        .stderr_has("line 4");
    nothing_written(&ws);
    ws.kz(&["bump", "demo", "patch"])
        .code(2)
        .stderr_has("kamiwaza.json")
        .stderr_has("line 4");
    let v = ws.kz(&["validate"]);
    v.code(1).stdout_has("apps/demo/kamiwaza.json:4:");
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let ws = ws_with(
        OK_MANIFEST.as_bytes(),
        b"services:\n  a:\n    image: [unclosed\n  b: 1\n",
    );
    let run = ws.kz(&["sync-compose"]);
    run.code(2)
        .stderr_has("apps/demo/docker-compose.yml")
        .stderr_has("line");
    nothing_written(&ws);
}

#[test]
fn wrong_types_are_errors_not_crashes() {
    let ws = ws_with(
        br#"{"name": 5, "version": 1, "risk_tier": "high", "verified": "no"}"#,
        b"services:\n  a:\n    image: x\n",
    );
    ws.kz(&["sync-compose"])
        .code(2)
        .stderr_has("`version` must be a string");
    nothing_written(&ws);
    let v = ws.kz(&["validate", "--format", "json"]);
    v.code(1);
    let json: serde_json::Value = serde_json::from_str(&v.stdout).expect("json");
    assert!(
        json["errors"].as_u64().expect("errors") >= 4,
        "{}",
        v.stdout
    );
    let ws = ws_with(OK_MANIFEST.as_bytes(), b"services: [1, 2]\n");
    ws.kz(&["sync-compose"])
        .code(2)
        .stderr_has("`services` must be a mapping");
    nothing_written(&ws);
}

#[test]
fn empty_files() {
    let ws = ws_with(b"", b"");
    ws.kz(&["sync-compose"]).code(2).stderr_has("kamiwaza.json");
    let ws = ws_with(OK_MANIFEST.as_bytes(), b"# only a comment\n");
    ws.kz(&["sync-compose"])
        .code(2)
        .stderr_has("docker-compose.yml")
        .stderr_has("empty");
    nothing_written(&ws);
}

#[test]
fn non_utf8() {
    let ws = ws_with(
        OK_MANIFEST.as_bytes(),
        b"services:\n  a:\n    image: \xff\xfe\n",
    );
    ws.kz(&["sync-compose"])
        .code(2)
        .stderr_has("docker-compose.yml")
        .stderr_has("not valid UTF-8")
        .stderr_has("line 3");
    nothing_written(&ws);
}

#[test]
fn anchors_and_merge_keys_work() {
    let compose = b"x-env: &env\n  A: '1'\n  B: '2'\nx-base: &base\n  restart: always\n  environment: *env\nservices:\n  a:\n    <<: *base\n    image: nginx\n    environment:\n      <<: *env\n      B: '3'\n";
    let ws = ws_with(OK_MANIFEST.as_bytes(), compose);
    ws.kz(&["sync-compose"]).code(0);
    let out = ws.read("apps/demo/docker-compose.appgarden.yml");
    assert!(out.contains("  a:\n    restart: always\n    environment:\n      A: '1'\n      B: '3'\n    image: nginx\n"), "{out}");
    assert!(!out.contains('&') && !out.contains('*'), "{out}");
}

#[test]
fn alias_bombs_are_bounded() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = (b'a' + i - 1) as char;
        let cur = (b'a' + i) as char;
        bomb.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    bomb.push_str("services:\n  s:\n    image: x\n");
    let ws = ws_with(OK_MANIFEST.as_bytes(), bomb.as_bytes());
    let start = std::time::Instant::now();
    ws.kz(&["sync-compose"])
        .code(2)
        .stderr_has("docker-compose.yml")
        .stderr_has("alias");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    nothing_written(&ws);
}

#[test]
fn oversized_files_are_refused() {
    let mut big = String::from("services:\n  s:\n    image: x\n    labels:\n");
    while big.len() < 5 * 1024 * 1024 {
        big.push_str("      - aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
    }
    let ws = ws_with(OK_MANIFEST.as_bytes(), big.as_bytes());
    ws.kz(&["sync-compose"])
        .code(2)
        .stderr_has("docker-compose.yml")
        .stderr_has("larger than");
    nothing_written(&ws);
}

#[cfg(unix)]
#[test]
fn symlinked_extension_folders_are_not_followed() {
    let ws = Ws::new();
    ws.write("elsewhere/kamiwaza.json", OK_MANIFEST).write(
        "elsewhere/docker-compose.yml",
        "services:\n  a:\n    build: .\n",
    );
    std::fs::create_dir_all(ws.path("apps")).expect("mkdir");
    std::os::unix::fs::symlink(ws.path("elsewhere"), ws.path("apps/linked")).expect("symlink");
    ws.kz(&["sync-compose"])
        .code(0)
        .stderr_has("skipped apps/linked: a symbolic link");
    assert!(!ws.exists("elsewhere/docker-compose.appgarden.yml"));
    ws.kz(&["sync-compose", "linked"])
        .code(2)
        .stderr_has("symbolic link");
    ws.kz(&["validate"]).code(1).stdout_has("workspace/symlink");
}

#[test]
fn names_with_path_separators_are_refused() {
    let ws = ws_with(OK_MANIFEST.as_bytes(), b"services:\n  a:\n    image: x\n");
    ws.kz(&["sync-compose", "../demo"])
        .code(2)
        .stderr_has("not a valid extension name");
    ws.kz(&["validate", "apps/demo/x"])
        .code(2)
        .stderr_has("not a valid extension name");
    ws.kz(&["new", "app", "../evil"])
        .code(2)
        .stderr_has("not a valid extension name");
    ws.kz(&["new", "app", "a/b"]).code(2);
    assert!(!ws.exists("evil") && !ws.exists("apps/a"));
    ws.kz(&["sync-compose", "nope"])
        .code(2)
        .stderr_has("no extension named `nope`")
        .stderr_has("apps/demo");
}

#[test]
fn no_workspace_is_a_usage_error_with_a_hint() {
    let ws = Ws::new();
    ws.kz(&["validate"])
        .code(2)
        .stderr_has("no kz workspace found")
        .stderr_has("hint:");
}

#[test]
fn unknown_flags_are_usage_errors() {
    let ws = Ws::new();
    ws.kz(&["validate", "--bogus"]).code(2);
    ws.kz(&["bump", "x", "huge"]).code(2);
}
