//! Links: look up, list, create, delete, change (RTM_*LINK).

use std::io;

use super::nl::{self, Msg, Socket};

// ifinfomsg attributes (linux/if_link.h).
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_STATS64: u16 = 23;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_LINK_NETNSID: u16 = 37;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFLA_BR_VLAN_FILTERING: u16 = 7;
const IFLA_MACVLAN_MODE: u16 = 1;
const IFLA_IPVLAN_MODE: u16 = 1;
const IFLA_IPVLAN_FLAGS: u16 = 2;
const IFLA_VLAN_ID: u16 = 1;

pub const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;

/// What the kernel tells about one link.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Link {
    pub index: i32,
    pub name: String,
    pub flags: u32,
    pub mtu: u32,
    pub master: Option<i32>,
    /// IFLA_INFO_KIND: "veth", "bridge", "macvlan", ... (None for hardware).
    pub kind: Option<String>,
    /// A bridge's IFLA_BR_VLAN_FILTERING.
    pub vlan_filtering: bool,
    /// IFLA_LINK_NETNSID: the namespace (as an nsid of ours) of the peer.
    pub link_netnsid: Option<i32>,
    pub mac: Vec<u8>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

impl Link {
    pub fn is_loopback(&self) -> bool {
        self.flags & IFF_LOOPBACK != 0
    }
}

/// `struct ifinfomsg`: family, pad, type, index, flags, change.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..12].copy_from_slice(&flags.to_ne_bytes());
    h[12..16].copy_from_slice(&change.to_ne_bytes());
    h
}

fn parse_link(body: &[u8]) -> Option<Link> {
    let hdr = body.get(..16)?;
    let mut l = Link {
        index: i32::from_ne_bytes(hdr[4..8].try_into().ok()?),
        flags: u32::from_ne_bytes(hdr[8..12].try_into().ok()?),
        ..Link::default()
    };
    let mut info_data = None;
    for (ty, data) in nl::attrs(&body[16..]) {
        match ty {
            IFLA_IFNAME => l.name = nl::attr_string(data),
            IFLA_MTU => l.mtu = nl::attr_u32(data).unwrap_or(0),
            IFLA_MASTER => l.master = nl::attr_u32(data).map(|v| v as i32),
            IFLA_LINK_NETNSID => l.link_netnsid = nl::attr_u32(data).map(|v| v as i32),
            IFLA_ADDRESS => l.mac = data.to_vec(),
            IFLA_STATS64 if data.len() >= 32 => {
                // struct rtnl_link_stats64: rx_packets, tx_packets, rx_bytes, tx_bytes, ...
                l.rx_bytes = u64::from_ne_bytes(data[16..24].try_into().ok()?);
                l.tx_bytes = u64::from_ne_bytes(data[24..32].try_into().ok()?);
            }
            IFLA_LINKINFO => {
                for (t, d) in nl::attrs(data) {
                    match t {
                        IFLA_INFO_KIND => l.kind = Some(nl::attr_string(d)),
                        IFLA_INFO_DATA => info_data = Some(d),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if let (Some("bridge"), Some(d)) = (l.kind.as_deref(), info_data) {
        l.vlan_filtering =
            nl::attrs(d).any(|(t, v)| t == IFLA_BR_VLAN_FILTERING && v.first() == Some(&1));
    }
    Some(l)
}

/// Turns VLAN filtering of bridge `index` on or off (IFLA_BR_VLAN_FILTERING).
pub fn set_vlan_filtering(s: &mut Socket, index: i32, on: bool) -> io::Result<()> {
    let mut m = Msg::new(nl::RTM_NEWLINK, 0);
    m.header(&ifinfomsg(index, 0, 0))
        .begin(IFLA_LINKINFO)
        .attr_str(IFLA_INFO_KIND, "bridge")
        .begin(IFLA_INFO_DATA)
        .attr(IFLA_BR_VLAN_FILTERING, &[on as u8])
        .end()
        .end();
    s.exec(&mut m)
}

fn is_gone(e: &io::Error) -> bool {
    matches!(super::nl::errno(e), Some(libc::ENODEV) | Some(libc::ENOENT))
}

/// The link named `name`, or `None` if there is none in this namespace.
pub fn by_name(s: &mut Socket, name: &str) -> io::Result<Option<Link>> {
    if name.is_empty() || name.len() > 15 {
        return Ok(None);
    }
    let mut m = Msg::new(nl::RTM_GETLINK, 0);
    m.header(&ifinfomsg(0, 0, 0)).attr_str(IFLA_IFNAME, name);
    match s.transact(&mut m) {
        Ok(r) => Ok(r.iter().find_map(|r| parse_link(&r.body))),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The link with index `index`, or `None`.
pub fn by_index(s: &mut Socket, index: i32) -> io::Result<Option<Link>> {
    let mut m = Msg::new(nl::RTM_GETLINK, 0);
    m.header(&ifinfomsg(index, 0, 0));
    match s.transact(&mut m) {
        Ok(r) => Ok(r.iter().find_map(|r| parse_link(&r.body))),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every link of this namespace.
pub fn list(s: &mut Socket) -> io::Result<Vec<Link>> {
    let mut m = Msg::new(nl::RTM_GETLINK, nl::NLM_F_DUMP);
    m.header(&ifinfomsg(0, 0, 0));
    Ok(s.transact(&mut m)?
        .iter()
        .filter(|r| r.ty == nl::RTM_NEWLINK)
        .filter_map(|r| parse_link(&r.body))
        .collect())
}

/// The nsid this namespace gives to the namespace `fd` (RTM_GETNSID), or
/// None if it has none (the kernel assigns one when a veth peer goes there).
pub fn nsid_of(s: &mut Socket, fd: i32) -> io::Result<Option<i32>> {
    const NETNSA_NSID: u16 = 1;
    const NETNSA_FD: u16 = 3;
    let mut m = Msg::new(nl::RTM_GETNSID, 0);
    // struct rtgenmsg: just the family byte (padded).
    m.header(&[libc::AF_UNSPEC as u8])
        .attr_u32(NETNSA_FD, fd as u32);
    for r in s.transact(&mut m)? {
        // The reply is a struct rtgenmsg (4 bytes padded) + attributes.
        for (ty, data) in nl::attrs(r.body.get(4..).unwrap_or_default()) {
            if ty == NETNSA_NSID {
                let id = nl::attr_u32(data).map(|v| v as i32).unwrap_or(-1);
                return Ok((id >= 0).then_some(id));
            }
        }
    }
    Ok(None)
}

/// Where a device goes when created or moved.
#[derive(Debug, Clone, Copy)]
pub enum Netns {
    Pid(i32),
    Fd(i32),
}

fn put_netns(m: &mut Msg, ns: Netns) {
    match ns {
        Netns::Pid(p) => m.attr_u32(IFLA_NET_NS_PID, p as u32),
        Netns::Fd(fd) => m.attr_u32(IFLA_NET_NS_FD, fd as u32),
    };
}

/// The kind-specific part of a new link.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A veth pair; the peer gets `peer_name`, lives in `peer_ns`.
    Veth {
        peer_name: String,
        peer_ns: Option<Netns>,
        peer_mtu: Option<u32>,
        /// IFLA_NUM_RX_QUEUES / IFLA_NUM_TX_QUEUES of the peer; the host
        /// end gets them swapped (LXC's lxc_veth_create).
        peer_queues: (Option<u32>, Option<u32>),
    },
    Macvlan {
        lower: i32,
        mode: u32,
    },
    Ipvlan {
        lower: i32,
        mode: u16,
        flags: u16,
    },
    Vlan {
        lower: i32,
        id: u16,
    },
    Bridge,
    Dummy,
}

/// A link to create.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub name: String,
    pub kind: Kind,
    pub mtu: Option<u32>,
    pub master: Option<i32>,
    pub netns: Option<Netns>,
    pub up: bool,
}

/// Creates a link (fails with EEXIST if the name is taken).
pub fn create(s: &mut Socket, l: &NewLink) -> io::Result<()> {
    let mut m = Msg::new(nl::RTM_NEWLINK, nl::NLM_F_CREATE | nl::NLM_F_EXCL);
    let flags = if l.up { IFF_UP } else { 0 };
    m.header(&ifinfomsg(0, flags, flags))
        .attr_str(IFLA_IFNAME, &l.name);
    if let Some(mtu) = l.mtu {
        m.attr_u32(IFLA_MTU, mtu);
    }
    if let Some(master) = l.master {
        m.attr_u32(IFLA_MASTER, master as u32);
    }
    if let Some(ns) = l.netns {
        put_netns(&mut m, ns);
    }
    if let Kind::Veth {
        peer_queues: (rx, tx),
        ..
    } = &l.kind
    {
        if let Some(n) = tx {
            m.attr_u32(IFLA_NUM_RX_QUEUES, *n);
        }
        if let Some(n) = rx {
            m.attr_u32(IFLA_NUM_TX_QUEUES, *n);
        }
    }
    let lower = match &l.kind {
        Kind::Macvlan { lower, .. } | Kind::Ipvlan { lower, .. } | Kind::Vlan { lower, .. } => {
            Some(*lower)
        }
        _ => None,
    };
    if let Some(lower) = lower {
        m.attr_u32(IFLA_LINK, lower as u32);
    }
    m.begin(IFLA_LINKINFO);
    match &l.kind {
        Kind::Veth {
            peer_name,
            peer_ns,
            peer_mtu,
            peer_queues: (rx, tx),
        } => {
            m.attr_str(IFLA_INFO_KIND, "veth").begin(IFLA_INFO_DATA);
            // VETH_INFO_PEER carries a whole ifinfomsg followed by attributes.
            m.begin(VETH_INFO_PEER)
                .header(&ifinfomsg(0, 0, 0))
                .attr_str(IFLA_IFNAME, peer_name);
            if let Some(n) = rx {
                m.attr_u32(IFLA_NUM_RX_QUEUES, *n);
            }
            if let Some(n) = tx {
                m.attr_u32(IFLA_NUM_TX_QUEUES, *n);
            }
            if let Some(mtu) = peer_mtu {
                m.attr_u32(IFLA_MTU, *mtu);
            }
            if let Some(ns) = peer_ns {
                put_netns(&mut m, *ns);
            }
            m.end().end();
        }
        Kind::Macvlan { mode, .. } => {
            m.attr_str(IFLA_INFO_KIND, "macvlan").begin(IFLA_INFO_DATA);
            m.attr_u32(IFLA_MACVLAN_MODE, *mode).end();
        }
        Kind::Ipvlan { mode, flags, .. } => {
            m.attr_str(IFLA_INFO_KIND, "ipvlan").begin(IFLA_INFO_DATA);
            m.attr_u16(IFLA_IPVLAN_MODE, *mode)
                .attr_u16(IFLA_IPVLAN_FLAGS, *flags)
                .end();
        }
        Kind::Vlan { id, .. } => {
            m.attr_str(IFLA_INFO_KIND, "vlan").begin(IFLA_INFO_DATA);
            m.attr_u16(IFLA_VLAN_ID, *id).end();
        }
        Kind::Bridge => {
            m.attr_str(IFLA_INFO_KIND, "bridge");
        }
        Kind::Dummy => {
            m.attr_str(IFLA_INFO_KIND, "dummy");
        }
    }
    m.end();
    s.exec(&mut m)
}

/// Deletes link `index`; a link that is already gone is not an error.
pub fn delete(s: &mut Socket, index: i32) -> io::Result<()> {
    let mut m = Msg::new(nl::RTM_DELLINK, 0);
    m.header(&ifinfomsg(index, 0, 0));
    match s.exec(&mut m) {
        Err(e) if is_gone(&e) => Ok(()),
        r => r,
    }
}

/// Changes to apply to an existing link; `None` fields are left alone.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    pub name: Option<&'a str>,
    pub mtu: Option<u32>,
    pub mac: Option<&'a [u8]>,
    pub up: Option<bool>,
    pub master: Option<i32>,
    pub netns: Option<Netns>,
}

/// Applies `c` to link `index` with one RTM_NEWLINK (no NLM_F_CREATE).
pub fn change(s: &mut Socket, index: i32, c: &Change) -> io::Result<()> {
    let (flags, mask) = match c.up {
        Some(true) => (IFF_UP, IFF_UP),
        Some(false) => (0, IFF_UP),
        None => (0, 0),
    };
    let mut m = Msg::new(nl::RTM_NEWLINK, 0);
    m.header(&ifinfomsg(index, flags, mask));
    if let Some(n) = c.name {
        m.attr_str(IFLA_IFNAME, n);
    }
    if let Some(mtu) = c.mtu {
        m.attr_u32(IFLA_MTU, mtu);
    }
    if let Some(mac) = c.mac {
        m.attr(IFLA_ADDRESS, mac);
    }
    if let Some(master) = c.master {
        m.attr_u32(IFLA_MASTER, master as u32);
    }
    if let Some(ns) = c.netns {
        put_netns(&mut m, ns);
    }
    s.exec(&mut m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_replies_never_panic() {
        let noise = crate::net::spec::random_bytes(64 * 1024);
        for n in 0..2000 {
            let start = (n * 31) % noise.len();
            let len = (n * 7) % 200;
            let b = &noise[start..(start + len).min(noise.len())];
            let _ = parse_link(b);
            let _ = nl::attrs(b).count();
        }
    }

    #[test]
    fn parses_ifinfomsg_and_stats() {
        let mut m = Msg::new(nl::RTM_NEWLINK, 0);
        let mut stats = [0u8; 64];
        stats[16..24].copy_from_slice(&5u64.to_ne_bytes());
        stats[24..32].copy_from_slice(&9u64.to_ne_bytes());
        m.header(&ifinfomsg(7, IFF_UP, 0))
            .attr_str(IFLA_IFNAME, "veth1")
            .attr_u32(IFLA_MTU, 1400)
            .attr(IFLA_STATS64, &stats)
            .begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .end();
        let bytes = m.finish_for_test();
        let l = parse_link(&bytes[16..]).unwrap();
        assert_eq!(
            (l.index, l.name.as_str(), l.mtu, l.rx_bytes, l.tx_bytes),
            (7, "veth1", 1400, 5, 9)
        );
        assert_eq!(l.kind.as_deref(), Some("veth"));
        assert!(!l.is_loopback());
    }
}
