//! lxc-info: gather what the monitor (or the config file) knows about one
//! container, and print it in LXC's `%-15s %s` layout.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::size::humanize;
use crate::container::Container;
use crate::monitor::client;
use crate::monitor::State;

/// What was asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct InfoRequest {
    pub state: bool,
    pub pid: bool,
    pub ips: bool,
    pub stats: bool,
    /// false with -H: raw numbers, and a lone field printed bare.
    pub humanize: bool,
    /// -c KEY, in order.
    pub keys: Vec<String>,
}

impl InfoRequest {
    /// No selector at all: LXC prints everything, headed by `Name:`.
    pub fn is_all(&self) -> bool {
        !self.state && !self.pid && !self.ips && !self.stats && self.keys.is_empty()
    }

    /// LXC's filter_count: how many selectors were given.
    fn filter_count(&self) -> usize {
        [self.state, self.pid, self.ips, self.stats]
            .iter()
            .filter(|b| **b)
            .count()
            + self.keys.len()
    }
}

/// Cgroup usage counters (filled by the cgroup subsystem; any may be absent,
/// e.g. no blkio controller, or a v2-only host without kmem accounting).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// cpuacct.usage, nanoseconds.
    pub cpu_ns: Option<u64>,
    /// The "Total" line of blkio.throttle.io_service_bytes.
    pub blkio_bytes: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub kmem_bytes: Option<u64>,
}

/// The cgroup counters of a running container, as lxc-info shows them
/// (only those the host's controllers provide).
fn cgroup_stats(lxcpath: &str, name: &str) -> Option<Stats> {
    let set = crate::lifecycle::cgroups(lxcpath, name).ok().flatten()?;
    stats_of(&set)
}

fn stats_of(set: &crate::cgroup::CgroupSet) -> Option<Stats> {
    let st = set.stats().ok()?;
    Some(Stats {
        cpu_ns: st.has_cpu.then_some(st.cpu_ns),
        blkio_bytes: st.has_blkio.then_some(st.blkio_total),
        memory_bytes: st.has_mem.then_some(st.mem_used),
        kmem_bytes: st.has_kmem.then_some(st.kmem_used),
    })
}

/// One host-side network interface with byte counters seen from the
/// container (host rx = container tx, as LXC prints them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkStats {
    pub link: String,
    pub tx_bytes: Option<u64>,
    pub rx_bytes: Option<u64>,
}

impl LinkStats {
    /// Read /sys/class/net/IFNAME/statistics; missing counters stay `None`.
    pub fn read(ifname: &str) -> LinkStats {
        let read = |f: &str| -> Option<u64> {
            if ifname.contains('/') || ifname.starts_with('.') {
                return None;
            }
            std::fs::read_to_string(format!("/sys/class/net/{ifname}/statistics/{f}"))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        LinkStats {
            link: ifname.to_string(),
            tx_bytes: read("rx_bytes"),
            rx_bytes: read("tx_bytes"),
        }
    }
}

/// Everything lxc-info can print about one container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    pub name: String,
    pub state: State,
    pub pid: Option<i32>,
    /// Addresses inside the container (from the network subsystem).
    pub ips: Vec<String>,
    /// `None` when no counters are available (stopped, or no cgroup support).
    pub stats: Option<Stats>,
    pub links: Vec<LinkStats>,
    /// -c keys with their values; `None`: the key is invalid.
    pub config: Vec<(String, Option<String>)>,
}

/// Ask the container's monitor (running) or read its config (stopped).
/// `Ok(None)`: the container neither runs nor is defined.
pub fn gather(
    lxcpath: &str,
    name: &str,
    rcfile: Option<&Path>,
    req: &InfoRequest,
) -> Result<Option<Info>> {
    let resp = client::info(lxcpath, name)?;
    let defined = rcfile.is_some() || Container::is_defined(lxcpath, name);
    let Some(resp) = resp else {
        if let Some(run) = crate::coexist::running(lxcpath, name) {
            return Ok(Some(gather_lxc(lxcpath, name, run, req)));
        }
        if !defined {
            return Ok(None);
        }
        let config = if req.keys.is_empty() {
            Vec::new()
        } else {
            let c = Container::load(lxcpath, name, rcfile)?;
            req.keys
                .iter()
                .map(|k| (k.clone(), c.config.get_item(k).ok()))
                .collect()
        };
        return Ok(Some(Info {
            name: name.to_string(),
            state: State::Stopped,
            pid: None,
            ips: Vec::new(),
            stats: None,
            links: Vec::new(),
            config,
        }));
    };
    let mut config = Vec::with_capacity(req.keys.len());
    for k in &req.keys {
        let v = client::config_item(lxcpath, name, k).ok().flatten();
        config.push((k.clone(), v));
    }
    // Addresses are read live from the container's namespace (what is
    // configured there now, as LXC's get_ips), only when they will be shown.
    let ips = if req.is_all() || req.ips {
        live_ips(resp.pid)
    } else {
        Vec::new()
    };
    let stats = if req.is_all() || req.stats {
        cgroup_stats(lxcpath, name)
    } else {
        None
    };
    let links = if req.is_all() || req.stats {
        net_links(lxcpath, name, &resp.interfaces)
    } else {
        Vec::new()
    };
    Ok(Some(Info {
        name: name.to_string(),
        state: resp.state,
        pid: Some(resp.pid),
        ips,
        stats,
        links,
        config,
    }))
}

/// A container a real LXC runs, described from its monitor's answers (LXC's
/// command protocol) and from its init: addresses from its namespace,
/// counters from its cgroups, the host ends of its veths.
fn gather_lxc(lxcpath: &str, name: &str, run: crate::coexist::LxcRun, req: &InfoRequest) -> Info {
    // The running config's value; a key LXC's monitor has no value for
    // (unset, or unknown) is looked up in the config on disk, which tells
    // the two apart ("KEY =" and "KEY invalid", as LXC's lxc-info prints).
    let on_disk = Container::load(lxcpath, name, None).ok();
    let config = req
        .keys
        .iter()
        .map(|k| {
            let v = crate::coexist::cmd::get_config_item(lxcpath, name, k)
                .ok()
                .flatten()
                .or_else(|| on_disk.as_ref().and_then(|c| c.config.get_item(k).ok()));
            (k.clone(), v)
        })
        .collect();
    let (ips, stats, links) = match run.pid {
        Some(pid) => {
            let ips = if req.is_all() || req.ips {
                live_ips(pid)
            } else {
                Vec::new()
            };
            let (stats, links) = if req.is_all() || req.stats {
                let stats = crate::cgroup::Layout::discover()
                    .ok()
                    .and_then(|l| crate::cgroup::CgroupSet::from_pid(&l, pid).ok())
                    .and_then(|set| stats_of(&set));
                let links = crate::net::host_veths_of_pid(pid)
                    .unwrap_or_default()
                    .iter()
                    .map(|i| LinkStats::read(i))
                    .collect();
                (stats, links)
            } else {
                (None, Vec::new())
            };
            (ips, stats, links)
        }
        None => (Vec::new(), None, Vec::new()),
    };
    Info {
        name: name.to_string(),
        state: run.state,
        pid: run.pid,
        ips,
        stats,
        links,
        config,
    }
}

/// The host interfaces whose counters lxc-info shows, as LXC's
/// print_net_stats picks them from the running config: for each
/// lxc.net.N in order, a veth's host end (`host_veths`, the monitor's list
/// of them in device order), any other type's lxc.net.N.link (a macvlan's
/// lower device, ...); it stops at the first device without one.
fn net_links(lxcpath: &str, name: &str, host_veths: &[String]) -> Vec<LinkStats> {
    let item = |key: String| {
        client::config_item(lxcpath, name, &key)
            .ok()
            .flatten()
            .filter(|v| !v.is_empty())
    };
    let mut veths = host_veths.iter();
    let mut out = Vec::new();
    for n in 0.. {
        let Some(kind) = item(format!("lxc.net.{n}.type")) else {
            break;
        };
        let ifname = if kind == "veth" {
            veths.next().cloned()
        } else {
            item(format!("lxc.net.{n}.link"))
        };
        let Some(ifname) = ifname else { break };
        out.push(LinkStats::read(&ifname));
    }
    out
}

/// The container's addresses as text, IPv4 first. A container sharing the
/// host's namespace has none of its own (LXC prints no IP then either); a
/// namespace that cannot be entered (init just died) shows nothing.
pub fn live_ips(pid: i32) -> Vec<String> {
    if crate::net::same_netns(pid).unwrap_or(true) {
        return Vec::new();
    }
    let mut a = match crate::net::addresses_of_pid(pid) {
        Ok(a) => a,
        Err(e) => {
            log::debug!("{e:#}");
            return Vec::new();
        }
    };
    a.sort_by_key(|(_, ip)| ip.is_ipv6());
    let mut out: Vec<String> = a.into_iter().map(|(_, ip)| ip.to_string()).collect();
    // An interface without IPv4 whose MAC holds an lxc-net lease: show it.
    let leased = crate::net::unaddressed_macs(pid)
        .unwrap_or_default()
        .iter()
        .filter_map(crate::lxcnet::leased_address)
        .map(|a| a.to_string())
        .filter(|a| !out.contains(a))
        .collect::<Vec<_>>();
    let v4 = out.iter().take_while(|a| !a.contains(':')).count();
    out.splice(v4..v4, leased);
    out
}

/// Render `info` as LXC prints it: (stdout text, stderr text).
pub fn render(info: &Info, req: &InfoRequest) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    let all = req.is_all();
    let bare = !req.humanize && req.filter_count() == 1;
    let field = |out: &mut String, key: &str, val: &str| {
        if bare {
            let _ = writeln!(out, "{val}");
        } else {
            let _ = writeln!(out, "{key:<15} {val}");
        }
    };
    if all {
        field(&mut out, "Name:", &info.name);
    }
    if all || req.state {
        field(&mut out, "State:", info.state.as_str());
    }
    if info.state != State::Stopped {
        if all || req.pid {
            if let Some(p) = info.pid {
                field(&mut out, "PID:", &p.to_string());
            }
        }
        if all || req.ips {
            for ip in &info.ips {
                field(&mut out, "IP:", ip);
            }
        }
    }
    if all || req.stats {
        if let Some(s) = &info.stats {
            stats_lines(&mut out, s, req.humanize);
        }
        link_lines(&mut out, &info.links, req.humanize);
    }
    for (k, v) in &info.config {
        match v {
            Some(v) if !req.humanize && req.keys.len() == 1 => {
                let _ = writeln!(out, "{v}");
            }
            Some(v) if v.is_empty() => {
                let _ = writeln!(out, "{k} =");
            }
            Some(v) => {
                let _ = writeln!(out, "{k} = {v}");
            }
            None => {
                let _ = writeln!(err, "{k} invalid");
            }
        }
    }
    (out, err)
}

fn size(v: u64, humanized: bool) -> String {
    if humanized {
        humanize(v)
    } else {
        v.to_string()
    }
}

/// The cgroup counter lines, in LXC's order; absent counters are skipped.
pub fn stats_lines(out: &mut String, s: &Stats, humanized: bool) {
    if let Some(ns) = s.cpu_ns {
        if humanized {
            let _ = writeln!(out, "{:<15} {:.2} seconds", "CPU use:", ns as f64 / 1e9);
        } else {
            let _ = writeln!(out, "{:<15} {ns}", "CPU use:");
        }
    }
    for (label, v) in [
        ("BlkIO use:", s.blkio_bytes),
        ("Memory use:", s.memory_bytes),
        ("KMem use:", s.kmem_bytes),
    ] {
        if let Some(v) = v {
            let _ = writeln!(out, "{label:<15} {}", size(v, humanized));
        }
    }
}

/// `Link:` and its byte counters (note LXC's leading space on the counters).
pub fn link_lines(out: &mut String, links: &[LinkStats], humanized: bool) {
    for l in links {
        let _ = writeln!(out, "{:<15} {}", "Link:", l.link);
        if let Some(tx) = l.tx_bytes {
            let _ = writeln!(out, "{:<15} {}", " TX bytes:", size(tx, humanized));
        }
        if let Some(rx) = l.rx_bytes {
            let _ = writeln!(out, "{:<15} {}", " RX bytes:", size(rx, humanized));
        }
        let total = l.tx_bytes.unwrap_or(0) + l.rx_bytes.unwrap_or(0);
        let _ = writeln!(out, "{:<15} {}", " Total bytes:", size(total, humanized));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped() -> Info {
        Info {
            name: "c1".into(),
            state: State::Stopped,
            pid: None,
            ips: vec![],
            stats: None,
            links: vec![],
            config: vec![],
        }
    }

    fn req() -> InfoRequest {
        InfoRequest {
            humanize: true,
            ..Default::default()
        }
    }

    #[test]
    fn stopped_default_layout() {
        let (o, e) = render(&stopped(), &req());
        assert_eq!(o, "Name:           c1\nState:          STOPPED\n");
        assert!(e.is_empty());
    }

    #[test]
    fn bare_with_h_and_one_filter() {
        let r = InfoRequest {
            state: true,
            ..Default::default()
        };
        assert_eq!(render(&stopped(), &r).0, "STOPPED\n");
        let r = InfoRequest {
            state: true,
            pid: true,
            ..Default::default()
        };
        assert_eq!(render(&stopped(), &r).0, "State:          STOPPED\n");
    }

    #[test]
    fn config_keys() {
        let mut i = stopped();
        i.config = vec![
            ("lxc.uts.name".into(), Some("c1".into())),
            ("lxc.nope".into(), None),
            ("lxc.empty".into(), Some(String::new())),
        ];
        let mut r = req();
        r.keys = i.config.iter().map(|(k, _)| k.clone()).collect();
        let (o, e) = render(&i, &r);
        assert_eq!(o, "lxc.uts.name = c1\nlxc.empty =\n");
        assert_eq!(e, "lxc.nope invalid\n");
        i.config.truncate(1);
        r.keys.truncate(1);
        r.humanize = false;
        assert_eq!(render(&i, &r).0, "c1\n");
    }

    #[test]
    fn running_with_stats_and_links() {
        let i = Info {
            state: State::Running,
            pid: Some(1234),
            ips: vec!["10.0.3.5".into()],
            stats: Some(Stats {
                cpu_ns: Some(30_000_000),
                blkio_bytes: None,
                memory_bytes: Some(1_289_748),
                kmem_bytes: None,
            }),
            links: vec![LinkStats {
                link: "vethAB".into(),
                tx_bytes: Some(1229),
                rx_bytes: Some(100),
            }],
            ..stopped()
        };
        let (o, _) = render(&i, &req());
        assert_eq!(
            o,
            "Name:           c1\nState:          RUNNING\nPID:            1234\n\
             IP:             10.0.3.5\nCPU use:        0.03 seconds\n\
             Memory use:     1.23 MiB\nLink:           vethAB\n \
             TX bytes:      1.20 KiB\n RX bytes:      100 bytes\n \
             Total bytes:   1.30 KiB\n"
        );
        let r = InfoRequest {
            pid: true,
            ..Default::default()
        };
        assert_eq!(render(&i, &r).0, "1234\n");
    }
}
