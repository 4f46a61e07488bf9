//! `kz sync-compose` behaviour: the bind-mount rule, fixes over the reference, --check, writes.

use crate::harness::{assert_golden, Ws};

const MANIFEST: &str = r#"{"name": "demo", "version": "1.2.3", "source_type": "kamiwaza",
 "visibility": "public", "description": "d", "risk_tier": 1, "verified": false}"#;

fn demo(compose: &str) -> Ws {
    let ws = Ws::new();
    ws.write("apps/demo/kamiwaza.json", MANIFEST)
        .write("apps/demo/docker-compose.yml", compose);
    ws
}

#[test]
fn source_mounts_are_dropped_and_data_mounts_become_named_volumes() {
    let ws = demo(
        "services:\n  backend:\n    build: ./backend\n    volumes:\n      - ./backend/app:/app/app\n      - ./data:/app/data\n      - /var/run/docker.sock:/var/run/docker.sock\n      - cache:/cache\n      - /anon\n",
    );
    let run = ws.kz(&["sync-compose"]);
    run.code(0)
        .stderr_has(
            "dropped bind mount `./backend/app:/app/app`: it is inside build context `./backend`",
        )
        .stderr_has("bind mount `./data:/app/data` became named volume `backend_data`")
        .stderr_has("dropped bind mount `/var/run/docker.sock:/var/run/docker.sock`");
    assert_golden(
        "sync/bind-mounts.yml",
        &ws.read("apps/demo/docker-compose.appgarden.yml"),
    );
}

#[test]
fn dockerignore_marks_data_inside_a_build_context() {
    let ws = demo("services:\n  app:\n    build: .\n    volumes:\n      - ./data:/data\n      - ./src:/app/src\n");
    ws.kz(&["sync-compose"])
        .code(0)
        .stderr_has("dropped bind mount `./data:/data`");
    ws.write("apps/demo/.dockerignore", "# runtime state\ndata\n");
    ws.kz(&["sync-compose"])
        .code(0)
        .stderr_has("bind mount `./data:/data` became named volume `app_data`: its build context's .dockerignore leaves it out")
        .stderr_has("dropped bind mount `./src:/app/src`");
}

#[test]
fn reference_bugs_are_fixed() {
    let ws = demo(concat!(
        "services:\n",
        "  web:\n",
        "    image: localhost:5000/kamiwazaai/demo-web:0.1.0\n",
        "    ports:\n",
        "      - \"${HOST_PORT:-3001}:${CONTAINER_PORT:-3001}\"\n",
        "      - target: 80\n        published: 8081\n        protocol: udp\n",
        "      - \"127.0.0.1:9000:9000\"\n",
        "    extra_hosts:\n      foo: 1.2.3.4\n",
        "    command: |\n      sh -c \"echo $$DONE $HOME ${KEEP} $1\n      exit 0\"\n",
        "    deploy: null\n",
        "  pinned:\n",
        "    image: kamiwazaai/demo-pinned@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
        "  other:\n",
        "    image: notkamiwazaai/x:9\n",
    ));
    ws.kz(&["sync-compose"])
        .code(0)
        .stderr_has("pinned by digest");
    assert_golden(
        "sync/reference-bugs-fixed.yml",
        &ws.read("apps/demo/docker-compose.appgarden.yml"),
    );
}

#[test]
fn check_prints_a_diff_writes_nothing_and_exits_1() {
    let ws = demo("services:\n  web:\n    build: .\n");
    let run = ws.kz(&["sync-compose", "--check"]);
    run.code(1)
        .stdout_has("+++ b/apps/demo/docker-compose.appgarden.yml")
        .stdout_has("+    image: kamiwazaai/demo-web:1.2.3");
    assert!(!ws.exists("apps/demo/docker-compose.appgarden.yml"));
    ws.kz(&["sync-compose"]).code(0);
    ws.kz(&["sync-compose", "--check"]).code(0);
}

#[test]
fn an_unchanged_file_is_not_rewritten() {
    let ws = demo("services:\n  web:\n    image: nginx:1\n");
    ws.kz(&["sync-compose"]).code(0);
    let target = ws.path("apps/demo/docker-compose.appgarden.yml");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&target)
        .expect("open")
        .set_modified(old)
        .expect("mtime");
    ws.kz(&["sync-compose"]).code(0).stderr_has("1 unchanged");
    assert_eq!(
        std::fs::metadata(&target)
            .expect("meta")
            .modified()
            .expect("mtime"),
        old
    );
    let leftovers: Vec<_> = std::fs::read_dir(ws.path("apps/demo"))
        .expect("ls")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".kz-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn tag_template_setting_gives_the_guides_v_prefix() {
    let ws = demo("services:\n  web:\n    build: .\n");
    ws.write("kz.yaml", "images:\n  tag: \"v{version}\"\n");
    ws.kz(&["sync-compose"]).code(0);
    assert!(ws
        .read("apps/demo/docker-compose.appgarden.yml")
        .contains("image: kamiwazaai/demo-web:v1.2.3\n"));
}

#[test]
fn extensions_are_processed_in_sorted_order_and_missing_type_dirs_are_fine() {
    let ws = Ws::new();
    for name in ["zeta", "alpha", "mid"] {
        ws.write(
            &format!("tools/tool-{name}/docker-compose.yml"),
            "services:\n  s:\n    image: busybox\n",
        );
    }
    let run = ws.kz(&["sync-compose"]);
    run.code(0);
    let order: Vec<usize> = ["tool-alpha", "tool-mid", "tool-zeta"]
        .iter()
        .map(|n| run.stderr.find(n).expect(n))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "not sorted:\n{}",
        run.stderr
    );
}

#[test]
fn running_inside_an_extension_targets_only_it() {
    let ws = demo("services:\n  web:\n    build: .\n");
    ws.write(
        "apps/other/docker-compose.yml",
        "services:\n  web:\n    image: nginx\n",
    );
    ws.kz_in("apps/demo", &["sync-compose"]).code(0);
    assert!(ws.exists("apps/demo/docker-compose.appgarden.yml"));
    assert!(!ws.exists("apps/other/docker-compose.appgarden.yml"));
}

/// Issue 15, class 9: aliases expand into an App Garden file over the 4 MiB limit for files
/// users write; kz must still read its own output back (second sync, --check, validate), and
/// it warns about the growth.
#[test]
fn a_large_generated_file_can_be_read_back() {
    let mut compose = String::from("x-env: &env\n");
    for i in 0..2000 {
        compose.push_str(&format!(
            "  VARIABLE_NUMBER_{i}: value-{i}-abcdefghijklmnopqrstuvwxyz\n"
        ));
    }
    compose.push_str("services:\n");
    for s in 0..60 {
        compose.push_str(&format!(
            "  s{s}:\n    image: busybox\n    environment: *env\n"
        ));
    }
    let ws = demo(&compose);
    ws.kz(&["sync-compose"])
        .code(0)
        .stderr_has("more than 10x docker-compose.yml");
    let out = ws.read("apps/demo/docker-compose.appgarden.yml");
    assert!(out.len() > 4 * 1024 * 1024, "{} bytes", out.len());
    ws.kz(&["sync-compose"]).code(0);
    ws.kz(&["sync-compose", "--check"]).code(0);
    let v = ws.kz(&["validate"]);
    assert!(
        !v.stdout.contains("compose/unreadable") && !v.stderr.contains("compose/unreadable"),
        "{}{}",
        v.stdout,
        v.stderr
    );
}
