//! Accepted findings (kz.yaml `validate.accept`, `# kz-allow` comments, kamiwaza.json
//! `validation.allowed_bind_mounts`) and `kz validate --format sarif`, checked against the
//! SARIF 2.1.0 JSON Schema vendored in tests/vendor (source named in its README).

use crate::harness::Ws;
use std::path::Path;

const MANIFEST: &str = r#"{
  "name": "demo",
  "version": "1.0.0",
  "kamiwaza_version": ">=0.9.0",
  "source_type": "kamiwaza",
  "visibility": "public",
  "description": "d",
  "risk_tier": 1,
  "verified": false,
  "validation": {"allowed_bind_mounts": ["/var/run/docker.sock"]}
}
"#;

const COMPOSE: &str = r#"services:
  web:
    image: kamiwazaai/demo:1.0.0
    ports:
      - "8080:80"  # kz-allow compose/host-port: local demo port
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - ./data:/data
    deploy: {resources: {limits: {cpus: "1"}}}
    # kz-allow compose/build-section: nothing here
"#;

const KZ_YAML: &str = "validate:
  accept:
    - rule: compose/bind-mount
      extension: apps/demo
      path: docker-compose.appgarden.yml
      reason: the data folder is seeded by the installer
    - {rule: compose/extra-hosts, extension: demo, reason: not needed}
";

fn workspace(kz_yaml: bool) -> Ws {
    let ws = Ws::new();
    ws.write("apps/demo/kamiwaza.json", MANIFEST)
        .write("apps/demo/docker-compose.appgarden.yml", COMPOSE);
    if kz_yaml {
        ws.write("kz.yaml", KZ_YAML);
    }
    ws
}

#[test]
fn accepted_findings_are_reported_as_accepted_and_do_not_fail() {
    let run = workspace(true).kz(&["validate"]);
    run.code(0);
    let expected = "\
apps/demo/docker-compose.appgarden.yml:10: warning[workspace/unused-acceptance]: `# kz-allow compose/build-section` accepts nothing: no compose/build-section finding on line 10; remove the comment
kz.yaml:7: warning[workspace/unused-acceptance]: the acceptance of compose/extra-hosts for demo matches no finding; remove it from validate.accept
apps/demo/docker-compose.appgarden.yml:5: accepted[compose/host-port]: port `8080:80` of service `web` binds a host port; list only the container port, `80` (accepted at apps/demo/docker-compose.appgarden.yml:5: local demo port)
apps/demo/docker-compose.appgarden.yml:8: accepted[compose/bind-mount]: volume `./data:/data` of service `web` bind-mounts host path `./data`; App Garden allows only named volumes (`kz sync-compose` converts bind mounts) (accepted at kz.yaml:3: the data folder is seeded by the installer)
";
    pretty_assertions::assert_eq!(run.stdout, expected);
    run.stderr_has("0 errors, 2 warnings in 1 extension (2 accepted)");
    // the unused acceptances are warnings: --strict fails on them
    workspace(true).kz(&["validate", "--strict"]).code(1);
}

#[test]
fn without_acceptances_the_findings_stand() {
    let ws = workspace(false);
    let run = ws.kz(&["validate"]);
    run.code(1);
    // the inline comment still accepts the host port; the allowed socket is never reported
    assert!(
        run.stdout.contains("8: error[compose/bind-mount]"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("docker.sock"), "{}", run.stdout);
    assert!(
        run.stdout.contains("accepted[compose/host-port]"),
        "{}",
        run.stdout
    );
    // the opt-out list is read from kamiwaza.json: without it the socket is a finding
    ws.write(
        "apps/demo/kamiwaza.json",
        MANIFEST.replace("/var/run/docker.sock", "/elsewhere"),
    );
    let run = ws.kz(&["validate"]);
    assert!(run.stdout.contains("docker.sock"), "{}", run.stdout);
}

#[test]
fn bad_acceptances_are_refused_or_warned() {
    let ws = workspace(false);
    ws.write(
        "kz.yaml",
        "validate:\n  accept:\n    - {rule: compose/no-such, extension: demo, reason: x}\n",
    );
    ws.kz(&["validate"])
        .code(2)
        .stderr_has("kz.yaml`: line 3: unknown rule `compose/no-such`");
    ws.write(
        "kz.yaml",
        "validate:\n  accept:\n    - {rule: compose/host-port, extension: demo}\n",
    );
    ws.kz(&["validate"])
        .code(2)
        .stderr_has("an acceptance needs `reason: <text>`");
    ws.write("kz.yaml", "");
    ws.write(
        "apps/demo/Dockerfile",
        "FROM busybox\n# kz-allow compose/host-port\nRUN true\n",
    );
    ws.kz(&["validate"]).stdout_has(
        "apps/demo/Dockerfile:2: warning[workspace/bad-acceptance]: this kz-allow comment gives no reason",
    );
}

fn sarif_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vendor/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("json");
    jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
}

fn assert_valid_sarif(log: &serde_json::Value) {
    let v = sarif_validator();
    let errors: Vec<String> = v.iter_errors(log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
}

#[test]
fn sarif_log_validates_and_carries_rules_locations_and_suppressions() {
    let ws = workspace(true);
    let run = ws.kz(&["validate", "--format", "sarif"]);
    run.code(0);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_valid_sarif(&log);
    let run0 = &log["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    // the driver's rules are the registry --list-rules prints, in its order
    let listed = ws.kz(&["validate", "--list-rules"]);
    let ids: Vec<&str> = listed
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let sarif_ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(sarif_ids, ids);
    let host_port = rules
        .iter()
        .find(|r| r["id"] == "compose/host-port")
        .expect("rule");
    assert_eq!(host_port["defaultConfiguration"]["level"], "error");
    assert_eq!(
        host_port["shortDescription"]["text"],
        "a port binds a host port"
    );
    assert!(host_port["help"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("# kz-allow compose/host-port")));
    let results = run0["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    for r in results {
        let i = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    let accepted = results
        .iter()
        .find(|r| r["ruleId"] == "compose/bind-mount")
        .expect("bind mount");
    let loc = &accepted["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "apps/demo/docker-compose.appgarden.yml"
    );
    assert_eq!(loc["region"]["startLine"], 8);
    assert_eq!(loc["region"]["startColumn"], 7);
    assert_eq!(accepted["level"], "error");
    assert_eq!(
        accepted["suppressions"],
        serde_json::json!([{
            "kind": "external",
            "status": "accepted",
            "justification": "the data folder is seeded by the installer",
            "properties": {"acceptedAt": "kz.yaml:3"}
        }])
    );
    let inline = results
        .iter()
        .find(|r| r["ruleId"] == "compose/host-port")
        .expect("host port");
    assert_eq!(inline["suppressions"][0]["kind"], "inSource");
    let unused: Vec<&serde_json::Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "workspace/unused-acceptance")
        .collect();
    assert_eq!(unused.len(), 2);
    assert!(unused.iter().all(|r| r.get("suppressions").is_none()));
}

#[test]
fn sarif_of_a_failing_workspace_validates_and_fails() {
    let ws = workspace(false);
    ws.write("apps/other dir/kamiwaza.json", "{ not json");
    let run = ws.kz(&["validate", "--format", "sarif"]);
    run.code(1);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_valid_sarif(&log);
    let results = log["runs"][0]["results"].as_array().expect("results");
    let broken = results
        .iter()
        .find(|r| r["ruleId"] == "metadata/invalid-json")
        .expect("invalid json");
    assert_eq!(
        broken["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "apps/other%20dir/kamiwaza.json"
    );
}

#[test]
fn a_broken_sarif_log_fails_the_schema() {
    // the schema check itself can fail: a result without a message is refused
    let mut log = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "kz"}},
        "results": [{"ruleId": "x"}]}]});
    assert!(!sarif_validator().is_valid(&log));
    log["runs"][0]["results"][0]["message"] = serde_json::json!({"text": "m"});
    assert!(sarif_validator().is_valid(&log));
}
