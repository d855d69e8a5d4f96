//! Capabilities of everything that runs inside: lxc.cap.drop / lxc.cap.keep
//! for init, init's bounding set for lxc-attach.
//!
//! As in LXC, the bounding set is what is restricted (PR_CAPBSET_DROP):
//! the process keeps its effective capabilities until exec, so the
//! confinement steps after this one (the LSM label, seccomp without
//! no_new_privs) still have CAP_SYS_ADMIN, and exec then computes the new
//! capabilities from the reduced bounding set. The inheritable set loses
//! the dropped capabilities too and the ambient set is cleared, so nothing
//! survives exec outside the bounding set.

use anyhow::{bail, Context, Result};
use rustix::thread::{capabilities, set_capabilities, CapabilitySet, CapabilitySets};

use crate::sys::process::{capbset_drop, clear_ambient_caps};

/// Capability names in kernel number order (CAP_CHOWN = 0, ...): the
/// config parser's table.
pub use crate::config::CAPS as CAP_NAMES;

/// A capability name (with or without CAP_, any case) or number to its number.
pub fn cap_number(name: &str) -> Option<u32> {
    let n = name.trim().to_ascii_lowercase();
    let n = n.strip_prefix("cap_").unwrap_or(&n);
    if let Ok(num) = n.parse::<u32>() {
        return Some(num);
    }
    CAP_NAMES.iter().position(|c| *c == n).map(|i| i as u32)
}

/// The highest capability this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(CAP_NAMES.len() as u32 - 1)
}

/// The bounding set to keep, as a bit mask (bit N = capability N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounding(pub u64);

impl Bounding {
    pub const ALL: Bounding = Bounding(u64::MAX);

    /// From lxc.cap.drop / lxc.cap.keep (mutually exclusive; `all` drops
    /// everything, keep `none` keeps nothing).
    pub fn from_config(drop: &[String], keep: &[String]) -> Result<Bounding> {
        if !drop.is_empty() && !keep.is_empty() {
            bail!("lxc.cap.drop and lxc.cap.keep are mutually exclusive");
        }
        let mut mask = u64::MAX;
        if !keep.is_empty() {
            mask = 0;
            for k in keep.iter().flat_map(|s| s.split_whitespace()) {
                if k == "none" {
                    continue;
                }
                let c = cap_number(k)
                    .with_context(|| format!("lxc.cap.keep: unknown capability \"{k}\""))?;
                mask |= bit(c);
            }
        }
        for d in drop.iter().flat_map(|s| s.split_whitespace()) {
            if d == "all" {
                mask = 0;
                continue;
            }
            let c = cap_number(d)
                .with_context(|| format!("lxc.cap.drop: unknown capability \"{d}\""))?;
            mask &= !bit(c);
        }
        Ok(Bounding(mask))
    }

    /// The `CapBnd:` of a /proc/PID/status text (lxc-attach gives the
    /// command init's bounding set, as LXC does).
    pub fn from_status(status: &str) -> Option<Bounding> {
        let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
        u64::from_str_radix(hex.trim(), 16).ok().map(Bounding)
    }

    pub fn keeps(self, cap: u32) -> bool {
        self.0 & bit(cap) != 0
    }

    /// Drop everything outside the set from the bounding and inheritable
    /// sets and clear the ambient set. Needs CAP_SETPCAP.
    pub fn apply(self) -> Result<()> {
        let last = last_cap();
        let mut dropped: u64 = 0;
        for c in (0..=last.min(63)).filter(|&c| !self.keeps(c)) {
            match capbset_drop(c) {
                Ok(()) => dropped |= bit(c),
                // Already outside our bounding set (EINVAL: unknown to the kernel).
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "dropping capability {} from the bounding set",
                            CAP_NAMES.get(c as usize).unwrap_or(&"?")
                        )
                    })
                }
            }
        }
        if dropped != 0 {
            let cur = capabilities(None).context("reading capabilities")?;
            let inh = cur.inheritable - CapabilitySet::from_bits_retain(dropped);
            if inh != cur.inheritable {
                set_capabilities(
                    None,
                    CapabilitySets {
                        inheritable: inh,
                        ..cur
                    },
                )
                .context("lowering the inheritable capabilities")?;
            }
        }
        clear_ambient_caps().context("clearing ambient capabilities")?;
        Ok(())
    }
}

fn bit(c: u32) -> u64 {
    if c < 64 {
        1u64 << c
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn names() {
        assert_eq!(cap_number("sys_admin"), Some(21));
        assert_eq!(cap_number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(cap_number("mknod"), Some(27));
        assert_eq!(cap_number("40"), Some(40));
        assert_eq!(cap_number("bogus"), None);
    }

    #[test]
    fn masks() {
        // common.conf's drops: bits 16, 17, 25, 32 and 33 of a full set.
        let b = Bounding::from_config(
            &s(&["mac_admin mac_override sys_time sys_module sys_rawio"]),
            &[],
        )
        .unwrap();
        assert_eq!(b.0 & 0x1ff_ffff_ffff, 0x1fc_fdfc_ffff);
        let k = Bounding::from_config(&[], &s(&["chown", "kill"])).unwrap();
        assert_eq!(k.0, 1 | (1 << 5));
        assert_eq!(Bounding::from_config(&[], &s(&["none"])).unwrap().0, 0);
        assert_eq!(Bounding::from_config(&s(&["all"]), &[]).unwrap().0, 0);
        assert_eq!(Bounding::from_config(&[], &[]).unwrap(), Bounding::ALL);
        assert!(Bounding::from_config(&s(&["bogus"]), &[]).is_err());
        assert!(Bounding::from_config(&s(&["kill"]), &s(&["kill"])).is_err());
        let st = "Name:\tsh\nCapInh:\t0000000000000000\nCapBnd:\t000001fcfcfcffff\n";
        assert_eq!(Bounding::from_status(st), Some(Bounding(0x1fc_fcfc_ffff)));
        assert!(!Bounding(0x1fc_fcfc_ffff).keeps(16));
        assert!(Bounding(0x1fc_fcfc_ffff).keeps(21));
    }
}
