//! The keys whose set/emit do more than one field or need checks across
//! fields: rootfs path with its type prefix, hooks, shared namespaces,
//! capabilities, mount.auto, init groups, console sizes, legacy-only keys.

use super::keys::Out;
use super::types::{Config, Hook, HOOK_TYPES};
use super::values::{self as val, VResult};
use super::{mount_auto, names};
use crate::namespace::{Namespace, NsSet};

pub fn any_sub(_: &str) -> VResult<()> {
    Ok(())
}

pub fn prlimit_sub(s: &str) -> VResult<()> {
    if val::RLIMITS.contains(&s) {
        Ok(())
    } else {
        Err(format!(
            "unknown resource limit \"{s}\" (expected one of {})",
            val::RLIMITS.join(" ")
        ))
    }
}

pub fn rootfs_path_set(c: &mut Config, _: &str, v: &str) -> VResult<()> {
    if v.is_empty() {
        c.rootfs.path = None;
        c.rootfs.backend = None;
        return Ok(());
    }
    match v.split_once(':') {
        Some((t, rest)) if ROOTFS_BACKENDS.contains(&t) => {
            c.rootfs.backend = Some(t.to_string());
            c.rootfs.path = (!rest.is_empty()).then(|| rest.to_string());
        }
        _ => c.rootfs.path = Some(v.to_string()),
    }
    Ok(())
}

pub fn rootfs_path_emit(c: &Config, k: &'static str, o: &mut Out) {
    match (&c.rootfs.backend, &c.rootfs.path) {
        (Some(b), Some(p)) => o.push(k, format!("{b}:{p}")),
        (Some(b), None) => o.push(k, format!("{b}:")),
        (None, Some(p)) => o.push(k, p.clone()),
        (None, None) => {}
    }
}

/// Storage backends that may prefix lxc.rootfs.path as `type:`.
pub const ROOTFS_BACKENDS: &[&str] = &[
    "dir",
    "overlay",
    "overlayfs",
    "btrfs",
    "lvm",
    "zfs",
    "loop",
    "nbd",
    "rbd",
    "aufs",
];

pub fn hook_set(c: &mut Config, sub: &str, v: &str) -> VResult<()> {
    if sub.is_empty() {
        if !v.is_empty() {
            return Err("expected lxc.hook.<type>, or an empty value to clear".into());
        }
        c.hooks.clear();
        return Ok(());
    }
    if !HOOK_TYPES.contains(&sub) {
        return Err(format!(
            "unknown hook type \"{sub}\" (expected one of {})",
            HOOK_TYPES.join(" ")
        ));
    }
    if v.is_empty() {
        c.hooks.retain(|h| h.kind != sub);
    } else {
        c.hooks.push(Hook {
            kind: sub.to_string(),
            command: v.to_string(),
        });
    }
    Ok(())
}

pub fn hook_emit(c: &Config, k: &'static str, o: &mut Out) {
    for h in &c.hooks {
        o.push(format!("{k}.{}", h.kind), h.command.clone());
    }
}

pub fn share_set(c: &mut Config, sub: &str, v: &str) -> VResult<()> {
    if sub.is_empty() {
        if !v.is_empty() {
            return Err("expected lxc.namespace.share.<namespace>".into());
        }
        c.namespace_share.clear();
        return Ok(());
    }
    let ns = Namespace::from_config(sub).ok_or_else(|| crate::namespace::unknown(sub))?;
    if v.is_empty() {
        c.namespace_share.remove(&ns);
    } else {
        c.namespace_share.insert(ns, v.to_string());
    }
    Ok(())
}

pub fn share_emit(c: &Config, k: &'static str, o: &mut Out) {
    for (ns, v) in &c.namespace_share {
        o.push(format!("{k}.{ns}"), v.clone());
    }
}

/// lxc.namespace.clone / keep: lines add names, an empty value clears.
/// The two exclude each other, as in LXC ("Cannot set both").
pub fn ns_list_set(c: &mut Config, v: &str, keep: bool) -> VResult<()> {
    let (this, other) = if keep {
        (&mut c.namespace_keep, c.namespace_clone)
    } else {
        (&mut c.namespace_clone, c.namespace_keep)
    };
    if v.is_empty() {
        *this = NsSet::EMPTY;
        return Ok(());
    }
    if !other.is_empty() {
        return Err("cannot set both lxc.namespace.clone and lxc.namespace.keep".into());
    }
    *this = this.union(NsSet::parse_config(v)?);
    Ok(())
}

pub fn ns_list_emit(set: NsSet, k: &'static str, o: &mut Out) {
    if !set.is_empty() {
        o.push(k, set.to_string());
    }
}

pub fn cap(c: &Config, w: &str, keep: bool) -> VResult<String> {
    let other = if keep { &c.cap_drop } else { &c.cap_keep };
    if !other.is_empty() {
        return Err("lxc.cap.drop and lxc.cap.keep are mutually exclusive".into());
    }
    let t = names::capability(w)?;
    if t == "none" && !keep {
        return Err("\"none\" is only valid in lxc.cap.keep".into());
    }
    Ok(t)
}

pub fn mount_auto_set(c: &mut Config, _: &str, v: &str) -> VResult<()> {
    if v.is_empty() {
        c.mount_auto = Default::default();
        return Ok(());
    }
    // Validate all tokens before changing anything.
    let mut m = c.mount_auto.clone();
    mount_auto::mount_auto(&mut m, v)?;
    c.mount_auto = m;
    Ok(())
}

pub fn mount_auto_emit(c: &Config, k: &'static str, o: &mut Out) {
    let t = mount_auto::mount_auto_tokens(&c.mount_auto);
    if !t.is_empty() {
        o.push(k, t.join(" "));
    }
}

pub fn groups_set(c: &mut Config, _: &str, v: &str) -> VResult<()> {
    if v.is_empty() {
        c.init_groups.clear();
        return Ok(());
    }
    let gids = v
        .split(',')
        .map(|g| val::number::<u32>(g.trim()))
        .collect::<VResult<Vec<u32>>>()?;
    c.init_groups.extend(gids);
    Ok(())
}

pub fn groups_emit(c: &Config, k: &'static str, o: &mut Out) {
    if !c.init_groups.is_empty() {
        let s: Vec<String> = c.init_groups.iter().map(u32::to_string).collect();
        o.push(k, s.join(","));
    }
}

pub fn console_size(v: &str) -> VResult<Option<u64>> {
    if v == "auto" {
        Ok(None)
    } else {
        val::byte_size(v).map(Some)
    }
}

/// A legacy key without effect: remembered only so a start can warn.
pub fn seen(c: &mut Config, key: &'static str, v: &str) -> VResult<()> {
    let seen = &mut c.obsolete_keys.0;
    if v.is_empty() {
        seen.retain(|k| k != key);
    } else if !seen.iter().any(|k| k == key) {
        seen.push(key.to_string());
    }
    Ok(())
}

pub fn no_emit(_: &Config, _: &'static str, _: &mut Out) {}

pub fn backend_set(c: &mut Config, _: &str, v: &str) -> VResult<()> {
    if v.is_empty() {
        // Ignored: the type now travels with lxc.rootfs.path (whose empty
        // value clears both), and lxc-update-config drops this line, so
        // giving it a meaning here would make the converted file differ.
    } else if ROOTFS_BACKENDS.contains(&v) {
        c.rootfs.backend = Some(v.to_string());
    } else {
        return Err(format!("unknown rootfs backend \"{v}\""));
    }
    Ok(())
}

pub fn hook_version(v: &str) -> VResult<u32> {
    match v {
        "0" => Ok(0),
        "1" => Ok(1),
        _ => Err(format!("expected 0 or 1, got \"{v}\"")),
    }
}
