//! lxc-netstat: the container's sockets, printed like `netstat -an`
//! (net-tools), read from /proc/PID/net/* (which shows the network
//! namespace of PID).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{Context, Result};

const TCP_STATES: [&str; 12] = [
    "",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

/// "0100007F:0016" -> (127.0.0.1, 22). The kernel prints each 32-bit word
/// of the (network order) address as a native-endian number.
fn parse_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for i in (0..a.len()).step_by(8) {
        let w = u32::from_str_radix(a.get(i..i + 8)?, 16).ok()?;
        bytes.extend_from_slice(&w.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&bytes[..]).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[..]).ok()?)),
        _ => return None,
    };
    Some((ip, port))
}

fn endpoint(ip: IpAddr, port: u16) -> String {
    let p = if port == 0 {
        "*".to_string()
    } else {
        port.to_string()
    };
    format!("{ip}:{p}")
}

/// Which sockets to show, as netstat's -a / -l / default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Show {
    /// -a: servers and established.
    #[default]
    All,
    /// -l: only servers.
    Listening,
    /// neither: without servers.
    Connected,
}

impl Show {
    fn keeps(self, server: bool) -> bool {
        match self {
            Show::All => true,
            Show::Listening => server,
            Show::Connected => !server,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Show::All => "(servers and established)",
            Show::Listening => "(only servers)",
            Show::Connected => "(w/o servers)",
        }
    }
}

/// netstat's selection options: -t -u -x (none = all) and -a / -l.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetstatOpts {
    pub tcp: bool,
    pub udp: bool,
    pub unix: bool,
    pub show: Show,
}

/// Formats the lines of one /proc/net/{tcp,tcp6,udp,udp6} file.
pub fn format_inet(proto: &str, content: &str, show: Show, out: &mut String) {
    for line in content.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 {
            continue;
        }
        let (Some(local), Some(remote)) = (parse_endpoint(f[1]), parse_endpoint(f[2])) else {
            continue;
        };
        // net-tools: a TCP server has no remote port, a UDP one no remote
        // address.
        let server = if proto.starts_with("udp") {
            remote.0.is_unspecified()
        } else {
            remote.1 == 0
        };
        if !show.keeps(server) {
            continue;
        }
        let st = usize::from_str_radix(f[3], 16).unwrap_or(0);
        let (tx, rx) = f[4].split_once(':').unwrap_or(("0", "0"));
        let tx = u64::from_str_radix(tx, 16).unwrap_or(0);
        let rx = u64::from_str_radix(rx, 16).unwrap_or(0);
        let state = if proto.starts_with("udp") {
            // net-tools shows only connected UDP sockets' state.
            if st == 1 {
                "ESTABLISHED"
            } else {
                ""
            }
        } else {
            TCP_STATES.get(st).copied().unwrap_or("UNKNOWN")
        };
        let _ = writeln!(
            out,
            "{:<4}  {:>6} {:>6} {:<23} {:<23} {:<11}",
            proto,
            rx,
            tx,
            endpoint(local.0, local.1),
            endpoint(remote.0, remote.1),
            state
        );
    }
}

/// Formats /proc/net/unix like net-tools.
pub fn format_unix(content: &str, show: Show, out: &mut String) {
    const SO_ACCEPTCON: u64 = 1 << 16;
    for line in content.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 {
            continue;
        }
        let refcnt = u64::from_str_radix(f[1], 16).unwrap_or(0);
        let flags = u64::from_str_radix(f[3], 16).unwrap_or(0);
        if !show.keeps(flags & SO_ACCEPTCON != 0) {
            continue;
        }
        let ty = match u32::from_str_radix(f[4], 16).unwrap_or(0) {
            1 => "STREAM",
            2 => "DGRAM",
            3 => "RAW",
            4 => "RDM",
            5 => "SEQPACKET",
            _ => "UNKNOWN",
        };
        let state = match u32::from_str_radix(f[5], 16).unwrap_or(0) {
            0 => "FREE",
            1 if flags & SO_ACCEPTCON != 0 => "LISTENING",
            1 => "",
            2 => "CONNECTING",
            3 => "CONNECTED",
            4 => "DISCONNECTING",
            _ => "UNKNOWN",
        };
        let fl = if flags & SO_ACCEPTCON != 0 {
            "[ ACC ]"
        } else {
            "[ ]"
        };
        let path = f.get(7).copied().unwrap_or("");
        let line = format!(
            "{:<5} {:<6} {:<11} {:<10} {:<13} {:<8} {}",
            "unix", refcnt, fl, ty, state, f[6], path
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// `netstat -an` for the network namespace of `pid`.
pub fn netstat(pid: i32) -> Result<String> {
    netstat_with(pid, &NetstatOpts::default())
}

/// `netstat -n` with -t/-u/-x and -a/-l for the network namespace of `pid`.
pub fn netstat_with(pid: i32, o: &NetstatOpts) -> Result<String> {
    let every = !(o.tcp || o.udp || o.unix);
    let mut out = String::new();
    let mut protos = Vec::new();
    if every || o.tcp {
        protos.extend(["tcp", "tcp6"]);
    }
    if every || o.udp {
        protos.extend(["udp", "udp6"]);
    }
    if !protos.is_empty() {
        let _ = writeln!(out, "Active Internet connections {}", o.show.title());
        out.push_str(
            "Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n",
        );
    }
    for proto in protos {
        let path = format!("/proc/{pid}/net/{proto}");
        match std::fs::read_to_string(&path) {
            Ok(c) => format_inet(proto, &c, o.show, &mut out),
            // No IPv6 in this kernel: nothing to show.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && proto.ends_with('6') => {}
            Err(e) => return Err(e).with_context(|| format!("reading {path}")),
        }
    }
    if every || o.unix {
        let _ = writeln!(out, "Active UNIX domain sockets {}", o.show.title());
        out.push_str("Proto RefCnt Flags       Type       State         I-Node   Path\n");
        let path = format!("/proc/{pid}/net/unix");
        let c = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        format_unix(&c, o.show, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_tcp_like_net_tools() {
        let c = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123 1\n";
        let mut out = String::new();
        format_inet("tcp", c, Show::All, &mut out);
        assert_eq!(
            out,
            "tcp        0      0 127.0.0.1:22            0.0.0.0:*               LISTEN     \n"
        );
    }

    #[test]
    fn formats_ipv6_and_udp() {
        let c = "hdr\n 0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000002 00:0 0 0 0 5\n";
        let mut out = String::new();
        format_inet("udp6", c, Show::All, &mut out);
        assert!(out.starts_with("udp6       2      0 ::1:53 "), "{out:?}");
        assert!(out.contains(":::*"));
    }

    #[test]
    fn listening_and_connected_selections() {
        let c = "hdr\n 0: 0100007F:0016 00000000:0000 0A 00000000:00000000 0 0 0\n 1: 0100007F:0016 0100007F:9C40 01 00000000:00000000 0 0 0\n";
        let mut l = String::new();
        format_inet("tcp", c, Show::Listening, &mut l);
        assert_eq!(l.lines().count(), 1);
        assert!(l.contains("LISTEN"));
        let mut e = String::new();
        format_inet("tcp", c, Show::Connected, &mut e);
        assert_eq!(e.lines().count(), 1);
        assert!(e.contains("127.0.0.1:40000") && e.contains("ESTABLISHED"));
    }

    #[test]
    fn formats_unix_sockets() {
        let c = "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/x.sock\n0000000000000000: 00000003 00000000 00000000 0001 03 999\n";
        let mut out = String::new();
        format_unix(c, Show::All, &mut out);
        assert_eq!(
            out,
            "unix  2      [ ACC ]     STREAM     LISTENING     12345    /run/x.sock\n\
             unix  3      [ ]         STREAM     CONNECTED     999\n"
        );
    }
}
