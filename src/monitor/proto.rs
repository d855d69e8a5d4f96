//! The command-socket protocol: one length-prefixed JSON message each way,
//! with a protocol version, optionally carrying fds (SCM_RIGHTS).
//!
//! Frame: 4-byte little-endian length, then that many bytes of JSON.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{bail, Context, Result};
use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};

use super::State;

/// Bumped on incompatible changes; a monitor refuses other versions.
pub const PROTO_VERSION: u32 = 2;
/// Largest frame accepted (a config item or a console buffer).
pub const MAX_FRAME: usize = 16 << 20;

/// What a client asks the monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    State,
    InitPid,
    /// Everything `lxc-info` needs in one round trip.
    Info,
    /// Send `signal` to init (lxc-stop, lxc-kill, lxc-shutdown).
    Signal {
        signal: i32,
    },
    /// Graceful stop: init gets lxc.signal.halt (default SIGPWR).
    Halt,
    /// Hard stop: init gets lxc.signal.stop (default SIGKILL).
    Kill,
    /// Reboot: init gets lxc.signal.reboot (default SIGINT); when it exits
    /// the monitor starts the container again.
    Reboot,
    /// Value of one config key (`lxc-info -c`).
    ConfigItem {
        key: String,
    },
    /// The container's cgroup directories.
    CgroupPaths,
    Freeze,
    Unfreeze,
    /// A tty's pty master (`None` = first free tty; `Some(0)` = console).
    Console {
        tty: Option<u32>,
    },
    /// The console ring buffer (and optionally clear it).
    ConsoleLog {
        clear: bool,
    },
}

/// A request with its protocol version.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub v: u32,
    #[serde(flatten)]
    pub body: T,
}

/// The monitor's answer: one variant per kind of answer, so a client
/// matches what it asked for and nothing travels as text to re-parse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Response {
    /// The request failed; the text says why.
    Error {
        error: String,
    },
    /// Done (signal, halt, kill, reboot, freeze, unfreeze).
    Done,
    State {
        state: State,
    },
    InitPid {
        pid: i32,
    },
    Info(Info),
    /// The value of a config key (`lxc-info -c`).
    ConfigItem {
        value: String,
    },
    Cgroups {
        cgroups: crate::cgroup::CgroupSet,
    },
    /// A tty handed over (its fds come with the answer); 0 is the console.
    Console {
        tty: u32,
    },
    /// The console ring buffer.
    ConsoleLog {
        data: Vec<u8>,
    },
}

/// What `lxc-info`, `lxc-ls` and `lxc-attach` learn in one round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    pub state: State,
    pub pid: i32,
    /// Host-side interface names (lxc-info Link:).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// Namespaces the container does not share with its monitor: made
    /// for it or joined from elsewhere (what lxc-attach enters).
    pub namespaces: crate::namespace::NsSet,
}

impl Response {
    pub fn err(msg: impl Into<String>) -> Self {
        Response::Error { error: msg.into() }
    }

    /// A short name of the variant, for "unexpected answer" errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Error { .. } => "error",
            Response::Done => "done",
            Response::State { .. } => "state",
            Response::InitPid { .. } => "init_pid",
            Response::Info(_) => "info",
            Response::ConfigItem { .. } => "config_item",
            Response::Cgroups { .. } => "cgroups",
            Response::Console { .. } => "console",
            Response::ConsoleLog { .. } => "console_log",
        }
    }
}

/// Write one frame, with `fds` attached to its first byte.
pub fn write_frame(sock: BorrowedFd<'_>, payload: &[u8], fds: &[BorrowedFd<'_>]) -> Result<()> {
    if payload.len() > MAX_FRAME {
        bail!("message too large ({} bytes)", payload.len());
    }
    let len = (payload.len() as u32).to_le_bytes();
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut anc = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() && !anc.push(SendAncillaryMessage::ScmRights(fds)) {
        bail!("too many fds to pass");
    }
    let iov = [IoSlice::new(&len), IoSlice::new(payload)];
    let mut sent = sendmsg(sock, &iov, &mut anc, SendFlags::NOSIGNAL).context("sending")?;
    // The rest (rare: large frames) goes out without ancillary data.
    let total = 4 + payload.len();
    while sent < total {
        let rest: Vec<u8> = len.iter().chain(payload).skip(sent).copied().collect();
        sent += rustix::net::send(sock, &rest, SendFlags::NOSIGNAL).context("sending")?;
    }
    Ok(())
}

/// Read one frame and any fds sent with it. `Ok(None)` on clean EOF.
pub fn read_frame(sock: BorrowedFd<'_>) -> Result<Option<(Vec<u8>, Vec<OwnedFd>)>> {
    let mut len = [0u8; 4];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(4))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [IoSliceMut::new(&mut len)];
    let r = recvmsg(sock, &mut iov, &mut anc, RecvFlags::CMSG_CLOEXEC).context("receiving")?;
    let mut fds = Vec::new();
    for m in anc.drain() {
        if let RecvAncillaryMessage::ScmRights(it) = m {
            fds.extend(it);
        }
    }
    if r.bytes == 0 {
        return Ok(None);
    }
    let mut got = r.bytes;
    let mut stream = FdIo(sock);
    if got < 4 {
        stream
            .read_exact(&mut len[got..])
            .context("receiving frame length")?;
        got = 4;
    }
    debug_assert_eq!(got, 4);
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_FRAME {
        bail!("frame too large ({n} bytes)");
    }
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).context("receiving frame")?;
    Ok(Some((buf, fds)))
}

/// Read/Write over a borrowed socket fd.
pub struct FdIo<'a>(pub BorrowedFd<'a>);

impl Read for FdIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match rustix::io::read(self.0, &mut *buf) {
                Err(rustix::io::Errno::INTR) => continue,
                r => return r.map_err(io::Error::from),
            }
        }
    }
}

impl Write for FdIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        rustix::net::send(self.0, buf, SendFlags::NOSIGNAL).map_err(io::Error::from)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serialize and send a value as one frame.
pub fn send_json<T: Serialize>(sock: impl AsFd, v: &T, fds: &[BorrowedFd<'_>]) -> Result<()> {
    let data = serde_json::to_vec(v).context("encoding message")?;
    write_frame(sock.as_fd(), &data, fds)
}

/// Receive and deserialize one frame.
pub fn recv_json<T: for<'de> Deserialize<'de>>(
    sock: impl AsFd,
) -> Result<Option<(T, Vec<OwnedFd>)>> {
    match read_frame(sock.as_fd())? {
        None => Ok(None),
        Some((data, fds)) => {
            let v = serde_json::from_slice(&data).context("decoding message")?;
            Ok(Some((v, fds)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn frames_round_trip_with_fds() {
        let (a, b) = UnixStream::pair().unwrap();
        let req = Envelope {
            v: PROTO_VERSION,
            body: Request::Signal { signal: 30 },
        };
        let devnull = std::fs::File::open("/dev/null").unwrap();
        send_json(&a, &req, &[devnull.as_fd()]).unwrap();
        let (got, fds): (Envelope<Request>, _) = recv_json(&b).unwrap().unwrap();
        assert_eq!(got.v, PROTO_VERSION);
        assert_eq!(got.body, Request::Signal { signal: 30 });
        assert_eq!(fds.len(), 1);
        drop(a);
        assert!(recv_json::<Envelope<Request>>(&b).unwrap().is_none());
    }

    #[test]
    fn responses_are_typed_json() {
        let r = Response::Info(Info {
            state: State::Running,
            pid: 7,
            interfaces: vec![],
            namespaces: crate::namespace::NsSet::parse_config("net pid").unwrap(),
        });
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(
            s,
            r#"{"answer":"info","state":"RUNNING","pid":7,"namespaces":["pid","net"]}"#
        );
        assert_eq!(serde_json::from_str::<Response>(&s).unwrap(), r);
        let s = serde_json::to_string(&Response::Done).unwrap();
        assert_eq!(s, r#"{"answer":"done"}"#);
    }

    #[test]
    fn request_wire_form_is_stable() {
        let s = serde_json::to_string(&Envelope {
            v: 1,
            body: Request::Console { tty: Some(2) },
        })
        .unwrap();
        assert_eq!(s, r#"{"v":1,"cmd":"console","tty":2}"#);
    }
}
