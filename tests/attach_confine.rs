//! lxc-attach confines its command like the container's init: init's
//! bounding set (lxc.cap.drop), no_new_privs, the LSM and seccomp settings,
//! LXC's environment rules, and a pseudo terminal of its own when ours is
//! one (TIOCSTI from inside reaches only that pty; -L logs its output).

#[path = "common/env.rs"]
mod env;
#[path = "common/probe.rs"]
mod probe;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/tmux.rs"]
mod tmux;

use env::{init_pid, stderr, stdout, Env};

/// A running busybox container with the probe; `extra` config lines.
fn running(e: &Env, name: &str, extra: &str) -> std::path::PathBuf {
    let r = e.busybox(
        name,
        &format!("lxc.mount.auto = proc:mixed sys:ro\nlxc.init.cmd = /bin/sleep 1000\n{extra}"),
    );
    probe::install(&r);
    let o = e.run("lxc-start", &["-n", name, "-d"]);
    assert!(o.status.success(), "lxc-start {name}: {}", stderr(&o));
    r
}

fn attach(e: &Env, name: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["-n", name];
    all.extend_from_slice(args);
    e.run("lxc-attach", &all)
}

fn status_line(status: &str, key: &str) -> String {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn capabilities_and_no_new_privs_follow_init() {
    let e = Env::new("acap");
    running(
        &e,
        "acap",
        "lxc.cap.drop = sys_admin sys_module\nlxc.no_new_privs = 1\n",
    );
    let pid = init_pid(&e, "acap");
    let init = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let init_bnd = status_line(&init, "CapBnd:");
    assert_eq!(status_line(&init, "NoNewPrivs:"), "NoNewPrivs:\t1");
    let o = attach(&e, "acap", &["--", "/bin/cat", "/proc/self/status"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mine = stdout(&o);
    assert_eq!(status_line(&mine, "CapBnd:"), init_bnd, "{mine}");
    let bnd = u64::from_str_radix(init_bnd.trim_start_matches("CapBnd:").trim(), 16).unwrap();
    assert_eq!(bnd & (1 << 21), 0, "sys_admin dropped");
    assert_eq!(
        status_line(&mine, "CapEff:"),
        init_bnd.replace("CapBnd", "CapEff")
    );
    assert_eq!(status_line(&mine, "NoNewPrivs:"), "NoNewPrivs:\t1");
    // -e CAP keeps our own bounding set.
    let o = attach(
        &e,
        "acap",
        &["-e", "CAP", "--", "/bin/cat", "/proc/self/status"],
    );
    // getopt: "-e CAP" is -e (everything) and the command CAP, as LXC.
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    let o = attach(
        &e,
        "acap",
        &["-eCAP", "--", "/bin/cat", "/proc/self/status"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    assert_eq!(
        status_line(&stdout(&o), "CapBnd:"),
        status_line(&ours, "CapBnd:")
    );
    let _ = e.run("lxc-stop", &["-n", "acap", "-k"]);
}

#[test]
fn environment_rules_like_lxc() {
    let e = Env::new("aenv");
    running(&e, "aenv", "lxc.environment = FROM_CONF=yes\n");
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--", "/bin/sh", "-c", "env"]);
        let o = e
            .cmd("lxc-attach")
            .args(["-n", "aenv"])
            .args(&a)
            .env("MINE", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let keep = run(&[]);
    assert!(
        keep.contains("MINE=1") && keep.contains("container=lxc"),
        "{keep}"
    );
    assert!(keep.contains("FROM_CONF=yes"), "lxc.environment: {keep}");
    // The last of --keep-env / --clear-env wins.
    let cleared = run(&[
        "--keep-env",
        "--clear-env",
        "--keep-var",
        "MINE",
        "-v",
        "SET=2",
    ]);
    assert!(
        cleared.contains("MINE=1") && cleared.contains("SET=2"),
        "{cleared}"
    );
    assert!(cleared.contains("PATH=/usr/local/sbin:"), "{cleared}");
    assert!(!cleared.contains("HOME="), "{cleared}");
    let kept = run(&["--clear-env", "--keep-env"]);
    assert!(
        kept.contains("HOME=") || std::env::var_os("HOME").is_none(),
        "{kept}"
    );
    // --keep-var without --clear-env is ignored with a warning, not refused.
    let o = e
        .cmd("lxc-attach")
        .args([
            "-n",
            "aenv",
            "--keep-var",
            "X",
            "-l",
            "WARN",
            "-o",
            "/dev/stderr",
            "--",
            "/bin/true",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("--keep-var"), "{}", stderr(&o));
    let _ = e.run("lxc-stop", &["-n", "aenv", "-k"]);
}

#[test]
fn no_terminal_no_controlling_tty() {
    // With pipes for stdio there is no pty, and the command is not left in
    // our session either: /dev/tty cannot be opened.
    let e = Env::new("anotty");
    running(&e, "anotty", "");
    let o = attach(&e, "anotty", &["--", "/bin/sysprobe", "tiocsti:x"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        probe::results(&stdout(&o))["tiocsti"],
        "ENXIO",
        "{}",
        stdout(&o)
    );
    let _ = e.run("lxc-stop", &["-n", "anotty", "-k"]);
}

#[test]
fn tiocsti_stays_in_the_commands_own_pty() {
    // dev.tty.legacy_tiocsti = 1 on the project's kernels: TIOCSTI works
    // for the owner of a terminal. In a real terminal (tmux), the attached
    // command pushes "touch MARKER" into its controlling terminal; it must
    // land in its own pty, never in the shell that ran lxc-attach.
    let e = Env::new("asti");
    running(&e, "asti", "");
    let marker = e.root.join("injected");
    let log = e.root.join("pty.log");
    let t = tmux::Tmux::new("asti", |_| "exec /bin/sh".to_string());
    let cmd = format!(
        "LXCBOX_RUNDIR={} {} lxc-attach -P {} -n asti -L {} -- /bin/sh -c 'tty; /bin/sysprobe tiocsti:\"touch {}\"'; echo ATTACH-DONE $?",
        e.rundir().display(),
        env::bin(),
        e.lxcpath(),
        log.display(),
        marker.display()
    );
    t.keys(&[&cmd, "Enter"]);
    t.wait_for("ATTACH-DONE 0");
    // Give the host shell the chance to run anything injected into it.
    t.keys(&["echo SHELL-IDLE", "Enter"]);
    t.wait_for("SHELL-IDLE\n");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let screen = t.screen();
    assert!(
        screen.contains("tiocsti=ok"),
        "the injection itself worked: {screen}"
    );
    assert!(
        screen.contains("/dev/pts/"),
        "the command had a terminal: {screen}"
    );
    assert!(
        !marker.exists(),
        "TIOCSTI reached the caller's shell:\n{screen}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("tiocsti=ok"),
        "-L logs the pty output: {logged:?}"
    );
    let _ = e.run("lxc-stop", &["-n", "asti", "-k"]);
}
