//! Undoing `setup_host`: script.down, l2proxy entries, host veth ends, and
//! returning phys devices to the host.
//!
//! What the kernel does by itself when the container's network namespace
//! dies (its last process exits and nothing else holds it):
//! - virtual devices inside it (veth peers, macvlan, ipvlan, vlan) are
//!   destroyed, and destroying a veth peer destroys the host end too;
//! - physical devices are moved back to the initial namespace, keeping the
//!   name they had inside (or "devN" on a clash), asynchronously (in the
//!   netns cleanup work queue, shortly after the last process exits).
//!
//! So teardown deletes the host veth ends itself (needed when the namespace
//! outlives init, e.g. held by a bind mount, or after a failed start), and
//! renames returned phys devices back, waiting a little for the kernel.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use super::addr;
use super::host::{HostDev, HostNet};
use super::link::{self, Change, Netns};
use super::nl::Socket;
use super::ns;
use super::script::{self, ScriptCall};

impl HostNet {
    /// Names of the host-side interfaces (veth ends) created for the container.
    pub fn host_ifnames(&self) -> Vec<String> {
        self.devs
            .iter()
            .filter_map(|d| d.host_ifname.clone())
            .collect()
    }

    /// Undoes everything `setup_host` did, last device first. Keeps going
    /// after an error and returns the first one.
    pub fn teardown(&self) -> Result<()> {
        let mut s = Socket::open().context("opening a netlink socket")?;
        let mut first: Option<anyhow::Error> = None;
        for hd in self.devs.iter().rev() {
            if let Err(e) = self.teardown_one(&mut s, hd) {
                log::warn!("{e:#}");
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn teardown_one(&self, s: &mut Socket, hd: &HostDev) -> Result<()> {
        let mut first: Option<anyhow::Error> = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        // LXC runs script.down before destroying the network.
        if let Some(sc) = &hd.script_down {
            note(
                script::run(&ScriptCall {
                    script: sc,
                    container: &self.container,
                    hook: "down",
                    net_type: &hd.kind,
                    parent: hd.link.as_deref(),
                    peer: hd.host_ifname.as_deref(),
                })
                .with_context(|| format!("lxc.net.{}.script.down", hd.index)),
            );
        }
        for (idx, a) in &hd.proxies {
            note(remove_proxy(s, *idx, *a).with_context(|| {
                format!("lxc.net.{}.l2proxy: removing proxy entry {a}", hd.index)
            }));
        }
        if let Some(name) = hd.host_ifname.as_ref().filter(|_| hd.via_helper) {
            note(self.delete_through_helper(hd, name));
        }
        if let Some(name) = hd.host_ifname.as_ref().filter(|_| !hd.via_helper) {
            note(delete_host_end(s, hd.host_ifindex, name).with_context(|| {
                format!("lxc.net.{}: deleting host interface \"{name}\"", hd.index)
            }));
        }
        if hd.phys_ifindex != 0 {
            note(self.return_phys(s, hd).with_context(|| {
                format!(
                    "lxc.net.{}: returning \"{}\" to the host",
                    hd.index,
                    hd.link.as_deref().unwrap_or_default()
                )
            }));
        }
        first.map_or(Ok(()), Err)
    }

    /// An ordinary user's veth: `lxc-user-nic delete` with the held
    /// namespace as /proc/MONITOR/fd/N (as liblxc passes it), so the host
    /// end and its /run/lxc/nics record go at the stop, not at the next
    /// helper run.
    fn delete_through_helper(&self, hd: &HostDev, name: &str) -> Result<()> {
        use std::os::fd::AsRawFd;
        let Some(fd) = &self.netns.0 else {
            return Ok(());
        };
        let netns = format!("/proc/{}/fd/{}", std::process::id(), fd.as_raw_fd());
        let helper = crate::usernic::helper::find()?;
        let lxcpath = self
            .lxcpath
            .clone()
            .unwrap_or_else(crate::usernic::helper::default_lxcpath);
        crate::usernic::helper::delete(
            &helper,
            &lxcpath,
            &self.container,
            &netns,
            hd.link.as_deref(),
            name,
        )
        .with_context(|| format!("lxc.net.{}: deleting host interface \"{name}\"", hd.index))
    }

    /// Moves a phys device back (if the container's namespace still
    /// exists), then gives it back its host name and MTU.
    fn return_phys(&self, s: &mut Socket, hd: &HostDev) -> Result<()> {
        let orig = hd.link.clone().unwrap_or_default();
        // The held namespace (see HostNet::netns) outlives init; without it,
        // go through init if it still lives.
        let nsfd = match &self.netns.0 {
            Some(fd) => Some(fd.try_clone().context("duplicating the netns fd")?),
            None if ns::same_netns(self.init_pid).is_ok_and(|same| !same) => {
                Some(ns::netns_fd(self.init_pid)?)
            }
            None => None,
        };
        if let Some(nsfd) = nsfd {
            let host_fd = ns::own_netns_fd()?;
            let raw = std::os::fd::AsRawFd::as_raw_fd(&host_fd);
            let idx = hd.phys_ns_ifindex;
            ns::in_netns_fd(nsfd, move || {
                let mut s = Socket::open()?;
                if link::by_index(&mut s, idx)?.is_some() {
                    link::change(
                        &mut s,
                        idx,
                        &Change {
                            netns: Some(Netns::Fd(raw)),
                            ..Change::default()
                        },
                    )?;
                }
                Ok(())
            })?;
            drop(host_fd);
        }
        // The kernel keeps the ifindex across moves unless it is taken.
        let deadline = Instant::now() + Duration::from_secs(5);
        let l = loop {
            let mut found = None;
            for idx in [hd.phys_ifindex, hd.phys_ns_ifindex] {
                if let Some(l) = link::by_index(s, idx)? {
                    if l.kind == hd.phys_kind {
                        found = Some(l);
                        break;
                    }
                }
            }
            match found {
                Some(l) => break l,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                None => return Err(anyhow!("device not back on the host after 5s")),
            }
        };
        if l.name != orig {
            // A rename needs the device down; a move already closed it.
            link::change(
                s,
                l.index,
                &Change {
                    up: Some(false),
                    ..Change::default()
                },
            )?;
            link::change(
                s,
                l.index,
                &Change {
                    name: Some(&orig),
                    ..Change::default()
                },
            )
            .with_context(|| format!("renaming \"{}\" back to \"{orig}\"", l.name))?;
        }
        if hd.phys_mtu != 0 && l.mtu != hd.phys_mtu {
            link::change(
                s,
                l.index,
                &Change {
                    mtu: Some(hd.phys_mtu),
                    ..Change::default()
                },
            )?;
        }
        if hd.phys_mac.len() == 6 && l.mac != hd.phys_mac {
            let c = Change {
                mac: Some(&hd.phys_mac),
                ..Change::default()
            };
            link::change(s, l.index, &c).context("restoring the MAC address")?;
        }
        if hd.phys_up {
            let c = Change {
                up: Some(true),
                ..Change::default()
            };
            link::change(s, l.index, &c).context("bringing it back up")?;
        }
        Ok(())
    }
}

fn remove_proxy(s: &mut Socket, idx: i32, a: IpAddr) -> Result<()> {
    match addr::proxy_neigh(s, idx, a, false) {
        Err(e)
            if matches!(
                super::nl::errno(&e),
                Some(libc::ENOENT) | Some(libc::ENODEV)
            ) =>
        {
            Ok(())
        }
        r => Ok(r?),
    }
}

/// Deletes the host veth end, but only if the index still carries the name
/// we gave it (the pair may be gone with its namespace and the index reused).
fn delete_host_end(s: &mut Socket, index: i32, name: &str) -> Result<()> {
    match link::by_index(s, index)? {
        Some(l) if l.name == name => Ok(link::delete(s, index)?),
        _ => Ok(()),
    }
}
