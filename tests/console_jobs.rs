//! Job control on a busybox-init system container's console, driven through
//! tmux as a user would: `console::askfirst:/bin/sh`, Enter, `sleep 50`,
//! Ctrl-C must interrupt it — under `lxc-start -F` and under
//! `lxc-console -t 0` — and a tty keeps working (`lxc-console -t 1`).
//! /dev/console and /dev/ttyN are `crw--w----`, group tty (5).

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/tmux.rs"]
mod tmux;

use std::os::unix::fs::symlink;
use std::time::Duration;

use env::{bin, stderr, Env};
use tmux::Tmux;

fn uniq(tag: &str) -> String {
    format!("cj-{tag}-{}", std::process::id())
}

/// A busybox system container whose init asks on the console and tty1.
fn define(e: &Env, name: &str) {
    let r = e.busybox(
        name,
        "lxc.mount.auto = proc:mixed sys:mixed\nlxc.autodev = 1\nlxc.tty.max = 1\n",
    );
    symlink("../bin/busybox", r.join("sbin/init")).unwrap();
    for a in ["ls", "tty"] {
        let _ = symlink("busybox", r.join("bin").join(a));
    }
    std::fs::write(
        r.join("etc/inittab"),
        "::sysinit:/bin/echo booted\nconsole::askfirst:/bin/sh\ntty1::askfirst:/bin/sh\n",
    )
    .unwrap();
}

/// A command line for tmux running applet `args` of this env.
fn cmdline(e: &Env, args: &str) -> String {
    format!(
        "LXCBOX_RUNDIR={} {} {args} -P {}; echo APPLET-EXITED; sleep 600",
        e.rundir().display(),
        bin(),
        e.lxcpath()
    )
}

/// At a freshly activated askfirst shell: job control works, Ctrl-C
/// interrupts a foreground `sleep 50`, and the shell goes on.
fn job_control(t: &Tmux) {
    t.keys(&["Enter"]);
    t.wait_for("/ #");
    t.keys(&["sleep 50", "Enter"]);
    t.wait_for("sleep 50");
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["C-c"]);
    // Well within the 50 s: only an interrupted sleep lets this through.
    t.keys(&["echo back-$((6*7))", "Enter"]);
    t.wait_for_within("back-42", Duration::from_secs(20));
    let s = t.screen();
    assert!(!s.contains("job control turned off"), "{s}");
}

fn device_modes(t: &Tmux, dev: &str) {
    t.keys(&[&format!("ls -ln {dev}; tty"), "Enter"]);
    t.wait_for(dev);
    std::thread::sleep(Duration::from_millis(300));
    let s = t.screen();
    assert!(
        s.lines()
            .any(|l| l.starts_with("crw--w----") && l.contains(" 5 ")),
        "{dev} is not crw--w---- with group 5:\n{s}"
    );
}

#[test]
fn console_shell_has_job_control_under_start_foreground() {
    let e = Env::new("cj-fg");
    let n = uniq("fg");
    define(&e, &n);
    let t = Tmux::new("cj-fg", |_| cmdline(&e, &format!("lxc-start -F -n {n}")));
    t.wait_for("Please press Enter to activate this console.");
    job_control(&t);
    device_modes(&t, "/dev/console");
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert!(o.status.success(), "{}", stderr(&o));
    t.wait_for("APPLET-EXITED");
}

#[test]
fn console_and_tty_shells_have_job_control_under_lxc_console() {
    let e = Env::new("cj-con");
    let n = uniq("con");
    define(&e, &n);
    let o = e.run("lxc-start", &["-n", &n, "-d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    {
        let t = Tmux::new("cj-con0", |_| {
            cmdline(&e, &format!("lxc-console -t 0 -n {n}"))
        });
        t.wait_for("Ctrl+a q");
        job_control(&t);
        device_modes(&t, "/dev/console");
        t.keys(&["C-a", "q"]);
        t.wait_for("APPLET-EXITED");
    }
    {
        let t = Tmux::new("cj-con1", |_| {
            cmdline(&e, &format!("lxc-console -t 1 -n {n}"))
        });
        t.wait_for("Ctrl+a q");
        job_control(&t);
        device_modes(&t, "/dev/tty1");
        t.keys(&["C-a", "q"]);
        t.wait_for("APPLET-EXITED");
    }
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
