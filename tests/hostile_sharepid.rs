//! lxc-execute --share-pid OTHER (issue 19): the new container sees the
//! processes of OTHER's PID namespace. Where their root is the host's
//! (OTHER has no rootfs; a command attached without the mount namespace),
//! /proc/PID/root of one of them is the host's / — reachable from inside
//! the new container with LXC 5.0.2. lxcbox puts such a container into a
//! Landlock domain of its own: it still sees and signals OTHER's
//! processes, but cannot reach through them.

#[path = "common/env.rs"]
mod env;
#[path = "common/oldkernel.rs"]
mod oldkernel;
#[path = "common/rootfs.rs"]
mod rootfs;

use env::{stderr, stdout, Env};

/// Does this kernel give Landlock's scopes (Linux 6.12) to this run? Not
/// under the old-kernel pass, whose filter answers landlock_* with ENOSYS.
fn landlock_scopes_expected() -> bool {
    if oldkernel::whole_run() {
        return false;
    }
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = rel
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (6, 12)
}

#[test]
fn shared_pid_namespace_does_not_open_the_hosts_root() {
    let e = Env::new("hspid");
    let other = format!("hspo-{}", std::process::id());
    let new = format!("hspn-{}", std::process::id());
    // OTHER: no rootfs, so its processes' root is the host's /.
    e.define(
        &other,
        "lxc.net.0.type = empty\nlxc.mount.auto = proc:mixed\n",
    );
    let o = e.run(
        "lxc-execute",
        &["-n", &other, "-d", "--", "/bin/sleep", "1000"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let secret = e.root.join("host-secret");
    std::fs::write(&secret, "HOST-ONLY\n").unwrap();

    e.busybox(
        &new,
        "lxc.net.0.type = empty\nlxc.mount.auto = proc:mixed sys:ro\n",
    );
    let script = format!(
        "cat /proc/1/cmdline; echo; cat /proc/1/root{s} 2>&1; ls /proc/1/cwd/ >/dev/null 2>&1 && echo CWD-OPEN; kill -0 1 && echo SIGNAL-OK; echo OWN-$(cat /proc/$$/root/etc/hostname)",
        s = secret.display()
    );
    let scoped = landlock_scopes_expected();
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            &new,
            "-l",
            "WARN",
            "--share-pid",
            &other,
            "--",
            "/bin/sh",
            "-c",
            &script,
        ],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out} {}", stderr(&o));
    // OTHER's processes are visible (the point of sharing) ...
    assert!(out.contains("/bin/sleep"), "{out}");
    assert!(out.contains("SIGNAL-OK"), "{out}");
    // Its own processes stay within reach.
    assert!(out.contains("OWN-busybox"), "{out}");
    if !scoped {
        // Without Landlock's scopes (Linux 6.12) lxcbox runs it as LXC
        // does, and says what stays open.
        assert!(
            stderr(&o).contains("no Landlock scopes here"),
            "{}",
            stderr(&o)
        );
        let _ = e.run("lxc-stop", &["-n", &other, "-k"]);
        return;
    }
    // ... but not a way out: the host's files stay out of reach.
    assert!(
        !out.contains("HOST-ONLY"),
        "the host's / through /proc/1/root: {out}"
    );
    assert!(!out.contains("CWD-OPEN"), "{out}");
    let _ = e.run("lxc-stop", &["-n", &other, "-k"]);
}
