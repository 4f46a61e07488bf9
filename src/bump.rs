//! Version bumps in kamiwaza.json. Only the `version` value's bytes change: key order,
//! indentation, non-ASCII text and everything else stay exactly as written.

use crate::error::{Error, Result};
use crate::fsx;
use crate::manifest::Manifest;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Major,
    Minor,
    Patch,
}

/// The next version. A pre-release bumps to its release first (`1.1.0-rc.1` + minor = `1.1.0`),
/// as npm and cargo-release do; build metadata is dropped.
pub fn next(v: &semver::Version, level: Level) -> semver::Version {
    let pre = !v.pre.is_empty();
    let mut n = semver::Version::new(v.major, v.minor, v.patch);
    match level {
        Level::Major if !(pre && v.minor == 0 && v.patch == 0) => {
            (n.major, n.minor, n.patch) = (v.major + 1, 0, 0)
        }
        Level::Minor if !(pre && v.patch == 0) => (n.minor, n.patch) = (v.minor + 1, 0),
        Level::Patch if !pre => n.patch = v.patch + 1,
        _ => {}
    }
    n
}

/// Bump the version in the kamiwaza.json at `path`; returns (old, new).
pub fn bump_file(path: &Path, level: Level) -> Result<(String, String)> {
    let manifest = Manifest::load(path)?;
    let bad = |value: String| Error::BadVersion {
        path: path.to_owned(),
        field: "version".into(),
        value,
    };
    let old = match manifest.get("version") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => return Err(bad(other.to_string())),
        None => return Err(Error::invalid(path, "has no `version` field")),
    };
    let parsed = semver::Version::parse(&old).map_err(|_| bad(old.clone()))?;
    let new = next(&parsed, level).to_string();
    let span = manifest
        .span_of("version")
        .ok_or_else(|| Error::invalid(path, "cannot locate `version`"))?;
    let mut text = manifest.text.clone();
    let literal = serde_json::to_string(&new).unwrap_or_else(|_| format!("\"{new}\""));
    text.replace_range(span.start..span.end, &literal);
    // The reader drops a UTF-8 byte-order mark; the file keeps the one it had.
    let had_bom = crate::util::open::open_regular(path).is_ok_and(|f| {
        let mut head = [0u8; 3];
        std::io::Read::read_exact(&mut &f, &mut head).is_ok() && head == [0xef, 0xbb, 0xbf]
    });
    if had_bom {
        text.insert(0, '\u{feff}');
    }
    fsx::write_atomic(path, text.as_bytes())?;
    Ok((old, new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).expect("version")
    }

    #[test]
    fn levels() {
        assert_eq!(next(&v("1.2.3"), Level::Patch).to_string(), "1.2.4");
        assert_eq!(next(&v("1.2.3"), Level::Minor).to_string(), "1.3.0");
        assert_eq!(next(&v("1.2.3+b.1"), Level::Major).to_string(), "2.0.0");
        assert_eq!(next(&v("1.2.3-rc.1"), Level::Patch).to_string(), "1.2.3");
        assert_eq!(next(&v("1.3.0-rc.1"), Level::Minor).to_string(), "1.3.0");
        assert_eq!(next(&v("1.3.1-rc.1"), Level::Minor).to_string(), "1.4.0");
        assert_eq!(next(&v("2.0.0-rc.1"), Level::Major).to_string(), "2.0.0");
    }

    #[test]
    fn edits_only_the_value() {
        let t = tempfile::tempdir().expect("tmp");
        let p = t.path().join("kamiwaza.json");
        let text =
            "{\n    \"name\": \"caf\u{e9}\",\n    \"version\" :  \"0.9.9\",\n    \"z\": [1]\n}";
        std::fs::write(&p, text).expect("write");
        let (old, new) = bump_file(&p, Level::Minor).expect("bump");
        assert_eq!((old.as_str(), new.as_str()), ("0.9.9", "0.10.0"));
        assert_eq!(
            std::fs::read_to_string(&p).expect("read"),
            text.replace("0.9.9", "0.10.0")
        );
    }
}
