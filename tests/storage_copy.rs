//! lxc-copy as root: snapshot clones and their dependency records, the
//! config rewrites, clone hooks, rename, and the faults (concurrent copies
//! to one name, SIGINT, a full disk) that must leave the origin untouched
//! and nothing half-made.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/store.rs"]
mod store;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use env::{exists, stderr, Env};
use store::*;

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn twenty_snapshot_clones() {
    let e = Env::new("snap20");
    let o = uniq("orig");
    create_bb(&e, &o, &[]);
    let snaps = e.root.join("lxc").join(&o).join("lxc_snapshots");
    let clones: Vec<String> = (0..20).map(|i| format!("{o}-c{i}")).collect();
    for c in &clones {
        ok(&e, "lxc-copy", &["-n", &o, "-N", c, "-s"]);
    }
    assert_eq!(lines(&snaps), 40);
    let text = std::fs::read_to_string(&snaps).unwrap();
    assert!(
        text.starts_with(&format!("{}\n{}\n", e.lxcpath(), clones[0])),
        "{text}"
    );
    let err = fails(&e, "lxc-destroy", &["-n", &o]);
    assert!(
        err.contains(&format!("Destroying {o} failed: {o} has clones")),
        "{err}"
    );
    for c in &clones {
        let cfg = std::fs::read_to_string(e.root.join("lxc").join(c).join("config")).unwrap();
        assert!(cfg.contains(&format!(
            "lxc.rootfs.path = overlay:{0}/{o}/rootfs:{0}/{c}/overlay/delta\n",
            e.lxcpath()
        )));
        assert_eq!(
            std::fs::read_to_string(e.root.join("lxc").join(c).join("lxc_rdepends")).unwrap(),
            format!("{}\n{o}\n", e.lxcpath())
        );
        start_and_attach(&e, c);
        ok(&e, "lxc-stop", &["-n", c, "-k"]);
    }
    for (i, c) in clones.iter().enumerate() {
        ok(&e, "lxc-destroy", &["-n", c]);
        assert_eq!(lines(&snaps), 38 - 2 * i, "after destroying {c}");
    }
    assert!(!exists(&snaps));
    ok(&e, "lxc-destroy", &["-n", &o]);
}

#[test]
fn clone_rewrites_paths_macs_and_names() {
    let e = Env::new("rewrite");
    let o = uniq("rw");
    let od = e.root.join("lxc").join(&o);
    rootfs::busybox_rootfs(&od.join("rootfs")).unwrap();
    let lp = e.lxcpath();
    let x1 = od.join("x1");
    std::fs::write(&x1, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&x1, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    std::fs::write(
        od.join("inc.conf"),
        format!("lxc.tty.max = 1\nlxc.log.file = {lp}/{o}/inner.log\n"),
    )
    .unwrap();
    std::fs::write(
        od.join("fstab"),
        format!("{lp}/{o}/data data none bind,create=dir 0 0\n"),
    )
    .unwrap();
    std::fs::create_dir_all(od.join("data")).unwrap();
    std::fs::write(od.join("data/f"), "d").unwrap();
    let shared = e.root.join("shared.conf");
    std::fs::write(&shared, "lxc.pty.max = 4\n").unwrap();
    let macs = ["00:16:3e:11:22:33", "00:16:3e:44:55:66"];
    std::fs::write(
        od.join("config"),
        format!(
            "lxc.include = {lp}/{o}/inc.conf\nlxc.include = {}\nlxc.rootfs.path = dir:{lp}/{o}/rootfs\nlxc.uts.name = {o}\n\
             lxc.net.0.type = veth\nlxc.net.0.hwaddr = {}\nlxc.net.1.type = empty\nlxc.net.2.type = veth\nlxc.net.2.hwaddr = {}\n\
             lxc.hook.start = {lp}/{o}/x1\nlxc.mount.fstab = {lp}/{o}/fstab\nlxc.log.file = {lp}/{o}/{o}.log\n\
             lxc.mount.entry = tmpfs tmp overlay upperdir={lp}/{o}/up,workdir={lp}/{o}/wk 0 0\n",
            shared.display(),
            macs[0],
            macs[1]
        ),
    )
    .unwrap();
    let before = tree(&od);
    let c = uniq("rwc");
    ok(&e, "lxc-copy", &["-n", &o, "-N", &c]);
    assert_eq!(tree(&od), before, "the origin changed");
    let cd = e.root.join("lxc").join(&c);
    let cfg = std::fs::read_to_string(cd.join("config")).unwrap();
    assert!(
        cfg.contains(&format!("lxc.hook.start = {lp}/{c}/x1\n")),
        "{cfg}"
    );
    assert_eq!(mode(&cd.join("x1")), 0o750);
    assert!(
        cfg.contains(&format!("lxc.include = {lp}/{c}/inc.conf\n")),
        "{cfg}"
    );
    assert!(
        cfg.contains(&format!("lxc.include = {}\n", shared.display())),
        "{cfg}"
    );
    assert_eq!(
        std::fs::read_to_string(cd.join("inc.conf")).unwrap(),
        format!("lxc.tty.max = 1\nlxc.log.file = {lp}/{c}/inner.log\n")
    );
    assert!(
        cfg.contains(&format!("lxc.log.file = {lp}/{c}/{o}.log\n")),
        "{cfg}"
    );
    assert!(
        cfg.contains(&format!("upperdir={lp}/{c}/up,workdir={lp}/{c}/wk")),
        "{cfg}"
    );
    assert!(cfg.ends_with(&format!(
        "lxc.rootfs.path = dir:{lp}/{c}/rootfs\nlxc.uts.name = {c}\nlxc.mount.fstab = {lp}/{c}/fstab\n"
    )), "{cfg}");
    assert_eq!(
        std::fs::read_to_string(cd.join("fstab")).unwrap(),
        format!("{lp}/{c}/data data none bind,create=dir 0 0\n")
    );
    assert_eq!(std::fs::read_to_string(cd.join("data/f")).unwrap(), "d");
    let nics = |t: &str| t.lines().filter(|l| l.contains(".type = ")).count();
    assert_eq!(nics(&cfg), 3);
    let new_macs: Vec<&str> = cfg
        .lines()
        .filter_map(|l| l.split_once(".hwaddr = ").map(|(_, m)| m))
        .collect();
    assert_eq!(new_macs.len(), 2);
    for m in &new_macs {
        assert!(!macs.contains(m), "{m} kept");
        assert!(m.starts_with("00:16:3e:"), "{m}");
    }
    assert_eq!(
        std::fs::read_to_string(cd.join("rootfs/etc/hostname")).unwrap(),
        c
    );
    // The clone's rootfs is a full copy.
    assert_eq!(
        tree(&cd.join("rootfs")).len(),
        tree(&od.join("rootfs")).len()
    );
    // -K and -M keep the name and the MACs.
    let k = uniq("rwk");
    ok(&e, "lxc-copy", &["-n", &o, "-N", &k, "-K", "-M"]);
    let kcfg = std::fs::read_to_string(e.root.join("lxc").join(&k).join("config")).unwrap();
    assert!(kcfg.contains(&format!("lxc.uts.name = {o}\n")), "{kcfg}");
    for m in macs {
        assert!(kcfg.contains(m), "{m} lost: {kcfg}");
    }
    assert_eq!(
        std::fs::read_to_string(e.root.join("lxc").join(&k).join("rootfs/etc/hostname")).unwrap(),
        "busybox\n"
    );
}

#[test]
fn clone_hook_gets_lxc_arguments() {
    let e = Env::new("chook");
    let o = uniq("ch");
    let out = e.root.join("hook.out");
    let hook = e.root.join("clone-hook");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$*|$LXC_NAME|$LXC_SRC_NAME|$LXC_CONFIG_FILE|$LXC_ROOTFS_MOUNT\" > {}\ntest -x \"$LXC_ROOTFS_MOUNT/bin/busybox\" && touch \"$LXC_ROOTFS_MOUNT/cloned\"\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    e.busybox(&o, &format!("lxc.hook.clone = {}\n", hook.display()));
    let c = uniq("chc");
    ok(
        &e,
        "lxc-copy",
        &["-n", &o, "-N", &c, "-s", "--", "one", "two"],
    );
    let lp = e.lxcpath();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{c} lxc clone one two|{c}|{o}|{lp}/{c}/config|{lp}/{c}/rootfs\n")
    );
    // The overlay clone's rootfs was mounted for the hook: the file went to
    // the clone's upper dir, not the origin.
    assert!(e
        .root
        .join("lxc")
        .join(&c)
        .join("overlay/delta/cloned")
        .exists());
    assert!(!e.root.join("lxc").join(&o).join("rootfs/cloned").exists());
    // A failing clone hook fails the copy and removes the clone.
    let bad = uniq("chbad");
    let b = uniq("chb");
    e.busybox(&bad, "lxc.hook.clone = /bin/false\n");
    let err = fails(&e, "lxc-copy", &["-n", &bad, "-N", &b]);
    assert!(err.contains("clone hook"), "{err}");
    assert!(!exists(&e.root.join("lxc").join(&b)));
}

#[test]
fn rename_moves_the_container() {
    let e = Env::new("rename");
    let o = uniq("ren");
    create_bb(&e, &o, &[]);
    let n = uniq("renamed");
    ok(&e, "lxc-copy", &["-n", &o, "-N", &n, "-R"]);
    assert!(!exists(&e.root.join("lxc").join(&o)));
    let cfg = std::fs::read_to_string(e.root.join("lxc").join(&n).join("config")).unwrap();
    assert!(
        cfg.contains(&format!(
            "lxc.rootfs.path = dir:{}/{n}/rootfs\n",
            e.lxcpath()
        )),
        "{cfg}"
    );
    assert!(cfg.ends_with(&format!("lxc.uts.name = {n}\n")), "{cfg}");
    start_and_attach(&e, &n);
    assert_eq!(
        ok(&e, "lxc-attach", &["-n", &n, "--", "hostname"]),
        format!("{n}\n")
    );
    // A running origin is refused without -a, copied with it.
    let c = uniq("renc");
    let err = fails(&e, "lxc-copy", &["-n", &n, "-N", &c]);
    assert!(err.contains("is running. Use --allowrunning"), "{err}");
    ok(&e, "lxc-copy", &["-n", &n, "-N", &c, "-a"]);
    assert!(e
        .root
        .join("lxc")
        .join(&c)
        .join("rootfs/bin/busybox")
        .exists());
}

#[test]
fn copy_to_other_stores_and_paths() {
    let e = Env::new("kinds");
    let o = uniq("kd");
    create_bb(&e, &o, &[]);
    let other = e.root.join("other");
    let c = uniq("kdp");
    ok(
        &e,
        "lxc-copy",
        &["-n", &o, "-N", &c, "-p", other.to_str().unwrap()],
    );
    assert!(other.join(&c).join("rootfs/bin/busybox").exists());
    let l = uniq("kdl");
    ok(
        &e,
        "lxc-copy",
        &["-n", &o, "-N", &l, "-B", "loop", "-L", "48M"],
    );
    start_and_attach(&e, &l);
    assert_eq!(root_fstype(&e, &l), "ext4");
    ok(&e, "lxc-stop", &["-n", &l, "-k"]);
    // A snapshot of a snapshot depends on both.
    let s1 = uniq("kds1");
    let s2 = uniq("kds2");
    ok(&e, "lxc-copy", &["-n", &o, "-N", &s1, "-s"]);
    ok(&e, "lxc-copy", &["-n", &s1, "-N", &s2, "-s"]);
    let rd = std::fs::read_to_string(e.root.join("lxc").join(&s2).join("lxc_rdepends")).unwrap();
    let lp = e.lxcpath();
    assert_eq!(rd, format!("{lp}\n{o}\n{lp}\n{s1}\n"));
    fails(&e, "lxc-destroy", &["-n", &s1]);
    ok(&e, "lxc-destroy", &["-n", &s2]);
    ok(&e, "lxc-destroy", &["-n", &s1]);
    ok(&e, "lxc-destroy", &["-n", &o]);
    // Unsupported target types are refused before anything is made.
    let z = uniq("kdz");
    let err = fails(&e, "lxc-copy", &["-n", &l, "-N", &z, "-B", "zfs"]);
    assert!(err.contains("zfs"), "{err}");
    assert!(!exists(&e.root.join("lxc").join(&z)));
}

/// A origin with `n` files of `kib` KiB each (random, so nothing dedups).
fn big_origin(e: &Env, name: &str, n: usize, kib: usize) -> PathBuf {
    let r = e.busybox(name, "");
    let d = r.join("data");
    std::fs::create_dir_all(&d).unwrap();
    let chunk: Vec<u8> = (0..kib * 1024).map(|i| (i * 7 + 13) as u8).collect();
    for i in 0..n {
        let mut v = chunk.clone();
        v[0] = i as u8;
        std::fs::write(d.join(format!("f{i}")), v).unwrap();
    }
    r
}

#[test]
fn concurrent_copies_to_one_name() {
    let e = Env::new("race");
    let o = uniq("race");
    let r = big_origin(&e, &o, 200, 64);
    let target = uniq("racet");
    let spawn = || {
        e.cmd("lxc-copy")
            .args(["-n", &o, "-N", &target])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let wins = [&a, &b].iter().filter(|o| o.status.success()).count();
    assert_eq!(wins, 1, "a: {} b: {}", stderr(&a), stderr(&b));
    let loser = if a.status.success() { &b } else { &a };
    let msg = stderr(loser);
    assert!(
        msg.contains("already exists") || msg.contains("being created"),
        "{msg}"
    );
    let t = e.root.join("lxc").join(&target);
    assert!(!exists(&t.join("partial")));
    assert_eq!(tree(&t.join("rootfs")).len(), tree(&r).len());
}

#[test]
fn sigint_during_copy_removes_the_clone() {
    let e = Env::new("sigint");
    let o = uniq("int");
    // The clone hook runs after the data copy: a slow one gives the signal
    // a window that does not depend on the machine's speed.
    let hook = e.root.join("slow-hook");
    std::fs::write(&hook, "#!/bin/sh\nsleep 2\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let r = e.busybox(&o, &format!("lxc.hook.clone = {}\n", hook.display()));
    let before = tree(&r);
    let c = uniq("intc");
    let child = e
        .cmd("lxc-copy")
        .args(["-n", &o, "-N", &c])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cd = e.root.join("lxc").join(&c);
    e.wait_until("the copy to start", || cd.join("config").exists());
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(!exists(&cd), "half-made clone left");
    assert_eq!(tree(&r), before);
}

/// A 16 MiB tmpfs mounted for the test's lifetime.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn new(p: PathBuf) -> SmallDisk {
        std::fs::create_dir_all(&p).unwrap();
        rustix::mount::mount(
            "tmpfs",
            &p,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            Some(c"size=16m"),
        )
        .unwrap_or_else(|e| panic!("mounting a tmpfs: {e}"));
        SmallDisk(p)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

#[test]
fn full_disk_during_copy() {
    let e = Env::new("full");
    let o = uniq("full");
    let r = big_origin(&e, &o, 40, 1024);
    let before = tree(&r);
    let disk = SmallDisk::new(e.root.join("small"));
    let c = uniq("fullc");
    let err = fails(
        &e,
        "lxc-copy",
        &["-n", &o, "-N", &c, "-p", disk.0.to_str().unwrap()],
    );
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("copying the rootfs"), "{err}");
    assert!(
        err.contains(&format!("{}/{c}/rootfs/", disk.0.display())),
        "{err}"
    );
    assert!(!exists(&disk.0.join(&c)), "half-made clone left");
    assert_eq!(tree(&r), before);
}

#[test]
fn copies_match_lxc_side_by_side() {
    if !have_lxc() {
        eprintln!("skipped: LXC is not installed");
        return;
    }
    let e = Env::new("copyside");
    let o = uniq("side");
    create_bb(&e, &o, &[]);
    let lp = e.lxcpath();
    for (ours, theirs, extra) in [
        (uniq("sidebx"), uniq("sidelx"), None),
        (uniq("sidebs"), uniq("sidels"), Some("-s")),
    ] {
        let mut a = vec!["-n", o.as_str(), "-N", ours.as_str()];
        let mut b = vec!["-n", o.as_str(), "-N", theirs.as_str()];
        if let Some(x) = extra {
            a.push(x);
            b.push(x);
        }
        ok(&e, "lxc-copy", &a);
        let r = lxc(&lp, "lxc-copy", &b);
        assert!(r.status.success(), "{}", stderr(&r));
        let cfg = |n: &str| {
            std::fs::read_to_string(e.root.join("lxc").join(n).join("config"))
                .unwrap()
                .replace(n, "NEW")
        };
        assert_eq!(cfg(&ours), cfg(&theirs), "{extra:?}");
        let tree_of = |n: &str| {
            tree(&e.root.join("lxc").join(n))
                .into_iter()
                .filter(|l| !l.starts_with("config ") && !l.starts_with("overlay/work"))
                .map(|l| l.replace(n, "NEW"))
                .collect::<Vec<_>>()
        };
        assert_eq!(tree_of(&ours), tree_of(&theirs), "{extra:?}");
    }
    // The origin records both snapshot clones the same way.
    let rec = std::fs::read_to_string(e.root.join("lxc").join(&o).join("lxc_snapshots")).unwrap();
    assert_eq!(
        rec,
        format!("{lp}\n{}\n{lp}\n{}\n", uniq("sidebs"), uniq("sidels"))
    );
}
