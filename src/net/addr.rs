//! Addresses (RTM_*ADDR), routes (RTM_NEWROUTE) and proxy neighbours
//! (RTM_*NEIGH, for l2proxy).

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use super::nl::{self, Msg, Socket};

const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;

const NDA_DST: u16 = 1;
const NTF_PROXY: u8 = 0x08;
const NUD_PERMANENT: u16 = 0x80;

fn family(a: &IpAddr) -> u8 {
    if a.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

fn octets(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn parse_ip(fam: u8, data: &[u8]) -> Option<IpAddr> {
    match fam {
        AF_INET => Some(IpAddr::from(<[u8; 4]>::try_from(data.get(..4)?).ok()?)),
        AF_INET6 => Some(IpAddr::from(<[u8; 16]>::try_from(data.get(..16)?).ok()?)),
        _ => None,
    }
}

/// `struct ifaddrmsg`: family, prefixlen, flags, scope, index.
fn ifaddrmsg(fam: u8, prefix: u8, index: i32) -> [u8; 8] {
    let mut h = [0u8; 8];
    h[0] = fam;
    h[1] = prefix;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h
}

/// Adds `addr/prefix` to link `index`; for IPv4 the broadcast is `bcast` or
/// computed from the prefix (as `ip addr add ... brd +` and LXC do).
pub fn add(
    s: &mut Socket,
    index: i32,
    addr: IpAddr,
    prefix: u8,
    bcast: Option<Ipv4Addr>,
) -> io::Result<()> {
    let mut m = Msg::new(nl::RTM_NEWADDR, nl::NLM_F_CREATE | nl::NLM_F_EXCL);
    m.header(&ifaddrmsg(family(&addr), prefix, index));
    let o = octets(&addr);
    m.attr(IFA_LOCAL, &o).attr(IFA_ADDRESS, &o);
    if let IpAddr::V4(v4) = addr {
        let b = bcast.unwrap_or_else(|| broadcast(v4, prefix));
        m.attr(IFA_BROADCAST, &b.octets());
    }
    s.exec(&mut m)
}

/// Removes `addr/prefix` from link `index`; an address already gone is
/// not an error.
pub fn del(s: &mut Socket, index: i32, addr: IpAddr, prefix: u8) -> io::Result<()> {
    let mut m = Msg::new(nl::RTM_DELADDR, 0);
    m.header(&ifaddrmsg(family(&addr), prefix, index));
    let o = octets(&addr);
    m.attr(IFA_LOCAL, &o).attr(IFA_ADDRESS, &o);
    match s.exec(&mut m) {
        Err(e)
            if matches!(
                nl::errno(&e),
                Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV)
            ) =>
        {
            Ok(())
        }
        r => r,
    }
}

/// The broadcast address of `a/prefix` (all host bits set).
pub fn broadcast(a: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let host = if prefix >= 32 { 0 } else { u32::MAX >> prefix };
    Ipv4Addr::from(u32::from(a) | host)
}

/// One configured address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub index: i32,
    pub addr: IpAddr,
    pub prefix: u8,
}

/// All addresses of this namespace, IPv4 first, in kernel order.
pub fn list(s: &mut Socket) -> io::Result<Vec<Addr>> {
    let mut out = Vec::new();
    for fam in [AF_INET, AF_INET6] {
        let mut m = Msg::new(nl::RTM_GETADDR, nl::NLM_F_DUMP);
        m.header(&ifaddrmsg(fam, 0, 0));
        for r in s.transact(&mut m)? {
            let Some(h) = r.body.get(..8) else { continue };
            let (f, prefix) = (h[0], h[1]);
            let index = i32::from_ne_bytes([h[4], h[5], h[6], h[7]]);
            let (mut local, mut address) = (None, None);
            for (ty, data) in nl::attrs(&r.body[8..]) {
                match ty {
                    IFA_LOCAL => local = parse_ip(f, data),
                    IFA_ADDRESS => address = parse_ip(f, data),
                    _ => {}
                }
            }
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
            // peer on point-to-point links, and the only one for IPv6.
            if let Some(addr) = local.or(address) {
                out.push(Addr {
                    index,
                    addr,
                    prefix,
                });
            }
        }
    }
    Ok(out)
}

/// A route in the main table: `dst` (None = default) via `gw` on `oif`.
pub fn add_route(
    s: &mut Socket,
    dst: Option<(IpAddr, u8)>,
    gw: Option<IpAddr>,
    oif: i32,
    v6: bool,
) -> io::Result<()> {
    let fam = if v6 { AF_INET6 } else { AF_INET };
    let dst_len = dst.map(|d| d.1).unwrap_or(0);
    // Without a gateway the destination is directly on the link.
    let scope = if gw.is_none() {
        RT_SCOPE_LINK
    } else {
        RT_SCOPE_UNIVERSE
    };
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    let h = [
        fam,
        dst_len,
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        scope,
        RTN_UNICAST,
        0,
        0,
        0,
        0,
    ];
    let mut m = Msg::new(nl::RTM_NEWROUTE, nl::NLM_F_CREATE | nl::NLM_F_EXCL);
    m.header(&h);
    if let Some((d, _)) = dst {
        m.attr(RTA_DST, &octets(&d));
    }
    if let Some(g) = gw {
        m.attr(RTA_GATEWAY, &octets(&g));
    }
    m.attr_u32(RTA_OIF, oif as u32);
    s.exec(&mut m)
}

fn ndmsg(fam: u8, index: i32) -> [u8; 12] {
    // struct ndmsg: family, pad1, pad2(u16), ifindex, state(u16), flags, type.
    let mut h = [0u8; 12];
    h[0] = fam;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    h[8..10].copy_from_slice(&NUD_PERMANENT.to_ne_bytes());
    h[10] = NTF_PROXY;
    h
}

/// Adds (or with `add == false` removes) a proxy ARP/NDP entry for `a` on
/// link `index`, as `ip neigh add proxy A dev LINK`.
pub fn proxy_neigh(s: &mut Socket, index: i32, a: IpAddr, add: bool) -> io::Result<()> {
    let mut m = if add {
        Msg::new(nl::RTM_NEWNEIGH, nl::NLM_F_CREATE | nl::NLM_F_REPLACE)
    } else {
        Msg::new(nl::RTM_DELNEIGH, 0)
    };
    m.header(&ndmsg(family(&a), index))
        .attr(NDA_DST, &octets(&a));
    s.exec(&mut m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_of_prefixes() {
        let a: Ipv4Addr = "10.201.3.7".parse().unwrap();
        assert_eq!(broadcast(a, 24), Ipv4Addr::new(10, 201, 3, 255));
        assert_eq!(broadcast(a, 32), a);
        assert_eq!(broadcast(a, 0), Ipv4Addr::BROADCAST);
        assert_eq!(broadcast(a, 30), Ipv4Addr::new(10, 201, 3, 7));
    }
}
