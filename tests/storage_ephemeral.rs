//! Ephemeral containers as root: lxc-copy -e (and lxc.ephemeral = 1)
//! leaves nothing behind after lxc-stop, and also after its monitor is
//! SIGKILLed; -m mounts, -D, -t, a command after `--`, and the classic
//! lxc-start-ephemeral.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/store.rs"]
mod store;

use env::{exists, Env};
use store::*;

/// The name in lxc-copy's "Created NAME as clone of ORIG".
fn created(out: &str, orig: &str) -> String {
    let l = out.lines().next().unwrap_or_default();
    l.strip_prefix("Created ")
        .and_then(|r| r.strip_suffix(&format!(" as clone of {orig}")))
        .unwrap_or_else(|| panic!("unexpected output: {out}"))
        .to_string()
}

/// Nothing of container `n` left: directory, record in the origin, cgroups.
fn gone(e: &Env, orig: &str, n: &str) -> bool {
    let (a, b, c) = (
        exists(&e.root.join("lxc").join(n)),
        exists(&e.root.join("lxc").join(orig).join("lxc_snapshots")),
        cgroup_left(n),
    );
    if std::env::var_os("DEBUG_GONE").is_some() {
        eprintln!("dir {a} record {b} cgroup {c}");
    }
    !a && !b && !c
}

/// Whether a payload cgroup of `n` exists under this process's cgroups.
fn cgroup_left(n: &str) -> bool {
    use lxcbox::cgroup::{CgroupSet, Layout};
    let layout = Layout::discover().unwrap();
    let me = CgroupSet::from_pid(&layout, std::process::id() as i32).unwrap();
    me.paths()
        .iter()
        .any(|b| b.join(format!("lxc.payload.{n}")).exists())
}

#[test]
fn ephemeral_copy_vanishes_after_stop() {
    let e = Env::new("eph");
    let o = uniq("eo");
    create_bb(&e, &o, &[]);
    let out = ok(&e, "lxc-copy", &["-n", &o, "-e"]);
    let n = created(&out, &o);
    assert!(
        n.starts_with(&format!("{o}_")) && n.len() == o.len() + 7,
        "{n}"
    );
    let cfg = std::fs::read_to_string(e.root.join("lxc").join(&n).join("config")).unwrap();
    assert!(
        cfg.ends_with(&format!("lxc.uts.name = {n}\nlxc.ephemeral = 1\n")),
        "{cfg}"
    );
    assert_eq!(
        std::fs::read_to_string(e.root.join("lxc").join(&o).join("lxc_snapshots")).unwrap(),
        format!("{}\n{n}\n", e.lxcpath())
    );
    assert_eq!(env::state(&e, &n), "RUNNING");
    assert_eq!(
        ok(&e, "lxc-attach", &["-n", &n, "--", "hostname"]),
        format!("{n}\n")
    );
    ok(&e, "lxc-stop", &["-n", &n]);
    assert!(gone(&e, &o, &n), "{n} left behind");
}

#[test]
fn ephemeral_copy_vanishes_after_its_monitor_is_killed() {
    let e = Env::new("ephkill");
    let o = uniq("ek");
    create_bb(&e, &o, &[]);
    let n = uniq("ekc");
    ok(&e, "lxc-copy", &["-n", &o, "-N", &n, "-e"]);
    let mon = e
        .monitors_named()
        .into_iter()
        .find(|(_, name)| *name == n)
        .map(|(p, _)| p)
        .expect("no monitor");
    let sentinel_title = format!("[lxc ephemeral] {} {n}", e.lxcpath());
    let sentinels = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|d| {
                std::fs::read(d.path().join("cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).trim_end_matches('\0') == sentinel_title)
                    .unwrap_or(false)
            })
            .count()
    };
    assert_eq!(sentinels(), 1);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(mon).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    e.wait_until("the ephemeral container to be removed", || gone(&e, &o, &n));
    e.wait_until("the sentinel to exit", || sentinels() == 0);
}

#[test]
fn ephemeral_config_key_on_a_normal_start() {
    let e = Env::new("ephkey");
    let n = uniq("ekey");
    e.busybox(&n, "lxc.ephemeral = 1\nlxc.init.cmd = /bin/sleep 1000\n");
    ok(&e, "lxc-start", &["-n", &n]);
    ok(&e, "lxc-stop", &["-n", &n, "-k"]);
    assert!(!exists(&e.root.join("lxc").join(&n)));
    // lxc-stop returns at STOPPED; the monitor still releases its run-dir
    // lock after that, and would remake the tree the Env removes.
    e.wait_until("the monitor to exit", || e.monitors().is_empty());
}

#[test]
fn mounts_keepdata_command_and_tmpfs() {
    let e = Env::new("ephopts");
    let o = uniq("eopt");
    create_bb(&e, &o, &[]);
    let ro = e.root.join("ro-src");
    let ov = e.root.join("ov-src");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::create_dir_all(&ov).unwrap();
    std::fs::write(ro.join("f"), "ro").unwrap();
    std::fs::write(ov.join("g"), "ov").unwrap();
    let n = uniq("eoptc");
    let m = format!(
        "bind={}:/mnt/ro:ro,overlay={}:/mnt/ov",
        ro.display(),
        ov.display()
    );
    ok(&e, "lxc-copy", &["-n", &o, "-N", &n, "-e", "-m", &m, "-D"]);
    assert_eq!(
        ok(&e, "lxc-attach", &["-n", &n, "--", "cat", "/mnt/ro/f"]),
        "ro"
    );
    let w = e.run("lxc-attach", &["-n", &n, "--", "touch", "/mnt/ro/x"]);
    assert_ne!(w.status.code(), Some(0), "the ro bind is writable");
    ok(
        &e,
        "lxc-attach",
        &["-n", &n, "--", "sh", "-c", "echo new > /mnt/ov/g"],
    );
    assert_eq!(
        std::fs::read_to_string(ov.join("g")).unwrap(),
        "ov",
        "overlay wrote through"
    );
    ok(&e, "lxc-stop", &["-n", &n]);
    // -D: kept after the stop, no longer ephemeral.
    let cfg = std::fs::read_to_string(e.root.join("lxc").join(&n).join("config")).unwrap();
    assert!(!cfg.contains("lxc.ephemeral"), "{cfg}");
    ok(&e, "lxc-destroy", &["-n", &n]);

    // A command after --: run, then the copy is stopped and destroyed.
    let marker = e.root.join("ran");
    let b = format!("bind={}:/mnt/out", e.root.display());
    let out = ok(
        &e,
        "lxc-copy",
        &["-n", &o, "-e", "-m", &b, "--", "touch", "/mnt/out/ran"],
    );
    let c = created(&out, &o);
    assert!(marker.exists());
    e.wait_until("the command's copy to go", || gone(&e, &o, &c));

    // -t: the changes live on a tmpfs, which goes with the container.
    let t = uniq("eoptt");
    let out = ok(&e, "lxc-copy", &["-n", &o, "-N", &t, "-e", "-t"]);
    assert!(out.contains("Container is placed on tmpfs."), "{out}");
    let ovl = e.root.join("lxc").join(&t).join("overlay");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        mounts.lines().any(
            |l| l.split_whitespace().nth(4) == Some(ovl.to_str().unwrap())
                && l.contains(" - tmpfs ")
        ),
        "no tmpfs at {}",
        ovl.display()
    );
    assert_eq!(
        ok(&e, "lxc-attach", &["-n", &t, "--", "hostname"]),
        format!("{t}\n")
    );
    ok(&e, "lxc-stop", &["-n", &t]);
    assert!(gone(&e, &o, &t));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(ovl.to_str().unwrap()));
}

#[test]
fn classic_start_ephemeral() {
    let e = Env::new("ephclassic");
    let o = uniq("ec");
    create_bb(&e, &o, &[]);
    let dir = e.root.join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    let out = ok(
        &e,
        "lxc-start-ephemeral",
        &[
            "-o",
            &o,
            "-b",
            &format!("{}:/mnt/s", dir.display()),
            "-u",
            "root",
            "--",
            "touch",
            "/mnt/s/done",
        ],
    );
    let c = created(&out, &o);
    assert!(dir.join("done").exists());
    e.wait_until("the copy to go", || gone(&e, &o, &c));
    let n = uniq("ecd");
    ok(&e, "lxc-start-ephemeral", &["-o", &o, "-n", &n, "-d"]);
    assert_eq!(env::state(&e, &n), "RUNNING");
    ok(&e, "lxc-stop", &["-n", &n]);
    assert!(gone(&e, &o, &n));
}
