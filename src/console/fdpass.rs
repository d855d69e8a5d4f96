//! Passing file descriptors over unix sockets (SCM_RIGHTS).

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use anyhow::{bail, Context, Result};
use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};

/// Most fds one message carries (a console grant sends two).
pub const MAX_FDS: usize = 4;

/// Send `data` (at least one byte: the kernel drops ancillary data on empty
/// stream messages) with `fds` attached.
pub fn send_fds(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> Result<()> {
    if data.is_empty() || fds.len() > MAX_FDS {
        bail!("send_fds: need 1+ data bytes and at most {MAX_FDS} fds");
    }
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(fds)) {
        bail!("send_fds: control buffer too small");
    }
    let n = sendmsg(
        sock,
        &[IoSlice::new(data)],
        &mut control,
        SendFlags::NOSIGNAL,
    )
    .context("sending file descriptors")?;
    if n != data.len() {
        bail!(
            "sending file descriptors: short write ({n} of {})",
            data.len()
        );
    }
    Ok(())
}

/// Receive one message into `buf`; returns its length and the fds that came
/// with it (close-on-exec). A length of 0 means the peer closed.
pub fn recv_fds(sock: BorrowedFd<'_>, buf: &mut [u8]) -> Result<(usize, Vec<OwnedFd>)> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg = recvmsg(
        sock,
        &mut [IoSliceMut::new(buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .context("receiving file descriptors")?;
    let mut fds = Vec::new();
    for m in control.drain() {
        if let RecvAncillaryMessage::ScmRights(it) = m {
            fds.extend(it);
        }
    }
    if msg.flags.contains(ReturnFlags::CTRUNC) {
        bail!("receiving file descriptors: too many fds, some were dropped");
    }
    Ok((msg.bytes, fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
    use std::os::fd::AsFd;

    #[test]
    fn roundtrip() {
        let (a, b) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let (r, w) = rustix::pipe::pipe().unwrap();
        send_fds(a.as_fd(), b"tty1", &[w.as_fd(), r.as_fd()]).unwrap();
        drop(w);
        let mut buf = [0u8; 16];
        let (n, fds) = recv_fds(b.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"tty1");
        assert_eq!(fds.len(), 2);
        // the received write end still reaches our read end
        rustix::io::write(&fds[0], b"x").unwrap();
        let mut one = [0u8; 1];
        assert_eq!(rustix::io::read(&r, &mut one).unwrap(), 1);
        assert_eq!(&one, b"x");
        assert!(send_fds(a.as_fd(), b"", &[]).is_err());
    }
}
