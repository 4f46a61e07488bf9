//! The README's Quickstart, word for word: its ```bash blocks, in order, run by one `bash -e`
//! from the repository root with this build's `kz` first on PATH. They copy examples/ into a
//! fresh folder (`mktemp -d`, inside the test's own TMPDIR), add `tool-weather`, build everything
//! (`kz build --all`), test, and run `kz ci-pipeline`. Builds get the host network through
//! `KZ_BUILD_NETWORK=host` (the test setup's setting; the commands stay as written).

use crate::engine::build::Engine;
use std::path::Path;
use std::process::Command;

/// The ```bash blocks between `## Quickstart` and the next `## ` heading.
fn quickstart_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("\n## Quickstart\n")
        .expect("README has a Quickstart section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let section = &rest[..end];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```bash") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Removes the examples' images (their kz.yaml keeps the `kamiwazaai` namespace).
struct Images<'a>(&'a Engine);

impl Drop for Images<'_> {
    fn drop(&mut self) {
        self.0.remove_namespace("kamiwazaai");
    }
}

#[test]
fn readme_quickstart_runs_word_for_word() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    let blocks = quickstart_blocks(&readme);
    assert_eq!(
        blocks.len(),
        2,
        "the Quickstart has two bash blocks: {blocks:?}"
    );
    let script = blocks.concat();
    for command in [
        "kz new tool tool-weather",
        "kz build --all",
        "kz ci-pipeline",
    ] {
        assert!(script.contains(command), "the Quickstart runs `{command}`");
    }

    let engine = Engine::connect();
    let _images = Images(&engine);
    let tmp = tempfile::tempdir().expect("tempdir");
    let kz_dir = Path::new(crate::harness::KZ).parent().expect("kz's folder");
    let path = format!(
        "{}:{}",
        kz_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-x", "-c", &script])
        .current_dir(root)
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .env("KZ_COLOR", "never")
        .env("KZ_BUILD_NETWORK", "host")
        .env_remove("REGISTRY")
        .env_remove("NS")
        .env_remove("CONTEXT")
        .output()
        .expect("run bash");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the Quickstart failed:\n{log}");

    let demos: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read tmp")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(demos.len(), 1, "one demo folder: {demos:?}");
    let demo = &demos[0];
    let manifest =
        std::fs::read_to_string(demo.join("tools/tool-weather/kamiwaza.json")).expect("tool");
    assert!(manifest.contains("\"0.2.0\""), "bumped: {manifest}");
    let tarballs: Vec<_> = std::fs::read_dir(demo.join("dist"))
        .expect("dist/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.gz"))
        .collect();
    assert!(!tarballs.is_empty(), "ci-pipeline packaged: {log}");
    assert!(
        engine.labels("kamiwazaai/tool-weather:0.2.0-dev").is_some(),
        "tool-weather was built:\n{log}"
    );
}
