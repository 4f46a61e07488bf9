//! Version bumps: the next version (`next`), and a bump of one extension everywhere it carries
//! its version (`plan`, then `files::apply`; the places are in `files`). Only the bytes of the
//! version values change: key order, indentation, non-ASCII text and everything else stay
//! exactly as written.

pub mod files;

use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::settings::Settings;
use std::path::Path;

pub use files::{Change, FileEdit};

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

/// What to bump to: the next major, minor or patch version, or an exact one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Level(Level),
    Exact(semver::Version),
}

/// A bump worked out but not written: the versions and every file's edit (kamiwaza.json first).
#[derive(Clone, Debug)]
pub struct Plan {
    pub old: String,
    pub new: String,
    pub edits: Vec<FileEdit>,
}

/// Work out the bump of the extension in `dir` (folder name `dir_name`). An exact version must
/// be newer than the current one.
pub fn plan(dir: &Path, dir_name: &str, target: &Target, settings: &Settings) -> Result<Plan> {
    let path = dir.join(crate::manifest::FILE_NAME);
    let manifest = Manifest::load(&path)?;
    let bad = |value: String| Error::BadVersion {
        path: path.clone(),
        field: "version".into(),
        value,
    };
    let old = match manifest.get("version") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => return Err(bad(other.to_string())),
        None => return Err(Error::invalid(&path, "has no `version` field")),
    };
    let parsed = semver::Version::parse(&old).map_err(|_| bad(old.clone()))?;
    if manifest.span_of("version").is_none() {
        return Err(Error::invalid(&path, "cannot locate `version`"));
    }
    let new = match target {
        Target::Level(level) => next(&parsed, *level),
        Target::Exact(v) if *v > parsed => v.clone(),
        Target::Exact(v) => {
            return Err(Error::BadArgument {
                message: format!("{v} is not newer than the current version {old}"),
                hint: "give a higher version, or major, minor or patch".into(),
            })
        }
    }
    .to_string();
    let edits = files::plan(dir, dir_name, &old, &new, settings)?;
    Ok(Plan { old, new, edits })
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
        let plan = plan(
            t.path(),
            "x",
            &Target::Level(Level::Minor),
            &Settings::default(),
        )
        .expect("bump");
        assert_eq!((plan.old.as_str(), plan.new.as_str()), ("0.9.9", "0.10.0"));
        files::apply(&plan.edits).expect("apply");
        assert_eq!(
            std::fs::read_to_string(&p).expect("read"),
            text.replace("0.9.9", "0.10.0")
        );
        let older = Target::Exact(v("0.10.0"));
        assert!(plan_err(t.path(), &older).contains("not newer"));
    }

    fn plan_err(dir: &Path, target: &Target) -> String {
        plan(dir, "x", target, &Settings::default())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    }
}
