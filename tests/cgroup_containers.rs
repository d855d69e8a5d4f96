//! Cgroups of real containers, as root: config limits in the host files,
//! lxc-cgroup get/set, freezing 100 busy processes, lxc-priority, and no
//! payload cgroup left behind after many runs or an aborted start.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::PathBuf;
use std::time::Duration;

use env::{init_pid, state, stderr, stdout, Env};
use lxcbox::cgroup::{CgroupSet, Layout, PAYLOAD_PREFIX};

/// A container name unique on this host (payload cgroups are named after it).
fn uniq(tag: &str) -> String {
    format!("lc-{tag}-{}", std::process::id())
}

/// This process's cgroups: a monitor started by the test creates its
/// container's lxc.payload.NAME below them.
fn my_cgroups() -> CgroupSet {
    let layout = Layout::discover().unwrap();
    CgroupSet::from_pid(&layout, std::process::id() as i32).unwrap()
}

/// The existing lxc.payload.NAME directories.
fn payload_dirs(name: &str) -> Vec<PathBuf> {
    my_cgroups()
        .paths()
        .into_iter()
        .map(|p| p.join(format!("{PAYLOAD_PREFIX}{name}")))
        .filter(|p| p.exists())
        .collect()
}

/// The payload directory of `name` in the hierarchy with controller `ctrl`.
fn payload_dir(name: &str, ctrl: &str) -> Option<PathBuf> {
    let me = my_cgroups();
    let d = me.dir_for(ctrl)?;
    Some(d.path.join(format!("{PAYLOAD_PREFIX}{name}")))
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Removes the payload cgroups of a container whose monitor a failing test
/// left behind (Env's drop kills the monitor, but only a clean stop removes
/// the cgroups). Declare it before the Env so it runs after Env's drop.
struct Leftovers(String);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for d in payload_dirs(&self.0) {
            // Frozen tasks cannot die: thaw first (v1 freezer).
            let _ = std::fs::write(d.join("freezer.state"), "THAWED");
            for _ in 0..100 {
                if std::fs::remove_dir(&d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn start(e: &Env, name: &str, cmd: &[&str]) {
    let mut args = vec!["-n", name, "--"];
    args.extend_from_slice(cmd);
    let o = e.run("lxc-start", &args);
    assert!(o.status.success(), "lxc-start {name}: {}", stderr(&o));
    assert_eq!(state(e, name), "RUNNING");
}

fn cg_get(e: &Env, name: &str, key: &str) -> String {
    let o = e.run("lxc-cgroup", &["-n", name, key]);
    assert!(o.status.success(), "lxc-cgroup {key}: {}", stderr(&o));
    stdout(&o).trim().to_string()
}

fn stop(e: &Env, name: &str) {
    let o = e.run("lxc-stop", &["-n", name, "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn config_limits_land_in_the_right_files() {
    let n = uniq("lim");
    let _l = Leftovers(n.clone());
    let e = Env::new("lim");
    e.define(
        &n,
        "lxc.cgroup.memory.limit_in_bytes = 64M\n\
         lxc.cgroup.cpu.shares = 512\n\
         lxc.cgroup.pids.max = 100\n",
    );
    start(&e, &n, &["/bin/sleep", "1000"]);
    let pid = init_pid(&e, &n);
    for (ctrl, key, want) in [
        ("memory", "memory.limit_in_bytes", "67108864"),
        ("cpu", "cpu.shares", "512"),
        ("pids", "pids.max", "100"),
    ] {
        assert_eq!(cg_get(&e, &n, key), want, "lxc-cgroup {key}");
        let dir = payload_dir(&n, ctrl).unwrap_or_else(|| panic!("no {ctrl} hierarchy"));
        assert_eq!(read(dir.join(key)), want, "{}", dir.display());
        assert!(
            read(dir.join("cgroup.procs"))
                .lines()
                .any(|p| p == pid.to_string()),
            "init {pid} is not in {}",
            dir.display()
        );
    }
    stop(&e, &n);
    assert_eq!(payload_dirs(&n), Vec::<PathBuf>::new());
}

#[test]
fn lxc_cgroup_get_set_round_trip() {
    let n = uniq("rt");
    let _l = Leftovers(n.clone());
    let e = Env::new("rt");
    e.define(&n, "");
    let o = e.run("lxc-cgroup", &["-n", &n, "pids.max"]);
    assert!(!o.status.success(), "lxc-cgroup on a stopped container");
    start(&e, &n, &["/bin/sleep", "1000"]);
    for (ctrl, key, value) in [
        ("memory", "memory.limit_in_bytes", "33554432"),
        ("pids", "pids.max", "50"),
        ("cpu", "cpu.shares", "256"),
    ] {
        let o = e.run("lxc-cgroup", &["-n", &n, key, value]);
        assert!(o.status.success(), "set {key}: {}", stderr(&o));
        assert_eq!(cg_get(&e, &n, key), value);
        assert_eq!(read(payload_dir(&n, ctrl).unwrap().join(key)), value);
    }
    let o = e.run("lxc-cgroup", &["-n", &n, "pids.max", "bogus"]);
    assert!(!o.status.success(), "the kernel rejects a bad value");
    assert_eq!(cg_get(&e, &n, "pids.max"), "50");
    let o = e.run("lxc-cgroup", &["-n", &n, "no.such_file"]);
    assert!(!o.status.success(), "an unknown key is an error");
    stop(&e, &n);
}

/// utime + stime of a task, from /proc/PID/stat (fields 14, 15).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may hold spaces: fields start after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

#[test]
fn freeze_hundred_busy_processes_and_thaw() {
    let n = uniq("frz");
    let _l = Leftovers(n.clone());
    let e = Env::new("frz");
    e.define(&n, "");
    let script = "i=0; while [ $i -lt 100 ]; do (while :; do :; done) & i=$((i+1)); done; wait";
    start(&e, &n, &["/bin/sh", "-c", script]);
    let Some(fdir) = payload_dir(&n, "freezer") else {
        stop(&e, &n);
        panic!("no v1 freezer on this host");
    };
    let procs = || -> Vec<String> {
        read(fdir.join("cgroup.procs"))
            .lines()
            .map(str::to_string)
            .collect()
    };
    e.wait_until("101 processes", || procs().len() == 101);
    let o = e.run("lxc-freeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "FROZEN");
    assert_eq!(read(fdir.join("freezer.state")), "FROZEN");
    let tasks = procs();
    let before: Vec<Option<u64>> = tasks.iter().map(|p| cpu_ticks(p)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let after: Vec<Option<u64>> = tasks.iter().map(|p| cpu_ticks(p)).collect();
    assert_eq!(before, after, "frozen tasks made CPU progress");
    assert!(before.iter().all(Option::is_some));

    let o = e.run("lxc-unfreeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "RUNNING");
    assert_eq!(read(fdir.join("freezer.state")), "THAWED");
    e.wait_until("the busy loops to run again", || {
        tasks.iter().map(|p| cpu_ticks(p)).collect::<Vec<_>>() != after
    });
    stop(&e, &n);
    assert_eq!(payload_dirs(&n), Vec::<PathBuf>::new());
}

#[test]
fn hundred_cycles_and_an_abort_leave_no_payload_cgroup() {
    let n = uniq("cyc");
    let _l = Leftovers(n.clone());
    let e = Env::new("cyc");
    e.define(&n, "lxc.cgroup.pids.max = 20\n");
    for i in 0..100 {
        let o = e.run("lxc-execute", &["-n", &n, "--", "/bin/true"]);
        assert!(o.status.success(), "run {i}: {}", stderr(&o));
    }
    assert_eq!(payload_dirs(&n), Vec::<PathBuf>::new());

    let bad = uniq("abort");
    let _lb = Leftovers(bad.clone());
    e.busybox(
        &bad,
        "lxc.mount.entry = /nonexistent-lc-src mnt none bind 0 0\n",
    );
    let o = e.run("lxc-execute", &["-n", &bad, "--", "/bin/true"]);
    assert!(!o.status.success(), "a bad mount entry must fail the start");
    assert_eq!(payload_dirs(&bad), Vec::<PathBuf>::new());
    // A bad limit fails the start before init runs, and leaves nothing.
    e.define(&bad, "lxc.cgroup.pids.max = bogus\n");
    let o = e.run("lxc-execute", &["-n", &bad, "--", "/bin/true"]);
    assert!(!o.status.success(), "a bad limit must fail the start");
    assert_eq!(payload_dirs(&bad), Vec::<PathBuf>::new());
}

#[test]
fn lxc_priority_shows_and_sets() {
    let n = uniq("prio");
    let _l = Leftovers(n.clone());
    let e = Env::new("prio");
    e.define(&n, "lxc.cgroup.cpu.shares = 300\n");
    let o = e.run("lxc-priority", &["-n", &n]);
    assert!(!o.status.success(), "lxc-priority on a stopped container");
    start(&e, &n, &["/bin/sleep", "1000"]);
    let o = e.run("lxc-priority", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "cpu.shares = 300");
    let o = e.run("lxc-priority", &["-n", &n, "2048"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cpu = payload_dir(&n, "cpu").unwrap();
    assert_eq!(read(cpu.join("cpu.shares")), "2048");
    let o = e.run("lxc-priority", &["-n", &n, "1"]);
    assert!(!o.status.success(), "cpu.shares below 2 is out of range");
    assert_eq!(read(cpu.join("cpu.shares")), "2048");
    stop(&e, &n);
}

/// A frozen container whose monitor is SIGKILLed: init cannot act on its
/// parent-death SIGKILL while frozen, so it lingers in the stale payload
/// cgroup. `release_killed_frozen` (to be called on stale cgroups at the
/// next start) thaws it so the pending kill completes.
#[test]
fn frozen_container_of_a_killed_monitor_is_released() {
    let n = uniq("fkill");
    let _l = Leftovers(n.clone());
    let e = Env::new("fkill");
    e.define(&n, "");
    start(&e, &n, &["/bin/sleep", "1000"]);
    let pid = init_pid(&e, &n);
    let o = e.run("lxc-freeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mons = e.monitors();
    assert_eq!(mons.len(), 1);
    let mon = rustix::process::Pid::from_raw(mons[0]).unwrap();
    rustix::process::kill_process(mon, rustix::process::Signal::KILL).unwrap();
    e.wait_until("the monitor to go", || e.monitors().is_empty());
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    // The kill is pending, not done: init is still there, frozen.
    e.wait_until("SIGKILL pending in frozen init", || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("ShdPnd:"))
            .any(|m| u64::from_str_radix(m.trim(), 16).unwrap_or(0) & (1 << 8) != 0)
    });
    assert!(alive(), "init died while frozen");
    let dirs = payload_dirs(&n);
    assert!(!dirs.is_empty());
    let thawed: Vec<bool> = dirs
        .iter()
        .map(|d| lxcbox::cgroup::release_killed_frozen(d))
        .collect();
    assert!(thawed.contains(&true), "nothing thawed: {dirs:?}");
    e.wait_until("init to die", || !alive());
    for d in &dirs {
        std::fs::remove_dir(d).unwrap_or_else(|err| panic!("{}: {err}", d.display()));
    }

    // A live frozen container (no kill pending) is left alone.
    start(&e, &n, &["/bin/sleep", "1000"]);
    let o = e.run("lxc-freeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    for d in payload_dirs(&n) {
        assert!(
            !lxcbox::cgroup::release_killed_frozen(&d),
            "{}",
            d.display()
        );
    }
    assert_eq!(state(&e, &n), "FROZEN");
    stop(&e, &n);
}
