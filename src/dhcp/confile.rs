//! Static leases from LXC_DHCP_CONFILE, which LXC hands to dnsmasq: the
//! `dhcp-host=` lines (`dhcp-host=00:16:3e:aa:bb:cc,10.0.3.10[,NAME][,LEASE]`
//! or `dhcp-host=NAME,10.0.3.10`) are honoured; any other dnsmasq option is
//! reported with file:line, since this is not dnsmasq.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::StaticLease;

/// Parses a MAC address "aa:bb:cc:dd:ee:ff".
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut m = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        if n == 6 || part.is_empty() || part.len() > 2 {
            return None;
        }
        m[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(m)
}

/// dnsmasq's lease times: seconds, or with s/m/h/d/w, or "infinite" (0).
fn lease_time(s: &str) -> Option<u32> {
    if s == "infinite" {
        return Some(0);
    }
    let (num, mult) = match s.chars().last()? {
        's' => (&s[..s.len() - 1], 1),
        'm' => (&s[..s.len() - 1], 60),
        'h' => (&s[..s.len() - 1], 3600),
        'd' => (&s[..s.len() - 1], 86400),
        'w' => (&s[..s.len() - 1], 604800),
        _ => (s, 1),
    };
    num.parse::<u32>().ok()?.checked_mul(mult)
}

fn host_line(v: &str, at: &str) -> Result<Option<StaticLease>> {
    let mut l = StaticLease {
        mac: None,
        name: None,
        addr: Ipv4Addr::UNSPECIFIED,
        lease: None,
        at: at.to_string(),
    };
    for f in v.split(',').map(str::trim) {
        if let Some(m) = parse_mac(f) {
            l.mac = Some(m);
        } else if let Ok(a) = f.parse::<Ipv4Addr>() {
            l.addr = a;
        } else if let Some(t) = lease_time(f) {
            l.lease = Some(t);
        } else if f.contains(':') || f == "ignore" || f.starts_with('[') {
            bail!("{at}: dhcp-host field \"{f}\" is not supported by lxcbox's DHCP server");
        } else if !f.is_empty() {
            l.name = Some(f.to_string());
        }
    }
    if l.addr.is_unspecified() {
        log::warn!("{at}: dhcp-host without an IPv4 address: nothing to do, ignored");
        return Ok(None);
    }
    if l.mac.is_none() && l.name.is_none() {
        bail!("{at}: dhcp-host needs a MAC address or a host name");
    }
    Ok(Some(l))
}

/// Parses dnsmasq configuration text from `file`.
pub fn parse(text: &str, file: &str) -> Result<Vec<StaticLease>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{file}:{}", n + 1);
        let (key, val) = line.split_once('=').unwrap_or((line, ""));
        if key.trim() == "dhcp-host" {
            out.extend(host_line(val, &at)?);
        } else {
            log::warn!(
                "{at}: dnsmasq option \"{}\" is not supported by lxcbox's DHCP server; ignored",
                key.trim()
            );
        }
    }
    Ok(out)
}

pub fn load(path: &Path) -> Result<Vec<StaticLease>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhcp_host_forms() {
        let v = parse(
            "# static\ndhcp-host=00:16:3E:aa:bb:cc,10.0.3.10,web,12h\n\ndhcp-host=db,10.0.3.11\n\
             dhcp-host=00:16:3e:00:00:01,infinite,10.0.3.12\n",
            "f",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].mac, Some([0, 0x16, 0x3e, 0xaa, 0xbb, 0xcc]));
        assert_eq!(v[0].addr, Ipv4Addr::new(10, 0, 3, 10));
        assert_eq!(v[0].name.as_deref(), Some("web"));
        assert_eq!(v[0].lease, Some(12 * 3600));
        assert_eq!((v[1].mac, v[1].name.as_deref()), (None, Some("db")));
        assert_eq!(v[2].lease, Some(0));
        assert_eq!(v[2].at, "f:5");
        let e = parse("dhcp-host=id:01:02,10.0.3.9\n", "f").unwrap_err();
        assert!(e.to_string().starts_with("f:1: dhcp-host field"), "{e}");
        assert!(parse("dhcp-host=10.0.3.9\n", "f").is_err());
        assert_eq!(parse("log-queries\n", "f").unwrap(), vec![]);
    }
}
