//! Issue 15, compat lane: the real-world App Garden outputs also parse with PyYAML and pass
//! Debian's `docker-compose config -q` (both installed by scripts/engine-setup.sh). Fails, with
//! the setup to run, when a tool is missing.

use crate::realworld::synced;
use std::process::Command;

fn tool(program: &str, args: &[&str]) -> Command {
    assert!(
        which::which(program).is_ok(),
        "{program} is missing: run scripts/engine-setup.sh (it installs docker-compose and python3-yaml)"
    );
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// Outputs Debian's docker-compose 1.29 refuses for what the input itself holds (its schema is
/// older than Compose v2's), with the reason; every other output must pass `config -q`.
const REFUSED_BY_COMPOSE_1_29: &[(&str, &str)] = &[
    (
        "awesome-react-rust-postgres",
        "top-level `name:` (Compose v2)",
    ),
    (
        "docker-elk-filebeat",
        "an overlay file: depends on `elasticsearch` from the base file",
    ),
    (
        "docker-elk-fleet",
        "an overlay file: depends on `elasticsearch` from the base file",
    ),
    (
        "docker-elk-metricbeat",
        "service option `cgroup` (Compose v2)",
    ),
    (
        "kamiwaza-sdk-catalog-stack",
        "top-level `name:` (Compose v2)",
    ),
];

#[test]
fn realworld_outputs_parse_with_pyyaml_and_pass_docker_compose_config() {
    let (ws, outputs, _) = synced();
    let mut failures = Vec::new();
    for name in outputs.keys() {
        let dir = ws.path(&format!("apps/{name}"));
        let out = tool(
            "python3",
            &[
                "-c",
                "import sys, yaml; yaml.safe_load(open(sys.argv[1]))",
                "docker-compose.appgarden.yml",
            ],
        )
        .current_dir(&dir)
        .output()
        .expect("python3");
        if !out.status.success() {
            failures.push(format!(
                "{name}: PyYAML: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let config = |file: &str| {
            tool("docker-compose", &["-f", file, "config", "-q"])
                .current_dir(&dir)
                .output()
                .expect("docker-compose")
        };
        let out = config("docker-compose.appgarden.yml");
        let known = REFUSED_BY_COMPOSE_1_29.iter().any(|(n, _)| n == name);
        if out.status.success() == known {
            failures.push(format!(
                "{name}: docker-compose config (listed as refused by 1.29: {known}): {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(outputs.len() >= 40, "{} fixtures", outputs.len());
}
