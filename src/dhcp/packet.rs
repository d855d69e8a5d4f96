//! The DHCPv4 / BOOTP message (RFC 2131, options RFC 2132), parsed with
//! nom and written by hand. Every length is checked against the buffer:
//! the input comes from any container on the bridge.

use std::net::Ipv4Addr;

use nom::bytes::complete::{tag, take};
use nom::number::complete::{be_u16, be_u32, u8 as byte};
use nom::{IResult, Parser};

pub const BOOTREQUEST: u8 = 1;
pub const BOOTREPLY: u8 = 2;
const MAGIC: [u8; 4] = [99, 130, 83, 99];
/// The fixed header: op .. file, before the magic cookie.
const FIXED: usize = 236;
/// BOOTP's minimum message size; some clients drop shorter replies.
const MIN_LEN: usize = 300;
/// The broadcast bit of `flags`.
pub const FLAG_BROADCAST: u16 = 0x8000;

pub const OPT_PAD: u8 = 0;
pub const OPT_SUBNET_MASK: u8 = 1;
pub const OPT_ROUTER: u8 = 3;
pub const OPT_DNS: u8 = 6;
pub const OPT_HOSTNAME: u8 = 12;
pub const OPT_DOMAIN: u8 = 15;
pub const OPT_BROADCAST: u8 = 28;
pub const OPT_REQUESTED_IP: u8 = 50;
pub const OPT_LEASE_TIME: u8 = 51;
pub const OPT_MESSAGE_TYPE: u8 = 53;
pub const OPT_SERVER_ID: u8 = 54;
pub const OPT_MESSAGE: u8 = 56;
pub const OPT_RENEWAL: u8 = 58;
pub const OPT_REBINDING: u8 = 59;
pub const OPT_CLIENT_ID: u8 = 61;
pub const OPT_END: u8 = 255;

/// Option 53.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

impl MessageType {
    fn from_u8(v: u8) -> Option<Self> {
        use MessageType::*;
        Some(match v {
            1 => Discover,
            2 => Offer,
            3 => Request,
            4 => Decline,
            5 => Ack,
            6 => Nak,
            7 => Release,
            8 => Inform,
            _ => return None,
        })
    }
}

/// One message. Options keep their order; a code that appears several
/// times is joined on lookup (RFC 3396).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub hops: u8,
    pub xid: u32,
    pub secs: u16,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub chaddr: [u8; 16],
    pub options: Vec<(u8, Vec<u8>)>,
}

/// Why a datagram is not a DHCP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Truncated,
    NoMagicCookie,
    BadOption,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParseError::Truncated => "truncated message",
            ParseError::NoMagicCookie => "no DHCP magic cookie",
            ParseError::BadOption => "option runs past the end of the message",
        })
    }
}

impl std::error::Error for ParseError {}

fn ipv4(i: &[u8]) -> IResult<&[u8], Ipv4Addr> {
    be_u32.map(Ipv4Addr::from).parse(i)
}

type Header = (u8, u8, u8, u8, u32, u16, u16);

fn header(i: &[u8]) -> IResult<&[u8], Header> {
    (byte, byte, byte, byte, be_u32, be_u16, be_u16).parse(i)
}

/// The options area: code, length, data; PAD has no length; END stops.
fn options(mut i: &[u8]) -> Result<Vec<(u8, Vec<u8>)>, ParseError> {
    let mut out = Vec::new();
    while let Some((&code, rest)) = i.split_first() {
        i = rest;
        match code {
            OPT_PAD => continue,
            OPT_END => break,
            _ => {
                let (r, len) =
                    byte::<_, nom::error::Error<&[u8]>>(i).map_err(|_| ParseError::BadOption)?;
                let (r, data) = take::<_, _, nom::error::Error<&[u8]>>(len)(r)
                    .map_err(|_| ParseError::BadOption)?;
                out.push((code, data.to_vec()));
                i = r;
            }
        }
    }
    Ok(out)
}

impl Packet {
    pub fn parse(buf: &[u8]) -> Result<Packet, ParseError> {
        let body = || -> IResult<&[u8], Packet> {
            let (i, (op, htype, hlen, hops, xid, secs, flags)) = header(buf)?;
            let (i, (ciaddr, yiaddr, siaddr, giaddr)) = (ipv4, ipv4, ipv4, ipv4).parse(i)?;
            let (i, ch) = take(16usize)(i)?;
            // sname and file: not used (option overload is not honoured).
            let (i, _) = take(FIXED - 44)(i)?;
            let mut chaddr = [0u8; 16];
            chaddr.copy_from_slice(ch);
            Ok((
                i,
                Packet {
                    op,
                    htype,
                    hlen,
                    hops,
                    xid,
                    secs,
                    flags,
                    ciaddr,
                    yiaddr,
                    siaddr,
                    giaddr,
                    chaddr,
                    options: Vec::new(),
                },
            ))
        };
        let (rest, mut p) = body().map_err(|_| ParseError::Truncated)?;
        let (rest, _) = tag::<_, _, nom::error::Error<&[u8]>>(&MAGIC[..])(rest)
            .map_err(|_| ParseError::NoMagicCookie)?;
        p.options = options(rest)?;
        Ok(p)
    }

    /// The value of option `code` (several instances joined).
    pub fn option(&self, code: u8) -> Option<Vec<u8>> {
        let mut found = None::<Vec<u8>>;
        for (c, d) in &self.options {
            if *c == code {
                found.get_or_insert_with(Vec::new).extend_from_slice(d);
            }
        }
        found
    }

    pub fn option_ip(&self, code: u8) -> Option<Ipv4Addr> {
        let v = self.option(code)?;
        let b: [u8; 4] = v.get(..4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    pub fn message_type(&self) -> Option<MessageType> {
        MessageType::from_u8(*self.option(OPT_MESSAGE_TYPE)?.first()?)
    }

    /// The client's Ethernet address, when the hardware is Ethernet.
    pub fn mac(&self) -> Option<[u8; 6]> {
        (self.htype == 1 && self.hlen == 6).then(|| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&self.chaddr[..6]);
            m
        })
    }

    /// Adds an option; data longer than 255 bytes is split (RFC 3396).
    pub fn push(&mut self, code: u8, data: &[u8]) {
        if data.is_empty() {
            self.options.push((code, Vec::new()));
        }
        for chunk in data.chunks(255) {
            self.options.push((code, chunk.to_vec()));
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(MIN_LEN + 64);
        b.extend_from_slice(&[self.op, self.htype, self.hlen, self.hops]);
        b.extend_from_slice(&self.xid.to_be_bytes());
        b.extend_from_slice(&self.secs.to_be_bytes());
        b.extend_from_slice(&self.flags.to_be_bytes());
        for a in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            b.extend_from_slice(&a.octets());
        }
        b.extend_from_slice(&self.chaddr);
        b.resize(FIXED, 0);
        b.extend_from_slice(&MAGIC);
        for (c, d) in &self.options {
            b.push(*c);
            b.push(d.len().min(255) as u8);
            b.extend_from_slice(&d[..d.len().min(255)]);
        }
        b.push(OPT_END);
        if b.len() < MIN_LEN {
            b.resize(MIN_LEN, OPT_PAD);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn discover(mac: [u8; 6]) -> Packet {
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&mac);
        let mut p = Packet {
            op: BOOTREQUEST,
            htype: 1,
            hlen: 6,
            hops: 0,
            xid: 0x1234_5678,
            secs: 0,
            flags: FLAG_BROADCAST,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr,
            options: Vec::new(),
        };
        p.push(OPT_MESSAGE_TYPE, &[MessageType::Discover as u8]);
        p.push(OPT_HOSTNAME, b"c1");
        p
    }

    #[test]
    fn round_trip_and_minimum_size() {
        let p = discover([0, 0x16, 0x3e, 1, 2, 3]);
        let b = p.encode();
        assert_eq!(b.len(), MIN_LEN);
        assert_eq!(&b[236..240], &MAGIC);
        let q = Packet::parse(&b).unwrap();
        assert_eq!(q, p);
        assert_eq!(q.message_type(), Some(MessageType::Discover));
        assert_eq!(q.mac(), Some([0, 0x16, 0x3e, 1, 2, 3]));
        assert_eq!(q.option(OPT_HOSTNAME).as_deref(), Some(&b"c1"[..]));
    }

    #[test]
    fn pad_split_options_and_bad_input() {
        let mut b = discover([2; 6]).encode();
        b.truncate(240);
        b.extend_from_slice(&[0, 0, 12, 2, b'a', b'b', 0, 12, 1, b'c', 53, 1, 3, 255, 9, 9]);
        let p = Packet::parse(&b).unwrap();
        assert_eq!(p.option(OPT_HOSTNAME).as_deref(), Some(&b"abc"[..]));
        assert_eq!(p.message_type(), Some(MessageType::Request));
        assert_eq!(Packet::parse(&b[..100]), Err(ParseError::Truncated));
        let mut nomagic = b.clone();
        nomagic[236] = 0;
        assert_eq!(Packet::parse(&nomagic), Err(ParseError::NoMagicCookie));
        let mut runs_over = b[..240].to_vec();
        runs_over.extend_from_slice(&[12, 50, b'x']);
        assert_eq!(Packet::parse(&runs_over), Err(ParseError::BadOption));
        // No END: the options simply stop at the end of the datagram.
        let mut no_end = b[..240].to_vec();
        no_end.extend_from_slice(&[53, 1, 1]);
        assert_eq!(
            Packet::parse(&no_end).unwrap().message_type(),
            Some(MessageType::Discover)
        );
    }

    #[test]
    fn noise_never_panics() {
        let noise = crate::net::spec::random_bytes(64 * 1024);
        let base = discover([1; 6]).encode();
        for n in 0..4000 {
            let start = (n * 37) % noise.len();
            let len = (n * 13) % 600;
            let mut b = base[..240.min(len)].to_vec();
            b.extend_from_slice(&noise[start..(start + len).min(noise.len())]);
            if let Ok(p) = Packet::parse(&b) {
                let _ = (p.message_type(), p.mac(), p.option_ip(OPT_REQUESTED_IP));
                let _ = p.encode();
            }
        }
    }
}
