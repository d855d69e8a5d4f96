//! lxc-execute / lxc-start / lxc-init: the launch pipeline, as root, with
//! real containers.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use env::{ns, stderr, stdout, Env};
use std::os::unix::process::ExitStatusExt;

#[test]
fn default_isolation() {
    // lxc-execute needs a configuration (LXC 5.0.2 refuses to run
    // without one); an empty one gets LXC 5's default isolation.
    let e = Env::new("iso");
    e.define("demo", "");
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "demo",
            "--",
            "/bin/sh",
            "-c",
            "echo $$; ls /proc | grep -c '^[0-9]'; readlink /proc/self/ns/ipc /proc/self/ns/mnt /proc/self/ns/uts /proc/self/ns/net /proc/self/ns/cgroup",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "2", "the app is PID 2: {out}");
    // PID 1 (init), 2 (sh), the grep and ls: host processes are invisible.
    assert!(lines[1].parse::<u32>().unwrap() <= 4, "{out}");
    for (line, kind) in lines[2..]
        .iter()
        .zip(["ipc", "mnt", "uts", "net", "cgroup"])
    {
        assert_ne!(
            *line,
            ns("self", kind),
            "the {kind} namespace must differ: {out}"
        );
    }
}

#[test]
fn uts_and_empty_network_get_their_namespaces() {
    let e = Env::new("utsnet");
    e.define("u", "lxc.uts.name = boxy\nlxc.net.0.type = empty\n");
    let o = e.run(
        "lxc-execute",
        &["-n", "u", "--", "/bin/sh", "-c", "hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; readlink /proc/self/ns/net"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "boxy");
    assert_eq!(lines[1], "lo", "only loopback: {out}");
    assert_ne!(lines[2], ns("self", "net"));
}

#[test]
fn exit_codes_follow_the_app() {
    let e = Env::new("codes");
    e.define("c", "");
    for (script, code) in [
        ("exit 0", 0),
        ("exit 1", 1),
        ("exit 7", 7),
        ("kill -TERM $$", 143),
    ] {
        let o = e.run("lxc-execute", &["-n", "c", "--", "/bin/sh", "-c", script]);
        assert_eq!(o.status.code(), Some(code), "{script}: {}", stderr(&o));
    }
}

#[test]
fn sigterm_to_lxc_execute_reaches_the_app() {
    let e = Env::new("sigterm");
    e.define("t", "");
    let ready = e.root.join("ready");
    let script = format!(
        "trap 'exit 42' TERM; touch {}; while :; do sleep 0.05; done",
        ready.display()
    );
    let child = e.spawn("lxc-execute", &["-n", "t", "--", "/bin/sh", "-c", &script]);
    e.wait_until("the app to start", || ready.exists());
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(42), "{}", stderr(&o));
}

#[test]
fn double_forked_daemon_is_reaped() {
    let e = Env::new("daemon");
    e.define("d", "");
    // The daemon outlives the app; lxc-execute must still return with the
    // app's status and nothing may survive.
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "d",
            "--",
            "/bin/sh",
            "-c",
            "(sleep 4242.5 &) ; exit 3",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|d| std::fs::read(d.path().join("cmdline")).ok())
        .any(|c| String::from_utf8_lossy(&c).contains("4242.5"));
    assert!(!left, "the daemon survived its container");
}

#[test]
fn only_std_fds_reach_the_container() {
    let e = Env::new("fds");
    e.define("f", "");
    // Leak fds 7 and 9 (no close-on-exec) into lxc-execute through a shell.
    let o = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "exec 7</dev/null 9>/dev/null; exec '{}' lxc-execute -P '{}' -n f -- /bin/ls /proc/self/fd",
            env::bin(),
            e.lxcpath()
        ))
        .env("LXCBOX_RUNDIR", e.rundir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let fds: Vec<String> = stdout(&o).split_whitespace().map(str::to_string).collect();
    assert_eq!(fds, ["0", "1", "2", "3"], "3 is ls's own directory fd");
}

#[test]
fn init_runs_from_a_sealed_binary() {
    let e = Env::new("memfd");
    e.define("m", "");
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "m",
            "--",
            "/bin/sh",
            "-c",
            "readlink /proc/1/exe; echo x >> /proc/1/exe && echo WROTE",
        ],
    );
    let out = stdout(&o);
    // The sealed overlay names the file at its (detached) mount's root;
    // the memfd fallback would say /memfd:lxcbox. Never the host's path.
    let exe = out.lines().next().unwrap_or_default();
    assert!(
        exe == "/lxcbox" || exe.starts_with("/memfd:lxcbox"),
        "{out}"
    );
    assert!(!out.contains("WROTE"), "init's executable was writable");
}

#[test]
fn lxc_start_foreground_runs_command_as_pid_1() {
    let e = Env::new("start1");
    let o = e.run(
        "lxc-start",
        &["-F", "-n", "s", "--", "/bin/sh", "-c", "echo $$; exit 5"],
    );
    assert_eq!(stdout(&o).trim(), "1", "{}", stderr(&o));
    // As LXC 5: lxc-start exits 0 once the container ran, whatever init's status.
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn lxc_init_standalone() {
    let o = std::process::Command::new(env::bin())
        .args([
            "init.lxc",
            "--",
            "/bin/sh",
            "-c",
            "(sleep 4343.5 &); exit 9",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(9), "{}", stderr(&o));
    let o = std::process::Command::new(env::bin())
        .args(["lxc-init", "--", "/nonexistent/prog"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(127));
    assert!(o.status.signal().is_none());
}

#[test]
fn busybox_system_container_mounts() {
    let e = Env::new("bb");
    let host_ro = e.root.join("host-ro");
    std::fs::create_dir_all(&host_ro).unwrap();
    std::fs::write(host_ro.join("data"), "hostdata\n").unwrap();
    let r = e.busybox(
        "bb",
        &format!(
            "lxc.uts.name = bb1\nlxc.mount.auto = proc:mixed sys:mixed\nlxc.autodev = 1\n\
             lxc.mount.entry = {} mnt none ro,bind 0 0\n\
             lxc.mount.entry = tmpfs made/here tmpfs create=dir 0 0\n\
             lxc.mount.entry = /nonexistent-src opt none bind,optional 0 0\n",
            host_ro.display()
        ),
    );
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "bb",
            "--",
            "/bin/sh",
            "-c",
            "cat /proc/sys/kernel/hostname; ls /dev; cat /mnt/data; touch /mnt/x && echo WRITABLE; \
             grep -c ' /made/here ' /proc/self/mountinfo; touch /proc/sys/kernel/hostname 2>/dev/null && echo PROCSYS-RW; ls /sys/kernel >/dev/null && echo SYS",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("bb1\n"), "{out}");
    for dev in [
        "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm",
    ] {
        assert!(out.lines().any(|l| l == dev), "/dev/{dev} missing: {out}");
    }
    assert!(out.contains("hostdata"), "{out}");
    assert!(!out.contains("WRITABLE"), "ro bind was writable");
    assert!(out.contains("\n1\n"), "create=dir tmpfs missing: {out}");
    assert!(
        !out.contains("PROCSYS-RW"),
        "proc:mixed leaves /proc/sys read-only"
    );
    assert!(out.contains("SYS"), "{out}");
    assert!(!r.join("mnt/x").exists());
    assert!(
        r.join("made/here").is_dir(),
        "create=dir makes the target inside the rootfs"
    );
}

#[test]
fn classic_application_container_with_host_binds() {
    let e = Env::new("sshd");
    let d = e.container_dir("app");
    let r = d.join("rootfs");
    for p in ["bin", "lib", "lib64", "usr", "sbin", "proc", "tmp"] {
        std::fs::create_dir_all(r.join(p)).unwrap();
    }
    let mut fstab = String::new();
    for p in ["bin", "lib", "lib64", "usr", "sbin"] {
        if std::path::Path::new("/").join(p).exists() {
            fstab.push_str(&format!("/{p} {p} none ro,bind 0 0\n"));
        }
    }
    std::fs::write(d.join("fstab"), fstab).unwrap();
    std::fs::write(
        d.join("config"),
        "lxc.utsname = app\nlxc.rootfs = ./rootfs\nlxc.mount = ./fstab\nlxc.mount.auto = proc\n",
    )
    .unwrap();
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "app",
            "--",
            "/bin/sh",
            "-c",
            "echo hello from $(hostname); ls /",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("hello from app\n"), "{}", stdout(&o));
}

#[test]
fn hostile_rootfs_is_refused_and_host_untouched() {
    let e = Env::new("hostile");
    let victim = e.root.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep"), "x").unwrap();
    // A mount target that is a symlink to a host directory.
    let r = e.busybox(
        "h1",
        "lxc.mount.entry = tmpfs mnt/evil tmpfs defaults 0 0\n",
    );
    std::os::unix::fs::symlink(&victim, r.join("mnt/evil")).unwrap();
    let o = e.run("lxc-execute", &["-n", "h1", "--", "/bin/true"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("symlink"), "{}", stderr(&o));
    // `..` escaping the rootfs.
    e.busybox(
        "h2",
        "lxc.mount.entry = tmpfs ../../victim tmpfs defaults 0 0\n",
    );
    let o = e.run("lxc-execute", &["-n", "h2", "--", "/bin/true"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("contains '..'"), "{}", stderr(&o));
    // /proc of the rootfs is a symlink to a host path.
    let r = e.busybox("h3", "lxc.mount.auto = proc\n");
    std::fs::remove_dir(r.join("proc")).unwrap();
    std::os::unix::fs::symlink(&victim, r.join("proc")).unwrap();
    let o = e.run("lxc-execute", &["-n", "h3", "--", "/bin/true"]);
    assert_ne!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("mounting /proc") && err.contains("symlink"),
        "{err}"
    );
    // Each failure is reported once.
    assert_eq!(err.lines().count(), 1, "{err}");
    // The host side: the victim is unchanged and nothing is mounted on it.
    let names: Vec<_> = std::fs::read_dir(&victim)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["keep"]);
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mi.contains(victim.to_str().unwrap()),
        "something got mounted on the host"
    );
    assert!(e.monitors().is_empty());
}

#[test]
fn failed_start_names_the_step_and_leaves_nothing() {
    let e = Env::new("fail");
    e.busybox(
        "f",
        "lxc.mount.entry = /nonexistent-dir-xyz mnt none bind 0 0\n",
    );
    let o = e.run("lxc-execute", &["-n", "f", "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("lxc-execute: f: "), "{err}");
    assert!(err.contains("/nonexistent-dir-xyz"), "{err}");
    assert!(e.monitors().is_empty());
    let o = e.run("lxc-info", &["-n", "f", "-s", "-H"]);
    assert_eq!(stdout(&o).trim(), "STOPPED");
    // A bad config key is reported with file and line, and nothing starts.
    e.define("g", "lxc.uts.name = ok\nlxc.tty.max = abc\n");
    let o = e.run("lxc-execute", &["-n", "g", "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("config:2: lxc.tty.max"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn log_file_and_level_from_options_and_config() {
    let e = Env::new("log");
    let from_cfg = e.root.join("cfg.log");
    e.define(
        "l",
        &format!(
            "lxc.log.file = {}\nlxc.log.level = INFO\n",
            from_cfg.display()
        ),
    );
    let o = e.run("lxc-execute", &["-n", "l", "--", "/bin/true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&from_cfg).unwrap();
    assert!(text.contains("lxc-execute l "), "{text}");
    assert!(
        text.contains("INFO") && text.contains("l is RUNNING"),
        "{text}"
    );
    // -o / -l on the command line win over the config.
    let from_cli = e.root.join("cli.log");
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "l",
            "-o",
            from_cli.to_str().unwrap(),
            "-l",
            "ERROR",
            "--",
            "/bin/true",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let cli = std::fs::read_to_string(&from_cli).unwrap_or_default();
    assert!(
        !cli.contains("RUNNING"),
        "INFO records must be filtered at ERROR: {cli}"
    );
    // A failure is logged at ERROR with the step.
    e.busybox(
        "bad",
        "lxc.mount.entry = /nonexistent-log-src mnt none bind 0 0\n",
    );
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "bad",
            "-o",
            from_cli.to_str().unwrap(),
            "--",
            "/bin/true",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let cli = std::fs::read_to_string(&from_cli).unwrap();
    assert!(
        cli.contains("ERROR") && cli.contains("/nonexistent-log-src"),
        "{cli}"
    );
}

#[test]
fn execute_into_a_running_container_fails_start_reports_it() {
    let e = Env::new("dup");
    e.define("d", "");
    let o = e.run("lxc-start", &["-n", "d", "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run("lxc-execute", &["-n", "d", "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Container \"d\" appears to be already running"),
        "{}",
        stderr(&o)
    );
    let o = e.run("lxc-start", &["-n", "d", "--", "/bin/sleep", "1000"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), "lxc-start: d: Container is already running\n");
    assert_eq!(e.monitors().len(), 1);
    let o = e.run("lxc-stop", &["-n", "d", "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = e.run("lxc-freeze", &["-n", "d"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("Failed to freeze {}:d", e.lxcpath())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn idmapped_container_runs_as_mapped_root() {
    let e = Env::new("userns");
    e.busybox(
        "u",
        "lxc.idmap = u 0 200000 65536\nlxc.idmap = g 0 200000 65536\n\
         lxc.net.0.type = empty\nlxc.mount.auto = proc:mixed sys:mixed\n",
    );
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "u",
            "--",
            "/bin/sh",
            "-c",
            "id -u; cat /proc/self/uid_map; ls /dev/null",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", "200000", "65536"], "{out}");
    assert_eq!(lines[2], "/dev/null");
}

#[test]
fn starting_container_answers_queries() {
    let e = Env::new("starting");
    let marker = e.root.join("hook-ran");
    e.busybox(
        "s",
        &format!(
            "lxc.hook.pre-start = /bin/sh -c 'touch {}'\nlxc.hook.start = /bin/sh -c 'sleep 2'\n",
            marker.display()
        ),
    );
    let child = e.spawn("lxc-start", &["-n", "s", "--", "/bin/sleep", "1000"]);
    e.wait_until("the pre-start hook", || marker.exists());
    // The start hook runs inside the container for 2 s: meanwhile the
    // monitor answers STARTING (and the init pid) instead of blocking.
    let mut saw_starting = false;
    for _ in 0..50 {
        let o = e.run("lxc-info", &["-n", "s", "-s", "-H"]);
        let st = stdout(&o).trim().to_string();
        if st == "STARTING" {
            saw_starting = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(saw_starting, "lxc-info never saw STARTING");
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run("lxc-info", &["-n", "s", "-s", "-H"]);
    assert_eq!(stdout(&o).trim(), "RUNNING");
    let o = e.run("lxc-stop", &["-n", "s", "-k"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
