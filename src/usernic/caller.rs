//! Acting as the caller: work done on a short-lived thread that dropped to
//! the real uid and gid (and no capabilities), while the main thread keeps
//! the privileges of the setuid copy. Credentials are per thread on Linux
//! (see `sys::privilege`), so nothing has to be restored afterwards.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{anyhow, Context, Result};
use rustix::fs::{fstatfs, open, Mode, OFlags};

use crate::net::raw::{self, Change, Socket};
use crate::sys::privilege::{drop_thread_to_real, Ids};

/// nsfs's statfs magic (linux/magic.h NSFS_MAGIC).
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Runs `f` on a new thread that first drops to the caller's ids.
fn as_caller<T: Send>(ids: &Ids, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|sc| {
        sc.spawn(|| {
            drop_thread_to_real(ids).context("dropping a worker thread to the caller's ids")?;
            f()
        })
        .join()
        .map_err(|_| anyhow!("worker thread panicked"))?
    })
}

/// `/proc/PID/ns/net`, opened as the caller: the kernel lets them open it
/// only if they may ptrace-read PID (their own processes, also inside a
/// user namespace of theirs), which is LXC's may_access_netns check. The
/// fd pins that namespace, so a recycled pid cannot swap it later.
pub fn open_pid_netns(ids: &Ids, pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/ns/net");
    as_caller(ids, || {
        open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .with_context(|| format!("opening {path} as uid {}", ids.ruid))
    })
}

/// A path to a network namespace (`/proc/PID/fd/N`, `/proc/PID/ns/net`, a
/// bind mount), opened as the caller: O_PATH first, so a FIFO or device
/// cannot block or react, then nsfs is required, then reopened for setns.
/// As in LXC (CVE-2022-47952), the caller learns nothing about why it
/// failed: every failure is the same error.
pub fn open_netns_path(ids: &Ids, path: &str) -> Result<OwnedFd> {
    let r = as_caller(ids, || {
        let p = open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())?;
        if fstatfs(&p)?.f_type as i64 != NSFS_MAGIC {
            return Err(anyhow!("not a namespace"));
        }
        let again = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&p));
        Ok(open(
            &again,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    });
    r.map_err(|_| anyhow!("Failed while opening netns file for \"{path}\""))
}

/// Whether the caller is privileged over the network namespace `ns`
/// (CAP_NET_ADMIN in the user namespace that owns it), tested as LXC's
/// is_privileged_over_netns does: inside the namespace, as the caller, ask
/// to delete `lo`. The kernel checks the capability first (EPERM) and only
/// then refuses to delete a loopback (EOPNOTSUPP).
pub fn privileged_over(ids: &Ids, ns: &OwnedFd) -> Result<bool> {
    let fd = ns.try_clone().context("duplicating the namespace fd")?;
    let ids = *ids;
    crate::net::in_netns_fd(fd, move || {
        drop_thread_to_real(&ids).context("dropping a worker thread to the caller's ids")?;
        let mut s = Socket::open().context("opening a netlink socket")?;
        let lo = raw::by_name(&mut s, "lo")?.ok_or_else(|| anyhow!("no lo in the namespace"))?;
        match raw::delete(&mut s, lo.index) {
            Err(e) if crate::net::raw::errno(&e) == Some(libc::EOPNOTSUPP) => Ok(true),
            Err(e) if crate::net::raw::errno(&e) == Some(libc::EPERM) => Ok(false),
            Err(e) => Err(e).context("probing privilege over the namespace"),
            // Impossible for a loopback; be safe.
            Ok(()) => Ok(false),
        }
    })
}

/// Renames `old` in the namespace `ns`, as the caller (so only a
/// namespace the caller owns takes the rename), to `new` or, without one,
/// to the kernel's next free `eth%d`. Returns the final name and ifindex.
pub fn rename_in(ids: &Ids, ns: &OwnedFd, old: &str, new: Option<&str>) -> Result<(String, i32)> {
    let fd = ns.try_clone().context("duplicating the namespace fd")?;
    let (ids, old, new) = (*ids, old.to_string(), new.unwrap_or("eth%d").to_string());
    crate::net::in_netns_fd(fd, move || {
        drop_thread_to_real(&ids).context("dropping a worker thread to the caller's ids")?;
        let mut s = Socket::open().context("opening a netlink socket")?;
        let l = raw::by_name(&mut s, &old)?
            .ok_or_else(|| anyhow!("\"{old}\" is not in the container's namespace"))?;
        let c = Change {
            name: Some(&new),
            ..Change::default()
        };
        raw::change(&mut s, l.index, &c)
            .with_context(|| format!("renaming netdev {old} to {new} in the container"))?;
        let now = raw::by_index(&mut s, l.index)?
            .ok_or_else(|| anyhow!("netdev {old} vanished after its rename"))?;
        Ok((now.name, l.index))
    })
}

/// The nsid the host gives the namespace `ns` (None if it has none).
pub fn host_nsid(s: &mut Socket, ns: &OwnedFd) -> Result<Option<i32>> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(&ns.as_fd());
    raw::nsid_of(s, fd).context("asking the host for the namespace's nsid")
}
