//! `kz new`: fresh extensions validate cleanly and are already in sync.

use crate::harness::Ws;

#[test]
fn every_kind_validates_and_is_in_sync() {
    let ws = Ws::new();
    ws.kz(&["new", "app", "document-processor"])
        .code(0)
        .stdout_has("apps/document-processor/kamiwaza.json");
    ws.kz(&["new", "service", "service-milvus"]).code(0);
    ws.kz(&["new", "tool", "tool-code-analyzer"])
        .code(0)
        .stdout_has("tools/tool-code-analyzer/src/server.py");
    let v = ws.kz(&["validate", "--strict"]);
    v.code(0);
    assert!(
        v.stdout.trim().is_empty(),
        "findings on fresh extensions:\n{}",
        v.stdout
    );
    ws.kz(&["sync-compose", "--check"]).code(0);
    let app = ws.read("apps/document-processor/docker-compose.appgarden.yml");
    assert!(
        app.contains("image: kamiwazaai/document-processor-backend:0.1.0"),
        "{app}"
    );
    assert!(app.contains("- backend_data:/app/data"), "{app}");
    // The guide's single entry point: only the frontend publishes a port; it answers /health
    // and forwards /api/* to the backend by service name.
    let (frontend, backend) = app.split_once("  backend:").expect("backend service");
    assert!(
        frontend.contains("ports:") && !backend.contains("ports:"),
        "{app}"
    );
    assert!(backend.contains("expose:"), "{app}");
    let server = ws.read("apps/document-processor/frontend/server.py");
    assert!(
        server.contains("\"/health\"") && server.contains("BACKEND_URL"),
        "{server}"
    );
    assert!(
        !server.contains("{{"),
        "unrendered template text:\n{server}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&ws.read("apps/document-processor/kamiwaza.json")).expect("json");
    assert_eq!(manifest["name"], "document-processor");
}

#[test]
fn refuses_to_overwrite_and_checks_names() {
    let ws = Ws::new();
    ws.kz(&["new", "app", "x-app"]).code(0);
    ws.write("apps/x-app/kamiwaza.json", "{\"mine\": true}");
    ws.kz(&["new", "app", "x-app"])
        .code(2)
        .stderr_has("already exists");
    assert_eq!(ws.read("apps/x-app/kamiwaza.json"), "{\"mine\": true}");
    ws.kz(&["new", "tool", "code-analyzer"])
        .code(2)
        .stderr_has("try `tool-code-analyzer`");
    ws.kz(&["new", "service", "milvus"])
        .code(2)
        .stderr_has("try `service-milvus`");
    ws.kz(&["new", "app", "Bad_Name"])
        .code(2)
        .stderr_has("lowercase");
    assert!(!ws.exists("tools") && !ws.exists("services"));
    let leftovers: Vec<_> = std::fs::read_dir(ws.path("apps"))
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn works_from_inside_an_existing_workspace() {
    let ws = Ws::new();
    ws.write("apps/.keep", "");
    std::fs::create_dir_all(ws.path("tools")).expect("mkdir");
    ws.kz_in("tools", &["new", "tool", "mcp-notes"]).code(0);
    assert!(ws.exists("tools/mcp-notes/kamiwaza.json"));
    assert!(!ws.exists("tools/tools"));
}
