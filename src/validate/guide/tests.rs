//! Each guide rule: a fixture that trips it and a near-identical one that does not.

use crate::validate::testutil::{dump, manifest, Fixture};
use crate::validate::{Finding, Report};

const LIMITS: &str = "    deploy: {resources: {limits: {cpus: \"1\"}}}\n";

/// An app `apps/app-x` with kamiwaza.json edits, an App Garden file and extra files.
fn app(edits: &[(&str, Option<&str>)], appgarden: &str, files: &[(&str, &str)]) -> Report {
    let f = Fixture::new();
    f.write("apps/app-x/kamiwaza.json", &manifest("app-x", edits));
    f.write("apps/app-x/docker-compose.appgarden.yml", appgarden);
    for (rel, text) in files {
        f.write(&format!("apps/app-x/{rel}"), text);
    }
    f.report()
}

fn of<'r>(report: &'r Report, rule: &str) -> Vec<&'r Finding> {
    report.findings.iter().filter(|f| f.rule == rule).collect()
}

/// `rule` fires once on `bad` (at `line`, in `file`) and never on `good`.
fn pair(rule: &str, bad: &Report, good: &Report, file: &str, line: u32) {
    let found = of(bad, rule);
    assert_eq!(
        found.len(),
        1,
        "{rule} on the bad fixture:\n{}",
        dump(bad, "apps/app-x")
    );
    assert_eq!(found[0].file, format!("apps/app-x/{file}"), "{rule}");
    assert_eq!(found[0].line, Some(line), "{rule}: {}", found[0].message);
    assert!(
        of(good, rule).is_empty(),
        "{rule} on the good fixture:\n{}",
        dump(good, "apps/app-x")
    );
}

fn one_service(env: &str) -> String {
    format!("services:\n  web:\n    image: kamiwazaai/web:1.0.0\n    ports: [\"8000\"]\n{LIMITS}    environment:\n{env}")
}

#[test]
fn reserved_in_env_defaults() {
    let bad = app(
        &[(
            "env_defaults",
            Some("{\"KAMIWAZA_API_URL\": \"https://host.docker.internal/api\"}"),
        )],
        &one_service("      - A=b\n"),
        &[],
    );
    let good = app(
        &[(
            "env_defaults",
            Some("{\"KAMIWAZA_API_URI\": \"https://host.docker.internal/api\"}"),
        )],
        &one_service("      - A=b\n"),
        &[],
    );
    pair("metadata/reserved-env", &bad, &good, "kamiwaza.json", 10);
    let f = &of(&bad, "metadata/reserved-env")[0];
    assert_eq!(f.severity, crate::validate::Severity::Error);
    assert!(
        f.message.contains("don't override in env_defaults"),
        "{}",
        f.message
    );
    for pass in ["${OPENAI_BASE_URL:-}", "${OPENAI_BASE_URL}"] {
        let json = format!("{{\"OPENAI_BASE_URL\": \"{pass}\"}}");
        let r = app(
            &[("env_defaults", Some(&json))],
            &one_service("      - A=b\n"),
            &[],
        );
        assert!(of(&r, "metadata/reserved-env").is_empty(), "{pass}");
    }
    let other = app(
        &[("env_defaults", Some("{\"OPENAI_BASE_URL\": \"${MY_URL}\"}"))],
        &one_service("      - A=b\n"),
        &[],
    );
    assert_eq!(of(&other, "metadata/reserved-env").len(), 1);
}

#[test]
fn reserved_in_compose() {
    let bad = app(
        &[],
        &one_service("      - KAMIWAZA_API_URL=https://x/api\n"),
        &[],
    );
    let good = app(
        &[],
        &one_service("      - KAMIWAZA_API_URL=${KAMIWAZA_API_URL:-}\n"),
        &[],
    );
    pair(
        "compose/reserved-env",
        &bad,
        &good,
        "docker-compose.appgarden.yml",
        7,
    );
    for pass in [
        "      - KAMIWAZA_API_URL\n",
        "      KAMIWAZA_API_URL:\n",
        "      KAMIWAZA_API_URL: ${KAMIWAZA_API_URL:-https://host.docker.internal/api}\n",
    ] {
        let r = app(&[], &one_service(pass), &[]);
        assert!(of(&r, "compose/reserved-env").is_empty(), "{pass}");
    }
    let map = app(
        &[],
        &one_service("      OPENAI_BASE_URL: ${MODEL_URL}\n"),
        &[],
    );
    assert_eq!(of(&map, "compose/reserved-env").len(), 1);
}

#[test]
fn placeholders_in_env_defaults() {
    let bad = app(
        &[(
            "env_defaults",
            Some("{\"PUBLIC_URL\": \"https://localhost:{app-port}\"}"),
        )],
        &one_service("      - A=b\n"),
        &[],
    );
    let good = app(
        &[(
            "env_defaults",
            Some("{\"PUBLIC_URL\": \"https://localhost:{app_port}\"}"),
        )],
        &one_service("      - A=b\n"),
        &[],
    );
    pair(
        "metadata/unknown-placeholder",
        &bad,
        &good,
        "kamiwaza.json",
        10,
    );
    let f = &of(&bad, "metadata/unknown-placeholder")[0];
    assert!(
        f.message.contains("did you mean `{app_port}`"),
        "{}",
        f.message
    );
}

#[test]
fn placeholders_in_compose() {
    let bad = app(
        &[],
        &one_service("      - MODEL=http://host.docker.internal:{lb_port}/v1\n"),
        &[],
    );
    let good = app(
        &[],
        &one_service("      - MODEL=http://host.docker.internal:{model_port}/v1\n"),
        &[],
    );
    pair(
        "compose/unknown-placeholder",
        &bad,
        &good,
        "docker-compose.appgarden.yml",
        7,
    );
    let templated = app(&[], &one_service("      - NAME=${NAME:-{{name}}}\n"), &[]);
    assert!(of(&templated, "compose/unknown-placeholder").is_empty());
}

fn two(web_env: &str, api_extra: &str) -> String {
    format!(
        "services:\n  web:\n    image: kamiwazaai/web:1.0.0\n    ports: [\"3000\"]\n{LIMITS}    environment:\n{web_env}  api:\n    image: kamiwazaai/api:1.0.0\n{LIMITS}{api_extra}"
    )
}

#[test]
fn localhost_urls() {
    let bad = app(
        &[],
        &two(
            "      - API_URL=http://localhost:8000\n",
            "    expose: [\"8000\"]\n",
        ),
        &[],
    );
    let good = app(
        &[],
        &two(
            "      - API_URL=http://api:8000\n",
            "    expose: [\"8000\"]\n",
        ),
        &[],
    );
    pair(
        "compose/localhost-url",
        &bad,
        &good,
        "docker-compose.appgarden.yml",
        7,
    );
    assert!(of(&bad, "compose/localhost-url")[0]
        .message
        .contains("`http://api:8000`"));
    // Shared network namespace: localhost is right.
    let shared = two(
        "      - API_URL=http://127.0.0.1:8000\n",
        "    expose: [\"8000\"]\n",
    )
    .replace("  web:\n", "  web:\n    network_mode: service:api\n");
    assert!(of(&app(&[], &shared, &[]), "compose/localhost-url").is_empty());
    // Browser-facing URL on the app's port.
    let public = app(
        &[],
        &two(
            "      - PUBLIC_URL=http://localhost:{app_port}\n",
            "    expose: [\"8000\"]\n",
        ),
        &[],
    );
    assert!(of(&public, "compose/localhost-url").is_empty());
    // The port comes from the Dockerfile's EXPOSE through the dev file's build.
    let dev = "services:\n  web:\n    build: ./web\n  api:\n    build: ./api\n";
    let files = [
        ("docker-compose.yml", dev),
        ("api/Dockerfile", "FROM python:3.11-slim\nEXPOSE 8001\n"),
    ];
    let exposed = app(
        &[],
        &two("      - API_URL=http://localhost:8001/x\n", ""),
        &files,
    );
    assert_eq!(
        of(&exposed, "compose/localhost-url").len(),
        1,
        "{}",
        dump(&exposed, "apps/app-x")
    );
    let elsewhere = app(
        &[],
        &two("      - API_URL=http://localhost:9999/x\n", ""),
        &files,
    );
    assert!(of(&elsewhere, "compose/localhost-url").is_empty());
}

const NEXT_DEV: &str = "services:\n  web:\n    build:\n      context: ./web\n      args:\n        - NEXT_PUBLIC_OTHER=1\n";

fn next_app(dockerfile: &str, package: &str) -> Report {
    let appgarden = one_service("      - NEXT_PUBLIC_API_URL=/api\n");
    app(
        &[],
        &appgarden,
        &[
            ("docker-compose.yml", NEXT_DEV),
            ("web/Dockerfile", dockerfile),
            ("web/package.json", package),
        ],
    )
}

#[test]
fn next_public_at_run_time() {
    let pkg = "{\"scripts\": {\"build\": \"next build\", \"lint\": \"eslint\"}}";
    let bad = next_app("FROM node\nRUN npm ci\nRUN npm run build\n", pkg);
    let good = next_app(
        "FROM node\nARG NEXT_PUBLIC_API_URL\nRUN npm ci\nRUN npm run build\n",
        pkg,
    );
    pair(
        "compose/next-public-runtime",
        &bad,
        &good,
        "docker-compose.appgarden.yml",
        7,
    );
    let f = &of(&bad, "compose/next-public-runtime")[0];
    assert!(f.message.contains("web/Dockerfile:3"), "{}", f.message);
    for (dockerfile, package) in [
        ("FROM node\nRUN npx next build\n", "{}"),
        ("FROM node\nRUN pnpm build\n", pkg),
        ("FROM node\nRUN yarn build\n", pkg),
    ] {
        assert_eq!(
            of(
                &next_app(dockerfile, package),
                "compose/next-public-runtime"
            )
            .len(),
            1,
            "{dockerfile}"
        );
    }
    // No next build: a runtime value is all there is.
    let lint = next_app("FROM node\nRUN npm run lint\n", pkg);
    assert!(of(&lint, "compose/next-public-runtime").is_empty());
}

const PROXY_OK: &str = "services:\n  proxy:\n    image: nginx:alpine\n    ports: [\"80\"]\n    command: |\n      sh -c \"cat > /etc/nginx/nginx.conf << 'EOF'\n      proxy_set_header Host \\$$host;\n      proxy_set_header X-Real-IP \\$$remote_addr;\n      EOF\n      nginx -g 'daemon off;'\"\n    deploy: {resources: {limits: {cpus: \"1\"}}}\n  backend:\n    image: kamiwazaai/b:1.0.0\n    deploy: {resources: {limits: {cpus: \"1\"}}}\n";

#[test]
fn unescaped_dollar_in_both_files() {
    let bad_text = PROXY_OK.replace("\\$$remote_addr", "\\$remote_addr");
    let bad = app(&[], &bad_text, &[("docker-compose.yml", &bad_text)]);
    let good = app(&[], PROXY_OK, &[]);
    let found = of(&bad, "compose/unescaped-dollar");
    assert_eq!(found.len(), 2, "{}", dump(&bad, "apps/app-x"));
    assert!(found.iter().all(|f| f.line == Some(8)), "{found:?}");
    assert!(found
        .iter()
        .any(|f| f.file.ends_with("/docker-compose.yml")));
    assert!(
        found[0].message.contains("`$remote_addr`"),
        "{}",
        found[0].message
    );
    assert!(
        of(&good, "compose/unescaped-dollar").is_empty(),
        "{}",
        dump(&good, "apps/app-x")
    );
    // Upper-case names and ${...} are meant for Compose.
    let env = PROXY_OK.replace("\\$$host", "${HOST_NAME} $PORT");
    assert!(of(&app(&[], &env, &[]), "compose/unescaped-dollar").is_empty());
}

#[test]
fn ports_beside_a_proxy() {
    let bad_text = PROXY_OK.replace("  backend:\n", "  backend:\n    ports: [\"8000\"]\n");
    let bad = app(&[], &bad_text, &[]);
    let good = app(&[], PROXY_OK, &[]);
    pair(
        "compose/proxy-ports",
        &bad,
        &good,
        "docker-compose.appgarden.yml",
        13,
    );
    // One finding for the backend, not two.
    assert!(of(&bad, "compose/backend-port").is_empty());
}

#[test]
fn backend_publishing_directly() {
    let base = "services:\n  frontend:\n    image: kamiwazaai/f:1.0.0\n    ports: [\"3000\"]\n    deploy: {resources: {limits: {cpus: \"1\"}}}\n  backend:\n    image: kamiwazaai/b:1.0.0\n    deploy: {resources: {limits: {cpus: \"1\"}}}\n";
    let bad_text = base.replace("  backend:\n", "  backend:\n    ports: [\"8000:8000\"]\n");
    let good_text = base.replace("  backend:\n", "  backend:\n    expose: [\"8000\"]\n");
    pair(
        "compose/backend-port",
        &app(&[], &bad_text, &[]),
        &app(&[], &good_text, &[]),
        "docker-compose.appgarden.yml",
        7,
    );
    // A backend that is the only service publishing is the primary service: fine.
    let alone = "services:\n  backend:\n    image: kamiwazaai/b:1.0.0\n    ports: [\"8000\"]\n    deploy: {resources: {limits: {cpus: \"1\"}}}\n";
    assert!(of(&app(&[], alone, &[]), "compose/backend-port").is_empty());
}
