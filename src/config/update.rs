//! lxc-update-config's core: rewrite legacy keys to modern ones in place,
//! keeping comments, blank lines, order and spacing.

use anyhow::{anyhow, Result};

use super::legacy::{self, NetTarget};
use super::lexer::{self, Line};
use super::special::ROOTFS_BACKENDS;

/// Rewrite the legacy keys of config `text` (`origin` names it in errors).
/// Unindexed `lxc.network.*` blocks get consecutive indices after the
/// highest one already used; `lxc.rootfs.backend = T` is folded into the
/// rootfs path as `T:` and, like lxc.pivotdir and lxc.kmsg, removed.
/// Commented-out lines are left alone.
pub fn update_legacy(text: &str, origin: &str) -> Result<String> {
    let backend = find_backend(text);
    let mut out = String::with_capacity(text.len() + 64);
    let mut max: Option<u32> = None;
    let mut cur: Option<u32> = None;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let at = |msg: String| anyhow!("{origin}:{}: {msg}", i + 1);
        let Line::Pair { key, value } = lexer::line(raw).map_err(at)? else {
            out.push_str(raw);
            continue;
        };
        if legacy::DROPPED.contains(&key) {
            continue;
        }
        // Track interface indices used by indexed keys of either spelling.
        if let Some(n) = indexed_net(key) {
            max = Some(max.map_or(n, |m| m.max(n)));
        }
        let new_key = if matches!(key, "lxc.network" | "lxc.net") && value.is_empty() {
            (max, cur) = (None, None);
            (key == "lxc.network").then(|| "lxc.net".to_string())
        } else if let Some((None, sub)) = legacy::network_key(key) {
            let idx = match legacy::net_target(&sub) {
                NetTarget::New => {
                    let n = match max {
                        None => 0,
                        Some(m) => m.checked_add(1).ok_or_else(|| {
                            at(format!("{key}: no interface index left after {m}"))
                        })?,
                    };
                    (max, cur) = (Some(n), Some(n));
                    n
                }
                NetTarget::Last => cur.or(max).ok_or_else(|| {
                    at(format!(
                        "{key}: no interface to apply this to (an lxc.network.type line must come first)"
                    ))
                })?,
            };
            Some(format!("lxc.net.{idx}.{sub}"))
        } else {
            // Indexed network keys and plain renames need no state.
            legacy::modernize(&Default::default(), key, &mut Default::default()).map_err(at)?
        };
        let start = raw.len() - raw.trim_start().len();
        let (head, tail) = raw.split_at(start);
        let after_key = &tail[key.len()..];
        out.push_str(head);
        out.push_str(new_key.as_deref().unwrap_or(key));
        let is_rootfs = matches!(key, "lxc.rootfs" | "lxc.rootfs.path");
        // LXC's script writes a legacy `lxc.rootfs = PATH` as
        // `lxc.rootfs.path = dir:PATH` when no lxc.rootfs.backend says
        // otherwise (unlike the script, a value that already has its
        // `type:` prefix is left alone, not made `dir:dir:...`).
        let prefix = backend
            .clone()
            .or_else(|| (key == "lxc.rootfs").then(|| "dir".to_string()));
        match (
            &prefix,
            is_rootfs && !value.is_empty() && !has_backend(value),
        ) {
            (Some(b), true) => {
                // Insert "T:" in front of the value, inside its quotes if any.
                let eq = after_key.find('=').unwrap_or(0) + 1;
                let v_off = eq + (after_key[eq..].len() - after_key[eq..].trim_start().len());
                let q = after_key[v_off..].starts_with(['"', '\'']) as usize;
                out.push_str(&after_key[..v_off + q]);
                out.push_str(b);
                out.push(':');
                out.push_str(&after_key[v_off + q..]);
            }
            _ => out.push_str(after_key),
        }
    }
    Ok(out)
}

/// The last active `lxc.rootfs.backend` value, if any.
fn find_backend(text: &str) -> Option<String> {
    text.lines().rev().find_map(|l| match lexer::line(l) {
        Ok(Line::Pair {
            key: "lxc.rootfs.backend",
            value,
        }) if !value.is_empty() => Some(value.to_string()),
        _ => None,
    })
}

fn has_backend(v: &str) -> bool {
    v.split_once(':')
        .is_some_and(|(t, _)| ROOTFS_BACKENDS.contains(&t))
}

/// N of `lxc.net.N...` or `lxc.network.N...`.
fn indexed_net(key: &str) -> Option<u32> {
    let rest = key
        .strip_prefix("lxc.net.")
        .or_else(|| key.strip_prefix("lxc.network."))?;
    rest.split('.').next()?.parse().ok()
}

/// Update `path` in place: convert with [`update_legacy`] (nothing is
/// touched if that fails), copy the original to `PATH.backup`, then replace
/// the file by a new one with the same mode and owner (write-then-rename).
pub fn update_file(path: &std::path::Path) -> Result<()> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let new = update_legacy(&text, &path.display().to_string())?;
    let mut backup = path.as_os_str().to_owned();
    backup.push(".backup");
    std::fs::copy(path, &backup)
        .with_context(|| format!("saving {} to {}", path.display(), backup.to_string_lossy()))?;
    write_replacing(path, new.as_bytes())
}

/// Write-then-rename: a temporary file beside `path` with its mode and
/// owner gets the text, is synced, and replaces `path` in one rename, so a
/// crash leaves the old config or the new one, never half of one.
fn write_replacing(path: &std::path::Path, data: &[u8]) -> Result<()> {
    use anyhow::Context;
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".lxcbox-new");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let r = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(meta.mode() & 0o7777)
            .open(&tmp)?;
        std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()))?;
        f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.with_context(|| format!("writing {}", path.display()))
}
