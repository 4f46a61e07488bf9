//! `kz retarget`: move a Synapse app to another registry and/or namespace by rewriting
//! `runtime.image` in synapse-app.yaml in place. Only the image's characters change; every
//! other byte of the file (comments, quoting, key order, line ends) is kept, so the next
//! `kz build` labels the image with the file as the user wrote it, plus the new name.

use super::lint::split_image;
use super::AppManifest;
use crate::error::Error;

/// What [`retarget`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retarget {
    pub old: String,
    pub new: String,
    /// The whole file with the new image (the same bytes when `old == new`).
    pub bytes: Vec<u8>,
}

/// The manifest's bytes with `runtime.image` moved to `registry` and/or `namespace` (each
/// kept from the current image when `None`); the name and tag stay.
pub fn retarget(
    manifest: &AppManifest,
    registry: Option<&str>,
    namespace: Option<&str>,
) -> Result<Retarget, Error> {
    let path = &manifest.path;
    let node = manifest
        .at("runtime.image")
        .ok_or_else(|| Error::invalid(path, "runtime.image is missing"))?;
    let old = node
        .as_str()
        .ok_or_else(|| Error::invalid(path, "runtime.image is not a string"))?;
    let parts = split_image(old)
        .filter(|_| !old.contains('@'))
        .ok_or_else(|| {
            Error::invalid(
                path,
                format!("runtime.image `{old}` is not `<registry>/<namespace>/<name>:<tag>`"),
            )
        })?;
    if let Some(r) = registry {
        if r.is_empty() || r.contains(['/', ' ', '@']) {
            return Err(Error::Usage {
                message: format!("--registry `{r}` is not a registry host (host[:port])"),
            });
        }
    }
    if let Some(ns) = namespace {
        let ok = !ns.is_empty()
            && ns.split('/').all(|seg| {
                !seg.is_empty()
                    && seg.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !ok {
            return Err(Error::Usage {
                message: format!(
                    "--ns `{ns}` is not a repository namespace (lowercase letters, digits, \
                     `.`, `_`, `-`, `/`)"
                ),
            });
        }
    }
    let registry = registry.unwrap_or(parts.registry);
    let namespace = namespace.unwrap_or(parts.namespace);
    let new = if namespace.is_empty() {
        format!("{registry}/{}:{}", parts.name, parts.tag)
    } else {
        format!("{registry}/{namespace}/{}:{}", parts.name, parts.tag)
    };
    let bytes = manifest.bytes();
    if new == old {
        return Ok(Retarget {
            old: old.to_owned(),
            new,
            bytes: bytes.to_vec(),
        });
    }
    // The scalar starts at the node's mark: find the old image there, on that line.
    let text = std::str::from_utf8(bytes).map_err(|_| Error::invalid(path, "not UTF-8"))?;
    let line_start: usize = text
        .split_inclusive('\n')
        .take(node.mark.line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let line = text[line_start..].split('\n').next().unwrap_or_default();
    let col = line
        .char_indices()
        .nth(node.mark.col.saturating_sub(1) as usize)
        .map_or(line.len(), |(i, _)| i);
    let at = line[col..]
        .find(old)
        .map(|i| line_start + col + i)
        .ok_or_else(|| {
            Error::invalid(
                path,
                format!(
                    "line {}: runtime.image is not written as `{old}` on one line; edit it by \
                     hand",
                    node.mark.line
                ),
            )
        })?;
    let mut out = Vec::with_capacity(bytes.len() + new.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[at + old.len()..]);
    // The result must still be the same manifest with only the image changed.
    let check = AppManifest::from_bytes(path, out.clone())?;
    if check.image() != Some(new.as_str()) {
        return Err(Error::invalid(
            path,
            "runtime.image could not be rewritten in place; edit it by hand",
        ));
    }
    Ok(Retarget {
        old: old.to_owned(),
        new,
        bytes: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest(text: &str) -> AppManifest {
        AppManifest::from_bytes(Path::new("synapse-app.yaml"), text.as_bytes().to_vec())
            .expect("manifest")
    }

    const TEXT: &str = "# keep me\r\nmetadata:\r\n  name: notes # the slug\r\nruntime:\r\n  \
                        kind: image\r\n  image: \"reg.example/synapse_apps/notes:0.1.0\"  # \
                        reg.example/synapse_apps/notes:0.1.0\r\n";

    #[test]
    fn only_the_image_changes() {
        let r = retarget(&manifest(TEXT), Some("127.0.0.1:5000"), None).expect("ok");
        assert_eq!(r.old, "reg.example/synapse_apps/notes:0.1.0");
        assert_eq!(r.new, "127.0.0.1:5000/synapse_apps/notes:0.1.0");
        let want = TEXT.replacen(
            "\"reg.example/synapse_apps/notes:0.1.0\"",
            "\"127.0.0.1:5000/synapse_apps/notes:0.1.0\"",
            1,
        );
        assert_eq!(String::from_utf8(r.bytes).expect("utf-8"), want);
        let r = retarget(&manifest(TEXT), None, Some("team/apps")).expect("ok");
        assert_eq!(r.new, "reg.example/team/apps/notes:0.1.0");
    }

    #[test]
    fn same_target_is_unchanged_and_bad_values_are_refused() {
        let r = retarget(&manifest(TEXT), Some("reg.example"), None).expect("ok");
        assert_eq!(r.bytes, TEXT.as_bytes());
        assert!(retarget(&manifest(TEXT), Some("a/b"), None).is_err());
        assert!(retarget(&manifest(TEXT), None, Some("Upper")).is_err());
        let flow = "{metadata: {name: n}, runtime: {image: \"r/n:1\"}}";
        let r = retarget(&manifest(flow), Some("x"), None).expect("flow style");
        assert_eq!(r.new, "x/n:1");
    }
}
