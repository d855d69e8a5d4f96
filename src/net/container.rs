//! The container side: runs inside the new network namespace (in the
//! container's child, before exec).

use std::net::IpAddr;

use anyhow::{anyhow, Context, Result};

use super::addr;
use super::host::{HostDev, HostNet};
use super::link::{self, Change};
use super::nl::Socket;
use super::spec::{self, key_err, Gateway, Plan};
use crate::config::{NetDev, NetType};

/// Brings up `lo` in the calling thread's network namespace.
pub fn loopback_up() -> Result<()> {
    let mut s = Socket::open().context("opening a netlink socket")?;
    let lo = link::by_name(&mut s, "lo")?.ok_or_else(|| anyhow!("no loopback device"))?;
    link::change(
        &mut s,
        lo.index,
        &Change {
            up: Some(true),
            ..Change::default()
        },
    )
    .context("bringing up lo")
}

struct Item<'a> {
    d: &'a NetDev,
    plan: Plan,
    hd: &'a HostDev,
    index: i32,
}

/// Configures every device inside the container: lo up, final names,
/// hwaddr, mtu, addresses, up, gateways.
pub fn setup_container(devs: &[NetDev], host: &HostNet) -> Result<()> {
    let plans = spec::check_all(devs)?;
    loopback_up()?;
    let mut s = Socket::open().context("opening a netlink socket")?;
    let mut items = Vec::new();
    for (d, plan) in devs.iter().zip(plans) {
        if matches!(d.kind, NetType::None | NetType::Empty | NetType::Unset) {
            continue;
        }
        let hd = host
            .devs
            .iter()
            .find(|h| h.index == d.index)
            .ok_or_else(|| anyhow!("lxc.net.{}: not set up on the host", d.index))?;
        let tmp = hd.ns_ifname.as_deref().unwrap_or_default();
        let l = link::by_name(&mut s, tmp)?.ok_or_else(|| {
            anyhow!(
                "lxc.net.{}: device \"{tmp}\" not found in the container",
                d.index
            )
        })?;
        items.push(Item {
            d,
            plan,
            hd,
            index: l.index,
        });
    }
    // Explicit names first, so that "eth%d" never takes a name asked for
    // by a later device.
    for pass in [true, false] {
        for it in items.iter().filter(|it| it.d.name.is_some() == pass) {
            rename(&mut s, it)?;
        }
    }
    for it in &items {
        configure(&mut s, it)?;
    }
    Ok(())
}

fn rename(s: &mut Socket, it: &Item) -> Result<()> {
    let target = match (&it.d.name, it.d.kind) {
        (Some(n), _) => n.as_str(),
        (None, NetType::Phys) => return Ok(()), // keeps its host name
        (None, _) => "eth%d",                   // the kernel picks the number
    };
    link::change(
        s,
        it.index,
        &Change {
            name: Some(target),
            ..Change::default()
        },
    )
    .map_err(|e| {
        if super::nl::errno(&e) == Some(libc::EEXIST) {
            key_err(
                it.d,
                "name",
                format!("interface \"{target}\" already exists in the container"),
            )
        } else {
            key_err(it.d, "name", format!("renaming to \"{target}\": {e}"))
        }
    })
}

fn configure(s: &mut Socket, it: &Item) -> Result<()> {
    let d = it.d;
    let idx = it.index;
    if let Some(h) = &d.hwaddr {
        let mac = spec::parse_hwaddr(h).map_err(|m| key_err(d, "hwaddr", m))?;
        link::change(
            s,
            idx,
            &Change {
                mac: Some(&mac),
                ..Change::default()
            },
        )
        .map_err(|e| key_err(d, "hwaddr", format!("setting {h}: {e}")))?;
    }
    if let Some(mtu) = d.mtu {
        link::change(
            s,
            idx,
            &Change {
                mtu: Some(mtu),
                ..Change::default()
            },
        )
        .map_err(|e| key_err(d, "mtu", format!("setting {mtu}: {e}")))?;
    }
    for (list, key) in [(&it.plan.v4, "ipv4.address"), (&it.plan.v6, "ipv6.address")] {
        for c in list {
            addr::add(s, idx, c.addr, c.prefix, c.bcast)
                .map_err(|e| key_err(d, key, format!("adding {}/{}: {e}", c.addr, c.prefix)))?;
        }
    }
    if d.up {
        link::change(
            s,
            idx,
            &Change {
                up: Some(true),
                ..Change::default()
            },
        )
        .map_err(|e| key_err(d, "flags", format!("bringing the interface up: {e}")))?;
    }
    for v6 in [false, true] {
        let (g, key) = if v6 {
            (it.plan.gw6, "ipv6.gateway")
        } else {
            (it.plan.gw4, "ipv4.gateway")
        };
        let Some(g) = g else { continue };
        // The kernel refuses a gateway route over a device that is down.
        if !d.up {
            return Err(key_err(
                d,
                key,
                "needs the interface up (lxc.net.N.flags = up)",
            ));
        }
        let gw: Option<IpAddr> = match g {
            Gateway::Dev => None,
            Gateway::Addr(a) => Some(a),
            Gateway::Auto if v6 => it.hd.gateway6.map(IpAddr::V6),
            Gateway::Auto => it.hd.gateway4.map(IpAddr::V4),
        };
        if g == Gateway::Auto && gw.is_none() {
            return Err(key_err(d, key, "\"auto\" was not resolved on the host"));
        }
        add_default(s, idx, gw, v6).map_err(|e| key_err(d, key, format!("{e:#}")))?;
    }
    Ok(())
}

/// The default route; a gateway outside the device's subnets first gets a
/// link route of its own (as LXC does).
fn add_default(s: &mut Socket, idx: i32, gw: Option<IpAddr>, v6: bool) -> Result<()> {
    match addr::add_route(s, None, gw, idx, v6) {
        Err(e) if super::nl::errno(&e) == Some(libc::ENETUNREACH) => {
            let g = gw.ok_or(e)?;
            let plen = if v6 { 128 } else { 32 };
            addr::add_route(s, Some((g, plen)), None, idx, v6)
                .with_context(|| format!("adding a link route to {g}"))?;
            addr::add_route(s, None, gw, idx, v6).with_context(|| format!("adding default via {g}"))
        }
        r => r.with_context(|| match gw {
            Some(g) => format!("adding default via {g}"),
            None => "adding the default device route".into(),
        }),
    }
}
