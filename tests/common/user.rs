//! An ordinary user made by the test, as LXC's unprivileged set-up wants
//! one (man lxc, "unprivileged containers"): a home, 100000-165535 in
//! /etc/subuid and /etc/subgid, a cgroup in every hierarchy made by root
//! and chowned to the user, and a run directory for $XDG_RUNTIME_DIR. Its
//! commands run through util-linux's setpriv after root moved the shell
//! into those cgroups (cgroup v2 only lets root move a process across the
//! root-owned part of the tree). Everything is removed on drop: the
//! user's processes killed, the cgroups, the user, its subid lines.
//!
//! Include with `#[path = "common/user.rs"] mod user;` (needs env.rs).
#![allow(dead_code)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::env::bin;

/// The subordinate range every test user gets.
pub const SUB_START: u32 = 100000;
pub const SUB_COUNT: u32 = 65536;

pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    /// A copy of lxcbox the user may execute (the test's target directory
    /// may sit under root's 0700 home).
    pub bin: PathBuf,
    /// Delegated cgroups, one per mounted hierarchy.
    pub cgroups: Vec<PathBuf>,
}

/// Run a root command of shadow's (useradd, usermod, userdel), retrying
/// while another test holds one of its locks ("cannot lock /etc/passwd",
/// "/etc/subuid"; exit codes vary by tool).
pub fn root_cmd(prog: &str, args: &[&str]) -> Output {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let o = Command::new(prog).args(args).output().unwrap();
        let locked = String::from_utf8_lossy(&o.stderr).contains("lock");
        if o.status.success() || !locked || Instant::now() > end {
            return o;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A uid no account has, never handed out twice by this process: userdel
/// then useradd would otherwise reuse a uid whose processes are still
/// going away, and checks (or the pkill on drop) by uid would reach
/// another test's processes.
fn free_uid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let uid = 20000 + (std::process::id() % 2000) * 16 + n % 16;
        let taken = Command::new("getent")
            .args(["passwd", &uid.to_string()])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(true);
        if !taken {
            return uid;
        }
    }
}

/// Mount points of the cgroup hierarchies (v1 and v2) of this host.
fn hierarchies() -> Vec<PathBuf> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mi.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split_whitespace().next()?;
            (fstype == "cgroup" || fstype == "cgroup2")
                .then(|| PathBuf::from(pre.split_whitespace().nth(4).unwrap()))
        })
        .collect()
}

impl TestUser {
    pub fn new(tag: &str) -> TestUser {
        TestUser::make(tag, true)
    }

    /// A user the host delegated no subordinate ids to.
    pub fn without_subids(tag: &str) -> TestUser {
        TestUser::make(tag, false)
    }

    fn make(tag: &str, subids: bool) -> TestUser {
        let name = format!("lxbt{tag}{}", std::process::id() % 100000);
        assert!(name.len() <= 31, "user name {name} too long");
        let home = PathBuf::from(format!("/tmp/lxcbox-home-{name}"));
        let _ = std::fs::remove_dir_all(&home);
        let _ = root_cmd("userdel", &["-f", &name]);
        let uid = free_uid().to_string();
        let o = root_cmd(
            "useradd",
            // No subordinate ids of useradd's choosing (login.defs'
            // SUB_UID_COUNT): the test gives exactly SUB_START..
            &[
                "-M",
                "-u",
                &uid,
                "-K",
                "SUB_UID_COUNT=0",
                "-K",
                "SUB_GID_COUNT=0",
                "-d",
                home.to_str().unwrap(),
                "-s",
                "/bin/sh",
                &name,
            ],
        );
        assert!(o.status.success(), "useradd {name}: {o:?}");
        if subids {
            let range = format!("{SUB_START}-{}", SUB_START + SUB_COUNT - 1);
            let o = root_cmd(
                "usermod",
                &["--add-subuids", &range, "--add-subgids", &range, &name],
            );
            assert!(o.status.success(), "usermod {name}: {o:?}");
        }
        let id = |flag: &str| -> u32 {
            let o = Command::new("id").args([flag, &name]).output().unwrap();
            String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
        };
        let (uid, gid) = (id("-u"), id("-g"));
        let mut u = TestUser {
            name,
            uid,
            gid,
            home: home.clone(),
            bin: home.join("bin/lxcbox"),
            cgroups: Vec::new(),
        };
        for d in [home.clone(), home.join("bin"), u.runtime_dir()] {
            std::fs::create_dir_all(&d).unwrap();
            u.chown(&d);
        }
        std::fs::set_permissions(u.runtime_dir(), PermissionsExt::from_mode(0o700)).unwrap();
        std::fs::copy(bin(), &u.bin).unwrap();
        std::fs::set_permissions(&u.bin, PermissionsExt::from_mode(0o755)).unwrap();
        for h in hierarchies() {
            let d = h.join(format!("lxcbox-user-{}", u.name));
            let _ = std::fs::remove_dir(&d);
            if std::fs::create_dir(&d).is_err() {
                continue;
            }
            // cpuset v1: a new cgroup starts with no cpus and mems.
            for f in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(v) = std::fs::read_to_string(h.join(f)) {
                    let _ = std::fs::write(d.join(f), v.trim());
                }
            }
            u.chown(&d);
            for f in [
                "cgroup.procs",
                "tasks",
                "cgroup.subtree_control",
                "cgroup.threads",
                "cgroup.clone_children",
            ] {
                if d.join(f).exists() {
                    u.chown(&d.join(f));
                }
            }
            u.cgroups.push(d);
        }
        u
    }

    pub fn chown(&self, p: &Path) {
        std::os::unix::fs::chown(p, Some(self.uid), Some(self.gid)).unwrap();
    }

    /// $XDG_RUNTIME_DIR of the user's commands.
    pub fn runtime_dir(&self) -> PathBuf {
        self.home.join("run")
    }

    /// LXC's lxcpath of an ordinary user.
    pub fn lxcpath(&self) -> PathBuf {
        self.home.join(".local/share/lxc")
    }

    /// `prog args...` as the user, inside the delegated cgroups, with the
    /// environment a login gives (HOME, USER, PATH, XDG_RUNTIME_DIR).
    pub fn cmd(&self, prog: &Path, args: &[&str]) -> Command {
        self.cmd_in(prog, args, true)
    }

    /// [`TestUser::cmd`], left in root's cgroups when `delegated` is false
    /// (a host that delegated none to the user).
    pub fn cmd_in(&self, prog: &Path, args: &[&str], delegated: bool) -> Command {
        let mut script = String::new();
        for d in self.cgroups.iter().filter(|_| delegated) {
            script.push_str(&format!(
                "echo $$ > '{}/cgroup.procs' || exit 99; ",
                d.display()
            ));
        }
        script.push_str(&format!(
            "cd / && exec setpriv --reuid={} --regid={} --init-groups -- \"$@\"",
            self.uid, self.gid
        ));
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(script).arg("sh").arg(prog).args(args);
        c.env_clear()
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .stdin(Stdio::null());
        c
    }

    /// lxcbox's `applet args...` as the user.
    pub fn run(&self, applet: &str, args: &[&str]) -> Output {
        let mut a = vec![applet];
        a.extend_from_slice(args);
        self.cmd(&self.bin, &a).output().unwrap()
    }

    /// [`TestUser::run`] from root's cgroups, none of them the user's.
    pub fn run_undelegated(&self, applet: &str, args: &[&str]) -> Output {
        let mut a = vec![applet];
        a.extend_from_slice(args);
        self.cmd_in(&self.bin, &a, false).output().unwrap()
    }

    /// Host uid of `p`.
    pub fn owner(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().uid()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // The user's processes (monitors, inits) first, then its cgroups.
        let _ = Command::new("pkill")
            .args(["-KILL", "-u", &self.uid.to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        for d in self.cgroups.iter().rev() {
            remove_tree(d, end);
        }
        let _ = root_cmd("userdel", &["-f", &self.name]);
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// rmdir a cgroup tree bottom-up, waiting for dying processes to leave.
fn remove_tree(d: &Path, end: Instant) {
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&e.path(), end);
            }
        }
    }
    while std::fs::remove_dir(d).is_err() && d.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
}
