//! `kz new`: extension skeletons from templates/ (embedded in the binary). Names are checked
//! against the guide's rules; the new folder is assembled in a temporary folder and renamed into
//! place, so a failure leaves nothing behind, and an existing folder is never overwritten.

use crate::error::{Error, Result};
use crate::fsx;
use crate::settings::Settings;
use crate::workspace::Kind;
use std::path::{Path, PathBuf};

/// (kind, path inside the extension, template text). A service's backend is the app's backend.
type Template = (Kind, &'static str, &'static str);

static TEMPLATES: &[Template] = &[
    (
        Kind::App,
        "README.md",
        include_str!("../templates/app/README.md"),
    ),
    (
        Kind::App,
        "backend/Dockerfile",
        include_str!("../templates/app/backend/Dockerfile"),
    ),
    (
        Kind::App,
        "backend/app/__init__.py",
        include_str!("../templates/app/backend/app/__init__.py"),
    ),
    (
        Kind::App,
        "backend/app/main.py",
        include_str!("../templates/app/backend/app/main.py"),
    ),
    (
        Kind::App,
        "backend/requirements-dev.txt",
        include_str!("../templates/app/backend/requirements-dev.txt"),
    ),
    (
        Kind::App,
        "backend/requirements.txt",
        include_str!("../templates/app/backend/requirements.txt"),
    ),
    (
        Kind::App,
        "backend/tests/test_health.py",
        include_str!("../templates/app/backend/tests/test_health.py"),
    ),
    (
        Kind::App,
        "docker-compose.yml",
        include_str!("../templates/app/docker-compose.yml"),
    ),
    (
        Kind::App,
        "frontend/Dockerfile",
        include_str!("../templates/app/frontend/Dockerfile"),
    ),
    (
        Kind::App,
        "frontend/server.py",
        include_str!("../templates/app/frontend/server.py"),
    ),
    (
        Kind::App,
        "frontend/public/index.html",
        include_str!("../templates/app/frontend/public/index.html"),
    ),
    (
        Kind::App,
        "kamiwaza.json",
        include_str!("../templates/app/kamiwaza.json"),
    ),
    (
        Kind::Service,
        "README.md",
        include_str!("../templates/service/README.md"),
    ),
    (
        Kind::Service,
        "backend/Dockerfile",
        include_str!("../templates/app/backend/Dockerfile"),
    ),
    (
        Kind::Service,
        "backend/app/__init__.py",
        include_str!("../templates/app/backend/app/__init__.py"),
    ),
    (
        Kind::Service,
        "backend/app/main.py",
        include_str!("../templates/app/backend/app/main.py"),
    ),
    (
        Kind::Service,
        "backend/requirements-dev.txt",
        include_str!("../templates/app/backend/requirements-dev.txt"),
    ),
    (
        Kind::Service,
        "backend/requirements.txt",
        include_str!("../templates/app/backend/requirements.txt"),
    ),
    (
        Kind::Service,
        "backend/tests/test_health.py",
        include_str!("../templates/app/backend/tests/test_health.py"),
    ),
    (
        Kind::Service,
        "docker-compose.yml",
        include_str!("../templates/service/docker-compose.yml"),
    ),
    (
        Kind::Service,
        "kamiwaza.json",
        include_str!("../templates/service/kamiwaza.json"),
    ),
    (
        Kind::Tool,
        "Dockerfile",
        include_str!("../templates/tool/Dockerfile"),
    ),
    (
        Kind::Tool,
        "README.md",
        include_str!("../templates/tool/README.md"),
    ),
    (
        Kind::Tool,
        "docker-compose.yml",
        include_str!("../templates/tool/docker-compose.yml"),
    ),
    (
        Kind::Tool,
        "kamiwaza.json",
        include_str!("../templates/tool/kamiwaza.json"),
    ),
    (
        Kind::Tool,
        "requirements-dev.txt",
        include_str!("../templates/tool/requirements-dev.txt"),
    ),
    (
        Kind::Tool,
        "requirements.txt",
        include_str!("../templates/tool/requirements.txt"),
    ),
    (
        Kind::Tool,
        "src/__init__.py",
        include_str!("../templates/tool/src/__init__.py"),
    ),
    (
        Kind::Tool,
        "src/server.py",
        include_str!("../templates/tool/src/server.py"),
    ),
    (
        Kind::Tool,
        "tests/test_server.py",
        include_str!("../templates/tool/tests/test_server.py"),
    ),
];

/// Check a new extension's folder name against the guide's rules for `kind`.
pub fn check_name(kind: Kind, name: &str) -> Result<()> {
    let bad = |reason: String| {
        Err(Error::BadName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.contains(['/', '\\']) {
        return bad("it must be one folder name, without path separators".into());
    }
    let charset_ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !charset_ok {
        return bad(
            "use lowercase letters, digits and single hyphens, starting with a letter".into(),
        );
    }
    if name.len() > 63 {
        return bad("keep it to 63 characters (it becomes part of image names)".into());
    }
    match kind {
        Kind::Service if !name.starts_with("service-") => bad(format!(
            "service names start with `service-`; try `service-{name}`"
        )),
        Kind::Tool if !(name.starts_with("tool-") || name.starts_with("mcp-")) => bad(format!(
            "tool names start with `tool-` or `mcp-`; try `tool-{name}`"
        )),
        _ => Ok(()),
    }
}

/// `document-processor` → `Document Processor`.
fn title(name: &str) -> String {
    name.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The files of a new extension: (path inside the extension, contents).
pub fn render(kind: Kind, name: &str, settings: &Settings) -> Vec<(&'static str, String)> {
    let title = title(name);
    TEMPLATES
        .iter()
        .filter(|(k, _, _)| *k == kind)
        .map(|(_, path, text)| {
            let body = text
                .replace("{{name}}", name)
                .replace("{{title}}", &title)
                .replace("{{namespace}}", &settings.namespace);
            (*path, body)
        })
        .collect()
}

/// Create `<root>/<kind>s/<name>/` with the template files. Returns the new folder.
pub fn create(root: &Path, kind: Kind, name: &str, settings: &Settings) -> Result<PathBuf> {
    check_name(kind, name)?;
    let target = root.join(kind.dir()).join(name);
    fsx::create_dir_whole(&target, render(kind, name, settings))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name(Kind::App, "document-processor").is_ok());
        assert!(check_name(Kind::App, "Doc").is_err());
        assert!(check_name(Kind::App, "a/b").is_err());
        assert!(check_name(Kind::App, "-a").is_err());
        assert!(check_name(Kind::Service, "milvus").is_err());
        assert!(check_name(Kind::Service, "service-milvus").is_ok());
        assert!(check_name(Kind::Tool, "code-analyzer").is_err());
        assert!(check_name(Kind::Tool, "mcp-code").is_ok());
        assert_eq!(title("tool-git-mcp"), "Tool Git Mcp");
    }

    #[test]
    fn every_kind_has_its_files_and_no_placeholder_left() {
        let s = Settings::default();
        for (kind, name) in [
            (Kind::App, "a"),
            (Kind::Service, "service-b"),
            (Kind::Tool, "tool-c"),
        ] {
            let files = render(kind, name, &s);
            assert!(files.iter().any(|(p, _)| *p == "kamiwaza.json"));
            assert!(files.iter().any(|(p, _)| *p == "docker-compose.yml"));
            for (path, body) in files {
                assert!(!body.contains("{{"), "{path} keeps a placeholder");
            }
        }
    }
}
