//! lxc-unshare: a command in new namespaces (-s), with a hostname (-H), a
//! host interface moved in (-i), another uid (-u), daemonized (-d), default
//! filesystems mounted afresh (-M); LXC's exit status and option checks,
//! side by side with Debian's /usr/bin/lxc-unshare where the two agree by
//! design. Needs root.

#[path = "common/env.rs"]
mod env;
mod net_support;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use env::{bin, ns, stderr, stdout};
use lxcbox::net::raw::{self, Kind, NewLink, Socket};
use net_support::{host_has, LinkGuard};

const LXC: &str = "/usr/bin/lxc-unshare";

fn ours(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("lxc-unshare")
        .args(args)
        .output()
        .unwrap()
}

/// LXC's run, when it is installed and this is not the old-kernel pass
/// (under that filter, and with `--qemu`, LXC's own fallbacks are what
/// differs: it has no fork + unshare one).
fn theirs(args: &[&str]) -> Option<Output> {
    (Path::new(LXC).exists() && std::env::var_os("LXCBOX_TEST_OLD_KERNEL").is_none())
        .then(|| Command::new(LXC).args(args).output().unwrap())
}

/// Our output, checked against LXC's (stdout and exit status) when it is
/// installed.
fn both(args: &[&str]) -> Output {
    let o = ours(args);
    if let Some(l) = theirs(args) {
        assert_eq!(
            (stdout(&o), o.status.code()),
            (stdout(&l), l.status.code()),
            "lxc-unshare {args:?}: ours (stderr {}) vs LXC's (stderr {})",
            stderr(&o),
            stderr(&l)
        );
    }
    o
}

#[test]
fn mount_pid_prints_pid_1_and_passes_status_as_lxc() {
    let o = both(&["-s", "MOUNT|PID", "--", "/bin/sh", "-c", "echo $$"]);
    assert_eq!(stdout(&o), "1\n");
    assert!(o.status.success(), "{}", stderr(&o));
    // LXC's wait_for_pid: anything but exit 0 is lxc-unshare's 1.
    let o = both(&["-s", "PID", "--", "/bin/sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("exited with status 3"),
        "{}",
        stderr(&o)
    );
    let o = both(&["-s", "PID", "--", "/nonexistent/cmd"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Failed to exec: '/nonexistent/cmd'"),
        "{}",
        stderr(&o)
    );
    // Options are permuted as LXC's getopt_long does: -d is ours here.
    let o = both(&["-s", "PID", "true", "-d"]);
    assert!(o.status.success());
}

#[test]
fn every_namespace_is_new_and_names_are_lxcs() {
    let me = std::process::id().to_string();
    // Time namespaces came with Linux 5.6 (the old-kernel pass hides them).
    let time = lxcbox::sys::kernel::has(lxcbox::sys::kernel::Feature::TimeNamespace);
    let mut kinds = vec!["mnt", "pid", "uts", "ipc", "user", "net", "cgroup"];
    let mut list = "MOUNT|PID|UTSNAME|IPC|USER|NETWORK|CGROUP".to_string();
    if time {
        kinds.push("time");
        list.push_str("|TIME");
    } else {
        let o = ours(&["-s", "PID|TIME", "--", "true"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("no time namespaces"), "{}", stderr(&o));
    }
    let script = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}"))
        .collect::<Vec<_>>()
        .join("; ");
    let o = ours(&["-s", &list, "--", "/bin/sh", "-c", &script]);
    assert!(o.status.success(), "{}", stderr(&o));
    let inside: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(inside.len(), kinds.len(), "{inside:?}");
    for (k, v) in kinds.iter().zip(&inside) {
        assert_ne!(*v, ns(&me, k), "{k} namespace is the host's");
    }
    // The short names, any case, and empty parts, as LXC takes them.
    // (Inode numbers differ between runs: LXC's status only.)
    let args = ["-s", "mnt||Uts", "--", "readlink", "/proc/self/ns/uts"];
    let o = ours(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(stdout(&o).trim(), ns(&me, "uts"));
    if let Some(l) = theirs(&args) {
        assert!(l.status.success());
    }
    // Only the asked-for namespaces are new.
    let o = both(&["-s", "IPC", "--", "readlink", "/proc/self/ns/net"]);
    assert_eq!(stdout(&o).trim(), ns(&me, "net"));
}

#[test]
fn bad_input_is_refused_with_lxcs_status() {
    for (args, msg) in [
        (
            &["--", "true"][..],
            "A namespace to execute command is required",
        ),
        (
            &["-s", "", "--", "true"],
            "A namespace to execute command is required",
        ),
        (
            &["-s", "PID|bogus", "--", "true"],
            "Invalid namespace name \"bogus\"",
        ),
        (
            &["-s", "PID"],
            "A command to execute in the new namespace is required",
        ),
        (
            &["-s", "PID", "-H", "x", "true"],
            "-H <hostname> needs -s UTSNAME option",
        ),
        (&["-s", "PID", "-M", "true"], "-M needs -s MOUNT option"),
        (
            &["-s", "PID", "-i", "lo", "true"],
            "-i <interfacename> needs -s NETWORK option",
        ),
        (
            &["-s", "USER", "-u", "no-such-user-x", "id"],
            "Invalid username \"no-such-user-x\"",
        ),
        (
            &["-s", "USER", "-u", "4000000000", "id"],
            "Invalid uid : 4000000000",
        ),
    ] {
        let o = both(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
    }
    // LXC fails here too (exit 1) but only when writing the map, and its
    // child then waits for ever; we refuse before cloning.
    let o = ours(&["-s", "PID", "-u", "nobody", "--", "id"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs -s USER"), "{}", stderr(&o));
    let long = "h".repeat(65);
    let o = ours(&["-s", "UTSNAME", "-H", &long, "--", "hostname"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("1 to 64 bytes"), "{}", stderr(&o));
}

#[test]
fn hostname_and_user() {
    let o = both(&["-s", "UTSNAME", "-H", "lxbunshare", "--", "hostname"]);
    assert_eq!(stdout(&o), "lxbunshare\n");
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    assert_ne!(host, "lxbunshare", "the host kept its name");
    // -u: the uid alone is mapped (LXC writes "UID getuid() 1").
    let o = both(&[
        "-s",
        "USER",
        "-u",
        "nobody",
        "--",
        "cat",
        "/proc/self/uid_map",
        "/proc/self/gid_map",
    ]);
    let out = stdout(&o);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["65534", "0", "1"], "{out}");
    let o = both(&["-s", "USER", "-u", "65534", "--", "id", "-u"]);
    assert_eq!(stdout(&o), "65534\n");
}

#[test]
fn remount_gives_the_new_pid_namespace_its_proc() {
    let o = ours(&[
        "-s",
        "MOUNT|PID",
        "-M",
        "--",
        "/bin/sh",
        "-c",
        "ls /proc | grep -c '^[0-9]'; grep -E ' /(proc|dev/shm|dev/mqueue) ' /proc/self/mounts | tail -3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    // sh and grep (and ls): only the namespace's own processes.
    let procs: u32 = lines.next().unwrap().trim().parse().unwrap();
    assert!(procs <= 3, "{out}");
    for fs in [
        "proc /proc proc",
        "shmfs /dev/shm tmpfs",
        "mqueue /dev/mqueue mqueue",
    ] {
        assert!(out.contains(fs), "no {fs}: {out}");
    }
    // The host's /proc is untouched.
    assert!(Path::new("/proc/1/status").exists());
}

fn veth_pair(a: &str, b: &str) -> (LinkGuard, LinkGuard) {
    let mut s = Socket::open().unwrap();
    raw::create(
        &mut s,
        &NewLink {
            name: a.to_string(),
            kind: Kind::Veth {
                peer_name: b.to_string(),
                peer_ns: None,
                peer_mtu: None,
                peer_queues: (None, None),
            },
            mtu: None,
            master: None,
            netns: None,
            up: false,
        },
    )
    .unwrap();
    (LinkGuard(a.to_string()), LinkGuard(b.to_string()))
}

#[test]
fn ifname_moves_the_interface_before_the_command_runs() {
    let tag = std::process::id() % 100000;
    let (a, b) = (format!("lxbu{tag}a"), format!("lxbu{tag}b"));
    let _g = veth_pair(&a, &b);
    let o = ours(&[
        "-s",
        "NETWORK",
        "-i",
        &a,
        "-i",
        "lxbnosuchdev",
        "--",
        "cat",
        "/proc/net/dev",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("{a}:")), "{}", stdout(&o));
    // A device that cannot move is reported and the rest goes on, as LXC.
    assert!(
        stderr(&o).contains("Could not move interface \"lxbnosuchdev\""),
        "{}",
        stderr(&o)
    );
    // The namespace died with the command, and the veth pair with it.
    let end = Instant::now() + Duration::from_secs(5);
    while (host_has(&a) || host_has(&b)) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!host_has(&a) && !host_has(&b));
}

#[test]
fn daemon_returns_at_once_and_the_command_goes_on() {
    let d = rootfs::TempDir::new("unshare-d");
    let mark = d.path().join("mark");
    let script = format!("sleep 0.5; echo $$ > {}", mark.display());
    let t = Instant::now();
    // (The command keeps our stdio, as LXC's does: no pipes to wait on.)
    let st = Command::new(bin())
        .args([
            "lxc-unshare",
            "-s",
            "PID",
            "-d",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(t.elapsed() < Duration::from_millis(450), "-d waited");
    let end = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&mark).map_or(true, |s| s.is_empty()) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "1\n");
}

#[path = "common/user.rs"]
mod user;

#[test]
fn an_ordinary_user_unshares_with_a_user_namespace() {
    let u = user::TestUser::new("ush");
    let run = |a: &[&str]| {
        let mut v = vec!["lxc-unshare"];
        v.extend_from_slice(a);
        u.cmd(&u.bin, &v).output().unwrap()
    };
    // The example, as the user: own user namespace first, so the
    // mount and PID namespaces (and -M's /proc) are the user's to make.
    let o = run(&[
        "-s",
        "USER|MOUNT|PID",
        "-M",
        "--",
        "/bin/sh",
        "-c",
        "echo $$; ls /proc | grep -c '^[0-9]'",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut l = out.lines();
    assert_eq!(l.next(), Some("1"), "{out}");
    let n: u32 = l.next().unwrap().trim().parse().unwrap();
    assert!(n <= 3, "the new /proc shows only the namespace: {out}");
    // -u 0: the user's own uid becomes root there (no helper needed).
    let o = run(&["-s", "USER", "-u", "0", "--", "cat", "/proc/self/uid_map"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = stdout(&o);
    let words: Vec<&str> = m.split_whitespace().collect();
    assert_eq!(words, ["0", &u.uid.to_string(), "1"]);
    // Without a user namespace the user may create none of the others.
    let o = run(&["-s", "UTSNAME", "-H", "x", "--", "hostname"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("only with -s USER"), "{}", stderr(&o));
}
