//! `kz clean`: the guide's hierarchy, --dry-run, nothing outside the workspace.

use crate::harness::Ws;

fn dirty() -> Ws {
    let ws = Ws::new();
    for f in [
        "build/kamiwaza-extension-registry/garden/v2/apps.json",
        "dist/kamiwaza-registry-20260101-000000.tar.gz",
        ".venv/pyvenv.cfg",
        "apps/a/backend/__pycache__/main.cpython-311.pyc",
        "apps/a/backend/.pytest_cache/README.md",
        "apps/a/frontend/node_modules/react/index.js",
        "apps/a/backend/app/main.py",
    ] {
        ws.write(f, "x");
    }
    ws
}

#[test]
fn dry_run_lists_and_removes_nothing() {
    let ws = dirty();
    let run = ws.kz(&["clean", "--dist", "--dry-run"]);
    run.code(0)
        .stdout_has("build/\n")
        .stdout_has("dist/\n")
        .stdout_has(".venv/\n")
        .stdout_has("apps/a/frontend/node_modules/\n");
    assert!(
        run.stderr.contains("would remove 6 items"),
        "{}",
        run.stderr
    );
    assert!(ws.exists("dist") && ws.exists("build") && ws.exists(".venv"));
}

#[test]
fn each_level_removes_its_part() {
    let ws = dirty();
    ws.kz(&["clean"]).code(0);
    assert!(
        !ws.exists("build")
            && !ws.exists("apps/a/backend/__pycache__")
            && !ws.exists("apps/a/backend/.pytest_cache")
    );
    assert!(ws.exists("dist") && ws.exists(".venv") && ws.exists("apps/a/frontend/node_modules"));
    ws.kz(&["clean", "--deps"]).code(0);
    assert!(!ws.exists(".venv") && !ws.exists("apps/a/frontend/node_modules") && ws.exists("dist"));
    ws.kz(&["clean", "--dist"]).code(0);
    assert!(!ws.exists("dist"));
    assert!(ws.exists("apps/a/backend/app/main.py"), "source must stay");
    ws.kz(&["clean", "--all", "--deps"]).code(2);
}
