//! TIOCSTI from inside a container (issue 19; dev.tty.legacy_tiocsti = 1
//! on the project's kernels, and container root keeps CAP_SYS_ADMIN, which
//! lets it push input into any terminal it holds, controlling or not).
//! Run in a real terminal (tmux): the application of lxc-execute and the
//! command of lxc-attach push "touch MARKER" into every terminal among
//! their stdin, stdout and stderr. It must land in their own pty, never in
//! the shell that started them.

#[path = "common/env.rs"]
mod env;
#[path = "common/probe.rs"]
mod probe;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/tmux.rs"]
mod tmux;

use std::time::Duration;

use env::{stderr, Env};

/// In a shell in tmux: `applet -n name` running the probe that pushes
/// "touch MARKER" into its terminals, then give that shell the chance to
/// run whatever was injected into it. The screen must show the probe's
/// success (the injection itself worked) and MARKER must not appear.
fn assert_not_injected(e: &Env, applet: &str, name: &str) -> String {
    let marker = e.root.join(format!("injected-{applet}"));
    let cmd = format!(
        "LXCBOX_RUNDIR={} {} {applet} -P {} -n {name} -- /bin/sysprobe 'tiocsti_fds:touch {}'",
        e.rundir().display(),
        env::bin(),
        e.lxcpath(),
        marker.display()
    );
    let t = tmux::Tmux::new(name, |_| "exec /bin/sh".to_string());
    t.keys(&[&format!("{cmd}; echo RUN-DONE $?"), "Enter"]);
    t.wait_for("RUN-DONE");
    t.keys(&["echo SHELL-IDLE", "Enter"]);
    t.wait_for("SHELL-IDLE\n");
    std::thread::sleep(Duration::from_millis(300));
    let screen = t.screen();
    assert!(
        screen.contains("tiocsti_fds=ok"),
        "the injection itself failed: {screen}"
    );
    assert!(
        !marker.exists(),
        "TIOCSTI through {applet} reached the caller's shell:\n{screen}"
    );
    screen
}

fn container(e: &Env, name: &str) {
    let r = e.busybox(name, "lxc.mount.auto = proc:mixed sys:ro\n");
    probe::install(&r);
}

#[test]
fn tiocsti_through_lxc_execute_stays_in_the_console() {
    let e = Env::new("hstie");
    container(&e, "hstie");
    let screen = assert_not_injected(&e, "lxc-execute", "hstie");
    assert!(screen.contains("RUN-DONE 0"), "{screen}");
}

#[test]
fn tiocsti_through_lxc_attach_stays_in_its_pty() {
    let e = Env::new("hstia");
    container(&e, "hstia");
    let o = e.run("lxc-start", &["-n", "hstia", "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_not_injected(&e, "lxc-attach", "hstia");
    let _ = e.run("lxc-stop", &["-n", "hstia", "-k"]);
}

#[test]
fn lxc_execute_gets_a_console_and_keeps_its_pipes() {
    // Only terminals are replaced by the console: a pipe stays the
    // application's own, and /dev/console is the console pty (a devpts
    // node, major 136), as with LXC.
    let e = Env::new("hpipe");
    e.busybox("hpipe", "lxc.mount.auto = proc:mixed sys:ro\n");
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "hpipe",
            "--",
            "/bin/sh",
            "-c",
            "ls -l /proc/self/fd/1; ls -l /dev/console",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = env::stdout(&o);
    assert!(out.contains("pipe:"), "{out}");
    assert!(out.contains(" 136, "), "/dev/console is not a pty: {out}");
}

#[test]
fn lxc_start_foreground_with_console_none_runs_on_the_callers_stdio() {
    // As LXC: no console, so init inherits lxc-start's stdin/out/err.
    let e = Env::new("hfnone");
    e.busybox(
        "hfnone",
        "lxc.console.path = none\nlxc.net.0.type = empty\nlxc.mount.auto = proc:mixed sys:ro\n",
    );
    let o = e.run(
        "lxc-start",
        &[
            "-F",
            "-n",
            "hfnone",
            "--",
            "/bin/sh",
            "-c",
            "echo out-$$; echo err >&2; ls -l /proc/self/fd/1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = env::stdout(&o);
    assert!(out.starts_with("out-1\n"), "{out}");
    assert!(
        out.contains("pipe:"),
        "init's stdout is the caller's: {out}"
    );
    assert_eq!(stderr(&o), "err\n");
}
