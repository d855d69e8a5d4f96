//! LXC's /etc/default/lxc-net variables, with LXC's defaults, checked
//! before anything is made: a bad value names file:line and the variable.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::dhcp::StaticLease;
use crate::shvars::{self, Assign};

/// The file LXC's lxc-net reads (through /etc/default/lxc on Debian).
pub const DEFAULT_FILE: &str = "/etc/default/lxc-net";

/// The whole configuration of one lxc-net network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConf {
    /// USE_LXC_BRIDGE: anything but "true" means lxc-net does nothing.
    pub use_bridge: bool,
    pub bridge: String,
    pub bridge_mac: [u8; 6],
    pub addr: Ipv4Addr,
    /// The prefix length of LXC_NETMASK.
    pub prefix: u8,
    /// LXC_NETWORK: what is masqueraded.
    pub network: (Ipv4Addr, u8),
    pub range: (Ipv4Addr, Ipv4Addr),
    pub dhcp_max: u32,
    pub domain: Option<String>,
    pub static_leases: Vec<StaticLease>,
    pub ipv6: Option<Ipv6Conf>,
    /// Where the DHCP server keeps its leases (dnsmasq's format and path).
    pub leasefile: PathBuf,
    /// The file the values came from (for messages).
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ipv6Conf {
    pub addr: Ipv6Addr,
    pub prefix: u8,
    pub network: (Ipv6Addr, u8),
    pub nat: bool,
}

/// Variables lxc-net knows. Anything else in the file is reported.
const KNOWN: &[&str] = &[
    "USE_LXC_BRIDGE",
    "LXC_BRIDGE",
    "LXC_BRIDGE_MAC",
    "LXC_ADDR",
    "LXC_NETMASK",
    "LXC_NETWORK",
    "LXC_DHCP_RANGE",
    "LXC_DHCP_MAX",
    "LXC_DHCP_CONFILE",
    "LXC_DHCP_PING",
    "LXC_DOMAIN",
    "LXC_USE_NFT",
    "LXC_IPV6_ADDR",
    "LXC_IPV6_MASK",
    "LXC_IPV6_NETWORK",
    "LXC_IPV6_NAT",
    "LXCBOX_DHCP_LEASEFILE",
];

/// The values of LXC's lxc-net script before any file is read.
fn defaults() -> Vec<(&'static str, &'static str)> {
    vec![
        ("USE_LXC_BRIDGE", "true"),
        ("LXC_BRIDGE", "lxcbr0"),
        ("LXC_BRIDGE_MAC", "00:16:3e:00:00:00"),
        ("LXC_ADDR", "10.0.3.1"),
        ("LXC_NETMASK", "255.255.255.0"),
        ("LXC_NETWORK", "10.0.3.0/24"),
        ("LXC_DHCP_RANGE", "10.0.3.2,10.0.3.254"),
        ("LXC_DHCP_MAX", "253"),
    ]
}

/// Loads `file` (or [`DEFAULT_FILE`]; a missing default file means LXC's
/// defaults, a missing explicit one is an error).
pub fn load(file: Option<&Path>) -> Result<NetConf> {
    let (assigns, origin) = match file {
        Some(f) => (shvars::load(f)?, f.display().to_string()),
        None if Path::new(DEFAULT_FILE).exists() => {
            (shvars::load(Path::new(DEFAULT_FILE))?, DEFAULT_FILE.into())
        }
        None => (Vec::new(), "(built-in defaults)".into()),
    };
    from_assigns(&assigns, &origin)
}

/// One variable's last assignment, or the default.
struct Vars<'a> {
    assigns: &'a [Assign],
    origin: &'a str,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<&Assign> {
        self.assigns.iter().rev().find(|a| a.name == name)
    }

    fn value(&self, name: &str) -> String {
        match self.get(name) {
            Some(a) => a.value.clone(),
            None => defaults()
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default(),
        }
    }

    fn at(&self, name: &str) -> String {
        match self.get(name) {
            Some(a) => a.at(),
            None => format!("{} (default)", self.origin),
        }
    }

    /// Parses `name` with `f`, or fails with "FILE:LINE: NAME: what".
    fn parse<T>(&self, name: &str, f: impl FnOnce(&str) -> Result<T>) -> Result<T> {
        let v = self.value(name);
        f(&v).with_context(|| format!("{}: {name}=\"{v}\"", self.at(name)))
    }
}

fn ipv4(s: &str) -> Result<Ipv4Addr> {
    s.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("not an IPv4 address"))
}

/// "a.b.c.d/n" (a bare address means /32).
pub fn cidr4(s: &str) -> Result<(Ipv4Addr, u8)> {
    let (a, p) = s.split_once('/').unwrap_or((s, "32"));
    let p: u8 = p
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| anyhow::anyhow!("not a prefix length (0-32)"))?;
    Ok((ipv4(a)?, p))
}

fn netmask(s: &str) -> Result<u8> {
    let m = u32::from(ipv4(s)?);
    let p = m.leading_ones();
    if m.checked_shl(p).unwrap_or(0) != 0 {
        bail!("not a contiguous netmask");
    }
    Ok(p as u8)
}

/// The network address of `a/p`.
pub fn net_of(a: Ipv4Addr, p: u8) -> Ipv4Addr {
    let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    Ipv4Addr::from(u32::from(a) & mask)
}

fn in_net(a: Ipv4Addr, net: (Ipv4Addr, u8)) -> bool {
    net_of(a, net.1) == net_of(net.0, net.1)
}

fn mac(s: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    let mut m = [0u8; 6];
    if parts.len() != 6 {
        bail!("not a MAC address (six hex bytes separated by ':')");
    }
    for (i, p) in parts.iter().enumerate() {
        m[i] = u8::from_str_radix(p, 16)
            .ok()
            .filter(|_| p.len() <= 2)
            .ok_or_else(|| anyhow::anyhow!("not a MAC address"))?;
    }
    if m[0] & 1 != 0 {
        bail!("a multicast MAC address cannot name a bridge");
    }
    Ok(m)
}

/// A Linux interface name: 1-15 bytes, no '/', ':', or blank.
pub fn check_ifname(s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 15 || s == "." || s == ".." {
        bail!("an interface name has 1 to 15 characters");
    }
    if s.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        bail!("an interface name cannot hold '/', ':' or blanks");
    }
    Ok(())
}

fn boolean(s: &str) -> bool {
    s == "true"
}

/// Builds and checks the configuration from parsed assignments.
pub fn from_assigns(assigns: &[Assign], origin: &str) -> Result<NetConf> {
    let v = Vars { assigns, origin };
    for a in assigns {
        if !KNOWN.contains(&a.name.as_str()) {
            log::warn!("{}: unknown variable {}, ignored", a.at(), a.name);
        }
    }
    let use_bridge = boolean(&v.value("USE_LXC_BRIDGE"));
    let bridge = v.value("LXC_BRIDGE");
    v.parse("LXC_BRIDGE", check_ifname)?;
    let bridge_mac = v.parse("LXC_BRIDGE_MAC", mac)?;
    let addr = v.parse("LXC_ADDR", ipv4)?;
    let prefix = v.parse("LXC_NETMASK", netmask)?;
    let network = v.parse("LXC_NETWORK", cidr4)?;
    if network.0 != net_of(network.0, network.1) {
        bail!(
            "{}: LXC_NETWORK=\"{}\": host bits set (the network is {}/{})",
            v.at("LXC_NETWORK"),
            v.value("LXC_NETWORK"),
            net_of(network.0, network.1),
            network.1
        );
    }
    let subnet = (addr, prefix);
    if !in_net(addr, network) {
        bail!(
            "{}: LXC_ADDR=\"{addr}\" is outside LXC_NETWORK {}/{}",
            v.at("LXC_ADDR"),
            network.0,
            network.1
        );
    }
    let range = v.parse("LXC_DHCP_RANGE", |s| {
        // dnsmasq allows more fields (netmask, lease time): not here.
        let parts: Vec<&str> = s.split(',').collect();
        let [a, b] = parts[..] else {
            bail!("expected FIRST,LAST");
        };
        let (a, b) = (ipv4(a)?, ipv4(b)?);
        if u32::from(a) > u32::from(b) {
            bail!("the first address is after the last");
        }
        let bcast = crate::net::raw::broadcast(addr, prefix);
        for x in [a, b] {
            if !in_net(x, subnet) {
                bail!(
                    "{x} is outside the bridge's network {}/{prefix}",
                    net_of(addr, prefix)
                );
            }
            if x == net_of(addr, prefix) || x == bcast {
                bail!("{x} is the network or broadcast address");
            }
        }
        Ok((a, b))
    })?;
    let dhcp_max = v.parse("LXC_DHCP_MAX", |s| {
        s.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow::anyhow!("not a positive number"))
    })?;
    let domain = Some(v.value("LXC_DOMAIN")).filter(|d| !d.is_empty());
    if let Some(d) = &domain {
        v.parse("LXC_DOMAIN", |_| {
            if d.len() > 253 || d.split('.').any(|l| l.is_empty() || l.len() > 63) {
                bail!("not a domain name");
            }
            Ok(())
        })?;
    }
    let static_leases = match v.get("LXC_DHCP_CONFILE").filter(|a| !a.value.is_empty()) {
        Some(a) => crate::dhcp::confile::load(Path::new(&a.value))
            .with_context(|| format!("{}: LXC_DHCP_CONFILE", a.at()))?,
        None => Vec::new(),
    };
    for s in &static_leases {
        if !in_net(s.addr, subnet) {
            bail!(
                "{}: the static address {} is outside the bridge's network",
                s.at,
                s.addr
            );
        }
    }
    if let Some(a) = v.get("LXC_DHCP_PING").filter(|a| a.value == "true") {
        log::warn!(
            "{}: LXC_DHCP_PING: lxcbox's DHCP server offers addresses without a ping check",
            a.at()
        );
    }
    if let Some(a) = v.get("LXC_USE_NFT").filter(|a| a.value != "true") {
        log::warn!(
            "{}: LXC_USE_NFT={}: lxcbox always uses nftables (over netlink)",
            a.at(),
            a.value
        );
    }
    let ipv6 = ipv6(&v)?;
    let leasefile = match v
        .get("LXCBOX_DHCP_LEASEFILE")
        .filter(|a| !a.value.is_empty())
    {
        Some(a) => PathBuf::from(&a.value),
        None => PathBuf::from(format!("/var/lib/misc/dnsmasq.{bridge}.leases")),
    };
    Ok(NetConf {
        use_bridge,
        bridge,
        bridge_mac,
        addr,
        prefix,
        network,
        range,
        dhcp_max,
        domain,
        static_leases,
        ipv6,
        leasefile,
        origin: origin.to_string(),
    })
}

/// LXC_IPV6_*: all three of ADDR, MASK, NETWORK, or none (as LXC's script).
fn ipv6(v: &Vars) -> Result<Option<Ipv6Conf>> {
    let (a, m, n) = (
        v.value("LXC_IPV6_ADDR"),
        v.value("LXC_IPV6_MASK"),
        v.value("LXC_IPV6_NETWORK"),
    );
    if a.is_empty() && m.is_empty() && n.is_empty() {
        return Ok(None);
    }
    if a.is_empty() || m.is_empty() || n.is_empty() {
        bail!(
            "{}: LXC_IPV6_ADDR, LXC_IPV6_MASK and LXC_IPV6_NETWORK go together",
            v.origin
        );
    }
    let addr: Ipv6Addr = v.parse("LXC_IPV6_ADDR", |s| {
        s.parse()
            .map_err(|_| anyhow::anyhow!("not an IPv6 address"))
    })?;
    let prefix: u8 = v.parse("LXC_IPV6_MASK", |s| {
        s.parse()
            .ok()
            .filter(|p| *p <= 128)
            .ok_or_else(|| anyhow::anyhow!("not a prefix length (0-128)"))
    })?;
    let network = v.parse("LXC_IPV6_NETWORK", |s| {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("expected ADDRESS/PREFIX"))?;
        let a: Ipv6Addr = a
            .parse()
            .map_err(|_| anyhow::anyhow!("not an IPv6 address"))?;
        let p: u8 = p
            .parse()
            .ok()
            .filter(|p| *p <= 128)
            .ok_or_else(|| anyhow::anyhow!("not a prefix length (0-128)"))?;
        Ok((a, p))
    })?;
    Ok(Some(Ipv6Conf {
        addr,
        prefix,
        network,
        nat: boolean(&v.value("LXC_IPV6_NAT")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Result<NetConf> {
        from_assigns(
            &shvars::parse(text, "/etc/default/lxc-net")?,
            "/etc/default/lxc-net",
        )
    }

    #[test]
    fn lxc_defaults() {
        let c = conf("").unwrap();
        assert!(c.use_bridge);
        assert_eq!(c.bridge, "lxcbr0");
        assert_eq!(c.addr, Ipv4Addr::new(10, 0, 3, 1));
        assert_eq!(c.prefix, 24);
        assert_eq!(c.network, (Ipv4Addr::new(10, 0, 3, 0), 24));
        assert_eq!(
            c.range,
            (Ipv4Addr::new(10, 0, 3, 2), Ipv4Addr::new(10, 0, 3, 254))
        );
        assert_eq!(c.dhcp_max, 253);
        assert_eq!(c.bridge_mac, [0, 0x16, 0x3e, 0, 0, 0]);
        assert_eq!(
            c.leasefile,
            Path::new("/var/lib/misc/dnsmasq.lxcbr0.leases")
        );
        assert_eq!(c.ipv6, None);
        assert!(!conf("USE_LXC_BRIDGE=\"false\"\n").unwrap().use_bridge);
    }

    #[test]
    fn debian_files_parse() {
        for f in ["/etc/default/lxc-net", "/etc/default/lxc"] {
            if Path::new(f).exists() {
                let a = shvars::load(Path::new(f)).unwrap();
                assert!(a.iter().any(|a| a.name == "USE_LXC_BRIDGE"), "{f}");
            }
        }
    }

    #[test]
    fn errors_name_the_line_and_variable() {
        let e = |t: &str| format!("{:#}", conf(t).unwrap_err());
        assert_eq!(
            e("LXC_ADDR=10.0.3.1\nLXC_NETMASK=255.0.255.0\n"),
            "/etc/default/lxc-net:2: LXC_NETMASK=\"255.0.255.0\": not a contiguous netmask"
        );
        assert!(e("\nLXC_DHCP_RANGE=10.0.4.2,10.0.4.9\n").starts_with(
            "/etc/default/lxc-net:2: LXC_DHCP_RANGE=\"10.0.4.2,10.0.4.9\": 10.0.4.2 is outside"
        ));
        assert!(e("LXC_DHCP_RANGE=10.0.3.9,10.0.3.2\n").contains("first address is after"));
        assert!(e("LXC_DHCP_RANGE=10.0.3.0,10.0.3.2\n").contains("network or broadcast"));
        assert!(e("LXC_ADDR=10.0.4.1\n").contains("outside LXC_NETWORK 10.0.3.0/24"));
        assert!(e("LXC_BRIDGE=way-too-long-bridge\n").contains("1 to 15 characters"));
        assert!(e("LXC_BRIDGE_MAC=01:00:00:00:00:00\n").contains("multicast"));
        assert!(e("LXC_DHCP_MAX=0\n").contains("LXC_DHCP_MAX=\"0\": not a positive number"));
        assert!(e("LXC_NETWORK=10.0.3.1/24\n").contains("host bits set"));
        assert!(e("LXC_IPV6_ADDR=fd00::1\n").contains("go together"));
        assert!(e("x y\n").starts_with("/etc/default/lxc-net:1: not a VAR=value"));
    }

    #[test]
    fn ipv6_and_domain() {
        let c = conf(
            "LXC_IPV6_ADDR=fd42::1\nLXC_IPV6_MASK=64\nLXC_IPV6_NETWORK=fd42::/64\nLXC_IPV6_NAT=true\nLXC_DOMAIN=lxc\n",
        )
        .unwrap();
        let v6 = c.ipv6.unwrap();
        assert_eq!((v6.prefix, v6.nat), (64, true));
        assert_eq!(c.domain.as_deref(), Some("lxc"));
    }
}
