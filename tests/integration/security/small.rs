//! Defect 9, the small ones: `-q` prints no warnings, `bump` keeps a byte-order mark, a
//! malformed `--host` is a usage error (exit 2), and a wildcard bind says the catalogue is
//! reachable from the network.

use crate::harness::Ws;

#[cfg(unix)]
#[test]
fn quiet_prints_no_warnings() {
    let ws = Ws::new();
    ws.write(
        "tools/tool-a/kamiwaza.json",
        "{\"name\": \"tool-a\", \"version\": \"1.0.0\"}",
    );
    let outside = tempfile::tempdir().expect("outside");
    std::os::unix::fs::symlink(outside.path(), ws.path("tools/tool-link")).expect("link");
    ws.kz(&["list"])
        .code(0)
        .stderr_has("warning: skipped tools/tool-link");
    let quiet = ws.kz(&["-q", "list"]);
    quiet.code(0).stdout_has("tools/tool-a");
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
}

#[test]
fn bump_keeps_a_byte_order_mark() {
    let ws = Ws::new();
    ws.write(
        "tools/tool-a/kamiwaza.json",
        "\u{feff}{\"name\": \"tool-a\", \"version\": \"1.0.0\"}\n",
    );
    ws.kz(&["bump", "tool-a", "patch"]).code(0);
    assert_eq!(
        ws.read("tools/tool-a/kamiwaza.json"),
        "\u{feff}{\"name\": \"tool-a\", \"version\": \"1.0.1\"}\n"
    );
}

#[test]
fn a_malformed_host_is_a_usage_error() {
    let ws = Ws::new();
    ws.write("apps/.keep", "").write(
        "build/kamiwaza-extension-registry/garden/v2/apps.json",
        "[]",
    );
    ws.kz(&[
        "serve-registry",
        "--http",
        "--host",
        "256.1.1.1",
        "--port",
        "0",
    ])
    .code(2)
    .stderr_has("256.1.1.1");
}
