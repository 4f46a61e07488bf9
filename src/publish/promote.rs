//! `kz promote`: a stage's images put under another stage's tags by manifest copy. Stages in one
//! registry differ only by tag suffix, so the manifest (an image or an index, byte for byte) is
//! read at the source tag and put at the target tag of the same repository: its digest is kept
//! and no layer moves. Copies between repositories or registries are refused (not done yet).

use super::images::{locate, Registries};
use crate::error::{Error, Result};
use crate::settings::{Settings, Stage};
use crate::workspace::Extension;
use serde::Serialize;
use std::path::Path;

/// One image promoted (or, in a dry run, to promote).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Promotion {
    pub from: String,
    pub to: String,
    pub digest: String,
}

/// The (source, target) references of `extensions`' kz-built images, service by service.
pub fn pairs(
    root: &Path,
    extensions: &[&Extension],
    settings: &Settings,
    from: &Stage,
    to: &Stage,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for ext in extensions {
        let sources = crate::build::targets(root, ext, settings, Some(from))?;
        let targets = crate::build::targets(root, ext, settings, Some(to))?;
        for (s, t) in sources.iter().zip(targets.iter()) {
            out.push((s.image().to_owned(), t.image().to_owned()));
        }
    }
    Ok(out)
}

/// Copy each source manifest to its target tag (only read them when `dry_run`).
pub async fn copy(
    pairs: &[(String, String)],
    registries: &mut Registries,
    dry_run: bool,
) -> Result<Vec<Promotion>> {
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for (from, to) in pairs {
        let (host, repo, tag) = locate(from);
        let (to_host, to_repo, to_tag) = locate(to);
        if host != to_host || repo != to_repo {
            return Err(Error::BadArgument {
                message: format!(
                    "{from} and {to} are in different repositories; kz promote copies manifests \
                     within one repository only"
                ),
                hint: "give both stages the same registry and namespace (they differ by tag \
                       suffix), or publish the target stage from source"
                    .to_owned(),
            });
        }
        let client = registries.get(&host)?;
        let Some(fetched) = client.manifest(&repo, &tag).await? else {
            missing.push(from.clone());
            continue;
        };
        if !dry_run {
            let media_type = serde_json::from_slice::<serde_json::Value>(&fetched.body)
                .ok()
                .and_then(|v| v.get("mediaType")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| {
                    if fetched.is_index() {
                        "application/vnd.oci.image.index.v1+json".to_owned()
                    } else {
                        "application/vnd.oci.image.manifest.v1+json".to_owned()
                    }
                });
            client
                .push_manifest(&to_repo, &to_tag, fetched.body.to_vec(), &media_type)
                .await?;
        }
        done.push(Promotion {
            from: from.clone(),
            to: to.clone(),
            digest: fetched.digest,
        });
    }
    if missing.is_empty() {
        Ok(done)
    } else {
        Err(Error::NotInRegistry { missing })
    }
}
