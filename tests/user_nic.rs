//! lxc-user-nic through a setuid-root copy of lxcbox, driven by an
//! ordinary test user, and the setuid rule for every other applet (root
//! only: it makes users, bridges, setuid files).
//!
//! The test user's "container" is `unshare -Urn sleep`: a process in a
//! user namespace and a network namespace of its own, as an unprivileged
//! container's init is. LXC's helper reads the fixed /etc/lxc/lxc-usernet,
//! so the test adds its lines there and takes exactly them out again.

#[path = "common/env.rs"]
mod env;
#[path = "net_support/mod.rs"]
mod net_support;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/user.rs"]
mod user;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use lxcbox::net::raw::{self, Kind, Socket};
use net_support::{make_link, name, LinkGuard};
use user::TestUser;

const USERNET: &str = "/etc/lxc/lxc-usernet";
const NICS: &str = "/run/lxc/nics";

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Lines added to /etc/lxc/lxc-usernet, removed (only they) on drop; the
/// file is removed again when a test created it and no line is left (a
/// marker says a test created it: tests overlap).
struct UsernetLines {
    lines: Vec<String>,
}

const CREATED_MARK: &str = "/run/lxcbox-test-usernet.created";

/// Serialises the edits of /etc/lxc/lxc-usernet by the tests (threads of
/// this binary and other test binaries): flock on a file of its own.
fn usernet_edit_lock() -> std::fs::File {
    std::fs::create_dir_all("/etc/lxc").unwrap();
    let f = std::fs::File::create("/run/lxcbox-test-usernet.lock").unwrap();
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive).unwrap();
    f
}

fn replace_file(p: &Path, text: &str) {
    let tmp = p.with_extension(format!("lxbt{}", std::process::id()));
    std::fs::write(&tmp, text).unwrap();
    std::fs::set_permissions(&tmp, PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::rename(&tmp, p).unwrap();
}

impl UsernetLines {
    fn add(lines: &[String]) -> UsernetLines {
        let _lock = usernet_edit_lock();
        let old = std::fs::read_to_string(USERNET);
        if old.is_err() {
            std::fs::write(CREATED_MARK, "").unwrap();
        }
        let mut text = old.unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        replace_file(Path::new(USERNET), &text);
        UsernetLines {
            lines: lines.to_vec(),
        }
    }
}

impl Drop for UsernetLines {
    fn drop(&mut self) {
        let _lock = usernet_edit_lock();
        let Ok(text) = std::fs::read_to_string(USERNET) else {
            return;
        };
        let kept: String = text
            .lines()
            .filter(|l| !self.lines.iter().any(|m| m == l))
            .map(|l| format!("{l}\n"))
            .collect();
        if kept.is_empty() && Path::new(CREATED_MARK).exists() {
            let _ = std::fs::remove_file(USERNET);
            let _ = std::fs::remove_file(CREATED_MARK);
        } else {
            replace_file(Path::new(USERNET), &kept);
        }
    }
}

/// A root-owned setuid copy of lxcbox in the user's home (`sbin/lxcbox`)
/// and links to it named after applets.
fn setuid_copy(u: &TestUser) -> PathBuf {
    privileged_copy(u, "sbin", None)
}

/// The same, in `dir`, as a setuid-root file or, with `caps`, a 0755 file
/// carrying those file capabilities (setcap from libcap2-bin).
fn privileged_copy(u: &TestUser, dir: &str, caps: Option<&str>) -> PathBuf {
    let dir = u.home.join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let b = dir.join("lxcbox");
    std::fs::copy(env::bin(), &b).unwrap();
    std::os::unix::fs::chown(&b, Some(0), Some(0)).unwrap();
    let mode = if caps.is_some() { 0o755 } else { 0o4755 };
    std::fs::set_permissions(&b, PermissionsExt::from_mode(mode)).unwrap();
    if let Some(c) = caps {
        let o = std::process::Command::new("setcap")
            .args([c, b.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "setcap: {}", text(&o));
    }
    for a in ["lxc-user-nic", "lxc-info", "lxc-create", "lxc-start"] {
        std::os::unix::fs::symlink("lxcbox", dir.join(a)).unwrap();
    }
    dir
}

/// The user's stand-in container: `unshare -Urn sleep 1000`, once it is in
/// its new network namespace.
fn user_container(u: &TestUser) -> Child {
    let mut c = u
        .cmd(Path::new("/usr/bin/unshare"), &["-Urn", "sleep", "1000"])
        .spawn()
        .unwrap();
    wait_own_netns(&mut c);
    c
}

fn wait_own_netns(c: &mut Child) {
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let theirs = std::fs::read_link(format!("/proc/{}/ns/net", c.id()));
        if theirs.is_ok_and(|t| t != own) {
            return;
        }
        assert!(
            c.try_wait().unwrap().is_none(),
            "the stand-in container exited"
        );
        assert!(Instant::now() < end, "no new network namespace");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The host links whose names LXC gives this user's veths.
fn user_veths(u: &TestUser) -> Vec<String> {
    net_support::host_links()
        .into_iter()
        .filter(|n| n.starts_with(&format!("veth{}_", u.uid)))
        .collect()
}

/// Held by every thread of this binary that opens /run/lxc/nics: closing
/// any fd of a file drops the process's POSIX locks on it, so a reader
/// must not close one while another thread holds LXC's lock.
static NICS_FDS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn nics_fds() -> std::sync::MutexGuard<'static, ()> {
    NICS_FDS.lock().unwrap_or_else(|e| e.into_inner())
}

/// On drop, takes the test user's records (and those of the group of the
/// same name) out of /run/lxc/nics (under
/// LXC's lock, in place, as the helpers edit it): their devices are gone
/// with the test's namespaces, and the user with the test.
struct NicsCleanup(String);

impl Drop for NicsCleanup {
    fn drop(&mut self) {
        let _g = nics_fds();
        let Ok(mut f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(NICS)
        else {
            return;
        };
        if rustix::fs::fcntl_lock(&f, rustix::fs::FlockOperation::LockExclusive).is_err() {
            return;
        }
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut f, &mut text);
        let kept: String = text
            .lines()
            .filter(|l| {
                let owner = l.split(' ').next().unwrap_or_default();
                owner != self.0 && owner.strip_prefix('@') != Some(self.0.as_str())
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let _ = rustix::io::pwrite(&f, kept.as_bytes(), 0);
        let _ = rustix::fs::ftruncate(&f, kept.len() as u64);
    }
}

fn nics_lines(u: &TestUser) -> Vec<String> {
    let _g = nics_fds();
    std::fs::read_to_string(NICS)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split(' ').next() == Some(u.name.as_str()))
        .map(str::to_string)
        .collect()
}

/// `lxc-user-nic create` as the user through the setuid copy.
fn create(u: &TestUser, sbin: &Path, pid: u32, bridge: &str, nic: Option<&str>) -> Output {
    let pid = pid.to_string();
    let lp = u.lxcpath();
    let mut a = vec!["create", lp.to_str().unwrap(), "c1", &pid, "veth", bridge];
    a.extend(nic);
    u.cmd(&sbin.join("lxc-user-nic"), &a).output().unwrap()
}

fn delete(u: &TestUser, sbin: &Path, ns: &str, bridge: &str, nic: &str) -> Output {
    let lp = u.lxcpath();
    let a = [
        "delete",
        lp.to_str().unwrap(),
        "c1",
        ns,
        "veth",
        bridge,
        nic,
    ];
    u.cmd(&sbin.join("lxc-user-nic"), &a).output().unwrap()
}

/// `NAME:IFINDEX:HOST:HOSTIFINDEX`, liblxc's parse of the output line.
fn parse_line(o: &Output) -> (String, i32, String, i32) {
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    let f: Vec<&str> = s.trim_end().split(':').collect();
    assert_eq!(f.len(), 4, "output line: {}", text(o));
    (
        f[0].to_string(),
        f[1].parse().unwrap(),
        f[2].to_string(),
        f[3].parse().unwrap(),
    )
}

fn bridge(tag: &str, mtu: u32) -> (LinkGuard, String, raw::Link) {
    let n = name(tag);
    let g = make_link(&n, Kind::Bridge, None);
    let mut s = Socket::open().unwrap();
    let l = raw::by_name(&mut s, &n).unwrap().unwrap();
    let c = raw::Change {
        mtu: Some(mtu),
        ..raw::Change::default()
    };
    raw::change(&mut s, l.index, &c).unwrap();
    let l = raw::by_name(&mut s, &n).unwrap().unwrap();
    (g, n, l)
}

/// What most tests start from, dropped in field order (lines, bridge,
/// records, then the user): a test user with a setuid copy, a test bridge
/// of `mtu`, and an lxc-usernet line giving the user `quota` veths on it.
struct Setup {
    _lines: UsernetLines,
    _bg: LinkGuard,
    _nics: NicsCleanup,
    br: String,
    brl: raw::Link,
    sbin: PathBuf,
    u: TestUser,
}

impl Setup {
    fn new(tag: &str, mtu: u32, quota: u32) -> Option<Setup> {
        if !is_root() {
            eprintln!("skipped: needs root");
            return None;
        }
        let u = TestUser::new(tag);
        let nics = NicsCleanup(u.name.clone());
        let sbin = setuid_copy(&u);
        let (bg, br, brl) = bridge(&format!("{tag}b"), mtu);
        let lines = UsernetLines::add(&[format!("{} veth {br} {quota}", u.name)]);
        Some(Setup {
            _lines: lines,
            _bg: bg,
            _nics: nics,
            br,
            brl,
            sbin,
            u,
        })
    }
}

#[test]
fn user_gets_a_veth_up_to_the_quota_and_deletes_it() {
    let Some(t) = Setup::new("un", 1400, 1) else {
        return;
    };
    let (u, sbin, br, brl) = (&t.u, &t.sbin, &t.br, &t.brl);
    let c1 = user_container(u);

    let o = create(u, sbin, c1.id(), br, Some("eth0"));
    assert!(o.status.success(), "{}", text(&o));
    let (cname, cidx, host, hidx) = parse_line(&o);
    assert_eq!(cname, "eth0");
    // LXC's host name for a uid up to 65536.
    assert!(host.starts_with(&format!("veth{}_", u.uid)), "{host}");
    assert_eq!(host.len(), format!("veth{}_", u.uid).len() + 4);
    let mut s = Socket::open().unwrap();
    let hl = raw::by_index(&mut s, hidx).unwrap().expect("host end");
    assert_eq!(hl.name, host);
    assert_eq!(hl.master, Some(brl.index), "host end on the bridge");
    assert_eq!(hl.mtu, 1400, "the bridge's MTU");
    assert_eq!(hl.mac.first(), Some(&0xfe), "LXC's private host MAC");
    assert!(hl.flags & 1 != 0, "host end up");
    let inside = lxcbox::net::in_netns(c1.id() as i32, move || {
        let mut s = Socket::open()?;
        Ok(raw::by_index(&mut s, cidx)?)
    })
    .unwrap()
    .expect("the container end inside");
    assert_eq!((inside.name.as_str(), inside.mtu), ("eth0", 1400));
    assert_eq!(
        nics_lines(u),
        vec![format!("{} veth {br} {host}", u.name)],
        "/run/lxc/nics records it as LXC does"
    );

    // The quota (1) stops the next one, and nothing is made.
    let o = create(u, sbin, c1.id(), br, Some("eth1"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Quota reached"),
        "{}",
        text(&o)
    );
    assert_eq!(user_veths(u), vec![host.clone()]);

    // delete: only with the namespace the device's peer is in.
    let own_ns = format!("/proc/{}/ns/net", std::process::id());
    let o = delete(u, sbin, &own_ns, br, &host);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(raw::by_name(&mut s, &host).unwrap().is_some());
    let ns = format!("/proc/{}/ns/net", c1.id());
    let o = delete(u, sbin, &ns, br, "veth0_nothere");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not allowed to delete"),
        "{}",
        text(&o)
    );
    let o = delete(u, sbin, &ns, br, &host);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        raw::by_name(&mut s, &host).unwrap().is_none(),
        "host end deleted"
    );
    assert!(nics_lines(u).is_empty(), "record removed");

    // The quota is free again; without a name the kernel picks eth%d.
    let o = create(u, sbin, c1.id(), br, None);
    assert!(o.status.success(), "{}", text(&o));
    let (cname, _, host2, _) = parse_line(&o);
    assert!(cname.starts_with("eth"), "{cname}");
    // liblxc's delete passes /proc/ITS_PID/fd/N, an fd it holds on the
    // container's namespace: a process of the user's holding one will do.
    let holder = u
        .cmd(
            Path::new("/bin/sh"),
            &[
                "-c",
                &format!("exec 3</proc/{}/ns/net; exec sleep 1000", c1.id()),
            ],
        )
        .spawn()
        .unwrap();
    let fd3 = format!("/proc/{}/fd/3", holder.id());
    let end = Instant::now() + Duration::from_secs(10);
    while std::fs::read_link(&fd3).map_or(true, |l| !l.to_string_lossy().starts_with("net:")) {
        assert!(Instant::now() < end, "no netns fd in the holder");
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = delete(u, sbin, &fd3, br, &host2);
    assert!(o.status.success(), "{}", text(&o));
    assert!(raw::by_name(&mut s, &host2).unwrap().is_none());
    kill(holder);
    let o = create(u, sbin, c1.id(), br, None);
    assert!(o.status.success(), "{}", text(&o));
    let (_, _, host2, _) = parse_line(&o);

    // The container stops: its namespace takes the pair along; the next
    // run culls the stale record before counting.
    kill(c1);
    let end = Instant::now() + Duration::from_secs(10);
    while raw::by_name(&mut s, &host2).unwrap().is_some() {
        assert!(Instant::now() < end, "{host2} outlived its namespace");
        std::thread::sleep(Duration::from_millis(50));
    }
    let c2 = user_container(u);
    let o = create(u, sbin, c2.id(), br, Some("eth0"));
    assert!(o.status.success(), "{}", text(&o));
    let (_, _, host3, _) = parse_line(&o);
    assert_eq!(nics_lines(u), vec![format!("{} veth {br} {host3}", u.name)]);
    kill(c2);
}

#[test]
fn refusals_leave_nothing_behind() {
    let Some(t) = Setup::new("ur", 1500, 5) else {
        return;
    };
    let (u, sbin, br) = (&t.u, &t.sbin, &t.br);
    let (_bg2, br2, _) = bridge("rc", 1500);

    // A network namespace of root's: the user may not enter it.
    let mut root_ns = std::process::Command::new("/usr/bin/unshare")
        .args(["-n", "sleep", "1000"])
        .spawn()
        .unwrap();
    wait_own_netns(&mut root_ns);
    let o = create(u, sbin, root_ns.id(), br, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("may not modify netns"),
        "{}",
        text(&o)
    );
    let o = delete(
        u,
        sbin,
        &format!("/proc/{}/ns/net", root_ns.id()),
        br,
        "vethx",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    kill(root_ns);

    // The user's own process in the host's namespace: readable, but the
    // user is not privileged over it.
    let mut plain = u.cmd(Path::new("/bin/sleep"), &["1000"]).spawn().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(format!("/proc/{}/status", plain.id()))
        .unwrap_or_default()
        .contains(&format!("Uid:\t{}", u.uid))
    {
        assert!(Instant::now() < end);
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = create(u, sbin, plain.id(), br, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not privileged"),
        "{}",
        text(&o)
    );
    let _ = plain.kill();
    let _ = plain.wait();

    let c = user_container(u);
    // A bridge lxc-usernet does not list for the user.
    let o = create(u, sbin, c.id(), &br2, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Quota reached"),
        "{}",
        text(&o)
    );
    // ... also when the caller points LXCBOX_USERNET at a file of theirs:
    // a setuid binary does not trust the caller's environment.
    let mine = u.home.join("usernet");
    std::fs::write(&mine, format!("{} veth {br2} 9\n", u.name)).unwrap();
    let lp = u.lxcpath();
    let pid = c.id().to_string();
    let a = ["create", lp.to_str().unwrap(), "c1", &pid, "veth", &br2];
    let o = u
        .cmd(&sbin.join("lxc-user-nic"), &a)
        .env("LXCBOX_USERNET", &mine)
        .env("LXCBOX_USERNIC_DB", u.home.join("nics"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(USERNET),
        "{}",
        text(&o)
    );
    // The user's plain (not setuid) copy says what it lacks.
    let a = ["create", lp.to_str().unwrap(), "c1", &pid, "veth", br];
    let o = u
        .cmd(&u.bin, &[&["lxc-user-nic"][..], &a].concat())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("setuid-root"),
        "{}",
        text(&o)
    );
    // Bad arguments: LXC's usage (status 1), a bad pid, a bad name, a
    // type other than veth.
    let o = u
        .cmd(&sbin.join("lxc-user-nic"), &["create", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Available Commands:"));
    let o = create(u, sbin, 0, br, None);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Could not read pid: 0"),
        "{}",
        text(&o)
    );
    let o = create(u, sbin, c.id(), br, Some("a/b"));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("invalid container nicname"),
        "{}",
        text(&o)
    );
    let a = ["create", lp.to_str().unwrap(), "c1", &pid, "macvlan", br];
    let o = u.cmd(&sbin.join("lxc-user-nic"), &a).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // A name already taken inside the container: the rename fails and the
    // pair and its record go again.
    let o = create(u, sbin, c.id(), br, Some("lo"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("rename"),
        "{}",
        text(&o)
    );

    assert!(user_veths(u).is_empty(), "left behind: {:?}", user_veths(u));
    assert!(
        nics_lines(u).is_empty(),
        "records left: {:?}",
        nics_lines(u)
    );
    let inside = lxcbox::net::links_of_pid(c.id() as i32).unwrap();
    assert_eq!(inside.len(), 1, "only lo inside: {inside:?}");
    kill(c);
}

/// An lxcpath with container c1 whose config (`lxc.uts.name =
/// secret-c1`) is root's, mode 0600, in directories anyone may search.
fn root_only_config(tag: &str) -> (env::Env, PathBuf) {
    let e = env::Env::new(tag);
    let dir = PathBuf::from(e.lxcpath()).join("c1");
    std::fs::create_dir_all(&dir).unwrap();
    for d in [e.root.clone(), PathBuf::from(e.lxcpath()), dir.clone()] {
        std::fs::set_permissions(&d, PermissionsExt::from_mode(0o755)).unwrap();
    }
    let conf = dir.join("config");
    std::fs::write(&conf, "lxc.uts.name = secret-c1\n").unwrap();
    std::fs::set_permissions(&conf, PermissionsExt::from_mode(0o600)).unwrap();
    (e, conf)
}

#[test]
fn setuid_copy_runs_other_applets_as_the_caller() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let u = TestUser::new("us");
    let _nics = NicsCleanup(u.name.clone());
    let sbin = setuid_copy(&u);
    // A container whose config only root may read.
    let (e, conf) = root_only_config("usersuid");
    let lp = e.lxcpath();
    let args = ["-n", "c1", "-P", lp.as_str(), "-c", "lxc.uts.name"];
    // Root, through the same binary, reads it.
    let o = std::process::Command::new(sbin.join("lxc-info"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("secret-c1"),
        "{}",
        text(&o)
    );
    // The user, through the setuid copy, does not: lxc-info runs with the
    // user's ids, under its link name and as `lxcbox info`.
    let o = u.cmd(&sbin.join("lxc-info"), &args).output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("secret-c1"),
        "{}",
        text(&o)
    );
    let mut multi = vec!["info"];
    multi.extend(args);
    let o = u.cmd(&sbin.join("lxcbox"), &multi).output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("secret-c1"),
        "{}",
        text(&o)
    );
    // lxc-start of that container: the user cannot read its config.
    let o = u
        .cmd(&sbin.join("lxc-start"), &["-n", "c1", "-P", &lp, "-F"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Permission denied"),
        "{}",
        text(&o)
    );
    // lxc-create -f of the root-only file: refused reading it, and what it
    // makes (in the user's own lxcpath) belongs to the user.
    let ulp = u.lxcpath();
    std::fs::create_dir_all(&ulp).unwrap();
    u.chown(&ulp);
    let cf = conf.to_str().unwrap();
    let o = u
        .cmd(
            &sbin.join("lxc-create"),
            &[
                "-n",
                "c2",
                "-P",
                ulp.to_str().unwrap(),
                "-f",
                cf,
                "-t",
                "none",
            ],
        )
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!ulp.join("c2/config").exists() || TestUser::owner(&ulp.join("c2")) == u.uid);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        all.contains(&format!("reading {cf}: Permission denied")),
        "{}",
        text(&o)
    );
    // Root, through the same copy, creates from it.
    let rlp = PathBuf::from(e.lxcpath()).join("root-made");
    std::fs::create_dir_all(&rlp).unwrap();
    let o = std::process::Command::new(sbin.join("lxc-create"))
        .args([
            "-n",
            "c2",
            "-P",
            rlp.to_str().unwrap(),
            "-f",
            cf,
            "-t",
            "none",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(rlp.join("c2/config").exists());
}

/// LXC's own helper, where the lxc package installed it.
const LXC_HELPER: &str = "/usr/libexec/lxc/lxc-user-nic";

#[test]
fn shares_quota_and_records_with_lxcs_helper() {
    if !Path::new(LXC_HELPER).exists() {
        eprintln!("skipped: needs LXC's {LXC_HELPER}");
        return;
    }
    let Some(t) = Setup::new("ux", 1500, 2) else {
        return;
    };
    let (u, sbin, br) = (&t.u, &t.sbin, &t.br);
    let c = user_container(u);
    let pid = c.id().to_string();
    let lp = u.lxcpath();
    let lxc_create = |nic: &str| {
        let a = ["create", lp.to_str().unwrap(), "c1", &pid, "veth", br, nic];
        u.cmd(Path::new(LXC_HELPER), &a).output().unwrap()
    };
    // One by LXC, one by lxcbox: the quota of 2 is used up for both.
    let o = lxc_create("eth0");
    assert!(o.status.success(), "LXC: {}", text(&o));
    let (_, _, lxc_host, _) = parse_line(&o);
    let o = create(u, sbin, c.id(), br, Some("eth1"));
    assert!(o.status.success(), "{}", text(&o));
    let (_, _, our_host, _) = parse_line(&o);
    assert_eq!(
        nics_lines(u),
        vec![
            format!("{} veth {br} {lxc_host}", u.name),
            format!("{} veth {br} {our_host}", u.name)
        ]
    );
    let o = create(u, sbin, c.id(), br, Some("eth2"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = lxc_create("eth2");
    assert_eq!(o.status.code(), Some(1), "LXC: {}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Quota reached"),
        "LXC: {}",
        text(&o)
    );
    // lxcbox deletes LXC's device (recorded for the same user) too, and
    // LXC then has room again.
    let ns = format!("/proc/{}/ns/net", c.id());
    let o = delete(u, sbin, &ns, br, &lxc_host);
    assert!(o.status.success(), "{}", text(&o));
    let o = lxc_create("eth3");
    assert!(o.status.success(), "LXC: {}", text(&o));
    assert_eq!(nics_lines(u).len(), 2, "{:?}", nics_lines(u));
    kill(c);
}

/// lxcbox waits for LXC's lock of /run/lxc/nics (a POSIX write lock over
/// the whole file) before it reads or writes the records.
#[test]
fn waits_for_lxcs_lock_on_the_records() {
    let Some(t) = Setup::new("ul", 1500, 1) else {
        return;
    };
    let (u, sbin, br) = (&t.u, &t.sbin, &t.br);
    let c = user_container(u);
    std::fs::create_dir_all("/run/lxc").unwrap();
    let fds = nics_fds();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(NICS)
        .unwrap();
    // The test process holds it, as another lxc-user-nic would (POSIX
    // locks conflict between processes: the helper is one).
    rustix::fs::fcntl_lock(&f, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let t = Instant::now();
    let held = Duration::from_millis(1500);
    let o = std::thread::scope(|sc| {
        let h = sc.spawn(|| create(u, sbin, c.id(), br, None));
        std::thread::sleep(held);
        assert!(!h.is_finished(), "finished while the lock was held");
        rustix::fs::fcntl_lock(&f, rustix::fs::FlockOperation::Unlock).unwrap();
        h.join().unwrap()
    });
    drop(f);
    drop(fds);
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.elapsed() >= held);
    kill(c);
}

/// The start side, run by the test user (this test binary re-executed as
/// them, see `as_the_user_setup_host`): lxcbox's host half of an ordinary
/// user's veth goes through the setuid helper found next to the binary.
#[test]
fn an_ordinary_users_veth_comes_from_the_helper() {
    let Some(t) = Setup::new("uh", 1500, 1) else {
        return;
    };
    let (u, sbin, br, brl) = (&t.u, &t.sbin, &t.br, &t.brl);
    let c = user_container(u);
    let bin = u.home.join("bin");
    let exe = bin.join("user_nic_test");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(sbin.join("lxcbox"), bin.join("lxc-user-nic")).unwrap();
    let o = u
        .cmd(
            &exe,
            &[
                "--ignored",
                "--exact",
                "as_the_user_setup_host",
                "--nocapture",
                "--test-threads=1",
            ],
        )
        .env("LXBT_PID", c.id().to_string())
        .env("LXBT_BRIDGE", br)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    let host = out
        .lines()
        .find_map(|l| l.split_once("HOST:").map(|(_, h)| h.trim()))
        .unwrap_or_else(|| panic!("no HOST line: {}", text(&o)))
        .to_string();
    let mut s = Socket::open().unwrap();
    let l = raw::by_name(&mut s, &host).unwrap().expect("host end");
    assert_eq!(l.master, Some(brl.index));
    assert_eq!(nics_lines(u), vec![format!("{} veth {br} {host}", u.name)]);
    let inside = lxcbox::net::links_of_pid(c.id() as i32).unwrap();
    assert!(inside.iter().any(|n| n == "lxcnet0"), "{inside:?}");
    // Without a teardown the pair goes with its namespace.
    kill(c);
    let end = Instant::now() + Duration::from_secs(10);
    while raw::by_name(&mut s, &host).unwrap().is_some() {
        assert!(Instant::now() < end, "{host} outlived its namespace");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs only re-executed by `an_ordinary_users_veth_comes_from_the_helper`,
/// as the test user.
#[test]
#[ignore]
fn as_the_user_setup_host() {
    use lxcbox::config::{NetDev, NetType};
    assert!(!is_root(), "meant to run as the test user");
    let pid: i32 = std::env::var("LXBT_PID").unwrap().parse().unwrap();
    let br = std::env::var("LXBT_BRIDGE").unwrap();
    let mut d = NetDev {
        index: 0,
        kind: NetType::Veth,
        link: Some(br.clone()),
        up: true,
        ..NetDev::default()
    };
    // What needs root on the host is refused before anything is made.
    d.veth_mode = Some("router".into());
    let e = lxcbox::net::setup_host_at(std::slice::from_ref(&d), None, "c1", pid).unwrap_err();
    assert!(format!("{e:#}").contains("veth.mode"), "{e:#}");
    d.veth_mode = None;
    let hn = lxcbox::net::setup_host_at(std::slice::from_ref(&d), None, "c1", pid)
        .unwrap_or_else(|e| panic!("setup_host as the user: {e:#}"));
    let hd = &hn.devs[0];
    assert!(hd.via_helper);
    assert_eq!(hd.ns_ifname.as_deref(), Some("lxcnet0"));
    println!("HOST:{}", hd.host_ifname.as_deref().unwrap());
    // The quota is 1: a second device is refused with the helper's reason.
    let two = [
        d.clone(),
        NetDev {
            index: 1,
            ..d.clone()
        },
    ];
    let e = lxcbox::net::setup_host_at(&two, None, "c1", pid).unwrap_err();
    assert!(format!("{e:#}").contains("Quota reached"), "{e:#}");
    // No teardown here: it would delete the pair through the helper (what
    // a container's stop does, tested with a real container below), and
    // the parent still inspects it.
    drop(hn);
}

/// A file-capability copy instead of a setuid one: lxc-user-nic works with
/// those capabilities, every other applet drops them (with
/// CAP_DAC_OVERRIDE kept, lxc-info would read root's 0600 config).
#[test]
fn file_capability_copy_keeps_capabilities_only_for_lxc_user_nic() {
    let Some(t) = Setup::new("uc", 1500, 1) else {
        return;
    };
    if std::process::Command::new("setcap")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("skipped: no setcap");
        return;
    }
    let u = &t.u;
    let caps = privileged_copy(
        u,
        "capbin",
        Some("cap_net_admin,cap_sys_admin,cap_dac_override+ep"),
    );
    let (e, _conf) = root_only_config("usercaps");
    let lp = e.lxcpath();
    let args = ["-n", "c1", "-P", lp.as_str(), "-c", "lxc.uts.name"];
    let o = u.cmd(&caps.join("lxc-info"), &args).output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("secret-c1"),
        "{}",
        text(&o)
    );

    let c = user_container(u);
    let o = create(u, &caps, c.id(), &t.br, Some("eth0"));
    assert!(o.status.success(), "{}", text(&o));
    let (cname, _, host, _) = parse_line(&o);
    assert_eq!(cname, "eth0");
    assert_eq!(
        nics_lines(u),
        vec![format!("{} veth {} {host}", u.name, t.br)]
    );
    kill(c);
}

/// A user line and a line of the user's group (`@GROUP`): quotas fill in
/// file order, each record naming the line it counts against.
#[test]
fn group_lines_count_after_the_users_own() {
    let Some(t) = Setup::new("ug", 1500, 1) else {
        return;
    };
    let u = &t.u;
    let group = String::from_utf8(
        std::process::Command::new("id")
            .args(["-gn", &u.name])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let _more = UsernetLines::add(&[format!("@{group} veth {} 1", t.br)]);
    let c = user_container(u);
    for nic in ["eth0", "eth1"] {
        let o = create(u, &t.sbin, c.id(), &t.br, Some(nic));
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = create(u, &t.sbin, c.id(), &t.br, Some("eth2"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let owners: Vec<String> = std::fs::read_to_string(NICS)
        .unwrap()
        .lines()
        .filter(|l| l.contains(&format!(" veth {} ", t.br)))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(owners, vec![u.name.clone(), format!("@{group}")]);
    kill(c);
}

/// The usage text and the exit statuses of bad command lines, beside LXC's
/// own helper.
#[test]
fn usage_and_bad_arguments_as_lxcs_helper() {
    if !Path::new(LXC_HELPER).exists() {
        eprintln!("skipped: needs LXC's {LXC_HELPER}");
        return;
    }
    let ours = |a: &[&str]| {
        std::process::Command::new(env::bin())
            .arg("lxc-user-nic")
            .args(a)
            .output()
            .unwrap()
    };
    let lxc = |a: &[&str]| {
        std::process::Command::new(LXC_HELPER)
            .args(a)
            .output()
            .unwrap()
    };
    for a in [
        &[][..],
        &["--help"],
        &["create", "a", "b", "1", "veth"],
        &["frob", "a", "b", "c", "d", "e"],
        &["create", "a", "b", "c", "d", "e", "f", "g"],
    ] {
        let (o, l) = (ours(a), lxc(a));
        assert_eq!(o.status.code(), l.status.code(), "{a:?}: {}", text(&o));
        assert_eq!(o.stderr, l.stderr, "{a:?}: {}", text(&o));
        assert!(o.stdout.is_empty());
    }
    // A pid that is no number: status 1 and LXC's words (without its
    // source-file prefix).
    let a = ["create", "a", "b", "notapid", "veth", "br0"];
    let (o, l) = (ours(&a), lxc(&a));
    assert_eq!((o.status.code(), l.status.code()), (Some(1), Some(1)));
    assert!(String::from_utf8_lossy(&l.stderr).contains("Could not read pid: notapid"));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "lxc-user-nic: Could not read pid: notapid\n"
    );
}

/// An ordinary user's veth container on the test bridge, end to end: its
/// lxc-start (the user's monitor) gets the pair from the setuid copy next
/// to the user's lxcbox; the quota stops a second container; after the
/// first stops, the record is culled and the second gets its turn.
#[test]
fn users_veth_container_through_the_helper() {
    let Some(t) = Setup::new("ue", 1500, 1) else {
        return;
    };
    let u = &t.u;
    std::os::unix::fs::symlink(t.sbin.join("lxcbox"), u.home.join("bin/lxc-user-nic")).unwrap();
    let dir = u.home.join(".config/lxc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("default.conf"),
        format!(
            "lxc.net.0.type = veth\nlxc.net.0.link = {}\nlxc.net.0.name = eth0\nlxc.net.0.flags = up\n\
             lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n",
            t.br
        ),
    )
    .unwrap();
    for d in [
        u.home.join(".config"),
        dir.clone(),
        dir.join("default.conf"),
    ] {
        u.chown(&d);
    }
    let ok = |o: Output, what: &str| {
        assert!(o.status.success(), "{what}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for c in ["c1", "c2"] {
        ok(
            u.run("lxc-create", &["-t", "busybox", "-n", c]),
            "lxc-create",
        );
    }
    ok(u.run("lxc-start", &["-n", "c1"]), "lxc-start c1");
    let out = ok(
        u.run(
            "lxc-attach",
            &[
                "-n",
                "c1",
                "--",
                "/bin/cat",
                "/sys/class/net/eth0/operstate",
                "/proc/net/dev",
            ],
        ),
        "lxc-attach",
    );
    assert!(out.contains("eth0:"), "{out}");
    let recs = nics_lines(u);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let host = recs[0].rsplit(' ').next().unwrap().to_string();
    assert!(host.starts_with(&format!("veth{}_", u.uid)), "{host}");
    let mut s = Socket::open().unwrap();
    let l = raw::by_name(&mut s, &host).unwrap().expect("host end");
    assert_eq!(l.master, Some(t.brl.index));

    // The quota of 1 stops the second one, with the helper's reason.
    let o = u.run("lxc-start", &["-n", "c2", "-F", "--", "/bin/true"]);
    assert!(!o.status.success(), "{}", text(&o));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(all.contains("Quota reached"), "{}", text(&o));
    assert_eq!(user_veths(u), vec![host.clone()]);

    ok(u.run("lxc-stop", &["-n", "c1", "-k"]), "lxc-stop c1");
    // The stop deleted the host end and its record through the helper
    // (lxc-stop returns at STOPPED; the monitor's teardown ends soon after).
    let end = Instant::now() + Duration::from_secs(10);
    while raw::by_name(&mut s, &host).unwrap().is_some() || !nics_lines(u).is_empty() {
        assert!(
            Instant::now() < end,
            "{host} or its record outlived c1: {:?}",
            nics_lines(u)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(u.run("lxc-start", &["-n", "c2"]), "lxc-start c2");
    let recs = nics_lines(u);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_ne!(recs[0].rsplit(' ').next(), Some(host.as_str()));
    ok(u.run("lxc-stop", &["-n", "c2", "-k"]), "lxc-stop c2");
    for c in ["c1", "c2"] {
        ok(u.run("lxc-destroy", &["-n", c]), "lxc-destroy");
    }
}
