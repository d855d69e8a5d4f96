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
use rustix::process::Signal;

#[path = "common/purev2.rs"]
mod purev2;

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
    if !purev2::is_inner() {
        purev2::run_inner("v2_inner");
    }
}

#[test]
fn v2_inner() {
    if !purev2::is_inner() {
        return;
    }
    // Everything below runs on this thread, which alone gets the new
    // mount namespace; /proc/thread-self shows its mounts.
    purev2::enter();
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
    // v1 device rules become a BPF device program (tests/stock_configs.rs
    // checks what it lets through); a bad rule names its key.
    cfg.cgroup_v1 = vec![("devices.allow".into(), "c 1:3 rwm".into())];
    g.set.apply_device_rules(&cfg).unwrap();
    cfg.cgroup_v1 = vec![("devices.allow".into(), "c one:3 rwm".into())];
    let e = format!("{:#}", g.set.apply_device_rules(&cfg).unwrap_err());
    assert!(e.contains("lxc.cgroup.devices.allow = c one:3 rwm"), "{e}");
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
