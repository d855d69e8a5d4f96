//! The `lxc.net.N.*` family: one [`NetDev`] per index, kept sorted by N.

use super::keys::Out;
use super::types::{Config, NetDev, NetType, PortVlan};
use super::values::{self as val, VResult};

/// Sub-keys of lxc.net.N, in the order the writer emits them.
pub const SUBKEYS: &[&str] = &[
    "type",
    "flags",
    "link",
    "name",
    "hwaddr",
    "mtu",
    "l2proxy",
    "veth.pair",
    "veth.mode",
    "veth.vlan.id",
    "veth.vlan.tagged.id",
    "veth.n_rxqueues",
    "veth.n_txqueues",
    "veth.ipv4.route",
    "veth.ipv6.route",
    "macvlan.mode",
    "ipvlan.mode",
    "ipvlan.isolation",
    "vlan.id",
    "ipv4.address",
    "ipv4.gateway",
    "ipv6.address",
    "ipv6.gateway",
    "script.up",
    "script.down",
];

/// Setter of the `lxc.net` row: `sub` is "", "N" or "N.subkey".
pub fn set(c: &mut Config, sub: &str, v: &str) -> VResult<()> {
    if sub.is_empty() {
        if !v.is_empty() {
            return Err(
                "expected lxc.net.N.<key>, or an empty value to clear all interfaces".into(),
            );
        }
        c.net.clear();
        return Ok(());
    }
    let (idx, rest) = sub.split_once('.').unwrap_or((sub, ""));
    let index: u32 =
        val::number(idx).map_err(|_| format!("expected an interface index, got \"{idx}\""))?;
    if rest.is_empty() {
        if !v.is_empty() {
            return Err(format!(
                "expected lxc.net.{index}.<key>, or an empty value to clear"
            ));
        }
        c.net.retain(|n| n.index != index);
        return Ok(());
    }
    if !SUBKEYS.contains(&rest) {
        return Err(format!("unknown network key \"{rest}\""));
    }
    let pos = match c.net.binary_search_by_key(&index, |n| n.index) {
        Ok(p) => p,
        Err(p) => {
            c.net.insert(
                p,
                NetDev {
                    index,
                    ..Default::default()
                },
            );
            p
        }
    };
    set_sub(&mut c.net[pos], rest, v)
}

fn opt<T>(v: &str, f: impl FnOnce(&str) -> VResult<T>) -> VResult<Option<T>> {
    if v.is_empty() {
        Ok(None)
    } else {
        f(v).map(Some)
    }
}

fn list<T>(l: &mut Vec<T>, v: &str, f: impl FnOnce(&str) -> VResult<T>) -> VResult<()> {
    if v.is_empty() {
        l.clear();
    } else {
        l.push(f(v)?);
    }
    Ok(())
}

fn s(v: &str) -> VResult<String> {
    Ok(v.to_string())
}

fn vlan(v: &str) -> VResult<u16> {
    match val::number::<u16>(v) {
        Ok(n) if n < 4095 => Ok(n),
        _ => Err(format!("expected a VLAN id 0-4094, got \"{v}\"")),
    }
}

/// A positive queue count (LXC: lxc_safe_int, > 0).
fn queues(v: &str) -> VResult<u32> {
    match val::number::<u32>(v) {
        Ok(n) if n > 0 && n <= i32::MAX as u32 => Ok(n),
        _ => Err(format!("expected a positive number of queues, got \"{v}\"")),
    }
}

fn one_of(v: &str, allowed: &[&str]) -> VResult<String> {
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(format!(
            "expected one of {}, got \"{v}\"",
            allowed.join(" ")
        ))
    }
}

fn set_sub(n: &mut NetDev, key: &str, v: &str) -> VResult<()> {
    match key {
        "type" => {
            n.kind = if v.is_empty() {
                NetType::Unset
            } else {
                val::net_type(v)?
            }
        }
        // LXC sets IFF_UP for any value (set_config_net_flags).
        "flags" => {
            if !v.is_empty() && v != "up" {
                log::warn!(
                    "lxc.net.{}.flags = {v}: LXC brings the interface up for any value",
                    n.index
                );
            }
            n.up = !v.is_empty();
        }
        "link" => n.link = opt(v, val::ifname)?,
        "name" => n.name = opt(v, val::ifname)?,
        "hwaddr" => n.hwaddr = opt(v, val::hwaddr)?,
        "mtu" => n.mtu = opt(v, val::number::<u32>)?,
        "l2proxy" => n.l2proxy = !v.is_empty() && val::boolean(v)?,
        "veth.pair" => n.veth_pair = opt(v, val::ifname)?,
        "veth.mode" => n.veth_mode = opt(v, |v| one_of(v, &["bridge", "router"]))?,
        "veth.vlan.id" => {
            n.veth_vlan_id = opt(v, |v| match v {
                "none" => Ok(PortVlan::None),
                _ => vlan(v).map(PortVlan::Id),
            })?
        }
        "veth.n_rxqueues" => n.veth_n_rxqueues = opt(v, queues)?,
        "veth.n_txqueues" => n.veth_n_txqueues = opt(v, queues)?,
        "veth.vlan.tagged.id" => list(&mut n.veth_vlan_tagged, v, vlan)?,
        "veth.ipv4.route" => list(&mut n.veth_ipv4_routes, v, |v| val::ip_address(v, false))?,
        "veth.ipv6.route" => list(&mut n.veth_ipv6_routes, v, |v| val::ip_address(v, true))?,
        "macvlan.mode" => {
            n.macvlan_mode = opt(v, |v| one_of(v, &["private", "vepa", "bridge", "passthru"]))?
        }
        "ipvlan.mode" => n.ipvlan_mode = opt(v, |v| one_of(v, &["l2", "l3", "l3s"]))?,
        "ipvlan.isolation" => {
            n.ipvlan_isolation = opt(v, |v| one_of(v, &["bridge", "private", "vepa"]))?
        }
        "vlan.id" => n.vlan_id = opt(v, vlan)?,
        "ipv4.address" => list(&mut n.ipv4_addresses, v, |v| val::ip_address(v, false))?,
        "ipv4.gateway" => n.ipv4_gateway = opt(v, |v| val::gateway(v, false))?,
        "ipv6.address" => list(&mut n.ipv6_addresses, v, |v| val::ip_address(v, true))?,
        "ipv6.gateway" => n.ipv6_gateway = opt(v, |v| val::gateway(v, true))?,
        "script.up" => n.script_up = opt(v, s)?,
        "script.down" => n.script_down = opt(v, s)?,
        _ => return Err(format!("unknown network key \"{key}\"")),
    }
    Ok(())
}

/// Emitter of the `lxc.net` row.
pub fn emit(c: &Config, k: &'static str, o: &mut Out) {
    for n in &c.net {
        let p = format!("{k}.{}.", n.index);
        let mut put = |sub: &str, v: String| o.push(format!("{p}{sub}"), v);
        if let Some(t) = val::net_type_name(n.kind) {
            put("type", t.into());
        } else if *n
            == (NetDev {
                index: n.index,
                ..Default::default()
            })
        {
            // An interface with nothing set still exists (and shifts no
            // index); an empty type line recreates it on reading.
            put("type", String::new());
        }
        if n.up {
            put("flags", "up".into());
        }
        let opts: [(&str, &Option<String>); 6] = [
            ("link", &n.link),
            ("name", &n.name),
            ("hwaddr", &n.hwaddr),
            ("veth.pair", &n.veth_pair),
            ("veth.mode", &n.veth_mode),
            ("macvlan.mode", &n.macvlan_mode),
        ];
        for (sub, v) in opts {
            if let Some(v) = v {
                put(sub, v.clone());
            }
        }
        if let Some(m) = n.mtu {
            put("mtu", m.to_string());
        }
        if n.l2proxy {
            put("l2proxy", "1".into());
        }
        if let Some(id) = n.veth_vlan_id {
            put("veth.vlan.id", id.to_string());
        }
        for (k, q) in [
            ("veth.n_rxqueues", n.veth_n_rxqueues),
            ("veth.n_txqueues", n.veth_n_txqueues),
        ] {
            if let Some(q) = q {
                put(k, q.to_string());
            }
        }
        for id in &n.veth_vlan_tagged {
            put("veth.vlan.tagged.id", id.to_string());
        }
        for r in &n.veth_ipv4_routes {
            put("veth.ipv4.route", r.clone());
        }
        for r in &n.veth_ipv6_routes {
            put("veth.ipv6.route", r.clone());
        }
        let opts: [(&str, &Option<String>); 2] = [
            ("ipvlan.mode", &n.ipvlan_mode),
            ("ipvlan.isolation", &n.ipvlan_isolation),
        ];
        for (sub, v) in opts {
            if let Some(v) = v {
                put(sub, v.clone());
            }
        }
        if let Some(id) = n.vlan_id {
            put("vlan.id", id.to_string());
        }
        for a in &n.ipv4_addresses {
            put("ipv4.address", a.clone());
        }
        if let Some(g) = &n.ipv4_gateway {
            put("ipv4.gateway", g.clone());
        }
        for a in &n.ipv6_addresses {
            put("ipv6.address", a.clone());
        }
        let opts: [(&str, &Option<String>); 3] = [
            ("ipv6.gateway", &n.ipv6_gateway),
            ("script.up", &n.script_up),
            ("script.down", &n.script_down),
        ];
        for (sub, v) in opts {
            if let Some(v) = v {
                put(sub, v.clone());
            }
        }
    }
}
