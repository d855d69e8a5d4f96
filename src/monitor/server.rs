//! The monitor's side of the command socket, never blocking: the listener
//! and every connection are non-blocking, each connection buffers what it
//! has received until a whole frame is there and what it has to send until
//! the peer takes it. A client that connects and sends nothing, sends half
//! a frame, or asks and never reads costs a buffer, never a wait: the
//! monitor goes on reaping init, forwarding signals and answering others.
//!
//! Requests of one connection are answered in order: the next frame of a
//! connection is parsed only once the previous answer is queued (so an
//! answer that takes time, a freeze, holds only that connection) and sent
//! (so a client that never reads cannot make us buffer without bound).

use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};

use anyhow::{Context, Result};
use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags,
};

use super::proto::{Envelope, Request, Response, MAX_FRAME, PROTO_VERSION};

/// At most this many connections; a new one beyond it replaces the
/// oldest idle one.
const MAX_CONNS: usize = 256;

/// Identifies a connection for a deferred answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnId(u64);

struct Outgoing {
    bytes: Vec<u8>,
    sent: usize,
    /// Sent with the first byte (SCM_RIGHTS), then closed.
    fds: Vec<OwnedFd>,
}

struct Conn {
    id: ConnId,
    sock: UnixStream,
    input: Vec<u8>,
    output: VecDeque<Outgoing>,
    /// A request was handed out and its answer is not queued yet.
    waiting: bool,
}

impl Conn {
    fn idle(&self) -> bool {
        !self.waiting && self.output.is_empty()
    }
}

/// Listener plus connections.
pub struct Server<'a> {
    listener: &'a UnixListener,
    conns: Vec<Conn>,
    next: u64,
}

/// What a ready connection asked.
pub enum Incoming {
    Request(ConnId, Request),
}

impl<'a> Server<'a> {
    pub fn new(listener: &'a UnixListener) -> Result<Server<'a>> {
        listener
            .set_nonblocking(true)
            .context("setting the command socket non-blocking")?;
        Ok(Server {
            listener,
            conns: Vec::new(),
            next: 0,
        })
    }

    /// The fds to poll and for what.
    pub fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, PollFlags)> {
        let mut v = vec![(self.listener.as_fd(), PollFlags::IN)];
        for c in &self.conns {
            let mut f = PollFlags::empty();
            if !c.waiting && c.output.is_empty() {
                f |= PollFlags::IN;
            }
            if !c.output.is_empty() {
                f |= PollFlags::OUT;
            }
            // HUP and ERR are always reported.
            v.push((c.sock.as_fd(), f));
        }
        v
    }

    /// Act on readiness of the fds from [`Self::poll_fds`] (raw fd and
    /// revents); returns the complete requests that arrived (or were
    /// already buffered behind an answered one).
    pub fn on_ready(&mut self, ready: &[(RawFd, PollFlags)]) -> Vec<Incoming> {
        let lfd = self.listener.as_raw_fd();
        if ready.iter().any(|(fd, _)| *fd == lfd) {
            self.accept_all();
        }
        let mut out = Vec::new();
        let mut dead = Vec::new();
        for c in &mut self.conns {
            let rev = ready
                .iter()
                .find(|(fd, _)| *fd == c.sock.as_raw_fd())
                .map(|(_, r)| *r)
                .unwrap_or_else(PollFlags::empty);
            if rev.contains(PollFlags::OUT) && flush(c).is_err() {
                dead.push(c.id);
                continue;
            }
            let mut eof = false;
            if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) && c.idle() {
                match fill(c) {
                    Ok(e) => eof = e,
                    Err(_) => {
                        dead.push(c.id);
                        continue;
                    }
                }
            } else if rev.intersects(PollFlags::HUP | PollFlags::ERR) && c.output.is_empty() {
                // Gone while its answer is pending: nothing to send it.
                eof = true;
            }
            if c.idle() {
                match take_request(c) {
                    Ok(Some(r)) => {
                        c.waiting = true;
                        out.push(Incoming::Request(c.id, r));
                        continue;
                    }
                    Ok(None) => {}
                    Err(_) => {
                        dead.push(c.id);
                        continue;
                    }
                }
            }
            if eof && c.idle() {
                dead.push(c.id);
            }
        }
        self.conns.retain(|c| !dead.contains(&c.id));
        out
    }

    /// True when no client is connected.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// True when an idle connection holds a whole frame already read: the
    /// caller must not sleep in poll before calling [`Self::on_ready`].
    pub fn has_buffered(&self) -> bool {
        self.conns
            .iter()
            .any(|c| c.idle() && frame_len(&c.input).is_some_and(|n| c.input.len() >= 4 + n))
    }

    /// Queue the answer to `id` and send what the socket takes now.
    pub fn reply(&mut self, id: ConnId, resp: &Response, fds: Vec<OwnedFd>) {
        let Some(pos) = self.conns.iter().position(|c| c.id == id) else {
            return; // the client left meanwhile
        };
        let c = &mut self.conns[pos];
        c.waiting = false;
        let bytes = encode(resp);
        c.output.push_back(Outgoing {
            bytes,
            sent: 0,
            fds,
        });
        if flush(c).is_err() {
            self.conns.remove(pos);
        }
    }

    fn accept_all(&mut self) {
        loop {
            let s = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return, // WouldBlock, or out of fds: try again later
            };
            if !authorised(&s) || s.set_nonblocking(true).is_err() {
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                match self.conns.iter().position(Conn::idle) {
                    Some(i) => {
                        self.conns.remove(i);
                    }
                    None => continue, // every one is busy: refuse the newcomer
                }
            }
            self.next += 1;
            self.conns.push(Conn {
                id: ConnId(self.next),
                sock: s,
                input: Vec::new(),
                output: VecDeque::new(),
                waiting: false,
            });
        }
    }
}

/// Only root or the monitor's own user may talk to it.
fn authorised(s: &UnixStream) -> bool {
    match rustix::net::sockopt::socket_peercred(s) {
        Ok(cred) => {
            let uid = cred.uid.as_raw();
            uid == 0 || uid == rustix::process::geteuid().as_raw()
        }
        Err(_) => false,
    }
}

/// Read what the socket holds now. `Ok(true)`: end of file.
fn fill(c: &mut Conn) -> Result<bool> {
    let mut buf = [0u8; 4096];
    loop {
        // Clients send no fds; any that come are closed with the buffer.
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
        let mut anc = RecvAncillaryBuffer::new(&mut space);
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg(
            &c.sock,
            &mut iov,
            &mut anc,
            RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(r) if r.bytes == 0 => return Ok(true),
            Ok(r) => c.input.extend_from_slice(&buf[..r.bytes]),
            Err(Errno::AGAIN) => return Ok(false),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        if c.input.len() > MAX_FRAME + 4 {
            anyhow::bail!("more than a frame of input");
        }
    }
}

/// A whole buffered frame becomes a request (one in another protocol
/// version is answered at once with an error; the connection stays
/// usable). `Err`: a broken frame.
fn take_request(c: &mut Conn) -> Result<Option<Request>> {
    let Some(n) = frame_len(&c.input) else {
        return Ok(None);
    };
    if n > MAX_FRAME {
        anyhow::bail!("frame too large ({n} bytes)");
    }
    if c.input.len() < 4 + n {
        return Ok(None);
    }
    let frame: Vec<u8> = c.input.drain(..4 + n).skip(4).collect();
    let env: Envelope<serde_json::Value> = serde_json::from_slice(&frame)?;
    if env.v != PROTO_VERSION {
        let msg = format!(
            "unsupported protocol version {} (this monitor speaks {PROTO_VERSION})",
            env.v
        );
        queue_now(c, &Response::err(msg));
        return Ok(None);
    }
    Ok(Some(serde_json::from_value(env.body)?))
}

fn queue_now(c: &mut Conn, resp: &Response) {
    c.output.push_back(Outgoing {
        bytes: encode(resp),
        sent: 0,
        fds: Vec::new(),
    });
    let _ = flush(c);
}

/// One frame: length, then the JSON of `resp` (an error answer instead
/// when it cannot be encoded or is larger than a frame may be).
fn encode(resp: &Response) -> Vec<u8> {
    let data = match serde_json::to_vec(resp) {
        Ok(d) if d.len() <= MAX_FRAME => d,
        Ok(d) => serde_json::to_vec(&Response::err(format!(
            "answer too large ({} bytes)",
            d.len()
        )))
        .unwrap_or_default(),
        Err(e) => serde_json::to_vec(&Response::err(format!("encoding the answer: {e}")))
            .unwrap_or_default(),
    };
    let mut bytes = (data.len() as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(&data);
    bytes
}

fn frame_len(input: &[u8]) -> Option<usize> {
    let b: [u8; 4] = input.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b) as usize)
}

/// Send queued output until the socket would block. `Err`: the peer is gone.
fn flush(c: &mut Conn) -> Result<()> {
    while let Some(o) = c.output.front_mut() {
        let rest = &o.bytes[o.sent..];
        let r = if o.sent == 0 && !o.fds.is_empty() {
            let borrowed: Vec<BorrowedFd<'_>> = o.fds.iter().map(|f| f.as_fd()).collect();
            let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
            let mut anc = SendAncillaryBuffer::new(&mut space);
            anc.push(SendAncillaryMessage::ScmRights(&borrowed));
            sendmsg(
                &c.sock,
                &[IoSlice::new(rest)],
                &mut anc,
                SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
            )
        } else {
            rustix::net::send(&c.sock, rest, SendFlags::DONTWAIT | SendFlags::NOSIGNAL)
        };
        match r {
            Ok(n) => {
                if o.sent == 0 && n > 0 {
                    o.fds.clear();
                }
                o.sent += n;
                if o.sent == o.bytes.len() {
                    c.output.pop_front();
                }
            }
            Err(Errno::AGAIN) => return Ok(()),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
