//! The namespace harness of the mount tests: a test re-runs its own test
//! binary as a child (the ignored `mount_child_entry` test of each file),
//! which unshares a PID namespace and spawns a grandchild; the grandchild
//! (PID 1 there) unshares a mount namespace, plays the container's child
//! process and reports what it sees as `KV key=value` lines.
//!
//! Include with `#[path = "common/nschild.rs"] mod nschild;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use lxcbox::config::Config;
use lxcbox::mount::{pivot, setup_mounts, MountCtx};

const ENV_SCENARIO: &str = "LXCBOX_MT_SCENARIO";
const ENV_DIR: &str = "LXCBOX_MT_DIR";
const ENV_STAGE: &str = "LXCBOX_MT_STAGE";
const ENV_HOSTNS: &str = "LXCBOX_MT_HOSTNS";

/// Inode of the calling thread's mount namespace.
pub fn thread_mnt_ns() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/mnt")
        .expect("stat /proc/thread-self/ns/mnt")
        .ino()
}

/// Inode of the host's mount namespace, as stage 1 saw it.
pub fn host_mnt_ns() -> u64 {
    std::env::var(ENV_HOSTNS)
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("LXCBOX_MT_HOSTNS set by stage 1")
}

/// Run `scenario` in a child (new PID + mount namespace) with `dir` as its
/// working area; returns (exit ok, key=value map, raw output).
pub fn run_child(scenario: &str, dir: &Path) -> (bool, BTreeMap<String, String>, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "mount_child_entry",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_SCENARIO, scenario)
        .env(ENV_DIR, dir)
        .env_remove(ENV_STAGE)
        .output()
        .expect("spawning child");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let map = text
        .lines()
        // The harness prints "test NAME ... " without a newline first.
        .filter_map(|l| l.find("KV ").map(|i| &l[i + 3..]))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (out.status.success(), map, text)
}

/// Mount table lines that mention `dir` (other tests may mount elsewhere
/// concurrently, so only our own paths are compared).
pub fn host_mounts_under(dir: &Path) -> Vec<String> {
    let s = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let d = dir.to_string_lossy();
    s.lines()
        .filter(|l| l.contains(d.as_ref()))
        .map(String::from)
        .collect()
}

pub fn host_mountinfo_etc() -> Vec<String> {
    let s = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    s.lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| m == "/etc" || m.starts_with("/etc/"))
        })
        .map(String::from)
        .collect()
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The body of `mount_child_entry`: does nothing unless run by
/// [`run_child`]; then runs `stage2(scenario, dir)` in the new namespaces
/// and exits (0 on success, 3 after printing `KV error=...`).
pub fn child_main(stage2: fn(&str, &Path) -> anyhow::Result<()>) {
    let Ok(scenario) = std::env::var(ENV_SCENARIO) else {
        return;
    };
    let dir = PathBuf::from(std::env::var(ENV_DIR).unwrap());
    if std::env::var(ENV_STAGE).is_err() {
        // Stage 1: new PID namespace for our children, then run stage 2.
        lxcbox::sys::mount::unshare_pid_ns().expect("unshare(CLONE_NEWPID)");
        let st = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "mount_child_entry",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_STAGE, "2")
            .env(ENV_HOSTNS, thread_mnt_ns().to_string())
            .status()
            .unwrap();
        std::process::exit(st.code().unwrap_or(99));
    }
    lxcbox::sys::mount::unshare_mount_ns().expect("unshare(CLONE_NEWNS)");
    // unshare() moves only this thread (the harness runs tests in threads):
    // tests must look at /proc/thread-self, never /proc/self, for their
    // namespace. Check we really left the host's (recorded by stage 1)
    // before mounting anything.
    assert_ne!(
        thread_mnt_ns(),
        host_mnt_ns(),
        "still in the host mount namespace"
    );
    let code = match stage2(&scenario, &dir) {
        Ok(()) => 0,
        Err(e) => {
            println!("KV error={e:#}");
            3
        }
    };
    std::process::exit(code);
}

pub fn kv(k: &str, v: impl std::fmt::Display) {
    println!("KV {k}={v}");
}

/// What the launch plan would decide for this config (the harness plays
/// the child of a container that has a config).
fn own_netns(cfg: &Config) -> bool {
    lxcbox::start::namespaces::decide(cfg, true, &[])
        .map(|p| p.owns(lxcbox::namespace::Namespace::Net))
        .unwrap_or(false)
}

pub fn ctx_run(
    cfg: &Config,
    dir: &Path,
    after: impl FnOnce(&lxcbox::mount::RootFs) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ctx = MountCtx {
        cfg,
        name: "t",
        lxcpath: dir,
        container_dir: dir,
        cgroup_paths: Vec::new(),
        own_netns: own_netns(cfg),
        own_cgroupns: false,
        idmapped_root: None,
    };
    if let Some(root) = setup_mounts(&ctx)? {
        after(&root)?;
        pivot(root)?;
    }
    Ok(())
}

pub fn ctx_run_cg(
    cfg: &Config,
    dir: &Path,
    cgroup_paths: Vec<(String, PathBuf)>,
    after: impl FnOnce(&lxcbox::mount::RootFs) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let ctx = MountCtx {
        cfg,
        name: "t",
        lxcpath: dir,
        container_dir: dir,
        cgroup_paths,
        own_netns: own_netns(cfg),
        own_cgroupns: false,
        idmapped_root: None,
    };
    let root = setup_mounts(&ctx)?.ok_or_else(|| anyhow::anyhow!("no rootfs"))?;
    after(&root)?;
    pivot(root)
}

/// This process's memory cgroup path (v1), e.g. "/" or "/a/b".
pub fn own_memory_cgroup() -> anyhow::Result<String> {
    let s = std::fs::read_to_string("/proc/self/cgroup")?;
    s.lines()
        .filter_map(|l| l.split_once(':').and_then(|(_, rest)| rest.split_once(':')))
        .find(|(c, _)| c.split(',').any(|x| x == "memory"))
        .map(|(_, p)| p.to_string())
        .ok_or_else(|| anyhow::anyhow!("no memory cgroup"))
}

pub fn errno_of(r: std::io::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) if e.raw_os_error() == Some(30) => "EROFS".into(),
        Err(e) => e.to_string(),
    }
}

pub fn is_ro(p: &str) -> bool {
    rustix::fs::statvfs(p)
        .map(|s| s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
        .unwrap_or(false)
}

pub fn rdev(p: &str) -> String {
    match std::fs::metadata(p) {
        Ok(m) if m.file_type().is_char_device() => {
            format!(
                "{}:{}",
                rustix::fs::major(m.rdev()),
                rustix::fs::minor(m.rdev())
            )
        }
        Ok(_) => "not a char device".into(),
        Err(e) => e.to_string(),
    }
}
