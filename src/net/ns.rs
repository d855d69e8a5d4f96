//! Running netlink work inside another process's network namespace.
//!
//! The network namespace is per thread (setns(2) with CLONE_NEWNET is allowed
//! in a multi-threaded process), so a short-lived worker thread joins the
//! target namespace, opens its netlink socket there and exits; the calling
//! thread never leaves its namespace.

use std::os::fd::{AsFd, OwnedFd};

use anyhow::{anyhow, Context, Result};
use rustix::fs::{open, Mode, OFlags};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// Opens `/proc/PID/ns/net`.
pub fn netns_fd(pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/ns/net");
    open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .with_context(|| format!("opening {path}"))
}

/// The network namespace of the calling thread (not of the process: a
/// worker thread may have moved).
pub fn own_netns_fd() -> Result<OwnedFd> {
    open(
        "/proc/thread-self/ns/net",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .context("opening /proc/thread-self/ns/net")
}

/// True when `pid` lives in the caller's network namespace.
pub fn same_netns(pid: i32) -> Result<bool> {
    let a = rustix::fs::fstat(netns_fd(pid)?)?;
    let b = rustix::fs::fstat(own_netns_fd()?)?;
    Ok(a.st_ino == b.st_ino && a.st_dev == b.st_dev)
}

/// Runs `f` on a worker thread inside the network namespace `fd`.
pub fn in_netns_fd<T: Send>(fd: OwnedFd, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|sc| {
        sc.spawn(move || {
            move_into_link_name_space(fd.as_fd(), Some(LinkNameSpaceType::Network))
                .context("setns into the network namespace")?;
            f()
        })
        .join()
        .map_err(|_| anyhow!("network namespace worker panicked"))?
    })
}

/// Runs `f` inside the network namespace of process `pid`.
pub fn in_netns<T: Send>(pid: i32, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    in_netns_fd(netns_fd(pid)?, f)
}
