//! Per-device extras of the host side: `auto` gateways, l2proxy entries,
//! bridge port VLANs.

use std::net::IpAddr;

use anyhow::{Context, Result};

use super::addr;
use super::bridge;
use super::host::HostDev;
use super::link::Link;
use super::nl::Socket;
use super::spec::{key_err, Gateway, Plan};
use crate::config::{NetDev, PortVlan};

/// A bridge's default PVID (/sys/class/net/BR/bridge/default_pvid; 1 when
/// it cannot be read, the kernel's default).
fn default_pvid(bridge: &str) -> u16 {
    std::fs::read_to_string(format!("/sys/class/net/{bridge}/bridge/default_pvid"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1)
}

/// The first address of `index` in the family of `v6`.
fn first_addr(s: &mut Socket, index: i32, v6: bool) -> Result<Option<IpAddr>> {
    Ok(addr::list(s)?
        .into_iter()
        .filter(|a| a.index == index && a.addr.is_ipv6() == v6)
        .filter(|a| !matches!(a.addr, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80))
        .map(|a| a.addr)
        .next())
}

/// veth.vlan.id (the untagged PVID, or LXC's "none": only leave the
/// bridge's default VLAN) and veth.vlan.tagged.id on the host end's bridge
/// port.
pub(super) fn port_vlans(s: &mut Socket, d: &NetDev, br: Option<&Link>, port: i32) -> Result<()> {
    if d.veth_vlan_id.is_none() && d.veth_vlan_tagged.is_empty() {
        return Ok(());
    }
    let key = if d.veth_vlan_id.is_some() {
        "veth.vlan.id"
    } else {
        "veth.vlan.tagged.id"
    };
    let br = br.ok_or_else(|| key_err(d, key, "needs a bridge in lxc.net.N.link"))?;
    if !br.vlan_filtering {
        return Err(key_err(
            d,
            key,
            format!(
                "bridge \"{}\" does not have vlan_filtering enabled",
                br.name
            ),
        ));
    }
    if let Some(vlan) = d.veth_vlan_id {
        // The port starts in the bridge's default PVID: leave it unless it
        // is the one asked for (LXC reads it from sysfs, as here).
        let default = default_pvid(&br.name);
        if vlan != PortVlan::Id(default) {
            bridge::vlan_del(s, port, default)
                .or_else(|e| {
                    if super::nl::errno(&e) == Some(libc::ENOENT) {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| {
                    key_err(d, "veth.vlan.id", format!("leaving the default VLAN: {e}"))
                })?;
        }
        if let PortVlan::Id(id) = vlan {
            bridge::vlan_add(s, port, id, bridge::VLAN_PVID | bridge::VLAN_UNTAGGED)
                .map_err(|e| key_err(d, "veth.vlan.id", format!("adding VLAN {id}: {e}")))?;
        }
    }
    for &id in &d.veth_vlan_tagged {
        bridge::vlan_add(s, port, id, 0)
            .map_err(|e| key_err(d, "veth.vlan.tagged.id", format!("adding VLAN {id}: {e}")))?;
    }
    Ok(())
}

/// Resolves `auto` gateways to the first address of the link.
pub(super) fn resolve_auto(
    s: &mut Socket,
    d: &NetDev,
    plan: &Plan,
    l: Option<&Link>,
    hd: &mut HostDev,
) -> Result<()> {
    for v6 in [false, true] {
        let (g, key) = if v6 {
            (plan.gw6, "ipv6.gateway")
        } else {
            (plan.gw4, "ipv4.gateway")
        };
        if g != Some(Gateway::Auto) {
            continue;
        }
        let l = l.ok_or_else(|| key_err(d, key, "\"auto\" needs lxc.net.N.link"))?;
        match first_addr(s, l.index, v6)? {
            Some(IpAddr::V4(a)) => hd.gateway4 = Some(a),
            Some(IpAddr::V6(a)) => hd.gateway6 = Some(a),
            None => {
                return Err(key_err(
                    d,
                    key,
                    format!("\"auto\": \"{}\" has no address to use", l.name),
                ))
            }
        }
    }
    Ok(())
}

fn sysctl_on(path: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "1")
}

/// lxc.net.N.l2proxy: proxy ARP/NDP entries on the link for each address.
pub(super) fn l2proxy(
    s: &mut Socket,
    d: &NetDev,
    plan: &Plan,
    l: Option<&Link>,
    hd: &mut HostDev,
) -> Result<()> {
    if !d.l2proxy {
        return Ok(());
    }
    let l = l.ok_or_else(|| key_err(d, "l2proxy", "needs lxc.net.N.link"))?;
    if !plan.v4.is_empty() && !sysctl_on(&format!("/proc/sys/net/ipv4/conf/{}/forwarding", l.name))
    {
        return Err(key_err(
            d,
            "l2proxy",
            format!("needs net.ipv4.conf.{}.forwarding=1", l.name),
        ));
    }
    let v6_ok = sysctl_on(&format!("/proc/sys/net/ipv6/conf/{}/proxy_ndp", l.name))
        && sysctl_on(&format!("/proc/sys/net/ipv6/conf/{}/forwarding", l.name));
    if !plan.v6.is_empty() && !v6_ok {
        return Err(key_err(
            d,
            "l2proxy",
            format!(
                "needs net.ipv6.conf.{0}.proxy_ndp=1 and net.ipv6.conf.{0}.forwarding=1",
                l.name
            ),
        ));
    }
    for c in plan.v4.iter().chain(&plan.v6) {
        addr::proxy_neigh(s, l.index, c.addr, true).with_context(|| {
            format!(
                "lxc.net.{}.l2proxy: adding proxy entry {} on {}",
                d.index, c.addr, l.name
            )
        })?;
        hd.proxies.push((l.index, c.addr));
    }
    Ok(())
}
