//! The leases file, in dnsmasq's format (what LXC's lxc-net leaves in
//! /var/lib/misc/dnsmasq.BRIDGE.leases, and what tools read):
//! `EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID`, `*` for an unknown field, an
//! expiry of 0 for an infinite lease. Only bound leases are written.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{Context, Result};

use super::confile::parse_mac;
use super::Lease;

pub fn mac_str(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn hex_colon(b: &[u8]) -> String {
    b.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn render(leases: &[Lease]) -> String {
    let mut s = String::new();
    for l in leases.iter().filter(|l| l.bound) {
        s.push_str(&format!(
            "{} {} {} {} {}\n",
            l.expiry,
            mac_str(&l.mac),
            l.addr,
            l.hostname.as_deref().unwrap_or("*"),
            l.client_id
                .as_deref()
                .map(hex_colon)
                .unwrap_or_else(|| "*".into())
        ));
    }
    s
}

/// Parses a leases file; malformed lines are skipped (the file is ours,
/// but may have been edited or cut short by a crash of an older writer).
pub fn parse(text: &str) -> Vec<Lease> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 {
                return None;
            }
            let client_id = f.get(4).filter(|c| **c != "*").and_then(|c| {
                c.split(':')
                    .map(|x| u8::from_str_radix(x, 16).ok())
                    .collect::<Option<Vec<u8>>>()
            });
            Some(Lease {
                expiry: f[0].parse().ok()?,
                mac: parse_mac(f[1])?,
                addr: f[2].parse().ok()?,
                hostname: (f[3] != "*").then(|| f[3].to_string()),
                client_id,
                bound: true,
            })
        })
        .collect()
}

pub fn load(path: &Path) -> Vec<Lease> {
    std::fs::read_to_string(path)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// Writes the file through a temporary file and rename, so a reader never
/// sees half of it.
pub fn save(path: &Path, leases: &[Lease]) -> Result<()> {
    crate::lxcnet::state::write_file(path, render(leases).as_bytes(), 0o644, true)
        .with_context(|| format!("writing leases file {}", path.display()))
}

/// The address leased to `mac` in `path` and not expired at `now`.
pub fn address_of(path: &Path, mac: &[u8; 6], now: u64) -> Option<Ipv4Addr> {
    load(path)
        .into_iter()
        .find(|l| l.mac == *mac && (l.expiry == 0 || l.expiry > now))
        .map(|l| l.addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_dnsmasq_format() {
        let text = "1701478400 00:16:3e:12:34:56 10.0.3.55 c1 01:00:16:3e:12:34:56\n\
                    0 00:16:3e:00:00:01 10.0.3.9 * *\n";
        let l = parse(text);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].hostname.as_deref(), Some("c1"));
        assert_eq!(
            l[0].client_id.as_deref(),
            Some(&[1, 0, 0x16, 0x3e, 0x12, 0x34, 0x56][..])
        );
        assert_eq!(render(&l), text);
        assert_eq!(parse("garbage\n1 2 3 4\n"), vec![]);
    }
}
