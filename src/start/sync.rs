//! Lock-step between the monitor (parent) and the container's child over a
//! SOCK_SEQPACKET socketpair. Messages are tiny: a tag byte plus text.
//!
//! parent → child: `G` (go: cgroups, id maps, host network done),
//! `d` (device rules applied)
//! child → parent: `D` (setup done: apply the device rules now),
//! `X` (about to exec), `E<message>` (setup failed)
//! EOF after `X` means the exec succeeded (the socket is close-on-exec).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{bail, Context, Result};
use rustix::net::{
    recv, send, socketpair, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType,
};

/// Longest text carried by one message.
const MAX_TEXT: usize = 60_000;

pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .context("creating the start sync socketpair")
}

pub fn send_msg(fd: BorrowedFd<'_>, tag: u8, text: &str) -> Result<()> {
    let mut b = Vec::with_capacity(1 + text.len());
    b.push(tag);
    b.extend_from_slice(&text.as_bytes()[..text.len().min(MAX_TEXT)]);
    send(fd, &b, SendFlags::NOSIGNAL).context("writing to the sync socket")?;
    Ok(())
}

/// Next message: `None` on EOF.
pub fn recv_msg(fd: impl AsFd) -> Result<Option<(u8, String)>> {
    let mut buf = vec![0u8; MAX_TEXT + 1];
    loop {
        match recv(fd.as_fd(), &mut buf, RecvFlags::empty()) {
            Ok((0, _)) => return Ok(None),
            Ok((n, _)) => {
                return Ok(Some((
                    buf[0],
                    String::from_utf8_lossy(&buf[1..n]).into_owned(),
                )))
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e).context("reading the sync socket"),
        }
    }
}

/// Child side: wait for the parent's go; returns its payload (the host
/// network state as JSON, or empty).
pub fn wait_go(fd: BorrowedFd<'_>) -> Result<String> {
    match recv_msg(fd)? {
        Some((b'G', payload)) => Ok(payload),
        Some((t, _)) => bail!("unexpected sync message {t}"),
        None => bail!("the monitor went away during start"),
    }
}

/// Child side: the mounts and devices are set up; have the monitor apply
/// the cgroup device rules now (LXC applies them this late too, so that
/// autodev's mknod and the console work under any rules) and wait.
pub fn device_rules(fd: BorrowedFd<'_>) -> Result<()> {
    send_msg(fd, b'D', "")?;
    match recv_msg(fd)? {
        Some((b'd', _)) => Ok(()),
        Some((t, _)) => bail!("unexpected sync message {t}"),
        None => bail!("the monitor went away during start"),
    }
}
