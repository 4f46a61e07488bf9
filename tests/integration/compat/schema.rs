//! schemas/kamiwaza.schema.json agrees with real files: the examples, the templates and the clean
//! corpus extensions validate; wrong types and missing fields do not.

use crate::harness::{corpus, Ws};
use std::path::Path;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/kamiwaza.schema.json"),
    )
    .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("a valid 2020-12 schema")
}

fn load(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

#[test]
fn real_manifests_validate() {
    let v = validator();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let corpus = corpus().join("kamiwaza");
    let mut files = vec![
        examples.join("apps/team-notes/kamiwaza.json"),
        examples.join("services/service-kv/kamiwaza.json"),
        examples.join("tools/tool-echo/kamiwaza.json"),
        corpus.join("kamiwaza-drew__tool-git/tools/tool-git-mcp/kamiwaza.json"),
        corpus.join("kamiwaza-drew__tool-email-mcp/tools/tool-email-mcp/kamiwaza.json"),
        corpus.join("kamiwaza-drew__uat-bot/apps/stress-tester/kamiwaza.json"),
    ];
    let ws = Ws::new();
    for (kind, name) in [
        ("app", "a-app"),
        ("service", "service-b"),
        ("tool", "tool-c"),
    ] {
        ws.kz(&["new", kind, name]).code(0);
        files.push(ws.path(&format!("{kind}s/{name}/kamiwaza.json")));
    }
    for f in files {
        let doc = load(&f);
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
}

#[test]
fn wrong_manifests_do_not() {
    let v = validator();
    let bad = [
        r#"{"name": "x", "version": 1, "source_type": "kamiwaza", "visibility": "public", "description": "", "risk_tier": 1, "verified": false}"#,
        r#"{"name": "x", "version": "1.0", "source_type": "kamiwaza", "visibility": "public", "description": "", "risk_tier": 1, "verified": false}"#,
        r#"{"name": "x", "version": "1.0.0", "source_type": "other", "visibility": "public", "description": "", "risk_tier": 1, "verified": false}"#,
        r#"{"name": "x", "version": "1.0.0", "source_type": "kamiwaza", "visibility": "public", "description": "", "risk_tier": true, "verified": false}"#,
        r#"{"name": "x", "version": "1.0.0", "source_type": "kamiwaza", "visibility": "public", "description": "", "risk_tier": 3, "verified": false}"#,
        r#"{"name": "x", "version": "1.0.0", "source_type": "kamiwaza", "visibility": "public", "description": "", "risk_tier": 1}"#,
        r#"{"name": "x", "version": "1.0.0", "source_type": "kamiwaza", "visibility": "public", "description": "", "risk_tier": 1, "verified": false, "kamiwaza_version": ">=0.8"}"#,
        r#"{"name": "x", "version": "1.0.0", "source_type": "kamiwaza", "visibility": "public", "description": "", "risk_tier": 1, "verified": false, "tags": "a"}"#,
    ];
    for text in bad {
        let doc: serde_json::Value = serde_json::from_str(text).expect("json");
        assert!(!v.is_valid(&doc), "accepted: {text}");
    }
    let demo = load(&corpus().join(
        "kamiwaza/kamiwaza-internal__kz-demo-provisioning/apps/deployment-manager/kamiwaza.json",
    ));
    assert!(
        !v.is_valid(&demo),
        "the corpus's negative example lacks required fields"
    );
}
