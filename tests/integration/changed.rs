//! `--changed-since REF` and `--shard I/N` on a git repository the test builds: what a change
//! selects (its own folder, a shared library, kz.yaml, a `.env` key, a build context outside the
//! folder), merge-base semantics, deleted extensions, bad references, and shards that cover
//! every extension exactly once.

use crate::harness::{Run, Ws};
use std::collections::BTreeSet;
use std::process::Command;

fn git(ws: &Ws, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(ws.path("."))
        .env("GIT_AUTHOR_NAME", "kz")
        .env("GIT_AUTHOR_EMAIL", "kz@example.invalid")
        .env("GIT_COMMITTER_NAME", "kz")
        .env("GIT_COMMITTER_EMAIL", "kz@example.invalid")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn manifest(name: &str) -> String {
    format!("{{\"name\": \"{name}\", \"version\": \"1.0.0\"}}\n")
}

/// apps/a (uses shared/python, builds from shared/web), apps/b, services/s (uses ${S_PORT}),
/// tools/tool-t, committed on `main`, then a branch `work` checked out.
fn repo() -> Ws {
    let ws = Ws::new();
    ws.write("kz.yaml", "images:\n  namespace: team\n")
        .write(".env", "S_PORT=8080\nOTHER=1\n")
        .write(".gitignore", "*.log\n")
        .write(
            "shared/python/pyproject.toml",
            "[project]\nname = \"lib\"\n",
        )
        .write("shared/web/Dockerfile", "FROM busybox\n")
        .write("apps/a/kamiwaza.json", manifest("a"))
        .write(
            "apps/a/docker-compose.yml",
            "services:\n  web:\n    build: ../../shared/web\n  api:\n    build: ./api\n",
        )
        .write("apps/a/api/Dockerfile", "FROM busybox\n")
        .write("apps/a/api/requirements.txt", "-e ../../../shared/python\n")
        .write("apps/b/kamiwaza.json", manifest("b"))
        .write("services/s/kamiwaza.json", manifest("s"))
        .write(
            "services/s/docker-compose.yml",
            "services:\n  s:\n    image: team/s:1.0.0\n    ports:\n    - ${S_PORT:-80}\n",
        )
        .write("tools/tool-t/kamiwaza.json", manifest("tool-t"));
    git(&ws, &["init", "-q", "-b", "main"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "base"]);
    git(&ws, &["checkout", "-q", "-b", "work"]);
    ws
}

fn paths(run: &Run) -> Vec<String> {
    run.code(0);
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    rows.iter()
        .map(|r| r["path"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn changed(ws: &Ws) -> Vec<String> {
    paths(&ws.kz(&["list", "--json", "--changed-since", "main"]))
}

#[test]
fn nothing_changed_selects_nothing_and_says_so() {
    let ws = repo();
    let run = ws.kz(&["list", "--json", "--changed-since", "main"]);
    assert_eq!(paths(&run), Vec::<String>::new());
    run.stderr_has("changed since main: 0 of 4 extensions");
}

#[test]
fn a_change_in_one_extension_selects_it_alone_committed_staged_unstaged_or_untracked() {
    let ws = repo();
    ws.write("apps/b/new.txt", "untracked\n");
    assert_eq!(changed(&ws), ["apps/b"]);
    ws.write("tools/tool-t/kamiwaza.json", manifest("tool-tt"));
    assert_eq!(changed(&ws), ["apps/b", "tools/tool-t"], "unstaged");
    git(&ws, &["add", "tools/tool-t"]);
    assert_eq!(changed(&ws), ["apps/b", "tools/tool-t"], "staged");
    git(&ws, &["commit", "-q", "-m", "t"]);
    assert_eq!(changed(&ws), ["apps/b", "tools/tool-t"], "committed");
    // An ignored file is not a change.
    ws.write("services/s/debug.log", "x\n");
    assert_eq!(changed(&ws), ["apps/b", "tools/tool-t"], "ignored");
    let run = ws.kz(&["list", "--json", "--changed-since", "main"]);
    run.stderr_has("apps/b: apps/b/new.txt changed");
}

#[test]
fn a_shared_library_or_an_outside_build_context_selects_its_users() {
    let ws = repo();
    ws.write("shared/python/lib.py", "x = 1\n");
    assert_eq!(changed(&ws), ["apps/a"]);
    let run = ws.kz(&["list", "--json", "--changed-since", "main"]);
    run.stderr_has("apps/a: depends on shared/python/ (shared/python/lib.py changed)");
    git(&ws, &["stash", "-u", "-q"]);
    ws.write("shared/web/index.html", "<p>\n");
    assert_eq!(changed(&ws), ["apps/a"]);
    // A file outside every extension and every dependency selects nothing.
    git(&ws, &["stash", "-u", "-q"]);
    ws.write("docs/notes.md", "x\n");
    assert_eq!(changed(&ws), Vec::<String>::new());
}

#[test]
fn settings_select_all_and_env_keys_select_their_users() {
    let ws = repo();
    ws.write(".env", "S_PORT=9090\nOTHER=1\n");
    assert_eq!(changed(&ws), ["services/s"]);
    ws.write(".env", "S_PORT=8080\nOTHER=2\n");
    assert_eq!(changed(&ws), Vec::<String>::new(), "a key nobody uses");
    ws.write("kz.yaml", "images:\n  namespace: team2\n");
    assert_eq!(
        changed(&ws),
        ["apps/a", "apps/b", "services/s", "tools/tool-t"]
    );
}

#[test]
fn a_branch_behind_its_base_selects_only_its_own_changes() {
    let ws = repo();
    ws.write("services/s/README.md", "mine\n");
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "work"]);
    // main moves on after the branch was made.
    git(&ws, &["checkout", "-q", "main"]);
    ws.write("apps/b/README.md", "theirs\n");
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "main moves"]);
    git(&ws, &["checkout", "-q", "work"]);
    assert_eq!(changed(&ws), ["services/s"]);
}

#[test]
fn deleted_extensions_are_reported_and_bad_references_are_clear_errors() {
    let ws = repo();
    std::fs::remove_dir_all(ws.path("tools/tool-t")).expect("rm");
    let run = ws.kz(&["list", "--json", "--changed-since", "main"]);
    assert_eq!(paths(&run), Vec::<String>::new());
    run.stderr_has("tools/tool-t: changed since main but no longer in the workspace");

    ws.kz(&["list", "--changed-since", "no-such-branch"])
        .code(2)
        .stderr_has("--changed-since no-such-branch: no such commit, branch or tag");
    ws.kz(&["list", "--changed-since", "--all"]).code(2);

    let plain = Ws::new();
    plain.write("apps/x/kamiwaza.json", manifest("x"));
    plain
        .kz(&["list", "--changed-since", "main"])
        .code(2)
        .stderr_has("is not inside a git repository");
}

#[test]
fn shards_cover_every_extension_exactly_once_after_selection() {
    let ws = repo();
    let all = paths(&ws.kz(&["list", "--json"]));
    assert_eq!(all.len(), 4);
    for n in 1..=5 {
        let mut seen = Vec::new();
        for i in 1..=n {
            let shard = format!("{i}/{n}");
            seen.extend(paths(&ws.kz(&["list", "--json", "--shard", &shard])));
        }
        assert_eq!(seen, all, "{n} shards");
    }
    ws.write("apps/b/x", "1\n").write("tools/tool-t/x", "1\n");
    let first = paths(&ws.kz(&[
        "list",
        "--json",
        "--changed-since",
        "main",
        "--shard",
        "1/2",
    ]));
    let second = paths(&ws.kz(&[
        "list",
        "--json",
        "--changed-since",
        "main",
        "--shard",
        "2/2",
    ]));
    assert_eq!(
        (first, second),
        (vec!["apps/b".to_owned()], vec!["tools/tool-t".to_owned()])
    );
    ws.kz(&["list", "--shard", "3/2"])
        .code(2)
        .stderr_has("is not a shard");
}

#[test]
fn validate_sync_and_list_json_take_the_scope_and_list_json_has_what_a_matrix_needs() {
    let ws = repo();
    ws.write(
        "services/s/docker-compose.yml",
        "services:\n  s:\n    image: team/s:1.0.1\n",
    );
    let run = ws.kz(&["sync-compose", "--check", "--changed-since", "main"]);
    run.stdout_has("services/s/docker-compose.appgarden.yml");
    assert!(!run.stdout.contains("apps/a"), "{}", run.stdout);
    let run = ws.kz(&["validate", "--format", "json", "--changed-since", "main"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(report["extensions"], 1, "{}", run.stdout);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&ws.kz(&["list", "--json"]).stdout).expect("json");
    let a = &list[0];
    assert_eq!(a["path"], "apps/a");
    assert_eq!(a["services"], serde_json::json!(["web", "api"]));
    assert_eq!(
        a["images"],
        serde_json::json!(["team/a-web:1.0.0", "team/a-api:1.0.0"])
    );
    let names: BTreeSet<&str> = list.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(names, BTreeSet::from(["app", "service", "tool"]));
}
