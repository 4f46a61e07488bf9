//! Image references. `extension_image` is the one function that names an extension service's
//! image; sync-compose, build, the registry and publish all call it. `stage_image` is the one
//! function that gives an image its stage tag (build-registry, publish). `ImageRef` parses
//! references with registry ports and digests, which the reference scripts corrupt.

use crate::settings::{Settings, Stage};

/// `[registry/]repository[:tag][@digest]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse a reference the way Docker does: the first path part is a registry when it holds a
    /// `.` or a `:` or is `localhost`; the tag is after the last `:` of the last path part.
    pub fn parse(s: &str) -> ImageRef {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_owned())),
            None => (s, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, tail))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), tail)
            }
            _ => (None, rest),
        };
        let last_slash = path.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match path[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (path[..at].to_owned(), Some(path[at + 1..].to_owned()))
            }
            None => (path.to_owned(), None),
        };
        ImageRef {
            registry,
            repository,
            tag,
            digest,
        }
    }

    /// Whether the repository lives in `namespace` (a path component, not a substring).
    /// A namespace may name its registry (`127.0.0.1:5000/team`): the registry is then part of
    /// the path compared.
    pub fn in_namespace(&self, namespace: &str) -> bool {
        let full = match &self.registry {
            Some(r) => format!("{r}/{}", self.repository),
            None => self.repository.clone(),
        };
        let parts: Vec<&str> = full.split('/').collect();
        let ns: Vec<&str> = namespace.split('/').collect();
        parts.len() > ns.len()
            && parts
                .windows(ns.len())
                .take(parts.len() - ns.len())
                .any(|w| w == ns.as_slice())
    }

    /// The same image with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The tag an extension version gets: the tag template applied to the version (a leading `v`
/// on the version is dropped first, so `v{version}` never gives `vv1.0.0`), plus the stage suffix.
pub fn version_tag(settings: &Settings, version: &str, stage: Option<&Stage>) -> String {
    let bare = match version.strip_prefix('v') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    };
    let mut tag = settings.tag_template.replace("{version}", bare);
    if let Some(stage) = stage {
        tag.push_str(&stage.tag_suffix);
    }
    tag
}

/// THE image reference of an extension service: `<namespace>/<extension-dir>-<service>:<tag>`.
pub fn extension_image(
    settings: &Settings,
    extension_dir: &str,
    service: &str,
    version: &str,
    stage: Option<&Stage>,
) -> String {
    format!(
        "{}/{}-{}:{}",
        settings.namespace,
        extension_dir,
        service,
        version_tag(settings, version, stage)
    )
}

/// THE image reference a stage publishes: images of the workspace's namespace get their tag
/// re-staged (`stage_tag`); a missing tag is `latest`. Everything else is left as written:
/// other people's images, digest-pinned references (a digest is deliberate; the reference turns
/// `@sha256:…` into `@sha256:1.2.3-dev`) and references with `${…}` variables (compose fills
/// those in at deploy time).
pub fn stage_image(settings: &Settings, image: &str, stage: &Stage) -> String {
    if image.contains('$') {
        return image.to_owned();
    }
    let r = ImageRef::parse(image);
    if r.digest.is_some() || !r.in_namespace(&settings.namespace) {
        return image.to_owned();
    }
    let tag = r.tag.as_deref().unwrap_or("latest");
    r.with_tag(&stage_tag(settings, tag, stage)).to_string()
}

/// A tag as `stage` publishes it: any stage suffix already on it is dropped (so `1.0.0-dev`
/// becomes `1.0.0` in prod, which the reference forgets), a version goes through the tag template
/// (`v1.0.0` → `1.0.0` with the default template), and the stage's suffix is appended.
pub fn stage_tag(settings: &Settings, tag: &str, stage: &Stage) -> String {
    let suffix = settings
        .stages
        .iter()
        .map(|s| s.tag_suffix.as_str())
        .filter(|s| !s.is_empty() && tag.len() > s.len() && tag.ends_with(s))
        .max_by_key(|s| s.len());
    let bare = suffix.map_or(tag, |s| &tag[..tag.len() - s.len()]);
    let unprefixed = bare.strip_prefix('v').unwrap_or(bare);
    if unprefixed.starts_with(|c: char| c.is_ascii_digit()) {
        version_tag(settings, bare, Some(stage))
    } else {
        format!("{bare}{}", stage.tag_suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let r = ImageRef::parse("localhost:5000/kamiwazaai/x:1.0");
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.repository, "kamiwazaai/x");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        let d = ImageRef::parse("kamiwazaai/x@sha256:abc");
        assert_eq!(d.tag, None);
        assert_eq!(d.digest.as_deref(), Some("sha256:abc"));
        let plain = ImageRef::parse("localhost:1.2.3");
        assert_eq!(plain.registry, None);
        assert_eq!(plain.tag.as_deref(), Some("1.2.3"));
        for s in [
            "nginx",
            "ghcr.io/o/x:1",
            "x:latest@sha256:ab",
            "localhost:5000/a/b",
        ] {
            assert_eq!(ImageRef::parse(s).to_string(), s);
        }
    }

    #[test]
    fn namespace_is_a_component() {
        assert!(ImageRef::parse("kamiwazaai/x:1").in_namespace("kamiwazaai"));
        assert!(ImageRef::parse("localhost:5000/kamiwazaai/x").in_namespace("kamiwazaai"));
        assert!(!ImageRef::parse("notkamiwazaai/x").in_namespace("kamiwazaai"));
        assert!(!ImageRef::parse("kamiwazaai").in_namespace("kamiwazaai"));
        let with_host = ImageRef::parse("127.0.0.1:5000/team/x:1");
        assert!(with_host.in_namespace("127.0.0.1:5000/team"));
        assert!(with_host.in_namespace("team"));
        assert!(!with_host.in_namespace("127.0.0.1:5001/team"));
    }

    #[test]
    fn one_function_for_names() {
        let mut s = Settings::default();
        assert_eq!(
            extension_image(&s, "chat", "backend", "0.1.0", None),
            "kamiwazaai/chat-backend:0.1.0"
        );
        let dev = s.stage("dev").cloned();
        assert_eq!(
            extension_image(&s, "chat", "api", "v1.0.0", dev.as_ref()),
            "kamiwazaai/chat-api:1.0.0-dev"
        );
        s.tag_template = "v{version}".into();
        assert_eq!(version_tag(&s, "1.0.0", None), "v1.0.0");
    }

    #[test]
    fn stage_images() {
        let s = Settings::default();
        let stage = |name: &str| s.stage(name).cloned().expect("stage");
        let (dev, prod) = (stage("dev"), stage("prod"));
        let cases = [
            ("kamiwazaai/x:1.0.0", &dev, "kamiwazaai/x:1.0.0-dev"),
            ("kamiwazaai/x:v2.0.0-stage", &dev, "kamiwazaai/x:2.0.0-dev"),
            ("kamiwazaai/x:1.0.0-dev", &prod, "kamiwazaai/x:1.0.0"),
            ("kamiwazaai/x:1.0.0-stage", &prod, "kamiwazaai/x:1.0.0"),
            ("kamiwazaai/x", &dev, "kamiwazaai/x:latest-dev"),
            ("kamiwazaai/x:latest-dev", &prod, "kamiwazaai/x:latest"),
            (
                "localhost:5000/kamiwazaai/x:1",
                &dev,
                "localhost:5000/kamiwazaai/x:1-dev",
            ),
            ("kamiwazaai/x@sha256:abc", &dev, "kamiwazaai/x@sha256:abc"),
            ("kamiwazaai/x:${TAG}", &dev, "kamiwazaai/x:${TAG}"),
            ("nginx:1.25", &dev, "nginx:1.25"),
            ("notkamiwazaai/x:1", &dev, "notkamiwazaai/x:1"),
        ];
        for (image, st, want) in cases {
            assert_eq!(stage_image(&s, image, st), want, "{image} @ {}", st.name);
        }
        let v = Settings {
            tag_template: "v{version}".into(),
            ..Settings::default()
        };
        assert_eq!(stage_tag(&v, "1.0.0-dev", &prod), "v1.0.0");
        assert_eq!(stage_tag(&v, "v1.0.0", &dev), "v1.0.0-dev");
    }
}
