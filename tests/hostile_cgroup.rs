//! lxc.mount.auto = cgroup-full against container root (issue 19): with
//! CAP_SYS_ADMIN kept, root remounts /sys/fs/cgroup/* writable and writes
//! its pid into the top cgroup.procs it can see. If that were the host's
//! root cgroup (cgroup v1 checks no namespace on a move), the process
//! would leave the container's cgroups and every limit (pids.max).

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use env::{stderr, stdout, Env};

const ESCAPE: &str = r#"
mount -o remount,rw /sys/fs/cgroup 2>/dev/null
mount -o remount,rw /sys/fs/cgroup/pids 2>/dev/null
echo $$ > /sys/fs/cgroup/pids/cgroup.procs && echo MOVED
cat /proc/self/cgroup
"#;

/// The pids line of /proc/self/cgroup as the escaping shell printed it.
fn pids_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.split(':').nth(1) == Some("pids"))
        .unwrap_or_else(|| panic!("no pids line in: {out}"))
}

#[test]
fn cgroup_full_never_exposes_the_host_tree() {
    let e = Env::new("hcgf");
    for (i, token) in [
        "cgroup-full:ro:force",
        "cgroup-full:mixed:force",
        "cgroup-full:rw:force",
        "cgroup-full:force",
        "cgroup:ro:force",
        "cgroup:mixed:force",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("hcgf{i}-{}", std::process::id());
        e.busybox(
            &name,
            &format!("lxc.mount.auto = proc:mixed sys:ro {token}\nlxc.cgroup.pids.max = 64\n"),
        );
        let o = e.run("lxc-execute", &["-n", &name, "--", "/bin/sh", "-c", ESCAPE]);
        let out = stdout(&o);
        assert!(o.status.success(), "{token}: {out} {}", stderr(&o));
        let line = pids_line(&out);
        // In the container's cgroup namespace its own cgroup is "/"; a
        // move into the host's root shows as "/.." (or deeper).
        assert!(
            !line.contains(".."),
            "{token}: escaped the container's pids cgroup: {line}\n{out}"
        );
        let _ = std::fs::remove_dir_all(e.root.join("lxc").join(&name));
    }
}

#[test]
fn cgroup_full_shows_the_containers_own_cgroup_with_its_limit() {
    let e = Env::new("hcgl");
    let name = format!("hcgl-{}", std::process::id());
    e.busybox(
        &name,
        "lxc.mount.auto = proc:mixed sys:ro cgroup-full:ro:force\nlxc.cgroup.pids.max = 64\n",
    );
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            &name,
            "--",
            "/bin/sh",
            "-c",
            "cat /sys/fs/cgroup/pids/pids.max",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // The root of the mount is the container's cgroup (the host's root
    // cgroup has no pids.max) with the configured limit.
    assert_eq!(out.lines().next(), Some("64"), "{out}");
}
