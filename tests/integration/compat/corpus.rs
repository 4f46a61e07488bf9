//! Golden tests over the real corpus: kz's App Garden files against what the reference wrote.
//! Where kz differs on purpose (docs/compat.md), the exact difference is pinned as a diff under
//! tests/golden/compat/, so any other change fails.

use crate::harness::{assert_golden, corpus, diff, golden_dir, Ws};

/// (name under reference-outputs, the input tree)
fn roots() -> Vec<(String, std::path::PathBuf)> {
    let shared = corpus();
    let outputs = shared.join("reference-outputs");
    let mut roots = Vec::new();
    for entry in std::fs::read_dir(&outputs).expect("reference outputs") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let synced = if name == "synthetic" {
            entry.path().join("output/synced")
        } else {
            entry.path().join("synced")
        };
        if !synced.is_dir() {
            continue;
        }
        let input = if name == "synthetic" {
            entry.path().join("input")
        } else {
            shared.join("kamiwaza").join(&name)
        };
        roots.push((name, input));
    }
    roots.sort();
    roots
}

fn synced_dir(root: &str) -> std::path::PathBuf {
    let base = corpus().join("reference-outputs").join(root);
    if root == "synthetic" {
        base.join("output/synced")
    } else {
        base.join("synced")
    }
}

#[test]
fn sync_compose_matches_reference_except_documented_fixes() {
    let roots = roots();
    assert!(
        roots.len() >= 7,
        "expected the whole corpus, found {roots:?}"
    );
    let mut compared = 0;
    for (root, input) in roots {
        let ws = Ws::new();
        ws.copy_extensions(&input);
        let run = ws.kz(&["sync-compose"]);
        assert!(
            run.code == 0,
            "{root}: kz sync-compose failed\n{}",
            run.stderr
        );
        let synced = synced_dir(&root);
        for entry in walkdir::WalkDir::new(&synced).sort_by_file_name() {
            let entry = entry.expect("walk");
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&synced)
                .expect("rel")
                .display()
                .to_string();
            let reference = std::fs::read_to_string(entry.path()).expect("reference");
            let ours = ws.read(&rel);
            let pinned = format!("compat/{root}/{rel}.diff");
            let d = diff(
                &format!("reference/{rel}"),
                &reference,
                &format!("kz/{rel}"),
                &ours,
            );
            if d.is_empty() {
                assert!(
                    !golden_dir().join(&pinned).exists(),
                    "{root}/{rel} now equals the reference; delete the stale pin {pinned}"
                );
            } else {
                assert_golden(&pinned, &d);
            }
            compared += 1;
        }
        let check = ws.kz(&["sync-compose", "--check"]);
        assert_eq!(
            check.code, 0,
            "{root}: --check right after a sync must pass\n{}{}",
            check.stdout, check.stderr
        );
    }
    assert!(compared >= 8, "compared only {compared} files");
}

#[test]
fn the_committed_tool_git_file_is_byte_identical() {
    // The template-era repo commits exactly what the reference generates: kz must agree to the byte.
    let ws = Ws::new();
    ws.copy_extensions(&corpus().join("kamiwaza/kamiwaza-drew__tool-git"));
    let before = ws.read("tools/tool-git-mcp/docker-compose.appgarden.yml");
    ws.kz(&["sync-compose", "--check"]).code(0);
    ws.kz(&["sync-compose"]).code(0);
    assert_eq!(
        before,
        ws.read("tools/tool-git-mcp/docker-compose.appgarden.yml")
    );
}

#[test]
fn check_reports_drift_in_the_stale_corpus_file() {
    // tool-email-mcp@4aa900f commits an appgarden file tagged 1.0.0 while kamiwaza.json says 1.0.2.
    let ws = Ws::new();
    ws.copy_extensions(&corpus().join("kamiwaza/kamiwaza-drew__tool-email-mcp@4aa900f"));
    let before = ws.read("tools/tool-email-mcp/docker-compose.appgarden.yml");
    let run = ws.kz(&["sync-compose", "--check"]);
    run.code(1)
        .stdout_has("+++ b/tools/tool-email-mcp/docker-compose.appgarden.yml")
        .stdout_has("1.0.2");
    assert_eq!(
        before,
        ws.read("tools/tool-email-mcp/docker-compose.appgarden.yml"),
        "--check wrote"
    );
}
