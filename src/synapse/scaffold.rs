//! `kz new synapse SLUG --framework X`: a Synapse app folder from templates/synapse/ (embedded in
//! the binary): synapse-app.yaml filled in for the framework, the Dockerfile and entry files of
//! its recipe, a /health that answers 200, the bridge in the HTML head, the design tokens, a
//! README. The folder is assembled beside its final place and renamed in, so a failure leaves
//! nothing behind; an existing folder is never touched.

use super::{Target, FILE_NAME};
use crate::error::{Error, Result};
use crate::fsx;
use std::path::{Path, PathBuf};

/// The nine recipes, in the guide's order of preference (React is the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Framework {
    React,
    Vue,
    Next,
    Nuxt,
    Gradio,
    Streamlit,
    Static,
    Django,
    Fastapi,
}

impl Framework {
    pub const ALL: [Framework; 9] = [
        Framework::React,
        Framework::Vue,
        Framework::Next,
        Framework::Nuxt,
        Framework::Gradio,
        Framework::Streamlit,
        Framework::Static,
        Framework::Django,
        Framework::Fastapi,
    ];

    /// `react`, `vue`, … (the `--framework` value and the template folder).
    pub fn name(self) -> &'static str {
        match self {
            Framework::React => "react",
            Framework::Vue => "vue",
            Framework::Next => "next",
            Framework::Nuxt => "nuxt",
            Framework::Gradio => "gradio",
            Framework::Streamlit => "streamlit",
            Framework::Static => "static",
            Framework::Django => "django",
            Framework::Fastapi => "fastapi",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Framework::React => "React, Vite and TypeScript",
            Framework::Vue => "Vue 3, Vite and TypeScript",
            Framework::Next => "Next.js",
            Framework::Nuxt => "Nuxt 3",
            Framework::Gradio => "Gradio on FastAPI",
            Framework::Streamlit => "Streamlit",
            Framework::Static => "static HTML served by busybox httpd",
            Framework::Django => "Django",
            Framework::Fastapi => "FastAPI",
        }
    }

    /// The container port (SKILL.md's defaults).
    pub fn port(self) -> u16 {
        match self {
            Framework::React | Framework::Vue => 5173,
            Framework::Next | Framework::Nuxt => 3000,
            Framework::Gradio => 7860,
            Framework::Streamlit => 8501,
            Framework::Static | Framework::Django | Framework::Fastapi => 8080,
        }
    }

    pub fn health_path(self) -> &'static str {
        match self {
            Framework::Streamlit => "/_stcore/health",
            _ => "/health",
        }
    }

    fn sandbox(self) -> &'static [&'static str] {
        match self {
            Framework::Next => &[
                "allow-scripts",
                "allow-same-origin",
                "allow-forms",
                "allow-popups",
                "allow-downloads",
            ],
            _ => &[
                "allow-scripts",
                "allow-same-origin",
                "allow-forms",
                "allow-popups",
            ],
        }
    }

    /// Nuxt's first start is slow; the others fit the template's minute.
    fn start_timeout_ms(self) -> u64 {
        match self {
            Framework::Nuxt => 300_000,
            _ => 60_000,
        }
    }

    fn node(self) -> bool {
        matches!(
            self,
            Framework::React | Framework::Vue | Framework::Next | Framework::Nuxt
        )
    }

    fn dockerignore(self) -> &'static str {
        if self.node() {
            include_str!("../../templates/synapse/common/dockerignore-node")
        } else if self == Framework::Static {
            include_str!("../../templates/synapse/common/dockerignore-static")
        } else {
            include_str!("../../templates/synapse/common/dockerignore-python")
        }
    }

    /// Where the design tokens go.
    fn stylesheet(self) -> &'static str {
        match self {
            Framework::React => "src/index.css",
            Framework::Vue => "src/style.css",
            Framework::Next => "app/globals.css",
            Framework::Nuxt => "assets/css/main.css",
            Framework::Static => "public/style.css",
            Framework::Django => "static/style.css",
            Framework::Fastapi => "static/style.css",
            Framework::Gradio | Framework::Streamlit => "",
        }
    }

    /// The host the bridge posts to: the parent frame, or its parent for Streamlit, whose
    /// components run in a nested iframe.
    fn bridge_host(self) -> &'static str {
        match self {
            Framework::Streamlit => "window.parent.parent",
            _ => "window.parent",
        }
    }

    fn dev_hint(self) -> &'static str {
        match self {
            Framework::React | Framework::Vue => {
                "pnpm install && pnpm dev      # on the host, with hot reload"
            }
            Framework::Next => "pnpm install && pnpm dev      # next dev on the host",
            Framework::Nuxt => "pnpm install && pnpm dev      # nuxi dev on the host",
            Framework::Gradio | Framework::Fastapi => {
                "pip install -r requirements.txt && uvicorn app:app --reload --port 8000"
            }
            Framework::Streamlit => "pip install -r requirements.txt && streamlit run app.py",
            Framework::Static => "busybox httpd -f -p 8080 -h public   # or any static server",
            Framework::Django => "pip install -r requirements.txt && python manage.py runserver",
        }
    }
}

impl std::fmt::Display for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! t {
    ($fw:ident, $path:literal) => {
        (
            Framework::$fw,
            $path,
            include_str!(concat!(
                "../../templates/synapse/",
                stringify_fw!($fw),
                "/",
                $path
            )),
        )
    };
}

macro_rules! stringify_fw {
    (React) => {
        "react"
    };
    (Vue) => {
        "vue"
    };
    (Next) => {
        "next"
    };
    (Nuxt) => {
        "nuxt"
    };
    (Gradio) => {
        "gradio"
    };
    (Streamlit) => {
        "streamlit"
    };
    (Static) => {
        "static"
    };
    (Django) => {
        "django"
    };
    (Fastapi) => {
        "fastapi"
    };
}

/// (framework, path inside the app, template text): the recipe files of each framework.
static FILES: &[(Framework, &str, &str)] = &[
    t!(React, "Dockerfile"),
    t!(React, "index.html"),
    t!(React, "package.json"),
    t!(React, "src/App.tsx"),
    t!(React, "src/main.tsx"),
    t!(React, "tsconfig.json"),
    t!(React, "vite.config.ts"),
    t!(Vue, "Dockerfile"),
    t!(Vue, "index.html"),
    t!(Vue, "package.json"),
    t!(Vue, "src/App.vue"),
    t!(Vue, "src/env.d.ts"),
    t!(Vue, "src/main.ts"),
    t!(Vue, "tsconfig.json"),
    t!(Vue, "vite.config.ts"),
    t!(Next, "Dockerfile"),
    t!(Next, "app/health/route.ts"),
    t!(Next, "app/layout.tsx"),
    t!(Next, "app/page.tsx"),
    t!(Next, "next.config.ts"),
    t!(Next, "package.json"),
    t!(Next, "tsconfig.json"),
    t!(Nuxt, ".npmrc"),
    t!(Nuxt, "Dockerfile"),
    t!(Nuxt, "app.vue"),
    t!(Nuxt, "nuxt.config.ts"),
    t!(Nuxt, "package.json"),
    t!(Nuxt, "pages/index.vue"),
    t!(Nuxt, "server/routes/health.ts"),
    t!(Gradio, "Dockerfile"),
    t!(Gradio, "app.py"),
    t!(Gradio, "requirements.txt"),
    t!(Streamlit, ".streamlit/config.toml"),
    t!(Streamlit, "Dockerfile"),
    t!(Streamlit, "app.py"),
    t!(Streamlit, "requirements.txt"),
    t!(Static, "Dockerfile"),
    t!(Static, "public/app.js"),
    t!(Static, "public/health"),
    t!(Static, "public/index.html"),
    t!(Django, "Dockerfile"),
    t!(Django, "config/__init__.py"),
    t!(Django, "config/settings.py"),
    t!(Django, "config/urls.py"),
    t!(Django, "config/wsgi.py"),
    t!(Django, "manage.py"),
    t!(Django, "requirements.txt"),
    t!(Django, "templates/index.html"),
    t!(Django, "web/__init__.py"),
    t!(Django, "web/views.py"),
    t!(Fastapi, "Dockerfile"),
    t!(Fastapi, "app.py"),
    t!(Fastapi, "requirements.txt"),
    t!(Fastapi, "static/index.html"),
];

const MANIFEST: &str = include_str!("../../templates/synapse/common/synapse-app.yaml");
const README: &str = include_str!("../../templates/synapse/common/README.md");
const BRIDGE: &str = include_str!("../../templates/synapse/common/bridge.js");
const TOKENS: &str = include_str!("../../templates/synapse/common/tokens.css");
const STATIC_APP_JS: &str = include_str!("../../templates/synapse/static/public/app.js");

/// The template slots kz fills; none may survive rendering.
pub const SLOTS: &[&str] = &[
    "{{slug}}",
    "{{title}}",
    "{{port}}",
    "{{health}}",
    "{{sandbox}}",
    "{{start_timeout}}",
    "{{framework}}",
    "{{framework_label}}",
    "{{registry}}",
    "{{namespace}}",
    "{{bridge}}",
    "{{bridge_host}}",
    "{{files}}",
    "{{dev}}",
];

/// Check a slug: `^[a-z][a-z0-9-]{1,62}$`.
pub fn check_slug(slug: &str) -> Result<()> {
    if crate::synapse::lint::is_slug(slug) {
        Ok(())
    } else {
        Err(Error::BadName {
            name: slug.to_owned(),
            reason: "a Synapse slug is 2 to 63 lowercase letters, digits or hyphens, starting \
                     with a letter"
                .to_owned(),
        })
    }
}

/// `label-review` → `Label Review`.
fn title(slug: &str) -> String {
    slug.split('-')
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

/// The files of a new app: (path inside the app folder, contents), sorted by path.
pub fn render(slug: &str, framework: Framework, target: &Target) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = FILES
        .iter()
        .filter(|(fw, _, _)| *fw == framework)
        .map(|(_, path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    if !framework.stylesheet().is_empty() {
        files.push((framework.stylesheet().to_owned(), TOKENS.to_owned()));
    }
    match framework {
        Framework::Next | Framework::Nuxt => {
            files.push(("public/synapse-bridge.js".to_owned(), BRIDGE.to_owned()));
        }
        Framework::Fastapi => files.push(("static/app.js".to_owned(), STATIC_APP_JS.to_owned())),
        _ => {}
    }
    files.push((
        ".dockerignore".to_owned(),
        framework.dockerignore().to_owned(),
    ));
    let sources: Vec<String> = {
        let mut s: Vec<String> = files
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| p != "Dockerfile" && p != ".dockerignore")
            .collect();
        s.sort();
        s.iter().map(|p| format!("`{p}`")).collect()
    };
    files.push((FILE_NAME.to_owned(), MANIFEST.to_owned()));
    files.push(("README.md".to_owned(), README.to_owned()));
    let sandbox: String = framework
        .sandbox()
        .iter()
        .map(|t| format!("    - {t}"))
        .collect::<Vec<_>>()
        .join("\n");
    let title = title(slug);
    let bridge = BRIDGE
        .replace("{{slug}}", slug)
        .replace("{{bridge_host}}", framework.bridge_host());
    let fill = |text: &str| {
        text.replace("{{bridge}}", bridge.trim_end())
            .replace("{{bridge_host}}", framework.bridge_host())
            .replace("{{slug}}", slug)
            .replace("{{title}}", &title)
            .replace("{{port}}", &framework.port().to_string())
            .replace("{{health}}", framework.health_path())
            .replace("{{sandbox}}", &sandbox)
            .replace(
                "{{start_timeout}}",
                &framework.start_timeout_ms().to_string(),
            )
            .replace("{{framework_label}}", framework.label())
            .replace("{{framework}}", framework.name())
            .replace("{{registry}}", target.registry())
            .replace("{{namespace}}", target.namespace())
            .replace("{{files}}", &sources.join(", "))
            .replace("{{dev}}", framework.dev_hint())
    };
    let mut out: Vec<(String, String)> = files
        .into_iter()
        .map(|(path, text)| (path, fill(&text)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Create `<parent>/<slug>/` with the app's files. Returns the new folder.
pub fn create(parent: &Path, slug: &str, framework: Framework, target: &Target) -> Result<PathBuf> {
    check_slug(slug)?;
    let dest = parent.join(slug);
    fsx::create_dir_whole(&dest, render(slug, framework, target))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framework_renders_with_no_slot_left() {
        let target = Target::default();
        for fw in Framework::ALL {
            let files = render("my-app", fw, &target);
            let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
            for required in [
                "synapse-app.yaml",
                "Dockerfile",
                ".dockerignore",
                "README.md",
            ] {
                assert!(names.contains(&required), "{fw}: no {required}");
            }
            for (path, body) in &files {
                for slot in SLOTS {
                    assert!(!body.contains(slot), "{fw}: {path} keeps {slot}");
                }
            }
            let bridge = files.iter().any(|(_, b)| b.contains("synapse:ready"));
            assert!(bridge, "{fw}: no bridge");
            assert!(
                !files.iter().any(|(_, b)| b.contains("APP_NAME")),
                "{fw}: APP_NAME left"
            );
        }
    }

    #[test]
    fn slugs() {
        assert!(check_slug("my-app").is_ok());
        assert!(check_slug("a").is_err());
        assert!(check_slug("1st").is_err());
        assert!(check_slug("My").is_err());
        assert!(check_slug(&"a".repeat(64)).is_err());
        assert_eq!(title("label-review"), "Label Review");
    }
}
