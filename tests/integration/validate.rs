//! `kz validate`: formats, exit codes, `--strict`, selection.

use crate::harness::{fixtures, Ws};

const GOOD: &str = r#"{
  "name": "tool-good",
  "version": "1.0.0",
  "kamiwaza_version": ">=0.9.0",
  "source_type": "kamiwaza",
  "visibility": "public",
  "description": "d",
  "risk_tier": 1,
  "verified": false,
  "image": "kamiwazaai/tool-good:1.0.0-dev"
}"#;

fn synthetic() -> Ws {
    let ws = Ws::new();
    ws.copy_extensions(&fixtures().join("synthetic-input"));
    ws
}

#[test]
fn text_findings_carry_file_line_rule_and_summary() {
    let run = synthetic().kz(&["validate"]);
    run.code(1)
        .stdout_has(
            "services/edge-svc/kamiwaza.json:3: error[metadata/version-format]: version `1.0`",
        )
        .stdout_has("services/edge-svc/docker-compose.appgarden.yml:6: error[compose/host-port]")
        .stdout_has("tools/bad-tool/kamiwaza.json:2: error[metadata/tool-prefix]");
    assert!(
        run.stderr.contains("errors,") && run.stderr.contains("in 5 extensions"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_format_is_machine_readable() {
    let run = synthetic().kz(&["validate", "--format", "json"]);
    run.code(1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json on stdout");
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(
        v["errors"].as_u64(),
        Some(findings.iter().filter(|f| f["severity"] == "error").count() as u64)
    );
    let f = findings
        .iter()
        .find(|f| f["rule"] == "metadata/version-format")
        .expect("version finding");
    assert_eq!(f["file"], "services/edge-svc/kamiwaza.json");
    assert_eq!(f["line"], 3);
    assert_eq!(f["extension"], "services/edge-svc");
}

#[test]
fn github_format_annotates() {
    let run = synthetic().kz(&["validate", "--format", "github"]);
    run.code(1)
        .stdout_has("::error file=services/edge-svc/kamiwaza.json,line=3,title=metadata/version-format::version `1.0`")
        .stdout_has("::warning file=tools/tool-image-only/kamiwaza.json,line=9,title=metadata/image-v-prefix::");
}

#[test]
fn warnings_fail_only_with_strict() {
    let ws = Ws::new();
    ws.write("tools/tool-good/kamiwaza.json", GOOD);
    let run = ws.kz(&["validate"]);
    run.code(0)
        .stdout_has("warning[metadata/image-stage-suffix]");
    ws.kz(&["validate", "--strict"]).code(1);
}

#[test]
fn selection_by_name_and_by_folder() {
    let ws = synthetic();
    let run = ws.kz(&["validate", "tools/bad-tool"]);
    run.code(1).stdout_has("tools/bad-tool/");
    assert!(!run.stdout.contains("services/edge-svc"), "{}", run.stdout);
    let inside = ws.kz_in("tools/tool-image-only", &["validate"]);
    inside.code(0);
    assert!(
        inside
            .stdout
            .lines()
            .all(|l| l.starts_with("tools/tool-image-only/")),
        "{}",
        inside.stdout
    );
}

#[test]
fn list_rules_names_every_rule() {
    let run = Ws::new().kz(&["validate", "--list-rules"]);
    run.code(0)
        .stdout_has("metadata/version-format")
        .stdout_has("compose/bind-mount")
        .stdout_has("registry/duplicate-name");
    assert!(run.stdout.lines().count() >= 40);
}
/// The README's paths: `./apps/x`, an absolute path, `apps/x/` (tab completion's slash) and a
/// relative path from another folder all name the extension `apps/x` does.
#[test]
fn extension_paths_select_like_names() {
    let ws = Ws::new();
    ws.copy_extensions(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"));
    let by_name = ws.kz(&["validate", "apps/team-notes"]);
    assert_ne!(by_name.code, 2, "{}", by_name.stderr);
    let abs = ws.path("apps/team-notes");
    let abs = abs.to_str().expect("utf-8");
    for given in ["./apps/team-notes", "apps/team-notes/", abs, "team-notes"] {
        let run = ws.kz(&["validate", given]);
        assert_eq!(run.code, by_name.code, "{given}: {}", run.stderr);
        assert_eq!(run.stdout, by_name.stdout, "{given}");
    }
    let from_services = ws.kz_in("services", &["validate", "../apps/team-notes"]);
    assert_eq!(from_services.code, by_name.code, "{}", from_services.stderr);
    // A wrong selector names the forms that work.
    ws.kz(&["validate", "apps/team-notes/extra"])
        .code(2)
        .stderr_has("`apps/<name>`");
    ws.kz(&["validate", "things/team-notes"])
        .code(2)
        .stderr_has("`apps/<name>`");
}
