//! `kz build-registry`: the validation gate; what is written and what is left alone; previews;
//! stages; and a `kill -9` in the middle of a run. (The byte-for-byte comparison with the
//! reference is in the compat lane: compat/registry.rs.)

use crate::harness::{Ws, KZ};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const OUT: &str = "build/kamiwaza-extension-registry";

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
