//! `kz build` on the engine's BuildKit: RUN --mount cache, COPY --chmod, parallel stages that
//! overlap (from the events' timestamps), labels in the image config with no extra layer,
//! secrets absent from the image, its history and kz's output, the failing step's log,
//! Dockerfile features the built-in frontend lacks and compose fields kz cannot honour refused
//! with their line, and the classic fallback behind a proxy that hides `/session` and `/grpc`.

use super::build::BuildWs;
use crate::harness::{Run, KZ};
use futures_util::StreamExt;
use std::io::{Read, Write};
use std::process::Command;

/// kz in the workspace with extra environment.
fn kz_env(b: &BuildWs, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(KZ)
        .args(args)
        .current_dir(b.ws.path("."))
        .env("KZ_COLOR", "never")
        .envs(env.iter().copied())
        .output()
        .expect("run kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `--progress json` events of a run.
fn events(run: &Run) -> Vec<serde_json::Value> {
    run.stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect()
}

fn history(b: &BuildWs, image: &str) -> Vec<String> {
    b.engine
        .block_on(b.engine.docker().image_history(image))
        .expect("history")
        .into_iter()
        .map(|h| h.created_by)
        .collect()
}

#[test]
fn buildkit_runs_mounts_chmod_and_parallel_stages_with_labels_in_the_config() {
    let b = BuildWs::empty("bk");
    b.tool(
        "tool-par",
        "FROM busybox AS a\nRUN --mount=type=cache,target=/cache sleep 1 && echo a > /a\n\
         FROM busybox AS b\nRUN sleep 1 && echo b > /b\n\
         FROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n\
         COPY --chmod=0600 kamiwaza.json /k\n",
    );
    let run = b.kz(&[
        "build",
        "tool-par",
        "--network",
        "none",
        "--no-cache",
        "--progress",
        "json",
    ]);
    run.code(0);
    let done: Vec<_> = events(&run)
        .into_iter()
        .filter(|e| e["event"] == "step-done")
        .collect();
    let span = |needle: &str| {
        let e = done
            .iter()
            .find(|e| e["name"].as_str().is_some_and(|n| n.contains(needle)))
            .unwrap_or_else(|| panic!("no step {needle}: {}", run.stderr));
        (
            e["started_ms"].as_i64().expect("start"),
            e["completed_ms"].as_i64().expect("end"),
        )
    };
    let (a0, a1) = span("echo a > /a");
    let (b0, b1) = span("echo b > /b");
    assert!(
        a0 < b1 && b0 < a1,
        "stages a and b overlap: a {a0}..{a1}, b {b0}..{b1}"
    );
    let image = b.image("tool-par-app", "1.0.0-dev");
    let labels = b.engine.labels(&image).expect("built");
    assert!(labels.contains_key("dev.kz.content-hash"), "{labels:?}");
    let hist = history(&b, &image);
    assert!(
        // (The base image's own history may hold a LABEL step; kz's labels must not.)
        hist.iter()
            .all(|h| !h.contains("dev.kz.content-hash") && !h.contains("dev.kz.managed")),
        "labels made no layer: {hist:?}"
    );
    assert!(
        hist.iter().any(|h| h.contains("buildkit")),
        "built by BuildKit: {hist:?}"
    );
    // A second build with --force: every Dockerfile step is CACHED in plain progress.
    let again = b.kz(&[
        "build",
        "tool-par",
        "--network",
        "none",
        "--force",
        "--progress",
        "plain",
    ]);
    again
        .code(0)
        .stderr_has("RUN sleep 1 && echo b > /b  CACHED");
}

#[test]
fn secrets_never_reach_the_image_its_history_or_the_output() {
    let b = BuildWs::empty("secret");
    let file_secret = "file-s3cr3t-9d1c";
    let env_secret = "env-s3cr3t-77ab";
    b.tool(
        "tool-sec",
        "FROM busybox\n\
         RUN --mount=type=secret,id=tok --mount=type=secret,id=api \
         test \"$(cat /run/secrets/tok)\" = \"$WANT_TOK\" && wc -c < /run/secrets/api > /len\n",
    );
    b.ws.write("tools/tool-sec/tok.txt", file_secret).write(
        "tools/tool-sec/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: .\n      args:\n        WANT_TOK: \
         ${WANT_TOK}\n      secrets: [tok, api]\n\
         secrets:\n  tok:\n    file: ./tok.txt\n  api:\n    environment: KZ_TEST_API\n",
    );
    b.ws.write("tools/tool-sec/.dockerignore", "tok.txt\n");
    // The Dockerfile checks the file secret against a build arg, so the arg must not be it:
    // compare through a hash instead.
    let df = "FROM busybox\nARG WANT_TOK\n\
         RUN --mount=type=secret,id=tok --mount=type=secret,id=api \
         test \"$(cat /run/secrets/tok | sha256sum | cut -c1-16)\" = \"$WANT_TOK\" \
         && wc -c < /run/secrets/api > /len\n";
    b.ws.write("tools/tool-sec/Dockerfile", df);
    let want = {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(file_secret.as_bytes());
        h.iter().map(|x| format!("{x:02x}")).collect::<String>()[..16].to_owned()
    };
    let run = kz_env(
        &b,
        &[
            "build",
            "tool-sec",
            "--network",
            "none",
            "--progress",
            "plain",
        ],
        &[("KZ_TEST_API", env_secret), ("WANT_TOK", want.as_str())],
    );
    run.code(0);
    for s in [file_secret, env_secret] {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "{s} printed"
        );
    }
    let image = b.image("tool-sec-app", "1.0.0-dev");
    let hist = history(&b, &image).join("\n");
    for s in [file_secret, env_secret] {
        assert!(!hist.contains(s), "{s} in history: {hist}");
    }
    // Every byte of every layer: the saved image holds no secret.
    let mut saved = Vec::new();
    b.engine.block_on(async {
        let mut s = b.engine.docker().export_image(&image);
        while let Some(chunk) = s.next().await {
            saved.extend_from_slice(&chunk.expect("export"));
        }
    });
    let mut archive = tar::Archive::new(saved.as_slice());
    let mut all = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let mut buf = Vec::new();
        entry.read_to_end(&mut buf).expect("read");
        // Layers are tars themselves (uncompressed in docker save).
        all.extend_from_slice(&buf);
    }
    assert!(!all.is_empty());
    for s in [file_secret, env_secret] {
        assert!(
            !all.windows(s.len()).any(|w| w == s.as_bytes()),
            "{s} in the image"
        );
    }
}

#[test]
fn a_failing_buildkit_step_shows_its_full_log() {
    let b = BuildWs::empty("bkfail");
    b.tool(
        "tool-bad",
        "FROM busybox\nRUN echo first-step-ok\nRUN echo line-one && echo line-two && false\n",
    );
    let run = b.kz(&["build", "tool-bad", "--network", "none"]);
    run.code(1)
        .stderr_has("RUN echo line-one && echo line-two && false")
        .stderr_has("| line-one")
        .stderr_has("| line-two")
        .stderr_has("exit code: 1");
    assert!(!run.stderr.contains("| first-step-ok"), "{}", run.stderr);
}

#[test]
fn features_the_engine_frontend_lacks_are_refused_with_file_and_line() {
    let b = BuildWs::empty("fe");
    b.tool("tool-hd", "FROM busybox\n\nRUN <<EOF\necho hi\nEOF\n");
    b.kz(&["build", "tool-hd"])
        .code(2)
        .stderr_has("tools/tool-hd/Dockerfile`: line 3: a heredoc in `RUN`")
        .stderr_has("# syntax=docker/dockerfile:1");
    b.tool("tool-ln", "FROM busybox\nCOPY --link Dockerfile /d\n");
    b.kz(&["build", "tool-ln"])
        .code(2)
        .stderr_has("line 2: `COPY --link`");
    b.tool("tool-net", "FROM busybox\nRUN --network=none true\n");
    b.kz(&["build", "tool-net"])
        .code(2)
        .stderr_has("line 2: `RUN --network`");
    b.tool("tool-ac", "FROM busybox\n");
    b.ws.write(
        "tools/tool-ac/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: .\n      additional_contexts:\n        x: ..\n",
    );
    b.kz(&["build", "tool-ac"])
        .code(2)
        .stderr_has("docker-compose.yml`: line 5: service `app`: `build.additional_contexts`");
}

/// A loopback proxy to the engine's socket that answers 404 to `/session` and `/grpc`.
fn hiding_proxy() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            std::thread::spawn(move || {
                let mut head = [0u8; 512];
                let Ok(n) = client.peek(&mut head) else {
                    return;
                };
                let first = String::from_utf8_lossy(&head[..n]);
                let path = first.split_whitespace().nth(1).unwrap_or("");
                if path.contains("/session") || path.contains("/grpc") {
                    let _ = client.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\
                          Content-Length: 29\r\nConnection: close\r\n\r\n\
                          {\"message\":\"page not found\"}",
                    );
                    return;
                }
                let Ok(engine) = std::os::unix::net::UnixStream::connect("/var/run/docker.sock")
                else {
                    return;
                };
                let (mut c2, mut e2) = (
                    client.try_clone().expect("clone"),
                    engine.try_clone().expect("clone"),
                );
                let up = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut e2);
                    let _ = e2.shutdown(std::net::Shutdown::Write);
                });
                let (mut e3, mut c3) = (engine, client);
                let _ = std::io::copy(&mut e3, &mut c3);
                let _ = c3.shutdown(std::net::Shutdown::Both);
                let _ = up.join();
            });
        }
    });
    addr
}

#[test]
fn an_engine_without_buildkit_falls_back_to_classic_in_one_line() {
    let b = BuildWs::empty("fallback");
    b.tool("tool-one", "FROM busybox\nCOPY Dockerfile /d\n");
    b.tool("tool-two", "FROM busybox\nCOPY Dockerfile /e\n");
    let addr = hiding_proxy();
    let host = format!("tcp://{addr}");
    let run = kz_env(
        &b,
        &["build", "--all", "--progress", "plain"],
        &[("DOCKER_HOST", host.as_str())],
    );
    run.code(0);
    let notes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("does not offer BuildKit"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", run.stderr);
    assert!(notes[0].contains("/session"), "{}", notes[0]);
    let hist = history(&b, &b.image("tool-one-app", "1.0.0-dev"));
    assert!(
        hist.iter().all(|h| !h.contains("buildkit")),
        "classic builder: {hist:?}"
    );
    // A secret needs BuildKit: refused on the classic builder, with its line.
    b.ws.write("tools/tool-one/s.txt", "x").write(
        "tools/tool-one/docker-compose.yml",
        "services:\n  app:\n    build:\n      context: .\n      secrets: [s]\nsecrets:\n  s:\n    file: ./s.txt\n",
    );
    kz_env(&b, &["build", "tool-one", "--builder", "classic"], &[])
        .code(2)
        .stderr_has("`build.secrets` needs BuildKit");
}

#[test]
fn a_foreign_platform_without_an_emulator_names_what_is_missing() {
    let handler = std::path::Path::new("/proc/sys/fs/binfmt_misc/qemu-riscv64");
    assert!(
        !handler.exists(),
        "this test needs an engine host without a riscv64 emulator ({} exists)",
        handler.display()
    );
    let b = BuildWs::empty("emu");
    b.tool("tool-rv", "FROM busybox\nRUN true\n");
    b.kz(&["build", "tool-rv", "--platform", "linux/riscv64"])
        .code(3)
        .stderr_has("has no emulator for linux/riscv64")
        .stderr_has("qemu-riscv64")
        .stderr_has("qemu-user-static");
}
