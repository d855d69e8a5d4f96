//! lxc-snapshot and lxc-destroy -s as root: LXC's snaps/snapN layout with
//! ts and comment files, list, restore (in place and as a new container),
//! destroy, and both directions of interoperation with real LXC 5.0.2.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/store.rs"]
mod store;

use env::{exists, stderr, stdout, Env};
use store::*;

/// `lxc-snapshot -L` lines: "snapN (SNAPSDIR) YYYY:MM:DD HH:MM:SS".
fn check_listing(out: &str, snaps_dir: &str, names: &[&str]) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), names.len(), "{out}");
    for (l, n) in lines.iter().zip(names) {
        let prefix = format!("{n} ({snaps_dir}) ");
        let ts = l.strip_prefix(&prefix).unwrap_or_else(|| panic!("{l:?}"));
        let b = ts.as_bytes();
        assert!(
            ts.len() == 19 && b[4] == b':' && b[7] == b':' && b[10] == b' ' && b[13] == b':',
            "{ts}"
        );
    }
}

#[test]
fn create_list_restore_destroy() {
    let e = Env::new("snap");
    let n = uniq("sn");
    create_bb(&e, &n, &[]);
    let dir = e.root.join("lxc").join(&n);
    std::fs::write(dir.join("rootfs/marker"), "v1").unwrap();
    assert_eq!(ok(&e, "lxc-snapshot", &["-n", &n, "-L"]), "No snapshots\n");
    let comment = e.root.join("comment");
    std::fs::write(&comment, "first one\nsecond line\n").unwrap();
    ok(
        &e,
        "lxc-snapshot",
        &["-n", &n, "-c", comment.to_str().unwrap()],
    );
    std::fs::write(dir.join("rootfs/marker"), "v2").unwrap();
    ok(&e, "lxc-snapshot", &["-n", &n]);
    let snaps = dir.join("snaps");
    let s0 = snaps.join("snap0");
    assert!(s0.join("rootfs/bin/busybox").exists());
    assert_eq!(
        std::fs::read_to_string(s0.join("rootfs/marker")).unwrap(),
        "v1"
    );
    assert_eq!(
        std::fs::read_to_string(s0.join("comment")).unwrap(),
        "first one\nsecond line\n"
    );
    assert!(!exists(&snaps.join("snap1/comment")));
    let ts = std::fs::read_to_string(s0.join("ts")).unwrap();
    assert_eq!(ts.len(), 19, "{ts:?}");
    let cfg = std::fs::read_to_string(s0.join("config")).unwrap();
    assert!(
        cfg.contains(&format!("lxc.uts.name = \"{n}\"\n")),
        "the name is kept: {cfg}"
    );
    assert!(
        cfg.ends_with(&format!(
            "lxc.rootfs.path = dir:{}/snap0/rootfs\n",
            snaps.display()
        )),
        "{cfg}"
    );
    let sd = snaps.to_string_lossy().into_owned();
    check_listing(
        &ok(&e, "lxc-snapshot", &["-n", &n, "-L"]),
        &sd,
        &["snap0", "snap1"],
    );
    let with_c = ok(&e, "lxc-snapshot", &["-n", &n, "-L", "-C"]);
    assert!(
        with_c.contains(") ") && with_c.contains("\nfirst one\nsecond line\nsnap1 ("),
        "{with_c}"
    );
    let json = ok(&e, "lxc-snapshot", &["-n", &n, "-L", "--json"]);
    assert!(json.contains("\"name\": \"snap0\""), "{json}");

    // A snapshot cannot be destroyed with its container.
    let err = fails(&e, "lxc-destroy", &["-n", &n]);
    assert!(err.contains("has snapshots"), "{err}");
    // Restore as a new container...
    let r = uniq("snr");
    ok(&e, "lxc-snapshot", &["-n", &n, "-r", "snap0", "-N", &r]);
    let rd = e.root.join("lxc").join(&r);
    assert_eq!(
        std::fs::read_to_string(rd.join("rootfs/marker")).unwrap(),
        "v1"
    );
    let rcfg = std::fs::read_to_string(rd.join("config")).unwrap();
    assert!(
        rcfg.ends_with(&format!(
            "lxc.rootfs.path = dir:{}/{r}/rootfs\nlxc.uts.name = {r}\n",
            e.lxcpath()
        )),
        "{rcfg}"
    );
    start_and_attach(&e, &r);
    ok(&e, "lxc-stop", &["-n", &r, "-k"]);
    // ...and in place (the positional new name works too), keeping snaps.
    ok(&e, "lxc-snapshot", &["-n", &n, "-r", "snap0"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("rootfs/marker")).unwrap(),
        "v1"
    );
    assert!(snaps.join("snap1/config").exists());
    let p = uniq("snp");
    ok(&e, "lxc-snapshot", &["-n", &n, "-r", "snap1", &p]);
    assert_eq!(
        std::fs::read_to_string(e.root.join("lxc").join(&p).join("rootfs/marker")).unwrap(),
        "v2"
    );
    let err = fails(&e, "lxc-snapshot", &["-n", &n, "-r", "snap9"]);
    assert!(err.contains("Could not open snapshot snap9"), "{err}");

    ok(&e, "lxc-snapshot", &["-n", &n, "-d", "snap0"]);
    check_listing(&ok(&e, "lxc-snapshot", &["-n", &n, "-L"]), &sd, &["snap1"]);
    ok(&e, "lxc-snapshot", &["-n", &n]);
    ok(&e, "lxc-snapshot", &["-n", &n, "-d", "ALL"]);
    assert!(!exists(&snaps));
    ok(&e, "lxc-destroy", &["-n", &n]);
}

#[test]
fn overlay_container_snapshots() {
    let e = Env::new("osnap");
    let o = uniq("ob");
    create_bb(&e, &o, &[]);
    let c = uniq("oc");
    ok(&e, "lxc-copy", &["-n", &o, "-N", &c, "-s"]);
    let cd = e.root.join("lxc").join(&c);
    ok(&e, "lxc-start", &["-n", &c]);
    ok(
        &e,
        "lxc-attach",
        &["-n", &c, "--", "sh", "-c", "echo one > /state"],
    );
    ok(&e, "lxc-stop", &["-n", &c, "-k"]);
    ok(&e, "lxc-snapshot", &["-n", &c]);
    let s0 = cd.join("snaps/snap0");
    let cfg = std::fs::read_to_string(s0.join("config")).unwrap();
    assert!(
        cfg.contains(&format!(
            "lxc.rootfs.path = overlay:{0}/{o}/rootfs:{1}/overlay/delta\n",
            e.lxcpath(),
            s0.display()
        )),
        "{cfg}"
    );
    // A snapshot inside snaps/ records no dependency on its container.
    assert!(!exists(&cd.join("lxc_snapshots")));
    assert_eq!(
        std::fs::read_to_string(s0.join("overlay/delta/state")).unwrap(),
        "one\n"
    );
    ok(&e, "lxc-start", &["-n", &c]);
    ok(
        &e,
        "lxc-attach",
        &["-n", &c, "--", "sh", "-c", "echo two > /state"],
    );
    ok(&e, "lxc-stop", &["-n", &c, "-k"]);
    ok(&e, "lxc-snapshot", &["-n", &c, "-r", "snap0"]);
    ok(&e, "lxc-start", &["-n", &c]);
    assert_eq!(
        ok(&e, "lxc-attach", &["-n", &c, "--", "cat", "/state"]),
        "one\n"
    );
    ok(&e, "lxc-stop", &["-n", &c, "-k"]);
    // destroy -s takes the snapshots, then the container; the origin's
    // record of the clone goes with it.
    ok(&e, "lxc-destroy", &["-n", &c, "-s"]);
    assert!(!exists(&cd));
    assert!(!exists(&e.root.join("lxc").join(&o).join("lxc_snapshots")));
    ok(&e, "lxc-destroy", &["-n", &o]);
}

#[test]
fn destroy_with_snapshots_and_clones() {
    let e = Env::new("dess");
    let o = uniq("ds");
    create_bb(&e, &o, &[]);
    ok(&e, "lxc-snapshot", &["-n", &o]);
    ok(&e, "lxc-snapshot", &["-n", &o]);
    let c = uniq("dsc");
    ok(&e, "lxc-copy", &["-n", &o, "-N", &c, "-s"]);
    ok(&e, "lxc-destroy", &["-n", &o, "-s"]);
    assert!(!exists(&e.root.join("lxc").join(&o)));
    assert!(!exists(&e.root.join("lxc").join(&c)));
}

#[test]
fn snapshots_interoperate_with_lxc() {
    if !have_lxc() {
        eprintln!("skipped: LXC is not installed");
        return;
    }
    let e = Env::new("interop");
    let lp = e.lxcpath();
    // LXC makes the snapshot, lxcbox lists and restores it.
    let a = uniq("ia");
    create_bb(&e, &a, &[]);
    std::fs::write(
        e.root.join("lxc").join(&a).join("rootfs/marker"),
        "lxc-made",
    )
    .unwrap();
    let comment = e.root.join("c");
    std::fs::write(&comment, "by lxc\n").unwrap();
    let o = lxc(
        &lp,
        "lxc-snapshot",
        &["-n", &a, "-c", comment.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sd = format!("{lp}/{a}/snaps");
    check_listing(&ok(&e, "lxc-snapshot", &["-n", &a, "-L"]), &sd, &["snap0"]);
    assert!(ok(&e, "lxc-snapshot", &["-n", &a, "-L", "-C"]).ends_with("by lxc\n"));
    let ra = uniq("iar");
    ok(&e, "lxc-snapshot", &["-n", &a, "-r", "snap0", "-N", &ra]);
    assert_eq!(
        std::fs::read_to_string(e.root.join("lxc").join(&ra).join("rootfs/marker")).unwrap(),
        "lxc-made"
    );
    start_and_attach(&e, &ra);
    ok(&e, "lxc-stop", &["-n", &ra, "-k"]);
    // The listings agree.
    let ours = ok(&e, "lxc-snapshot", &["-n", &a, "-L", "-C"]);
    let theirs = lxc(&lp, "lxc-snapshot", &["-n", &a, "-L", "-C"]);
    assert_eq!(stdout(&theirs), ours);

    // lxcbox makes the snapshot, LXC lists and restores it.
    let b = uniq("ib");
    create_bb(&e, &b, &[]);
    std::fs::write(
        e.root.join("lxc").join(&b).join("rootfs/marker"),
        "lxcbox-made",
    )
    .unwrap();
    ok(
        &e,
        "lxc-snapshot",
        &["-n", &b, "-c", comment.to_str().unwrap()],
    );
    let l = lxc(&lp, "lxc-snapshot", &["-n", &b, "-L", "-C"]);
    assert_eq!(stdout(&l), ok(&e, "lxc-snapshot", &["-n", &b, "-L", "-C"]));
    let rb = uniq("ibr");
    let o = lxc(&lp, "lxc-snapshot", &["-n", &b, "-r", "snap0", "-N", &rb]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(e.root.join("lxc").join(&rb).join("rootfs/marker")).unwrap(),
        "lxcbox-made"
    );
    // LXC's own destroy of the lxcbox snapshot works too.
    let o = lxc(&lp, "lxc-snapshot", &["-n", &b, "-d", "snap0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!exists(&e.root.join("lxc").join(&b).join("snaps/snap0")));
    // And the dependency records: an lxcbox snapshot clone blocks LXC's destroy.
    let c = uniq("ibc");
    ok(&e, "lxc-copy", &["-n", &b, "-N", &c, "-s"]);
    let o = lxc(&lp, "lxc-destroy", &["-n", &b]);
    assert!(!o.status.success(), "LXC destroyed an origin with clones");
    let o = lxc(&lp, "lxc-destroy", &["-n", &c]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!exists(&e.root.join("lxc").join(&b).join("lxc_snapshots")));
}
