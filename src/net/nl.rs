//! A minimal rtnetlink client on a rustix `AF_NETLINK` socket.
//!
//! Messages are built by hand (`nlmsghdr` + a family header + attributes,
//! each 4-byte aligned) so that no netlink crate is pulled in. Every request
//! carries `NLM_F_ACK`, so each transaction ends with either an `NLMSG_ERROR`
//! (0 = success) or, for dumps, `NLMSG_DONE`.

use std::io;
use std::os::fd::OwnedFd;

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{
    bind, recv, send, socket_with, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType,
};

// Message types (linux/rtnetlink.h).
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_SETLINK: u16 = 19;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_DELNEIGH: u16 = 29;
pub const RTM_GETNSID: u16 = 90;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

// Flags (linux/netlink.h).
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;

const NLA_F_NESTED: u16 = 0x8000;
const HDR_LEN: usize = 16;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One request under construction.
pub struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    /// A request of type `ty`; `NLM_F_REQUEST | NLM_F_ACK` are always added.
    pub fn new(ty: u16, flags: u16) -> Self {
        let mut buf = vec![0u8; HDR_LEN];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        Msg {
            buf,
            nests: Vec::new(),
        }
    }

    /// A message with exactly `flags` (plus NLM_F_REQUEST): the nfnetlink
    /// batch delimiters must not ask for an ack.
    pub fn raw(ty: u16, flags: u16) -> Self {
        let mut m = Msg::new(ty, 0);
        m.buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        m
    }

    fn wants_ack(&self) -> bool {
        u16::from_ne_bytes([self.buf[6], self.buf[7]]) & NLM_F_ACK != 0
    }

    fn pad(&mut self) {
        let n = align4(self.buf.len());
        self.buf.resize(n, 0);
    }

    /// Appends a fixed family header (ifinfomsg, ifaddrmsg, rtmsg, ndmsg).
    pub fn header(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    pub fn attr_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND, ...).
    pub fn attr_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    /// Opens a nested attribute; close it with [`Msg::end`].
    pub fn begin(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    pub fn end(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn finish(&mut self, seq: u32) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        &self.buf
    }
}

impl Msg {
    /// The finished bytes (seq 0), for unit tests of parsers.
    #[cfg(test)]
    pub fn finish_for_test(&mut self) -> Vec<u8> {
        self.finish(0).to_vec()
    }
}

/// Iterates over the attributes in `buf` as `(type, payload)`, the nested
/// flag stripped. Stops quietly at a malformed length (the kernel never
/// sends one, but we do not trust lengths blindly).
pub fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        if off + 4 > buf.len() {
            return None;
        }
        let len = u16::from_ne_bytes([buf[off], buf[off + 1]]) as usize;
        let ty = u16::from_ne_bytes([buf[off + 2], buf[off + 3]]) & 0x3fff;
        if len < 4 || off + len > buf.len() {
            return None;
        }
        let data = &buf[off + 4..off + len];
        off += align4(len);
        Some((ty, data))
    })
}

/// A NUL-terminated string attribute payload as a `String`.
pub fn attr_string(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

pub fn attr_u32(data: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(data.get(..4)?.try_into().ok()?))
}

const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

/// A kernel error with the extended-ack message, when the kernel gave one.
#[derive(Debug)]
pub struct NlError {
    pub errno: i32,
    pub msg: String,
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = io::Error::from_raw_os_error(self.errno);
        write!(f, "{} ({base})", self.msg)
    }
}

impl std::error::Error for NlError {}

/// The errno of an error returned by this module (plain or extended).
pub fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|i| i.downcast_ref::<NlError>())
            .map(|n| n.errno)
    })
}

/// Builds the error of an NLMSG_ERROR body: errno, the (capped) request
/// header, then, with NLM_F_ACK_TLVS, attributes holding the message.
fn error_of(errno: i32, flags: u16, body: &[u8]) -> io::Error {
    let plain = io::Error::from_raw_os_error(errno);
    if flags & NLM_F_ACK_TLVS == 0 {
        return plain;
    }
    let tlvs = body.get(4 + HDR_LEN..).unwrap_or_default();
    match attrs(tlvs).find(|(t, _)| *t == NLMSGERR_ATTR_MSG) {
        Some((_, m)) => io::Error::new(
            plain.kind(),
            NlError {
                errno,
                msg: attr_string(m),
            },
        ),
        None => plain,
    }
}

/// One message of a datagram: type, flags, seq and the body after the header.
type Part<'a> = (u16, u16, u32, &'a [u8]);

/// Splits a datagram into its messages.
fn messages(buf: &[u8]) -> io::Result<Vec<Part<'_>>> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + HDR_LEN <= buf.len() {
        let h = &buf[off..];
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let ty = u16::from_ne_bytes([h[4], h[5]]);
        let flags = u16::from_ne_bytes([h[6], h[7]]);
        let seq = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
        if len < HDR_LEN || off + len > buf.len() {
            return Err(io::Error::from_raw_os_error(libc::EBADMSG));
        }
        out.push((ty, flags, seq, &buf[off + HDR_LEN..off + len]));
        off += align4(len);
    }
    Ok(out)
}

/// One reply message: its type and the bytes after `nlmsghdr`.
pub struct Reply {
    pub ty: u16,
    pub body: Vec<u8>,
}

/// An `AF_NETLINK`/`NETLINK_ROUTE` socket, bound in the network namespace of
/// the thread that opened it (it stays there even if the thread moves).
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

impl Socket {
    pub fn open() -> io::Result<Self> {
        // NETLINK_ROUTE is protocol 0, the default.
        Self::open_proto(None)
    }

    /// An `AF_NETLINK`/`NETLINK_NETFILTER` socket (nf_tables).
    pub fn open_netfilter() -> io::Result<Self> {
        Self::open_proto(Some(rustix::net::netlink::NETFILTER))
    }

    fn open_proto(proto: Option<rustix::net::Protocol>) -> io::Result<Self> {
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            proto,
        )?;
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        // Optional: older kernels lack extended acks; errors then carry
        // only the errno.
        let _ = crate::sys::net::netlink_ext_ack(std::os::fd::AsFd::as_fd(&fd));
        Ok(Socket { fd, seq: 1 })
    }

    /// Sends `msg` and collects the replies until the ack (or `NLMSG_DONE`).
    /// A negative ack is returned as the matching `io::Error`.
    pub fn transact(&mut self, msg: &mut Msg) -> io::Result<Vec<Reply>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        send(&self.fd, msg.finish(seq), SendFlags::empty())?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let (n, full) = recv(&self.fd, &mut buf[..], RecvFlags::empty())?;
            if full > n {
                // Truncated datagram: enlarge and let the caller retry.
                return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
            }
            for (ty, flags, rseq, body) in messages(&buf[..n])? {
                if rseq != seq {
                    continue; // stale reply of an earlier, abandoned request
                }
                match ty {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let err = body
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-libc::EBADMSG);
                        if err == 0 {
                            return Ok(out);
                        }
                        return Err(error_of(-err, flags, body));
                    }
                    _ => out.push(Reply {
                        ty,
                        body: body.to_vec(),
                    }),
                }
            }
        }
    }

    /// Sends `msgs` as one datagram (an nfnetlink batch: the kernel applies
    /// it as one transaction) and checks the ack of every message that
    /// asked for one. The kernel answers a batch while it is being sent,
    /// so every reply is queued when `send` returns; a short poll covers
    /// the rest. The first error (with its extended-ack text) is returned.
    pub fn batch(&mut self, msgs: &mut [Msg]) -> io::Result<()> {
        let mut out = Vec::new();
        let mut pending = Vec::new();
        for m in msgs.iter_mut() {
            self.seq = self.seq.wrapping_add(1);
            if m.wants_ack() {
                pending.push(self.seq);
            }
            out.extend_from_slice(m.finish(self.seq));
        }
        send(&self.fd, &out, SendFlags::empty())?;
        let mut first_err = None;
        let mut buf = vec![0u8; 64 * 1024];
        while !pending.is_empty() && first_err.is_none() {
            let n = match recv(&self.fd, &mut buf[..], RecvFlags::DONTWAIT) {
                Ok((n, _)) => n,
                Err(rustix::io::Errno::AGAIN) => {
                    let mut p = [rustix::event::PollFd::new(
                        &self.fd,
                        rustix::event::PollFlags::IN,
                    )];
                    let t = rustix::time::Timespec {
                        tv_sec: 2,
                        tv_nsec: 0,
                    };
                    if rustix::event::poll(&mut p, Some(&t))? == 0 {
                        return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            for (ty, flags, seq, body) in messages(&buf[..n])? {
                if ty != NLMSG_ERROR {
                    continue;
                }
                pending.retain(|s| *s != seq);
                let err = body
                    .get(..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(-libc::EBADMSG);
                if err != 0 && first_err.is_none() {
                    first_err = Some(error_of(-err, flags, body));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// A request whose only answer is the ack.
    pub fn exec(&mut self, msg: &mut Msg) -> io::Result<()> {
        self.transact(msg).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_aligned_nested_attributes() {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE);
        m.header(&[0u8; 16]).attr_str(3, "ab").begin(18);
        m.attr_str(1, "veth").end();
        let bytes = m.finish(7).to_vec();
        assert_eq!(bytes.len() % 4, 0);
        let len = u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize;
        assert_eq!(len, bytes.len());
        let got: Vec<_> = attrs(&bytes[32..]).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (3, &b"ab\0"[..]));
        assert_eq!(got[1].0, 18);
        let inner: Vec<_> = attrs(got[1].1).collect();
        assert_eq!(inner, vec![(1, &b"veth\0"[..])]);
    }

    #[test]
    fn extended_ack_message_is_kept_with_its_errno() {
        let mut body = (-libc::ENETDOWN).to_ne_bytes().to_vec();
        body.extend_from_slice(&[0u8; HDR_LEN]);
        let msg = b"Nexthop device is not up\0";
        body.extend_from_slice(&((4 + msg.len()) as u16).to_ne_bytes());
        body.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        body.extend_from_slice(msg);
        let e = error_of(libc::ENETDOWN, NLM_F_ACK_TLVS, &body);
        assert_eq!(errno(&e), Some(libc::ENETDOWN));
        assert!(
            e.to_string().starts_with("Nexthop device is not up ("),
            "{e}"
        );
        let e = error_of(libc::EEXIST, 0, &body);
        assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
    }

    #[test]
    fn attrs_stop_at_bad_length() {
        let buf = [200u8, 0, 1, 0, 0, 0, 0, 0];
        assert_eq!(attrs(&buf).count(), 0);
        assert_eq!(attr_string(b"eth0\0\0"), "eth0");
    }
}
