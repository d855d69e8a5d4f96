//! lxcbox on kernels back to 4.19: every interface newer than that is
//! probed, and its fallback does the same job. The old kernel is played by
//! a seccomp filter (examples/old_kernel.rs) that answers the newer system
//! calls with ENOSYS; `--qemu` also refuses namespace flags in clone(2), as
//! qemu-user does. CI also runs the whole suite under the filter.

#[path = "common/env.rs"]
mod env;
#[path = "common/oldkernel.rs"]
mod oldkernel;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::os::fd::AsFd;
use std::process::Command;

use env::{stderr, stdout, Env};
use lxcbox::sys::kernel::{self, Feature};
use lxcbox::sys::spawn::{spawn, Cloned, Spawn};
use oldkernel::Mode;

/// Run the named test of this binary again, alone in its process (it
/// forks: no other test's open files may leak into its children), under
/// the old-kernel filter when `mode` says so; returns its output.
fn rerun(mode: Option<Mode>, test: &str) -> std::process::Output {
    let mut c = match mode {
        Some(m) => {
            let mut c = Command::new(oldkernel::launcher());
            if let Mode::Qemu = m {
                c.arg("--qemu");
            }
            c.arg(std::env::current_exe().unwrap());
            c
        }
        None => Command::new(std::env::current_exe().unwrap()),
    };
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("LXCBOX_FALLBACK_CHILD", "1")
        .output()
        .unwrap()
}

/// Under the filter, every probe must say "missing": the probes ask the
/// kernel, not a version number.
#[test]
fn probes_detect_the_old_kernel() {
    if std::env::var_os("LXCBOX_FALLBACK_CHILD").is_some() || oldkernel::whole_run() {
        let missing = kernel::missing();
        println!("missing: {missing:?}");
        assert_eq!(missing, Feature::ALL.to_vec());
        return;
    }
    let o = rerun(Some(Mode::Linux419), "probes_detect_the_old_kernel");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("missing: [Clone3,"), "{}", stdout(&o));
}

/// This process's cgroup v2 directory (the unified hierarchy of a hybrid
/// host, or /sys/fs/cgroup on a pure v2 one).
fn my_v2_cgroup() -> Option<std::path::PathBuf> {
    let me = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = me.lines().find_map(|l| l.strip_prefix("0::"))?;
    ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .iter()
        .map(std::path::Path::new)
        .find(|m| m.join("cgroup.procs").exists() && m.join("cgroup.controllers").exists())
        .map(|m| m.join(rel.trim_start_matches('/')))
}

/// spawn(): new namespaces, a cgroup to start in, a handle that signals
/// and reaps; the same on this kernel and under the filter (clone(2) and
/// cgroup.procs instead of clone3 and CLONE_INTO_CGROUP, no pidfd).
#[test]
fn spawn_places_signals_and_reaps() {
    if std::env::var_os("LXCBOX_FALLBACK_CHILD").is_none() {
        for mode in [None, Some(Mode::Linux419), Some(Mode::Qemu)] {
            let o = rerun(mode, "spawn_places_signals_and_reaps");
            assert!(o.status.success(), "{mode:?}: {}{}", stdout(&o), stderr(&o));
            let old = mode.is_some() || oldkernel::whole_run();
            let pidfd = format!("pidfd: {}", !old && kernel::has(Feature::Pidfd));
            assert!(stdout(&o).contains(&pidfd), "{mode:?}: {}", stdout(&o));
        }
        return;
    }
    let Some(base) = my_v2_cgroup() else {
        eprintln!("no cgroup v2 hierarchy here: skipping");
        return;
    };
    let cg = base.join(format!("lxcbox-spawn-{}", std::process::id()));
    std::fs::create_dir(&cg).unwrap();
    let cgfd = rustix::fs::open(
        &cg,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let (r, w) = rustix::pipe::pipe().unwrap();
    let s = Spawn {
        namespaces: (libc::CLONE_NEWPID | libc::CLONE_NEWUTS) as u64,
        pdeath: Some(libc::SIGKILL),
        cgroup: Some(cgfd.as_fd()),
    };
    let child = match spawn(&s).unwrap() {
        Cloned::Child => {
            drop(w);
            let mut b = [0u8; 1];
            let _ = rustix::io::read(&r, &mut b);
            lxcbox::sys::process::exit_now(7);
        }
        Cloned::Parent(c) => c,
    };
    drop(r);
    println!("pidfd: {}", child.pidfd().is_some());
    assert_eq!(child.pidfd().is_some(), kernel::has(Feature::Pidfd));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.pid)).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert!(
        nspid.ends_with("\t1"),
        "not PID 1 of a new namespace: {nspid}"
    );
    let procs = std::fs::read_to_string(cg.join("cgroup.procs")).unwrap();
    assert_eq!(
        procs.trim(),
        child.pid.to_string(),
        "not started in {}",
        cg.display()
    );
    let uts = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/uts")).unwrap();
    assert_ne!(uts(&child.pid.to_string()), uts("self"));
    // Running: a signal 0 reaches it; then it exits on its own.
    child.kill(0).unwrap();
    assert_eq!(child.wait(true).unwrap(), None);
    drop(w);
    let st = child.wait(false).unwrap();
    assert_eq!(st.map(|s| s.code()), Some(7));
    // Reaped: never signalled again (its pid may belong to someone else).
    assert_eq!(
        child.kill(libc::SIGKILL).unwrap_err().raw_os_error(),
        Some(libc::ESRCH)
    );
    std::fs::remove_dir(&cg).unwrap();
}

fn busybox_env(tag: &str, name: &str, extra: &str) -> Env {
    let e = Env::new(tag);
    e.busybox(
        name,
        &format!("lxc.net.0.type = empty\nlxc.mount.auto = proc:mixed sys:mixed\n{extra}"),
    );
    e
}

/// lxc-execute on the old kernel, both ways of cloning: PID 1 of its own
/// namespaces, a read-only /proc/sys (mounts through mount(2) on fds, the
/// staged bind moved into place), and only the standard fds inside.
#[test]
fn execute_on_an_old_kernel() {
    for mode in [Mode::Linux419, Mode::Qemu] {
        let e = busybox_env("kf-exec", "kf", "");
        let script = "echo pid=$$; busybox readlink /proc/self/ns/pid; \
                      ls /proc/self/fd | busybox wc -l; \
                      touch /proc/sys/kernel/hostname 2>/dev/null && echo rw || echo ro";
        let o = oldkernel::cmd(&e, mode, "lxc-execute")
            .args(["-n", "kf", "--", "/bin/busybox", "sh", "-c", script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        let out = stdout(&o);
        let lines: Vec<&str> = out.lines().collect();
        // lxc-execute: lxc-init is PID 1, the app its child.
        assert_eq!(lines[0], "pid=2", "{mode:?}: {out}");
        assert_ne!(lines[1], env::ns("self", "pid"), "{mode:?}: {out}");
        // 0, 1, 2 and the one ls reads with.
        assert_eq!(lines[2].trim(), "4", "{mode:?}: {out}");
        assert_eq!(lines[3], "ro", "{mode:?}: {out}");
    }
}

/// lxc-start -d, lxc-attach, lxc-stop on the old kernel: the monitor
/// watches init through SIGCHLD and signals it by pid.
#[test]
fn start_attach_stop_on_an_old_kernel() {
    for mode in [Mode::Linux419, Mode::Qemu] {
        let e = busybox_env("kf-life", "kfl", "lxc.init.cmd = /bin/busybox sleep 1000\n");
        let run = |applet: &str, args: &[&str]| {
            oldkernel::cmd(&e, mode, applet)
                .args(args)
                .output()
                .unwrap()
        };
        let o = run("lxc-start", &["-n", "kfl", "-d"]);
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        let o = run(
            "lxc-attach",
            &["-n", "kfl", "--", "/bin/busybox", "echo", "ok"],
        );
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), "ok");
        let o = run("lxc-stop", &["-n", "kfl", "-t", "5"]);
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        assert_eq!(env::state(&e, "kfl"), "STOPPED");
        // STOPPED is announced before the monitor process exits.
        e.wait_until("the monitor to exit", || e.monitors().is_empty());
    }
}

/// A time namespace needs 5.6: asked for on an older kernel, the start
/// fails and says why; not asked for, nothing is said.
#[test]
fn time_offsets_refused_clearly_on_an_old_kernel() {
    let e = busybox_env("kf-time", "kft", "lxc.time.offset.boot = 1h\n");
    let o = oldkernel::cmd(&e, Mode::Linux419, "lxc-execute")
        .args(["-n", "kft", "--", "/bin/true"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("this kernel has no time namespaces (they need Linux 5.6"),
        "{}",
        stderr(&o)
    );
}

/// lxc-checkconfig names the fallbacks this kernel needs: none on a
/// kernel that has everything, each one under the filter.
#[test]
fn checkconfig_names_the_fallbacks() {
    let e = Env::new("kf-check");
    let o = oldkernel::cmd(&e, Mode::Linux419, "lxc-checkconfig")
        .output()
        .unwrap();
    let out = stdout(&o);
    let section = out
        .split("--- lxcbox kernel fallbacks in use ---\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no fallback section: {out}"));
    let named: Vec<&str> = section
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split(": missing").next().unwrap())
        .collect();
    let all: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(named, all, "{out}");
    assert!(
        section.contains("clone3: missing (Linux 5.3+), fallback: clone(2), or fork + unshare(2)")
    );
    let native = e.run("lxc-checkconfig", &[]);
    let missing = kernel::missing();
    assert_eq!(
        stdout(&native).contains("--- lxcbox kernel fallbacks in use ---"),
        !missing.is_empty(),
        "{}",
        stdout(&native)
    );
}
