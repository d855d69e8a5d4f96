//! LXC's own configs start unchanged under lxcbox (common.conf,
//! userns.conf, nesting.conf, oci.common.conf, every distribution's
//! *.common.conf and *.userns.conf in /usr/share/lxc/config), with their
//! confinement: Debian's common.seccomp, the capability drops and the
//! device rules. Device rules on cgroup v2 (a BPF device program) are
//! checked on this host and on a pure cgroup v2 layout made in a private
//! mount namespace.

#[path = "common/env.rs"]
mod env;
#[path = "common/probe.rs"]
mod probe;
#[path = "common/purev2.rs"]
mod purev2;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::Path;

use env::{stderr, stdout, Env};

const CONFIG_DIR: &str = "/usr/share/lxc/config";

/// A busybox container with the probe, including `include` (if given).
fn container(e: &Env, name: &str, include: Option<&str>, extra: &str) {
    let inc = include.map_or(String::new(), |f| format!("lxc.include = {f}\n"));
    let r = e.busybox(name, &format!("{inc}{extra}"));
    // Distribution configs mount a tmpfs on /run.
    std::fs::create_dir_all(r.join("run")).unwrap();
    probe::install(&r);
}

fn start(e: &Env, name: &str, init: &str) -> std::process::Output {
    e.run(
        "lxc-start",
        &["-n", name, "-F", "-s", &format!("lxc.init.cmd={init}")],
    )
}

const DEVICE_PROBES: &str =
    "/bin/sysprobe read_dev:/dev/null read_dev:/dev/zero mknod_c:/tmp/mem:1:1 read_dev:/tmp/mem";

#[test]
fn debian_common_conf_confines_like_lxc() {
    let e = Env::new("stdeb");
    let inc = format!("{CONFIG_DIR}/debian.common.conf");
    if !Path::new(&inc).exists() {
        panic!("{inc} is missing: install Debian's lxc package (.ci/run does)");
    }
    container(&e, "stdeb", Some(&inc), "");
    let o = start(
        &e,
        "stdeb",
        &format!(
            "/bin/sysprobe seccomp kexec_load open_by_handle_at init_module {}",
            DEVICE_PROBES.trim_start_matches("/bin/sysprobe ")
        ),
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let r = probe::results(&out);
    assert_eq!(r["seccomp"], "2", "{out}");
    for call in ["kexec_load", "open_by_handle_at", "init_module"] {
        assert_eq!(r[call], "EPERM", "{call}: {out}");
    }
    // common.conf's device allowlist: any mknod, but only listed devices
    // can be opened (v1 devices controller on this host; as LXC 5.0.2).
    assert_eq!(
        r["read_dev"], "EPERM",
        "the last read_dev is /tmp/mem: {out}"
    );
    assert_eq!(r["mknod_c"], "ok", "{out}");
    assert!(
        out.contains("read_dev=ok"),
        "/dev/null and /dev/zero open: {out}"
    );
    // The cgroup2 copies of the rules are ignored with LXC's warning.
    let o = e.run(
        "lxc-start",
        &[
            "-n",
            "stdeb",
            "-F",
            "-l",
            "WARN",
            "-o",
            "/dev/stderr",
            "-s",
            "lxc.init.cmd=/bin/true",
        ],
    );
    assert!(
        stderr(&o).contains("Ignoring cgroup2 limits on legacy cgroup system"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_stock_config_starts() {
    let e = Env::new("ststock");
    let mut names: Vec<String> = std::fs::read_dir(CONFIG_DIR)
        .unwrap_or_else(|err| panic!("{CONFIG_DIR}: {err} (install lxc)"))
        .flatten()
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    names.sort();
    for must in [
        "common.conf",
        "userns.conf",
        "nesting.conf",
        "oci.common.conf",
        "debian.common.conf",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "{must} missing in {CONFIG_DIR}"
        );
    }
    let mut failed = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let cname = format!("stk{i}");
        container(&e, &cname, Some(&format!("{CONFIG_DIR}/{n}")), "");
        let o = start(&e, &cname, "/bin/sh -c \"echo STARTED\"");
        if !o.status.success() || !stdout(&o).contains("STARTED") {
            failed.push(format!("{n}: {}{}", stdout(&o), stderr(&o)));
        }
    }
    assert!(
        failed.is_empty(),
        "configs that did not start:\n{}",
        failed.join("\n")
    );
}

/// The device rules of the issue: only /dev/null, and no mknod.
const V2_RULES: &str = "lxc.cgroup2.devices.deny = a\nlxc.cgroup2.devices.allow = c 1:3 rwm\n";

fn check_v2_rules(out: &str) {
    let r: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let got: Vec<String> = r.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        got,
        [
            "read_dev=ok",
            "read_dev=EPERM",
            "mknod_c=EPERM",
            "read_dev=ENOENT"
        ],
        "/dev/null opens, /dev/zero does not, mknod fails: {out}"
    );
}

#[test]
fn cgroup2_device_rules_on_this_host() {
    // Only cgroup2 rules in the config: on a hybrid host the device
    // program on the unified cgroup enforces them (LXC would drop them).
    let e = Env::new("stv2h");
    container(&e, "stv2h", None, V2_RULES);
    let o = start(&e, "stv2h", DEVICE_PROBES);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    check_v2_rules(&stdout(&o));
}

#[test]
fn pure_cgroup2_layout_in_private_mount_namespace() {
    if !purev2::is_inner() {
        purev2::run_inner("pure_v2_inner");
    }
}

#[test]
fn pure_v2_inner() {
    if !purev2::is_inner() {
        return;
    }
    purev2::enter();
    let e = Env::new("stv2p");
    // The rules, and Debian's stock config, on pure cgroup v2.
    container(&e, "stv2p", None, V2_RULES);
    let o = start(&e, "stv2p", DEVICE_PROBES);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    check_v2_rules(&stdout(&o));
    container(
        &e,
        "stv2d",
        Some(&format!("{CONFIG_DIR}/debian.common.conf")),
        "",
    );
    let o = start(&e, "stv2d", &format!("{DEVICE_PROBES} kexec_load seccomp"));
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let r = probe::results(&out);
    assert_eq!(r["kexec_load"], "EPERM", "{out}");
    assert_eq!(r["seccomp"], "2", "{out}");
    assert_eq!(r["mknod_c"], "ok", "common.conf allows any mknod: {out}");
    assert_eq!(r["read_dev"], "EPERM", "but not opening /dev/mem: {out}");
}
