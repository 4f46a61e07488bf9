//! The CI recipe of docs/ci.md run as CI would run it: `docs/ci/matrix.sh` for the matrix, then
//! `docs/ci/shard.sh` once per shard, with the real kz on PATH, on a git repository of busybox
//! tools where a branch changed some of them. The shards together build exactly the changed
//! extensions, each once.

use super::build::BuildWs;
use std::path::Path;
use std::process::Command;

const TOOLS: [&str; 7] = ["a", "b", "c", "d", "e", "f", "g"];

fn git(b: &BuildWs, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(b.ws.path("."))
        .env("GIT_AUTHOR_NAME", "kz")
        .env("GIT_AUTHOR_EMAIL", "kz@example.invalid")
        .env("GIT_COMMITTER_NAME", "kz")
        .env("GIT_COMMITTER_EMAIL", "kz@example.invalid")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A valid busybox tool, the way a team's repository holds it.
pub(crate) fn busybox_tool(b: &BuildWs, t: &str) {
    let name = format!("tool-{t}");
    let dir = format!("tools/{name}");
    b.ws.write(
        &format!("{dir}/kamiwaza.json"),
        format!(
            "{{\n  \"name\": \"{name}\",\n  \"version\": \"1.0.0\",\n  \"kamiwaza_version\": \">=0.9.0\",\n  \
             \"source_type\": \"kamiwaza\",\n  \"visibility\": \"public\",\n  \"description\": \"busybox {t}\",\n  \
             \"risk_tier\": 1,\n  \"verified\": false,\n  \"image\": \"{ns}/{name}:1.0.0\"\n}}\n",
            ns = b.ns
        ),
    )
    .write(&format!("{dir}/Dockerfile"), format!("FROM busybox\nRUN echo {t} > /id\nCMD [\"cat\", \"/id\"]\n"))
    .write(
        &format!("{dir}/docker-compose.yml"),
        format!("services:\n  {name}:\n    build: .\n    image: {ns}/{name}:1.0.0\n", ns = b.ns),
    );
}

fn script(b: &BuildWs, name: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let kz_dir = Path::new(crate::harness::KZ).parent().expect("kz's folder");
    let path = format!(
        "{}:{}",
        kz_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs/ci")
                .join(name),
        )
        .current_dir(b.ws.path("."))
        .env("PATH", path)
        .env("KZ_COLOR", "never")
        .envs(env.iter().copied())
        .output()
        .expect("run the recipe");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_recipe_runs_locally() {
    let b = BuildWs::empty("ci-recipe");
    for t in TOOLS {
        busybox_tool(&b, t);
    }
    b.kz(&["sync-compose"]).code(0);
    git(&b, &["init", "-q", "-b", "main"]);
    git(&b, &["add", "-A"]);
    git(&b, &["commit", "-q", "-m", "base"]);
    git(&b, &["checkout", "-q", "-b", "feature"]);
    let changed = ["b", "d", "g"];
    for t in changed {
        let file = format!("tools/tool-{t}/Dockerfile");
        b.ws.write(
            &file,
            format!("{}RUN echo changed > /changed\n", b.ws.read(&file)),
        );
    }
    git(&b, &["commit", "-q", "-am", "change three tools"]);

    let (ok, out, err) = script(&b, "matrix.sh", &[("BASE", "main"), ("PER", "1")]);
    assert!(ok, "matrix.sh failed:\n{out}\n{err}");
    assert!(out.contains("shards=[1, 2, 3]"), "{out}");
    assert!(out.contains("count=3"), "{out}");

    let mut built = Vec::new();
    for shard in ["1", "2", "3"] {
        let (ok, out, err) = script(
            &b,
            "shard.sh",
            &[("BASE", "main"), ("SHARD", shard), ("COUNT", "3")],
        );
        assert!(ok, "shard {shard} failed:\n{out}\n{err}");
        let list: Vec<serde_json::Value> = serde_json::from_str(
            out.split("\n]")
                .next()
                .map(|s| format!("{s}\n]"))
                .as_deref()
                .unwrap_or("[]"),
        )
        .unwrap_or_else(|e| panic!("shard {shard}: {e}\n{out}"));
        assert_eq!(list.len(), 1, "shard {shard}: {out}");
        built.push(list[0]["path"].as_str().unwrap_or_default().to_owned());
        assert!(
            err.contains(&format!("shard {shard}/3: 1 of 3 extensions")),
            "{err}"
        );
    }
    assert_eq!(built, ["tools/tool-b", "tools/tool-d", "tools/tool-g"]);
    for t in TOOLS {
        let image = b.image(&format!("tool-{t}"), "1.0.0-dev");
        assert_eq!(
            b.engine.id(&image).is_some(),
            changed.contains(&t),
            "{image}: built only when changed"
        );
    }

    // Nothing changed: an empty matrix, and a shard has nothing to do.
    git(&b, &["checkout", "-q", "main"]);
    let (ok, out, err) = script(&b, "matrix.sh", &[("BASE", "main")]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("shards=[]") && out.contains("count=0"),
        "{out}"
    );
}
