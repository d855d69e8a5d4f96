//! lxc-autostart with real containers (shared root, sh as init): selection
//! and order, -L's format, start with lxc.start.delay, groups, -s with the
//! kill after -t, -k, the exit status of partial failures, the classic
//! /etc/lxc/auto links. Container names are unique on the host (their
//! payload cgroups are named after them).

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::PathBuf;

use env::{init_pid, state, stderr, stdout, Env};

fn uniq(tag: &str) -> String {
    format!("la-{tag}-{}", std::process::id())
}

/// An init that exits on SIGUSR1 (the container's lxc.signal.halt).
const TRAP_INIT: &str = "trap 'exit 0' USR1; while :; do sleep 0.1; done";
/// An init that ignores the halt signal (PID 1 without a handler).
const DEAF_INIT: &str = "while :; do sleep 0.1; done";

fn conf(init: &str, extra: &str) -> String {
    format!("lxc.signal.halt = SIGUSR1\nlxc.init.cmd = /bin/sh -c \"{init}\"\n{extra}")
}

/// Start time of a process in clock ticks since boot (/proc/PID/stat field 22).
fn start_ticks(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    after.split(' ').nth(19).unwrap().parse().unwrap()
}

#[test]
fn three_containers_order_delay_groups_stop_kill() {
    let e = Env::new("as");
    let (a, b, c, off) = (uniq("a"), uniq("b"), uniq("c"), uniq("off"));
    e.define(
        &a,
        &conf(
            TRAP_INIT,
            "lxc.start.auto = 1\nlxc.start.order = 1\nlxc.start.delay = 2\n",
        ),
    );
    e.define(
        &b,
        &conf(DEAF_INIT, "lxc.start.auto = 1\nlxc.start.order = 2\n"),
    );
    e.define(
        &c,
        &conf(
            TRAP_INIT,
            "lxc.start.auto = 1\nlxc.start.order = 0\nlxc.group = web\n",
        ),
    );
    e.define(&off, &conf(TRAP_INIT, "lxc.start.order = 0\n"));

    // LXC's list format: NAME DELAY, the NULL group only by default.
    let o = e.run("lxc-autostart", &["-L"]);
    assert_eq!(stdout(&o), format!("{a} 2\n{b} 0\n"), "{}", stderr(&o));
    let o = e.run("lxc-autostart", &["-L", "-a"]);
    assert_eq!(stdout(&o), format!("{c} 0\n{a} 2\n{b} 0\n"));
    let o = e.run("lxc-autostart", &["-L", "-g", "web,"]);
    assert_eq!(stdout(&o), format!("{c} 0\n{a} 2\n{b} 0\n"));
    let o = e.run("lxc-autostart", &["-L", "-a", "-A"]);
    assert_eq!(stdout(&o), format!("{c} 0\n{off} 0\n{a} 2\n{b} 0\n"));
    // Nothing runs yet: the stop list is empty.
    let o = e.run("lxc-autostart", &["-L", "-s", "-a"]);
    assert_eq!(stdout(&o), "");

    // Start: a, then (after a's delay) b; c is in a group, off not auto.
    let o = e.run("lxc-autostart", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &a), "RUNNING");
    assert_eq!(state(&e, &b), "RUNNING");
    assert_eq!(state(&e, &c), "STOPPED");
    assert_eq!(state(&e, &off), "STOPPED");
    let hz = 100; // USER_HZ on Linux
    let gap = start_ticks(init_pid(&e, &b)) - start_ticks(init_pid(&e, &a));
    assert!(
        gap >= 2 * hz,
        "b started {gap} ticks after a, before a's delay"
    );

    // Already running: a second run attempts them and succeeds.
    let o = e.run("lxc-autostart", &["-L"]);
    assert_eq!(
        stdout(&o),
        "",
        "running containers are not listed for start"
    );
    let o = e.run("lxc-autostart", &["-g", "web"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &c), "RUNNING");

    // Stop list: reverse order, names only.
    let o = e.run("lxc-autostart", &["-L", "-s", "-a"]);
    assert_eq!(stdout(&o), format!("{b}\n{a}\n{c}\n"));

    // -s -t 2: a halts on its signal, b ignores it and is killed after 2 s.
    let o = e.run("lxc-autostart", &["-s", "-t", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &a), "STOPPED");
    assert_eq!(state(&e, &b), "STOPPED");
    assert_eq!(state(&e, &c), "RUNNING", "-s without -g leaves group web");

    let o = e.run("lxc-autostart", &["-k", "-g", "web"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &c), "STOPPED");
}

#[test]
fn partial_and_total_failure_exit_codes() {
    let e = Env::new("asf");
    let (good, bad) = (uniq("good"), uniq("bad"));
    e.define(&good, &conf(TRAP_INIT, "lxc.start.auto = 1\n"));
    e.define(
        &bad,
        "lxc.start.auto = 1\nlxc.rootfs.path = dir:/nonexistent-la-root\n",
    );
    let o = e.run("lxc-autostart", &[]);
    assert_eq!(o.status.code(), Some(2), "one of two failed");
    let err = stderr(&o);
    assert!(
        err.contains(&format!("lxc-autostart: Error starting container: {bad}")),
        "{err}"
    );
    assert!(
        err.contains("/nonexistent-la-root"),
        "the cause is shown: {err}"
    );
    assert_eq!(state(&e, &good), "RUNNING");
    let o = e.run("lxc-autostart", &[]);
    assert_eq!(o.status.code(), Some(2), "running one counts as attempted");
    let o = e.run("lxc-autostart", &["-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_dir_all(e.root.join("lxc").join(&good)).unwrap();
    let o = e.run("lxc-autostart", &[]);
    assert_eq!(o.status.code(), Some(1), "every attempted failed");
    std::fs::remove_dir_all(e.root.join("lxc").join(&bad)).unwrap();
    let o = e.run("lxc-autostart", &[]);
    assert_eq!(o.status.code(), Some(0), "nothing to do is no failure");
}

/// Removes the classic link (and the directory, if this test made it).
struct LinkGuard(PathBuf, bool);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if self.1 {
            let _ = std::fs::remove_dir(self.0.parent().unwrap());
        }
    }
}

#[test]
fn classic_auto_links_count_as_start_auto() {
    let e = Env::new("ascl");
    let (linked, wrong) = (uniq("linked"), uniq("wrong"));
    let d = e.define(&linked, &conf(TRAP_INIT, ""));
    e.define(&wrong, &conf(TRAP_INIT, ""));
    let dir = PathBuf::from("/etc/lxc/auto");
    let made = !dir.exists();
    std::fs::create_dir_all(&dir).unwrap();
    let l1 = dir.join(format!("{linked}.conf"));
    let _g1 = LinkGuard(l1.clone(), made);
    std::os::unix::fs::symlink(d.join("config"), &l1).unwrap();
    // A link named after a container but pointing elsewhere is not used.
    let l2 = dir.join(format!("{wrong}.conf"));
    let _g2 = LinkGuard(l2.clone(), false);
    std::os::unix::fs::symlink(d.join("config"), &l2).unwrap();

    let o = e.run("lxc-autostart", &["-L"]);
    assert_eq!(stdout(&o), format!("{linked} 0\n"));
    assert!(
        stderr(&o).contains(&format!("{wrong}.conf does not point to")),
        "{}",
        stderr(&o)
    );
    let o = e.run("lxc-autostart", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &linked), "RUNNING");
    let o = e.run("lxc-autostart", &["-s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(state(&e, &linked), "STOPPED");
}
