//! The lxc-console side: receiving a tty grant from the monitor and running
//! the proxy on the user's terminal.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{bail, Context, Result};
use rustix::termios::isatty;

use super::fdpass::{recv_fds, send_fds};
use super::hub::Grant;
use super::proxy::{proxy, ProxyEnd};
use super::raw::RawGuard;

/// Send a grant over the command socket: 4 bytes (tty number, little
/// endian) carrying two fds, the peer then the session.
pub fn send_grant(sock: BorrowedFd<'_>, g: &Grant) -> Result<()> {
    send_fds(
        sock,
        &g.tty.to_le_bytes(),
        &[g.peer.as_fd(), g.session.as_fd()],
    )
    .with_context(|| format!("sending tty {} to the client", g.tty))
}

/// Receive what [`send_grant`] sent.
pub fn recv_grant(sock: BorrowedFd<'_>) -> Result<Grant> {
    let mut b = [0u8; 4];
    let (n, fds) = recv_fds(sock, &mut b)?;
    if n == 0 {
        bail!("the monitor closed the connection instead of sending a tty");
    }
    let [peer, session]: [_; 2] = match fds.try_into() {
        Ok(v) => v,
        Err(v) => bail!("expected 2 file descriptors with the tty, got {}", v.len()),
    };
    if n != 4 {
        bail!("malformed tty grant ({n} bytes)");
    }
    Ok(Grant {
        tty: u32::from_le_bytes(b),
        peer,
        session,
    })
}

/// LXC's banner (printed on stderr), or `None` with the escape disabled.
pub fn banner(tty: u32, escape: Option<u8>) -> Option<String> {
    let e = char::from(b'a' + escape?.checked_sub(1)?);
    Some(format!(
        "\nConnected to tty {tty}\nType <Ctrl+{e} q> to exit the console, \
         <Ctrl+{e} Ctrl+{e}> to enter Ctrl+{e} itself\n"
    ))
}

/// lxc-console after the grant arrived: banner, raw mode on stdin when it is
/// a terminal (restored on every exit path), proxy until detach or hangup.
pub fn attach(grant: &Grant, escape: Option<u8>) -> Result<ProxyEnd> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    if let Some(b) = banner(grant.tty, escape) {
        let _ = std::io::stderr().write_all(b.as_bytes());
    }
    let _guard = if isatty(&stdin) {
        Some(RawGuard::new(stdin.as_fd())?)
    } else {
        None
    };
    proxy(
        stdin.as_fd(),
        stdout.as_fd(),
        grant.peer.as_fd(),
        Some(grant.session.as_fd()),
        escape,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

    #[test]
    fn banner_text() {
        assert_eq!(
            banner(1, Some(1)).unwrap(),
            "\nConnected to tty 1\nType <Ctrl+a q> to exit the console, \
             <Ctrl+a Ctrl+a> to enter Ctrl+a itself\n"
        );
        assert!(banner(0, Some(2)).unwrap().contains("<Ctrl+b q>"));
        assert!(banner(0, None).is_none());
    }

    #[test]
    fn grant_roundtrip() {
        let (a, b) = socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let (r, w) = rustix::pipe::pipe().unwrap();
        let (s1, _s2) = rustix::pipe::pipe().unwrap();
        let g = Grant {
            tty: 7,
            peer: w,
            session: s1,
        };
        send_grant(a.as_fd(), &g).unwrap();
        drop(g);
        let got = recv_grant(b.as_fd()).unwrap();
        assert_eq!(got.tty, 7);
        rustix::io::write(&got.peer, b"k").unwrap();
        let mut one = [0u8; 1];
        rustix::io::read(&r, &mut one).unwrap();
        assert_eq!(&one, b"k");
        drop(a);
        assert!(recv_grant(b.as_fd()).is_err());
    }
}
