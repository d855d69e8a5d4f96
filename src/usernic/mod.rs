//! lxc-user-nic (LXC 5.0.2's src/lxc/cmd/lxc_user_nic.c): the privileged
//! helper that lets an ordinary user give a container of theirs a veth
//! device on a bridge that /etc/lxc/lxc-usernet allows, up to its quota,
//! recorded in /run/lxc/nics. See docs/lxc-user-nic.md.
//!
//! It runs as a setuid-root (or CAP_NET_ADMIN file-capability) copy of
//! lxcbox, so everything is checked against the caller's real ids: the
//! target namespace is opened and probed on threads that dropped to them
//! (`caller`), the caller's name and groups come from the real ids, and
//! nothing the caller controls in the environment is read unless the
//! binary runs without raised privileges.
//!
//! Nothing is left half made: the record is written before the device
//! exists (a caller killing the helper leaves at most a stale record, which
//! the next run culls, never an unrecorded device), and every failure after
//! the pair exists deletes it and the record.

mod caller;
pub mod db;
pub mod helper;
pub mod usernet;

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

use crate::net::raw::{self, Kind, Link, Netns, NewLink, Socket};
use crate::sys::privilege::{self, Ids};
use db::{Db, Entry};

/// LXC's LXC_USERNIC_CONF.
pub const USERNET_PATH: &str = "/etc/lxc/lxc-usernet";
/// LXC's NETDEV_MTU_DEFAULT, for devices on no bridge.
const MTU_DEFAULT: u32 = 1500;

/// LXC's usage text (printed on stderr, exit status 1).
pub const USAGE: &str = "\
Description:
  Manage nics in another network namespace

Usage:
  lxc-user-nic [command]

Available Commands:
  create {lxcpath} {name} {pid} {type} {bridge} {container nicname}
  delete {lxcpath} {name} {/proc/<pid>/ns/net} {type} {bridge} {container nicname}
";

/// `create` or `delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Delete,
}

/// The positional arguments, as LXC names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub op: Op,
    /// Not used (as in LXC), but required.
    pub lxcpath: String,
    pub name: String,
    /// create: the pid; delete: the path of the namespace.
    pub target: String,
    pub ty: String,
    pub bridge: String,
    /// create: the name inside the container (eth%d without one);
    /// delete: the host-side device.
    pub nicname: Option<String>,
}

/// Parses the arguments (without argv[0]): six or seven, as LXC's
/// `argc < 7 || argc > 8` check. `None` means: print the usage.
pub fn parse(args: &[OsString]) -> Option<Request> {
    if !(6..=7).contains(&args.len()) {
        return None;
    }
    let s: Vec<String> = args
        .iter()
        .map(|a| a.to_str().map(str::to_string))
        .collect::<Option<_>>()?;
    let op = match s[0].as_str() {
        "create" => Op::Create,
        "delete" => Op::Delete,
        _ => return None,
    };
    Some(Request {
        op,
        lxcpath: s[1].clone(),
        name: s[2].clone(),
        target: s[3].clone(),
        ty: s[4].clone(),
        bridge: s[5].clone(),
        nicname: s.get(6).cloned(),
    })
}

/// The kernel's rule for a device name (dev_valid_name): 1 to 15 bytes, no
/// `/`, `:` or blank, not `.` or `..`.
fn check_ifname(what: &str, n: &str) -> Result<()> {
    let bad = n.is_empty()
        || n.len() > 15
        || n == "."
        || n == ".."
        || n.chars().any(|c| c == '/' || c == ':' || c.is_whitespace());
    if bad {
        bail!("invalid {what} \"{n}\": a network device name has 1 to 15 characters, without '/', ':' or blanks");
    }
    Ok(())
}

/// Where the tool reads and records: LXC's fixed paths. A binary running
/// with raised privileges never trusts the caller's environment; root, or
/// an unprivileged binary (which can do nothing the caller could not),
/// may point them elsewhere (LXCBOX_USERNET, LXCBOX_USERNIC_DB) for tests.
#[derive(Debug, Clone)]
pub struct Paths {
    pub usernet: PathBuf,
    pub db: PathBuf,
}

impl Paths {
    pub fn for_caller(ids: &Ids) -> Paths {
        let trust_env = ids.ruid == 0 || !privilege::raised();
        let pick = |var: &str, dflt: &str| {
            trust_env
                .then(|| std::env::var_os(var))
                .flatten()
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(dflt), PathBuf::from)
        };
        Paths {
            usernet: pick("LXCBOX_USERNET", USERNET_PATH),
            db: pick("LXCBOX_USERNIC_DB", db::DB_PATH),
        }
    }
}

/// What `create` made; printed as LXC prints it, which liblxc parses:
/// `CONTAINER_NAME:CONTAINER_IFINDEX:HOST_NAME:HOST_IFINDEX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub container_name: String,
    pub container_ifindex: i32,
    pub host_name: String,
    pub host_ifindex: i32,
}

impl std::fmt::Display for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.container_name, self.container_ifindex, self.host_name, self.host_ifindex
        )
    }
}

/// The caller: real ids, name, groups.
struct Caller {
    ids: Ids,
    name: String,
    groups: Vec<String>,
}

impl Caller {
    fn get() -> Result<Caller> {
        let ids =
            privilege::ids().context("Failed to retrieve real, effective, and saved user IDs")?;
        let name = crate::userns::user_name(ids.ruid).ok_or_else(|| {
            anyhow!(
                "Failed to get username: uid {} has no /etc/passwd entry",
                ids.ruid
            )
        })?;
        // LXC uses getgroups(): the supplementary groups the caller has.
        let gids: Vec<u32> = rustix::process::getgroups()
            .context("Failed to get process groups")?
            .iter()
            .map(|g| g.as_raw())
            .collect();
        Ok(Caller {
            ids,
            name,
            groups: usernet::group_names(&gids),
        })
    }
}

/// Runs a request; returns what `create` prints.
pub fn run(req: &Request) -> Result<Option<Created>> {
    if req.ty != "veth" {
        bail!("only veth devices are supported, not type \"{}\"", req.ty);
    }
    if req.bridge != "none" {
        check_ifname("bridge", &req.bridge)?;
    }
    let me = Caller::get()?;
    if me.ids.ruid != 0 && !privilege::raised() {
        bail!(
            "this copy of lxc-user-nic runs with the caller's privileges only; it works for an ordinary user when installed setuid-root or with file capabilities (docs/lxc-user-nic.md: install -m 4755 -o root lxcbox {})",
            helper::LXCBOX_HELPER
        );
    }
    let paths = Paths::for_caller(&me.ids);
    match req.op {
        Op::Create => create(req, &me, &paths).map(Some),
        Op::Delete => delete(req, &me, &paths).map(|()| None),
    }
}

/// The lines of lxc-usernet for this caller, type and bridge.
fn allots(me: &Caller, paths: &Paths, req: &Request) -> Result<Vec<usernet::Allot>> {
    let text = usernet::read(&paths.usernet)?;
    Ok(usernet::allots(
        &text,
        &me.name,
        &me.groups,
        &req.ty,
        &req.bridge,
    ))
}

/// The bridge, which must be a Linux bridge (LXC's is_ovs_bridge takes
/// anything without /sys/class/net/BR/bridge for Open vSwitch, which it
/// drives through ovs-vsctl; lxcbox runs no such tool).
fn find_bridge(s: &mut Socket, name: &str) -> Result<Link> {
    let b = raw::by_name(s, name)
        .with_context(|| format!("looking up bridge \"{name}\""))?
        .ok_or_else(|| anyhow!("bridge \"{name}\" does not exist"))?;
    if b.kind.as_deref() != Some("bridge") {
        bail!("\"{name}\" is not a Linux bridge (Open vSwitch bridges are not supported)");
    }
    Ok(b)
}

/// LXC's host-side name: `vethUID_XXXX` for uids 1..=65536, else
/// `vethXXXXXX`, the X from [a-zA-Z0-9].
fn host_name(uid: u32) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let (prefix, n) = if uid > 0 && uid <= 65536 {
        (format!("veth{uid}_"), 4)
    } else {
        ("veth".to_string(), 6)
    };
    let tail: String = crate::net::spec::random_bytes(n)
        .iter()
        .map(|b| CHARS[*b as usize % CHARS.len()] as char)
        .collect();
    format!("{prefix}{tail}")
}

fn exists(s: &mut Socket, name: &str) -> bool {
    // An error is no proof that it is gone: keep the record.
    raw::by_name(s, name).map_or(true, |l| l.is_some())
}

fn create(req: &Request, me: &Caller, paths: &Paths) -> Result<Created> {
    let pid: i32 = req
        .target
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| anyhow!("Could not read pid: {}", req.target))?;
    if let Some(n) = &req.nicname {
        check_ifname("container nicname", n)?;
    }
    let ns = caller::open_pid_netns(&me.ids, pid)
        .map_err(|e| anyhow!("User {} may not modify netns for pid {pid}: {e:#}", me.name))?;
    if !caller::privileged_over(&me.ids, &ns)? {
        bail!(
            "User {} may not modify netns for pid {pid}: it is not privileged over that network namespace (not in a user namespace of theirs)",
            me.name
        );
    }
    let lines = allots(me, paths, req)?;
    let total: i64 = lines.iter().map(|a| a.allowed).sum();
    if total <= 0 {
        bail!(
            "Quota reached: no line of {} lets {} attach {} devices to {}",
            paths.usernet.display(),
            me.name,
            req.ty,
            req.bridge
        );
    }
    let mut s = Socket::open().context("opening a netlink socket")?;
    let bridge = if req.bridge == "none" {
        None
    } else {
        Some(find_bridge(&mut s, &req.bridge)?)
    };
    let mut db = Db::open_locked(&paths.db)?;
    db.cull(|n| exists(&mut s, n));
    let owner = lines
        .iter()
        .find(|a| db.count(&a.owner, &req.ty, &req.bridge) < a.allowed)
        .map(|a| a.owner.clone());
    let Some(owner) = owner else {
        db.save()?;
        bail!(
            "Quota reached: the {total} {} device(s) {} may attach to {} ({}) are in use",
            req.ty,
            me.name,
            req.bridge,
            paths.usernet.display()
        );
    };
    let mtu = bridge.as_ref().map_or(MTU_DEFAULT, |b| b.mtu);
    let mut made = None;
    for _ in 0..8 {
        let host = host_name(me.ids.ruid);
        if exists(&mut s, &host) {
            continue;
        }
        // The record first: see the module comment.
        db.entries.push(Entry {
            owner: owner.clone(),
            ty: req.ty.clone(),
            bridge: req.bridge.clone(),
            nic: host.clone(),
        });
        db.save()?;
        match make_pair(&mut s, &host, bridge.as_ref(), mtu, &ns) {
            Ok(idx) => {
                made = Some((host, idx));
                break;
            }
            Err(e) => {
                db.entries.pop();
                db.save()?;
                // The peer's name may be taken in the container: draw again.
                if e.downcast_ref::<std::io::Error>().and_then(raw::errno) != Some(libc::EEXIST) {
                    return Err(e.context(format!("Failed to create {host}-{host}p")));
                }
            }
        }
    }
    let Some((host, host_ifindex)) = made else {
        bail!("Failed to create new nic: no free device name after 8 tries");
    };
    let peer = format!("{host}p");
    match caller::rename_in(&me.ids, &ns, &peer, req.nicname.as_deref()) {
        Ok((container_name, container_ifindex)) => Ok(Created {
            container_name,
            container_ifindex,
            host_name: host,
            host_ifindex,
        }),
        Err(e) => {
            let _ = raw::delete(&mut s, host_ifindex);
            db.cull(|n| n != host);
            db.save()?;
            Err(e.context("Failed to rename the link"))
        }
    }
}

/// Creates the pair (host end up, on the bridge, both ends with the
/// bridge's MTU; the peer `HOSTp` directly in the namespace) and gives the
/// host end LXC's private MAC (first byte 0xfe, so that the bridge keeps
/// the host's address). Deletes it again if any step fails.
fn make_pair(
    s: &mut Socket,
    host: &str,
    bridge: Option<&Link>,
    mtu: u32,
    ns: &OwnedFd,
) -> Result<i32> {
    let nl = NewLink {
        name: host.to_string(),
        kind: Kind::Veth {
            peer_name: format!("{host}p"),
            peer_ns: Some(Netns::Fd(ns.as_raw_fd())),
            peer_mtu: Some(mtu),
            peer_queues: (None, None),
        },
        mtu: Some(mtu),
        master: bridge.map(|b| b.index),
        netns: None,
        up: true,
    };
    raw::create(s, &nl)?;
    let finish = |s: &mut Socket| -> Result<i32> {
        let l = raw::by_name(s, host)?
            .ok_or_else(|| anyhow!("veth \"{host}\" vanished after creation"))?;
        if let [_, rest @ ..] = l.mac.as_slice() {
            let mut mac = vec![0xfe];
            mac.extend_from_slice(rest);
            let c = raw::Change {
                mac: Some(&mac),
                ..raw::Change::default()
            };
            raw::change(s, l.index, &c).with_context(|| {
                format!("Failed to change mac address of host interface {host}")
            })?;
        }
        Ok(l.index)
    };
    finish(s).inspect_err(|_| {
        if let Ok(Some(l)) = raw::by_name(s, host) {
            let _ = raw::delete(s, l.index);
        }
    })
}

fn delete(req: &Request, me: &Caller, paths: &Paths) -> Result<()> {
    let nic = req
        .nicname
        .as_deref()
        .ok_or_else(|| anyhow!("delete needs the host-side device name"))?;
    check_ifname("network device", nic)?;
    let ns = caller::open_netns_path(&me.ids, &req.target)?;
    if !caller::privileged_over(&me.ids, &ns)? {
        bail!("Process is not privileged over network namespace");
    }
    let lines = allots(me, paths, req)?;
    let mut s = Socket::open().context("opening a netlink socket")?;
    if req.bridge != "none" {
        find_bridge(&mut s, &req.bridge)?;
    }
    let mut db = Db::open_locked(&paths.db)?;
    db.cull(|n| exists(&mut s, n));
    let recorded = db.entries.iter().any(|e| {
        e.nic == nic
            && e.ty == req.ty
            && e.bridge == req.bridge
            && lines.iter().any(|a| a.owner == e.owner)
    });
    if !recorded {
        db.save()?;
        bail!("Caller is not allowed to delete network device \"{nic}\"");
    }
    // Recorded for this caller; it must also be the one of this
    // container: its peer lives in the namespace given.
    let l =
        raw::by_name(&mut s, nic)?.ok_or_else(|| anyhow!("network device \"{nic}\" is gone"))?;
    let peer_ns = l.link_netnsid;
    let ns_id = caller::host_nsid(&mut s, &ns)?;
    if l.kind.as_deref() != Some("veth") || peer_ns.is_none() || peer_ns != ns_id {
        db.save()?;
        bail!(
            "Caller is not allowed to delete network device \"{nic}\": its peer is not in the network namespace {}",
            req.target
        );
    }
    raw::delete(&mut s, l.index).with_context(|| format!("deleting network device \"{nic}\""))?;
    db.cull(|n| n != nic);
    db.save()
}

/// The applet: parse, run, print; LXC's exit statuses (0, or 1 for
/// anything wrong including a usage error).
pub fn main(args: &[OsString]) -> i32 {
    let Some(req) = parse(args) else {
        eprint!("{USAGE}");
        return 1;
    };
    // A setuid-root process inherits the caller's umask: make the modes of
    // what it creates (/run/lxc, the database) its own.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    match run(&req) {
        Ok(Some(c)) => {
            println!("{c}");
            0
        }
        Ok(None) => 0,
        Err(e) => {
            eprintln!("lxc-user-nic: {e:#}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn argument_counts_and_commands_as_lxc() {
        assert!(parse(&os(&["create", "p", "n", "1", "veth"])).is_none());
        assert!(parse(&os(&["create", "p", "n", "1", "veth", "br", "eth0", "x"])).is_none());
        assert!(parse(&os(&["frob", "p", "n", "1", "veth", "br"])).is_none());
        let r = parse(&os(&["create", "p", "n", "1", "veth", "br"])).unwrap();
        assert_eq!((r.op, r.nicname), (Op::Create, None));
        let r = parse(&os(&[
            "delete",
            "p",
            "n",
            "/proc/1/ns/net",
            "veth",
            "br",
            "v",
        ]))
        .unwrap();
        assert_eq!(
            (r.op, r.target.as_str(), r.nicname.as_deref()),
            (Op::Delete, "/proc/1/ns/net", Some("v"))
        );
    }

    #[test]
    fn host_names_follow_lxc() {
        let n = host_name(1000);
        assert!(n.starts_with("veth1000_") && n.len() == 13, "{n}");
        let n = host_name(100_000);
        assert!(n.starts_with("veth") && n.len() == 10, "{n}");
        assert!(host_name(65536).len() < 15, "room for the peer's p");
        assert!(host_name(0).len() == 10);
    }

    #[test]
    fn device_names_checked() {
        assert!(check_ifname("x", "eth0").is_ok());
        assert!(check_ifname("x", "eth%d").is_ok());
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "sixteencharsname"] {
            assert!(check_ifname("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn output_line_is_what_liblxc_parses() {
        let c = Created {
            container_name: "eth0".into(),
            container_ifindex: 731,
            host_name: "veth9MT2L4".into(),
            host_ifindex: 730,
        };
        assert_eq!(c.to_string(), "eth0:731:veth9MT2L4:730");
    }
}
