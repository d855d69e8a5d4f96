//! lxc-attach against real running containers, as root.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use env::{init_pid, state, stderr, stdout, Env};
use std::process::Child;

/// A busybox container NAME running `sleep 1000` as init, with its own
/// hostname and /proc.
fn busybox_running(e: &Env, name: &str) {
    e.busybox(
        name,
        "lxc.uts.name = attached\nlxc.mount.auto = proc:mixed sys:ro\n",
    );
    let o = e.run("lxc-start", &["-n", name, "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "lxc-start {name}: {}", stderr(&o));
    assert_eq!(state(e, name), "RUNNING");
}

fn attach(e: &Env, name: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["-n", name];
    all.extend_from_slice(args);
    e.run("lxc-attach", &all)
}

/// Kills a spawned lxc-attach if the test fails before it ends.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn runs_inside_the_namespaces_and_propagates_status() {
    let e = Env::new("att");
    busybox_running(&e, "a1");
    let o = attach(
        &e,
        "a1",
        &[
            "--",
            "/bin/sh",
            "-c",
            "hostname; cat /proc/1/cmdline; echo; echo $$; echo $container; ls /proc/self/fd",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "attached", "{out}");
    assert_eq!(
        lines[1], "/bin/sleep\u{0}1000\u{0}",
        "init's cmdline: {out}"
    );
    let pid: u32 = lines[2].parse().unwrap();
    assert!(pid < 10, "pid in the container's pid namespace: {out}");
    assert_eq!(lines[3], "lxc", "container=lxc: {out}");
    // ls's own directory fd is 3: only 0, 1, 2 were inherited.
    assert_eq!(&lines[4..], ["0", "1", "2", "3"], "{out}");

    let o = attach(&e, "a1", &["--", "/bin/sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    let o = attach(
        &e,
        "a1",
        &[
            "-v",
            "GREETING=hi there",
            "--",
            "/bin/sh",
            "-c",
            "echo $GREETING",
        ],
    );
    assert_eq!(stdout(&o), "hi there\n", "{}", stderr(&o));

    let o = attach(&e, "a1", &["--clear-env", "--", "/bin/busybox", "env"]);
    let mut envs: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    envs.sort();
    assert_eq!(envs.len(), 2, "{envs:?}");
    assert!(envs[0].starts_with("PATH="), "{envs:?}");
    assert_eq!(envs[1], "container=lxc");

    let o = attach(&e, "a1", &["--", "/no/such/command"]);
    assert_eq!(o.status.code(), Some(127));
    assert!(stderr(&o).contains("/no/such/command"), "{}", stderr(&o));

    // -s UTSNAME only: the hostname is the container's, the pid is ours.
    let o = attach(
        &e,
        "a1",
        &["-s", "UTSNAME", "--", "/bin/sh", "-c", "hostname; echo $$"],
    );
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "attached", "{out} {}", stderr(&o));
    assert!(
        lines[1].parse::<u32>().unwrap() > 10,
        "host pid namespace: {out}"
    );
}

#[test]
fn remount_sys_proc_shows_the_joined_pid_namespace() {
    let e = Env::new("attR");
    busybox_running(&e, "a5");
    // Host tools (the mount namespace is not joined): /proc is the host's
    // unless -R mounts a fresh one in a private mount namespace.
    let count = "ls /proc | grep -c '^[0-9]'";
    let o = attach(&e, "a5", &["-s", "PID", "--", "/bin/sh", "-c", count]);
    let host: u32 = stdout(&o)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", stderr(&o)));
    let o = attach(&e, "a5", &["-s", "PID", "-R", "--", "/bin/sh", "-c", count]);
    let inside: u32 = stdout(&o)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", stderr(&o)));
    assert!(
        inside <= 5 && inside < host,
        "-R: {inside} pids, host {host}"
    );
    // The host's /proc was not mounted over: we still see all its pids.
    let ours = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|d| d.file_name().to_string_lossy().parse::<u32>().is_ok())
        .count();
    assert!(ours > 5, "the host /proc must stay the host's: {ours} pids");
}

#[test]
fn command_joins_the_container_cgroups_and_gets_signals() {
    let e = Env::new("attcg");
    busybox_running(&e, "a2");
    let init = init_pid(&e, "a2");
    let child = e
        .cmd("lxc-attach")
        .args(["-n", "a2", "--", "/bin/sleep", "1000"])
        .spawn()
        .unwrap();
    let attach_pid = child.id();
    let mut guard = Reap(child);
    let mut cmd_pid = 0;
    e.wait_until("the attached command to run", || {
        let kids =
            std::fs::read_to_string(format!("/proc/{attach_pid}/task/{attach_pid}/children"))
                .unwrap_or_default();
        cmd_pid = kids
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        cmd_pid != 0
            && std::fs::read(format!("/proc/{cmd_pid}/cmdline"))
                .map(|c| c.starts_with(b"/bin/sleep"))
                .unwrap_or(false)
    });
    let cg = |p: i32| std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
    assert_eq!(cg(cmd_pid), cg(init), "the command is in init's cgroups");
    assert_ne!(
        cg(cmd_pid),
        cg(attach_pid as i32),
        "lxc-attach itself stays out"
    );
    // SIGTERM to lxc-attach is forwarded; it exits with 128+15.
    let pid = rustix::process::Pid::from_raw(attach_pid as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let st = guard.0.wait().unwrap();
    assert_eq!(st.code(), Some(143));
}

#[test]
fn frozen_and_stopped_containers_are_refused() {
    let e = Env::new("attfz");
    busybox_running(&e, "a3");
    let o = e.run("lxc-freeze", &["-n", "a3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = attach(&e, "a3", &["--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is frozen"), "{}", stderr(&o));
    let o = e.run("lxc-unfreeze", &["-n", "a3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = attach(&e, "a3", &["--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = attach(&e, "never-started", &["--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lxc-attach: never-started: failed to get the init pid (is never-started running?)\n"
    );
}

#[test]
fn shared_root_container() {
    let e = Env::new("attsh");
    e.define("a4", "lxc.uts.name = sharedroot\n");
    let o = e.run("lxc-start", &["-n", "a4", "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = attach(
        &e,
        "a4",
        &[
            "--",
            "/bin/sh",
            "-c",
            "hostname; echo $$; cat /proc/1/cmdline",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "sharedroot", "{out}");
    assert!(lines[1].parse::<u32>().unwrap() < 10, "{out}");
    assert!(lines[2].starts_with("/bin/sleep\u{0}1000"), "{out}");
}
