//! Writing the registry folder so that no reader and no crash ever sees half of it.
//!
//! Everything is written into a fresh `build/.kz-registry-new-*` folder, which then takes the
//! place of `build/kamiwaza-extension-registry` in one step (Linux and macOS swap the two
//! folders atomically; elsewhere two renames, with the old folder restored on the next run if
//! kz died between them). A lock on `build/` keeps two kz runs apart. Only kz's own folders are
//! ever removed: the previous output and `.kz-registry-*` leftovers of killed runs. Nothing
//! else under `build/` is touched, and `.gitignore` is left alone.

use super::{Catalogue, OUTPUT_DIR};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of the folder a run writes into.
const NEW_PREFIX: &str = ".kz-registry-new-";
/// Prefix of the previous output while it is being replaced (platforms without a swap).
const OLD_PREFIX: &str = ".kz-registry-old-";

const PACKAGE_SETUP: &str = include_str!("../../templates/registry/package-setup.sh");
const README: &str = include_str!("../../templates/registry/README.md");
const ENV_TEMPLATE: &str = include_str!("../../templates/registry/kamiwaza-registry.env.template");

/// Write `catalogue` to `<root>/build/kamiwaza-extension-registry`; returns that path.
pub(crate) fn write(root: &Path, catalogue: &Catalogue) -> Result<PathBuf> {
    let output = root.join(OUTPUT_DIR);
    let build = output
        .parent()
        .map_or_else(|| root.to_owned(), Path::to_path_buf);
    std::fs::create_dir_all(&build).map_err(|e| Error::write(&build, e))?;
    let _lock = Lock::take(&build)?;
    recover(&build, &output)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(NEW_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Subject to the umask, like any folder kz creates.
        builder.permissions(std::fs::Permissions::from_mode(0o777));
    }
    let staging = builder
        .tempdir_in(&build)
        .map_err(|e| Error::write(&build, e))?;
    fill(staging.path(), catalogue)?;
    swap(&staging.keep(), &output, &build)?;
    Ok(output)
}

/// Lay out the whole registry folder in `dir`.
fn fill(dir: &Path, catalogue: &Catalogue) -> Result<()> {
    let rv = catalogue.repo_version;
    let garden = dir.join("garden").join(rv.garden_dir());
    let images = garden.join(rv.images_dir());
    std::fs::create_dir_all(&images).map_err(|e| Error::write(&images, e))?;
    write_file(
        &garden.join("apps.json"),
        catalogue.apps_json.as_bytes(),
        None,
    )?;
    write_file(
        &garden.join("tools.json"),
        catalogue.tools_json.as_bytes(),
        None,
    )?;
    for (source, name) in &catalogue.previews {
        let target = images.join(name);
        let mut from = File::open(source).map_err(|e| Error::read(source, e))?;
        let mut to = File::create(&target).map_err(|e| Error::write(&target, e))?;
        std::io::copy(&mut from, &mut to).map_err(|e| Error::write(&target, e))?;
    }
    write_file(&dir.join("README.md"), README.as_bytes(), None)?;
    write_file(
        &dir.join("kamiwaza-registry.env.template"),
        ENV_TEMPLATE.as_bytes(),
        None,
    )?;
    write_file(
        &dir.join("package-setup.sh"),
        PACKAGE_SETUP.as_bytes(),
        Some(0o755),
    )?;
    Ok(())
}

/// Create `path` with `contents` (mode from the umask, or `mode` when given).
fn write_file(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<()> {
    let mut file = File::create(path).map_err(|e| Error::write(path, e))?;
    file.write_all(contents)
        .map_err(|e| Error::write(path, e))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::write(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

/// Put the finished `new` folder at `output`; the previous output is removed afterwards.
fn swap(new: &Path, output: &Path, build: &Path) -> Result<()> {
    match std::fs::symlink_metadata(output) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::rename(new, output).map_err(|e| Error::write(output, e))
        }
        Err(e) => Err(Error::write(output, e)),
        Ok(_) => {
            if exchange(new, output) {
                // `new` now holds the previous output.
                remove_best_effort(new);
                return Ok(());
            }
            let old = unused_name(build, OLD_PREFIX);
            std::fs::rename(output, &old).map_err(|e| Error::write(output, e))?;
            std::fs::rename(new, output).map_err(|e| Error::write(output, e))?;
            remove_best_effort(&old);
            Ok(())
        }
    }
}

/// Swap two paths in one step, where the platform can; `false` when it cannot.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn exchange(a: &Path, b: &Path) -> bool {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok()
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange(_a: &Path, _b: &Path) -> bool {
    false
}

/// Clean up after runs that were killed: leftovers of unfinished writes go; a previous output
/// caught between two renames is put back.
fn recover(build: &Path, output: &Path) -> Result<()> {
    let entries = std::fs::read_dir(build).map_err(|e| Error::read(build, e))?;
    let mut new = Vec::new();
    let mut old = Vec::new();
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(NEW_PREFIX) {
            new.push(entry.path());
        } else if name.starts_with(OLD_PREFIX) {
            old.push(entry.path());
        }
    }
    old.sort();
    if std::fs::symlink_metadata(output).is_err() {
        if let Some(previous) = old.pop() {
            std::fs::rename(&previous, output).map_err(|e| Error::write(output, e))?;
        }
    }
    for leftover in new.iter().chain(&old) {
        remove_best_effort(leftover);
    }
    Ok(())
}

/// Remove one of kz's own folders; a failure only leaves a hidden leftover for the next run.
fn remove_best_effort(path: &Path) {
    let _ = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => Ok(()),
    };
}

fn unused_name(dir: &Path, prefix: &str) -> PathBuf {
    let pid = std::process::id();
    (0u32..)
        .map(|i| dir.join(format!("{prefix}{pid}-{i}")))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| dir.join(format!("{prefix}{pid}")))
}

/// An exclusive lock on the `build/` folder, held while the registry is written.
struct Lock {
    #[cfg(unix)]
    _dir: File,
}

impl Lock {
    #[cfg(unix)]
    fn take(build: &Path) -> Result<Lock> {
        use rustix::fs::{flock, FlockOperation};
        let dir = File::open(build).map_err(|e| Error::read(build, e))?;
        match flock(&dir, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Lock { _dir: dir }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(Error::Busy {
                path: build.join(super::OUTPUT_NAME),
            }),
            // A file system without locks: carry on unlocked, as git does on such mounts.
            Err(_) => Ok(Lock { _dir: dir }),
        }
    }

    #[cfg(not(unix))]
    fn take(_build: &Path) -> Result<Lock> {
        Ok(Lock {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Counts, RepoVersion};

    fn catalogue(apps: &str) -> Catalogue {
        Catalogue {
            repo_version: RepoVersion::V2,
            apps_json: apps.to_owned(),
            tools_json: "[]".to_owned(),
            previews: Vec::new(),
            counts: Counts::default(),
            notes: Vec::new(),
            validation_warnings: 0,
        }
    }

    #[test]
    fn replaces_the_previous_output_and_nothing_else() {
        let t = tempfile::tempdir().expect("tmp");
        let root = t.path();
        std::fs::create_dir_all(root.join("build/exports")).expect("mkdir");
        std::fs::write(root.join("build/keep.txt"), "mine").expect("write");
        write(root, &catalogue("[1]")).expect("first");
        write(root, &catalogue("[2]")).expect("second");
        let apps = root.join(OUTPUT_DIR).join("garden/v2/apps.json");
        assert_eq!(std::fs::read_to_string(apps).expect("read"), "[2]");
        let mut names: Vec<_> = std::fs::read_dir(root.join("build"))
            .expect("ls")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["exports", "kamiwaza-extension-registry", "keep.txt"]
        );
    }

    #[test]
    fn leftovers_of_killed_runs_are_cleaned_and_a_stranded_output_restored() {
        let t = tempfile::tempdir().expect("tmp");
        let build = t.path().join("build");
        std::fs::create_dir_all(build.join(".kz-registry-new-x/garden")).expect("mkdir");
        std::fs::create_dir_all(build.join(".kz-registry-old-1-0/garden")).expect("mkdir");
        let output = t.path().join(OUTPUT_DIR);
        recover(&build, &output).expect("recover");
        assert!(output.join("garden").is_dir());
        assert!(!build.join(".kz-registry-new-x").exists());
        assert!(!build.join(".kz-registry-old-1-0").exists());
    }
}
