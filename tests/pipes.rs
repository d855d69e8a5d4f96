//! A closed output pipe ends every applet as it ends LXC's tools: killed by
//! SIGPIPE (exit status 141 in a shell), with nothing on stderr, no panic,
//! no abort, no core.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

use env::{bin, stderr, Env};

/// Define `n` containers (config only: lxc-ls -f asks each one's monitor,
/// and none answers).
fn define_many(e: &Env, n: usize) {
    for i in 0..n {
        e.define(
            &format!("c{i:04}"),
            "lxc.uts.name = x\nlxc.net.0.type = empty\n",
        );
    }
}

/// stdout is a pipe whose read end is already closed: the first write
/// raises SIGPIPE. Close-on-exec, or a process that another test thread
/// spawns meanwhile would inherit the read end and keep the pipe open.
fn closed_pipe() -> Stdio {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    drop(r);
    Stdio::from(w)
}

/// Quiet: no panic message, nothing at all on stderr.
fn assert_quiet(what: &str, o: &std::process::Output) {
    assert!(o.stderr.is_empty(), "{what}: stderr: {}", stderr(o));
}

fn assert_sigpipe(what: &str, st: ExitStatus) {
    assert_eq!(st.signal(), Some(libc::SIGPIPE), "{what}: {st:?}");
    assert!(!st.core_dumped(), "{what}: dumped core");
}

/// Every listing applet, writing into a closed pipe.
#[test]
fn listing_applets_die_of_sigpipe_quietly() {
    let e = Env::new("pipe-closed");
    define_many(&e, 30);
    e.define("auto", "lxc.start.auto = 1\nlxc.net.0.type = empty\n");
    let cases: &[(&str, &[&str])] = &[
        ("lxc-ls", &[]),
        ("lxc-ls", &["-f"]),
        ("lxc-ls", &["--json"]),
        ("lxc-list", &[]),
        ("lxc-info", &["-n", "c0001"]),
        ("lxc-config", &["-l"]),
        ("lxc-top", &["-b", "--iterations", "1"]),
        ("lxc-autostart", &["-L", "-a"]),
        ("lxc-version", &[]),
    ];
    for (applet, args) in cases {
        let o = e
            .cmd(applet)
            .args(*args)
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let what = format!("{applet} {}", args.join(" "));
        assert_quiet(&what, &o);
        assert_sigpipe(&what, o.status);
    }
    let o = Command::new(bin())
        .arg("--list")
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_quiet("lxcbox --list", &o);
    assert_sigpipe("lxcbox --list", o.status);
}

/// LXC's own lxc-ls, for comparison (when installed): the same death.
#[test]
fn lxc_itself_dies_of_sigpipe() {
    if !std::path::Path::new("/usr/bin/lxc-ls").exists() {
        eprintln!("LXC not installed: skipping the comparison");
        return;
    }
    let e = Env::new("pipe-lxc");
    define_many(&e, 30);
    let o = Command::new("/usr/bin/lxc-ls")
        .args(["-P", &e.lxcpath(), "-1"])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_quiet("LXC's lxc-ls", &o);
    assert_sigpipe("LXC's lxc-ls", o.status);
}

/// `APPLET | head -1` in a shell, the way users meet it: one line comes
/// out, and the applet ends quietly (by SIGPIPE, 141, when it still had
/// output to write; 0 when it had written everything before head left).
fn piped_into_head(e: &Env, cmdline: &str) -> (String, String, i32) {
    let script = format!(
        "LXCBOX_RUNDIR={rd} {cmdline} 2>{err} | head -1; echo \"status=${{PIPESTATUS[0]}}\"",
        rd = e.rundir().display(),
        err = e.root.join("stderr").display(),
    );
    let o = Command::new("bash").args(["-c", &script]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (line, status) = out.rsplit_once("status=").unwrap();
    let err = std::fs::read_to_string(e.root.join("stderr")).unwrap_or_default();
    (line.to_string(), err, status.trim().parse().unwrap())
}

#[test]
fn lxc_ls_fancy_over_3000_containers_into_head() {
    let e = Env::new("pipe-3000");
    define_many(&e, 3000);
    let (line, err, status) =
        piped_into_head(&e, &format!("{} lxc-ls -P {} -f", bin(), e.lxcpath()));
    assert!(line.starts_with("NAME"), "{line}");
    assert_eq!(err, "", "stderr");
    // 3000 lines are far more than a pipe holds: the write after head left
    // is what ends it.
    assert_eq!(status, 141);
    // And the plain listing.
    // (18 kB: it may all be in the pipe before head leaves.)
    let (line, err, status) =
        piped_into_head(&e, &format!("{} lxc-ls -P {} -1", bin(), e.lxcpath()));
    assert_eq!(line.trim(), "c0000");
    assert_eq!(err, "");
    assert!(status == 0 || status == 141, "status {status}");
}

#[test]
fn other_listings_into_head() {
    let e = Env::new("pipe-head");
    e.busybox(
        "ph",
        "lxc.net.0.type = empty\nlxc.init.cmd = /bin/busybox sleep 1000\n",
    );
    let p = e.lxcpath();
    let b = bin();
    let o = e.run("lxc-start", &["-n", "ph", "-d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for cmdline in [
        format!("{b} lxc-info -P {p} -n ph"),
        format!("{b} lxc-config -l"),
        format!("{b} lxc-top -P {p} -b -d 0"),
    ] {
        let (line, err, status) = piped_into_head(&e, &cmdline);
        assert!(!line.trim().is_empty(), "{cmdline}: no line");
        assert_eq!(err, "", "{cmdline}: stderr");
        assert!(status == 0 || status == 141, "{cmdline}: status {status}");
        if cmdline.contains("lxc-top") {
            // lxc-top -b never ends by itself: only SIGPIPE can end it here.
            assert_eq!(status, 141, "{cmdline}");
        }
    }
    // lxc-monitor prints a line per event: head leaves after the first,
    // and the next event's line ends it.
    let script = format!(
        "({b} lxc-monitor -P {p} -n ph 2>{err} | head -1 >{first}; echo \"status=${{PIPESTATUS[0]}}\") & \
         sleep 0.5; for i in 1 2; do {b} lxc-freeze -P {p} -n ph; {b} lxc-unfreeze -P {p} -n ph; done; \
         wait",
        err = e.root.join("mon.err").display(),
        first = e.root.join("mon.first").display(),
    );
    let o = Command::new("bash")
        .args(["-c", &script])
        .env("LXCBOX_RUNDIR", e.rundir())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let first = std::fs::read_to_string(e.root.join("mon.first")).unwrap();
    assert!(first.contains("ph"), "lxc-monitor's first line: {first:?}");
    assert_eq!(std::fs::read_to_string(e.root.join("mon.err")).unwrap(), "");
    assert!(out.contains("status=141"), "{out}");
    let o = e.run("lxc-stop", &["-n", "ph", "-k"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
