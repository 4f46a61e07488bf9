//! `kz --help` and every command's help, as golden files under tests/golden/help/ (one per
//! command path: `kz.txt`, `build.txt`, `kamiwaza-push.txt`, ...). A new, renamed or removed
//! command or flag fails here until the golden files are reviewed (`KZ_BLESS=1`).

use crate::harness::{assert_golden, bless, golden_dir, Ws};

/// The subcommands a help text lists under `Commands:` (without clap's own `help`).
fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in help.lines() {
        if line.ends_with(':') && !line.starts_with(' ') {
            inside = line == "Commands:";
            continue;
        }
        if inside {
            // "  name   about": a command name sits at a two-space indent.
            if let Some(rest) = line.strip_prefix("  ") {
                if !rest.starts_with(' ') {
                    if let Some(name) = rest.split_whitespace().next() {
                        if name != "help" {
                            out.push(name.to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_command_help_matches_its_golden_file() {
    let ws = Ws::new();
    let mut seen = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = queue.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = ws.kz(&args);
        run.code(0);
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        let name = if path.is_empty() {
            "kz".to_string()
        } else {
            path.join("-")
        };
        assert_golden(&format!("help/{name}.txt"), &run.stdout);
        seen.push(format!("{name}.txt"));
        for sub in subcommands(&run.stdout) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    assert!(
        seen.len() >= 20,
        "only {} commands found: {seen:?}",
        seen.len()
    );
    // No golden file for a command that no longer exists.
    let dir = golden_dir().join("help");
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/golden/help") {
        let file = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !seen.contains(&file) {
            stale.push(file);
        }
    }
    if bless() {
        for file in &stale {
            std::fs::remove_file(dir.join(file)).expect("remove stale golden file");
        }
    } else {
        assert!(
            stale.is_empty(),
            "golden help files of no command: {stale:?}"
        );
    }
}

#[test]
fn subcommands_are_read_from_the_commands_section_only() {
    let help = "Usage: kz\n\nCommands:\n  build  Build\n          more about build\n  help   Print\n\nOptions:\n  -q  quiet\n";
    assert_eq!(subcommands(help), ["build"]);
}
