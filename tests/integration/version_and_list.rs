//! `kz bump` and `kz list`.

use crate::harness::Ws;

#[test]
fn bump_keeps_order_and_non_ascii_as_written() {
    let ws = Ws::new();
    let text = "{\n    \"name\": \"tool-caf\u{e9}\",\n    \"description\": \"na\u{ef}ve \u{2014} \\u00fc\",\n    \"version\": \"1.0.0\",\n    \"zeta\": 1,\n    \"alpha\": 2\n}\n";
    ws.write("tools/tool-cafe/kamiwaza.json", text);
    ws.kz(&["bump", "tool-cafe", "minor"])
        .code(0)
        .stdout_has("1.0.0 -> 1.1.0");
    assert_eq!(
        ws.read("tools/tool-cafe/kamiwaza.json"),
        text.replace("1.0.0", "1.1.0")
    );
    ws.kz(&["bump", "tools/tool-cafe", "MAJOR"])
        .code(0)
        .stdout_has("1.1.0 -> 2.0.0");
}

#[test]
fn bump_refuses_what_is_not_semver() {
    let ws = Ws::new();
    ws.write("apps/a/kamiwaza.json", "{\"version\": \"1.0\"}");
    ws.kz(&["bump", "a", "patch"])
        .code(2)
        .stderr_has("`1.0`")
        .stderr_has("MAJOR.MINOR.PATCH");
    assert_eq!(ws.read("apps/a/kamiwaza.json"), "{\"version\": \"1.0\"}");
}

#[test]
fn list_table_and_json() {
    let ws = Ws::new();
    ws.write(
        "apps/chat/kamiwaza.json",
        "{\"name\": \"Chat App\", \"version\": \"0.2.0\"}",
    )
    .write("apps/chat/docker-compose.yml", "services: {}\n")
    .write("tools/tool-x/README.md", "x");
    let table = ws.kz(&["list"]);
    table
        .code(0)
        .stdout_has("apps/chat")
        .stdout_has("0.2.0")
        .stdout_has("Chat App")
        .stdout_has("tools/tool-x");
    let json = ws.kz(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(rows[0]["dir"], "chat");
    assert_eq!(rows[0]["name"], "Chat App");
    assert_eq!(rows[0]["files"]["compose"], true);
    assert_eq!(rows[1]["type"], "tool");
    assert_eq!(rows[1]["version"], serde_json::Value::Null);
}

#[test]
fn directory_flag_runs_as_if_started_there() {
    let ws = Ws::new();
    ws.write(
        "elsewhere/apps/chat/kamiwaza.json",
        "{\"name\": \"chat\", \"version\": \"1.0.0\"}",
    );
    ws.write("here/.keep", "");
    ws.kz_in("here", &["list"])
        .code(2)
        .stderr_has("no kz workspace found");
    ws.kz_in("here", &["-C", "../elsewhere", "list"])
        .code(0)
        .stdout_has("apps/chat");
}

/// `kz bump` over an extension carrying its version in every place kz knows: kamiwaza.json
/// (version and image tag), its own compose image tags (not postgres, not another extension's,
/// not a digest), Dockerfile `ARG *_VERSION=` defaults, pyproject.toml and package.json (not
/// node_modules). The dry run prints the golden diff and writes nothing; the bump writes exactly
/// the golden files and reports each change.
#[test]
fn bump_follows_the_version_everywhere() {
    use crate::harness::{assert_golden, copy_tree, golden_dir};
    let input = golden_dir().join("bump/input");
    let ws = Ws::new();
    copy_tree(&input, &ws.path(""));
    let files: Vec<String> = walkdir::WalkDir::new(&input)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(&input).expect("inside");
            rel.to_string_lossy().replace('\\', "/")
        })
        .collect();
    let before: Vec<String> = files.iter().map(|f| ws.read(f)).collect();
    let dry = ws.kz(&["bump", "demo", "minor", "--dry-run"]);
    dry.code(0)
        .stderr_has("would bump apps/demo 1.4.2 -> 1.5.0 (6 files); nothing written");
    assert_golden("bump/dry-run.diff", &dry.stdout);
    let after_dry: Vec<String> = files.iter().map(|f| ws.read(f)).collect();
    assert_eq!(before, after_dry, "--dry-run wrote something");
    let run = ws.kz(&["bump", "demo", "minor"]);
    run.code(0);
    assert_golden("bump/stdout.txt", &run.stdout);
    for f in &files {
        assert_golden(&format!("bump/expected/{f}"), &ws.read(f));
    }
    // an exact version, which must be newer
    ws.kz(&["bump", "demo", "2.0.0-rc.1"])
        .code(0)
        .stdout_has("1.5.0 -> 2.0.0-rc.1")
        .stdout_has("apps/demo/backend/pyproject.toml:6: 1.5.0 -> 2.0.0-rc.1");
    ws.kz(&["bump", "demo", "1.0.0"])
        .code(2)
        .stderr_has("1.0.0 is not newer than the current version 2.0.0-rc.1");
    ws.kz(&["bump", "demo", "huge"])
        .code(2)
        .stderr_has("neither major, minor, patch nor a version");
}
