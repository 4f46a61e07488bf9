//! What `kz build` builds for an extension: every service of docker-compose.yml with a `build:`
//! block (a string, or a mapping with context, dockerfile / dockerfile_inline, args and target),
//! named with the image the App Garden file gets for it (the sync-compose transform is run, so the
//! two cannot disagree), re-tagged for the stage with `imageref::stage_image`, plus `latest`. An
//! extension without docker-compose.yml but with a root Dockerfile (a tool) is one image: its
//! kamiwaza.json `image`, else `<namespace>/<folder>` with the version tag.

use super::spec::{Spec, SpecDockerfile};
use super::{BuildTarget, Dockerfile, Origin};
use crate::compose::DEV_FILE;
use crate::error::{Error, Result};
use crate::fsx;
use crate::imageref::{self, ImageRef};
use crate::manifest::{self, Manifest};
use crate::settings::{Settings, Stage};
use crate::sync::{self, Plan};
use crate::workspace::Extension;
use crate::yaml::{self, Node, Value};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The images of `ext`, in compose order. `root` is the workspace root: contexts and
/// Dockerfiles must stay inside it.
pub fn targets(
    root: &Path,
    ext: &Extension,
    settings: &Settings,
    stage: Option<&Stage>,
) -> Result<Vec<BuildTarget>> {
    let dev = ext.file(DEV_FILE);
    if dev.is_file() {
        return compose_targets(root, ext, &dev, settings, stage);
    }
    let dockerfile = ext.file("Dockerfile");
    if !dockerfile.is_file() {
        return Ok(Vec::new());
    }
    let manifest_path = ext.file(manifest::FILE_NAME);
    let manifest = Manifest::load(&manifest_path)?;
    let version = manifest
        .get("version")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            Error::invalid(
                &manifest_path,
                "no string `version`, so the image of the root Dockerfile cannot be tagged",
            )
        })?;
    let image = match manifest.get("image").and_then(serde_json::Value::as_str) {
        Some(image) => image.to_owned(),
        None => format!(
            "{}/{}:{}",
            settings.namespace,
            ext.dir_name,
            imageref::version_tag(settings, version, None)
        ),
    };
    let origin = Origin {
        file: manifest_path,
        line: manifest.line_of("image").unwrap_or(0),
    };
    Ok(vec![BuildTarget {
        extension: ext.rel(),
        service: ext.dir_name.clone(),
        tags: tags(&image, settings, stage, &origin)?,
        context: clean(&ext.path),
        dockerfile: Dockerfile::Path(clean(&dockerfile)),
        args: BTreeMap::new(),
        target: None,
        origin,
        extra: super::BuildExtra::default(),
    }])
}

fn compose_targets(
    root: &Path,
    ext: &Extension,
    dev: &Path,
    settings: &Settings,
    stage: Option<&Stage>,
) -> Result<Vec<BuildTarget>> {
    let doc = load(dev)?;
    let services = match doc.get("services").map(|s| &s.value) {
        Some(Value::Map(services)) => services,
        _ => return Ok(Vec::new()),
    };
    let with_build: Vec<(String, &Node)> = services
        .iter()
        .filter_map(|(k, svc)| Some((k.py_str()?, svc.get("build")?)))
        .collect();
    if with_build.is_empty() {
        return Ok(Vec::new());
    }
    // THE image of each service is what sync-compose writes into the App Garden file.
    let images = match sync::plan(ext, settings)? {
        Plan::Ready(planned) => service_images(&planned.rendered, dev)?,
        Plan::NoDevFile => BTreeMap::new(),
    };
    let mut out = Vec::new();
    for (service, build) in with_build {
        let line = build.mark.line;
        let origin = Origin {
            file: dev.to_path_buf(),
            line,
        };
        let at = |message: String| {
            Error::invalid(dev, format!("line {line}: service `{service}`: {message}"))
        };
        let image = images.get(&service).ok_or_else(|| {
            at(
                "has `build` but no image can be named: kamiwaza.json has no `version` \
                (or add `image:` to the service)"
                    .to_owned(),
            )
        })?;
        let secrets_top = doc.get("secrets");
        let base = dev.parent().unwrap_or(Path::new("."));
        let spec = Spec::parse(build, settings, secrets_top, base)
            .map_err(|(l, m)| Error::invalid(dev, format!("line {l}: service `{service}`: {m}")))?;
        // Errors about the context or Dockerfile point at their own line when they have one.
        let key_line = |key: &str| build.get(key).map_or(line, |n| n.mark.line);
        let at_key = |key: &str, message: String| {
            let line = key_line(key);
            Error::invalid(dev, format!("line {line}: service `{service}`: {message}"))
        };
        let context = inside(root, &ext.path.join(&spec.context)).map_err(|m| {
            at_key(
                "context",
                format!(
                    "build context `{}` {m} (the workspace is `{}`)",
                    spec.context,
                    root.display()
                ),
            )
        })?;
        if !context.is_dir() {
            return Err(at_key(
                "context",
                format!("build context `{}` is not a folder", spec.context),
            ));
        }
        let dockerfile = match spec.dockerfile {
            SpecDockerfile::Inline(text) => Dockerfile::Inline(text),
            SpecDockerfile::Path(name) => {
                let path = inside(root, &context.join(&name)).map_err(|m| {
                    at_key(
                        "dockerfile",
                        format!(
                            "Dockerfile `{name}` {m} (the workspace is `{}`)",
                            root.display()
                        ),
                    )
                })?;
                if !path.is_file() {
                    return Err(at_key(
                        "dockerfile",
                        format!("Dockerfile `{name}` not found in `{}`", context.display()),
                    ));
                }
                Dockerfile::Path(path)
            }
        };
        out.push(BuildTarget {
            extension: ext.rel(),
            service: service.clone(),
            tags: tags(image, settings, stage, &origin)?,
            context,
            dockerfile,
            args: spec.args,
            target: spec.target,
            origin,
            extra: spec.extra,
        });
    }
    Ok(out)
}

fn load(path: &Path) -> Result<Node> {
    let text = fsx::read_text(path, fsx::MAX_TEXT_FILE)?;
    yaml::load(&text, &yaml::LoadLimits::default())
        .map_err(|source| Error::Yaml {
            path: path.to_path_buf(),
            source,
        })?
        .ok_or_else(|| Error::invalid(path, "the file is empty"))
}

/// service → `image` of the rendered App Garden text.
fn service_images(rendered: &str, dev: &Path) -> Result<BTreeMap<String, String>> {
    let doc = yaml::load(rendered, &yaml::LoadLimits::default())
        .map_err(|source| Error::Yaml {
            path: dev.to_path_buf(),
            source,
        })?
        .unwrap_or_else(|| Node::new(Value::Null));
    let mut out = BTreeMap::new();
    if let Some(Value::Map(services)) = doc.get("services").map(|s| &s.value) {
        for (k, svc) in services {
            if let (Some(name), Some(image)) = (k.py_str(), svc.get("image").and_then(Node::as_str))
            {
                out.insert(name, image.to_owned());
            }
        }
    }
    Ok(out)
}

/// The tags an image is built under: the stage's reference, then `latest` of the same repository.
fn tags(
    image: &str,
    settings: &Settings,
    stage: Option<&Stage>,
    origin: &Origin,
) -> Result<Vec<String>> {
    let refuse = |why: &str| {
        Error::invalid(
            &origin.file,
            format!("line {}: image `{image}` {why}", origin.line),
        )
    };
    if image.contains('$') {
        return Err(refuse(
            "holds a variable; kz cannot tag a build with it (write the name out)",
        ));
    }
    let staged = match stage {
        Some(stage) => imageref::stage_image(settings, image, stage),
        None => image.to_owned(),
    };
    let parsed = ImageRef::parse(&staged);
    if parsed.digest.is_some() {
        return Err(refuse(
            "is pinned by digest; a build cannot produce a digest",
        ));
    }
    let primary = parsed.with_tag(parsed.tag.as_deref().unwrap_or("latest"));
    let latest = parsed.with_tag("latest");
    let mut tags = vec![primary.to_string()];
    if latest != primary {
        tags.push(latest.to_string());
    }
    Ok(tags)
}

/// `path` lexically cleaned; an error saying why when it is not inside `root` (also after
/// resolving symlinks, so a context folder linked to `/etc` is caught).
fn inside(root: &Path, path: &Path) -> std::result::Result<PathBuf, &'static str> {
    let cleaned = clean(path);
    let root = clean(root);
    if !cleaned.starts_with(&root) {
        return Err("leaves the repository");
    }
    if let (Ok(real), Ok(real_root)) = (cleaned.canonicalize(), root.canonicalize()) {
        if !real.starts_with(real_root) {
            return Err("resolves (through a symbolic link) outside the repository");
        }
    }
    Ok(cleaned)
}

/// `..` and `.` folded without touching the disk.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_stage() {
        let s = Settings::default();
        let origin = Origin {
            file: PathBuf::from("x"),
            line: 1,
        };
        let dev = s.stage("dev").cloned();
        assert_eq!(
            tags("kamiwazaai/a-b:1.0.0", &s, dev.as_ref(), &origin).expect("tags"),
            ["kamiwazaai/a-b:1.0.0-dev", "kamiwazaai/a-b:latest"]
        );
        assert_eq!(
            tags("ghcr.io/o/x", &s, dev.as_ref(), &origin).expect("tags"),
            ["ghcr.io/o/x:latest"]
        );
        assert!(tags("kamiwazaai/x:${T}", &s, None, &origin).is_err());
        assert!(tags("kamiwazaai/x@sha256:ab", &s, None, &origin).is_err());
    }

    #[test]
    fn contexts_stay_in_the_repository() {
        let root = Path::new("/repo");
        assert_eq!(
            inside(root, Path::new("/repo/apps/x/./backend")),
            Ok(PathBuf::from("/repo/apps/x/backend"))
        );
        assert!(inside(root, Path::new("/repo/apps/x/../../..")).is_err());
        assert!(inside(root, Path::new("/repo/../etc")).is_err());
    }
}
