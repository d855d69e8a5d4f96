//! The host side of a container's network: runs in the host network
//! namespace (in the monitor) after the container's init exists in its new
//! namespace.
//!
//! Container-side devices are created directly inside the container's
//! namespace (IFLA_NET_NS_PID on the new link, or on the veth peer), under a
//! temporary name `lxcnetN`, so no container-side name ever appears on the
//! host and host names cannot clash with them. `setup_container` renames
//! them inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use super::addr;
use super::host_opts::{l2proxy, port_vlans, resolve_auto};
use super::link::{self, Change, Kind, Link, Netns, NewLink};
use super::nl::Socket;
use super::ns;
use super::script::{self, ScriptCall};
use super::spec::{self, key_err, Gateway, Plan};
use crate::config::{NetDev, NetType};

/// What `setup_host` did, kept by the monitor to undo it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostNet {
    pub container: String,
    pub init_pid: i32,
    pub devs: Vec<HostDev>,
    /// The container's network namespace, held open while phys devices are
    /// inside: a veth end (or any virtual device) given as phys would be
    /// destroyed with the namespace when init dies; holding it lets
    /// teardown move the device back first, as LXC does with its handler's
    /// netns fd. Not sent to the child.
    #[serde(skip)]
    pub netns: NsHold,
    /// The container's lxcpath, for lxc-user-nic. Not sent to the child.
    #[serde(skip)]
    pub lxcpath: Option<String>,
}

/// An optional shared fd of a network namespace (equal to any other: it is
/// a resource, not part of what was set up).
#[derive(Debug, Clone, Default)]
pub struct NsHold(pub Option<std::sync::Arc<std::os::fd::OwnedFd>>);

impl PartialEq for NsHold {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// One lxc.net.N as set up on the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostDev {
    /// N of lxc.net.N.
    pub index: u32,
    /// "veth", "macvlan", ... (as in scripts).
    pub kind: String,
    pub link: Option<String>,
    /// The host end of a veth pair, and its ifindex.
    pub host_ifname: Option<String>,
    pub host_ifindex: i32,
    /// The device's name inside the container namespace before
    /// `setup_container` renames it.
    pub ns_ifname: Option<String>,
    /// phys: the device's ifindex on the host before the move, inside the
    /// container after it, its original MTU and its kind (None = hardware).
    pub phys_ifindex: i32,
    pub phys_ns_ifindex: i32,
    pub phys_mtu: u32,
    pub phys_kind: Option<String>,
    /// phys: its MAC and whether it was up on the host, restored at teardown.
    #[serde(default)]
    pub phys_mac: Vec<u8>,
    #[serde(default)]
    pub phys_up: bool,
    /// "auto" gateways, resolved from the link's addresses.
    pub gateway4: Option<Ipv4Addr>,
    pub gateway6: Option<Ipv6Addr>,
    /// l2proxy entries added on the link: (link ifindex, address).
    pub proxies: Vec<(i32, IpAddr)>,
    pub script_down: Option<String>,
    /// A veth an ordinary user got from the setuid lxc-user-nic: the user
    /// cannot delete its host end; it goes with the container's namespace
    /// (as in LXC, which deletes only Open vSwitch ports through the helper).
    #[serde(default)]
    pub via_helper: bool,
}

/// The temporary name of lxc.net.N inside the container namespace.
pub fn tmp_name(index: u32) -> String {
    format!("lxcnet{index}")
}

fn random_veth_name() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let r = spec::random_bytes(6);
    let tail: String = r
        .iter()
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect();
    format!("veth{tail}")
}

fn errno(e: &std::io::Error) -> i32 {
    super::nl::errno(e).unwrap_or(0)
}

/// Creates the host side of every device; undoes everything on error.
pub fn setup_host(devs: &[NetDev], container: &str, init_pid: i32) -> Result<HostNet> {
    setup_host_at(devs, None, container, init_pid)
}

/// [`setup_host`] knowing the container's lxcpath, which an ordinary
/// user's veth passes to lxc-user-nic (the helper does not use it, as in
/// LXC; without it LXC's default lxcpath of the user is passed).
pub fn setup_host_at(
    devs: &[NetDev],
    lxcpath: Option<&str>,
    container: &str,
    init_pid: i32,
) -> Result<HostNet> {
    let plans = spec::check_all(devs)?;
    let needs_ns = devs
        .iter()
        .any(|d| !matches!(d.kind, NetType::None | NetType::Empty));
    if needs_ns && ns::same_netns(init_pid)? {
        return Err(anyhow!(
            "pid {init_pid} shares the host network namespace: nowhere to put the devices"
        ));
    }
    let mut sock = Socket::open().context("opening a netlink socket")?;
    let mut hn = HostNet {
        container: container.to_string(),
        init_pid,
        devs: Vec::new(),
        netns: NsHold::default(),
        lxcpath: lxcpath.map(str::to_string),
    };
    // Held for the stop: a phys device goes back through it, and an
    // ordinary user's veth is deleted through it by lxc-user-nic.
    let user_veth =
        !rustix::process::geteuid().is_root() && devs.iter().any(|d| d.kind == NetType::Veth);
    if user_veth || devs.iter().any(|d| d.kind == NetType::Phys) {
        hn.netns = NsHold(Some(std::sync::Arc::new(ns::netns_fd(init_pid)?)));
    }
    for (d, plan) in devs.iter().zip(&plans) {
        if let Err(e) = setup_one(&mut sock, d, plan, &mut hn) {
            undo(&hn);
            return Err(e);
        }
    }
    Ok(hn)
}

/// Undoes a partial setup: the teardown, plus the macvlan/ipvlan/vlan
/// devices already made inside the (still living) container namespace,
/// which teardown leaves to the namespace's death.
fn undo(hn: &HostNet) {
    if let Err(u) = hn.teardown() {
        log::warn!("undoing the network setup: {u:#}");
    }
    let inside: Vec<String> = hn
        .devs
        .iter()
        .filter(|d| matches!(d.kind.as_str(), "macvlan" | "ipvlan" | "vlan"))
        .filter_map(|d| d.ns_ifname.clone())
        .collect();
    if inside.is_empty() || ns::same_netns(hn.init_pid).unwrap_or(true) {
        return;
    }
    let r = ns::in_netns(hn.init_pid, move || {
        let mut s = Socket::open()?;
        for n in inside {
            if let Some(l) = link::by_name(&mut s, &n)? {
                link::delete(&mut s, l.index)?;
            }
        }
        Ok(())
    });
    if let Err(u) = r {
        log::warn!("undoing the network setup: {u:#}");
    }
}

fn find_link(s: &mut Socket, d: &NetDev, what: &str) -> Result<Link> {
    let name = d.link.as_deref().unwrap_or_default();
    link::by_name(s, name)
        .with_context(|| format!("lxc.net.{}.link: looking up \"{name}\"", d.index))?
        .ok_or_else(|| key_err(d, "link", format!("{what} \"{name}\" not found")))
}

fn setup_one(s: &mut Socket, d: &NetDev, plan: &Plan, hn: &mut HostNet) -> Result<()> {
    let hd = HostDev {
        index: d.index,
        kind: spec::type_name(d.kind).to_string(),
        link: d.link.clone(),
        script_down: d.script_down.clone(),
        ..HostDev::default()
    };
    // Each creator records `hd` in `hn` as soon as something exists that
    // teardown must undo, so a later failure still cleans it up.
    let i = hn.devs.len();
    let lower = match d.kind {
        NetType::Veth => create_veth(s, d, plan, hn, hd)?,
        NetType::Macvlan | NetType::Ipvlan | NetType::Vlan => Some(create_over(s, d, hn, hd)?),
        NetType::Phys => {
            move_phys(s, d, hn, hd)?;
            None
        }
        NetType::None | NetType::Empty | NetType::Unset => {
            hn.devs.push(hd);
            None
        }
    };
    if let Some(hd) = hn.devs.get_mut(i) {
        resolve_auto(s, d, plan, lower.as_ref(), hd)?;
        l2proxy(s, d, plan, lower.as_ref(), hd)?;
    }
    run_up(d, hn, i)
}

/// The error of a failed creation, naming lxc.net.N.type.
fn create_err(d: &NetDev, e: std::io::Error, what: &str) -> anyhow::Error {
    let kind = spec::type_name(d.kind);
    let msg = match errno(&e) {
        libc::EOPNOTSUPP if d.kind == NetType::Vlan => {
            "the kernel has no 802.1Q VLAN support (module 8021q missing)".to_string()
        }
        libc::EOPNOTSUPP => format!("the kernel does not support {kind} devices"),
        _ => format!("creating the {what}: {e}"),
    };
    key_err(d, "type", msg)
}

/// veth: the pair, its host end on the bridge, host routes, VLANs; returns
/// the bridge.
fn create_veth(
    s: &mut Socket,
    d: &NetDev,
    plan: &Plan,
    hn: &mut HostNet,
    mut hd: HostDev,
) -> Result<Option<Link>> {
    if !rustix::process::geteuid().is_root() {
        return create_veth_unpriv(s, d, plan, hn, hd);
    }
    let bridge = match &d.link {
        Some(_) => {
            let b = find_link(s, d, "bridge")?;
            if b.kind.as_deref() != Some("bridge") {
                let msg = format!("\"{}\" is not a bridge", b.name);
                return Err(key_err(d, "link", msg));
            }
            Some(b)
        }
        None => None,
    };
    let tmp = tmp_name(d.index);
    let mtu = d.mtu.or(bridge.as_ref().map(|b| b.mtu));
    let mut tries = 0;
    let host = loop {
        let name = d.veth_pair.clone().unwrap_or_else(random_veth_name);
        let nl = NewLink {
            name: name.clone(),
            kind: Kind::Veth {
                peer_name: tmp.clone(),
                peer_ns: Some(Netns::Pid(hn.init_pid)),
                peer_mtu: mtu,
                peer_queues: (d.veth_n_rxqueues, d.veth_n_txqueues),
            },
            mtu,
            master: bridge.as_ref().map(|b| b.index),
            netns: None,
            up: true,
        };
        match link::create(s, &nl) {
            Ok(()) => break name,
            Err(e) if errno(&e) == libc::EEXIST && d.veth_pair.is_some() => {
                let msg = format!("interface \"{name}\" already exists");
                return Err(key_err(d, "veth.pair", msg));
            }
            // A clash of two random names: draw again.
            Err(e) if errno(&e) == libc::EEXIST && tries < 8 => tries += 1,
            Err(e) => return Err(create_err(d, e, &format!("veth pair \"{name}\""))),
        }
    };
    let l = link::by_name(s, &host)?
        .ok_or_else(|| anyhow!("veth \"{host}\" vanished after creation"))?;
    hd.host_ifname = Some(host.clone());
    hd.host_ifindex = l.index;
    hd.ns_ifname = Some(tmp);
    let i = hn.devs.len();
    hn.devs.push(hd);
    port_vlans(s, d, bridge.as_ref(), l.index)?;
    let router = d.veth_mode.as_deref() == Some("router");
    // veth.mode router and veth.ipvN.route: the host reaches the
    // container's addresses/routes through its veth end.
    let mut routes: Vec<(IpAddr, u8)> = Vec::new();
    if router {
        routes.extend(plan.v4.iter().map(|c| (c.addr, 32)));
        routes.extend(plan.v6.iter().map(|c| (c.addr, 128)));
    }
    let extra = plan.routes4.iter().chain(&plan.routes6);
    routes.extend(extra.map(|c| (c.addr, c.prefix)));
    for (a, p) in routes {
        addr::add_route(s, Some((a, p)), None, l.index, a.is_ipv6())
            .with_context(|| format!("lxc.net.{}: adding route {a}/{p} via {host}", d.index))?;
    }
    if router {
        // LXC: proxy ARP/NDP entries for the container's gateways on the
        // host end, so that the container reaches the host.
        for g in [plan.gw4, plan.gw6].into_iter().flatten() {
            if let Gateway::Addr(a) = g {
                addr::proxy_neigh(s, l.index, a, true).with_context(|| {
                    format!("lxc.net.{}: adding proxy entry {a} on {host}", d.index)
                })?;
                hn.devs[i].proxies.push((l.index, a));
            }
        }
    }
    Ok(bridge)
}

/// An ordinary user's veth, through the setuid lxc-user-nic (LXC's
/// lxc_create_network_unpriv_exec): the helper makes the pair, puts the
/// host end on the bridge lxc-usernet allows and the peer, named `lxcnetN`,
/// inside; `setup_container` names and configures it as any other.
/// What needs root on the host beyond that is refused, not half done.
fn create_veth_unpriv(
    s: &mut Socket,
    d: &NetDev,
    plan: &Plan,
    hn: &mut HostNet,
    mut hd: HostDev,
) -> Result<Option<Link>> {
    let host_only = [
        ("veth.mode", d.veth_mode.as_deref() == Some("router")),
        ("veth.ipv4.route", !plan.routes4.is_empty()),
        ("veth.ipv6.route", !plan.routes6.is_empty()),
        ("veth.vlan.id", d.veth_vlan_id.is_some()),
        ("veth.vlan.tagged.id", !d.veth_vlan_tagged.is_empty()),
    ];
    if let Some((key, _)) = host_only.iter().find(|(_, set)| *set) {
        let msg = "needs root on the host: an ordinary user's veth only goes on a bridge, through lxc-user-nic";
        return Err(key_err(d, key, msg));
    }
    let helper =
        crate::usernic::helper::find().map_err(|e| key_err(d, "type", format!("{e:#}")))?;
    let lxcpath = match &hn.lxcpath {
        Some(p) => p.clone(),
        None => crate::usernic::helper::default_lxcpath(),
    };
    let tmp = tmp_name(d.index);
    let c = crate::usernic::helper::create(
        &helper,
        &lxcpath,
        &hn.container,
        hn.init_pid,
        d.link.as_deref(),
        &tmp,
    )
    .map_err(|e| key_err(d, "type", format!("{e:#}")))?;
    hd.host_ifname = Some(c.host_name);
    hd.host_ifindex = c.host_ifindex;
    hd.ns_ifname = Some(c.container_name);
    hd.via_helper = true;
    hn.devs.push(hd);
    // The bridge, for "auto" gateways (reading needs no privilege).
    match &d.link {
        Some(_) => find_link(s, d, "bridge").map(Some),
        None => Ok(None),
    }
}

/// macvlan, ipvlan, vlan: made over `link`, directly in the container's
/// namespace; returns the lower link.
fn create_over(s: &mut Socket, d: &NetDev, hn: &mut HostNet, mut hd: HostDev) -> Result<Link> {
    let l = find_link(s, d, "interface")?;
    let k = match d.kind {
        NetType::Macvlan => Kind::Macvlan {
            lower: l.index,
            mode: spec::macvlan_mode(d.macvlan_mode.as_deref()).map_err(anyhow::Error::msg)?,
        },
        NetType::Ipvlan => Kind::Ipvlan {
            lower: l.index,
            mode: spec::ipvlan_mode(d.ipvlan_mode.as_deref()).map_err(anyhow::Error::msg)?,
            flags: spec::ipvlan_isolation(d.ipvlan_isolation.as_deref())
                .map_err(anyhow::Error::msg)?,
        },
        _ => Kind::Vlan {
            lower: l.index,
            id: d.vlan_id.unwrap_or_default(),
        },
    };
    let tmp = tmp_name(d.index);
    let nl = NewLink {
        name: tmp.clone(),
        kind: k,
        mtu: d.mtu,
        master: None,
        netns: Some(Netns::Pid(hn.init_pid)),
        up: false,
    };
    let what = format!("{} over \"{}\"", spec::type_name(d.kind), l.name);
    link::create(s, &nl).map_err(|e| create_err(d, e, &what))?;
    hd.ns_ifname = Some(tmp);
    hn.devs.push(hd);
    Ok(l)
}

/// phys: moves `link` into the container, remembering how to restore it.
fn move_phys(s: &mut Socket, d: &NetDev, hn: &mut HostNet, mut hd: HostDev) -> Result<()> {
    let l = find_link(s, d, "interface")?;
    if l.is_loopback() {
        return Err(key_err(d, "link", "cannot move the loopback device"));
    }
    let c = Change {
        netns: Some(Netns::Pid(hn.init_pid)),
        ..Change::default()
    };
    link::change(s, l.index, &c).with_context(|| {
        let n = &l.name;
        format!(
            "lxc.net.{}.link: moving \"{n}\" into the container",
            d.index
        )
    })?;
    hd.phys_ifindex = l.index;
    hd.phys_ns_ifindex = l.index;
    hd.phys_mtu = l.mtu;
    hd.phys_kind = l.kind.clone();
    hd.phys_mac = l.mac.clone();
    hd.phys_up = l.flags & link::IFF_UP != 0;
    hd.ns_ifname = Some(l.name.clone());
    // Record it first: from now on teardown must bring it back.
    let i = hn.devs.len();
    hn.devs.push(hd);
    // The kernel keeps the ifindex across the move unless it is taken there.
    let name = l.name.clone();
    let idx = ns::in_netns(hn.init_pid, move || {
        let mut s = Socket::open()?;
        Ok(link::by_name(&mut s, &name)?.map(|l| l.index))
    })?;
    if let Some(idx) = idx {
        hn.devs[i].phys_ns_ifindex = idx;
    }
    Ok(())
}

fn run_up(d: &NetDev, hn: &HostNet, i: usize) -> Result<()> {
    let (Some(sc), Some(hd)) = (&d.script_up, hn.devs.get(i)) else {
        return Ok(());
    };
    script::run(&ScriptCall {
        script: sc,
        container: &hn.container,
        hook: "up",
        net_type: &hd.kind,
        parent: hd.link.as_deref(),
        peer: hd.host_ifname.as_deref(),
    })
    .map_err(|e| key_err(d, "script.up", format!("{e:#}")))
}
