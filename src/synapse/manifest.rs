//! synapse-app.yaml as a value: the exact bytes of the file (they become the image label, so
//! they are never re-serialised) and the YAML tree read from them, with typed accessors for the
//! fields build, run and index use. Whether the tree is a *valid* manifest is `lint`'s business.

use crate::error::{Error, Result};
use crate::yaml::{self, LoadLimits, Node, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The manifest's file name in an app folder.
pub const FILE_NAME: &str = "synapse-app.yaml";

/// Largest manifest kz reads (a label this size is already unusual).
pub const MAX_MANIFEST: u64 = 1024 * 1024;

/// Bounds for manifests, which come from images as often as from disk.
pub(crate) const LIMITS: LoadLimits = LoadLimits {
    max_nodes: 100_000,
    max_depth: 64,
};

/// A loaded manifest: the bytes as they are, and the mapping they hold.
#[derive(Clone, Debug)]
pub struct AppManifest {
    /// Where it came from: a file, or `<image>` for a label.
    pub path: PathBuf,
    bytes: Vec<u8>,
    root: Node,
}

/// One entry of `runtime.volumes`, as the runner reads it (`readonly` defaults to true).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub host: String,
    pub container: String,
    pub readonly: bool,
}

/// Read at most `MAX_MANIFEST` bytes of `path`, as they are (BOM and all).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::read(path, e))?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit: MAX_MANIFEST,
        });
    }
    Ok(bytes)
}

/// The text of manifest bytes: UTF-8, without a leading BOM.
pub fn text_of(path: &Path, bytes: &[u8]) -> Result<String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.strip_prefix('\u{feff}').unwrap_or(s).to_owned()),
        Err(e) => {
            let upto = e.valid_up_to();
            let line = bytes[..upto].iter().filter(|b| **b == b'\n').count() + 1;
            Err(Error::NotUtf8 {
                path: path.to_owned(),
                line,
            })
        }
    }
}

/// Parse manifest text into its tree: one document holding a mapping.
pub fn parse_tree(path: &Path, text: &str) -> Result<Node> {
    let root = yaml::load(text, &LIMITS).map_err(|source| Error::Yaml {
        path: path.to_owned(),
        source,
    })?;
    match root {
        Some(node) if node.as_map().is_some() => Ok(node),
        Some(node) => Err(Error::invalid(
            path,
            format!(
                "a Synapse manifest is a mapping, not {} (line {})",
                node.kind(),
                node.mark.line
            ),
        )),
        None => Err(Error::invalid(path, "the manifest is empty")),
    }
}

impl AppManifest {
    /// Read `path` (a synapse-app.yaml, or any file holding one).
    pub fn load(path: &Path) -> Result<AppManifest> {
        let bytes = read_bytes(path)?;
        AppManifest::from_bytes(path, bytes)
    }

    /// A manifest from bytes that came from `path` (a file or an image label).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<AppManifest> {
        let text = text_of(path, &bytes)?;
        let root = parse_tree(path, &text)?;
        Ok(AppManifest {
            path: path.to_owned(),
            bytes,
            root,
        })
    }

    /// The file's bytes, exactly: what goes into the `io.synapse.app.manifest` label.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The text (UTF-8 was checked on load).
    pub fn text(&self) -> &str {
        let s = std::str::from_utf8(&self.bytes).unwrap_or_default();
        s.strip_prefix('\u{feff}').unwrap_or(s)
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    /// The node at a dotted path such as `network.health.path`.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('.')
            .try_fold(&self.root, |node, key| node.get(key))
    }

    fn str_at(&self, path: &str) -> Option<&str> {
        self.at(path)?.as_str()
    }

    fn int_at(&self, path: &str) -> Option<i128> {
        match self.at(path)?.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// `metadata.name`: the slug.
    pub fn name(&self) -> Option<&str> {
        self.str_at("metadata.name")
    }

    pub fn version(&self) -> Option<&str> {
        self.str_at("metadata.version")
    }

    pub fn label(&self) -> Option<&str> {
        self.str_at("metadata.label")
    }

    pub fn image(&self) -> Option<&str> {
        self.str_at("runtime.image")
    }

    /// `network.ports.public`, when it is a valid port.
    pub fn port(&self) -> Option<u16> {
        self.int_at("network.ports.public")
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
    }

    pub fn health_path(&self) -> Option<&str> {
        self.str_at("network.health.path")
    }

    /// `network.health.expect_status`, default 200.
    pub fn expect_status(&self) -> u16 {
        self.int_at("network.health.expect_status")
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200)
    }

    /// `network.health.timeout_ms`, default 2500.
    pub fn health_timeout_ms(&self) -> u64 {
        self.positive("network.health.timeout_ms").unwrap_or(2500)
    }

    /// `lifecycle.start_timeout_ms`, default 60000.
    pub fn start_timeout_ms(&self) -> u64 {
        self.positive("lifecycle.start_timeout_ms")
            .unwrap_or(60_000)
    }

    /// `lifecycle.stop_grace_ms`, default 10000.
    pub fn stop_grace_ms(&self) -> u64 {
        self.int_at("lifecycle.stop_grace_ms")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(10_000)
    }

    fn positive(&self, path: &str) -> Option<u64> {
        self.int_at(path)
            .and_then(|v| u64::try_from(v).ok())
            .filter(|v| *v > 0)
    }

    /// `runtime.volumes` entries that have both paths as strings.
    pub fn volumes(&self) -> Vec<Volume> {
        let Some(list) = self.at("runtime.volumes").and_then(Node::as_seq) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|v| {
                Some(Volume {
                    host: v.get("host")?.as_str()?.to_owned(),
                    container: v.get("container")?.as_str()?.to_owned(),
                    readonly: !matches!(
                        v.get("readonly").map(|r| &r.value),
                        Some(Value::Bool(false))
                    ),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\u{feff}# c\nmetadata: {name: a-b, version: '1.0.0'}\nnetwork:\n  ports: {public: 8080}\n  health: {path: /health}\nruntime:\n  volumes:\n    - {host: /a, container: /b}\n    - {host: /c, container: /d, readonly: false}\n";

    #[test]
    fn keeps_bytes_and_reads_fields() {
        let m =
            AppManifest::from_bytes(Path::new("x.yaml"), TEXT.as_bytes().to_vec()).expect("parses");
        assert_eq!(m.bytes(), TEXT.as_bytes());
        assert!(m.text().starts_with("# c"));
        assert_eq!(m.name(), Some("a-b"));
        assert_eq!(m.version(), Some("1.0.0"));
        assert_eq!(m.port(), Some(8080));
        assert_eq!(m.health_path(), Some("/health"));
        assert_eq!(m.expect_status(), 200);
        assert_eq!(m.start_timeout_ms(), 60_000);
        let v = m.volumes();
        assert_eq!(v.len(), 2);
        assert!(v[0].readonly);
        assert!(!v[1].readonly);
    }

    #[test]
    fn refuses_what_is_not_a_mapping() {
        for bad in ["", "- a\n", "a: [\n", "a: 1\n---\nb: 2\n"] {
            assert!(
                AppManifest::from_bytes(Path::new("x"), bad.as_bytes().to_vec()).is_err(),
                "{bad:?}"
            );
        }
        assert!(AppManifest::from_bytes(Path::new("x"), vec![0xff]).is_err());
    }
}
