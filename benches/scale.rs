//! Scale benchmark (reports figures; asserts nothing about time): generates 100 / 1,000 / 10,000
//! extensions from the corpus shapes and times `kz validate` and `kz sync-compose` (first run,
//! which writes every file, then `--check`). Peak memory is the child's VmHWM from /proc.
//!
//! Run: `cargo bench --bench scale` (uses the optimised binary).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KZ: &str = env!("CARGO_BIN_EXE_kz");

/// Extension folders of the corpus that have a docker-compose.yml (the shapes to copy).
fn shapes() -> Vec<PathBuf> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/kamiwaza");
    let mut out = Vec::new();
    for root in std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(Result::ok)
    {
        for kind in ["apps", "services", "tools"] {
            let Ok(rd) = std::fs::read_dir(root.path().join(kind)) else {
                continue;
            };
            for ext in rd.filter_map(Result::ok) {
                if ext.path().join("docker-compose.yml").is_file()
                    && ext.path().join("kamiwaza.json").is_file()
                {
                    out.push(ext.path());
                }
            }
        }
    }
    out.sort();
    out
}

fn generate(root: &Path, n: usize, shapes: &[PathBuf]) {
    for i in 0..n {
        let shape = &shapes[i % shapes.len()];
        let kind = shape
            .parent()
            .and_then(Path::file_name)
            .and_then(|s| s.to_str())
            .unwrap_or("apps");
        let name = format!(
            "{}-{i:05}",
            shape.file_name().and_then(|s| s.to_str()).unwrap_or("x")
        );
        let dest = root.join(kind).join(name);
        std::fs::create_dir_all(&dest).expect("mkdir");
        for f in ["docker-compose.yml", "docker-compose.appgarden.yml"] {
            if shape.join(f).is_file() {
                std::fs::copy(shape.join(f), dest.join(f)).expect("copy");
            }
        }
        // Each copy publishes under its own name, as extensions of a real workspace do.
        let manifest = std::fs::read_to_string(shape.join("kamiwaza.json")).expect("manifest");
        let mut doc: serde_json::Value = serde_json::from_str(&manifest).expect("json");
        if let Some(obj) = doc.as_object_mut() {
            let base = obj
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("x")
                .to_owned();
            obj.insert(
                "name".into(),
                serde_json::Value::String(format!("{base}-{i:05}")),
            );
        }
        std::fs::write(
            dest.join("kamiwaza.json"),
            serde_json::to_string_pretty(&doc).expect("json"),
        )
        .expect("write");
    }
}

/// Run kz in `dir`; return (wall time, peak RSS in KiB, exit code).
fn measure(dir: &Path, args: &[&str]) -> (Duration, u64, i32) {
    let start = Instant::now();
    let mut child = Command::new(KZ)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kz");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                peak = peak.max(kb.trim().trim_end_matches("kB").trim().parse().unwrap_or(0));
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (start.elapsed(), peak, status.code().unwrap_or(-1))
}

fn main() {
    let shapes = shapes();
    println!(
        "kz scale benchmark: {} corpus shapes, binary {KZ}",
        shapes.len()
    );
    println!(
        "{:>7}  {:<22} {:>9} {:>12} {:>10}",
        "exts", "command", "wall", "per ext", "peak RSS"
    );
    for n in [100usize, 1_000, 10_000] {
        let tmp = tempfile::tempdir().expect("tmp");
        generate(tmp.path(), n, &shapes);
        for args in [
            &["validate"][..],
            &["sync-compose"],
            &["sync-compose", "--check"],
        ] {
            let (wall, rss, code) = measure(tmp.path(), args);
            #[allow(clippy::cast_precision_loss)]
            let per = wall.as_secs_f64() * 1e6 / n as f64;
            println!(
                "{n:>7}  {:<22} {:>7.0}ms {:>9.0}µs {:>7.1}MiB  (exit {code})",
                args.join(" "),
                wall.as_secs_f64() * 1e3,
                per,
                rss as f64 / 1024.0
            );
        }
    }
}
