//! Tests of the `metadata/*` rules: the reference's unit cases
//! (shared/corpus/reference-outputs/misc/validate-metadata.unit-cases.txt) by rule id, type
//! confusion on every field, and the cases where kz deliberately differs from the reference.

use super::preview_problem;
use crate::settings::Settings;
use crate::validate::testutil::{dump, manifest, rules_of, Fixture};
use crate::validate::Severity;

type Edits = &'static [(&'static str, Option<&'static str>)];

/// Rules reported for one app `apps/app-x` with the baseline manifest plus `edits`.
fn app_rules(edits: &[(&str, Option<&str>)]) -> Vec<&'static str> {
    let f = Fixture::new();
    f.app("apps/app-x", &manifest("app-x", edits));
    rules_of(&f.report(), "apps/app-x", "metadata/")
}

/// The unit cases of the reference, with kz's verdict. Where kz differs on purpose the comment
/// gives the reference's verdict and the reason.
const UNIT_CASES: &[(&str, Edits, &[&str])] = &[
    ("baseline", &[], &[]),
    // reference: crash (TypeError)
    (
        "version int",
        &[("version", Some("1"))],
        &["metadata/field-type"],
    ),
    // reference: field-type + risk-tier; kz: one finding per problem
    (
        "risk_tier float 1.0",
        &[("risk_tier", Some("1.0"))],
        &["metadata/field-type"],
    ),
    // reference: accepted (bool is an int in Python)
    (
        "risk_tier bool true",
        &[("risk_tier", Some("true"))],
        &["metadata/field-type"],
    ),
    (
        "risk_tier 5",
        &[("risk_tier", Some("5"))],
        &["metadata/risk-tier"],
    ),
    // reference: crash (unhashable list)
    (
        "source_type list",
        &[("source_type", Some("[]"))],
        &["metadata/field-type"],
    ),
    (
        "version with v",
        &[("version", Some("\"v1.0.0\""))],
        &["metadata/version-format"],
    ),
    // reference: accepted (Python `$` matches before a final newline)
    (
        "version trailing newline",
        &[("version", Some("\"1.0.0\\n\""))],
        &["metadata/version-format"],
    ),
    (
        "version 1.0.0-rc.1+b.2",
        &[("version", Some("\"1.0.0-rc.1+b.2\""))],
        &[],
    ),
    (
        "kamiwaza_version spaces",
        &[("kamiwaza_version", Some("\">=0.8.0, <1.0.0\""))],
        &[],
    ),
    (
        "kamiwaza_version ~=",
        &[("kamiwaza_version", Some("\"~=0.8.0\""))],
        &[],
    ),
    (
        "kamiwaza_version 2-part",
        &[("kamiwaza_version", Some("\">=0.8\""))],
        &["metadata/kamiwaza-version"],
    ),
    (
        "kamiwaza_version prerelease dots",
        &[("kamiwaza_version", Some("\">=0.8.0-rc.1\""))],
        &["metadata/kamiwaza-version"],
    ),
    (
        "preview https other host",
        &[("preview_image", Some("\"https://example.com/x.png\""))],
        &["metadata/preview-image"],
    ),
    (
        "preview /garden/ non-image",
        &[("preview_image", Some("\"/garden/x.txt\""))],
        &["metadata/preview-image"],
    ),
    (
        "preview relative missing",
        &[("preview_image", Some("\"images/missing.png\""))],
        &["metadata/preview-image"],
    ),
    (
        "image no tag",
        &[("image", Some("\"kamiwazaai/app-x\""))],
        &[],
    ),
    (
        "image v-tag",
        &[("image", Some("\"kamiwazaai/app-x:v1.0.0\""))],
        &["metadata/image-v-prefix"],
    ),
    (
        "image wrong tag",
        &[("image", Some("\"kamiwazaai/app-x:2.0.0\""))],
        &["metadata/image-tag-mismatch"],
    ),
    (
        "image registry port",
        &[("image", Some("\"localhost:5000/kamiwazaai/app-x:1.0.0\""))],
        &[],
    ),
    (
        "template_type Services for app",
        &[("template_type", Some("\"Services\""))],
        &["metadata/template-type"],
    ),
    (
        "description missing",
        &[("description", None)],
        &["metadata/required-field"],
    ),
];

#[test]
fn reference_unit_cases() {
    for (label, edits, expected) in UNIT_CASES {
        assert_eq!(app_rules(edits), *expected, "case `{label}`");
    }
}

#[test]
fn every_required_field_of_the_wrong_type_is_one_field_type_finding() {
    let wrong: [(&str, &[&str]); 7] = [
        ("name", &["null", "[]", "{}", "1.5", "1"]),
        ("version", &["null", "[\"1.0.0\"]", "{}", "1.0", "1"]),
        ("source_type", &["null", "[]", "{\"a\": 1}", "1.5", "true"]),
        ("visibility", &["null", "[]", "{}", "2.0", "0"]),
        ("description", &["null", "[]", "{}", "1.5", "false"]),
        ("risk_tier", &["null", "[1]", "{}", "1.0", "\"1\"", "true"]),
        ("verified", &["null", "[]", "{}", "1.0", "1", "\"true\""]),
    ];
    for (dir, name) in [
        ("apps", "app-x"),
        ("services", "service-x"),
        ("tools", "tool-x"),
    ] {
        for (field, values) in wrong {
            for value in values {
                let f = Fixture::new();
                let rel = format!("{dir}/{name}");
                f.app(&rel, &manifest(name, &[(field, Some(value))]));
                let report = f.report();
                assert_eq!(
                    rules_of(&report, &rel, "metadata/"),
                    ["metadata/field-type"],
                    "{rel}: {field} = {value}\n{}",
                    dump(&report, &rel)
                );
                let finding = report
                    .findings
                    .iter()
                    .find(|f| f.rule == "metadata/field-type");
                let finding = finding.expect("finding");
                assert!(
                    finding.message.starts_with(&format!("`{field}` must be ")),
                    "{}",
                    finding.message
                );
                assert!(finding.line.is_some(), "{field} has a line");
            }
        }
    }
}

#[test]
fn optional_fields_of_the_wrong_type() {
    let cases: &[(&str, &str, &str)] = &[
        ("tags", "\"a\"", "metadata/tags-type"),
        ("tags", "[\"a\", 1]", "metadata/tags-type"),
        ("tags", "null", "metadata/tags-type"),
        ("env_defaults", "[]", "metadata/env-defaults-type"),
        ("env_defaults", "\"A=1\"", "metadata/env-defaults-type"),
        ("required_env_vars", "{}", "metadata/required-env-vars"),
        (
            "required_env_vars",
            "[\"A\", 1]",
            "metadata/required-env-vars",
        ),
        ("kamiwaza_version", "1", "metadata/kamiwaza-version"),
        (
            "kamiwaza_version",
            "[\">=0.9.0\"]",
            "metadata/kamiwaza-version",
        ),
        ("template_type", "null", "metadata/template-type"),
        ("template_type", "\"\"", "metadata/template-type"),
        ("preview_image", "1", "metadata/preview-image"),
        ("preview_image", "\"\"", "metadata/preview-image"),
        ("image", "5", "metadata/image-format"),
        ("image", "null", "metadata/image-format"),
        ("image", "\"${IMAGE}\"", "metadata/image-format"),
        ("image", "\"Kamiwazaai/X:1.0.0\"", "metadata/image-format"),
        (
            "env_defaults",
            "{\"PORT\": 8000}",
            "metadata/env-defaults-type",
        ),
        (
            "extra_docker_images",
            "\"busybox\"",
            "metadata/extra-docker-images",
        ),
        (
            "extra_docker_images",
            "[\"busybox:1.36\", 1]",
            "metadata/extra-docker-images",
        ),
        (
            "extra_docker_images",
            "[\"Busybox\"]",
            "metadata/extra-docker-images",
        ),
        (
            "extra_docker_images",
            "[\"${HELPER}\"]",
            "metadata/extra-docker-images",
        ),
        ("name", "\" \"", "metadata/required-field"),
        ("version", "\"01.2.3\"", "metadata/version-format"),
        ("version", "\"1.0.0-01\"", "metadata/version-format"),
        ("category", "1", "metadata/field-type"),
        ("strip_path_prefix", "\"yes\"", "metadata/field-type"),
        ("preferred_model_type", "\"huge\"", "metadata/field-type"),
        ("preferred_model_name", "[]", "metadata/field-type"),
        ("type", "\"apps\"", "metadata/field-type"),
    ];
    for (field, value, rule) in cases {
        assert_eq!(
            app_rules(&[(field, Some(value))]),
            [*rule],
            "{field} = {value}"
        );
    }
}

#[test]
fn tools_get_the_enum_and_range_checks_of_apps() {
    let f = Fixture::new();
    let edits = [
        ("source_type", Some("\"other\"")),
        ("visibility", Some("\"secret\"")),
        ("risk_tier", Some("3")),
        ("capabilities", Some("[\"a\", 2]")),
        ("tags", Some("\"a\"")),
    ];
    f.tool("tools/tool-x", &manifest("tool-x", &edits));
    let report = f.report();
    assert_eq!(
        rules_of(&report, "tools/tool-x", "metadata/"),
        [
            "metadata/capabilities",
            "metadata/risk-tier",
            "metadata/source-type",
            "metadata/tags-type",
            "metadata/visibility"
        ]
    );
    // capabilities is a tool field only
    assert!(app_rules(&[("capabilities", Some("5"))]).is_empty());
}

#[test]
fn name_prefixes() {
    let f = Fixture::new();
    f.service("services/edge", &manifest("edge", &[]));
    f.service("services/ok", &manifest("service-ok", &[]));
    f.tool("tools/mytool", &manifest("mytool", &[]));
    f.tool("tools/mcp", &manifest("mcp-x", &[]));
    f.app("apps/any", &manifest("Any Name", &[]));
    let report = f.report();
    assert_eq!(
        rules_of(&report, "services/edge", "metadata/"),
        ["metadata/service-prefix"]
    );
    assert!(rules_of(&report, "services/ok", "metadata/").is_empty());
    assert_eq!(
        rules_of(&report, "tools/mytool", "metadata/"),
        ["metadata/tool-prefix"]
    );
    assert!(rules_of(&report, "tools/mcp", "metadata/").is_empty());
    assert!(rules_of(&report, "apps/any", "metadata/").is_empty());
    let message = &report
        .findings
        .iter()
        .find(|f| f.rule == "metadata/tool-prefix")
        .expect("f")
        .message;
    assert_eq!(
        message,
        "tool name `mytool` must start with `tool-` or `mcp-`, e.g. `tool-mytool`"
    );
}

#[test]
fn template_type_per_kind() {
    let f = Fixture::new();
    f.service(
        "services/service-a",
        &manifest("service-a", &[("template_type", Some("\" Services \""))]),
    );
    f.service(
        "services/service-b",
        &manifest("service-b", &[("template_type", Some("\"apps\""))]),
    );
    f.tool(
        "tools/tool-a",
        &manifest("tool-a", &[("template_type", Some("\"Tools\""))]),
    );
    f.tool(
        "tools/tool-b",
        &manifest("tool-b", &[("template_type", Some("\"tool \""))]),
    );
    f.app(
        "apps/a",
        &manifest("a", &[("template_type", Some("\"tools\""))]),
    );
    let report = f.report();
    assert!(rules_of(&report, "services/service-a", "metadata/").is_empty());
    assert_eq!(
        rules_of(&report, "services/service-b", "metadata/"),
        ["metadata/template-type"]
    );
    assert!(rules_of(&report, "tools/tool-a", "metadata/").is_empty());
    assert!(rules_of(&report, "tools/tool-b", "metadata/").is_empty());
    assert_eq!(
        rules_of(&report, "apps/a", "metadata/"),
        ["metadata/template-type"]
    );
}

#[test]
fn files_of_the_extension() {
    let f = Fixture::new();
    f.mkdir("apps/no-metadata");
    f.write("apps/bad-json/kamiwaza.json", "{\n  \"name\": \"x\",\n}\n");
    f.write(
        "apps/bad-json/docker-compose.appgarden.yml",
        crate::validate::testutil::GOOD_COMPOSE,
    );
    f.app("apps/list", "[1, 2]");
    f.write("apps/dev-only/kamiwaza.json", &manifest("dev-only", &[]));
    f.write("apps/dev-only/docker-compose.yml", "services: {}\n");
    f.write(
        "services/service-blank/kamiwaza.json",
        &manifest("service-blank", &[]),
    );
    f.write(
        "services/service-blank/docker-compose.appgarden.yml",
        "  \n\n",
    );
    f.write("tools/tool-bare/kamiwaza.json", &manifest("tool-bare", &[]));
    f.write("tools/tool-dev/kamiwaza.json", &manifest("tool-dev", &[]));
    f.write("tools/tool-dev/docker-compose.yml", "services: {}\n");
    f.write(
        "tools/tool-img/kamiwaza.json",
        &manifest("tool-img", &[("image", Some("\"kamiwazaai/t:1.0.0\""))]),
    );
    let report = f.report();
    let rules = |ext: &str| rules_of(&report, ext, "metadata/");
    assert_eq!(
        rules("apps/no-metadata"),
        ["metadata/appgarden-missing", "metadata/missing"]
    );
    assert_eq!(rules("apps/bad-json"), ["metadata/invalid-json"]);
    let bad = report
        .findings
        .iter()
        .find(|f| f.rule == "metadata/invalid-json")
        .expect("f");
    assert_eq!(bad.line, Some(3));
    assert_eq!(bad.file, "apps/bad-json/kamiwaza.json");
    assert_eq!(rules("apps/list"), ["metadata/not-object"]);
    assert_eq!(rules("apps/dev-only"), ["metadata/appgarden-missing"]);
    let missing = report
        .findings
        .iter()
        .find(|f| f.extension == "apps/dev-only")
        .expect("f");
    assert!(
        missing.message.contains("kz sync-compose"),
        "{}",
        missing.message
    );
    assert_eq!(missing.file, "apps/dev-only/docker-compose.appgarden.yml");
    assert_eq!(
        rules("services/service-blank"),
        ["metadata/appgarden-empty"]
    );
    assert_eq!(rules("tools/tool-bare"), ["metadata/tool-image-or-compose"]);
    assert!(rules("tools/tool-dev").is_empty());
    assert!(rules("tools/tool-img").is_empty());
}

#[test]
fn preview_image_paths() {
    let f = Fixture::new();
    f.write("apps/x/images/p.png", "png");
    f.write("apps/x/notes.txt", "txt");
    f.write("apps/x/http-logo.svg", "svg");
    f.write("apps/outside.png", "png");
    f.mkdir("apps/x/dir.png");
    let ext = f.root().join("apps/x");
    let check = |p: &str| preview_problem(&serde_json::Value::String(p.to_owned()), &ext);
    assert_eq!(check("images/p.png"), None);
    assert_eq!(check("./images/../images/p.png"), None);
    assert_eq!(
        check("http-logo.svg"),
        None,
        "a file name starting with http is not a URL"
    );
    assert_eq!(check("https://info.kamiwaza.ai/x.JPG"), None);
    assert_eq!(check("/api/app-garden-images/x.webp"), None);
    let problem = |p: &str| check(p).unwrap_or_default();
    assert!(problem("notes.txt")
        .contains("is not an image file (.gif, .jpeg, .jpg, .png, .svg, .webp)"));
    assert!(problem("../outside.png").contains("outside the extension"));
    assert!(problem("images/../../outside.png").contains("outside the extension"));
    assert!(problem("/etc/x.png").contains("Kamiwaza-accepted prefix"));
    assert!(problem("http://example.com/x.png").contains("Kamiwaza-accepted prefix"));
    assert!(problem("dir.png").contains("does not exist"));
    assert!(problem("missing.png").contains("does not exist"));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(f.root().join("apps/outside.png"), ext.join("link.png"))
            .expect("symlink");
        assert!(problem("link.png").contains("outside the extension"));
    }
}

#[test]
fn image_tag_hygiene() {
    let f = Fixture::new();
    let report_for = |image: &str, version: &str| {
        let value = format!("\"{image}\"");
        let version = format!("\"{version}\"");
        let edits = [
            ("version", Some(version.as_str())),
            ("image", Some(value.as_str())),
        ];
        f.tool("tools/tool-x", &manifest("tool-x", &edits));
        f.report()
    };
    let only = |image: &str, version: &str| {
        rules_of(&report_for(image, version), "tools/tool-x", "metadata/")
    };
    // synthetic-ok/tools/tool-image-only: suffix and prefix, but the version matches
    let report = report_for("kamiwazaai/tool-image-only:v2.0.0-stage", "2.0.0");
    assert_eq!(
        rules_of(&report, "tools/tool-x", ""),
        ["metadata/image-stage-suffix", "metadata/image-v-prefix"]
    );
    assert!(report
        .findings
        .iter()
        .all(|f| f.severity == Severity::Warning));
    assert_eq!(
        only("kamiwazaai/x:latest", "1.0.0"),
        ["metadata/image-tag-mismatch"]
    );
    assert!(only("kamiwazaai/x:1.0.0", "1.0.0").is_empty());
    assert!(
        only("localhost:5000/x", "1.0.0").is_empty(),
        "a registry port is not a tag"
    );
    let digest = format!("kamiwazaai/x@sha256:{}", "a".repeat(64));
    assert!(only(&digest, "1.0.0").is_empty(), "a digest is not a tag");
}

#[test]
fn image_tag_hygiene_follows_the_settings() {
    let f = Fixture::new();
    f.tool(
        "tools/tool-x",
        &manifest("tool-x", &[("image", Some("\"kamiwazaai/x:v1.0.0-qa\""))]),
    );
    let mut settings = Settings {
        tag_template: "v{version}".into(),
        ..Settings::default()
    };
    settings.stages.push(crate::settings::Stage {
        name: "qa".into(),
        tag_suffix: "-qa".into(),
    });
    let report = f.report_with(&settings);
    assert_eq!(
        rules_of(&report, "tools/tool-x", "metadata/"),
        ["metadata/image-stage-suffix"]
    );
}

#[test]
fn messages_and_lines() {
    let f = Fixture::new();
    let edits = [
        ("version", Some("\"1.0\"")),
        ("source_type", Some("\"Kamiwaza\"")),
        ("required_env_vars", Some("[\n    \"A\",\n    1\n  ]")),
        ("image", Some("\"kamiwazaai/x:latest\"")),
    ];
    f.app("apps/app-x", &manifest("app-x", &edits));
    let report = f.report();
    let got: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("metadata/"))
        .map(|f| (f.rule, f.line, f.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("metadata/version-format", Some(3), "version `1.0` is not MAJOR.MINOR.PATCH[-PRE][+BUILD]; e.g. `1.0.0`"),
            (
                "metadata/source-type",
                Some(5),
                "source_type `Kamiwaza` is not one of `kamiwaza`, `public`, `user_repo`; did you mean `kamiwaza`?"
            ),
            ("metadata/required-env-vars", Some(12), "`required_env_vars[1]` must be a string, got an integer `1`"),
            (
                "metadata/image-tag-mismatch",
                Some(14),
                "image tag `latest` does not match version `1.0`"
            ),
        ]
    );
    for finding in &report.findings {
        assert!(!finding.message.ends_with('.'), "{}", finding.message);
        assert!(
            finding.message.starts_with(|c: char| !c.is_uppercase()),
            "{}",
            finding.message
        );
    }
}

#[test]
fn kamiwaza_version_missing_is_a_warning() {
    let f = Fixture::new();
    f.app(
        "apps/app-x",
        &manifest("app-x", &[("kamiwaza_version", None)]),
    );
    let report = f.report();
    assert_eq!(
        rules_of(&report, "apps/app-x", ""),
        ["metadata/kamiwaza-version-missing"]
    );
    assert_eq!(report.errors(), 0);
    assert_eq!(report.warnings(), 1);
}

#[test]
fn values_the_schema_allows_pass() {
    let fine: &[(&str, &str)] = &[
        ("preview_image", "null"),
        ("preferred_model_type", "null"),
        ("preferred_model_name", "null"),
        (
            "extra_docker_images",
            "[\"kamiwazaai/helper:1.0.0\", \"busybox:1.36\"]",
        ),
        (
            "env_defaults",
            "{\"URL\": \"https://localhost:{app_port}\"}",
        ),
        ("version", "\"0.3.0-rc.1+build.05\""),
        ("compose_yml_file", "12"),
        ("optional_env_vars", "{}"),
    ];
    for (field, value) in fine {
        assert!(
            app_rules(&[(field, Some(value))]).is_empty(),
            "{field} = {value}"
        );
    }
    let report = {
        let f = Fixture::new();
        f.app(
            "apps/app-x",
            &manifest("app-x", &[("version", Some("\"01.2.3\""))]),
        );
        f.report()
    };
    let message = &report
        .findings
        .iter()
        .find(|f| f.rule == "metadata/version-format")
        .expect("f")
        .message;
    assert_eq!(message, "version `01.2.3` is not MAJOR.MINOR.PATCH[-PRE][+BUILD]; numbers may not have leading zeros (SemVer 2.0)");
}
