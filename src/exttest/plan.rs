//! Which suites an extension has: the folders looked at (the extension root, every build context
//! inside the extension, every immediate sub-folder with `tests/` or `test/`), the frameworks
//! each one uses, and the built image that runs them (the one whose build context is, or holds,
//! the folder).

use super::compose::{self, ComposeFile};
use super::detect::{self, Framework};
use crate::error::Result;
use crate::workspace::Extension;
use std::path::{Path, PathBuf};

/// One framework in one folder: a container run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suite {
    /// The folder relative to the extension, `/`-separated; `.` for the root.
    pub dir: String,
    /// The folder on disk.
    pub path: PathBuf,
    pub framework: Framework,
    /// Paths (relative to the folder) the container needs for these tests.
    pub markers: Vec<String>,
    /// The service whose image runs the suite: the one whose build context is (or holds) the
    /// folder. None when nothing kz builds holds it.
    pub service: Option<String>,
    /// That service's image.
    pub image: Option<String>,
    /// The folder relative to that service's build context (empty when it is the context).
    pub in_context: PathBuf,
}

/// A service kz builds: its name (the compose service), build context and image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub service: String,
    pub context: PathBuf,
    pub image: String,
}

impl Suite {
    /// `apps/x/backend pytest`, `tools/y npm test`: how the suite of `extension` is named.
    pub fn label(&self, extension: &str) -> String {
        if self.dir == "." {
            format!("{extension} {}", self.framework.label())
        } else {
            format!("{extension}/{} {}", self.dir, self.framework.label())
        }
    }
}

/// An extension's suites, its compose file (empty when there is none) and its built images.
#[derive(Clone, Debug)]
pub struct ExtensionPlan {
    pub compose: ComposeFile,
    pub built: Vec<Built>,
    pub suites: Vec<Suite>,
}

impl ExtensionPlan {
    /// The image kz built for `service`, if any.
    pub fn image_of(&self, service: &str) -> Option<&str> {
        self.built
            .iter()
            .find(|b| b.service == service)
            .map(|b| b.image.as_str())
    }

    /// The built service whose context is `dir` or holds it (the deepest), and `dir`'s place in it.
    fn building(&self, dir: &Path) -> Option<(&Built, PathBuf)> {
        self.built
            .iter()
            .filter_map(|b| {
                let ctx = compose::normalise(&b.context);
                let rel = dir.strip_prefix(&ctx).ok()?.to_path_buf();
                Some((b, rel, ctx.components().count()))
            })
            .max_by_key(|(_, _, depth)| *depth)
            .map(|(b, rel, _)| (b, rel))
    }
}

/// Look at `ext` and list its suites, root first, then folders in name order. `built` are the
/// images kz builds for the extension (`build::targets`).
pub fn plan(ext: &Extension, built: Vec<Built>) -> Result<ExtensionPlan> {
    let compose_path = ext.file(crate::compose::DEV_FILE);
    let compose = if compose_path.is_file() {
        compose::load(&compose_path, &ext.path)?
    } else {
        ComposeFile {
            path: compose_path,
            services: Vec::new(),
        }
    };
    let mut plan = ExtensionPlan {
        compose,
        built,
        suites: Vec::new(),
    };
    let root = compose::normalise(&ext.path);
    let mut dirs: Vec<PathBuf> = vec![root.clone()];
    for ctx in plan.built.iter().map(|b| compose::normalise(&b.context)) {
        if ctx.starts_with(&root) && ctx.is_dir() {
            dirs.push(ctx);
        }
    }
    dirs.extend(dirs_with_tests(&root));
    dirs.sort();
    dirs.dedup();
    let mut suites = Vec::new();
    for dir in dirs {
        let rel = rel_slash(&root, &dir);
        let (service, image, in_context) = match plan.building(&dir) {
            Some((b, rel)) => (Some(b.service.clone()), Some(b.image.clone()), rel),
            None => (None, None, PathBuf::new()),
        };
        for found in detect::detect(&dir) {
            suites.push(Suite {
                dir: rel.clone(),
                path: dir.clone(),
                framework: found.framework,
                markers: found.markers,
                service: service.clone(),
                image: image.clone(),
                in_context: in_context.clone(),
            });
        }
    }
    plan.suites = suites;
    Ok(plan)
}

/// Immediate sub-folders (not symlinks, not hidden, not node_modules) holding `tests/` or `test/`.
fn dirs_with_tests(root: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with('.') && name != "node_modules"
        })
        .map(|e| e.path())
        .filter(|p| ["tests", "test"].iter().any(|t| p.join(t).is_dir()))
        .collect();
    out.sort();
    out
}

fn rel_slash(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Kind;

    fn ext(files: &[(&str, &str)]) -> (tempfile::TempDir, Extension) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let e = Extension {
            kind: Kind::App,
            dir_name: "x".into(),
            path: dir.path().to_owned(),
        };
        (dir, e)
    }

    /// What the build's target list would say: every compose service with a context.
    fn plan_of(e: &Extension) -> ExtensionPlan {
        let compose_path = e.file(crate::compose::DEV_FILE);
        let built = if compose_path.is_file() {
            compose::load(&compose_path, &e.path)
                .expect("compose")
                .services
                .iter()
                .filter_map(|s| {
                    Some(Built {
                        service: s.name.clone(),
                        context: s.context.clone()?,
                        image: format!("img-{}", s.name),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        plan(e, built).expect("plan")
    }

    fn summary(p: &ExtensionPlan) -> Vec<String> {
        p.suites
            .iter()
            .map(|s| {
                format!(
                    "{} [{}] {}",
                    s.label("x"),
                    s.service.as_deref().unwrap_or("-"),
                    s.in_context.display()
                )
            })
            .collect()
    }

    #[test]
    fn each_build_context_and_test_folder_is_a_suite_dir() {
        let (_d, e) = ext(&[
            (
                "docker-compose.yml",
                "services:\n  frontend:\n    build: ./frontend\n  backend:\n    build: ./backend\n",
            ),
            ("backend/tests/test_api.py", ""),
            ("backend/requirements.txt", ""),
            (
                "backend/package.json",
                r#"{"scripts": {"test": "node --test"}}"#,
            ),
            (
                "frontend/package.json",
                r#"{"scripts": {"test": "vitest run"}}"#,
            ),
            ("worker/tests/test_w.py", ""),
            ("docs/README.md", ""),
        ]);
        let p = plan_of(&e);
        assert_eq!(
            summary(&p),
            [
                "x/backend pytest [backend] ",
                "x/backend npm test [backend] ",
                "x/frontend npm test [frontend] ",
                "x/worker pytest [-] ",
            ]
        );
    }

    #[test]
    fn a_root_context_runs_root_tests_and_holds_sub_folders() {
        let (_d, e) = ext(&[
            (
                "docker-compose.yml",
                "services:\n  tool:\n    build: .\n    image: kamiwazaai/tool:1.0.0\n",
            ),
            ("requirements-dev.txt", "pytest\n"),
            ("tests/test_server.py", ""),
            ("plugins/test/test_p.py", ""),
        ]);
        let p = plan_of(&e);
        assert_eq!(
            summary(&p),
            ["x pytest [tool] ", "x/plugins pytest [tool] plugins"]
        );
    }

    #[test]
    fn no_compose_and_no_tests_is_an_empty_plan() {
        let (_d, e) = ext(&[("kamiwaza.json", "{}"), ("Dockerfile", "FROM busybox\n")]);
        let p = plan_of(&e);
        assert!(p.suites.is_empty());
        let (_d, e) = ext(&[("tests/test_a.py", "")]);
        let p = plan_of(&e);
        assert_eq!(summary(&p), ["x pytest [-] "]);
    }

    #[test]
    fn a_tool_without_compose_runs_in_its_root_image() {
        let (_d, e) = ext(&[("Dockerfile", "FROM busybox\n"), ("tests/test_a.py", "")]);
        let built = vec![Built {
            service: "x".into(),
            context: e.path.join("."),
            image: "ns/x:1.0.0".into(),
        }];
        let p = plan(&e, built).expect("plan");
        assert_eq!(p.suites.len(), 1);
        assert_eq!(p.suites[0].service.as_deref(), Some("x"));
        assert_eq!(p.suites[0].image.as_deref(), Some("ns/x:1.0.0"));
        assert_eq!(p.image_of("x"), Some("ns/x:1.0.0"));
    }

    #[test]
    fn contexts_outside_the_extension_are_not_scanned() {
        let (_d, e) = ext(&[(
            "docker-compose.yml",
            "services:\n  shared:\n    build: ../shared\n",
        )]);
        let p = plan_of(&e);
        assert!(p.suites.is_empty());
    }
}
