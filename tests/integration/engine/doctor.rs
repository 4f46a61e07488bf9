//! `kz doctor` against the working setup: the engine, its API and BuildKit are ok (the test
//! workspace publishes linux/amd64 only, which needs no emulation check).

use crate::harness::Ws;

#[test]
fn working_engine_checks_are_ok() {
    let ws = Ws::new();
    ws.write(
        "apps/a/kamiwaza.json",
        "{\"name\": \"a\", \"version\": \"1.0.0\"}",
    );
    let run = ws.kz(&["doctor"]);
    let line = |name: &str| {
        run.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name} line:\n{}", run.stdout))
            .to_owned()
    };
    assert!(
        line("engine").starts_with("ok   engine        "),
        "{}",
        run.stdout
    );
    assert!(
        line("engine").contains(" answers (Docker "),
        "{}",
        run.stdout
    );
    assert_eq!(line("api-version"), "ok   api-version   API 1.41");
    assert_eq!(
        line("buildkit"),
        "ok   buildkit      built into the engine (API 1.41)"
    );
    let disk = line("disk");
    assert!(
        disk.starts_with("ok   disk          ") && disk.contains(" GiB free under "),
        "{disk}"
    );
    let json = ws.kz(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let engine = &v["checks"][0];
    assert_eq!(
        (engine["name"].as_str(), engine["status"].as_str()),
        (Some("engine"), Some("ok"))
    );
}
