//! lxc.cap.drop / lxc.cap.keep: one consistent capability state for init
//! (bounding, effective, permitted, inheritable; ambient cleared).

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

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(CAP_NAMES.len() as u32 - 1)
}

/// Apply drop/keep lists. Must run while still root, before exec.
pub fn apply(drop: &[String], keep: &[String]) -> Result<()> {
    if drop.is_empty() && keep.is_empty() {
        return Ok(());
    }
    if !drop.is_empty() && !keep.is_empty() {
        bail!("lxc.cap.drop and lxc.cap.keep are mutually exclusive");
    }
    let last = last_cap();
    let mut remove: Vec<u32> = Vec::new();
    if !keep.is_empty() {
        let mut kept = Vec::new();
        for k in keep.iter().flat_map(|s| s.split_whitespace()) {
            if k == "none" {
                continue;
            }
            kept.push(
                cap_number(k)
                    .with_context(|| format!("lxc.cap.keep: unknown capability \"{k}\""))?,
            );
        }
        remove.extend((0..=last).filter(|c| !kept.contains(c)));
    } else {
        for d in drop.iter().flat_map(|s| s.split_whitespace()) {
            if d == "all" {
                remove.extend(0..=last);
                continue;
            }
            remove.push(
                cap_number(d)
                    .with_context(|| format!("lxc.cap.drop: unknown capability \"{d}\""))?,
            );
        }
    }
    let mut mask: u64 = 0;
    for &c in &remove {
        if c > last {
            continue;
        }
        capbset_drop(c).with_context(|| {
            format!(
                "dropping capability {} from the bounding set",
                CAP_NAMES.get(c as usize).unwrap_or(&"?")
            )
        })?;
        mask |= 1u64 << c;
    }
    let cur = capabilities(None).context("reading capabilities")?;
    let m = CapabilitySet::from_bits_retain(mask);
    set_capabilities(
        None,
        CapabilitySets {
            effective: cur.effective - m,
            permitted: cur.permitted - m,
            inheritable: cur.inheritable - m,
        },
    )
    .context("setting capabilities")?;
    clear_ambient_caps().context("clearing ambient capabilities")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(cap_number("sys_admin"), Some(21));
        assert_eq!(cap_number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(cap_number("mknod"), Some(27));
        assert_eq!(cap_number("40"), Some(40));
        assert_eq!(cap_number("bogus"), None);
    }
}
