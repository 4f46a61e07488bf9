//! `kz build-registry`: the reference's catalogue, byte for byte, on every corpus root, stage and
//! layout (differences pinned under tests/golden/compat/registry/, each listed in
//! docs/compat.md); the validation gate; what is written and what is left alone; and a
//! `kill -9` in the middle of a run.

use crate::harness::{assert_golden, diff, golden_dir, shared, Ws, KZ};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const STAGES: [&str; 3] = ["dev", "stage", "prod"];
const LAYOUTS: [&str; 2] = ["v1", "v2"];
const OUT: &str = "build/kamiwaza-extension-registry";

/// A corpus root: its name, its input tree and the folder of the reference's outputs.
struct Root {
    name: String,
    input: PathBuf,
    outputs: PathBuf,
}

fn roots() -> Vec<Root> {
    let shared = shared();
    let reference = shared.join("corpus/reference-outputs");
    let mut roots = Vec::new();
    for entry in std::fs::read_dir(&reference).expect("reference outputs") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let (input, outputs) = if entry.path().join("input").is_dir() {
            (entry.path().join("input"), entry.path().join("output"))
        } else {
            (shared.join("corpus/kamiwaza").join(&name), entry.path())
        };
        if outputs.join("build-registry.v2.dev.rc").is_file() {
            roots.push(Root {
                name,
                input,
                outputs,
            });
        }
    }
    roots.sort_by(|a, b| a.name.cmp(&b.name));
    roots
}

/// The JSON text with a line break after every `\n` escape, so that a diff shows the lines of
/// an embedded compose file. Exact: the break can be removed again, so equal views mean equal
/// bytes.
fn lines_view(json: &str) -> String {
    json.replace("\\n", "\\n\n")
}

/// `find . -printf "%y %m %p\n" | sort`, as the reference's TREE.txt.
fn tree(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mut lines: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| {
            let e = e.expect("walk");
            let kind = if e.file_type().is_dir() { 'd' } else { 'f' };
            let mode = e.metadata().expect("meta").permissions().mode() & 0o7777;
            let rel = e.path().strip_prefix(dir).expect("rel");
            let path = if rel.as_os_str().is_empty() {
                ".".to_owned()
            } else {
                format!("./{}", rel.display())
            };
            format!("{kind} {mode:o} {path}")
        })
        .collect();
    lines.sort();
    lines.join("\n") + "\n"
}

/// Name → bytes of the files in `dir` (empty when it does not exist).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

/// "only in reference", "only in kz", "differs" lines for two image folders ("" when equal).
fn images_diff(reference: &BTreeMap<String, Vec<u8>>, ours: &BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::new();
    for (name, bytes) in reference {
        match ours.get(name) {
            None => out.push_str(&format!("only in reference: {name}\n")),
            Some(b) if b != bytes => out.push_str(&format!("differs: {name}\n")),
            Some(_) => {}
        }
    }
    for name in ours.keys().filter(|n| !reference.contains_key(*n)) {
        out.push_str(&format!("only in kz: {name}\n"));
    }
    out
}

/// Compare `ours` with `reference`: equal, or the difference is exactly the pinned one.
fn check_pinned(pin: &str, reference: &str, ours: &str, label: &str) -> bool {
    let d = if reference == ours {
        String::new()
    } else {
        diff(
            &format!("reference/{label}"),
            reference,
            &format!("kz/{label}"),
            ours,
        )
    };
    if d.is_empty() {
        assert!(
            !golden_dir().join(pin).exists(),
            "{label} now equals the reference; delete the stale pin {pin}"
        );
        true
    } else {
        assert_golden(pin, &d);
        false
    }
}

#[test]
fn build_registry_matches_reference_except_documented_fixes() {
    let roots = roots();
    assert!(
        roots.len() >= 9,
        "expected the whole corpus, found {}",
        roots.len()
    );
    let (mut identical, mut pinned, mut refused) = (0, 0, 0);
    for root in &roots {
        let ws = Ws::new();
        ws.copy_extensions(&root.input);
        ws.write(".gitignore", "");
        // The reference ran build-registry after sync-compose (reference-outputs/README.md).
        ws.kz(&["sync-compose"]);
        for rv in LAYOUTS {
            for stage in STAGES {
                let case = format!("{rv}.{stage}");
                let label = format!("{}/{case}", root.name);
                let run = ws.kz(&["build-registry", "--stage", stage, "--repo-version", rv]);
                let rc =
                    std::fs::read_to_string(root.outputs.join(format!("build-registry.{case}.rc")))
                        .expect("rc");
                let expected: i32 = rc.trim().parse().expect("rc number");
                assert_eq!(
                    run.code, expected,
                    "{label}: exit code\n{}{}",
                    run.stdout, run.stderr
                );
                if expected != 0 {
                    // The reference leaves an empty build/ behind; kz writes nothing at all.
                    assert!(!ws.exists("build"), "{label}: wrote despite errors");
                    assert!(
                        run.stdout.contains("error["),
                        "{label}: findings not printed"
                    );
                    refused += 1;
                    continue;
                }
                let reference = root.outputs.join(format!("registry.{case}"));
                let garden = if rv == "v1" {
                    "garden/default"
                } else {
                    "garden/v2"
                };
                let images = if rv == "v1" {
                    "app-garden-images"
                } else {
                    "images"
                };
                let pin_dir = format!("compat/registry/{}/{case}", root.name);
                for file in ["apps.json", "tools.json"] {
                    let theirs = std::fs::read_to_string(reference.join(garden).join(file))
                        .expect("reference json");
                    let ours = ws.read(&format!("{OUT}/{garden}/{file}"));
                    let same = check_pinned(
                        &format!("{pin_dir}/{file}.diff"),
                        &lines_view(&theirs),
                        &lines_view(&ours),
                        &format!("{label}/{file}"),
                    );
                    if same {
                        identical += 1;
                    } else {
                        pinned += 1;
                    }
                }
                let d = images_diff(
                    &files(&reference.join(garden).join(images)),
                    &files(&ws.path(&format!("{OUT}/{garden}/{images}"))),
                );
                if check_pinned(
                    &format!("{pin_dir}/images.diff"),
                    "",
                    &d,
                    &format!("{label}/images"),
                ) {
                    identical += 1;
                } else {
                    pinned += 1;
                }
                // kz ships no serve-registry.py (`kz serve-registry` serves the folder).
                let theirs: String = std::fs::read_to_string(reference.join("TREE.txt"))
                    .expect("TREE.txt")
                    .lines()
                    .filter(|l| !l.ends_with("./serve-registry.py"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let ours = tree(&ws.path(OUT));
                check_pinned(
                    &format!("{pin_dir}/TREE.diff"),
                    &theirs,
                    &ours,
                    &format!("{label}/TREE"),
                );
            }
        }
        assert_eq!(
            ws.read(".gitignore"),
            "",
            "{}: .gitignore was edited",
            root.name
        );
    }
    assert!(
        identical + pinned >= 100,
        "compared only {} files",
        identical + pinned
    );
    assert!(
        refused >= 12,
        "expected the two invalid roots to be refused 6 times each"
    );
}

const MANIFEST: &str = r#"{
  "name": "demo",
  "version": "1.2.3",
  "kamiwaza_version": ">=0.9.0",
  "source_type": "kamiwaza",
  "visibility": "public",
  "description": "Démo",
  "risk_tier": 0,
  "verified": false,
  "preview_image": "images/demo-shot.svg"
}"#;

const COMPOSE: &str = "services:\n  web:\n    image: kamiwazaai/demo-web:1.2.3\n    ports:\n    - '8000'\n    extra_hosts:\n    - host.docker.internal:host-gateway\n    deploy:\n      resources:\n        limits:\n          cpus: '0.5'\n          memory: 256M\n";

fn demo() -> Ws {
    let ws = Ws::new();
    ws.write("apps/demo/kamiwaza.json", MANIFEST)
        .write("apps/demo/docker-compose.appgarden.yml", COMPOSE)
        .write("apps/demo/images/demo-shot.svg", "<svg/>");
    ws
}

#[test]
fn previews_in_the_images_folder_are_found_and_v1_paths_point_at_them() {
    let ws = demo();
    ws.kz(&["build-registry", "--repo-version", "v1"]).code(0);
    assert_eq!(
        ws.read(&format!(
            "{OUT}/garden/default/app-garden-images/demo-shot.svg"
        )),
        "<svg/>"
    );
    let apps = ws.read(&format!("{OUT}/garden/default/apps.json"));
    assert!(apps.contains("\"preview_image\": \"/garden/default/app-garden-images/demo-shot.svg\""));
    assert!(apps.contains("\"description\": \"D\\u00e9mo\""), "{apps}");
    assert!(
        !apps.contains("kamiwaza_version"),
        "v1 drops kamiwaza_version"
    );
    ws.kz(&["build-registry"]).code(0);
    let apps = ws.read(&format!("{OUT}/garden/v2/apps.json"));
    assert!(apps.contains("\"preview_image\": \"images/demo-shot.svg\""));
    assert!(
        !ws.exists(&format!("{OUT}/garden/default")),
        "the output is replaced as a whole"
    );
}

#[test]
fn prod_strips_dev_tags_and_stages_come_from_settings() {
    let ws = demo();
    ws.write(
        "apps/demo/docker-compose.appgarden.yml",
        COMPOSE.replace("1.2.3", "1.2.3-dev"),
    );
    ws.kz(&["build-registry", "--stage", "prod"]).code(0);
    let apps = ws.read(&format!("{OUT}/garden/v2/apps.json"));
    assert!(apps.contains("\"kamiwazaai/demo-web:1.2.3\""), "{apps}");
    assert!(!apps.contains("-dev"), "{apps}");
    ws.write("kz.yaml", "stages:\n  qa: {tag_suffix: -qa}\n");
    ws.kz(&["build-registry", "--stage", "qa"]).code(0);
    assert!(ws
        .read(&format!("{OUT}/garden/v2/apps.json"))
        .contains("\"kamiwazaai/demo-web:1.2.3-qa\""));
    ws.kz(&["build-registry", "--stage", "nope"])
        .code(2)
        .stderr_has("no stage named `nope`")
        .stderr_has("known stages: dev, stage, prod, qa");
}

#[test]
fn validation_errors_stop_it_and_nothing_else_under_build_is_touched() {
    let ws = demo();
    ws.write("build/exported/image.tar", "tar")
        .write(".gitignore", "target/\n");
    ws.kz(&["build-registry"]).code(0);
    let before = ws.read(&format!("{OUT}/garden/v2/apps.json"));
    ws.write(
        "apps/demo/kamiwaza.json",
        MANIFEST.replace("\"visibility\": \"public\",", ""),
    );
    ws.kz(&["build-registry"])
        .code(1)
        .stdout_has("apps/demo/kamiwaza.json: error[metadata/required-field]")
        .stderr_has("validation found 1 error; nothing was written");
    assert_eq!(ws.read(&format!("{OUT}/garden/v2/apps.json")), before);
    assert_eq!(ws.read("build/exported/image.tar"), "tar");
    assert_eq!(ws.read(".gitignore"), "target/\n");
    let leftovers: Vec<_> = std::fs::read_dir(ws.path("build"))
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Every file of the registry folder with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("rel").to_owned();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

fn big_workspace(apps: usize, preview_bytes: usize) -> Ws {
    let ws = Ws::new();
    let preview = vec![b'x'; preview_bytes];
    for i in 0..apps {
        let dir = format!("apps/app-{i:04}");
        ws.write(
            &format!("{dir}/kamiwaza.json"),
            MANIFEST
                .replace("\"demo\"", &format!("\"app-{i:04}\""))
                .replace("demo-shot.svg", &format!("shot-{i:04}.png")),
        )
        .write(
            &format!("{dir}/docker-compose.appgarden.yml"),
            COMPOSE.replace("demo-web", &format!("app-{i:04}-web")),
        )
        .write(&format!("{dir}/images/shot-{i:04}.png"), &preview);
    }
    ws
}

#[test]
fn kill_9_in_the_middle_leaves_the_previous_output_whole() {
    let ws = big_workspace(300, 256 * 1024);
    ws.kz(&["build-registry"]).code(0);
    let out = ws.path(OUT);
    let previous = snapshot(&out);
    // Make the next output different from the previous one.
    for i in 0..300 {
        let path = format!("apps/app-{i:04}/kamiwaza.json");
        ws.write(&path, ws.read(&path).replace("1.2.3", "1.2.4"));
    }
    let build = ws.path("build");
    let staging = || -> std::collections::BTreeSet<String> {
        std::fs::read_dir(&build)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".kz-registry-new-"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut states = Vec::new();
    let mut killed_mid_write = 0;
    for _ in 0..5 {
        // Leftovers of the previous attempt do not count: wait for this run's own folder.
        let before = staging();
        let mut child = std::process::Command::new(KZ)
            .args(["-q", "build-registry"])
            .current_dir(ws.path("."))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn kz");
        let mut seen = false;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(60) {
            if !staging().is_subset(&before) {
                seen = true;
                break;
            }
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        child.kill().expect("kill -9");
        let status = child.wait().expect("wait");
        let was_killed = status.code().is_none();
        if seen && was_killed {
            killed_mid_write += 1;
        }
        assert!(out.is_dir(), "the output folder is missing after kill -9");
        states.push(snapshot(&out));
    }
    assert!(killed_mid_write > 0, "never caught kz while it was writing");
    // A finished run cleans up what the killed ones left and puts the new output in place.
    ws.kz(&["build-registry"]).code(0);
    let next = snapshot(&out);
    assert_ne!(next, previous);
    for state in &states {
        assert!(
            *state == previous || *state == next,
            "a killed run left a partial output"
        );
    }
    assert!(states.contains(&previous));
    assert!(
        staging().is_empty(),
        "leftovers of killed runs were not cleaned"
    );
}

#[test]
fn a_tool_without_an_app_garden_file_gets_its_app_garden_form_not_the_dev_file() {
    let ws = Ws::new();
    ws.write(
        "tools/tool-echo/kamiwaza.json",
        MANIFEST
            .replace("\"demo\"", "\"tool-echo\"")
            .replace("\"images/demo-shot.svg\"", "null"),
    )
    .write(
        "tools/tool-echo/docker-compose.yml",
        "services:\n  echo:\n    build: .\n    ports:\n      - \"8000:8000\"\n",
    );
    let run = ws.kz(&["build-registry"]);
    run.code(0)
        .stderr_has("tools/tool-echo: no docker-compose.appgarden.yml: embedded what `kz sync-compose` would write");
    let tools = ws.read(&format!("{OUT}/garden/v2/tools.json"));
    assert!(!tools.contains("build:"), "{tools}");
    assert!(
        tools.contains("image: kamiwazaai/tool-echo-echo:1.2.3-dev\\n"),
        "{tools}"
    );
    assert!(tools.contains("\"preview_image\": null"), "{tools}");
    assert!(!ws.exists("tools/tool-echo/docker-compose.appgarden.yml"));
}
