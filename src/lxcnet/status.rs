//! `lxc-net status`: what the record says, checked against the kernel.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use super::state::State;
use super::{server, table_name, NetConf};
use crate::net::nft::{self, Family};
use crate::net::raw::{self, Socket};

/// The status of one network, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Status {
    pub bridge: String,
    /// "running", "stopped", or "dead" (a record without its server).
    pub state: &'static str,
    pub bridge_exists: bool,
    pub bridge_up: bool,
    pub ports: Vec<String>,
    pub addresses: Vec<String>,
    pub nat: Vec<NatStatus>,
    pub dhcp: Option<DhcpStatus>,
    pub forwarding: bool,
}

#[derive(Debug, Serialize)]
pub struct NatStatus {
    pub family: Family,
    pub table: String,
    pub network: String,
    pub packets: u64,
}

#[derive(Debug, Serialize)]
pub struct DhcpStatus {
    pub pid: i32,
    pub range: (Ipv4Addr, Ipv4Addr),
    pub max: u32,
    pub leases: usize,
    pub leasefile: PathBuf,
}

impl Status {
    /// LSB's status codes: 0 running, 1 dead with a record, 3 stopped.
    pub fn exit_code(&self) -> i32 {
        match self.state {
            "running" => 0,
            "dead" => 1,
            _ => 3,
        }
    }

    pub fn render(&self) -> String {
        let mut s = format!("lxc-net {}: {}\n", self.bridge, self.state);
        if self.bridge_exists {
            s += &format!(
                "  bridge:  {} {} {}{}\n",
                self.bridge,
                if self.bridge_up { "up" } else { "down" },
                self.addresses.join(" "),
                if self.ports.is_empty() {
                    String::new()
                } else {
                    format!(" (ports: {})", self.ports.join(", "))
                }
            );
        }
        for n in &self.nat {
            s += &format!(
                "  nat:     {} {}: masquerade {} ({} packets)\n",
                n.family.name(),
                n.table,
                n.network,
                n.packets
            );
        }
        if let Some(d) = &self.dhcp {
            s += &format!(
                "  dhcp:    pid {}, range {}-{}, {} leases (max {}), {}\n",
                d.pid,
                d.range.0,
                d.range.1,
                d.leases,
                d.max,
                d.leasefile.display()
            );
        }
        if self.state != "stopped" {
            s += &format!(
                "  forwarding: {}\n",
                if self.forwarding { "on" } else { "off" }
            );
        }
        s
    }
}

fn nat_of(table: &str) -> Vec<NatStatus> {
    let Ok(mut nf) = Socket::open_netfilter() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for fam in [Family::Ip, Family::Ip6] {
        let Ok(rules) = nft::rules(&mut nf, fam, table) else {
            continue;
        };
        for r in rules {
            let net =
                r.exprs
                    .iter()
                    .find_map(|e| e.cmp.as_ref().filter(|(op, _)| op == "=="))
                    .map(|(_, v)| match v.len() {
                        4 => Ipv4Addr::from(<[u8; 4]>::try_from(&v[..]).unwrap_or_default())
                            .to_string(),
                        16 => std::net::Ipv6Addr::from(
                            <[u8; 16]>::try_from(&v[..]).unwrap_or_default(),
                        )
                        .to_string(),
                        _ => "?".into(),
                    })
                    .unwrap_or_default();
            let packets = r.exprs.iter().find_map(|e| e.packets).unwrap_or(0);
            out.push(NatStatus {
                family: fam,
                table: table.to_string(),
                network: net,
                packets,
            });
        }
    }
    out
}

fn with_prefix(nat: &mut [NatStatus], c: &NetConf) {
    for n in nat {
        n.network = match n.family {
            Family::Ip => format!("{}/{}", n.network, c.network.1),
            Family::Ip6 => match &c.ipv6 {
                Some(v6) => format!("{}/{}", n.network, v6.network.1),
                None => n.network.clone(),
            },
        };
    }
}

pub fn status(c: &NetConf) -> Result<Status> {
    let st = State::load(&c.bridge)?;
    let mut s = Socket::open().context("opening a netlink socket")?;
    let link = raw::by_name(&mut s, &c.bridge)?;
    let (mut addresses, mut ports) = (Vec::new(), Vec::new());
    if let Some(l) = &link {
        addresses = raw::list_addrs(&mut s)?
            .into_iter()
            .filter(|a| a.index == l.index)
            .map(|a| format!("{}/{}", a.addr, a.prefix))
            .collect();
        ports = super::ports_of(&mut s, l.index)?;
    }
    let server = st
        .as_ref()
        .and_then(|st| st.server_pid.zip(st.server_start))
        .filter(|(p, t)| server::alive(*p, *t));
    let state = match (&st, server) {
        (_, Some(_)) => "running",
        (Some(st), None) if st.server_pid.is_some() => "dead",
        _ => "stopped",
    };
    let dhcp = server.map(|(pid, _)| {
        let now = server::now();
        let leases = crate::dhcp::leases::load(&c.leasefile)
            .iter()
            .filter(|l| l.expiry == 0 || l.expiry > now)
            .count();
        DhcpStatus {
            pid,
            range: c.range,
            max: c.dhcp_max,
            leases,
            leasefile: c.leasefile.clone(),
        }
    });
    let mut nat = nat_of(&table_name(&c.bridge));
    with_prefix(&mut nat, c);
    Ok(Status {
        bridge: c.bridge.clone(),
        state,
        bridge_exists: link.is_some(),
        bridge_up: link.as_ref().is_some_and(|l| l.flags & 1 != 0),
        ports,
        addresses,
        nat,
        dhcp,
        forwarding: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .map(|v| v.trim() == "1")
            .unwrap_or(false),
    })
}
