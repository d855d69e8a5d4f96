//! THE namespace decision of a start: which namespaces the container gets
//! new, which it joins, and which it keeps from the monitor. Computed once,
//! into the plan, before anything is created; clone, the child's set-up
//! (network, hostname, time, cgroup), the mount layer, the stop hook and
//! the monitor's answers to lxc-attach all read it from there.
//!
//! LXC 5's rules, for a container that has a configuration:
//! - default: new mnt, pid, uts, ipc, net and cgroup namespaces; net is
//!   kept from the host when every configured NIC is `lxc.net.N.type =
//!   none`; user only with `lxc.idmap`; time only with `lxc.time.offset.*`;
//! - `lxc.namespace.clone = LIST`: exactly LIST;
//! - `lxc.namespace.keep = LIST`: the defaults above except LIST (LXC
//!   5.0.2 clones *every* namespace not listed, a user namespace without
//!   an idmap included, which fails at autodev with EOVERFLOW; lxcbox
//!   keeps its user namespace only with an idmap — see docs/config.md);
//! - `lxc.namespace.share.NS` / `--share-NS`: joined, never created.
//!
//! A volatile container (lxc-execute or lxc-start without any config)
//! keeps the seed's isolation: new pid, ipc and mnt namespaces only.

use std::os::fd::OwnedFd;

use anyhow::{bail, Context, Result};

use crate::config::{Config, NetType};
use crate::namespace::{Namespace, NsSet};

/// The namespace part of the launch plan.
#[derive(Debug, Clone, PartialEq)]
pub struct NsPlan {
    /// Namespaces the container gets new.
    pub new: NsSet,
    /// Namespaces joined instead: (namespace, container name, pid or path).
    pub shared: Vec<(Namespace, String)>,
    /// CLOCK_BOOTTIME and CLOCK_MONOTONIC offsets of a new time namespace.
    pub time: Option<TimeOffsets>,
}

/// `lxc.time.offset.boot` / `.monotonic` as (seconds, nanoseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    pub boot: (i64, i64),
    pub monotonic: (i64, i64),
}

/// Created by the child itself after the clone rather than by clone3: the
/// cgroup namespace must be rooted at the cgroup the monitor moves it into,
/// and a time namespace takes its offsets only before its first process
/// enters it (so the child unshares, writes them, then joins).
const LATE: NsSet = NsSet::EMPTY.with(Namespace::Cgroup).with(Namespace::Time);

impl NsPlan {
    /// The new namespaces clone3 creates.
    pub fn at_clone(&self) -> NsSet {
        self.new.minus(LATE)
    }

    /// The new namespaces the child unshares after the go.
    pub fn in_child(&self) -> NsSet {
        self.new.intersect(LATE)
    }

    /// True when the container gets its own `ns`.
    pub fn owns(&self, ns: Namespace) -> bool {
        self.new.contains(ns)
    }

    /// Every namespace the container does not share with the monitor: new
    /// or joined (what lxc-attach enters by default).
    pub fn entered(&self) -> NsSet {
        self.shared.iter().fold(self.new, |s, (n, _)| s.with(*n))
    }

    /// True when `ns` is joined from another container or process.
    pub fn is_shared(&self, ns: Namespace) -> bool {
        self.shared.iter().any(|(n, _)| *n == ns)
    }
}

/// LXC 5's default set for a container with a config.
fn defaults(cfg: &Config) -> NsSet {
    let mut s = NsSet::of(&[
        Namespace::Mnt,
        Namespace::Pid,
        Namespace::Uts,
        Namespace::Ipc,
        Namespace::Net,
        Namespace::Cgroup,
    ]);
    if requests_host_network(cfg) {
        s.remove(Namespace::Net);
    }
    if !cfg.idmap.is_empty() {
        s.insert(Namespace::User);
    }
    if cfg.time_offset_boot.is_some() || cfg.time_offset_monotonic.is_some() {
        s.insert(Namespace::Time);
    }
    s
}

/// LXC's lxc_requests_empty_network: NICs are configured and all of them
/// are `none`.
fn requests_host_network(cfg: &Config) -> bool {
    let typed: Vec<NetType> = cfg
        .net
        .iter()
        .map(|n| n.kind)
        .filter(|k| *k != NetType::Unset)
        .collect();
    !typed.is_empty() && typed.iter().all(|k| *k == NetType::None)
}

/// Decide. `has_config`: a config file was loaded or keys were defined;
/// `cli`: `--share-NS` of lxc-start / lxc-execute (they win over the
/// config's `lxc.namespace.share.NS`).
pub fn decide(cfg: &Config, has_config: bool, cli: &[(Namespace, String)]) -> Result<NsPlan> {
    let mut new = if !has_config {
        NsSet::of(&[Namespace::Pid, Namespace::Ipc, Namespace::Mnt])
    } else if !cfg.namespace_clone.is_empty() {
        cfg.namespace_clone
    } else {
        defaults(cfg).minus(cfg.namespace_keep)
    };
    let mut shared: Vec<(Namespace, String)> = cfg
        .namespace_share
        .iter()
        .filter(|(n, _)| !cli.iter().any(|(c, _)| c == *n))
        .map(|(n, t)| (*n, t.clone()))
        .collect();
    shared.extend(cli.iter().cloned());
    shared.sort_by_key(|(n, _)| *n);
    for (n, _) in &shared {
        new.remove(*n);
    }

    let wants_time = cfg.time_offset_boot.is_some() || cfg.time_offset_monotonic.is_some();
    let time = if wants_time {
        if cfg.namespace_keep.contains(Namespace::Time) {
            bail!("lxc.time.offset.* needs a new time namespace, but lxc.namespace.keep has time");
        }
        if !new.contains(Namespace::Time) {
            bail!("lxc.time.offset.* needs a new time namespace (not in lxc.namespace.clone, or shared)");
        }
        Some(TimeOffsets {
            boot: offset(cfg.time_offset_boot.as_deref(), "lxc.time.offset.boot")?,
            monotonic: offset(
                cfg.time_offset_monotonic.as_deref(),
                "lxc.time.offset.monotonic",
            )?,
        })
    } else {
        None
    };
    if new.contains(Namespace::User) && cfg.idmap.is_empty() {
        bail!("a new user namespace needs lxc.idmap (lxc.namespace.clone has user)");
    }
    if !new.contains(Namespace::User) && !cfg.idmap.is_empty() {
        bail!("lxc.idmap needs a new user namespace (the user namespace is kept or shared)");
    }
    if !new.contains(Namespace::Mnt) && cfg.rootfs.path.as_deref().is_some_and(|p| !p.is_empty()) {
        bail!("a rootfs needs a new mount namespace (the mount namespace is kept or shared)");
    }
    if !new.contains(Namespace::Uts) && cfg.uts_name.is_some() {
        // LXC sets it anyway when uts is kept, renaming the host.
        bail!("lxc.uts.name needs a new UTS namespace (the UTS namespace is kept or shared)");
    }
    if !new.contains(Namespace::Net) && cfg.wants_netns() {
        bail!("lxc.net.*: network devices need a new network namespace (the network namespace is kept or shared)");
    }
    Ok(NsPlan { new, shared, time })
}

/// An offset `N{h,m,s,ms,us,ns}` as (seconds, nanoseconds), as LXC
/// splits it between the two fields of /proc/PID/timens_offsets.
fn offset(v: Option<&str>, key: &str) -> Result<(i64, i64)> {
    let Some(v) = v else { return Ok((0, 0)) };
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: i64 = num
        .parse()
        .with_context(|| format!("{key}: bad offset \"{v}\""))?;
    let mul = |m: i64| {
        n.checked_mul(m)
            .with_context(|| format!("{key}: offset \"{v}\" out of range"))
    };
    Ok(match unit {
        "h" => (mul(3600)?, 0),
        "m" => (mul(60)?, 0),
        "s" => (n, 0),
        "ms" => (n.div_euclid(1_000), n.rem_euclid(1_000) * 1_000_000),
        "us" => (n.div_euclid(1_000_000), n.rem_euclid(1_000_000) * 1_000),
        "ns" => (n.div_euclid(1_000_000_000), n.rem_euclid(1_000_000_000)),
        _ => bail!("{key}: bad unit in \"{v}\" (h, m, s, ms, us or ns)"),
    })
}

/// A namespace joined at start, opened while we still see the host.
pub struct SharedNs {
    pub ns: Namespace,
    pub fd: OwnedFd,
}

/// Open the namespaces to join: TARGET is a /proc path, a pid, or the name
/// of a running container in `lxcpath` (LXC's lxc_inherit_namespace).
pub fn open_shared(plan: &NsPlan, lxcpath: &str) -> Result<Vec<SharedNs>> {
    let mut out = Vec::new();
    for (ns, target) in &plan.shared {
        let step = || format!("sharing the {ns} namespace of \"{target}\"");
        let path = if target.starts_with('/') {
            target.clone()
        } else if let Ok(pid) = target.parse::<i32>() {
            ns.proc_path(pid)
        } else {
            let pid = crate::monitor::client::init_pid(lxcpath, target)
                .with_context(step)?
                .with_context(|| format!("{}: the container is not running", step()))?;
            ns.proc_path(pid)
        };
        let fd = rustix::fs::open(
            path.as_str(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .with_context(|| format!("{}: opening {path}", step()))?;
        out.push(SharedNs { ns: *ns, fd });
    }
    Ok(out)
}

/// Open the namespaces `set` of process `pid` (`None`: ourselves), to keep
/// them for the stop hook.
pub fn preserve(pid: Option<i32>, set: NsSet) -> Result<Vec<(Namespace, OwnedFd)>> {
    set.iter()
        .map(|ns| {
            let path = match pid {
                Some(p) => ns.proc_path(p),
                None => format!("/proc/self/ns/{}", ns.name()),
            };
            let fd = rustix::fs::open(
                path.as_str(),
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .with_context(|| format!("preserving namespace {path} for the stop hook"))?;
            Ok((ns, fd))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NetDev;

    fn set(s: &str) -> NsSet {
        NsSet::parse_config(s).unwrap()
    }

    #[test]
    fn lxc5_defaults() {
        let c = Config::default();
        let p = decide(&c, true, &[]).unwrap();
        assert_eq!(p.new, set("mnt pid uts ipc net cgroup"));
        assert_eq!(p.at_clone(), set("mnt pid uts ipc net"));
        assert_eq!(p.in_child(), set("cgroup"));
        // A volatile container: the seed's isolation only.
        assert_eq!(decide(&c, false, &[]).unwrap().new, set("pid ipc mnt"));
    }

    #[test]
    fn net_none_shares_the_host_network_only_alone() {
        let mut c = Config::default();
        c.net.push(NetDev {
            kind: NetType::None,
            ..Default::default()
        });
        assert!(!decide(&c, true, &[]).unwrap().owns(Namespace::Net));
        c.net.push(NetDev {
            index: 1,
            kind: NetType::Empty,
            ..Default::default()
        });
        assert!(decide(&c, true, &[]).unwrap().owns(Namespace::Net));
    }

    #[test]
    fn user_and_time_follow_their_keys() {
        let mut c = Config::default();
        c.idmap.push(crate::config::IdMap {
            kind: 'u',
            ns_id: 0,
            host_id: 100000,
            range: 65536,
        });
        c.time_offset_boot = Some("1h".into());
        c.time_offset_monotonic = Some("-1500ms".into());
        let p = decide(&c, true, &[]).unwrap();
        assert!(p.owns(Namespace::User) && p.owns(Namespace::Time));
        assert_eq!(p.in_child(), set("cgroup time"));
        let t = p.time.unwrap();
        assert_eq!(t.boot, (3600, 0));
        assert_eq!(t.monotonic, (-2, 500_000_000));
        c.namespace_keep = set("time");
        assert!(decide(&c, true, &[]).is_err());
    }

    #[test]
    fn keep_clone_and_share() {
        let mut c = Config {
            namespace_keep: set("net"),
            ..Default::default()
        };
        // keep = net: no user namespace sneaks in (LXC 5.0.2 adds one).
        assert_eq!(
            decide(&c, true, &[]).unwrap().new,
            set("mnt pid uts ipc cgroup")
        );
        c.net.push(NetDev {
            kind: NetType::Veth,
            ..Default::default()
        });
        assert!(decide(&c, true, &[]).is_err(), "NICs with the host's net");
        let c = Config {
            namespace_clone: set("pid mnt"),
            ..Default::default()
        };
        assert_eq!(decide(&c, true, &[]).unwrap().new, set("pid mnt"));
        let mut c = Config::default();
        c.namespace_share.insert(Namespace::Uts, "other".into());
        let p = decide(&c, true, &[(Namespace::Net, "42".into())]).unwrap();
        assert!(!p.owns(Namespace::Uts) && !p.owns(Namespace::Net));
        assert!(p.is_shared(Namespace::Uts) && p.is_shared(Namespace::Net));
        assert_eq!(p.entered(), set("mnt pid uts ipc net cgroup"));
        let c = Config {
            uts_name: Some("x".into()),
            namespace_keep: set("uts"),
            ..Default::default()
        };
        assert!(decide(&c, true, &[]).is_err(), "would rename the host");
        let c = Config {
            namespace_clone: set("pid user"),
            ..Default::default()
        };
        assert!(decide(&c, true, &[]).is_err(), "user without idmap");
    }

    #[test]
    fn offsets() {
        assert_eq!(offset(Some("10s"), "k").unwrap(), (10, 0));
        assert_eq!(offset(Some("-1m"), "k").unwrap(), (-60, 0));
        assert_eq!(offset(Some("1500us"), "k").unwrap(), (0, 1_500_000));
        assert_eq!(offset(Some("7ns"), "k").unwrap(), (0, 7));
        assert!(offset(Some("1d"), "k").is_err());
        assert_eq!(offset(None, "k").unwrap(), (0, 0));
    }
}
