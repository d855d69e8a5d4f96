//! The pure cgroup v2 layout on any host: a test re-runs itself (one inner
//! test, in a child process whose mount namespace dies with it), and the
//! inner test mounts cgroup2 over /sys/fs/cgroup in a mount namespace of
//! its thread. The host's mounts are untouched; lxcbox processes the inner
//! test spawns inherit the namespace and see a pure v2 host.
//!
//! Include with `#[path = "common/purev2.rs"] mod purev2;`.
#![allow(dead_code)]

use std::process::Command;

use rustix::mount::{mount, mount_change, MountFlags, MountPropagationFlags};

/// Set in the child that runs the inner test.
pub const INNER: &str = "LXCBOX_PURE_V2_INNER";

/// True in the child process (the inner test runs), false in the outer one.
pub fn is_inner() -> bool {
    std::env::var_os(INNER).is_some()
}

/// The outer test: run test `inner` of this binary in a child and assert
/// that it passed.
pub fn run_inner(inner: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", inner, "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

/// In the inner test: a private mount namespace for this thread (alone:
/// /proc/thread-self shows its mounts) with cgroup2 on /sys/fs/cgroup, and
/// no other cgroup mount (a host may have more, e.g. a recursive bind of
/// /sys somewhere: those would make the layout hybrid again).
pub fn enter() {
    lxcbox::sys::cgroup::unshare_mount_ns().unwrap();
    mount_change(
        "/",
        MountPropagationFlags::REC | MountPropagationFlags::PRIVATE,
    )
    .unwrap();
    mount(
        "cgroup2",
        "/sys/fs/cgroup",
        "cgroup2",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        None,
    )
    .unwrap();
    let info = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
    let mut others: Vec<String> = info
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            let fstype = *f.get(sep + 1)?;
            let mp = *f.get(4)?;
            (matches!(fstype, "cgroup" | "cgroup2") && !mp.starts_with("/sys/fs/cgroup"))
                .then(|| mp.to_string())
        })
        .collect();
    // Deepest first; a parent's detach takes its children along anyway.
    others.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in others {
        let _ = rustix::mount::unmount(m.as_str(), rustix::mount::UnmountFlags::DETACH);
    }
}
