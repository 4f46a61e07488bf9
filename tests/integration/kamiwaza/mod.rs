//! `kz kamiwaza push|list` against a STAND-IN for the Kamiwaza platform API (`standin.rs`):
//! no Kamiwaza instance exists here, so the tests serve the endpoints of reference §10
//! themselves and assert the requests kz sent (paths, auth header, cleaned payload). It is the
//! only stand-in in the suite; everything else is real.

mod doctor;
mod standin;

use crate::harness::{copy_tree, Ws, KZ};
use serde_json::{json, Map, Value};
use standin::{parse_form, StandIn, PASSWORD, TOKEN, USER};
use std::path::{Path, PathBuf};
use std::process::Command;

const REG: &str = "build/kamiwaza-extension-registry";
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Neither the password nor the token appears anywhere in the output.
    #[track_caller]
    fn no_secrets(&self) -> &Self {
        for secret in [PASSWORD, TOKEN] {
            assert!(
                !self.stdout.contains(secret) && !self.stderr.contains(secret),
                "{secret} printed:\n{}\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }
}

/// Run kz in `dir` with a clean environment: HOME is `home`, plus `vars`.
fn kz(dir: &Path, home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let out = Command::new(KZ)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", home)
        .env("KZ_COLOR", "never")
        .envs(vars.iter().copied())
        .output()
        .expect("run kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Credentials and the API URL of `server`; the CA file unless `trust` is false.
fn env_for(server: &StandIn, trust: bool) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("KAMIWAZA_API_URL", server.url()),
        ("KAMIWAZA_USERNAME", USER.to_owned()),
        ("KAMIWAZA_PASSWORD", PASSWORD.to_owned()),
    ];
    if trust {
        v.push((
            "KAMIWAZA_CA_CERT",
            server.cert_file.path().display().to_string(),
        ));
    }
    v
}

fn push(ws: &Ws, home: &Path, env: &[(&'static str, String)], extra: &[&str]) -> Run {
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut args = vec!["kamiwaza", "push"];
    args.extend_from_slice(extra);
    kz(&ws.path("."), home, &vars, &args)
}

fn examples() -> Ws {
    let ws = Ws::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    copy_tree(&src, &ws.path("."));
    ws
}

fn registry_entry(ws: &Ws, file: &str, name: &str) -> Map<String, Value> {
    let list: Value =
        serde_json::from_str(&ws.read(&format!("{REG}/garden/v2/{file}"))).expect("json");
    list.as_array()
        .expect("array")
        .iter()
        .find(|e| e["name"] == json!(name))
        .and_then(Value::as_object)
        .cloned()
        .expect("entry")
}

#[test]
fn push_creates_then_is_a_noop_then_updates_after_a_bump() {
    let server = StandIn::start(Vec::new(), Vec::new());
    let ws = examples();
    let home = tempfile::tempdir().expect("home");
    let env = env_for(&server, true);
    assert!(!ws.exists(REG));

    // no registry yet: it is built first, then the app is created
    let run = push(&ws, home.path(), &env, &["team-notes"]);
    run.code(0).no_secrets();
    assert!(
        run.stderr.contains("running `kz build-registry`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Created app template `team-notes` 0.1.0 (id tpl-1)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "tpl-1\n");
    assert_eq!(
        server.lines(),
        [
            "POST /api/auth/token",
            "GET /api/apps/app_templates",
            "POST /api/apps/app_templates"
        ]
    );
    let seen = server.seen();
    let login = &seen[0];
    assert_eq!(
        login.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let form = parse_form(&login.body);
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], USER);
    assert_eq!(form["password"], PASSWORD);
    assert_eq!(form["client_id"], "string");
    assert_eq!(form["scope"], "");
    assert_eq!(login.authorization, None);
    for call in &seen[1..] {
        assert_eq!(
            call.authorization.as_deref(),
            Some(&*format!("Bearer {TOKEN}"))
        );
        assert_eq!(
            call.cookie.as_deref(),
            Some(&*format!("access_token={TOKEN}"))
        );
    }
    assert_eq!(seen[2].content_type.as_deref(), Some("application/json"));
    // the payload is the registry entry (nothing to clean in a fresh build)
    let entry = registry_entry(&ws, "apps.json", "team-notes");
    assert!(entry["compose_yml"]
        .as_str()
        .is_some_and(|c| c.contains("services:")));
    assert_eq!(seen[2].json(), Value::Object(entry));

    // the same again: the template already holds it, nothing is written
    server.clear();
    push(&ws, home.path(), &env, &["team-notes"])
        .code(0)
        .no_secrets();
    assert_eq!(
        server.lines(),
        ["POST /api/auth/token", "GET /api/apps/app_templates"]
    );

    // an edit without a version bump is refused, nothing is written
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let manifest = ws.path("apps/team-notes/kamiwaza.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("Shared notes", "Shared team notes")).expect("edit");
    kz(&ws.path("."), home.path(), &vars, &["build-registry"]).code(0);
    server.clear();
    let run = push(&ws, home.path(), &env, &["team-notes"]);
    run.code(1).no_secrets();
    assert!(
        run.stderr.contains("already has `team-notes` 0.1.0 (id tpl-1); 0.1.0 from the registry is the same version with other contents (description)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("kz bump"), "{}", run.stderr);
    assert_eq!(
        server.lines(),
        ["POST /api/auth/token", "GET /api/apps/app_templates"]
    );

    // bumped but the registry not rebuilt: kz says so
    kz(
        &ws.path("."),
        home.path(),
        &vars,
        &["bump", "team-notes", "patch"],
    )
    .code(0);
    let stale = push(&ws, home.path(), &env, &["team-notes"]);
    stale.code(1).no_secrets();
    assert!(
        stale
            .stderr
            .contains("the registry has `team-notes` 0.1.0 but"),
        "{}",
        stale.stderr
    );
    assert!(
        stale.stderr.contains("says 0.1.1; run `kz build-registry`"),
        "{}",
        stale.stderr
    );

    // rebuilt: the same template is updated in place
    kz(&ws.path("."), home.path(), &vars, &["sync-compose"]).code(0);
    kz(&ws.path("."), home.path(), &vars, &["build-registry"]).code(0);
    server.clear();
    let run = push(&ws, home.path(), &env, &["apps/team-notes"]);
    run.code(0).no_secrets();
    assert!(
        run.stderr
            .contains("Updated app template `team-notes` 0.1.1 (id tpl-1)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        server.lines(),
        [
            "POST /api/auth/token",
            "GET /api/apps/app_templates",
            "PUT /api/apps/app_templates/tpl-1"
        ]
    );
    assert_eq!(server.apps().len(), 1);
    assert_eq!(server.apps()[0]["version"], "0.1.1");
}

/// A workspace with hand-written registry entries carrying what §10 says to clean.
fn crafted() -> Ws {
    let ws = Ws::new();
    ws.write(
        "services/service-db/kamiwaza.json",
        r#"{"name": "service-db", "version": "2.0.0"}"#,
    )
    .write(
        "tools/tool-x/kamiwaza.json",
        r#"{"name": "tool-x", "version": "1.2.0"}"#,
    )
    .write(
        "apps/old-app/kamiwaza.json",
        r#"{"name": "old-app", "version": "1.0.0"}"#,
    )
    .write(
        &format!("{REG}/garden/v2/apps.json"),
        json!([
            {"id": "stale-id", "name": "service-db", "version": "2.0.0", "owner_id": 5,
             "created_at": "x", "updated_at": "y", "preview_image": null,
             "compose_yml": "services:\n  db: {}\n"},
            {"name": "old-app", "version": "1.0.0", "compose_yml": "services: {}\n"}
        ])
        .to_string(),
    )
    .write(
        &format!("{REG}/garden/v2/tools.json"),
        json!([
            {"name": "tool-x", "version": "1.2.0", "template_id": "t-old", "id": 3,
             "image": "kamiwazaai/tool-x:1.2.0-dev", "tags": ["mcp"], "description": null}
        ])
        .to_string(),
    );
    ws
}

#[test]
fn payloads_are_cleaned_per_type_and_sent_to_the_type_endpoints() {
    let server = StandIn::start(
        vec![json!({"id": "a-9", "name": "old-app", "version": "9.0.0", "compose_yml": "x"})],
        vec![json!({"id": "tt-1", "name": "tool-x", "version": "1.0.0"})],
    );
    let ws = crafted();
    let home = tempfile::tempdir().expect("home");
    let env = env_for(&server, true);

    push(&ws, home.path(), &env, &["service-db"])
        .code(0)
        .no_secrets();
    let seen = server.seen();
    assert_eq!(seen[2].method, "POST");
    assert_eq!(seen[2].path, "/api/apps/app_templates");
    assert_eq!(
        seen[2].json(),
        json!({"name": "service-db", "version": "2.0.0",
               "compose_yml": "services:\n  db: {}\n", "template_type": "service"})
    );

    server.clear();
    push(&ws, home.path(), &env, &["tool-x"])
        .code(0)
        .no_secrets();
    assert_eq!(
        server.lines(),
        [
            "POST /api/auth/token",
            "GET /api/tool/templates",
            "PUT /api/tool/tool_templates/tt-1"
        ]
    );
    assert_eq!(
        server.seen()[2].json(),
        json!({"name": "tool-x", "version": "1.2.0", "image": "kamiwazaai/tool-x:1.2.0-dev",
               "tags": ["mcp"], "capabilities": [], "required_env_vars": [],
               "env_defaults": {}, "verified": false, "risk_tier": 1})
    );
    assert_eq!(server.tools()[0]["version"], "1.2.0");

    // Kamiwaza has a newer old-app: no downgrade, exit 1, nothing written
    server.clear();
    let run = push(&ws, home.path(), &env, &["old-app"]);
    run.code(1).no_secrets();
    assert!(
        run.stderr.contains("already has `old-app` 9.0.0 (id a-9)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--template-id a-9"), "{}", run.stderr);
    assert_eq!(
        server.lines(),
        ["POST /api/auth/token", "GET /api/apps/app_templates"]
    );

    // --template-id replaces that template as asked (with a warning)
    server.clear();
    let run = push(&ws, home.path(), &env, &["old-app", "--template-id", "a-9"]);
    run.code(0).no_secrets();
    assert!(
        run.stderr.contains("replaced with the older 1.0.0"),
        "{}",
        run.stderr
    );
    assert_eq!(server.lines()[2], "PUT /api/apps/app_templates/a-9");
    assert_eq!(server.apps()[0]["version"], "1.0.0");
}

#[test]
fn an_unknown_template_id_is_an_error_not_a_blind_overwrite() {
    let server = StandIn::start(
        vec![json!({"id": "a-1", "name": "someone-else", "version": "1.0.0"})],
        Vec::new(),
    );
    let ws = crafted();
    let home = tempfile::tempdir().expect("home");
    let run = push(
        &ws,
        home.path(),
        &env_for(&server, true),
        &["service-db", "--template-id", "nope"],
    );
    run.code(2).no_secrets();
    assert!(
        run.stderr
            .contains("no service template with id `nope` on Kamiwaza (1 listed)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("kz kamiwaza list"), "{}", run.stderr);
    assert_eq!(
        server.lines(),
        ["POST /api/auth/token", "GET /api/apps/app_templates"]
    );
    assert_eq!(server.apps().len(), 1);
}

#[test]
fn bad_credentials_are_a_clear_error_without_the_password() {
    let server = StandIn::start(Vec::new(), Vec::new());
    let ws = crafted();
    let home = tempfile::tempdir().expect("home");
    let mut env = env_for(&server, true);
    env[2].1 = format!("{PASSWORD}-wrong");
    let run = push(&ws, home.path(), &env, &["service-db"]);
    run.code(2).no_secrets();
    assert!(
        run.stderr.contains(&format!(
            "Kamiwaza refused the login of `admin` at {}/auth/token (HTTP 401)",
            server.url()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("check KAMIWAZA_USERNAME and KAMIWAZA_PASSWORD"),
        "{}",
        run.stderr
    );
    assert_eq!(server.lines(), ["POST /api/auth/token"]);

    // no credentials at all: said before anything is sent
    server.clear();
    let vars = [("KAMIWAZA_API_URL", server.url())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = kz(
        &ws.path("."),
        home.path(),
        &vars,
        &["kamiwaza", "push", "service-db"],
    );
    run.code(2);
    assert!(
        run.stderr.contains("no Kamiwaza username given"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("~/.kamiwaza/config.yaml"),
        "{}",
        run.stderr
    );
    assert!(server.lines().is_empty());
}

#[test]
fn tls_is_verified_unless_insecure() {
    let server = StandIn::start(
        vec![json!({"id": "a-1", "name": "x", "version": "1.0.0"})],
        Vec::new(),
    );
    let ws = crafted();
    let home = tempfile::tempdir().expect("home");
    let untrusted = env_for(&server, false);
    let vars: Vec<(&str, &str)> = untrusted.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = kz(&ws.path("."), home.path(), &vars, &["kamiwaza", "list"]);
    run.code(3).no_secrets();
    assert!(
        run.stderr
            .contains(&format!("cannot reach Kamiwaza at {}", server.url())),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    assert!(run.stderr.contains("--insecure"), "{}", run.stderr);
    // the handshake failed: no request reached the server
    assert!(server.lines().is_empty());

    let run = kz(
        &ws.path("."),
        home.path(),
        &vars,
        &["kamiwaza", "list", "--insecure"],
    );
    run.code(0).no_secrets();
    assert!(run.stderr.contains("not verified"), "{}", run.stderr);
    assert!(run.stdout.contains("a-1"), "{}", run.stdout);
}

#[test]
fn list_prints_a_table_or_json_and_reads_the_config_file() {
    let templates = vec![
        json!({"id": "b-2", "name": "tool-weather", "version": "0.2.0", "risk_tier": 1}),
        json!({"id": "a-1", "name": "chat", "version": "1.0.0", "template_type": "app"}),
        json!({"id": 7, "name": "service-milvus", "version": "2.5.0", "template_type": null}),
    ];
    let server = StandIn::start(templates.clone(), Vec::new());
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".kamiwaza")).expect("mkdir");
    std::fs::write(
        home.path().join(".kamiwaza/config.yaml"),
        format!(
            "api_url: {}\nusername: {USER}\npassword: {PASSWORD}\n",
            server.url()
        ),
    )
    .expect("config");
    let outside = tempfile::tempdir().expect("no workspace");
    let ca = server.cert_file.path().display().to_string();
    let vars = [("KAMIWAZA_CA_CERT", ca.as_str())];
    let run = kz(outside.path(), home.path(), &vars, &["kamiwaza", "list"]);
    run.code(0).no_secrets();
    let expected = format!(
        "{:<40} {:<10} {:<12} ID\n{:<40} {:<10} {:<12} a-1\n{:<40} {:<10} {:<12} 7\n{:<40} {:<10} {:<12} b-2\n",
        "NAME", "TYPE", "VERSION",
        "chat", "app", "1.0.0",
        "service-milvus", "service", "2.5.0",
        "tool-weather", "tool", "0.2.0",
    );
    assert_eq!(run.stdout, expected);
    assert!(run.stderr.contains("config.yaml"), "{}", run.stderr);
    assert_eq!(
        server.lines(),
        ["POST /api/auth/token", "GET /api/apps/app_templates"]
    );

    let run = kz(
        outside.path(),
        home.path(),
        &vars,
        &["kamiwaza", "list", "--json"],
    );
    run.code(0);
    let parsed: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(parsed, Value::Array(templates));
}

/// The CA path must name a real PEM file: a wrong one is an input error naming it.
#[test]
fn a_bad_ca_file_is_named() {
    let server = StandIn::start(Vec::new(), Vec::new());
    let home = tempfile::tempdir().expect("home");
    let bogus: PathBuf = home.path().join("ca.pem");
    std::fs::write(&bogus, "not a certificate\n").expect("write");
    let mut env = env_for(&server, false);
    env.push(("KAMIWAZA_CA_CERT", bogus.display().to_string()));
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = kz(home.path(), home.path(), &vars, &["kamiwaza", "list"]);
    run.code(2);
    assert!(run.stderr.contains("ca.pem"), "{}", run.stderr);
    assert!(server.lines().is_empty());
}

#[test]
fn sync_asks_kamiwaza_to_import_everything_or_the_names_given() {
    let server = StandIn::start(Vec::new(), Vec::new());
    let home = tempfile::tempdir().expect("home");
    let outside = tempfile::tempdir().expect("no workspace");
    let env = env_for(&server, true);
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = kz(outside.path(), home.path(), &vars, &["kamiwaza", "sync"]);
    run.code(0).no_secrets();
    assert_eq!(
        server.lines(),
        ["POST /api/auth/token", "POST /api/v1/apps/remote/sync"]
    );
    assert_eq!(server.seen()[1].body, "", "no body: everything");
    let reply: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(reply, json!({"synced": "all"}));
    server.clear();
    let run = kz(
        outside.path(),
        home.path(),
        &vars,
        &["kamiwaza", "sync", "app-hello", "tool-echo"],
    );
    run.code(0);
    assert_eq!(
        server.seen()[1].json(),
        json!({"names": ["app-hello", "tool-echo"]})
    );
}
