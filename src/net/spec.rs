//! Parsing and checking the lxc.net.N values before anything is created, so
//! that bad input fails with the interface index and key named and leaves
//! nothing behind.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};

use anyhow::{anyhow, Error, Result};

use crate::config::{NetDev, NetType, PortVlan};

/// "lxc.net.N.KEY: MSG".
pub fn key_err(d: &NetDev, key: &str, msg: impl std::fmt::Display) -> Error {
    anyhow!("lxc.net.{}.{}: {}", d.index, key, msg)
}

/// The lowercase type name LXC uses in scripts and messages.
pub fn type_name(t: NetType) -> &'static str {
    t.as_str()
}

/// An address with its prefix (and IPv4 broadcast, if given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
    pub bcast: Option<Ipv4Addr>,
}

/// "ADDR[/PREFIX] [BROADCAST]". Without a prefix IPv4 gets its classful one
/// (as LXC does) and IPv6 gets /64.
pub fn parse_cidr(s: &str, v6: bool) -> Result<Cidr, String> {
    let bad = || format!("invalid address \"{s}\"");
    let mut words = s.split_whitespace();
    let first = words.next().ok_or_else(bad)?;
    let bcast = words.next();
    if words.next().is_some() {
        return Err(bad());
    }
    let (a, p) = match first.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (first, None),
    };
    let addr: IpAddr = a.parse().map_err(|_| bad())?;
    if addr.is_ipv6() != v6 {
        return Err(bad());
    }
    let max = if v6 { 128 } else { 32 };
    let prefix = match p {
        Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?,
        None => match addr {
            IpAddr::V4(v) if v.octets()[0] < 128 => 8,
            IpAddr::V4(v) if v.octets()[0] < 192 => 16,
            IpAddr::V4(_) => 24,
            IpAddr::V6(_) => 64,
        },
    };
    let bcast = match bcast {
        None => None,
        Some(_) if v6 => return Err(bad()),
        Some(b) => Some(b.parse::<Ipv4Addr>().map_err(|_| bad())?),
    };
    Ok(Cidr {
        addr,
        prefix,
        bcast,
    })
}

/// lxc.net.N.ipv4.gateway / ipv6.gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    Addr(IpAddr),
    /// The first address of the link (bridge) on the host.
    Auto,
    /// A device route, no next hop.
    Dev,
}

pub fn parse_gateway(s: &str, v6: bool) -> Result<Gateway, String> {
    match s.trim() {
        "auto" => Ok(Gateway::Auto),
        "dev" => Ok(Gateway::Dev),
        t => match t.parse::<IpAddr>() {
            Ok(a) if a.is_ipv6() == v6 => Ok(Gateway::Addr(a)),
            _ => Err(format!("invalid gateway \"{s}\"")),
        },
    }
}

/// Reads `n` random bytes from the kernel.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut v);
    }
    v
}

/// A MAC address from a template whose `x` digits are randomised. As in
/// LXC, an `x` in the second digit of the first octet only draws even
/// values, so the result is never a multicast address.
pub fn parse_hwaddr(t: &str) -> Result<[u8; 6], String> {
    let bad = || format!("invalid hardware address \"{t}\"");
    let rnd = random_bytes(t.len());
    let digits: String = t
        .char_indices()
        .map(|(i, c)| match c {
            'x' | 'X' => {
                let v = rnd[i] & if i == 1 { 0x0e } else { 0x0f };
                char::from_digit(v as u32, 16).unwrap_or('0')
            }
            c => c,
        })
        .collect();
    let parts: Vec<&str> = digits.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(mac)
}

/// IFLA_MACVLAN_MODE for macvlan.mode (LXC's default is private).
pub fn macvlan_mode(s: Option<&str>) -> Result<u32, String> {
    Ok(match s.unwrap_or("private") {
        "private" => 1,
        "vepa" => 2,
        "bridge" => 4,
        "passthru" => 8,
        m => return Err(format!("invalid macvlan mode \"{m}\"")),
    })
}

/// IFLA_IPVLAN_MODE for ipvlan.mode (LXC's default is l3).
pub fn ipvlan_mode(s: Option<&str>) -> Result<u16, String> {
    Ok(match s.unwrap_or("l3") {
        "l2" => 0,
        "l3" => 1,
        "l3s" => 2,
        m => return Err(format!("invalid ipvlan mode \"{m}\"")),
    })
}

/// IFLA_IPVLAN_FLAGS for ipvlan.isolation (default bridge).
pub fn ipvlan_isolation(s: Option<&str>) -> Result<u16, String> {
    Ok(match s.unwrap_or("bridge") {
        "bridge" => 0,
        "private" => 1,
        "vepa" => 2,
        m => return Err(format!("invalid ipvlan isolation \"{m}\"")),
    })
}

/// An interface name the kernel accepts (dev_valid_name).
pub fn valid_ifname(n: &str) -> bool {
    !n.is_empty()
        && n.len() < 16
        && n != "."
        && n != ".."
        && !n
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

/// Everything parsed from one lxc.net.N, ready for use.
#[derive(Debug, Clone)]
pub struct Plan {
    pub v4: Vec<Cidr>,
    pub v6: Vec<Cidr>,
    pub gw4: Option<Gateway>,
    pub gw6: Option<Gateway>,
    pub routes4: Vec<Cidr>,
    pub routes6: Vec<Cidr>,
}

/// Checks one device's values; syntax only, the host is not consulted.
pub fn check(d: &NetDev) -> Result<Plan> {
    let e = |key: &str, m: String| key_err(d, key, m);
    if d.kind == NetType::Unset {
        return Err(key_err(d, "type", "no network type given"));
    }
    let needs_link = matches!(
        d.kind,
        NetType::Macvlan | NetType::Ipvlan | NetType::Vlan | NetType::Phys
    );
    if needs_link && d.link.is_none() {
        return Err(key_err(
            d,
            "link",
            format!("required for type {}", type_name(d.kind)),
        ));
    }
    for (key, v) in [
        ("link", &d.link),
        ("name", &d.name),
        ("veth.pair", &d.veth_pair),
    ] {
        if let Some(n) = v {
            if !valid_ifname(n) {
                return Err(e(key, format!("invalid interface name \"{n}\"")));
            }
        }
    }
    if d.kind == NetType::Vlan && d.vlan_id.is_none() {
        return Err(key_err(d, "vlan.id", "required for type vlan"));
    }
    if let Some(PortVlan::Id(v @ 4095..)) = d.veth_vlan_id {
        return Err(e("veth.vlan.id", format!("invalid VLAN id {v}")));
    }
    if d.kind != NetType::Veth {
        for (key, set) in [
            ("veth.n_rxqueues", d.veth_n_rxqueues.is_some()),
            ("veth.n_txqueues", d.veth_n_txqueues.is_some()),
        ] {
            if set {
                return Err(e(key, "only for type veth".to_string()));
            }
        }
    }
    if let Some(v) = d.veth_vlan_tagged.iter().find(|&&v| v == 0 || v > 4094) {
        return Err(e("veth.vlan.tagged.id", format!("invalid VLAN id {v}")));
    }
    if d.vlan_id.is_some_and(|v| v > 4094) {
        return Err(e(
            "vlan.id",
            format!("invalid VLAN id {}", d.vlan_id.unwrap_or_default()),
        ));
    }
    if let Some(h) = &d.hwaddr {
        parse_hwaddr(h).map_err(|m| e("hwaddr", m))?;
    }
    if let Some(m) = d.mtu {
        if !(68..=65535).contains(&m) {
            return Err(e("mtu", format!("invalid mtu {m}")));
        }
    }
    if d.kind == NetType::Macvlan {
        macvlan_mode(d.macvlan_mode.as_deref()).map_err(|m| e("macvlan.mode", m))?;
    }
    if d.kind == NetType::Ipvlan {
        ipvlan_mode(d.ipvlan_mode.as_deref()).map_err(|m| e("ipvlan.mode", m))?;
        ipvlan_isolation(d.ipvlan_isolation.as_deref()).map_err(|m| e("ipvlan.isolation", m))?;
    }
    if let Some(m) = &d.veth_mode {
        if m != "bridge" && m != "router" {
            return Err(e("veth.mode", format!("invalid veth mode \"{m}\"")));
        }
    }
    let cidrs = |key: &str, list: &[String], v6: bool| -> Result<Vec<Cidr>> {
        list.iter()
            .map(|s| parse_cidr(s, v6).map_err(|m| e(key, m)))
            .collect()
    };
    let gw = |key: &str, g: &Option<String>, v6: bool| -> Result<Option<Gateway>> {
        let Some(s) = g else { return Ok(None) };
        let g = parse_gateway(s, v6).map_err(|m| e(key, m))?;
        if g == Gateway::Auto
            && !matches!(d.kind, NetType::Veth | NetType::Macvlan | NetType::Ipvlan)
        {
            return Err(e(key, "\"auto\" needs type veth, macvlan or ipvlan".into()));
        }
        if g == Gateway::Auto && d.link.is_none() {
            return Err(e(key, "\"auto\" needs lxc.net.N.link".into()));
        }
        Ok(Some(g))
    };
    Ok(Plan {
        v4: cidrs("ipv4.address", &d.ipv4_addresses, false)?,
        v6: cidrs("ipv6.address", &d.ipv6_addresses, true)?,
        gw4: gw("ipv4.gateway", &d.ipv4_gateway, false)?,
        gw6: gw("ipv6.gateway", &d.ipv6_gateway, true)?,
        routes4: cidrs("veth.ipv4.route", &d.veth_ipv4_routes, false)?,
        routes6: cidrs("veth.ipv6.route", &d.veth_ipv6_routes, true)?,
    })
}

/// Checks all devices, including names used twice (host-side veth names,
/// container-side names, and phys links).
pub fn check_all(devs: &[NetDev]) -> Result<Vec<Plan>> {
    let plans = devs.iter().map(check).collect::<Result<Vec<_>>>()?;
    // LXC: sharing the host stack excludes any device of the container's own.
    if devs.len() > 1 {
        if let Some(d) = devs.iter().find(|d| d.kind == NetType::None) {
            return Err(key_err(
                d,
                "type",
                "\"none\" cannot be combined with other network devices",
            ));
        }
    }
    let mut pairs: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut phys: Vec<&str> = Vec::new();
    for d in devs {
        if let Some(p) = &d.veth_pair {
            if d.kind == NetType::Veth && pairs.contains(&p.as_str()) {
                return Err(key_err(
                    d,
                    "veth.pair",
                    format!("duplicate interface name \"{p}\""),
                ));
            }
            pairs.push(p);
        }
        let inner = d.name.as_deref().or(if d.kind == NetType::Phys {
            d.link.as_deref()
        } else {
            None
        });
        if let Some(n) = inner {
            if names.contains(&n) || n == "lo" {
                return Err(key_err(
                    d,
                    "name",
                    format!("duplicate interface name \"{n}\""),
                ));
            }
            names.push(n);
        }
        if d.kind == NetType::Phys {
            let l = d.link.as_deref().unwrap_or_default();
            if phys.contains(&l) {
                return Err(key_err(d, "link", format!("\"{l}\" is used twice")));
            }
            phys.push(l);
        }
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_forms() {
        let c = parse_cidr("10.201.0.2/24", false).unwrap();
        assert_eq!(
            (c.addr.to_string(), c.prefix, c.bcast),
            ("10.201.0.2".into(), 24, None)
        );
        let c = parse_cidr("192.168.201.5/24 255.255.255.255", false).unwrap();
        assert_eq!(c.bcast, Some(Ipv4Addr::BROADCAST));
        assert_eq!(parse_cidr("10.1.2.3", false).unwrap().prefix, 8);
        assert_eq!(parse_cidr("172.16.0.1", false).unwrap().prefix, 16);
        assert_eq!(parse_cidr("fd00::1", true).unwrap().prefix, 64);
        for bad in [
            "10.0.0.300/24",
            "10.0.0.1/33",
            "fd00::1/64",
            "",
            "1.2.3.4/8 x",
            "1.2.3.4 1.1.1.1 2",
        ] {
            assert!(parse_cidr(bad, false).is_err(), "{bad}");
        }
        assert!(parse_cidr("fd00::1/129", true).is_err());
        assert!(parse_cidr("fd00::1/64 1.2.3.4", true).is_err());
    }

    #[test]
    fn hwaddr_templates() {
        assert_eq!(
            parse_hwaddr("4a:49:43:49:79:bf").unwrap(),
            [0x4a, 0x49, 0x43, 0x49, 0x79, 0xbf]
        );
        for _ in 0..64 {
            let m = parse_hwaddr("xx:xx:xx:xx:xx:xx").unwrap();
            assert_eq!(m[0] & 1, 0, "multicast bit set");
        }
        let m = parse_hwaddr("00:16:3e:xx:xx:xx").unwrap();
        assert_eq!(&m[..3], &[0x00, 0x16, 0x3e]);
        for bad in ["00:16:3e:xx:xx", "00:16:3e:xx:xx:xxx", "zz:00:00:00:00:00"] {
            assert!(parse_hwaddr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_index_and_key() {
        let d = NetDev {
            index: 3,
            kind: NetType::Veth,
            ipv4_addresses: vec!["10.0.0.300/24".into()],
            ..Default::default()
        };
        let msg = check(&d).unwrap_err().to_string();
        assert_eq!(
            msg,
            "lxc.net.3.ipv4.address: invalid address \"10.0.0.300/24\""
        );
        let d = NetDev {
            index: 1,
            kind: NetType::Macvlan,
            ..Default::default()
        };
        assert_eq!(
            check(&d).unwrap_err().to_string(),
            "lxc.net.1.link: required for type macvlan"
        );
        let a = NetDev {
            index: 0,
            kind: NetType::Veth,
            name: Some("eth0".into()),
            ..Default::default()
        };
        let b = NetDev {
            index: 1,
            ..a.clone()
        };
        assert_eq!(
            check_all(&[a, b]).unwrap_err().to_string(),
            "lxc.net.1.name: duplicate interface name \"eth0\""
        );
    }

    #[test]
    fn none_stands_alone() {
        let none = NetDev {
            index: 1,
            kind: NetType::None,
            ..Default::default()
        };
        assert!(check_all(std::slice::from_ref(&none)).is_ok());
        let veth = NetDev {
            index: 0,
            kind: NetType::Veth,
            ..Default::default()
        };
        assert_eq!(
            check_all(&[veth, none]).unwrap_err().to_string(),
            "lxc.net.1.type: \"none\" cannot be combined with other network devices"
        );
    }

    #[test]
    fn modes_and_gateways() {
        assert_eq!(macvlan_mode(None), Ok(1));
        assert_eq!(macvlan_mode(Some("bridge")), Ok(4));
        assert!(macvlan_mode(Some("x")).is_err());
        assert_eq!(ipvlan_mode(None), Ok(1));
        assert_eq!(parse_gateway("auto", false), Ok(Gateway::Auto));
        assert!(parse_gateway("fd00::1", false).is_err());
        assert!(valid_ifname("veth0AbC12"));
        assert!(!valid_ifname("a/b") && !valid_ifname("0123456789abcdef"));
    }
}
