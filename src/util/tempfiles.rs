//! kz's temp files and staging folders: named after their owner (`.kz-<kind>-<pid>-<start>-…`,
//! the process id and its start time, so a reused pid is not mistaken for the owner), removed
//! when a command that tracks them is stopped by a signal, and swept on a later run only once
//! their owner is gone. Two kz runs in one checkout (CI jobs, a watch loop) never remove each
//! other's files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

static LIVE: LazyLock<Mutex<BTreeSet<PathBuf>>> = LazyLock::new(|| Mutex::new(BTreeSet::new()));

/// The start time of process `pid` (clock ticks since boot, field 22 of `/proc/<pid>/stat`), if
/// it is running and the system says.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The name prefix of this process's temp files of `kind`: `.kz-<kind>-<pid>-<start>-`.
pub fn prefix(kind: &str) -> String {
    let pid = std::process::id();
    format!(".kz-{kind}-{pid}-{}-", start_time(pid).unwrap_or(0))
}

/// Whether the owner named in a temp file's name is gone (no such process, or another process
/// under a reused pid). Unknown (no `/proc`): not gone, so nothing is removed.
fn owner_gone(name: &str, kind: &str) -> bool {
    let Some(rest) = name.strip_prefix(&format!(".kz-{kind}-")) else {
        return false;
    };
    let mut parts = rest.splitn(3, '-');
    let (Some(pid), Some(start)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    if !Path::new("/proc/self/stat").exists() {
        return false;
    }
    match start_time(pid) {
        None => true,
        Some(now) => start != 0 && now != start,
    }
}

/// Remove the temp files and folders of `kind` in `dir` whose owner is gone; returns them.
pub fn sweep(dir: &Path, kind: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !owner_gone(&name, kind) {
            continue;
        }
        let path = entry.path();
        let gone = match entry.file_type() {
            Ok(ft) if ft.is_dir() => std::fs::remove_dir_all(&path).is_ok(),
            Ok(_) => std::fs::remove_file(&path).is_ok(),
            Err(_) => false,
        };
        if gone {
            removed.push(path);
        }
    }
    removed
}

/// Remove `path` if a signal stops the process (see [`remove_on_signals`]).
pub fn track(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.insert(path.to_owned());
    }
}

/// `path` was renamed into place or removed: nothing to clean any more.
pub fn untrack(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.remove(path);
    }
}

/// For commands that do not handle signals themselves: on SIGINT, SIGTERM or SIGHUP, remove the
/// tracked temp files and exit (130 for an interrupt, 128 + the signal otherwise).
#[cfg(unix)]
pub fn remove_on_signals() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    // The handlers are installed before this returns, so no signal is missed.
    let handlers = rt.block_on(async {
        Some((
            signal(SignalKind::interrupt()).ok()?,
            signal(SignalKind::terminate()).ok()?,
            signal(SignalKind::hangup()).ok()?,
        ))
    });
    let Some((mut int, mut term, mut hup)) = handlers else {
        return;
    };
    std::thread::spawn(move || {
        let code = rt.block_on(async {
            tokio::select! {
                _ = int.recv() => 130,
                _ = term.recv() => 143,
                _ = hup.recv() => 129,
            }
        });
        if let Ok(live) = LIVE.lock() {
            for path in live.iter() {
                if path.is_dir() {
                    let _ = std::fs::remove_dir_all(path);
                } else {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        std::process::exit(code);
    });
}

#[cfg(not(unix))]
pub fn remove_on_signals() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn only_files_of_gone_owners_are_swept() {
        let dir = tempfile::tempdir().expect("tmp");
        let mine = format!("{}abc", prefix("package"));
        let dead = ".kz-package-4000000-1-abc".to_owned();
        let reused = format!(".kz-package-{}-1-abc", std::process::id());
        let other = ".kz-tmp-4000000-1-abc".to_owned();
        for n in [&mine, &dead, &reused, &other] {
            std::fs::write(dir.path().join(n), "x").expect("write");
        }
        let removed = sweep(dir.path(), "package");
        let mut names: Vec<String> = removed
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected = vec![dead, reused];
        expected.sort();
        assert_eq!(names, expected);
        assert!(dir.path().join(&mine).exists());
        assert!(dir.path().join(&other).exists());
    }
}
