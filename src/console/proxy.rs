//! The terminal proxy: the user's terminal (or plain pipes) on one side, a
//! pty master or console relay on the other. Used by lxc-console with the
//! fds received from the monitor.

use std::os::fd::BorrowedFd;

use anyhow::{Context, Result};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::termios::{isatty, tcgetattr, LocalModes, SpecialCodeIndex, Winsize};

use super::escape::Escape;
use super::pty::{get_winsize, set_winsize};
use super::pump::{read_some, set_nonblocking, write_all, Queue};
use super::winch::Winch;

/// Length of a window-size message on the session socket: rows and columns,
/// little-endian u16 each.
pub const WINSIZE_MSG_LEN: usize = 4;

/// Encode a window size for the session socket.
pub fn encode_winsize(ws: &Winsize) -> [u8; WINSIZE_MSG_LEN] {
    let r = ws.ws_row.to_le_bytes();
    let c = ws.ws_col.to_le_bytes();
    [r[0], r[1], c[0], c[1]]
}

/// Decode a window-size message (None if it is not one).
pub fn decode_winsize(b: &[u8]) -> Option<Winsize> {
    if b.len() != WINSIZE_MSG_LEN {
        return None;
    }
    Some(Winsize {
        ws_row: u16::from_le_bytes([b[0], b[1]]),
        ws_col: u16::from_le_bytes([b[2], b[3]]),
        ws_xpixel: 0,
        ws_ypixel: 0,
    })
}

/// Why [`proxy`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyEnd {
    /// The user typed <prefix> q.
    Detached,
    /// The other side went away: the container's program closed the tty, the
    /// container stopped, or the monitor closed the session.
    PeerClosed,
}

/// Copy bytes between the user (`user_in`/`user_out`) and `peer` until the
/// user detaches or the peer closes.
///
/// - `peer` is made non-blocking (its file description must be ours: a pty
///   master dup or a relay socket). The user's fds are left blocking, since
///   the user's shell shares them.
/// - When `user_in` is a terminal its window size is copied to `peer` now and
///   on every SIGWINCH, and also sent to `session` (if any), which is how the
///   monitor learns the size for the console relay. Raw mode is the caller's
///   job ([`super::RawGuard`]).
/// - When `user_in` reaches end of file (a pipe), input stops; if `peer` is a
///   pty in canonical mode, its EOF character is sent so the program inside
///   sees end of file too. Output keeps flowing until the peer closes.
/// - `session` closing (the monitor went away) ends the proxy as PeerClosed.
pub fn proxy(
    user_in: BorrowedFd<'_>,
    user_out: BorrowedFd<'_>,
    peer: BorrowedFd<'_>,
    session: Option<BorrowedFd<'_>>,
    escape: Option<u8>,
) -> Result<ProxyEnd> {
    proxy_logged(user_in, user_out, peer, session, escape, None, None)
}

/// Called when the session fd is readable instead of reading it; `true`
/// ends the proxy (as [`ProxyEnd::PeerClosed`]).
pub type OnSession<'a> = &'a mut dyn FnMut() -> Result<bool>;

/// [`proxy`], also copying what the peer prints to `log` (lxc-attach -L),
/// and with `on_session` deciding what a readable session fd means
/// (lxc-attach passes its signalfd and ends when the command exits).
pub fn proxy_logged(
    user_in: BorrowedFd<'_>,
    user_out: BorrowedFd<'_>,
    peer: BorrowedFd<'_>,
    session: Option<BorrowedFd<'_>>,
    escape: Option<u8>,
    mut log: Option<&mut dyn std::io::Write>,
    mut on_session: Option<OnSession<'_>>,
) -> Result<ProxyEnd> {
    set_nonblocking(peer).context("making console peer non-blocking")?;
    let tty_in = isatty(user_in);
    let winch = if tty_in { Some(Winch::new()?) } else { None };
    if tty_in {
        push_winsize(user_in, peer, session);
    }
    let mut esc = Escape::new(escape);
    let mut to_peer = Queue::default();
    let mut in_open = true;
    let mut buf = vec![0u8; 64 * 1024];
    let mut filtered = Vec::new();
    loop {
        let mut fds = Vec::with_capacity(4);
        let mut peer_flags = PollFlags::IN;
        if to_peer.pending() {
            peer_flags |= PollFlags::OUT;
        }
        fds.push(PollFd::new(&peer, peer_flags));
        let want_in = in_open && to_peer.has_room();
        fds.push(PollFd::new(
            &user_in,
            if want_in {
                PollFlags::IN
            } else {
                PollFlags::empty()
            },
        ));
        if let Some(w) = &winch {
            fds.push(PollFd::new(w, PollFlags::IN));
        }
        if let Some(s) = &session {
            fds.push(PollFd::new(s, PollFlags::IN));
        }
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e).context("polling console fds"),
        }
        let peer_ev = fds[0].revents();
        let in_ev = fds[1].revents();
        let mut idx = 2;
        let winch_ev = if winch.is_some() {
            idx += 1;
            fds[idx - 1].revents()
        } else {
            PollFlags::empty()
        };
        let session_ev = if session.is_some() {
            fds[idx].revents()
        } else {
            PollFlags::empty()
        };
        drop(fds);

        // Peer output first, so that nothing is lost before a hangup.
        if peer_ev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            match read_some(peer, &mut buf).context("reading from console")? {
                Some(0) => return Ok(ProxyEnd::PeerClosed),
                Some(n) => {
                    write_all(user_out, &buf[..n]).context("writing to stdout")?;
                    if let Some(l) = log.as_mut() {
                        l.write_all(&buf[..n]).context("writing the pty log")?;
                    }
                }
                None => {}
            }
        }
        if peer_ev.contains(PollFlags::OUT) {
            if let Err(e) = to_peer.flush(peer) {
                if matches!(e, Errno::PIPE | Errno::IO) {
                    return Ok(ProxyEnd::PeerClosed);
                }
                return Err(e).context("writing to console");
            }
        }
        if in_ev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            let n = read_some(user_in, &mut buf)
                .context("reading stdin")?
                .unwrap_or(usize::MAX);
            if n == 0 {
                in_open = false;
                if !tty_in {
                    send_eof(peer, &mut to_peer);
                }
            } else if n != usize::MAX {
                filtered.clear();
                if esc.feed(&buf[..n], &mut filtered) {
                    // Keystrokes typed before the escape still go in.
                    to_peer.push(&filtered);
                    flush_before_exit(peer, &mut to_peer);
                    return Ok(ProxyEnd::Detached);
                }
                to_peer.push(&filtered);
            }
            if to_peer.pending() {
                // Try at once; POLLOUT handles the rest.
                if let Err(e) = to_peer.flush(peer) {
                    if matches!(e, Errno::PIPE | Errno::IO) {
                        return Ok(ProxyEnd::PeerClosed);
                    }
                    return Err(e).context("writing to console");
                }
            }
        }
        if !winch_ev.is_empty() {
            if let Some(w) = &winch {
                w.drain();
            }
            push_winsize(user_in, peer, session);
        }
        if !session_ev.is_empty() {
            if let Some(f) = on_session.as_mut() {
                if f()? {
                    return Ok(ProxyEnd::PeerClosed);
                }
            } else if let Some(s) = session {
                let mut b = [0u8; 16];
                match rustix::io::read(s, &mut b) {
                    Ok(0) | Err(Errno::CONNRESET) => return Ok(ProxyEnd::PeerClosed),
                    _ => {}
                }
            }
        }
    }
}

/// Best effort, bounded: give the peer up to a second to take what is queued.
fn flush_before_exit(peer: BorrowedFd<'_>, q: &mut Queue) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while q.pending() && std::time::Instant::now() < deadline {
        if q.flush(peer).is_err() {
            return;
        }
        if q.pending() {
            let mut p = [PollFd::new(&peer, PollFlags::OUT)];
            let t = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            };
            let _ = poll(&mut p, Some(&t));
        }
    }
}

/// The program behind a pty only sees end of file through its EOF character
/// (^D) at the start of a line; sockets get a write shutdown instead.
pub(crate) fn send_eof(peer: BorrowedFd<'_>, q: &mut Queue) {
    match tcgetattr(peer) {
        Ok(t) if t.local_modes.contains(LocalModes::ICANON) => {
            let eof = t.special_codes[SpecialCodeIndex::VEOF];
            // One EOF ends a pending partial line, a second one at line start
            // is end of file; a trailing newline makes one enough.
            q.push(&[eof]);
        }
        Ok(_) => {}
        Err(_) => {
            let _ = rustix::net::shutdown(peer, rustix::net::Shutdown::Write);
        }
    }
}

fn push_winsize(user: BorrowedFd<'_>, peer: BorrowedFd<'_>, session: Option<BorrowedFd<'_>>) {
    if let Some(ws) = get_winsize(user) {
        // ENOTTY when the peer is the console relay socket: the session
        // message below covers that case.
        let _ = set_winsize(peer, ws);
        if let Some(s) = session {
            let _ = rustix::net::send(s, &encode_winsize(&ws), rustix::net::SendFlags::DONTWAIT);
        }
    }
}
