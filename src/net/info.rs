//! What lxc-info and lxc-ls show about a running container's network.

use std::collections::HashMap;
use std::net::IpAddr;

use anyhow::{anyhow, Context, Result};

use super::addr;
use super::link;
use super::nl::Socket;
use super::ns;

/// The addresses of the container whose init is `pid`: every address of
/// every non-loopback device, IPv4 first, IPv6 link-local left out (as
/// LXC's get_ips with scope 0).
pub fn addresses_of_pid(pid: i32) -> Result<Vec<(String, IpAddr)>> {
    ns::in_netns(pid, || {
        let mut s = Socket::open()?;
        let links: HashMap<i32, link::Link> = link::list(&mut s)?
            .into_iter()
            .map(|l| (l.index, l))
            .collect();
        Ok(addr::list(&mut s)?
            .into_iter()
            .filter_map(|a| {
                let l = links.get(&a.index)?;
                if l.is_loopback() || a.addr.is_loopback() {
                    return None;
                }
                if let IpAddr::V6(v) = a.addr {
                    if v.segments()[0] & 0xffc0 == 0xfe80 {
                        return None;
                    }
                }
                Some((l.name.clone(), a.addr))
            })
            .collect())
    })
    .with_context(|| format!("listing the addresses of pid {pid}"))
}

/// The MAC addresses of the Ethernet links in the namespace of `pid` that
/// have no IPv4 address (lxc-info looks them up in lxc-net's leases).
pub fn unaddressed_macs(pid: i32) -> Result<Vec<[u8; 6]>> {
    ns::in_netns(pid, || {
        let mut s = Socket::open()?;
        let with_v4: Vec<i32> = addr::list(&mut s)?
            .into_iter()
            .filter(|a| a.addr.is_ipv4())
            .map(|a| a.index)
            .collect();
        Ok(link::list(&mut s)?
            .into_iter()
            .filter(|l| !l.is_loopback() && !with_v4.contains(&l.index))
            .filter_map(|l| <[u8; 6]>::try_from(&l.mac[..]).ok())
            .collect())
    })
    .with_context(|| format!("listing the links of pid {pid}"))
}

/// (TX bytes, RX bytes) of a host interface, e.g. a container's veth end.
/// Note the host end's TX is what the container received.
pub fn link_stats(ifname: &str) -> Result<(u64, u64)> {
    let mut s = Socket::open().context("opening a netlink socket")?;
    let l = link::by_name(&mut s, ifname)
        .with_context(|| format!("looking up \"{ifname}\""))?
        .ok_or_else(|| anyhow!("interface \"{ifname}\" not found"))?;
    Ok((l.tx_bytes, l.rx_bytes))
}

/// The names of the interfaces in the namespace of `pid` (loopback included).
pub fn links_of_pid(pid: i32) -> Result<Vec<String>> {
    ns::in_netns(pid, || {
        let mut s = Socket::open()?;
        Ok(link::list(&mut s)?.into_iter().map(|l| l.name).collect())
    })
    .with_context(|| format!("listing the interfaces of pid {pid}"))
}

/// The host-side veth ends whose peers live in the namespace of `pid`
/// (what lxc-info shows as "Link:"), found without the monitor's HostNet:
/// a veth reports its peer's namespace as an nsid, compared with the nsid
/// of /proc/PID/ns/net.
pub fn host_veths_of_pid(pid: i32) -> Result<Vec<String>> {
    let fd = ns::netns_fd(pid)?;
    let mut s = Socket::open().context("opening a netlink socket")?;
    let Some(id) = link::nsid_of(&mut s, std::os::fd::AsRawFd::as_raw_fd(&fd))
        .with_context(|| format!("getting the nsid of pid {pid}"))?
    else {
        return Ok(Vec::new());
    };
    Ok(link::list(&mut s)?
        .into_iter()
        .filter(|l| l.kind.as_deref() == Some("veth") && l.link_netnsid == Some(id))
        .map(|l| l.name)
        .collect())
}
