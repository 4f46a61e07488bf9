//! Synapse apps: the second kind of extension kz handles. A Synapse app is one container image
//! whose config carries the label `io.synapse.app.manifest` = base64 of its synapse-app.yaml; the
//! workspace's App Store finds apps by scanning a registry for that label.
//!
//! * `manifest` — the file as exact bytes plus its YAML tree;
//! * `rules`, `lint` — the `synapse/*` rules `kz validate` runs on manifests and app folders;
//! * `label` — the label's encoding (base64, with the plain YAML/JSON fallback on read);
//! * `scaffold` — `kz new synapse SLUG --framework X`;
//! * `build` — what `kz build` builds for an app (the build is `crate::build`);
//! * `run` — `kz run` / `kz stop`, the workspace runner's contract on a laptop;
//! * `retarget` — `kz retarget`: rewrite `runtime.image` in place (another registry/namespace);
//! * `publish` — pushing an app's two tags; `remote` — `kz inspect` and `kz index` over a
//!   registry (manifest → config blob → label, config blobs cached by digest).
//!
//! Where apps live: anywhere (a folder holding synapse-app.yaml), and inside an extensions
//! workspace in `<root>/synapse/<slug>/`, which no other command looks at.

pub mod build;
pub mod label;
pub mod lint;
pub mod manifest;
pub mod publish;
pub mod remote;
pub mod retarget;
pub mod rules;
pub mod run;
pub mod scaffold;

pub use manifest::{AppManifest, FILE_NAME};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The image label carrying the manifest.
pub const LABEL: &str = "io.synapse.app.manifest";
/// publish.sh's defaults for `REGISTRY` and `NS`.
pub const DEFAULT_REGISTRY: &str = "registry.local.datamaker.io";
pub const DEFAULT_NAMESPACE: &str = "synapse_apps";
/// The workspace folder holding Synapse apps.
pub const WORKSPACE_DIR: &str = "synapse";

/// `REGISTRY` and `NS` as the environment gives them. They fill in `runtime.image` at
/// `kz new` (defaults when unset); afterwards `runtime.image` is the one source of an app's
/// image name, and a `REGISTRY`/`NS` that disagrees with it is only a warning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// `REGISTRY`, when set and not blank.
    pub registry: Option<String>,
    /// `NS`, when set and not blank.
    pub namespace: Option<String>,
}

impl Target {
    /// `REGISTRY` and `NS` from the environment handed in (as publish.sh reads them).
    pub fn from_env(env: &BTreeMap<String, String>) -> Target {
        let pick = |key: &str| {
            env.get(key)
                .map(|v| v.trim().trim_end_matches('/'))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Target {
            registry: pick("REGISTRY"),
            namespace: pick("NS"),
        }
    }

    /// `REGISTRY`, else publish.sh's default.
    pub fn registry(&self) -> &str {
        self.registry.as_deref().unwrap_or(DEFAULT_REGISTRY)
    }

    /// `NS`, else publish.sh's default.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
    }

    /// `<registry>/<namespace>/<slug>` (what `kz new` writes into `runtime.image`).
    pub fn repository(&self, slug: &str) -> String {
        format!("{}/{}/{slug}", self.registry(), self.namespace())
    }
}

/// Is `dir` a Synapse app folder (it holds synapse-app.yaml)?
pub fn is_app_dir(dir: &Path) -> bool {
    dir.join(FILE_NAME).is_file()
}

/// The nearest folder from `start` upwards that holds synapse-app.yaml.
pub fn find_app_dir(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| is_app_dir(d))
        .map(Path::to_owned)
}

/// The Synapse apps of a workspace: `<root>/synapse/*/synapse-app.yaml`, sorted by folder;
/// symlinked folders are left out, as for extensions.
pub fn workspace_apps(root: &Path) -> Vec<PathBuf> {
    let dir = root.join(WORKSPACE_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut apps: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| is_app_dir(p))
        .collect();
    apps.sort();
    apps
}
