//! lxc-net: the container bridge with NAT and DHCP, as LXC's lxc-net
//! script sets it up, without ip, nft or dnsmasq. See docs/lxc-net.md.
//!
//! `start` checks everything first (config, LXC's own lxc-net, the bridge
//! name, the addresses of the host), then makes, recording each step in
//! the state file before the next: bridge, MAC, addresses, link up,
//! forwarding, the nf_tables masquerade table, the DHCP server process.
//! A failure undoes what was recorded. `stop` undoes exactly the record.

pub mod conf;
pub mod server;
pub mod state;
mod status;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub use conf::NetConf;
use state::State;
pub use status::{status, Status};

use crate::net::nft::{self, Family};
use crate::net::raw::{self, Change, Kind, NewLink, Socket};

/// What LXC's own lxc-net leaves while it runs.
const LXC_NETWORK_UP: &str = "/run/lxc/network_up";

/// The nf_tables table of a bridge's NAT.
pub fn table_name(bridge: &str) -> String {
    format!("lxcbox-{bridge}")
}

/// The address a running lxc-net network has leased to `mac`, if any
/// (for lxc-info and lxc-ls: a container that got a lease but has not
/// configured it, or a client that keeps it outside the kernel).
pub fn leased_address(mac: &[u8; 6]) -> Option<Ipv4Addr> {
    let now = server::now();
    State::all()
        .into_iter()
        .filter(|st| {
            st.server_pid
                .zip(st.server_start)
                .is_some_and(|(p, t)| server::alive(p, t))
        })
        .find_map(|st| crate::dhcp::leases::address_of(&st.leasefile, mac, now))
}

/// Outcome of start/stop that is not an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Done {
    Ok,
    /// USE_LXC_BRIDGE is not "true": nothing to do (exit 0, as LXC).
    Disabled,
    /// start: already running; stop: not running (LXC's messages, exit 1).
    AlreadyRunning,
    NotRunning,
}

fn read_sysctl(path: &str) -> Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {path}"))?
        .trim()
        .to_string())
}

fn write_sysctl(path: &str, v: &str) -> Result<()> {
    std::fs::write(path, v).with_context(|| format!("writing {v} to {path}"))
}

/// True when a DHCP server of LXC's lxc-net (dnsmasq) serves `bridge`.
fn lxc_dnsmasq_on(bridge: &str) -> Option<i32> {
    let want = format!("--interface={bridge}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        let is_dnsmasq = args.first()?.ends_with(b"dnsmasq");
        (is_dnsmasq && args.contains(&want.as_bytes())).then_some(pid)
    })
}

fn ports_of(s: &mut Socket, index: i32) -> Result<Vec<String>> {
    Ok(raw::list_links(s)?
        .into_iter()
        .filter(|l| l.master == Some(index))
        .map(|l| l.name)
        .collect())
}

fn in_prefix(a: Ipv4Addr, net: Ipv4Addr, p: u8) -> bool {
    conf::net_of(a, p) == conf::net_of(net, p)
}

/// Everything that can be refused before anything is made.
fn preflight(c: &NetConf, s: &mut Socket, kept: bool) -> Result<()> {
    let br = &c.bridge;
    if !kept {
        if let Some(l) = raw::by_name(s, br)? {
            if let Some(pid) = lxc_dnsmasq_on(br) {
                bail!(
                    "{br} is managed by LXC's own lxc-net (its dnsmasq, pid {pid}, serves it): \
                     stop that first (systemctl stop lxc-net) or choose another LXC_BRIDGE"
                );
            }
            if Path::new(LXC_NETWORK_UP).exists() {
                bail!(
                    "{br} exists and LXC's own lxc-net is running ({LXC_NETWORK_UP}): stop it \
                     first (systemctl stop lxc-net) or choose another LXC_BRIDGE"
                );
            }
            let kind = l.kind.as_deref().unwrap_or("device");
            bail!(
                "interface {br} ({kind}) already exists and was not made by lxc-net: \
                 choose another LXC_BRIDGE"
            );
        }
    }
    let links = raw::list_links(s)?;
    let name_of = |i: i32| {
        links
            .iter()
            .find(|l| l.index == i)
            .map(|l| l.name.clone())
            .unwrap_or_else(|| format!("index {i}"))
    };
    for a in raw::list_addrs(s)? {
        if kept && links.iter().any(|l| l.index == a.index && l.name == *br) {
            continue;
        }
        match a.addr {
            IpAddr::V4(v4) => {
                if v4 == c.addr {
                    bail!(
                        "LXC_ADDR {} is already on {} of this host",
                        c.addr,
                        name_of(a.index)
                    );
                }
                let p = a.prefix.min(c.network.1);
                if in_prefix(v4, c.network.0, p) && !v4.is_loopback() {
                    bail!(
                        "LXC_NETWORK {}/{} overlaps {v4}/{} on {}",
                        c.network.0,
                        c.network.1,
                        a.prefix,
                        name_of(a.index)
                    );
                }
            }
            IpAddr::V6(v6) => {
                if c.ipv6.as_ref().is_some_and(|x| x.addr == v6) {
                    bail!(
                        "LXC_IPV6_ADDR {v6} is already on {} of this host",
                        name_of(a.index)
                    );
                }
            }
        }
    }
    let mut nf = Socket::open_netfilter().context("opening a netfilter netlink socket")?;
    let t = table_name(br);
    for fam in [Family::Ip, Family::Ip6] {
        if nft::tables(&mut nf, fam)?.iter().any(|x| x.name == t) {
            bail!("the nftables table {} {t} already exists", fam.name());
        }
    }
    Ok(())
}

/// Brings the network up. `log`: progress lines for the caller to show.
pub fn start(c: &NetConf) -> Result<Done> {
    if !c.use_bridge {
        return Ok(Done::Disabled);
    }
    let mut kept = false;
    if let Some(old) = State::load(&c.bridge)? {
        let live = old
            .server_pid
            .zip(old.server_start)
            .is_some_and(|(p, t)| server::alive(p, t));
        if live {
            return Ok(Done::AlreadyRunning);
        }
        if old.server_pid.is_none() && old.nft_tables.is_empty() && old.addresses.is_empty() {
            // A bridge kept by a stop that found containers on it.
            kept = true;
        } else {
            log::warn!("{}: the previous run died; cleaning up after it", c.bridge);
            teardown(&old)?;
        }
    }
    let mut s = Socket::open().context("opening a netlink socket")?;
    preflight(c, &mut s, kept)?;
    let mut st = State {
        bridge: c.bridge.clone(),
        created_bridge: kept,
        leasefile: c.leasefile.clone(),
        addr: Some(c.addr),
        network: Some(c.network),
        range: Some(c.range),
        dhcp_max: c.dhcp_max,
        config: c.origin.clone(),
        ..State::default()
    };
    match bring_up(c, &mut s, &mut st) {
        Ok(()) => Ok(Done::Ok),
        Err(e) => {
            if let Err(u) = teardown(&st) {
                log::error!("undoing the failed start: {u:#}");
            }
            Err(e)
        }
    }
}

fn bring_up(c: &NetConf, s: &mut Socket, st: &mut State) -> Result<()> {
    let br = c.bridge.clone();
    if !st.created_bridge {
        st.save()?;
        raw::create(
            s,
            &NewLink {
                name: br.clone(),
                kind: Kind::Bridge,
                mtu: None,
                master: None,
                netns: None,
                up: false,
            },
        )
        .with_context(|| format!("creating bridge {br}"))?;
        st.created_bridge = true;
        st.save()?;
    }
    let l = raw::by_name(s, &br)?.with_context(|| format!("bridge {br} vanished"))?;
    raw::change(
        s,
        l.index,
        &Change {
            mac: Some(&c.bridge_mac),
            ..Change::default()
        },
    )
    .with_context(|| format!("setting the MAC address of {br}"))?;
    let v6dir = format!("/proc/sys/net/ipv6/conf/{br}");
    if Path::new(&v6dir).exists() {
        // As LXC: no DAD on the bridge (its address is ours alone), and
        // no SLAAC from our own router advertisements.
        let _ = write_sysctl(&format!("{v6dir}/accept_dad"), "0");
        if c.ipv6.is_some() {
            let _ = write_sysctl(&format!("{v6dir}/autoconf"), "0");
        }
    }
    st.addresses.push((IpAddr::V4(c.addr), c.prefix));
    st.save()?;
    raw::add_addr(s, l.index, IpAddr::V4(c.addr), c.prefix, None)
        .with_context(|| format!("adding {}/{} to {br}", c.addr, c.prefix))?;
    if let Some(v6) = &c.ipv6 {
        st.addresses.push((IpAddr::V6(v6.addr), v6.prefix));
        st.save()?;
        raw::add_addr(s, l.index, IpAddr::V6(v6.addr), v6.prefix, None)
            .with_context(|| format!("adding {}/{} to {br}", v6.addr, v6.prefix))?;
    }
    raw::change(
        s,
        l.index,
        &Change {
            up: Some(true),
            ..Change::default()
        },
    )
    .with_context(|| format!("setting {br} up"))?;
    let mut sysctls = vec!["/proc/sys/net/ipv4/ip_forward"];
    if c.ipv6.is_some() {
        sysctls.push("/proc/sys/net/ipv6/conf/all/forwarding");
    }
    for p in sysctls {
        let old = read_sysctl(p)?;
        if old != "1" {
            st.sysctls.push((p.to_string(), old));
            st.save()?;
            write_sysctl(p, "1")?;
        }
    }
    let mut nf = Socket::open_netfilter().context("opening a netfilter netlink socket")?;
    let t = table_name(&br);
    let mut nat = vec![(Family::Ip, IpAddr::V4(c.network.0), c.network.1)];
    if let Some(v6) = c.ipv6.as_ref().filter(|v| v.nat) {
        nat.push((Family::Ip6, IpAddr::V6(v6.network.0), v6.network.1));
    }
    for (fam, net, p) in nat {
        st.nft_tables.push((fam, t.clone()));
        st.save()?;
        nft::add_masquerade(&mut nf, fam, &t, net, p)
            .with_context(|| format!("adding the nftables masquerade table {} {t}", fam.name()))?;
    }
    spawn_server(c, st)?;
    st.save()
}

fn spawn_server(c: &NetConf, st: &mut State) -> Result<()> {
    let sock = server::open_socket(&c.bridge)?;
    let conf = server::ServerConf {
        settings: crate::dhcp::Settings {
            server: c.addr,
            prefix: c.prefix,
            range: c.range,
            max: c.dhcp_max,
            lease_time: crate::dhcp::DEFAULT_LEASE,
            dns: server::host_nameservers(),
            domain: c.domain.clone(),
            statics: c.static_leases.clone(),
        },
        leasefile: c.leasefile.clone(),
    };
    match crate::start::daemon::fork()? {
        crate::start::daemon::Forked::Parent(r) => r.context("starting the DHCP server")?,
        crate::start::daemon::Forked::Child(mut n) => {
            let _ = crate::sys::process::set_proctitle(&server::title(&c.bridge));
            // The server records itself, so the record never names a
            // process that is not (or no longer) the server.
            let me = std::process::id() as i32;
            st.server_pid = Some(me);
            st.server_start = server::proc_stat(me).map(|(_, t)| t);
            let r = st
                .save()
                .and_then(|()| server::serve(conf, sock, || n.ok()));
            if let Err(e) = &r {
                n.fail(&format!("{e:#}"));
            }
            crate::sys::process::exit_now(i32::from(r.is_err()));
        }
    }
    drop(sock);
    *st = State::load(&c.bridge)?.context("the DHCP server left no record")?;
    Ok(())
}

/// Stops the network of `c` (its record decides what is removed).
pub fn stop(c: &NetConf) -> Result<Done> {
    if !c.use_bridge {
        return Ok(Done::Disabled);
    }
    match State::load(&c.bridge)? {
        Some(st) if st.server_pid.is_some() || !st.addresses.is_empty() => {
            teardown(&st)?;
            Ok(Done::Ok)
        }
        _ => Ok(Done::NotRunning),
    }
}

/// Undoes a record in reverse: server, nft tables, sysctls, addresses,
/// bridge (kept, addresses removed, when containers are still attached).
fn teardown(st: &State) -> Result<()> {
    let mut errors = Vec::new();
    if let (Some(pid), Some(t)) = (st.server_pid, st.server_start) {
        if server::alive(pid, t) {
            let _ = crate::sys::process::kill(pid, libc::SIGTERM);
            if !server::wait_gone(pid, t, Duration::from_secs(3)) {
                let _ = crate::sys::process::kill(pid, libc::SIGKILL);
                server::wait_gone(pid, t, Duration::from_secs(2));
            }
        }
    }
    if !st.nft_tables.is_empty() {
        match Socket::open_netfilter() {
            Ok(mut nf) => {
                for (fam, t) in st.nft_tables.iter().rev() {
                    if let Err(e) = nft::delete_table(&mut nf, *fam, t) {
                        errors.push(format!("deleting nftables table {} {t}: {e}", fam.name()));
                    }
                }
            }
            Err(e) => errors.push(format!("opening a netfilter socket: {e}")),
        }
    }
    // Forwarding goes back only when no other lxc-net network needs it.
    let others = State::all().into_iter().any(|o| {
        o.bridge != st.bridge
            && o.server_pid
                .zip(o.server_start)
                .is_some_and(|(p, t)| server::alive(p, t))
    });
    for (p, old) in st.sysctls.iter().rev() {
        if others {
            log::info!("leaving {p} at 1: another lxc-net network is up");
        } else if let Err(e) = write_sysctl(p, old) {
            errors.push(format!("{e:#}"));
        }
    }
    let mut keep = false;
    let mut s = Socket::open().context("opening a netlink socket")?;
    if let Some(l) = raw::by_name(&mut s, &st.bridge)? {
        let ports = ports_of(&mut s, l.index)?;
        for (a, p) in &st.addresses {
            if let Err(e) = raw::del_addr(&mut s, l.index, *a, *p) {
                errors.push(format!("removing {a}/{p} from {}: {e}", st.bridge));
            }
        }
        if st.created_bridge && ports.is_empty() {
            if let Err(e) = raw::delete(&mut s, l.index) {
                errors.push(format!("deleting bridge {}: {e}", st.bridge));
            }
        } else if st.created_bridge {
            // As LXC: a bridge with containers on it stays (deleting it
            // would cut them off); the next start takes it over.
            log::warn!(
                "{} still has ports ({}): the bridge stays, without its addresses",
                st.bridge,
                ports.join(", ")
            );
            let _ = raw::change(
                &mut s,
                l.index,
                &Change {
                    up: Some(false),
                    ..Change::default()
                },
            );
            keep = true;
        }
    }
    if !errors.is_empty() {
        bail!("stopping lxc-net: {}", errors.join("; "));
    }
    if keep {
        State {
            bridge: st.bridge.clone(),
            created_bridge: true,
            leasefile: st.leasefile.clone(),
            ..State::default()
        }
        .save()?;
    } else {
        State::remove(&st.bridge)?;
    }
    Ok(())
}
