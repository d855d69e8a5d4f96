//! Signal and capability names, as LXC's config and tools spell them.

use super::values::VResult;

/// glibc's SIGRTMIN as seen by programs (the kernel's is 32; glibc keeps two
/// for its threading). systemd's SIGRTMIN+3 means 37 under this convention,
/// and LXC (built against glibc) computes it the same way. A musl build's
/// libc::SIGRTMIN() would say 35, so the value is fixed here on purpose.
const SIGRTMIN: i32 = 34;
const SIGRTMAX: i32 = 64;

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// A signal by name (`SIGPWR`, `pwr`, `SIGRTMIN+3`, `RTMAX-1`) or number
/// (1..=64), as LXC's sig_parse accepts them.
pub fn signal(s: &str) -> VResult<i32> {
    let bad = || format!("expected a signal name or number, got \"{s}\"");
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<i32>() {
            Ok(n) if (1..=SIGRTMAX).contains(&n) => Ok(n),
            _ => Err(bad()),
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let rt = |rest: &str, base: i32, sign: i32| -> VResult<i32> {
        if rest.is_empty() {
            return Ok(base);
        }
        let want = if sign > 0 { '+' } else { '-' };
        let n = rest
            .strip_prefix(want)
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<i32>().ok())
            .ok_or_else(bad)?;
        match base.checked_add(sign * n) {
            Some(sig) if (SIGRTMIN..=SIGRTMAX).contains(&sig) => Ok(sig),
            _ => Err(bad()),
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt(rest, SIGRTMIN, 1);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return rt(rest, SIGRTMAX, -1);
    }
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(bad)
}

/// Capability names in kernel order (index = number), without CAP_.
pub const CAPS: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// One capability token: a name (any case, CAP_ prefix optional), a number,
/// or `none` (lxc.cap.keep only, checked by the caller). Returns the
/// normalised lower-case name without prefix, or the number as text.
pub fn capability(tok: &str) -> VResult<String> {
    let low = tok.to_ascii_lowercase();
    let name = low.strip_prefix("cap_").unwrap_or(&low);
    if CAPS.contains(&name) || name == "none" {
        return Ok(name.to_string());
    }
    if let Ok(n) = name.parse::<usize>() {
        if n < 64 && !name.starts_with('+') {
            return Ok(n.to_string());
        }
    }
    Err(format!("unknown capability \"{tok}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(signal("SIGPWR"), Ok(30));
        assert_eq!(signal("pwr"), Ok(30));
        assert_eq!(signal("30"), Ok(30));
        assert_eq!(signal("SIGRTMIN+3"), Ok(37));
        assert_eq!(signal("RTMIN"), Ok(34));
        assert_eq!(signal("SIGRTMAX-2"), Ok(62));
        for bad in [
            "",
            "0",
            "65",
            "SIGFOO",
            "RTMIN+40",
            "RTMIN-1",
            "RTMIN+",
            "+3",
            "SIGRTMAX+1",
        ] {
            assert!(signal(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn capabilities() {
        assert_eq!(capability("CAP_SYS_ADMIN").unwrap(), "sys_admin");
        assert_eq!(capability("mknod").unwrap(), "mknod");
        assert_eq!(capability("21").unwrap(), "21");
        assert!(capability("sys_foo").is_err());
    }
}
