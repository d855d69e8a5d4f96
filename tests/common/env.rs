//! A private lxcpath and run directory per test, the real binary to drive,
//! and a Drop guard that kills every monitor started in it (init follows
//! through its parent-death signal) and removes the tree, even when the
//! test fails.
//!
//! Include with `#[path = "common/env.rs"] mod env;` (needs rootfs.rs too).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxcbox")
}

pub struct Env {
    pub root: PathBuf,
}

impl Env {
    pub fn new(tag: &str) -> Env {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("lxcbox-t-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("lxc")).unwrap();
        Env { root }
    }

    pub fn lxcpath(&self) -> String {
        self.root.join("lxc").to_string_lossy().into_owned()
    }

    pub fn rundir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// A command for `applet` with -P and this env's run directory.
    pub fn cmd(&self, applet: &str) -> Command {
        let mut c = Command::new(bin());
        c.arg(applet)
            .args(["-P", &self.lxcpath()])
            .env("LXCBOX_RUNDIR", self.rundir());
        c
    }

    pub fn run(&self, applet: &str, args: &[&str]) -> Output {
        self.cmd(applet).args(args).output().unwrap()
    }

    pub fn spawn(&self, applet: &str, args: &[&str]) -> Child {
        self.cmd(applet)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// LXCPATH/NAME, created.
    pub fn container_dir(&self, name: &str) -> PathBuf {
        let d = self.root.join("lxc").join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Define NAME with `config` text.
    pub fn define(&self, name: &str, config: &str) -> PathBuf {
        let d = self.container_dir(name);
        std::fs::write(d.join("config"), config).unwrap();
        d
    }

    /// Define NAME with a busybox rootfs at LXCPATH/NAME/rootfs plus `extra` config.
    pub fn busybox(&self, name: &str, extra: &str) -> PathBuf {
        let d = self.container_dir(name);
        let r = d.join("rootfs");
        super::rootfs::busybox_rootfs(&r).unwrap();
        std::fs::write(
            d.join("config"),
            format!("lxc.rootfs.path = dir:{}\n{extra}", r.display()),
        )
        .unwrap();
        r
    }

    /// Pids of the monitors running for this lxcpath.
    pub fn monitors(&self) -> Vec<i32> {
        self.monitors_named().into_iter().map(|(p, _)| p).collect()
    }

    /// (pid, container name) of the monitors running for this lxcpath.
    pub fn monitors_named(&self) -> Vec<(i32, String)> {
        let tag = format!("[lxc monitor] {} ", self.lxcpath());
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
                let cmd = String::from_utf8_lossy(&cmd)
                    .trim_end_matches('\0')
                    .to_string();
                if let Some(name) = cmd.strip_prefix(&tag) {
                    out.push((pid, name.to_string()));
                }
            }
        }
        out
    }

    /// Wait until `cond` holds (tests assert behaviour, not timing: the
    /// bound only keeps a broken test from hanging).
    pub fn wait_until(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(20);
        while !cond() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let killed = self.monitors_named();
        for (pid, _) in &killed {
            if let Some(p) = rustix::process::Pid::from_raw(*pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
        let end = Instant::now() + Duration::from_secs(5);
        while !self.monitors().is_empty() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        // A SIGKILLed monitor cannot remove its cgroups: do it for it.
        for (_, name) in &killed {
            remove_cgroups_of(name);
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Remove lxc.payload.NAME and lxc.monitor.NAME (with their sub-cgroups)
/// under this process's cgroups, waiting for dying processes to leave; only
/// those lxcbox made (a real LXC may run a container of the same name).
pub fn remove_cgroups_of(name: &str) {
    for prefix in ["lxc.payload.", "lxc.monitor."] {
        remove_own_cgroup(&format!("{prefix}{name}"), true);
    }
}

/// Remove the cgroup `rel` (and its sub-cgroups) under this process's
/// cgroup in every hierarchy, waiting up to 5 s for dying processes to
/// leave (rmdir answers EBUSY until the last one is gone). `ours_only`:
/// only a cgroup lxcbox marked as its own.
pub fn remove_own_cgroup(rel: &str, ours_only: bool) {
    use lxcbox::cgroup::{CgroupSet, Layout};
    let Ok(layout) = Layout::discover() else {
        return;
    };
    let Ok(me) = CgroupSet::from_pid(&layout, std::process::id() as i32) else {
        return;
    };
    let end = Instant::now() + Duration::from_secs(5);
    for base in me.paths() {
        let d = base.join(rel);
        if ours_only && !lxcbox::cgroup::owner::is_ours(&d) {
            continue;
        }
        while d.exists() && Instant::now() < end {
            if let Ok(rd) = std::fs::read_dir(&d) {
                for sub in rd.flatten() {
                    if sub.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        let _ = std::fs::remove_dir(sub.path());
                    }
                }
            }
            if std::fs::remove_dir(&d).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The state lxc-info reports for `name` (STOPPED, RUNNING, ...).
pub fn state(e: &Env, name: &str) -> String {
    let o = e.run("lxc-info", &["-n", name, "-s"]);
    stdout(&o)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// The pid of a running container's init, from lxc-info -p.
pub fn init_pid(e: &Env, name: &str) -> i32 {
    let o = e.run("lxc-info", &["-n", name, "-p"]);
    let out = stdout(&o);
    out.split_whitespace()
        .last()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no init pid for {name}: {out} {}", stderr(&o)))
}

/// The /proc/PID/ns/KIND link of a process ("self" for the test itself).
pub fn ns(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Path exists without following a final symlink.
pub fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}

/// The payload cgroup directories of container `name` (lxc.payload.NAME)
/// that exist below this process's cgroups.
pub fn payload_dirs(name: &str) -> Vec<PathBuf> {
    use lxcbox::cgroup::{CgroupSet, Layout, PAYLOAD_PREFIX};
    let layout = Layout::discover().unwrap();
    let me = CgroupSet::from_pid(&layout, std::process::id() as i32).unwrap();
    me.paths()
        .into_iter()
        .map(|p| p.join(format!("{PAYLOAD_PREFIX}{name}")))
        .filter(|p| p.exists())
        .collect()
}
