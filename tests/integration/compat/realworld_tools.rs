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

#[test]
fn realworld_outputs_parse_with_pyyaml_and_pass_docker_compose_config() {
    let (ws, outputs, _) = synced();
    let mut failures = Vec::new();
    let mut checked = 0;
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
        // docker-compose 1.29 refuses some inputs itself (top-level `name:`, `cgroup`, overlay
        // files that need a base file): the output must pass wherever the input passes.
        let config = |file: &str| {
            tool("docker-compose", &["-f", file, "config", "-q"])
                .current_dir(&dir)
                .output()
                .expect("docker-compose")
        };
        if !config("docker-compose.yml").status.success() {
            continue;
        }
        checked += 1;
        let out = config("docker-compose.appgarden.yml");
        if !out.status.success() {
            failures.push(format!(
                "{name}: docker-compose config: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        checked >= 40,
        "only {checked} inputs pass docker-compose config"
    );
}
