//! lxc.seccomp.profile with real containers: Debian's common.seccomp, a
//! denylist in init, in lxc-execute's application and under lxc-attach,
//! malformed profiles refused with file:line and nothing left behind.

#[path = "common/env.rs"]
mod env;
#[path = "common/probe.rs"]
mod probe;
#[path = "common/rootfs.rs"]
mod rootfs;

use env::{stderr, stdout, Env};

const DEBIAN_SECCOMP: &str = "2\ndenylist\nreject_force_umount  # comment this to allow umount -f;  not recommended\n[all]\nkexec_load errno 1\nopen_by_handle_at errno 1\ninit_module errno 1\nfinit_module errno 1\ndelete_module errno 1\n";

/// Debian's profile when installed (CI installs lxc), else the same text.
fn common_seccomp(e: &Env) -> String {
    let p = "/usr/share/lxc/config/common.seccomp";
    if std::path::Path::new(p).exists() {
        return p.into();
    }
    let q = e.root.join("common.seccomp");
    std::fs::write(&q, DEBIAN_SECCOMP).unwrap();
    q.display().to_string()
}

fn write_profile(e: &Env, name: &str, text: &str) -> String {
    let p = e.root.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A busybox container with the probe whose init runs `init`.
fn container(e: &Env, name: &str, extra: &str) -> std::path::PathBuf {
    let r = e.busybox(
        name,
        &format!("lxc.mount.auto = proc:mixed sys:mixed\n{extra}"),
    );
    probe::install(&r);
    r
}

#[test]
fn debian_profile_in_init_like_lxc() {
    let e = Env::new("scdeb");
    let prof = common_seccomp(&e);
    container(
        &e,
        "scdeb",
        &format!(
            "lxc.seccomp.profile = {prof}\nlxc.init.cmd = /bin/sh -c \"grep Seccomp: /proc/1/status; /bin/sysprobe kexec_load open_by_handle_at init_module finit_module delete_module umount_force:/proc\"\n"
        ),
    );
    let o = e.run("lxc-start", &["-n", "scdeb", "-F"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("Seccomp:\t2"), "{out}");
    let r = probe::results(&out);
    for call in [
        "kexec_load",
        "open_by_handle_at",
        "init_module",
        "finit_module",
        "delete_module",
    ] {
        assert_eq!(
            r.get(call).map(String::as_str),
            Some("EPERM"),
            "{call}: {out}"
        );
    }
    assert_eq!(r["umount_force"], "EACCES", "reject_force_umount: {out}");
}

#[test]
fn without_a_profile_the_calls_reach_the_kernel() {
    // The control: the same probe without lxc.seccomp.profile.
    let e = Env::new("scnone");
    container(
        &e,
        "scnone",
        "lxc.init.cmd = /bin/sysprobe kexec_load init_module seccomp\n",
    );
    let o = e.run("lxc-start", &["-n", "scnone", "-F"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let r = probe::results(&out);
    assert_eq!(r["seccomp"], "0", "{out}");
    assert_ne!(r["kexec_load"], "EPERM", "{out}");
    assert_ne!(r["init_module"], "EPERM", "{out}");
}

const MKDIR_EACCES: &str = "2\ndenylist\nmkdir errno 13\nmkdirat errno 13\n";

#[test]
fn denylist_in_init_execute_and_attach() {
    let e = Env::new("scmk");
    let prof = write_profile(&e, "mkdir.seccomp", MKDIR_EACCES);
    container(
        &e,
        "scmk",
        &format!("lxc.seccomp.profile = {prof}\nlxc.init.cmd = /bin/sysprobe mkdir:/tmp/init\n"),
    );
    // The container's init.
    let o = e.run("lxc-start", &["-n", "scmk", "-F"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert_eq!(probe::results(&out)["mkdir"], "EACCES", "init: {out}");
    // lxc-execute's application (PID 2 under lxcbox's init).
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "scmk",
            "--",
            "/bin/sysprobe",
            "mkdir:/tmp/app",
            "seccomp",
        ],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let r = probe::results(&out);
    assert_eq!(r["mkdir"], "EACCES", "lxc-execute: {out}");
    assert_eq!(r["seccomp"], "2");
    // lxc-attach into the running container.
    std::fs::write(
        e.root.join("lxc/scmk/config"),
        std::fs::read_to_string(e.root.join("lxc/scmk/config"))
            .unwrap()
            .replace(
                "lxc.init.cmd = /bin/sysprobe mkdir:/tmp/init",
                "lxc.init.cmd = /bin/sleep 1000",
            ),
    )
    .unwrap();
    let o = e.run("lxc-start", &["-n", "scmk", "-d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run(
        "lxc-attach",
        &[
            "-n",
            "scmk",
            "--",
            "/bin/sysprobe",
            "mkdir:/tmp/attached",
            "seccomp",
        ],
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let r = probe::results(&out);
    assert_eq!(r["mkdir"], "EACCES", "lxc-attach: {out}");
    assert_eq!(r["seccomp"], "2");
    // -e LSM lifts seccomp too, as with LXC.
    let o = e.run(
        "lxc-attach",
        &[
            "-n",
            "scmk",
            "-eLSM",
            "--",
            "/bin/sysprobe",
            "mkdir:/tmp/elevated",
        ],
    );
    let out = stdout(&o);
    assert_eq!(
        probe::results(&out)["mkdir"],
        "ok",
        "lxc-attach -e LSM: {out}{}",
        stderr(&o)
    );
    let _ = e.run("lxc-stop", &["-n", "scmk", "-k"]);
}

#[test]
fn malformed_profile_is_refused_with_file_and_line() {
    let e = Env::new("scbad");
    let prof = write_profile(
        &e,
        "bad.seccomp",
        "2\ndenylist\nkexec_load errno 1\nmkdir sometimes\n",
    );
    container(
        &e,
        "scbad",
        &format!("lxc.seccomp.profile = {prof}\nlxc.init.cmd = /bin/true\n"),
    );
    let o = e.run("lxc-start", &["-n", "scbad", "-F"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{prof}:4:")), "{err}");
    assert!(err.contains("unrecognized seccomp action"), "{err}");
    // Nothing left behind: no monitor, no cgroup, STOPPED.
    assert!(e.monitors().is_empty());
    assert_eq!(env::state(&e, "scbad"), "STOPPED");
    let layout = lxcbox::cgroup::Layout::discover().unwrap();
    let me = lxcbox::cgroup::CgroupSet::from_pid(&layout, std::process::id() as i32).unwrap();
    for base in me.paths() {
        assert!(
            !base.join("lxc.payload.scbad").exists(),
            "{}",
            base.display()
        );
    }
    // A profile that does not exist, and lxc-execute, fail the same way.
    let o = e.run(
        "lxc-execute",
        &[
            "-n",
            "scbad",
            "-s",
            "lxc.seccomp.profile=/nonexistent.seccomp",
            "--",
            "/bin/true",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("/nonexistent.seccomp"), "{err}");
}

#[test]
fn notify_proxy_is_refused_clearly() {
    let e = Env::new("scnot");
    container(
        &e,
        "scnot",
        "lxc.seccomp.notify.proxy = unix:/run/proxy.sock\nlxc.init.cmd = /bin/true\n",
    );
    let o = e.run("lxc-start", &["-n", "scnot", "-F"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lxc.seccomp.notify.proxy") && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn allowlist_kills_what_it_does_not_list() {
    // Version 1: only the listed numbers; anything else kills the caller
    // (SIGSYS). The list holds what lxcbox's child does after loading the
    // filter and what the static probe needs; with mkdir added the same
    // start succeeds, so it is the filter that kills.
    let e = Env::new("scv1");
    let mut base = String::from("1\nallowlist\n");
    for name in [
        "read",
        "write",
        "close",
        "exit",
        "exit_group",
        "execve",
        "execveat",
        "brk",
        "mmap",
        "munmap",
        "mprotect",
        "arch_prctl",
        "set_tid_address",
        "rt_sigaction",
        "rt_sigprocmask",
        "rt_sigreturn",
        "setgroups",
        "setresuid",
        "setresgid",
        "sendmsg",
        "sendto",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getpid",
        "getppid",
        "uname",
        "set_robust_list",
        "prlimit64",
        "readlink",
        "readlinkat",
        "getrandom",
        "rseq",
        "fstat",
        "newfstatat",
        "ioctl",
        "close_range",
        "futex",
        "prctl",
    ] {
        let nr = lxcbox::seccomp::Arch::X86_64.syscall(name).unwrap();
        base.push_str(&format!("{nr}\n"));
    }
    let mkdir = lxcbox::seccomp::Arch::X86_64.syscall("mkdir").unwrap();
    let with = write_profile(&e, "with.seccomp", &format!("{base}{mkdir}\n"));
    let without = write_profile(&e, "without.seccomp", &base);
    container(&e, "scv1", "lxc.init.cmd = /bin/sysprobe mkdir:/tmp/x\n");
    let run = |prof: &str| {
        e.run(
            "lxc-start",
            &[
                "-n",
                "scv1",
                "-F",
                "-s",
                &format!("lxc.seccomp.profile={prof}"),
                "-l",
                "INFO",
                "-o",
                "/dev/stderr",
            ],
        )
    };
    let o = run(&with);
    assert!(
        stdout(&o).contains("mkdir=ok"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = run(&without);
    assert!(!stdout(&o).contains("mkdir="), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("Signaled(31)"),
        "init must die of SIGSYS: {}",
        stderr(&o)
    );
}
