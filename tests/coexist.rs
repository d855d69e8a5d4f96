//! lxcbox beside a real LXC 5.0.2 on the same host: it sees LXC's
//! containers, never starts or destroys them, never removes LXC's cgroups,
//! and LXC cannot start a container lxcbox runs.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::process::{Command, Output};
use std::time::Instant;

use env::{stderr, stdout, Env};

fn lxc(e: &Env, tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .args(["-P", &e.lxcpath()])
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("running LXC's {tool} (tests/setup.sh installs lxc): {err}"))
}

/// Stops what LXC runs in `e` when the test ends, pass or fail.
struct LxcGuard<'a>(&'a Env, &'static str);

impl Drop for LxcGuard<'_> {
    fn drop(&mut self) {
        let _ = lxc(self.0, "lxc-stop", &["-n", self.1, "-k"]);
    }
}

#[test]
fn a_container_lxc_runs_is_seen_and_never_started_or_destroyed() {
    let e = Env::new("coex");
    e.busybox("c", "");
    let o = lxc(
        &e,
        "lxc-start",
        &["-n", "c", "-d", "--", "/bin/sleep", "1000"],
    );
    assert!(o.status.success(), "LXC lxc-start: {}", stderr(&o));
    let _g = LxcGuard(&e, "c");
    let o = lxc(&e, "lxc-wait", &["-n", "c", "-s", "RUNNING", "-t", "20"]);
    assert!(o.status.success());
    let lxc_pid = stdout(&lxc(&e, "lxc-info", &["-n", "c", "-pH"]))
        .trim()
        .to_string();

    // lxc-info and lxc-ls: RUNNING, with the pid LXC gives.
    let o = e.run("lxc-info", &["-n", "c"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!(
            "Name:           c\nState:          RUNNING\nPID:            {lxc_pid}\n"
        )),
        "{}",
        stdout(&o)
    );
    assert_eq!(stdout(&e.run("lxc-info", &["-n", "c", "-sH"])), "RUNNING\n");
    let o = e.run("lxc-ls", &["-f", "-F", "NAME,STATE,PID"]);
    assert_eq!(
        stdout(&o)
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["c", "RUNNING", lxc_pid.as_str()]
    );
    assert_eq!(stdout(&e.run("lxc-ls", &["--running", "-1"])), "c\n");
    let o = e.run("lxc-wait", &["-n", "c", "-s", "RUNNING", "-t", "5"]);
    assert!(o.status.success(), "lxc-wait RUNNING: {}", stderr(&o));
    // The running config, through LXC's GET_CONFIG_ITEM.
    let o = e.run("lxc-info", &["-n", "c", "-c", "lxc.rootfs.path"]);
    assert!(stdout(&o).contains("/c/rootfs"), "{}", stdout(&o));

    // Refused: a second start on the same rootfs, a destroy under LXC's feet.
    for (applet, args) in [
        ("lxc-start", &["-n", "c"][..]),
        ("lxc-execute", &["-n", "c", "--", "/bin/true"]),
        ("lxc-destroy", &["-n", "c"]),
        ("lxc-destroy", &["-n", "c", "-f"]),
        ("lxc-stop", &["-n", "c"]),
    ] {
        let o = e.run(applet, args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{applet} {args:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains(&format!("c is RUNNING under LXC (init pid {lxc_pid})")),
            "{applet}: {}",
            stderr(&o)
        );
    }
    assert!(e.root.join("lxc/c/config").exists());
    // LXC's container is untouched.
    let o = lxc(&e, "lxc-info", &["-n", "c", "-pH"]);
    assert_eq!(stdout(&o).trim(), lxc_pid);

    // Switching it over: once LXC stopped it, lxcbox runs it, and then
    // LXC cannot start it a second time.
    let waiter = e.spawn("lxc-wait", &["-n", "c", "-s", "STOPPED", "-t", "20"]);
    let o = lxc(&e, "lxc-stop", &["-n", "c", "-k"]);
    assert!(o.status.success());
    let w = waiter.wait_with_output().unwrap();
    assert!(w.status.success(), "lxc-wait STOPPED: {}", stderr(&w));
    let o = e.run("lxc-start", &["-n", "c", "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    e.wait_until("c running under lxcbox", || {
        env::state(&e, "c") == "RUNNING"
    });
    let ours = env::init_pid(&e, "c");
    let o = lxc(
        &e,
        "lxc-start",
        &["-n", "c", "-d", "--", "/bin/sleep", "1000"],
    );
    assert!(!o.status.success(), "LXC started a container lxcbox runs");
    assert_eq!(env::init_pid(&e, "c"), ours);
    let o = e.run("lxc-stop", &["-n", "c", "-k"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn stale_cleanup_removes_only_what_lxcbox_made() {
    use lxcbox::cgroup::{owner, CgroupSet, Layout};
    let e = Env::new("coexcg");
    e.busybox("s", "");
    let layout = Layout::discover().unwrap();
    let me = CgroupSet::from_pid(&layout, std::process::id() as i32).unwrap();
    // LXC's: empty, unmarked (what LXC has just made for a start of its own
    // "s"); lxcbox's: empty and marked, as a SIGKILLed monitor leaves them.
    let theirs: Vec<_> = me.paths().iter().map(|b| b.join("lxc.payload.s")).collect();
    let ours: Vec<_> = me.paths().iter().map(|b| b.join("lxc.monitor.s")).collect();
    for d in &theirs {
        std::fs::create_dir(d).unwrap();
    }
    for d in &ours {
        std::fs::create_dir(d).unwrap();
        owner::mark(d);
    }
    let o = e.run("lxc-execute", &["-n", "s", "--", "/bin/true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for d in &theirs {
        assert!(d.is_dir(), "{} (not lxcbox's) was removed", d.display());
        assert!(!owner::is_ours(d));
        std::fs::remove_dir(d).unwrap();
    }
    for d in &ours {
        assert!(!d.exists(), "{} (lxcbox's, stale) was kept", d.display());
    }
}

#[test]
fn twenty_concurrent_starts_beside_lxc() {
    let (ours, theirs) = (Env::new("coex20"), Env::new("coex20l"));
    ours.busybox("same", "");
    theirs.busybox("same", "");
    let _g = LxcGuard(&theirs, "same");
    let (mut ours_failed, mut theirs_failed) = (Vec::new(), Vec::new());
    let t0 = Instant::now();
    for round in 0..20 {
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                let o = ours.run("lxc-start", &["-n", "same", "--", "/bin/sleep", "1000"]);
                let w = ours.run("lxc-wait", &["-n", "same", "-s", "RUNNING", "-t", "20"]);
                (o.status.success() && w.status.success(), stderr(&o))
            });
            let b = s.spawn(|| {
                let o = lxc(
                    &theirs,
                    "lxc-start",
                    &["-n", "same", "-d", "--", "/bin/sleep", "1000"],
                );
                let w = lxc(
                    &theirs,
                    "lxc-wait",
                    &["-n", "same", "-s", "RUNNING", "-t", "20"],
                );
                (o.status.success() && w.status.success(), stderr(&o))
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        if !a.0 {
            ours_failed.push(format!("round {round}: {}", a.1));
        }
        if !b.0 {
            theirs_failed.push(format!("round {round}: {}", b.1));
        }
        let _ = ours.run("lxc-stop", &["-n", "same", "-k"]);
        let _ = lxc(&theirs, "lxc-stop", &["-n", "same", "-k"]);
    }
    eprintln!("20 rounds of concurrent starts in {:?}", t0.elapsed());
    assert!(
        ours_failed.is_empty(),
        "lxcbox failed:\n{}",
        ours_failed.join("\n")
    );
    assert!(
        theirs_failed.is_empty(),
        "LXC failed:\n{}",
        theirs_failed.join("\n")
    );
}
