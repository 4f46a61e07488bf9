//! Defect 4: folder names and kamiwaza.json values holding newlines or control characters cannot
//! forge a line (a GitHub Actions command) or drive the terminal.

use crate::harness::Ws;

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a workflow command was forged: {line:?}\n{text}"
        );
    }
    assert!(
        !text.contains(['\x1b', '\r', '\x07']),
        "{what}: raw control characters: {text:?}"
    );
}

#[cfg(unix)]
#[test]
fn control_characters_in_names_and_values_are_escaped_everywhere() {
    let ws = Ws::new();
    let evil_dir = "tool-x\n::error::forged";
    let manifest = "{\"name\": \"tool-y\\n::add-mask::x\", \"version\": \"1.0.0\\u001b[2J\", \
                    \"description\": \"d\\r\\n::warning::w\"}";
    ws.write(&format!("tools/{evil_dir}/kamiwaza.json"), manifest)
        .write(
            &format!("tools/{evil_dir}/docker-compose.yml"),
            "services:\n  a:\n    image: busybox\n",
        )
        .write("tools/tool-ok/kamiwaza.json", manifest)
        .write(
            "tools/tool-ok/docker-compose.yml",
            "services:\n  a:\n    image: busybox\n",
        );
    for args in [
        &["validate"][..],
        &["list"][..],
        &["sync-compose", "--check"][..],
        &["bump", "tool-ok", "patch"][..],
    ] {
        let run = ws.kz(args);
        assert_clean(&format!("{args:?} stdout"), &run.stdout);
        assert_clean(&format!("{args:?} stderr"), &run.stderr);
    }
    // The escaped form is shown, so the user sees what is there.
    let run = ws.kz(&["list"]);
    assert!(
        run.stdout.contains("tool-x\\n::error::forged"),
        "{}",
        run.stdout
    );
}
