//! `kz completions` and `kz man` without any shell: the completion protocol kz answers when a
//! script calls it back, and the man pages. The shells themselves load the scripts in the engine
//! lane (`engine::completions`).

use crate::harness::{Run, Ws, KZ};

fn workspace() -> Ws {
    let ws = Ws::new();
    ws.write(
        "apps/demo-app/kamiwaza.json",
        "{\"name\": \"demo-app\", \"version\": \"1.0.0\"}",
    )
    .write(
        "tools/tool-x/kamiwaza.json",
        "{\"name\": \"tool-x\", \"version\": \"1.0.0\"}",
    );
    ws
}

/// What kz answers to a bash completion request for `words` (the cursor on the last word).
fn bash_candidates(ws: &Ws, words: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(KZ)
        .arg("--")
        .args(words)
        .current_dir(ws.path(""))
        .env("KZ_COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .output()
        .expect("run kz");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn scripts_call_kz_back_for_every_shell() {
    let ws = workspace();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run: Run = ws.kz(&["completions", shell]);
        run.code(0).stdout_has("KZ_COMPLETE");
        assert!(run.stdout.contains("kz"), "{shell}: {}", run.stdout);
    }
    ws.kz(&["completions", "tcsh"]).code(2);
}

#[test]
fn subcommands_flags_and_extension_names_are_completed() {
    let ws = workspace();
    let subs = bash_candidates(&ws, &["kz", "bu"]);
    assert_eq!(subs, ["bump", "build", "build-registry"]);
    let names = bash_candidates(&ws, &["kz", "bump", ""]);
    assert!(
        names.starts_with(&[
            "demo-app".into(),
            "apps/demo-app".into(),
            "tool-x".into(),
            "tools/tool-x".into()
        ]),
        "{names:?}"
    );
    // the second positional of bump is the level, not an extension
    let level = bash_candidates(&ws, &["kz", "bump", "demo-app", "to"]);
    assert!(level.is_empty(), "{level:?}");
    assert_eq!(
        bash_candidates(&ws, &["kz", "validate", "apps/d"]),
        ["apps/demo-app"]
    );
    assert_eq!(
        bash_candidates(&ws, &["kz", "kamiwaza", "push", "tool"]),
        ["tool-x", "tools/tool-x"]
    );
    // a new extension's name is new: nothing to offer
    assert!(bash_candidates(&ws, &["kz", "new", "app", "d"]).is_empty());
    // outside a workspace there are no names, and no error
    let empty = Ws::new();
    assert!(bash_candidates(&empty, &["kz", "bump", "d"]).is_empty());
}

#[test]
fn man_pages_for_kz_and_every_command() {
    let ws = workspace();
    let page = ws.kz(&["man"]);
    page.code(0)
        .stdout_has(".TH kz 1")
        .stdout_has("completions");
    let run = ws.kz(&["man", "--dir", "man"]);
    run.code(0);
    for name in ["kz.1", "kz-bump.1", "kz-kamiwaza-push.1", "kz-validate.1"] {
        assert!(
            ws.exists(&format!("man/{name}")),
            "{name} missing: {}",
            run.stdout
        );
    }
    let bump = ws.read("man/kz-bump.1");
    assert!(bump.contains(".TH kz-bump 1"), "{bump}");
    assert!(bump.contains("kz bump"), "{bump}");
    assert!(bump.contains("dry\\-run"), "{bump}");
}
