//! Hostile and careless config files (issue 19): includes of /dev/zero and
//! FIFOs (run under a memory cgroup, so a regression is OOM-killed at the
//! limit instead of eating the machine, and under a time limit, so a
//! blocking read fails the test instead of hanging it), invalid UTF-8,
//! tens of thousands of lxc.environment lines, and the exit codes LXC
//! 5.0.2 gives to careless command lines.

#[path = "common/env.rs"]
mod env;
#[path = "common/memcg.rs"]
mod memcg;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use env::{stderr, stdout, Env};

const LIMIT: u64 = 64 << 20;
const PATIENCE: Duration = Duration::from_secs(20);

fn mkfifo(p: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        p,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// lxc-execute -f FILE under the memory limit: it must fail at once with
/// a message naming `what` (never be OOM-killed, never block).
fn refused(e: &Env, cg: &memcg::MemCg, rcfile: &Path, what: &str) -> String {
    let mut c = e.cmd("lxc-execute");
    c.arg("-n")
        .arg("hz")
        .arg("-f")
        .arg(rcfile)
        .args(["--", "/bin/true"]);
    let o = cg
        .run(&c, PATIENCE)
        .unwrap_or_else(|| panic!("lxc-execute -f {} blocked", rcfile.display()));
    assert_eq!(
        o.status.code(),
        Some(1),
        "lxc-execute -f {} (status {:?}: OOM-killed?): {}",
        rcfile.display(),
        o.status,
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(err.contains(what), "{}: {err}", rcfile.display());
    assert!(
        cg.peak() < LIMIT / 2,
        "{}: peak memory {} bytes",
        rcfile.display(),
        cg.peak()
    );
    err
}

#[test]
fn dev_zero_and_fifo_configs_are_refused_under_a_memory_cgroup() {
    let e = Env::new("hzero");
    let cg = memcg::MemCg::new("hzero", LIMIT);
    let d = e.container_dir("hz");
    let fifo = d.join("fifo.conf");
    mkfifo(&fifo);
    let inc_zero = d.join("inc-zero.conf");
    std::fs::write(&inc_zero, "lxc.uts.name = z\nlxc.include = /dev/zero\n").unwrap();
    let inc_fifo = d.join("inc-fifo.conf");
    std::fs::write(&inc_fifo, format!("lxc.include = {}\n", fifo.display())).unwrap();

    let err = refused(&e, &cg, &inc_zero, "/dev/zero: not a regular file");
    assert!(
        err.contains("inc-zero.conf:2: lxc.include:"),
        "the including line: {err}"
    );
    assert!(err.contains("a character device"), "{err}");
    refused(&e, &cg, Path::new("/dev/zero"), "a character device");
    let err = refused(&e, &cg, &inc_fifo, "a FIFO");
    assert!(err.contains("inc-fifo.conf:1: lxc.include:"), "{err}");
    refused(&e, &cg, &fifo, "a FIFO");
    // A FIFO as the container's own config (LXCPATH/NAME/config).
    std::fs::remove_file(&fifo).unwrap();
    mkfifo(&d.join("config"));
    let mut c = e.cmd("lxc-execute");
    c.args(["-n", "hz", "--", "/bin/true"]);
    let o = cg.run(&c, PATIENCE).expect("a FIFO config blocked");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("a FIFO"), "{}", stderr(&o));
}

#[test]
fn a_config_bigger_than_the_cap_is_refused() {
    let e = Env::new("hbig");
    let d = e.container_dir("hbig");
    let big = d.join("big.conf");
    // 17 MiB of comments: over the 16 MiB cap.
    let line = format!("#{}\n", "x".repeat(1023));
    std::fs::write(&big, line.repeat(17 * 1024)).unwrap();
    let o = e.run(
        "lxc-execute",
        &["-n", "hbig", "-f", big.to_str().unwrap(), "--", "/bin/true"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bytes a configuration may have"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn invalid_utf8_is_tolerated_in_comments_and_reported_elsewhere() {
    let e = Env::new("hutf");
    let r = e.busybox("hutf", "");
    std::os::unix::fs::symlink("busybox", r.join("bin/hostname")).unwrap();
    let cfg = e.root.join("lxc/hutf/config");
    let mut text = std::fs::read(&cfg).unwrap();
    text.extend_from_slice(b"# caf\xe9 (Latin-1)\nnot-lxc = \xff\nlxc.uts.name = fine\n");
    std::fs::write(&cfg, &text).unwrap();
    let o = e.run("lxc-execute", &["-n", "hutf", "--", "/bin/hostname"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "fine\n");

    text.extend_from_slice(b"lxc.uts.name = caf\xe9\n");
    std::fs::write(&cfg, &text).unwrap();
    let o = e.run("lxc-execute", &["-n", "hutf", "--", "/bin/hostname"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let want = format!(
        "{}:5: lxc.uts.name: the line is not valid UTF-8",
        cfg.display()
    );
    assert!(stderr(&o).contains(&want), "want {want}: {}", stderr(&o));
}

#[test]
fn forty_thousand_environment_lines() {
    // The time this takes is measured in bench/ (hostile-env row); here:
    // every variable arrives, and a later line overrides an earlier one.
    let e = Env::new("henv");
    let mut extra = String::new();
    for i in 0..40_000 {
        extra.push_str(&format!("lxc.environment = V{i}=v{i}\n"));
    }
    extra.push_str("lxc.environment = V7=last\n");
    let r = e.busybox("henv", &extra);
    for a in ["env", "wc"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(a)).unwrap();
    }
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "henv",
            "--",
            "/bin/sh",
            "-c",
            "env | wc -l; echo $V7 $V39999",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let n: usize = lines[0].trim().parse().unwrap();
    assert!(n >= 40_000, "{out}");
    assert_eq!(lines[1], "last v39999");
}

/// Exit status of LXC 5.0.2's applet (`None` when it is not installed).
fn lxc_status(applet: &str, args: &[&str]) -> Option<i32> {
    let p = Path::new("/usr/bin").join(applet);
    if !p.exists() {
        return None;
    }
    let o = Command::new(p).args(args).output().unwrap();
    o.status.code()
}

#[test]
fn exit_codes_as_lxc() {
    let e = Env::new("hexit");
    let file = e.root.join("a-file");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    let lxcpath = e.lxcpath();
    let long = "a".repeat(300);
    // (applet, arguments after the applet, LXC 5.0.2's status).
    let cases: Vec<(&str, Vec<&str>, i32)> = vec![
        (
            "lxc-execute",
            vec!["-P", file, "-n", "x", "--", "/bin/true"],
            1,
        ),
        (
            "lxc-execute",
            vec!["-P", &lxcpath, "-n", "undefined", "--", "/bin/true"],
            1,
        ),
        ("lxc-config", vec!["-n", "x"], 1),
        ("lxc-update-config", vec!["-n", "x"], 1),
        ("lxc-update-config", vec![], 0),
        ("lxc-stop", vec!["-P", &lxcpath, "-n", &long], 1),
        ("lxc-stop", vec!["-P", file, "-n", "x"], 1),
        ("lxc-stop", vec!["-P", &lxcpath, "-n", ""], 2),
        ("lxc-stop", vec!["-P", &lxcpath, "-n", "absent"], 2),
    ];
    for (applet, args, want) in &cases {
        let o = Command::new(env::bin())
            .arg(applet)
            .args(args)
            .env("LXCBOX_RUNDIR", e.rundir())
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(*want),
            "{applet} {args:?}: {}",
            stderr(&o)
        );
        if let Some(theirs) = lxc_status(applet, args) {
            assert_eq!(theirs, *want, "LXC's {applet} {args:?}");
        }
    }
    // The undefined container's message is LXC's.
    let o = e.run("lxc-execute", &["-n", "undefined", "--", "/bin/true"]);
    assert!(
        stderr(&o).contains("Executing a container with no configuration file may crash the host"),
        "{}",
        stderr(&o)
    );
}
