//! Synapse apps without an engine: the spec's examples get the verdict their names say, the
//! schema agrees, every scaffold is generated and validates clean, inside a workspace and not.

use crate::harness::{fixtures, Ws};
use std::path::Path;

const FRAMEWORKS: [&str; 9] = [
    "react",
    "vue",
    "next",
    "nuxt",
    "gradio",
    "streamlit",
    "static",
    "django",
    "fastapi",
];

fn examples() -> std::path::PathBuf {
    fixtures().join("synapse-examples")
}

/// (example, exit code, the findings' rule ids in order).
const VERDICTS: &[(&str, i32, &[&str])] = &[
    (
        "valid-minimal-static-html.yaml",
        0,
        &["synapse/sandbox-missing"],
    ),
    ("valid-react-vite-full.yaml", 0, &[]),
    (
        "valid-fastapi-volumes-and-scopes.yaml",
        0,
        &["synapse/scopes-provisional"],
    ),
    (
        "invalid-slug-starts-with-digit.yaml",
        1,
        &["synapse/sandbox-missing", "synapse/slug"],
    ),
    (
        "invalid-runtime-kind-docker-compose.yaml",
        1,
        &["synapse/sandbox-missing", "synapse/runtime-kind"],
    ),
    (
        "invalid-runtime-env-forbidden.yaml",
        1,
        &[
            "synapse/sandbox-missing",
            "synapse/runtime-env",
            "synapse/secret",
        ],
    ),
    (
        "invalid-public-url-missing-trailing-slash.yaml",
        1,
        &["synapse/sandbox-missing", "synapse/public-url"],
    ),
    (
        "invalid-sandbox-missing-allow-same-origin.yaml",
        1,
        &["synapse/sandbox"],
    ),
    (
        "invalid-image-tag-mismatches-version.yaml",
        1,
        &["synapse/sandbox-missing", "synapse/image-tag"],
    ),
];

#[test]
fn every_example_gets_the_verdict_its_name_says() {
    let dir = examples();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        VERDICTS.len(),
        "an example without a verdict: {names:?}"
    );
    let ws = Ws::new();
    for (name, code, rules) in VERDICTS {
        assert!(names.iter().any(|n| n == name), "{name} missing");
        assert_eq!(*code == 0, name.starts_with("valid-"), "{name}");
        let path = dir.join(name);
        let run = ws.kz(&[
            "validate",
            "--format",
            "json",
            path.to_str().expect("utf-8"),
        ]);
        run.code(*code);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        let found: Vec<&str> = json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["rule"].as_str().expect("rule"))
            .collect();
        assert_eq!(&found, rules, "{name}");
        assert_eq!(json["synapse_apps"], 1, "{name}");
        for f in json["findings"].as_array().expect("findings") {
            assert!(f["line"].as_u64().is_some(), "{name}: no line in {f}");
        }
    }
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/synapse-app.schema.json"),
    )
    .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("a valid 2020-12 schema")
}

/// YAML (through kz's own loader) to the JSON data model.
fn to_json(node: &kz::yaml::Node) -> serde_json::Value {
    use kz::yaml::Value;
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => i64::try_from(*i).expect("small int").into(),
        Value::Float(f) => (*f).into(),
        Value::Str(s) => s.clone().into(),
        Value::Seq(items) => items.iter().map(to_json).collect(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| (k.py_str().expect("scalar key"), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

fn load_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read");
    let node = kz::yaml::load(&text, &kz::yaml::LoadLimits::default())
        .expect("yaml")
        .expect("a document");
    to_json(&node)
}

#[test]
fn the_schema_agrees_with_the_examples_and_the_scaffolds() {
    let v = schema();
    for (name, _, rules) in VERDICTS {
        let doc = load_json(&examples().join(name));
        let lint_only = rules.iter().all(|r| {
            [
                "synapse/sandbox-missing",
                "synapse/scopes-provisional",
                "synapse/image-tag",
            ]
            .contains(r)
        });
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if lint_only {
            assert!(errors.is_empty(), "{name}: {errors:?}");
        } else {
            assert_eq!(
                errors.len(),
                1,
                "{name}: exactly one schema error expected: {errors:?}"
            );
        }
    }
    let ws = Ws::new();
    for fw in FRAMEWORKS {
        let slug = format!("app-{fw}");
        ws.kz(&["new", "synapse", &slug, "--framework", fw]).code(0);
        let doc = load_json(&ws.path(&format!("{slug}/synapse-app.yaml")));
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{fw}: {errors:?}");
    }
    let mut bad = load_json(&examples().join("valid-react-vite-full.yaml"));
    bad["metadata"]["version"] = "1.2.0+build.5".into();
    assert!(!v.is_valid(&bad), "+build is not a tag");
}

/// The files each recipe must have (beyond synapse-app.yaml, Dockerfile, README, .dockerignore),
/// the file holding /health, and the file whose <head> holds the bridge.
const RECIPES: &[(&str, &[&str], &str, &str)] = &[
    (
        "react",
        &[
            "package.json",
            "vite.config.ts",
            "src/main.tsx",
            "src/App.tsx",
            "src/index.css",
        ],
        "vite.config.ts",
        "index.html",
    ),
    (
        "vue",
        &[
            "package.json",
            "vite.config.ts",
            "src/main.ts",
            "src/App.vue",
            "src/style.css",
        ],
        "vite.config.ts",
        "index.html",
    ),
    (
        "next",
        &[
            "package.json",
            "next.config.ts",
            "app/layout.tsx",
            "app/page.tsx",
            "public/synapse-bridge.js",
        ],
        "app/health/route.ts",
        "",
    ),
    (
        "nuxt",
        &[
            "package.json",
            ".npmrc",
            "nuxt.config.ts",
            "app.vue",
            "public/synapse-bridge.js",
        ],
        "server/routes/health.ts",
        "",
    ),
    ("gradio", &["requirements.txt"], "app.py", ""),
    (
        "streamlit",
        &["requirements.txt", ".streamlit/config.toml"],
        "",
        "",
    ),
    (
        "static",
        &["public/style.css", "public/app.js"],
        "public/health",
        "public/index.html",
    ),
    (
        "django",
        &[
            "requirements.txt",
            "manage.py",
            "config/settings.py",
            "config/wsgi.py",
            "web/views.py",
        ],
        "config/urls.py",
        "templates/index.html",
    ),
    (
        "fastapi",
        &["requirements.txt", "static/style.css", "static/app.js"],
        "app.py",
        "static/index.html",
    ),
];

#[test]
fn every_scaffold_is_complete_and_validates_clean_outside_a_workspace() {
    let ws = Ws::new();
    for (fw, files, health, head) in RECIPES {
        let slug = format!("my-{fw}");
        let run = ws.kz(&["new", "synapse", &slug, "--framework", fw]);
        run.code(0).stdout_has(&format!("{slug}/synapse-app.yaml"));
        for f in [
            "synapse-app.yaml",
            "Dockerfile",
            "README.md",
            ".dockerignore",
        ]
        .iter()
        .chain(files.iter())
        {
            assert!(ws.exists(&format!("{slug}/{f}")), "{fw}: {f} missing");
        }
        let manifest = ws.read(&format!("{slug}/synapse-app.yaml"));
        assert!(
            manifest.contains(&format!("  name: {slug}\n")),
            "{manifest}"
        );
        assert!(
            manifest.contains(&format!(
                "image: registry.local.datamaker.io/synapse_apps/{slug}:0.1.0"
            )),
            "{manifest}"
        );
        if !health.is_empty() {
            let text = ws.read(&format!("{slug}/{health}"));
            // A file named `health` is itself what /health serves; elsewhere the route names it.
            let serves = if health.ends_with("/health") {
                !text.trim().is_empty()
            } else {
                text.contains("health")
            };
            assert!(serves, "{fw}: {health} serves no /health");
        }
        if !head.is_empty() {
            let html = ws.read(&format!("{slug}/{head}"));
            let head_part = html.split("</head>").next().expect("head");
            assert!(
                head_part.contains("synapse:ready"),
                "{fw}: no bridge in <head>"
            );
            assert!(head_part.contains(&format!("var APP = \"{slug}\"")), "{fw}");
        }
        // Clean under --strict, from inside the app folder and by path from outside.
        let v = ws.kz_in(&slug, &["validate", "--strict"]);
        v.code(0);
        assert!(v.stdout.trim().is_empty(), "{fw}:\n{}", v.stdout);
        ws.kz(&["validate", "--strict", &slug])
            .code(0)
            .stderr_has("1 Synapse app valid");
    }
    ws.kz(&["new", "synapse", "my-react"])
        .code(2)
        .stderr_has("already exists");
    ws.kz(&["new", "synapse", "1bad"])
        .code(2)
        .stderr_has("not a valid extension name");
    ws.kz(&["new", "app", "x-app", "--framework", "vue"])
        .code(2);
}

#[test]
fn inside_a_workspace_apps_live_in_synapse_and_validate_with_the_rest() {
    let ws = Ws::new();
    ws.kz(&["new", "tool", "tool-x"]).code(0);
    ws.kz_in(
        "tools",
        &["new", "synapse", "dash", "--framework", "static"],
    )
    .code(0)
    .stdout_has("synapse/dash/synapse-app.yaml");
    assert!(ws.exists("synapse/dash/Dockerfile"));
    ws.kz(&["validate", "--strict"])
        .code(0)
        .stderr_has("1 extension and 1 Synapse app valid");
    // A broken app is found from the root, by name, by path; a tool is still a tool.
    let text = ws
        .read("synapse/dash/synapse-app.yaml")
        .replace("public: 8080", "public: <PORT>");
    ws.write("synapse/dash/synapse-app.yaml", text);
    let run = ws.kz(&["validate"]);
    run.code(1)
        .stdout_has("synapse/dash/synapse-app.yaml:23: error[synapse/placeholder]")
        .stdout_has("error[synapse/field-type]");
    ws.kz(&["validate", "dash"])
        .code(1)
        .stdout_has("synapse/dash/synapse-app.yaml:23");
    ws.kz(&["validate", "synapse/dash"]).code(1);
    ws.kz(&["validate", "tool-x"]).code(0);
    ws.kz_in("synapse/dash", &["validate"])
        .code(1)
        .stdout_has("synapse-app.yaml:23:");
    let gh = ws.kz(&["validate", "--format", "github", "dash"]);
    gh.stdout_has("::error file=synapse/dash/synapse-app.yaml,line=23,title=synapse/placeholder::");
}

#[test]
fn rules_are_listed_and_folder_rules_fire() {
    let ws = Ws::new();
    let list = ws.kz(&["validate", "--list-rules"]);
    list.code(0);
    for id in [
        "synapse/slug",
        "synapse/image-tag",
        "synapse/docker-socket",
        "synapse/scope-locked",
        "metadata/missing",
    ] {
        assert!(list.stdout.contains(id), "{id} not listed");
    }
    assert!(
        list.stdout
            .lines()
            .filter(|l| l.starts_with("synapse/"))
            .count()
            >= 45
    );
    ws.kz(&["new", "synapse", "svc", "--framework", "fastapi"])
        .code(0);
    ws.write(
        "svc/Dockerfile",
        "FROM python:3.12-slim\nCMD [\"uvicorn\", \"app:app\", \"--host\", \"127.0.0.1\", \"--port\", \"8080\"]\n",
    );
    let original = ws.read("svc/synapse-app.yaml");
    let manifest = original.replace(
        "  kind: image\n",
        "  kind: image\n  volumes:\n    - host: /var/run/docker.sock\n      container: /var/run/docker.sock\n    - host: /home\n      container: /data\n",
    );
    ws.write("svc/synapse-app.yaml", manifest);
    ws.kz(&["validate", "svc"])
        .code(1)
        .stdout_has("svc/Dockerfile:2: error[synapse/bind-localhost]")
        .stdout_has("error[synapse/docker-socket]")
        .stdout_has("warning[synapse/volume-broad]");
    ws.write("svc/Dockerfile", "FROM x\nCMD [\"python\", \"-m\", \"uvicorn\", \"app:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8080\"]\n");
    ws.write("svc/synapse-app.yaml", &original);
    ws.kz(&["validate", "--strict", "svc"]).code(0);
    // runtime.image is the one source of the image name: a moved image is fine as it is, and a
    // REGISTRY / NS set later and disagreeing is a warning naming both.
    let moved = original.replace(
        "registry.local.datamaker.io/synapse_apps/",
        "127.0.0.1:5000/apps/",
    );
    ws.write("svc/synapse-app.yaml", moved);
    ws.kz(&["validate", "--strict", "svc"]).code(0);
    let run = std::process::Command::new(crate::harness::KZ)
        .args(["validate", "svc"])
        .current_dir(ws.path("."))
        .env("REGISTRY", "registry.local.datamaker.io")
        .env("NS", "synapse_apps")
        .output()
        .expect("kz");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("warning[synapse/image-registry]")
            && stdout.contains("REGISTRY is `registry.local.datamaker.io` but runtime.image is `127.0.0.1:5000/apps/")
            && stdout.contains("warning[synapse/image-namespace]"),
        "{stdout}"
    );
}

/// `kz retarget` rewrites runtime.image of an app `kz new` made (unmodified) and nothing else.
#[test]
fn retarget_rewrites_runtime_image_in_place() {
    let ws = Ws::new();
    ws.kz(&["new", "synapse", "notes", "--framework", "static"])
        .code(0);
    let before = ws.read("notes/synapse-app.yaml");
    let old = "registry.local.datamaker.io/synapse_apps/notes:0.1.0";
    assert!(before.contains(old));
    ws.kz_in(
        "notes",
        &["retarget", "--registry", "127.0.0.1:5000", "--ns", "team"],
    )
    .code(0)
    .stderr_has(&format!("{old} -> 127.0.0.1:5000/team/notes:0.1.0"));
    let after = ws.read("notes/synapse-app.yaml");
    assert_eq!(
        after,
        before.replacen(old, "127.0.0.1:5000/team/notes:0.1.0", 1)
    );
    ws.kz(&["validate", "--strict", "notes"]).code(0);
    ws.kz(&["retarget", "notes", "--registry", "127.0.0.1:5000"])
        .code(0)
        .stderr_has("nothing changed");
    ws.kz(&["retarget", "notes"]).code(2);
    ws.kz(&["retarget", "notes", "--registry", "a/b"])
        .code(2)
        .stderr_has("not a registry host");
    assert_eq!(ws.read("notes/synapse-app.yaml"), after);
}

/// The publish flags that only mean something for extensions are errors for an app, before
/// anything is contacted.
#[test]
fn publish_refuses_extension_flags_for_a_synapse_app() {
    let ws = Ws::new();
    ws.kz(&["new", "synapse", "notes", "--framework", "static"])
        .code(0);
    for flag in [
        &["--stage", "prod"][..],
        &["--platforms", "linux/amd64"],
        &["--force"],
        &["--images-only"],
        &["--catalog-only"],
        &["--lock-timeout", "5"],
    ] {
        let mut args = vec!["publish", "--dry-run"];
        args.extend_from_slice(flag);
        ws.kz_in("notes", &args)
            .code(2)
            .stderr_has(&format!("{} does not apply to a Synapse app", flag[0]));
    }
    ws.kz(&["publish", "notes", "--force", "--images-only"])
        .code(2)
        .stderr_has("--force, --images-only do not apply");
}

/// Synapse apps of a workspace are listed with the extensions (`type: synapse`), and
/// `kz build --help` says how to build one.
#[test]
fn list_shows_synapse_apps_and_build_help_mentions_them() {
    let ws = Ws::new();
    ws.write(
        "apps/chat/kamiwaza.json",
        "{\"name\": \"chat\", \"version\": \"0.2.0\"}",
    );
    std::fs::create_dir_all(ws.path("synapse")).expect("mkdir");
    ws.kz_in(
        "synapse",
        &["new", "synapse", "notes", "--framework", "static"],
    )
    .code(0);
    let table = ws.kz(&["list"]);
    table
        .code(0)
        .stdout_has("apps/chat")
        .stdout_has("synapse/notes");
    let json = ws.kz(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.code(0).stdout).expect("json");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["type"], "app");
    assert_eq!(rows[0]["services"].as_array().map(Vec::len), Some(0));
    assert_eq!(rows[1]["type"], "synapse");
    assert_eq!(rows[1]["path"], "synapse/notes");
    assert_eq!(rows[1]["name"], "notes");
    assert_eq!(rows[1]["version"], "0.1.0");
    assert_eq!(
        rows[1]["images"],
        serde_json::json!(["registry.local.datamaker.io/synapse_apps/notes:0.1.0"])
    );
    assert_eq!(rows[1]["files"]["synapse_app"], true);
    let help = ws.kz(&["build", "--help"]);
    help.code(0)
        .stdout_has("Synapse app")
        .stdout_has("CONTEXT=");
}
