//! Digest pins and image checks for catalogues: which images of a stage kz builds
//! ([`kz_built`]), every image a catalogue names ([`named_images`]), the digest the registry holds
//! for each ([`resolve`]: `kz publish`, `kz build-registry --pin`), and whether each is there for
//! every platform ([`verify`]: `kz verify-images`, `kz publish --catalog-only`).
//!
//! A pinned reference is `repo:tag@sha256:...` (kz-ext's form: the tag stays for people, the
//! digest is what a host pulls). Reads registries; writes nothing.

use super::images::{locate, Registries};
use crate::error::{Error, Result};
use crate::registry::Pins;
use crate::settings::{Settings, Stage};
use crate::workspace::Extension;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The references kz builds and pushes for `extensions` at `stage`.
pub fn kz_built(
    root: &Path,
    extensions: &[&Extension],
    settings: &Settings,
    stage: &Stage,
) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for ext in extensions {
        for target in crate::build::targets(root, ext, settings, Some(stage))? {
            out.insert(target.image().to_owned());
        }
    }
    Ok(out)
}

/// Every image an entry list (the text of apps.json or tools.json) names: `docker_images`,
/// `extra_docker_images` and `image`, each once, sorted.
pub fn named_images(json_text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(json_text) else {
        return out;
    };
    for entry in &entries {
        for key in ["docker_images", "extra_docker_images"] {
            if let Some(Value::Array(images)) = entry.get(key) {
                out.extend(
                    images
                        .iter()
                        .filter_map(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        if let Some(image) = entry.get("image").and_then(Value::as_str) {
            if !image.is_empty() {
                out.insert(image.to_owned());
            }
        }
    }
    out
}

/// The pins for an unpinned `catalogue` of `ws` at `stage`: every image it names that kz builds
/// (and, with `external`, every other image it names), resolved by [`resolve`].
pub async fn for_catalogue(
    ws: &crate::workspace::Workspace,
    settings: &Settings,
    stage: &Stage,
    catalogue: &crate::registry::Catalogue,
    known: &Pins,
    external: bool,
    registries: &mut Registries,
) -> Result<Pins> {
    let all: Vec<&Extension> = ws.extensions.iter().collect();
    let built = kz_built(&ws.root, &all, settings, stage)?;
    let mut named = named_images(&catalogue.apps_json);
    named.extend(named_images(&catalogue.tools_json));
    let refs: BTreeSet<String> = named
        .into_iter()
        .filter(|r| !r.contains('@') && (external || built.contains(r)))
        .collect();
    resolve(&refs, known, registries).await
}

/// `repo:tag@sha256:...` → (`repo:tag`, `Some(sha256:...)`); an unpinned reference → (it, None).
pub fn split_pin(reference: &str) -> (&str, Option<&str>) {
    match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    }
}

/// The digest of each of `refs` (unpinned references): for one in `known` (just pushed), that
/// digest, checked to be in the registry; otherwise what its tag resolves to there. Every
/// reference the registry lacks is named in one [`Error::NotInRegistry`].
pub async fn resolve(
    refs: &BTreeSet<String>,
    known: &Pins,
    registries: &mut Registries,
) -> Result<Pins> {
    let mut pins = Pins::new();
    let mut missing = Vec::new();
    for reference in refs {
        let (host, repo, tag) = locate(reference);
        let client = registries.get(&host)?;
        match known.get(reference) {
            Some(digest) => match client.manifest(&repo, digest).await? {
                Some(_) => {
                    pins.insert(reference.clone(), digest.clone());
                }
                None => missing.push(format!("{reference}@{digest}")),
            },
            None => match client.manifest(&repo, &tag).await? {
                Some(found) => {
                    pins.insert(reference.clone(), found.digest);
                }
                None => missing.push(reference.clone()),
            },
        }
    }
    if missing.is_empty() {
        Ok(pins)
    } else {
        Err(Error::NotInRegistry { missing })
    }
}

/// What is wrong with each of `refs` (pinned or not) in its registry, for `platforms`: the
/// reference is missing, or it lacks a platform. Empty when every image is complete.
pub async fn verify(
    refs: &BTreeSet<String>,
    platforms: &[String],
    registries: &mut Registries,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for reference in refs {
        let (name, digest) = split_pin(reference);
        let (host, repo, tag) = locate(name);
        let at = digest.unwrap_or(&tag);
        let client = registries.get(&host)?;
        let Some(image) = client.remote_image(&repo, at).await? else {
            problems.push(format!("{reference}: not in the registry"));
            continue;
        };
        let lacking: Vec<&str> = platforms
            .iter()
            .filter(|p| !image.platforms.iter().any(|r| &r.platform == *p))
            .map(String::as_str)
            .collect();
        if !lacking.is_empty() {
            problems.push(format!(
                "{reference}: no image for {} (it has {})",
                lacking.join(", "),
                image
                    .platforms
                    .iter()
                    .map(|r| r.platform.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_images_reads_every_list_once() {
        let text = r#"[{"docker_images": ["a:1", "b:2"], "extra_docker_images": ["a:1", "c:3"]},
                       {"image": "d:4", "docker_images": ["d:4"]}, {"docker_images": [""]}]"#;
        let got: Vec<String> = named_images(text).into_iter().collect();
        assert_eq!(got, ["a:1", "b:2", "c:3", "d:4"]);
        assert!(named_images("not json").is_empty());
    }

    #[test]
    fn pins_split_at_the_at_sign() {
        assert_eq!(
            split_pin("r:5000/x:1@sha256:ab"),
            ("r:5000/x:1", Some("sha256:ab"))
        );
        assert_eq!(split_pin("x:1"), ("x:1", None));
    }
}
