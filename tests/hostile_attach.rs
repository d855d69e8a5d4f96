//! lxc-attach against a hostile container (issue 19): container root
//! grabbing /proc/PID/exe of the attached process to overwrite the host's
//! lxcbox (runc's CVE-2019-5736), done on a COPY of the binary.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use env::{init_pid, stderr, stdout, Env};
use rootfs::TempDir;

/// Kills a spawned command if the test fails before it ends.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The host pid of the process in `init`'s PID namespace whose argv[0]
/// is `argv0`, and its pid inside that namespace.
fn find_in_container(init: i32, argv0: &str) -> Option<(i32, i32)> {
    let ns = env::ns(&init.to_string(), "pid");
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if cmd.split(|b| *b == 0).next() != Some(argv0.as_bytes()) {
            continue;
        }
        if std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok() != Some(PathBuf::from(&ns)) {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let inner = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))?
            .split_whitespace()
            .last()?
            .parse()
            .ok()?;
        return Some((pid, inner));
    }
    None
}

/// What container root does: hold /proc/P/exe open, kill P, then write
/// through the handle as soon as nothing executes that file any more.
const ATTACK: &str = r#"
P=$1
exec 3</proc/$P/exe || { echo NO-HANDLE; exit 1; }
echo "EXE $(readlink /proc/$P/exe)"
kill -9 $P
i=0
while [ $i -lt 30 ]; do
    if printf 'PWNED!' 2>/dev/null 1<>/proc/self/fd/3; then echo WROTE; exit 0; fi
    sleep 0.1
    i=$((i+1))
done
echo REFUSED
"#;

#[test]
fn attach_exe_overwrite_on_a_copy_of_the_binary() {
    let e = Env::new("hexe");
    let bin_dir = TempDir::new("hexe-bin");
    let copy = bin_dir.path().join("lxcbox");
    std::fs::copy(env::bin(), &copy).unwrap();
    let original = std::fs::read(&copy).unwrap();

    let r = e.busybox("hexe", "lxc.mount.auto = proc:mixed sys:ro\n");
    for a in ["kill", "printf", "readlink"] {
        symlink("busybox", r.join("bin").join(a)).unwrap();
    }
    // The trap: whatever lxcbox executes /bin/lxc-wait re-executes
    // itself (the link is resolved by the exec'ing process), and then
    // waits, long enough to be caught.
    symlink("/proc/self/exe", r.join("bin/lxc-wait")).unwrap();
    let o = e.run("lxc-start", &["-n", "hexe", "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let init = init_pid(&e, "hexe");

    // The host admin attaches with the COPY and runs /bin/lxc-wait.
    let victim = Command::new(&copy)
        .args(["lxc-attach", "-P", &e.lxcpath(), "-n", "hexe", "--"])
        .args(["/bin/lxc-wait", "-n", "ghost", "-s", "RUNNING", "-t", "100"])
        .env("LXCBOX_RUNDIR", e.rundir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let victim = Reap(victim);
    let mut found = None;
    e.wait_until("the attached lxc-wait", || {
        found = find_in_container(init, "/bin/lxc-wait");
        found.is_some()
    });
    let (host_pid, inner_pid) = found.unwrap();
    // Seen from the host: neither lxc-attach nor what it runs in the
    // container executes the host file.
    for pid in [victim.0.id() as i32, host_pid] {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
        assert_ne!(exe, copy, "pid {pid} runs the host binary");
        assert!(
            !exe.starts_with(bin_dir.path()),
            "pid {pid}: {}",
            exe.display()
        );
    }

    // Container root attacks (attached with the test's own binary).
    let o = e.run(
        "lxc-attach",
        &[
            "-n",
            "hexe",
            "--",
            "/bin/sh",
            "-c",
            ATTACK,
            "sh",
            &inner_pid.to_string(),
        ],
    );
    let out = stdout(&o);
    assert!(out.contains("EXE "), "{out} {}", stderr(&o));
    assert!(out.contains("REFUSED"), "the write went through: {out}");
    drop(victim);
    let now = std::fs::read(&copy).unwrap();
    assert!(
        now == original,
        "the host binary was changed (starts with {:?})",
        String::from_utf8_lossy(&now[..16.min(now.len())])
    );
    let _ = e.run("lxc-stop", &["-n", "hexe", "-k"]);
}

#[test]
fn attach_runs_from_a_sealed_copy_and_still_works() {
    // The sealed re-exec keeps argv, the environment and the exit status.
    let e = Env::new("hseal");
    e.busybox("hseal", "lxc.mount.auto = proc:mixed sys:ro\n");
    let o = e.run("lxc-start", &["-n", "hseal", "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = Command::new(env::bin())
        .args([
            "lxc-attach",
            "-P",
            &e.lxcpath(),
            "-n",
            "hseal",
            "-v",
            "X=y z",
        ])
        .args(["--", "/bin/sh", "-c", "echo \"$X\"; exit 7"])
        .env("LXCBOX_RUNDIR", e.rundir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert_eq!(stdout(&o), "y z\n");
    // The loop guard does not leak into the command's environment.
    let o = e.run(
        "lxc-attach",
        &[
            "-n",
            "hseal",
            "--",
            "/bin/sh",
            "-c",
            "echo ${LXCBOX_SEALED_REEXEC:-unset}",
        ],
    );
    assert_eq!(stdout(&o), "unset\n", "{}", stderr(&o));
    let _ = e.run("lxc-stop", &["-n", "hseal", "-k"]);
}
