//! The classic store tools as root: lxc-clone (LXC 1.x options) and
//! lxc-backup / lxc-restore (rootfs.backup.N).

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/store.rs"]
mod store;

use env::{exists, Env};
use store::*;

#[test]
fn lxc_clone_classic_options() {
    let e = Env::new("clone");
    let o = uniq("co");
    create_bb(&e, &o, &[]);
    let lp = e.lxcpath();
    let n = uniq("cn");
    let out = ok(&e, "lxc-clone", &["-o", &o, "-n", &n, "-p", &lp]);
    assert_eq!(out, format!("Created container {n} as copy of {o}\n"));
    let cfg = std::fs::read_to_string(e.root.join("lxc").join(&n).join("config")).unwrap();
    assert!(
        cfg.contains(&format!("lxc.rootfs.path = dir:{lp}/{n}/rootfs\n")),
        "{cfg}"
    );
    let s = uniq("cs");
    ok(
        &e,
        "lxc-clone",
        &["-o", &o, "-n", &s, "-s", "-K", "-M", "-p", &lp],
    );
    let scfg = std::fs::read_to_string(e.root.join("lxc").join(&s).join("config")).unwrap();
    assert!(scfg.contains("lxc.rootfs.path = overlay:"), "{scfg}");
    assert!(
        scfg.contains(&format!("lxc.uts.name = \"{o}\"")),
        "-K kept the name: {scfg}"
    );
    start_and_attach(&e, &s);
    ok(&e, "lxc-stop", &["-n", &s, "-k"]);
    // -P is the new container's lxcpath in lxc-clone.
    let other = e.root.join("other");
    let p = uniq("cp");
    // (Env::cmd passes its lxcpath as -P: call the binary directly.)
    let st = std::process::Command::new(env::bin())
        .args([
            "lxc-clone",
            "-o",
            &o,
            "-n",
            &p,
            "-p",
            &lp,
            "-P",
            other.to_str().unwrap(),
        ])
        .env("LXCBOX_RUNDIR", e.rundir())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(other.join(&p).join("rootfs/bin/busybox").exists());
    let err = fails(&e, "lxc-clone", &["-n", "x", "-p", &lp]);
    assert!(err.contains("-o ORIG"), "{err}");
}

#[test]
fn backup_and_restore() {
    let e = Env::new("backup");
    let n = uniq("bk");
    create_bb(&e, &n, &[]);
    let dir = e.root.join("lxc").join(&n);
    std::fs::write(dir.join("rootfs/state"), "one").unwrap();
    let out = ok(&e, "lxc-backup", &[&n]);
    assert_eq!(
        out,
        format!("{n}: backed up to {}/rootfs.backup.0\n", dir.display())
    );
    std::fs::write(dir.join("rootfs/state"), "two").unwrap();
    ok(&e, "lxc-backup", &["-n", &n]);
    assert_eq!(
        std::fs::read_to_string(dir.join("rootfs.backup.1/state")).unwrap(),
        "two"
    );
    assert_eq!(
        tree(&dir.join("rootfs.backup.0")).len(),
        tree(&dir.join("rootfs")).len()
    );
    let err = fails(&e, "lxc-backup", &[&n, "1"]);
    assert!(err.contains("backup 1 of"), "{err}");
    std::fs::write(dir.join("rootfs/state"), "three").unwrap();
    std::fs::write(dir.join("rootfs/extra"), "x").unwrap();
    assert_eq!(
        ok(&e, "lxc-restore", &[&n, "0"]),
        format!("{n}: restored from rootfs.backup.0\n")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("rootfs/state")).unwrap(),
        "one"
    );
    assert!(!exists(&dir.join("rootfs/extra")));
    assert!(dir.join("rootfs.backup.1").is_dir(), "other backups stay");
    // Without a number: the newest.
    ok(&e, "lxc-restore", &["-n", &n]);
    assert_eq!(
        std::fs::read_to_string(dir.join("rootfs/state")).unwrap(),
        "two"
    );
    start_and_attach(&e, &n);
    // Not while it runs.
    let err = fails(&e, "lxc-restore", &[&n, "0"]);
    assert!(err.contains("is running"), "{err}");
    ok(&e, "lxc-stop", &["-n", &n, "-k"]);
    // Without a name: every container of the lxcpath.
    let m = uniq("bk2");
    create_bb(&e, &m, &[]);
    let out = ok(&e, "lxc-backup", &[]);
    assert!(out.contains(&format!("{m}: backed up to ")), "{out}");
    assert!(e.root.join("lxc").join(&m).join("rootfs.backup.0").is_dir());
    assert!(dir.join("rootfs.backup.2").is_dir());
    let err = fails(&e, "lxc-restore", &[&uniq("nope")]);
    assert!(err.contains("does not exist"), "{err}");
}
