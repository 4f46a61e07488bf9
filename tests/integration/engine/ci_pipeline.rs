//! `kz ci-pipeline` on the real engine: a copy of examples/ built, tested, synced, validated,
//! catalogued and packed end to end; and failing steps (a build, a validation) stopping the
//! pipeline with the step named and the later steps not run. Images live in a namespace unique
//! to the test and process and are removed at the end (`build::BuildWs`).

use crate::engine::build::BuildWs;
use crate::harness::Run;
use std::io::Read;

const STEPS: [&str; 6] = [
    "build",
    "test",
    "sync-compose",
    "validate",
    "build-registry",
    "package",
];

/// The summary rows on stdout: (step, result) in order.
fn summary(run: &Run) -> Vec<(String, String)> {
    let mut lines = run.stdout.lines().skip_while(|l| !l.starts_with("STEP "));
    assert!(lines.next().is_some(), "no summary table:\n{}", run.stdout);
    lines
        .take_while(|l| !l.starts_with("total"))
        .map(|l| {
            let name = l.get(..16).unwrap_or(l).trim().to_owned();
            let result = l.get(17..25).unwrap_or("").trim().to_owned();
            (name, result)
        })
        .collect()
}

fn archive_entries(path: &std::path::Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in tar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let mut body = Vec::new();
        entry.read_to_end(&mut body).expect("read");
        out.push(entry.path().expect("path").display().to_string());
    }
    out
}

#[test]
fn the_pipeline_builds_tests_and_packages_examples() {
    let b = BuildWs::examples("cipipe");
    // started inside an extension: the pipeline still covers the whole workspace
    let run = b.ws.kz_in("apps/team-notes", &["ci-pipeline"]);
    run.code(0);
    let rows = summary(&run);
    let expected: Vec<(String, String)> = STEPS
        .iter()
        .map(|s| ((*s).to_owned(), "ok".to_owned()))
        .collect();
    assert_eq!(rows, expected, "{}\n{}", run.stdout, run.stderr);
    for step in STEPS {
        assert!(
            run.stderr.contains(&format!("] {step}\n")),
            "no start line for {step}:\n{}",
            run.stderr
        );
    }
    // the images were built on the engine, and the tool's pytest suite ran
    for (name, tag) in [
        ("team-notes-frontend", "0.1.0-dev"),
        ("team-notes-backend", "0.1.0-dev"),
        ("service-kv-backend", "0.1.0-dev"),
        ("tool-echo", "0.1.0-dev"),
    ] {
        let image = b.image(name, tag);
        assert!(
            b.engine.id(&image).is_some(),
            "{image} was not built:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("passed"),
        "no test output:\n{}",
        run.stderr
    );

    // the archive: dist/kamiwaza-registry-YYYYMMDD-HHMMSS.tar.gz holding the registry
    let dist: Vec<_> = std::fs::read_dir(b.ws.path("dist"))
        .expect("dist/")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dist.len(), 1, "{dist:?}");
    let name = &dist[0];
    let stamp = name
        .strip_prefix("kamiwaza-registry-")
        .and_then(|s| s.strip_suffix(".tar.gz"))
        .unwrap_or_else(|| panic!("archive name {name}"));
    assert!(
        stamp.len() == 15
            && stamp.as_bytes()[8] == b'-'
            && stamp.chars().filter(char::is_ascii_digit).count() == 14,
        "{name}"
    );
    assert!(
        run.stdout.contains(&format!("dist/{name}")),
        "{}",
        run.stdout
    );
    let entries = archive_entries(&b.ws.path(&format!("dist/{name}")));
    for file in [
        "kamiwaza-extension-registry/garden/v2/apps.json",
        "kamiwaza-extension-registry/garden/v2/tools.json",
        "kamiwaza-extension-registry/README.md",
        "kamiwaza-extension-registry/package-setup.sh",
        "kamiwaza-extension-registry/kamiwaza-registry.env.template",
    ] {
        assert!(
            entries.iter().any(|e| e == file),
            "{file} not in {entries:?}"
        );
    }
    let apps: serde_json::Value = serde_json::from_str(
        &b.ws
            .read("build/kamiwaza-extension-registry/garden/v2/apps.json"),
    )
    .expect("apps.json");
    let names: Vec<&str> = apps
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["team-notes", "service-kv"]);
}

#[test]
fn a_failing_step_stops_the_pipeline_and_names_it() {
    // a valid tool with nothing to build or test, and one whose version is not SemVer
    let b = BuildWs::empty("cipipefail");
    let manifest = |name: &str, version: &str| {
        format!(
            r#"{{"name": "{name}", "version": "{version}", "description": "a tool",
                "source_type": "kamiwaza", "visibility": "public", "risk_tier": 1,
                "verified": false, "kamiwaza_version": ">=0.9.0",
                "image": "x/{name}:{version}"}}"#
        )
    };
    b.ws.write("tools/tool-ok/kamiwaza.json", manifest("tool-ok", "1.0.0"))
        .write("tools/tool-bad/kamiwaza.json", manifest("tool-bad", "1.0"));
    let run = b.kz(&["ci-pipeline"]);
    run.code(1)
        .stdout_has("tools/tool-bad/kamiwaza.json:1: error[metadata/version-format]")
        .stderr_has(
            "error: ci-pipeline stopped at step `validate`: validation found errors; \
             not run: build-registry, package",
        );
    assert_eq!(
        summary(&run),
        [
            ("build", "ok"),
            ("test", "ok"),
            ("sync-compose", "ok"),
            ("validate", "FAILED"),
            ("build-registry", "not run"),
            ("package", "not run"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(
        run.stdout.contains("validation found errors"),
        "{}",
        run.stdout
    );
    assert!(!b.ws.exists("build/kamiwaza-extension-registry"));
    assert!(!b.ws.exists("dist"));
}

#[test]
fn a_failing_build_stops_before_the_tests() {
    let b = BuildWs::empty("cipipebuild");
    b.tool(
        "tool-broken",
        "FROM busybox:latest\nRUN echo breaking && exit 7\n",
    );
    let run = b.kz(&["ci-pipeline"]);
    run.code(1)
        .stderr_has("ci-pipeline stopped at step `build`");
    let rows = summary(&run);
    assert_eq!(rows[0], ("build".to_owned(), "FAILED".to_owned()));
    assert!(
        rows[1..].iter().all(|(_, r)| r == "not run"),
        "{rows:?}\n{}",
        run.stdout
    );
    assert!(!b.ws.exists("dist"));
}
