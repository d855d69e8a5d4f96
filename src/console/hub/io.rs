//! The hub's I/O: what to poll, and moving bytes when fds are ready.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use rustix::event::PollFlags;
use rustix::termios::Winsize;

use super::ConsoleHub;
use crate::console::proxy::{decode_winsize, send_eof};
use crate::console::pty::{get_winsize, set_winsize};
use crate::console::pump::{read_some, write_all};

impl ConsoleHub {
    /// The fds the monitor must poll, with the events wanted.
    pub fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        let mut v = Vec::new();
        if let Some(c) = &self.console {
            let client_room = c.client.as_ref().is_none_or(|cl| cl.to_client.has_room());
            let mut f = PollFlags::empty();
            if client_room {
                f |= PollFlags::IN;
            }
            if c.to_master.pending() {
                f |= PollFlags::OUT;
            }
            v.push((c.pair.master.as_fd(), f));
            if let Some(cl) = &c.client {
                let mut f = PollFlags::empty();
                if cl.relay_open && c.to_master.has_room() {
                    f |= PollFlags::IN;
                }
                if cl.to_client.pending() {
                    f |= PollFlags::OUT;
                }
                v.push((cl.relay.as_fd(), f));
                v.push((cl.session.as_fd(), PollFlags::IN));
            }
            if let Some(l) = &self.local {
                if let Some(i) = &l.input {
                    if c.to_master.has_room() {
                        v.push((i.as_fd(), PollFlags::IN));
                    }
                }
                if let Some(w) = &l.winch {
                    v.push((w.as_fd(), PollFlags::IN));
                }
            }
        }
        for t in &self.ttys {
            if let Some(s) = &t.session {
                v.push((s.as_fd(), PollFlags::IN));
            }
        }
        v
    }

    /// Handle readiness `revents` of `fd` (one returned by [`Self::poll_fds`];
    /// unknown fds are ignored). Errors are the console's own (e.g. the user's
    /// terminal went away); a client's failure only drops that client.
    pub fn on_ready(&mut self, fd: RawFd, revents: PollFlags) -> Result<()> {
        if revents.is_empty() {
            return Ok(());
        }
        let Some(c) = &self.console else {
            return self.on_tty_session(fd);
        };
        if fd == c.pair.master.as_raw_fd() {
            if revents.contains(PollFlags::OUT) {
                self.flush_master()?;
            }
            if revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                self.read_master()?;
            }
            return Ok(());
        }
        if let Some(cl) = &c.client {
            if fd == cl.relay.as_raw_fd() {
                self.on_relay(revents);
                return Ok(());
            }
            if fd == cl.session.as_raw_fd() {
                if let Some(ws) = self.read_session(fd) {
                    if let Some(c) = &self.console {
                        let _ = set_winsize(&c.pair.master, ws);
                    }
                }
                return Ok(());
            }
        }
        if let Some(l) = &self.local {
            if l.input.as_ref().is_some_and(|i| i.as_raw_fd() == fd) {
                return self.on_local_input();
            }
            if let Some(w) = l.winch.as_ref().filter(|w| w.as_fd().as_raw_fd() == fd) {
                w.drain();
                if let (Some(ws), Some(i)) = (
                    l.input.as_ref().and_then(get_winsize),
                    self.console.as_ref(),
                ) {
                    let _ = set_winsize(&i.pair.master, ws);
                }
                return Ok(());
            }
        }
        self.on_tty_session(fd)
    }

    /// Before the monitor exits: read whatever the console still holds and
    /// deliver it (the container's last words, e.g. `hi` before `exit`).
    pub fn drain(&mut self) -> Result<()> {
        for _ in 0..64 {
            if !self.read_master()? {
                break;
            }
        }
        if let Some(cl) = self.console.as_mut().and_then(|c| c.client.as_mut()) {
            let _ = cl.to_client.flush(&cl.relay);
        }
        Ok(())
    }

    /// Read the console master once; true if bytes came.
    fn read_master(&mut self) -> Result<bool> {
        let Some(c) = &mut self.console else {
            return Ok(false);
        };
        if self.buf.is_empty() {
            self.buf = vec![0u8; 64 * 1024];
        }
        let n = match read_some(&c.pair.master, &mut self.buf).context("reading the console")? {
            Some(n) if n > 0 => n,
            // EOF/EIO cannot last (we hold the slave); would-block is normal.
            _ => return Ok(false),
        };
        let data = &self.buf[..n];
        self.ring.write(data);
        if let Some(l) = &mut self.log {
            if let Err(e) = l.write(data) {
                log::warn!("{e:#}");
            }
        }
        if let Some(cl) = &mut c.client {
            cl.to_client.push(data);
            if cl.to_client.flush(&cl.relay).is_err() {
                c.client = None;
            }
        }
        if let Some(l) = &self.local {
            write_all(&l.output, data).context("writing console output")?;
        }
        Ok(true)
    }

    fn flush_master(&mut self) -> Result<()> {
        if let Some(c) = &mut self.console {
            c.to_master
                .flush(&c.pair.master)
                .context("writing to the console")?;
        }
        Ok(())
    }

    fn on_relay(&mut self, revents: PollFlags) {
        let Some(c) = &mut self.console else { return };
        let Some(cl) = &mut c.client else { return };
        if revents.contains(PollFlags::OUT) && cl.to_client.flush(&cl.relay).is_err() {
            c.client = None;
            return;
        }
        if revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            if self.buf.is_empty() {
                self.buf = vec![0u8; 64 * 1024];
            }
            match read_some(&cl.relay, &mut self.buf) {
                Ok(Some(0)) => {
                    // The client's stdin ended (it shut its side down):
                    // pass the end of input on as the console's EOF char.
                    cl.relay_open = false;
                    send_eof(c.pair.master.as_fd(), &mut c.to_master);
                    let _ = c.to_master.flush(&c.pair.master);
                }
                Err(_) => cl.relay_open = false,
                Ok(Some(n)) => {
                    c.to_master.push(&self.buf[..n]);
                    let _ = c.to_master.flush(&c.pair.master);
                }
                Ok(None) => {}
            }
        }
    }

    fn on_local_input(&mut self) -> Result<()> {
        let (Some(c), Some(l)) = (&mut self.console, &mut self.local) else {
            return Ok(());
        };
        let Some(input) = &l.input else { return Ok(()) };
        let mut b = [0u8; 16 * 1024];
        match read_some(input, &mut b).context("reading stdin")? {
            Some(0) => {
                l.input = None;
                if !l.tty_in {
                    send_eof(c.pair.master.as_fd(), &mut c.to_master);
                }
            }
            Some(n) => c.to_master.push(&b[..n]),
            None => {}
        }
        c.to_master
            .flush(&c.pair.master)
            .context("writing to the console")
    }

    /// Read a session socket message: a window size, or the client's end.
    fn read_session(&mut self, fd: RawFd) -> Option<Winsize> {
        let mut b = [0u8; 16];
        let c = self.console.as_mut()?;
        let cl = c.client.as_ref()?;
        if cl.session.as_raw_fd() != fd {
            return None;
        }
        match rustix::net::recv(&cl.session, &mut b, rustix::net::RecvFlags::DONTWAIT) {
            Ok((n, _)) if n > 0 => decode_winsize(&b[..n]),
            Err(rustix::io::Errno::AGAIN) => None,
            _ => {
                c.client = None;
                None
            }
        }
    }

    fn on_tty_session(&mut self, fd: RawFd) -> Result<()> {
        for t in &mut self.ttys {
            let Some(s) = &t.session else { continue };
            if s.as_raw_fd() != fd {
                continue;
            }
            let mut b = [0u8; 16];
            match rustix::net::recv(s, &mut b, rustix::net::RecvFlags::DONTWAIT) {
                Ok((n, _)) if n > 0 => {
                    if let Some(ws) = decode_winsize(&b[..n]) {
                        let _ = set_winsize(&t.pair.master, ws);
                    }
                }
                Err(rustix::io::Errno::AGAIN) => {}
                _ => t.session = None,
            }
        }
        Ok(())
    }

    /// Free ttys whose clients are gone but whose hangup the poll loop has
    /// not reported yet (so an immediate reconnect is not refused).
    pub(super) fn reap_sessions(&mut self) {
        let gone = |s: &OwnedFd| {
            let mut p = [rustix::event::PollFd::new(s, PollFlags::IN)];
            let zero = rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            matches!(rustix::event::poll(&mut p, Some(&zero)), Ok(1))
                && p[0].revents().intersects(PollFlags::HUP | PollFlags::ERR)
        };
        for t in &mut self.ttys {
            if t.session.as_ref().is_some_and(gone) {
                t.session = None;
            }
        }
        if let Some(c) = &mut self.console {
            if c.client.as_ref().is_some_and(|cl| gone(&cl.session)) {
                c.client = None;
            }
        }
    }
}
