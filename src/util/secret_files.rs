//! The one secret-file policy: which files of a catalogue folder may be packed
//! (`kz package`) or served (`kz serve-registry`). It is an allowlist by kind, safe by default,
//! whoever wrote the folder (kz build-registry, a downloaded catalogue, a later packaging
//! format): catalogue JSON, preview images, the images archive and its manifest, kz's setup
//! scripts and templates, and a public certificate. Anything else is refused with a reason
//! unless the user allows it by name (`--allow PATH`). Some files are refused even then: `.env`
//! files, anything under `.certs/`, and private keys (by name or by a PEM private-key block in
//! the file).

use std::io::Read;
use std::path::Path;
use std::sync::RwLock;

static ALLOWED: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// The paths (relative to the catalogue folder) the user allowed by name for this run.
pub fn set_allowed(names: &[String]) {
    if let Ok(mut a) = ALLOWED.write() {
        *a = names
            .iter()
            .map(|n| n.trim_matches('/').to_owned())
            .collect();
    }
}

/// [`refusal_with`] under the names allowed for this run.
pub fn refusal(rel: &str, path: &Path) -> Option<&'static str> {
    let allowed = ALLOWED.read().map(|a| a.clone()).unwrap_or_default();
    refusal_with(rel, path, &allowed)
}

/// Why `rel` (a `/`-separated path inside the folder) must not be packed or served, if it must
/// not. `allowed` are the paths the user allowed by name.
pub fn refusal_with(rel: &str, path: &Path, allowed: &[String]) -> Option<&'static str> {
    if let Some(reason) = always_refused(rel, path) {
        return Some(reason);
    }
    if allowed.iter().any(|a| a.trim_matches('/') == rel) {
        return None;
    }
    if rel.split('/').any(|part| part.starts_with('.')) {
        return Some("a hidden file (credentials often live in dot files); allow it by name");
    }
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    if [
        "credential",
        "secret",
        "token",
        "kubeconfig",
        "password",
        "passwd",
    ]
    .iter()
    .any(|w| name.contains(w))
    {
        return Some("named like a credential; allow it by name");
    }
    if allowed_kind(&name) {
        return None;
    }
    Some(
        "not a kind kz packs or serves (catalogue JSON, preview images, images archive, \
         setup scripts and templates, public certificate); allow it by name",
    )
}

/// Files that are never packed nor served, even when allowed by name.
pub fn always_refused(rel: &str, path: &Path) -> Option<&'static str> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if rel.split('/').any(|part| part == ".certs") {
        return Some("inside .certs/");
    }
    let is_template = [".example", ".template", ".sample"]
        .iter()
        .any(|s| name.ends_with(s));
    if (name == ".env" || name.starts_with(".env.")) && !is_template {
        return Some("an .env file");
    }
    let lower = name.to_ascii_lowercase();
    let key_names = [".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk"];
    if key_names.iter().any(|s| lower.ends_with(s))
        || lower.starts_with("id_rsa")
        || lower.starts_with("id_ed25519")
        || lower.starts_with("id_ecdsa")
        || lower.starts_with("id_dsa")
    {
        return Some("a private key file");
    }
    if holds_private_key(path) {
        return Some("holds a private key");
    }
    None
}

/// The kinds a catalogue folder holds.
fn allowed_kind(lower_name: &str) -> bool {
    const KINDS: &[&str] = &[
        // catalogue JSON and the images archive's manifest
        ".json",
        // preview images
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        // the images archive
        ".tar",
        ".tar.gz",
        ".tgz",
        ".tar.zst",
        // kz's setup scripts, templates and notes
        ".sh",
        ".template",
        ".md",
        ".txt",
        // a public certificate (a private key inside is refused above)
        ".pem",
        ".crt",
        ".cer",
    ];
    KINDS.iter().any(|k| lower_name.ends_with(k))
}

/// Whether the first 64 KiB of a regular file hold a PEM private key block.
fn holds_private_key(path: &Path) -> bool {
    let Ok(file) = crate::util::open::open_regular(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(4096);
    if file.take(64 * 1024).read_to_end(&mut head).is_err() {
        return false;
    }
    head.windows(16).any(|w| w == b"PRIVATE KEY-----")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allowlist_by_kind() {
        let p = Path::new("/nonexistent");
        for ok in [
            "garden/v2/apps.json",
            "garden/v2/images/a.png",
            "garden/v2/docker-images/manifest.json",
            "garden/v2/docker-images/app.tar",
            "package-setup.sh",
            "kamiwaza-registry.env.template",
            "README.md",
            "server.pem",
        ] {
            assert_eq!(refusal_with(ok, p, &[]), None, "{ok}");
        }
        for bad in [
            ".aws/credentials",
            ".npmrc",
            ".git-credentials",
            "kubeconfig",
            ".docker/config.json",
            "id_ecdsa",
            "cert.p12",
            "x.pfx",
            ".netrc",
            "garden/v2/aws-credentials.json",
            "notes.yaml",
            ".env",
        ] {
            assert!(refusal_with(bad, p, &[]).is_some(), "{bad}");
        }
        let allowed = vec!["notes.yaml".to_owned(), ".env".to_owned()];
        assert_eq!(refusal_with("notes.yaml", p, &allowed), None);
        assert!(
            refusal_with(".env", p, &allowed).is_some(),
            ".env is never allowed"
        );
    }
}
