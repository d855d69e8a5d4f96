//! The legacy (LXC 1.x/2.x) key spellings and how they map onto modern keys.

use std::borrow::Cow;

use super::types::Config;

/// Plain renames: legacy key -> modern key.
pub const RENAMES: &[(&str, &str)] = &[
    ("lxc.utsname", "lxc.uts.name"),
    ("lxc.tty", "lxc.tty.max"),
    ("lxc.pts", "lxc.pty.max"),
    ("lxc.devttydir", "lxc.tty.dir"),
    ("lxc.aa_profile", "lxc.apparmor.profile"),
    ("lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"),
    ("lxc.se_context", "lxc.selinux.context"),
    ("lxc.id_map", "lxc.idmap"),
    ("lxc.mount", "lxc.mount.fstab"),
    ("lxc.rootfs", "lxc.rootfs.path"),
    ("lxc.seccomp", "lxc.seccomp.profile"),
    ("lxc.console", "lxc.console.path"),
    ("lxc.haltsignal", "lxc.signal.halt"),
    ("lxc.rebootsignal", "lxc.signal.reboot"),
    ("lxc.stopsignal", "lxc.signal.stop"),
    ("lxc.loglevel", "lxc.log.level"),
    ("lxc.logfile", "lxc.log.file"),
    ("lxc.syslog", "lxc.log.syslog"),
    ("lxc.init_cmd", "lxc.init.cmd"),
    ("lxc.init_uid", "lxc.init.uid"),
    ("lxc.init_gid", "lxc.init.gid"),
    ("lxc.network", "lxc.net"),
];

/// Legacy keys that are dropped on conversion (lxc-update-config deletes
/// them; LXC 2.x already ignored them at run time).
pub const DROPPED: &[&str] = &["lxc.rootfs.backend", "lxc.pivotdir", "lxc.kmsg"];

/// Where a legacy unindexed `lxc.network.<sub>` line goes.
pub enum NetTarget {
    /// `lxc.network.type`: a new interface after the highest index.
    New,
    /// Any other sub-key: the most recently started interface.
    Last,
}

/// Split a legacy network key. `Some((None, sub))` for the unindexed form,
/// `Some((Some(n), sub))` for `lxc.network.N.sub`; the legacy `ipv4`/`ipv6`
/// sub-keys become `ipv4.address`/`ipv6.address`.
pub fn network_key(key: &str) -> Option<(Option<&str>, Cow<'_, str>)> {
    let rest = key.strip_prefix("lxc.network.")?;
    let (idx, sub) = match rest.split_once('.') {
        Some((i, s)) if !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) => (Some(i), s),
        None if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) => (Some(rest), ""),
        _ => (None, rest),
    };
    let sub = match sub {
        "ipv4" => Cow::Borrowed("ipv4.address"),
        "ipv6" => Cow::Borrowed("ipv6.address"),
        s => Cow::Borrowed(s),
    };
    Some((idx, sub))
}

pub fn net_target(sub: &str) -> NetTarget {
    if sub == "type" {
        NetTarget::New
    } else {
        NetTarget::Last
    }
}

/// Parse state the legacy unindexed `lxc.network.*` form needs: the
/// interface the latest `lxc.network.type` line started. Carried across
/// includes; a fresh state (as for `-s`) means "the highest index".
#[derive(Debug, Default)]
pub struct NetState {
    pub current: Option<u32>,
}

/// The modern spelling of `key` given the configuration read so far (the
/// unindexed `lxc.network.*` form depends on it). `Ok(None)`: not legacy.
pub fn modernize(cfg: &Config, key: &str, st: &mut NetState) -> Result<Option<String>, String> {
    if let Some(&(_, m)) = RENAMES.iter().find(|(l, _)| *l == key) {
        return Ok(Some(m.to_string()));
    }
    if let Some(r) = key.strip_prefix("lxc.limit.") {
        return Ok(Some(format!("lxc.prlimit.{r}")));
    }
    let Some((idx, sub)) = network_key(key) else {
        return Ok(None);
    };
    let idx = match idx {
        Some(i) => i.to_string(),
        None => match net_target(&sub) {
            NetTarget::New => {
                let n = match cfg.net.last() {
                    None => 0,
                    Some(n) => n.index.checked_add(1).ok_or_else(|| {
                        format!("{key}: no interface index left after {}", n.index)
                    })?,
                };
                st.current = Some(n);
                n.to_string()
            }
            NetTarget::Last => {
                // The interface the latest lxc.network.type started, if it
                // still exists, else the highest one.
                let cur = st
                    .current
                    .filter(|c| cfg.net.iter().any(|n| n.index == *c))
                    .or_else(|| cfg.net.last().map(|n| n.index));
                match cur {
                    Some(n) => n.to_string(),
                    None => {
                        return Err(format!(
                            "{key}: no interface to apply this to (an lxc.network.type line must come first)"
                        ))
                    }
                }
            }
        },
    };
    if sub.is_empty() {
        Ok(Some(format!("lxc.net.{idx}")))
    } else {
        Ok(Some(format!("lxc.net.{idx}.{sub}")))
    }
}
