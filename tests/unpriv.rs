//! Unprivileged containers (issue 15): an ordinary user, set up as LXC's
//! guide sets one up (subuid/subgid ranges, delegated cgroups, idmap lines
//! in ~/.config/lxc/default.conf), creates, runs, copies and destroys
//! busybox containers in ~/.local/share/lxc.

#[path = "common/env.rs"]
mod env;
#[path = "common/oldkernel.rs"]
mod oldkernel;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/user.rs"]
mod user;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

use env::{stderr, stdout};
use user::{TestUser, SUB_START};

const DEFAULT_CONF: &str = "lxc.net.0.type = empty\n\
    lxc.idmap = u 0 100000 65536\n\
    lxc.idmap = g 0 100000 65536\n";

/// A test user with LXC's unprivileged default.conf.
fn user_with_default_conf(tag: &str) -> TestUser {
    let u = TestUser::new(tag);
    let dir = u.home.join(".config/lxc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("default.conf"), DEFAULT_CONF).unwrap();
    for d in [
        u.home.join(".config"),
        dir.clone(),
        dir.join("default.conf"),
    ] {
        u.chown(&d);
    }
    u
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {:?}\n{}\n{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// `lxc-attach -n NAME -- /bin/sh -c SCRIPT` as the user; its output.
fn attach_sh(u: &TestUser, name: &str, script: &str) -> String {
    ok(
        u.run("lxc-attach", &["-n", name, "--", "/bin/sh", "-c", script]),
        &format!("lxc-attach {name}"),
    )
}

fn host_uid_of(pid: &str) -> u32 {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let l = st.lines().find(|l| l.starts_with("Uid:")).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn info(u: &TestUser, name: &str, flag: &str) -> String {
    let o = u.run("lxc-info", &["-n", name, flag, "-H"]);
    stdout(&o).trim().to_string()
}

#[test]
fn ordinary_user_creates_runs_copies_and_destroys() {
    let u = user_with_default_conf("run");
    let lp = u.lxcpath();
    ok(
        u.run("lxc-create", &["-t", "busybox", "-n", "c1"]),
        "lxc-create",
    );
    let dir = lp.join("c1");
    // LXC's layout: the container directory belongs to the container's
    // root with the user's group; the rootfs to the mapped root.
    let md = std::fs::metadata(&dir).unwrap();
    assert_eq!((md.uid(), md.gid()), (SUB_START, u.gid));
    assert_eq!(TestUser::owner(&dir.join("rootfs/etc")), SUB_START);
    assert_eq!(TestUser::owner(&dir.join("config")), u.uid);

    ok(u.run("lxc-start", &["-n", "c1"]), "lxc-start");
    assert_eq!(info(&u, "c1", "-s"), "RUNNING");
    let pid = info(&u, "c1", "-p");
    assert_eq!(host_uid_of(&pid), SUB_START, "init runs as the mapped root");
    // It sits in the user's delegated cgroups.
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cg.contains(&format!("lxcbox-user-{}/", u.name)), "{cg}");

    let out = attach_sh(
        &u,
        "c1",
        "cat /proc/self/uid_map; id -u; touch /made-inside",
    );
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["0", "100000", "65536", "0"], "{out}");
    assert_eq!(
        TestUser::owner(&dir.join("rootfs/made-inside")),
        SUB_START,
        "a file made inside belongs to the mapped root on the host"
    );

    ok(
        u.run("lxc-cgroup", &["-n", "c1", "pids.max", "50"]),
        "lxc-cgroup set",
    );
    let v = ok(u.run("lxc-cgroup", &["-n", "c1", "pids.max"]), "get");
    assert_eq!(v.trim(), "50");
    ok(u.run("lxc-freeze", &["-n", "c1"]), "lxc-freeze");
    assert_eq!(info(&u, "c1", "-s"), "FROZEN");
    ok(u.run("lxc-unfreeze", &["-n", "c1"]), "lxc-unfreeze");
    assert_eq!(info(&u, "c1", "-s"), "RUNNING");
    ok(u.run("lxc-stop", &["-n", "c1"]), "lxc-stop");
    assert_eq!(info(&u, "c1", "-s"), "STOPPED");

    // An overlay snapshot of it, started.
    ok(
        u.run("lxc-copy", &["-n", "c1", "-N", "c2", "-s"]),
        "lxc-copy -s",
    );
    let conf = std::fs::read_to_string(lp.join("c2/config")).unwrap();
    assert!(conf.contains("lxc.rootfs.path = overlay:"), "{conf}");
    ok(u.run("lxc-start", &["-n", "c2"]), "lxc-start c2");
    let out = attach_sh(&u, "c2", "ls /made-inside; touch /in-c2; hostname");
    assert!(out.contains("/made-inside") && out.contains("c2"), "{out}");
    assert_eq!(
        TestUser::owner(&lp.join("c2/overlay/delta/in-c2")),
        SUB_START
    );
    assert!(
        !dir.join("rootfs/in-c2").exists(),
        "the origin is untouched"
    );
    ok(u.run("lxc-stop", &["-n", "c2", "-k"]), "lxc-stop c2");

    // A full copy, made as root of the container's user namespace: the
    // same mapped owners, and it runs.
    ok(u.run("lxc-copy", &["-n", "c1", "-N", "c3"]), "lxc-copy");
    assert_eq!(
        TestUser::owner(&lp.join("c3/rootfs/made-inside")),
        SUB_START
    );
    assert_eq!(TestUser::owner(&lp.join("c3/rootfs/bin")), SUB_START);
    let md = std::fs::metadata(lp.join("c3")).unwrap();
    assert_eq!((md.uid(), md.gid()), (SUB_START, u.gid));
    ok(u.run("lxc-start", &["-n", "c3"]), "lxc-start c3");
    let out = attach_sh(&u, "c3", "ls /made-inside; hostname");
    assert!(out.contains("/made-inside") && out.contains("c3"), "{out}");
    ok(u.run("lxc-stop", &["-n", "c3", "-k"]), "lxc-stop c3");
    // Other backing stores would need the mapped ids' files recreated
    // there: refused, nothing made.
    let o = u.run("lxc-copy", &["-n", "c1", "-N", "c4", "-B", "loop"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("only a directory copy"),
        "{}",
        stderr(&o)
    );
    assert!(!lp.join("c4").exists());
    ok(u.run("lxc-destroy", &["-n", "c3"]), "lxc-destroy c3");

    ok(u.run("lxc-destroy", &["-n", "c2"]), "lxc-destroy c2");
    ok(u.run("lxc-destroy", &["-n", "c1"]), "lxc-destroy c1");
    let left: Vec<_> = std::fs::read_dir(&lp).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A host that delegated no cgroup to the user: as with LXC, the
/// container runs without cgroups, and what needs one says so.
#[test]
fn without_delegated_cgroups_the_container_runs_without_them() {
    let u = user_with_default_conf("nocg");
    ok(
        u.run_undelegated("lxc-create", &["-t", "busybox", "-n", "n"]),
        "lxc-create",
    );
    ok(u.run_undelegated("lxc-start", &["-n", "n"]), "lxc-start");
    assert_eq!(info(&u, "n", "-s"), "RUNNING");
    let pid = info(&u, "n", "-p");
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(!cg.contains("lxc.payload"), "{cg}");
    ok(
        u.run_undelegated("lxc-attach", &["-n", "n", "--", "/bin/true"]),
        "lxc-attach",
    );
    let o = u.run_undelegated("lxc-cgroup", &["-n", "n", "pids.max"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the container has no cgroup"),
        "{}",
        stderr(&o)
    );
    ok(u.run_undelegated("lxc-stop", &["-n", "n"]), "lxc-stop");
    ok(
        u.run_undelegated("lxc-destroy", &["-n", "n"]),
        "lxc-destroy",
    );
}

#[test]
fn builtin_template_as_an_ordinary_user() {
    let u = user_with_default_conf("bi");
    let empty = u.home.join("no-templates");
    std::fs::create_dir_all(&empty).unwrap();
    let o = u
        .cmd(&u.bin, &["lxc-create", "-t", "busybox", "-n", "b1"])
        .env("LXCBOX_TEMPLATEDIR", &empty)
        .output()
        .unwrap();
    ok(o, "lxc-create (built-in busybox)");
    let conf = std::fs::read_to_string(u.lxcpath().join("b1/config")).unwrap();
    assert!(conf.contains("built into lxcbox"), "{conf}");
    assert_eq!(
        TestUser::owner(&u.lxcpath().join("b1/rootfs/bin")),
        SUB_START
    );
    ok(u.run("lxc-start", &["-n", "b1"]), "lxc-start");
    let out = attach_sh(&u, "b1", "id -u");
    assert_eq!(out.trim(), "0");
    ok(u.run("lxc-stop", &["-n", "b1", "-k"]), "lxc-stop");
    ok(u.run("lxc-destroy", &["-n", "b1"]), "lxc-destroy");
}

#[test]
fn bad_delegations_are_refused_with_nothing_made() {
    let u = user_with_default_conf("bad");
    let lp = u.lxcpath();
    // A map beyond the delegated range.
    let wide = u.home.join("wide.conf");
    std::fs::write(
        &wide,
        "lxc.net.0.type = empty\nlxc.idmap = u 0 100000 65537\nlxc.idmap = g 0 100000 65536\n",
    )
    .unwrap();
    u.chown(&wide);
    let o = u.run(
        "lxc-create",
        &["-t", "busybox", "-n", "w", "-f", wide.to_str().unwrap()],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("host ids 100000-165536 are not delegated to user")
            && err.contains("/etc/subuid"),
        "{err}"
    );
    assert!(!lp.join("w").exists(), "nothing left of w");

    // No map at all: LXC's suggestion, with the user's own ranges.
    std::fs::remove_file(u.home.join(".config/lxc/default.conf")).unwrap();
    let o = u.run("lxc-create", &["-t", "busybox", "-n", "m"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("needs lxc.idmap") && err.contains("lxc.idmap = u 0 100000 65536"),
        "{err}"
    );
    assert!(!lp.join("m").exists(), "nothing left of m");
    // Nor does such a container start: refused before anything is made.
    let d = lp.join("m2");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("config"), "lxc.net.0.type = empty\n").unwrap();
    let o = u.run("lxc-execute", &["-n", "m2", "--", "/bin/true"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("needs lxc.idmap"), "{}", stderr(&o));

    // No range at all.
    drop(u);
    let u = TestUser::without_subids("none");
    let dir = u.home.join(".config/lxc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("default.conf"), DEFAULT_CONF).unwrap();
    let lp = u.lxcpath();
    let o = u.run("lxc-create", &["-t", "busybox", "-n", "n"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("/etc/subuid has no range for user {}", u.name)),
        "{err}"
    );
    assert!(!lp.join("n").exists(), "nothing left of n");
}

#[test]
fn a_rootfs_the_mapped_root_cannot_reach_is_named() {
    let u = user_with_default_conf("acc");
    ok(
        u.run("lxc-create", &["-t", "busybox", "-n", "h"]),
        "lxc-create",
    );
    // A home only its owner may search, as many distributions make it.
    std::fs::set_permissions(&u.home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let o = u.run("lxc-start", &["-n", "h", "-F", "--", "/bin/true"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!("could not access {}", u.home.display()))
            && err.contains("setfacl -m u:100000:x"),
        "{err}"
    );
    assert_eq!(info(&u, "h", "-s"), "STOPPED");
    std::fs::set_permissions(&u.home, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    ok(u.run("lxc-destroy", &["-n", "h"]), "lxc-destroy");
    assert!(!Path::new(&u.lxcpath().join("h")).exists());
}

/// LXC 5's idmapped rootfs (root only: mount_setattr needs privilege over
/// the filesystem): one unshifted rootfs, files owned by host root on
/// disk, root's inside the mapped container.
#[test]
fn idmapped_rootfs_mount_serves_an_unshifted_rootfs() {
    let e = env::Env::new("idmnt");
    let map = "lxc.idmap = u 0 300000 65536\nlxc.idmap = g 0 300000 65536\n\
               lxc.net.0.type = empty\nlxc.mount.auto = proc:mixed\n";
    e.busybox("m", &format!("{map}lxc.rootfs.options = idmap=container\n"));
    let script = "stat -c %u /bin/busybox; touch /made-through-idmap && echo MADE";
    let o = e.run("lxc-execute", &["-n", "m", "--", "/bin/sh", "-c", script]);
    let rootfs = Path::new(&e.lxcpath()).join("m/rootfs");
    if oldkernel::whole_run() {
        // Linux 4.19 has no mount_setattr: refused, not ignored.
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("needs mount_setattr (Linux 5.12)"),
            "{}",
            stderr(&o)
        );
        return;
    }
    let out = stdout(&o);
    assert!(o.status.success(), "{out} {}", stderr(&o));
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words, ["0", "MADE"], "{out}");
    // Written through the mapping: on disk it is host root's, unshifted.
    assert_eq!(TestUser::owner(&rootfs.join("made-through-idmap")), 0);
    assert_eq!(TestUser::owner(&rootfs.join("bin/busybox")), 0);

    // Without the option the same rootfs is a stranger's inside.
    e.busybox("n", map);
    let o = e.run(
        "lxc-execute",
        &["-n", "n", "--", "/bin/sh", "-c", "stat -c %u /bin/busybox"],
    );
    assert_eq!(stdout(&o).trim(), "65534", "{}", stderr(&o));

    // A typo is refused, not ignored.
    e.busybox("t", &format!("{map}lxc.rootfs.options = idmap=contianer\n"));
    let o = e.run("lxc-execute", &["-n", "t", "--", "/bin/true"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("idmap=contianer"), "{}", stderr(&o));
}
