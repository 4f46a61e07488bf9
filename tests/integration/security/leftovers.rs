//! Defect 7: an interrupted `kz package` leaves no partial archive, and stale temp files of kz's
//! own naming are swept on the next run only when their owner is gone.

use crate::harness::{Ws, KZ};
use std::time::Duration;

fn big_registry() -> Ws {
    let ws = Ws::new();
    let r = "build/kamiwaza-extension-registry";
    ws.write("apps/.keep", "")
        .write(&format!("{r}/garden/v2/apps.json"), "[]");
    // A large, poorly compressible file keeps kz busy long enough to be stopped mid-stream.
    let mut noise = Vec::with_capacity(64 << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 64 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    ws.write(&format!("{r}/garden/v2/docker-images/big.tar"), noise);
    ws
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".kz-"))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(target_os = "linux")]
#[test]
fn a_signal_mid_package_leaves_no_partial_archive() {
    let ws = big_registry();
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let mut child = std::process::Command::new(KZ)
            .args(["package", "--out", "out"])
            .current_dir(ws.path("."))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        // Wait until the partial archive exists, then stop kz.
        let start = std::time::Instant::now();
        while leftovers(&ws.path("out")).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no partial archive appeared"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let sent = std::process::Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(code), "{signal:?}");
        assert_eq!(
            leftovers(&ws.path("out")),
            Vec::<String>::new(),
            "{signal:?}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn stale_temp_files_of_dead_owners_are_swept_and_live_ones_kept() {
    let ws = Ws::new();
    let r = "build/kamiwaza-extension-registry";
    ws.write("apps/.keep", "")
        .write(&format!("{r}/garden/v2/apps.json"), "[]")
        .write("out/.kz-package-4000000-7-dead.tar.gz", "partial")
        .write("apps/.keep2", "");
    // A live owner: this test process, with its real start time.
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let start = stat[stat.rfind(')').expect(")") + 1..]
        .split_whitespace()
        .nth(19)
        .expect("starttime")
        .to_owned();
    let live = format!(".kz-package-{}-{start}-live.tar.gz", std::process::id());
    ws.write(&format!("out/{live}"), "in progress");
    ws.kz(&["package", "--out", "out"]).code(0);
    assert_eq!(leftovers(&ws.path("out")), vec![live]);
}
