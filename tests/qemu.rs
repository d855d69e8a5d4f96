//! lxcbox under qemu-user, the way a non-x86 build is tried without the
//! hardware: the applets that need no privileges beyond the emulator give
//! byte for byte the output of the native binary, and lxc-execute of a
//! busybox rootfs runs (qemu-user answers clone3 with ENOSYS, namespace
//! flags in clone with EINVAL, and has no execveat: the fallbacks of
//! src/sys/spawn.rs and process::fexec take over).
//!
//! x86_64 runs here with this build's binary under qemu-x86_64-static.
//! aarch64 and armv7 run where their release binaries and busybox exist
//! (CI: release/build.sh, then busybox-static of that architecture
//! unpacked from its .deb into target/qemu/ARCH/; see tests/qemu.sh), or
//! with LXCBOX_QEMU_BIN_ARCH / LXCBOX_QEMU_BUSYBOX_ARCH. A part that cannot
//! run says exactly why and is skipped alone.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use env::{bin, stderr, stdout, Env};

struct Arch {
    name: &'static str,
    triple: &'static str,
    qemu: &'static str,
    /// The binfmt_misc entry that lets the kernel exec this ELF machine.
    binfmt: &'static str,
}

const ARCHES: [Arch; 3] = [
    Arch {
        name: "x86_64",
        triple: "x86_64-unknown-linux-musl",
        qemu: "qemu-x86_64-static",
        binfmt: "",
    },
    Arch {
        name: "aarch64",
        triple: "aarch64-unknown-linux-musl",
        qemu: "qemu-aarch64-static",
        binfmt: "qemu-aarch64",
    },
    Arch {
        name: "armv7",
        triple: "armv7-unknown-linux-musleabihf",
        qemu: "qemu-arm-static",
        binfmt: "qemu-arm",
    },
];

fn native(a: &Arch) -> bool {
    a.binfmt.is_empty()
}

fn env_path(kind: &str, a: &Arch) -> Option<PathBuf> {
    let v = std::env::var_os(format!("LXCBOX_QEMU_{kind}_{}", a.name.to_uppercase()))?;
    Some(PathBuf::from(v)).filter(|p| p.exists())
}

/// The repository's target/ directory (this test runs from target/T/debug/deps).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(4).unwrap().to_path_buf()
}

/// The lxcbox binary of `a`, or why there is none.
fn lxcbox_of(a: &Arch) -> Result<PathBuf, String> {
    if native(a) {
        return Ok(PathBuf::from(bin()));
    }
    if let Some(p) = env_path("BIN", a) {
        return Ok(p);
    }
    let p = target_dir().join(a.triple).join("release/lxcbox");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if p.exists() && mtime(&p) < mtime(Path::new(bin())) {
        // A build of older sources (left by an earlier release/build.sh)
        // would differ for that reason alone.
        Err(format!(
            "the {} build {} is older than this test's lxcbox: release/build.sh {}",
            a.name,
            p.display(),
            a.triple
        ))
    } else if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "no {} build ({} missing: release/build.sh {})",
            a.name,
            p.display(),
            a.triple
        ))
    }
}

fn qemu_of(a: &Arch) -> Result<PathBuf, String> {
    let p = Path::new("/usr/bin").join(a.qemu);
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{} missing (Debian's qemu-user-static)",
            p.display()
        ))
    }
}

/// Run the `a` build of lxcbox under qemu as applet `argv0`.
fn under_qemu(a: &Arch, argv0: &str, args: &[&str], rundir: &Path) -> Output {
    Command::new(qemu_of(a).unwrap())
        .arg("-0")
        .arg(argv0)
        .arg(lxcbox_of(a).unwrap())
        .args(args)
        .env("LXCBOX_RUNDIR", rundir)
        .output()
        .unwrap()
}

/// The same applet run natively.
fn natively(argv0: &str, args: &[&str], rundir: &Path) -> Output {
    let mut c = Command::new(bin());
    if argv0 != "lxcbox" {
        c.arg(argv0);
    }
    c.args(args).env("LXCBOX_RUNDIR", rundir).output().unwrap()
}

/// Arches that can run here, each with the reason for the others.
fn runnable() -> Vec<&'static Arch> {
    ARCHES
        .iter()
        .filter(|a| match lxcbox_of(a).and_then(|_| qemu_of(a)) {
            Ok(_) => true,
            Err(why) => {
                eprintln!("qemu {}: skipped: {why}", a.name);
                false
            }
        })
        .collect()
}

#[test]
fn unprivileged_applets_match_the_native_binary() {
    let e = Env::new("qemu-apps");
    for n in ["web", "db", "cache"] {
        e.define(
            n,
            &format!("lxc.uts.name = {n}\nlxc.net.0.type = empty\nlxc.start.auto = 1\n"),
        );
    }
    let legacy = e.root.join("legacy.conf");
    let p = e.lxcpath();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("lxcbox", vec!["--list".into()]),
        ("lxc-config", vec!["-l".into()]),
        ("lxc-config", vec!["lxc.lxcpath".into()]),
        ("lxc-ls", vec!["-P".into(), p.clone(), "-f".into()]),
        ("lxc-ls", vec!["-P".into(), p.clone(), "--json".into()]),
        (
            "lxc-info",
            vec!["-P".into(), p.clone(), "-n".into(), "web".into()],
        ),
        ("lxc-autostart", vec!["-P".into(), p.clone(), "-L".into()]),
        ("lxc-version", vec![]),
        ("lxc-start", vec!["--usage".into()]),
        (
            "lxc-update-config",
            vec!["-c".into(), legacy.to_string_lossy().into_owned()],
        ),
        (
            "lxc-stop",
            vec!["-n".into(), "nope".into(), "-P".into(), p.clone()],
        ),
    ];
    for a in runnable() {
        for (argv0, args) in &cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // lxc-update-config rewrites its file: each side gets a fresh copy.
            let fresh = || {
                std::fs::copy("tests/fixtures/config/legacy_all.conf", &legacy).unwrap();
            };
            fresh();
            let want = natively(argv0, &args, &e.rundir());
            let want_file = std::fs::read_to_string(&legacy).unwrap();
            fresh();
            let got = under_qemu(a, argv0, &args, &e.rundir());
            let what = format!("{} {argv0} {}", a.name, args.join(" "));
            assert_eq!(stdout(&got), stdout(&want), "{what}: stdout");
            assert_eq!(stderr(&got), stderr(&want), "{what}: stderr");
            assert_eq!(got.status.code(), want.status.code(), "{what}: status");
            assert_eq!(
                std::fs::read_to_string(&legacy).unwrap(),
                want_file,
                "{what}: file"
            );
        }
    }
}

/// The busybox of `a` (/bin/busybox on the host's own), or why there is none.
fn busybox_of(a: &Arch) -> Result<PathBuf, String> {
    if native(a) {
        return Ok(PathBuf::from("/bin/busybox"));
    }
    if let Some(p) = env_path("BUSYBOX", a) {
        return Ok(p);
    }
    let p = target_dir().join("qemu").join(a.name).join("bin/busybox");
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "no {} busybox ({} missing: busybox-static of that architecture, unpacked from its .deb)",
            a.name,
            p.display()
        ))
    }
}

/// Why the kernel cannot exec an `a` binary, if it cannot. qemu-user hands
/// execve to the kernel: lxc-init (lxcbox) and busybox of a foreign
/// architecture start only through binfmt_misc, registered with the F
/// flag (the interpreter opened at registration, so it works inside the
/// container's root).
fn exec_blocker(a: &Arch) -> Option<String> {
    if native(a) {
        return None;
    }
    let entry = Path::new("/proc/sys/fs/binfmt_misc").join(a.binfmt);
    match std::fs::read_to_string(&entry) {
        Ok(s)
            if s.starts_with("enabled")
                && s.contains("flags: ")
                && s.lines()
                    .any(|l| l.starts_with("flags:") && l.contains('F')) =>
        {
            None
        }
        Ok(_) => Some(format!(
            "{} is not enabled with the F flag",
            entry.display()
        )),
        Err(_) => Some(format!(
            "execve of an {} binary (lxc-init, busybox) needs binfmt_misc: {} is not registered",
            a.name,
            entry.display()
        )),
    }
}

#[test]
fn execute_a_busybox_rootfs_under_qemu() {
    for a in runnable() {
        let bb = match busybox_of(a) {
            Ok(b) => b,
            Err(why) => {
                eprintln!("qemu {}: lxc-execute skipped: {why}", a.name);
                continue;
            }
        };
        if let Some(why) = exec_blocker(a) {
            eprintln!("qemu {}: lxc-execute skipped: {why}", a.name);
            continue;
        }
        let e = Env::new(&format!("qemu-exec-{}", a.name));
        let dir = e.container_dir("x");
        let root = dir.join("rootfs");
        rootfs::busybox_rootfs_from(&root, &bb).unwrap();
        // /proc inside: without execveat, lxc-init is exec'd through
        // /proc/self/fd/N.
        let conf = dir.join("test.conf");
        std::fs::write(
            &conf,
            format!(
                "lxc.rootfs.path = dir:{}\nlxc.net.0.type = empty\nlxc.mount.auto = proc:mixed\n",
                root.display()
            ),
        )
        .unwrap();
        let lp = e.lxcpath();
        let args = [
            "-P",
            &lp,
            "-n",
            "x",
            "-f",
            conf.to_str().unwrap(),
            "--",
            "/bin/busybox",
            "echo",
            "ok",
        ];
        let o = under_qemu(a, "lxc-execute", &args, &e.rundir());
        assert!(
            o.status.success(),
            "{}: lxc-execute: {}",
            a.name,
            stderr(&o)
        );
        assert_eq!(stdout(&o), "ok\n", "{}", a.name);
        assert!(e.monitors().is_empty(), "{}: a monitor is left", a.name);
    }
}
