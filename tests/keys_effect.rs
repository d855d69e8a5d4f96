//! Keys that were parsed and ignored before and now take effect, each with
//! a real container: lxc.arch, lxc.keyring.session, lxc.monitor.unshare,
//! lxc.cgroup.relative, lxc.cgroup.dir.monitor.pivot, lxc.mount.auto
//! `:force`, lxc.sched.core, lxc.log.syslog, lxc.environment.runtime and
//! lxc.environment.hooks.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::PathBuf;

use env::{ns, stderr, stdout, Env};

/// A container name unique on this host (cgroups are named after it).
fn uniq(tag: &str) -> String {
    format!("ke-{tag}-{}", std::process::id())
}

fn execute(e: &Env, name: &str, script: &str) -> std::process::Output {
    e.run(
        "lxc-execute",
        &["-n", name, "--", "/bin/busybox", "sh", "-c", script],
    )
}

fn ok_stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o)
}

#[test]
fn arch_sets_the_personality() {
    let e = Env::new("ke-arch");
    let n = uniq("arch");
    e.busybox(&n, "lxc.arch = i686\n");
    assert_eq!(
        ok_stdout(&execute(&e, &n, "busybox uname -m")).trim(),
        "i686"
    );
    let n = uniq("arch64");
    e.busybox(&n, "lxc.arch = x86_64\n");
    assert_eq!(
        ok_stdout(&execute(&e, &n, "busybox uname -m")).trim(),
        std::env::consts::ARCH
    );
}

/// Run inside a container by `session_keyring_is_fresh`: prints the
/// session keyring's serial.
#[test]
#[ignore]
fn keyring_probe() {
    if std::env::var_os("LXCBOX_KEYRING_PROBE").is_some() {
        println!(
            "KEYRING={}",
            lxcbox::sys::keyring::session_keyring_id().unwrap()
        );
    }
}

#[test]
fn session_keyring_is_fresh_unless_disabled() {
    let e = Env::new("ke-keyring");
    let n = uniq("keyring");
    let me = std::env::current_exe().unwrap();
    let probe = |config: &str| -> i32 {
        // No rootfs: the test binary is reachable inside.
        e.define(&n, config);
        let o = e
            .cmd("lxc-execute")
            .args([
                "-n",
                &n,
                "-s",
                "lxc.environment = LXCBOX_KEYRING_PROBE=1",
                "--",
            ])
            .arg(&me)
            .args(["--ignored", "--exact", "keyring_probe", "--nocapture"])
            .output()
            .unwrap();
        let out = ok_stdout(&o);
        out.lines()
            .find_map(|l| l.strip_prefix("KEYRING="))
            .unwrap_or_else(|| panic!("no probe output: {out}"))
            .trim()
            .parse()
            .unwrap()
    };
    let mine = lxcbox::sys::keyring::session_keyring_id().unwrap();
    assert_ne!(probe(""), mine, "default: a new session keyring");
    assert_ne!(probe("lxc.keyring.session = 1\n"), mine);
    assert_eq!(probe("lxc.keyring.session = 0\n"), mine, "0: inherited");
}

#[test]
fn monitor_unshare_gives_the_hooks_a_private_mount_namespace() {
    let e = Env::new("ke-unshare");
    let n = uniq("unshare");
    let seen = e.root.join("seen");
    let hook = format!(
        "lxc.hook.pre-start = /bin/sh -c 'readlink /proc/self/ns/mnt > {}'\n",
        seen.display()
    );
    e.define(&n, &format!("lxc.hook.version = 1\n{hook}"));
    ok_stdout(&e.run("lxc-execute", &["-n", &n, "--", "/bin/true"]));
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap().trim(),
        ns("self", "mnt")
    );
    e.define(
        &n,
        &format!("lxc.hook.version = 1\nlxc.monitor.unshare = 1\n{hook}"),
    );
    ok_stdout(&e.run("lxc-execute", &["-n", &n, "--", "/bin/true"]));
    assert_ne!(
        std::fs::read_to_string(&seen).unwrap().trim(),
        ns("self", "mnt")
    );
}

/// The memory hierarchy's directory of `pid`'s cgroup.
fn memory_cgroup_of(pid: &str) -> PathBuf {
    let s = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = s
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            ctrl.split(',')
                .any(|c| c == "memory")
                .then(|| path.to_string())
        })
        .unwrap();
    PathBuf::from("/sys/fs/cgroup/memory").join(rel.trim_start_matches('/'))
}

#[test]
fn cgroup_relative_zero_escapes_to_pid1s_cgroup() {
    let e = Env::new("ke-rel");
    let n = uniq("rel");
    let payload = format!("lxc.payload.{n}");
    let script = format!("cat /proc/self/cgroup > {}/cg", e.root.display());
    e.define(&n, "lxc.cgroup.relative = 0\nlxc.namespace.keep = cgroup\n");
    let o = e.run("lxc-execute", &["-n", &n, "--", "/bin/sh", "-c", &script]);
    ok_stdout(&o);
    let cg = std::fs::read_to_string(e.root.join("cg")).unwrap();
    let want = memory_cgroup_of("1").join(&payload);
    let want = want.strip_prefix("/sys/fs/cgroup/memory").unwrap();
    assert!(
        cg.lines()
            .any(|l| l.contains(":memory:") && l.ends_with(&*want.to_string_lossy())),
        "want memory {} in\n{cg}",
        want.display()
    );
    // Unset: below our own cgroup.
    e.define(&n, "lxc.namespace.keep = cgroup\n");
    ok_stdout(&e.run("lxc-execute", &["-n", &n, "--", "/bin/sh", "-c", &script]));
    let cg = std::fs::read_to_string(e.root.join("cg")).unwrap();
    let mine = memory_cgroup_of("self").join(&payload);
    let mine = mine.strip_prefix("/sys/fs/cgroup/memory").unwrap();
    assert!(
        cg.lines()
            .any(|l| l.contains(":memory:") && l.ends_with(&*mine.to_string_lossy())),
        "want memory {} in\n{cg}",
        mine.display()
    );
}

#[test]
fn monitor_pivot_takes_the_exiting_monitor() {
    let e = Env::new("ke-pivot");
    let n = uniq("pivot");
    let pivot = format!("lxcbox-test-pivot-{}", std::process::id());
    // lxcbox leaves the pivot in place (it is shared): removed on every
    // way out of the test, in each hierarchy below our own cgroup there.
    struct Pivot<'a>(&'a str);
    impl Drop for Pivot<'_> {
        fn drop(&mut self) {
            env::remove_own_cgroup(self.0, false);
        }
    }
    let _pivot = Pivot(&pivot);
    e.define(
        &n,
        &format!("lxc.cgroup.dir.monitor.pivot = {pivot}\nlxc.init.cmd = /bin/sleep 1000\n"),
    );
    let o = e.run("lxc-start", &["-n", &n, "-d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let base = memory_cgroup_of("self");
    let mon = base.join(format!("lxc.monitor.{n}"));
    assert!(mon.is_dir(), "{} missing", mon.display());
    let o = e.run("lxc-stop", &["-n", &n, "-k"]);
    assert!(o.status.success(), "{}", stderr(&o));
    e.wait_until("the monitor to exit", || e.monitors().is_empty());
    let piv = base.join(&pivot);
    assert!(
        piv.is_dir(),
        "the monitor did not pivot into {}",
        piv.display()
    );
    assert!(!mon.exists(), "the monitor cgroup was not removed");
}

#[test]
fn cgroup_mounts_follow_lxcs_force_rule() {
    let e = Env::new("ke-force");
    let n = uniq("force");
    let count = "busybox grep -c ' /sys/fs/cgroup' /proc/self/mountinfo || true";
    e.busybox(&n, "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed\n");
    let o = execute(&e, &n, count);
    assert_eq!(
        ok_stdout(&o).trim(),
        "0",
        "cgroup ns + CAP_SYS_ADMIN: no mounts"
    );
    let n = uniq("force2");
    e.busybox(
        &n,
        "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed:force\n",
    );
    let o = execute(&e, &n, count);
    assert_ne!(ok_stdout(&o).trim(), "0", ":force mounts them");
    let n = uniq("force3");
    e.busybox(
        &n,
        "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed\nlxc.cap.drop = sys_admin\n",
    );
    let o = execute(&e, &n, count);
    assert_ne!(
        ok_stdout(&o).trim(),
        "0",
        "without CAP_SYS_ADMIN they are mounted"
    );
}

#[test]
fn sched_core_is_created_or_refused_with_the_key() {
    let e = Env::new("ke-sched");
    let n = uniq("sched");
    e.define(&n, "lxc.sched.core = 1\n");
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            &n,
            "--",
            "/bin/sh",
            "-c",
            "cat /proc/self/stat >/dev/null",
        ],
    );
    let supported = std::fs::read("/proc/config.gz").is_err()
        || !std::process::Command::new("sh")
            .args([
                "-c",
                "zcat /proc/config.gz | grep -q 'SCHED_CORE is not set'",
            ])
            .status()
            .unwrap()
            .success();
    if supported {
        assert!(o.status.success(), "{}", stderr(&o));
    } else {
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("lxc.sched.core: the kernel does not support core scheduling"),
            "{}",
            stderr(&o)
        );
    }
    // Without a PID namespace of its own it is a contradiction.
    e.define(&n, "lxc.sched.core = 1\nlxc.namespace.keep = pid\n");
    let o = e.run("lxc-execute", &["-n", &n, "--", "/bin/true"]);
    assert!(stderr(&o).contains("lxc.sched.core: core scheduling needs a new PID namespace"));
}

#[test]
fn log_syslog_sends_records_to_the_system_logger() {
    let e = Env::new("ke-syslog");
    let n = uniq("syslog");
    let sock_path = e.root.join("log");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    e.define(&n, "lxc.log.syslog = local0\nlxc.log.level = INFO\n");
    let o = e
        .cmd("lxc-execute")
        .env("LXCBOX_SYSLOG_SOCKET", &sock_path)
        .args(["-n", &n, "--", "/bin/true"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut buf = [0u8; 4096];
    let k = sock.recv(&mut buf).unwrap();
    let line = String::from_utf8_lossy(&buf[..k]).into_owned();
    // local0 (16) * 8 + info (6)
    assert!(
        line.starts_with("<134>lxc-execute[") && line.contains(&format!("]: {n}: ")),
        "{line}"
    );
}

#[test]
fn environment_runtime_goes_to_init_and_hooks_to_the_hooks() {
    let e = Env::new("ke-env");
    let n = uniq("env");
    let out = e.root.join("out");
    std::fs::create_dir_all(&out).unwrap();
    e.busybox(
        &n,
        &format!(
            "lxc.environment = ALL=a\nlxc.environment.runtime = RT=r\nlxc.environment.hooks = HK=h\n\
             lxc.mount.entry = {} mnt none bind 0 0\n\
             lxc.hook.start = /bin/sh -c 'echo \"hook:$ALL:$RT:$HK\" > /mnt/hook'\n",
            out.display()
        ),
    );
    let o = execute(&e, &n, "echo \"init:$ALL:$RT:$HK\"");
    assert_eq!(ok_stdout(&o).trim(), "init:a:r:");
    assert_eq!(
        std::fs::read_to_string(out.join("hook")).unwrap().trim(),
        "hook:a::h"
    );
}
