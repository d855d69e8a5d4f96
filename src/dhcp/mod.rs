//! The DHCPv4 server's logic, kept apart from sockets so it can be tested
//! and fuzzed: the address pool with its leases, static leases, the bound
//! on their number (LXC_DHCP_MAX), and the reply to each message.
//! See docs/lxc-net.md.

pub mod confile;
pub mod leases;
pub mod packet;

use std::net::Ipv4Addr;

use packet::{MessageType, Packet};

/// How long an offer holds its address while the client decides.
const OFFER_HOLD: u64 = 60;
/// How long a declined address (in use by someone else) is avoided.
const DECLINE_HOLD: u64 = 600;
/// dnsmasq's default lease time, which LXC's lxc-net does not change.
pub const DEFAULT_LEASE: u32 = 3600;

/// A fixed address for a MAC or a client host name (dnsmasq's dhcp-host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticLease {
    pub mac: Option<[u8; 6]>,
    pub name: Option<String>,
    pub addr: Ipv4Addr,
    /// Lease time in seconds, 0 for infinite; None: the default.
    pub lease: Option<u32>,
    /// file:line, for messages.
    pub at: String,
}

/// One lease (or a pending offer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub mac: [u8; 6],
    pub addr: Ipv4Addr,
    /// Unix time it ends; 0: never.
    pub expiry: u64,
    pub hostname: Option<String>,
    pub client_id: Option<Vec<u8>>,
    /// False while only offered.
    pub bound: bool,
}

impl Lease {
    fn live(&self, now: u64) -> bool {
        self.expiry == 0 || self.expiry > now
    }
}

/// What the network looks like to the server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: Ipv4Addr,
    pub prefix: u8,
    pub range: (Ipv4Addr, Ipv4Addr),
    pub max: u32,
    pub lease_time: u32,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    pub statics: Vec<StaticLease>,
}

/// Where a reply goes (RFC 2131 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// 255.255.255.255:68 on the bridge.
    Broadcast,
    /// ADDR:68 (a client that has its address).
    Unicast(Ipv4Addr),
    /// A relay agent: GIADDR:67.
    Relay(Ipv4Addr),
}

/// The address pool and its leases.
#[derive(Debug, Clone)]
pub struct Pool {
    pub set: Settings,
    pub leases: Vec<Lease>,
    /// Declined addresses and until when they are avoided.
    declined: Vec<(Ipv4Addr, u64)>,
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

fn hostname_of(p: &Packet) -> Option<String> {
    let h = p.option(packet::OPT_HOSTNAME)?;
    let s = String::from_utf8_lossy(&h)
        .trim_end_matches('\0')
        .to_string();
    // Only a plain name goes into the leases file (one line, spaces split it).
    (!s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
    .then_some(s)
}

impl Pool {
    pub fn new(set: Settings, leases: Vec<Lease>) -> Pool {
        Pool {
            set,
            leases,
            declined: Vec::new(),
        }
    }

    fn in_subnet(&self, a: Ipv4Addr) -> bool {
        let m = mask(self.set.prefix);
        u32::from(a) & m == u32::from(self.set.server) & m
    }

    fn in_range(&self, a: Ipv4Addr) -> bool {
        let (lo, hi) = (u32::from(self.set.range.0), u32::from(self.set.range.1));
        (lo..=hi).contains(&u32::from(a))
    }

    fn static_for(&self, mac: &[u8; 6], name: Option<&str>) -> Option<&StaticLease> {
        self.set
            .statics
            .iter()
            .find(|s| s.mac.as_ref() == Some(mac))
            .or_else(|| {
                let n = name?;
                self.set
                    .statics
                    .iter()
                    .find(|s| s.mac.is_none() && s.name.as_deref() == Some(n))
            })
    }

    /// True when `a` may go to `mac`: ours to give, and nobody else's.
    fn free_for(&self, a: Ipv4Addr, mac: &[u8; 6], now: u64) -> bool {
        a != self.set.server
            && self.in_subnet(a)
            && !self
                .set
                .statics
                .iter()
                .any(|s| s.addr == a && s.mac.as_ref() != Some(mac) && s.mac.is_some())
            && !self
                .leases
                .iter()
                .any(|l| l.addr == a && l.mac != *mac && l.live(now))
            && !self
                .declined
                .iter()
                .any(|(d, until)| *d == a && *until > now)
    }

    fn live_count_except(&self, mac: &[u8; 6], now: u64) -> usize {
        self.leases
            .iter()
            .filter(|l| l.mac != *mac && l.live(now))
            .count()
    }

    /// The address for `mac`: its static one, its current lease, the one it
    /// asks for, or a free one (starting from a hash of the MAC, so a client
    /// tends to get the same address again). None when the pool is full.
    fn choose(
        &self,
        mac: &[u8; 6],
        name: Option<&str>,
        want: Option<Ipv4Addr>,
        now: u64,
    ) -> Option<Ipv4Addr> {
        if let Some(s) = self.static_for(mac, name) {
            return Some(s.addr);
        }
        if let Some(l) = self.leases.iter().find(|l| l.mac == *mac && l.live(now)) {
            return Some(l.addr);
        }
        if self.live_count_except(mac, now) >= self.set.max as usize {
            return None;
        }
        if let Some(w) = want.filter(|w| self.in_range(*w) && self.free_for(*w, mac, now)) {
            return Some(w);
        }
        let (lo, hi) = (u32::from(self.set.range.0), u32::from(self.set.range.1));
        let size = (hi - lo) as u64 + 1;
        let h = mac
            .iter()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(*b as u64));
        (0..size)
            .map(|k| Ipv4Addr::from(lo + ((h + k) % size) as u32))
            .find(|a| self.free_for(*a, mac, now))
    }

    fn lease_time_for(&self, mac: &[u8; 6], name: Option<&str>) -> u32 {
        self.static_for(mac, name)
            .and_then(|s| s.lease)
            .unwrap_or(self.set.lease_time)
    }

    fn record(&mut self, p: &Packet, mac: [u8; 6], addr: Ipv4Addr, bound: bool, now: u64) {
        // A REQUEST without a host name keeps the one of the DISCOVER.
        let name = hostname_of(p).or_else(|| {
            self.leases
                .iter()
                .find(|l| l.mac == mac)
                .and_then(|l| l.hostname.clone())
        });
        let t = self.lease_time_for(&mac, name.as_deref());
        let expiry = if !bound {
            now + OFFER_HOLD
        } else if t == 0 {
            0
        } else {
            now + t as u64
        };
        // This client's earlier lease or offer goes; so does an expired
        // lease of someone else on the same address.
        self.leases
            .retain(|l| l.mac != mac && (l.addr != addr || l.live(now)));
        self.leases.push(Lease {
            mac,
            addr,
            expiry,
            hostname: name,
            client_id: p.option(packet::OPT_CLIENT_ID),
            bound,
        });
    }

    /// Forgets expired leases and offers; true when something went.
    pub fn expire(&mut self, now: u64) -> bool {
        let n = self.leases.len();
        self.leases.retain(|l| l.live(now));
        self.declined.retain(|(_, until)| *until > now);
        n != self.leases.len()
    }

    fn reply(&self, req: &Packet, ty: MessageType, yiaddr: Ipv4Addr, lease: Option<u32>) -> Packet {
        let mut p = Packet {
            op: packet::BOOTREPLY,
            htype: req.htype,
            hlen: req.hlen,
            hops: 0,
            xid: req.xid,
            secs: 0,
            flags: req.flags,
            ciaddr: if ty == MessageType::Nak {
                Ipv4Addr::UNSPECIFIED
            } else {
                req.ciaddr
            },
            yiaddr,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: req.giaddr,
            chaddr: req.chaddr,
            options: Vec::new(),
        };
        p.push(packet::OPT_MESSAGE_TYPE, &[ty as u8]);
        p.push(packet::OPT_SERVER_ID, &self.set.server.octets());
        if ty == MessageType::Nak {
            return p;
        }
        if let Some(t) = lease {
            let t = if t == 0 { u32::MAX } else { t };
            p.push(packet::OPT_LEASE_TIME, &t.to_be_bytes());
            if t != u32::MAX {
                p.push(packet::OPT_RENEWAL, &(t / 2).to_be_bytes());
                p.push(packet::OPT_REBINDING, &(t / 8 * 7).to_be_bytes());
            }
        }
        let m = mask(self.set.prefix);
        p.push(packet::OPT_SUBNET_MASK, &m.to_be_bytes());
        let bcast = u32::from(self.set.server) | !m;
        p.push(packet::OPT_BROADCAST, &bcast.to_be_bytes());
        p.push(packet::OPT_ROUTER, &self.set.server.octets());
        if !self.set.dns.is_empty() {
            let d: Vec<u8> = self.set.dns.iter().flat_map(|a| a.octets()).collect();
            p.push(packet::OPT_DNS, &d);
        }
        if let Some(d) = &self.set.domain {
            p.push(packet::OPT_DOMAIN, d.as_bytes());
        }
        p
    }

    fn dest(req: &Packet, ty: MessageType) -> Dest {
        if !req.giaddr.is_unspecified() {
            Dest::Relay(req.giaddr)
        } else if ty != MessageType::Nak && !req.ciaddr.is_unspecified() {
            Dest::Unicast(req.ciaddr)
        } else {
            // No address yet: without an ARP entry for yiaddr a unicast
            // cannot reach it, and RFC 2131 allows the broadcast.
            Dest::Broadcast
        }
    }

    /// Handles one client message; returns the reply and where it goes,
    /// and whether the lease table changed. Messages that are not client
    /// requests, or that another server should answer, get no reply.
    pub fn handle(&mut self, req: &Packet, now: u64) -> (Option<(Packet, Dest)>, bool) {
        let (Some(ty), Some(mac)) = (req.message_type(), req.mac()) else {
            return (None, false);
        };
        if req.op != packet::BOOTREQUEST {
            return (None, false);
        }
        let name = hostname_of(req);
        let server_id = req.option_ip(packet::OPT_SERVER_ID);
        let requested = req.option_ip(packet::OPT_REQUESTED_IP);
        let answer = |pool: &Pool, t: MessageType, a: Ipv4Addr, l: Option<u32>| {
            Some((pool.reply(req, t, a, l), Pool::dest(req, t)))
        };
        match ty {
            MessageType::Discover => match self.choose(&mac, name.as_deref(), requested, now) {
                Some(a) => {
                    let t = self.lease_time_for(&mac, name.as_deref());
                    let bound = self
                        .leases
                        .iter()
                        .any(|l| l.mac == mac && l.bound && l.live(now));
                    if !bound {
                        self.record(req, mac, a, false, now);
                    }
                    (answer(self, MessageType::Offer, a, Some(t)), !bound)
                }
                None => {
                    log::warn!(
                        "no address left for {} (LXC_DHCP_MAX or the range is full)",
                        leases::mac_str(&mac)
                    );
                    (None, false)
                }
            },
            MessageType::Request => {
                if server_id.is_some_and(|s| s != self.set.server) {
                    // The client took another server's offer: drop ours.
                    let n = self.leases.len();
                    self.leases.retain(|l| l.mac != mac || l.bound);
                    return (None, n != self.leases.len());
                }
                let Some(want) = requested.or((!req.ciaddr.is_unspecified()).then_some(req.ciaddr))
                else {
                    return (
                        answer(self, MessageType::Nak, Ipv4Addr::UNSPECIFIED, None),
                        false,
                    );
                };
                let ok = match self.choose(&mac, name.as_deref(), Some(want), now) {
                    Some(a) => a == want,
                    None => false,
                };
                if !ok {
                    // Authoritative for the bridge (as LXC runs dnsmasq
                    // with --dhcp-authoritative): a wrong or taken address,
                    // or a full pool, gets a NAK so the client starts over.
                    return (
                        answer(self, MessageType::Nak, Ipv4Addr::UNSPECIFIED, None),
                        false,
                    );
                }
                self.record(req, mac, want, true, now);
                let t = self.lease_time_for(&mac, name.as_deref());
                (answer(self, MessageType::Ack, want, Some(t)), true)
            }
            MessageType::Decline => {
                if let Some(a) = requested {
                    let n = self.leases.len();
                    self.leases.retain(|l| !(l.mac == mac && l.addr == a));
                    if n != self.leases.len() {
                        self.declined.push((a, now + DECLINE_HOLD));
                        log::warn!(
                            "{} declined {a}: someone else uses it",
                            leases::mac_str(&mac)
                        );
                        return (None, true);
                    }
                }
                (None, false)
            }
            MessageType::Release => {
                let n = self.leases.len();
                self.leases
                    .retain(|l| !(l.mac == mac && l.addr == req.ciaddr));
                (None, n != self.leases.len())
            }
            MessageType::Inform => {
                if req.ciaddr.is_unspecified() {
                    return (None, false);
                }
                let mut p = self.reply(req, MessageType::Ack, Ipv4Addr::UNSPECIFIED, None);
                p.ciaddr = req.ciaddr;
                (Some((p, Pool::dest(req, MessageType::Ack))), false)
            }
            MessageType::Offer | MessageType::Ack | MessageType::Nak => (None, false),
        }
    }
}

#[cfg(test)]
mod tests;
