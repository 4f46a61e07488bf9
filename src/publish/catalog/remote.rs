//! What a stage holds (`kz published`, `kz download-registry`): its catalogue files and previews
//! read from the bucket, and a summary of each entry. Reads only.

use super::merge::parse_published;
use super::{Store, Target};
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;

/// The catalogue files of a garden folder.
pub const FILES: [&str; 2] = ["apps.json", "tools.json"];

/// A stage's published catalogue: each file's bytes (absent files left out) and its previews.
#[derive(Debug, Default)]
pub struct Remote {
    /// (`apps.json` | `tools.json`, bytes).
    pub files: Vec<(String, Vec<u8>)>,
    /// (file name inside the images folder, bytes).
    pub previews: Vec<(String, Vec<u8>)>,
}

/// One published entry, as `kz published` lists it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub file: String,
    pub name: String,
    pub version: String,
    pub kamiwaza_version: Option<String>,
    pub images: Vec<String>,
    /// How many of `images` are named by digest (`...@sha256:`).
    pub pinned: usize,
}

/// Read the catalogue files (and, with `previews`, every preview) of `target`.
pub async fn fetch(store: &Store, target: &Target, previews: bool) -> Result<Remote> {
    let mut remote = Remote::default();
    for file in FILES {
        if let Some(obj) = store.get(&format!("{}{file}", target.prefix())).await? {
            remote.files.push((file.to_owned(), obj.bytes));
        }
    }
    if previews {
        let prefix = format!("{}{}/", target.prefix(), target.layout.images_dir());
        for listed in store.list(&prefix).await? {
            let name = listed.key[prefix.len()..].to_owned();
            // Only plain file names: nothing nested, nothing that climbs out of the folder.
            if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.')
            {
                continue;
            }
            if let Some(obj) = store.get(&listed.key).await? {
                remote.previews.push((name, obj.bytes));
            }
        }
    }
    Ok(remote)
}

/// Every entry of `remote`'s files, in file and entry order.
pub fn summarize(remote: &Remote, url: &str) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    for (file, bytes) in &remote.files {
        let entries = parse_published(file, bytes).map_err(|message| Error::Published {
            url: format!("{url}{file}"),
            message,
        })?;
        for entry in entries {
            let text = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_owned);
            let mut images: Vec<String> = Vec::new();
            for key in ["docker_images", "extra_docker_images"] {
                if let Some(Value::Array(list)) = entry.get(key) {
                    for image in list.iter().filter_map(Value::as_str) {
                        if !images.iter().any(|i| i == image) {
                            images.push(image.to_owned());
                        }
                    }
                }
            }
            out.push(Summary {
                file: file.clone(),
                name: text("name").unwrap_or_default(),
                version: text("version").unwrap_or_default(),
                kamiwaza_version: text("kamiwaza_version"),
                pinned: images.iter().filter(|i| i.contains("@sha256:")).count(),
                images,
            });
        }
    }
    Ok(out)
}
