//! The DHCP server process of one lxc-net bridge: `lxc-net start` forks it
//! (its own session, stdio on /dev/null, title `[lxc-net] BRIDGE dhcp`),
//! it serves port 67 on the bridge until SIGTERM, and keeps the leases
//! file. One thread, one socket, one poll; the lease table is bounded by
//! LXC_DHCP_MAX, and a datagram that does not parse is counted and dropped.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use rustix::net::{
    bind, recvfrom, sendto, socket_with, sockopt, AddressFamily, RecvFlags, SendFlags,
    SocketAddrAny, SocketFlags, SocketType,
};

use crate::dhcp::packet::Packet;
use crate::dhcp::{leases, Dest, Pool, Settings};

const SERVER_PORT: u16 = 67;
const CLIENT_PORT: u16 = 68;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The process title the server runs under (status checks it).
pub fn title(bridge: &str) -> String {
    format!("[lxc-net] {bridge} dhcp")
}

/// The UDP socket on port 67 of `bridge`.
pub fn open_socket(bridge: &str) -> Result<OwnedFd> {
    let fd = socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .context("creating the DHCP socket")?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_broadcast(&fd, true)?;
    crate::sys::net::bind_to_device(fd.as_fd(), bridge)
        .with_context(|| format!("binding the DHCP socket to {bridge}"))?;
    bind(&fd, &SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SERVER_PORT)).map_err(|e| {
        anyhow::anyhow!(
            "binding UDP port {SERVER_PORT} on {bridge}: {e} (is another DHCP server running on all interfaces?)"
        )
    })?;
    Ok(fd)
}

/// Upstream name servers of the host that a container can reach through
/// NAT (loopback ones, such as systemd-resolved's 127.0.0.53, cannot).
pub fn host_nameservers() -> Vec<Ipv4Addr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<Ipv4Addr>().ok())
        .filter(|a| !a.is_loopback() && !a.is_unspecified())
        .take(3)
        .collect()
}

/// What the server needs, decided by `lxc-net start`.
pub struct ServerConf {
    pub settings: Settings,
    pub leasefile: PathBuf,
}

/// Serves until SIGTERM/SIGINT. `ready` is called once the socket is bound
/// and the leases are loaded.
pub fn serve(c: ServerConf, sock: OwnedFd, ready: impl FnOnce()) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    let now = now();
    let mut known = leases::load(&c.leasefile);
    known.retain(|l| l.expiry == 0 || l.expiry > now);
    let mut pool = Pool::new(c.settings, known);
    leases::save(&c.leasefile, &pool.leases)?;
    ready();
    let mut buf = vec![0u8; 1500];
    let mut bad = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [rustix::event::PollFd::new(
            &sock,
            rustix::event::PollFlags::IN,
        )];
        let timeout = rustix::time::Timespec {
            tv_sec: 5,
            tv_nsec: 0,
        };
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e).context("poll"),
        }
        let t = self::now();
        let mut changed = pool.expire(t);
        loop {
            let (n, _) = match recvfrom(&sock, &mut buf[..], RecvFlags::DONTWAIT) {
                Ok((n, _, from)) => (n, from),
                Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => break,
                Err(e) => return Err(e).context("receiving on the DHCP socket"),
            };
            let req = match Packet::parse(&buf[..n]) {
                Ok(p) => p,
                Err(e) => {
                    bad += 1;
                    log::debug!("dropped a malformed datagram ({e}); {bad} so far");
                    continue;
                }
            };
            let (reply, ch) = pool.handle(&req, t);
            changed |= ch;
            if let Some((p, dest)) = reply {
                send(&sock, &p, dest);
            }
        }
        if changed {
            if let Err(e) = leases::save(&c.leasefile, &pool.leases) {
                log::error!("{e:#}");
            }
        }
    }
    // Every change was saved when it happened: nothing to flush here.
    Ok(())
}

fn send(sock: &OwnedFd, p: &Packet, dest: Dest) {
    let to = match dest {
        Dest::Broadcast => SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT),
        Dest::Unicast(a) => SocketAddrV4::new(a, CLIENT_PORT),
        Dest::Relay(g) => SocketAddrV4::new(g, SERVER_PORT),
    };
    if let Err(e) = sendto(
        sock,
        &p.encode(),
        SendFlags::DONTWAIT,
        &SocketAddrAny::from(to),
    ) {
        log::warn!("sending a DHCP reply to {to}: {e}");
    }
}

/// (state, start time in clock ticks) of `pid` from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

/// True when `pid` runs and is the process that started at `start`.
pub fn alive(pid: i32, start: u64) -> bool {
    matches!(proc_stat(pid), Some((st, t)) if st != 'Z' && t == start)
}

/// Waits up to `d` for `pid` to be gone (it is not our child: no waitpid;
/// a zombie counts as gone).
pub fn wait_gone(pid: i32, start: u64, d: Duration) -> bool {
    let end = std::time::Instant::now() + d;
    while alive(pid, start) {
        if std::time::Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}
