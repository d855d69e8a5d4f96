//! lxc-device add|del for network interfaces: move a host interface into a
//! running container and back.
//!
//! Virtual devices (veth, macvlan, ...) moved in are destroyed with the
//! container's namespace; physical ones come back to the host by themselves
//! when it dies (under their in-container name).

use anyhow::{anyhow, Context, Result};

use super::link::{self, Change, Netns};
use super::nl::Socket;
use super::ns;

fn rename_err(e: std::io::Error, name: &str, where_: &str) -> anyhow::Error {
    if super::nl::errno(&e) == Some(libc::EEXIST) {
        anyhow!("interface \"{name}\" already exists {where_}")
    } else {
        anyhow!("renaming to \"{name}\" {where_}: {e}")
    }
}

/// Moves host interface `ifname` into the network namespace of `pid`,
/// renamed to `newname` there if given.
pub fn move_into(pid: i32, ifname: &str, newname: Option<&str>) -> Result<()> {
    let mut s = Socket::open().context("opening a netlink socket")?;
    let l = link::by_name(&mut s, ifname)?
        .ok_or_else(|| anyhow!("interface \"{ifname}\" not found on the host"))?;
    if l.is_loopback() {
        return Err(anyhow!("cannot move the loopback device"));
    }
    if ns::same_netns(pid)? {
        return Err(anyhow!("pid {pid} shares the host network namespace"));
    }
    let c = Change {
        netns: Some(Netns::Pid(pid)),
        ..Change::default()
    };
    link::change(&mut s, l.index, &c)
        .with_context(|| format!("moving \"{ifname}\" into the namespace of pid {pid}"))?;
    let (Some(new), idx) = (newname, l.index) else {
        return Ok(());
    };
    let (old, new) = (ifname.to_string(), new.to_string());
    ns::in_netns(pid, move || {
        let mut s = Socket::open()?;
        // The index survives the move unless taken; the name always does
        // (the kernel refuses the move on a name clash).
        let l = link::by_name(&mut s, &old)?
            .or(link::by_index(&mut s, idx)?)
            .ok_or_else(|| anyhow!("\"{old}\" not found after the move"))?;
        link::change(
            &mut s,
            l.index,
            &Change {
                name: Some(&new),
                ..Change::default()
            },
        )
        .map_err(|e| rename_err(e, &new, "in the container"))
    })
}

/// Moves interface `ifname` out of the namespace of `pid` back to the
/// caller's namespace, renamed to `newname` if given.
pub fn move_out(pid: i32, ifname: &str, newname: Option<&str>) -> Result<()> {
    let host = ns::own_netns_fd()?;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&host);
    let name = ifname.to_string();
    let idx = ns::in_netns(pid, move || {
        let mut s = Socket::open()?;
        let l = link::by_name(&mut s, &name)?
            .ok_or_else(|| anyhow!("interface \"{name}\" not found in the container"))?;
        let c = Change {
            netns: Some(Netns::Fd(raw)),
            ..Change::default()
        };
        link::change(&mut s, l.index, &c).map_err(|e| {
            if super::nl::errno(&e) == Some(libc::EEXIST) {
                anyhow!("interface \"{name}\" already exists on the host")
            } else {
                anyhow!("moving \"{name}\" out of the container: {e}")
            }
        })?;
        Ok(l.index)
    })?;
    drop(host);
    let Some(new) = newname else { return Ok(()) };
    let mut s = Socket::open().context("opening a netlink socket")?;
    let l = link::by_name(&mut s, ifname)?
        .or(link::by_index(&mut s, idx)?)
        .ok_or_else(|| anyhow!("\"{ifname}\" not found on the host after the move"))?;
    link::change(
        &mut s,
        l.index,
        &Change {
            name: Some(new),
            ..Change::default()
        },
    )
    .map_err(|e| rename_err(e, new, "on the host"))
}
