//! The build network on the real engine: `kz build --network none|host`, `KZ_BUILD_NETWORK` and
//! kz.yaml `build.network` decide what a `RUN` step sees (flag over variable over kz.yaml). The
//! probe's RUN step prints the network interfaces it has and fails, so its log is shown.

use crate::engine::build::BuildWs;
use crate::harness::{Run, KZ};
use std::process::Command;

const PROBE: &str = "FROM busybox:latest\n\
RUN echo \"NETS: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' ')END\"; exit 3\n";

/// The interface of this host's default route: present in a host-network build, absent from the
/// others (the host's full list changes while other tests create bridges and veths).
fn default_route_interface() -> String {
    let text = std::fs::read_to_string("/proc/net/route").expect("read /proc/net/route");
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&"00000000"))
        .and_then(|f| f.first().map(|s| (*s).to_owned()))
        .expect("the host has a default route")
}

/// The probe saw the host's network: its list holds the default route's interface.
fn is_host(seen: &str, iface: &str) -> bool {
    seen.split_whitespace().any(|name| name == iface)
}

fn build(b: &BuildWs, args: &[&str], network_var: Option<&str>) -> Run {
    let mut cmd = Command::new(KZ);
    cmd.args(["build", "probe", "--force"])
        .args(args)
        .current_dir(b.ws.path("."))
        .env("KZ_COLOR", "never")
        .env_remove("KZ_BUILD_NETWORK");
    if let Some(v) = network_var {
        cmd.env("KZ_BUILD_NETWORK", v);
    }
    let out = cmd.output().expect("run kz");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn sees(run: &Run) -> String {
    let all = format!("{}{}", run.stdout, run.stderr);
    let line = all
        .lines()
        .find(|l| l.contains("NETS: ") && !l.contains("echo"))
        .unwrap_or_else(|| panic!("no NETS line:\n{all}"));
    line[line.find("NETS: ").expect("marker")..]
        .trim_end()
        .to_owned()
}

#[test]
fn build_network_flag_variable_and_kz_yaml_reach_the_run_steps() {
    let b = BuildWs::empty("netprobe");
    b.tool("probe", PROBE);
    let iface = default_route_interface();

    let none = build(&b, &["--network", "none"], None);
    none.code(1);
    assert_eq!(sees(&none), "NETS: lo END");
    let run = build(&b, &["--network", "host"], None);
    assert!(is_host(&sees(&run), &iface), "{}", sees(&run));

    // kz.yaml, then the variable over it, then the flag over both.
    b.ws.write(
        "kz.yaml",
        format!("images:\n  namespace: {}\nbuild:\n  network: host\n", b.ns),
    );
    assert!(is_host(&sees(&build(&b, &[], None)), &iface));
    assert_eq!(sees(&build(&b, &[], Some("none"))), "NETS: lo END");
    let flag = sees(&build(&b, &["--network", "host"], Some("none")));
    assert!(is_host(&flag, &iface), "{flag}");
}

#[test]
fn build_network_refuses_unknown_values() {
    let b = BuildWs::empty("netbad");
    b.tool("probe", PROBE);
    build(&b, &["--network", "bridge"], None)
        .code(2)
        .stderr_has("invalid value 'bridge'");
    build(&b, &[], Some("bridge"))
        .code(2)
        .stderr_has("KZ_BUILD_NETWORK=bridge is not a build network (one of default, none, host)");
    b.ws.write(
        "kz.yaml",
        format!(
            "images:\n  namespace: {}\nbuild:\n  network: bridge\n",
            b.ns
        ),
    );
    build(&b, &[], None)
        .code(2)
        .stderr_has("kz.yaml")
        .stderr_has("line 4: `build.network` must be one of default, none, host");
}
