//! Rules over the app folder around synapse-app.yaml: the Dockerfile (present, binds 0.0.0.0,
//! the port, exec-form variables, dev servers, secrets in ENV/ARG) and the sources (the bridge is
//! there with its slot filled, no host chrome, the framework's health path).

use super::scan::{secret_name, CREDENTIAL};
use super::Sink;
use crate::validate::code;
use crate::yaml::{Node, Value};
use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

/// Folders never searched for sources (dependencies, build output, VCS).
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "dist",
    "build",
    ".next",
    ".nuxt",
    ".output",
    "target",
];
const SOURCE_EXTS: &[&str] = &[
    "html", "htm", "js", "mjs", "cjs", "ts", "tsx", "jsx", "vue", "svelte", "py",
];
/// Bounds for the source walk: an app folder, not a monorepo.
const MAX_FILES: usize = 5000;
const MAX_SOURCE: u64 = 1024 * 1024;

/// One Dockerfile instruction: keyword (upper case), arguments (continuations joined), line.
struct Instruction {
    keyword: String,
    args: String,
    line: u32,
}

fn parse_dockerfile(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current: Option<Instruction> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let trimmed = raw.trim();
        // Comment lines are dropped, also inside a continuation (which they do not end).
        if trimmed.starts_with('#') {
            continue;
        }
        let (body, continued) = match trimmed.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (trimmed, false),
        };
        match current.as_mut() {
            Some(inst) => {
                inst.args.push(' ');
                inst.args.push_str(body);
            }
            None => {
                if body.is_empty() {
                    continue;
                }
                let (kw, args) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                current = Some(Instruction {
                    keyword: kw.to_ascii_uppercase(),
                    args: args.trim().to_owned(),
                    line: line_no,
                });
            }
        }
        if !continued {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

static LOCAL_BIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s=:'\x22\[,])(?:127\.0\.0\.1|localhost)(?:$|[\s:'\x22\],])")
        .expect("static regex")
});
static PORT_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:--port|--server\.port|-p)(?:=|\s+|"\s*,\s*")"?(\d{1,5})\b|0\.0\.0\.0:(\d{1,5})\b"#,
    )
    .expect("static regex")
});
const DEV_SERVERS: &[&str] = &[
    "--reload",
    "runOnSave",
    "next dev",
    "nuxi dev",
    "nuxt dev",
    "npm run dev",
    "pnpm dev",
    "pnpm run dev",
    "yarn dev",
    "runserver",
];

pub(super) fn check(
    sink: &mut Sink,
    dir: &Path,
    join: &dyn Fn(&str) -> String,
    root: Option<&Node>,
) {
    let port = root
        .and_then(|r| r.get("network")?.get("ports")?.get("public"))
        .and_then(|n| match n.value {
            Value::Int(p) => u16::try_from(p).ok(),
            _ => None,
        });
    let health = root
        .and_then(|r| r.get("network")?.get("health")?.get("path"))
        .and_then(|n| n.as_str().map(|s| (n, s)));
    let slug = root.and_then(|r| r.get("metadata")?.get("name")?.as_str());
    let dockerfile = dir.join("Dockerfile");
    let df_name = join("Dockerfile");
    let mut runs_streamlit = false;
    match crate::fsx::read_text(&dockerfile, MAX_SOURCE) {
        Err(_) if !dockerfile.exists() => sink.push_in(
            "synapse/dockerfile-missing",
            &df_name,
            0,
            "the app folder has no Dockerfile; kz builds the image from it".to_owned(),
        ),
        Err(err) => {
            let (line, message) = crate::validate::read_problem("Dockerfile", &err);
            sink.push_in("synapse/unreadable", &df_name, line.unwrap_or(0), message);
        }
        Ok(text) => {
            let insts = parse_dockerfile(&text);
            runs_streamlit = insts.iter().any(|i| {
                matches!(i.keyword.as_str(), "CMD" | "ENTRYPOINT") && i.args.contains("streamlit")
            });
            dockerfile_rules(sink, &df_name, &insts, port);
        }
    }
    let sources = walk_sources(dir);
    let mut bridge = false;
    for (path, rel) in &sources {
        let Ok(text) = crate::fsx::read_text(path, MAX_SOURCE) else {
            continue;
        };
        if text.contains("synapse:ready") {
            bridge = true;
            if let Some((i, _)) = text
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains("APP_NAME"))
            {
                let line = u32::try_from(i + 1).unwrap_or(0);
                sink.push_in(
                    "synapse/placeholder",
                    &join(rel),
                    line,
                    format!(
                        "the bridge still says `APP_NAME`; replace it with the slug{}",
                        slug.map(|s| format!(" {}", code(s))).unwrap_or_default()
                    ),
                );
            }
        }
        let stem = Path::new(rel)
            .file_stem()
            .map(|s| s.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let ui = Path::new(rel).extension().is_some_and(|e| {
            ["tsx", "jsx", "vue", "svelte"].contains(&e.to_string_lossy().as_ref())
        });
        let chrome = [
            "header",
            "footer",
            "logo",
            "themeswitcher",
            "themetoggle",
            "localeswitcher",
            "languageswitcher",
        ];
        if ui && chrome.contains(&stem.as_str()) {
            sink.push_in(
                "synapse/host-chrome",
                &join(rel),
                0,
                "the host draws the header, footer, logo and theme/locale switchers; move \
                 navigation into a left sidebar and drop this"
                    .to_owned(),
            );
        }
    }
    if !bridge && !sources.is_empty() {
        sink.push_in(
            "synapse/bridge-missing",
            &join("synapse-app.yaml"),
            0,
            "no source sends synapse:ready: ship the bridge snippet in the HTML head".to_owned(),
        );
    }
    if let Some((node, path)) = health {
        let streamlit = runs_streamlit
            || crate::fsx::read_text(&dir.join("requirements.txt"), MAX_SOURCE)
                .is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("streamlit")));
        let nitro_api = ["ts", "js"].iter().any(|e| {
            dir.join(format!("server/api/health.get.{e}")).is_file()
                || dir.join(format!("server/api/health.{e}")).is_file()
        });
        let nitro_route = ["ts", "js"].iter().any(|e| {
            dir.join(format!("server/routes/health.{e}")).is_file()
                || dir.join(format!("server/routes/health.get.{e}")).is_file()
        });
        let why = if streamlit && path != "/_stcore/health" {
            Some("Streamlit answers health at `/_stcore/health`")
        } else if nitro_api && !nitro_route && path == "/health" {
            Some("Nitro serves server/api/health at `/api/health`")
        } else {
            None
        };
        if let Some(why) = why {
            sink.at(
                "synapse/health-path-trap",
                node,
                format!("network.health.path is {}, but {why}", code(path)),
            );
        }
    }
}

fn dockerfile_rules(sink: &mut Sink, file: &str, insts: &[Instruction], port: Option<u16>) {
    for inst in insts {
        match inst.keyword.as_str() {
            "CMD" | "ENTRYPOINT" => {
                let args = &inst.args;
                if LOCAL_BIND.is_match(args) {
                    sink.push_in(
                        "synapse/bind-localhost",
                        file,
                        inst.line,
                        format!(
                            "{} binds 127.0.0.1/localhost: unreachable from the platform; bind 0.0.0.0",
                            inst.keyword
                        ),
                    );
                }
                if let Some(port) = port {
                    for cap in PORT_FLAG.captures_iter(args) {
                        let found = cap.get(1).or_else(|| cap.get(2)).map(|m| m.as_str());
                        if let Some(p) = found.and_then(|p| p.parse::<u16>().ok()) {
                            if p != port {
                                sink.push_in(
                                    "synapse/port-mismatch",
                                    file,
                                    inst.line,
                                    format!(
                                        "{} serves on port {p}, but network.ports.public is {port}",
                                        inst.keyword
                                    ),
                                );
                            }
                        }
                    }
                }
                let exec_form = args.trim_start().starts_with('[');
                let via_shell = exec_form
                    && serde_json::from_str::<Vec<String>>(args)
                        .ok()
                        .and_then(|a| a.first().cloned())
                        .is_some_and(|first| {
                            ["sh", "bash", "/bin/sh", "/bin/bash"].contains(&first.as_str())
                        });
                if exec_form && !via_shell && args.contains('$') {
                    sink.push_in(
                        "synapse/exec-form-variable",
                        file,
                        inst.line,
                        format!(
                            "exec-form {} does not expand $VARIABLES; use shell form or an \
                             entrypoint script",
                            inst.keyword
                        ),
                    );
                }
                if let Some(dev) = DEV_SERVERS.iter().find(|d| args.contains(*d)) {
                    sink.push_in(
                        "synapse/dev-server",
                        file,
                        inst.line,
                        format!(
                            "{} runs {}: published images are production-shape (the Vite dev \
                             server is the documented exception)",
                            inst.keyword,
                            code(dev)
                        ),
                    );
                }
            }
            "EXPOSE" => {
                if let Some(port) = port {
                    let exposed: Vec<u16> = inst
                        .args
                        .split_whitespace()
                        .filter_map(|p| p.split('/').next()?.parse().ok())
                        .collect();
                    if !exposed.is_empty() && !exposed.contains(&port) {
                        sink.push_in(
                            "synapse/port-mismatch",
                            file,
                            inst.line,
                            format!("EXPOSE {}, but network.ports.public is {port}", inst.args),
                        );
                    }
                }
            }
            "ENV" | "ARG" => {
                let pairs: Vec<(&str, &str)> = if inst.args.contains('=') {
                    inst.args
                        .split_whitespace()
                        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
                        .collect()
                } else {
                    let (k, v) = inst
                        .args
                        .split_once(char::is_whitespace)
                        .unwrap_or((inst.args.as_str(), ""));
                    vec![(k, v)]
                };
                for (key, value) in pairs {
                    let value = value.trim().trim_matches(['"', '\'']);
                    let shaped = CREDENTIAL.is_match(value);
                    if (secret_name(key) && !value.is_empty() && !value.starts_with('$')) || shaped
                    {
                        sink.push_in(
                            "synapse/dockerfile-secret",
                            file,
                            inst.line,
                            format!(
                                "{} {} bakes a secret-like value into the image layers; load \
                                 secrets from a read-only *.env volume",
                                inst.keyword,
                                code(key)
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// Source files of the app, sorted, as (path, path relative to the app folder).
fn walk_sources(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    for entry in walker.filter_map(Result::ok) {
        if out.len() >= MAX_FILES {
            break;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let ext = entry
            .path()
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !SOURCE_EXTS.contains(&ext.as_str()) {
            continue;
        }
        if let Ok(rel) = entry.path().strip_prefix(dir) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((entry.path().to_owned(), rel));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_instructions_join_continuations() {
        let insts = parse_dockerfile(
            "# c\nFROM x\nRUN a \\\n  # inner\n  b\nCMD [\"uvicorn\", \"app:app\", \"--port\", \"8000\"]\n",
        );
        let kws: Vec<&str> = insts.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(kws, ["FROM", "RUN", "CMD"]);
        assert_eq!(insts[1].args, "a b");
        assert_eq!(insts[2].line, 6);
        let cap = PORT_FLAG.captures(&insts[2].args).expect("port");
        assert_eq!(cap.get(1).map(|m| m.as_str()), Some("8000"));
        assert!(LOCAL_BIND.is_match("[\"x\", \"--host\", \"127.0.0.1\"]"));
        assert!(LOCAL_BIND.is_match("gunicorn -b localhost:8000 app"));
        assert!(!LOCAL_BIND.is_match("--host 0.0.0.0 --allowed localhosts"));
    }
}
