//! Lock-step between the monitor (parent) and the container's child: typed
//! messages, one length-prefixed JSON frame each (the command socket's
//! framing, up to `MAX_FRAME` bytes; a bigger message is an error, never
//! cut short), over a close-on-exec stream socketpair.
//!
//! parent → child: [`ToChild::Go`] once cgroups, id maps and the host side
//! of the network are done; [`ToChild::DevicesApplied`] after the device
//! rules.
//! child → parent: [`ToParent::Devices`] when the set-up is done and the
//! config has cgroup device rules; [`ToParent::Exec`] right before exec, or
//! [`ToParent::Failed`] with the error of the failed step. End of file
//! after `Exec` means the exec succeeded (the socket is close-on-exec);
//! end of file before it means the child died during setup.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{bail, Context, Result};
use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
use serde::{Deserialize, Serialize};

use crate::monitor::proto::{recv_json, send_json};
use crate::namespace::Namespace;

/// From the monitor to the child.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToChild {
    /// Go on with the set-up; `net` is the host side of the network the
    /// child finishes inside (`None`: loopback only, or no new netns);
    /// `cgroup_paths` the container's cgroup directories for
    /// lxc.mount.auto = cgroup (controller dir, cgroup dir).
    Go {
        net: Option<crate::net::HostNet>,
        cgroup_paths: Vec<(String, std::path::PathBuf)>,
    },
    /// The cgroup device rules are in force.
    DevicesApplied,
}

/// From the child to the monitor.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToParent {
    /// Init entered its cgroups (start-host hooks wait for this, as LXC
    /// runs them with init in place).
    Joined,
    /// About to exec. When the plan preserves namespaces for the stop hook,
    /// the fds of those the child unshared itself come with this message,
    /// in this order.
    Exec { namespaces: Vec<Namespace> },
    /// The mounts, autodev and console are set up: apply the cgroup device
    /// rules now (LXC applies them this late too, so that mknod and the
    /// console work under any rules), then answer.
    Devices,
    /// Set-up failed; the error names the step.
    Failed { error: String },
}

/// The two ends: (monitor's, child's).
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .context("creating the start sync socketpair")
}

pub fn send<T: Serialize>(fd: BorrowedFd<'_>, msg: &T, fds: &[BorrowedFd<'_>]) -> Result<()> {
    send_json(fd, msg, fds).context("writing to the start sync socket")
}

/// The next message and the fds sent with it; `None` on end of file.
pub fn recv<T: for<'de> Deserialize<'de>>(fd: impl AsFd) -> Result<Option<(T, Vec<OwnedFd>)>> {
    recv_json(fd).context("reading the start sync socket")
}

/// What the go carries: the host network state, the cgroup dirs, and the
/// idmapped rootfs tree when lxc.rootfs.options asks for one (the fd sent
/// with the message).
pub type Go = (
    Option<crate::net::HostNet>,
    Vec<(String, std::path::PathBuf)>,
    Option<OwnedFd>,
);

/// Child side: wait for the go.
pub fn wait_go(fd: BorrowedFd<'_>) -> Result<Go> {
    match recv::<ToChild>(fd)? {
        Some((ToChild::Go { net, cgroup_paths }, fds)) => {
            Ok((net, cgroup_paths, fds.into_iter().next()))
        }
        Some((m, _)) => bail!("unexpected message from the monitor: {m:?}"),
        None => bail!("the monitor went away during start"),
    }
}

/// Child side: have the monitor apply the cgroup device rules and wait.
pub fn device_rules(fd: BorrowedFd<'_>) -> Result<()> {
    send(fd, &ToParent::Devices, &[])?;
    match recv::<ToChild>(fd)? {
        Some((ToChild::DevicesApplied, _)) => Ok(()),
        Some((m, _)) => bail!("unexpected message from the monitor: {m:?}"),
        None => bail!("the monitor went away during start"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_messages_arrive_whole() {
        let (a, b) = pair().unwrap();
        let error = "x".repeat(200_000);
        let t = std::thread::spawn(move || {
            send(a.as_fd(), &ToParent::Failed { error }, &[]).unwrap();
        });
        match recv::<ToParent>(&b).unwrap() {
            Some((ToParent::Failed { error }, _)) => assert_eq!(error.len(), 200_000),
            other => panic!("{other:?}"),
        }
        t.join().unwrap();
        assert!(recv::<ToParent>(&b).unwrap().is_none(), "EOF after close");
    }
}
