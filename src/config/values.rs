//! Value parsers shared by the key table: numbers, booleans, id maps, net
//! types, hardware and IP addresses, sizes, names of limits and levels.
//! Signals and capabilities are in `names`, mount.auto tokens in `mount_auto`.
//!
//! Every parser returns `Err(message)` with the message part of
//! `FILE:LINE: KEY: message`; the caller adds the location and the key.

use super::types::{IdMap, NetType};

/// The message-only error of a value parser.
pub type VResult<T> = Result<T, String>;

pub fn number<T: std::str::FromStr>(v: &str) -> VResult<T> {
    // Rust's FromStr accepts a leading '+', LXC's lxc_safe_uint does not.
    if v.starts_with('+') {
        return Err(format!("expected a number, got \"{v}\""));
    }
    v.parse::<T>()
        .map_err(|_| format!("expected a number, got \"{v}\""))
}

pub fn boolean(v: &str) -> VResult<bool> {
    match v {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(format!("expected 0 or 1, got \"{v}\"")),
    }
}

/// `u|g NSID HOSTID RANGE`.
pub fn idmap(v: &str) -> VResult<IdMap> {
    let bad = || format!("expected \"u|g NSID HOSTID RANGE\", got \"{v}\"");
    let f: Vec<&str> = v.split_whitespace().collect();
    let [k, ns, host, range] = f[..] else {
        return Err(bad());
    };
    let kind = match k {
        "u" => 'u',
        "g" => 'g',
        _ => return Err(bad()),
    };
    let n = |s: &str| number::<u32>(s).map_err(|_| bad());
    let (ns_id, host_id, range) = (n(ns)?, n(host)?, n(range)?);
    if range == 0
        || ns_id.checked_add(range - 1).is_none()
        || host_id.checked_add(range - 1).is_none()
    {
        return Err(format!("id range out of bounds in \"{v}\""));
    }
    Ok(IdMap {
        kind,
        ns_id,
        host_id,
        range,
    })
}

/// A hostname: at most 64 bytes (__NEW_UTS_LEN), as sethostname(2) wants.
pub fn hostname(v: &str) -> VResult<String> {
    if v.len() > 64 {
        return Err(format!("hostname longer than 64 bytes: \"{v}\""));
    }
    Ok(v.to_string())
}

/// An interface name: 1-15 bytes (IFNAMSIZ - 1), no '/' or blanks, not
/// "." or ".." (the kernel's dev_valid_name).
pub fn ifname(v: &str) -> VResult<String> {
    let ok = !v.is_empty()
        && v.len() < 16
        && v != "."
        && v != ".."
        && !v
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace());
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "invalid interface name \"{v}\" (1-15 characters, no '/', ':' or blanks)"
        ))
    }
}

pub fn net_type(v: &str) -> VResult<NetType> {
    Ok(match v {
        "empty" => NetType::Empty,
        "veth" => NetType::Veth,
        "macvlan" => NetType::Macvlan,
        "ipvlan" => NetType::Ipvlan,
        "vlan" => NetType::Vlan,
        "phys" => NetType::Phys,
        "none" => NetType::None,
        _ => {
            return Err(format!(
                "unknown network type \"{v}\" (expected empty, veth, macvlan, ipvlan, vlan, phys or none)"
            ))
        }
    })
}

pub fn net_type_name(t: NetType) -> Option<&'static str> {
    (t != NetType::Unset).then(|| t.as_str())
}

/// `xx:xx:xx:xx:xx:xx`, hex digits or `x` (randomised at start).
pub fn hwaddr(v: &str) -> VResult<String> {
    let parts: Vec<&str> = v.split(':').collect();
    let ok = parts.len() == 6
        && parts.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X')
        });
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "expected a MAC address like 00:16:3e:xx:xx:xx, got \"{v}\""
        ))
    }
}

/// `ADDR/PREFIX [BROADCAST]` for IPv4 (`ADDR/PREFIX` for IPv6); the prefix
/// is optional as in LXC.
pub fn ip_address(v: &str, v6: bool) -> VResult<String> {
    let bad = || {
        let fam = if v6 { "IPv6" } else { "IPv4" };
        format!("expected an {fam} address[/prefix], got \"{v}\"")
    };
    let mut words = v.split_whitespace();
    let addr = words.next().ok_or_else(bad)?;
    let (ip, prefix) = match addr.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (addr, None),
    };
    let max = if v6 {
        ip.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        128
    } else {
        ip.parse::<std::net::Ipv4Addr>().map_err(|_| bad())?;
        32
    };
    if let Some(p) = prefix {
        match number::<u8>(p) {
            Ok(n) if n <= max => {}
            _ => return Err(bad()),
        }
    }
    if let Some(b) = words.next() {
        if v6 || b.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(bad());
        }
    }
    if words.next().is_some() {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// A gateway: `auto`, `dev` or an address of the family.
pub fn gateway(v: &str, v6: bool) -> VResult<String> {
    if v == "auto" || v == "dev" {
        return Ok(v.to_string());
    }
    let ok = if v6 {
        v.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        v.parse::<std::net::Ipv4Addr>().is_ok()
    };
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("expected auto, dev or an address, got \"{v}\""))
    }
}

/// A byte size with an optional B/kB/MB/GB suffix (LXC's
/// parse_byte_size_string), returned in bytes.
pub fn byte_size(v: &str) -> VResult<u64> {
    let bad = || format!("expected a size like 4096, 64kB or 1MB, got \"{v}\"");
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = number(num).map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// The resources of lxc.prlimit.<name> (setrlimit(2) without RLIMIT_).
pub const RLIMITS: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// A prlimit value: `N`, `unlimited`, or `SOFT:HARD` of those.
pub fn prlimit_value(v: &str) -> VResult<String> {
    let one = |s: &str| s == "unlimited" || number::<u64>(s).is_ok();
    let ok = match v.split_once(':') {
        Some((a, b)) => one(a) && one(b),
        None => one(v),
    };
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("expected N, unlimited or SOFT:HARD, got \"{v}\""))
    }
}

/// LXC's log levels (names or their numbers 0..=8).
pub const LOG_LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL",
];

pub fn log_level(v: &str) -> VResult<String> {
    let up = v.to_ascii_uppercase();
    if LOG_LEVELS.contains(&up.as_str()) {
        return Ok(up);
    }
    match number::<usize>(v) {
        Ok(n) if n < LOG_LEVELS.len() => Ok(LOG_LEVELS[n].to_string()),
        _ => Err(format!(
            "expected a log level ({}) or 0-8, got \"{v}\"",
            LOG_LEVELS.join(" ")
        )),
    }
}

/// Syslog facilities of lxc.log.syslog.
pub fn syslog_facility(v: &str) -> VResult<String> {
    const F: &[&str] = &[
        "daemon", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ];
    if F.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(format!(
            "expected a syslog facility ({}), got \"{v}\"",
            F.join(" ")
        ))
    }
}

/// lxc.arch values LXC knows (lxc_config_parse_arch) and whether each
/// is a 32-bit one (personality PER_LINUX32; else PER_LINUX).
pub const ARCHES: &[(&str, bool)] = &[
    ("arm", true),
    ("armel", true),
    ("armhf", true),
    ("armv7l", true),
    ("athlon", true),
    ("i386", true),
    ("i486", true),
    ("i586", true),
    ("i686", true),
    ("linux32", true),
    ("mips", true),
    ("mipsel", true),
    ("ppc", true),
    ("powerpc", true),
    ("x32", true),
    ("x86", true),
    ("aarch64", false),
    ("amd64", false),
    ("arm64", false),
    ("linux64", false),
    ("loongarch64", false),
    ("loong64", false),
    ("mips64", false),
    ("mips64el", false),
    ("ppc64", false),
    ("ppc64el", false),
    ("ppc64le", false),
    ("powerpc64", false),
    ("riscv64", false),
    ("s390x", false),
    ("x86_64", false),
];

pub fn arch(v: &str) -> VResult<String> {
    if ARCHES.iter().any(|(a, _)| *a == v) {
        Ok(v.to_string())
    } else {
        Err(format!("unknown architecture \"{v}\""))
    }
}

/// True when lxc.arch `v` is a 32-bit architecture (PER_LINUX32).
pub fn arch_is_32bit(v: &str) -> Option<bool> {
    ARCHES.iter().find(|(a, _)| *a == v).map(|(_, b)| *b)
}

/// A time offset for lxc.time.offset.*: an integer with an h/m/s/ms/us/ns unit.
pub fn time_offset(v: &str) -> VResult<String> {
    let digits = v.trim_start_matches('-');
    let split = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let (num, unit) = digits.split_at(split);
    if !num.is_empty() && matches!(unit, "h" | "m" | "s" | "ms" | "us" | "ns") {
        Ok(v.to_string())
    } else {
        Err(format!(
            "expected an offset like 10s, -1h or 500ms, got \"{v}\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idmaps() {
        let m = idmap("u 0 100000 65536").unwrap();
        assert_eq!(
            (m.kind, m.ns_id, m.host_id, m.range),
            ('u', 0, 100000, 65536)
        );
        assert!(idmap("x 0 1 1").is_err());
        assert!(idmap("u 0 1").is_err());
        assert!(idmap("u 0 4294967295 2").is_err());
        assert!(idmap("g 0 1 0").is_err());
    }

    #[test]
    fn misc_values() {
        assert!(hwaddr("00:16:3e:xx:xx:xx").is_ok());
        assert!(hwaddr("00:16:3e:xx:xx").is_err());
        assert!(hwaddr("00:16:3e:xx:xx:zz").is_err());
        assert!(ip_address("10.0.2.16/24", false).is_ok());
        assert!(ip_address("10.0.2.16/24 10.0.2.255", false).is_ok());
        assert!(ip_address("10.0.2.16/33", false).is_err());
        assert!(ip_address("fd00::1/64", true).is_ok());
        assert!(ip_address("fd00::1/64", false).is_err());
        assert_eq!(byte_size("64kB"), Ok(65536));
        assert_eq!(byte_size("2MB"), Ok(2 << 20));
        assert!(byte_size("1TB").is_err());
        assert_eq!(log_level("3").unwrap(), "NOTICE");
        assert_eq!(log_level("debug").unwrap(), "DEBUG");
        assert!(prlimit_value("1024:unlimited").is_ok());
        assert!(prlimit_value("lots").is_err());
        assert!(number::<u32>("+1").is_err());
        assert!(ifname("eth0").is_ok() && ifname("veth-0123456789").is_ok());
        for bad in ["", "veth-01234567890", "a/b", "a b", "..", "eth0:1"] {
            assert!(ifname(bad).is_err(), "{bad} accepted");
        }
        assert!(hostname(&"h".repeat(64)).is_ok());
        assert!(hostname(&"h".repeat(65)).is_err());
        assert!(time_offset("-1h").is_ok());
        assert!(time_offset("1x").is_err());
    }
}
