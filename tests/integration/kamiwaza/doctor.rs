//! `kz doctor` against each broken piece, with the exact line each gives: the engine down (a
//! DOCKER_HOST socket that does not exist), Kamiwaza unreachable, Kamiwaza refusing the
//! credentials, and against the stand-in accepting them; the tools missing from PATH. The
//! working engine is checked in the engine lane (`engine::doctor`).

use super::standin::StandIn;
use super::{env_for, kz};
use crate::harness::Ws;

fn doctor(ws: &Ws, vars: &[(&str, String)]) -> super::Run {
    let down = format!("unix://{}", ws.path("no-engine.sock").display());
    let empty_path = ws.path("empty-bin");
    std::fs::create_dir_all(&empty_path).expect("bin");
    let mut all: Vec<(&str, String)> = vec![
        ("DOCKER_HOST", down),
        ("PATH", empty_path.display().to_string()),
    ];
    all.extend(vars.iter().cloned());
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    kz(&ws.path(""), &ws.path("home"), &refs, &["doctor"])
}

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no {name} line:\n{out}"))
}

#[test]
fn engine_down_and_tools_missing_give_their_lines() {
    let ws = Ws::new();
    let run = doctor(&ws, &[]);
    run.code(1);
    let sock = ws.path("no-engine.sock").display().to_string();
    assert_eq!(
        line(&run.stdout, "engine"),
        format!("fail engine        unix://{sock} does not answer: Socket not found: {sock} (hint: start the engine (`dockerd`, or Docker Desktop) or point DOCKER_HOST at one)")
    );
    assert_eq!(
        line(&run.stdout, "buildkit"),
        "warn buildkit      not checked: the engine does not answer"
    );
    assert_eq!(
        line(&run.stdout, "tool-npm"),
        "warn tool-npm      npm is not on PATH; kz package-libs needs it for the TypeScript packages (hint: install npm (only package-libs uses it))"
    );
    assert_eq!(
        line(&run.stdout, "registry"),
        "warn registry      no credentials for docker.io (namespace kamiwazaai); pushes will be anonymous (hint: docker login docker.io)"
    );
    assert_eq!(
        line(&run.stdout, "kamiwaza"),
        "warn kamiwaza      not configured: no Kamiwaza username given (hint: set KAMIWAZA_API_URL, KAMIWAZA_USERNAME and KAMIWAZA_PASSWORD (only kz kamiwaza needs them))"
    );
}

#[test]
fn kamiwaza_accepting_refusing_and_unreachable() {
    let server = StandIn::start(vec![], vec![]);
    let ws = Ws::new();
    let vars = env_for(&server, true);
    let run = doctor(&ws, &vars);
    run.no_secrets();
    assert_eq!(
        line(&run.stdout, "kamiwaza"),
        format!(
            "ok   kamiwaza      {} accepted the credentials from KAMIWAZA_USERNAME/KAMIWAZA_PASSWORD",
            server.url()
        )
    );
    let mut bad = vars.clone();
    bad.retain(|(k, _)| *k != "KAMIWAZA_PASSWORD");
    bad.push(("KAMIWAZA_PASSWORD", "wrong-password".into()));
    let run = doctor(&ws, &bad);
    run.code(1);
    let refused = line(&run.stdout, "kamiwaza").to_owned();
    assert!(refused.starts_with("fail kamiwaza      "), "{refused}");
    assert!(refused.contains("admin"), "{refused}");
    assert!(!refused.contains("wrong-password"), "{refused}");
    let url = server.url();
    // the server gone (its certificate file with it): nothing answers at the URL
    let gone = env_for(&server, false);
    drop(server);
    let run = doctor(&ws, &gone);
    run.code(1);
    assert_eq!(
        line(&run.stdout, "kamiwaza"),
        format!("fail kamiwaza      cannot reach Kamiwaza at {url} (hint: is Kamiwaza running there? KAMIWAZA_API_URL sets the address (…/api))")
    );
}

#[test]
fn registry_credentials_found_are_named_never_printed() {
    let ws = Ws::new();
    ws.write(
        "kz.yaml",
        "images:\n  namespace: registry.example:5000/team\n",
    );
    // base64("robot:s3cret-never-printed")
    ws.write(
        "home/.docker/config.json",
        "{\"auths\": {\"registry.example:5000\": {\"auth\": \"cm9ib3Q6czNjcmV0LW5ldmVyLXByaW50ZWQ=\"}}}",
    );
    let run = doctor(&ws, &[]);
    assert_eq!(
        line(&run.stdout, "registry"),
        "ok   registry      credentials for registry.example:5000 found (username and password)"
    );
    assert!(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"));
}
