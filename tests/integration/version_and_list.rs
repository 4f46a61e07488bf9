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
