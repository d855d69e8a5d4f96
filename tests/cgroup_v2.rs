//! The pure cgroup v2 layout, made on a hybrid (or v2) host inside a
//! private mount namespace: cgroup2 is mounted over /sys/fs/cgroup in an
//! unshared mount namespace of a re-executed test process, so the host's
//! mounts are untouched. Create, attach, limits, freeze/thaw through
//! cgroup.freeze, kill, removal; nothing may be left behind. Root only.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lxcbox::cgroup::{CgroupSet, Layout, Mode};
use lxcbox::config::Config;
use rustix::mount::{mount, mount_change, MountFlags, MountPropagationFlags};
use rustix::process::Signal;

const INNER: &str = "LXCBOX_CGROUP_V2_INNER";

struct Guard {
    set: CgroupSet,
    children: Vec<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.set.thaw();
        let _ = self.set.kill_all(Signal::KILL);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.set.remove();
    }
}

/// Runs the real test in a child process (its own mount namespace dies
/// with it).
#[test]
fn pure_v2_in_private_mount_namespace() {
    if std::env::var_os(INNER).is_some() {
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "v2_inner", "--nocapture", "--test-threads=1"])
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

#[test]
fn v2_inner() {
    if std::env::var_os(INNER).is_none() {
        return;
    }
    // Everything below runs on this thread, which alone gets the new
    // mount namespace; /proc/thread-self shows its mounts.
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
    let layout = Layout::from_files(
        Path::new("/proc/thread-self/mountinfo"),
        Path::new("/proc/self/cgroup"),
    )
    .unwrap();
    // The v1 mounts below /sys/fs/cgroup are hidden by the new mount.
    assert_eq!(layout.hierarchies.len(), 1);
    assert_eq!(
        layout.hierarchies[0].mountpoint,
        Path::new("/sys/fs/cgroup")
    );
    assert_eq!(layout.mode(), Mode::Unified);

    let name = format!("lxcbox-test-{}-v2", std::process::id());
    let mut cfg = Config {
        cgroup_v2: vec![("cgroup.max.descendants".into(), "5".into())],
        ..Config::default()
    };
    let mut g = Guard {
        set: CgroupSet::create_payload(&layout, &name, &cfg, None).unwrap(),
        children: Vec::new(),
    };
    let dir = g.set.unified().unwrap().path.clone();
    assert_eq!(
        dir,
        layout.hierarchies[0]
            .base_dir()
            .join(format!("lxc.payload.{name}"))
    );
    assert!(dir.is_dir());
    g.set.apply_config(&cfg).unwrap();
    assert_eq!(g.set.get("cgroup.max.descendants").unwrap(), "5");
    // v1 keys on a v2-only host are translated (pids.max as is) or fail
    // clearly when the controller is not delegated.
    cfg.cgroup_v2.clear();
    cfg.cgroup_v1 = vec![("devices.allow".into(), "c 1:3 rwm".into())];
    let e = format!("{:#}", g.set.apply_config(&cfg).unwrap_err());
    assert!(e.contains("lxc.cgroup.devices.allow"), "{e}");
    cfg.cgroup_v1 = vec![("pids.max".into(), "64".into())];
    match g.set.apply_config(&cfg) {
        // pids delegated to the new cgroup: translated as is.
        Ok(()) => assert_eq!(g.set.get("pids.max").unwrap(), "64"),
        // Not delegated (hybrid host: pids is bound to v1): a clear error.
        Err(e) => {
            let e = format!("{e:#}");
            assert!(
                e.contains("lxc.cgroup.pids.max") && e.contains("pids controller is not enabled"),
                "{e}"
            );
        }
    }
    cfg.cgroup_v1.clear();
    assert!(g.set.get("cgroup.events").unwrap().contains("frozen 0"));

    // Attach a process that forks busy children only once inside.
    let mut c = Command::new("/bin/sh")
        .args([
            "-c",
            "read _; for i in 1 2 3; do (while :; do :; done) & done; wait",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = c.id() as i32;
    let mut stdin = c.stdin.take().unwrap();
    g.children.push(c);
    g.set.attach(pid).unwrap();
    stdin.write_all(b"go\n").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while g.set.pids().unwrap().len() < 4 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(g.set.pids().unwrap().contains(&pid));

    g.set.freeze(Duration::from_secs(10)).unwrap();
    assert!(g.set.is_frozen().unwrap());
    let events = std::fs::read_to_string(dir.join("cgroup.events")).unwrap();
    assert!(events.contains("frozen 1"), "{events}");
    let cpu = g.set.stats().unwrap().cpu_ns;
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(g.set.stats().unwrap().cpu_ns, cpu, "frozen cgroup used CPU");
    g.set.thaw().unwrap();
    assert!(!g.set.is_frozen().unwrap());

    g.set.kill_all(Signal::KILL).unwrap();
    let _ = g.children[0].wait();
    g.set.remove().unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
}
