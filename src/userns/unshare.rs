//! lxc-unshare's runtime: a command cloned into a fresh set of namespaces
//! (LXC 5's src/lxc/tools/lxc_unshare.c), optionally as another uid
//! (mapped into a new user namespace), with a hostname, host interfaces
//! moved into its network namespace and /proc, /dev/shm and /dev/mqueue
//! mounted afresh.
//!
//! Where it differs from LXC 5.0.2, on purpose: the child waits until the
//! parent has written its uid map *and* moved the `-i` interfaces (LXC
//! lets it run while `ip link set` is still going), `-i` moves through
//! netlink, `-u` without `-s USER` is refused up front (LXC fails writing
//! the map and leaves the child blocked forever), `-M` really remounts
//! /proc (LXC's mount_fs mounts only when umount *fails*: a missing brace),
//! and TIME makes a time namespace (LXC's clone(2) cannot take the flag).

use anyhow::{bail, Context, Result};
use rustix::mount::{
    mount, mount_change, unmount, MountFlags, MountPropagationFlags, UnmountFlags,
};

use super::held::{exec, spawn_held};
use crate::config::IdMap;
use crate::namespace::{Namespace, NsSet};
use crate::sys::kernel::{self, Feature};
use crate::sys::process::{self, ExitStatus};

/// What lxc-unshare was asked to do.
#[derive(Debug, Default)]
pub struct Unshare {
    pub namespaces: NsSet,
    /// `-u`: the uid the command runs as (its own id, mapped, in a new
    /// user namespace).
    pub uid: Option<u32>,
    pub hostname: Option<String>,
    pub ifaces: Vec<String>,
    pub daemon: bool,
    pub remount: bool,
    pub command: Vec<String>,
}

/// `-s`: a `|`-separated list of LXC's names (MOUNT, PID, UTSNAME, IPC,
/// USER, NETWORK, CGROUP, TIME) or the short ones (mnt, uts, net, ...),
/// any case; empty parts are skipped as LXC's strtok skips them.
pub fn parse_namespaces(list: &str) -> Result<NsSet> {
    let mut s = NsSet::EMPTY;
    for tok in list.split('|').map(str::trim).filter(|t| !t.is_empty()) {
        match Namespace::parse(tok) {
            Some(n) => s.insert(n),
            None => bail!(
                "Invalid namespace name \"{tok}\" (expected MOUNT, PID, UTSNAME, IPC, USER, \
                 NETWORK, CGROUP or TIME, separated by |)"
            ),
        }
    }
    Ok(s)
}

/// /etc/passwd entries as (name, uid).
fn passwd() -> Result<Vec<(String, u32)>> {
    let text = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?.to_string();
            f.next()?;
            Some((name, f.next()?.parse().ok()?))
        })
        .collect())
}

/// `-u`: a uid or a user name, which must be in /etc/passwd (as LXC's
/// lookup_user asks getpwuid / getpwnam).
pub fn lookup_user(arg: &str) -> Result<u32> {
    if arg.is_empty() {
        bail!("-u needs a user name or uid");
    }
    let users = passwd()?;
    match arg.parse::<u32>() {
        Ok(uid) if users.iter().any(|(_, u)| *u == uid) => Ok(uid),
        Ok(uid) => bail!("Invalid uid : {uid} (no such user in /etc/passwd)"),
        Err(_) => match users.iter().find(|(n, _)| n == arg) {
            Some((_, uid)) => Ok(*uid),
            None => bail!("Invalid username \"{arg}\" (no such user in /etc/passwd)"),
        },
    }
}

impl Unshare {
    /// LXC's checks of the option combination, in its order and words.
    fn check(&self) -> Result<()> {
        let has = |n| self.namespaces.contains(n);
        if self.command.is_empty() {
            bail!("A command to execute in the new namespace is required");
        }
        if self.namespaces.is_empty() {
            bail!("A namespace to execute command is required");
        }
        if !has(Namespace::Net) && !self.ifaces.is_empty() {
            bail!("-i <interfacename> needs -s NETWORK option");
        }
        if !has(Namespace::Uts) && self.hostname.is_some() {
            bail!("-H <hostname> needs -s UTSNAME option");
        }
        if !has(Namespace::Mnt) && self.remount {
            bail!("-M needs -s MOUNT option");
        }
        if !has(Namespace::User) && self.uid.is_some() {
            bail!("-u <user> needs -s USER option (its uid is mapped into the new user namespace)");
        }
        if has(Namespace::Time) && !kernel::has(Feature::TimeNamespace) {
            bail!("TIME: this kernel has no time namespaces (they need Linux 5.6 with CONFIG_TIME_NS)");
        }
        if let Some(h) = &self.hostname {
            // __NEW_UTS_LEN; sethostname(2) answers EINVAL past it.
            if h.is_empty() || h.len() > 64 {
                bail!("Failed to set hostname \"{h}\": a hostname has 1 to 64 bytes");
            }
        }
        Ok(())
    }

    /// Run it; lxc-unshare's exit status: 0 when the command exited 0 (or
    /// with `-d` once it runs), else 1, as LXC's wait_for_pid gives.
    pub fn run(&self) -> Result<i32> {
        self.check()?;
        let flags = self.namespaces.without(Namespace::Time).flags();
        let ordinary = !rustix::process::geteuid().is_root();
        let hint = if ordinary && !self.namespaces.contains(Namespace::User) {
            " (an ordinary user may create the other namespaces only with -s USER among them)"
        } else {
            ""
        };
        let mut held =
            spawn_held(flags, || self.child()).with_context(|| format!("Failed to clone{hint}"))?;
        let pid = held.pid();
        if let Some(uid) = self.uid {
            // LXC maps only the uid: "UID getuid() 1", the one line a
            // process may write for itself.
            let own = IdMap {
                kind: 'u',
                ns_id: uid,
                host_id: rustix::process::getuid().as_raw(),
                range: 1,
            };
            super::write_maps(pid, &[own]).context("Failed to map uid")?;
        }
        for ifname in &self.ifaces {
            // As LXC: a device that cannot move is reported, the rest goes on.
            if let Err(e) = crate::net::move_into(pid, ifname, None) {
                eprintln!(
                    "lxc-unshare: Could not move interface \"{ifname}\" into container {pid}: {e:#}"
                );
            }
        }
        held.release()?;
        if self.daemon {
            held.detach();
            return Ok(0);
        }
        match held.wait()? {
            ExitStatus::Exited(0) => Ok(0),
            ExitStatus::Exited(c) => {
                bail!("\"{}\" (pid {pid}) exited with status {c}", self.command[0])
            }
            ExitStatus::Signaled(s) => {
                bail!(
                    "\"{}\" (pid {pid}) was killed by signal {s}",
                    self.command[0]
                )
            }
        }
    }

    /// In the new namespaces, released: LXC's do_start.
    fn child(&self) -> i32 {
        let fail = |what: String, e: std::io::Error| {
            eprintln!("lxc-unshare: {what}: {e}");
            1
        };
        if self.namespaces.contains(Namespace::Time) {
            if let Err(e) = enter_new_time_ns() {
                return fail("Failed to create a time namespace".into(), e);
            }
        }
        if self.namespaces.contains(Namespace::Mnt) {
            let private = MountPropagationFlags::PRIVATE | MountPropagationFlags::REC;
            if let Err(e) = mount_change("/", private) {
                return fail("Failed to make the mount tree private".into(), e.into());
            }
            if self.remount {
                default_mounts();
            }
        }
        if let Some(h) = &self.hostname {
            if let Err(e) = rustix::system::sethostname(h.as_bytes()) {
                return fail(format!("Failed to set hostname {h}"), e.into());
            }
        }
        if let Some(uid) = self.uid {
            if let Err(e) = process::set_ids(Some(uid), None, None) {
                return fail(format!("Failed to set uid {uid}"), e);
            }
        }
        let e = exec(&self.command);
        fail(format!("Failed to exec: '{}'", self.command[0]), e)
    }
}

/// unshare(CLONE_NEWTIME) makes the namespace of our future children;
/// we enter it ourselves through /proc/self/ns/time_for_children, as
/// lxc-start does for lxc.time.offset.*.
fn enter_new_time_ns() -> std::io::Result<()> {
    process::unshare(libc::CLONE_NEWTIME)?;
    let fd = rustix::fs::open(
        "/proc/self/ns/time_for_children",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    process::setns(std::os::fd::AsFd::as_fd(&fd), libc::CLONE_NEWTIME)
}

/// `-M`, LXC's lxc_setup_fs: /proc (of the new PID namespace, if any),
/// /dev/shm and /dev/mqueue mounted afresh, each best effort (LXC goes on
/// without any of them; we say which failed).
fn default_mounts() {
    for (source, target, fstype, mode) in [
        ("proc", "/proc", "proc", None),
        ("shmfs", "/dev/shm", "tmpfs", Some(0o770)),
        ("mqueue", "/dev/mqueue", "mqueue", Some(0o660)),
    ] {
        if let Some(mode) = mode {
            if !std::path::Path::new(target).exists() {
                let _ = rustix::fs::mkdir(target, rustix::fs::Mode::from_raw_mode(mode));
            }
        }
        // In our private mount namespace; the old mount may be busy (a
        // binfmt_misc under /proc) or locked (a user namespace's copy),
        // then the new one goes on top.
        let _ = unmount(target, UnmountFlags::DETACH);
        if let Err(e) = mount(source, target, fstype, MountFlags::empty(), None) {
            eprintln!("lxc-unshare: Failed to mount {fstype} on {target}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_lists() {
        let s = parse_namespaces("MOUNT|PID|UTSNAME|IPC|USER|NETWORK|CGROUP|TIME").unwrap();
        assert_eq!(s, NsSet::ALL);
        assert_eq!(
            parse_namespaces("mnt||Pid").unwrap(),
            NsSet::of(&[Namespace::Mnt, Namespace::Pid])
        );
        assert!(parse_namespaces("").unwrap().is_empty());
        let e = parse_namespaces("PID|bogus").unwrap_err().to_string();
        assert!(e.starts_with("Invalid namespace name \"bogus\""), "{e}");
    }

    #[test]
    fn option_checks() {
        let base = || Unshare {
            namespaces: NsSet::of(&[Namespace::Pid]),
            command: vec!["true".into()],
            ..Unshare::default()
        };
        assert!(base().check().is_ok());
        let mut u = base();
        u.hostname = Some("h".into());
        assert!(u
            .check()
            .unwrap_err()
            .to_string()
            .contains("needs -s UTSNAME"));
        let mut u = base();
        u.remount = true;
        assert!(u
            .check()
            .unwrap_err()
            .to_string()
            .contains("-M needs -s MOUNT"));
        let mut u = base();
        u.ifaces = vec!["eth9".into()];
        assert!(u
            .check()
            .unwrap_err()
            .to_string()
            .contains("needs -s NETWORK"));
        let mut u = base();
        u.command.clear();
        assert!(u.check().unwrap_err().to_string().contains("A command"));
        assert_eq!(lookup_user("root").unwrap(), 0);
        assert_eq!(lookup_user("0").unwrap(), 0);
        assert!(lookup_user("no-such-user-here").is_err());
    }
}
