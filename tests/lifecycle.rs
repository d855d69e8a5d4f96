//! The life cycle of real containers, as root: lxc-monitor's event stream,
//! lxc-wait, lxc-stop (graceful, kill, nokill, nowait, reboot, frozen),
//! lxc-kill, lxc-shutdown, a busybox system container, a SIGKILLed monitor
//! and concurrent starts. Every test has its own lxcpath and a container
//! name unique on the host (payload cgroups are named after it).

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use env::{init_pid, payload_dirs, state, stderr, Env};

/// A container name unique on this host.
fn uniq(tag: &str) -> String {
    format!("lt-{tag}-{}", std::process::id())
}

/// An init that exits 0 on SIGUSR1 (configured as lxc.signal.halt) and
/// otherwise ignores what PID 1 ignores.
const TRAP_INIT: &str = "trap 'exit 0' USR1; while :; do sleep 0.1; done";
/// A shell as PID 1 without traps: SIGPWR/SIGTERM/SIGUSR1 are ignored.
const DEAF_INIT: &str = "while :; do sleep 0.1; done";

/// A running `lxc-monitor`, killed on drop; its stdout lines arrive on a
/// channel so a test can wait for a number of them without hanging.
struct Listener {
    child: Child,
    rx: mpsc::Receiver<String>,
}

impl Listener {
    /// Start lxc-monitor with `args` and wait until it has subscribed.
    fn start(e: &Env, args: &[&str]) -> Listener {
        let before = subscribers(e);
        let mut child = e
            .cmd("lxc-monitor")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let l = Listener { child, rx };
        e.wait_until("lxc-monitor to subscribe", || subscribers(e) > before);
        l
    }

    /// The next `n` lines (fails the test if they do not come).
    fn lines(&self, n: usize) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(30);
        let mut v = Vec::new();
        while v.len() < n {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => v.push(l),
                Err(_) => panic!("only {} of {n} lines: {v:#?}", v.len()),
            }
        }
        v
    }

    /// Whatever else arrives within a short while (to check nothing extra).
    fn rest(&self) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok(l) = self.rx.recv_timeout(Duration::from_millis(300)) {
            v.push(l);
        }
        v
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Number of subscriber sockets registered in this env's run directory.
fn subscribers(e: &Env) -> usize {
    let Ok(rd) = std::fs::read_dir(e.rundir().join("monitor")) else {
        return 0;
    };
    rd.flatten()
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .map(|r| r.count())
        .sum()
}

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// `lxc-start -n NAME -- /bin/sh -c SCRIPT` (daemonised), asserted to work.
fn start_sh(e: &Env, name: &str, script: &str) {
    let o = e.run("lxc-start", &["-n", name, "--", "/bin/sh", "-c", script]);
    assert!(o.status.success(), "lxc-start {name}: {}", stderr(&o));
    assert_eq!(state(e, name), "RUNNING");
    // RUNNING means init was exec'd, not that the shell has set its traps
    // yet: a signal sent before that is lost (PID 1 ignores what it does
    // not handle). Wait until the kernel shows the trapped signals caught.
    let trapped = trapped_signals(script);
    if trapped != 0 {
        let pid = init_pid(e, name);
        e.wait_until("init's shell to set its traps", || {
            caught_signals(pid) & trapped == trapped
        });
    }
}

/// The signals `trap '...' SIG` lines of a script catch, as a SigCgt mask.
fn trapped_signals(script: &str) -> u64 {
    script
        .split("trap '")
        .skip(1)
        .filter_map(|t| t.split_once("' ").map(|(_, rest)| rest))
        .map(|rest| rest.split(';').next().unwrap_or("").trim())
        .filter_map(|sig| match sig {
            "HUP" => Some(1),
            "INT" => Some(2),
            "USR1" => Some(10),
            "USR2" => Some(12),
            "TERM" => Some(15),
            _ => None,
        })
        .fold(0u64, |m, n| m | 1 << (n - 1))
}

/// SigCgt of /proc/PID/status.
fn caught_signals(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

// ---- lxc-monitor -------------------------------------------------------

#[test]
fn monitor_sees_ten_cycles_in_order() {
    let e = Env::new("mon10");
    let n = uniq("mon10");
    e.define(&n, "");
    let l = Listener::start(&e, &["-n", &n]);
    for _ in 0..10 {
        let o = e.run("lxc-execute", &["-n", &n, "--", "/bin/true"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let got = l.lines(50);
    let one = [
        format!("'{n}' changed state to [STARTING]"),
        format!("'{n}' changed state to [RUNNING]"),
        format!("'{n}' exited with status [0]"),
        format!("'{n}' changed state to [STOPPING]"),
        format!("'{n}' changed state to [STOPPED]"),
    ];
    let want: Vec<String> = (0..10).flat_map(|_| one.clone()).collect();
    assert_eq!(got, want);
    assert_eq!(l.rest(), Vec::<String>::new());
}

#[test]
fn monitor_shows_aborted_start() {
    let e = Env::new("monabort");
    let n = uniq("monabort");
    e.busybox(
        &n,
        "lxc.mount.entry = /nonexistent-lt-src mnt none bind 0 0\n",
    );
    let l = Listener::start(&e, &["-n", &n]);
    let o = e.run("lxc-execute", &["-n", &n, "--", "/bin/true"]);
    assert!(!o.status.success(), "a bad mount entry must fail the start");
    assert_eq!(
        l.lines(4),
        [
            format!("'{n}' changed state to [STARTING]"),
            format!("'{n}' changed state to [ABORTING]"),
            format!("'{n}' changed state to [STOPPING]"),
            format!("'{n}' changed state to [STOPPED]"),
        ]
    );
    assert_eq!(l.rest(), Vec::<String>::new());
    assert_eq!(payload_dirs(&n), Vec::<PathBuf>::new());
}

#[test]
fn monitor_json_and_regex() {
    let e = Env::new("monjson");
    let n = uniq("monjson");
    let other = uniq("other");
    e.define(&n, "");
    e.define(&other, "");
    let l = Listener::start(&e, &["-n", &format!("{n}|nomatch"), "--json"]);
    // Not matched by the regex: must not show up.
    let o = e.run("lxc-execute", &["-n", &other, "--", "/bin/true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run("lxc-execute", &["-n", &n, "--", "/bin/sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let got = l.lines(5);
    let mut states = Vec::new();
    for line in &got {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not one JSON object per line: {line}: {err}"));
        assert_eq!(v["name"], n.as_str(), "{line}");
        match v.get("state") {
            Some(s) => states.push(s.as_str().unwrap().to_string()),
            None => {
                // LXC reports the exit code itself (WEXITSTATUS).
                assert_eq!(v["exit_status"], 3, "{line}");
                assert!(v.get("signal").is_none(), "{line}");
                states.push("exit".into());
            }
        }
    }
    assert_eq!(
        states,
        ["STARTING", "RUNNING", "exit", "STOPPING", "STOPPED"]
    );
    assert_eq!(l.rest(), Vec::<String>::new());
}

// ---- lxc-wait ----------------------------------------------------------

#[test]
fn wait_classic_pattern() {
    let e = Env::new("waitc");
    let n = uniq("waitc");
    let o = e.run("lxc-wait", &["-n", &n, "-s", "STOPPED"]);
    assert_eq!(o.status.code(), Some(0), "undefined: {}", stderr(&o));
    e.define(&n, "");
    let before = subscribers(&e);
    // Already stopped: lxc-wait -s STOPPED returns at once.
    let o = e.run("lxc-wait", &["-n", &n, "-s", "STOPPED"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(subscribers(&e), before, "lxc-wait left its socket behind");

    // The classic script: wait for RUNNING in the background, then start.
    let running = e.spawn("lxc-wait", &["-n", &n, "-s", "RUNNING"]);
    e.wait_until("lxc-wait to subscribe", || subscribers(&e) > before);
    let o = e.run("lxc-execute", &["-n", &n, "--", "/bin/sleep", "0.5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = running.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // lxc-wait -s STOPPED while it runs returns when it stops.
    let exec = e.spawn("lxc-execute", &["-n", &n, "--", "/bin/sleep", "0.5"]);
    e.wait_until("the container to run", || state(&e, &n) == "RUNNING");
    let o = e.run("lxc-wait", &["-n", &n, "-s", "STOPPED"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "STOPPED");
    let o = exec.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn wait_timeout_and_multi_state() {
    let e = Env::new("waitt");
    let n = uniq("waitt");
    let o = e.run("lxc-wait", &["-n", &n, "-s", "RUNNING", "-t", "1"]);
    assert_eq!(o.status.code(), Some(1), "timed out: {}", stderr(&o));
    let o = e.run("lxc-wait", &["-n", &n, "-s", "BOGUS"]);
    assert_ne!(o.status.code(), Some(0), "an invalid state is an error");

    e.define(&n, "lxc.signal.halt = SIGUSR1\n");
    start_sh(&e, &n, TRAP_INIT);
    let o = e.run("lxc-wait", &["-n", &n, "-s", "RUNNING|FROZEN", "-t", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = e.run("lxc-freeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run("lxc-wait", &["-n", &n, "-s", "RUNNING|FROZEN", "-t", "5"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "FROZEN");
    let o = e.run("lxc-wait", &["-n", &n, "-s", "STOPPED", "-t", "1"]);
    assert_eq!(o.status.code(), Some(1), "frozen is not stopped");
    let o = e.run("lxc-unfreeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "RUNNING");
    let o = e.run("lxc-stop", &["-n", &n]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

// ---- lxc-stop ----------------------------------------------------------

#[test]
fn stop_not_running_is_2() {
    let e = Env::new("stop2");
    let n = uniq("stop2");
    let o = e.run("lxc-stop", &["-n", &n]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    e.define(&n, "");
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn stop_running_sleep_init() {
    let e = Env::new("stop0");
    let n = uniq("stop0");
    e.define(&n, "");
    let o = e.run("lxc-start", &["-n", &n, "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pid = init_pid(&e, &n);
    // sleep as PID 1 ignores SIGPWR: the default stop escalates to a kill.
    let o = e.run("lxc-stop", &["-n", &n, "-t", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "STOPPED");
    assert!(!alive(pid), "init {pid} survived lxc-stop");
    // lxc-stop returns at STOPPED (as LXC's); the monitor exits after.
    e.wait_until("the monitor to exit", || e.monitors().is_empty());
    assert_eq!(payload_dirs(&n), Vec::<PathBuf>::new());
}

#[test]
fn stop_kill_deaf_init() {
    let e = Env::new("stopk");
    let n = uniq("stopk");
    e.define(&n, "");
    start_sh(&e, &n, DEAF_INIT);
    let pid = init_pid(&e, &n);
    // The deaf init really ignores the halt signal.
    let o = e.run("lxc-kill", &["-n", &n, "-s", "SIGPWR"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run("lxc-wait", &["-n", &n, "-s", "STOPPED", "-t", "1"]);
    assert_eq!(o.status.code(), Some(1), "a shell as PID 1 ignores SIGPWR");
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!alive(pid));
    assert_eq!(state(&e, &n), "STOPPED");
}

#[test]
fn stop_graceful_with_handled_halt_signal() {
    let e = Env::new("stopg");
    let n = uniq("stopg");
    let mark = e.root.join("halted");
    e.define(&n, "lxc.signal.halt = SIGUSR1\n");
    let script = format!(
        "trap 'touch {}; exit 0' USR1; while :; do sleep 0.1; done",
        mark.display()
    );
    start_sh(&e, &n, &script);
    let l = Listener::start(&e, &["-n", &n]);
    let o = e.run("lxc-stop", &["-n", &n, "-t", "30"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(mark.exists(), "init did not get lxc.signal.halt");
    // Init exited on its own (status 0), not killed.
    assert_eq!(
        l.lines(3),
        [
            format!("'{n}' exited with status [0]"),
            format!("'{n}' changed state to [STOPPING]"),
            format!("'{n}' changed state to [STOPPED]"),
        ]
    );
}

#[test]
fn stop_nokill_times_out_and_leaves_it_running() {
    let e = Env::new("stopnk");
    let n = uniq("stopnk");
    e.define(&n, "");
    start_sh(&e, &n, DEAF_INIT);
    let pid = init_pid(&e, &n);
    let o = e.run("lxc-stop", &["-n", &n, "--nokill", "-t", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(alive(pid));
    assert_eq!(state(&e, &n), "RUNNING");
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn stop_nowait_returns_at_once() {
    let e = Env::new("stopw");
    let n = uniq("stopw");
    let go = e.root.join("go");
    e.define(&n, "lxc.signal.halt = SIGUSR1\n");
    // Init takes its time to halt: until the test creates `go`.
    let script = format!(
        "trap 'while [ ! -e {} ]; do sleep 0.05; done; exit 0' USR1; while :; do sleep 0.1; done",
        go.display()
    );
    start_sh(&e, &n, &script);
    let o = e.run("lxc-stop", &["-n", &n, "-W"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // lxc-stop did not wait: init is still halting.
    assert_eq!(state(&e, &n), "RUNNING");
    std::fs::write(&go, "").unwrap();
    let o = e.run("lxc-wait", &["-n", &n, "-s", "STOPPED", "-t", "20"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn stop_frozen_container() {
    let e = Env::new("stopf");
    let n = uniq("stopf");
    e.define(&n, "lxc.signal.halt = SIGUSR1\n");
    start_sh(&e, &n, TRAP_INIT);
    let o = e.run("lxc-freeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "FROZEN");
    let o = e.run("lxc-stop", &["-n", &n, "-t", "30"]);
    assert_eq!(o.status.code(), Some(0), "graceful: {}", stderr(&o));
    assert_eq!(state(&e, &n), "STOPPED");

    // And -k on a frozen deaf one.
    start_sh(&e, &n, DEAF_INIT);
    let o = e.run("lxc-freeze", &["-n", &n]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert_eq!(o.status.code(), Some(0), "kill: {}", stderr(&o));
    assert_eq!(state(&e, &n), "STOPPED");
    assert_eq!(payload_dirs(&n), Vec::<PathBuf>::new());
}

// ---- a busybox system container ----------------------------------------

#[test]
fn busybox_init_system_container() {
    let e = Env::new("bbinit");
    let n = uniq("bbinit");
    let r = e.busybox(
        &n,
        "lxc.signal.halt = SIGUSR2\nlxc.mount.auto = proc:mixed\n",
    );
    symlink("../bin/busybox", r.join("sbin/init")).unwrap();
    std::fs::write(
        r.join("etc/inittab"),
        "::sysinit:/bin/true\n::respawn:/bin/sleep 1000\n",
    )
    .unwrap();
    let o = e.run("lxc-start", &["-n", &n, "-d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "RUNNING");
    let pid = init_pid(&e, &n);
    // busybox init runs the respawn entry as its child.
    e.wait_until("busybox init to spawn sleep", || {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .any(|c| {
                std::fs::read_to_string(format!("/proc/{c}/cmdline"))
                    .is_ok_and(|s| s.starts_with("/bin/sleep\x001000"))
            })
    });
    let l = Listener::start(&e, &["-n", &n, "--json"]);
    let o = e.run("lxc-stop", &["-n", &n]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!alive(pid));
    assert_eq!(state(&e, &n), "STOPPED");
    let got: Vec<serde_json::Value> = l
        .lines(3)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect();
    assert_eq!(got[1]["state"], "STOPPING", "{got:?}");
    assert_eq!(got[2]["state"], "STOPPED", "{got:?}");
    // Powered off by itself (busybox init's poweroff ends it with SIGINT
    // through reboot(2) in its PID namespace), not SIGKILLed.
    assert!(got[0].get("exit_status").is_some(), "{got:?}");
    assert_ne!(got[0]["signal"], libc::SIGKILL, "init was killed: {got:?}");
}

// ---- crashes and races -------------------------------------------------

#[test]
fn sigkilled_monitor_leaves_nothing_that_blocks_a_restart() {
    let e = Env::new("mkill");
    let n = uniq("mkill");
    e.define(&n, "");
    start_sh(&e, &n, DEAF_INIT);
    let pid = init_pid(&e, &n);
    let mons = e.monitors();
    assert_eq!(mons.len(), 1, "{mons:?}");
    let mon = rustix::process::Pid::from_raw(mons[0]).unwrap();
    rustix::process::kill_process(mon, rustix::process::Signal::KILL).unwrap();
    // Init follows its monitor (parent-death signal).
    e.wait_until("init to die with its monitor", || !alive(pid));
    e.wait_until("the monitor to go", || e.monitors().is_empty());
    assert_eq!(state(&e, &n), "STOPPED");
    let o = e.run("lxc-stop", &["-n", &n]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Nobody removed the dead container's payload cgroup...
    let stale = payload_dirs(&n);
    assert!(!stale.is_empty(), "no payload cgroup to go stale");
    // ...and the next start works and reuses the name (it cleared the
    // stale directories instead of picking a suffixed one).
    start_sh(&e, &n, DEAF_INIT);
    let pid2 = init_pid(&e, &n);
    assert_ne!(pid2, pid);
    for d in &stale {
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|p| p == pid2.to_string()),
            "{} does not hold the new init {pid2}: {procs}",
            d.display()
        );
    }
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(payload_dirs(&n), Vec::<PathBuf>::new());
}

#[test]
fn concurrent_starts_make_one_monitor() {
    let e = Env::new("conc");
    let n = uniq("conc");
    e.define(&n, "");
    let args = ["-n", n.as_str(), "--", "/bin/sleep", "1000"];
    let a = e.spawn("lxc-start", &args);
    let b = e.spawn("lxc-start", &args);
    let oa = a.wait_with_output().unwrap();
    let ob = b.wait_with_output().unwrap();
    assert_eq!(e.monitors().len(), 1, "{:?}", e.monitors());
    assert_eq!(state(&e, &n), "RUNNING");
    // One started it; the other failed or said it is already running.
    let (ok, other) = if oa.status.success() && stderr(&oa).is_empty() {
        (oa, ob)
    } else {
        (ob, oa)
    };
    assert!(ok.status.success(), "{}", stderr(&ok));
    let msg = stderr(&other);
    assert!(
        !other.status.success() || msg.contains("already running"),
        "the second start claimed success: {msg}"
    );
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn stop_reboot_restarts_with_a_new_init() {
    let e = Env::new("reboot");
    let n = uniq("reboot");
    // lxc.signal.reboot defaults to SIGINT, which a shell as PID 1 ignores:
    // use one the init handles.
    e.define(
        &n,
        "lxc.signal.reboot = SIGUSR1\nlxc.signal.halt = SIGUSR1\n",
    );
    start_sh(&e, &n, TRAP_INIT);
    let pid = init_pid(&e, &n);
    let mons = e.monitors();
    let o = e.run("lxc-stop", &["-n", &n, "-r", "-t", "30"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "RUNNING");
    let pid2 = init_pid(&e, &n);
    assert_ne!(pid2, pid);
    assert!(!alive(pid));
    assert_eq!(e.monitors(), mons, "the same monitor runs the new init");
    // The rebooted container stops normally, once.
    let o = e.run("lxc-stop", &["-n", &n, "-t", "30"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "STOPPED");
    assert!(!alive(pid2));
}

// ---- classic lxc-kill / lxc-shutdown -------------------------------------

#[test]
fn kill_with_option_and_positional_signal() {
    let e = Env::new("kill");
    let n = uniq("kill");
    let got = e.root.join("got");
    e.define(&n, "");
    let script = format!(
        "trap 'echo TERM >> {0}' TERM; trap 'echo USR2 >> {0}; exit 0' USR2; while :; do sleep 0.1; done",
        got.display()
    );
    start_sh(&e, &n, &script);
    let o = e.run("lxc-kill", &["-n", &n, "-s", "SIGTERM"]);
    assert!(o.status.success(), "{}", stderr(&o));
    e.wait_until("init to see SIGTERM", || {
        std::fs::read_to_string(&got).unwrap_or_default() == "TERM\n"
    });
    assert_eq!(state(&e, &n), "RUNNING");
    let o = e.run("lxc-kill", &["-n", &n, "USR2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run("lxc-wait", &["-n", &n, "-s", "STOPPED", "-t", "20"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "TERM\nUSR2\n");
    let o = e.run("lxc-kill", &["-n", &n, "TERM"]);
    assert!(!o.status.success(), "lxc-kill of a stopped container");
}

#[test]
fn shutdown_with_timeout() {
    let e = Env::new("shut");
    let n = uniq("shut");
    e.define(&n, "lxc.signal.halt = SIGUSR1\n");
    start_sh(&e, &n, TRAP_INIT);
    let o = e.run("lxc-shutdown", &["-n", &n, "-t", "30"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &n), "STOPPED");
    // A deaf init: the halt signal is ignored, -t 1 then kills it.
    start_sh(&e, &n, DEAF_INIT);
    let pid = init_pid(&e, &n);
    let o = e.run("lxc-shutdown", &["-n", &n, "-t", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!alive(pid));
    let o = e.run("lxc-shutdown", &["-n", &n, "-t", "1"]);
    assert!(!o.status.success(), "shutdown of a stopped container");
}

#[test]
fn concurrent_stops_all_succeed() {
    let e = Env::new("cstop");
    let n = uniq("cstop");
    e.define(&n, "");
    // Several rounds: the losing lxc-stop's request meets a monitor that
    // is already tearing down.
    for round in 0..5 {
        let o = e.run("lxc-start", &["-n", &n, "--", "/bin/sleep", "1000"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let stops: Vec<Child> = [&["-k"][..], &["-k"], &["-t", "0"]]
            .iter()
            .map(|extra| {
                let mut a = vec!["-n", n.as_str()];
                a.extend_from_slice(extra);
                e.spawn("lxc-stop", &a)
            })
            .collect();
        for s in stops {
            let o = s.wait_with_output().unwrap();
            // 0 (stopped it, or it stopped meanwhile) or 2 (already gone).
            assert!(
                matches!(o.status.code(), Some(0) | Some(2)),
                "round {round}: {:?} {}",
                o.status.code(),
                stderr(&o)
            );
        }
        assert_eq!(state(&e, &n), "STOPPED");
    }
}
