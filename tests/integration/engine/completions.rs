//! The completion scripts loaded by Debian's bash, zsh and fish (installed by
//! scripts/engine-setup.sh), each completing a subcommand and an extension name. bash and fish
//! are asked directly (the completion function, `complete -C`); zsh only completes in its line
//! editor, so it runs in a tmux pane (a private tmux server) and gets Tab keystrokes.

use crate::harness::{Ws, KZ};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A workspace with two extensions and a bin folder holding `kz` (the scripts call `kz`).
fn setup() -> (Ws, PathBuf) {
    let ws = Ws::new();
    ws.write(
        "apps/demo-app/kamiwaza.json",
        "{\"name\": \"demo-app\", \"version\": \"1.0.0\"}",
    )
    .write(
        "tools/tool-x/kamiwaza.json",
        "{\"name\": \"tool-x\", \"version\": \"1.0.0\"}",
    );
    let bin = ws.path(".bin");
    std::fs::create_dir_all(&bin).expect("bin");
    std::os::unix::fs::symlink(KZ, bin.join("kz")).expect("symlink kz");
    (ws, bin)
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn shell(name: &str) -> PathBuf {
    which::which(name).unwrap_or_else(|_| {
        panic!("{name} is not installed: run scripts/engine-setup.sh (it installs bash, zsh, fish and tmux)")
    })
}

fn run_shell(ws: &Ws, bin: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(shell(program))
        .args(args)
        .current_dir(ws.path(""))
        .env("PATH", path_with(bin))
        .env("HOME", ws.path(".bin"))
        .env("XDG_CONFIG_HOME", ws.path(".bin/config"))
        .env("XDG_DATA_HOME", ws.path(".bin/data"))
        .output()
        .expect("run shell");
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completes_a_subcommand_and_an_extension() {
    let (ws, bin) = setup();
    let script = r#"
source <(kz completions bash)
complete -p kz >/dev/null || exit 3
ask() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
        _clap_complete_kz kz "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf '%s\n' "${COMPREPLY[@]}"; echo --; }
ask kz bum
ask kz bump dem
ask kz validate tools/
"#;
    let out = run_shell(&ws, &bin, "bash", &["--norc", "--noprofile", "-c", script]);
    assert_eq!(out, "bump\n--\ndemo-app\n--\ntools/tool-x\n--\n");
}

#[test]
fn fish_completes_a_subcommand_and_an_extension() {
    let (ws, bin) = setup();
    let script = "kz completions fish | source; complete -C 'kz bum'; echo --; complete -C 'kz bump dem'; echo --; complete -C 'kz test tool'";
    let out = run_shell(&ws, &bin, "fish", &["--no-config", "-c", script]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first().map(|l| l.split('\t').next()),
        Some(Some("bump")),
        "{out}"
    );
    assert!(lines.contains(&"demo-app"), "{out}");
    assert!(
        lines.contains(&"tool-x") && lines.contains(&"tools/tool-x"),
        "{out}"
    );
    assert!(!out.contains("apps/demo-app\n--\ntool"), "{out}");
}

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new(shell("tmux"))
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux")
    }

    fn pane(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-N", "-t", "z"]).stdout)
            .into_owned()
    }

    /// Wait until the pane shows `needle`.
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let pane = self.pane();
            if pane.contains(needle) {
                return pane;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "zsh pane never showed {needle:?}:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

#[test]
fn zsh_in_tmux_completes_a_subcommand_and_an_extension() {
    let (ws, bin) = setup();
    let tmux = Tmux {
        socket: format!("i21-kz-{}", std::process::id()),
    };
    let zsh = shell("zsh");
    let start = format!(
        "cd {} && env PATH={} HOME={} ZDOTDIR={} PS1='zsh> ' {} -f",
        ws.path("").display(),
        path_with(&bin),
        bin.display(),
        bin.display(),
        zsh.display()
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "z",
        "-x",
        "200",
        "-y",
        "40",
        &start,
    ]);
    assert!(
        out.status.success(),
        "tmux: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = |k: &[&str]| {
        let mut args = vec!["send-keys", "-t", "z"];
        args.extend_from_slice(k);
        assert!(tmux.cmd(&args).status.success());
    };
    tmux.wait_for("zsh>");
    // READY-$((20+1)) prints READY-21 only once the line has run
    keys(&[
        "autoload -Uz compinit && compinit -u && source <(kz completions zsh) && echo READY-$((20+1))",
        "Enter",
    ]);
    tmux.wait_for("READY-21");
    keys(&["kz bum", "Tab"]);
    tmux.wait_for("kz bump ");
    keys(&["dem", "Tab"]);
    let pane = tmux.wait_for("kz bump demo-app");
    assert!(!pane.contains("apps/demo-app"), "{pane}");
}
